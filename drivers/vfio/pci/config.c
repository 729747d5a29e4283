// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: the config space region.
 *
 * The user sees the device's config space, but not all of it is the
 * device's: the BARs and the ROM BAR are *virtual* (kept here, so the user
 * can size and move them without the device decoding anywhere new), some
 * registers are *read-only* (writes are absorbed, the user's write still
 * succeeds, as on real hardware), the rest *passes through*.
 *
 * An access of any length is cut into naturally aligned *units* of 1, 2
 * or 4 bytes; a unit never crosses a dword, and no capability starts
 * inside a dword, so every unit belongs to exactly one *area*: the header,
 * one capability, or free space.  @map has one entry per dword saying
 * which; the handling of an area depends only on its entry, so a
 * capability gets virtualized by adding a case, not by changing the walk.
 *
 * First cut policy: header as above; MSI, MSI-X, free space and the whole
 * extended config space are read-only; other capabilities pass through.
 * A write that can turn memory decode off (COMMAND, and until they are
 * virtualized the PM and PCIe capabilities, which can put the device in
 * D3 or reset it) runs under memory_lock held for writing and takes the
 * user's BAR mappings away first.
 */

#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

/* A @map entry: the kind of area in the top bits, the capability ID below. */
#define CFG_KIND_SHIFT		12
#define CFG_ID_MASK		((1 << CFG_KIND_SHIFT) - 1)
#define CFG_FREE		0
#define CFG_CAP			1	/* standard capability */
#define CFG_ECAP		2	/* extended capability */
#define CFG_HEADER		3
#define CFG_ENTRY(kind, id)	((u16)((kind) << CFG_KIND_SHIFT | \
				       ((id) & CFG_ID_MASK)))
#define CFG_KIND(entry)		((entry) >> CFG_KIND_SHIFT)
#define CFG_ID(entry)		((entry) & CFG_ID_MASK)

/* Standard capabilities fit below 0x100, dword aligned: at most 48. */
#define CFG_MAX_CAPS		((PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_SIZEOF) / 4)
#define CFG_MAX_ECAPS		((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8)

/* How a unit of the header is handled. */
enum vfio_pci_hdr_policy {
	HDR_RO,
	HDR_PASS,
	HDR_VIRT,
};

/**
 * struct vfio_pci_cfg - virtualized config space of an open device
 * @bar: what the user reads from each BAR register
 * @bar_wmask: bits of @bar the user can change: the address bits the BAR
 *             size leaves, none for an absent BAR
 * @rom: what the user reads from the ROM BAR register
 * @rom_wmask: bits of @rom the user can change
 * @map: one entry per dword of config space (CFG_ENTRY())
 */
struct vfio_pci_cfg {
	u32 bar[PCI_STD_NUM_BARS];
	u32 bar_wmask[PCI_STD_NUM_BARS];
	u32 rom;
	u32 rom_wmask;
	u16 map[];
};

/* Mask, within its dword, of the @len bytes of a unit at offset @off. */
static u32 unit_mask(unsigned int off, unsigned int len)
{
	return (len == 4 ? ~0U : (1U << (len * 8)) - 1) << ((off & 3) * 8);
}

static void vfio_pci_cfg_init_bars(struct vfio_pci_core_device *core,
				   struct vfio_pci_cfg *cfg)
{
	struct pci_dev *pdev = core->pdev;
	resource_size_t len;
	unsigned long flags;
	int i;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		int reg = PCI_BASE_ADDRESS_0 + 4 * i;

		len = pci_resource_len(pdev, i);
		flags = pci_resource_flags(pdev, i);
		if (!len)
			continue;	/* absent: reads 0, ignores writes */

		pci_read_config_dword(pdev, reg, &cfg->bar[i]);
		if (flags & IORESOURCE_IO) {
			cfg->bar_wmask[i] = ~(u32)(len - 1) &
					    PCI_BASE_ADDRESS_IO_MASK;
			continue;
		}
		cfg->bar_wmask[i] = lower_32_bits(~(u64)(len - 1)) &
				    (u32)PCI_BASE_ADDRESS_MEM_MASK;
		if (flags & IORESOURCE_MEM_64 && i + 1 < PCI_STD_NUM_BARS) {
			/* The upper half is part of this BAR, not a BAR. */
			i++;
			pci_read_config_dword(pdev, reg + 4, &cfg->bar[i]);
			cfg->bar_wmask[i] = upper_32_bits(~(u64)(len - 1));
		}
	}

	len = pci_resource_len(pdev, PCI_ROM_RESOURCE);
	if (len) {
		pci_read_config_dword(pdev, PCI_ROM_ADDRESS, &cfg->rom);
		cfg->rom_wmask = (~(u32)(len - 1) & PCI_ROM_ADDRESS_MASK) |
				 PCI_ROM_ADDRESS_ENABLE;
	}
}

/*
 * Capabilities don't all say how long they are, so each one is taken to
 * run up to the next one in address order (or the end of its space):
 * mark where each starts, then sweep and carry the last start forward.
 * Trailing free space goes with the capability before it; for a
 * read-only or pass-through policy that is harmless.
 */
#define CFG_START		BIT(15)

static void vfio_pci_cfg_sweep(struct vfio_pci_cfg *cfg, unsigned int from,
			       unsigned int to)
{
	u16 cur = CFG_ENTRY(CFG_FREE, 0);
	unsigned int d;

	for (d = from / 4; d < to / 4; d++) {
		if (cfg->map[d] & CFG_START)
			cur = cfg->map[d] & ~CFG_START;
		cfg->map[d] = cur;
	}
}

static void vfio_pci_cfg_map_caps(struct vfio_pci_core_device *core,
				  struct vfio_pci_cfg *cfg)
{
	struct pci_dev *pdev = core->pdev;
	unsigned int d, n;
	u16 status;
	u32 header;
	u8 ptr, id;

	for (d = 0; d < PCI_STD_HEADER_SIZEOF / 4; d++)
		cfg->map[d] = CFG_ENTRY(CFG_HEADER, 0);

	pci_read_config_word(pdev, PCI_STATUS, &status);
	ptr = 0;
	if (status & PCI_STATUS_CAP_LIST)
		pci_read_config_byte(pdev, PCI_CAPABILITY_LIST, &ptr);
	/* A looped or corrupt list stops at the bound or a bad pointer. */
	for (n = 0; ptr >= PCI_STD_HEADER_SIZEOF && !(ptr & 3) &&
	     n < CFG_MAX_CAPS; n++) {
		pci_read_config_byte(pdev, ptr + PCI_CAP_LIST_ID, &id);
		cfg->map[ptr / 4] = CFG_ENTRY(CFG_CAP, id) | CFG_START;
		pci_read_config_byte(pdev, ptr + PCI_CAP_LIST_NEXT, &ptr);
	}
	vfio_pci_cfg_sweep(cfg, PCI_STD_HEADER_SIZEOF, PCI_CFG_SPACE_SIZE);

	if (pdev->cfg_size <= PCI_CFG_SPACE_SIZE)
		return;

	d = PCI_CFG_SPACE_SIZE;
	for (n = 0; d >= PCI_CFG_SPACE_SIZE && d < pdev->cfg_size &&
	     !(d & 3) && n < CFG_MAX_ECAPS; n++) {
		if (pci_read_config_dword(pdev, d, &header) || !header ||
		    PCI_POSSIBLE_ERROR(header))
			break;
		cfg->map[d / 4] = CFG_ENTRY(CFG_ECAP, PCI_EXT_CAP_ID(header)) |
				  CFG_START;
		d = PCI_EXT_CAP_NEXT(header);
	}
	vfio_pci_cfg_sweep(cfg, PCI_CFG_SPACE_SIZE, pdev->cfg_size);
}

/* Where the MSI-X table is, for mmap and region capabilities. */
static void vfio_pci_cfg_find_msix(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	u16 flags;
	u32 table;
	u8 pos;

	core->msix_bar = -1;
	pos = pci_find_capability(pdev, PCI_CAP_ID_MSIX);
	if (!pos)
		return;
	pci_read_config_word(pdev, pos + PCI_MSIX_FLAGS, &flags);
	pci_read_config_dword(pdev, pos + PCI_MSIX_TABLE, &table);
	core->msix_bar = table & PCI_MSIX_TABLE_BIR;
	core->msix_offset = table & PCI_MSIX_TABLE_OFFSET;
	core->msix_size = ((flags & PCI_MSIX_FLAGS_QSIZE) + 1) *
			  PCI_MSIX_ENTRY_SIZE;
}

/**
 * vfio_pci_cfg_init - set up config space virtualization for a new user
 * @core: the device, enabled
 *
 * Called with dev_set->lock held from vfio_pci_core_enable(); undone by
 * vfio_pci_cfg_exit().  The virtual BARs start out as the device's.
 *
 * Return: 0 or -ENOMEM.
 */
int vfio_pci_cfg_init(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	struct vfio_pci_cfg *cfg;

	lockdep_assert_held(&core->vdev.dev_set->lock);

	cfg = kzalloc(struct_size(cfg, map, pdev->cfg_size / 4), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;

	vfio_pci_cfg_init_bars(core, cfg);
	vfio_pci_cfg_map_caps(core, cfg);
	vfio_pci_cfg_find_msix(core);
	core->cfg = cfg;
	return 0;
}

/**
 * vfio_pci_cfg_exit - undo vfio_pci_cfg_init()
 * @core: the device
 */
void vfio_pci_cfg_exit(struct vfio_pci_core_device *core)
{
	lockdep_assert_held(&core->vdev.dev_set->lock);
	kfree(core->cfg);
	core->cfg = NULL;
}

static enum vfio_pci_hdr_policy vfio_pci_hdr_policy(unsigned int off)
{
	switch (off) {
	case PCI_COMMAND ... PCI_STATUS + 1:
	case PCI_CACHE_LINE_SIZE:
	case PCI_LATENCY_TIMER:
	case PCI_INTERRUPT_LINE:
		return HDR_PASS;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5 + 3:
	case PCI_ROM_ADDRESS ... PCI_ROM_ADDRESS + 3:
		return HDR_VIRT;
	default:
		/* IDs, class, header type, BIST, pointers, pin */
		return HDR_RO;
	}
}

/* The virtual register a header offset falls in, and its writable bits. */
static u32 *vfio_pci_hdr_vreg(struct vfio_pci_cfg *cfg, unsigned int off,
			      u32 *wmask)
{
	if (off >= PCI_ROM_ADDRESS) {
		*wmask = cfg->rom_wmask;
		return &cfg->rom;
	}
	off = (off - PCI_BASE_ADDRESS_0) / 4;
	*wmask = cfg->bar_wmask[off];
	return &cfg->bar[off];
}

static int vfio_pci_cfg_hw_read(struct pci_dev *pdev, unsigned int off,
				unsigned int len, u32 *val)
{
	u16 w;
	u8 b;
	int ret;

	switch (len) {
	case 4:
		return pci_user_read_config_dword(pdev, off, val);
	case 2:
		ret = pci_user_read_config_word(pdev, off, &w);
		*val = w;
		return ret;
	default:
		ret = pci_user_read_config_byte(pdev, off, &b);
		*val = b;
		return ret;
	}
}

/*
 * How a pass-through write can affect memory decode: not at all, through
 * COMMAND (only the memory bit going off takes mappings away), or in ways
 * not tracked yet (a function reset through PCIe DEVCTL, a power state
 * change through PMCSR), where mappings go unconditionally.
 */
enum vfio_pci_decode_effect {
	DECODE_NONE,
	DECODE_COMMAND,
	DECODE_ANY,
};

static int vfio_pci_cfg_hw_write(struct vfio_pci_core_device *core,
				 unsigned int off, unsigned int len, u32 val,
				 enum vfio_pci_decode_effect effect)
{
	struct pci_dev *pdev = core->pdev;
	int ret;

	/*
	 * Decode changes happen with no BAR access or fault in flight, the
	 * user's mappings go before decode does, and the copy of COMMAND
	 * that BAR access tests is refreshed after.
	 */
	if (effect != DECODE_NONE) {
		down_write(&core->memory_lock);
		if (effect == DECODE_ANY ||
		    (off == PCI_COMMAND && !(val & PCI_COMMAND_MEMORY)))
			vfio_pci_mmap_zap(core);
	}

	switch (len) {
	case 4:
		ret = pci_user_write_config_dword(pdev, off, val);
		break;
	case 2:
		ret = pci_user_write_config_word(pdev, off, val);
		break;
	default:
		ret = pci_user_write_config_byte(pdev, off, val);
		break;
	}

	if (effect != DECODE_NONE) {
		vfio_pci_cmd_refresh(core);
		up_write(&core->memory_lock);
	}
	return ret;
}

static int vfio_pci_hdr_rw(struct vfio_pci_core_device *core,
			   unsigned int off, unsigned int len, u32 *val,
			   bool write);

/* A header unit as two units of @half bytes each. */
static int vfio_pci_hdr_split(struct vfio_pci_core_device *core,
			      unsigned int off, unsigned int half, u32 *val,
			      bool write)
{
	unsigned int bits = half * 8;
	u32 lo = *val & ((1U << bits) - 1);
	u32 hi = *val >> bits;
	int ret;

	ret = vfio_pci_hdr_rw(core, off, half, &lo, write);
	if (!ret)
		ret = vfio_pci_hdr_rw(core, off + half, half, &hi, write);
	if (!write)
		*val = lo | hi << bits;
	return ret;
}

/* One unit of the header; units mixing policies are split in halves. */
static int vfio_pci_hdr_rw(struct vfio_pci_core_device *core,
			   unsigned int off, unsigned int len, u32 *val,
			   bool write)
{
	enum vfio_pci_hdr_policy policy = vfio_pci_hdr_policy(off);
	struct vfio_pci_cfg *cfg = core->cfg;
	unsigned int i, shift;
	u32 *vreg, wmask, m;

	for (i = 1; i < len; i++) {
		if (vfio_pci_hdr_policy(off + i) == policy)
			continue;
		/* Mixed: do each half on its own. */
		return vfio_pci_hdr_split(core, off, len / 2, val, write);
	}

	if (policy == HDR_VIRT) {
		shift = (off & 3) * 8;
		m = unit_mask(off, len);
		vreg = vfio_pci_hdr_vreg(cfg, off & ~3U, &wmask);
		if (write) {
			u32 v = (*vreg & ~m) | ((*val << shift) & m);

			*vreg = (*vreg & ~wmask) | (v & wmask);
		} else {
			*val = (*vreg & m) >> shift;
		}
		return 0;
	}

	if (!write)
		return vfio_pci_cfg_hw_read(core->pdev, off, len, val);
	if (policy == HDR_PASS)
		return vfio_pci_cfg_hw_write(core, off, len, *val,
					     off < PCI_COMMAND + 2 ?
					     DECODE_COMMAND : DECODE_NONE);
	return 0;
}

/* One unit anywhere in config space. */
static int vfio_pci_cfg_unit(struct vfio_pci_core_device *core,
			     unsigned int off, unsigned int len, u32 *val,
			     bool write)
{
	u16 entry = core->cfg->map[off / 4];

	switch (CFG_KIND(entry)) {
	case CFG_HEADER:
		return vfio_pci_hdr_rw(core, off, len, val, write);
	case CFG_CAP:
		if (!write)
			break;
		/* Interrupt setup is the SET_IRQS ioctl's business. */
		if (CFG_ID(entry) == PCI_CAP_ID_MSI ||
		    CFG_ID(entry) == PCI_CAP_ID_MSIX)
			return 0;
		return vfio_pci_cfg_hw_write(core, off, len, *val,
					     CFG_ID(entry) == PCI_CAP_ID_EXP ||
					     CFG_ID(entry) == PCI_CAP_ID_PM ?
					     DECODE_ANY : DECODE_NONE);
	default:
		/* Free space and extended capabilities: read-only for now. */
		if (write)
			return 0;
		break;
	}
	return vfio_pci_cfg_hw_read(core->pdev, off, len, val);
}

/**
 * vfio_pci_cfg_rw - read or write the config space region
 * @core: the device, open
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in config space
 * @write: direction
 *
 * Any length and alignment is accepted; the access stops at the end of
 * config space.
 *
 * Return: bytes done (short if an error stopped it part way) or a negative
 * errno.
 */
ssize_t vfio_pci_cfg_rw(struct vfio_pci_core_device *core, char __user *buf,
			size_t count, loff_t pos, bool write)
{
	unsigned int size = core->pdev->cfg_size;
	size_t done = 0;
	int ret = 0;

	if (pos >= size)
		return -EINVAL;
	count = min_t(size_t, count, size - pos);

	while (done < count) {
		unsigned int off = pos + done;
		unsigned int len;
		__le32 le = 0;
		u32 val = 0;

		if (!(off & 3) && count - done >= 4)
			len = 4;
		else if (!(off & 1) && count - done >= 2)
			len = 2;
		else
			len = 1;

		if (write) {
			if (copy_from_user(&le, buf + done, len)) {
				ret = -EFAULT;
				break;
			}
			val = le32_to_cpu(le);
		}

		ret = vfio_pci_cfg_unit(core, off, len, &val, write);
		if (ret)
			break;

		if (!write) {
			le = cpu_to_le32(val);
			if (copy_to_user(buf + done, &le, len)) {
				ret = -EFAULT;
				break;
			}
		}
		done += len;
	}

	if (!done)
		return ret;
	return done;
}
