// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: BAR mappings in userspace.
 *
 * mmap() of a memory BAR region only sets the mapping up; pages are
 * inserted on *fault*, under memory_lock held for reading and only while
 * memory decode is on.  A fault maps the largest block it can: a PUD
 * (1 GiB) or PMD (2 MiB) entry where the vma covers the naturally aligned
 * block around the address, the BAR holds it and its physical address is
 * aligned as much, else a page and the pages around it in the same
 * 64 KiB block.  Without a hint, mmap() places a large BAR mapping so
 * that huge blocks line up (vfio_pci_mmap_get_unmapped_area()).
 *
 * Whoever turns decode off (a COMMAND write clearing the memory bit, a
 * reset) holds memory_lock for writing and first *zaps* every BAR mapping
 * of the device, huge entries included, with
 * vfio_device_zap_range(): all files of the device share the address_space
 * of its inode, so that one call reaches every process.  A later access
 * faults again and either gets the page back (decode is on again) or
 * SIGBUS.
 *
 * The vma keeps the file offset as its vm_pgoff, so a vma's position in
 * the address_space is its region offset: zapping a file range zaps
 * exactly the mappings of that range.
 *
 * A memory BAR smaller than a page can be mapped too when it starts a
 * page and the rest of that page is free: while the device is open the
 * rest is held as a *pad*, a resource of its own beside the BAR, so no
 * other BAR can be placed there and reached through the user's page.
 */

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pfn_t.h>
#include <linux/pci.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

/* Pages in one region's stretch of the file offsets. */
#define REGION_PGOFF_MASK	((1UL << (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT)) - 1)

/**
 * vfio_pci_mmap_ok - can a BAR be mapped into userspace?
 * @core: the device
 * @bar: BAR number
 *
 * Memory BARs of at least a page can, and smaller ones whose page is
 * padded (see vfio_pci_mmap_pad()).
 *
 * Return: true if mmap() of the BAR's region is allowed.
 */
bool vfio_pci_mmap_ok(struct vfio_pci_core_device *core, int bar)
{
	return vfio_pci_bar_present(core, bar) &&
	       pci_resource_flags(core->pdev, bar) & IORESOURCE_MEM &&
	       (pci_resource_len(core->pdev, bar) >= PAGE_SIZE ||
		core->bar_pad[bar]);
}

/**
 * vfio_pci_mmap_pad - hold the rest of the page of each sub-page BAR
 * @core: the device, being opened
 *
 * A BAR that does not start a page, or whose page already holds something
 * else, gets no pad and stays unmappable.  Undo with
 * vfio_pci_mmap_unpad().
 */
void vfio_pci_mmap_pad(struct vfio_pci_core_device *core)
{
	int bar;

	lockdep_assert_held(&core->vdev.dev_set->lock);

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		struct resource *res = pci_resource_n(core->pdev, bar);
		struct resource *pad;

		if (!(res->flags & IORESOURCE_MEM) || !res->parent ||
		    !resource_size(res) || resource_size(res) >= PAGE_SIZE ||
		    !PAGE_ALIGNED(res->start))
			continue;
		pad = kzalloc(sizeof(*pad), GFP_KERNEL);
		if (!pad)
			continue;
		pad->name = "vfio-pci sub-page pad";
		pad->start = res->end + 1;
		pad->end = res->start + PAGE_SIZE - 1;
		pad->flags = res->flags & ~IORESOURCE_BUSY;
		if (request_resource(res->parent, pad)) {
			kfree(pad);
			continue;
		}
		core->bar_pad[bar] = pad;
	}
}

/**
 * vfio_pci_mmap_unpad - give back what vfio_pci_mmap_pad() held
 * @core: the device, being closed: no user mapping is left
 */
void vfio_pci_mmap_unpad(struct vfio_pci_core_device *core)
{
	int bar;

	lockdep_assert_held(&core->vdev.dev_set->lock);

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (!core->bar_pad[bar])
			continue;
		release_resource(core->bar_pad[bar]);
		kfree(core->bar_pad[bar]);
		core->bar_pad[bar] = NULL;
	}
}

/**
 * vfio_pci_mmap_zap - remove every userspace mapping of the BARs
 * @core: the device
 *
 * Caller holds memory_lock for writing and is about to turn memory decode
 * off; faults stay blocked until it drops the lock.
 */
void vfio_pci_mmap_zap(struct vfio_pci_core_device *core)
{
	lockdep_assert_held_write(&core->memory_lock);
	vfio_device_zap_range(&core->vdev,
			      vfio_pci_region_offset(VFIO_PCI_BAR0_REGION_INDEX),
			      vfio_pci_region_offset(VFIO_PCI_ROM_REGION_INDEX));
}

/*
 * The largest mapping a BAR fault may use, as a page order: PUD and PMD
 * where the architecture maps PFNs with them, else a page.
 */
static unsigned int vfio_pci_mmap_max_order(void)
{
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP))
		return PUD_ORDER;
	if (IS_ENABLED(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP))
		return PMD_ORDER;
	return 0;
}

/*
 * After a page fault, the pages around it: the rest of the naturally
 * aligned VFIO_PCI_FAULT_AROUND block, inside the vma and the BAR.  A
 * mapping no huge entry fits (placed off the BAR's alignment, or the
 * small areas around an MSI-X table) then takes one fault per block
 * instead of one per page.  Best effort: a page that cannot be inserted
 * ends it, the next access faults on its own.
 */
#define VFIO_PCI_FAULT_AROUND	SZ_64K

static void vfio_pci_mmap_fault_around(struct vfio_pci_core_device *core,
				       struct vm_area_struct *vma,
				       unsigned long addr, u64 phys, u64 off,
				       unsigned int bar)
{
	u64 bar_end = PAGE_ALIGN(pci_resource_len(core->pdev, bar));
	unsigned long start, end, a;

	lockdep_assert_held_read(&core->memory_lock);

	start = max(ALIGN_DOWN(addr, VFIO_PCI_FAULT_AROUND), vma->vm_start);
	if (addr - start > off)
		start = addr - off;
	end = min(ALIGN_DOWN(addr, VFIO_PCI_FAULT_AROUND) +
		  VFIO_PCI_FAULT_AROUND, vma->vm_end);
	if (end - addr > bar_end - off)
		end = addr + (bar_end - off);

	/* @phys is the BAR at @addr; @start may lie below it */
	for (a = start; a < end; a += PAGE_SIZE) {
		u64 pa = a < addr ? phys - (addr - a) : phys + (a - addr);

		if (a != addr &&
		    vmf_insert_pfn(vma, a, PHYS_PFN(pa)) != VM_FAULT_NOPAGE)
			break;
	}
}

/*
 * A fault of @order at vmf->address: the entry covers the naturally
 * aligned block of PAGE_SIZE << @order around the address, which must lie
 * inside the vma and inside the BAR, with a physical address aligned as
 * much; otherwise the mm falls back to a smaller order, down to a page.
 */
static vm_fault_t vfio_pci_mmap_huge_fault(struct vm_fault *vmf,
					   unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vfio_pci_core_device *core = vma->vm_private_data;
	unsigned int bar = vma->vm_pgoff >> (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT);
	unsigned long size = PAGE_SIZE << order;
	unsigned long addr = ALIGN_DOWN(vmf->address, size);
	unsigned long pgoff;
	vm_fault_t ret;
	u64 off, phys;

	if (order > vfio_pci_mmap_max_order() ||
	    addr < vma->vm_start || addr + size > vma->vm_end)
		return VM_FAULT_FALLBACK;
	pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	off = (u64)(pgoff & REGION_PGOFF_MASK) << PAGE_SHIFT;
	phys = pci_resource_start(core->pdev, bar) + off;
	if (order &&
	    (!IS_ALIGNED(phys, size) ||
	     off + size > pci_resource_len(core->pdev, bar)))
		return VM_FAULT_FALLBACK;

	down_read(&core->memory_lock);
	if (!vfio_pci_memory_enabled(core)) {
		ret = VM_FAULT_SIGBUS;
	} else if (!order) {
		ret = vmf_insert_pfn(vma, addr, PHYS_PFN(phys));
		if (ret == VM_FAULT_NOPAGE)
			vfio_pci_mmap_fault_around(core, vma, addr, phys, off,
						   bar);
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	} else if (order == PMD_ORDER) {
		ret = vmf_insert_pfn_pmd(vmf, phys_to_pfn_t(phys, PFN_DEV),
					 vmf->flags & FAULT_FLAG_WRITE);
#endif
#ifdef CONFIG_ARCH_SUPPORTS_PUD_PFNMAP
	} else if (order == PUD_ORDER) {
		ret = vmf_insert_pfn_pud(vmf, phys_to_pfn_t(phys, PFN_DEV),
					 vmf->flags & FAULT_FLAG_WRITE);
#endif
	} else {
		ret = VM_FAULT_FALLBACK;
	}
	up_read(&core->memory_lock);
	return ret;
}

static vm_fault_t vfio_pci_mmap_fault(struct vm_fault *vmf)
{
	return vfio_pci_mmap_huge_fault(vmf, 0);
}

static const struct vm_operations_struct vfio_pci_mmap_ops = {
	.fault = vfio_pci_mmap_fault,
	.huge_fault = vfio_pci_mmap_huge_fault,
};

/**
 * vfio_pci_mmap_get_unmapped_area - place a BAR mapping for huge pages
 * @core: the device, open
 * @file: the device file
 * @addr: the caller's hint, or 0
 * @len: length of the mapping
 * @pgoff: file offset in pages
 * @flags: mmap() flags
 *
 * Without a hint, a mapping of at least PMD_SIZE of a memory BAR is
 * placed so that its addresses and the BAR's physical addresses agree
 * modulo the largest huge page size (up to PUD_SIZE) that the mapping
 * and the BAR hold: faults can then map PMDs or PUDs.  Anything else is
 * placed as by default; mmap() itself still checks the range.
 *
 * Return: the address, or a negative errno cast to unsigned long.
 */
unsigned long vfio_pci_mmap_get_unmapped_area(struct vfio_pci_core_device *core,
					      struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags)
{
	unsigned int bar = pgoff >> (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT);
	unsigned long align = 0, area;
	u64 off, phys, room;

	if (addr || (flags & MAP_FIXED) || bar >= PCI_STD_NUM_BARS ||
	    !vfio_pci_mmap_ok(core, bar))
		goto plain;
	off = (u64)(pgoff & REGION_PGOFF_MASK) << PAGE_SHIFT;
	if (off >= pci_resource_len(core->pdev, bar))
		goto plain;
	phys = pci_resource_start(core->pdev, bar) + off;
	room = pci_resource_len(core->pdev, bar) - off;
	if (vfio_pci_mmap_max_order() >= PUD_ORDER &&
	    len >= PUD_SIZE && room >= PUD_SIZE)
		align = PUD_SIZE;
	else if (vfio_pci_mmap_max_order() >= PMD_ORDER &&
		 len >= PMD_SIZE && room >= PMD_SIZE)
		align = PMD_SIZE;
	if (!align || len + align < len)
		goto plain;

	area = mm_get_unmapped_area(current->mm, file, 0, len + align, pgoff,
				    flags);
	if (IS_ERR_VALUE(area))
		goto plain;
	/* The first address in the area congruent to @phys. */
	return area + ((phys - area) & (align - 1));

plain:
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
}

/**
 * vfio_pci_mmap - set up a userspace mapping of a BAR
 * @core: the device, open
 * @vma: the new mapping; vm_pgoff is the file offset in pages
 *
 * Called by mmap() with the mm's mmap_lock held for writing: claiming the
 * BAR nests core->bar_lock inside it.
 *
 * Return: 0 or -EINVAL for a region that cannot be mapped, a private
 * mapping or a range past the BAR; an error claiming the BAR.
 */
int vfio_pci_mmap(struct vfio_pci_core_device *core,
		  struct vm_area_struct *vma)
{
	u64 index = vma->vm_pgoff >> (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT);
	u64 start = (u64)(vma->vm_pgoff & REGION_PGOFF_MASK) << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	int ret;

	mmap_assert_write_locked(vma->vm_mm);

	if (index >= PCI_STD_NUM_BARS || !vfio_pci_mmap_ok(core, index))
		return -EINVAL;
	/* A private copy of device memory means nothing. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (start >= pci_resource_len(core->pdev, index) ||
	    len > PAGE_ALIGN(pci_resource_len(core->pdev, index)) - start)
		return -EINVAL;

	/* The BAR is ours (claimed) before any page of it is user-visible. */
	ret = vfio_pci_bar_claim(core, index);
	if (ret)
		return ret;

	vma->vm_private_data = core;
	/*
	 * A BAR is never encrypted memory: with memory encryption (SME, or
	 * a SEV or TDX guest) the mapping must be a decrypted (shared) one,
	 * or the CPU treats the device's registers as private memory.
	 */
	vma->vm_page_prot =
		pgprot_decrypted(pgprot_noncached(vma->vm_page_prot));
	/*
	 * VM_ALLOW_ANY_UNCACHED: KVM may map the BAR into a guest with any
	 * uncached attribute, Normal-NC included (arm64), which a guest
	 * driver needs for write combining; PCI BARs tolerate it.
	 */
	vm_flags_set(vma, VM_ALLOW_ANY_UNCACHED | VM_IO | VM_PFNMAP |
			  VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &vfio_pci_mmap_ops;
	return 0;
}
