// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO core: the life of a vfio_device and its file descriptors.
 *
 * A bus driver allocates a vfio_device (memory, refcounted by the embedded
 * class device), then registers it (registration, counted by
 * vfio_device.registration).  Registration publishes the device in its
 * group, where VFIO_GROUP_GET_DEVICE_FD can find it.  Every open file of the
 * device holds a registration reference, so unregistering first hides the
 * device from new lookups, then waits for the open files to go away, asking
 * the driver to prod userspace through ops->request meanwhile.
 *
 * The first open of a device calls ops->open_device and the last close
 * ops->close_device, both under the device set lock so a driver can look at
 * the open state of every device that shares a reset with this one.  Opens
 * and closes of one device are serialized by its own open_lock, taken
 * first: the last close announces VFIO_DEVICE_EVENT_RELEASE holding only
 * that, so a listener that takes its time stalls this device alone, never
 * the other devices of its set, and no open of this device can come in
 * between the announcement and close_device().
 *
 * Kernel code that maps a device's memory for DMA (type1 mapping a BAR
 * mmap for peer-to-peer DMA) finds the device behind a vma with
 * vfio_device_get_from_vma() and listens on the device's notifier chain,
 * which announces the last close, memory decode going off and resets.
 *
 * This file also holds the small helpers bus drivers share: capability
 * chains for info ioctls and SET_IRQS header validation.
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "vfio.h"

/*
 * What modinfo, /sys/module/vfio/version and the load banner tell users:
 * the same name and version as upstream's module, which scripts match.
 */
#define DRIVER_DESC	"VFIO - User Level meta-driver"
#define DRIVER_VERSION	"0.3"

/* How long unregistering waits between two requests to userspace. */
#define VFIO_REQUEST_INTERVAL	(10 * HZ)

static struct class *vfio_dev_class;
static DEFINE_IDA(vfio_dev_ida);

/* Device sets by set_id; the mutex serializes creation and removal. */
static DEFINE_XARRAY(vfio_dev_sets);
static DEFINE_MUTEX(vfio_dev_sets_lock);

/**
 * vfio_assign_device_set - put a device into a device set
 * @vdev: a device that is not registered yet
 * @set_id: any pointer that names the set, e.g. the pci_bus of a bus reset
 *          domain; devices passing the same @set_id share one set
 *
 * Call before vfio_register_group_dev(); a device that was not assigned gets
 * a set of its own.  Undone by the release of the device.
 *
 * Return: 0 or -ENOMEM.
 */
int vfio_assign_device_set(struct vfio_device *vdev, void *set_id)
{
	unsigned long key = (unsigned long)set_id;
	struct vfio_device_set *set;
	int ret;

	if (WARN_ON(!set_id || vdev->dev_set))
		return -EINVAL;

	mutex_lock(&vfio_dev_sets_lock);
	set = xa_load(&vfio_dev_sets, key);
	if (!set) {
		set = kzalloc(sizeof(*set), GFP_KERNEL);
		if (!set) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		set->set_id = set_id;
		mutex_init(&set->lock);
		INIT_LIST_HEAD(&set->device_list);
		ret = xa_err(xa_store(&vfio_dev_sets, key, set, GFP_KERNEL));
		if (ret) {
			mutex_destroy(&set->lock);
			kfree(set);
			goto out_unlock;
		}
	}

	mutex_lock(&set->lock);
	list_add_tail(&vdev->set_entry, &set->device_list);
	set->device_count++;
	mutex_unlock(&set->lock);
	vdev->dev_set = set;
	ret = 0;
out_unlock:
	mutex_unlock(&vfio_dev_sets_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_assign_device_set);

static void vfio_release_device_set(struct vfio_device *vdev)
{
	struct vfio_device_set *set = vdev->dev_set;
	bool last;

	if (!set)
		return;

	mutex_lock(&vfio_dev_sets_lock);
	mutex_lock(&set->lock);
	list_del(&vdev->set_entry);
	last = !--set->device_count;
	mutex_unlock(&set->lock);
	if (last) {
		xa_erase(&vfio_dev_sets, (unsigned long)set->set_id);
		mutex_destroy(&set->lock);
		kfree(set);
	}
	mutex_unlock(&vfio_dev_sets_lock);
}

/**
 * vfio_device_set_open_count - count the open devices of a set
 * @dev_set: the set; its lock must be held
 *
 * Return: how many devices of the set have at least one open file.
 */
unsigned int vfio_device_set_open_count(struct vfio_device_set *dev_set)
{
	struct vfio_device *cur;
	unsigned int n = 0;

	lockdep_assert_held(&dev_set->lock);
	list_for_each_entry(cur, &dev_set->device_list, set_entry)
		n += !!cur->open_count;
	return n;
}
EXPORT_SYMBOL_GPL(vfio_device_set_open_count);

/**
 * vfio_find_device_in_devset - find the vfio_device of a struct device
 * @dev_set: the set to search; its lock must be held
 * @dev: the device
 *
 * Return: the member offering @dev, or NULL.  No reference is taken; the
 * result is valid while the set lock is held.
 */
struct vfio_device *vfio_find_device_in_devset(struct vfio_device_set *dev_set,
					       struct device *dev)
{
	struct vfio_device *member;

	lockdep_assert_held(&dev_set->lock);
	list_for_each_entry(member, &dev_set->device_list, set_entry) {
		if (member->dev == dev)
			return member;
	}
	return NULL;
}
EXPORT_SYMBOL_GPL(vfio_find_device_in_devset);

static void vfio_device_release(struct device *dev)
{
	struct vfio_device *vdev = container_of(dev, struct vfio_device, device);

	vfio_release_device_set(vdev);
	if (vdev->ops->release)
		vdev->ops->release(vdev);
	srcu_cleanup_notifier_head(&vdev->notifier);
	mutex_destroy(&vdev->open_lock);
	vfio_fs_inode_put(vdev->inode);
	ida_free(&vfio_dev_ida, vdev->index);
	kvfree(vdev);
}

/**
 * _vfio_alloc_device - allocate a vfio_device and the driver state around it
 * @size: size of the driver structure; vfio_device sits at its start
 * @dev: the device being offered
 * @ops: the driver's callbacks
 *
 * Use the vfio_alloc_device() wrapper.  ops->init runs before this returns;
 * if it fails the memory is freed and ops->release is not called.
 *
 * Return: the device or an ERR_PTR(); undo with vfio_put_device().
 */
struct vfio_device *_vfio_alloc_device(size_t size, struct device *dev,
				       const struct vfio_device_ops *ops)
{
	struct vfio_device *vdev;
	int ret;

	if (WARN_ON(size < sizeof(*vdev) || !ops))
		return ERR_PTR(-EINVAL);

	vdev = kvzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!vdev)
		return ERR_PTR(-ENOMEM);

	/* The index is also the minor of the device cdev. */
	ret = ida_alloc_max(&vfio_dev_ida, MINORMASK, GFP_KERNEL);
	if (ret < 0)
		goto err_free;
	vdev->index = ret;

	vdev->inode = vfio_fs_inode_new();
	if (IS_ERR(vdev->inode)) {
		ret = PTR_ERR(vdev->inode);
		goto err_ida;
	}

	vdev->dev = dev;
	vdev->ops = ops;
	INIT_LIST_HEAD(&vdev->group_next);
	mutex_init(&vdev->open_lock);
	init_completion(&vdev->unregistered);
	srcu_init_notifier_head(&vdev->notifier);
	if (ops->init) {
		ret = ops->init(vdev);
		if (ret)
			goto err_notifier;
	}

	/* From here on the class device owns the memory. */
	device_initialize(&vdev->device);
	vdev->device.release = vfio_device_release;
	vdev->device.class = vfio_dev_class;
	vdev->device.parent = dev;
	ret = dev_set_name(&vdev->device, "vfio%d", vdev->index);
	if (ret) {
		put_device(&vdev->device);
		return ERR_PTR(ret);
	}
	return vdev;

err_notifier:
	srcu_cleanup_notifier_head(&vdev->notifier);
	mutex_destroy(&vdev->open_lock);
	vfio_fs_inode_put(vdev->inode);
err_ida:
	ida_free(&vfio_dev_ida, vdev->index);
err_free:
	kvfree(vdev);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(_vfio_alloc_device);

static int vfio_device_register(struct vfio_device *vdev,
				enum vfio_group_kind kind)
{
	int ret;

	if (!vdev->dev_set) {
		ret = vfio_assign_device_set(vdev, vdev);
		if (ret)
			return ret;
	}

	ret = vfio_group_add_device(vdev, kind);
	if (ret)
		return ret;

	/* The cdev can be opened as soon as it is added. */
	refcount_set(&vdev->registration, 1);
	reinit_completion(&vdev->unregistered);
	ret = vfio_cdev_add(vdev);
	if (ret)
		goto err_group;

	vfio_group_publish_device(vdev);
	return 0;

err_group:
	refcount_set(&vdev->registration, 0);
	vfio_group_remove_device(vdev);
	return ret;
}

/**
 * vfio_register_group_dev - offer a device that an IOMMU group protects
 * @vdev: device from vfio_alloc_device()
 *
 * The device appears in /dev/vfio/N for its IOMMU group.  A device without
 * an IOMMU group is refused unless no-IOMMU mode is enabled.
 *
 * Return: 0 or a negative errno; undo with vfio_unregister_group_dev().
 */
int vfio_register_group_dev(struct vfio_device *vdev)
{
	return vfio_device_register(vdev, VFIO_GROUP_PHYS);
}
EXPORT_SYMBOL_GPL(vfio_register_group_dev);

/**
 * vfio_register_emulated_iommu_dev - offer a device that never DMAs directly
 * @vdev: device from vfio_alloc_device()
 *
 * For devices whose driver moves all data itself (mdev style): the device
 * gets a group of its own and reaches user memory only through
 * vfio_pin_pages() and vfio_dma_rw().
 *
 * Return: 0 or a negative errno; undo with vfio_unregister_group_dev().
 */
int vfio_register_emulated_iommu_dev(struct vfio_device *vdev)
{
	if (WARN_ON(!vdev->ops->dma_unmap))
		return -EINVAL;
	return vfio_device_register(vdev, VFIO_GROUP_EMULATED);
}
EXPORT_SYMBOL_GPL(vfio_register_emulated_iommu_dev);

/**
 * vfio_unregister_group_dev - withdraw a registered device
 * @vdev: the device
 *
 * Hides the device from new opens, then sleeps until every open file of it
 * is closed, calling ops->request now and then so the driver can ask
 * userspace to give the device back.  Cannot fail.
 */
void vfio_unregister_group_dev(struct vfio_device *vdev)
{
	unsigned int nr_requests = 0;
	long timeout = 0;

	/* No new opens, through the group or the cdev. */
	vfio_group_unpublish_device(vdev);
	vfio_cdev_del(vdev);
	vfio_device_put_registration(vdev);

	while (!wait_for_completion_timeout(&vdev->unregistered, timeout)) {
		if (vdev->ops->request)
			vdev->ops->request(vdev, nr_requests);
		else if (!nr_requests)
			dev_info(vdev->dev,
				 "waiting for userspace to release the device\n");
		nr_requests++;
		timeout = VFIO_REQUEST_INTERVAL;
	}

	vfio_group_remove_device(vdev);
}
EXPORT_SYMBOL_GPL(vfio_unregister_group_dev);

/**
 * vfio_device_get_registration - keep a published device registered
 * @vdev: the device
 *
 * Return: 0, or -ENODEV if the device is already being unregistered.
 */
int vfio_device_get_registration(struct vfio_device *vdev)
{
	return refcount_inc_not_zero(&vdev->registration) ? 0 : -ENODEV;
}

void vfio_device_put_registration(struct vfio_device *vdev)
{
	if (refcount_dec_and_test(&vdev->registration))
		complete(&vdev->unregistered);
}

/**
 * vfio_device_zap_range - remove userspace mappings of a device
 * @vdev: the device
 * @start: first byte of the device file's offset space to zap
 * @len: length of the range; 0 means up to the end
 *
 * Every file of a device shares one address_space, so this reaches the
 * mappings of all of them.  Mappings that fault again later are populated
 * anew by the driver's fault handler.
 */
void vfio_device_zap_range(struct vfio_device *vdev, loff_t start, loff_t len)
{
	unmap_mapping_range(vdev->inode->i_mapping, start, len, true);
}
EXPORT_SYMBOL_GPL(vfio_device_zap_range);

/* ---- the device file ---- */

/*
 * The KVM instance of the device's group at its first open is held until
 * its last close, so a bus driver may use vdev->kvm in between.  kvm.ko is
 * looked up, not linked against: vfio works without it, and a module
 * reference on kvm.ko comes with the KVM reference.  A KVM already on its
 * way out is not taken.
 */
static void vfio_device_get_kvm(struct vfio_device *vdev, struct kvm *kvm)
{
	bool (*get)(struct kvm *kvm);
	void (*put)(struct kvm *kvm);

	lockdep_assert_held(&vdev->dev_set->lock);

	if (!kvm)
		return;
	get = symbol_get(kvm_get_kvm_safe);
	if (!get)
		return;
	put = symbol_get(kvm_put_kvm);
	if (put && get(kvm)) {
		vdev->kvm = kvm;
		vdev->put_kvm = put;
	} else if (put) {
		symbol_put(kvm_put_kvm);
	}
	symbol_put(kvm_get_kvm_safe);
}

static void vfio_device_put_kvm(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->dev_set->lock);

	if (!vdev->kvm)
		return;
	vdev->put_kvm(vdev->kvm);
	symbol_put(kvm_put_kvm);
	vdev->kvm = NULL;
	vdev->put_kvm = NULL;
}

static int vfio_device_first_open(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->vdev;
	int ret;

	lockdep_assert_held(&vdev->open_lock);
	lockdep_assert_held(&vdev->dev_set->lock);

	if (!try_module_get(vdev->dev->driver->owner))
		return -ENODEV;

	/*
	 * Under the group's or the file's kvm_lock, which KVM's
	 * vfio_file_set_kvm(NULL) takes before it frees the instance: the
	 * pointer is valid until the reference is ours.
	 */
	if (df->group_file) {
		spin_lock(&vdev->group->kvm_lock);
		vfio_device_get_kvm(vdev, vdev->group->kvm);
		spin_unlock(&vdev->group->kvm_lock);
	} else {
		spin_lock(&df->kvm_lock);
		vfio_device_get_kvm(vdev, df->kvm);
		spin_unlock(&df->kvm_lock);
	}

	/* A cdev file binds to its iommufd before the device is enabled. */
	ret = vfio_cdev_first_open(df);
	if (ret)
		goto err_put;

	if (vdev->ops->open_device) {
		ret = vdev->ops->open_device(vdev);
		if (ret)
			goto err_unbind;
	}
	if (df->group_file)
		vfio_container_register_device(vdev);
	return 0;

err_unbind:
	vfio_cdev_last_close(vdev);
err_put:
	vfio_device_put_kvm(vdev);
	module_put(vdev->dev->driver->owner);
	return ret;
}

/* The listeners heard VFIO_DEVICE_EVENT_RELEASE already. */
static void vfio_device_last_close(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->open_lock);
	lockdep_assert_held(&vdev->dev_set->lock);

	if (!vfio_device_cdev_opened(vdev))
		vfio_container_unregister_device(vdev);
	if (vdev->ops->close_device)
		vdev->ops->close_device(vdev);
	/* Only now, with the device quiet, give DMA ownership back. */
	vfio_cdev_last_close(vdev);
	vfio_device_put_kvm(vdev);
	module_put(vdev->dev->driver->owner);
}

/**
 * vfio_device_open_locked - open the device for one of its files
 * @df: the file's state; @df->group_file or @df->ictx say how it is opened
 *
 * The first open enables the device.  Only the group path shares an open
 * device between files: a cdev file needs the device to itself, since
 * nothing else could vouch for the other files' DMA context.
 * Caller holds the device's open_lock.
 *
 * Return: 0 or a negative errno; undo with vfio_device_close_locked().
 */
int vfio_device_open_locked(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->vdev;
	int ret = 0;

	lockdep_assert_held(&vdev->open_lock);

	mutex_lock(&vdev->dev_set->lock);
	if (!vdev->open_count)
		ret = vfio_device_first_open(df);
	else if (!df->group_file)
		ret = -EINVAL;
	if (!ret)
		vdev->open_count++;
	mutex_unlock(&vdev->dev_set->lock);
	return ret;
}

/**
 * vfio_device_close_locked - undo vfio_device_open_locked()
 * @df: the file's state
 *
 * Caller holds the device's open_lock.  Cannot fail.
 */
void vfio_device_close_locked(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->vdev;

	lockdep_assert_held(&vdev->open_lock);

	if (WARN_ON(!vdev->open_count))
		return;

	/*
	 * Kernel users of the device's memory (DMA mappings of its BARs) let
	 * go before close_device(), while the memory still decodes.  Only
	 * open_lock is held: a listener that waits holds up this close and
	 * the opens of this device, not the rest of the set, and no open can
	 * hand the device to someone else while a mapping may remain.  The
	 * same goes for leaving an iommufd pagetable, which can wait for the
	 * owner's own IOMMU_IOAS_MAP.
	 */
	if (vdev->open_count == 1) {
		vfio_device_notify(vdev, VFIO_DEVICE_EVENT_RELEASE);
		vfio_cdev_detach(vdev);
	}

	mutex_lock(&vdev->dev_set->lock);
	if (!--vdev->open_count)
		vfio_device_last_close(vdev);
	mutex_unlock(&vdev->dev_set->lock);
}

/**
 * vfio_device_file_alloc - the state of a new file of a device
 * @vdev: the device
 *
 * Return: the state, not ready, or NULL.  Free with kfree().
 */
struct vfio_device_file *vfio_device_file_alloc(struct vfio_device *vdev)
{
	struct vfio_device_file *df;

	df = kzalloc(sizeof(*df), GFP_KERNEL_ACCOUNT);
	if (!df)
		return NULL;
	df->vdev = vdev;
	spin_lock_init(&df->kvm_lock);
	return df;
}

static int vfio_device_fop_release(struct inode *inode, struct file *file)
{
	struct vfio_device_file *df = file->private_data;
	struct vfio_device *vdev = df->vdev;

	if (vfio_device_file_ready(df)) {
		mutex_lock(&vdev->open_lock);
		vfio_device_close_locked(df);
		mutex_unlock(&vdev->open_lock);
	}
	if (df->group_file)
		vfio_group_close_device_file(df->group_file);
	else
		vfio_cdev_release(df);
	kfree(df);
	/*
	 * Last: dropping the registration may let an unregistration finish
	 * and remove the group, which must find this file forgotten.
	 */
	vfio_device_put_registration(vdev);
	return 0;
}

/*
 * Until a cdev file is bound every access fails as an invalid request
 * would: the device is not open for it, and may sit in the host's DMA
 * domain, where nothing it is told to do must happen.
 */
static ssize_t vfio_device_fop_read(struct file *file, char __user *buf,
				    size_t count, loff_t *ppos)
{
	struct vfio_device_file *df = file->private_data;
	struct vfio_device *vdev = df->vdev;

	if (!vfio_device_file_ready(df) || !vdev->ops->read)
		return -EINVAL;
	return vdev->ops->read(vdev, buf, count, ppos);
}

static ssize_t vfio_device_fop_write(struct file *file, const char __user *buf,
				     size_t count, loff_t *ppos)
{
	struct vfio_device_file *df = file->private_data;
	struct vfio_device *vdev = df->vdev;

	if (!vfio_device_file_ready(df) || !vdev->ops->write)
		return -EINVAL;
	return vdev->ops->write(vdev, buf, count, ppos);
}

static int vfio_device_fop_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vfio_device_file *df = file->private_data;
	struct vfio_device *vdev = df->vdev;

	if (!vfio_device_file_ready(df) || !vdev->ops->mmap)
		return -EINVAL;
	return vdev->ops->mmap(vdev, vma);
}

static unsigned long vfio_device_fop_get_unmapped_area(struct file *file,
						       unsigned long addr,
						       unsigned long len,
						       unsigned long pgoff,
						       unsigned long flags)
{
	struct vfio_device_file *df = file->private_data;
	struct vfio_device *vdev = df->vdev;

	if (!vfio_device_file_ready(df) || !vdev->ops->get_unmapped_area)
		return mm_get_unmapped_area(current->mm, file, addr, len, pgoff,
					    flags);
	return vdev->ops->get_unmapped_area(vdev, file, addr, len, pgoff,
					    flags);
}

static int vfio_device_ioctl_feature(struct vfio_device *vdev,
				     struct vfio_device_feature __user *uarg)
{
	const u32 known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET |
			  VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;
	size_t minsz = offsetofend(struct vfio_device_feature, flags);
	struct vfio_device_feature hdr;

	if (copy_from_user(&hdr, uarg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags & ~known)
		return -EINVAL;
	/* One request either reads or writes; only a PROBE may ask for both. */
	if (!(hdr.flags & VFIO_DEVICE_FEATURE_PROBE) &&
	    (hdr.flags & VFIO_DEVICE_FEATURE_GET) &&
	    (hdr.flags & VFIO_DEVICE_FEATURE_SET))
		return -EINVAL;

	if (!vdev->ops->device_feature)
		return -ENOTTY;
	return vdev->ops->device_feature(vdev, hdr.flags, uarg->data,
					 hdr.argsz - minsz);
}

static long vfio_device_fop_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	struct vfio_device_file *df = file->private_data;
	struct vfio_device *vdev = df->vdev;
	long ret;

	/* The cdev's own commands, the bind among them. */
	if (!df->group_file) {
		ret = vfio_cdev_ioctl(df, cmd, (void __user *)arg);
		if (ret != -ENOIOCTLCMD)
			return ret;
	}
	if (!vfio_device_file_ready(df))
		return -EINVAL;

	if (cmd == VFIO_DEVICE_FEATURE)
		return vfio_device_ioctl_feature(vdev, (void __user *)arg);
	if (!vdev->ops->ioctl)
		return -ENOTTY;
	return vdev->ops->ioctl(vdev, cmd, arg);
}

/* Shared by group-path files and the device cdev (which adds .open). */
const struct file_operations vfio_device_fops = {
	.owner		= THIS_MODULE,
#if IS_ENABLED(CONFIG_VFIO_DEVICE_CDEV)
	.open		= vfio_cdev_fop_open,
#endif
	.release	= vfio_device_fop_release,
	.read		= vfio_device_fop_read,
	.write		= vfio_device_fop_write,
	.unlocked_ioctl	= vfio_device_fop_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vfio_device_fop_mmap,
	.get_unmapped_area = vfio_device_fop_get_unmapped_area,
};

/**
 * vfio_device_open_file - open a new file for a published device
 * @vdev: the device; the caller holds a registration reference, which the
 *        new file takes over on success
 * @group_file: the group file the open came through; the new file takes a
 *              reference on it
 *
 * Return: the file, not yet installed in any fd table, or an ERR_PTR().
 */
struct file *vfio_device_open_file(struct vfio_device *vdev,
				   struct file *group_file)
{
	struct vfio_device_file *df;
	struct file *file;
	int ret;

	df = vfio_device_file_alloc(vdev);
	if (!df)
		return ERR_PTR(-ENOMEM);
	df->group_file = group_file;

	mutex_lock(&vdev->open_lock);
	ret = vfio_device_open_locked(df);
	mutex_unlock(&vdev->open_lock);
	if (ret)
		goto err_free;

	file = vfio_fs_file_new(vdev->inode, &vfio_device_fops, df);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_close;
	}
	/* Device regions are addressed by offset: pread/pwrite are the API. */
	file->f_mode |= FMODE_PREAD | FMODE_PWRITE;
	get_file(group_file);
	/* Not installed yet: nobody can look at it before this. */
	smp_store_release(&df->ready, true);
	return file;

err_close:
	mutex_lock(&vdev->open_lock);
	vfio_device_close_locked(df);
	mutex_unlock(&vdev->open_lock);
err_free:
	kfree(df);
	return ERR_PTR(ret);
}

/**
 * vfio_device_file_of - the state of a vfio device file
 * @file: a file, of any kind
 *
 * Return: the state if @file is a device file (group path or cdev), else
 * NULL.
 */
struct vfio_device_file *vfio_device_file_of(struct file *file)
{
	return file->f_op == &vfio_device_fops ? file->private_data : NULL;
}

/**
 * vfio_device_file_group_file - the group file a device file came through
 * @file: a file, of any kind
 *
 * Return: the group file @file holds, or NULL if @file is no vfio device
 * file or was opened through the device cdev.
 */
struct file *vfio_device_file_group_file(struct file *file)
{
	struct vfio_device_file *df = vfio_device_file_of(file);

	return df ? df->group_file : NULL;
}

/* ---- users of device memory: vma lookup and notifier ---- */

/**
 * vfio_device_get_from_vma - the vfio device a vma maps, if any
 * @vma: a vma of the current mm; the caller holds its mmap_lock
 *
 * A vma maps a vfio device when its file is a vfio device file, whatever
 * region of the device it maps.  The device stays registered (its bus
 * driver cannot finish unbinding it) until the reference is dropped, so
 * a holder must let go when the device's notifier announces its release.
 *
 * Return: the device, or ERR_PTR(-ENODEV) when @vma does not map a vfio
 * device or the device is being unregistered.  Undo with
 * vfio_device_put_from_vma().
 */
struct vfio_device *vfio_device_get_from_vma(struct vm_area_struct *vma)
{
	struct vfio_device_file *df;

	mmap_assert_locked(vma->vm_mm);

	if (!vma->vm_file || vma->vm_file->f_op != &vfio_device_fops)
		return ERR_PTR(-ENODEV);
	/* The vma holds the file, the file holds a registration. */
	df = vma->vm_file->private_data;
	if (vfio_device_get_registration(df->vdev))
		return ERR_PTR(-ENODEV);
	return df->vdev;
}
EXPORT_SYMBOL_NS_GPL(vfio_device_get_from_vma, VFIO);

/**
 * vfio_device_put_from_vma - drop a reference from vfio_device_get_from_vma()
 * @vdev: the device
 *
 * May let a pending unregistration of @vdev finish: do not touch @vdev
 * afterwards.
 */
void vfio_device_put_from_vma(struct vfio_device *vdev)
{
	vfio_device_put_registration(vdev);
}
EXPORT_SYMBOL_NS_GPL(vfio_device_put_from_vma, VFIO);

/**
 * vfio_device_register_notifier - hear of a device's events
 * @vdev: the device; the caller holds a reference from
 *        vfio_device_get_from_vma()
 * @nb: the callback, called with an enum vfio_device_event and NULL data
 *
 * The callback runs in process context, in the task that causes the
 * event, before that task goes on.  What it holds then:
 *
 * - %VFIO_DEVICE_EVENT_RELEASE comes from the core's last close of the
 *   device with only the device's open_lock held: none of the core's
 *   shared locks (no dev_set->lock, no group, container or global lock).
 *   Opens of this device wait for the callback; nothing else does.
 * - %VFIO_DEVICE_EVENT_MEMORY_OFF and %VFIO_DEVICE_EVENT_RESET come from
 *   the bus driver with whatever it holds.  vfio-pci sends them: from a
 *   config space write (the memory enable bit, the power state, the FLR
 *   bit) with the device's config lock held; from VFIO_DEVICE_RESET with
 *   none of its locks held; and for a slot or bus reset, to every device
 *   of the set, with dev_set->lock held - VFIO_DEVICE_PCI_HOT_RESET, and
 *   the reset at the last close of a set's devices, which also holds the
 *   closing device's open_lock and runs after that device's RELEASE.
 *
 * No event comes with a lock held that a page fault on the device's BARs
 * takes (vfio-pci's memory_lock), so the callback may take a lock under
 * which its owner faults a BAR in with mmap_lock held.  It must not take
 * dev_set->lock or an open_lock, nor wait for anything that does, and
 * should not wait for anything a user can hold for long: a RESET of a set
 * would keep every device of the set waiting.  It must not unregister
 * itself: unregistering waits for running callbacks.
 *
 * Return: 0 or a negative errno; undo with vfio_device_unregister_notifier().
 */
int vfio_device_register_notifier(struct vfio_device *vdev,
				  struct notifier_block *nb)
{
	return srcu_notifier_chain_register(&vdev->notifier, nb);
}
EXPORT_SYMBOL_NS_GPL(vfio_device_register_notifier, VFIO);

/**
 * vfio_device_unregister_notifier - undo vfio_device_register_notifier()
 * @vdev: the device
 * @nb: the callback
 *
 * Sleeps until no call of @nb is running, so that @nb may be freed
 * afterwards.  Not from within a callback of the same chain.  Cannot fail.
 */
void vfio_device_unregister_notifier(struct vfio_device *vdev,
				     struct notifier_block *nb)
{
	WARN_ON(srcu_notifier_chain_unregister(&vdev->notifier, nb));
}
EXPORT_SYMBOL_NS_GPL(vfio_device_unregister_notifier, VFIO);

/**
 * vfio_device_notify - announce an event of a device to its listeners
 * @vdev: the device
 * @event: what happened
 *
 * Bus drivers send VFIO_DEVICE_EVENT_MEMORY_OFF and _RESET; the core sends
 * _RELEASE itself.  Listeners run synchronously and take their own locks
 * (type1 its domain_lock, short and never held across a fault), so call
 * this with none of the locks a BAR fault takes (in vfio-pci,
 * memory_lock) and with as few others as possible: the caller waits for
 * every listener, and so does whoever waits for a lock the caller holds.
 * vfio_device_register_notifier() lists what is held for each event.
 * Send MEMORY_OFF and RESET once the change is done and the user's BAR
 * mappings are zapped, so a listener that maps the BAR again cannot see
 * the old memory.
 */
void vfio_device_notify(struct vfio_device *vdev,
			enum vfio_device_event event)
{
	might_sleep();
	srcu_notifier_call_chain(&vdev->notifier, event, NULL);
}
EXPORT_SYMBOL_GPL(vfio_device_notify);

/* ---- helpers for bus drivers ---- */

/**
 * vfio_info_cap_add - append a capability header to a chain
 * @chain: the chain
 * @size: size of the capability including its header; rounded up to 8
 * @id: capability id
 * @version: capability version
 *
 * Return: the zeroed capability with id and version filled in, or
 * ERR_PTR(-ENOMEM), in which case the whole chain was freed.
 */
struct vfio_info_cap_header *vfio_info_cap_add(struct vfio_info_cap *chain,
					       size_t size, u16 id, u16 version)
{
	struct vfio_info_cap_header *hdr;
	void *buf;

	size = ALIGN(size, sizeof(u64));
	buf = krealloc(chain->buf, chain->size + size, GFP_KERNEL);
	if (!buf) {
		kfree(chain->buf);
		memset(chain, 0, sizeof(*chain));
		return ERR_PTR(-ENOMEM);
	}
	chain->buf = buf;

	hdr = buf + chain->size;
	memset(hdr, 0, size);
	hdr->id = id;
	hdr->version = version;
	if (chain->size) {
		struct vfio_info_cap_header *prev = buf + chain->tail;

		prev->next = chain->size;
	}
	chain->tail = chain->size;
	chain->size += size;
	return hdr;
}
EXPORT_SYMBOL_GPL(vfio_info_cap_add);

/**
 * vfio_info_cap_shift - rebase a finished chain
 * @chain: the chain
 * @offset: where the chain starts in the info structure given to userspace
 */
void vfio_info_cap_shift(struct vfio_info_cap *chain, size_t offset)
{
	struct vfio_info_cap_header *hdr;
	size_t pos = 0;

	if (!chain->size)
		return;
	for (;;) {
		hdr = (void *)chain->buf + pos;
		if (!hdr->next)
			break;
		pos = hdr->next;
		hdr->next += offset;
	}
}
EXPORT_SYMBOL_GPL(vfio_info_cap_shift);

/**
 * vfio_info_add_capability - append a complete capability to a chain
 * @chain: the chain
 * @cap: the capability, header included; id and version are taken from it
 * @size: its size
 *
 * Return: 0 or -ENOMEM.
 */
int vfio_info_add_capability(struct vfio_info_cap *chain,
			     struct vfio_info_cap_header *cap, size_t size)
{
	struct vfio_info_cap_header *hdr;

	if (WARN_ON(size < sizeof(*hdr)))
		return -EINVAL;
	hdr = vfio_info_cap_add(chain, size, cap->id, cap->version);
	if (IS_ERR(hdr))
		return PTR_ERR(hdr);
	memcpy(hdr + 1, cap + 1, size - sizeof(*hdr));
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_info_add_capability);

/**
 * vfio_set_irqs_validate_and_prepare - check a VFIO_DEVICE_SET_IRQS header
 * @hdr: the header, already copied from userspace
 * @num_irqs: number of vectors of @hdr->index
 * @max_irq_type: number of IRQ indexes of the device
 * @data_size: returns how many bytes of data follow the header
 *
 * Checks the flags (known bits, exactly one data type), the index and the
 * start/count range, and that argsz covers the data.  Which actions an
 * index supports is the driver's business: it answers -ENOTTY for an
 * action, or a combination of actions, it does not have.
 *
 * Return: 0 or -EINVAL.
 */
int vfio_set_irqs_validate_and_prepare(struct vfio_irq_set *hdr,
				       unsigned int num_irqs,
				       unsigned int max_irq_type,
				       size_t *data_size)
{
	const u32 known = VFIO_IRQ_SET_DATA_TYPE_MASK |
			  VFIO_IRQ_SET_ACTION_TYPE_MASK;
	size_t minsz = offsetofend(struct vfio_irq_set, count);
	size_t elem;

	if (hdr->argsz < minsz || hdr->flags & ~known)
		return -EINVAL;
	if (hweight32(hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) != 1)
		return -EINVAL;
	if (hdr->index >= max_irq_type)
		return -EINVAL;
	if (hdr->start >= num_irqs || hdr->count > num_irqs - hdr->start)
		return -EINVAL;

	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		elem = 0;
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		elem = sizeof(u8);
		break;
	default:
		elem = sizeof(s32);
		break;
	}

	*data_size = elem * hdr->count;
	if (hdr->argsz - minsz < *data_size)
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_set_irqs_validate_and_prepare);

/* ---- module ---- */

static char *vfio_dev_devnode(const struct device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "vfio/devices/%s", dev_name(dev));
}

static int __init vfio_init(void)
{
	int ret;

	vfio_dev_class = class_create("vfio-dev");
	if (IS_ERR(vfio_dev_class))
		return PTR_ERR(vfio_dev_class);
	vfio_dev_class->devnode = vfio_dev_devnode;

	ret = vfio_virqfd_init();
	if (ret)
		goto err_class;
	ret = vfio_group_init();
	if (ret)
		goto err_virqfd;
	ret = vfio_container_init();
	if (ret)
		goto err_group;
	ret = vfio_noiommu_init();
	if (ret)
		goto err_container;
	ret = vfio_cdev_init();
	if (ret)
		goto err_noiommu;

	pr_info(DRIVER_DESC " version: " DRIVER_VERSION "\n");
	return 0;

err_noiommu:
	vfio_noiommu_exit();
err_container:
	vfio_container_exit();
err_group:
	vfio_group_exit();
err_virqfd:
	vfio_virqfd_exit();
err_class:
	class_destroy(vfio_dev_class);
	return ret;
}

static void __exit vfio_exit(void)
{
	vfio_cdev_exit();
	vfio_noiommu_exit();
	vfio_container_exit();
	vfio_group_exit();
	vfio_virqfd_exit();
	class_destroy(vfio_dev_class);
	ida_destroy(&vfio_dev_ida);
	WARN_ON(!xa_empty(&vfio_dev_sets));
	xa_destroy(&vfio_dev_sets);
}

module_init(vfio_init);
module_exit(vfio_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_VERSION(DRIVER_VERSION);
MODULE_SOFTDEP("post: vfio_iommu_type1");
