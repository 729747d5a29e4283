/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The type1 IOMMU backend: private structures shared by its layers.
 *
 * A container using type1 owns one struct t1_iommu.  Userspace describes
 * DMA as *DMA ranges*: "IOVA [iova, iova + size) is the process memory at
 * vaddr".  Each range is a struct t1_dma kept in an interval tree keyed by
 * IOVA; ranges never overlap.  Terms used in every file:
 *
 *  - @last is inclusive, @end is exclusive; sizes are in bytes unless a
 *    name says "pages" or "npages", which count PAGE_SIZE pages.
 *  - A range is *IOMMU-pinned* when all of its pages are pinned (GUP with
 *    FOLL_LONGTERM) and recorded as physically contiguous *extents*; every
 *    IOMMU domain of the container then maps exactly those extents.  A
 *    range is IOMMU-pinned iff the container has at least one domain.
 *  - *Emulated pins* are single pages pinned on request of an emulated
 *    (mdev style) device through vfio_pin_pages(); they are reference
 *    counted per IOVA page in the range's @pins xarray.
 *  - Every pinned page is charged once to the *owner* of its range (the
 *    process that mapped it) in locked_vm, against RLIMIT_MEMLOCK unless
 *    the owner had CAP_IPC_LOCK: a page is charged when it is IOMMU-pinned,
 *    or when it is emulated-pinned while the range is not IOMMU-pinned.
 *
 * Layers and their prefixes:
 *
 *  - ioctl.c   type1_*     module, backend ops, container ioctls
 *  - domain.c  t1_domain_*, t1_group_*, t1_iova_*: IOMMU domains, attached
 *              groups, valid IOVA ranges
 *  - dma.c     t1_dma_*    the DMA-range tree, map/unmap/replay of ranges,
 *              dirty bitmaps
 *  - pin.c     t1_pin_*, t1_acct_*, t1_batch_*: GUP pinning in folio sized
 *              batches, locked_vm accounting, emulated pins, dma_rw
 *  - p2p.c     t1_p2p_*    ranges of device memory (VM_PFNMAP): their PFNs
 *              and their link to the vfio device they belong to
 *
 * Lock order (outermost first), below the core's container->lock:
 *
 *   t1_iommu.device_lock  (rwsem: registered devices; held for read while
 *                          their dma_unmap callbacks run)
 *     t1_iommu.lock       (mutex: the range tree and everything else in
 *                          struct t1_iommu, t1_dma, t1_domain, t1_group
 *                          that the next lock does not cover)
 *       mm->mmap_lock     (of a range's owner, for GUP and locked_vm)
 *       t1_iommu.domain_lock
 *
 * t1_iommu.lock is held across pinning, so a user can hold it for as long
 * as one of their page faults takes (forever, with userfaultfd or FUSE).
 * Nothing that serves anyone else may wait for it.  That is what
 * domain_lock is for: it guards the list of domains, the IOMMU mappings
 * in them and the revocation state of device-memory ranges (t1_dma.revoked,
 * struct t1_p2p).  It is never held across pinning, a fault, mmap_lock or
 * anything else that waits for userspace, and mmap_lock is never taken
 * under it, so holding it is always short.  Every iommu_map()/iommu_unmap()
 * of a range and every change of t1_iommu.domains happens under both
 * t1_iommu.lock and domain_lock; the device notifier callback (p2p.c)
 * takes domain_lock alone.
 *
 * Callbacks into bus drivers (vfio_device_ops.dma_unmap) run with
 * device_lock held for read and t1_iommu.lock dropped: the driver answers
 * by calling vfio_unpin_pages(), which takes t1_iommu.lock.
 *
 * Device notifiers are registered under t1_iommu.lock (that only takes
 * the chain's mutex) and unregistered from t1_p2p_wq with no type1 lock
 * held: unregistering waits for running callbacks.
 */
#ifndef __VFIO_TYPE1_H
#define __VFIO_TYPE1_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "../vfio.h"

struct iommu_domain;
struct iommu_group;
struct mm_struct;
struct page;
struct task_struct;

/* Module parameters, in ioctl.c */
extern bool type1_allow_unsafe_interrupts;
extern bool type1_disable_hugepages;
extern unsigned int type1_dma_entry_limit;

/* Largest dirty bitmap one request may cover, in pages (bits) */
#define T1_DIRTY_MAX_PAGES	((u64)INT_MAX)

/**
 * struct t1_iova_ranges - the IOVA ranges a container accepts
 * @r: ranges, sorted, disjoint, inclusive ends
 * @nr: number of entries in @r
 */
struct t1_iova_ranges {
	struct vfio_iova_range *r;
	unsigned int nr;
};

/**
 * struct t1_p2p - the link of a range of device memory to its vfio device
 * @nb: on the device's notifier chain
 * @vdev: the device; a reference from vfio_device_get_from_vma() is held
 *        until @put_work has run
 * @iommu: the container of the range
 * @dma: the range once it is published (mapped into the container's
 *       domains, or created without domain), else NULL; under domain_lock
 * @revoked: an event arrived: the device memory is gone; under domain_lock
 * @put_queued: @put_work is queued or done; under domain_lock
 * @users: the range (until it is freed) and the registration on the
 *         notifier (until @put_work has run)
 * @put_work: unregisters @nb and drops @vdev with no type1 lock held
 */
struct t1_p2p {
	struct notifier_block nb;
	struct vfio_device *vdev;
	struct t1_iommu *iommu;
	struct t1_dma *dma;
	bool revoked;
	bool put_queued;
	refcount_t users;
	struct work_struct put_work;
};

/**
 * struct t1_iommu - type1 state of one container
 * @lock: see the lock order at the top of this file
 * @dma_tree: interval tree of struct t1_dma, by IOVA
 * @dma_avail: how many more ranges may be created (dma_entry_limit)
 * @domains: struct t1_domain, each with at least one group
 * @emulated_groups: attached groups of emulated devices (struct t1_group)
 * @ranges: IOVA ranges MAP_DMA accepts
 * @pgsize_bitmap: IOMMU page sizes every domain supports, >= PAGE_SIZE
 * @v2: opened as VFIO_TYPE1v2_IOMMU or _NESTING_IOMMU (strict unmap
 *      semantics, dirty tracking)
 * @nesting: opened as VFIO_TYPE1_NESTING_IOMMU: domains are nesting parents
 * @dirty_tracking: VFIO_IOMMU_DIRTY_PAGES_FLAG_START is in effect
 * @dirty_pgshift: page size of the dirty bitmaps, log2
 * @vaddr_invalid_count: ranges whose vaddr userspace invalidated
 * @device_lock: protects @devices; see the lock order
 * @devices: registered vfio devices (struct t1_device)
 * @domain_lock: see the lock order; with @lock, changes @domains and
 *               what the domains map
 * @nr_revoked: ranges of device memory revoked by a device event and not
 *              yet removed from @dma_tree (done under @lock, lazily)
 * @nr_links: struct t1_p2p whose notifier is still registered; release
 *            waits for it to drop to 0
 */
struct t1_iommu {
	struct mutex lock; /* see the lock order above */
	struct rb_root_cached dma_tree;
	unsigned int dma_avail;
	struct list_head domains;
	struct list_head emulated_groups;
	struct t1_iova_ranges ranges;
	unsigned long pgsize_bitmap;
	bool v2;
	bool nesting;
	bool dirty_tracking;
	unsigned int dirty_pgshift;
	unsigned int vaddr_invalid_count;
	struct rw_semaphore device_lock;
	struct list_head devices;
	struct mutex domain_lock; /* see the lock order above */
	atomic_t nr_revoked;
	atomic_t nr_links;
};

/**
 * struct t1_device - a registered vfio device
 * @vdev: the device
 * @next: entry in t1_iommu.devices
 */
struct t1_device {
	struct vfio_device *vdev;
	struct list_head next;
};

/**
 * struct t1_domain - one IOMMU domain of a container
 * @domain: the paging domain
 * @next: entry in t1_iommu.domains
 * @groups: struct t1_group attached to @domain
 * @prot: IOMMU_* bits added to every mapping (IOMMU_CACHE when coherent)
 * @enforce_cc: the domain blocks no-snoop DMA
 */
struct t1_domain {
	struct iommu_domain *domain;
	struct list_head next;
	struct list_head groups;
	int prot;
	bool enforce_cc;
};

/**
 * struct t1_group - an attached IOMMU group
 * @group: the group
 * @next: entry in t1_domain.groups or t1_iommu.emulated_groups
 * @domain: its domain, NULL for a group of emulated devices
 */
struct t1_group {
	struct iommu_group *group;
	struct list_head next;
	struct t1_domain *domain;
};

/**
 * struct t1_extent - physically contiguous pinned pages of a range
 * @pfn: first page frame
 * @npages: number of pages
 *
 * A range's extents follow each other in IOVA order with no gap, so the
 * IOVA of an extent is the range's IOVA plus the pages of the extents
 * before it.
 */
struct t1_extent {
	unsigned long pfn;
	unsigned long npages;
};

/* Extents a range holds without allocating (DPDK maps page by page) */
#define T1_EXT_INLINE	2

/**
 * struct t1_owner - who pays for the pages of a range
 * @mm: the address space vaddr refers to (mmgrab()ed)
 * @task: its thread group leader, whose RLIMIT_MEMLOCK applies
 * @lock_cap: the owner had CAP_IPC_LOCK when it mapped
 */
struct t1_owner {
	struct mm_struct *mm;
	struct task_struct *task;
	bool lock_cap;
};

/**
 * struct t1_dma - one DMA range
 * @rb: node in t1_iommu.dma_tree
 * @iova: first IOVA
 * @last: last IOVA, inclusive
 * @subtree_last: interval tree bookkeeping
 * @vaddr: user address of @iova in @owner's mm
 * @prot: IOMMU_READ and/or IOMMU_WRITE
 * @vaddr_invalid: userspace invalidated @vaddr (VFIO_DMA_UNMAP_FLAG_VADDR)
 * @small_pages: created under disable_hugepages: mapped page by page
 * @pfnmap: device memory (a VM_PFNMAP vma): @ext holds PFNs that are
 *          neither pinned nor charged
 * @p2p: link to the vfio device of a pfnmap range, NULL when untracked
 * @revoked: a linked pfnmap range whose device memory went away: it is in
 *           no domain any more and waits to be removed; under domain_lock
 * @iommu_pinned: all pages are pinned in @ext and mapped in every domain
 * @owner: who pays for the pinned pages
 * @locked: pages charged to @owner for this range
 * @ext: extents of the pinned pages while @iommu_pinned: @ext_inline or
 *       an allocated array
 * @nr_ext: used entries of @ext
 * @max_ext: entries @ext has room for
 * @ext_inline: the extents of a small range, without an allocation
 * @pins: emulated pins: page index in the range -> struct t1_pin
 * @nr_pins: number of entries in @pins
 * @dirty: dirty bitmap while dirty tracking is on, one bit per
 *         1 << t1_iommu.dirty_pgshift bytes
 */
struct t1_dma {
	struct rb_node rb;
	u64 iova;
	u64 last;
	u64 subtree_last;
	unsigned long vaddr;
	int prot;
	bool vaddr_invalid;
	bool small_pages;
	bool pfnmap;
	bool iommu_pinned;
	bool revoked;
	struct t1_p2p *p2p;
	struct t1_owner owner;
	unsigned long locked;
	struct t1_extent *ext;
	unsigned long nr_ext;
	unsigned long max_ext;
	struct t1_extent ext_inline[T1_EXT_INLINE];
	struct xarray pins;
	unsigned long nr_pins;
	unsigned long *dirty;
};

static inline u64 t1_dma_size(const struct t1_dma *dma)
{
	return dma->last - dma->iova + 1;
}

static inline unsigned long t1_dma_npages(const struct t1_dma *dma)
{
	return t1_dma_size(dma) >> PAGE_SHIFT;
}

/* Smallest IOMMU page size of the container */
static inline u64 t1_iommu_min_pgsize(const struct t1_iommu *iommu)
{
	return 1ULL << __ffs(iommu->pgsize_bitmap);
}

/**
 * struct t1_unmap - one VFIO_IOMMU_UNMAP_DMA request, as it progresses
 * @iova: first IOVA of the request
 * @last: last IOVA of the request, inclusive
 * @vaddr_only: only invalidate the vaddr of the ranges, keep them mapped
 * @bitmap: report the dirty bits of the ranges here first, or NULL
 * @unmapped: out: bytes unmapped (or invalidated) so far
 * @notify_iova: out, with -EAGAIN: first IOVA whose devices must unpin
 * @notify_last: out, with -EAGAIN: last IOVA whose devices must unpin
 */
struct t1_unmap {
	u64 iova;
	u64 last;
	bool vaddr_only;
	struct vfio_bitmap *bitmap;
	u64 unmapped;
	u64 notify_iova;
	u64 notify_last;
};

/* domain.c */
int t1_group_attach(struct t1_iommu *iommu, struct iommu_group *group,
		    bool emulated);
void t1_group_detach(struct t1_iommu *iommu, struct iommu_group *group);
bool t1_iova_range_valid(struct t1_iommu *iommu, u64 iova, u64 last);
bool t1_domain_all_enforce_cc(struct t1_iommu *iommu);
void t1_group_detach_all(struct t1_iommu *iommu);

/* dma.c */
struct t1_dma *t1_dma_first(struct t1_iommu *iommu, u64 iova, u64 last);
struct t1_dma *t1_dma_next(struct t1_iommu *iommu, struct t1_dma *dma,
			   u64 iova, u64 last);
int t1_dma_map(struct t1_iommu *iommu, u64 iova, u64 size,
	       unsigned long vaddr, int prot);
int t1_dma_update_vaddr(struct t1_iommu *iommu, u64 iova, u64 size,
			unsigned long vaddr);
int t1_dma_unmap(struct t1_iommu *iommu, struct t1_unmap *req);
void t1_dma_remove(struct t1_iommu *iommu, struct t1_dma *dma);
void t1_dma_remove_all(struct t1_iommu *iommu);
void t1_dma_reap_revoked(struct t1_iommu *iommu);
void t1_dma_unmap_all_domains(struct t1_iommu *iommu, struct t1_dma *dma);
int t1_dma_map_domain(struct t1_iommu *iommu, struct t1_dma *dma,
		      struct t1_domain *domain);
void t1_dma_unmap_domain(struct t1_iommu *iommu, struct t1_dma *dma,
			 struct t1_domain *domain);
void t1_dma_unpin_all_iommu(struct t1_iommu *iommu);
int t1_dma_dirty_start(struct t1_iommu *iommu);
void t1_dma_dirty_stop(struct t1_iommu *iommu);
int t1_dma_dirty_get(struct t1_iommu *iommu, u64 iova, u64 size,
		     struct vfio_bitmap *bitmap);
int t1_dma_dirty_check(struct t1_iommu *iommu, u64 iova, u64 size,
		       struct vfio_bitmap *bitmap);
int t1_dma_dirty_report(struct t1_iommu *iommu, u64 iova, u64 last,
			struct vfio_bitmap *bitmap);

/* p2p.c */
int t1_p2p_prepare(struct t1_iommu *iommu, struct t1_dma *dma);
int t1_p2p_pin(struct t1_iommu *iommu, struct t1_dma *dma);
int t1_p2p_publish(struct t1_iommu *iommu, struct t1_dma *dma);
void t1_p2p_detach(struct t1_iommu *iommu, struct t1_dma *dma);
void t1_p2p_wait_links(struct t1_iommu *iommu);
int __init t1_p2p_init(void);
void t1_p2p_exit(void);

/* pin.c */
int t1_batch_grow(struct t1_dma *dma);
int t1_acct_owner(struct t1_owner *owner, unsigned long npages, bool inc);
int t1_acct(struct t1_dma *dma, unsigned long npages, bool inc);
int t1_pin_dma(struct t1_iommu *iommu, struct t1_dma *dma);
void t1_pin_release_extents(struct t1_dma *dma);
void t1_pin_drop_emulated(struct t1_iommu *iommu, struct t1_dma *dma);
int t1_pin_pages(struct t1_iommu *iommu, dma_addr_t iova, int npage,
		 int prot, struct page **pages);
void t1_pin_unpin_pages(struct t1_iommu *iommu, dma_addr_t iova, int npage);
int t1_pin_dma_rw(struct t1_iommu *iommu, dma_addr_t iova, void *buf,
		  size_t len, bool write);
void t1_pin_mark_dirty(struct t1_iommu *iommu, struct t1_dma *dma,
		       u64 iova, u64 len);
void t1_pin_dirty_pinned(struct t1_iommu *iommu, struct t1_dma *dma);

#endif /* __VFIO_TYPE1_H */
