// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: interrupts delivered to userspace.
 *
 * Five *indexes* (uapi's VFIO_PCI_*_IRQ_INDEX): the device's own INTx,
 * MSI and MSI-X, and two that the host raises: ERR (an AER error was
 * detected) and REQ (the host wants the device back).  An index has a
 * *count* of vectors; each vector can get a *trigger*, an eventfd that is
 * signalled when it fires.  At most one of the device's own indexes is
 * *enabled* at a time, its *type*; switching takes a disable first.
 *
 * INTx is level triggered and shared, so it is *masked* on delivery and
 * stays masked until the user says it has serviced the device (UNMASK, by
 * ioctl or through an unmask eventfd that KVM can signal directly).
 * Masking is done at the device with COMMAND.INTX_DISABLE (DisINTx) when
 * the device supports it, which lets the line be shared; otherwise, or
 * with the nointxmask option, the line is taken exclusively and masked at
 * the interrupt controller.  The user has its own view of DisINTx, the
 * *virtual* bit, kept by config.c, which reports writes to it through
 * vfio_pci_irq_cmd_written(): INTx is held off while it is masked or while
 * the virtual bit is set, and clearing the virtual bit unmasks.  While no
 * INTx handler is installed a device that can mask is kept masked, so that
 * it cannot raise a shared line nobody acknowledges.
 *
 * MSI and MSI-X vectors each get their own Linux interrupt, requested
 * while the vector has a trigger, and an IRQ bypass producer (token: the
 * trigger) so that KVM can post them to a guest directly.  Enabling
 * allocates vectors 0 to the last one named; MSI-X grows past that one
 * vector at a time where the platform can (pci_msix_alloc_irq_at()), else
 * by re-enabling at the new size.  The kernel writes the MSI-X table, in
 * a BAR, while it sets vectors up and tears them down: memory decode is
 * turned on for that, whatever the user left in COMMAND.
 *
 * Locking: core->igate serializes every change (SET_IRQS, open, close).
 * irqs->intx_lock, a spinlock, guards the INTx state against the hard
 * interrupt handler, the unmask eventfd (which runs in its waker's atomic
 * context) and config space writes; under it the device's DisINTx is only
 * changed by the PCI core's atomic check-and-(un)mask helpers or, in
 * process context, with core->memory_lock held so that no user write of
 * COMMAND is in flight.  No eventfd is signalled with intx_lock held: an
 * eventfd's own lock is held around the unmask path, so the INTx trigger
 * is read under RCU instead.  Order: igate, memory_lock, intx_lock.
 */

#include <linux/bitfield.h>
#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqbypass.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/xarray.h>

#include "private.h"

/* irqs->type when none of INTx, MSI and MSI-X is enabled */
#define VFIO_PCI_IRQ_NONE	VFIO_PCI_NUM_IRQS

/**
 * struct vfio_pci_irq_vec - an MSI or MSI-X vector with a trigger
 * @trigger: the user's eventfd; a reference is held
 * @virq: the Linux interrupt, requested while the vector is in @vecs
 * @name: the interrupt's name in /proc/interrupts
 * @producer: IRQ bypass producer, token @trigger
 * @bypass: @producer is registered
 */
struct vfio_pci_irq_vec {
	struct eventfd_ctx *trigger;
	unsigned int virq;
	char *name;
	struct irq_bypass_producer producer;
	bool bypass;
};

/**
 * struct vfio_pci_irqs - interrupt state of an open device
 * @pdev: the device
 * @type: the enabled device index, VFIO_PCI_IRQ_NONE if none; changed
 *        under igate and @intx_lock, so either is enough to read it
 * @nvec: MSI/MSI-X vectors allocated at enable (MSI-X may grow past it
 *        one vector at a time where the platform allows), under igate
 * @vecs: MSI/MSI-X vectors with a trigger, by vector number, under igate
 * @intx_lock: guards the INTx fields below, the device's DisINTx and
 *             the interrupt line's enable depth
 * @intx_devmask: INTx is masked with DisINTx and the line may be shared;
 *                else it is masked at the irqchip and the line is ours
 * @intx_masked: INTx was delivered or masked by the user and not unmasked
 * @intx_virt_off: COMMAND.INTX_DISABLE as the user last wrote it
 * @intx_irq_off: irqchip masking: the line is disabled (depth 1)
 * @intx_trigger: the INTx eventfd; written under igate and @intx_lock,
 *                read under RCU; a reference is held
 * @intx_unmask: the unmask eventfd's consumer, under igate
 * @intx_name: the INTx interrupt's name, while INTx is enabled
 */
struct vfio_pci_irqs {
	struct pci_dev *pdev;
	unsigned int type;
	unsigned int nvec;
	struct xarray vecs;

	spinlock_t intx_lock;		/* INTx state, see above */
	bool intx_devmask;
	bool intx_masked;
	bool intx_virt_off;
	bool intx_irq_off;
	struct eventfd_ctx __rcu *intx_trigger;
	struct virqfd *intx_unmask;
	char *intx_name;
};

static bool vfio_pci_irq_is_msi(unsigned int index)
{
	return index == VFIO_PCI_MSI_IRQ_INDEX ||
	       index == VFIO_PCI_MSIX_IRQ_INDEX;
}

/**
 * vfio_pci_irq_count - number of vectors of an interrupt index
 * @core: the device
 * @index: VFIO_PCI_*_IRQ_INDEX, in range
 *
 * Return: the count, 0 for an index the device does not have.
 */
int vfio_pci_irq_count(struct vfio_pci_core_device *core, unsigned int index)
{
	struct pci_dev *pdev = core->pdev;
	u16 flags;
	u8 pos;

	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		/*
		 * The read-only pin register as the PCI core read it at
		 * enumeration: every SET_IRQS asks, an INTx unmask included.
		 */
		return pdev->pin ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		pos = pdev->msi_cap;
		if (!pos)
			return 0;
		pci_read_config_word(pdev, pos + PCI_MSI_FLAGS, &flags);
		/* Multiple Message Capable: log2 of the vectors, at most 5 */
		return 1 << min_t(u16, FIELD_GET(PCI_MSI_FLAGS_QMASK, flags),
				  5);
	case VFIO_PCI_MSIX_IRQ_INDEX:
		pos = pdev->msix_cap;
		if (!pos)
			return 0;
		pci_read_config_word(pdev, pos + PCI_MSIX_FLAGS, &flags);
		return (flags & PCI_MSIX_FLAGS_QSIZE) + 1;
	case VFIO_PCI_ERR_IRQ_INDEX:
		return pci_is_pcie(pdev) ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default:
		return 0;
	}
}

/**
 * vfio_pci_irq_flags - VFIO_IRQ_INFO_* flags of an interrupt index
 * @core: the device
 * @index: VFIO_PCI_*_IRQ_INDEX, in range
 *
 * Return: the flags.
 */
int vfio_pci_irq_flags(struct vfio_pci_core_device *core, unsigned int index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		/* Level triggered: masked on delivery, unmasked by the user. */
		return VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
		       VFIO_IRQ_INFO_AUTOMASKED;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		/* Vectors can be added one by one while enabled. */
		if (pci_msix_can_alloc_dyn(core->pdev))
			return VFIO_IRQ_INFO_EVENTFD;
		fallthrough;
	default:
		return VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
	}
}

/**
 * vfio_pci_irq_info - fill in a VFIO_DEVICE_GET_IRQ_INFO answer
 * @core: the device, open
 * @info: the request, whose index is in range; flags and count are set
 *
 * Return: 0, or -EINVAL for the ERR index of a device that is not PCI
 * Express (it has no AER to report).
 */
int vfio_pci_irq_info(struct vfio_pci_core_device *core,
		      struct vfio_irq_info *info)
{
	if (info->index == VFIO_PCI_ERR_IRQ_INDEX && !pci_is_pcie(core->pdev))
		return -EINVAL;
	info->flags = vfio_pci_irq_flags(core, info->index);
	info->count = vfio_pci_irq_count(core, info->index);
	return 0;
}

/* ---- INTx ------------------------------------------------------------ */

static void vfio_pci_intx_signal(struct vfio_pci_irqs *irqs)
{
	struct eventfd_ctx *trigger;

	rcu_read_lock();
	trigger = rcu_dereference(irqs->intx_trigger);
	if (trigger)
		eventfd_signal(trigger);
	rcu_read_unlock();
}

/*
 * Hold INTx off.  Process context: with DisINTx masking this is a
 * read-modify-write of COMMAND, which the caller keeps apart from the
 * user's writes by holding memory_lock.
 */
static void vfio_pci_intx_hw_off(struct vfio_pci_core_device *core)
{
	struct vfio_pci_irqs *irqs = core->irqs;

	lockdep_assert_held(&irqs->intx_lock);
	lockdep_assert_held(&core->memory_lock);

	if (irqs->intx_devmask) {
		pci_intx(irqs->pdev, 0);
	} else if (!irqs->intx_irq_off) {
		irqs->intx_irq_off = true;
		disable_irq_nosync(irqs->pdev->irq);
	}
}

/*
 * Let INTx through again; any context.  Returns false when the device
 * still asserts INTx: with DisINTx masking it then stays masked.
 */
static bool vfio_pci_intx_hw_on(struct vfio_pci_irqs *irqs)
{
	lockdep_assert_held(&irqs->intx_lock);

	if (irqs->intx_devmask)
		return pci_check_and_unmask_intx(irqs->pdev);
	if (irqs->intx_irq_off) {
		irqs->intx_irq_off = false;
		enable_irq(irqs->pdev->irq);
	}
	return true;
}

/*
 * Undo a delivery or a MASK.  Returns true if the device is still
 * asserting INTx: that counts as the next delivery, INTx stays masked and
 * the caller signals the trigger once it has dropped intx_lock.
 */
static bool vfio_pci_intx_unmask_locked(struct vfio_pci_irqs *irqs)
{
	lockdep_assert_held(&irqs->intx_lock);

	if (irqs->type != VFIO_PCI_INTX_IRQ_INDEX || !irqs->intx_masked)
		return false;
	irqs->intx_masked = false;
	if (irqs->intx_virt_off || vfio_pci_intx_hw_on(irqs))
		return false;
	irqs->intx_masked = true;
	return true;
}

/* While no INTx handler is installed, keep a device that can mask off. */
static void vfio_pci_intx_park(struct vfio_pci_core_device *core)
{
	struct vfio_pci_irqs *irqs = core->irqs;

	lockdep_assert_held(&irqs->intx_lock);
	lockdep_assert_held(&core->memory_lock);

	if (irqs->type == VFIO_PCI_IRQ_NONE && irqs->intx_devmask)
		pci_intx(irqs->pdev, 0);
}

static irqreturn_t vfio_pci_intx_handler(int irq, void *arg)
{
	struct vfio_pci_irqs *irqs = arg;
	irqreturn_t ret = IRQ_NONE;
	bool deliver = false;
	unsigned long flags;

	spin_lock_irqsave(&irqs->intx_lock, flags);
	if (irqs->type != VFIO_PCI_INTX_IRQ_INDEX)
		goto out_unlock;

	if (irqs->intx_devmask) {
		/* Shared line: only ours if the device says it asserts. */
		if (!pci_check_and_mask_intx(irqs->pdev))
			goto out_unlock;
	} else if (!irqs->intx_irq_off) {
		irqs->intx_irq_off = true;
		disable_irq_nosync(irq);
	}
	ret = IRQ_HANDLED;

	/*
	 * Already masked or held off by the user: a COMMAND write briefly
	 * let the device through; it is masked again, nothing to deliver.
	 */
	if (!irqs->intx_masked && !irqs->intx_virt_off) {
		irqs->intx_masked = true;
		deliver = true;
	}
out_unlock:
	spin_unlock_irqrestore(&irqs->intx_lock, flags);

	if (deliver)
		vfio_pci_intx_signal(irqs);
	return ret;
}

/* The unmask eventfd was signalled; atomic context, under its lock. */
static int vfio_pci_intx_unmask_fd(void *opaque, void *unused)
{
	struct vfio_pci_irqs *irqs = opaque;
	unsigned long flags;
	bool redeliver;

	spin_lock_irqsave(&irqs->intx_lock, flags);
	redeliver = vfio_pci_intx_unmask_locked(irqs);
	spin_unlock_irqrestore(&irqs->intx_lock, flags);

	/* An eventfd cannot be signalled from another one's wakeup. */
	return redeliver;
}

static void vfio_pci_intx_redeliver(void *opaque, void *unused)
{
	vfio_pci_intx_signal(opaque);
}

static void vfio_pci_intx_unmask(struct vfio_pci_core_device *core)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	bool redeliver;

	lockdep_assert_held(&core->igate);

	spin_lock_irq(&irqs->intx_lock);
	redeliver = vfio_pci_intx_unmask_locked(irqs);
	spin_unlock_irq(&irqs->intx_lock);

	if (redeliver)
		vfio_pci_intx_signal(irqs);
}

static void vfio_pci_intx_mask(struct vfio_pci_core_device *core)
{
	struct vfio_pci_irqs *irqs = core->irqs;

	lockdep_assert_held(&core->igate);

	down_read(&core->memory_lock);
	spin_lock_irq(&irqs->intx_lock);
	if (!irqs->intx_masked) {
		irqs->intx_masked = true;
		if (!irqs->intx_virt_off)
			vfio_pci_intx_hw_off(core);
	}
	spin_unlock_irq(&irqs->intx_lock);
	up_read(&core->memory_lock);
}

/* Install a new trigger (NULL: none) and drop the old one. */
static void vfio_pci_intx_set_trigger(struct vfio_pci_core_device *core,
				      struct eventfd_ctx *trigger)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	struct eventfd_ctx *old;

	lockdep_assert_held(&core->igate);

	spin_lock_irq(&irqs->intx_lock);
	old = rcu_replace_pointer(irqs->intx_trigger, trigger,
				  lockdep_is_held(&irqs->intx_lock));
	spin_unlock_irq(&irqs->intx_lock);

	if (old == trigger) {
		/* The same eventfd again: keep one reference. */
		if (trigger)
			eventfd_ctx_put(trigger);
	} else if (old) {
		synchronize_rcu();
		eventfd_ctx_put(old);
	}
}

/* @trigger (may be NULL) becomes INTx's on success; the caller's on error. */
static int vfio_pci_intx_enable(struct vfio_pci_core_device *core,
				struct eventfd_ctx *trigger)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	struct pci_dev *pdev = core->pdev;
	unsigned long irqflags;
	bool redeliver = false;
	int ret;

	lockdep_assert_held(&core->igate);

	if (!pdev->irq || pdev->irq == IRQ_NOTCONNECTED)
		return -ENODEV;

	irqs->intx_name = kasprintf(GFP_KERNEL_ACCOUNT, "vfio-intx(%s)",
				    pci_name(pdev));
	if (!irqs->intx_name)
		return -ENOMEM;

	/*
	 * A line we mask at the irqchip starts disabled and is only ours;
	 * a line we mask at the device is already masked there (parked).
	 * Either way nothing is delivered before the state below is set.
	 */
	irqflags = irqs->intx_devmask ? IRQF_SHARED : IRQF_NO_AUTOEN;
	ret = request_irq(pdev->irq, vfio_pci_intx_handler, irqflags,
			  irqs->intx_name, irqs);
	if (ret) {
		kfree(irqs->intx_name);
		irqs->intx_name = NULL;
		return ret;
	}
	/*
	 * Masked at the irqchip, a disable must take effect at once: a lazy
	 * one lets the still asserted line come in again, and that late
	 * arrival could be taken for a new interrupt after the unmask.
	 */
	if (!irqs->intx_devmask)
		irq_set_status_flags(pdev->irq, IRQ_DISABLE_UNLAZY);

	down_read(&core->memory_lock);
	spin_lock_irq(&irqs->intx_lock);
	irqs->type = VFIO_PCI_INTX_IRQ_INDEX;
	irqs->intx_masked = false;
	irqs->intx_irq_off = !irqs->intx_devmask;
	rcu_assign_pointer(irqs->intx_trigger, trigger);
	/* Masking at the irqchip needs the device free to assert INTx. */
	if (!irqs->intx_devmask)
		pci_intx(pdev, 1);
	if (!irqs->intx_virt_off && !vfio_pci_intx_hw_on(irqs)) {
		/* It was asserting already: that is the first delivery. */
		irqs->intx_masked = true;
		redeliver = true;
	}
	spin_unlock_irq(&irqs->intx_lock);
	up_read(&core->memory_lock);

	if (redeliver)
		vfio_pci_intx_signal(irqs);
	return 0;
}

static void vfio_pci_intx_disable(struct vfio_pci_core_device *core)
{
	struct vfio_pci_irqs *irqs = core->irqs;

	lockdep_assert_held(&core->igate);

	vfio_virqfd_disable(&irqs->intx_unmask);

	down_read(&core->memory_lock);
	spin_lock_irq(&irqs->intx_lock);
	/* Quiet the line before it loses its handler. */
	vfio_pci_intx_hw_off(core);
	irqs->type = VFIO_PCI_IRQ_NONE;
	irqs->intx_masked = false;
	vfio_pci_intx_park(core);
	spin_unlock_irq(&irqs->intx_lock);
	up_read(&core->memory_lock);

	/* The line's depth starts afresh with the next request_irq(). */
	free_irq(core->pdev->irq, irqs);
	if (!irqs->intx_devmask)
		irq_clear_status_flags(core->pdev->irq, IRQ_DISABLE_UNLAZY);
	irqs->intx_irq_off = false;
	vfio_pci_intx_set_trigger(core, NULL);
	kfree(irqs->intx_name);
	irqs->intx_name = NULL;
}

static int vfio_pci_intx_set_trigger_fd(struct vfio_pci_core_device *core,
					s32 fd)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	struct eventfd_ctx *trigger = NULL;
	int ret;

	lockdep_assert_held(&core->igate);

	/* Any negative fd means no trigger; INTx is still enabled. */
	if (fd >= 0) {
		trigger = eventfd_ctx_fdget(fd);
		if (IS_ERR(trigger))
			return PTR_ERR(trigger);
	}

	if (irqs->type == VFIO_PCI_INTX_IRQ_INDEX) {
		vfio_pci_intx_set_trigger(core, trigger);
		return 0;
	}

	ret = vfio_pci_intx_enable(core, trigger);
	if (ret && trigger)
		eventfd_ctx_put(trigger);
	return ret;
}

static int vfio_pci_intx_trigger(struct vfio_pci_core_device *core,
				 struct vfio_irq_set *hdr, void *data)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	u32 dtype = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	bool enabled = irqs->type == VFIO_PCI_INTX_IRQ_INDEX;

	lockdep_assert_held(&core->igate);

	if (!hdr->count) {
		if (dtype != VFIO_IRQ_SET_DATA_NONE || !enabled)
			return -EINVAL;
		vfio_pci_intx_disable(core);
		return 0;
	}

	if (dtype == VFIO_IRQ_SET_DATA_EVENTFD) {
		/* Switching from MSI or MSI-X takes a disable first. */
		if (!enabled && irqs->type != VFIO_PCI_IRQ_NONE)
			return -EINVAL;
		return vfio_pci_intx_set_trigger_fd(core, *(s32 *)data);
	}

	if (!enabled)
		return -EINVAL;
	/* Loopback: the user tests its own handling. */
	if (dtype == VFIO_IRQ_SET_DATA_NONE || *(u8 *)data)
		vfio_pci_intx_signal(irqs);
	return 0;
}

static int vfio_pci_intx_mask_action(struct vfio_pci_core_device *core,
				     struct vfio_irq_set *hdr, void *data,
				     bool unmask)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	s32 fd;

	lockdep_assert_held(&core->igate);

	if (irqs->type != VFIO_PCI_INTX_IRQ_INDEX || !hdr->count)
		return -EINVAL;

	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_BOOL:
		if (!*(u8 *)data)
			return 0;
		fallthrough;
	case VFIO_IRQ_SET_DATA_NONE:
		if (unmask)
			vfio_pci_intx_unmask(core);
		else
			vfio_pci_intx_mask(core);
		return 0;
	default:
		/* Masking by an eventfd is not offered, as upstream. */
		if (!unmask)
			return -ENOTTY;
		fd = *(s32 *)data;
		if (fd < 0) {
			vfio_virqfd_disable(&irqs->intx_unmask);
			return 0;
		}
		return vfio_virqfd_enable(irqs, vfio_pci_intx_unmask_fd,
					  vfio_pci_intx_redeliver, NULL,
					  &irqs->intx_unmask, fd);
	}
}

/* ---- MSI and MSI-X --------------------------------------------------- */

/*
 * The MSI-X table is in a BAR: memory decode must be on while the kernel
 * writes it.  Holds memory_lock for writing until vfio_pci_msi_unlock(),
 * so no BAR access or fault sees the temporary decode.  Returns whether
 * decode was turned on here.
 */
static bool vfio_pci_msi_lock(struct vfio_pci_core_device *core,
			      unsigned int index)
{
	struct pci_dev *pdev = core->pdev;
	u16 cmd;

	lockdep_assert_held(&core->igate);

	down_write(&core->memory_lock);
	if (index != VFIO_PCI_MSIX_IRQ_INDEX || pdev->no_command_memory)
		return false;
	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	if (cmd & PCI_COMMAND_MEMORY)
		return false;
	pci_write_config_word(pdev, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY);
	return true;
}

static void vfio_pci_msi_unlock(struct vfio_pci_core_device *core,
				bool decode_on)
{
	struct pci_dev *pdev = core->pdev;
	u16 cmd;

	lockdep_assert_held_write(&core->memory_lock);

	if (decode_on) {
		pci_read_config_word(pdev, PCI_COMMAND, &cmd);
		pci_write_config_word(pdev, PCI_COMMAND,
				      cmd & ~PCI_COMMAND_MEMORY);
	}
	up_write(&core->memory_lock);
}

static irqreturn_t vfio_pci_msi_handler(int irq, void *arg)
{
	struct vfio_pci_irq_vec *vec = arg;

	eventfd_signal(vec->trigger);
	return IRQ_HANDLED;
}

/* Request the vector's interrupt and offer it for bypass. */
static int vfio_pci_vec_start(struct vfio_pci_core_device *core,
			      unsigned int v, struct vfio_pci_irq_vec *vec)
{
	int ret;

	lockdep_assert_held(&core->igate);

	ret = request_irq(vec->virq, vfio_pci_msi_handler, 0, vec->name, vec);
	if (ret)
		return ret;

	vec->producer.token = vec->trigger;
	vec->producer.irq = vec->virq;
	ret = irq_bypass_register_producer(&vec->producer);
	if (ret)
		pci_info(core->pdev,
			 "vfio: no IRQ bypass for vector %u (%d), delivery goes through the host\n",
			 v, ret);
	vec->bypass = !ret;
	return 0;
}

static void vfio_pci_vec_stop(struct vfio_pci_core_device *core,
			      struct vfio_pci_irq_vec *vec)
{
	lockdep_assert_held(&core->igate);

	if (vec->bypass)
		irq_bypass_unregister_producer(&vec->producer);
	vec->bypass = false;
	free_irq(vec->virq, vec);
}

static void vfio_pci_vec_free(struct vfio_pci_core_device *core,
			      unsigned int v, struct vfio_pci_irq_vec *vec,
			      bool started)
{
	lockdep_assert_held(&core->igate);

	xa_erase(&core->irqs->vecs, v);
	if (started)
		vfio_pci_vec_stop(core, vec);
	eventfd_ctx_put(vec->trigger);
	kfree(vec->name);
	kfree(vec);
}

/* The Linux interrupt behind vector @v, allocating it if MSI-X can grow. */
static int vfio_pci_msi_virq(struct vfio_pci_core_device *core,
			     unsigned int v)
{
	struct pci_dev *pdev = core->pdev;
	struct msi_map map;
	int virq;

	/* Allocating a vector writes the MSI-X table: decode stays put. */
	lockdep_assert_held(&core->igate);
	lockdep_assert_held_write(&core->memory_lock);

	virq = pci_irq_vector(pdev, v);
	if (virq > 0)
		return virq;
	if (core->irqs->type != VFIO_PCI_MSIX_IRQ_INDEX)
		return -EINVAL;
	map = pci_msix_alloc_irq_at(pdev, v, NULL);
	return map.index < 0 ? map.index : map.virq;
}

/*
 * Give vector @v the trigger @trigger (consumed; NULL unsets it).  The
 * same eventfd again changes nothing, so a user refreshing its vectors
 * does not tear down a KVM bypass for nothing.
 */
static int vfio_pci_vec_set(struct vfio_pci_core_device *core,
			    unsigned int v, struct eventfd_ctx *trigger)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	struct vfio_pci_irq_vec *vec = xa_load(&irqs->vecs, v);
	int virq, ret;

	lockdep_assert_held(&core->igate);
	lockdep_assert_held_write(&core->memory_lock);

	if (vec && vec->trigger == trigger) {
		eventfd_ctx_put(trigger);
		return 0;
	}
	if (vec)
		vfio_pci_vec_free(core, v, vec, true);
	if (!trigger)
		return 0;

	virq = vfio_pci_msi_virq(core, v);
	if (virq < 0) {
		ret = virq;
		goto err_put;
	}

	ret = -ENOMEM;
	vec = kzalloc(sizeof(*vec), GFP_KERNEL_ACCOUNT);
	if (!vec)
		goto err_put;
	vec->trigger = trigger;
	vec->virq = virq;
	vec->name = kasprintf(GFP_KERNEL_ACCOUNT, "vfio-%s[%u](%s)",
			      irqs->type == VFIO_PCI_MSIX_IRQ_INDEX ?
			      "msix" : "msi", v, pci_name(core->pdev));
	if (!vec->name)
		goto err_free;

	ret = xa_insert(&irqs->vecs, v, vec, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	ret = vfio_pci_vec_start(core, v, vec);
	if (ret) {
		vfio_pci_vec_free(core, v, vec, false);
		return ret;
	}
	return 0;

err_free:
	kfree(vec->name);
	kfree(vec);
err_put:
	eventfd_ctx_put(trigger);
	return ret;
}

static void vfio_pci_msi_disable(struct vfio_pci_core_device *core)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	struct vfio_pci_irq_vec *vec;
	unsigned long v;

	lockdep_assert_held(&core->igate);
	lockdep_assert_held_write(&core->memory_lock);

	xa_for_each(&irqs->vecs, v, vec)
		vfio_pci_vec_free(core, v, vec, true);
	pci_free_irq_vectors(core->pdev);
	irqs->nvec = 0;

	/* Disabling MSI let INTx back on at the device. */
	spin_lock_irq(&irqs->intx_lock);
	irqs->type = VFIO_PCI_IRQ_NONE;
	vfio_pci_intx_park(core);
	spin_unlock_irq(&irqs->intx_lock);
}

/*
 * Allocate @nvec vectors and switch the device to MSI or MSI-X.  Returns
 * 0, a negative errno, or the (positive) number of vectors the device
 * could have, for the user to try again with.
 */
static int vfio_pci_msi_enable(struct vfio_pci_core_device *core,
			       unsigned int index, unsigned int nvec)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	unsigned int flag = index == VFIO_PCI_MSIX_IRQ_INDEX ?
			    PCI_IRQ_MSIX : PCI_IRQ_MSI;
	int ret;

	lockdep_assert_held(&core->igate);
	lockdep_assert_held_write(&core->memory_lock);

	ret = pci_alloc_irq_vectors(core->pdev, 1, nvec, flag);
	if (ret < 0)
		return ret;
	if ((unsigned int)ret < nvec) {
		pci_free_irq_vectors(core->pdev);
		return ret;
	}

	irqs->nvec = nvec;
	spin_lock_irq(&irqs->intx_lock);
	irqs->type = index;
	spin_unlock_irq(&irqs->intx_lock);
	return 0;
}

/*
 * MSI-X where vectors cannot be added while enabled: re-enable with
 * @nvec vectors, every trigger kept.  On failure the old size is put back;
 * a vector that cannot be restarted loses its trigger.
 */
static int vfio_pci_msix_regrow(struct vfio_pci_core_device *core,
				unsigned int nvec)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	struct pci_dev *pdev = core->pdev;
	struct vfio_pci_irq_vec *vec;
	unsigned long v;
	int ret, err = 0;

	lockdep_assert_held(&core->igate);
	lockdep_assert_held_write(&core->memory_lock);

	xa_for_each(&irqs->vecs, v, vec)
		vfio_pci_vec_stop(core, vec);
	pci_free_irq_vectors(pdev);

	ret = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	if (ret < 0) {
		err = ret;
		nvec = irqs->nvec;
		ret = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	}
	if (ret < 0) {
		pci_warn(pdev, "vfio: cannot re-enable MSI-X: %d\n", ret);
		xa_for_each(&irqs->vecs, v, vec)
			vfio_pci_vec_free(core, v, vec, false);
		irqs->nvec = 0;
		spin_lock_irq(&irqs->intx_lock);
		irqs->type = VFIO_PCI_IRQ_NONE;
		vfio_pci_intx_park(core);
		spin_unlock_irq(&irqs->intx_lock);
		return err;
	}
	irqs->nvec = nvec;

	xa_for_each(&irqs->vecs, v, vec) {
		ret = pci_irq_vector(pdev, v);
		if (ret > 0) {
			vec->virq = ret;
			ret = vfio_pci_vec_start(core, v, vec);
		}
		if (ret) {
			pci_warn(pdev, "vfio: MSI-X vector %lu lost its trigger: %d\n",
				 v, ret);
			vfio_pci_vec_free(core, v, vec, false);
		}
	}
	return err;
}

/* The eventfds for vectors start..start+count-1; NULL for a negative fd. */
static struct eventfd_ctx **vfio_pci_msi_get_fds(struct vfio_irq_set *hdr,
						 s32 *fds)
{
	struct eventfd_ctx **ctx;
	unsigned int i;

	ctx = kcalloc(hdr->count, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return ERR_PTR(-ENOMEM);

	for (i = 0; i < hdr->count; i++) {
		if (fds[i] < 0)
			continue;
		ctx[i] = eventfd_ctx_fdget(fds[i]);
		if (IS_ERR(ctx[i])) {
			int ret = PTR_ERR(ctx[i]);

			while (i--)
				if (ctx[i])
					eventfd_ctx_put(ctx[i]);
			kfree(ctx);
			return ERR_PTR(ret);
		}
	}
	return ctx;
}

/*
 * DATA_EVENTFD: enable the index if it is not yet, then give each vector
 * of the range its eventfd.  On failure every vector of the range is left
 * without a trigger, and an index enabled by this call is disabled again.
 */
static int vfio_pci_msi_set_fds(struct vfio_pci_core_device *core,
				struct vfio_irq_set *hdr, s32 *fds)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	unsigned int end = hdr->start + hdr->count, i;
	bool enabling = irqs->type != hdr->index;
	struct eventfd_ctx **ctx;
	bool decode_on;
	int ret = 0;

	lockdep_assert_held(&core->igate);

	ctx = vfio_pci_msi_get_fds(hdr, fds);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);

	decode_on = vfio_pci_msi_lock(core, hdr->index);
	if (enabling)
		ret = vfio_pci_msi_enable(core, hdr->index, end);
	else if (end > irqs->nvec && hdr->index == VFIO_PCI_MSI_IRQ_INDEX)
		ret = -EINVAL;
	else if (end > irqs->nvec && !pci_msix_can_alloc_dyn(core->pdev))
		ret = vfio_pci_msix_regrow(core, end);
	if (ret)
		goto out_unlock;

	for (i = 0; i < hdr->count; i++) {
		ret = vfio_pci_vec_set(core, hdr->start + i, ctx[i]);
		ctx[i] = NULL;
		if (ret)
			break;
	}
	if (ret) {
		for (i = hdr->start; i < end; i++)
			vfio_pci_vec_set(core, i, NULL);
		if (enabling)
			vfio_pci_msi_disable(core);
	}

out_unlock:
	vfio_pci_msi_unlock(core, decode_on);
	for (i = 0; i < hdr->count; i++)
		if (ctx[i])
			eventfd_ctx_put(ctx[i]);
	kfree(ctx);
	return ret;
}

static int vfio_pci_msi_trigger(struct vfio_pci_core_device *core,
				struct vfio_irq_set *hdr, void *data)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	u32 dtype = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	struct vfio_pci_irq_vec *vec;
	bool decode_on;
	unsigned int i;

	lockdep_assert_held(&core->igate);

	if (irqs->type != hdr->index) {
		/* Switching from another type takes a disable first. */
		if (irqs->type != VFIO_PCI_IRQ_NONE ||
		    dtype != VFIO_IRQ_SET_DATA_EVENTFD || !hdr->count)
			return -EINVAL;
		return vfio_pci_msi_set_fds(core, hdr, data);
	}

	if (!hdr->count) {
		if (dtype == VFIO_IRQ_SET_DATA_NONE) {
			decode_on = vfio_pci_msi_lock(core, hdr->index);
			vfio_pci_msi_disable(core);
			vfio_pci_msi_unlock(core, decode_on);
		}
		return 0;
	}

	if (dtype == VFIO_IRQ_SET_DATA_EVENTFD)
		return vfio_pci_msi_set_fds(core, hdr, data);

	/* Loopback of the vectors that have a trigger. */
	for (i = 0; i < hdr->count; i++) {
		if (dtype == VFIO_IRQ_SET_DATA_BOOL && !((u8 *)data)[i])
			continue;
		vec = xa_load(&irqs->vecs, hdr->start + i);
		if (vec)
			eventfd_signal(vec->trigger);
	}
	return 0;
}

/* ---- ERR and REQ ----------------------------------------------------- */

static void vfio_pci_trigger_put(struct eventfd_ctx **trigger)
{
	if (*trigger) {
		eventfd_ctx_put(*trigger);
		*trigger = NULL;
	}
}

/*
 * ERR and REQ: one vector each, no masking, fired by the host.  Besides
 * setting and clearing the eventfd, the user can fire it (DATA_NONE, or
 * DATA_BOOL true) to test its own handling; DATA_NONE with no eventfd set
 * is an error, DATA_NONE with a count of 0 clears it.
 */
static int vfio_pci_irq_set_host_trigger(struct vfio_pci_core_device *core,
					 struct eventfd_ctx **trigger,
					 struct vfio_irq_set *hdr, void *data)
{
	struct eventfd_ctx *ctx;
	s32 fd;

	lockdep_assert_held(&core->igate);

	if ((hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) !=
	    VFIO_IRQ_SET_ACTION_TRIGGER)
		return -ENOTTY;

	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (!*trigger)
			return -EINVAL;
		if (hdr->count)
			eventfd_signal(*trigger);
		else
			vfio_pci_trigger_put(trigger);
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (!hdr->count)
			return -EINVAL;
		if (*(u8 *)data && *trigger)
			eventfd_signal(*trigger);
		return 0;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (!hdr->count)
			return -EINVAL;
		fd = *(s32 *)data;
		if (fd == -1) {
			vfio_pci_trigger_put(trigger);
			return 0;
		}
		if (fd < 0)
			return -EINVAL;
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
		vfio_pci_trigger_put(trigger);
		*trigger = ctx;
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- the interface to the rest of vfio-pci-core ---------------------- */

/**
 * vfio_pci_irq_set - carry out a validated VFIO_DEVICE_SET_IRQS
 * @core: the device, open
 * @hdr: the request, checked by vfio_set_irqs_validate_and_prepare()
 * @data: the request's data, of the size that check computed
 *
 * Caller holds core->igate.
 *
 * Return: 0, a negative errno, or for enabling MSI or MSI-X with more
 * vectors than the platform gives the device, the number it could have.
 */
int vfio_pci_irq_set(struct vfio_pci_core_device *core,
		     struct vfio_irq_set *hdr, void *data)
{
	u32 action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;

	lockdep_assert_held(&core->igate);

	switch (hdr->index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
			return vfio_pci_intx_trigger(core, hdr, data);
		if (action == VFIO_IRQ_SET_ACTION_MASK)
			return vfio_pci_intx_mask_action(core, hdr, data, false);
		if (action == VFIO_IRQ_SET_ACTION_UNMASK)
			return vfio_pci_intx_mask_action(core, hdr, data, true);
		return -ENOTTY;
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		/* Vectors are edge triggered: there is nothing to mask. */
		if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
			return -ENOTTY;
		return vfio_pci_msi_trigger(core, hdr, data);
	case VFIO_PCI_ERR_IRQ_INDEX:
		if (!pci_is_pcie(core->pdev))
			return -EINVAL;
		return vfio_pci_irq_set_host_trigger(core, &core->err_trigger,
						     hdr, data);
	case VFIO_PCI_REQ_IRQ_INDEX:
		return vfio_pci_irq_set_host_trigger(core, &core->req_trigger,
						     hdr, data);
	default:
		return -ENOTTY;
	}
}

/**
 * vfio_pci_irq_open - set up interrupt state for a new user
 * @core: the device, enabled
 *
 * Called with dev_set->lock held from vfio_pci_core_enable(); undone by
 * vfio_pci_irq_release_all().  The user's view of COMMAND.INTX_DISABLE
 * starts as the device's; a device that can mask INTx is masked until the
 * user enables it.
 *
 * Return: 0 or -ENOMEM.
 */
int vfio_pci_irq_open(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	struct vfio_pci_irqs *irqs;
	u16 cmd;

	lockdep_assert_held(&core->vdev.dev_set->lock);

	irqs = kzalloc(sizeof(*irqs), GFP_KERNEL_ACCOUNT);
	if (!irqs)
		return -ENOMEM;
	irqs->pdev = pdev;
	irqs->type = VFIO_PCI_IRQ_NONE;
	xa_init(&irqs->vecs);
	spin_lock_init(&irqs->intx_lock);

	irqs->intx_devmask = pdev->pin && !core->opts.nointxmask &&
			     pci_intx_mask_supported(pdev);
	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	irqs->intx_virt_off = cmd & PCI_COMMAND_INTX_DISABLE;

	mutex_lock(&core->igate);
	core->irqs = irqs;
	down_read(&core->memory_lock);
	spin_lock_irq(&irqs->intx_lock);
	vfio_pci_intx_park(core);
	spin_unlock_irq(&irqs->intx_lock);
	up_read(&core->memory_lock);
	mutex_unlock(&core->igate);
	return 0;
}

/**
 * vfio_pci_irq_release_all - tear down every interrupt set up for the user
 * @core: the device, being closed
 *
 * Disables whichever of INTx, MSI and MSI-X is enabled, frees every
 * vector and drops every eventfd, ERR's and REQ's included.  Cannot fail.
 */
void vfio_pci_irq_release_all(struct vfio_pci_core_device *core)
{
	struct vfio_pci_irqs *irqs;
	bool decode_on;

	mutex_lock(&core->igate);
	irqs = core->irqs;
	if (irqs && irqs->type == VFIO_PCI_INTX_IRQ_INDEX) {
		vfio_pci_intx_disable(core);
	} else if (irqs && vfio_pci_irq_is_msi(irqs->type)) {
		decode_on = vfio_pci_msi_lock(core, irqs->type);
		vfio_pci_msi_disable(core);
		vfio_pci_msi_unlock(core, decode_on);
	}
	vfio_pci_trigger_put(&core->err_trigger);
	vfio_pci_trigger_put(&core->req_trigger);
	core->irqs = NULL;
	mutex_unlock(&core->igate);

	if (irqs) {
		WARN_ON(irqs->intx_unmask || rcu_access_pointer(irqs->intx_trigger));
		xa_destroy(&irqs->vecs);
		kfree(irqs);
	}
}

/**
 * vfio_pci_irq_cmd_written - the user wrote the COMMAND register
 * @core: the device, open
 * @cmd: COMMAND as the user now sees it; its INTX_DISABLE is the user's
 *       virtual bit, which never reaches the device directly
 *
 * For config.c, once a write covering COMMAND is done, with memory_lock
 * not held.  Setting INTX_DISABLE holds INTx off; clearing it unmasks INTx
 * too, and delivers it again if the device still asserts it.  Whatever
 * the write did to the device, its INTX_DISABLE is put back the way
 * interrupt handling needs it: a read-modify-write of COMMAND racing with
 * masking on delivery may have undone the mask.
 */
void vfio_pci_irq_cmd_written(struct vfio_pci_core_device *core, u16 cmd)
{
	struct vfio_pci_irqs *irqs = core->irqs;
	bool redeliver = false;
	bool was;

	lockdep_assert_not_held(&core->memory_lock);

	if (!irqs)
		return;

	down_read(&core->memory_lock);
	spin_lock_irq(&irqs->intx_lock);
	was = irqs->intx_virt_off;
	irqs->intx_virt_off = cmd & PCI_COMMAND_INTX_DISABLE;

	switch (irqs->type) {
	case VFIO_PCI_IRQ_NONE:
		vfio_pci_intx_park(core);
		break;
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (was && !irqs->intx_virt_off)
			irqs->intx_masked = false;
		if (irqs->intx_masked || irqs->intx_virt_off) {
			vfio_pci_intx_hw_off(core);
		} else if (!vfio_pci_intx_hw_on(irqs)) {
			irqs->intx_masked = true;
			redeliver = true;
		}
		break;
	default:
		/* MSI and MSI-X: the PCI core owns INTX_DISABLE. */
		break;
	}
	spin_unlock_irq(&irqs->intx_lock);
	up_read(&core->memory_lock);

	if (redeliver)
		vfio_pci_intx_signal(irqs);
}

/**
 * vfio_pci_irq_request - ask the user to give the device back
 * @core: the device
 * @count: how many times it was asked already
 */
void vfio_pci_irq_request(struct vfio_pci_core_device *core,
			  unsigned int count)
{
	struct pci_dev *pdev = core->pdev;

	mutex_lock(&core->igate);
	if (core->req_trigger) {
		if (!(count % 10))
			pci_notice_ratelimited(pdev,
					       "vfio: asking the user to release the device (request %u)\n",
					       count);
		eventfd_signal(core->req_trigger);
	} else if (!count) {
		pci_warn(pdev,
			 "vfio: the user set no request eventfd; removal waits until it closes the device\n");
	}
	mutex_unlock(&core->igate);
}

/**
 * vfio_pci_irq_error - relay an AER error to the user
 * @core: the device
 */
void vfio_pci_irq_error(struct vfio_pci_core_device *core)
{
	mutex_lock(&core->igate);
	if (core->err_trigger)
		eventfd_signal(core->err_trigger);
	mutex_unlock(&core->igate);
}
