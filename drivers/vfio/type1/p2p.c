// SPDX-License-Identifier: GPL-2.0-only
/*
 * type1: DMA ranges of device memory, for peer-to-peer DMA.
 *
 * A MAP_DMA whose vaddr lies in a VM_PFNMAP vma names memory that GUP
 * cannot pin: usually the BAR mmap of a vfio device, mapped so that
 * another device can DMA into it.  Such a range is a *pfnmap range*: its
 * extents hold the PFNs the page tables map, read with
 * follow_pfnmap_start() after faulting them in where needed.  Nothing is
 * pinned and nothing is charged to locked_vm, so nothing but the device
 * itself keeps that memory where it was mapped.  PFNs of ordinary RAM
 * (a valid struct page that is not reserved) are refused in every mode:
 * with no pin, that page could be freed and reused under the mapping.
 *
 * Hence a pfnmap range in a vma of a vfio device file gets a *link*
 * (struct t1_p2p) that holds a reference to that device and listens on
 * its notifier.  When the device is released (last close), its memory
 * decode goes off or it is reset, the link *revokes* the range: it is
 * taken out of every IOMMU domain at once, and removed from the range
 * tree the next time the container's lock is taken for an ioctl (a later
 * UNMAP_DMA of it finds nothing).  With CONFIG_VFIO_STRICT_PFNMAP that is
 * the only VM_PFNMAP memory accepted; without it other VM_PFNMAP vmas
 * (device memory of drivers that are not vfio) map too, untracked.
 *
 * The callback may run from another user's path: the device's last close,
 * a reset.  It must never wait for t1_iommu.lock, which a user holds
 * across their own page faults; it takes only t1_iommu.domain_lock (see
 * the lock order in type1.h).  A callback may not unregister itself, and
 * unregistering waits for running callbacks, so a link that is revoked or
 * whose range goes away queues put_work on t1_p2p_wq, which unregisters
 * it and drops the device.  The device reference therefore goes as soon
 * as the device's memory does, whatever the container's user is doing.
 * A container waits for its own links only (t1_p2p_wait_links()), never
 * for anybody else's.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "type1.h"

static struct workqueue_struct *t1_p2p_wq;

static void t1_p2p_unref(struct t1_p2p *p2p)
{
	if (refcount_dec_and_test(&p2p->users))
		kfree(p2p);
}

static void t1_p2p_put_work(struct work_struct *work)
{
	struct t1_p2p *p2p = container_of(work, struct t1_p2p, put_work);
	struct t1_iommu *iommu = p2p->iommu;

	vfio_device_unregister_notifier(p2p->vdev, &p2p->nb);
	vfio_device_put_from_vma(p2p->vdev);
	/* The container may be freed as soon as this reaches 0 */
	if (atomic_dec_and_test(&iommu->nr_links))
		wake_up_var(&iommu->nr_links);
	t1_p2p_unref(p2p);
}

static void t1_p2p_queue_put(struct t1_p2p *p2p)
{
	lockdep_assert_held(&p2p->iommu->domain_lock);

	if (p2p->put_queued)
		return;
	p2p->put_queued = true;
	queue_work(t1_p2p_wq, &p2p->put_work);
}

/*
 * Any event means the memory behind the range is not what was mapped.
 * Runs from whoever caused the event: only domain_lock may be taken.
 */
static int t1_p2p_notify(struct notifier_block *nb, unsigned long event,
			 void *data)
{
	struct t1_p2p *p2p = container_of(nb, struct t1_p2p, nb);
	struct t1_iommu *iommu = p2p->iommu;
	struct t1_dma *dma;

	mutex_lock(&iommu->domain_lock);
	if (!p2p->revoked) {
		p2p->revoked = true;
		dma = p2p->dma;
		if (dma) {
			t1_dma_unmap_all_domains(iommu, dma);
			WRITE_ONCE(dma->revoked, true);
			atomic_inc(&iommu->nr_revoked);
		}
		t1_p2p_queue_put(p2p);
	}
	mutex_unlock(&iommu->domain_lock);
	return NOTIFY_OK;
}

/**
 * t1_p2p_publish - make a new linked range visible to its device's events
 * @iommu: the container
 * @dma: a range about to be mapped into the domains and inserted
 *
 * Called under domain_lock, right before the range is mapped into every
 * domain: from then on an event unmaps it again.  An event that arrived
 * while the range was being built (its PFNs may be stale) fails it.
 *
 * Return: 0, or -EFAULT when the device memory is gone already.
 */
int t1_p2p_publish(struct t1_iommu *iommu, struct t1_dma *dma)
{
	struct t1_p2p *p2p = dma->p2p;

	lockdep_assert_held(&iommu->lock);
	lockdep_assert_held(&iommu->domain_lock);

	if (!p2p)
		return 0;
	if (p2p->revoked)
		return -EFAULT;
	p2p->dma = dma;
	return 0;
}

/**
 * t1_p2p_detach - the range of a link goes away
 * @iommu: the container
 * @dma: a range being removed or failing to be created
 *
 * Called under domain_lock, before the range leaves the domains, so that
 * no event unmaps it twice.  The link is unregistered and freed later from
 * t1_p2p_wq.
 */
void t1_p2p_detach(struct t1_iommu *iommu, struct t1_dma *dma)
{
	struct t1_p2p *p2p = dma->p2p;

	lockdep_assert_held(&iommu->lock);
	lockdep_assert_held(&iommu->domain_lock);

	if (!p2p)
		return;
	p2p->dma = NULL;
	dma->p2p = NULL;
	t1_p2p_queue_put(p2p);
	t1_p2p_unref(p2p);
}

/**
 * t1_p2p_wait_links - wait until no link of a container is registered
 * @iommu: a container being released: it has no range left
 *
 * Called without type1 locks, before @iommu is freed.  Only this
 * container's links are waited for, and each of them only for the
 * callbacks running on its device's chain, which never block on a lock
 * a user can hold.
 */
void t1_p2p_wait_links(struct t1_iommu *iommu)
{
	wait_var_event(&iommu->nr_links, !atomic_read(&iommu->nr_links));
}

static int t1_p2p_link(struct t1_iommu *iommu, struct t1_dma *dma,
		       struct vfio_device *vdev)
{
	struct t1_p2p *p2p;
	int ret;

	p2p = kzalloc(sizeof(*p2p), GFP_KERNEL_ACCOUNT);
	if (!p2p)
		return -ENOMEM;
	p2p->nb.notifier_call = t1_p2p_notify;
	p2p->vdev = vdev;
	p2p->iommu = iommu;
	refcount_set(&p2p->users, 2);
	INIT_WORK(&p2p->put_work, t1_p2p_put_work);

	/*
	 * Listen before the PFNs are read: an event from now on marks the
	 * link revoked, and t1_p2p_publish() then refuses the range, so a
	 * range never maps PFNs of memory that went away while it was built.
	 */
	atomic_inc(&iommu->nr_links);
	ret = vfio_device_register_notifier(vdev, &p2p->nb);
	if (ret) {
		atomic_dec(&iommu->nr_links);
		kfree(p2p);
		return ret;
	}
	dma->p2p = p2p;
	return 0;
}

/**
 * t1_p2p_prepare - classify a new range by the vma its vaddr is in
 * @iommu: the container
 * @dma: a range being created from current's mm, not published yet
 *
 * A range in ordinary memory is left alone.  A range in a VM_PFNMAP vma
 * becomes a pfnmap range; it must lie in that one vma.  When the vma maps
 * a vfio device the range is linked to it; in strict mode it must.
 *
 * Return: 0, or -EFAULT for device memory that cannot be mapped, or
 * -ENOMEM.  On error the range may be marked pfnmap but has no link.
 */
int t1_p2p_prepare(struct t1_iommu *iommu, struct t1_dma *dma)
{
	struct mm_struct *mm = dma->owner.mm;
	struct vm_area_struct *vma;
	struct vfio_device *vdev;
	int ret;

	lockdep_assert_held(&iommu->lock);

	mmap_read_lock(mm);
	vma = vma_lookup(mm, dma->vaddr);
	if (!vma || !(vma->vm_flags & VM_PFNMAP)) {
		mmap_read_unlock(mm);
		return 0;
	}
	if (t1_dma_size(dma) > vma->vm_end - dma->vaddr) {
		mmap_read_unlock(mm);
		return -EFAULT;
	}
	dma->pfnmap = true;
	vdev = vfio_device_get_from_vma(vma);
	mmap_read_unlock(mm);
	if (IS_ERR(vdev))
		return IS_ENABLED(CONFIG_VFIO_STRICT_PFNMAP) ? -EFAULT : 0;

	ret = t1_p2p_link(iommu, dma, vdev);
	if (ret)
		vfio_device_put_from_vma(vdev);
	return ret;
}

/* The vma still maps what the range was created on. */
static bool t1_p2p_vma_ok(struct t1_dma *dma, struct vm_area_struct *vma)
{
	struct vfio_device *vdev;
	bool same;

	if (!vma || !(vma->vm_flags & VM_PFNMAP))
		return false;
	if (!dma->p2p)
		return !IS_ENABLED(CONFIG_VFIO_STRICT_PFNMAP);
	vdev = vfio_device_get_from_vma(vma);
	if (IS_ERR(vdev))
		return false;
	same = vdev == dma->p2p->vdev;
	vfio_device_put_from_vma(vdev);
	return same;
}

/*
 * The size of the page table leaf that maps @vaddr to @pfn: PUD_SIZE or
 * PMD_SIZE for a huge entry (vfio-pci maps BARs so), else PAGE_SIZE.
 * Called while follow_pfnmap_start() holds the lock of that leaf, so a
 * huge entry cannot change under the read; a leaf that does not map @pfn
 * at @vaddr counts as a single page.  mmap_lock keeps the tables walked
 * here from being freed.
 */
static unsigned long t1_p2p_leaf_size(struct mm_struct *mm,
				      unsigned long vaddr, unsigned long pfn)
{
	pgd_t *pgdp = pgd_offset(mm, vaddr);
	p4d_t *p4dp, p4d;
	pud_t *pudp, pud;
	pmd_t pmd;

	if (pgd_none(*pgdp) || unlikely(pgd_bad(*pgdp)))
		return PAGE_SIZE;
	p4dp = p4d_offset(pgdp, vaddr);
	p4d = p4dp_get(p4dp);
	if (p4d_none(p4d) || unlikely(p4d_bad(p4d)))
		return PAGE_SIZE;
	pudp = pud_offset(p4dp, vaddr);
	pud = pudp_get(pudp);
	if (!pud_present(pud))
		return PAGE_SIZE;
	if (pud_leaf(pud))
		return pud_pfn(pud) + ((vaddr & ~PUD_MASK) >> PAGE_SHIFT) ==
		       pfn ? PUD_SIZE : PAGE_SIZE;
	pmd = pmdp_get_lockless(pmd_offset(pudp, vaddr));
	if (pmd_present(pmd) && pmd_leaf(pmd) &&
	    pmd_pfn(pmd) + ((vaddr & ~PMD_MASK) >> PAGE_SHIFT) == pfn)
		return PMD_SIZE;
	return PAGE_SIZE;
}

/*
 * The run of PFNs mapped from @vaddr on by one page table leaf: its first
 * PFN and, in @leaf, the size of that leaf.  The page is faulted in (for
 * writing if @write) when the page table lacks it.  mmap_lock is held
 * throughout: the fault is not allowed to drop it, so @vma stays valid.
 */
static int t1_p2p_follow(struct mm_struct *mm, struct vm_area_struct *vma,
			 unsigned long vaddr, bool write, unsigned long *pfn,
			 unsigned long *leaf)
{
	struct follow_pfnmap_args args = { .vma = vma, .address = vaddr };
	bool faulted = false;
	int ret;

	for (;;) {
		if (!follow_pfnmap_start(&args)) {
			bool ok = !write || args.writable;

			*pfn = args.pfn;
			*leaf = t1_p2p_leaf_size(mm, vaddr, args.pfn);
			follow_pfnmap_end(&args);
			if (ok)
				return 0;
		}
		if (faulted)
			return -EFAULT;
		ret = fixup_user_fault(mm, vaddr, write ? FAULT_FLAG_WRITE : 0,
				       NULL);
		if (ret)
			return ret;
		faulted = true;
	}
}

/*
 * A PFN with an ordinary struct page is RAM that someone else owns and may
 * free: without a pin (which a VM_PFNMAP mapping cannot give) it must not
 * be mapped.  Device memory and reserved pages are fine.  Device memory
 * has no memmap at all: pfn_valid() answers for a whole subsection at
 * once, so a 1 GiB BAR costs 512 lookups, not 262144.
 */
static bool t1_p2p_run_is_ram(unsigned long pfn, unsigned long npages)
{
	unsigned long end = pfn + npages;

	while (pfn < end) {
		if (pfn_valid(pfn)) {
			if (!PageReserved(pfn_to_page(pfn)))
				return true;
			pfn++;
			continue;
		}
#ifdef CONFIG_SPARSEMEM
		pfn = SUBSECTION_ALIGN_UP(pfn + 1);
#else
		pfn++;
#endif
	}
	return false;
}

static int t1_p2p_add_run(struct t1_dma *dma, unsigned long pfn,
			  unsigned long npages)
{
	struct t1_extent *last = dma->nr_ext ? &dma->ext[dma->nr_ext - 1] :
					       NULL;
	int ret;

	if (last && last->pfn + last->npages == pfn) {
		last->npages += npages;
		return 0;
	}
	if (dma->nr_ext == dma->max_ext) {
		ret = t1_batch_grow(dma);
		if (ret)
			return ret;
	}
	dma->ext[dma->nr_ext].pfn = pfn;
	dma->ext[dma->nr_ext].npages = npages;
	dma->nr_ext++;
	return 0;
}

/**
 * t1_p2p_pin - read the PFNs of a pfnmap range into its extents
 * @iommu: the container
 * @dma: a pfnmap range that is not IOMMU-pinned yet
 *
 * The t1_pin_dma() of device memory, walked through the owner's page
 * tables one leaf at a time, faulting in what is missing: a PUD or PMD
 * entry (a huge-mapped BAR) yields its whole run of PFNs in one step, and
 * runs that continue each other merge into one extent, which
 * t1_dma_map_domain() hands to a single iommu_map().  A 1 GiB BAR mapped
 * with one PUD is one lookup and one extent, not 262144 of each.
 * Nothing is pinned or charged.
 *
 * Return: 0, or a negative errno with no extent left.
 */
int t1_p2p_pin(struct t1_iommu *iommu, struct t1_dma *dma)
{
	unsigned long vaddr = dma->vaddr, end = vaddr + t1_dma_size(dma);
	bool write = dma->prot & IOMMU_WRITE;
	struct mm_struct *mm = dma->owner.mm;
	bool local = mm == current->mm;
	struct vm_area_struct *vma = NULL;
	unsigned long pfn, leaf, npages;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	if (!local && !mmget_not_zero(mm))
		return -ESRCH;
	if (mmap_read_lock_killable(mm)) {
		ret = -EINTR;
		goto out_put;
	}
	while (vaddr < end) {
		if (!vma || vaddr >= vma->vm_end) {
			vma = vma_lookup(mm, vaddr);
			if (!t1_p2p_vma_ok(dma, vma)) {
				ret = -EFAULT;
				break;
			}
		}
		ret = t1_p2p_follow(mm, vma, vaddr, write, &pfn, &leaf);
		if (ret)
			break;
		/* From @vaddr to the end of its leaf, the range or the vma */
		npages = (min3(ALIGN_DOWN(vaddr, leaf) + leaf, end,
			       vma->vm_end) - vaddr) >> PAGE_SHIFT;
		if (t1_p2p_run_is_ram(pfn, npages)) {
			ret = -EFAULT;
			break;
		}
		ret = t1_p2p_add_run(dma, pfn, npages);
		if (ret)
			break;
		vaddr += npages << PAGE_SHIFT;
		cond_resched();
	}
	mmap_read_unlock(mm);
out_put:
	if (!local)
		mmput_async(mm);
	if (ret)
		t1_pin_release_extents(dma);
	return ret;
}

/**
 * t1_p2p_init - module init: the queue links are freed from
 *
 * Return: 0 or -ENOMEM.
 */
int __init t1_p2p_init(void)
{
	t1_p2p_wq = alloc_workqueue("vfio_type1_p2p", 0, 0);
	return t1_p2p_wq ? 0 : -ENOMEM;
}

/**
 * t1_p2p_exit - module exit; every container is gone
 */
void t1_p2p_exit(void)
{
	destroy_workqueue(t1_p2p_wq);
}
