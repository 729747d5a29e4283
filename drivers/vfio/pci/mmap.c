// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: BAR mappings in userspace.
 *
 * mmap() of a memory BAR region only sets the mapping up; pages are
 * inserted on *fault*, one at a time, under memory_lock held for reading
 * and only while memory decode is on.  Whoever turns decode off (a COMMAND
 * write clearing the memory bit, a reset) holds memory_lock for writing
 * and first *zaps* every BAR mapping of the device with
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
#include <linux/pci.h>
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

static vm_fault_t vfio_pci_mmap_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vfio_pci_core_device *core = vma->vm_private_data;
	u64 bar = vma->vm_pgoff >> (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT);
	unsigned long pfn;
	vm_fault_t ret;

	pfn = (pci_resource_start(core->pdev, bar) >> PAGE_SHIFT) +
	      (vmf->pgoff & REGION_PGOFF_MASK);

	down_read(&core->memory_lock);
	if (vfio_pci_memory_enabled(core))
		ret = vmf_insert_pfn(vma, vmf->address, pfn);
	else
		ret = VM_FAULT_SIGBUS;
	up_read(&core->memory_lock);
	return ret;
}

static const struct vm_operations_struct vfio_pci_mmap_ops = {
	.fault = vfio_pci_mmap_fault,
};

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
	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &vfio_pci_mmap_ops;
	return 0;
}
