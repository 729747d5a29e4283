// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO device cdevs: /dev/vfio/devices/vfioN, bound to an iommufd.
 *
 * Every registered device that does its own DMA gets a character device
 * beside its group.  It is a second way to own the device, one that
 * needs no group or container: the IOMMU side is iommufd's (/dev/iommu).
 *
 * Opening the node grants nothing.  The new file is not ready (see
 * struct vfio_device_file): read, write, mmap and every ioctl but
 * VFIO_DEVICE_BIND_IOMMUFD fail, because the device may still sit in the
 * host's DMA domain, where anything it was told to do would reach kernel
 * memory.  The bind makes iommufd claim DMA ownership of the device,
 * which moves its IOMMU group out of the host's domain into a blocking
 * one (and keeps kernel drivers off the whole group), and only then opens
 * the device and lets the file through.  DMA stays blocked until
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT puts the device into an iommufd page
 * table; closing the file detaches, closes the device and gives the
 * ownership back.
 *
 * A device is open through at most one cdev file, and its group is used
 * either through cdev files or through the group file, never both at
 * once (vfio_group_claim_for_cdev()).
 *
 * Locking: the bind, attach and detach run under the device's open_lock,
 * which only opens and closes of this one device wait for.  Attaching
 * and detaching can wait for the owner's own iommufd mappings (an
 * IOMMU_IOAS_MAP that faults in user memory holds the address space's
 * domain lock), so they never run under dev_set->lock, which other
 * owners' devices of the set need.  The bind itself and the unbind run
 * from the first open and the last close, under dev_set->lock: they only
 * take the IOMMU core's group ownership, which nobody holds for long.
 */
#include <linux/capability.h>
#include <linux/iommufd.h>
#include <linux/uaccess.h>

#include "vfio.h"

MODULE_IMPORT_NS(IOMMUFD);

static dev_t vfio_cdev_devt;

/* Emulated devices have no DMA of their own to put behind an iommufd. */
static bool vfio_cdev_wanted(struct vfio_device *vdev)
{
	return vdev->group && vdev->group->kind != VFIO_GROUP_EMULATED;
}

static bool vfio_cdev_noiommu(struct vfio_device *vdev)
{
	return vdev->group->kind == VFIO_GROUP_NOIOMMU;
}

/**
 * vfio_cdev_add - make a device visible: its class device and cdev
 * @vdev: a device being registered, its group already known
 *
 * Return: 0 or a negative errno; undo with vfio_cdev_del().
 */
int vfio_cdev_add(struct vfio_device *vdev)
{
	if (!vfio_cdev_wanted(vdev))
		return device_add(&vdev->device);

	vdev->device.devt = MKDEV(MAJOR(vfio_cdev_devt), vdev->index);
	cdev_init(&vdev->cdev, &vfio_device_fops);
	vdev->cdev.owner = THIS_MODULE;
	return cdev_device_add(&vdev->cdev, &vdev->device);
}

/**
 * vfio_cdev_del - undo vfio_cdev_add()
 * @vdev: the device
 *
 * Files already open stay usable; no new open of the node succeeds.
 */
void vfio_cdev_del(struct vfio_device *vdev)
{
	if (vdev->device.devt)
		cdev_device_del(&vdev->cdev, &vdev->device);
	else
		device_del(&vdev->device);
}

/**
 * vfio_cdev_fop_open - open(2) of /dev/vfio/devices/vfioN
 * @inode: the node's inode
 * @file: the new file
 *
 * Return: 0 with a file that is not ready yet, -ENODEV when the device
 * is being unregistered, -ENOMEM.
 */
int vfio_cdev_fop_open(struct inode *inode, struct file *file)
{
	struct vfio_device *vdev =
		container_of(inode->i_cdev, struct vfio_device, cdev);
	struct vfio_device_file *df;

	/* Given back by the file's release. */
	if (vfio_device_get_registration(vdev))
		return -ENODEV;

	df = vfio_device_file_alloc(vdev);
	if (!df) {
		vfio_device_put_registration(vdev);
		return -ENOMEM;
	}
	file->private_data = df;
	/*
	 * Mappings of the device made through this file must go with the
	 * rest when the device zaps its BARs: share the pseudo-fs inode's
	 * address_space, as the group path's files do.
	 */
	file->f_mapping = vdev->inode->i_mapping;
	return 0;
}

/**
 * vfio_cdev_first_open - bind to the iommufd before the device opens
 * @df: the file being bound; @df->ictx is its iommufd, or NULL for a
 *      no-IOMMU device
 *
 * Called for every first open; does nothing for a group-path file.
 * Holds the device's open_lock and dev_set->lock.
 *
 * Return: 0 or a negative errno from iommufd_device_bind().
 */
int vfio_cdev_first_open(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->vdev;
	struct iommufd_device *idev;

	lockdep_assert_held(&vdev->open_lock);
	lockdep_assert_held(&vdev->dev_set->lock);

	if (df->group_file)
		return 0;

	if (df->ictx) {
		idev = iommufd_device_bind(df->ictx, vdev->dev, &df->devid);
		if (IS_ERR(idev))
			return PTR_ERR(idev);
		vdev->iommufd_device = idev;
	}
	vdev->cdev_open = true;
	return 0;
}

/**
 * vfio_cdev_detach - leave the iommufd page table before the last close
 * @vdev: the device, about to be closed for good
 *
 * DMA is blocked from here on.  Holds the device's open_lock only.
 */
void vfio_cdev_detach(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->open_lock);

	if (!vdev->iommufd_attached)
		return;
	iommufd_device_detach(vdev->iommufd_device);
	vdev->iommufd_attached = false;
}

/**
 * vfio_cdev_last_close - unbind from the iommufd after the device closed
 * @vdev: the device; also undoes a vfio_cdev_first_open() whose open
 *        failed afterwards
 *
 * Holds the device's open_lock and dev_set->lock.
 */
void vfio_cdev_last_close(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->open_lock);
	lockdep_assert_held(&vdev->dev_set->lock);

	if (!vdev->cdev_open)
		return;
	WARN_ON(vdev->iommufd_attached);
	if (vdev->iommufd_device) {
		iommufd_device_unbind(vdev->iommufd_device);
		vdev->iommufd_device = NULL;
	}
	vdev->cdev_open = false;
}

/**
 * vfio_cdev_release - the last of a cdev file, after its device closed
 * @df: the file's state
 */
void vfio_cdev_release(struct vfio_device_file *df)
{
	if (!vfio_device_file_ready(df))
		return;
	vfio_group_release_for_cdev(df->vdev);
	if (df->ictx)
		iommufd_ctx_put(df->ictx);
}

/*
 * The argument, as far as argsz reaches: what lies past the fields we know
 * must be zero, what argsz leaves out of them is zero.  The VF token, whose
 * pointer lies past the 6.12 layout, is read only with its flag.
 * Return: 1 with a token, 0 without, or a negative errno.
 */
static int vfio_cdev_bind_arg(struct vfio_device_bind_iommufd __user *uarg,
			      struct vfio_device_bind_iommufd *bind,
			      uuid_t *token)
{
	size_t minsz = offsetofend(struct vfio_device_bind_iommufd, out_devid);
	u32 argsz;
	int ret;

	if (get_user(argsz, &uarg->argsz))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	ret = copy_struct_from_user(bind, sizeof(*bind), uarg, argsz);
	if (ret)
		return ret;
	if (bind->flags & ~VFIO_DEVICE_BIND_FLAG_TOKEN)
		return -EINVAL;
	if (!(bind->flags & VFIO_DEVICE_BIND_FLAG_TOKEN))
		return 0;
	if (copy_from_user(token, u64_to_user_ptr(bind->token_uuid_ptr),
			   sizeof(*token)))
		return -EFAULT;
	return 1;
}

static int vfio_cdev_check_token(struct vfio_device *vdev,
				 const uuid_t *token)
{
	if (vdev->ops->check_token)
		return vdev->ops->check_token(vdev, token);
	return token ? -EINVAL : 0;
}

/*
 * The iommufd to bind to.  A no-IOMMU device has none to bind to: it
 * takes iommufd -1, or any iommufd (whose address spaces it cannot
 * use), and CAP_SYS_RAWIO, as its group would.
 */
static struct iommufd_ctx *vfio_cdev_bind_ictx(struct vfio_device *vdev,
					       s32 fd)
{
	struct iommufd_ctx *ictx;

	if (!vfio_cdev_noiommu(vdev))
		return fd < 0 ? ERR_PTR(-EINVAL) : iommufd_ctx_from_fd(fd);

	if (fd < -1)
		return ERR_PTR(-EINVAL);
	if (fd >= 0) {
		ictx = iommufd_ctx_from_fd(fd);
		if (IS_ERR(ictx))
			return ictx;
		iommufd_ctx_put(ictx);
	}
	return capable(CAP_SYS_RAWIO) ? NULL : ERR_PTR(-EPERM);
}

static long vfio_cdev_ioctl_bind(struct vfio_device_file *df,
				 struct vfio_device_bind_iommufd __user *uarg)
{
	struct vfio_device *vdev = df->vdev;
	struct vfio_device_bind_iommufd bind;
	struct iommufd_ctx *ictx;
	uuid_t token;
	int ret, has_token;

	has_token = vfio_cdev_bind_arg(uarg, &bind, &token);
	if (has_token < 0)
		return has_token;

	ictx = vfio_cdev_bind_ictx(vdev, bind.iommufd);
	if (IS_ERR(ictx))
		return PTR_ERR(ictx);

	/* Before open_lock: the group's lock is the outer one. */
	ret = vfio_group_claim_for_cdev(vdev);
	if (ret)
		goto err_put_ictx;

	mutex_lock(&vdev->open_lock);
	/* One bind per file; a ready file is bound already. */
	if (vfio_device_file_ready(df)) {
		ret = -EINVAL;
		goto err_unlock;
	}
	ret = vfio_cdev_check_token(vdev, has_token ? &token : NULL);
	if (ret)
		goto err_unlock;

	df->ictx = ictx;
	ret = vfio_device_open_locked(df);
	if (ret)
		goto err_clear;
	if (put_user(df->devid, &uarg->out_devid)) {
		ret = -EFAULT;
		goto err_close;
	}
	/* The device is open for this file: let its accesses through. */
	smp_store_release(&df->ready, true);
	mutex_unlock(&vdev->open_lock);

	if (vfio_cdev_noiommu(vdev))
		dev_warn(vdev->dev,
			 "vfio-noiommu device bound by user (%s:%d)\n",
			 current->comm, task_pid_nr(current));
	return 0;

err_close:
	vfio_device_close_locked(df);
err_clear:
	df->ictx = NULL;
	df->devid = 0;
err_unlock:
	mutex_unlock(&vdev->open_lock);
	vfio_group_release_for_cdev(vdev);
err_put_ictx:
	if (ictx)
		iommufd_ctx_put(ictx);
	return ret;
}

static long
vfio_cdev_ioctl_attach(struct vfio_device_file *df,
		       struct vfio_device_attach_iommufd_pt __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_device_attach_iommufd_pt, pt_id);
	struct vfio_device_attach_iommufd_pt attach;
	struct vfio_device *vdev = df->vdev;
	bool replace;
	int ret;

	if (copy_from_user(&attach, uarg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz || attach.flags)
		return -EINVAL;

	mutex_lock(&vdev->open_lock);
	if (!vdev->iommufd_device) {
		/* No-IOMMU: there is no page table to attach to. */
		ret = -EINVAL;
		goto out_unlock;
	}
	replace = vdev->iommufd_attached;
	if (replace)
		ret = iommufd_device_replace(vdev->iommufd_device,
					     &attach.pt_id);
	else
		ret = iommufd_device_attach(vdev->iommufd_device,
					    &attach.pt_id);
	if (ret)
		goto out_unlock;
	vdev->iommufd_attached = true;

	if (put_user(attach.pt_id, &uarg->pt_id)) {
		ret = -EFAULT;
		/* A fresh attach is undone; a replace has no way back. */
		if (!replace) {
			iommufd_device_detach(vdev->iommufd_device);
			vdev->iommufd_attached = false;
		}
	}
out_unlock:
	mutex_unlock(&vdev->open_lock);
	return ret;
}

static long
vfio_cdev_ioctl_detach(struct vfio_device_file *df,
		       struct vfio_device_detach_iommufd_pt __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_device_detach_iommufd_pt, flags);
	struct vfio_device_detach_iommufd_pt detach;
	struct vfio_device *vdev = df->vdev;
	int ret = 0;

	if (copy_from_user(&detach, uarg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;

	mutex_lock(&vdev->open_lock);
	if (!vdev->iommufd_device)
		ret = -EINVAL;
	else
		vfio_cdev_detach(vdev);
	mutex_unlock(&vdev->open_lock);
	return ret;
}

/**
 * vfio_cdev_ioctl - the ioctls of a cdev file that are not the device's
 * @df: the file's state; a cdev file
 * @cmd: the command
 * @arg: its argument
 *
 * Return: the result of VFIO_DEVICE_BIND_IOMMUFD, _ATTACH_IOMMUFD_PT or
 * _DETACH_IOMMUFD_PT (-EINVAL for the last two before the bind), or
 * -ENOIOCTLCMD for any other command.
 */
long vfio_cdev_ioctl(struct vfio_device_file *df, unsigned int cmd,
		     void __user *arg)
{
	switch (cmd) {
	case VFIO_DEVICE_BIND_IOMMUFD:
		return vfio_cdev_ioctl_bind(df, arg);
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		if (!vfio_device_file_ready(df))
			return -EINVAL;
		return vfio_cdev_ioctl_attach(df, arg);
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		if (!vfio_device_file_ready(df))
			return -EINVAL;
		return vfio_cdev_ioctl_detach(df, arg);
	}
	return -ENOIOCTLCMD;
}

/**
 * vfio_iommufd_device_ictx - the iommufd a device is bound to
 * @vdev: the device; the caller holds its open_lock or dev_set->lock
 *
 * For bus drivers that check ownership by iommufd (a hot reset asked for
 * through a cdev file).
 *
 * Return: the iommufd context, valid while the lock is held, or NULL when
 * the device is not open through its cdev or has no IOMMU.
 */
struct iommufd_ctx *vfio_iommufd_device_ictx(struct vfio_device *vdev)
{
	if (!vdev->iommufd_device)
		return NULL;
	return iommufd_device_to_ictx(vdev->iommufd_device);
}
EXPORT_SYMBOL_GPL(vfio_iommufd_device_ictx);

/**
 * vfio_iommufd_device_id - a device's id in an iommufd
 * @vdev: the device; the caller holds dev_set->lock
 * @ictx: the iommufd
 *
 * Return: the id userspace got from VFIO_DEVICE_BIND_IOMMUFD, or -ENOENT
 * when @vdev is not bound to @ictx.
 */
int vfio_iommufd_device_id(struct vfio_device *vdev, struct iommufd_ctx *ictx)
{
	lockdep_assert_held(&vdev->dev_set->lock);

	if (!vdev->iommufd_device ||
	    iommufd_device_to_ictx(vdev->iommufd_device) != ictx)
		return -ENOENT;
	return iommufd_device_to_id(vdev->iommufd_device);
}
EXPORT_SYMBOL_GPL(vfio_iommufd_device_id);

/**
 * vfio_iommufd_owns_group - has an iommufd a device of an IOMMU group?
 * @ictx: the iommufd, or NULL
 * @group: the IOMMU group, or NULL
 *
 * A device bound to @ictx makes the whole group @ictx's: no other owner
 * can use any device of it.
 *
 * Return: true if some device of @group is bound to @ictx.
 */
bool vfio_iommufd_owns_group(struct iommufd_ctx *ictx,
			     struct iommu_group *group)
{
	return iommufd_ctx_has_group(ictx, group);
}
EXPORT_SYMBOL_GPL(vfio_iommufd_owns_group);

int __init vfio_cdev_init(void)
{
	return alloc_chrdev_region(&vfio_cdev_devt, 0, MINORMASK + 1,
				   "vfio-dev");
}

void vfio_cdev_exit(void)
{
	unregister_chrdev_region(vfio_cdev_devt, MINORMASK + 1);
}
