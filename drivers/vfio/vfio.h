/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private interfaces of the VFIO core (vfio.ko) and its IOMMU backends.
 *
 * Objects and what keeps them alive:
 *
 *  - vfio_device: see include/linux/vfio.h.
 *  - vfio_group: one per IOMMU group that holds at least one registered
 *    vfio_device.  Memory is owned by the refcount of its class device
 *    (group->dev); it is published as /dev/vfio/N while it has devices.
 *  - vfio_container: one per open of /dev/vfio/vfio, kref counted; the file
 *    holds one reference and every attached group holds one.
 *  - an IOMMU backend: registered by a module (type1, no-IOMMU); a container
 *    that uses one holds a reference on that module.
 *
 * Lock order, outermost first, for the whole of drivers/vfio:
 *
 *   vfio_groups.lock              (group list and lookup, group nodes)
 *     group->lock                 (group state, device list, container)
 *       vdev->open_lock           (open/close of one device)
 *         dev_set->lock           (open/close of the devices of a set)
 *           container->lock       (rwsem: backend and groups of a
 *                                  container)
 *             vfio_backends.lock  (the registry of backends)
 *               backend locks     (e.g. type1's iommu->lock)
 *
 * vfio_groups.lock is held across adding and deleting a group's class
 * device and node, so the device core and devtmpfs nest inside it, and
 * across making up a no-IOMMU device's IOMMU group, so the IOMMU core's
 * group locks do too.  Switching enable_unsafe_noiommu_mode off takes it
 * inside the module parameter lock.
 * vfio_backends.lock is taken alone to register or unregister a backend,
 * and under container->lock to walk the registry for VFIO_CHECK_EXTENSION
 * and VFIO_SET_IOMMU; the latter opens the backend it picks and attaches
 * the container's groups to it with the registry lock still held.  Every
 * other call into a backend holds at most container->lock (see struct
 * vfio_iommu_backend_ops).
 *
 * Device memory mapped for DMA (type1 mapping a BAR mmap) adds a second
 * chain, through the device notifier and the mm:
 *
 *   whatever the sender of an event holds: the closing device's
 *   open_lock alone for RELEASE (core.c); for MEMORY_OFF and RESET the
 *   bus driver's locks, in vfio-pci its config lock or dev_set->lock
 *     vfio_device.notifier            (SRCU read side, around callbacks)
 *       a backend's short lock        (a callback drops DMA mappings:
 *                                      type1's domain_lock)
 *
 * and, apart from it, a MAP_DMA of a BAR mmap:
 *
 *   backend locks                     (type1's iommu->lock)
 *     mm->mmap_lock                   (MAP_DMA faults the BAR in)
 *       bus driver fault locks        (vfio-pci's memory_lock)
 *
 * So an event is never sent with a lock held that a BAR fault takes; a
 * callback never waits for a lock that a user can hold across one of
 * their page faults (type1's iommu->lock is held across pinning); and a
 * backend unregisters a notifier only with none of its locks held.
 * RELEASE holds nothing that another device's open, close or reset
 * needs, so a slow listener stalls the closing device alone.
 *
 * A device cdev (cdev.c) adds iommufd's locks: binding and unbinding
 * (iommufd_device_bind/unbind, the IOMMU core's group ownership) run
 * inside dev_set->lock, from the first open and the last close; attaching
 * and detaching a pagetable run inside the device's open_lock only, never
 * under dev_set->lock, since they wait for the IOAS's domain lock, which
 * IOMMU_IOAS_MAP holds while it faults the owner's memory in.  A bind
 * claims the group (group->lock) before it takes open_lock.
 *
 * Every function that relies on a lock its caller holds says so with
 * lockdep_assert_held().
 */
#ifndef __VFIO_VFIO_H
#define __VFIO_VFIO_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/vfio.h>

struct iommu_group;
struct iommufd_ctx;
struct vfio_container;

/**
 * struct vfio_device_file - one open file of a vfio_device
 * @vdev: the device; a registration reference is held
 * @group_file: the group file it was opened through; a reference is held so
 *              the group stays attached to its container while the device
 *              is open.  NULL for a file opened through the device cdev
 * @ready: the file gives access to the device: set once the device is
 *         open for it, with a release barrier that pairs with the acquire
 *         of every access (vfio_device_file_ready()).  A group file is
 *         born ready; a cdev file becomes ready when its bind succeeds
 * @ictx: cdev file: the iommufd it is being bound or is bound to; NULL
 *        before the bind and for a no-IOMMU bind.  Under the device's
 *        open_lock
 * @devid: cdev file: the device's id in @ictx
 * @kvm_lock: guards @kvm
 * @kvm: cdev file: the KVM instance the kvm-vfio device gave it, taken by
 *       the device at the bind; see vfio_file_set_kvm()
 */
struct vfio_device_file {
	struct vfio_device *vdev;
	struct file *group_file;
	bool ready;
	struct iommufd_ctx *ictx;
	u32 devid;
	spinlock_t kvm_lock;		/* kvm */
	struct kvm *kvm;
};

/**
 * vfio_device_file_ready - may this file touch its device?
 * @df: the file's state
 *
 * Return: true once the device is open for @df.  Everything the open set
 * up is visible to the caller after a true answer.
 */
static inline bool vfio_device_file_ready(struct vfio_device_file *df)
{
	/* Pairs with the smp_store_release() that makes the file ready. */
	return smp_load_acquire(&df->ready);
}

/**
 * enum vfio_group_kind - how the devices of a group are protected
 * @VFIO_GROUP_PHYS: by a real IOMMU group
 * @VFIO_GROUP_EMULATED: by the bus driver itself (mdev style): the device
 *                       never DMAs on its own, it asks the backend to pin
 * @VFIO_GROUP_NOIOMMU: not at all (no-IOMMU mode)
 */
enum vfio_group_kind {
	VFIO_GROUP_PHYS,
	VFIO_GROUP_EMULATED,
	VFIO_GROUP_NOIOMMU,
};

/**
 * struct vfio_iommu_backend_ops - an IOMMU model a container can use
 *
 * All callbacks but @check_extension and @open receive the data @open
 * returned.  The core calls them with the container's lock held: for
 * write around @open, @release, @attach_group and @detach_group, at
 * least for read around @ioctl, @check_extension, @register_device and
 * @unregister_device.  The walks of the registry for VFIO_CHECK_EXTENSION
 * and VFIO_SET_IOMMU hold vfio_backends.lock too: around @check_extension
 * with a NULL @data and, for VFIO_SET_IOMMU, around @open, @attach_group
 * and, when that fails, @detach_group and @release.
 * @pin_pages, @unpin_pages and @dma_rw come from an open emulated device
 * without the container's lock: the backend calls @dma_unmap of such a
 * device with its own locks dropped, and the device answers with
 * @unpin_pages.  A backend needs its own lock for state that concurrent
 * callers change.
 */
struct vfio_iommu_backend_ops {
	/** @name: for messages */
	const char *name;
	/** @owner: the module; pinned while a container uses the backend */
	struct module *owner;
	/**
	 * @check_extension: answer VFIO_CHECK_EXTENSION for @ext: 0 for
	 * unsupported, a positive value otherwise.  @data is NULL when the
	 * container has no backend yet.  Required.
	 */
	int (*check_extension)(void *data, unsigned long ext);
	/**
	 * @open: VFIO_SET_IOMMU picked this backend for model @type; set up
	 * the container's state.  Return it or an ERR_PTR().  Required;
	 * undone by @release.
	 */
	void *(*open)(unsigned long type);
	/** @release: the container goes away; no group is attached.  Required. */
	void (*release)(void *data);
	/** @ioctl: container ioctls the core does not handle itself. Required. */
	long (*ioctl)(void *data, unsigned int cmd, unsigned long arg);
	/**
	 * @attach_group: put @group under the container's IOMMU context.
	 * Required; undone by @detach_group.
	 */
	int (*attach_group)(void *data, struct iommu_group *group,
			    enum vfio_group_kind kind);
	/** @detach_group: undo @attach_group; cannot fail.  Required. */
	void (*detach_group)(void *data, struct iommu_group *group);
	/**
	 * @register_device: a device of an attached group was opened; the
	 * backend may call its dma_unmap op from now on.  Called from the
	 * first open, with the device's open_lock and dev_set->lock held.
	 * Undone by @unregister_device before the device is closed.
	 */
	void (*register_device)(void *data, struct vfio_device *vdev);
	/**
	 * @unregister_device: undo @register_device; called from the last
	 * close, after VFIO_DEVICE_EVENT_RELEASE, with the same locks held.
	 */
	void (*unregister_device)(void *data, struct vfio_device *vdev);
	/**
	 * @pin_pages: pin @npage pages at @iova for an emulated device of
	 * @group and return them in @pages.  Return the number pinned or a
	 * negative errno.  Undone by @unpin_pages.
	 */
	int (*pin_pages)(void *data, struct iommu_group *group,
			 dma_addr_t iova, int npage, int prot,
			 struct page **pages);
	/** @unpin_pages: undo @pin_pages */
	void (*unpin_pages)(void *data, dma_addr_t iova, int npage);
	/**
	 * @dma_rw: copy @len bytes between @buf and the user memory mapped
	 * at @iova, for an emulated device.
	 */
	int (*dma_rw)(void *data, dma_addr_t iova, void *buf, size_t len,
		      bool write);
};

/**
 * struct vfio_group - the core's object for one IOMMU group
 * @dev: class device behind /dev/vfio/N; its refcount owns this memory
 * @cdev: the character device
 * @next: entry in the global group list, under vfio_groups.lock
 * @iommu_group: the IOMMU group; a reference is held for our lifetime
 * @kind: how the devices are protected
 * @drivers: registered devices plus one while the group is being looked up;
 *           the group is unpublished when it drops to zero
 * @lock: protects the fields below
 * @devices: registered vfio_devices of this group
 * @opened: the file of the one open of /dev/vfio/N, or NULL
 * @container: container the group is attached to, or NULL
 * @container_next: entry in @container's group list, under container->lock
 * @device_files: device files opened through this group and still open
 * @kernel_holds: holds kernel users took with vfio_group_hold_file() or
 *                vfio_group_hold_dev(); while there are any the group
 *                stays in its container, even after its file is closed
 * @cdev_claims: device cdev files of the group's devices that are bound or
 *               binding; while there are any the group cannot be opened,
 *               and while the group is open or in a container no cdev
 *               file can bind: one owner at a time, whichever came first
 * @kvm_lock: guards @kvm; a spinlock, so that dropping the last reference
 *            on a VM (which makes KVM clear @kvm) is safe under any vfio lock
 * @kvm: KVM instance set through the kvm-vfio device, or NULL
 * @dead: the last device was unregistered; every ioctl fails
 */
struct vfio_group {
	struct device dev;
	struct cdev cdev;
	struct list_head next;
	struct iommu_group *iommu_group;
	enum vfio_group_kind kind;
	refcount_t drivers;
	struct mutex lock;		/* group->lock, see the lock order */
	struct list_head devices;
	struct file *opened;
	struct vfio_container *container;
	struct list_head container_next;
	unsigned int device_files;
	unsigned int kernel_holds;
	unsigned int cdev_claims;
	spinlock_t kvm_lock;		/* kvm */
	struct kvm *kvm;
	bool dead;
};

/* core.c */
extern const struct file_operations vfio_device_fops;
struct file *vfio_device_open_file(struct vfio_device *vdev,
				   struct file *group_file);
int vfio_device_open_locked(struct vfio_device_file *df);
void vfio_device_close_locked(struct vfio_device_file *df);
struct vfio_device_file *vfio_device_file_alloc(struct vfio_device *vdev);
struct file *vfio_device_file_group_file(struct file *file);
struct vfio_device_file *vfio_device_file_of(struct file *file);
int vfio_device_get_registration(struct vfio_device *vdev);
void vfio_device_put_registration(struct vfio_device *vdev);

/* pseudofs.c */
struct inode *vfio_fs_inode_new(void);
void vfio_fs_inode_put(struct inode *inode);
struct file *vfio_fs_file_new(struct inode *inode,
			      const struct file_operations *fops,
			      void *private_data);

#if IS_ENABLED(CONFIG_VFIO_GROUP)
int vfio_group_add_device(struct vfio_device *vdev, enum vfio_group_kind kind);
int vfio_group_claim_for_cdev(struct vfio_device *vdev);
void vfio_group_release_for_cdev(struct vfio_device *vdev);
void vfio_group_publish_device(struct vfio_device *vdev);
void vfio_group_unpublish_device(struct vfio_device *vdev);
void vfio_group_remove_device(struct vfio_device *vdev);
void vfio_group_close_device_file(struct file *group_file);
int __init vfio_group_init(void);
void vfio_group_exit(void);
#else
static inline int vfio_group_add_device(struct vfio_device *vdev,
					enum vfio_group_kind kind)
{
	return -EOPNOTSUPP;
}

static inline int vfio_group_claim_for_cdev(struct vfio_device *vdev)
{
	return 0;
}

static inline void vfio_group_release_for_cdev(struct vfio_device *vdev)
{
}

static inline void vfio_group_publish_device(struct vfio_device *vdev)
{
}

static inline void vfio_group_unpublish_device(struct vfio_device *vdev)
{
}

static inline void vfio_group_remove_device(struct vfio_device *vdev)
{
}

static inline void vfio_group_close_device_file(struct file *group_file)
{
}

static inline int vfio_group_init(void)
{
	return 0;
}

static inline void vfio_group_exit(void)
{
}
#endif

#if IS_ENABLED(CONFIG_VFIO_CONTAINER)
bool vfio_file_is_container(struct file *file);
int vfio_container_attach_group(struct vfio_container *container,
				struct vfio_group *group);
void vfio_container_detach_group(struct vfio_group *group);
bool vfio_container_has_backend(struct vfio_container *container);
bool vfio_container_enforced_coherent(struct vfio_container *container);
void vfio_container_register_device(struct vfio_device *vdev);
void vfio_container_unregister_device(struct vfio_device *vdev);
int vfio_container_pin_pages(struct vfio_container *container,
			     struct iommu_group *iommu_group, dma_addr_t iova,
			     int npage, int prot, struct page **pages);
void vfio_container_unpin_pages(struct vfio_container *container,
				dma_addr_t iova, int npage);
int vfio_container_dma_rw(struct vfio_container *container, dma_addr_t iova,
			  void *data, size_t len, bool write);
int __init vfio_container_init(void);
void vfio_container_exit(void);
#else
static inline bool vfio_file_is_container(struct file *file)
{
	return false;
}

static inline int vfio_container_attach_group(struct vfio_container *container,
					      struct vfio_group *group)
{
	return -EOPNOTSUPP;
}

static inline void vfio_container_detach_group(struct vfio_group *group)
{
}

static inline bool vfio_container_has_backend(struct vfio_container *container)
{
	return false;
}

static inline bool
vfio_container_enforced_coherent(struct vfio_container *container)
{
	return true;
}

static inline void vfio_container_register_device(struct vfio_device *vdev)
{
}

static inline void vfio_container_unregister_device(struct vfio_device *vdev)
{
}

static inline int vfio_container_pin_pages(struct vfio_container *container,
					   struct iommu_group *iommu_group,
					   dma_addr_t iova, int npage,
					   int prot, struct page **pages)
{
	return -EOPNOTSUPP;
}

static inline void vfio_container_unpin_pages(struct vfio_container *container,
					      dma_addr_t iova, int npage)
{
}

static inline int vfio_container_dma_rw(struct vfio_container *container,
					dma_addr_t iova, void *data,
					size_t len, bool write)
{
	return -EOPNOTSUPP;
}

static inline int vfio_container_init(void)
{
	return 0;
}

static inline void vfio_container_exit(void)
{
}
#endif

/* Declared unconditionally so IS_ENABLED() checks can refer to it. */
extern const struct vfio_iommu_backend_ops vfio_noiommu_ops;

#if IS_ENABLED(CONFIG_VFIO_NOIOMMU)
extern bool vfio_noiommu;
int vfio_group_set_noiommu(bool on);
int __init vfio_noiommu_init(void);
void vfio_noiommu_exit(void);

/* Is enable_unsafe_noiommu_mode on?  Only switching it off takes a lock. */
static inline bool vfio_noiommu_enabled(void)
{
	return READ_ONCE(vfio_noiommu);
}
#else
static inline bool vfio_noiommu_enabled(void)
{
	return false;
}

static inline int vfio_noiommu_init(void)
{
	return 0;
}

static inline void vfio_noiommu_exit(void)
{
}
#endif

#if IS_ENABLED(CONFIG_VFIO_DEVICE_CDEV)
int vfio_cdev_add(struct vfio_device *vdev);
void vfio_cdev_del(struct vfio_device *vdev);
int vfio_cdev_fop_open(struct inode *inode, struct file *file);
long vfio_cdev_ioctl(struct vfio_device_file *df, unsigned int cmd,
		     void __user *arg);
int vfio_cdev_first_open(struct vfio_device_file *df);
void vfio_cdev_detach(struct vfio_device *vdev);
void vfio_cdev_last_close(struct vfio_device *vdev);
void vfio_cdev_release(struct vfio_device_file *df);
int __init vfio_cdev_init(void);
void vfio_cdev_exit(void);
#else
static inline int vfio_cdev_add(struct vfio_device *vdev)
{
	return device_add(&vdev->device);
}

static inline void vfio_cdev_del(struct vfio_device *vdev)
{
	device_del(&vdev->device);
}

static inline long vfio_cdev_ioctl(struct vfio_device_file *df,
				   unsigned int cmd, void __user *arg)
{
	return -ENOIOCTLCMD;
}

static inline int vfio_cdev_first_open(struct vfio_device_file *df)
{
	return 0;
}

static inline void vfio_cdev_detach(struct vfio_device *vdev)
{
}

static inline void vfio_cdev_last_close(struct vfio_device *vdev)
{
}

static inline void vfio_cdev_release(struct vfio_device_file *df)
{
}

static inline int vfio_cdev_init(void)
{
	return 0;
}

static inline void vfio_cdev_exit(void)
{
}
#endif

#if IS_ENABLED(CONFIG_VFIO_VIRQFD)
int __init vfio_virqfd_init(void);
void vfio_virqfd_exit(void);
#else
static inline int vfio_virqfd_init(void)
{
	return 0;
}

static inline void vfio_virqfd_exit(void)
{
}
#endif

int vfio_register_iommu_backend(const struct vfio_iommu_backend_ops *ops);
void vfio_unregister_iommu_backend(const struct vfio_iommu_backend_ops *ops);

#endif /* __VFIO_VFIO_H */
