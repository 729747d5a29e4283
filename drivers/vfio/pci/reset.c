// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: resets and power states.
 *
 * Terms:
 *  - a *function reset* touches this device only (FLR, PM reset, or a bus
 *    reset when the device is alone below its bridge); the PCI core picks
 *    the method and saves and restores config space around it, so the
 *    user's COMMAND register and the BARs survive;
 *  - a *hot reset* is a slot or bus reset that also resets the *affected*
 *    devices: every function of the slot or on the bus, and everything
 *    below them.  The user proves it owns each of them with the fds of
 *    their groups; all of them must be vfio-pci devices of one device set,
 *    which is why the set is keyed by the slot or bus (core.c);
 *  - the *idle* power state is D3hot, where a device nobody has open is
 *    parked unless the disable_idle_d3 option is set.
 *
 * Everything that can turn memory decode off holds memory_lock for writing
 * and zaps the user's BAR mappings before it does.
 */

#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

/* Bounds the group fds a hot reset takes: one per affected device at most. */
#define VFIO_PCI_HOT_RESET_MAX_FDS	256

/**
 * vfio_pci_reset_function - reset the device alone
 * @core: the device, open
 *
 * Called without memory_lock held.  The device ends up in D0 with its
 * config space as it was before.
 *
 * Return: 0, -EAGAIN if the PCI device lock is contended, or the PCI
 * core's error (-ENOTTY: no function reset).
 */
int vfio_pci_reset_function(struct vfio_pci_core_device *core)
{
	int ret;

	down_write(&core->memory_lock);
	vfio_pci_mmap_zap(core);
	ret = pci_try_reset_function(core->pdev);
	if (!ret) {
		/* Back in D0 with the config space of before. */
		kfree(core->pm_save);
		core->pm_save = NULL;
	}
	vfio_pci_cmd_refresh(core);
	up_write(&core->memory_lock);

	if (!ret)
		vfio_pci_notify(core, VFIO_DEVICE_EVENT_RESET);
	return ret;
}

/*
 * The body of vfio_pci_set_power(), for callers that hold memory_lock for
 * writing.  Returns true when the device left D0: the caller sends
 * VFIO_DEVICE_EVENT_MEMORY_OFF once it has dropped the lock.
 */
static bool vfio_pci_set_power_locked(struct vfio_pci_core_device *core,
				      pci_power_t state, int *ret)
{
	struct pci_dev *pdev = core->pdev;
	bool leaving_d0 = false;

	lockdep_assert_held_write(&core->memory_lock);
	if (state != PCI_D0 && core->hold_d0) {
		*ret = -EBUSY;
		return false;
	}
	if (state != PCI_D0 && pdev->current_state == PCI_D0) {
		leaving_d0 = true;
		vfio_pci_mmap_zap(core);
		pci_save_state(pdev);
		kfree(core->pm_save);
		core->pm_save = pci_store_saved_state(pdev);
	}
	*ret = pci_set_power_state(pdev, state);
	if (pdev->current_state == PCI_D0 && core->pm_save &&
	    !pci_load_and_free_saved_state(pdev, &core->pm_save))
		pci_restore_state(pdev);
	vfio_pci_cmd_refresh(core);
	return leaving_d0;
}

/**
 * vfio_pci_set_power - move the open device to another power state
 * @core: the device, open
 * @state: PCI_D0 to PCI_D3hot
 *
 * Leaving D0 zaps the user's BAR mappings (nothing decodes in a low power
 * state) and saves config space; coming back restores it, since a device
 * without No_Soft_Reset has forgotten it.  A device held in D0 (see
 * vfio_pci_hold_d0()) stays there.  Called without memory_lock held.
 *
 * Return: 0, -EBUSY for a device held in D0, or the error of
 * pci_set_power_state().
 */
int vfio_pci_set_power(struct vfio_pci_core_device *core, pci_power_t state)
{
	bool left_d0;
	int ret;

	down_write(&core->memory_lock);
	left_d0 = vfio_pci_set_power_locked(core, state, &ret);
	up_write(&core->memory_lock);

	if (left_d0)
		vfio_pci_notify(core, VFIO_DEVICE_EVENT_MEMORY_OFF);
	return ret;
}

/*
 * How long a closed device stays in D0 before it is parked: a close and a
 * reopen in quick succession (a program that opens devices one after the
 * other, a retry) then pay for no D3hot round trip, whose PCI PM delays
 * dwarf the rest of an open.
 */
#define VFIO_PCI_IDLE_DELAY_MS	100

/* Park the device if it is still unused once the delay is over. */
static void vfio_pci_idle_work(struct work_struct *work)
{
	struct vfio_pci_core_device *core =
		container_of(to_delayed_work(work), struct vfio_pci_core_device,
			     idle_work);
	struct vfio_device_set *dev_set = core->vdev.dev_set;

	/*
	 * Everything that wakes a closed device for a while (hot resets, the
	 * set's bus reset) does it and parks it again under dev_set->lock, so
	 * an unused device seen here is one that should sleep.
	 */
	mutex_lock(&dev_set->lock);
	if (!core->vdev.open_count && !core->hold_d0 && !pci_num_vf(core->pdev))
		pci_set_power_state(core->pdev, PCI_D3hot);
	mutex_unlock(&dev_set->lock);
}

/* From vfio_pci_core_init_dev(). */
void vfio_pci_idle_init(struct vfio_pci_core_device *core)
{
	INIT_DELAYED_WORK(&core->idle_work, vfio_pci_idle_work);
}

/**
 * vfio_pci_set_idle - park an unused device in D3hot, or wake it
 * @core: the device; nobody has it open
 * @idle: true to park, false to bring it back to D0
 *
 * Parking happens VFIO_PCI_IDLE_DELAY_MS later, and only if the device is
 * still unused then; waking is immediate and cancels a pending park.
 * Called with dev_set->lock held, or before the device is registered or
 * after it is unregistered (and vfio_pci_idle_stop() was called).  Does
 * nothing with the disable_idle_d3 option; does not park a device held in
 * D0 or a PF with VFs: they stop working while it sleeps.
 */
void vfio_pci_set_idle(struct vfio_pci_core_device *core, bool idle)
{
	if (core->opts.disable_idle_d3)
		return;
	if (!idle) {
		/* One already running waits for dev_set->lock, then looks. */
		cancel_delayed_work(&core->idle_work);
		pci_set_power_state(core->pdev, PCI_D0);
		return;
	}
	if (core->hold_d0 || pci_num_vf(core->pdev))
		return;
	mod_delayed_work(system_wq, &core->idle_work,
			 msecs_to_jiffies(VFIO_PCI_IDLE_DELAY_MS));
}

/**
 * vfio_pci_idle_stop - no more parking: the device is being given back
 * @core: the device, unregistered or never registered
 *
 * Waits for a park in flight; called with no lock held.  The caller wakes
 * the device afterwards with vfio_pci_set_idle(@core, false).
 */
void vfio_pci_idle_stop(struct vfio_pci_core_device *core)
{
	cancel_delayed_work_sync(&core->idle_work);
}

/**
 * vfio_pci_hold_d0 - keep the device in D0, or let it go again
 * @core: the device, registered, open or not
 * @hold: true to wake the device now and keep it awake, false to release
 *
 * While held, neither idling nor the user's power management (PMCSR
 * writes) moves the device out of D0; a user who had put it to sleep
 * finds it awake, its config space restored.  On release a device nobody
 * has open goes back to idle, unless something else keeps it awake (a PF
 * with VFs).  Takes dev_set->lock, then memory_lock.
 */
void vfio_pci_hold_d0(struct vfio_pci_core_device *core, bool hold)
{
	struct vfio_device_set *dev_set = core->vdev.dev_set;
	int ret = 0;

	mutex_lock(&dev_set->lock);
	down_write(&core->memory_lock);
	core->hold_d0 = hold;
	if (hold)
		vfio_pci_set_power_locked(core, PCI_D0, &ret);
	up_write(&core->memory_lock);
	if (ret)
		pci_warn(core->pdev, "vfio: cannot power up: %d\n", ret);
	if (!hold && !core->vdev.open_count)
		vfio_pci_set_idle(core, true);
	mutex_unlock(&dev_set->lock);
}

/* ---- what a hot reset affects -------------------------------------- */

/* Slot reset if the slot has one, else bus reset, else nothing. */
static int vfio_pci_hot_reset_scope(struct pci_dev *pdev, bool *slot)
{
	*slot = pdev->slot && !pci_probe_reset_slot(pdev->slot);
	if (*slot)
		return 0;
	return pci_probe_reset_bus(pdev->bus) ? -ENODEV : 0;
}

/* A walk over the affected devices; @slot and @ret are the walker's. */
struct vfio_pci_walk {
	struct pci_slot *slot;
	int (*fn)(struct pci_dev *pdev, void *data);
	void *data;
	int ret;
};

static int vfio_pci_walk_one(struct pci_dev *pdev, void *data)
{
	struct vfio_pci_walk *walk = data;

	/* On the slot's own bus only the slot's functions are affected. */
	if (walk->slot && pdev->bus == walk->slot->bus &&
	    pdev->slot != walk->slot)
		return 0;
	walk->ret = walk->fn(pdev, walk->data);
	return walk->ret;
}

/* Call @walk->fn for each affected device until it returns non-zero. */
static int vfio_pci_walk_affected(struct pci_dev *pdev, bool slot,
				  struct vfio_pci_walk *walk)
{
	walk->slot = slot ? pdev->slot : NULL;
	walk->ret = 0;
	pci_walk_bus(slot ? pdev->slot->bus : pdev->bus, vfio_pci_walk_one,
		     walk);
	return walk->ret;
}

/*
 * For a device open through its cdev the list names devices by iommufd
 * device id (@ictx is its iommufd, NULL in no-IOMMU mode) and says whether
 * the caller owns all of them.
 */
struct vfio_pci_dep_list {
	struct vfio_pci_dependent_device *devs;
	unsigned int max;
	unsigned int count;
	bool by_devid;
	struct vfio_device_set *dev_set;
	struct iommufd_ctx *ictx;
	bool all_owned;
};

/*
 * The entry of a device in a devid list: its id if it is bound to the
 * caller's iommufd, OWNED if that iommufd owns its IOMMU group through
 * another device, NOT_OWNED otherwise.
 */
static u32 vfio_pci_dep_devid(struct vfio_pci_dep_list *list,
			      struct pci_dev *pdev, struct iommu_group *group)
{
	struct vfio_device *vdev;
	int id;

	vdev = vfio_find_device_in_devset(list->dev_set, &pdev->dev);
	id = vdev ? vfio_iommufd_device_id(vdev, list->ictx) : -ENOENT;
	if (id >= 0)
		return id;
	if (list->ictx && vfio_iommufd_owns_group(list->ictx, group))
		return VFIO_PCI_DEVID_OWNED;
	list->all_owned = false;
	return VFIO_PCI_DEVID_NOT_OWNED;
}

static int vfio_pci_dep_fill(struct pci_dev *pdev, void *data)
{
	struct vfio_pci_dep_list *list = data;
	struct vfio_pci_dependent_device *dep;
	struct iommu_group *group;

	if (list->count < list->max) {
		group = iommu_group_get(&pdev->dev);
		if (!group)
			return -ENODEV;
		dep = &list->devs[list->count];
		if (list->by_devid)
			dep->devid = vfio_pci_dep_devid(list, pdev, group);
		else
			dep->group_id = iommu_group_id(group);
		dep->segment = pci_domain_nr(pdev->bus);
		dep->bus = pdev->bus->number;
		dep->devfn = pdev->devfn;
		iommu_group_put(group);
	}
	list->count++;
	return 0;
}

/**
 * vfio_pci_ioctl_hot_reset_info - VFIO_DEVICE_GET_PCI_HOT_RESET_INFO
 * @core: the device, open
 * @uarg: the user's struct vfio_pci_hot_reset_info
 *
 * A device open through its cdev gets devids (VFIO_PCI_HOT_RESET_FLAG_DEV_ID)
 * and, when its iommufd owns every affected device, FLAG_DEV_ID_OWNED.
 *
 * Return: 0; -ENOSPC with count filled in when argsz leaves no room for
 * the list; -ENODEV without a slot or bus reset, or for an affected
 * device without an IOMMU group; -EINVAL or -EFAULT for bad input.
 */
int vfio_pci_ioctl_hot_reset_info(struct vfio_pci_core_device *core,
				  struct vfio_pci_hot_reset_info __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset_info, count);
	struct vfio_pci_hot_reset_info hdr;
	struct vfio_pci_dep_list list = {
		.dev_set = core->vdev.dev_set,
		.all_owned = true,
	};
	struct vfio_pci_walk walk = {
		.fn = vfio_pci_dep_fill,
		.data = &list,
	};
	bool slot;
	int ret;

	if (copy_from_user(&hdr, uarg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz)
		return -EINVAL;
	hdr.flags = 0;
	/* The device is open for the caller: how it was opened stays put. */
	if (vfio_device_cdev_opened(&core->vdev)) {
		list.by_devid = true;
		list.ictx = vfio_iommufd_device_ictx(&core->vdev);
		hdr.flags |= VFIO_PCI_HOT_RESET_FLAG_DEV_ID;
	}

	ret = vfio_pci_hot_reset_scope(core->pdev, &slot);
	if (ret)
		return ret;

	/* Count, then fill what was counted: the bus can change between. */
	vfio_pci_walk_affected(core->pdev, slot, &walk);
	list.max = list.count;
	list.count = 0;
	list.devs = kcalloc(list.max, sizeof(*list.devs), GFP_KERNEL);
	if (!list.devs)
		return -ENOMEM;
	/* Who is bound to what holds still under the set's lock. */
	mutex_lock(&list.dev_set->lock);
	ret = vfio_pci_walk_affected(core->pdev, slot, &walk);
	mutex_unlock(&list.dev_set->lock);
	if (ret)
		goto out_free;

	if (list.by_devid && list.all_owned)
		hdr.flags |= VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
	hdr.count = list.count;
	if (hdr.argsz < minsz + (size_t)list.count * sizeof(*list.devs)) {
		ret = -ENOSPC;
	} else if (copy_to_user(uarg->devices, list.devs,
				(size_t)min(list.count, list.max) *
				sizeof(*list.devs))) {
		ret = -EFAULT;
		goto out_free;
	}
	if (copy_to_user(uarg, &hdr, minsz))
		ret = -EFAULT;
out_free:
	kfree(list.devs);
	return ret;
}

/* ---- hot reset ----------------------------------------------------- */

/*
 * Whoever asks for a hot reset proves it owns every affected device: with
 * the group fds of a group-opened device, or for a device open through
 * its cdev by its iommufd (@ictx), which must own the affected devices'
 * IOMMU groups.
 */
struct vfio_pci_hot_reset_ctx {
	struct vfio_device_set *dev_set;
	struct file **files;
	unsigned int nr_files;
	struct iommufd_ctx *ictx;
};

/* An affected device must be ours, in this set, and owned by the caller. */
static int vfio_pci_hot_reset_owned(struct pci_dev *pdev, void *data)
{
	struct vfio_pci_hot_reset_ctx *ctx = data;
	struct iommu_group *group;
	struct vfio_device *vdev;
	unsigned int i;
	bool owned;

	vdev = vfio_find_device_in_devset(ctx->dev_set, &pdev->dev);
	if (!vdev)
		return -EINVAL;
	if (ctx->ictx) {
		group = iommu_group_get(&pdev->dev);
		owned = group && vfio_iommufd_owns_group(ctx->ictx, group);
		iommu_group_put(group);
		return owned ? 0 : -EINVAL;
	}
	for (i = 0; i < ctx->nr_files; i++)
		if (vfio_file_has_dev(ctx->files[i], vdev))
			return 0;
	return -EINVAL;
}

/*
 * Reset the slot or bus with every member of the set quiesced: decode is
 * about to go, so each one's memory_lock is held for writing and its BAR
 * mappings zapped.  dev_set->lock is held, which keeps the set as it is.
 */
static int vfio_pci_dev_set_reset_bus(struct vfio_device_set *dev_set,
				      struct pci_dev *pdev)
{
	struct vfio_pci_core_device *cur;
	int ret;

	lockdep_assert_held(&dev_set->lock);

	list_for_each_entry(cur, &dev_set->device_list, vdev.set_entry) {
		down_write_nest_lock(&cur->memory_lock, &dev_set->lock);
		vfio_pci_mmap_zap(cur);
	}
	ret = pci_reset_bus(pdev);
	list_for_each_entry(cur, &dev_set->device_list, vdev.set_entry) {
		if (!ret)
			cur->needs_reset = false;
		vfio_pci_cmd_refresh(cur);
		up_write(&cur->memory_lock);
	}
	if (!ret)
		list_for_each_entry(cur, &dev_set->device_list, vdev.set_entry)
			vfio_pci_notify(cur, VFIO_DEVICE_EVENT_RESET);
	return ret;
}

static int vfio_pci_hot_reset_get_files(struct vfio_pci_hot_reset_ctx *ctx,
					const s32 __user *ufds)
{
	unsigned int i;
	s32 fd;

	for (i = 0; i < ctx->nr_files; i++) {
		if (get_user(fd, &ufds[i]))
			return -EFAULT;
		ctx->files[i] = fget(fd);
		if (!ctx->files[i])
			return -EBADF;
		if (!vfio_file_is_group(ctx->files[i])) {
			fput(ctx->files[i]);
			ctx->files[i] = NULL;
			return -EINVAL;
		}
	}
	return 0;
}

/**
 * vfio_pci_ioctl_hot_reset - VFIO_DEVICE_PCI_HOT_RESET
 * @core: the device, open
 * @uarg: the user's struct vfio_pci_hot_reset and its group fds
 *
 * A device open through its cdev passes no fds (count 0): its iommufd
 * must own every affected device.
 *
 * Return: 0; -ENODEV without a slot or bus reset; -EINVAL for bad input,
 * an fd that is not a vfio group, or an affected device the groups given
 * (or the iommufd) do not cover or that is not a vfio-pci device of this
 * set; -EBADF for a closed fd; -EAGAIN when the PCI core could not lock
 * the bus.
 */
int vfio_pci_ioctl_hot_reset(struct vfio_pci_core_device *core,
			     struct vfio_pci_hot_reset __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset, count);
	struct vfio_device_set *dev_set = core->vdev.dev_set;
	struct vfio_pci_hot_reset_ctx ctx = { .dev_set = dev_set };
	struct vfio_pci_core_device *cur;
	struct vfio_pci_walk walk = {
		.fn = vfio_pci_hot_reset_owned,
		.data = &ctx,
	};
	struct vfio_pci_hot_reset hdr;
	unsigned int i;
	bool slot;
	int ret;

	if (copy_from_user(&hdr, uarg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags)
		return -EINVAL;
	ret = vfio_pci_hot_reset_scope(core->pdev, &slot);
	if (ret)
		return ret;
	if (vfio_device_cdev_opened(&core->vdev)) {
		/* No fds; and no IOMMU (no iommufd) proves no ownership. */
		ctx.ictx = vfio_iommufd_device_ictx(&core->vdev);
		if (hdr.count || !ctx.ictx)
			return -EINVAL;
	} else {
		/* A group-opened device proves ownership with group fds. */
		if (!hdr.count || hdr.count > VFIO_PCI_HOT_RESET_MAX_FDS ||
		    hdr.argsz < minsz + hdr.count * sizeof(s32))
			return -EINVAL;
		ctx.nr_files = hdr.count;
		ctx.files = kcalloc(hdr.count, sizeof(*ctx.files), GFP_KERNEL);
		if (!ctx.files)
			return -ENOMEM;
		ret = vfio_pci_hot_reset_get_files(&ctx, uarg->group_fds);
		if (ret)
			goto out_put;
	}

	mutex_lock(&dev_set->lock);
	ret = vfio_pci_walk_affected(core->pdev, slot, &walk);
	if (!ret)
		ret = vfio_pci_dev_set_reset_bus(dev_set, core->pdev);
	/* The reset woke the members nobody has open: back to sleep. */
	list_for_each_entry(cur, &dev_set->device_list, vdev.set_entry)
		if (!cur->vdev.open_count)
			vfio_pci_set_idle(cur, true);
	mutex_unlock(&dev_set->lock);

out_put:
	for (i = 0; i < ctx.nr_files; i++)
		if (ctx.files[i])
			fput(ctx.files[i]);
	kfree(ctx.files);
	return ret;
}

/* ---- reset when the set is let go ---------------------------------- */

/* An affected device not in the set is someone else's: no bus reset. */
static int vfio_pci_in_set(struct pci_dev *pdev, void *data)
{
	return vfio_find_device_in_devset(data, &pdev->dev) ? 0 : -EBUSY;
}

/**
 * vfio_pci_dev_set_idle_reset - reset the bus once nobody uses the set
 * @core: a device of the set, just closed without a function reset
 *
 * A device that has no function reset is marked and reset with the rest
 * of its slot or bus when the last device of its set is closed and every
 * affected device is one of the set.  Called with dev_set->lock held.
 */
void vfio_pci_dev_set_idle_reset(struct vfio_pci_core_device *core)
{
	struct vfio_device_set *dev_set = core->vdev.dev_set;
	struct vfio_pci_core_device *cur;
	struct vfio_pci_walk walk = {
		.fn = vfio_pci_in_set,
		.data = dev_set,
	};
	bool slot, needed = false;

	lockdep_assert_held(&dev_set->lock);

	if (vfio_device_set_open_count(dev_set))
		return;
	list_for_each_entry(cur, &dev_set->device_list, vdev.set_entry)
		needed |= cur->needs_reset;
	if (!needed || vfio_pci_hot_reset_scope(core->pdev, &slot) ||
	    vfio_pci_walk_affected(core->pdev, slot, &walk))
		return;

	list_for_each_entry(cur, &dev_set->device_list, vdev.set_entry)
		vfio_pci_set_idle(cur, false);
	if (vfio_pci_dev_set_reset_bus(dev_set, core->pdev))
		pci_dbg(core->pdev, "vfio: no bus reset on release\n");
	list_for_each_entry(cur, &dev_set->device_list, vdev.set_entry)
		vfio_pci_set_idle(cur, true);
}
