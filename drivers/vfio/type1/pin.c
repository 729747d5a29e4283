// SPDX-License-Identifier: GPL-2.0-only
/*
 * type1: pinning user memory and charging it to its owner.
 *
 * IOMMU pinning works on a whole range at once: the pages are charged to
 * the owner's locked_vm up front (one mmap_lock round trip, and a range
 * past RLIMIT_MEMLOCK fails before anything is pinned), then pinned with
 * FOLL_LONGTERM in batches of T1_BATCH_PAGES: by pin_user_pages_fast()
 * when the owner is the caller, the usual case (it walks the page tables
 * without mmap_lock and takes a whole PMD of a THP or hugetlbfs page at
 * once), by pin_user_pages_remote() otherwise.
 *
 * A batch is folded into *extents*, runs of physically contiguous pages:
 * a 2 MiB THP or hugetlbfs folio becomes (part of) one extent, and
 * neighbouring folios that happen to be contiguous join it.  Extents are
 * what the domains map (dma.c hands them to iommu_map_sg(), which uses
 * large IOMMU pages where the alignment allows) and what unpinning walks:
 * one unpin_user_page_range_dirty_lock() per extent drops the pins of a
 * whole folio in one step instead of page by page.  Keeping the extents
 * also means unmap never has to read the physical addresses back out of
 * an IOMMU page table, and a new domain is filled without pinning again.
 *
 * A MAP_DMA of a few pages is the common case for some users (DPDK maps
 * page by page), so small ranges cost no allocation beyond the range
 * itself: their page pointers live on the stack and their extents in the
 * range (T1_EXT_INLINE).
 *
 * Emulated pins are per page and reference counted per IOVA page; see
 * type1.h for when a page is charged.
 */
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "type1.h"

/* How many pages one GUP call pins; the pointer array is 16 KiB */
#define T1_BATCH_PAGES	2048UL
/* Ranges up to this many pages keep their page pointers on the stack */
#define T1_BATCH_STACK	16UL

/**
 * struct t1_pin - an emulated pin of one IOVA page
 * @page: the pinned page
 * @users: vfio_pin_pages() calls not yet undone
 */
struct t1_pin {
	struct page *page;
	unsigned int users;
};

/**
 * t1_acct_owner - charge or refund pages to a range's owner
 * @owner: who pays
 * @npages: how many pages
 * @inc: charge (true) or refund (false)
 *
 * A charge past RLIMIT_MEMLOCK fails unless the owner had CAP_IPC_LOCK.
 * A refund cannot fail; once the owner's mm is gone there is nothing
 * left to refund.
 *
 * Return: 0, -ENOMEM past the limit, -ESRCH if the owner exited.
 */
int t1_acct_owner(struct t1_owner *owner, unsigned long npages, bool inc)
{
	struct mm_struct *mm = owner->mm;
	bool local = mm == current->mm;
	int ret;

	if (!npages)
		return 0;
	if (!local && !mmget_not_zero(mm))
		return inc ? -ESRCH : 0;
	mmap_write_lock(mm);
	ret = __account_locked_vm(mm, npages, inc, owner->task,
				  owner->lock_cap);
	mmap_write_unlock(mm);
	/* The owner may exit meanwhile; never tear its mm down from here */
	if (!local)
		mmput_async(mm);
	return ret;
}

/**
 * t1_acct - charge or refund pages of a range
 * @dma: the range; its @locked follows
 * @npages: how many pages
 * @inc: charge (true) or refund (false)
 *
 * Return: see t1_acct_owner().
 */
int t1_acct(struct t1_dma *dma, unsigned long npages, bool inc)
{
	int ret;

	ret = t1_acct_owner(&dma->owner, npages, inc);
	if (ret)
		return ret;
	if (inc) {
		dma->locked += npages;
	} else {
		WARN_ON(dma->locked < npages);
		dma->locked -= npages;
	}
	return 0;
}

/**
 * t1_batch_grow - make room for more extents in a range
 * @dma: the range
 *
 * Return: 0 or -ENOMEM, with the extents as they were.
 */
int t1_batch_grow(struct t1_dma *dma)
{
	unsigned long max = max(16UL, dma->max_ext * 2);
	struct t1_extent *ext;

	if (!dma->ext) {
		dma->ext = dma->ext_inline;
		dma->max_ext = ARRAY_SIZE(dma->ext_inline);
		return 0;
	}
	if (dma->ext == dma->ext_inline) {
		ext = kvmalloc_array(max, sizeof(*ext), GFP_KERNEL_ACCOUNT);
		if (ext)
			memcpy(ext, dma->ext_inline, sizeof(dma->ext_inline));
	} else {
		ext = kvrealloc(dma->ext, array_size(max, sizeof(*ext)),
				GFP_KERNEL_ACCOUNT);
	}
	if (!ext)
		return -ENOMEM;
	dma->ext = ext;
	dma->max_ext = max;
	return 0;
}

/*
 * Fold a batch of freshly pinned pages into the range's extents.  The
 * pages of a large folio are consecutive in the batch and in memory, so
 * a whole folio costs one extent and one comparison per page.  On
 * failure the pages not yet recorded are unpinned here.
 */
static int t1_batch_add(struct t1_dma *dma, struct page **pages,
			unsigned long npages)
{
	unsigned long i = 0;
	int ret;

	while (i < npages) {
		unsigned long pfn = page_to_pfn(pages[i]);
		unsigned long run = 1;
		struct t1_extent *last;

		while (i + run < npages &&
		       page_to_pfn(pages[i + run]) == pfn + run)
			run++;

		last = dma->nr_ext ? &dma->ext[dma->nr_ext - 1] : NULL;
		if (last && last->pfn + last->npages == pfn) {
			last->npages += run;
		} else {
			if (dma->nr_ext == dma->max_ext) {
				ret = t1_batch_grow(dma);
				if (ret) {
					unpin_user_pages(pages + i, npages - i);
					return ret;
				}
			}
			dma->ext[dma->nr_ext].pfn = pfn;
			dma->ext[dma->nr_ext].npages = run;
			dma->nr_ext++;
		}
		i += run;
	}
	return 0;
}

/**
 * t1_pin_dma - charge and pin every page of a range into extents
 * @iommu: the container
 * @dma: a range that is not IOMMU-pinned yet
 *
 * Mapping the extents into the domains is the caller's job; setting
 * @dma->iommu_pinned too.
 *
 * Return: 0, or a negative errno with nothing pinned and the charge
 * back where it was.
 */
int t1_pin_dma(struct t1_iommu *iommu, struct t1_dma *dma)
{
	unsigned long npages = t1_dma_npages(dma), done = 0;
	struct page *stack_pages[T1_BATCH_STACK];
	struct mm_struct *mm = dma->owner.mm;
	unsigned int flags = FOLL_LONGTERM;
	bool local = mm == current->mm;
	struct page **pages;
	int locked = 0;
	int ret;

	lockdep_assert_held(&iommu->lock);
	if (WARN_ON(dma->iommu_pinned || dma->nr_ext))
		return -EINVAL;
	if (dma->vaddr_invalid)
		return -EINVAL;
	if (dma->pfnmap)
		return t1_p2p_pin(iommu, dma);

	if (dma->prot & IOMMU_WRITE)
		flags |= FOLL_WRITE;

	ret = t1_acct(dma, npages - dma->locked, true);
	if (ret)
		return ret;

	if (npages <= T1_BATCH_STACK) {
		pages = stack_pages;
	} else {
		pages = kvmalloc_array(min(npages, T1_BATCH_PAGES),
				       sizeof(*pages), GFP_KERNEL);
		if (!pages) {
			ret = -ENOMEM;
			goto err_refund;
		}
	}
	if (!local && !mmget_not_zero(mm)) {
		ret = -ESRCH;
		goto err_free_pages;
	}

	while (done < npages) {
		unsigned long vaddr = dma->vaddr + done * PAGE_SIZE;
		unsigned long n = min(npages - done, T1_BATCH_PAGES);
		long got;

		if (local) {
			got = pin_user_pages_fast(vaddr, n, flags, pages);
		} else {
			if (!locked) {
				if (mmap_read_lock_killable(mm)) {
					ret = -EINTR;
					break;
				}
				locked = 1;
			}
			got = pin_user_pages_remote(mm, vaddr, n, flags, pages,
						    &locked);
		}
		if (got <= 0) {
			ret = got ? got : -EFAULT;
			break;
		}
		ret = t1_batch_add(dma, pages, got);
		if (ret)
			break;
		done += got;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	if (locked)
		mmap_read_unlock(mm);
	if (!local)
		mmput_async(mm);
	if (pages != stack_pages)
		kvfree(pages);
	if (ret)
		t1_pin_release_extents(dma);
	return ret;

err_free_pages:
	if (pages != stack_pages)
		kvfree(pages);
err_refund:
	t1_acct(dma, dma->locked - dma->nr_pins, false);
	return ret;
}

/**
 * t1_pin_release_extents - unpin what t1_pin_dma() pinned
 * @dma: the range, unmapped from every domain (or the domains are gone)
 *
 * Afterwards only the range's emulated pins are charged.  The PFNs of a
 * pfnmap range were never pinned: they are only forgotten.  Cannot fail.
 */
void t1_pin_release_extents(struct t1_dma *dma)
{
	bool dirty = dma->prot & IOMMU_WRITE;
	unsigned long i;

	for (i = 0; i < dma->nr_ext && !dma->pfnmap; i++) {
		unpin_user_page_range_dirty_lock(pfn_to_page(dma->ext[i].pfn),
						 dma->ext[i].npages, dirty);
		if (!(i % 1024))
			cond_resched();
	}
	if (dma->ext != dma->ext_inline)
		kvfree(dma->ext);
	dma->ext = NULL;
	dma->nr_ext = 0;
	dma->max_ext = 0;
	dma->iommu_pinned = false;
	t1_acct(dma, dma->locked - dma->nr_pins, false);
}

static void t1_pin_put(struct t1_dma *dma, unsigned long idx,
		       struct t1_pin *pin)
{
	xa_erase(&dma->pins, idx);
	unpin_user_pages_dirty_lock(&pin->page, 1, dma->prot & IOMMU_WRITE);
	kfree(pin);
	dma->nr_pins--;
	if (!dma->iommu_pinned)
		t1_acct(dma, 1, false);
}

/**
 * t1_pin_drop_emulated - drop every emulated pin of a range
 * @iommu: the container
 * @dma: the range
 *
 * Only for ranges going away whose devices failed to unpin.
 */
void t1_pin_drop_emulated(struct t1_iommu *iommu, struct t1_dma *dma)
{
	struct t1_pin *pin;
	unsigned long idx;

	lockdep_assert_held(&iommu->lock);

	xa_for_each(&dma->pins, idx, pin)
		t1_pin_put(dma, idx, pin);
}

/**
 * t1_pin_mark_dirty - mark [iova, iova + len) of a range dirty
 * @iommu: the container
 * @dma: the range holding the bytes
 * @iova: first IOVA
 * @len: bytes, non-zero
 */
void t1_pin_mark_dirty(struct t1_iommu *iommu, struct t1_dma *dma,
		       u64 iova, u64 len)
{
	unsigned int shift = iommu->dirty_pgshift;
	u64 first, last;

	if (!dma->dirty)
		return;
	first = (iova - dma->iova) >> shift;
	last = (iova + len - 1 - dma->iova) >> shift;
	bitmap_set(dma->dirty, first, last - first + 1);
}

/**
 * t1_pin_dirty_pinned - mark the emulated pins of a range dirty
 * @iommu: the container
 * @dma: the range
 *
 * A pinned page may be written at any time until it is unpinned.
 */
void t1_pin_dirty_pinned(struct t1_iommu *iommu, struct t1_dma *dma)
{
	struct t1_pin *pin;
	unsigned long idx;

	xa_for_each(&dma->pins, idx, pin)
		t1_pin_mark_dirty(iommu, dma, dma->iova + idx * PAGE_SIZE,
				  PAGE_SIZE);
}

static int t1_pin_one(struct t1_dma *dma, unsigned long idx,
		      struct page **page)
{
	struct mm_struct *mm = dma->owner.mm;
	unsigned int flags = FOLL_LONGTERM;
	int locked = 1;
	long got;

	if (dma->prot & IOMMU_WRITE)
		flags |= FOLL_WRITE;
	if (!mmget_not_zero(mm))
		return -ESRCH;
	mmap_read_lock(mm);
	got = pin_user_pages_remote(mm, dma->vaddr + idx * PAGE_SIZE, 1,
				    flags, page, &locked);
	if (locked)
		mmap_read_unlock(mm);
	mmput_async(mm);
	if (got == 1)
		return 0;
	return got < 0 ? got : -EFAULT;
}

static int t1_pin_get(struct t1_iommu *iommu, u64 iova, int prot,
		      struct page **page)
{
	struct t1_dma *dma = t1_dma_first(iommu, iova, iova);
	struct t1_pin *pin;
	unsigned long idx;
	int ret;

	if (!dma || dma->vaddr_invalid)
		return -EINVAL;
	if ((dma->prot & prot) != prot)
		return -EPERM;

	idx = (iova - dma->iova) >> PAGE_SHIFT;
	pin = xa_load(&dma->pins, idx);
	if (pin) {
		pin->users++;
		*page = pin->page;
		return 0;
	}

	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return -ENOMEM;
	if (!dma->iommu_pinned) {
		ret = t1_acct(dma, 1, true);
		if (ret)
			goto err_free;
	}
	ret = t1_pin_one(dma, idx, &pin->page);
	if (ret)
		goto err_refund;
	pin->users = 1;
	ret = xa_err(xa_store(&dma->pins, idx, pin, GFP_KERNEL_ACCOUNT));
	if (ret)
		goto err_unpin;
	dma->nr_pins++;
	if (iommu->dirty_tracking)
		t1_pin_mark_dirty(iommu, dma, iova, PAGE_SIZE);
	*page = pin->page;
	return 0;

err_unpin:
	unpin_user_page(pin->page);
err_refund:
	if (!dma->iommu_pinned)
		t1_acct(dma, 1, false);
err_free:
	kfree(pin);
	return ret;
}

/**
 * t1_pin_pages - backend pin_pages: pin pages for an emulated device
 * @iommu: the container
 * @iova: first IOVA, page aligned
 * @npage: number of pages, positive
 * @prot: IOMMU_READ and/or IOMMU_WRITE the device needs
 * @pages: out: the pages
 *
 * Return: @npage, or a negative errno with nothing pinned: -EINVAL for an
 * IOVA no range covers, -EPERM for a range without the access asked for.
 */
int t1_pin_pages(struct t1_iommu *iommu, dma_addr_t iova, int npage,
		 int prot, struct page **pages)
{
	int i, ret;

	lockdep_assert_held(&iommu->lock);

	for (i = 0; i < npage; i++) {
		ret = t1_pin_get(iommu, iova + (u64)i * PAGE_SIZE, prot,
				 &pages[i]);
		if (ret) {
			t1_pin_unpin_pages(iommu, iova, i);
			return ret;
		}
	}
	return npage;
}

/**
 * t1_pin_unpin_pages - backend unpin_pages: undo t1_pin_pages()
 * @iommu: the container
 * @iova: first IOVA passed to t1_pin_pages()
 * @npage: number of pages passed to t1_pin_pages()
 */
void t1_pin_unpin_pages(struct t1_iommu *iommu, dma_addr_t iova, int npage)
{
	int i;

	lockdep_assert_held(&iommu->lock);

	for (i = 0; i < npage; i++) {
		u64 cur = iova + (u64)i * PAGE_SIZE;
		struct t1_dma *dma = t1_dma_first(iommu, cur, cur);
		unsigned long idx;
		struct t1_pin *pin;

		if (WARN_ON_ONCE(!dma))
			continue;
		idx = (cur - dma->iova) >> PAGE_SHIFT;
		pin = xa_load(&dma->pins, idx);
		if (WARN_ON_ONCE(!pin))
			continue;
		if (!--pin->users)
			t1_pin_put(dma, idx, pin);
	}
}

/* Copy from or to another process's memory, one page at a time */
static int t1_rw_remote(struct mm_struct *mm, unsigned long addr, void *buf,
			size_t len, bool write)
{
	unsigned int flags = write ? FOLL_WRITE : 0;
	int locked = 0;
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -EPERM;
	while (len) {
		size_t off = offset_in_page(addr);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		struct page *page;
		void *kaddr;
		long got;

		if (!locked) {
			mmap_read_lock(mm);
			locked = 1;
		}
		got = get_user_pages_remote(mm, addr, 1, flags, &page,
					    &locked);
		if (got != 1) {
			ret = got < 0 ? got : -EFAULT;
			break;
		}
		kaddr = kmap_local_page(page);
		if (write)
			memcpy(kaddr + off, buf, n);
		else
			memcpy(buf, kaddr + off, n);
		kunmap_local(kaddr);
		if (write)
			set_page_dirty_lock(page);
		put_page(page);
		addr += n;
		buf += n;
		len -= n;
	}
	if (locked)
		mmap_read_unlock(mm);
	mmput_async(mm);
	return ret;
}

/**
 * t1_pin_dma_rw - backend dma_rw: access IOVA space for an emulated device
 * @iommu: the container
 * @iova: first IOVA
 * @buf: kernel buffer
 * @len: bytes
 * @write: copy @buf into IOVA space (the device writes memory)
 *
 * Return: 0, -EINVAL for an IOVA no range covers, -EPERM for a range
 * without the access asked for, -EFAULT.
 */
int t1_pin_dma_rw(struct t1_iommu *iommu, dma_addr_t iova, void *buf,
		  size_t len, bool write)
{
	int need = write ? IOMMU_WRITE : IOMMU_READ;
	int ret;

	lockdep_assert_held(&iommu->lock);

	while (len) {
		struct t1_dma *dma = t1_dma_first(iommu, iova, iova);
		unsigned long addr;
		size_t n;

		if (!dma || dma->vaddr_invalid)
			return -EINVAL;
		if (!(dma->prot & need))
			return -EPERM;
		n = min_t(u64, len, dma->last - iova + 1);
		addr = dma->vaddr + (iova - dma->iova);
		if (current->mm == dma->owner.mm) {
			if (write)
				ret = copy_to_user((void __user *)addr, buf, n);
			else
				ret = copy_from_user(buf,
						     (void __user *)addr, n);
			ret = ret ? -EFAULT : 0;
		} else {
			ret = t1_rw_remote(dma->owner.mm, addr, buf, n, write);
		}
		if (ret)
			return ret;
		if (write && iommu->dirty_tracking)
			t1_pin_mark_dirty(iommu, dma, iova, n);
		iova += n;
		buf += n;
		len -= n;
	}
	return 0;
}
