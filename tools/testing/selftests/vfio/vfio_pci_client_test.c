// SPDX-License-Identifier: GPL-2.0
/*
 * What the real clients do, replayed call by call: QEMU 7.2 device
 * assignment (hw/vfio/common.c, hw/vfio/pci.c) and DPDK 22.11's vfio bus
 * (lib/eal/linux/eal_vfio.c, eal_interrupts.c, drivers/bus/pci/linux/
 * pci_vfio.c), as the series' notes on its clients (CLIENTS.md) list
 * them.  Each test here is named after the client behaviour and says
 * which client function it mirrors; rules other programs already pin
 * down are not repeated.
 *
 * Coverage map: client behaviour -> test.  "here" is this file; "group:"
 * is vfio_group_test, "type1:" vfio_type1_test and so on, then
 * fixture.test.
 *
 * QEMU 7.2
 *  numeric /dev/vfio/N node ....... group: node_is_named_after_the_iommu_group
 *  GROUP_GET_STATUS viable ........ group: status_of_fresh_group_is_viable_...
 *  SET_CONTAINER on a used one .... container_with_group:
 *                                   second_group_joins_container_with_iommu_model
 *  API version, CHECK_EXTENSION
 *  3,1,7,2, SET_IOMMU, GET_INFO
 *  argsz 24 + retry, cap chain .... here: qemu_container_setup_and_iommu_info
 *                                   (+ type1: get_info_argsz_24_asks_for_more,
 *                                   get_info_chain_has_ranges_avail_and_migration)
 *  MAP_DMA rw and read-only ....... type1: map_then_unmap_reports_size,
 *                                   map_read_only_memory_read_only
 *  MAP_DMA of a BAR mmap (p2p) .... here: qemu_dma_map_of_a_bar_mmap_reaches_the_bar
 *                                   (+ vfio_type1_p2p_test)
 *  GET_INFO PCI, 9 regions, irqs .. device: info_has_pci_flag,
 *                                   info_counts_every_pci_region/_irq
 *  FLAGS_RESET, DEVICE_RESET ...... reset: nvme.info_says_the_device_resets;
 *                                   here: dpdk_setup.*
 *  BAR0-5 + config region info,
 *  size 0 absent / 64-bit upper ... device: region_sizes_match_sysfs_resources
 *  region info argsz retry, caps,
 *  SPARSE_MMAP if offered ......... here: region_info.argsz_converges_and_caps_chain
 *  whole config read .............. device: config_read_of_whole_region_is_complete
 *  BAR and ROM sizing ............. config: bar_sizing_reads_back_the_size_mask,
 *                                   rom_sizing_with_qemu_mask_reads_the_rom_size
 *  MSI-X table/PBA location ....... config: passthrough_capability_fields_match_sysfs
 *  MSIX_MAPPABLE, whole-BAR mmap .. here: qemu_mmaps_the_whole_msix_bar_when_msix_mappable
 *  ROM read loop .................. here: qemu_reads_the_rom_in_a_pread_loop
 *  INTx trigger at realize ........ irq: edu_intx.raise_is_delivered_to_the_trigger
 *  ERR and REQ (optional) ......... irq: nvme_msix.err_trigger_loopback;
 *                                   device: req_irq_takes_an_eventfd
 *  guest config writes filtered ... config: (every test)
 *  BAR access 1/2/4/8, I/O BARs ... here: bar_access_of_every_width_mmio/_io
 *  INTx automask, UNMASK .......... irq: edu_intx.delivery_masks_until_unmask
 *  MSI enable/disable ............. irq: edu_msi.*
 *  MSI "retry with N" ............. not testable: no bed device has multi-vector MSI
 *  MSI-X vector 0, then grow by
 *  disable + enable with -1s ...... here: qemu_msix_enable_then_grow_by_reenable
 *  MSI-X start/count, count 0 ..... irq: nvme_msix.updating_one_vector_leaves_...,
 *                                   nvme_msix.count_0_disables
 *  hot reset info ENOSPC + count,
 *  reset with group fds ........... reset: bridged.*; here: qemu_hot_reset_sequence
 *  UNSET_CONTAINER at teardown .... group: unset_container_clears_container_set
 *
 * DPDK 22.11
 *  /sys/module/vfio{,_pci},
 *  "vfio-pci", noiommu byte ....... here: dpdk_finds_modules_driver_and_noiommu_mode
 *  CHECK_EXTENSION 1,7,8, type1
 *  v1 first ....................... here: dpdk_container_probe_and_type1_v1
 *                                   (+ container: check_extension_never_fails)
 *  close without UNSET detaches,
 *  drops every mapping ............ group: closing_group_fd_detaches_it_from_container;
 *                                   type1 fixture teardown; type1_stress:
 *                                   killed_process_with_live_mappings_releases_...
 *  overlap EEXIST, v1 unmap sizes . type1: map_overlap_is_eexist,
 *                                   v1.unmap_into_a_range
 *  vf_token first, then name ...... here: dpdk_get_device_fd_tries_vf_token_first
 *  offsets are index << 40 ........ device: region_offsets_are_index_shifted_by_40
 *  16-byte config reads ........... here: dpdk_config.dpdk_reads_16_byte_structures
 *                                   (+ config: reads_of_every_width_agree)
 *  multi-dword config writes ...... here: dpdk_config.dpdk_writes_several_dwords_...
 *  region info argsz converges .... here: region_info.argsz_converges_and_caps_chain
 *  BAR pieces, MAP_FIXED .......... here: dpdk_maps_bar_pieces_over_a_reservation,
 *                                   dpdk_maps_a_sub_page_bar, dpdk_setup.*
 *  IRQ info, REQ notifier, bus
 *  master, RESET (EINVAL ok),
 *  COMMAND survives ............... here: dpdk_setup.device_setup_sequence
 *                                   (+ reset: nvme.reset_keeps_the_command_register)
 *  INTx trigger+unmask, ack,
 *  mask, count 0 .................. here: dpdk_intx_enable_ack_and_disable
 *  MSI-X all efds, count 0 ........ here: dpdk_msix_enable_grow_and_disable
 *  testpmd on the e1000 ........... not run: the guest image has no DPDK
 */
#include <sys/mman.h>

#include "vfio_test_util.h"
#include "vfio_type1_util.h"

#define CFG_COMMAND		0x04
#define CFG_BAR0		0x10
#define CMD_IO			0x0001
#define CMD_MEMORY		0x0002
#define CMD_MASTER		0x0004
#define MSIX_FLAGS_ENABLE	0x8000
#define MSIX_BIR_MASK		0x7

/* edu registers (BAR0) */
#define EDU_IRQ_RAISE		0x60
#define EDU_IRQ_ACK		0x64

/* ivshmem BAR0 registers: IntrMask reads back what was written. */
#define IVSHMEM_INTR_MASK	0x00

#define SET_EVENTFD	(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER)
#define SET_NONE	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)
#define SET_MASK	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK)
#define SET_UNMASK	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK)

#define PCI_STD_NUM_BARS	6
#define MAX_FDS		16
#define DELIVER_MS	5000
#define QUIET_MS	300

/* ---- config space -------------------------------------------------- */

static uint64_t cfg_pos(unsigned int off)
{
	return VFIO_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) + off;
}

static uint32_t cfg_read(int fd, unsigned int off, unsigned int len)
{
	uint32_t val = 0;

	if (pread(fd, &val, len, cfg_pos(off)) != (ssize_t)len)
		return ~0u;
	return val;
}

static int cfg_write(int fd, unsigned int off, unsigned int len, uint32_t val)
{
	ssize_t n = pwrite(fd, &val, len, cfg_pos(off));

	if (n < 0)
		return errno;
	return n == (ssize_t)len ? 0 : EIO;
}

static uint16_t host_cfg16(const char *bdf, unsigned int off)
{
	uint8_t cfg[256];

	if (vfio_pci_sysfs_config(bdf, cfg, sizeof(cfg)))
		return 0xffff;
	return cfg[off] | cfg[off + 1] << 8;
}

/* The BAR holding the MSI-X table, or -1 without MSI-X. */
static int msix_bar(int fd, const char *bdf, uint32_t *table)
{
	unsigned int pos = vfio_pci_find_cap(bdf, PCI_CAP_ID_MSIX_);

	if (!pos)
		return -1;
	*table = cfg_read(fd, pos + 4, 4);
	return *table & MSIX_BIR_MASK;
}

/* ---- region info ----------------------------------------------------- */

/*
 * GET_REGION_INFO as QEMU's vfio_get_region_info() and DPDK's
 * pci_vfio_get_region_info() ask: the bare struct first, then again with
 * whatever argsz the kernel said it needs, until it needs no more.
 * *@calls is how many ioctls that took; NULL with errno on failure.
 */
static struct vfio_region_info *region_info(int fd, __u32 index, int *calls)
{
	__u32 argsz = sizeof(struct vfio_region_info);
	struct vfio_region_info *info;

	for (*calls = 1; *calls <= 4; (*calls)++) {
		info = calloc(1, argsz);
		if (!info)
			return NULL;
		info->argsz = argsz;
		info->index = index;
		if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, info)) {
			int err = errno;

			free(info);
			errno = err;
			return NULL;
		}
		if (info->argsz <= argsz)
			return info;
		argsz = info->argsz;
		free(info);
	}
	errno = ERANGE;
	return NULL;
}

/*
 * Walk the capability chain the way vfio_get_region_info_cap() does,
 * checking that every header lies inside argsz and the chain ends.
 * Returns the capability @id, or NULL; *@ok is false for a broken chain.
 */
static struct vfio_info_cap_header *region_cap(struct vfio_region_info *info,
					       __u16 id, bool *ok)
{
	struct vfio_info_cap_header *found = NULL;
	__u32 off, n = 0;

	*ok = true;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		return NULL;
	for (off = info->cap_offset; off; n++) {
		struct vfio_info_cap_header *hdr = (void *)info + off;

		if (off < sizeof(*info) || off + sizeof(*hdr) > info->argsz ||
		    n > 16) {
			*ok = false;
			return NULL;
		}
		if (hdr->id == id && !found)
			found = hdr;
		if (hdr->next && hdr->next <= off) {
			*ok = false;
			return NULL;
		}
		off = hdr->next;
	}
	return found;
}

/* ---- eventfds and SET_IRQS ------------------------------------------ */

static int new_eventfd(void)
{
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/* Signals @efd collected within @ms, consumed; 0 for none. */
static uint64_t fired(int efd, int ms)
{
	uint64_t n = 0;

	if (vfio_wait_readable(efd, ms) <= 0)
		return 0;
	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* VFIO_DEVICE_SET_IRQS with @count eventfds (NULL: no data): 0 or errno. */
static int irq_set(int fd, __u32 index, __u32 flags, __u32 start,
		   __u32 count, const __s32 *fds)
{
	char buf[sizeof(struct vfio_irq_set) + MAX_FDS * sizeof(__s32)];
	struct vfio_irq_set *set = (void *)buf;
	size_t len = fds ? count * sizeof(__s32) : 0;

	if (count > MAX_FDS)
		return E2BIG;
	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(*set) + len;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (len)
		memcpy(set->data, fds, len);
	return ioctl(fd, VFIO_DEVICE_SET_IRQS, set) ? errno : 0;
}

/* ---- BAR mappings ----------------------------------------------------- */

static uint32_t mmio_read32(const void *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
}

static void mmio_write32(void *p, uint32_t val)
{
	__atomic_store_n((uint32_t *)p, val, __ATOMIC_RELAXED);
}

static uint32_t bar_read32(int fd, unsigned int bar, uint64_t off)
{
	uint32_t val = ~0u;

	if (pread(fd, &val, 4, VFIO_REGION_OFFSET(bar) + off) != 4)
		return ~0u;
	return val;
}

static int bar_write32(int fd, unsigned int bar, uint64_t off, uint32_t val)
{
	if (pwrite(fd, &val, 4, VFIO_REGION_OFFSET(bar) + off) != 4)
		return errno;
	return 0;
}

/*
 * DPDK's pci_vfio_mmap_bar(): reserve address space for the whole BAR
 * with an inaccessible private mapping, then map the wanted pieces of the
 * BAR over it, MAP_SHARED | MAP_FIXED.
 */
static void *bar_reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);

	return p == MAP_FAILED ? NULL : p;
}

static int bar_map_piece(void *base, int fd, uint64_t region_offset,
			 size_t off, size_t len)
{
	void *want = (char *)base + off;
	void *p = mmap(want, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       fd, region_offset + off);

	if (p == MAP_FAILED)
		return errno;
	return p == want ? 0 : EFAULT;
}

/* What reached the ivshmem BAR, read from the host file's side. */
static int ivshmem_file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(TB_IVSHMEM_FILE, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return errno;
	n = pread(fd, buf, len, off);
	close(fd);
	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EIO;
}

/* ---- QEMU: container ------------------------------------------------- */

/*
 * QEMU hw/vfio/common.c vfio_connect_container(), vfio_get_iommu_type(),
 * vfio_init_container() and vfio_get_iommu_info(): API version, the
 * IOMMU types probed on the empty container in QEMU's order (the first
 * one answered wins), attach, SET_IOMMU, then GET_INFO with the 24-byte
 * struct, again with the argsz asked for, and the walk of its chain.
 */
TEST(qemu_container_setup_and_iommu_info)
{
	static const unsigned long order[] = {
		VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU,
		VFIO_SPAPR_TCE_v2_IOMMU, VFIO_SPAPR_TCE_IOMMU,
	};
	struct vfio_iommu_type1_info *info, probe = { .argsz = 24 };
	bool dma_avail = false, migration = false;
	unsigned long type = 0;
	struct vfio_test_dev dev;
	unsigned int n = 0;
	__u32 off;

	vfio_test_dev_open(_metadata, &dev, TB_EDU_BDF, VFIO_STAGE_GROUP);
	ASSERT_EQ(VFIO_API_VERSION, ioctl(dev.container, VFIO_GET_API_VERSION));
	for (unsigned int i = 0; i < ARRAY_SIZE(order) && !type; i++)
		if (ioctl(dev.container, VFIO_CHECK_EXTENSION, order[i]) > 0)
			type = order[i];
	ASSERT_EQ(VFIO_TYPE1v2_IOMMU, type);
	ASSERT_TRUE(vfio_group_flags(dev.group) & VFIO_GROUP_FLAGS_VIABLE);
	vfio_group_set_container(dev.group, dev.container);
	vfio_set_iommu(dev.container, type);

	ASSERT_EQ(24, sizeof(probe));
	ASSERT_EQ(0, ioctl(dev.container, VFIO_IOMMU_GET_INFO, &probe));
	ASSERT_TRUE(probe.flags & VFIO_IOMMU_INFO_PGSIZES);
	ASSERT_TRUE(probe.flags & VFIO_IOMMU_INFO_CAPS);
	ASSERT_LT(24, probe.argsz);
	info = calloc(1, probe.argsz);
	ASSERT_NE(NULL, info);
	info->argsz = probe.argsz;
	ASSERT_EQ(0, ioctl(dev.container, VFIO_IOMMU_GET_INFO, info));
	/* Converged: the second answer asks for no more. */
	EXPECT_EQ(probe.argsz, info->argsz);
	EXPECT_EQ(probe.iova_pgsizes, info->iova_pgsizes);
	for (off = info->cap_offset; off && n < 16; n++) {
		struct vfio_info_cap_header *hdr = (void *)info + off;

		ASSERT_LE(sizeof(*info), off);
		ASSERT_GE(info->argsz, off + sizeof(*hdr));
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
			dma_avail = true;
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION)
			migration = true;
		ASSERT_TRUE(!hdr->next || hdr->next > off);
		off = hdr->next;
	}
	EXPECT_GT(16, n);
	EXPECT_TRUE(dma_avail);
	EXPECT_TRUE(migration);
	free(info);
	vfio_test_dev_close(_metadata, &dev);
}

/* ---- region info: every client ------------------------------------- */

FIXTURE(region_info)
{
	struct vfio_test_dev dev;
	struct vfio_device_info info;
};

FIXTURE_VARIANT(region_info)
{
	const char *bdf;
};

FIXTURE_VARIANT_ADD(region_info, nvme)
{
	.bdf = TB_NVME_PF_BDF,
};

FIXTURE_VARIANT_ADD(region_info, ivshmem)
{
	.bdf = TB_IVSHMEM_BDF,
};

FIXTURE_VARIANT_ADD(region_info, e1000)
{
	.bdf = TB_PAIR_E1000_BDF,
};

FIXTURE_SETUP(region_info)
{
	vfio_test_dev_open(_metadata, &self->dev, variant->bdf,
			   VFIO_STAGE_DEVICE);
	vfio_device_get_info(self->dev.device, &self->info);
}

FIXTURE_TEARDOWN(region_info)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

/*
 * QEMU hw/vfio/common.c vfio_get_region_info() + vfio_get_region_info_cap()
 * + vfio_setup_region_sparse_mmaps(), DPDK pci_vfio_get_region_info():
 * argsz grows at most once and then stays, every capability chain is well
 * formed, and a sparse mmap area, where there is one, lies in its region.
 */
TEST_F(region_info, argsz_converges_and_caps_chain)
{
	for (__u32 i = 0; i < self->info.num_regions; i++) {
		struct vfio_region_info_cap_sparse_mmap *sparse;
		struct vfio_region_info *info, *again;
		int calls, calls2;
		bool ok;

		info = region_info(self->dev.device, i, &calls);
		if (!info && i == VFIO_PCI_VGA_REGION_INDEX && errno == EINVAL)
			continue;	/* not a VGA device */
		ASSERT_NE(NULL, info) {
			TH_LOG("region %u: errno %d", i, errno);
		}
		EXPECT_GE(2, calls) {
			TH_LOG("region %u took %d calls", i, calls);
		}
		sparse = (void *)region_cap(info,
					    VFIO_REGION_INFO_CAP_SPARSE_MMAP,
					    &ok);
		EXPECT_TRUE(ok) {
			TH_LOG("region %u: broken capability chain", i);
		}
		for (__u32 a = 0; sparse && a < sparse->nr_areas; a++) {
			EXPECT_GE(info->size, sparse->areas[a].offset +
				  sparse->areas[a].size);
			EXPECT_EQ(0, sparse->areas[a].offset & (PG - 1));
		}
		/* The same answer when asked with the final argsz at once. */
		again = region_info(self->dev.device, i, &calls2);
		ASSERT_NE(NULL, again);
		EXPECT_EQ(info->argsz, again->argsz);
		EXPECT_EQ(info->flags, again->flags);
		EXPECT_EQ(info->size, again->size);
		EXPECT_EQ(info->offset, again->offset);
		free(again);
		free(info);
	}
}

/* ---- QEMU: BARs, ROM -------------------------------------------------- */

/*
 * QEMU hw/vfio/pci.c vfio_pci_fixup_msix_region() (DPDK:
 * pci_vfio_msix_is_mappable()): on x86 the BAR holding the MSI-X table
 * carries the MSIX_MAPPABLE capability, so QEMU's vfio_region_mmap() maps
 * the nvme BAR0 whole, the table page included; registers read the same
 * through the mapping and through pread.
 */
TEST(qemu_mmaps_the_whole_msix_bar_when_msix_mappable)
{
	struct vfio_region_info *info;
	struct vfio_test_dev dev;
	uint32_t table;
	int bar, calls;
	bool ok;
	char *p;

	vfio_test_dev_open(_metadata, &dev, TB_NVME_PF_BDF, VFIO_STAGE_DEVICE);
	bar = msix_bar(dev.device, TB_NVME_PF_BDF, &table);
	ASSERT_LE(0, bar);
	info = region_info(dev.device, bar, &calls);
	ASSERT_NE(NULL, info);
	ASSERT_TRUE(info->flags & VFIO_REGION_INFO_FLAG_MMAP);
	ASSERT_TRUE(info->flags & VFIO_REGION_INFO_FLAG_CAPS);
	ASSERT_NE(NULL, region_cap(info, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
				   &ok));
	ASSERT_TRUE(ok);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       cfg_read(dev.device, CFG_COMMAND, 2) |
			       CMD_MEMORY));
	p = mmap(NULL, info->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 dev.device, info->offset);
	ASSERT_NE(MAP_FAILED, p);
	/* nvme CAP and VS: read-only registers. */
	EXPECT_EQ(bar_read32(dev.device, bar, 0), mmio_read32(p));
	EXPECT_EQ(bar_read32(dev.device, bar, 8), mmio_read32(p + 8));
	/* The table page is there too: touching it does not fault. */
	(void)mmio_read32(p + (table & ~MSIX_BIR_MASK) + 12);
	munmap(p, info->size);
	free(info);
	vfio_test_dev_close(_metadata, &dev);
}

/*
 * QEMU hw/vfio/common.c vfio_region_read() / vfio_region_write(): a guest
 * access of 1, 2, 4 or 8 bytes to a BAR that is not mmapped (or to the
 * slow path of one that is) is one pread/pwrite of exactly that size.
 * ivshmem BAR2 is RAM behind a host file: what each write left there is
 * checked from outside.  DPDK's pci_vfio_ioport_read/write do the same
 * on I/O BARs.
 */
TEST(bar_access_of_every_width_mmio)
{
	static const unsigned int widths[] = { 1, 2, 4, 8 };
	struct vfio_test_dev dev;
	uint64_t base = VFIO_REGION_OFFSET(TB_IVSHMEM_BAR);

	vfio_test_dev_open(_metadata, &dev, TB_IVSHMEM_BDF, VFIO_STAGE_DEVICE);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       cfg_read(dev.device, CFG_COMMAND, 2) |
			       CMD_MEMORY));
	for (unsigned int w = 0; w < ARRAY_SIZE(widths); w++) {
		unsigned int len = widths[w];
		uint64_t off = 0x8000 + 0x100 * w + len;
		uint64_t val = 0x8877665544332211ULL ^ (0x1111ULL * len);
		uint64_t back = 0, file = 0;

		ASSERT_EQ(len, pwrite(dev.device, &val, len, base + off));
		ASSERT_EQ(len, pread(dev.device, &back, len, base + off));
		ASSERT_EQ(0, ivshmem_file_read(off, &file, len));
		EXPECT_EQ(0, memcmp(&val, &back, len)) {
			TH_LOG("%u-byte access", len);
		}
		EXPECT_EQ(0, memcmp(&val, &file, len)) {
			TH_LOG("%u-byte access, host file", len);
		}
	}
	vfio_test_dev_close(_metadata, &dev);
}

/* The same on I/O port BARs (pci-testdev BAR1), reads: 1, 2 and 4 bytes. */
TEST(bar_access_of_every_width_io)
{
	static const unsigned int widths[] = { 1, 2, 4 };
	struct vfio_region_info info;
	struct vfio_test_dev dev;

	vfio_test_dev_open(_metadata, &dev, TB_TESTDEV_BDF, VFIO_STAGE_DEVICE);
	vfio_device_get_region_info(dev.device, 1, &info);
	ASSERT_NE(0, info.size);
	ASSERT_EQ(1, cfg_read(dev.device, CFG_BAR0 + 4, 4) & 1);
	/* I/O BARs are not mmappable: every client goes through pread. */
	EXPECT_EQ(0, info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       cfg_read(dev.device, CFG_COMMAND, 2) | CMD_IO));
	for (unsigned int w = 0; w < ARRAY_SIZE(widths); w++) {
		uint32_t val;

		for (uint64_t off = 0; off + widths[w] <= 16;
		     off += widths[w]) {
			ASSERT_EQ(widths[w], pread(dev.device, &val, widths[w],
						   info.offset + off)) {
				TH_LOG("%u bytes at %llu: errno %d", widths[w],
				       (unsigned long long)off, errno);
			}
		}
	}
	vfio_test_dev_close(_metadata, &dev);
}

/*
 * Where the chain of images in an option ROM ends: each image starts with
 * 55 aa and points at offset 0x18 to its PCI data structure ("PCIR"),
 * which gives the image length (512-byte units, +0x10) and marks the
 * last image (bit 7 of +0x15).  0 for a malformed ROM.
 */
static size_t rom_images_end(const uint8_t *rom, size_t size)
{
	size_t off = 0;

	for (int n = 0; n < 16 && off + 0x1a <= size; n++) {
		size_t pcir = off + (rom[off + 0x18] | rom[off + 0x19] << 8);
		size_t len;

		if (rom[off] != 0x55 || rom[off + 1] != 0xaa ||
		    pcir + 0x18 > size || memcmp(rom + pcir, "PCIR", 4))
			return 0;
		len = (rom[pcir + 0x10] | rom[pcir + 0x11] << 8) * 512UL;
		if (!len)
			return 0;
		off += len;
		if (rom[pcir + 0x15] & 0x80)
			return off <= size ? off : 0;
	}
	return 0;
}

/*
 * QEMU hw/vfio/pci.c vfio_pci_load_rom(): the ROM region read whole in a
 * pread loop that stops on 0, into a buffer pre-filled with 0xff; it must
 * end with the whole region read, the image's signature first.
 */
TEST(qemu_reads_the_rom_in_a_pread_loop)
{
	struct vfio_region_info info;
	struct vfio_test_dev dev;
	size_t size, off = 0, image;
	uint8_t *rom;

	vfio_test_dev_open(_metadata, &dev, TB_PAIR_E1000_BDF,
			   VFIO_STAGE_DEVICE);
	vfio_device_get_region_info(dev.device, VFIO_PCI_ROM_REGION_INDEX,
				    &info);
	if (!info.size) {
		vfio_test_dev_close(_metadata, &dev);
		SKIP(return, "the e1000 has no ROM here");
	}
	size = info.size;
	rom = malloc(size);
	ASSERT_NE(NULL, rom);
	memset(rom, 0xff, size);
	while (off < size) {
		ssize_t n = pread(dev.device, rom + off, size - off,
				  info.offset + off);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		ASSERT_LE(0, n) {
			TH_LOG("ROM read at 0x%zx: errno %d", off, errno);
		}
		if (!n)
			break;
		off += n;
	}
	EXPECT_EQ(size, off);
	ASSERT_EQ(0x55, rom[0]);
	ASSERT_EQ(0xaa, rom[1]);
	image = rom_images_end(rom, size);
	ASSERT_LT(0, image);
	/* Past the last image, all ones: nothing is cut short. */
	for (size_t i = image; i < size; i++) {
		ASSERT_EQ(0xff, rom[i]) {
			TH_LOG("ROM byte 0x%zx past the images (0x%zx)", i,
			       image);
		}
	}
	free(rom);
	vfio_test_dev_close(_metadata, &dev);
}

/* ---- QEMU: MSI-X ----------------------------------------------------- */

/*
 * QEMU hw/vfio/pci.c vfio_msix_enable(), vfio_msix_vector_do_use() and
 * vfio_enable_vectors() under TCG: the index is first disabled (count 0,
 * result ignored), MSI-X enabled with vector 0 alone so the device is in
 * MSI-X mode, then each vector past the enabled ones is added by
 * disabling and enabling again with every vector, -1 for the unused.
 * vfio_msix_disable() ends it with count 0.
 */
TEST(qemu_msix_enable_then_grow_by_reenable)
{
	unsigned int pos = vfio_pci_find_cap(TB_NVME_PF_BDF, PCI_CAP_ID_MSIX_);
	struct vfio_test_dev dev;
	__s32 fds[4];
	int efd[4];
	int err;

	ASSERT_NE(0, pos);
	for (int i = 0; i < 4; i++) {
		efd[i] = new_eventfd();
		ASSERT_LE(0, efd[i]);
	}
	vfio_test_dev_open(_metadata, &dev, TB_NVME_PF_BDF, VFIO_STAGE_DEVICE);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       CMD_MEMORY | CMD_MASTER));

	/* vfio_disable_irqindex() on an index nothing enabled yet. */
	err = irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX, SET_NONE, 0, 0,
		      NULL);
	EXPECT_EQ(EINVAL, err);
	fds[0] = efd[0];
	ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX, SET_EVENTFD,
			     0, 1, fds));
	EXPECT_EQ(MSIX_FLAGS_ENABLE,
		  host_cfg16(TB_NVME_PF_BDF, pos + 2) & MSIX_FLAGS_ENABLE);
	/* The vector in use again: one-vector update. */
	ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX, SET_EVENTFD,
			     0, 1, fds));
	ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX, SET_NONE, 0,
			     1, NULL));
	EXPECT_EQ(1, fired(efd[0], DELIVER_MS));

	/* Vector 3 in use: disable, enable all four, holes as -1. */
	ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX, SET_NONE, 0,
			     0, NULL));
	fds[1] = -1;
	fds[2] = -1;
	fds[3] = efd[3];
	ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX, SET_EVENTFD,
			     0, 4, fds));
	EXPECT_EQ(MSIX_FLAGS_ENABLE,
		  host_cfg16(TB_NVME_PF_BDF, pos + 2) & MSIX_FLAGS_ENABLE);
	for (int v = 0; v < 4; v++) {
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX,
				     SET_NONE, v, 1, NULL));
		for (int e = 0; e < 4; e++) {
			bool want = fds[v] == efd[e];

			EXPECT_EQ(want ? 1 : 0,
				  fired(efd[e], want ? DELIVER_MS : 0)) {
				TH_LOG("vector %d, eventfd %d", v, e);
			}
		}
	}

	ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX, SET_NONE, 0,
			     0, NULL));
	EXPECT_EQ(0, host_cfg16(TB_NVME_PF_BDF, pos + 2) & MSIX_FLAGS_ENABLE);
	vfio_test_dev_close(_metadata, &dev);
	for (int i = 0; i < 4; i++)
		close(efd[i]);
}

/* ---- QEMU: hot reset ------------------------------------------------- */

/*
 * QEMU hw/vfio/pci.c vfio_pci_hot_reset(): GET_PCI_HOT_RESET_INFO with the
 * bare struct (ENOSPC and the count), again with room for every
 * dependent device, each one's group checked against the groups QEMU
 * holds, then PCI_HOT_RESET with those groups' fds.
 */
TEST(qemu_hot_reset_sequence)
{
	struct vfio_pci_hot_reset_info *info, probe = {
		.argsz = sizeof(probe),
	};
	struct vfio_pci_hot_reset *reset;
	struct vfio_device_info dinfo;
	struct vfio_test_dev dev;
	size_t len;

	vfio_test_dev_open(_metadata, &dev, TB_BRIDGED_TESTDEV_BDF,
			   VFIO_STAGE_DEVICE);
	ASSERT_EQ(-1, ioctl(dev.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
			    &probe));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_LE(1, probe.count);
	len = sizeof(*info) + probe.count * sizeof(info->devices[0]);
	info = calloc(1, len);
	ASSERT_NE(NULL, info);
	info->argsz = len;
	ASSERT_EQ(0, ioctl(dev.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
			   info));
	ASSERT_EQ(probe.count, info->count);
	for (__u32 i = 0; i < info->count; i++) {
		ASSERT_EQ(dev.group_id, info->devices[i].group_id) {
			TH_LOG("%04x:%02x:%02x.%x is in group %u",
			       info->devices[i].segment, info->devices[i].bus,
			       info->devices[i].devfn >> 3,
			       info->devices[i].devfn & 7,
			       info->devices[i].group_id);
		}
	}
	free(info);

	len = sizeof(*reset) + sizeof(__s32);
	reset = calloc(1, len);
	ASSERT_NE(NULL, reset);
	reset->argsz = len;
	reset->count = 1;
	reset->group_fds[0] = dev.group;
	EXPECT_EQ(0, ioctl(dev.device, VFIO_DEVICE_PCI_HOT_RESET, reset));
	free(reset);
	/* The device is still there and answers. */
	vfio_device_get_info(dev.device, &dinfo);
	EXPECT_EQ(vfio_pci_attr_ulong(TB_BRIDGED_TESTDEV_BDF, "vendor"),
		  cfg_read(dev.device, PCI_CFG_VENDOR_ID, 2));
	vfio_test_dev_close(_metadata, &dev);
}

/* ---- QEMU: peer-to-peer DMA ------------------------------------------ */

/*
 * QEMU hw/vfio/common.c vfio_listener_region_add() on a BAR mmap (a RAM
 * device region): MAP_DMA of the mapping, so another device can DMA into
 * the BAR.  edu copies a pattern from RAM into its buffer, then from its
 * buffer to the IOVA of ivshmem's BAR2; the host file shows it arrived.
 */
#define P2P_RAM_IOVA	0x100000UL
#define P2P_BAR_IOVA	0x400000UL
#define P2P_OFF		0x3000UL
#define P2P_LEN		256UL

TEST(qemu_dma_map_of_a_bar_mmap_reaches_the_bar)
{
	struct vfio_test_dev edu_dev, shm;
	uint8_t pattern[P2P_LEN], seen[P2P_LEN];
	struct edu edu;
	char *ram, *bar;

	if (tb_noiommu_profile())
		SKIP(return, "type1 needs an IOMMU");
	vfio_test_dev_open(_metadata, &edu_dev, TB_EDU_BDF, VFIO_STAGE_DEVICE);
	vfio_test_dev_open(_metadata, &shm, TB_IVSHMEM_BDF, VFIO_STAGE_GROUP);
	vfio_group_set_container(shm.group, edu_dev.container);
	vfio_group_get_device_fd(shm.group, TB_IVSHMEM_BDF, &shm.device);
	ASSERT_EQ(0, cfg_write(shm.device, CFG_COMMAND, 2,
			       cfg_read(shm.device, CFG_COMMAND, 2) |
			       CMD_MEMORY));
	bar = mmap(NULL, TB_IVSHMEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   shm.device, VFIO_REGION_OFFSET(TB_IVSHMEM_BAR));
	ASSERT_NE(MAP_FAILED, bar);
	ram = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ram);
	for (unsigned int i = 0; i < P2P_LEN; i++)
		pattern[i] = 0xc3 ^ i;
	memcpy(ram, pattern, P2P_LEN);

	ASSERT_EQ(0, _map(edu_dev.container, P2P_RAM_IOVA, PG, ram, RW));
	ASSERT_EQ(0, _map(edu_dev.container, P2P_BAR_IOVA, TB_IVSHMEM_SIZE,
			  bar, RW));
	edu.fd = edu_dev.device;
	edu.bar0 = VFIO_REGION_OFFSET(0);
	ASSERT_EQ(0, cfg_write(edu.fd, CFG_COMMAND, 2,
			       CMD_MEMORY | CMD_MASTER));
	ASSERT_EQ(0, edu_read_iova(&edu, P2P_RAM_IOVA, P2P_LEN));
	ASSERT_EQ(0, edu_write_iova(&edu, P2P_BAR_IOVA + P2P_OFF, P2P_LEN));
	ASSERT_EQ(0, ivshmem_file_read(P2P_OFF, seen, P2P_LEN));
	EXPECT_EQ(0, memcmp(pattern, seen, P2P_LEN));
	EXPECT_EQ(0, memcmp(pattern, bar + P2P_OFF, P2P_LEN));

	ASSERT_EQ(0, _unmap(edu_dev.container, P2P_BAR_IOVA, TB_IVSHMEM_SIZE,
			    0, NULL));
	ASSERT_EQ(0, _unmap(edu_dev.container, P2P_RAM_IOVA, PG, 0, NULL));
	munmap(ram, PG);
	munmap(bar, TB_IVSHMEM_SIZE);
	vfio_test_dev_close(_metadata, &shm);
	vfio_test_dev_close(_metadata, &edu_dev);
}

/* ---- DPDK: discovery and container ------------------------------------ */

/*
 * DPDK drivers/bus/pci/linux/pci_vfio.c pci_vfio_is_enabled() (the vfio
 * and vfio_pci modules), pci_get_kernel_driver_by_path() (the driver
 * link's name), eal_vfio.c rte_vfio_noiommu_is_enabled() (the first byte
 * of the parameter; a missing file means no no-IOMMU mode).
 */
TEST(dpdk_finds_modules_driver_and_noiommu_mode)
{
	struct vfio_test_dev dev;
	char mode[8] = "";
	struct stat st;
	int err;

	ASSERT_EQ(0, stat("/sys/module/vfio", &st));
	ASSERT_EQ(0, stat("/sys/module/vfio_pci", &st));
	vfio_test_dev_open(_metadata, &dev, TB_EDU_BDF, VFIO_STAGE_BOUND);
	EXPECT_TRUE(vfio_pci_driver_is(TB_EDU_BDF, "vfio-pci"));
	err = vfio_sysfs_read("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
			      mode, sizeof(mode));
	EXPECT_TRUE(err == ENOENT || (!err && mode[0] == 'N')) {
		TH_LOG("enable_unsafe_noiommu_mode: errno %d, '%s'", err,
		       mode);
	}
	vfio_test_dev_close(_metadata, &dev);
}

/*
 * DPDK lib/eal/linux/eal_vfio.c vfio_has_supported_extensions() and
 * vfio_set_iommu_type(): CHECK_EXTENSION of type1 (1), sPAPR (7) and
 * no-IOMMU (8) answer 0 or 1, type1 among them; once the group is in,
 * SET_IOMMU is tried in the same order and type1 v1 is taken at once.
 */
TEST(dpdk_container_probe_and_type1_v1)
{
	static const unsigned long order[] = {
		VFIO_TYPE1_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU, VFIO_NOIOMMU_IOMMU,
	};
	struct vfio_test_dev dev;
	__u64 unmapped = 0;
	void *buf;

	vfio_test_dev_open(_metadata, &dev, TB_EDU_BDF, VFIO_STAGE_GROUP);
	ASSERT_EQ(VFIO_API_VERSION, ioctl(dev.container, VFIO_GET_API_VERSION));
	for (unsigned int i = 0; i < ARRAY_SIZE(order); i++) {
		int ret = ioctl(dev.container, VFIO_CHECK_EXTENSION, order[i]);

		ASSERT_TRUE(ret == 0 || ret == 1) {
			TH_LOG("extension %lu: %d", order[i], ret);
		}
		if (order[i] == VFIO_TYPE1_IOMMU)
			ASSERT_EQ(1, ret);
	}
	ASSERT_TRUE(vfio_group_flags(dev.group) & VFIO_GROUP_FLAGS_VIABLE);
	ASSERT_FALSE(vfio_group_flags(dev.group) &
		     VFIO_GROUP_FLAGS_CONTAINER_SET);
	vfio_group_set_container(dev.group, dev.container);
	vfio_set_iommu(dev.container, order[0]);

	/* vfio_type1_dma_mem_map(): one page, read-write, and back. */
	buf = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, _map(dev.container, 0x10000, PG, buf, RW));
	ASSERT_EQ(-EEXIST, _map(dev.container, 0x10000, PG, buf, RW));
	ASSERT_EQ(0, _unmap(dev.container, 0x10000, PG, 0, &unmapped));
	EXPECT_EQ(PG, unmapped);
	munmap(buf, PG);
	vfio_test_dev_close(_metadata, &dev);
}

/*
 * DPDK eal_vfio.c rte_vfio_setup_device() with --vfio-vf-token: first
 * "BDF vf_token=UUID", then, if that fails, the plain name.  A device
 * that is neither PF nor VF refuses the token and opens by name; a PF
 * with no VFs in use takes it.
 */
TEST(dpdk_get_device_fd_tries_vf_token_first)
{
	static const char uuid[] = "5b0a6b0e-3f1c-4c47-9a0e-2f6a1dbd8e11";
	static const char *const bdfs[] = { TB_EDU_BDF, TB_NVME_PF_BDF };
	char name[128];

	for (unsigned int i = 0; i < ARRAY_SIZE(bdfs); i++) {
		struct vfio_test_dev dev;
		int fd, err;

		vfio_test_dev_open(_metadata, &dev, bdfs[i], VFIO_STAGE_IOMMU);
		snprintf(name, sizeof(name), "%s vf_token=%s", bdfs[i], uuid);
		err = _vfio_group_get_device_fd(dev.group, name, &fd);
		if (err)
			vfio_group_get_device_fd(dev.group, bdfs[i], &fd);
		EXPECT_EQ(strcmp(bdfs[i], TB_NVME_PF_BDF) ? EINVAL : 0, err);
		dev.device = fd;
		vfio_test_dev_close(_metadata, &dev);
	}
}

/* ---- DPDK: config space ---------------------------------------------- */

FIXTURE(dpdk_config)
{
	struct vfio_test_dev dev;
	size_t size;
	uint8_t whole[4096];
};

FIXTURE_VARIANT(dpdk_config)
{
	const char *bdf;
};

FIXTURE_VARIANT_ADD(dpdk_config, nvme)
{
	.bdf = TB_NVME_PF_BDF,
};

FIXTURE_VARIANT_ADD(dpdk_config, e1000)
{
	.bdf = TB_PAIR_E1000_BDF,
};

FIXTURE_VARIANT_ADD(dpdk_config, edu)
{
	.bdf = TB_EDU_BDF,
};

FIXTURE_SETUP(dpdk_config)
{
	vfio_test_dev_open(_metadata, &self->dev, variant->bdf,
			   VFIO_STAGE_DEVICE);
	self->size = vfio_pci_config_size(variant->bdf);
	ASSERT_GE(sizeof(self->whole), self->size);
	vfio_config_read(self->dev.device, self->whole, self->size, 0);
}

FIXTURE_TEARDOWN(dpdk_config)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

/*
 * DPDK pci_vfio_read_config() as drivers call it through
 * rte_pci_read_config(): 16 bytes at once at any dword of the header,
 * and a whole 16-byte capability structure at the capability's own
 * offset (virtio's virtio_read_caps() does this), however the 16 bytes
 * straddle registers vfio virtualizes differently.
 */
TEST_F(dpdk_config, dpdk_reads_16_byte_structures)
{
	unsigned int pos, n = 0;
	uint8_t cap[16];

	for (pos = 0; pos + sizeof(cap) <= 0x40; pos += 4) {
		vfio_config_read(self->dev.device, cap, sizeof(cap), pos);
		/* STATUS may change under us (interrupt status). */
		if (pos <= PCI_CFG_STATUS && pos + 16 > PCI_CFG_STATUS + 1)
			memcpy(cap + PCI_CFG_STATUS - pos,
			       self->whole + PCI_CFG_STATUS, 2);
		EXPECT_EQ(0, memcmp(self->whole + pos, cap, sizeof(cap))) {
			TH_LOG("header at 0x%02x", pos);
		}
	}
	if (!(self->whole[PCI_CFG_STATUS] & PCI_CFG_STATUS_CAP_LIST))
		return;
	for (pos = self->whole[PCI_CFG_CAP_PTR] & ~3u; pos >= 0x40 && n < 48;
	     pos = self->whole[pos + 1] & ~3u, n++) {
		if (pos + sizeof(cap) > 256)
			continue;
		vfio_config_read(self->dev.device, cap, sizeof(cap), pos);
		EXPECT_EQ(0, memcmp(self->whole + pos, cap, sizeof(cap))) {
			TH_LOG("capability 0x%02x at 0x%02x", self->whole[pos],
			       pos);
		}
	}
	for (pos = 0x100; self->size > 256 && pos >= 0x100 &&
	     pos + sizeof(cap) <= self->size && n < 96; n++) {
		uint32_t hdr;

		memcpy(&hdr, self->whole + pos, 4);
		if (!hdr)
			break;
		vfio_config_read(self->dev.device, cap, sizeof(cap), pos);
		EXPECT_EQ(0, memcmp(self->whole + pos, cap, sizeof(cap))) {
			TH_LOG("extended capability 0x%04x at 0x%03x",
			       hdr & 0xffff, pos);
		}
		pos = hdr >> 20 & 0xffc;
	}
}

/*
 * DPDK pci_vfio_write_config(): one pwrite of several dwords.  The header
 * written back as read, with memory decode and bus mastering set in
 * COMMAND, is all written: COMMAND changes, the read-only fields do not.
 */
TEST_F(dpdk_config, dpdk_writes_several_dwords_of_config)
{
	uint8_t hdr[16], after[16];
	uint16_t cmd;

	memcpy(hdr, self->whole, sizeof(hdr));
	cmd = (hdr[CFG_COMMAND] | hdr[CFG_COMMAND + 1] << 8) ^ CMD_MASTER;
	hdr[CFG_COMMAND] = cmd;
	hdr[CFG_COMMAND + 1] = cmd >> 8;
	ASSERT_EQ(sizeof(hdr), pwrite(self->dev.device, hdr, sizeof(hdr),
				      cfg_pos(0)));
	vfio_config_read(self->dev.device, after, sizeof(after), 0);
	EXPECT_EQ(cmd, after[CFG_COMMAND] | after[CFG_COMMAND + 1] << 8);
	EXPECT_EQ(0, memcmp(self->whole, after, 4));		/* IDs */
	EXPECT_EQ(0, memcmp(self->whole + 8, after + 8, 4));	/* class */
	EXPECT_EQ(cmd & CMD_MASTER,
		  host_cfg16(variant->bdf, CFG_COMMAND) & CMD_MASTER);

	/* A capability written back over itself is accepted whole. */
	if (self->whole[PCI_CFG_STATUS] & PCI_CFG_STATUS_CAP_LIST) {
		unsigned int pos = self->whole[PCI_CFG_CAP_PTR] & ~3u;

		EXPECT_EQ(8, pwrite(self->dev.device, self->whole + pos, 8,
				    cfg_pos(pos)));
	}
}

/* ---- DPDK: BAR mappings ---------------------------------------------- */

/*
 * DPDK pci_vfio_mmap_bar() when the MSI-X table may not be mapped: the
 * BAR's address range reserved, then the pages before and after the
 * table page mapped over it with MAP_FIXED.  The nvme BAR0 has its MSI-X
 * table at 0x2000 and PBA at 0x3000.  On ivshmem's BAR2 a piece at a page
 * offset writes where the host file says.
 */
TEST(dpdk_maps_bar_pieces_over_a_reservation)
{
	struct vfio_region_info info;
	struct vfio_test_dev dev;
	size_t tstart, tend;
	uint32_t table, stamp = 0x0dbdc0de, seen = 0;
	char *base;
	int bar;

	vfio_test_dev_open(_metadata, &dev, TB_NVME_PF_BDF, VFIO_STAGE_DEVICE);
	bar = msix_bar(dev.device, TB_NVME_PF_BDF, &table);
	ASSERT_LE(0, bar);
	vfio_device_get_region_info(dev.device, bar, &info);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       cfg_read(dev.device, CFG_COMMAND, 2) |
			       CMD_MEMORY));
	tstart = (table & ~MSIX_BIR_MASK) & ~(PG - 1);
	tend = tstart + PG;
	ASSERT_LT(0, tstart);
	ASSERT_GT(info.size, tend);
	base = bar_reserve(info.size);
	ASSERT_NE(NULL, base);
	ASSERT_EQ(0, bar_map_piece(base, dev.device, info.offset, 0, tstart));
	ASSERT_EQ(0, bar_map_piece(base, dev.device, info.offset, tend,
				   info.size - tend));
	EXPECT_EQ(bar_read32(dev.device, bar, 0), mmio_read32(base));
	EXPECT_EQ(bar_read32(dev.device, bar, 8), mmio_read32(base + 8));
	EXPECT_EQ(bar_read32(dev.device, bar, tend), mmio_read32(base + tend));
	munmap(base, info.size);
	vfio_test_dev_close(_metadata, &dev);

	vfio_test_dev_open(_metadata, &dev, TB_IVSHMEM_BDF, VFIO_STAGE_DEVICE);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       cfg_read(dev.device, CFG_COMMAND, 2) |
			       CMD_MEMORY));
	base = bar_reserve(TB_IVSHMEM_SIZE);
	ASSERT_NE(NULL, base);
	ASSERT_EQ(0, bar_map_piece(base, dev.device,
				   VFIO_REGION_OFFSET(TB_IVSHMEM_BAR),
				   16 * PG, 4 * PG));
	mmio_write32(base + 17 * PG + 4, stamp);
	ASSERT_EQ(0, ivshmem_file_read(17 * PG + 4, &seen, sizeof(seen)));
	EXPECT_EQ(stamp, seen);
	munmap(base, TB_IVSHMEM_SIZE);
	vfio_test_dev_close(_metadata, &dev);
}

/*
 * DPDK pci_vfio_map_resource_primary() maps every memory BAR that says
 * FLAG_MMAP and leaves the others unmapped, so a BAR smaller than a page
 * must be mappable for its driver to reach it.  QEMU maps it too
 * (vfio_sub_page_bar_update_mapping()).  ivshmem's BAR0 is 256 bytes of
 * registers; IntrMask reads back what was written, either way.
 */
TEST(dpdk_maps_a_sub_page_bar)
{
	struct vfio_region_info info;
	struct vfio_test_dev dev;
	uint64_t start, size;
	char *base;

	vfio_test_dev_open(_metadata, &dev, TB_IVSHMEM_BDF, VFIO_STAGE_DEVICE);
	vfio_device_get_region_info(dev.device, 0, &info);
	ASSERT_EQ(0, vfio_pci_resource(TB_IVSHMEM_BDF, 0, &start, &size));
	ASSERT_GT(PG, info.size);
	TH_LOG("BAR0 at 0x%llx, 0x%llx bytes", (unsigned long long)start,
	       (unsigned long long)size);
	if (start & (PG - 1)) {
		vfio_test_dev_close(_metadata, &dev);
		SKIP(return, "BAR0 does not start a page here");
	}
	ASSERT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       cfg_read(dev.device, CFG_COMMAND, 2) |
			       CMD_MEMORY));
	base = bar_reserve(info.size);
	ASSERT_NE(NULL, base);
	ASSERT_EQ(0, bar_map_piece(base, dev.device, info.offset, 0,
				   info.size));
	ASSERT_EQ(0, bar_write32(dev.device, 0, IVSHMEM_INTR_MASK, 0x5a5a));
	EXPECT_EQ(0x5a5a, mmio_read32(base + IVSHMEM_INTR_MASK));
	mmio_write32(base + IVSHMEM_INTR_MASK, 0xa5);
	EXPECT_EQ(0xa5, bar_read32(dev.device, 0, IVSHMEM_INTR_MASK));
	mmio_write32(base + IVSHMEM_INTR_MASK, 0);
	munmap(base, info.size);
	vfio_test_dev_close(_metadata, &dev);
}

/* ---- DPDK: device setup ----------------------------------------------- */

FIXTURE(dpdk_setup)
{
	struct vfio_test_dev dev;
	void *maps[PCI_STD_NUM_BARS];
	size_t sizes[PCI_STD_NUM_BARS];
	int req;
};

FIXTURE_VARIANT(dpdk_setup)
{
	const char *bdf;
};

/* What testpmd drives on the bed: no FLR, VFIO_DEVICE_RESET is EINVAL. */
FIXTURE_VARIANT_ADD(dpdk_setup, e1000)
{
	.bdf = TB_PAIR_E1000_BDF,
};

/* Function level reset. */
FIXTURE_VARIANT_ADD(dpdk_setup, nvme)
{
	.bdf = TB_NVME_PF_BDF,
};

/* Alone behind its bridge: reset by a secondary bus reset. */
FIXTURE_VARIANT_ADD(dpdk_setup, bridged)
{
	.bdf = TB_BRIDGED_TESTDEV_BDF,
};

FIXTURE_SETUP(dpdk_setup)
{
	self->req = -1;
	memset(self->maps, 0, sizeof(self->maps));
	vfio_test_dev_open(_metadata, &self->dev, variant->bdf,
			   VFIO_STAGE_DEVICE);
}

FIXTURE_TEARDOWN(dpdk_setup)
{
	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		if (self->maps[i])
			munmap(self->maps[i], self->sizes[i]);
	vfio_test_dev_close(_metadata, &self->dev);
	if (self->req >= 0)
		close(self->req);
}

/*
 * DPDK pci_vfio_map_resource_primary() and pci_rte_vfio_setup_device(), in
 * order: GET_INFO; for BARs 0-5 GET_REGION_INFO (must work),
 * pci_vfio_is_ioport_bar() from the BAR register, memory BARs with
 * FLAG_MMAP mapped over a reservation; pci_vfio_setup_interrupts()
 * (GET_IRQ_INFO of MSI-X, MSI, INTx, each saying EVENTFD);
 * pci_vfio_enable_notifier() (REQ eventfd: must work);
 * pci_vfio_set_bus_master() (2-byte read-modify-write of COMMAND); then
 * VFIO_DEVICE_RESET, where only EINVAL is tolerated, and COMMAND must
 * survive it, bus mastering included.
 */
TEST_F(dpdk_setup, device_setup_sequence)
{
	static const __u32 irqs[] = {
		VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,
		VFIO_PCI_INTX_IRQ_INDEX,
	};
	struct vfio_device_info info;
	uint16_t cmd;
	int err;

	vfio_device_get_info(self->dev.device, &info);
	ASSERT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	ASSERT_LE(VFIO_PCI_CONFIG_REGION_INDEX + 1, info.num_regions);
	ASSERT_LE(VFIO_PCI_REQ_IRQ_INDEX + 1, info.num_irqs);
	ASSERT_EQ(0, cfg_write(self->dev.device, CFG_COMMAND, 2,
			       cfg_read(self->dev.device, CFG_COMMAND, 2) |
			       CMD_MEMORY));

	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		struct vfio_region_info *reg;
		uint32_t barreg;
		int calls;
		void *base;

		reg = region_info(self->dev.device, i, &calls);
		ASSERT_NE(NULL, reg) {
			TH_LOG("BAR %d: errno %d", i, errno);
		}
		barreg = cfg_read(self->dev.device, CFG_BAR0 + 4 * i, 4);
		if (!reg->size || barreg & 1 ||
		    !(reg->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			/* I/O ports are never mappable. */
			EXPECT_FALSE(reg->size && barreg & 1 &&
				     reg->flags & VFIO_REGION_INFO_FLAG_MMAP);
			free(reg);
			continue;
		}
		base = bar_reserve(reg->size);
		ASSERT_NE(NULL, base);
		self->maps[i] = base;
		self->sizes[i] = reg->size;
		ASSERT_EQ(0, bar_map_piece(base, self->dev.device, reg->offset,
					   0, reg->size));
		EXPECT_EQ(bar_read32(self->dev.device, i, 0),
			  mmio_read32(base)) {
			TH_LOG("BAR %d", i);
		}
		free(reg);
	}

	/* The first index with EVENTFD is taken, whatever its count. */
	for (unsigned int i = 0; i < ARRAY_SIZE(irqs); i++) {
		struct vfio_irq_info irq;

		vfio_device_get_irq_info(self->dev.device, irqs[i], &irq);
		EXPECT_TRUE(irq.flags & VFIO_IRQ_INFO_EVENTFD) {
			TH_LOG("irq index %u", irqs[i]);
		}
	}

	self->req = new_eventfd();
	ASSERT_LE(0, self->req);
	ASSERT_EQ(0, irq_set(self->dev.device, VFIO_PCI_REQ_IRQ_INDEX,
			     SET_EVENTFD, 0, 1, &self->req));

	cmd = cfg_read(self->dev.device, CFG_COMMAND, 2) | CMD_MASTER;
	ASSERT_EQ(0, cfg_write(self->dev.device, CFG_COMMAND, 2, cmd));

	err = ioctl(self->dev.device, VFIO_DEVICE_RESET) ? errno : 0;
	EXPECT_EQ(info.flags & VFIO_DEVICE_FLAGS_RESET ? 0 : EINVAL, err);
	EXPECT_EQ(cmd, cfg_read(self->dev.device, CFG_COMMAND, 2));
	EXPECT_EQ(CMD_MASTER, host_cfg16(variant->bdf, CFG_COMMAND) &
		  CMD_MASTER);
	/* The mappings still reach the device. */
	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (self->maps[i])
			EXPECT_EQ(bar_read32(self->dev.device, i, 0),
				  mmio_read32(self->maps[i]));
	}
	ASSERT_EQ(0, irq_set(self->dev.device, VFIO_PCI_REQ_IRQ_INDEX,
			     SET_EVENTFD, 0, 1, (__s32[]){ -1 }));
}

/* ---- DPDK: interrupts ------------------------------------------------- */

/*
 * DPDK lib/eal/linux/eal_interrupts.c with --vfio-intr=legacy:
 * vfio_enable_intx() (TRIGGER with the eventfd, then UNMASK),
 * rte_intr_ack() -> vfio_ack_intx() (UNMASK) after each interrupt,
 * vfio_disable_intx() (MASK, then TRIGGER with count 0), and enabling
 * again on the next start.
 */
TEST(dpdk_intx_enable_ack_and_disable)
{
	struct vfio_test_dev dev;
	int efd = new_eventfd();

	ASSERT_LE(0, efd);
	vfio_test_dev_open(_metadata, &dev, TB_EDU_BDF, VFIO_STAGE_DEVICE);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       CMD_MEMORY | CMD_MASTER));

	for (int round = 0; round < 2; round++) {
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				     SET_EVENTFD, 0, 1, &efd));
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				     SET_UNMASK, 0, 1, NULL));
		ASSERT_EQ(0, bar_write32(dev.device, 0, EDU_IRQ_RAISE, 1));
		EXPECT_NE(0, fired(efd, DELIVER_MS)) {
			TH_LOG("round %d: first interrupt", round);
		}
		/* Masked until acked. */
		ASSERT_EQ(0, bar_write32(dev.device, 0, EDU_IRQ_ACK, 1));
		ASSERT_EQ(0, bar_write32(dev.device, 0, EDU_IRQ_RAISE, 2));
		EXPECT_EQ(0, fired(efd, QUIET_MS));
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				     SET_UNMASK, 0, 1, NULL));
		EXPECT_NE(0, fired(efd, DELIVER_MS)) {
			TH_LOG("round %d: after the ack", round);
		}
		ASSERT_EQ(0, bar_write32(dev.device, 0, EDU_IRQ_ACK, ~0u));
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				     SET_UNMASK, 0, 1, NULL));
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				     SET_MASK, 0, 1, NULL));
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				     SET_NONE, 0, 0, NULL));
		/* Disabled: nothing is left to mask or unmask. */
		EXPECT_EQ(EINVAL, irq_set(dev.device, VFIO_PCI_INTX_IRQ_INDEX,
					  SET_UNMASK, 0, 1, NULL));
	}
	vfio_test_dev_close(_metadata, &dev);
	close(efd);
}

/*
 * DPDK eal_interrupts.c vfio_enable_msix(): one SET_IRQS with every
 * eventfd (the control one first, then one per Rx queue), sent again
 * with more once Rx interrupts are set up, while MSI-X is on;
 * vfio_disable_msix(): count 0.  Checked by loopback on the nvme PF.
 */
TEST(dpdk_msix_enable_grow_and_disable)
{
	struct vfio_test_dev dev;
	__s32 fds[3];

	for (int i = 0; i < 3; i++) {
		fds[i] = new_eventfd();
		ASSERT_LE(0, fds[i]);
	}
	vfio_test_dev_open(_metadata, &dev, TB_NVME_PF_BDF, VFIO_STAGE_DEVICE);
	ASSERT_EQ(0, cfg_write(dev.device, CFG_COMMAND, 2,
			       CMD_MEMORY | CMD_MASTER));

	for (int round = 0; round < 2; round++) {
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX,
				     SET_EVENTFD, 0, 1, fds));
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX,
				     SET_EVENTFD, 0, 3, fds));
		for (int v = 0; v < 3; v++) {
			ASSERT_EQ(0, irq_set(dev.device,
					     VFIO_PCI_MSIX_IRQ_INDEX,
					     SET_NONE, v, 1, NULL));
			for (int e = 0; e < 3; e++) {
				EXPECT_EQ(v == e ? 1 : 0,
					  fired(fds[e], v == e ? DELIVER_MS : 0)) {
					TH_LOG("round %d vector %d eventfd %d",
					       round, v, e);
				}
			}
		}
		ASSERT_EQ(0, irq_set(dev.device, VFIO_PCI_MSIX_IRQ_INDEX,
				     SET_NONE, 0, 0, NULL));
	}
	vfio_test_dev_close(_metadata, &dev);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

TEST_HARNESS_MAIN
