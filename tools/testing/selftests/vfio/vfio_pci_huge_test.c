// SPDX-License-Identifier: GPL-2.0
/*
 * Huge BAR mappings: a fault on an mmap() of a BAR maps the largest block
 * it can - a PMD (2 MiB) where the vma holds the naturally aligned block
 * around the address, the BAR holds it and the physical address is
 * aligned as much, else a page - and mmap() without a hint places a large
 * mapping so that huge blocks line up with the BAR.
 *
 * On the std VGA's 16 MiB framebuffer BAR (RAM behind it in QEMU), huge
 * entries are seen by their effect: touching every page of the mapping
 * takes one fault per 2 MiB instead of one per page (getrusage's minor
 * faults).  The data must be the device's at every offset, through huge
 * and small entries alike; memory decode off must still SIGBUS the whole
 * mapping and decode on fault it back in huge; a partial munmap() splits
 * a huge entry and leaves the rest correct.
 *
 * Upstream 6.12 maps BARs with huge entries too (and 6.12's mm places a
 * mapping whose length is a multiple of 2 MiB at a 2 MiB aligned
 * address): every test here passes on the distro's modules.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "vfio_test_util.h"

#define CFG_COMMAND	0x04
#define CFG_CMD_MEMORY	0x0002
#define SZ_4K		0x1000UL
#define SZ_2M		0x200000UL
#define BAR		0	/* the VGA framebuffer */

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

/* Read a byte at @p; 0 if it read, or the signal it raised. */
static int probe(const uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_fault }, obus, osegv;
	int sig;

	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	sig = sigsetjmp(fault_jmp, 1);
	if (!sig)
		(void)__atomic_load_n(p, __ATOMIC_RELAXED);
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return sig;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Faults it takes to read one byte of every page of [@p, @p + @len). */
static long touch_faults(const uint8_t *p, size_t len)
{
	long before = minflt();
	size_t off;

	for (off = 0; off < len; off += SZ_4K)
		(void)__atomic_load_n(p + off, __ATOMIC_RELAXED);
	return minflt() - before;
}

/* One access of the BAR through the mapping, as the CPU would make it. */
static uint32_t rd32(const uint8_t *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
}

static void wr32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

FIXTURE(huge)
{
	struct vfio_test_dev dev;
	struct vfio_region_info info;
	uint64_t phys;		/* the BAR's bus address */
	uint8_t *map;		/* the whole BAR, no hint */
};

static void set_memory(struct __test_metadata *_metadata, int fd, bool on)
{
	uint16_t cmd = vfio_config_reg(fd, CFG_COMMAND, 2);

	cmd = on ? cmd | CFG_CMD_MEMORY : cmd & ~CFG_CMD_MEMORY;
	vfio_config_set_reg(fd, CFG_COMMAND, 2, cmd);
}

FIXTURE_SETUP(huge)
{
	uint64_t size;
	void *map;

	self->map = NULL;
	vfio_test_dev_open(_metadata, &self->dev, TB_VGA_BDF,
			   VFIO_STAGE_DEVICE);
	vfio_device_get_region_info(self->dev.device, BAR, &self->info);
	ASSERT_TRUE(self->info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	ASSERT_EQ(0, vfio_pci_resource(TB_VGA_BDF, BAR, &self->phys, &size));
	ASSERT_EQ(size, self->info.size);
	/* Enough for several 2 MiB blocks, aligned as QEMU places it. */
	ASSERT_LE(8 * SZ_2M, self->info.size);
	ASSERT_EQ(0, self->phys & (SZ_2M - 1));
	set_memory(_metadata, self->dev.device, true);

	map = mmap(NULL, self->info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dev.device, self->info.offset);
	ASSERT_NE(MAP_FAILED, map);
	self->map = map;
}

FIXTURE_TEARDOWN(huge)
{
	if (self->map)
		munmap(self->map, self->info.size);
	vfio_test_dev_close(_metadata, &self->dev);
}

/* No hint: the mapping lines up with the BAR modulo 2 MiB. */
TEST_F(huge, mapping_without_hint_is_2m_aligned_with_the_bar)
{
	ASSERT_EQ(self->phys & (SZ_2M - 1),
		  (uintptr_t)self->map & (SZ_2M - 1));
}

/* One fault per 2 MiB block, not per page. */
TEST_F(huge, touching_every_page_faults_once_per_2m)
{
	long n = touch_faults(self->map, self->info.size);

	TH_LOG("%ld faults for %llu pages", n,
	       (unsigned long long)self->info.size / SZ_4K);
	ASSERT_GE(self->info.size / SZ_2M + 8, n);
}

/*
 * Placed off the BAR's alignment (MAP_FIXED a page into a 2 MiB aligned
 * hole), no block can be huge: one fault per page, the 4 KiB path.
 */
TEST_F(huge, mapping_off_the_bars_alignment_faults_per_page)
{
	size_t len = 4 * SZ_2M;
	uint8_t *hole, *at, *map;
	long n;

	hole = mmap(NULL, len + 2 * SZ_2M, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	at = (uint8_t *)(((uintptr_t)hole + SZ_2M - 1) & ~(SZ_2M - 1)) + SZ_4K;
	map = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		   self->dev.device, self->info.offset);
	ASSERT_EQ(at, map);
	n = touch_faults(map, len);
	munmap(hole, len + 2 * SZ_2M);
	ASSERT_LE(len / SZ_4K, n);
}

/*
 * Every byte is the device's through huge entries: written through the
 * region (pwrite), read through the mapping, and the other way round, at
 * the edges and in the middle of 2 MiB blocks.
 */
TEST_F(huge, data_is_the_devices_at_every_offset)
{
	const uint64_t offs[] = {
		0, SZ_4K, SZ_2M - 4, SZ_2M, SZ_2M + 0x1234 * 4,
		3 * SZ_2M + SZ_2M / 2, self->info.size - 4,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		uint32_t v = 0xc0de0000 | i, got = 0;

		ASSERT_EQ(4, pwrite(self->dev.device, &v, 4,
				    self->info.offset + offs[i]));
		EXPECT_EQ(v, rd32(self->map + offs[i])) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
		wr32(self->map + offs[i], ~v);
		ASSERT_EQ(4, pread(self->dev.device, &got, 4,
				   self->info.offset + offs[i]));
		EXPECT_EQ(~v, got) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
	}
}

/*
 * Decode off takes every entry away, huge ones included: SIGBUS
 * everywhere; decode on faults them back in, huge again.
 */
TEST_F(huge, memory_off_sigbus_everywhere_then_back_in_huge)
{
	uint64_t off;
	long n;

	touch_faults(self->map, self->info.size);
	set_memory(_metadata, self->dev.device, false);
	for (off = 0; off < self->info.size; off += SZ_2M / 2) {
		ASSERT_EQ(SIGBUS, probe(self->map + off)) {
			TH_LOG("offset %#llx", (unsigned long long)off);
		}
	}
	set_memory(_metadata, self->dev.device, true);
	n = touch_faults(self->map, self->info.size);
	ASSERT_GE(self->info.size / SZ_2M + 8, n);
}

/*
 * munmap() of one page inside a huge block splits it: the page is gone,
 * the rest of the block and its neighbours still read the device.
 */
TEST_F(huge, partial_munmap_splits_a_huge_block)
{
	uint8_t *hole = self->map + SZ_2M + 8 * SZ_4K;
	uint64_t offs[] = { SZ_2M, SZ_2M + 7 * SZ_4K, SZ_2M + 9 * SZ_4K,
			    2 * SZ_2M - 4, 2 * SZ_2M };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		uint32_t v = 0x5eed0000 | i;

		ASSERT_EQ(4, pwrite(self->dev.device, &v, 4,
				    self->info.offset + offs[i]));
	}
	touch_faults(self->map, self->info.size);
	ASSERT_EQ(0, munmap(hole, SZ_4K));
	EXPECT_EQ(SIGSEGV, probe(hole));
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		uint32_t got = rd32(self->map + offs[i]);

		EXPECT_EQ(0x5eed0000 | i, got) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
	}
}

TEST_HARNESS_MAIN
