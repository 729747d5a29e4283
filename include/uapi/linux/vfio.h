/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * VFIO: the user interface for driving a device from a process.
 *
 * Three kinds of file descriptor carry the interface:
 *
 *   container  /dev/vfio/vfio       an IOMMU context (the DMA address space)
 *   group      /dev/vfio/$GROUP     the unit of ownership: every device that
 *                                   the IOMMU cannot isolate from the others
 *   device     from the group, or   regions, interrupts, reset, features
 *              /dev/vfio/devices/vfioN (device cdev, bound to iommufd)
 *
 * Every request passes a structure that opens with __u32 argsz and, almost
 * always, __u32 flags.  argsz is the number of bytes the caller provides;
 * new fields are only ever appended and announced by new flag bits, so the
 * request numbers are made with _IO() and carry no size.  The caller must
 * always fill in argsz.
 *
 * Information requests grow through capability chains: when the info
 * structure has a CAPS flag, its cap_offset names the first capability,
 * counted in bytes from the start of the caller's buffer, and each
 * capability's next field names the following one (0 ends the chain).
 * When argsz is too small for the chain the call still succeeds: the CAPS
 * flag is set, cap_offset is 0 and argsz is raised to the size needed, so
 * the caller can retry with a larger buffer.
 */
#ifndef _UAPIVFIO_H
#define _UAPIVFIO_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * One pointer field below is tagged __user for the kernel's sparse checks.
 * The exported headers have the tag stripped; a user program that includes
 * this file straight from the source tree gets an empty definition here.
 */
#ifndef __KERNEL__
#ifndef __user
#define __user
#endif
#endif

/* Returned by VFIO_GET_API_VERSION; there has never been another version. */
#define VFIO_API_VERSION	0

/*
 * Extensions that VFIO_CHECK_EXTENSION can be asked about.  Values 1, 2, 3,
 * 6, 7 and 8 are also the IOMMU models accepted by VFIO_SET_IOMMU.
 */
#define VFIO_TYPE1_IOMMU		1
#define VFIO_SPAPR_TCE_IOMMU		2
#define VFIO_TYPE1v2_IOMMU		3
/*
 * The IOMMU forces DMA to be cache coherent (e.g. it ignores the PCIe
 * No Snoop attribute).  The answer may change as groups come and go.
 */
#define VFIO_DMA_CC_IOMMU		4
/* Enhanced Error Handling (POWER) through VFIO_EEH_PE_OP. */
#define VFIO_EEH			5
/* Nested, two-stage translation; behaves as type1v2 otherwise. */
#define VFIO_TYPE1_NESTING_IOMMU	6
#define VFIO_SPAPR_TCE_v2_IOMMU		7
/*
 * No translation, no isolation: the device may DMA anywhere.  Only
 * VFIO_CHECK_EXTENSION works on such a container, opening one needs
 * CAP_SYS_RAWIO and the host kernel is tainted.
 */
#define VFIO_NOIOMMU_IOMMU		8
/* VFIO_IOMMU_UNMAP_DMA understands VFIO_DMA_UNMAP_FLAG_ALL. */
#define VFIO_UNMAP_ALL			9
/*
 * MAP_DMA and UNMAP_DMA understand their VADDR flags.  Mediated devices
 * cannot offer this, so the answer may change as groups come and go.
 */
#define VFIO_UPDATE_VADDR		10

/*
 * Request numbers.  Each file type has its own set, so a few numbers are
 * used twice: BASE + 12 is GET_PCI_HOT_RESET_INFO on a device and
 * IOMMU_GET_INFO (or SPAPR_TCE_GET_INFO) on a container.
 *
 *   container  0-2, then 12-21 as the IOMMU model defines them
 *              (type1: 12-17; sPAPR: 12-20, and 21 for EEH)
 *   group      3-6
 *   device     7-20
 *   migration data fd  21
 */
#define VFIO_TYPE	(';')
#define VFIO_BASE	100

/**
 * struct vfio_info_cap_header - first bytes of every capability in a chain
 * @id: what the capability is; each info request has its own id space
 * @version: layout revision of this particular id
 * @next: offset of the next capability from the start of the info buffer,
 *	0 for the last one
 */
struct vfio_info_cap_header {
	__u16	id;
	__u16	version;
	__u32	next;
};

/* ==================== Container: /dev/vfio/vfio ==================== */

/*
 * VFIO_GET_API_VERSION (no argument)
 * Returns VFIO_API_VERSION.  Works on any container.
 */
#define VFIO_GET_API_VERSION		_IO(VFIO_TYPE, VFIO_BASE + 0)

/*
 * VFIO_CHECK_EXTENSION (argument: an extension number from above)
 * Returns 0 when the extension is unavailable and a positive value when it
 * is.  Before VFIO_SET_IOMMU the question is whether any loaded IOMMU
 * driver could provide it; afterwards, whether the chosen one does.
 */
#define VFIO_CHECK_EXTENSION		_IO(VFIO_TYPE, VFIO_BASE + 1)

/*
 * VFIO_SET_IOMMU (argument: an IOMMU model, e.g. VFIO_TYPE1v2_IOMMU)
 * Chooses the IOMMU driver of the container.  At least one group must have
 * been added with VFIO_GROUP_SET_CONTAINER first.  The model decides which
 * of the IOMMU requests further down the container then accepts.
 */
#define VFIO_SET_IOMMU			_IO(VFIO_TYPE, VFIO_BASE + 2)

/* ==================== Group: /dev/vfio/$GROUP ====================== */

/*
 * VFIO_GROUP_GET_STATUS (struct vfio_group_status, out)
 * VIABLE: every device of the group is bound to a VFIO driver or to no
 * driver at all, so the group may be used.  CONTAINER_SET: the group has
 * been added to a container.
 */
struct vfio_group_status {
	__u32	argsz;
	__u32	flags;
#define VFIO_GROUP_FLAGS_VIABLE		(1 << 0)
#define VFIO_GROUP_FLAGS_CONTAINER_SET	(1 << 1)
};

#define VFIO_GROUP_GET_STATUS		_IO(VFIO_TYPE, VFIO_BASE + 3)

/*
 * VFIO_GROUP_SET_CONTAINER (argument: pointer to the __s32 container fd)
 * Adds the group to the container.  A group lives in one container at a
 * time; a container may take several groups if its IOMMU driver can put
 * them in one address space.  The container's IOMMU requests and the
 * group's device requests need this first.
 */
#define VFIO_GROUP_SET_CONTAINER	_IO(VFIO_TYPE, VFIO_BASE + 4)

/*
 * VFIO_GROUP_UNSET_CONTAINER (no argument)
 * Takes the group out of its container.  Every device fd of the group must
 * be closed first.  When the last group leaves, the container forgets its
 * IOMMU model and all of its mappings.
 */
#define VFIO_GROUP_UNSET_CONTAINER	_IO(VFIO_TYPE, VFIO_BASE + 5)

/*
 * VFIO_GROUP_GET_DEVICE_FD (argument: NUL-terminated device name)
 * Returns a new device fd.  The name is the one under
 * /sys/kernel/iommu_groups/$GROUP/devices/ (a PCI address for PCI), and
 * may be followed by space-separated options such as "vf_token=UUID".
 * The group must be in a container whose IOMMU model is set.
 */
#define VFIO_GROUP_GET_DEVICE_FD	_IO(VFIO_TYPE, VFIO_BASE + 6)

/* ============================ Device ============================== */

/*
 * VFIO_DEVICE_GET_INFO (struct vfio_device_info, in/out)
 * Describes the device: which bus driver serves it, whether it can be
 * reset, how many region and IRQ indexes it has.  Indexes run from 0 to
 * num_regions - 1 and num_irqs - 1; some of them may be empty.
 */
struct vfio_device_info {
	__u32	argsz;
	__u32	flags;
#define VFIO_DEVICE_FLAGS_RESET	(1 << 0)
#define VFIO_DEVICE_FLAGS_PCI	(1 << 1)
#define VFIO_DEVICE_FLAGS_PLATFORM (1 << 2)
#define VFIO_DEVICE_FLAGS_AMBA	(1 << 3)
#define VFIO_DEVICE_FLAGS_CCW	(1 << 4)
#define VFIO_DEVICE_FLAGS_AP	(1 << 5)
#define VFIO_DEVICE_FLAGS_FSL_MC (1 << 6)
#define VFIO_DEVICE_FLAGS_CAPS	(1 << 7)
#define VFIO_DEVICE_FLAGS_CDX	(1 << 8)
	__u32	num_regions;
	__u32	num_irqs;
	__u32	cap_offset;
	__u32	pad;
};

#define VFIO_DEVICE_GET_INFO		_IO(VFIO_TYPE, VFIO_BASE + 7)

/*
 * Names a mediated device type gives in its device_api sysfs attribute;
 * each matches one of the bus flags above.
 */
#define VFIO_DEVICE_API_PCI_STRING		"vfio-pci"
#define VFIO_DEVICE_API_PLATFORM_STRING		"vfio-platform"
#define VFIO_DEVICE_API_AMBA_STRING		"vfio-amba"
#define VFIO_DEVICE_API_CCW_STRING		"vfio-ccw"
#define VFIO_DEVICE_API_AP_STRING		"vfio-ap"

/*
 * Capability ids of the VFIO_DEVICE_GET_INFO chain.  The s390 zPCI ones
 * are laid out in <linux/vfio_zdev.h>.
 */
#define VFIO_DEVICE_INFO_CAP_ZPCI_BASE		1
#define VFIO_DEVICE_INFO_CAP_ZPCI_GROUP		2
#define VFIO_DEVICE_INFO_CAP_ZPCI_UTIL		3
#define VFIO_DEVICE_INFO_CAP_ZPCI_PFIP		4
#define VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP	5

/**
 * struct vfio_device_info_cap_pci_atomic_comp - PCIe AtomicOp completion
 * @header: id VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP
 * @flags: VFIO_PCI_ATOMIC_COMP* bits, one per operand width the root port
 *	can complete for requests coming from this device
 * @reserved: zero
 */
struct vfio_device_info_cap_pci_atomic_comp {
	struct vfio_info_cap_header header;
	__u32 flags;
#define VFIO_PCI_ATOMIC_COMP32	(1 << 0)
#define VFIO_PCI_ATOMIC_COMP64	(1 << 1)
#define VFIO_PCI_ATOMIC_COMP128	(1 << 2)
	__u32 reserved;
};

/* ---------------------------- Regions ----------------------------- */

/*
 * VFIO_DEVICE_GET_REGION_INFO (struct vfio_region_info, in/out)
 * The caller sets argsz and index.  A region is a window of the device fd
 * at [offset, offset + size) that read()/write() and, with FLAG_MMAP,
 * mmap() reach: MMIO or I/O port space, or something bus specific such as
 * PCI config space.  A size of 0 means the index is unused.  Always use
 * the offset reported here, never one computed from the index.
 */
struct vfio_region_info {
	__u32	argsz;
	__u32	flags;
#define VFIO_REGION_INFO_FLAG_READ	(1 << 0)
#define VFIO_REGION_INFO_FLAG_WRITE	(1 << 1)
#define VFIO_REGION_INFO_FLAG_MMAP	(1 << 2)
#define VFIO_REGION_INFO_FLAG_CAPS	(1 << 3)
	__u32	index;
	__u32	cap_offset;
	__aligned_u64	size;
	__aligned_u64	offset;
};

#define VFIO_DEVICE_GET_REGION_INFO	_IO(VFIO_TYPE, VFIO_BASE + 8)

/*
 * Capability ids of the VFIO_DEVICE_GET_REGION_INFO chain.
 *
 * SPARSE_MMAP (version 1): only the listed areas of an mmap-able region
 * may be mapped; the holes between them (an MSI-X table, for example)
 * refuse mmap or misbehave.
 */
#define VFIO_REGION_INFO_CAP_SPARSE_MMAP	1

/**
 * struct vfio_region_sparse_mmap_area - one mmap-able piece of a region
 * @offset: start of the piece, from the start of the region
 * @size: length of the piece in bytes
 */
struct vfio_region_sparse_mmap_area {
	__aligned_u64	offset;
	__aligned_u64	size;
};

/**
 * struct vfio_region_info_cap_sparse_mmap - the mmap-able pieces of a region
 * @header: id VFIO_REGION_INFO_CAP_SPARSE_MMAP, version 1
 * @nr_areas: number of entries in @areas
 * @reserved: zero
 * @areas: the pieces
 */
struct vfio_region_info_cap_sparse_mmap {
	struct vfio_info_cap_header header;
	__u32	nr_areas;
	__u32	reserved;
	struct vfio_region_sparse_mmap_area areas[];
};

/*
 * TYPE (version 1): names what a region is by (type, subtype) instead of
 * by a fixed index.  Indexes past the ones a bus driver fixes (for PCI,
 * from VFIO_PCI_NUM_REGIONS on) carry this capability.
 */
#define VFIO_REGION_INFO_CAP_TYPE	2

/**
 * struct vfio_region_info_cap_type - what a device-specific region holds
 * @header: id VFIO_REGION_INFO_CAP_TYPE, version 1
 * @type: one of the VFIO_REGION_TYPE_* values, unique per bus driver
 * @subtype: meaning depends on @type
 */
struct vfio_region_info_cap_type {
	struct vfio_info_cap_header header;
	__u32 type;
	__u32 subtype;
};

/*
 * Region types.  A PCI vendor-specific type is the vendor id ORed with
 * VFIO_REGION_TYPE_PCI_VENDOR_TYPE, with subtypes private to that vendor.
 */
#define VFIO_REGION_TYPE_PCI_VENDOR_TYPE	(1 << 31)
#define VFIO_REGION_TYPE_PCI_VENDOR_MASK	(0xffff)
#define VFIO_REGION_TYPE_GFX			(1)
#define VFIO_REGION_TYPE_CCW			(2)
#define VFIO_REGION_TYPE_MIGRATION_DEPRECATED	(3)

/*
 * Intel (vendor 8086) subtypes: the graphics OpRegion and read-only copies
 * of the config space of the host bridge and of the LPC bridge, which
 * integrated graphics drivers look at.
 */
#define VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION	(1)
#define VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG	(2)
#define VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG	(3)

/* NVIDIA (vendor 10de): GPU memory over NVLink2.  No longer offered. */
#define VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM	(1)

/*
 * IBM (vendor 1014): the NVLink2 bridge register used to shoot down GPU
 * address translations.  No longer offered.
 */
#define VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD	(1)

/* Subtypes of VFIO_REGION_TYPE_GFX. */
#define VFIO_REGION_SUBTYPE_GFX_EDID		(1)

/**
 * struct vfio_region_gfx_edid - layout of a VFIO_REGION_SUBTYPE_GFX_EDID region
 * @edid_offset: where the EDID blob sits in the region (read-only)
 * @edid_max_size: room for the blob (read-only)
 * @edid_size: length of the current blob (read/write)
 * @max_xres: widest mode the virtual display accepts, 0 for any (read-only)
 * @max_yres: tallest mode the virtual display accepts, 0 for any (read-only)
 * @link_state: VFIO_DEVICE_GFX_LINK_STATE_UP or _DOWN (read/write)
 *
 * Lets the user give a virtual monitor its EDID.  To change it: set
 * @link_state down, write the new blob and @edid_size, set @link_state up.
 */
struct vfio_region_gfx_edid {
	__u32 edid_offset;
	__u32 edid_max_size;
	__u32 edid_size;
	__u32 max_xres;
	__u32 max_yres;
	__u32 link_state;
#define VFIO_DEVICE_GFX_LINK_STATE_UP	1
#define VFIO_DEVICE_GFX_LINK_STATE_DOWN	2
};

/*
 * Subtypes of VFIO_REGION_TYPE_CCW (s390 channel I/O): asynchronous
 * commands (halt, clear), the subchannel information block and the channel
 * report word queue.  Their layouts are in <linux/vfio_ccw.h>.
 */
#define VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD	(1)
#define VFIO_REGION_SUBTYPE_CCW_SCHIB		(2)
#define VFIO_REGION_SUBTYPE_CCW_CRW		(3)

/*
 * The first migration interface, a region of (VFIO_REGION_TYPE_MIGRATION_
 * DEPRECATED, VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED) that opens with
 * struct vfio_device_migration_info.  No kernel driver offers it any more;
 * the device features further down replace it.  The definitions stay so
 * that old programs still build.
 */
#define VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED (1)

/**
 * struct vfio_device_migration_info - header of the deprecated region
 * @device_state: VFIO_DEVICE_STATE_V1_* bits; SAVING|RESUMING together
 *	means error
 * @reserved: zero
 * @pending_bytes: state still to be read while saving
 * @data_offset: where in the region the next chunk of data lies
 * @data_size: length of that chunk
 */
struct vfio_device_migration_info {
	__u32 device_state;
#define VFIO_DEVICE_STATE_V1_STOP	(0)
#define VFIO_DEVICE_STATE_V1_RUNNING	(1 << 0)
#define VFIO_DEVICE_STATE_V1_SAVING	(1 << 1)
#define VFIO_DEVICE_STATE_V1_RESUMING	(1 << 2)
#define VFIO_DEVICE_STATE_MASK		(VFIO_DEVICE_STATE_V1_RUNNING | \
					 VFIO_DEVICE_STATE_V1_SAVING | \
					 VFIO_DEVICE_STATE_V1_RESUMING)
/* RESUMING may not be combined with another bit: of 0-7, only 0-4 pass. */
#define VFIO_DEVICE_STATE_VALID(state) \
	((0x1f >> ((state) & VFIO_DEVICE_STATE_MASK)) & 1)
#define VFIO_DEVICE_STATE_IS_ERROR(state) \
	(((state) & VFIO_DEVICE_STATE_MASK) == (VFIO_DEVICE_STATE_V1_SAVING | \
						VFIO_DEVICE_STATE_V1_RESUMING))
#define VFIO_DEVICE_STATE_SET_ERROR(state) \
	(((state) & ~VFIO_DEVICE_STATE_MASK) | VFIO_DEVICE_STATE_V1_SAVING | \
	 VFIO_DEVICE_STATE_V1_RESUMING)
	__u32 reserved;
	__aligned_u64 pending_bytes;
	__aligned_u64 data_offset;
	__aligned_u64 data_size;
};

/*
 * MSIX_MAPPABLE (no payload): the MSI-X table and PBA of this BAR may be
 * covered by an mmap, so registers sharing their page are reachable
 * directly.  MSI-X is still programmed only through VFIO_DEVICE_SET_IRQS.
 */
#define VFIO_REGION_INFO_CAP_MSIX_MAPPABLE	3

/*
 * NVLINK2_SSATGT: the short system address at which NVLink2 GPU memory
 * appears on the system bus.  No longer offered.
 */
#define VFIO_REGION_INFO_CAP_NVLINK2_SSATGT	4

/**
 * struct vfio_region_info_cap_nvlink2_ssatgt - NVLink2 target address
 * @header: id VFIO_REGION_INFO_CAP_NVLINK2_SSATGT
 * @tgt: the address
 */
struct vfio_region_info_cap_nvlink2_ssatgt {
	struct vfio_info_cap_header header;
	__aligned_u64 tgt;
};

/*
 * NVLINK2_LNKSPD: the link speed firmware gives for an NVLink2 bridge.
 * No longer offered.
 */
#define VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD	5

/**
 * struct vfio_region_info_cap_nvlink2_lnkspd - NVLink2 link speed
 * @header: id VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD
 * @link_speed: the speed as firmware encodes it
 * @__pad: zero
 */
struct vfio_region_info_cap_nvlink2_lnkspd {
	struct vfio_info_cap_header header;
	__u32 link_speed;
	__u32 __pad;
};

/* ----------------------------- IRQs ------------------------------- */

/*
 * VFIO_DEVICE_GET_IRQ_INFO (struct vfio_irq_info, in/out)
 * The caller sets argsz and index; count is the number of vectors behind
 * the index (0: unused).
 *
 *   EVENTFD     the index can signal an eventfd
 *   MASKABLE    ACTION_MASK and ACTION_UNMASK work
 *   AUTOMASKED  the kernel masks the line each time it fires and the user
 *               unmasks it when done; typical of level-triggered lines
 *   NORESIZE    the vectors are allocated as one block: to add vectors
 *               the whole index must be disabled and set up again.
 *               Without it vectors come and go one by one.
 */
struct vfio_irq_info {
	__u32	argsz;
	__u32	flags;
#define VFIO_IRQ_INFO_EVENTFD		(1 << 0)
#define VFIO_IRQ_INFO_MASKABLE		(1 << 1)
#define VFIO_IRQ_INFO_AUTOMASKED	(1 << 2)
#define VFIO_IRQ_INFO_NORESIZE		(1 << 3)
	__u32	index;
	__u32	count;
};

#define VFIO_DEVICE_GET_IRQ_INFO	_IO(VFIO_TYPE, VFIO_BASE + 9)

/*
 * VFIO_DEVICE_SET_IRQS (struct vfio_irq_set + data, in)
 * Applies one action to vectors [start, start + count) of index.  Exactly
 * one DATA_* and one ACTION_* flag are set.
 *
 * Actions: TRIGGER is kernel to user (the interrupt fires), MASK and
 * UNMASK are user to kernel.
 *
 * Data:
 *   DATA_NONE     no payload; do the action on every vector in the range.
 *                 TRIGGER with count 0 disables the whole index.
 *   DATA_BOOL     count __u8 values; act only where the value is non-zero.
 *   DATA_EVENTFD  count __s32 fds.  For TRIGGER the fd is signalled when
 *                 the vector fires; for UNMASK (INTx) a write to the fd
 *                 unmasks.  -1 removes an fd that is set and leaves an
 *                 unset vector alone.  Setting a TRIGGER fd enables the
 *                 index.
 *
 * With an fd in place, TRIGGER with DATA_NONE or DATA_BOOL fires the
 * vector from software, which is handy for tests.
 */
struct vfio_irq_set {
	__u32	argsz;
	__u32	flags;
#define VFIO_IRQ_SET_DATA_NONE		(1 << 0)
#define VFIO_IRQ_SET_DATA_BOOL		(1 << 1)
#define VFIO_IRQ_SET_DATA_EVENTFD	(1 << 2)
#define VFIO_IRQ_SET_ACTION_MASK	(1 << 3)
#define VFIO_IRQ_SET_ACTION_UNMASK	(1 << 4)
#define VFIO_IRQ_SET_ACTION_TRIGGER	(1 << 5)
	__u32	index;
	__u32	start;
	__u32	count;
	__u8	data[];
};

#define VFIO_DEVICE_SET_IRQS		_IO(VFIO_TYPE, VFIO_BASE + 10)

#define VFIO_IRQ_SET_DATA_TYPE_MASK	(VFIO_IRQ_SET_DATA_NONE | \
					 VFIO_IRQ_SET_DATA_BOOL | \
					 VFIO_IRQ_SET_DATA_EVENTFD)
#define VFIO_IRQ_SET_ACTION_TYPE_MASK	(VFIO_IRQ_SET_ACTION_MASK | \
					 VFIO_IRQ_SET_ACTION_UNMASK | \
					 VFIO_IRQ_SET_ACTION_TRIGGER)

/*
 * VFIO_DEVICE_RESET (no argument)
 * Resets the device.  Offered when VFIO_DEVICE_FLAGS_RESET is set.
 */
#define VFIO_DEVICE_RESET		_IO(VFIO_TYPE, VFIO_BASE + 11)

/* ---------------------- Fixed bus indexes ------------------------- */

/*
 * vfio-pci regions: the six BARs, the expansion ROM, config space and the
 * legacy VGA window.  The VGA region holds the I/O ports 0x3b0-0x3bb and
 * 0x3c0-0x3df and the memory 0xa0000-0xbffff, each at its own address
 * from the region offset; the gaps are not backed.  These nine indexes
 * are fixed forever: later regions are found by their TYPE capability.
 */
enum {
	VFIO_PCI_BAR0_REGION_INDEX,
	VFIO_PCI_BAR1_REGION_INDEX,
	VFIO_PCI_BAR2_REGION_INDEX,
	VFIO_PCI_BAR3_REGION_INDEX,
	VFIO_PCI_BAR4_REGION_INDEX,
	VFIO_PCI_BAR5_REGION_INDEX,
	VFIO_PCI_ROM_REGION_INDEX,
	VFIO_PCI_CONFIG_REGION_INDEX,
	VFIO_PCI_VGA_REGION_INDEX,
	VFIO_PCI_NUM_REGIONS = 9
};

/*
 * vfio-pci interrupts.  ERR signals an AER error reported for the device,
 * REQ that the host asks for the device back (e.g. it is being unbound).
 */
enum {
	VFIO_PCI_INTX_IRQ_INDEX,
	VFIO_PCI_MSI_IRQ_INDEX,
	VFIO_PCI_MSIX_IRQ_INDEX,
	VFIO_PCI_ERR_IRQ_INDEX,
	VFIO_PCI_REQ_IRQ_INDEX,
	VFIO_PCI_NUM_IRQS
};

/* vfio-ccw (s390 channel I/O) regions and interrupts. */
enum {
	VFIO_CCW_CONFIG_REGION_INDEX,
	VFIO_CCW_NUM_REGIONS
};

enum {
	VFIO_CCW_IO_IRQ_INDEX,
	VFIO_CCW_CRW_IRQ_INDEX,
	VFIO_CCW_REQ_IRQ_INDEX,
	VFIO_CCW_NUM_IRQS
};

/* vfio-ap (s390 crypto adapters) interrupts. */
enum {
	VFIO_AP_REQ_IRQ_INDEX,
	VFIO_AP_NUM_IRQS
};

/* -------------------------- PCI reset ----------------------------- */

/*
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO (struct vfio_pci_hot_reset_info, in/out)
 * Lists every device a bus or slot reset of this device would also reset.
 * If argsz leaves no room for the whole list the call fails with ENOSPC
 * and count tells how many entries are needed.
 *
 * A device opened through a group reports the group_id of each entry; the
 * caller proves it owns them all by passing those groups' fds to
 * VFIO_DEVICE_PCI_HOT_RESET.
 *
 * A device opened as a cdev sets VFIO_PCI_HOT_RESET_FLAG_DEV_ID and reports
 * a devid instead: the iommufd device id when the entry is bound to the
 * same iommufd, VFIO_PCI_DEVID_OWNED when it is not bound but shares an
 * IOMMU group with a device that is (and so is owned anyway), and
 * VFIO_PCI_DEVID_NOT_OWNED otherwise.  FLAG_DEV_ID_OWNED says every entry
 * is owned, so VFIO_DEVICE_PCI_HOT_RESET may be called without any fds.
 */
struct vfio_pci_dependent_device {
	union {
		__u32	group_id;
		__u32	devid;
#define VFIO_PCI_DEVID_OWNED		0
#define VFIO_PCI_DEVID_NOT_OWNED	-1
	};
	__u16	segment;
	__u8	bus;
	__u8	devfn;
};

struct vfio_pci_hot_reset_info {
	__u32	argsz;
	__u32	flags;
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID		(1 << 0)
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED	(1 << 1)
	__u32	count;
	struct vfio_pci_dependent_device	devices[];
};

#define VFIO_DEVICE_GET_PCI_HOT_RESET_INFO	_IO(VFIO_TYPE, VFIO_BASE + 12)

/*
 * VFIO_DEVICE_PCI_HOT_RESET (struct vfio_pci_hot_reset + fds, in)
 * Resets the bus or slot.  The caller must own every affected device: a
 * group-opened device passes in group_fds one fd for each group named by
 * the info request; a cdev-opened device passes count 0 and relies on
 * FLAG_DEV_ID_OWNED.  Groups and cdevs cannot be mixed in one reset.
 */
struct vfio_pci_hot_reset {
	__u32	argsz;
	__u32	flags;
	__u32	count;
	__s32	group_fds[];
};

#define VFIO_DEVICE_PCI_HOT_RESET	_IO(VFIO_TYPE, VFIO_BASE + 13)

/* ------------------------ Virtual display ------------------------- */

/*
 * VFIO_DEVICE_QUERY_GFX_PLANE (struct vfio_device_gfx_plane_info, in/out)
 * For mediated graphics devices.
 *
 *   PROBE|DMABUF or PROBE|REGION   succeeds when the device can hand out
 *                                  planes that way, EINVAL when not.
 *   DMABUF or REGION alone         fills in the current plane of type
 *                                  drm_plane_type, with region_index or
 *                                  dmabuf_id telling where it lives.
 *
 * A plane the guest has turned off comes back with zero format and size.
 * x_hot and y_hot are 0xffffffff when the cursor has no hotspot.
 */
struct vfio_device_gfx_plane_info {
	__u32 argsz;
	__u32 flags;
#define VFIO_GFX_PLANE_TYPE_PROBE (1 << 0)
#define VFIO_GFX_PLANE_TYPE_DMABUF (1 << 1)
#define VFIO_GFX_PLANE_TYPE_REGION (1 << 2)
	__u32 drm_plane_type;
	__u32 drm_format;
	__aligned_u64 drm_format_mod;
	__u32 width;
	__u32 height;
	__u32 stride;
	__u32 size;
	__u32 x_pos;
	__u32 y_pos;
	__u32 x_hot;
	__u32 y_hot;
	union {
		__u32 region_index;
		__u32 dmabuf_id;
	};
	__u32 reserved;
};

#define VFIO_DEVICE_QUERY_GFX_PLANE	_IO(VFIO_TYPE, VFIO_BASE + 14)

/*
 * VFIO_DEVICE_GET_GFX_DMABUF (argument: pointer to the __u32 dmabuf_id)
 * Returns a dma-buf fd for the plane QUERY_GFX_PLANE reported.
 */
#define VFIO_DEVICE_GET_GFX_DMABUF	_IO(VFIO_TYPE, VFIO_BASE + 15)

/* --------------------------- ioeventfd ---------------------------- */

/*
 * VFIO_DEVICE_IOEVENTFD (struct vfio_device_ioeventfd, in)
 * Each time eventfd fd is signalled the kernel writes data, of the width
 * given by the single size flag, to the device fd at offset, without a
 * round trip through the user.  fd -1 removes the entry registered for
 * that offset, data and width.  Support is up to the bus driver; vfio-pci
 * accepts BARs except the MSI-X table.
 */
struct vfio_device_ioeventfd {
	__u32	argsz;
	__u32	flags;
#define VFIO_DEVICE_IOEVENTFD_8		(1 << 0)
#define VFIO_DEVICE_IOEVENTFD_16	(1 << 1)
#define VFIO_DEVICE_IOEVENTFD_32	(1 << 2)
#define VFIO_DEVICE_IOEVENTFD_64	(1 << 3)
#define VFIO_DEVICE_IOEVENTFD_SIZE_MASK	(0xf)
	__aligned_u64	offset;
	__aligned_u64	data;
	__s32	fd;
	__u32	reserved;
};

#define VFIO_DEVICE_IOEVENTFD		_IO(VFIO_TYPE, VFIO_BASE + 16)

/* ------------------------ Device features ------------------------- */

/*
 * VFIO_DEVICE_FEATURE (struct vfio_device_feature + data, in/out)
 * The low 16 bits of flags pick a feature (VFIO_DEVICE_FEATURE_* numbers
 * below); data[] is that feature's payload and argsz covers it.
 *
 *   GET    copy the feature's state out to data[]
 *   SET    take the feature's new state from data[]
 *   PROBE  only ask: succeeds if the feature exists and, when GET and/or
 *          SET are given too, if those directions are supported.  No
 *          payload is needed.
 *
 * GET and SET together are only allowed with PROBE.
 */
struct vfio_device_feature {
	__u32	argsz;
	__u32	flags;
#define VFIO_DEVICE_FEATURE_MASK	(0xffff)
#define VFIO_DEVICE_FEATURE_GET		(1 << 16)
#define VFIO_DEVICE_FEATURE_SET		(1 << 17)
#define VFIO_DEVICE_FEATURE_PROBE	(1 << 18)
	__u8	data[];
};

#define VFIO_DEVICE_FEATURE		_IO(VFIO_TYPE, VFIO_BASE + 17)

/* -------------------- Device cdev and iommufd --------------------- */

/**
 * struct vfio_device_bind_iommufd - argument of VFIO_DEVICE_BIND_IOMMUFD
 * @argsz: size the caller provides
 * @flags: VFIO_DEVICE_BIND_FLAG_TOKEN or zero
 * @iommufd: the iommufd to bind to
 * @out_devid: returned: the id of this device inside that iommufd
 * @token_uuid_ptr: with VFIO_DEVICE_BIND_FLAG_TOKEN, the address of a
 *	16-byte UUID: the VF token (see VFIO_DEVICE_FEATURE_PCI_VF_TOKEN),
 *	which a VF needs when its PF is owned through VFIO.  Ignored
 *	without the flag, and may then lie beyond argsz
 *
 * Only for a device cdev (/dev/vfio/devices/vfioN), and the first thing
 * to do with it: until it succeeds every other access to the device
 * fails.  Closing the device fd undoes the bind.
 */
struct vfio_device_bind_iommufd {
	__u32		argsz;
	__u32		flags;
#define VFIO_DEVICE_BIND_FLAG_TOKEN	(1 << 0)
	__s32		iommufd;
	__u32		out_devid;
	__aligned_u64	token_uuid_ptr;
};

#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)

/**
 * struct vfio_device_attach_iommufd_pt - argument of VFIO_DEVICE_ATTACH_IOMMUFD_PT
 * @argsz: size the caller provides
 * @flags: zero
 * @pt_id: in: an IOAS or HW pagetable id of the bound iommufd; out: the
 *	IOAS id as given, or the HW pagetable actually attached (which the
 *	kernel may have created for an IOAS)
 *
 * Puts a bound cdev device into an address space.  Attaching while already
 * attached replaces the pagetable in one step.  Undone by
 * VFIO_DEVICE_DETACH_IOMMUFD_PT or by closing the fd.
 */
struct vfio_device_attach_iommufd_pt {
	__u32	argsz;
	__u32	flags;
	__u32	pt_id;
};

#define VFIO_DEVICE_ATTACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 19)

/**
 * struct vfio_device_detach_iommufd_pt - argument of VFIO_DEVICE_DETACH_IOMMUFD_PT
 * @argsz: size the caller provides
 * @flags: zero
 *
 * Takes a cdev device out of its address space; its DMA is blocked after.
 */
struct vfio_device_detach_iommufd_pt {
	__u32	argsz;
	__u32	flags;
};

#define VFIO_DEVICE_DETACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 20)

/*
 * PCI_VF_TOKEN (SET, payload: a 16-byte UUID)
 * The secret a user of a PF shares with the users of its VFs: a VF of a
 * PF driven by vfio-pci is only handed out to whoever presents it (the
 * "vf_token=" option of GET_DEVICE_FD).  Only an SR-IOV capable PF takes
 * it; its user may change it at any time, even while VFs are open (the
 * open PF already proved it knows the current one).  There is no GET.
 */
#define VFIO_DEVICE_FEATURE_PCI_VF_TOKEN	(0)

/*
 * MIGRATION (GET, struct vfio_device_feature_migration)
 * Present when the device can be migrated with MIG_DEVICE_STATE.  RUNNING
 * and ERROR always exist; the flags tell which other states do:
 *
 *   STOP_COPY (always set)   STOP, STOP_COPY, RESUMING
 *   + P2P                    also RUNNING_P2P
 *   + PRE_COPY               also PRE_COPY
 *   + P2P + PRE_COPY         also RUNNING_P2P, PRE_COPY, PRE_COPY_P2P
 *
 * Other combinations are not defined yet.
 */
struct vfio_device_feature_migration {
	__aligned_u64 flags;
#define VFIO_MIGRATION_STOP_COPY	(1 << 0)
#define VFIO_MIGRATION_P2P		(1 << 1)
#define VFIO_MIGRATION_PRE_COPY		(1 << 2)
};

#define VFIO_DEVICE_FEATURE_MIGRATION 1

/*
 * MIG_DEVICE_STATE (GET/SET, struct vfio_device_feature_mig_state)
 * SET moves the device to device_state (enum vfio_device_mig_state) and
 * returns only once it is there.  If the move opens a data session (see
 * below), data_fd is a new fd the caller must close; otherwise it is -1.
 * GET reports the current state with data_fd -1.  Only the user or
 * VFIO_DEVICE_RESET ever change the state.  A failed SET may leave the
 * device in its old state, in any state along the way, or in ERROR.
 */
struct vfio_device_feature_mig_state {
	__u32 device_state;
	__s32 data_fd;
};

#define VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE 2

/*
 * Migration states.
 *
 *   RUNNING       normal operation
 *   STOP          the device does nothing by itself: no DMA, no
 *                 interrupts, no change to its internal state.  It still
 *                 answers config space and MSI-X table accesses.  Poking
 *                 it anyway may spoil the state but never harms the host.
 *   STOP_COPY     STOP, while the device state is read out of data_fd;
 *                 end of file means all of it has been read
 *   RESUMING      stopped, taking a new state written into data_fd
 *   RUNNING_P2P   running, but starts no new peer-to-peer DMA (or no DMA
 *                 at all, if it cannot tell the two apart); every such
 *                 transfer in flight is done before the state is reached
 *   PRE_COPY      running, while an early copy of the state is read out
 *   PRE_COPY_P2P  PRE_COPY with the restriction of RUNNING_P2P
 *   ERROR         a move failed and could not be undone; only
 *                 VFIO_DEVICE_RESET leaves it (to RUNNING).  It cannot be
 *                 asked for.
 *
 * PRE_COPY, PRE_COPY_P2P and STOP_COPY form the saving group: they share
 * one data session and moving between them keeps the same data_fd.
 *
 * Single steps the kernel knows how to take:
 *
 *   RUNNING      <-> RUNNING_P2P     RUNNING_P2P  <-> STOP
 *   RUNNING      <-> PRE_COPY        RUNNING_P2P  <-> PRE_COPY_P2P
 *   PRE_COPY     <-> PRE_COPY_P2P    PRE_COPY_P2P  -> STOP_COPY
 *   STOP          -> STOP_COPY       STOP_COPY     -> STOP
 *   STOP          -> RESUMING        RESUMING      -> STOP
 *
 * Entering the saving group (RUNNING -> PRE_COPY, RUNNING_P2P ->
 * PRE_COPY_P2P, STOP -> STOP_COPY) opens a data session and returns its
 * data_fd; leaving it closes the session.  STOP -> RESUMING opens a
 * session too; the stream written there must come, unmodified and whole,
 * from a single saving session of a compatible device.  RESUMING -> STOP
 * checks and loads it, and fails if it is bad; the only way to abandon a
 * load is VFIO_DEVICE_RESET.  STOP_COPY cannot go back to a PRE_COPY
 * state.
 *
 * Any other request is carried out as the shortest chain of single steps
 * that does not pass through a saving group state on the way; the user
 * only sees the intermediate states if the request fails.  Without P2P or
 * PRE_COPY support those states, and the steps touching them, do not
 * exist, and chains simply go around them.
 */
enum vfio_device_mig_state {
	VFIO_DEVICE_STATE_ERROR = 0,
	VFIO_DEVICE_STATE_STOP = 1,
	VFIO_DEVICE_STATE_RUNNING = 2,
	VFIO_DEVICE_STATE_STOP_COPY = 3,
	VFIO_DEVICE_STATE_RESUMING = 4,
	VFIO_DEVICE_STATE_RUNNING_P2P = 5,
	VFIO_DEVICE_STATE_PRE_COPY = 6,
	VFIO_DEVICE_STATE_PRE_COPY_P2P = 7,
	VFIO_DEVICE_STATE_NR,
};

/*
 * VFIO_MIG_GET_PRECOPY_INFO (struct vfio_precopy_info, out), issued on a
 * saving data_fd.  Only in PRE_COPY and PRE_COPY_P2P (EINVAL otherwise);
 * mandatory for devices that offer VFIO_MIGRATION_PRE_COPY.
 *
 * initial_bytes: what is left of the first copy of the state; it starts
 * above zero and shrinks as data is read.  Going to STOP_COPY before it
 * reaches zero works, but slows the migration.
 * dirty_bytes: state changed since it was last read; starts at zero, grows
 * as the device runs and shrinks as the changes are read.
 *
 * Both are estimates of what read() can return now, not of what
 * STOP_COPY will produce.  When both are zero read() fails with ENOMSG:
 * the stream is only paused and poll() tells when there is more.  In
 * STOP_COPY the end is final: read() returns 0.
 */
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};

#define VFIO_MIG_GET_PRECOPY_INFO	_IO(VFIO_TYPE, VFIO_BASE + 21)

/*
 * LOW_POWER_ENTRY (SET, no payload)
 * Allows runtime power management to put the device in a low power state
 * while the user keeps it open.  Whether that happens, and when, is up to
 * the PM core.  Any access, by the host or through this interface, wakes
 * the device first; it may sleep again afterwards.  mmaps of the device
 * stop working until LOW_POWER_EXIT.
 */
#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY 3

/**
 * struct vfio_device_low_power_entry_with_wakeup - LOW_POWER_ENTRY_WITH_WAKEUP
 * @wakeup_eventfd: signalled when the device wakes up from low power
 * @reserved: zero
 *
 * Like LOW_POWER_ENTRY, but for one sleep only: once something wakes the
 * device, @wakeup_eventfd is signalled and the device stays awake until
 * low power is entered again.  The wake-up itself ends low power (an mmap
 * access does not wake it); LOW_POWER_EXIT is then optional.
 */
struct vfio_device_low_power_entry_with_wakeup {
	__s32 wakeup_eventfd;
	__u32 reserved;
};

#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP 4

/*
 * LOW_POWER_EXIT (SET, no payload)
 * Forbids low power states again and wakes the device.  After a
 * LOW_POWER_ENTRY_WITH_WAKEUP this may signal the wake-up eventfd.
 */
#define VFIO_DEVICE_FEATURE_LOW_POWER_EXIT 5

/*
 * DMA logging: the device itself records which IOVAs it writes to (reads
 * are not recorded), so that dirty memory can be tracked during live
 * migration.  It is independent of MIG_DEVICE_STATE.  PROBE tells whether
 * the device can do it.
 *
 * DMA_LOGGING_START (SET, struct vfio_device_feature_dma_logging_control)
 * page_size: the granularity wanted; the driver may pick another and
 * returns the one it chose.  ranges: user address of num_ranges struct
 * vfio_device_feature_dma_logging_range to watch.  At least as many
 * ranges as fit in one page are accepted.  One START at a time; STOP
 * before starting again.
 */
struct vfio_device_feature_dma_logging_control {
	__aligned_u64 page_size;
	__u32 num_ranges;
	__u32 __reserved;
	__aligned_u64 ranges;
};

struct vfio_device_feature_dma_logging_range {
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define VFIO_DEVICE_FEATURE_DMA_LOGGING_START 6

/* DMA_LOGGING_STOP (SET, no payload): ends what DMA_LOGGING_START began. */
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP 7

/*
 * DMA_LOGGING_REPORT (GET, struct vfio_device_feature_dma_logging_report)
 * Fetches, and forgets, the writes logged in [iova, iova + length).
 * bitmap is the user address of an array of __u64; bit n stands for the
 * page_size bytes at iova + n * page_size, counting from bit 0 of the
 * first word.  page_size is any power of two, independent of the one used
 * at START.  Bits are only ever set, never cleared: zero the bitmap first.
 * After an error treat the whole range as dirty.
 */
struct vfio_device_feature_dma_logging_report {
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 bitmap;
};

#define VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT 8

/*
 * MIG_DATA_SIZE (GET, struct vfio_device_feature_mig_data_size)
 * How many bytes STOP_COPY is expected to produce; valid in any state.
 */
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};

#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9

/*
 * BUS_MASTER (SET, struct vfio_device_feature_bus_master)
 * Turns the device's DMA off (CLEAR_MASTER) or on (SET_MASTER), for buses
 * that have no in-band control for it.  PCI uses its command register
 * instead; today only CDX devices offer this.
 */
struct vfio_device_feature_bus_master {
	__u32 op;
#define VFIO_DEVICE_FEATURE_CLEAR_MASTER	0
#define VFIO_DEVICE_FEATURE_SET_MASTER		1
};

#define VFIO_DEVICE_FEATURE_BUS_MASTER 10

/* ================== Type1 IOMMU (on the container) ================== */

/*
 * VFIO_IOMMU_GET_INFO (struct vfio_iommu_type1_info, in/out)
 * PGSIZES: iova_pgsizes is the bitmap of page sizes the IOMMU maps with;
 * the smallest one is the alignment MAP_DMA requires.  CAPS: cap_offset
 * starts a chain with the capabilities below.
 */
struct vfio_iommu_type1_info {
	__u32	argsz;
	__u32	flags;
#define VFIO_IOMMU_INFO_PGSIZES (1 << 0)
#define VFIO_IOMMU_INFO_CAPS	(1 << 1)
	__aligned_u64	iova_pgsizes;
	__u32	cap_offset;
	__u32	pad;
};

/*
 * IOVA_RANGE (version 1): the IOVA ranges that can be mapped, with the
 * reserved regions of every attached device (those that cannot be
 * relaxed) taken out.  MAP_DMA outside them fails.  end is inclusive.
 */
#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE	1

struct vfio_iova_range {
	__u64	start;
	__u64	end;
};

struct vfio_iommu_type1_info_cap_iova_range {
	struct	vfio_info_cap_header header;
	__u32	nr_iovas;
	__u32	reserved;
	struct	vfio_iova_range iova_ranges[];
};

/*
 * MIGRATION (version 1): present when the container can track dirty
 * pages.  pgsize_bitmap: page sizes it tracks with.  max_dirty_bitmap_size:
 * the largest bitmap, in bytes, one request may fetch.
 */
#define VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION	2

struct vfio_iommu_type1_info_cap_migration {
	struct	vfio_info_cap_header header;
	__u32	flags;
	__u64	pgsize_bitmap;
	__u64	max_dirty_bitmap_size;
};

/*
 * DMA_AVAIL (version 1): avail is how many more MAP_DMA entries the
 * container accepts before it hits its limit.
 */
#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL	3

struct vfio_iommu_type1_info_dma_avail {
	struct	vfio_info_cap_header header;
	__u32	avail;
};

#define VFIO_IOMMU_GET_INFO		_IO(VFIO_TYPE, VFIO_BASE + 12)

/*
 * VFIO_IOMMU_MAP_DMA (struct vfio_iommu_type1_dma_map, in)
 * Maps [vaddr, vaddr + size) of the caller's memory at iova for the
 * device; READ and/or WRITE say what the device may do.  The pages are
 * pinned and charged to the caller's locked memory limit.  Mapping over
 * an existing mapping fails with EEXIST.
 *
 * With VADDR the request only gives a new vaddr to a mapping whose vaddr
 * was dropped by UNMAP_DMA with VADDR; iova and size must be exactly those
 * of the original map, READ and WRITE must be clear, and the new vaddr
 * must reach the very same memory, or the device will work on the wrong
 * data.
 */
struct vfio_iommu_type1_dma_map {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMA_MAP_FLAG_READ	(1 << 0)
#define VFIO_DMA_MAP_FLAG_WRITE	(1 << 1)
#define VFIO_DMA_MAP_FLAG_VADDR	(1 << 2)
	__u64	vaddr;
	__u64	iova;
	__u64	size;
};

#define VFIO_IOMMU_MAP_DMA		_IO(VFIO_TYPE, VFIO_BASE + 13)

/**
 * struct vfio_bitmap - a dirty page bitmap in user memory
 * @pgsize: bytes of IOVA per bit
 * @size: bytes available at @data
 * @data: the bitmap; bit n covers the page at n * @pgsize from the start of
 *	the range asked about
 */
struct vfio_bitmap {
	__u64	pgsize;
	__u64	size;
	__u64 __user *data;
};

/*
 * VFIO_IOMMU_UNMAP_DMA (struct vfio_iommu_type1_dma_unmap + data, in/out)
 * Removes the mappings in [iova, iova + size) and returns in size how many
 * bytes were actually unmapped.  A range that cuts a mapping in two is
 * not guaranteed to work; unmap what was mapped.
 *
 *   GET_DIRTY_BITMAP  data[] holds a struct vfio_bitmap, whose zeroed
 *                     buffer receives the dirty state of the unmapped
 *                     pages first
 *   ALL               unmap everything; iova and size must be 0
 *   VADDR             keep the mappings (and the device's DMA) but forget
 *                     their vaddr until MAP_DMA with VADDR gives a new
 *                     one; no group may join the container meanwhile
 *
 * ALL and VADDR cannot be combined with GET_DIRTY_BITMAP.
 */
struct vfio_iommu_type1_dma_unmap {
	__u32	argsz;
	__u32	flags;
#define VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP	(1 << 0)
#define VFIO_DMA_UNMAP_FLAG_ALL			(1 << 1)
#define VFIO_DMA_UNMAP_FLAG_VADDR		(1 << 2)
	__u64	iova;
	__u64	size;
	__u8	data[];
};

#define VFIO_IOMMU_UNMAP_DMA		_IO(VFIO_TYPE, VFIO_BASE + 14)

/*
 * VFIO_IOMMU_ENABLE, VFIO_IOMMU_DISABLE (no argument)
 * Switch the container's DMA on and off; only the sPAPR models use them.
 */
#define VFIO_IOMMU_ENABLE		_IO(VFIO_TYPE, VFIO_BASE + 15)
#define VFIO_IOMMU_DISABLE		_IO(VFIO_TYPE, VFIO_BASE + 16)

/*
 * VFIO_IOMMU_DIRTY_PAGES (struct vfio_iommu_type1_dirty_bitmap + data, in)
 * Exactly one flag per call:
 *
 *   START       begin recording every page the devices write to, or may
 *               have written to
 *   STOP        end the recording
 *   GET_BITMAP  data[] holds a struct vfio_iommu_type1_dirty_bitmap_get:
 *               the range to report and a zeroed bitmap to report it in,
 *               with bitmap.pgsize the smallest page size supported.
 *               argsz counts both structures but not the bitmap itself.
 *               Fails when recording is off.
 */
struct vfio_iommu_type1_dirty_bitmap {
	__u32	argsz;
	__u32	flags;
#define VFIO_IOMMU_DIRTY_PAGES_FLAG_START	(1 << 0)
#define VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP	(1 << 1)
#define VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP	(1 << 2)
	__u8	data[];
};

struct vfio_iommu_type1_dirty_bitmap_get {
	__u64	iova;
	__u64	size;
	struct vfio_bitmap bitmap;
};

#define VFIO_IOMMU_DIRTY_PAGES		_IO(VFIO_TYPE, VFIO_BASE + 17)

/* ========= sPAPR TCE IOMMU and EEH (POWER, on the container) ========= */

/**
 * struct vfio_iommu_spapr_tce_ddw_info - dynamic DMA window limits
 * @pgsizes: bitmap of IOMMU page sizes a new window may use
 * @max_dynamic_windows_supported: how many windows the platform can hold
 * @levels: most levels a TCE table may be split into, so that no single
 *	piece of it has to be large and physically contiguous
 */
struct vfio_iommu_spapr_tce_ddw_info {
	__u64 pgsizes;
	__u32 max_dynamic_windows_supported;
	__u32 levels;
};

/*
 * VFIO_IOMMU_SPAPR_TCE_GET_INFO (struct vfio_iommu_spapr_tce_info, out)
 * The default 32-bit DMA window, in PCI bus addresses.  IOVAs given to
 * MAP_DMA and UNMAP_DMA are bus addresses as well, so the window limits
 * which IOVAs work rather than shifting them.  With VFIO_IOMMU_SPAPR_INFO_
 * DDW the platform can create more windows and ddw is filled in.
 */
struct vfio_iommu_spapr_tce_info {
	__u32 argsz;
	__u32 flags;
#define VFIO_IOMMU_SPAPR_INFO_DDW	(1 << 0)
	__u32 dma32_window_start;
	__u32 dma32_window_size;
	struct vfio_iommu_spapr_tce_ddw_info ddw;
};

#define VFIO_IOMMU_SPAPR_TCE_GET_INFO	_IO(VFIO_TYPE, VFIO_BASE + 12)

/*
 * VFIO_EEH_PE_OP (struct vfio_eeh_pe_op, in)
 * One Enhanced Error Handling operation on the partitionable endpoint of
 * the container: op is a VFIO_EEH_PE_* code.  GET_STATE returns a
 * VFIO_EEH_PE_STATE_* value; INJECT_ERR takes err.
 */
struct vfio_eeh_pe_err {
	__u32 type;
	__u32 func;
	__u64 addr;
	__u64 mask;
};

struct vfio_eeh_pe_op {
	__u32 argsz;
	__u32 flags;
	__u32 op;
	union {
		struct vfio_eeh_pe_err err;
	};
};

#define VFIO_EEH_PE_DISABLE		0
#define VFIO_EEH_PE_ENABLE		1
#define VFIO_EEH_PE_UNFREEZE_IO		2
#define VFIO_EEH_PE_UNFREEZE_DMA	3
#define VFIO_EEH_PE_GET_STATE		4
#define  VFIO_EEH_PE_STATE_NORMAL	0
#define  VFIO_EEH_PE_STATE_RESET	1
#define  VFIO_EEH_PE_STATE_STOPPED	2
#define  VFIO_EEH_PE_STATE_STOPPED_DMA	4
#define  VFIO_EEH_PE_STATE_UNAVAIL	5
#define VFIO_EEH_PE_RESET_DEACTIVATE	5
#define VFIO_EEH_PE_RESET_HOT		6
#define VFIO_EEH_PE_RESET_FUNDAMENTAL	7
#define VFIO_EEH_PE_CONFIGURE		8
#define VFIO_EEH_PE_INJECT_ERR		9

#define VFIO_EEH_PE_OP			_IO(VFIO_TYPE, VFIO_BASE + 21)

/*
 * VFIO_IOMMU_SPAPR_REGISTER_MEMORY (struct vfio_iommu_spapr_register_memory)
 * Pins [vaddr, vaddr + size) and charges it to the locked memory limit
 * once, up front, so that later MAP_DMA and UNMAP_DMA inside it are cheap.
 * VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY takes the same structure and undoes
 * it.
 */
struct vfio_iommu_spapr_register_memory {
	__u32	argsz;
	__u32	flags;
	__u64	vaddr;
	__u64	size;
};

#define VFIO_IOMMU_SPAPR_REGISTER_MEMORY	_IO(VFIO_TYPE, VFIO_BASE + 17)
#define VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY	_IO(VFIO_TYPE, VFIO_BASE + 18)

/*
 * VFIO_IOMMU_SPAPR_TCE_CREATE (struct vfio_iommu_spapr_tce_create, in/out)
 * Creates one more DMA window, of 1 << page_shift byte pages, window_size
 * bytes and a TCE table of the given number of levels, in every group of
 * the container.  start_addr returns its bus address, which also names
 * the window for VFIO_IOMMU_SPAPR_TCE_REMOVE.
 */
struct vfio_iommu_spapr_tce_create {
	__u32 argsz;
	__u32 flags;
	__u32 page_shift;
	__u32 __resv1;
	__u64 window_size;
	__u32 levels;
	__u32 __resv2;
	__u64 start_addr;
};

#define VFIO_IOMMU_SPAPR_TCE_CREATE	_IO(VFIO_TYPE, VFIO_BASE + 19)

/*
 * VFIO_IOMMU_SPAPR_TCE_REMOVE (struct vfio_iommu_spapr_tce_remove, in)
 * Removes the window at bus address start_addr from every group of the
 * container and frees its table.
 */
struct vfio_iommu_spapr_tce_remove {
	__u32 argsz;
	__u32 flags;
	__u64 start_addr;
};

#define VFIO_IOMMU_SPAPR_TCE_REMOVE	_IO(VFIO_TYPE, VFIO_BASE + 20)

#endif /* _UAPIVFIO_H */
