// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: read(2)/write(2) access to the BARs and the option ROM.
 *
 * A BAR is claimed (pci_request_selected_regions()) and mapped into the
 * kernel the first time the user touches it and released when the device
 * is closed.  An access is cut into *batches* of at most BATCH bytes that
 * go through a kernel buffer: the user copy happens with no lock held, the
 * device access under memory_lock held for reading, with memory decode
 * checked once per batch.  Within a batch every device access is naturally
 * aligned and as wide as alignment and length allow (8 bytes for memory
 * BARs, 4 for I/O ports), so a 1/2/4/8-byte access by the user reaches the
 * device as exactly one access of that width.
 *
 * The MSI-X table is the host's: it programs it for the vectors the user
 * asks for with VFIO_DEVICE_SET_IRQS.  As in upstream, an access never
 * reaches it: batches are cut at its edges, its bytes read as all ones
 * and writes to them are dropped, and the access as a whole succeeds.
 * Only the table is kept out; the Pending Bit Array is the device's.
 * mmap() of the BAR is decided separately (see vfio_pci_region_caps()).
 */

#include <linux/io.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/unaligned.h>
#include <linux/uaccess.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

#define BATCH	64

/**
 * vfio_pci_bar_present - can the user reach a BAR through its region?
 * @core: the device
 * @bar: BAR number
 *
 * Return: true for an implemented BAR; false for an absent one and for the
 * upper half of a 64-bit BAR, which is reported with size 0.
 */
bool vfio_pci_bar_present(struct vfio_pci_core_device *core, int bar)
{
	return pci_resource_len(core->pdev, bar) &&
	       pci_resource_flags(core->pdev, bar) &
	       (IORESOURCE_MEM | IORESOURCE_IO);
}

/*
 * The BAR's kernel mapping, made on first use.  core->bar_lock is a leaf:
 * it is taken here under mm->mmap_lock (mmap()), under
 * core->ioeventfds_lock (VFIO_DEVICE_IOEVENTFD) or with no lock held
 * (read/write), and only the resource tree's and the ioremap code's
 * locks are taken inside it.
 */
static void __iomem *vfio_pci_bar_map(struct vfio_pci_core_device *core,
				      int bar)
{
	struct pci_dev *pdev = core->pdev;
	void __iomem *io;
	int ret;

	/* Pairs with the release below: a reader sees a full mapping. */
	io = (void __iomem *)smp_load_acquire((void **)&core->barmap[bar]);
	if (io)
		return io;

	mutex_lock(&core->bar_lock);
	io = core->barmap[bar];
	if (io)
		goto out_unlock;

	ret = pci_request_selected_regions(pdev, 1 << bar, "vfio-pci");
	if (ret) {
		io = IOMEM_ERR_PTR(ret);
		goto out_unlock;
	}
	io = pci_iomap(pdev, bar, 0);
	if (!io) {
		pci_release_selected_regions(pdev, 1 << bar);
		io = IOMEM_ERR_PTR(-ENOMEM);
		goto out_unlock;
	}
	/* Publish only a complete mapping; pairs with the acquire above. */
	smp_store_release((void **)&core->barmap[bar], (void __force *)io);
out_unlock:
	mutex_unlock(&core->bar_lock);
	return io;
}

/**
 * vfio_pci_bar_claim - make sure a BAR is reserved for the user
 * @core: the device, open
 * @bar: BAR number, of a present BAR
 *
 * Return: 0, or the error reserving or mapping it (-EBUSY: some other
 * driver holds the range).
 */
int vfio_pci_bar_claim(struct vfio_pci_core_device *core, int bar)
{
	void __iomem *io = vfio_pci_bar_map(core, bar);

	return IS_ERR(io) ? PTR_ERR(io) : 0;
}

/**
 * vfio_pci_bar_unmap_all - release every BAR mapping made for the user
 * @core: the device, being closed
 */
void vfio_pci_bar_unmap_all(struct vfio_pci_core_device *core)
{
	int bar;

	lockdep_assert_held(&core->vdev.dev_set->lock);

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (!core->barmap[bar])
			continue;
		pci_iounmap(core->pdev, core->barmap[bar]);
		pci_release_selected_regions(core->pdev, 1 << bar);
		core->barmap[bar] = NULL;
	}
}

/* Widest naturally aligned access at @pos that fits in @left bytes. */
static unsigned int vfio_pci_io_width(u64 pos, size_t left, unsigned int max)
{
	unsigned int w;

	for (w = max; w > 1; w /= 2)
		if (!(pos & (w - 1)) && left >= w)
			break;
	return w;
}

/**
 * vfio_pci_io_batch - move bytes between a kernel buffer and a device
 * @io: an iomap cookie (MMIO or I/O ports)
 * @pos: offset from @io
 * @kbuf: the buffer, little-endian as the device sees it
 * @len: bytes
 * @max: widest access allowed: 8 for MMIO, 4 for I/O ports
 * @write: direction
 *
 * Every access is naturally aligned and as wide as alignment, @len and
 * @max allow.  The caller makes sure the device decodes.
 */
void vfio_pci_io_batch(void __iomem *io, u64 pos, u8 *kbuf, size_t len,
		       unsigned int max, bool write)
{
	size_t i;

	for (i = 0; i < len; ) {
		unsigned int w = vfio_pci_io_width(pos + i, len - i, max);
		void __iomem *p = io + pos + i;

		switch (w) {
#ifdef readq
		case 8:
			/* Only memory BARs get here: their cookie is MMIO. */
			if (write)
				writeq(get_unaligned_le64(kbuf + i), p);
			else
				put_unaligned_le64(readq(p), kbuf + i);
			break;
#endif
		case 4:
			if (write)
				iowrite32(get_unaligned_le32(kbuf + i), p);
			else
				put_unaligned_le32(ioread32(p), kbuf + i);
			break;
		case 2:
			if (write)
				iowrite16(get_unaligned_le16(kbuf + i), p);
			else
				put_unaligned_le16(ioread16(p), kbuf + i);
			break;
		default:
			if (write)
				iowrite8(kbuf[i], p);
			else
				kbuf[i] = ioread8(p);
			break;
		}
		i += w;
	}
}

/*
 * How many of the @n bytes at @pos of @bar lie on the same side of the
 * MSI-X table's edges as the first one; @skip says whether that is inside
 * the table.
 */
static size_t vfio_pci_bar_cut(struct vfio_pci_core_device *core, int bar,
			       u64 pos, size_t n, bool *skip)
{
	u64 start = core->msix_offset;
	u64 end = start + core->msix_size;

	*skip = false;
	if (bar != core->msix_bar || pos >= end)
		return n;
	if (pos < start)
		return min_t(u64, n, start - pos);
	*skip = true;
	return min_t(u64, n, end - pos);
}

/**
 * vfio_pci_bar_rw - read or write a BAR region
 * @core: the device, open
 * @bar: BAR number
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in the BAR
 * @write: direction
 *
 * Bytes of the MSI-X table read as 0xff and are not written (see the top
 * of this file).
 *
 * Return: bytes done, short at the end of the BAR or if a fault stopped
 * it part way, or a negative errno: -EINVAL outside the BAR, -EIO for a
 * memory BAR whose decode is off.
 */
ssize_t vfio_pci_bar_rw(struct vfio_pci_core_device *core, int bar,
			char __user *buf, size_t count, loff_t pos, bool write)
{
	bool mem = pci_resource_flags(core->pdev, bar) & IORESOURCE_MEM;
	u64 len = pci_resource_len(core->pdev, bar);
	unsigned int max = 4;
	size_t done = 0;
	void __iomem *io;
	u8 kbuf[BATCH];
	int ret = 0;

	if (!vfio_pci_bar_present(core, bar) || pos >= len)
		return -EINVAL;
	count = min_t(u64, count, len - pos);

	io = vfio_pci_bar_map(core, bar);
	if (IS_ERR(io))
		return PTR_ERR(io);
#ifdef readq
	if (mem)
		max = 8;
#endif

	while (done < count) {
		size_t n = min_t(size_t, count - done, BATCH);
		bool skip;

		n = vfio_pci_bar_cut(core, bar, pos + done, n, &skip);
		if (write && copy_from_user(kbuf, buf + done, n)) {
			ret = -EFAULT;
			break;
		}

		if (mem) {
			down_read(&core->memory_lock);
			if (!vfio_pci_memory_enabled(core)) {
				up_read(&core->memory_lock);
				ret = -EIO;
				break;
			}
		}
		if (!skip)
			vfio_pci_io_batch(io, pos + done, kbuf, n, max, write);
		else if (!write)
			memset(kbuf, 0xff, n);
		if (mem)
			up_read(&core->memory_lock);

		if (!write && copy_to_user(buf + done, kbuf, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
	}

	if (!done)
		return ret;
	return done;
}

/**
 * vfio_pci_rom_read - read the option ROM region
 * @core: the device, open
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in the ROM
 *
 * The ROM comes from the device or, for a boot VGA device, from the
 * platform's shadow copy; pci_map_rom() knows which.  The ROM is only
 * decoded while memory decode is on, which the user may not have turned
 * on yet (QEMU reads the ROM before the guest runs), so it is turned on
 * for the duration of the read, with memory_lock held for writing so no
 * one else sees it.  The region is as long as the ROM resource; what lies
 * past the image pci_map_rom() finds in it reads as all ones, like an
 * unprogrammed ROM part.
 *
 * Return: bytes read, short at the end of the region, or a negative errno:
 * -EINVAL at or past the end, -EIO when the device is in a low power state
 * or the ROM cannot be mapped.
 */
ssize_t vfio_pci_rom_read(struct vfio_pci_core_device *core, char __user *buf,
			  size_t count, loff_t pos)
{
	struct pci_dev *pdev = core->pdev;
	u64 len = pci_resource_len(pdev, PCI_ROM_RESOURCE);
	void __iomem *rom;
	size_t size = 0;
	u8 *kbuf;
	u16 cmd;
	int ret = 0;

	if (!len || pos >= len)
		return -EINVAL;
	count = min_t(u64, count, len - pos);

	kbuf = kvmalloc(count, GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;

	down_write(&core->memory_lock);
	if (pdev->current_state != PCI_D0 ||
	    pci_read_config_word(pdev, PCI_COMMAND, &cmd)) {
		ret = -EIO;
		goto out_unlock;
	}
	if (!(cmd & PCI_COMMAND_MEMORY))
		pci_write_config_word(pdev, PCI_COMMAND,
				      cmd | PCI_COMMAND_MEMORY);

	rom = pci_map_rom(pdev, &size);
	if (rom) {
		memset(kbuf, 0xff, count);
		if (pos < size)
			memcpy_fromio(kbuf, rom + pos,
				      min_t(size_t, count, size - pos));
		pci_unmap_rom(pdev, rom);
	} else {
		ret = -EIO;
	}

	if (!(cmd & PCI_COMMAND_MEMORY))
		pci_write_config_word(pdev, PCI_COMMAND, cmd);
out_unlock:
	up_write(&core->memory_lock);

	if (!ret && copy_to_user(buf, kbuf, count))
		ret = -EFAULT;
	kvfree(kbuf);
	return ret ? ret : count;
}
