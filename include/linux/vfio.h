/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * VFIO: the interface between the VFIO core and the bus drivers that hand
 * devices to userspace (vfio-pci and its variants, emulated devices).
 *
 * Terms used throughout:
 *
 *  - A *vfio device* is the core's view of one device a bus driver offers.
 *    The driver embeds struct vfio_device at the start of its own state and
 *    allocates both at once with vfio_alloc_device().
 *  - Its *memory* lives until the last vfio_put_device(); its *registration*
 *    lives from vfio_register_group_dev() to vfio_unregister_group_dev().
 *    Userspace can only reach a registered device; unregistering waits until
 *    every file descriptor of the device is closed.
 *  - A *device set* groups devices that must be opened and closed under one
 *    lock because an operation on one (a bus reset) touches the others.
 */
#ifndef __LINUX_VFIO_H
#define __LINUX_VFIO_H

#include <linux/cdev.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/refcount.h>
#include <linux/uuid.h>
#include <uapi/linux/vfio.h>

struct eventfd_ctx;
struct iommu_group;
struct iommufd_ctx;
struct iommufd_device;
struct kvm;
struct vfio_device;
struct vfio_group;

/**
 * struct vfio_device_set - devices opened and closed under one lock
 * @set_id: key the devices were assigned with (often a bus or slot)
 * @lock: serializes open_device() and close_device() of every member and
 *        protects @device_list; each member's open_count changes only
 *        with it held (and the member's open_lock)
 * @device_list: members, linked by vfio_device.set_entry
 * @device_count: number of members; the set is freed when it drops to 0
 */
struct vfio_device_set {
	void *set_id;
	struct mutex lock;	/* dev_set->lock, see @lock above */
	struct list_head device_list;
	unsigned int device_count;
};

/**
 * struct vfio_device - the core's per-device state, embedded in the driver's
 * @dev: the device being offered (a pci_dev's dev, an mdev's dev...)
 * @ops: the bus driver's callbacks
 * @device: the "vfioN" class device; its refcount owns the memory of the
 *          whole driver structure this is embedded in
 * @index: N in vfioN
 * @inode: inode on the vfio pseudo filesystem; every file of this device
 *         uses its address_space, so one unmap_mapping_range() on it removes
 *         all userspace mappings of the device
 * @dev_set: the set this device belongs to; never NULL once registered
 * @set_entry: entry in @dev_set's device_list
 * @open_lock: serializes the opens and closes of this device alone; taken
 *             before dev_set->lock.  The last close sends
 *             VFIO_DEVICE_EVENT_RELEASE with only this lock held, so a
 *             slow listener holds up this device and no other
 * @open_count: number of open file descriptors; changed with both
 *              @open_lock and dev_set->lock held, so either lock is
 *              enough to read it
 * @group: the group this device is reached through
 * @group_next: entry in the group's device list
 * @registration: references that keep the device registered: one for the
 *                registration itself, one per open file descriptor
 * @unregistered: completed when @registration drops to zero
 * @notifier: kernel users of the device's memory (an IOMMU backend that
 *            maps a BAR for peer-to-peer DMA) hear of its events here;
 *            see vfio_device_register_notifier()
 * @kvm: the KVM instance the device's group was given when the device was
 *       first opened, referenced until its last close; NULL outside a VM.
 *       Stable for a bus driver from open_device() to close_device()
 * @put_kvm: drops the reference on @kvm (kvm.ko's, looked up at open)
 * @cdev: the character device /dev/vfio/devices/vfioN (CONFIG_VFIO_DEVICE_CDEV;
 *        not for emulated devices)
 * @cdev_open: the device is open through its cdev, not its group; set at
 *             the first open and cleared at the last close, like
 *             @open_count
 * @iommufd_device: while open through the cdev and bound to an iommufd:
 *                  iommufd's handle of the device; NULL in no-IOMMU mode.
 *                  Changes with @open_lock and dev_set->lock held
 * @iommufd_attached: @iommufd_device is attached to an IOMMU pagetable;
 *                    under @open_lock
 */
struct vfio_device {
	struct device *dev;
	const struct vfio_device_ops *ops;
	struct device device;
	int index;
	struct inode *inode;
	struct vfio_device_set *dev_set;
	struct list_head set_entry;
	struct mutex open_lock;		/* see @open_lock above */
	unsigned int open_count;
	struct vfio_group *group;
	struct list_head group_next;
	refcount_t registration;
	struct completion unregistered;
	struct srcu_notifier_head notifier;
	struct kvm *kvm;
	void (*put_kvm)(struct kvm *kvm);
#if IS_ENABLED(CONFIG_VFIO_DEVICE_CDEV)
	struct cdev cdev;
	bool cdev_open;
	struct iommufd_device *iommufd_device;
	bool iommufd_attached;
#endif
};

/**
 * enum vfio_device_event - what the device notifier chain announces
 * @VFIO_DEVICE_EVENT_RELEASE: the last file of the device is being closed;
 *	sent by the core before the bus driver's close_device(), while no
 *	new open of the device can start
 * @VFIO_DEVICE_EVENT_MEMORY_OFF: memory decode was turned off (COMMAND.MEM
 *	cleared, or the device left D0); BAR contents cannot be reached
 * @VFIO_DEVICE_EVENT_RESET: the device was reset; BAR contents are lost
 *
 * A listener that maps device memory for DMA must drop those mappings on
 * every event: after any of them the memory behind the BARs is no longer
 * what was mapped.
 */
enum vfio_device_event {
	VFIO_DEVICE_EVENT_RELEASE,
	VFIO_DEVICE_EVENT_MEMORY_OFF,
	VFIO_DEVICE_EVENT_RESET,
};

/**
 * struct vfio_device_ops - what a bus driver implements
 *
 * Unless stated otherwise a callback is optional and is called without core
 * locks held, from the process that owns the file descriptor.
 */
struct vfio_device_ops {
	/** @name: name of the driver, for messages */
	char *name;
	/**
	 * @init: set up the driver part of a freshly allocated device.  Called
	 * once from vfio_alloc_device(); on failure the device is freed
	 * without calling @release.
	 */
	int (*init)(struct vfio_device *vdev);
	/**
	 * @release: undo @init.  Called once, when the last reference from
	 * vfio_put_device() goes away; the core frees the memory afterwards.
	 */
	void (*release)(struct vfio_device *vdev);
	/**
	 * @open_device: the first file descriptor of the device is being
	 * opened.  Called with the device's open_lock and dev_set->lock
	 * held; undone by @close_device.
	 */
	int (*open_device)(struct vfio_device *vdev);
	/**
	 * @close_device: the last file descriptor of the device was closed
	 * and VFIO_DEVICE_EVENT_RELEASE sent.  Called with the device's
	 * open_lock and dev_set->lock held; cannot fail.
	 */
	void (*close_device)(struct vfio_device *vdev);
	/** @read: read(2) on the device file */
	ssize_t (*read)(struct vfio_device *vdev, char __user *buf,
			size_t count, loff_t *ppos);
	/** @write: write(2) on the device file */
	ssize_t (*write)(struct vfio_device *vdev, const char __user *buf,
			 size_t count, loff_t *ppos);
	/**
	 * @ioctl: every device ioctl but VFIO_DEVICE_FEATURE, which the core
	 * parses and hands to @device_feature.
	 */
	long (*ioctl)(struct vfio_device *vdev, unsigned int cmd,
		      unsigned long arg);
	/** @mmap: mmap(2) on the device file */
	int (*mmap)(struct vfio_device *vdev, struct vm_area_struct *vma);
	/**
	 * @get_unmapped_area: where mmap(2) of @len bytes at file page
	 * @pgoff should go when the caller leaves it to the kernel: a bus
	 * driver picks an address that lets the mapping use huge pages.
	 * Without it, or for a file not yet usable, the mm's default applies.
	 */
	unsigned long (*get_unmapped_area)(struct vfio_device *vdev,
					   struct file *file,
					   unsigned long addr,
					   unsigned long len,
					   unsigned long pgoff,
					   unsigned long flags);
	/**
	 * @request: the device is being unregistered while userspace still
	 * holds it; ask userspace to let go.  @count is how many times it
	 * was asked already.  Called with no core lock held, repeatedly,
	 * until the last file descriptor is closed.
	 */
	void (*request)(struct vfio_device *vdev, unsigned int count);
	/**
	 * @match: does the string given to VFIO_GROUP_GET_DEVICE_FD name this
	 * device?  Return 1 for yes, 0 for no, or a negative errno to stop
	 * the lookup (the name is ours but the options are not acceptable).
	 * Without it the string must equal dev_name(@vdev->dev).
	 */
	int (*match)(struct vfio_device *vdev, char *buf);
	/**
	 * @device_feature: one VFIO_DEVICE_FEATURE request.  @flags are the
	 * user's flags, @arg points at the feature data after the header and
	 * @argsz is the size of that data.  Return -ENOTTY for unknown
	 * features; vfio_check_feature() does the common checks.
	 */
	int (*device_feature)(struct vfio_device *vdev, u32 flags,
			      void __user *arg, size_t argsz);
	/**
	 * @dma_unmap: required for devices registered with
	 * vfio_register_emulated_iommu_dev() that pin pages: userspace is
	 * unmapping [@iova, @iova + @length) and every page the driver
	 * pinned in it must be unpinned with vfio_unpin_pages() before this
	 * returns.  Called from the IOMMU backend with its lock dropped.
	 */
	void (*dma_unmap)(struct vfio_device *vdev, u64 iova, u64 length);
	/**
	 * @check_token: a device cdev is being bound (VFIO_DEVICE_BIND_IOMMUFD)
	 * and @token is what the user passed with VFIO_DEVICE_BIND_FLAG_TOKEN,
	 * or NULL.  Apply the rules @match applies to a token in the name
	 * string: return 0 to go on or a negative errno.  Without it a bind
	 * that passes a token fails with -EINVAL.  Called with the device's
	 * open_lock held.
	 */
	int (*check_token)(struct vfio_device *vdev, const uuid_t *token);
};

struct vfio_device *_vfio_alloc_device(size_t size, struct device *dev,
				       const struct vfio_device_ops *ops);

/**
 * vfio_alloc_device - allocate a driver structure with an embedded vfio_device
 * @type: the driver's structure type, without "struct"
 * @member: name of the struct vfio_device member; it must come first
 * @dev: the device being offered
 * @ops: the driver's callbacks; ops->init runs before this returns
 *
 * Return: the new structure or an ERR_PTR(); undo with vfio_put_device().
 */
#define vfio_alloc_device(type, member, dev, ops)			\
	((struct type *)_vfio_alloc_device(sizeof(struct type) +	\
		BUILD_BUG_ON_ZERO(offsetof(struct type, member)),	\
		(dev), (ops)))

/**
 * vfio_put_device - drop a reference from vfio_alloc_device()
 * @vdev: the device
 *
 * The last reference calls ops->release and frees the structure.
 */
static inline void vfio_put_device(struct vfio_device *vdev)
{
	put_device(&vdev->device);
}

int vfio_register_group_dev(struct vfio_device *vdev);
int vfio_register_emulated_iommu_dev(struct vfio_device *vdev);
void vfio_unregister_group_dev(struct vfio_device *vdev);
int vfio_assign_device_set(struct vfio_device *vdev, void *set_id);
unsigned int vfio_device_set_open_count(struct vfio_device_set *dev_set);
struct vfio_device *
vfio_find_device_in_devset(struct vfio_device_set *dev_set,
			   struct device *dev);
void vfio_device_zap_range(struct vfio_device *vdev, loff_t start,
			   loff_t len);

struct vfio_device *vfio_device_get_from_vma(struct vm_area_struct *vma);
void vfio_device_put_from_vma(struct vfio_device *vdev);
int vfio_device_register_notifier(struct vfio_device *vdev,
				  struct notifier_block *nb);
void vfio_device_unregister_notifier(struct vfio_device *vdev,
				     struct notifier_block *nb);
void vfio_device_notify(struct vfio_device *vdev,
			enum vfio_device_event event);

int vfio_pin_pages(struct vfio_device *vdev, dma_addr_t iova, int npage,
		   int prot, struct page **pages);
void vfio_unpin_pages(struct vfio_device *vdev, dma_addr_t iova, int npage);
int vfio_dma_rw(struct vfio_device *vdev, dma_addr_t iova, void *data,
		size_t len, bool write);

struct iommu_group *vfio_file_iommu_group(struct file *file);
bool vfio_file_is_valid(struct file *file);
bool vfio_file_enforced_coherent(struct file *file);
void vfio_file_set_kvm(struct file *file, struct kvm *kvm);
bool vfio_file_is_group(struct file *file);
bool vfio_file_has_dev(struct file *file, struct vfio_device *vdev);

#if IS_ENABLED(CONFIG_VFIO_DEVICE_CDEV)
/**
 * vfio_device_cdev_opened - is a device open through its cdev?
 * @vdev: the device; the caller holds its open_lock or dev_set->lock
 *
 * Return: true from the bind of a cdev file to its close.
 */
static inline bool vfio_device_cdev_opened(struct vfio_device *vdev)
{
	return vdev->cdev_open;
}

struct iommufd_ctx *vfio_iommufd_device_ictx(struct vfio_device *vdev);
int vfio_iommufd_device_id(struct vfio_device *vdev, struct iommufd_ctx *ictx);
bool vfio_iommufd_owns_group(struct iommufd_ctx *ictx,
			     struct iommu_group *group);
#else
static inline bool vfio_device_cdev_opened(struct vfio_device *vdev)
{
	return false;
}

static inline struct iommufd_ctx *
vfio_iommufd_device_ictx(struct vfio_device *vdev)
{
	return NULL;
}

static inline int vfio_iommufd_device_id(struct vfio_device *vdev,
					 struct iommufd_ctx *ictx)
{
	return -ENOENT;
}

static inline bool vfio_iommufd_owns_group(struct iommufd_ctx *ictx,
					   struct iommu_group *group)
{
	return false;
}
#endif
struct vfio_group *vfio_group_hold_file(struct file *file);
struct vfio_group *vfio_group_hold_dev(struct device *dev);
void vfio_group_unhold(struct vfio_group *group);

/**
 * vfio_check_feature - common checks of a VFIO_DEVICE_FEATURE request
 * @flags: the user's flags
 * @argsz: size of the feature data the user passed
 * @supported_ops: VFIO_DEVICE_FEATURE_GET and/or _SET, what this feature does
 * @minsz: size of the data the feature needs
 *
 * Return: 1 to go on and perform the request, 0 when it was only a PROBE
 * that succeeded, or a negative errno.
 */
static inline int vfio_check_feature(u32 flags, size_t argsz,
				     u32 supported_ops, size_t minsz)
{
	if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) &
	    ~supported_ops)
		return -EINVAL;
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	/* A request that neither gets nor sets does nothing. */
	if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
		return -EINVAL;
	if (argsz < minsz)
		return -EINVAL;
	return 1;
}

/**
 * struct vfio_info_cap - a capability chain being built for an info ioctl
 * @buf: the chain, krealloc()ed as headers are added; free with kfree()
 * @size: bytes used in @buf
 * @tail: offset in @buf of the last header added, valid while @size != 0
 *
 * Start from a zeroed structure.  While the chain is built the next fields
 * count from the start of @buf; vfio_info_cap_shift() moves them to count
 * from the start of the info structure the chain is appended to.
 */
struct vfio_info_cap {
	struct vfio_info_cap_header *buf;
	size_t size;
	size_t tail;
};

int vfio_info_add_capability(struct vfio_info_cap *chain,
			     struct vfio_info_cap_header *cap, size_t size);
struct vfio_info_cap_header *vfio_info_cap_add(struct vfio_info_cap *chain,
					       size_t size, u16 id, u16 version);
void vfio_info_cap_shift(struct vfio_info_cap *chain, size_t offset);

int vfio_set_irqs_validate_and_prepare(struct vfio_irq_set *hdr,
				       unsigned int num_irqs,
				       unsigned int max_irq_type,
				       size_t *data_size);

/*
 * An eventfd whose signal runs a handler in the kernel, e.g. an INTx unmask
 * eventfd that reaches the bus driver without a trip through userspace.  The
 * structure is private to the core.
 */
struct virqfd;

int vfio_virqfd_enable(void *opaque, int (*handler)(void *, void *),
		       void (*thread)(void *, void *), void *data,
		       struct virqfd **pvirqfd, int fd);
void vfio_virqfd_disable(struct virqfd **pvirqfd);
void vfio_virqfd_flush_thread(struct virqfd **pvirqfd);

#endif /* __LINUX_VFIO_H */
