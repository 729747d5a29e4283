// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO containers: /dev/vfio/vfio and the registry of IOMMU backends.
 *
 * A container is an IOMMU context that groups are attached to.  It starts
 * with no IOMMU model; VFIO_SET_IOMMU picks a backend (type1, no-IOMMU) once
 * at least one group is attached, and from then on every group attached is
 * handed to that backend and every ioctl the core does not know goes to it.
 * When the last group leaves, the backend is released and the container is
 * back to having no model.
 *
 * Groups with real IOMMU protection and no-IOMMU groups never share a
 * container: the first group decides which kind a container holds.
 */
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/minmax.h>
#include <linux/miscdevice.h>
#include <linux/rwsem.h>
#include <linux/slab.h>

#include "vfio.h"

/**
 * struct vfio_container - an IOMMU context shared by groups
 * @kref: one reference for the file, one per attached group
 * @lock: container->lock in the lock order of vfio.h; write for changes to
 *        @groups and @backend, read to call into the backend
 * @groups: attached groups, by vfio_group.container_next
 * @backend: the IOMMU model chosen by VFIO_SET_IOMMU, or NULL; its module
 *           is pinned while set
 * @backend_data: what @backend's open returned
 * @noiommu: the attached groups are no-IOMMU groups
 */
struct vfio_container {
	struct kref kref;
	struct rw_semaphore lock;
	struct list_head groups;
	const struct vfio_iommu_backend_ops *backend;
	void *backend_data;
	bool noiommu;
};

struct vfio_backend {
	struct list_head next;
	const struct vfio_iommu_backend_ops *ops;
};

/* The registry's lock nests inside container->lock (see vfio.h). */
static struct {
	struct mutex lock;	/* protects list */
	struct list_head list;
} vfio_backends = {
	.lock = __MUTEX_INITIALIZER(vfio_backends.lock),
	.list = LIST_HEAD_INIT(vfio_backends.list),
};

/**
 * vfio_register_iommu_backend - offer an IOMMU model to containers
 * @ops: the backend; must stay valid until unregistered
 *
 * Return: 0, -EINVAL if @ops is already registered, or -ENOMEM.  Undo with
 * vfio_unregister_iommu_backend().
 */
int vfio_register_iommu_backend(const struct vfio_iommu_backend_ops *ops)
{
	struct vfio_backend *entry, *cur;
	int ret = 0;

	if (WARN_ON(!ops->check_extension || !ops->open || !ops->release ||
		    !ops->ioctl || !ops->attach_group || !ops->detach_group))
		return -EINVAL;

	entry = kzalloc(sizeof(*entry), GFP_KERNEL);
	if (!entry)
		return -ENOMEM;
	entry->ops = ops;

	mutex_lock(&vfio_backends.lock);
	list_for_each_entry(cur, &vfio_backends.list, next) {
		if (cur->ops == ops) {
			ret = -EINVAL;
			break;
		}
	}
	if (!ret)
		list_add_tail(&entry->next, &vfio_backends.list);
	mutex_unlock(&vfio_backends.lock);

	if (ret)
		kfree(entry);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(vfio_register_iommu_backend, VFIO);

/**
 * vfio_unregister_iommu_backend - withdraw an IOMMU model
 * @ops: a registered backend
 *
 * Containers using the backend pin its module, so none can exist here.
 */
void vfio_unregister_iommu_backend(const struct vfio_iommu_backend_ops *ops)
{
	struct vfio_backend *cur;

	mutex_lock(&vfio_backends.lock);
	list_for_each_entry(cur, &vfio_backends.list, next) {
		if (cur->ops == ops) {
			list_del(&cur->next);
			kfree(cur);
			break;
		}
	}
	mutex_unlock(&vfio_backends.lock);
}
EXPORT_SYMBOL_NS_GPL(vfio_unregister_iommu_backend, VFIO);

static bool vfio_backend_is_noiommu(const struct vfio_iommu_backend_ops *ops)
{
	return IS_ENABLED(CONFIG_VFIO_NOIOMMU) && ops == &vfio_noiommu_ops;
}

/*
 * Once a container holds groups, only backends of the same kind (no-IOMMU
 * or not) may serve it.
 */
static bool vfio_backend_fits(struct vfio_container *container,
			      const struct vfio_iommu_backend_ops *ops)
{
	lockdep_assert_held(&container->lock);

	if (list_empty(&container->groups))
		return true;
	return vfio_backend_is_noiommu(ops) == container->noiommu;
}

static void vfio_container_get(struct vfio_container *container)
{
	kref_get(&container->kref);
}

static void vfio_container_release(struct kref *kref)
{
	struct vfio_container *container =
		container_of(kref, struct vfio_container, kref);

	WARN_ON(!list_empty(&container->groups) || container->backend);
	kfree(container);
}

static void vfio_container_put(struct vfio_container *container)
{
	kref_put(&container->kref, vfio_container_release);
}

static void vfio_container_drop_backend(struct vfio_container *container)
{
	const struct vfio_iommu_backend_ops *ops = container->backend;

	lockdep_assert_held_write(&container->lock);

	ops->release(container->backend_data);
	container->backend = NULL;
	container->backend_data = NULL;
	module_put(ops->owner);
}

/**
 * vfio_container_attach_group - attach a group to a container
 * @container: the container
 * @group: a group that is not attached anywhere; its lock is held
 *
 * The caller claimed DMA ownership of the group beforehand.  Undo with
 * vfio_container_detach_group().
 *
 * Return: 0, -EPERM when the group's kind does not fit the container, or
 * the backend's error.
 */
int vfio_container_attach_group(struct vfio_container *container,
				struct vfio_group *group)
{
	bool noiommu = group->kind == VFIO_GROUP_NOIOMMU;
	int ret = 0;

	lockdep_assert_held(&group->lock);

	down_write(&container->lock);
	if (!list_empty(&container->groups) && container->noiommu != noiommu) {
		ret = -EPERM;
		goto out_unlock;
	}

	if (container->backend) {
		ret = container->backend->attach_group(container->backend_data,
						       group->iommu_group,
						       group->kind);
		if (ret)
			goto out_unlock;
	}

	container->noiommu = noiommu;
	list_add_tail(&group->container_next, &container->groups);
	vfio_container_get(container);
out_unlock:
	up_write(&container->lock);
	return ret;
}

/**
 * vfio_container_detach_group - undo vfio_container_attach_group()
 * @group: an attached group; its lock is held
 *
 * The last group to leave takes the container's backend with it.  Cannot
 * fail.
 */
void vfio_container_detach_group(struct vfio_group *group)
{
	struct vfio_container *container = group->container;

	lockdep_assert_held(&group->lock);

	down_write(&container->lock);
	if (container->backend)
		container->backend->detach_group(container->backend_data,
						 group->iommu_group);
	list_del(&group->container_next);
	if (list_empty(&container->groups) && container->backend)
		vfio_container_drop_backend(container);
	up_write(&container->lock);

	vfio_container_put(container);
}

/**
 * vfio_container_has_backend - has VFIO_SET_IOMMU succeeded?
 * @container: the container
 *
 * Return: true if the container has an IOMMU model.
 */
bool vfio_container_has_backend(struct vfio_container *container)
{
	bool ret;

	down_read(&container->lock);
	ret = container->backend;
	up_read(&container->lock);
	return ret;
}

/**
 * vfio_container_enforced_coherent - does the IOMMU enforce DMA coherency?
 * @container: the container
 *
 * Return: the backend's answer to VFIO_DMA_CC_IOMMU; true without a backend,
 * as no DMA can happen then.
 */
bool vfio_container_enforced_coherent(struct vfio_container *container)
{
	bool ret = true;

	down_read(&container->lock);
	if (container->backend)
		ret = container->backend->check_extension(container->backend_data,
							  VFIO_DMA_CC_IOMMU) > 0;
	up_read(&container->lock);
	return ret;
}

/*
 * The two below are called from the first open and the last close of a
 * device, which its open_lock makes one at a time.  The group stays
 * attached meanwhile: the opener holds group->lock, and the file being
 * closed still counts in group->device_files.
 */
void vfio_container_register_device(struct vfio_device *vdev)
{
	struct vfio_container *container = vdev->group->container;

	lockdep_assert_held(&vdev->open_lock);
	down_read(&container->lock);
	if (container->backend && container->backend->register_device)
		container->backend->register_device(container->backend_data,
						    vdev);
	up_read(&container->lock);
}

void vfio_container_unregister_device(struct vfio_device *vdev)
{
	struct vfio_container *container = vdev->group->container;

	lockdep_assert_held(&vdev->open_lock);
	down_read(&container->lock);
	if (container->backend && container->backend->unregister_device)
		container->backend->unregister_device(container->backend_data,
						      vdev);
	up_read(&container->lock);
}

/*
 * The three below serve open emulated devices.  They run without
 * container->lock: the backend calls a device's dma_unmap op with the lock
 * held, and the device answers with vfio_unpin_pages().  The backend cannot
 * change under an open device anyway: the device's group stays attached,
 * so the backend stays set.
 */
int vfio_container_pin_pages(struct vfio_container *container,
			     struct iommu_group *iommu_group, dma_addr_t iova,
			     int npage, int prot, struct page **pages)
{
	const struct vfio_iommu_backend_ops *ops = container->backend;

	if (!ops || !ops->pin_pages)
		return -EINVAL;
	return ops->pin_pages(container->backend_data, iommu_group, iova,
			      npage, prot, pages);
}

void vfio_container_unpin_pages(struct vfio_container *container,
				dma_addr_t iova, int npage)
{
	const struct vfio_iommu_backend_ops *ops = container->backend;

	if (!WARN_ON(!ops || !ops->unpin_pages))
		ops->unpin_pages(container->backend_data, iova, npage);
}

int vfio_container_dma_rw(struct vfio_container *container, dma_addr_t iova,
			  void *data, size_t len, bool write)
{
	const struct vfio_iommu_backend_ops *ops = container->backend;

	if (!ops || !ops->dma_rw)
		return -EINVAL;
	return ops->dma_rw(container->backend_data, iova, data, len, write);
}

/* ---- the container file ---- */

static int vfio_container_ioctl_check_extension(struct vfio_container *container,
						unsigned long ext)
{
	struct vfio_backend *cur;
	int ret = 0;

	down_read(&container->lock);
	if (container->backend) {
		ret = container->backend->check_extension(container->backend_data,
							  ext);
		goto out_unlock;
	}

	/* No model yet: say what setting one could give. */
	mutex_lock(&vfio_backends.lock);
	list_for_each_entry(cur, &vfio_backends.list, next) {
		if (!vfio_backend_fits(container, cur->ops) ||
		    !try_module_get(cur->ops->owner))
			continue;
		ret = cur->ops->check_extension(NULL, ext);
		module_put(cur->ops->owner);
		if (ret > 0)
			break;
	}
	mutex_unlock(&vfio_backends.lock);
out_unlock:
	up_read(&container->lock);
	/* The answer is a count or a yes/no, never an error. */
	return max(ret, 0);
}

/* Hand every attached group to a freshly opened backend. */
static int vfio_container_attach_all(struct vfio_container *container,
				     const struct vfio_iommu_backend_ops *ops,
				     void *data)
{
	struct vfio_group *group, *undo;
	int ret;

	lockdep_assert_held_write(&container->lock);

	list_for_each_entry(group, &container->groups, container_next) {
		ret = ops->attach_group(data, group->iommu_group, group->kind);
		if (ret)
			goto err_detach;
	}
	return 0;

err_detach:
	list_for_each_entry(undo, &container->groups, container_next) {
		if (undo == group)
			break;
		ops->detach_group(data, undo->iommu_group);
	}
	return ret;
}

static int vfio_container_ioctl_set_iommu(struct vfio_container *container,
					  unsigned long type)
{
	const struct vfio_iommu_backend_ops *ops;
	struct vfio_backend *cur;
	void *data;
	int ret = -ENODEV;

	down_write(&container->lock);
	if (container->backend || list_empty(&container->groups)) {
		ret = -EINVAL;
		goto out_unlock;
	}

	mutex_lock(&vfio_backends.lock);
	list_for_each_entry(cur, &vfio_backends.list, next) {
		ops = cur->ops;
		if (!vfio_backend_fits(container, ops) ||
		    !try_module_get(ops->owner))
			continue;
		if (ops->check_extension(NULL, type) <= 0) {
			module_put(ops->owner);
			continue;
		}

		data = ops->open(type);
		if (IS_ERR(data)) {
			ret = PTR_ERR(data);
			module_put(ops->owner);
			continue;
		}
		ret = vfio_container_attach_all(container, ops, data);
		if (ret) {
			ops->release(data);
			module_put(ops->owner);
			continue;
		}

		/* The module reference now belongs to the container. */
		container->backend = ops;
		container->backend_data = data;
		break;
	}
	mutex_unlock(&vfio_backends.lock);
out_unlock:
	up_write(&container->lock);
	return ret;
}

static long vfio_container_fop_ioctl(struct file *file, unsigned int cmd,
				     unsigned long arg)
{
	struct vfio_container *container = file->private_data;
	long ret;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return vfio_container_ioctl_check_extension(container, arg);
	case VFIO_SET_IOMMU:
		return vfio_container_ioctl_set_iommu(container, arg);
	}

	down_read(&container->lock);
	if (container->backend)
		ret = container->backend->ioctl(container->backend_data, cmd,
						arg);
	else
		ret = -EINVAL;
	up_read(&container->lock);
	return ret;
}

static int vfio_container_fop_open(struct inode *inode, struct file *file)
{
	struct vfio_container *container;

	container = kzalloc(sizeof(*container), GFP_KERNEL_ACCOUNT);
	if (!container)
		return -ENOMEM;

	kref_init(&container->kref);
	init_rwsem(&container->lock);
	INIT_LIST_HEAD(&container->groups);
	file->private_data = container;
	return 0;
}

static int vfio_container_fop_release(struct inode *inode, struct file *file)
{
	vfio_container_put(file->private_data);
	return 0;
}

static const struct file_operations vfio_container_fops = {
	.owner		= THIS_MODULE,
	.open		= vfio_container_fop_open,
	.release	= vfio_container_fop_release,
	.unlocked_ioctl	= vfio_container_fop_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/**
 * vfio_file_is_container - is this an open /dev/vfio/vfio?
 * @file: any file
 *
 * Return: true for a container file.
 */
bool vfio_file_is_container(struct file *file)
{
	return file->f_op == &vfio_container_fops;
}

static struct miscdevice vfio_container_misc = {
	.minor		= VFIO_MINOR,
	.name		= "vfio",
	.fops		= &vfio_container_fops,
	.nodename	= "vfio/vfio",
	.mode		= 0666,
};

int __init vfio_container_init(void)
{
	return misc_register(&vfio_container_misc);
}

void vfio_container_exit(void)
{
	misc_deregister(&vfio_container_misc);
	WARN_ON(!list_empty(&vfio_backends.list));
}

MODULE_ALIAS_MISCDEV(VFIO_MINOR);
MODULE_ALIAS("devname:vfio/vfio");
