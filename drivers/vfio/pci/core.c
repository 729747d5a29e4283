// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: lifetime of a PCI device offered through VFIO, its open
 * and close, and the device ioctls.  Config space virtualization lives in
 * config.c, BAR and ROM access in rdwr.c, BAR mmap in mmap.c, interrupts
 * in intrs.c, resets and power states in reset.c, ioeventfds in
 * ioeventfd.c, the legacy VGA region in vga.c.
 *
 * Lifetimes: the structure is allocated by the bus driver with
 * vfio_alloc_device() (ops->init is vfio_pci_core_init_dev()) and freed by
 * the last vfio_put_device() (ops->release is vfio_pci_core_release_dev()).
 * Between vfio_pci_core_register_device() and
 * vfio_pci_core_unregister_device() userspace can open it; everything set
 * up for a user (enabled device, saved config, BAR mappings, eventfds,
 * virtual config) lives from the first open_device() to the matching
 * close_device(), which the VFIO core serializes under dev_set->lock.
 *
 * Lock order, outermost first, for the whole of vfio-pci-core:
 *
 *   vdev->open_lock            VFIO core; one device's open and close
 *     dev_set->lock            VFIO core; held around open/close_device()
 *                              and by hot resets
 *       cfg->lock              config space writes and their side effects
 *       core->ioeventfds_lock  the ioeventfd list
 *         core->bar_lock       a BAR's kernel mapping (rdwr.c); a leaf,
 *                              also taken under mmap_lock (below)
 *       core->igate            interrupt setup, teardown and delivery
 *         core->memory_lock    rwsem over the device's memory decode:
 *                              read for BAR/ROM access, write to change
 *                              decode (COMMAND writes) or to reset the
 *                              device or change its power state; a hot
 *                              reset holds those of the whole device
 *                              set, nested under dev_set->lock
 *           pci device lock    only ever try-locked: by function resets
 *                              and the reset at open
 *           irqs->intx_lock    INTx state (intrs.c); a spinlock, also
 *                              taken by the INTx handler and the unmask
 *                              eventfd
 *
 *   vf_token->lock             a PF's VF token and its user count;
 *                              taken under a VF's dev_set->lock, holds
 *                              nothing (sriov.c)
 *
 * A PF's PCI device lock, held by the PCI core around sriov_configure and
 * remove, comes before dev_set->lock (vfio_pci_hold_d0()); sriov.c has the
 * rest of the SR-IOV locking.
 *
 * A fault on a BAR mapping (mmap.c) takes memory_lock for reading under
 * the faulting mm's mmap_lock, mmap() of a BAR claims it (bar_lock) under
 * mmap_lock too, and zapping mappings with memory_lock held for writing
 * takes the inode's i_mmap_rwsem: so mmap_lock comes before memory_lock
 * and bar_lock, and i_mmap_rwsem after memory_lock.  User memory is
 * therefore never touched with igate, memory_lock or bar_lock held (a
 * copy could fault on this very device and deadlock against a waiting
 * writer): every path bounces through a kernel buffer.
 *
 * For the same reason the device notifier (VFIO_DEVICE_EVENT_MEMORY_OFF,
 * _RESET) is only called once memory_lock is dropped: a BAR fault must
 * never wait for a listener (type1 faults BAR mappings in with mmap_lock
 * held; see drivers/vfio/vfio.h).  vfio_pci_notify() asserts it.
 */

#include <linux/aperture.h>
#include <linux/eventfd.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

static struct vfio_pci_core_device *to_core(struct vfio_device *vdev)
{
	return container_of(vdev, struct vfio_pci_core_device, vdev);
}

static bool vfio_pci_reset_works(struct vfio_pci_core_device *core)
{
	/* The PCI core lists the usable reset methods, best first. */
	return core->pdev->reset_methods[0] != 0;
}

/*
 * Re-read the COMMAND register after anything may have changed it.  What
 * is kept is the decode BAR access can count on: a VF's memory enable is
 * the user's virtual one, and nothing decodes outside D0.
 */
void vfio_pci_cmd_refresh(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	u16 cmd;

	lockdep_assert_held_write(&core->memory_lock);
	if (pci_read_config_word(pdev, PCI_COMMAND, &cmd))
		cmd = 0;
	if (pdev->no_command_memory)
		cmd = (cmd & ~PCI_COMMAND_MEMORY) | vfio_pci_cfg_virt_mem(core);
	if (pdev->current_state != PCI_D0)
		cmd &= ~PCI_COMMAND_MEMORY;
	core->cmd = cmd;
}

/**
 * vfio_pci_bars_check - put back BARs a reset behind vfio's back cleared
 * @core: the device, open
 * @cmd: the COMMAND value about to be written to the device
 *
 * A reset that neither vfio nor the PCI core did, and so saved and
 * restored nothing around (a secondary bus reset from the bridge, the
 * device resetting itself), turns decode off and zeroes the BARs while
 * vfio still reaches the device at the old addresses.  When @cmd turns
 * memory or I/O decode back on, the BARs that no longer hold what they
 * held at open are written back first, so that decode never comes back at
 * an address nobody assigned.  Called with memory_lock held for writing.
 */
void vfio_pci_bars_check(struct vfio_pci_core_device *core, u16 cmd)
{
	struct pci_dev *pdev = core->pdev;
	u16 decode = cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	bool restored = false;
	unsigned int i;
	u16 now;
	u32 bar;

	lockdep_assert_held_write(&core->memory_lock);
	if (!decode || pci_read_config_word(pdev, PCI_COMMAND, &now))
		return;
	/* Decode already on was not lost. */
	if (!(decode & ~now))
		return;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * i;

		if (pci_read_config_dword(pdev, reg, &bar) ||
		    bar == core->bar_regs[i])
			continue;
		pci_write_config_dword(pdev, reg, core->bar_regs[i]);
		restored = true;
	}
	if (restored)
		pci_info_ratelimited(pdev, "vfio: BARs cleared by a reset outside vfio, restored\n");
}

/* What vfio_pci_bars_check() puts back. */
static void vfio_pci_bars_record(struct vfio_pci_core_device *core)
{
	unsigned int i;

	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		if (pci_read_config_dword(core->pdev,
					  PCI_BASE_ADDRESS_0 + 4 * i,
					  &core->bar_regs[i]))
			core->bar_regs[i] = 0;
}

/*
 * Tell the kernel users of the device's memory (type1 mapping a BAR for
 * peer-to-peer DMA) that it went away.  The caller changed decode or reset
 * the device with memory_lock held for writing and has dropped it since.
 */
void vfio_pci_notify(struct vfio_pci_core_device *core,
		     enum vfio_device_event event)
{
	lockdep_assert_not_held(&core->memory_lock);
	vfio_device_notify(&core->vdev, event);
}

/**
 * vfio_pci_core_init_dev - set up the PCI part of a new device
 * @vdev: the device vfio_alloc_device() is creating; its ->dev must be the
 *        pci_dev's struct device
 *
 * Meant to be ops->init, or called from a variant driver's init before
 * anything of its own.  Undo with vfio_pci_core_release_dev(), which the
 * core calls as ops->release after the last vfio_put_device().
 *
 * Return: 0 or a negative errno.
 */
int vfio_pci_core_init_dev(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core = to_core(vdev);

	core->pdev = to_pci_dev(vdev->dev);
	core->msix_bar = -1;
	mutex_init(&core->igate);
	mutex_init(&core->bar_lock);
	mutex_init(&core->ioeventfds_lock);
	INIT_LIST_HEAD(&core->ioeventfds);
	init_rwsem(&core->memory_lock);
	vfio_pci_idle_init(core);

	if (vfio_pci_sriov_init_dev(core))
		goto err_locks;
	return 0;

err_locks:
	mutex_destroy(&core->ioeventfds_lock);
	mutex_destroy(&core->bar_lock);
	mutex_destroy(&core->igate);
	return -ENOMEM;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_init_dev);

/**
 * vfio_pci_core_release_dev - undo vfio_pci_core_init_dev()
 * @vdev: the device
 *
 * Meant to be ops->release, or called last from a variant driver's
 * release.  The core frees the memory after ops->release returns.
 */
void vfio_pci_core_release_dev(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core = to_core(vdev);

	vfio_pci_sriov_release_dev(core);
	mutex_destroy(&core->ioeventfds_lock);
	mutex_destroy(&core->bar_lock);
	mutex_destroy(&core->igate);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_release_dev);

/*
 * Devices whose INTx disable bit (DisINTx) can be set but does not keep
 * them from asserting INTx: masking them at the device on a shared line
 * would fail.  The PCI core flags most such devices itself (its
 * broken_intx_masking quirk, which pci_intx_mask_supported() honours, so
 * intrs.c masks those at the interrupt controller already, the Intel
 * X710/XL710/XXV710/X722 family among them); these are the ones it does
 * not know: the Intel X550 controllers.
 */
static const struct pci_device_id vfio_pci_intx_mask_broken[] = {
	{ PCI_VDEVICE(INTEL, 0x1563) },	/* X550 */
	{ PCI_VDEVICE(INTEL, 0x15d1) },	/* X550T */
	{ }
};

/*
 * Devices that a reset of this one also resets must be opened and closed
 * under one lock: key the device set by the narrowest reset that works,
 * the slot, else the bus, else the device alone.
 */
static void *vfio_pci_reset_domain(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;

	if (!pci_probe_reset_slot(pdev->slot))
		return pdev->slot;
	if (!pci_probe_reset_bus(pdev->bus))
		return pdev->bus;
	return core;
}

/**
 * vfio_pci_core_register_device - offer a PCI device to userspace
 * @core: a device from vfio_alloc_device() whose ops->init ran
 *        vfio_pci_core_init_dev(); @core->opts filled in
 *
 * Called from the bus driver's PCI probe.  Only endpoints with a normal
 * config header are accepted.  Sets the pci_dev's driver data to @core,
 * and @core->opts.nointxmask for a device known to have a broken INTx
 * disable bit.
 * Undo with vfio_pci_core_unregister_device().
 *
 * Return: 0 or a negative errno (-EBUSY for an SR-IOV PF whose VFs are
 * enabled); on failure the caller still owns @core and drops it with
 * vfio_put_device().
 */
int vfio_pci_core_register_device(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	int ret;

	/* Bridges would hand the user control of everything behind them. */
	if (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL)
		return -EINVAL;
	if (WARN_ON(&pdev->dev != core->vdev.dev))
		return -EINVAL;
	/*
	 * VFs that already exist belong to whoever enabled them, and may be
	 * in use by the host or by other users: the PF's user could reset
	 * them from under those (FLR of the PF).  They must be gone first.
	 */
	if (pci_num_vf(pdev)) {
		pci_warn(pdev, "vfio: refusing a PF with SR-IOV enabled; disable its VFs first\n");
		return -EBUSY;
	}
	/* INTx then needs a line of its own, masked at the irqchip. */
	if (!core->opts.nointxmask &&
	    pci_match_id(vfio_pci_intx_mask_broken, pdev)) {
		pci_info(pdev, "vfio: INTx disable is broken on this device, INTx is masked at the interrupt controller\n");
		core->opts.nointxmask = true;
	}
	/*
	 * A host console (vgacon, a firmware framebuffer) must not keep
	 * drawing on a device the user owns: hand the device over for good.
	 */
	ret = aperture_remove_conflicting_pci_devices(pdev,
						      core->vdev.ops->name);
	if (ret)
		return ret;

	ret = vfio_assign_device_set(&core->vdev, vfio_pci_reset_domain(core));
	if (ret)
		return ret;

	dev_set_drvdata(&pdev->dev, core);
	ret = vfio_pci_vga_init(core);
	if (ret)
		goto err_drvdata;
	vfio_pci_sriov_link(core);
	/* Nobody can have it open yet. */
	vfio_pci_set_idle(core, true);
	ret = vfio_register_group_dev(&core->vdev);
	if (ret)
		goto err_vga;
	return 0;

err_vga:
	vfio_pci_idle_stop(core);
	vfio_pci_set_idle(core, false);
	vfio_pci_vga_exit(core);
err_drvdata:
	dev_set_drvdata(&pdev->dev, NULL);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_register_device);

/**
 * vfio_pci_core_unregister_device - undo vfio_pci_core_register_device()
 * @core: the device
 *
 * Called from the bus driver's PCI remove.  Disables the VFs of a PF
 * first, then waits until userspace has closed every file descriptor of
 * the device; both ask users to let go through ops->request.  Cannot
 * fail.  The caller drops @core with
 * vfio_put_device() afterwards.
 */
void vfio_pci_core_unregister_device(struct vfio_pci_core_device *core)
{
	vfio_pci_core_sriov_configure(core, 0);
	vfio_unregister_group_dev(&core->vdev);
	vfio_pci_vga_exit(core);
	/* The next driver expects the device awake. */
	vfio_pci_idle_stop(core);
	vfio_pci_set_idle(core, false);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_unregister_device);

/*
 * Reset the device for its new user, then save the config space that
 * vfio_pci_core_disable() gives back.  Both happen under the PCI device
 * lock, so that a reset from elsewhere (sysfs) cannot run between them and
 * leave us saving a device in the middle of its reset.  The lock is only
 * tried, as remove() holds it while it waits for a close: when it is taken
 * the open fails with -EAGAIN rather than hand over a device that was not
 * reset.  A device whose reset fails otherwise is handed over as it is.
 */
static int vfio_pci_open_reset_save(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	bool locked = false;
	int ret;

	if (vfio_pci_reset_works(core)) {
		if (!pci_dev_trylock(pdev))
			return -EAGAIN;
		locked = true;
		ret = pci_reset_function_locked(pdev);
		if (ret)
			pci_dbg(pdev, "vfio: no reset on open: %d\n", ret);
	}

	pci_save_state(pdev);
	core->saved_state = pci_store_saved_state(pdev);
	if (locked)
		pci_dev_unlock(pdev);
	if (!core->saved_state)
		pci_warn(pdev, "vfio: cannot save config space, it will not be restored\n");
	return 0;
}

/**
 * vfio_pci_core_enable - prepare the device for a new user
 * @core: the device
 *
 * Powers the device up, turns bus mastering off, enables it, resets it
 * when a function reset is available and saves its config space for
 * vfio_pci_core_disable() to restore: the user turns bus mastering on
 * through the config region once it has set up DMA, and the state saved
 * never has it on, whoever set it before.  Called with dev_set->lock held,
 * from ops->open_device.  Undo with vfio_pci_core_disable().
 *
 * Return: 0 or a negative errno, with nothing left to undo; -EAGAIN when
 * the device could not be reset because its PCI device lock is held
 * (try again later).
 */
int vfio_pci_core_enable(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	int ret;

	lockdep_assert_held(&core->vdev.dev_set->lock);

	ret = pci_set_power_state(pdev, PCI_D0);
	if (ret)
		pci_warn(pdev, "vfio: cannot power up: %d\n", ret);

	/* Before anything is saved: the state restored at close has no BME. */
	pci_clear_master(pdev);
	ret = pci_enable_device(pdev);
	if (ret)
		return ret;

	ret = vfio_pci_open_reset_save(core);
	if (ret)
		goto err_disable;
	vfio_pci_bars_record(core);

	ret = vfio_pci_cfg_init(core);
	if (ret)
		goto err_restore;

	/* After config: the user's view of INTx disable is the device's. */
	ret = vfio_pci_irq_open(core);
	if (ret)
		goto err_cfg;

	down_write(&core->memory_lock);
	vfio_pci_cmd_refresh(core);
	up_write(&core->memory_lock);
	vfio_pci_mmap_pad(core);
	return 0;

err_cfg:
	vfio_pci_cfg_exit(core);
err_restore:
	if (core->saved_state) {
		pci_load_and_free_saved_state(pdev, &core->saved_state);
		pci_restore_state(pdev);
	}
err_disable:
	pci_disable_device(pdev);
	vfio_pci_set_idle(core, true);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_enable);

/**
 * vfio_pci_core_finish_enable - the last step of opening the device
 * @core: the device, enabled by vfio_pci_core_enable()
 *
 * A variant driver that does its own setup between vfio_pci_core_enable()
 * and this calls it last in its ops->open_device; it cannot fail and is
 * undone by vfio_pci_core_disable().
 */
void vfio_pci_core_finish_enable(struct vfio_pci_core_device *core)
{
	lockdep_assert_held(&core->vdev.dev_set->lock);
	/* Now the VF is in use: its PF's user needs the VF token to open. */
	vfio_pci_sriov_count_user(core, true);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_finish_enable);

/**
 * vfio_pci_core_disable - give the device back after its user is gone
 * @core: the device
 *
 * Tears down interrupts and BAR mappings, turns bus mastering off, resets
 * the device if it can, restores the config space saved by
 * vfio_pci_core_enable() and disables it.  Called with dev_set->lock held,
 * from ops->close_device; cannot fail.
 */
void vfio_pci_core_disable(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;

	lockdep_assert_held(&core->vdev.dev_set->lock);

	vfio_pci_sriov_count_user(core, false);
	/* Wake it if the user left it asleep; its config comes back. */
	vfio_pci_set_power(core, PCI_D0);
	vfio_pci_ioeventfd_release_all(core);
	vfio_pci_irq_release_all(core);
	vfio_pci_bar_unmap_all(core);
	vfio_pci_mmap_unpad(core);
	vfio_pci_cfg_exit(core);

	/* No DMA from here on, whatever the user left programmed. */
	pci_clear_master(pdev);

	/*
	 * Load the saved state first: the reset below must not save the
	 * user's config over it.  Decode and INTx go off for the reset.  The
	 * PCI device lock is only tried: remove() holds it while it waits for
	 * this very close.  A device that misses its reset here gets one at
	 * its next open, which fails rather than go without.
	 */
	if (core->saved_state &&
	    pci_load_and_free_saved_state(pdev, &core->saved_state))
		pci_warn(pdev, "vfio: cannot reload saved config space\n");
	pci_write_config_word(pdev, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE);

	core->needs_reset = true;
	if (vfio_pci_reset_works(core) && pci_dev_trylock(pdev)) {
		if (!__pci_reset_function_locked(pdev))
			core->needs_reset = false;
		pci_dev_unlock(pdev);
	}
	/*
	 * Restore, then disable: the state saved at open has bus mastering
	 * off, and disabling clears it again should the restore have nothing
	 * to write back.
	 */
	pci_restore_state(pdev);
	pci_disable_device(pdev);

	/* Without a function reset, the set's bus reset may do. */
	vfio_pci_dev_set_idle_reset(core);
	vfio_pci_set_idle(core, true);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_disable);

/**
 * vfio_pci_core_open_device - ops->open_device for a plain PCI device
 * @vdev: the device
 *
 * Called by the VFIO core with dev_set->lock held when the first file
 * descriptor of the device is opened.  Undone by
 * vfio_pci_core_close_device().
 *
 * Return: 0 or a negative errno.
 */
int vfio_pci_core_open_device(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core = to_core(vdev);
	int ret;

	ret = vfio_pci_core_enable(core);
	if (ret)
		return ret;
	vfio_pci_core_finish_enable(core);
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_open_device);

/**
 * vfio_pci_core_close_device - ops->close_device for a plain PCI device
 * @vdev: the device
 *
 * Called by the VFIO core with dev_set->lock held when the last file
 * descriptor of the device is closed; cannot fail.
 */
void vfio_pci_core_close_device(struct vfio_device *vdev)
{
	vfio_pci_core_disable(to_core(vdev));
}
EXPORT_SYMBOL_GPL(vfio_pci_core_close_device);

static int vfio_pci_ioctl_get_info(struct vfio_pci_core_device *core,
				   struct vfio_device_info __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI;
	if (vfio_pci_reset_works(core))
		info.flags |= VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;

	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

/* Fill in size and flags of one of the fixed regions. */
static void vfio_pci_region_describe(struct vfio_pci_core_device *core,
				     struct vfio_region_info *info)
{
	struct pci_dev *pdev = core->pdev;
	unsigned int index = info->index;

	info->size = 0;
	info->flags = 0;

	switch (index) {
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		if (!vfio_pci_bar_present(core, index))
			break;
		info->size = pci_resource_len(pdev, index);
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
		if (vfio_pci_mmap_ok(core, index))
			info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		info->size = pci_resource_len(pdev, PCI_ROM_RESOURCE);
		if (info->size)
			info->flags = VFIO_REGION_INFO_FLAG_READ;
		break;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info->size = pdev->cfg_size;
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_VGA_REGION_INDEX:
		if (!vfio_pci_vga_present(core))
			break;
		info->size = vfio_pci_vga_size();
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
		break;
	}
}

/*
 * Capabilities of a region.  The BAR holding the MSI-X table says that it
 * may be mapped whole, table included: with interrupt remapping, which
 * type1 insists on unless told otherwise, writing the table directly
 * cannot reach anything the user does not already own.
 */
static int vfio_pci_region_caps(struct vfio_pci_core_device *core,
				struct vfio_region_info *info,
				struct vfio_info_cap *caps)
{
	struct vfio_info_cap_header *hdr;

	if (info->flags & VFIO_REGION_INFO_FLAG_MMAP &&
	    info->index == core->msix_bar) {
		hdr = vfio_info_cap_add(caps, sizeof(*hdr),
					VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1);
		if (IS_ERR(hdr))
			return PTR_ERR(hdr);
	}
	return 0;
}

static int vfio_pci_ioctl_get_region_info(struct vfio_pci_core_device *core,
					  struct vfio_region_info __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_info_cap caps = { };
	struct vfio_region_info info;
	int ret;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (info.index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	if (info.index == VFIO_PCI_VGA_REGION_INDEX &&
	    !vfio_pci_vga_present(core))
		return -EINVAL;

	info.offset = vfio_pci_region_offset(info.index);
	info.cap_offset = 0;
	vfio_pci_region_describe(core, &info);

	ret = vfio_pci_region_caps(core, &info, &caps);
	if (ret)
		goto out_free;

	if (caps.size) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			/* Tell the user how much room the chain needs. */
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user((void __user *)uarg + sizeof(info),
					 caps.buf, caps.size)) {
				ret = -EFAULT;
				goto out_free;
			}
			info.cap_offset = sizeof(info);
		}
	}

	if (copy_to_user(uarg, &info, minsz))
		ret = -EFAULT;
out_free:
	kfree(caps.buf);
	return ret;
}

static int vfio_pci_ioctl_get_irq_info(struct vfio_pci_core_device *core,
				       struct vfio_irq_info __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;
	int ret;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;

	ret = vfio_pci_irq_info(core, &info);
	if (ret)
		return ret;

	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static int vfio_pci_ioctl_set_irqs(struct vfio_pci_core_device *core,
				   struct vfio_irq_set __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	size_t data_size = 0;
	unsigned int max = 0;
	void *data = NULL;
	int ret;

	if (copy_from_user(&hdr, uarg, minsz))
		return -EFAULT;

	if (hdr.index < VFIO_PCI_NUM_IRQS)
		max = vfio_pci_irq_count(core, hdr.index);
	ret = vfio_set_irqs_validate_and_prepare(&hdr, max, VFIO_PCI_NUM_IRQS,
						 &data_size);
	if (ret)
		return ret;

	if (data_size) {
		data = memdup_user(&uarg->data, data_size);
		if (IS_ERR(data))
			return PTR_ERR(data);
	}

	mutex_lock(&core->igate);
	ret = vfio_pci_irq_set(core, &hdr, data);
	mutex_unlock(&core->igate);

	kfree(data);
	return ret;
}

static int vfio_pci_ioctl_reset(struct vfio_pci_core_device *core)
{
	int ret;

	if (!vfio_pci_reset_works(core))
		return -EINVAL;
	ret = vfio_pci_reset_function(core);
	if (!ret)
		vfio_pci_cfg_reset_done(core);
	return ret;
}

/**
 * vfio_pci_core_ioctl - ops->ioctl: the device ioctls of a PCI device
 * @vdev: the device
 * @cmd: the ioctl
 * @arg: its argument, a user pointer for all of them but VFIO_DEVICE_RESET
 *
 * A variant driver handles its own ioctls and passes the rest here.
 *
 * Return: 0, a positive value defined by the ioctl, or a negative errno;
 * -ENOTTY for an ioctl not known here.
 */
long vfio_pci_core_ioctl(struct vfio_device *vdev, unsigned int cmd,
			 unsigned long arg)
{
	struct vfio_pci_core_device *core = to_core(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return vfio_pci_ioctl_get_info(core, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return vfio_pci_ioctl_get_region_info(core, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return vfio_pci_ioctl_get_irq_info(core, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return vfio_pci_ioctl_set_irqs(core, uarg);
	case VFIO_DEVICE_RESET:
		return vfio_pci_ioctl_reset(core);
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		return vfio_pci_ioctl_hot_reset_info(core, uarg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		return vfio_pci_ioctl_hot_reset(core, uarg);
	case VFIO_DEVICE_IOEVENTFD:
		return vfio_pci_ioctl_ioeventfd(core, uarg);
	default:
		return -ENOTTY;
	}
}
EXPORT_SYMBOL_GPL(vfio_pci_core_ioctl);

static ssize_t vfio_pci_rw(struct vfio_pci_core_device *core,
			   char __user *buf, size_t count, loff_t *ppos,
			   bool write)
{
	u64 index = vfio_pci_offset_index(*ppos);
	u64 pos = vfio_pci_offset_in_region(*ppos);
	ssize_t done;

	if (!count)
		return 0;

	switch (index) {
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		done = vfio_pci_bar_rw(core, index, buf, count, pos, write);
		break;
	case VFIO_PCI_ROM_REGION_INDEX:
		if (write)
			return -EINVAL;
		done = vfio_pci_rom_read(core, buf, count, pos);
		break;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		done = vfio_pci_cfg_rw(core, buf, count, pos, write);
		break;
	case VFIO_PCI_VGA_REGION_INDEX:
		if (!vfio_pci_vga_present(core))
			return -EINVAL;
		done = vfio_pci_vga_rw(core, buf, count, pos, write);
		break;
	default:
		return -EINVAL;
	}

	if (done > 0)
		*ppos += done;
	return done;
}

/**
 * vfio_pci_core_read - ops->read: read(2) on the device file
 * @vdev: the device
 * @buf: user buffer
 * @count: bytes wanted
 * @ppos: file position, which selects the region (see
 *        vfio_pci_region_offset()); advanced by the bytes read
 *
 * Return: bytes read, possibly short at the end of a region, or a
 * negative errno; -EIO for a BAR whose memory decode is off.
 */
ssize_t vfio_pci_core_read(struct vfio_device *vdev, char __user *buf,
			   size_t count, loff_t *ppos)
{
	return vfio_pci_rw(to_core(vdev), buf, count, ppos, false);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_read);

/**
 * vfio_pci_core_write - ops->write: write(2) on the device file
 * @vdev: the device
 * @buf: user buffer
 * @count: bytes to write
 * @ppos: file position, which selects the region; advanced by the bytes
 *        written
 *
 * Config space writes go through the virtualization in config.c: writes to
 * read-only or virtualized registers are absorbed and still count as
 * written.
 *
 * Return: bytes written or a negative errno.
 */
ssize_t vfio_pci_core_write(struct vfio_device *vdev, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	/* One path for both directions; a write never stores into @buf. */
	return vfio_pci_rw(to_core(vdev), (char __user *)buf, count, ppos,
			   true);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_write);

/**
 * vfio_pci_core_mmap - ops->mmap: map a BAR into userspace
 * @vdev: the device
 * @vma: the new mapping, MAP_SHARED, at the file offset of a region whose
 *       info has VFIO_REGION_INFO_FLAG_MMAP
 *
 * Pages appear on first touch while memory decode is on; turning decode
 * off or resetting the device removes them until it is back, and touching
 * them meanwhile raises SIGBUS.
 *
 * Return: 0 or a negative errno.
 */
int vfio_pci_core_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	return vfio_pci_mmap(to_core(vdev), vma);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_mmap);

/**
 * vfio_pci_core_get_unmapped_area - ops->get_unmapped_area: place a BAR
 *                                   mapping so that it can use huge pages
 * @vdev: the device
 * @file: the device file
 * @addr: the caller's hint, or 0
 * @len: length of the mapping
 * @pgoff: file offset in pages
 * @flags: mmap() flags
 *
 * Return: the address, or a negative errno cast to unsigned long.
 */
unsigned long vfio_pci_core_get_unmapped_area(struct vfio_device *vdev,
					      struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags)
{
	return vfio_pci_mmap_get_unmapped_area(to_core(vdev), file, addr, len,
					       pgoff, flags);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_get_unmapped_area);

/**
 * vfio_pci_core_request - ops->request: ask the user to release the device
 * @vdev: the device
 * @count: how many times the user was asked already
 *
 * Signals the eventfd the user set for VFIO_PCI_REQ_IRQ_INDEX; without one
 * the host can only log that it is waiting.  Called by the VFIO core with
 * no lock held, repeatedly until the device is closed.
 */
void vfio_pci_core_request(struct vfio_device *vdev, unsigned int count)
{
	vfio_pci_irq_request(to_core(vdev), count);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_request);

#define VFIO_PCI_OPT_VF_TOKEN	"vf_token="

/* Parse the space-separated options after the device name. */
static int vfio_pci_parse_opts(const char *opts, uuid_t *uuid, bool *has_uuid)
{
	size_t klen = strlen(VFIO_PCI_OPT_VF_TOKEN);
	char str[UUID_STRING_LEN + 1];
	const char *end;

	*has_uuid = false;
	for (opts = skip_spaces(opts); *opts; opts = skip_spaces(end)) {
		end = strchrnul(opts, ' ');
		if (end - opts != klen + UUID_STRING_LEN ||
		    strncmp(opts, VFIO_PCI_OPT_VF_TOKEN, klen))
			return -EINVAL;
		if (*has_uuid)
			return -EINVAL;

		memcpy(str, opts + klen, UUID_STRING_LEN);
		str[UUID_STRING_LEN] = '\0';
		if (uuid_parse(str, uuid))
			return -EINVAL;
		*has_uuid = true;
	}
	return 0;
}

/**
 * vfio_pci_core_match - ops->match: does a device name string mean us?
 * @vdev: the device
 * @buf: the string given to VFIO_GROUP_GET_DEVICE_FD: the PCI name
 *       ("0000:00:04.0"), optionally followed by space-separated options,
 *       of which only "vf_token=<uuid>" exists, at most once
 *
 * Return: 1 if @buf names this device with acceptable options, 0 if it
 * names another device, -EINVAL for unknown, duplicated or malformed
 * options or a VF token where none belongs, -EACCES for a missing or
 * wrong VF token where one is required.
 */
int vfio_pci_core_match(struct vfio_device *vdev, char *buf)
{
	struct vfio_pci_core_device *core = to_core(vdev);
	const char *name = pci_name(core->pdev);
	size_t len = strlen(name);
	bool has_uuid;
	uuid_t uuid;
	int ret;

	if (strncmp(buf, name, len) || (buf[len] && buf[len] != ' '))
		return 0;

	ret = vfio_pci_parse_opts(buf + len, &uuid, &has_uuid);
	if (!ret)
		ret = vfio_pci_sriov_token_check(core, has_uuid ? &uuid : NULL);
	return ret ? ret : 1;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_match);

/**
 * vfio_pci_core_check_token - ops->check_token: the VF token of a cdev bind
 * @vdev: the device
 * @token: the token passed with VFIO_DEVICE_BIND_FLAG_TOKEN, or NULL
 *
 * The rules are those of a "vf_token=" option to vfio_pci_core_match().
 *
 * Return: 0 when the device may be bound, -EACCES or -EINVAL when not.
 */
int vfio_pci_core_check_token(struct vfio_device *vdev, const uuid_t *token)
{
	return vfio_pci_sriov_token_check(to_core(vdev), token);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_check_token);

/**
 * vfio_pci_core_device_feature - ops->device_feature for a PCI device
 * @vdev: the device
 * @flags: the user's flags, feature number included
 * @arg: the feature data
 * @argsz: size of the feature data
 *
 * Handles VFIO_DEVICE_FEATURE_PCI_VF_TOKEN (set only, PFs only).
 *
 * Return: 0, a negative errno, or -ENOTTY for a feature not offered.
 */
int vfio_pci_core_device_feature(struct vfio_device *vdev, u32 flags,
				 void __user *arg, size_t argsz)
{
	struct vfio_pci_core_device *core = to_core(vdev);

	switch (flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN:
		return vfio_pci_sriov_feature_token(core, flags, arg, argsz);
	default:
		return -ENOTTY;
	}
}
EXPORT_SYMBOL_GPL(vfio_pci_core_device_feature);

/**
 * vfio_pci_core_aer_err_detected - pci_error_handlers.error_detected
 * @pdev: the device, bound to a driver built on vfio-pci-core
 * @state: the channel state
 *
 * Relays the error to the user through the eventfd set for
 * VFIO_PCI_ERR_IRQ_INDEX, if any.
 *
 * Return: PCI_ERS_RESULT_CAN_RECOVER: recovery is the user's business.
 */
pci_ers_result_t vfio_pci_core_aer_err_detected(struct pci_dev *pdev,
						pci_channel_state_t state)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);

	if (core)
		vfio_pci_irq_error(core);
	return PCI_ERS_RESULT_CAN_RECOVER;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_aer_err_detected);

static int __init vfio_pci_core_init(void)
{
	return vfio_pci_sriov_init();
}
module_init(vfio_pci_core_init);

static void __exit vfio_pci_core_exit(void)
{
	vfio_pci_sriov_exit();
}
module_exit(vfio_pci_core_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("core driver for VFIO based PCI devices");
