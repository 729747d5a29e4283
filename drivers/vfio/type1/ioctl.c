// SPDX-License-Identifier: GPL-2.0-only
/*
 * type1: the module, the backend ops the VFIO core calls and the
 * container ioctls (VFIO_IOMMU_*).
 *
 * This layer parses and checks what userspace passes (argsz, flags,
 * alignment, wrap-around) and takes the locks; dma.c, domain.c and pin.c
 * do the work with t1_iommu.lock held.  Three models share the code:
 * VFIO_TYPE1_IOMMU (v1), VFIO_TYPE1v2_IOMMU (v2) and
 * VFIO_TYPE1_NESTING_IOMMU (v2 on nesting-parent domains).  v1 differs in
 * how an unmap request that cuts a range is answered (see t1_dma_unmap())
 * and has no dirty tracking.
 */
#include <linux/bitops.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "type1.h"

bool type1_allow_unsafe_interrupts;
module_param_named(allow_unsafe_interrupts, type1_allow_unsafe_interrupts,
		   bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Accept IOMMU groups whose devices' MSIs are not isolated by interrupt remapping: a device can then raise arbitrary interrupts on the host (default: false)");

bool type1_disable_hugepages;
module_param_named(disable_hugepages, type1_disable_hugepages, bool, 0644);
MODULE_PARM_DESC(disable_hugepages,
		 "Map every page with its own PAGE_SIZE IOMMU mapping, never larger IOMMU pages (default: false)");

unsigned int type1_dma_entry_limit = U16_MAX;
module_param_named(dma_entry_limit, type1_dma_entry_limit, uint, 0644);
MODULE_PARM_DESC(dma_entry_limit,
		 "How many DMA ranges one container may have at once (default: 65535)");

/* The models type1_open() accepts */
static bool type1_model_known(unsigned long type)
{
	return type == VFIO_TYPE1_IOMMU || type == VFIO_TYPE1v2_IOMMU ||
	       type == VFIO_TYPE1_NESTING_IOMMU;
}

/*
 * t1_iommu.lock for an ioctl: ranges that device events revoked since the
 * last one leave the tree first, so userspace never sees them.
 */
static void type1_lock(struct t1_iommu *iommu)
{
	mutex_lock(&iommu->lock);
	t1_dma_reap_revoked(iommu);
}

static int type1_check_extension(void *data, unsigned long ext)
{
	struct t1_iommu *iommu = data;
	int ret;

	if (type1_model_known(ext) || ext == VFIO_UNMAP_ALL)
		return 1;

	switch (ext) {
	case VFIO_UPDATE_VADDR:
		/*
		 * Only a container knows whether it has emulated devices,
		 * which could be left waiting for a vaddr.
		 */
		if (!iommu)
			return 0;
		mutex_lock(&iommu->lock);
		ret = list_empty(&iommu->emulated_groups);
		mutex_unlock(&iommu->lock);
		return ret;
	case VFIO_DMA_CC_IOMMU:
		if (!iommu)
			return 0;
		mutex_lock(&iommu->lock);
		ret = t1_domain_all_enforce_cc(iommu);
		mutex_unlock(&iommu->lock);
		return ret;
	default:
		return 0;
	}
}

static void *type1_open(unsigned long type)
{
	struct t1_iommu *iommu;

	if (!type1_model_known(type))
		return ERR_PTR(-EINVAL);

	iommu = kzalloc(sizeof(*iommu), GFP_KERNEL_ACCOUNT);
	if (!iommu)
		return ERR_PTR(-ENOMEM);
	iommu->ranges.r = kzalloc(sizeof(*iommu->ranges.r), GFP_KERNEL_ACCOUNT);
	if (!iommu->ranges.r) {
		kfree(iommu);
		return ERR_PTR(-ENOMEM);
	}
	iommu->ranges.r[0].end = U64_MAX;
	iommu->ranges.nr = 1;

	mutex_init(&iommu->lock);
	iommu->dma_tree = RB_ROOT_CACHED;
	iommu->dma_avail = type1_dma_entry_limit;
	INIT_LIST_HEAD(&iommu->domains);
	INIT_LIST_HEAD(&iommu->emulated_groups);
	iommu->pgsize_bitmap = PAGE_MASK;
	iommu->nesting = type == VFIO_TYPE1_NESTING_IOMMU;
	iommu->v2 = type != VFIO_TYPE1_IOMMU;
	init_rwsem(&iommu->device_lock);
	INIT_LIST_HEAD(&iommu->devices);
	mutex_init(&iommu->domain_lock);
	atomic_set(&iommu->nr_revoked, 0);
	atomic_set(&iommu->nr_links, 0);
	return iommu;
}

static void type1_release(void *data)
{
	struct t1_iommu *iommu = data;
	struct t1_device *dev, *tmp;

	mutex_lock(&iommu->lock);
	t1_group_detach_all(iommu);
	t1_dma_remove_all(iommu);
	mutex_unlock(&iommu->lock);
	/* A device event may still be running a callback of this container */
	t1_p2p_wait_links(iommu);

	list_for_each_entry_safe(dev, tmp, &iommu->devices, next) {
		WARN_ON(1);
		list_del(&dev->next);
		kfree(dev);
	}
	kfree(iommu->ranges.r);
	mutex_destroy(&iommu->domain_lock);
	mutex_destroy(&iommu->lock);
	kfree(iommu);
}

static int type1_attach_group(void *data, struct iommu_group *group,
			      enum vfio_group_kind kind)
{
	struct t1_iommu *iommu = data;
	int ret;

	if (kind == VFIO_GROUP_NOIOMMU)
		return -EINVAL;

	mutex_lock(&iommu->lock);
	ret = t1_group_attach(iommu, group, kind == VFIO_GROUP_EMULATED);
	mutex_unlock(&iommu->lock);
	return ret;
}

static void type1_detach_group(void *data, struct iommu_group *group)
{
	struct t1_iommu *iommu = data;

	mutex_lock(&iommu->lock);
	t1_group_detach(iommu, group);
	mutex_unlock(&iommu->lock);
}

/* Only devices that can be asked to unpin need to be known */
static void type1_register_device(void *data, struct vfio_device *vdev)
{
	struct t1_iommu *iommu = data;
	struct t1_device *dev;

	if (!vdev->ops->dma_unmap)
		return;
	dev = kzalloc(sizeof(*dev), GFP_KERNEL | __GFP_NOFAIL);
	dev->vdev = vdev;
	down_write(&iommu->device_lock);
	list_add(&dev->next, &iommu->devices);
	up_write(&iommu->device_lock);
}

static void type1_unregister_device(void *data, struct vfio_device *vdev)
{
	struct t1_iommu *iommu = data;
	struct t1_device *dev;

	down_write(&iommu->device_lock);
	list_for_each_entry(dev, &iommu->devices, next) {
		if (dev->vdev == vdev) {
			list_del(&dev->next);
			kfree(dev);
			break;
		}
	}
	up_write(&iommu->device_lock);
}

/* Ask every device to unpin what it pinned in [iova, last] */
static void type1_notify_unmap(struct t1_iommu *iommu, u64 iova, u64 last)
{
	struct t1_device *dev;

	lockdep_assert_held_read(&iommu->device_lock);

	list_for_each_entry(dev, &iommu->devices, next)
		dev->vdev->ops->dma_unmap(dev->vdev, iova, last - iova + 1);
}

static int type1_pin_pages(void *data, struct iommu_group *group,
			   dma_addr_t iova, int npage, int prot,
			   struct page **pages)
{
	struct t1_iommu *iommu = data;
	int ret;

	if (!pages || npage <= 0 || !PAGE_ALIGNED(iova) || !prot ||
	    prot & ~(IOMMU_READ | IOMMU_WRITE))
		return -EINVAL;

	mutex_lock(&iommu->lock);
	ret = t1_pin_pages(iommu, iova, npage, prot, pages);
	mutex_unlock(&iommu->lock);
	return ret;
}

static void type1_unpin_pages(void *data, dma_addr_t iova, int npage)
{
	struct t1_iommu *iommu = data;

	if (WARN_ON(npage <= 0 || !PAGE_ALIGNED(iova)))
		return;

	mutex_lock(&iommu->lock);
	t1_pin_unpin_pages(iommu, iova, npage);
	mutex_unlock(&iommu->lock);
}

static int type1_dma_rw(void *data, dma_addr_t iova, void *buf, size_t len,
			bool write)
{
	struct t1_iommu *iommu = data;
	int ret;

	if (!len)
		return 0;
	if (iova + len - 1 < iova)
		return -EINVAL;

	mutex_lock(&iommu->lock);
	ret = t1_pin_dma_rw(iommu, iova, buf, len, write);
	mutex_unlock(&iommu->lock);
	return ret;
}

static int type1_info_add_caps(struct t1_iommu *iommu,
			       struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info_cap_migration *mig;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_info_cap_header *hdr;

	lockdep_assert_held(&iommu->lock);

	hdr = vfio_info_cap_add(caps, sizeof(*mig),
				VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1);
	if (IS_ERR(hdr))
		return PTR_ERR(hdr);
	mig = container_of(hdr, typeof(*mig), header);
	mig->flags = 0;
	mig->pgsize_bitmap = t1_iommu_min_pgsize(iommu);
	mig->max_dirty_bitmap_size =
		DIV_ROUND_UP(T1_DIRTY_MAX_PAGES, 64) * sizeof(u64);

	hdr = vfio_info_cap_add(caps, sizeof(*avail),
				VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1);
	if (IS_ERR(hdr))
		return PTR_ERR(hdr);
	avail = container_of(hdr, typeof(*avail), header);
	avail->avail = iommu->dma_avail;

	hdr = vfio_info_cap_add(caps,
				struct_size(ranges, iova_ranges,
					    iommu->ranges.nr),
				VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
	if (IS_ERR(hdr))
		return PTR_ERR(hdr);
	ranges = container_of(hdr, typeof(*ranges), header);
	ranges->nr_iovas = iommu->ranges.nr;
	ranges->reserved = 0;
	memcpy(ranges->iova_ranges, iommu->ranges.r,
	       array_size(iommu->ranges.nr, sizeof(*iommu->ranges.r)));
	return 0;
}

/*
 * VFIO_IOMMU_GET_INFO.  The capability chain follows the fixed part; a
 * caller whose argsz is too small for it gets the size it needs in argsz
 * (and cap_offset 0) and asks again.
 */
static int type1_ioctl_get_info(struct t1_iommu *iommu, void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info = {};
	struct vfio_info_cap caps = {};
	size_t copysz;
	int ret;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	copysz = min_t(size_t, info.argsz, sizeof(info));

	type1_lock(iommu);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommu->pgsize_bitmap;
	ret = type1_info_add_caps(iommu, &caps);
	mutex_unlock(&iommu->lock);
	if (ret)
		goto out_free;

	if (caps.size) {
		info.flags |= VFIO_IOMMU_INFO_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user(arg + sizeof(info), caps.buf,
					 caps.size)) {
				ret = -EFAULT;
				goto out_free;
			}
			info.cap_offset = sizeof(info);
		}
	}
	if (copy_to_user(arg, &info, copysz))
		ret = -EFAULT;
out_free:
	kvfree(caps.buf);
	return ret;
}

static int type1_ioctl_map_dma(struct t1_iommu *iommu, void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	u32 known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
		    VFIO_DMA_MAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_map map;
	int prot = 0;
	u64 mask;
	int ret;

	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~known)
		return -EINVAL;

	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	/* A new vaddr keeps the protection; a new range needs one */
	if (!!(map.flags & VFIO_DMA_MAP_FLAG_VADDR) == !!prot)
		return -EINVAL;

	if (!map.size || map.iova + map.size - 1 < map.iova ||
	    map.vaddr + map.size - 1 < map.vaddr)
		return -EINVAL;
	if (map.size > SIZE_MAX || map.vaddr > ULONG_MAX)
		return -EINVAL;

	type1_lock(iommu);
	mask = t1_iommu_min_pgsize(iommu) - 1;
	if ((map.iova | map.size | map.vaddr) & mask)
		ret = -EINVAL;
	else if (map.flags & VFIO_DMA_MAP_FLAG_VADDR)
		ret = t1_dma_update_vaddr(iommu, map.iova, map.size,
					  map.vaddr);
	else
		ret = t1_dma_map(iommu, map.iova, map.size, map.vaddr, prot);
	mutex_unlock(&iommu->lock);
	return ret;
}

static int type1_ioctl_unmap_dma(struct t1_iommu *iommu, void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	u32 known = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
		    VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_unmap unmap;
	struct t1_unmap req = {};
	struct vfio_bitmap bitmap;
	int ret;

	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~known)
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP &&
	    unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR))
		return -EINVAL;

	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		req.last = U64_MAX;
	} else {
		if (!unmap.size || unmap.iova + unmap.size - 1 < unmap.iova)
			return -EINVAL;
		req.iova = unmap.iova;
		req.last = unmap.iova + unmap.size - 1;
	}
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		if (unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		if (copy_from_user(&bitmap, arg + minsz, sizeof(bitmap)))
			return -EFAULT;
		req.bitmap = &bitmap;
	}
	req.vaddr_only = unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR;

	type1_lock(iommu);
	if ((unmap.iova | unmap.size) & (t1_iommu_min_pgsize(iommu) - 1)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (req.vaddr_only && !list_empty(&iommu->emulated_groups)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (req.bitmap) {
		ret = t1_dma_dirty_check(iommu, unmap.iova, unmap.size,
					 &bitmap);
		if (ret)
			goto out_unlock;
	}
	/*
	 * Ask the devices to unpin (device_lock keeps them registered), as
	 * often as it takes: a page a driver still holds pinned is never
	 * unpinned behind its back.  Only a fatal signal ends the wait, with
	 * nothing unmapped.
	 */
	while ((ret = t1_dma_unmap(iommu, &req)) == -EAGAIN) {
		mutex_unlock(&iommu->lock);
		down_read(&iommu->device_lock);
		type1_notify_unmap(iommu, req.notify_iova, req.notify_last);
		up_read(&iommu->device_lock);
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
		type1_lock(iommu);
	}
out_unlock:
	mutex_unlock(&iommu->lock);
	if (ret)
		return ret;

	unmap.size = req.unmapped;
	if (copy_to_user(arg, &unmap, minsz))
		return -EFAULT;
	return 0;
}

static int type1_ioctl_dirty_pages(struct t1_iommu *iommu, void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	u32 known = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
		    VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
		    VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	struct vfio_iommu_type1_dirty_bitmap_get range;
	struct vfio_iommu_type1_dirty_bitmap dirty;
	int ret = 0;

	/* Migration came with v2; v1 users never asked for it */
	if (!iommu->v2)
		return -EACCES;
	if (copy_from_user(&dirty, arg, minsz))
		return -EFAULT;
	if (dirty.argsz < minsz || dirty.flags & ~known ||
	    hweight32(dirty.flags) != 1)
		return -EINVAL;

	switch (dirty.flags) {
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_START:
		type1_lock(iommu);
		ret = t1_dma_dirty_start(iommu);
		mutex_unlock(&iommu->lock);
		break;
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP:
		type1_lock(iommu);
		t1_dma_dirty_stop(iommu);
		mutex_unlock(&iommu->lock);
		break;
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP:
		if (dirty.argsz < minsz + sizeof(range))
			return -EINVAL;
		if (copy_from_user(&range, arg + minsz, sizeof(range)))
			return -EFAULT;
		if (!range.size || range.iova + range.size - 1 < range.iova)
			return -EINVAL;
		type1_lock(iommu);
		ret = t1_dma_dirty_get(iommu, range.iova, range.size,
				       &range.bitmap);
		mutex_unlock(&iommu->lock);
		break;
	}
	return ret;
}

static long type1_ioctl(void *data, unsigned int cmd, unsigned long arg)
{
	struct t1_iommu *iommu = data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_CHECK_EXTENSION:
		return type1_check_extension(iommu, arg);
	case VFIO_IOMMU_GET_INFO:
		return type1_ioctl_get_info(iommu, uarg);
	case VFIO_IOMMU_MAP_DMA:
		return type1_ioctl_map_dma(iommu, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return type1_ioctl_unmap_dma(iommu, uarg);
	case VFIO_IOMMU_DIRTY_PAGES:
		return type1_ioctl_dirty_pages(iommu, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct vfio_iommu_backend_ops type1_ops = {
	.name = "vfio-iommu-type1",
	.owner = THIS_MODULE,
	.check_extension = type1_check_extension,
	.open = type1_open,
	.release = type1_release,
	.ioctl = type1_ioctl,
	.attach_group = type1_attach_group,
	.detach_group = type1_detach_group,
	.register_device = type1_register_device,
	.unregister_device = type1_unregister_device,
	.pin_pages = type1_pin_pages,
	.unpin_pages = type1_unpin_pages,
	.dma_rw = type1_dma_rw,
};

static int __init type1_init(void)
{
	int ret;

	ret = t1_p2p_init();
	if (ret)
		return ret;
	ret = vfio_register_iommu_backend(&type1_ops);
	if (ret)
		t1_p2p_exit();
	return ret;
}

static void __exit type1_exit(void)
{
	vfio_unregister_iommu_backend(&type1_ops);
	t1_p2p_exit();
}

module_init(type1_init);
module_exit(type1_exit);

MODULE_LICENSE("GPL");
/* As upstream's module reads in modinfo and /sys/module. */
MODULE_DESCRIPTION("Type1 IOMMU driver for VFIO");
MODULE_VERSION("0.2");
MODULE_IMPORT_NS(VFIO);
