// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: the legacy VGA region (VFIO_PCI_VGA_REGION_INDEX).
 *
 * A VGA-class device also answers at fixed legacy addresses: memory
 * 0xa0000-0xbffff and I/O ports 0x3b0-0x3bb and 0x3c0-0x3df.  The region
 * is laid out by those addresses: region offset 0xa0000 is memory address
 * 0xa0000, region offset 0x3c0 is port 0x3c0; everything else in it is a
 * hole.  Several VGA devices share the legacy ranges, so every access
 * takes the range from the VGA arbiter first.  The disable_vga option
 * leaves the region out.
 */

#include <linux/io.h>
#include <linux/pci.h>
#include <linux/uaccess.h>
#include <linux/vfio_pci_core.h>
#include <linux/vgaarb.h>

#include "private.h"

#define VGA_MEM_START	0xa0000
#define VGA_MEM_END	0xc0000		/* the region's size too */
#define VGA_IO_MONO	0x3b0
#define VGA_IO_MONO_END	0x3bc
#define VGA_IO_COLOR	0x3c0
#define VGA_IO_COLOR_END 0x3e0

/* Bytes moved per arbiter round trip; VGA users go 1, 2 or 4 at a time. */
#define VGA_BATCH	64

/**
 * vfio_pci_vga_present - does the device have a VGA region?
 * @core: the device
 *
 * Return: true for a VGA-class device unless the disable_vga option is set.
 */
bool vfio_pci_vga_present(struct vfio_pci_core_device *core)
{
	return !core->opts.disable_vga &&
	       (core->pdev->class >> 8) == PCI_CLASS_DISPLAY_VGA;
}

/**
 * vfio_pci_vga_size - size of the VGA region
 *
 * Return: the size, which covers every legacy address.
 */
u64 vfio_pci_vga_size(void)
{
	return VGA_MEM_END;
}

/*
 * What the arbiter asks: which resources do we decode.  Legacy ranges
 * when the device is the only VGA device, or when its user may need them.
 */
static unsigned int vfio_pci_vga_decode(struct pci_dev *pdev, bool single)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);
	unsigned int decodes = VGA_RSRC_NORMAL_IO | VGA_RSRC_NORMAL_MEM;

	if (single || (core && vfio_pci_vga_present(core)))
		decodes |= VGA_RSRC_LEGACY_IO | VGA_RSRC_LEGACY_MEM;
	return decodes;
}

/**
 * vfio_pci_vga_init - tell the VGA arbiter about a VGA-class device
 * @core: the device being registered, drvdata set
 *
 * Undo with vfio_pci_vga_exit().
 *
 * Return: 0 or the arbiter's error.
 */
int vfio_pci_vga_init(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	unsigned int decodes;
	int ret;

	if ((pdev->class >> 8) != PCI_CLASS_DISPLAY_VGA)
		return 0;
	ret = vga_client_register(pdev, vfio_pci_vga_decode);
	if (ret)
		return ret;
	decodes = vfio_pci_vga_decode(pdev, vga_default_device() == pdev);
	vga_set_legacy_decoding(pdev, decodes);
	return 0;
}

/**
 * vfio_pci_vga_exit - undo vfio_pci_vga_init()
 * @core: the device
 */
void vfio_pci_vga_exit(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;

	if ((pdev->class >> 8) != PCI_CLASS_DISPLAY_VGA)
		return;
	vga_client_unregister(pdev);
	vga_set_legacy_decoding(pdev, VGA_RSRC_LEGACY_IO | VGA_RSRC_LEGACY_MEM |
				VGA_RSRC_NORMAL_IO | VGA_RSRC_NORMAL_MEM);
}

/**
 * vfio_pci_vga_rw - read or write the VGA region
 * @core: the device, open, with a VGA region
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in the region, i.e. the legacy address
 * @write: direction
 *
 * The access is cut into batches of VGA_BATCH bytes bounced through a
 * kernel buffer, the arbiter taken and memory_lock held (so no reset or
 * power change runs under it) around each batch's device accesses only.
 * Unlike a BAR the range is not gated on COMMAND.MEMORY: a VMM forwards
 * its guest's legacy cycles whatever the guest's command register says,
 * and a device that does not decode them reads as all ones.
 *
 * Return: bytes done, short at the end of the range @pos is in or if a
 * fault or a signal stopped it part way, or a negative errno: -EINVAL in
 * a hole, -EFAULT, an arbiter error.
 */
ssize_t vfio_pci_vga_rw(struct vfio_pci_core_device *core, char __user *buf,
			size_t count, loff_t pos, bool write)
{
	unsigned int rsrc, start, end;
	u8 kbuf[VGA_BATCH];
	void __iomem *io;
	bool mem = false;
	size_t done = 0;
	int ret = 0;

	if (pos >= VGA_MEM_START && pos < VGA_MEM_END) {
		start = VGA_MEM_START;
		end = VGA_MEM_END;
		mem = true;
	} else if (pos >= VGA_IO_MONO && pos < VGA_IO_MONO_END) {
		start = VGA_IO_MONO;
		end = VGA_IO_MONO_END;
	} else if (pos >= VGA_IO_COLOR && pos < VGA_IO_COLOR_END) {
		start = VGA_IO_COLOR;
		end = VGA_IO_COLOR_END;
	} else {
		return -EINVAL;
	}
	count = min_t(size_t, count, end - pos);
	rsrc = mem ? VGA_RSRC_LEGACY_MEM : VGA_RSRC_LEGACY_IO;

	io = mem ? ioremap(start, end - start) : ioport_map(start, end - start);
	if (!io)
		return -ENOMEM;

	while (done < count) {
		size_t n = min_t(size_t, count - done, sizeof(kbuf));

		if (write && copy_from_user(kbuf, buf + done, n)) {
			ret = -EFAULT;
			break;
		}
		ret = vga_get_interruptible(core->pdev, rsrc);
		if (ret)
			break;
		down_read(&core->memory_lock);
		vfio_pci_io_batch(io, pos - start + done, kbuf, n, 4, write);
		up_read(&core->memory_lock);
		vga_put(core->pdev, rsrc);

		if (!write && copy_to_user(buf + done, kbuf, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
	}

	if (mem)
		iounmap(io);
	else
		ioport_unmap(io);
	return done ? done : ret;
}
