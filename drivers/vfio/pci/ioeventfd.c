// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: ioeventfds, VFIO_DEVICE_IOEVENTFD.
 *
 * An ioeventfd is a user's eventfd bound to a BAR *write*: a fixed value
 * of 1, 2, 4 or 8 bytes at a fixed offset.  When the eventfd is signalled
 * (by KVM, when a guest writes a doorbell it trapped), the kernel does the
 * write without a trip through userspace.  The write runs from the
 * virqfd's wake-up, in atomic context, when memory_lock can be had there
 * without waiting, and from its work item otherwise; like any other BAR
 * access it is dropped while memory decode is off.
 *
 * The ioeventfds of a device live on core->ioeventfds under
 * core->ioeventfds_lock and go when the device is closed.
 */

#include <linux/io.h>
#include <linux/list.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

/* Enough for every doorbell of a device; bounds what a user can pin. */
#define VFIO_PCI_IOEVENTFD_MAX	1000

/**
 * struct vfio_pci_ioeventfd - one eventfd bound to a BAR write
 * @entry: in core->ioeventfds
 * @core: the device
 * @virqfd: the eventfd's consumer
 * @addr: kernel address of the register
 * @pos: the register's offset in the device file, as the user gave it
 * @data: the value written
 * @width: bytes written: 1, 2, 4 or 8
 * @mem: the BAR is a memory BAR, whose decode can be off
 */
struct vfio_pci_ioeventfd {
	struct list_head entry;
	struct vfio_pci_core_device *core;
	struct virqfd *virqfd;
	void __iomem *addr;
	u64 pos;
	u64 data;
	u8 width;
	bool mem;
};

/* The write itself; memory_lock is held for reading. */
static void vfio_pci_ioeventfd_do(struct vfio_pci_ioeventfd *ioev)
{
	lockdep_assert_held(&ioev->core->memory_lock);

	if (ioev->mem && !vfio_pci_memory_enabled(ioev->core))
		return;

	switch (ioev->width) {
	case 1:
		iowrite8(ioev->data, ioev->addr);
		break;
	case 2:
		iowrite16(ioev->data, ioev->addr);
		break;
	case 4:
		iowrite32(ioev->data, ioev->addr);
		break;
#ifdef writeq
	case 8:
		writeq(ioev->data, ioev->addr);
		break;
#endif
	}
}

/* In the eventfd's wake-up: do it now if that needs no waiting. */
static int vfio_pci_ioeventfd_handler(void *opaque, void *unused)
{
	struct vfio_pci_ioeventfd *ioev = opaque;

	if (!down_read_trylock(&ioev->core->memory_lock))
		return 1;	/* the thread will */
	vfio_pci_ioeventfd_do(ioev);
	up_read(&ioev->core->memory_lock);
	return 0;
}

static void vfio_pci_ioeventfd_thread(void *opaque, void *unused)
{
	struct vfio_pci_ioeventfd *ioev = opaque;

	down_read(&ioev->core->memory_lock);
	vfio_pci_ioeventfd_do(ioev);
	up_read(&ioev->core->memory_lock);
}

static void vfio_pci_ioeventfd_free(struct vfio_pci_ioeventfd *ioev)
{
	lockdep_assert_held(&ioev->core->ioeventfds_lock);

	vfio_virqfd_disable(&ioev->virqfd);
	list_del(&ioev->entry);
	ioev->core->ioeventfds_nr--;
	kfree(ioev);
}

/* Where a write of @width bytes at file offset @pos may be bound. */
static int vfio_pci_ioeventfd_check(struct vfio_pci_core_device *core,
				    u64 pos, unsigned int width, bool *mem)
{
	u64 index = vfio_pci_offset_index(pos);
	u64 off = vfio_pci_offset_in_region(pos);
	struct pci_dev *pdev = core->pdev;

	if (index >= PCI_STD_NUM_BARS || !vfio_pci_bar_present(core, index))
		return -EINVAL;
	if (off + width > pci_resource_len(pdev, index))
		return -EINVAL;
	*mem = pci_resource_flags(pdev, index) & IORESOURCE_MEM;
#ifndef writeq
	if (width == 8)
		return -EINVAL;
#endif
	if (width == 8 && !*mem)
		return -EINVAL;
	/* The MSI-X table is the host's, whatever the user maps. */
	if (index == core->msix_bar && off + width > core->msix_offset &&
	    off < core->msix_offset + core->msix_size)
		return -EINVAL;
	return 0;
}

static struct vfio_pci_ioeventfd *
vfio_pci_ioeventfd_find(struct vfio_pci_core_device *core, u64 pos, u64 data,
			unsigned int width)
{
	struct vfio_pci_ioeventfd *ioev;

	lockdep_assert_held(&core->ioeventfds_lock);
	list_for_each_entry(ioev, &core->ioeventfds, entry)
		if (ioev->pos == pos && ioev->data == data &&
		    ioev->width == width)
			return ioev;
	return NULL;
}

static int vfio_pci_ioeventfd_add(struct vfio_pci_core_device *core,
				  struct vfio_device_ioeventfd *args,
				  unsigned int width, bool mem)
{
	u64 index = vfio_pci_offset_index(args->offset);
	struct vfio_pci_ioeventfd *ioev;
	int ret;

	lockdep_assert_held(&core->ioeventfds_lock);

	if (vfio_pci_ioeventfd_find(core, args->offset, args->data, width))
		return -EEXIST;
	if (core->ioeventfds_nr >= VFIO_PCI_IOEVENTFD_MAX)
		return -ENOSPC;
	ret = vfio_pci_bar_claim(core, index);
	if (ret)
		return ret;

	ioev = kzalloc(sizeof(*ioev), GFP_KERNEL_ACCOUNT);
	if (!ioev)
		return -ENOMEM;
	ioev->core = core;
	ioev->addr = core->barmap[index] +
		     vfio_pci_offset_in_region(args->offset);
	ioev->pos = args->offset;
	ioev->data = args->data;
	ioev->width = width;
	ioev->mem = mem;

	ret = vfio_virqfd_enable(ioev, vfio_pci_ioeventfd_handler,
				 vfio_pci_ioeventfd_thread, NULL,
				 &ioev->virqfd, args->fd);
	if (ret) {
		kfree(ioev);
		return ret;
	}
	list_add_tail(&ioev->entry, &core->ioeventfds);
	core->ioeventfds_nr++;
	return 0;
}

/**
 * vfio_pci_ioctl_ioeventfd - VFIO_DEVICE_IOEVENTFD
 * @core: the device, open
 * @uarg: the user's struct vfio_device_ioeventfd
 *
 * fd -1 removes the ioeventfd bound to the same offset, data and width.
 *
 * Only as many low bytes of the data as the size flag says are written;
 * wider data and unaligned registers are accepted, as upstream does.
 *
 * Return: 0; -EINVAL for bad input (no single size flag, a register not
 * inside a BAR, in the MSI-X table); -EEXIST for a duplicate;
 * -ENODEV when removing one that does not exist; -ENOSPC past the limit;
 * -EBADF or -EINVAL for an fd that is not an eventfd.
 */
int vfio_pci_ioctl_ioeventfd(struct vfio_pci_core_device *core,
			     struct vfio_device_ioeventfd __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_device_ioeventfd, fd);
	struct vfio_device_ioeventfd args;
	struct vfio_pci_ioeventfd *ioev;
	unsigned int width;
	bool mem;
	int ret;

	if (copy_from_user(&args, uarg, minsz))
		return -EFAULT;
	if (args.argsz < minsz ||
	    args.flags & ~VFIO_DEVICE_IOEVENTFD_SIZE_MASK)
		return -EINVAL;
	/* The size flags are 1, 2, 4 and 8: the width in bytes. */
	width = args.flags;
	if (hweight32(width) != 1)
		return -EINVAL;
	ret = vfio_pci_ioeventfd_check(core, args.offset, width, &mem);
	if (ret)
		return ret;

	mutex_lock(&core->ioeventfds_lock);
	if (args.fd == -1) {
		ioev = vfio_pci_ioeventfd_find(core, args.offset, args.data,
					       width);
		if (ioev)
			vfio_pci_ioeventfd_free(ioev);
		else
			ret = -ENODEV;
	} else {
		ret = vfio_pci_ioeventfd_add(core, &args, width, mem);
	}
	mutex_unlock(&core->ioeventfds_lock);
	return ret;
}

/**
 * vfio_pci_ioeventfd_release_all - undo every VFIO_DEVICE_IOEVENTFD
 * @core: the device, being closed
 *
 * Returns once no write of them can still run.
 */
void vfio_pci_ioeventfd_release_all(struct vfio_pci_core_device *core)
{
	struct vfio_pci_ioeventfd *ioev, *tmp;

	mutex_lock(&core->ioeventfds_lock);
	list_for_each_entry_safe(ioev, tmp, &core->ioeventfds, entry)
		vfio_pci_ioeventfd_free(ioev);
	mutex_unlock(&core->ioeventfds_lock);
}
