// SPDX-License-Identifier: GPL-2.0
/*
 * BAR regions of vfio-pci through read(2)/write(2), where they differ from
 * plain device access.  The MSI-X table belongs to the host, which
 * programs it for the vectors the user asks for with SET_IRQS: upstream
 * 6.12 never lets a pread/pwrite of the region reach it.  Its bytes read
 * as all ones and writes to them are dropped, the access as a whole still
 * succeeds, and every byte around the table, the Pending Bit Array
 * included, is the device's.  mmap is another matter: the BAR is mappable
 * whole (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE), which is how these tests see
 * what the device really holds.
 *
 * Measured on the nvme PF (MSI-X table and PBA in BAR0) with the distro's
 * modules, which pass every test here.
 */
#include <sys/mman.h>

#include "vfio_test_util.h"

#define CFG_COMMAND		0x04
#define CFG_CMD_MEMORY		0x0002
#define MSIX_FLAGS		0x02
#define MSIX_FLAGS_QSIZE	0x07ff
#define MSIX_TABLE		0x04
#define MSIX_PBA		0x08
#define MSIX_BIR		0x7
#define MSIX_ENTRY_SIZE		16
#define MSIX_ENTRY_DATA		8

FIXTURE(msix)
{
	struct vfio_test_dev dev;
	unsigned int bar;	/* holding the table */
	uint64_t table;		/* the table's offset in it */
	uint64_t table_end;	/* and where it ends (exclusive) */
	unsigned int pba_bar;
	uint64_t pba;
	uint64_t pba_len;
	uint8_t *map;		/* the whole BAR, mmap()ed through vfio */
	uint64_t size;
};

FIXTURE_SETUP(msix)
{
	struct vfio_region_info info;
	uint32_t table, pba;
	unsigned int cap;
	uint16_t flags;
	void *map;

	self->map = NULL;
	vfio_test_dev_open(_metadata, &self->dev, TB_NVME_PF_BDF,
			   VFIO_STAGE_DEVICE);
	cap = vfio_pci_find_cap(TB_NVME_PF_BDF, PCI_CAP_ID_MSIX_);
	ASSERT_NE(0, cap);
	vfio_config_read(self->dev.device, &flags, 2, cap + MSIX_FLAGS);
	vfio_config_read(self->dev.device, &table, 4, cap + MSIX_TABLE);
	vfio_config_read(self->dev.device, &pba, 4, cap + MSIX_PBA);
	self->bar = table & MSIX_BIR;
	self->table = table & ~MSIX_BIR;
	self->table_end = self->table +
			  ((flags & MSIX_FLAGS_QSIZE) + 1) * MSIX_ENTRY_SIZE;
	self->pba_bar = pba & MSIX_BIR;
	self->pba = pba & ~MSIX_BIR;
	/* One bit per vector, in whole qwords. */
	self->pba_len = (((flags & MSIX_FLAGS_QSIZE) + 64) / 64) * 8;

	vfio_device_get_region_info(self->dev.device, self->bar, &info);
	ASSERT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	/* The tests look 32 bytes to either side of the table. */
	ASSERT_LE(32, self->table);
	ASSERT_LE(self->table_end + 32, info.size);
	self->size = info.size;
	map = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dev.device, info.offset);
	ASSERT_NE(MAP_FAILED, map);
	self->map = map;

	vfio_config_set_reg(self->dev.device, CFG_COMMAND, 2,
			    vfio_config_reg(self->dev.device, CFG_COMMAND, 2) |
			    CFG_CMD_MEMORY);
}

FIXTURE_TEARDOWN(msix)
{
	if (self->map)
		munmap(self->map, self->size);
	vfio_test_dev_close(_metadata, &self->dev);
}

/*
 * @len bytes at @pos of the BAR mapped at @map as the device holds them,
 * read in naturally aligned dwords (the MSI-X table takes no narrower
 * access).
 */
static void bar_peek(const uint8_t *map, uint64_t pos, uint8_t *buf,
		     size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t at = pos + i;
		const uint32_t *dw = (const uint32_t *)(map + (at & ~3ull));

		buf[i] = __atomic_load_n(dw, __ATOMIC_RELAXED) >> (8 * (at & 3));
	}
}

static void bar_poke32(uint8_t *map, uint64_t pos, uint32_t val)
{
	__atomic_store_n((uint32_t *)(map + pos), val, __ATOMIC_RELAXED);
}

static bool in_range(uint64_t pos, uint64_t start, uint64_t end)
{
	return pos >= start && pos < end;
}

TEST_F(msix, msix_table_reads_as_ones_through_the_region)
{
	size_t len = self->table_end - self->table;
	uint8_t buf[4096], dev[4096];

	ASSERT_GE(sizeof(buf), len);
	bar_peek(self->map, self->table, dev, len);
	ASSERT_EQ(0, _vfio_region_read(self->dev.device, self->bar,
				       self->table, buf, len));
	for (size_t i = 0; i < len; i++) {
		ASSERT_EQ(0xff, buf[i]) {
			TH_LOG("table byte %zu reads 0x%02x (device: 0x%02x)",
			       i, buf[i], dev[i]);
		}
	}
	/* Not what the device holds: its vector control has reserved bits. */
	EXPECT_NE(0, memcmp(buf, dev, len));
}

TEST_F(msix, msix_table_writes_through_the_region_are_dropped)
{
	uint64_t pos = self->table + MSIX_ENTRY_DATA;
	uint32_t before, val, after;

	bar_peek(self->map, pos, (uint8_t *)&before, 4);
	val = ~before;
	EXPECT_EQ(0, _vfio_region_write(self->dev.device, self->bar, pos,
					&val, 4));
	bar_peek(self->map, pos, (uint8_t *)&after, 4);
	EXPECT_EQ(before, after);
	/* Put it back if it went through. */
	if (after != before)
		bar_poke32(self->map, pos, before);
}

/* Only the table itself: an access across its edge is cut exactly there. */
TEST_F(msix, msix_table_edges_are_exact)
{
	const uint64_t t0 = self->table, t1 = self->table_end;
	const uint64_t edges[] = { t0, t1 };
	uint8_t buf[64], dev[64];

	for (unsigned int e = 0; e < ARRAY_SIZE(edges); e++) {
		uint64_t pos = edges[e] - 32;

		bar_peek(self->map, pos, dev, sizeof(dev));
		ASSERT_EQ(0, _vfio_region_read(self->dev.device, self->bar,
					       pos, buf, sizeof(buf)));
		for (size_t i = 0; i < sizeof(buf); i++) {
			uint8_t want = in_range(pos + i, t0, t1) ? 0xff : dev[i];

			EXPECT_EQ(want, buf[i]) {
				TH_LOG("BAR offset 0x%llx",
				       (unsigned long long)(pos + i));
			}
		}
		/* Unaligned and narrow, right across the edge. */
		ASSERT_EQ(0, _vfio_region_read(self->dev.device, self->bar,
					       edges[e] - 2, buf, 4));
		for (size_t i = 0; i < 4; i++) {
			uint64_t at = edges[e] - 2 + i;

			EXPECT_EQ(in_range(at, t0, t1) ? 0xff : dev[at - pos],
				  buf[i]);
		}
	}

	/* The dwords right outside the table are written and read. */
	EXPECT_EQ(0, _vfio_region_read(self->dev.device, self->bar,
				       self->table - 4, buf, 4));
	EXPECT_EQ(0, _vfio_region_write(self->dev.device, self->bar,
					self->table - 4, buf, 4));
	EXPECT_EQ(0, _vfio_region_read(self->dev.device, self->bar,
				       self->table_end, buf, 4));
	EXPECT_EQ(0, _vfio_region_write(self->dev.device, self->bar,
					self->table_end, buf, 4));
}

TEST_F(msix, msix_pba_reads_through_the_region)
{
	uint8_t buf[256], dev[256];

	if (self->pba_bar != self->bar)
		SKIP(return, "the PBA is in another BAR");
	ASSERT_GE(sizeof(buf), self->pba_len);
	bar_peek(self->map, self->pba, dev, self->pba_len);
	ASSERT_EQ(0, _vfio_region_read(self->dev.device, self->bar, self->pba,
				       buf, self->pba_len));
	EXPECT_EQ(0, memcmp(dev, buf, self->pba_len));
}

TEST_HARNESS_MAIN
