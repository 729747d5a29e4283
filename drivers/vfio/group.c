// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO groups: /dev/vfio/N.
 *
 * The IOMMU group is the smallest set of devices the IOMMU can isolate from
 * each other, so it is the unit userspace takes ownership of.  A vfio_group
 * exists while at least one device of its IOMMU group is registered with
 * VFIO; it is opened by one file at a time.  Attaching it to a container
 * claims DMA ownership of the whole IOMMU group from the IOMMU core: from
 * then on no kernel driver can bind to any device of it, and a group in
 * which some device is bound to a kernel driver cannot be attached.
 *
 * Device files handed out by VFIO_GROUP_GET_DEVICE_FD hold a reference on
 * the group file, so the group and its container attachment outlive a close
 * of the group fd until the last device file is closed too.  Kernel users
 * can keep the attachment too (vfio_group_hold_file()): a held group stays
 * in its container when its file closes, and cannot be opened again until
 * the last hold is dropped and it has left the container.
 *
 * Groups of devices without a real IOMMU group (emulated devices and
 * no-IOMMU mode) get an IOMMU group made up for the one device.
 */
#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfio.h"

static struct {
	struct class *class;
	dev_t devt;
	struct ida minors;
	/*
	 * Protects list, and is held across adding and deleting a group's
	 * node, so that one name never belongs to two groups at once.
	 */
	struct mutex lock;
	struct list_head list;
} vfio_groups = {
	/* Ready before init: the no-IOMMU parameter is set at module load. */
	.lock = __MUTEX_INITIALIZER(vfio_groups.lock),
	.list = LIST_HEAD_INIT(vfio_groups.list),
};

static bool vfio_group_needs_rawio(struct vfio_group *group)
{
	return group->kind == VFIO_GROUP_NOIOMMU && !capable(CAP_SYS_RAWIO);
}

/* Lookups under vfio_groups.lock take a drivers reference. */
static struct vfio_group *vfio_group_find(struct iommu_group *iommu_group)
{
	struct vfio_group *group;

	lockdep_assert_held(&vfio_groups.lock);
	list_for_each_entry(group, &vfio_groups.list, next)
		if (group->iommu_group == iommu_group)
			return group;
	return NULL;
}

static void vfio_group_release(struct device *dev)
{
	struct vfio_group *group = container_of(dev, struct vfio_group, dev);

	mutex_destroy(&group->lock);
	iommu_group_put(group->iommu_group);
	ida_free(&vfio_groups.minors, MINOR(group->dev.devt));
	kfree(group);
}

static const struct file_operations vfio_group_fops;

static struct vfio_group *vfio_group_create(struct iommu_group *iommu_group,
					    enum vfio_group_kind kind)
{
	struct vfio_group *group;
	int minor, ret;

	lockdep_assert_held(&vfio_groups.lock);

	group = kzalloc(sizeof(*group), GFP_KERNEL);
	if (!group)
		return ERR_PTR(-ENOMEM);

	minor = ida_alloc_max(&vfio_groups.minors, MINORMASK, GFP_KERNEL);
	if (minor < 0) {
		kfree(group);
		return ERR_PTR(minor);
	}

	/* From here on the class device owns the memory. */
	device_initialize(&group->dev);
	group->dev.devt = MKDEV(MAJOR(vfio_groups.devt), minor);
	group->dev.class = vfio_groups.class;
	group->dev.release = vfio_group_release;
	cdev_init(&group->cdev, &vfio_group_fops);
	group->cdev.owner = THIS_MODULE;

	mutex_init(&group->lock);
	spin_lock_init(&group->kvm_lock);
	INIT_LIST_HEAD(&group->devices);
	refcount_set(&group->drivers, 1);
	group->kind = kind;
	iommu_group_ref_get(iommu_group);
	group->iommu_group = iommu_group;

	ret = dev_set_name(&group->dev, "%s%d",
			   kind == VFIO_GROUP_NOIOMMU ? "noiommu-" : "",
			   iommu_group_id(iommu_group));
	if (ret)
		goto err_put;

	/* Publish last: userspace can open the node as soon as it exists. */
	ret = cdev_device_add(&group->cdev, &group->dev);
	if (ret)
		goto err_put;

	list_add(&group->next, &vfio_groups.list);
	return group;

err_put:
	put_device(&group->dev);
	return ERR_PTR(ret);
}

/*
 * Make up an IOMMU group for a device that has none: one group per device,
 * no IOMMU behind it.  Called under vfio_groups.lock, so that no-IOMMU mode
 * cannot be switched off between the caller's look at it and the new
 * group's appearance on the list.
 */
static struct iommu_group *vfio_fake_iommu_group(struct device *dev,
						 enum vfio_group_kind kind)
{
	struct iommu_group *iommu_group;
	int ret;

	lockdep_assert_held(&vfio_groups.lock);

	if (kind == VFIO_GROUP_NOIOMMU && !vfio_noiommu_enabled())
		return ERR_PTR(-EINVAL);

	iommu_group = iommu_group_alloc();
	if (IS_ERR(iommu_group))
		return iommu_group;

	ret = iommu_group_set_name(iommu_group, kind == VFIO_GROUP_NOIOMMU ?
				   "vfio-noiommu" : "vfio-emulated");
	if (!ret)
		ret = iommu_group_add_device(iommu_group, dev);
	if (ret) {
		iommu_group_put(iommu_group);
		return ERR_PTR(ret);
	}

	if (kind == VFIO_GROUP_NOIOMMU) {
		add_taint(TAINT_USER, LOCKDEP_STILL_OK);
		dev_warn(dev,
			 "no IOMMU protects this device; using it through VFIO taints the kernel\n");
	}
	return iommu_group;
}

/**
 * vfio_group_add_device - find or create the group of a device
 * @vdev: a device being registered
 * @kind: VFIO_GROUP_PHYS, or VFIO_GROUP_EMULATED for emulated devices
 *
 * The device is not visible in the group until vfio_group_publish_device().
 *
 * Return: 0 or a negative errno; undo with vfio_group_remove_device().
 */
int vfio_group_add_device(struct vfio_device *vdev, enum vfio_group_kind kind)
{
	struct iommu_group *iommu_group = NULL;
	struct vfio_group *group;

	if (kind == VFIO_GROUP_PHYS) {
		iommu_group = iommu_group_get(vdev->dev);
		if (!iommu_group)
			kind = VFIO_GROUP_NOIOMMU;
	}

	/*
	 * Without enforced cache coherency a device could read stale data
	 * behind the back of the IOMMU's page protections.
	 */
	if (iommu_group &&
	    !device_iommu_capable(vdev->dev, IOMMU_CAP_CACHE_COHERENCY)) {
		iommu_group_put(iommu_group);
		return -EINVAL;
	}

	mutex_lock(&vfio_groups.lock);
	if (!iommu_group) {
		iommu_group = vfio_fake_iommu_group(vdev->dev, kind);
		if (IS_ERR(iommu_group)) {
			mutex_unlock(&vfio_groups.lock);
			return PTR_ERR(iommu_group);
		}
	}
	group = vfio_group_find(iommu_group);
	if (group)
		refcount_inc(&group->drivers);
	else
		group = vfio_group_create(iommu_group, kind);
	mutex_unlock(&vfio_groups.lock);

	if (IS_ERR(group)) {
		if (kind != VFIO_GROUP_PHYS)
			iommu_group_remove_device(vdev->dev);
		iommu_group_put(iommu_group);
		return PTR_ERR(group);
	}
	/* The group holds its own reference on iommu_group. */
	iommu_group_put(iommu_group);
	vdev->group = group;
	return 0;
}

#if IS_ENABLED(CONFIG_VFIO_NOIOMMU)
/**
 * vfio_group_set_noiommu - switch no-IOMMU mode on or off
 * @on: the new value of enable_unsafe_noiommu_mode
 *
 * Switching off is refused while a no-IOMMU group exists: the group would
 * be left half usable (it opens and attaches, but VFIO_SET_IOMMU offers
 * its model only while the mode is on), and tearing it down under its
 * user is not ours to do.  The devices have to be unbound first.  Taking
 * vfio_groups.lock orders the switch against vfio_group_add_device(),
 * which looks at the mode under it.  Switching on needs no lock.
 *
 * Return: 0, or -EBUSY while a no-IOMMU group exists and @on is false.
 */
int vfio_group_set_noiommu(bool on)
{
	struct vfio_group *group;
	int ret = 0;

	if (on) {
		WRITE_ONCE(vfio_noiommu, true);
		return 0;
	}

	mutex_lock(&vfio_groups.lock);
	list_for_each_entry(group, &vfio_groups.list, next) {
		if (group->kind == VFIO_GROUP_NOIOMMU) {
			ret = -EBUSY;
			break;
		}
	}
	if (!ret)
		WRITE_ONCE(vfio_noiommu, false);
	mutex_unlock(&vfio_groups.lock);
	return ret;
}
#endif

/**
 * vfio_group_publish_device - let VFIO_GROUP_GET_DEVICE_FD find a device
 * @vdev: a device added with vfio_group_add_device()
 *
 * Undo with vfio_group_unpublish_device().
 */
void vfio_group_publish_device(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;

	mutex_lock(&group->lock);
	list_add_tail(&vdev->group_next, &group->devices);
	mutex_unlock(&group->lock);
}

/**
 * vfio_group_unpublish_device - hide a device from new opens
 * @vdev: a published device
 */
void vfio_group_unpublish_device(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;

	mutex_lock(&group->lock);
	list_del_init(&vdev->group_next);
	mutex_unlock(&group->lock);
}

/* Undo vfio_group_attach(); cannot fail. */
static void vfio_group_detach(struct vfio_group *group)
{
	lockdep_assert_held(&group->lock);

	vfio_container_detach_group(group);
	if (group->kind == VFIO_GROUP_PHYS)
		iommu_group_release_dma_owner(group->iommu_group);
	group->container = NULL;
}

/**
 * vfio_group_remove_device - undo vfio_group_add_device()
 * @vdev: an unpublished device with no open files
 *
 * When the last device of a group goes, the group is unpublished and, if
 * its file is still open and attached to a container, detached: the group
 * file stays usable only for close.
 */
void vfio_group_remove_device(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;
	bool last;

	/*
	 * Leaving the list and deleting the node are one step under the
	 * lock lookups take, as creating and adding them are: a device of
	 * the same IOMMU group registering meanwhile either finds this group
	 * or creates a new one once the old name is free again.
	 */
	mutex_lock(&vfio_groups.lock);
	last = refcount_dec_and_test(&group->drivers);
	if (last) {
		list_del(&group->next);
		cdev_device_del(&group->cdev, &group->dev);
	}
	mutex_unlock(&vfio_groups.lock);

	if (last) {
		mutex_lock(&group->lock);
		WARN_ON(group->device_files);
		group->dead = true;
		/*
		 * A held group keeps its container, and so its claim on DMA
		 * ownership: no kernel driver can bind the IOMMU group's
		 * devices before the last vfio_group_unhold().
		 */
		if (group->container && !group->kernel_holds)
			vfio_group_detach(group);
		mutex_unlock(&group->lock);
	}

	if (group->kind != VFIO_GROUP_PHYS)
		iommu_group_remove_device(vdev->dev);
	vdev->group = NULL;

	if (last)
		put_device(&group->dev);
}

/**
 * vfio_group_claim_for_cdev - keep the group path away from a device
 * @vdev: a registered device whose cdev file is being bound
 *
 * The group file and the cdev are two owners of the same IOMMU group; the
 * IOMMU core's DMA ownership already refuses a second owner, and this says
 * so early and in both directions: the group cannot be opened while a cdev
 * file of one of its devices is bound, nor such a file bound while the
 * group is open (or kept in a container for a kernel user).  Takes the
 * group's lock: the caller must not hold the device's open_lock.
 *
 * Return: 0, -EBUSY while the group is in use, -ENODEV once its last
 * device is gone.  Undo with vfio_group_release_for_cdev().
 */
int vfio_group_claim_for_cdev(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;
	int ret = 0;

	mutex_lock(&group->lock);
	if (group->dead)
		ret = -ENODEV;
	else if (group->opened || group->container)
		ret = -EBUSY;
	else
		group->cdev_claims++;
	mutex_unlock(&group->lock);
	return ret;
}

/**
 * vfio_group_release_for_cdev - undo vfio_group_claim_for_cdev()
 * @vdev: the device, closed for its cdev file
 */
void vfio_group_release_for_cdev(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;

	mutex_lock(&group->lock);
	WARN_ON(!group->cdev_claims);
	group->cdev_claims--;
	mutex_unlock(&group->lock);
}

/* ---- the group file ---- */

static int vfio_group_attach(struct vfio_group *group,
			     struct vfio_container *container)
{
	int ret;

	lockdep_assert_held(&group->lock);

	/*
	 * The caller checked viability, but a kernel driver may have bound
	 * since; the claim is what makes the answer stick.
	 */
	if (group->kind == VFIO_GROUP_PHYS) {
		ret = iommu_group_claim_dma_owner(group->iommu_group, group);
		if (ret)
			return -EPERM;
	}

	ret = vfio_container_attach_group(container, group);
	if (ret) {
		if (group->kind == VFIO_GROUP_PHYS)
			iommu_group_release_dma_owner(group->iommu_group);
		return ret;
	}
	group->container = container;
	return 0;
}

static bool vfio_group_viable(struct vfio_group *group)
{
	lockdep_assert_held(&group->lock);

	if (group->container || group->kind != VFIO_GROUP_PHYS)
		return true;
	return !iommu_group_dma_owner_claimed(group->iommu_group);
}

static int vfio_group_ioctl_get_status(struct vfio_group *group,
				       struct vfio_group_status __user *arg)
{
	struct vfio_group_status status = {};
	bool dead;

	if (get_user(status.argsz, &arg->argsz))
		return -EFAULT;
	if (status.argsz < offsetofend(struct vfio_group_status, flags))
		return -EINVAL;

	mutex_lock(&group->lock);
	dead = group->dead;
	if (!dead && group->container)
		status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
	if (!dead && vfio_group_viable(group))
		status.flags |= VFIO_GROUP_FLAGS_VIABLE;
	mutex_unlock(&group->lock);
	if (dead)
		return -ENODEV;

	return put_user(status.flags, &arg->flags);
}

static int vfio_group_ioctl_set_container(struct vfio_group *group,
					  int __user *arg)
{
	struct file *cfile;
	int fd, ret;

	if (get_user(fd, arg))
		return -EFAULT;

	cfile = fget(fd);
	if (!cfile)
		return -EBADF;
	if (!vfio_file_is_container(cfile)) {
		ret = -EBADFD;
		goto out_fput;
	}

	mutex_lock(&group->lock);
	if (group->dead)
		ret = -ENODEV;
	else if (group->container)
		ret = -EINVAL;
	else if (vfio_group_needs_rawio(group) || !vfio_group_viable(group))
		ret = -EPERM;
	else
		ret = vfio_group_attach(group, cfile->private_data);
	mutex_unlock(&group->lock);
out_fput:
	fput(cfile);
	return ret;
}

static int vfio_group_ioctl_unset_container(struct vfio_group *group)
{
	int ret = 0;

	mutex_lock(&group->lock);
	if (group->dead)
		ret = -ENODEV;
	else if (!group->container)
		ret = -EINVAL;
	else if (group->device_files || group->kernel_holds)
		ret = -EBUSY;
	else
		vfio_group_detach(group);
	mutex_unlock(&group->lock);
	return ret;
}

static struct vfio_device *vfio_group_find_device(struct vfio_group *group,
						  char *name)
{
	struct vfio_device *vdev;
	int ret;

	lockdep_assert_held(&group->lock);

	list_for_each_entry(vdev, &group->devices, group_next) {
		if (vdev->ops->match)
			ret = vdev->ops->match(vdev, name);
		else
			ret = !strcmp(dev_name(vdev->dev), name);
		if (ret < 0)
			return ERR_PTR(ret);
		if (ret)
			return vdev;
	}
	return ERR_PTR(-ENODEV);
}

static struct file *vfio_group_open_device(struct vfio_group *group,
					   struct file *group_file, char *name)
{
	struct vfio_device *vdev;
	struct file *file;
	int ret;

	lockdep_assert_held(&group->lock);

	if (group->dead)
		return ERR_PTR(-ENODEV);

	/* An unknown name is reported as such even before any setup. */
	vdev = vfio_group_find_device(group, name);
	if (IS_ERR(vdev))
		return ERR_CAST(vdev);

	if (!group->container || !vfio_container_has_backend(group->container))
		return ERR_PTR(-EINVAL);
	if (vfio_group_needs_rawio(group))
		return ERR_PTR(-EPERM);

	ret = vfio_device_get_registration(vdev);
	if (ret)
		return ERR_PTR(ret);

	file = vfio_device_open_file(vdev, group_file);
	if (IS_ERR(file)) {
		vfio_device_put_registration(vdev);
		return file;
	}
	group->device_files++;

	if (group->kind == VFIO_GROUP_NOIOMMU)
		dev_warn(vdev->dev,
			 "vfio-noiommu device opened by user (%s:%d)\n",
			 current->comm, task_pid_nr(current));
	return file;
}

static int vfio_group_ioctl_get_device_fd(struct vfio_group *group,
					  struct file *group_file,
					  char __user *arg)
{
	struct file *file;
	char *name;
	int fd;

	name = strndup_user(arg, PAGE_SIZE);
	if (IS_ERR(name))
		return PTR_ERR(name);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		goto out_free;

	mutex_lock(&group->lock);
	file = vfio_group_open_device(group, group_file, name);
	mutex_unlock(&group->lock);

	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto out_free;
	}
	fd_install(fd, file);
out_free:
	kfree(name);
	return fd;
}

/**
 * vfio_group_close_device_file - a device file opened through a group closed
 * @group_file: the group file it held
 *
 * Called before the file drops its registration reference: once that is
 * gone the last device of the group may be removed, and the group must not
 * count the file as open any more by then.
 */
void vfio_group_close_device_file(struct file *group_file)
{
	struct vfio_group *group = group_file->private_data;

	mutex_lock(&group->lock);
	WARN_ON(!group->device_files);
	group->device_files--;
	mutex_unlock(&group->lock);
	fput(group_file);
}

static long vfio_group_fop_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	struct vfio_group *group = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_GROUP_GET_DEVICE_FD:
		return vfio_group_ioctl_get_device_fd(group, file, uarg);
	case VFIO_GROUP_SET_CONTAINER:
		return vfio_group_ioctl_set_container(group, uarg);
	case VFIO_GROUP_GET_STATUS:
		return vfio_group_ioctl_get_status(group, uarg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return vfio_group_ioctl_unset_container(group);
	}
	return -ENOTTY;
}

static int vfio_group_fop_open(struct inode *inode, struct file *file)
{
	struct vfio_group *group =
		container_of(inode->i_cdev, struct vfio_group, cdev);
	int ret = 0;

	mutex_lock(&group->lock);
	if (group->dead)
		ret = -ENODEV;
	else if (vfio_group_needs_rawio(group))
		ret = -EPERM;
	/*
	 * Still in the container of a closed file, for a kernel user; or a
	 * device of the group is used through its cdev.
	 */
	else if (group->opened || group->container || group->cdev_claims)
		ret = -EBUSY;
	else
		group->opened = file;
	mutex_unlock(&group->lock);
	if (ret)
		return ret;

	file->private_data = group;
	return 0;
}

static int vfio_group_fop_release(struct inode *inode, struct file *file)
{
	struct vfio_group *group = file->private_data;

	/* Device files hold this file, so none can be open any more. */
	mutex_lock(&group->lock);
	WARN_ON(group->device_files);
	/* Held: the last vfio_group_unhold() detaches. */
	if (group->container && !group->kernel_holds)
		vfio_group_detach(group);
	spin_lock(&group->kvm_lock);
	group->kvm = NULL;
	spin_unlock(&group->kvm_lock);
	group->opened = NULL;
	mutex_unlock(&group->lock);
	return 0;
}

static const struct file_operations vfio_group_fops = {
	.owner		= THIS_MODULE,
	.open		= vfio_group_fop_open,
	.release	= vfio_group_fop_release,
	.unlocked_ioctl	= vfio_group_fop_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/**
 * vfio_file_is_group - is this a vfio group file?
 * @file: any file
 *
 * Return: true if @file is an open /dev/vfio/N.
 */
bool vfio_file_is_group(struct file *file)
{
	return file->f_op == &vfio_group_fops;
}
EXPORT_SYMBOL_GPL(vfio_file_is_group);

/**
 * vfio_file_has_dev - is this group file a way to reach this device?
 * @file: a file, of any kind
 * @vdev: the device
 *
 * Used by bus drivers to check that userspace owns every device a reset
 * would touch.
 *
 * Return: true if @file is a vfio group file of @vdev's group.
 */
bool vfio_file_has_dev(struct file *file, struct vfio_device *vdev)
{
	return vfio_file_is_group(file) && vdev->group &&
	       file->private_data == vdev->group;
}
EXPORT_SYMBOL_GPL(vfio_file_has_dev);

/**
 * vfio_file_iommu_group - the IOMMU group behind a vfio group file
 * @file: any file
 *
 * For KVM's SPAPR TCE support, which attaches its TCE tables to the IOMMU
 * group of every vfio group the VM is given and is the one user left; on
 * a kernel without CONFIG_SPAPR_TCE_IOMMU the answer is always NULL.  A
 * group whose devices have no IOMMU of their own (no-IOMMU, emulated)
 * answers with the IOMMU group made up for it.
 *
 * Return: NULL when @file is not a vfio group file or its group has lost
 * its last device; otherwise the IOMMU group with a reference taken for
 * the caller, which keeps it alive after @file is closed.  Undo with
 * iommu_group_put().
 */
struct iommu_group *vfio_file_iommu_group(struct file *file)
{
	struct vfio_group *group = file->private_data;
	struct iommu_group *iommu_group = NULL;

	if (!IS_ENABLED(CONFIG_SPAPR_TCE_IOMMU) || !vfio_file_is_group(file))
		return NULL;

	mutex_lock(&group->lock);
	if (!group->dead)
		iommu_group = iommu_group_ref_get(group->iommu_group);
	mutex_unlock(&group->lock);
	return iommu_group;
}
EXPORT_SYMBOL_GPL(vfio_file_iommu_group);

/**
 * vfio_file_is_valid - can KVM's vfio device take this file?
 * @file: any file
 *
 * Return: true for a vfio group file and for a device file, opened through
 * a group or the device cdev.
 */
bool vfio_file_is_valid(struct file *file)
{
	return vfio_file_is_group(file) || vfio_device_file_of(file);
}
EXPORT_SYMBOL_GPL(vfio_file_is_valid);

/* With no container yet, the IOMMU's answer for each device of the group. */
static bool vfio_group_devices_coherent(struct vfio_group *group)
{
	struct vfio_device *vdev;

	lockdep_assert_held(&group->lock);

	list_for_each_entry(vdev, &group->devices, group_next)
		if (!device_iommu_capable(vdev->dev,
					  IOMMU_CAP_ENFORCE_CACHE_COHERENCY))
			return false;
	return true;
}

/**
 * vfio_file_enforced_coherent - is all DMA of this group cache coherent?
 * @file: a vfio group file, or a device file (which answers for its group,
 *        or for itself if opened through the device cdev)
 *
 * KVM uses the answer to decide whether the guest must emulate WBINVD.
 * A group in a container gets the container's answer (VFIO_DMA_CC_IOMMU);
 * one in no container yet the IOMMU's for every device of the group, so
 * a group without a real IOMMU (no-IOMMU) is never coherent.
 *
 * Return: true if the IOMMU enforces coherency for the group's DMA; true
 * for a file that is neither.
 */
bool vfio_file_enforced_coherent(struct file *file)
{
	struct vfio_device_file *df = vfio_device_file_of(file);
	struct vfio_group *group;
	bool ret;

	/* iommufd enforces coherency wherever the IOMMU can. */
	if (df && !df->group_file)
		return device_iommu_capable(df->vdev->dev,
					    IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	if (df)
		file = df->group_file;
	if (!vfio_file_is_group(file))
		return true;

	group = file->private_data;
	mutex_lock(&group->lock);
	if (group->container)
		ret = vfio_container_enforced_coherent(group->container);
	else
		ret = vfio_group_devices_coherent(group);
	mutex_unlock(&group->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_file_enforced_coherent);

/**
 * vfio_file_set_kvm - tell a group or a device cdev file which KVM it serves
 * @file: a vfio group file, or a device file opened through the device
 *        cdev; for a device file opened through a group nothing is
 *        recorded: its device took its group's KVM instance, if any, when
 *        first opened
 * @kvm: the KVM instance, or NULL to forget it
 *
 * A device opened through the group while it knows a KVM instance, or
 * bound through a cdev file that knows one, holds a reference on that
 * instance from its first open to its last close (vfio_device.kvm);
 * devices already open keep the one they have.  KVM clears it before the
 * instance goes away.
 */
void vfio_file_set_kvm(struct file *file, struct kvm *kvm)
{
	struct vfio_device_file *df = vfio_device_file_of(file);
	struct vfio_group *group = file->private_data;

	if (df && !df->group_file) {
		spin_lock(&df->kvm_lock);
		df->kvm = kvm;
		spin_unlock(&df->kvm_lock);
		return;
	}
	if (!vfio_file_is_group(file))
		return;

	/* Only kvm_lock: KVM may call this from a vfio_device's last put. */
	spin_lock(&group->kvm_lock);
	group->kvm = kvm;
	spin_unlock(&group->kvm_lock);
}
EXPORT_SYMBOL_GPL(vfio_file_set_kvm);

/* ---- holds for kernel users ---- */

/*
 * A hold is for code that works on a group's IOMMU context from the kernel
 * side and must not see it change under it: as long as it is held, the
 * group stays attached to the same container, with the same IOMMU model.
 */
static int vfio_group_hold(struct vfio_group *group)
{
	lockdep_assert_held(&group->lock);

	if (group->dead)
		return -ENODEV;
	/* No IOMMU stands between a no-IOMMU device and memory. */
	if (group->kind == VFIO_GROUP_NOIOMMU)
		return -EPERM;
	if (!group->container || !vfio_container_has_backend(group->container))
		return -EINVAL;
	group->kernel_holds++;
	get_device(&group->dev);
	return 0;
}

/**
 * vfio_group_hold_file - keep a group in its container, by its file
 * @file: an open vfio group file
 *
 * Process context; takes the group's lock.  The hold outlives @file: the
 * caller may close it, and so may userspace.
 *
 * Return: the group, to give back with vfio_group_unhold(), or an
 * ERR_PTR: -EINVAL if @file is not a vfio group file or its group is not
 * attached to a container with an IOMMU model, -EPERM for a no-IOMMU
 * group, -ENODEV if the group lost its last device.
 */
struct vfio_group *vfio_group_hold_file(struct file *file)
{
	struct vfio_group *group;
	int ret;

	if (!vfio_file_is_group(file))
		return ERR_PTR(-EINVAL);
	group = file->private_data;

	mutex_lock(&group->lock);
	ret = vfio_group_hold(group);
	mutex_unlock(&group->lock);
	return ret ? ERR_PTR(ret) : group;
}
EXPORT_SYMBOL_GPL(vfio_group_hold_file);

/**
 * vfio_group_hold_dev - keep a device's group in its container
 * @dev: a device registered with VFIO through a group
 *
 * As vfio_group_hold_file(), for a caller that knows the device rather
 * than the file userspace opened.
 *
 * Return: the group, to give back with vfio_group_unhold(), or an
 * ERR_PTR: -ENODEV if @dev has no vfio group, else as
 * vfio_group_hold_file().
 */
struct vfio_group *vfio_group_hold_dev(struct device *dev)
{
	struct iommu_group *iommu_group = iommu_group_get(dev);
	struct vfio_group *group = NULL;
	int ret;

	if (!iommu_group)
		return ERR_PTR(-ENODEV);
	mutex_lock(&vfio_groups.lock);
	group = vfio_group_find(iommu_group);
	if (group)
		get_device(&group->dev);
	mutex_unlock(&vfio_groups.lock);
	iommu_group_put(iommu_group);
	if (!group)
		return ERR_PTR(-ENODEV);

	mutex_lock(&group->lock);
	ret = vfio_group_hold(group);
	mutex_unlock(&group->lock);
	put_device(&group->dev);
	return ret ? ERR_PTR(ret) : group;
}
EXPORT_SYMBOL_GPL(vfio_group_hold_dev);

/**
 * vfio_group_unhold - drop a hold taken by vfio_group_hold_file() or _dev()
 * @group: the group they returned
 *
 * Process context; takes the group's lock and, when this was the last
 * hold on a group whose file is closed, detaches it from its container,
 * which calls into the IOMMU backend.  So the caller must not hold any
 * lock the backend or a user's ioctl may wait for.  Cannot fail.
 */
void vfio_group_unhold(struct vfio_group *group)
{
	mutex_lock(&group->lock);
	if (!WARN_ON(!group->kernel_holds) && !--group->kernel_holds &&
	    !group->opened && group->container)
		vfio_group_detach(group);
	mutex_unlock(&group->lock);
	put_device(&group->dev);
}
EXPORT_SYMBOL_GPL(vfio_group_unhold);

/* ---- kernel-internal DMA access for emulated devices ---- */

static struct vfio_container *vfio_device_container(struct vfio_device *vdev)
{
	/*
	 * An open device file pins the group file, and the group cannot
	 * leave its container while device files are open.
	 */
	if (WARN_ON(!vdev->open_count || !vdev->group))
		return NULL;
	return vdev->group->container;
}

/**
 * vfio_pin_pages - pin user pages for an emulated device
 * @vdev: an open device
 * @iova: IOVA of the first page, page aligned
 * @npage: number of pages
 * @prot: IOMMU_READ and/or IOMMU_WRITE
 * @pages: returns the pinned pages
 *
 * Return: the number of pages pinned or a negative errno; undo with
 * vfio_unpin_pages(), at the latest from ops->dma_unmap.
 */
int vfio_pin_pages(struct vfio_device *vdev, dma_addr_t iova, int npage,
		   int prot, struct page **pages)
{
	struct vfio_container *container = vfio_device_container(vdev);

	if (!container || !pages || npage <= 0 || !PAGE_ALIGNED(iova))
		return -EINVAL;
	return vfio_container_pin_pages(container, vdev->group->iommu_group,
					iova, npage, prot, pages);
}
EXPORT_SYMBOL_GPL(vfio_pin_pages);

/**
 * vfio_unpin_pages - undo vfio_pin_pages()
 * @vdev: the device
 * @iova: IOVA of the first page
 * @npage: number of pages
 */
void vfio_unpin_pages(struct vfio_device *vdev, dma_addr_t iova, int npage)
{
	struct vfio_container *container = vfio_device_container(vdev);

	if (container && npage > 0)
		vfio_container_unpin_pages(container, iova, npage);
}
EXPORT_SYMBOL_GPL(vfio_unpin_pages);

/**
 * vfio_dma_rw - copy between a kernel buffer and user memory by IOVA
 * @vdev: an open device
 * @iova: start of the user range
 * @data: kernel buffer
 * @len: bytes to copy
 * @write: true to copy @data to user memory, false for the other way
 *
 * Return: 0 or a negative errno.
 */
int vfio_dma_rw(struct vfio_device *vdev, dma_addr_t iova, void *data,
		size_t len, bool write)
{
	struct vfio_container *container = vfio_device_container(vdev);

	if (!container || !data || !len)
		return -EINVAL;
	return vfio_container_dma_rw(container, iova, data, len, write);
}
EXPORT_SYMBOL_GPL(vfio_dma_rw);

/* ---- module ---- */

static char *vfio_group_devnode(const struct device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "vfio/%s", dev_name(dev));
}

int __init vfio_group_init(void)
{
	int ret;

	ida_init(&vfio_groups.minors);

	vfio_groups.class = class_create("vfio");
	if (IS_ERR(vfio_groups.class))
		return PTR_ERR(vfio_groups.class);
	vfio_groups.class->devnode = vfio_group_devnode;

	ret = alloc_chrdev_region(&vfio_groups.devt, 0, MINORMASK + 1, "vfio");
	if (ret) {
		class_destroy(vfio_groups.class);
		return ret;
	}
	return 0;
}

void vfio_group_exit(void)
{
	WARN_ON(!list_empty(&vfio_groups.list));
	unregister_chrdev_region(vfio_groups.devt, MINORMASK + 1);
	class_destroy(vfio_groups.class);
	ida_destroy(&vfio_groups.minors);
}
