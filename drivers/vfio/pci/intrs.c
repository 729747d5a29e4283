// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: interrupts delivered to userspace.
 *
 * Five *indexes* (uapi's VFIO_PCI_*_IRQ_INDEX): the device's own INTx,
 * MSI and MSI-X, and two that the host raises: ERR (an AER error was
 * detected) and REQ (the host wants the device back).  An index has a
 * *count* of vectors; each vector can get a *trigger*, an eventfd that is
 * signalled when it fires.  Everything here runs under core->igate.
 *
 * First cut: the counts and flags of all five are reported; ERR and REQ
 * take triggers.  Device interrupts (INTx with auto-masking, MSI, MSI-X)
 * come with the full driver and are refused with -ENOTTY until then.
 */

#include <linux/bitfield.h>
#include <linux/eventfd.h>
#include <linux/pci.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

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
	u8 pos, pin;

	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		pci_read_config_byte(pdev, PCI_INTERRUPT_PIN, &pin);
		return pin ? 1 : 0;
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
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_MSIX_IRQ_INDEX:
		/* Vectors are allocated as one block when the index is set. */
		return VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
	default:
		return VFIO_IRQ_INFO_EVENTFD;
	}
}

static void vfio_pci_trigger_put(struct eventfd_ctx **trigger)
{
	if (*trigger) {
		eventfd_ctx_put(*trigger);
		*trigger = NULL;
	}
}

/*
 * ERR and REQ: one vector each, no masking, fired by the host.  Besides
 * setting and clearing the eventfd, the user can fire it (DATA_NONE with
 * a count, or DATA_BOOL true) to test its own handling.
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
		return -EINVAL;

	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (!hdr->count)
			vfio_pci_trigger_put(trigger);
		else if (*trigger)
			eventfd_signal(*trigger);
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (hdr->count != 1)
			return -EINVAL;
		if (*(u8 *)data && *trigger)
			eventfd_signal(*trigger);
		return 0;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (hdr->count != 1)
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

/**
 * vfio_pci_irq_set - carry out a validated VFIO_DEVICE_SET_IRQS
 * @core: the device, open
 * @hdr: the request, checked by vfio_set_irqs_validate_and_prepare()
 * @data: the request's data, of the size that check computed
 *
 * Caller holds core->igate.
 *
 * Return: 0 or a negative errno; -ENOTTY for what is not offered yet.
 */
int vfio_pci_irq_set(struct vfio_pci_core_device *core,
		     struct vfio_irq_set *hdr, void *data)
{
	lockdep_assert_held(&core->igate);

	switch (hdr->index) {
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
 * vfio_pci_irq_release_all - tear down every interrupt set up for the user
 * @core: the device, being closed
 */
void vfio_pci_irq_release_all(struct vfio_pci_core_device *core)
{
	mutex_lock(&core->igate);
	vfio_pci_trigger_put(&core->err_trigger);
	vfio_pci_trigger_put(&core->req_trigger);
	mutex_unlock(&core->igate);
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
