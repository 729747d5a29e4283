// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: the config space region.
 *
 * The user sees the device's config space through three per-byte arrays
 * built when the device is opened:
 *
 *  - @vbuf, the *virtual copy*: the values of the bits the user owns
 *    without the device knowing (BARs, the ROM BAR, capability pointers,
 *    MSI and MSI-X control, the power state...);
 *  - @virt, for each byte the bits that are read from @vbuf; every other
 *    bit is read from the device;
 *  - @wr, for each byte the bits a user write changes: in @vbuf where the
 *    bit is virtual, in the device otherwise.  A write to any other bit is
 *    dropped, and the write still succeeds, as it does on real hardware.
 *
 * The arrays are filled from a *policy* per register block: the header,
 * then each capability the chain walk finds.  A capability without a
 * policy is *hidden*: the virtual next pointers skip it and its bytes read
 * as zero.  Where the policy says nothing the bytes are read-only and read
 * from the device.
 *
 * An access of any length is cut into naturally aligned *units* of 1, 2 or
 * 4 bytes.  Some writes need more than a store: a COMMAND write can turn
 * memory decode off, so it runs under memory_lock held for writing and
 * takes the user's BAR mappings away first; the power state, function
 * level reset, PCIe read request size and VPD registers are acted on by
 * *handlers* that run after the unit is stored in @vbuf.
 *
 * Bounds: every offset into the arrays past the header comes from the
 * device (capability pointers, capability flags), which may be malformed.
 * A capability's policy is applied only when every register it names lies
 * in its space - a standard capability below 0x100, an extended one below
 * the end of config space - and a capability that does not fit is hidden.
 * The handlers index @vbuf only at registers of capabilities that passed
 * that check, and cfg_perm(), cfg_seed() and cfg_blank() clamp to the
 * size of config space besides.
 *
 * Locking: @lock serializes writes (the read-modify-write of @vbuf and of
 * device registers, and the handlers).  It nests outside memory_lock and
 * inside dev_set->lock; reads of @vbuf take no lock, a unit is read at
 * once.
 */

#include <linux/bitfield.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

/* Bits of COMMAND the user may change; INTx disable is kept virtual. */
#define CFG_CMD_WR	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY |		\
			 PCI_COMMAND_MASTER | PCI_COMMAND_INVALIDATE |	\
			 PCI_COMMAND_PARITY | PCI_COMMAND_SERR |		\
			 PCI_COMMAND_INTX_DISABLE)
/* The error bits of STATUS, cleared by writing 1 (RW1C). */
#define CFG_STATUS_RW1C	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |	\
			 PCI_STATUS_REC_TARGET_ABORT |			\
			 PCI_STATUS_REC_MASTER_ABORT |			\
			 PCI_STATUS_SIG_SYSTEM_ERROR |			\
			 PCI_STATUS_DETECTED_PARITY)

/* Standard capabilities live below 0x100, dword aligned: at most 48. */
#define CFG_MAX_CAPS	((PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_SIZEOF) / 4)
#define CFG_MAX_ECAPS	((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8)

/* What owns a dword of config space, in vfio_pci_cfg.owner. */
#define CFG_OWNER_FREE		0
#define CFG_OWNER_HIDDEN	1
#define CFG_OWNER_SHOWN		2
#define CFG_OWNER_START		0x80	/* a capability starts here */

/**
 * struct cfg_field - permissions of one register
 * @off: offset of the register in its block
 * @len: its length, 1, 2 or 4
 * @virt: bits kept in the virtual copy
 * @wr: bits the user may change
 */
struct cfg_field {
	u8 off;
	u8 len;
	u32 virt;
	u32 wr;
};

#define CFG_FIELD(o, l, v, w) { .off = (o), .len = (l), .virt = (v), .wr = (w) }

/**
 * struct vfio_pci_cfg - virtualized config space of an open device
 * @lock: serializes writes, see the top of this file
 * @size: bytes of config space
 * @pm: offset of the power management capability, 0 if none
 * @exp: offset of the PCI Express capability, 0 if none
 * @af: offset of the Advanced Features capability, 0 if none
 * @vpd: offset of the VPD capability, 0 if none
 * @vbuf: the virtual copy
 * @virt: per byte, the bits read from @vbuf
 * @wr: per byte, the bits the user may write
 * @owner: per dword, CFG_OWNER_*; only used while building the arrays
 * @data: storage for the arrays
 */
struct vfio_pci_cfg {
	struct mutex lock;	/* see above */
	unsigned int size;
	u8 pm;
	u8 exp;
	u8 af;
	u8 vpd;
	u8 *vbuf;
	u8 *virt;
	u8 *wr;
	u8 *owner;
	u8 data[];
};

/* ---- the arrays ---------------------------------------------------- */

static u32 cfg_get(const u8 *arr, unsigned int off, unsigned int len)
{
	u32 v = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		v |= (u32)arr[off + i] << (8 * i);
	return v;
}

static void cfg_put(u8 *arr, unsigned int off, unsigned int len, u32 v)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		arr[off + i] = v >> (8 * i);
}

static void cfg_perm(struct vfio_pci_cfg *cfg, unsigned int off,
		     unsigned int len, u32 virt, u32 wr)
{
	if (off + len > cfg->size)
		return;
	cfg_put(cfg->virt, off, len, virt);
	cfg_put(cfg->wr, off, len, wr);
}

/* Bytes that read as zero and ignore writes. */
static void cfg_blank(struct vfio_pci_cfg *cfg, unsigned int off,
		      unsigned int len)
{
	if (off >= cfg->size)
		return;
	len = min(len, cfg->size - off);
	memset(cfg->vbuf + off, 0, len);
	memset(cfg->virt + off, 0xff, len);
	memset(cfg->wr + off, 0, len);
}

static void cfg_apply(struct vfio_pci_cfg *cfg, unsigned int base,
		      const struct cfg_field *f, unsigned int n)
{
	for (; n--; f++)
		cfg_perm(cfg, base + f->off, f->len, f->virt, f->wr);
}

/* Seed the virtual bits of a register with what the device holds. */
static void cfg_seed(struct vfio_pci_core_device *core, unsigned int off,
		     unsigned int len)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	u32 v;

	if (off + len > cfg->size || pci_read_config_dword(core->pdev,
							   off & ~3, &v))
		return;
	cfg_put(cfg->vbuf, off, len, v >> (8 * (off & 3)));
}

/* ---- policy: header ------------------------------------------------ */

static const struct cfg_field cfg_header_fields[] = {
	CFG_FIELD(PCI_VENDOR_ID, 2, 0xffff, 0),
	CFG_FIELD(PCI_DEVICE_ID, 2, 0xffff, 0),
	CFG_FIELD(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE, CFG_CMD_WR),
	CFG_FIELD(PCI_STATUS, 2, PCI_STATUS_CAP_LIST, CFG_STATUS_RW1C),
	CFG_FIELD(PCI_CACHE_LINE_SIZE, 1, 0, 0xff),
	CFG_FIELD(PCI_LATENCY_TIMER, 1, 0, 0xff),
	CFG_FIELD(PCI_CAPABILITY_LIST, 4, ~0U, 0),
	CFG_FIELD(PCI_CAPABILITY_LIST + 4, 4, ~0U, 0),
	CFG_FIELD(PCI_INTERRUPT_LINE, 1, 0xff, 0xff),
	CFG_FIELD(PCI_INTERRUPT_PIN, 1, 0xff, 0),
};

/*
 * BARs are virtual: the user can size them (write all ones, read back the
 * size mask) and move them without the device decoding anywhere new.  The
 * writable bits are the address bits the BAR's size leaves; the low flag
 * bits stay as the device has them.
 */
static void cfg_setup_bars(struct vfio_pci_core_device *core)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	struct pci_dev *pdev = core->pdev;
	unsigned int reg;
	unsigned long flags;
	u64 len, mask;
	int i;

	cfg_blank(cfg, PCI_BASE_ADDRESS_0, PCI_STD_NUM_BARS * 4);
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		reg = PCI_BASE_ADDRESS_0 + 4 * i;
		len = pci_resource_len(pdev, i);
		flags = pci_resource_flags(pdev, i);
		if (!len)
			continue;

		cfg_seed(core, reg, 4);
		mask = ~(len - 1);
		if (flags & IORESOURCE_IO) {
			cfg_perm(cfg, reg, 4, ~0U,
				 (u32)mask & PCI_BASE_ADDRESS_IO_MASK);
			continue;
		}
		cfg_perm(cfg, reg, 4, ~0U,
			 (u32)mask & (u32)PCI_BASE_ADDRESS_MEM_MASK);
		if (flags & IORESOURCE_MEM_64 && i + 1 < PCI_STD_NUM_BARS) {
			/* The upper half belongs to this BAR. */
			i++;
			cfg_seed(core, reg + 4, 4);
			cfg_perm(cfg, reg + 4, 4, ~0U, upper_32_bits(mask));
		}
	}

	/*
	 * The ROM BAR: QEMU sizes it with 0xfffff800, the address bits a ROM
	 * BAR can have at most, plus the enable bit, which stays virtual:
	 * the ROM is only ever read through its own region.
	 */
	cfg_blank(cfg, PCI_ROM_ADDRESS, 4);
	len = pci_resource_len(pdev, PCI_ROM_RESOURCE);
	if (len) {
		cfg_seed(core, PCI_ROM_ADDRESS, 4);
		cfg_perm(cfg, PCI_ROM_ADDRESS, 4, ~0U,
			 ((u32)~(len - 1) & PCI_ROM_ADDRESS_MASK) |
			 PCI_ROM_ADDRESS_ENABLE);
	}
}

static void cfg_setup_header(struct vfio_pci_core_device *core)
{
	struct vfio_pci_cfg *cfg = core->cfg;

	cfg_apply(cfg, 0, cfg_header_fields, ARRAY_SIZE(cfg_header_fields));
	/*
	 * The IDs are the PCI core's: constant, so no user read of them goes
	 * to the device, and right for a VF too, whose own ID registers read
	 * as all ones (the core takes them from the PF's SR-IOV capability).
	 */
	cfg_put(cfg->vbuf, PCI_VENDOR_ID, 2, core->pdev->vendor);
	cfg_put(cfg->vbuf, PCI_DEVICE_ID, 2, core->pdev->device);
	/*
	 * The pin agrees with the INTx interrupt vfio offers: none for a
	 * VF, whatever its register says.
	 */
	cfg_put(cfg->vbuf, PCI_INTERRUPT_PIN, 1, core->pdev->pin);
	cfg_seed(core, PCI_COMMAND, 2);
	cfg_seed(core, PCI_INTERRUPT_LINE, 1);
	/* A VF has no memory enable: the user gets a virtual one. */
	if (core->pdev->no_command_memory) {
		cfg->virt[PCI_COMMAND] |= PCI_COMMAND_MEMORY;
		cfg->vbuf[PCI_COMMAND] &= ~PCI_COMMAND_MEMORY;
	}
	cfg_setup_bars(core);
}

/* ---- policy: capabilities ------------------------------------------ */

/* A standard capability's @len bytes at @pos lie below 0x100. */
static bool cfg_cap_fits(unsigned int pos, unsigned int len)
{
	return pos + len <= PCI_CFG_SPACE_SIZE;
}

/* An extended capability's @len bytes at @pos lie in config space. */
static bool cfg_ecap_fits(struct vfio_pci_cfg *cfg, unsigned int pos,
			  unsigned int len)
{
	return pos + len <= cfg->size;
}

static const struct cfg_field cfg_pm_fields[] = {
	/* The power state goes through pci_set_power_state(). */
	CFG_FIELD(PCI_PM_CTRL, 2,
		  PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_ENABLE |
		  PCI_PM_CTRL_PME_STATUS,
		  PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_ENABLE),
};

static const struct cfg_field cfg_vpd_fields[] = {
	CFG_FIELD(PCI_VPD_ADDR, 2, 0xffff, 0xffff),
	CFG_FIELD(PCI_VPD_DATA, 4, ~0U, ~0U),
};

/*
 * Device Control.  Phantom functions would let the device issue requests
 * under function numbers it does not own, which the IOMMU either faults
 * or, worse, takes for another function's: the user cannot set them, the
 * field reads as the device has it (off).  The payload size must agree
 * with the rest of the fabric, which only the host sees: the user gets a
 * virtual one.  The read request size is the user's to choose, but it
 * reaches the device only through the PCI core (cfg_mrrs_write()).  FLR
 * is acted on, never kept.
 */
static const struct cfg_field cfg_exp_fields[] = {
	CFG_FIELD(PCI_EXP_DEVCTL, 2,
		  PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ |
		  PCI_EXP_DEVCTL_BCR_FLR,
		  PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE |
		  PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE |
		  PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD |
		  PCI_EXP_DEVCTL_EXT_TAG | PCI_EXP_DEVCTL_AUX_PME |
		  PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ |
		  PCI_EXP_DEVCTL_BCR_FLR),
	CFG_FIELD(PCI_EXP_DEVSTA, 2, 0,
		  PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED |
		  PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD),
};

static const struct cfg_field cfg_exp2_fields[] = {
	CFG_FIELD(PCI_EXP_DEVCTL2, 2, 0,
		  PCI_EXP_DEVCTL2_COMP_TIMEOUT | PCI_EXP_DEVCTL2_COMP_TMOUT_DIS |
		  PCI_EXP_DEVCTL2_ATOMIC_REQ | PCI_EXP_DEVCTL2_IDO_REQ_EN |
		  PCI_EXP_DEVCTL2_IDO_CMP_EN),
};

static const struct cfg_field cfg_af_fields[] = {
	CFG_FIELD(PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR, PCI_AF_CTRL_FLR),
};

static const struct cfg_field cfg_aer_fields[] = {
	CFG_FIELD(PCI_ERR_UNCOR_STATUS, 4, 0, ~0U),	/* RW1C */
	CFG_FIELD(PCI_ERR_UNCOR_MASK, 4, 0, ~0U),
	CFG_FIELD(PCI_ERR_UNCOR_SEVER, 4, 0, ~0U),
	CFG_FIELD(PCI_ERR_COR_STATUS, 4, 0, ~0U),	/* RW1C */
	CFG_FIELD(PCI_ERR_COR_MASK, 4, 0, ~0U),
	CFG_FIELD(PCI_ERR_CAP, 4, 0,
		  PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE),
};

/*
 * MSI: the user programs its own vectors through VFIO_DEVICE_SET_IRQS, so
 * everything it can write here is virtual; the device keeps what the host
 * programmed.  The layout depends on the 64-bit and per-vector mask bits.
 * Returns false when the layout the flags give does not fit.
 */
static bool cfg_setup_msi(struct vfio_pci_core_device *core, unsigned int pos)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	unsigned int data, mask, end;
	u16 flags;

	if (pci_read_config_word(core->pdev, pos + PCI_MSI_FLAGS, &flags))
		return false;
	data = flags & PCI_MSI_FLAGS_64BIT ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
	mask = flags & PCI_MSI_FLAGS_64BIT ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32;

	/* Through the mask and pending bits, or the data register. */
	end = flags & PCI_MSI_FLAGS_MASKBIT ? mask + 8 : data + 2;
	if (!cfg_cap_fits(pos, end))
		return false;
	cfg_blank(cfg, pos + PCI_MSI_FLAGS, end - PCI_MSI_FLAGS);
	cfg_put(cfg->vbuf, pos + PCI_MSI_FLAGS, 2,
		flags & ~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE));
	/* As upstream, enable and vector count never read back (intrs.c). */
	cfg_perm(cfg, pos + PCI_MSI_FLAGS, 2, 0xffff, 0);
	cfg_perm(cfg, pos + PCI_MSI_ADDRESS_LO, 4, ~0U, ~3U);
	if (flags & PCI_MSI_FLAGS_64BIT)
		cfg_perm(cfg, pos + PCI_MSI_ADDRESS_HI, 4, ~0U, ~0U);
	cfg_perm(cfg, pos + data, 2, 0xffff, 0xffff);
	if (flags & PCI_MSI_FLAGS_MASKBIT)
		cfg_perm(cfg, pos + mask, 4, ~0U, ~0U);
	return true;
}

/* Returns false when the registers of its version do not fit. */
static bool cfg_setup_exp(struct vfio_pci_core_device *core, unsigned int pos)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	bool v2 = (pcie_caps_reg(core->pdev) & PCI_EXP_FLAGS_VERS) > 1;

	/* Device Status ends v1 for us, Device Control 2 ends v2. */
	if (!cfg_cap_fits(pos, v2 ? PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V2 :
			  PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V1))
		return false;
	cfg->exp = pos;
	cfg_apply(cfg, pos, cfg_exp_fields, ARRAY_SIZE(cfg_exp_fields));
	/* The virtual payload and read request sizes start as the device's. */
	cfg_seed(core, pos + PCI_EXP_DEVCTL, 2);
	cfg->vbuf[pos + PCI_EXP_DEVCTL + 1] &= ~(PCI_EXP_DEVCTL_BCR_FLR >> 8);
	if (v2)
		cfg_apply(cfg, pos, cfg_exp2_fields,
			  ARRAY_SIZE(cfg_exp2_fields));
	return true;
}

/*
 * Set up the permissions of a standard capability at @pos.  Return false
 * for one the user must not see: unknown to us, giving control over more
 * than the device (hot plug, debug ports, bridges' features), or running
 * past the standard config space.
 */
static bool cfg_setup_cap(struct vfio_pci_core_device *core, u8 id,
			  unsigned int pos)
{
	struct vfio_pci_cfg *cfg = core->cfg;

	switch (id) {
	case PCI_CAP_ID_PM:
		if (!cfg_cap_fits(pos, PCI_PM_SIZEOF))
			return false;
		cfg->pm = pos;
		cfg_apply(cfg, pos, cfg_pm_fields, ARRAY_SIZE(cfg_pm_fields));
		cfg_seed(core, pos + PCI_PM_CTRL, 2);
		cfg->vbuf[pos + PCI_PM_CTRL + 1] &= ~(PCI_PM_CTRL_PME_STATUS >> 8);
		return true;
	case PCI_CAP_ID_VPD:
		if (!cfg_cap_fits(pos, PCI_CAP_VPD_SIZEOF))
			return false;
		cfg->vpd = pos;
		cfg_apply(cfg, pos, cfg_vpd_fields,
			  ARRAY_SIZE(cfg_vpd_fields));
		return true;
	case PCI_CAP_ID_MSI:
		return cfg_setup_msi(core, pos);
	case PCI_CAP_ID_MSIX:
		/*
		 * Read-only, as upstream: the user sees the enable bit
		 * VFIO_DEVICE_SET_IRQS (intrs.c) set; its writes are dropped.
		 */
		return cfg_cap_fits(pos, PCI_CAP_MSIX_SIZEOF);
	case PCI_CAP_ID_EXP:
		return cfg_setup_exp(core, pos);
	case PCI_CAP_ID_AF:
		if (!cfg_cap_fits(pos, PCI_CAP_AF_SIZEOF))
			return false;
		cfg->af = pos;
		cfg_apply(cfg, pos, cfg_af_fields, ARRAY_SIZE(cfg_af_fields));
		return true;
	case PCI_CAP_ID_PCIX:
	case PCI_CAP_ID_VNDR:
	case PCI_CAP_ID_SSVID:
	case PCI_CAP_ID_SATA:
		return cfg_cap_fits(pos, PCI_CAP_SIZEOF);	/* read-only */
	default:
		return false;
	}
}

/* The same for an extended capability. */
static bool cfg_setup_ecap(struct vfio_pci_core_device *core, u16 id,
			   unsigned int pos)
{
	switch (id) {
	case PCI_EXT_CAP_ID_ERR:
		/* An endpoint's registers end with the capabilities one. */
		if (!cfg_ecap_fits(core->cfg, pos, PCI_ERR_CAP + 4))
			return false;
		cfg_apply(core->cfg, pos, cfg_aer_fields,
			  ARRAY_SIZE(cfg_aer_fields));
		return true;
	case PCI_EXT_CAP_ID_DSN:
	case PCI_EXT_CAP_ID_PWR:
	case PCI_EXT_CAP_ID_ACS:
	case PCI_EXT_CAP_ID_ARI:
	case PCI_EXT_CAP_ID_ATS:
	case PCI_EXT_CAP_ID_SRIOV:
	case PCI_EXT_CAP_ID_LTR:
	case PCI_EXT_CAP_ID_SECPCI:
	case PCI_EXT_CAP_ID_L1SS:
	case PCI_EXT_CAP_ID_PTM:
	case PCI_EXT_CAP_ID_DLF:
	case PCI_EXT_CAP_ID_PL_16GT:
		/* Read-only: the caller checked the header fits. */
		return true;
	default:
		return false;
	}
}

/*
 * A capability does not always say how long it is: each one is taken to
 * run up to the next one in address order, or the end of its space.
 */
static void cfg_owner_sweep(struct vfio_pci_cfg *cfg, unsigned int from,
			    unsigned int to)
{
	u8 cur = CFG_OWNER_FREE;
	unsigned int d;

	for (d = from / 4; d < to / 4; d++) {
		if (cfg->owner[d] & CFG_OWNER_START)
			cur = cfg->owner[d] & ~CFG_OWNER_START;
		cfg->owner[d] = cur;
	}
	for (d = from / 4; d < to / 4; d++)
		if (cfg->owner[d] == CFG_OWNER_HIDDEN)
			cfg_blank(cfg, d * 4, 4);
}

/* Walk the standard list; relink the visible capabilities in @vbuf. */
static void cfg_setup_caps(struct vfio_pci_core_device *core)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	struct pci_dev *pdev = core->pdev;
	unsigned int link = PCI_CAPABILITY_LIST, n;
	u8 pos = 0, id, next;
	u16 status;

	pci_read_config_word(pdev, PCI_STATUS, &status);
	if (status & PCI_STATUS_CAP_LIST)
		pci_read_config_byte(pdev, PCI_CAPABILITY_LIST, &pos);

	/* A looped or corrupt list stops at the bound or a bad pointer. */
	for (n = 0; pos >= PCI_STD_HEADER_SIZEOF && n < CFG_MAX_CAPS; n++) {
		pos &= ~3;
		if (pci_read_config_byte(pdev, pos + PCI_CAP_LIST_ID, &id) ||
		    pci_read_config_byte(pdev, pos + PCI_CAP_LIST_NEXT, &next))
			break;
		cfg->owner[pos / 4] = CFG_OWNER_START | CFG_OWNER_HIDDEN;
		if (cfg_setup_cap(core, id, pos)) {
			cfg->owner[pos / 4] = CFG_OWNER_START | CFG_OWNER_SHOWN;
			cfg->vbuf[link] = pos;
			link = pos + PCI_CAP_LIST_NEXT;
			cfg->vbuf[pos + PCI_CAP_LIST_ID] = id;
			cfg_perm(cfg, pos, 2, 0xffff, 0);
		}
		pos = next;
	}
	cfg->vbuf[link] = 0;
	if (cfg->vbuf[PCI_CAPABILITY_LIST])
		cfg->vbuf[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	cfg_owner_sweep(cfg, PCI_STD_HEADER_SIZEOF, PCI_CFG_SPACE_SIZE);
}

/*
 * The same for the extended list.  Its head is fixed at 0x100: when the
 * capability there is hidden, a header with ID 0 takes its place and
 * points to the first visible one.
 */
static void cfg_setup_ecaps(struct vfio_pci_core_device *core)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	unsigned int pos = PCI_CFG_SPACE_SIZE, link = 0, first = 0, n;
	u32 hdr;

	if (cfg->size <= PCI_CFG_SPACE_SIZE)
		return;

	for (n = 0; pos >= PCI_CFG_SPACE_SIZE && pos + 4 <= cfg->size &&
	     n < CFG_MAX_ECAPS; n++) {
		if (pci_read_config_dword(core->pdev, pos, &hdr) || !hdr ||
		    PCI_POSSIBLE_ERROR(hdr))
			break;
		cfg->owner[pos / 4] = CFG_OWNER_START | CFG_OWNER_HIDDEN;
		if (cfg_setup_ecap(core, PCI_EXT_CAP_ID(hdr), pos)) {
			cfg->owner[pos / 4] = CFG_OWNER_START | CFG_OWNER_SHOWN;
			if (link)
				cfg_put(cfg->vbuf, link, 4,
					cfg_get(cfg->vbuf, link, 4) | pos << 20);
			else
				first = pos;
			link = pos;
			/* The next pointer is filled in by the next one. */
			cfg_put(cfg->vbuf, pos, 4, hdr & 0xfffff);
			cfg_perm(cfg, pos, 4, ~0U, 0);
		}
		pos = PCI_EXT_CAP_NEXT(hdr);
	}
	cfg_owner_sweep(cfg, PCI_CFG_SPACE_SIZE, cfg->size);
	if (cfg->owner[PCI_CFG_SPACE_SIZE / 4] == CFG_OWNER_HIDDEN)
		cfg_put(cfg->vbuf, PCI_CFG_SPACE_SIZE, 4, first << 20);
}

/* Where the MSI-X table is, for mmap and region capabilities. */
static void vfio_pci_cfg_find_msix(struct vfio_pci_core_device *core)
{
	struct pci_dev *pdev = core->pdev;
	u16 flags;
	u32 table;
	u8 pos;

	core->msix_bar = -1;
	pos = pdev->msix_cap;
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
 * @core: the device, enabled and in D0
 *
 * Called with dev_set->lock held from vfio_pci_core_enable(); undone by
 * vfio_pci_cfg_exit().  The virtual registers start out as the device's.
 *
 * Return: 0 or -ENOMEM.
 */
int vfio_pci_cfg_init(struct vfio_pci_core_device *core)
{
	unsigned int size = core->pdev->cfg_size;
	struct vfio_pci_cfg *cfg;

	lockdep_assert_held(&core->vdev.dev_set->lock);

	cfg = kzalloc(struct_size(cfg, data, 3 * size + size / 4),
		      GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	mutex_init(&cfg->lock);
	cfg->size = size;
	cfg->vbuf = cfg->data;
	cfg->virt = cfg->vbuf + size;
	cfg->wr = cfg->virt + size;
	cfg->owner = cfg->wr + size;
	core->cfg = cfg;

	cfg_setup_header(core);
	cfg_setup_caps(core);
	cfg_setup_ecaps(core);
	vfio_pci_cfg_find_msix(core);
	return 0;
}

/**
 * vfio_pci_cfg_exit - undo vfio_pci_cfg_init()
 * @core: the device
 */
void vfio_pci_cfg_exit(struct vfio_pci_core_device *core)
{
	lockdep_assert_held(&core->vdev.dev_set->lock);
	if (!core->cfg)
		return;
	mutex_destroy(&core->cfg->lock);
	kfree(core->cfg);
	core->cfg = NULL;
}

/**
 * vfio_pci_cfg_virt_mem - the memory enable bit the user set for a VF
 * @core: the device
 *
 * A VF's COMMAND register has no memory enable; the user's is virtual.
 * Called under memory_lock; the bit is read without cfg->lock, a byte at
 * a time.
 *
 * Return: PCI_COMMAND_MEMORY if the user set it, else 0.
 */
u16 vfio_pci_cfg_virt_mem(struct vfio_pci_core_device *core)
{
	struct vfio_pci_cfg *cfg = core->cfg;

	lockdep_assert_held(&core->memory_lock);

	if (!cfg)
		return 0;
	return READ_ONCE(cfg->vbuf[PCI_COMMAND]) & PCI_COMMAND_MEMORY;
}

/**
 * vfio_pci_cfg_reset_done - follow a reset in the virtual registers
 * @core: the device, just reset (which leaves it in D0)
 *
 * Called without memory_lock held: cfg->lock nests outside it.
 */
void vfio_pci_cfg_reset_done(struct vfio_pci_core_device *core)
{
	struct vfio_pci_cfg *cfg = core->cfg;

	lockdep_assert_not_held(&core->memory_lock);

	if (!cfg || !cfg->pm)
		return;
	mutex_lock(&cfg->lock);
	cfg->vbuf[cfg->pm + PCI_PM_CTRL] &= ~PCI_PM_CTRL_STATE_MASK;
	mutex_unlock(&cfg->lock);
}

/* ---- access -------------------------------------------------------- */

static int cfg_hw_read(struct pci_dev *pdev, unsigned int off,
		       unsigned int len, u32 *val)
{
	u16 w;
	u8 b;
	int ret;

	switch (len) {
	case 4:
		ret = pci_user_read_config_dword(pdev, off, val);
		break;
	case 2:
		ret = pci_user_read_config_word(pdev, off, &w);
		*val = w;
		break;
	default:
		ret = pci_user_read_config_byte(pdev, off, &b);
		*val = b;
		break;
	}
	return ret;
}

static int cfg_hw_write(struct pci_dev *pdev, unsigned int off,
			unsigned int len, u32 val)
{
	switch (len) {
	case 4:
		return pci_user_write_config_dword(pdev, off, val);
	case 2:
		return pci_user_write_config_word(pdev, off, val);
	default:
		return pci_user_write_config_byte(pdev, off, val);
	}
}

/*
 * Change the @bits of a register of the device to those of @val, leaving
 * the others as they are.  The register is rewritten as narrowly as the
 * bits allow, so that a status register next to the target never sees
 * its 1s written back (which would clear them).
 */
static int cfg_hw_update(struct pci_dev *pdev, unsigned int off,
			 unsigned int len, u32 val, u32 bits)
{
	unsigned int i, full = 0;
	u32 cur;
	int ret;

	for (i = 0; i < len; i++)
		full += !!((bits >> (8 * i)) & 0xff);
	if (full == len) {
		ret = cfg_hw_read(pdev, off, len, &cur);
		if (!ret)
			ret = cfg_hw_write(pdev, off, len,
					   (cur & ~bits) | (val & bits));
		return ret;
	}
	for (i = 0; i < len; i++) {
		u32 b = (bits >> (8 * i)) & 0xff;

		if (!b)
			continue;
		ret = cfg_hw_update(pdev, off + i, 1, val >> (8 * i), b);
		if (ret)
			return ret;
	}
	return 0;
}

/* The unit covers byte @reg of config space. */
static bool cfg_covers(unsigned int off, unsigned int len, unsigned int reg)
{
	return reg >= off && reg < off + len;
}

/* The value a unit's write gives byte @reg (which the unit covers). */
static u8 cfg_byte_of(unsigned int off, u32 val, unsigned int reg)
{
	return val >> (8 * (reg - off));
}

static int cfg_write_device(struct vfio_pci_core_device *core,
			    unsigned int off, unsigned int len, u32 val,
			    u32 bits)
{
	bool cmd = cfg_covers(off, len, PCI_COMMAND);
	bool was_on, now_on;
	int ret;

	lockdep_assert_held(&core->cfg->lock);

	if (!cmd)
		return cfg_hw_update(core->pdev, off, len, val, bits);

	/*
	 * Decode changes happen with no BAR access or fault in flight, and
	 * the user's mappings go before decode does.
	 */
	down_write(&core->memory_lock);
	was_on = vfio_pci_memory_enabled(core);
	if (!(cfg_byte_of(off, val, PCI_COMMAND) & PCI_COMMAND_MEMORY))
		vfio_pci_mmap_zap(core);
	vfio_pci_bars_check(core, cfg_byte_of(off, val, PCI_COMMAND));
	ret = cfg_hw_update(core->pdev, off, len, val, bits);
	vfio_pci_cmd_refresh(core);
	now_on = vfio_pci_memory_enabled(core);
	up_write(&core->memory_lock);

	if (was_on && !now_on)
		vfio_pci_notify(core, VFIO_DEVICE_EVENT_MEMORY_OFF);
	return ret;
}

static void cfg_pm_write(struct vfio_pci_core_device *core, u32 old)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	u8 *pmcsr = &cfg->vbuf[cfg->pm + PCI_PM_CTRL];
	u8 want = *pmcsr & PCI_PM_CTRL_STATE_MASK;
	u8 now;

	lockdep_assert_held(&cfg->lock);

	if (want == (old & PCI_PM_CTRL_STATE_MASK))
		return;
	/* The field's values 0-3 are PCI_D0 to PCI_D3hot. */
	vfio_pci_set_power(core, (__force pci_power_t)want);
	/* Show the state the device really went to. */
	now = (__force u8)core->pdev->current_state;
	*pmcsr &= ~PCI_PM_CTRL_STATE_MASK;
	if (now <= (__force u8)PCI_D3hot)
		*pmcsr |= now;
}

/*
 * The user changed Device Control from @old to @devctl.  A new read
 * request size is set by the PCI core, at no less than the payload size
 * the device uses, so that a cautious user does not cut every read into
 * smaller requests than the fabric carries.  A size the core refuses (a
 * reserved code) leaves the device as it is; the user reads back what it
 * wrote either way.
 */
static void cfg_mrrs_write(struct vfio_pci_core_device *core, u16 devctl,
			   u16 old)
{
	int rq;

	lockdep_assert_held(&core->cfg->lock);

	if (!((devctl ^ old) & PCI_EXP_DEVCTL_READRQ))
		return;
	rq = 128 << FIELD_GET(PCI_EXP_DEVCTL_READRQ, devctl);
	pcie_set_readrq(core->pdev, max(rq, pcie_get_mps(core->pdev)));
}

/* The user asked for a function level reset; the bit never sticks. */
static void cfg_flr(struct vfio_pci_core_device *core, u8 *bit, u8 mask,
		    bool has_flr)
{
	struct vfio_pci_cfg *cfg = core->cfg;

	lockdep_assert_held(&cfg->lock);

	if (!(*bit & mask))
		return;
	*bit &= ~mask;
	/* A reset leaves the device in D0. */
	if (has_flr && !vfio_pci_reset_function(core) && cfg->pm)
		cfg->vbuf[cfg->pm + PCI_PM_CTRL] &= ~PCI_PM_CTRL_STATE_MASK;
}

/*
 * VPD: writing the address with the flag clear reads a dword into the
 * data register and sets the flag; with the flag set it writes the data
 * register out and clears it.  pci_read_vpd() does the handshake with
 * the device and serializes with the host's own users.
 */
static void cfg_vpd_write(struct vfio_pci_core_device *core)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	unsigned int pos = cfg->vpd;
	u16 addr = cfg_get(cfg->vbuf, pos + PCI_VPD_ADDR, 2);
	__le32 data;

	lockdep_assert_held(&cfg->lock);

	if (addr & PCI_VPD_ADDR_F) {
		data = cpu_to_le32(cfg_get(cfg->vbuf, pos + PCI_VPD_DATA, 4));
		if (pci_write_vpd(core->pdev, addr & PCI_VPD_ADDR_MASK, 4,
				  &data) != 4)
			return;	/* the flag stays set: the write failed */
		addr &= ~PCI_VPD_ADDR_F;
	} else {
		if (pci_read_vpd(core->pdev, addr & PCI_VPD_ADDR_MASK, 4,
				 &data) != 4)
			return;
		cfg_put(cfg->vbuf, pos + PCI_VPD_DATA, 4, le32_to_cpu(data));
		addr |= PCI_VPD_ADDR_F;
	}
	cfg_put(cfg->vbuf, pos + PCI_VPD_ADDR, 2, addr);
}

/* Act on what a stored unit asked for; cfg->lock is held. */
static void cfg_handlers(struct vfio_pci_core_device *core, unsigned int off,
			 unsigned int len, u32 val, u32 old)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	u32 devcap;

	lockdep_assert_held(&cfg->lock);

	if (cfg->pm && cfg_covers(off, len, cfg->pm + PCI_PM_CTRL))
		cfg_pm_write(core, old >> (8 * (cfg->pm + PCI_PM_CTRL - off)));
	if (cfg->exp && cfg_covers(off, len, cfg->exp + PCI_EXP_DEVCTL + 1)) {
		/* The read request size is all in the high byte. */
		cfg_mrrs_write(core,
			       cfg_get(cfg->vbuf, cfg->exp + PCI_EXP_DEVCTL, 2),
			       cfg_byte_of(off, old,
					   cfg->exp + PCI_EXP_DEVCTL + 1) << 8);
		pcie_capability_read_dword(core->pdev, PCI_EXP_DEVCAP, &devcap);
		cfg_flr(core, &cfg->vbuf[cfg->exp + PCI_EXP_DEVCTL + 1],
			PCI_EXP_DEVCTL_BCR_FLR >> 8,
			devcap & PCI_EXP_DEVCAP_FLR);
	}
	if (cfg->af && cfg_covers(off, len, cfg->af + PCI_AF_CTRL)) {
		u8 cap = 0;

		pci_read_config_byte(core->pdev, cfg->af + PCI_AF_CAP, &cap);
		cfg_flr(core, &cfg->vbuf[cfg->af + PCI_AF_CTRL],
			PCI_AF_CTRL_FLR,
			(cap & PCI_AF_CAP_TP) && (cap & PCI_AF_CAP_FLR));
	}
	if (cfg->vpd && cfg_covers(off, len, cfg->vpd + PCI_VPD_ADDR + 1))
		cfg_vpd_write(core);
	/* INTx follows the virtual INTX_DISABLE (intrs.c). */
	if (cfg_covers(off, len, PCI_COMMAND) ||
	    cfg_covers(off, len, PCI_COMMAND + 1))
		vfio_pci_irq_cmd_written(core,
					 cfg_get(cfg->vbuf, PCI_COMMAND, 2));
}

static int cfg_read_unit(struct vfio_pci_core_device *core, unsigned int off,
			 unsigned int len, u32 *val)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	u32 virt = cfg_get(cfg->virt, off, len);
	u32 full = len == 4 ? ~0U : (1U << (8 * len)) - 1;
	u32 hw = 0;
	int ret;

	if (virt != full) {
		ret = cfg_hw_read(core->pdev, off, len, &hw);
		if (ret)
			return pcibios_err_to_errno(ret);
	}
	*val = (hw & ~virt) | (cfg_get(cfg->vbuf, off, len) & virt);
	return 0;
}

static int cfg_write_unit(struct vfio_pci_core_device *core,
			  unsigned int off, unsigned int len, u32 val)
{
	struct vfio_pci_cfg *cfg = core->cfg;
	u32 virt, wr, old;
	int ret = 0;

	mutex_lock(&cfg->lock);
	virt = cfg_get(cfg->virt, off, len);
	wr = cfg_get(cfg->wr, off, len);
	old = cfg_get(cfg->vbuf, off, len);
	cfg_put(cfg->vbuf, off, len,
		(old & ~(virt & wr)) | (val & virt & wr));

	if (wr & ~virt)
		ret = cfg_write_device(core, off, len, val, wr & ~virt);
	if (wr)
		cfg_handlers(core, off, len, val, old);
	mutex_unlock(&cfg->lock);

	return ret ? pcibios_err_to_errno(ret) : 0;
}

/**
 * vfio_pci_cfg_rw - read or write the config space region
 * @core: the device, open
 * @buf: user buffer
 * @count: bytes
 * @pos: offset in config space
 * @write: direction
 *
 * Any length and alignment inside config space is accepted.  Writes to
 * bits the user may not change are dropped without an error.
 *
 * Return: bytes done (short if an error stopped it part way) or a negative
 * errno: -EFAULT for an access reaching past the end of config space or a
 * bad buffer.
 */
ssize_t vfio_pci_cfg_rw(struct vfio_pci_core_device *core, char __user *buf,
			size_t count, loff_t pos, bool write)
{
	unsigned int size = core->pdev->cfg_size;
	size_t done = 0;
	int ret = 0;

	/* As upstream: an access must lie inside config space as a whole. */
	if (pos >= size || count > size - pos)
		return -EFAULT;

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
			ret = cfg_write_unit(core, off, len, le32_to_cpu(le));
		} else {
			ret = cfg_read_unit(core, off, len, &val);
			le = cpu_to_le32(val);
			if (!ret && copy_to_user(buf + done, &le, len))
				ret = -EFAULT;
		}
		if (ret)
			break;
		done += len;
	}

	return done ? done : ret;
}
