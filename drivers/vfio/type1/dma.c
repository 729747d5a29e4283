// SPDX-License-Identifier: GPL-2.0-only
/*
 * type1: the DMA-range tree.
 *
 * Every MAP_DMA creates one struct t1_dma covering [iova, last]; ranges
 * are kept in an interval tree with u64 keys (IOVAs are 64 bit everywhere,
 * unsigned long is not).  A range is created whole and removed whole:
 * neither unmap semantic ever splits one (v1 leaves a range alone when the
 * request starts inside it, v2 refuses such a request), so a range's pins,
 * extents and IOMMU mappings always have the range's exact bounds.
 *
 * This file owns the life of a range: creation (pin, then map into every
 * domain), replay into a new domain, removal, and the dirty bitmaps.  The
 * pinning itself is pin.c's job.
 */
#include <linux/interval_tree_generic.h>
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/scatterlist.h>
#include <linux/sched/task.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "type1.h"

#define T1_DMA_START(dma)	((dma)->iova)
#define T1_DMA_LAST(dma)	((dma)->last)

INTERVAL_TREE_DEFINE(struct t1_dma, rb, u64, subtree_last, T1_DMA_START,
		     T1_DMA_LAST, static, t1_dma_it)

/**
 * t1_dma_first - first range that intersects [iova, last]
 * @iommu: the container
 * @iova: first IOVA of interest
 * @last: last IOVA of interest, inclusive
 *
 * Return: the range with the lowest IOVA that intersects, or NULL.
 */
struct t1_dma *t1_dma_first(struct t1_iommu *iommu, u64 iova, u64 last)
{
	lockdep_assert_held(&iommu->lock);
	return t1_dma_it_iter_first(&iommu->dma_tree, iova, last);
}

/**
 * t1_dma_next - the range after @dma that intersects [iova, last]
 * @iommu: the container
 * @dma: a range returned by t1_dma_first() or t1_dma_next()
 * @iova: first IOVA of interest
 * @last: last IOVA of interest, inclusive
 *
 * Return: the next range or NULL.
 */
struct t1_dma *t1_dma_next(struct t1_iommu *iommu, struct t1_dma *dma,
			   u64 iova, u64 last)
{
	lockdep_assert_held(&iommu->lock);
	return t1_dma_it_iter_next(dma, iova, last);
}

static struct t1_dma *t1_dma_any(struct t1_iommu *iommu)
{
	struct rb_node *node = rb_first_cached(&iommu->dma_tree);

	return node ? rb_entry(node, struct t1_dma, rb) : NULL;
}

/* Extents handed to one iommu_map_sg() call, and the size of one entry */
#define T1_SG_BATCH	512
#define T1_SG_MAX_LEN	SZ_1G
/* Scatterlists this short live on the stack */
#define T1_SG_STACK	4

/*
 * Map the extents one iommu_map() at a time, each call covering @chunk
 * bytes at most: PAGE_SIZE under disable_hugepages (every page its own
 * IOMMU mapping and IOTLB sync, where iommu_map_sg() would merge
 * contiguous pages into large IOMMU pages), or a whole extent for device
 * memory, which has no struct page to put in a scatterlist.
 */
static int t1_dma_map_domain_extents(struct t1_dma *dma,
				     struct t1_domain *domain, u64 chunk)
{
	u64 iova = dma->iova;
	unsigned long i;
	int ret;

	for (i = 0; i < dma->nr_ext; i++) {
		phys_addr_t phys = PFN_PHYS(dma->ext[i].pfn);
		u64 left = (u64)dma->ext[i].npages << PAGE_SHIFT;

		while (left) {
			u64 len = min(left, chunk);

			ret = iommu_map(domain->domain, iova, phys, len,
					dma->prot | domain->prot,
					GFP_KERNEL_ACCOUNT);
			if (ret) {
				if (iova != dma->iova)
					iommu_unmap(domain->domain, dma->iova,
						    iova - dma->iova);
				return ret;
			}
			iova += len;
			phys += len;
			left -= len;
		}
		cond_resched();
	}
	return 0;
}

/**
 * t1_dma_map_domain - map every extent of an IOMMU-pinned range
 * @iommu: the container; the caller holds its lock and domain_lock
 * @dma: the range
 * @domain: where to map it
 *
 * The extents go to the IOMMU as scatterlists of up to T1_SG_BATCH
 * entries: iommu_map_sg() maps each with the largest page sizes its
 * alignment allows and syncs the IOTLB once per list rather than once per
 * extent (which is what makes fragmented 4 KiB memory costly on an IOMMU
 * in caching mode).  On failure nothing of @dma stays mapped in @domain.
 *
 * Return: 0 or a negative errno.
 */
int t1_dma_map_domain(struct t1_iommu *iommu, struct t1_dma *dma,
		      struct t1_domain *domain)
{
	struct scatterlist stack_sgl[T1_SG_STACK], *sgl = stack_sgl;
	unsigned long i = 0, done = 0;
	unsigned int nents;
	u64 iova = dma->iova;
	ssize_t mapped;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);
	lockdep_assert_held(&iommu->domain_lock);

	if (dma->small_pages)
		return t1_dma_map_domain_extents(dma, domain, PAGE_SIZE);
	if (dma->pfnmap)
		return t1_dma_map_domain_extents(dma, domain, U64_MAX);

	/* An extent takes one entry per started T1_SG_MAX_LEN */
	nents = min_t(u64, dma->nr_ext +
			  (t1_dma_size(dma) >> ilog2(T1_SG_MAX_LEN)),
		      T1_SG_BATCH);
	if (nents > T1_SG_STACK) {
		sgl = kmalloc_array(nents, sizeof(*sgl), GFP_KERNEL);
		if (!sgl)
			return -ENOMEM;
	}

	while (i < dma->nr_ext) {
		unsigned int n = 0;
		size_t len = 0;

		sg_init_table(sgl, nents);
		while (n < nents && i < dma->nr_ext) {
			struct t1_extent *ext = &dma->ext[i];
			unsigned long npages;

			npages = min(ext->npages - done,
				     T1_SG_MAX_LEN >> PAGE_SHIFT);
			sg_set_page(&sgl[n++], pfn_to_page(ext->pfn + done),
				    npages << PAGE_SHIFT, 0);
			len += npages << PAGE_SHIFT;
			done += npages;
			if (done == ext->npages) {
				done = 0;
				i++;
			}
		}
		sg_mark_end(&sgl[n - 1]);

		mapped = iommu_map_sg(domain->domain, iova, sgl, n,
				      dma->prot | domain->prot,
				      GFP_KERNEL_ACCOUNT);
		if (mapped != len) {
			/* iommu_map_sg() undid its own part */
			if (iova != dma->iova)
				iommu_unmap(domain->domain, dma->iova,
					    iova - dma->iova);
			ret = mapped < 0 ? mapped : -EFAULT;
			break;
		}
		iova += len;
	}
	if (sgl != stack_sgl)
		kfree(sgl);
	return ret;
}

/**
 * t1_dma_unmap_domain - undo t1_dma_map_domain()
 * @iommu: the container; the caller holds domain_lock
 * @dma: the range
 * @domain: where it is mapped
 */
void t1_dma_unmap_domain(struct t1_iommu *iommu, struct t1_dma *dma,
			 struct t1_domain *domain)
{
	size_t unmapped;

	lockdep_assert_held(&iommu->domain_lock);

	unmapped = iommu_unmap(domain->domain, dma->iova, t1_dma_size(dma));
	WARN_ON(unmapped != t1_dma_size(dma));
}

/**
 * t1_dma_unmap_all_domains - take a revoked range out of every domain
 * @iommu: the container
 * @dma: a published range, which every domain maps, or none does (no
 *       domain yet, or the range was never pinned)
 *
 * For the device notifier, which holds only domain_lock and so cannot
 * know whether the range is pinned: whatever is mapped at its IOVAs goes.
 */
void t1_dma_unmap_all_domains(struct t1_iommu *iommu, struct t1_dma *dma)
{
	struct t1_domain *domain;

	lockdep_assert_held(&iommu->domain_lock);

	list_for_each_entry(domain, &iommu->domains, next)
		iommu_unmap(domain->domain, dma->iova, t1_dma_size(dma));
}

static int t1_dma_owner_init(struct t1_owner *owner)
{
	if (!current->mm)
		return -ENODEV;
	owner->mm = current->mm;
	mmgrab(owner->mm);
	owner->task = current->group_leader;
	get_task_struct(owner->task);
	owner->lock_cap = capable(CAP_IPC_LOCK);
	return 0;
}

static void t1_dma_owner_put(struct t1_owner *owner)
{
	mmdrop(owner->mm);
	put_task_struct(owner->task);
}

static void t1_dma_free(struct t1_iommu *iommu, struct t1_dma *dma)
{
	if (dma->p2p) {
		mutex_lock(&iommu->domain_lock);
		t1_p2p_detach(iommu, dma);
		mutex_unlock(&iommu->domain_lock);
	}
	kvfree(dma->dirty);
	if (!xa_empty(&dma->pins))
		xa_destroy(&dma->pins);
	t1_dma_owner_put(&dma->owner);
	kfree(dma);
}

/**
 * t1_dma_remove - unmap, unpin and free one range
 * @iommu: the container
 * @dma: the range
 *
 * Cannot fail.  Emulated pins should be gone by now (the devices were
 * asked to unpin); what is left is dropped with a warning.
 */
void t1_dma_remove(struct t1_iommu *iommu, struct t1_dma *dma)
{
	struct t1_domain *domain;

	lockdep_assert_held(&iommu->lock);

	if (WARN_ON(dma->nr_pins))
		t1_pin_drop_emulated(iommu, dma);
	/* Unlinked first, in the same section: no event unmaps it twice */
	mutex_lock(&iommu->domain_lock);
	t1_p2p_detach(iommu, dma);
	if (dma->iommu_pinned && !dma->revoked)
		list_for_each_entry(domain, &iommu->domains, next)
			t1_dma_unmap_domain(iommu, dma, domain);
	mutex_unlock(&iommu->domain_lock);
	if (dma->iommu_pinned)
		t1_pin_release_extents(dma);
	WARN_ON(dma->locked);
	if (dma->vaddr_invalid)
		iommu->vaddr_invalid_count--;
	if (dma->revoked)
		atomic_dec(&iommu->nr_revoked);
	t1_dma_it_remove(dma, &iommu->dma_tree);
	iommu->dma_avail++;
	t1_dma_free(iommu, dma);
}

/**
 * t1_dma_remove_all - drop every range of the container
 * @iommu: the container
 */
void t1_dma_remove_all(struct t1_iommu *iommu)
{
	struct t1_dma *dma;

	lockdep_assert_held(&iommu->lock);

	while ((dma = t1_dma_any(iommu))) {
		t1_dma_remove(iommu, dma);
		cond_resched();
	}
}

/**
 * t1_dma_reap_revoked - remove the ranges device events revoked
 * @iommu: the container
 *
 * Revoked ranges are in no domain already; they leave the tree here, the
 * next time an ioctl holds t1_iommu.lock, so that userspace never sees
 * them again (UNMAP_DMA finds nothing, their IOVAs can be mapped anew).
 */
void t1_dma_reap_revoked(struct t1_iommu *iommu)
{
	struct t1_dma *dma, *next;

	lockdep_assert_held(&iommu->lock);

	if (!atomic_read(&iommu->nr_revoked))
		return;
	for (dma = t1_dma_first(iommu, 0, U64_MAX); dma; dma = next) {
		next = t1_dma_next(iommu, dma, 0, U64_MAX);
		if (READ_ONCE(dma->revoked))
			t1_dma_remove(iommu, dma);
	}
}

/**
 * t1_dma_unpin_all_iommu - the last domain goes away, emulated groups stay
 * @iommu: the container
 *
 * The ranges stay (emulated devices pin from them on demand) but their
 * IOMMU pins go, and with them the charge for pages no device pinned.
 * The domain is being freed with its mappings, so nothing is unmapped.
 */
void t1_dma_unpin_all_iommu(struct t1_iommu *iommu)
{
	struct t1_dma *dma;

	lockdep_assert_held(&iommu->lock);

	for (dma = t1_dma_first(iommu, 0, U64_MAX); dma;
	     dma = t1_dma_next(iommu, dma, 0, U64_MAX)) {
		if (dma->iommu_pinned)
			t1_pin_release_extents(dma);
		cond_resched();
	}
}

static unsigned long *t1_dma_dirty_alloc(struct t1_iommu *iommu, u64 size)
{
	u64 nbits = size >> iommu->dirty_pgshift;

	return kvcalloc(BITS_TO_LONGS(nbits), sizeof(unsigned long),
			GFP_KERNEL_ACCOUNT);
}

/**
 * t1_dma_map - create a range, pin it and map it into every domain
 * @iommu: the container
 * @iova: first IOVA, aligned to the smallest IOMMU page size
 * @size: bytes, aligned likewise, non-zero, not wrapping
 * @vaddr: user address in current's mm, aligned likewise
 * @prot: IOMMU_READ and/or IOMMU_WRITE
 *
 * Without a domain (only emulated groups attached) nothing is pinned now:
 * the emulated devices pin what they use.
 *
 * Return: 0, -EEXIST if the range overlaps another, -ENOSPC past
 * dma_entry_limit, -EINVAL outside the valid IOVA ranges, -ENOMEM past
 * RLIMIT_MEMLOCK, or the errno of pinning or mapping.  On error nothing
 * changed.
 */
int t1_dma_map(struct t1_iommu *iommu, u64 iova, u64 size,
	       unsigned long vaddr, int prot)
{
	u64 last = iova + size - 1;
	struct t1_domain *domain;
	struct t1_dma *dma;
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (t1_dma_first(iommu, iova, last))
		return -EEXIST;
	if (!iommu->dma_avail)
		return -ENOSPC;
	if (!t1_iova_range_valid(iommu, iova, last))
		return -EINVAL;
	/* Its dirty bitmap must stay within what one report may cover */
	if (iommu->dirty_tracking &&
	    size >> iommu->dirty_pgshift > T1_DIRTY_MAX_PAGES)
		return -EINVAL;

	dma = kzalloc(sizeof(*dma), GFP_KERNEL_ACCOUNT);
	if (!dma)
		return -ENOMEM;
	dma->iova = iova;
	dma->last = last;
	dma->vaddr = vaddr;
	dma->prot = prot;
	dma->small_pages = READ_ONCE(type1_disable_hugepages);
	xa_init(&dma->pins);
	ret = t1_dma_owner_init(&dma->owner);
	if (ret) {
		kfree(dma);
		return ret;
	}
	ret = t1_p2p_prepare(iommu, dma);
	if (ret)
		goto err_free_dma;
	if (iommu->dirty_tracking) {
		dma->dirty = t1_dma_dirty_alloc(iommu, size);
		if (!dma->dirty) {
			ret = -ENOMEM;
			goto err_free_dma;
		}
	}

	if (!list_empty(&iommu->domains)) {
		ret = t1_pin_dma(iommu, dma);
		if (ret)
			goto err_free_dma;
		dma->iommu_pinned = true;
	}

	/* Published and mapped at once: an event sees it in every domain */
	mutex_lock(&iommu->domain_lock);
	ret = t1_p2p_publish(iommu, dma);
	if (ret)
		goto err_unlock;
	if (dma->iommu_pinned) {
		list_for_each_entry(domain, &iommu->domains, next) {
			ret = t1_dma_map_domain(iommu, dma, domain);
			if (ret)
				goto err_unmap;
		}
	}
	mutex_unlock(&iommu->domain_lock);

	t1_dma_it_insert(dma, &iommu->dma_tree);
	iommu->dma_avail--;
	return 0;

err_unmap:
	list_for_each_entry_continue_reverse(domain, &iommu->domains, next)
		t1_dma_unmap_domain(iommu, dma, domain);
err_unlock:
	t1_p2p_detach(iommu, dma);
	mutex_unlock(&iommu->domain_lock);
	if (dma->iommu_pinned)
		t1_pin_release_extents(dma);
err_free_dma:
	t1_dma_free(iommu, dma);
	return ret;
}

/*
 * The pages were charged to the process that mapped them; a new process
 * that takes the range over with VFIO_DMA_MAP_FLAG_VADDR (live update,
 * exec) pays from now on.  Charge the new owner first so that a failure
 * changes nothing.
 */
static int t1_dma_change_owner(struct t1_dma *dma)
{
	struct t1_owner old = dma->owner, new;
	int ret;

	ret = t1_dma_owner_init(&new);
	if (ret)
		return ret;
	ret = t1_acct_owner(&new, dma->locked, true);
	if (ret) {
		t1_dma_owner_put(&new);
		return ret;
	}
	t1_acct_owner(&old, dma->locked, false);
	dma->owner = new;
	t1_dma_owner_put(&old);
	return 0;
}

/**
 * t1_dma_update_vaddr - VFIO_DMA_MAP_FLAG_VADDR: give a range a new vaddr
 * @iommu: the container
 * @iova: first IOVA of exactly one range
 * @size: its size
 * @vaddr: where the same memory now is in current's mm
 *
 * Return: 0, or -EINVAL when [iova, iova + size) is not exactly one range
 * whose vaddr was invalidated.
 */
int t1_dma_update_vaddr(struct t1_iommu *iommu, u64 iova, u64 size,
			unsigned long vaddr)
{
	u64 last = iova + size - 1;
	struct t1_dma *dma;
	int ret;

	lockdep_assert_held(&iommu->lock);

	dma = t1_dma_first(iommu, iova, last);
	if (!dma || dma->iova != iova || dma->last != last ||
	    !dma->vaddr_invalid)
		return -EINVAL;

	if (current->mm != dma->owner.mm) {
		ret = t1_dma_change_owner(dma);
		if (ret)
			return ret;
	}
	dma->vaddr = vaddr;
	dma->vaddr_invalid = false;
	iommu->vaddr_invalid_count--;
	return 0;
}

/**
 * t1_dma_unmap - VFIO_IOMMU_UNMAP_DMA on the ranges of a request
 * @iommu: the container
 * @req: the request
 *
 * A range is unmapped whole when it starts inside the request.  v2 (and
 * any request for a dirty bitmap) refuses a request that cuts a range;
 * v1 silently leaves such a range mapped and does not count it.
 *
 * Nothing changes until every range to unmap is free of emulated pins:
 * otherwise this returns -EAGAIN with @req->notify_* set, and the caller
 * drops the lock, asks the devices to unpin that span and calls again.
 *
 * Return: 0 with @req->unmapped updated, -EAGAIN, or -EINVAL / -EFAULT
 * with nothing changed.
 */
int t1_dma_unmap(struct t1_iommu *iommu, struct t1_unmap *req)
{
	bool strict = iommu->v2 || req->bitmap;
	struct t1_dma *dma, *next;
	bool pinned = false;
	int ret;

	lockdep_assert_held(&iommu->lock);

	/* Check everything first: an error must leave every range alone */
	for (dma = t1_dma_first(iommu, req->iova, req->last); dma;
	     dma = t1_dma_next(iommu, dma, req->iova, req->last)) {
		if (strict && (dma->iova < req->iova || dma->last > req->last))
			return -EINVAL;
		if (dma->iova < req->iova)
			continue;
		if (req->vaddr_only) {
			if (dma->vaddr_invalid)
				return -EINVAL;
			continue;
		}
		if (dma->nr_pins) {
			if (!pinned)
				req->notify_iova = dma->iova;
			req->notify_last = dma->last;
			pinned = true;
		}
	}
	if (pinned)
		return -EAGAIN;

	if (req->bitmap) {
		ret = t1_dma_dirty_report(iommu, req->iova, req->last,
					  req->bitmap);
		if (ret)
			return ret;
	}

	dma = t1_dma_first(iommu, req->iova, req->last);
	for (; dma; dma = next) {
		next = t1_dma_next(iommu, dma, req->iova, req->last);
		if (dma->iova < req->iova)
			continue;
		req->unmapped += t1_dma_size(dma);
		if (req->vaddr_only) {
			dma->vaddr_invalid = true;
			iommu->vaddr_invalid_count++;
		} else {
			t1_dma_remove(iommu, dma);
		}
		cond_resched();
	}
	return 0;
}

/*
 * Dirty tracking.  Without IOMMU dirty bits every page a domain maps may
 * have been written, so while the container has a domain every mapped
 * page is reported dirty; with emulated devices only, the pages they
 * pinned or wrote through dma_rw are.
 */

/**
 * t1_dma_dirty_start - VFIO_IOMMU_DIRTY_PAGES_FLAG_START
 * @iommu: the container
 *
 * Return: 0, or -EINVAL when a range is too large for one dirty bitmap,
 * or -ENOMEM; nothing changed on error.
 */
int t1_dma_dirty_start(struct t1_iommu *iommu)
{
	struct t1_dma *dma;

	lockdep_assert_held(&iommu->lock);

	if (iommu->dirty_tracking)
		return 0;

	iommu->dirty_pgshift = __ffs(iommu->pgsize_bitmap);
	for (dma = t1_dma_first(iommu, 0, U64_MAX); dma;
	     dma = t1_dma_next(iommu, dma, 0, U64_MAX)) {
		if (t1_dma_size(dma) >> iommu->dirty_pgshift >
		    T1_DIRTY_MAX_PAGES) {
			t1_dma_dirty_stop(iommu);
			return -EINVAL;
		}
		dma->dirty = t1_dma_dirty_alloc(iommu, t1_dma_size(dma));
		if (!dma->dirty) {
			t1_dma_dirty_stop(iommu);
			return -ENOMEM;
		}
	}
	iommu->dirty_tracking = true;

	for (dma = t1_dma_first(iommu, 0, U64_MAX); dma;
	     dma = t1_dma_next(iommu, dma, 0, U64_MAX))
		t1_pin_dirty_pinned(iommu, dma);
	return 0;
}

/**
 * t1_dma_dirty_stop - VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP
 * @iommu: the container
 */
void t1_dma_dirty_stop(struct t1_iommu *iommu)
{
	struct t1_dma *dma;

	lockdep_assert_held(&iommu->lock);

	for (dma = t1_dma_first(iommu, 0, U64_MAX); dma;
	     dma = t1_dma_next(iommu, dma, 0, U64_MAX)) {
		kvfree(dma->dirty);
		dma->dirty = NULL;
	}
	iommu->dirty_tracking = false;
}

/**
 * t1_dma_dirty_check - validate a user's dirty bitmap for [iova, +size)
 * @iommu: the container
 * @iova: first IOVA the bitmap describes
 * @size: bytes it describes
 * @bitmap: the user's description of the bitmap
 *
 * Return: 0 or -EINVAL.
 */
int t1_dma_dirty_check(struct t1_iommu *iommu, u64 iova, u64 size,
		       struct vfio_bitmap *bitmap)
{
	u64 pgsize, npages;

	lockdep_assert_held(&iommu->lock);

	if (!iommu->dirty_tracking)
		return -EINVAL;
	pgsize = 1ULL << iommu->dirty_pgshift;
	if (bitmap->pgsize != pgsize || (iova | size) & (pgsize - 1))
		return -EINVAL;
	npages = size >> iommu->dirty_pgshift;
	if (!npages || npages > T1_DIRTY_MAX_PAGES)
		return -EINVAL;
	if (bitmap->size < DIV_ROUND_UP(npages, 64) * sizeof(u64))
		return -EINVAL;
	return 0;
}

#define T1_BITMAP_CHUNK_WORDS	128

/*
 * OR @nbits bits of @src into the user's u64 bitmap starting at bit @bit.
 * Neighbouring ranges share user words, so what is there already stays.
 */
static int t1_bitmap_to_user(u64 __user *ubits, u64 bit,
			     const unsigned long *src, u64 nbits)
{
	const u64 chunk_bits = T1_BITMAP_CHUNK_WORDS * 64;
	u64 *in, *out, done, n;
	int ret = 0;

	in = kmalloc_array(2 * T1_BITMAP_CHUNK_WORDS + 1, sizeof(u64),
			   GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	out = in + T1_BITMAP_CHUNK_WORDS;

	for (done = 0; done < nbits; done += n) {
		unsigned int shift = (bit + done) % 64;
		u64 __user *dst = ubits + (bit + done) / 64;
		unsigned int words, in_words, i;

		n = min(nbits - done, chunk_bits);
		bitmap_to_arr64(in, src + done / BITS_PER_LONG, n);
		in_words = DIV_ROUND_UP(n, 64);
		words = DIV_ROUND_UP(shift + n, 64);
		if (copy_from_user(out, dst, words * sizeof(u64))) {
			ret = -EFAULT;
			break;
		}
		for (i = 0; i < words; i++) {
			if (i < in_words)
				out[i] |= in[i] << shift;
			if (shift && i)
				out[i] |= in[i - 1] >> (64 - shift);
		}
		if (copy_to_user(dst, out, words * sizeof(u64))) {
			ret = -EFAULT;
			break;
		}
	}
	kfree(in);
	return ret;
}

/**
 * t1_dma_dirty_report - copy and clear the dirty bits of whole ranges
 * @iommu: the container
 * @iova: IOVA of the user bitmap's first bit
 * @last: last IOVA to report, inclusive; no range may cross @iova or @last
 * @bitmap: the user's bitmap, checked by t1_dma_dirty_check()
 *
 * Pages still pinned stay dirty for the next report.
 *
 * Return: 0 or -EFAULT / -ENOMEM.
 */
int t1_dma_dirty_report(struct t1_iommu *iommu, u64 iova, u64 last,
			struct vfio_bitmap *bitmap)
{
	unsigned int shift = iommu->dirty_pgshift;
	bool all = !list_empty(&iommu->domains);
	struct t1_dma *dma;
	int ret;

	lockdep_assert_held(&iommu->lock);

	for (dma = t1_dma_first(iommu, iova, last); dma;
	     dma = t1_dma_next(iommu, dma, iova, last)) {
		u64 nbits = t1_dma_size(dma) >> shift;

		if (WARN_ON(dma->iova < iova || !dma->dirty))
			return -EINVAL;
		if (all)
			bitmap_fill(dma->dirty, nbits);
		ret = t1_bitmap_to_user((u64 __user *)bitmap->data,
					(dma->iova - iova) >> shift,
					dma->dirty, nbits);
		if (ret)
			return ret;
		bitmap_zero(dma->dirty, nbits);
		t1_pin_dirty_pinned(iommu, dma);
	}
	return 0;
}

/**
 * t1_dma_dirty_get - VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP
 * @iommu: the container
 * @iova: first IOVA, the start of a range (or unmapped)
 * @size: bytes; iova + size must end a range (or be unmapped)
 * @bitmap: the user's bitmap
 *
 * Return: 0 or a negative errno.
 */
int t1_dma_dirty_get(struct t1_iommu *iommu, u64 iova, u64 size,
		     struct vfio_bitmap *bitmap)
{
	u64 last = iova + size - 1;
	struct t1_dma *dma;
	int ret;

	lockdep_assert_held(&iommu->lock);

	ret = t1_dma_dirty_check(iommu, iova, size, bitmap);
	if (ret)
		return ret;
	dma = t1_dma_first(iommu, iova, iova);
	if (dma && dma->iova != iova)
		return -EINVAL;
	dma = t1_dma_first(iommu, last, last);
	if (dma && dma->last != last)
		return -EINVAL;
	return t1_dma_dirty_report(iommu, iova, last, bitmap);
}
