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
 *
 * The bed's 1 GiB ivshmem BAR (host file behind it, 1 GiB aligned) goes a
 * level up: a PUD entry maps all of it with one fault.  Only ours places a
 * mapping without a hint 1 GiB aligned (upstream 6.12 has no
 * get_unmapped_area for vfio devices and the mm aligns to 2 MiB at most),
 * so the other huge1g tests place theirs with MAP_FIXED and run on both.
 * Faulting a whole GiB page by page takes too long under TCG: the 4 KiB
 * path is tested over a few MiB only.
 */
#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "vfio_test_util.h"

#define CFG_COMMAND	0x04
#define CFG_CMD_MEMORY	0x0002
#define SZ_4K		0x1000UL
#define SZ_2M		0x200000UL
#define SZ_1M		0x100000UL
#define SZ_1G		0x40000000UL
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

/* Faults it takes to read one byte every @step bytes of [@p, @p + @len). */
static long touch_faults_step(const uint8_t *p, size_t len, size_t step)
{
	long before = minflt();
	size_t off;

	for (off = 0; off < len; off += step)
		(void)__atomic_load_n(p + off, __ATOMIC_RELAXED);
	return minflt() - before;
}

/* Faults it takes to read one byte of every page of [@p, @p + @len). */
static long touch_faults(const uint8_t *p, size_t len)
{
	return touch_faults_step(p, len, SZ_4K);
}

/*
 * The fewest faults that touching @pages pages in order takes on the
 * 4 KiB path (no huge entry fits): one per page upstream; ours maps the
 * 64 KiB block around a page fault (beyond upstream 6.12), one per block.
 * Partial blocks at the ends add up to two; callers allow some slack.
 */
#define FAULT_AROUND_PAGES	16

static long path_4k_faults(long pages)
{
	return tb_ours() ? (pages + FAULT_AROUND_PAGES - 1) /
			   FAULT_AROUND_PAGES : pages;
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
 * hole), no block can be huge: the 4 KiB path (path_4k_faults()).
 */
TEST_F(huge, mapping_off_the_bars_alignment_takes_the_4k_path)
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
	TH_LOG("%ld faults for %lu pages", n, len / SZ_4K);
	ASSERT_LE(path_4k_faults(len / SZ_4K), n);
	ASSERT_GE(path_4k_faults(len / SZ_4K) + 8, n);
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

/* ---- the 1 GiB BAR: PUD entries --------------------------------------- */

/*
 * mmap() @len bytes of @fd at @off, at an address @skew bytes past a
 * multiple of @align: MAP_FIXED into a reservation of our own, the rest of
 * which is given back.  NULL if it could not be placed.
 */
static uint8_t *map_placed(int fd, uint64_t off, size_t len, size_t align,
			   size_t skew)
{
	size_t span = len + align + skew;
	uint8_t *res, *at, *map;

	res = mmap(NULL, span, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return NULL;
	at = (uint8_t *)(((uintptr_t)res + align - 1) & ~(align - 1)) + skew;
	map = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		   fd, off);
	if (map == MAP_FAILED) {
		munmap(res, span);
		return NULL;
	}
	if (at > res)
		munmap(res, at - res);
	if (res + span > at + len)
		munmap(at + len, res + span - (at + len));
	return map;
}

/* What reached the BAR, read from the host file behind it. */
static int huge_file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(TB_HUGE_FILE, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

FIXTURE(huge1g)
{
	struct vfio_test_dev dev;
	struct vfio_region_info info;
	uint64_t phys;		/* the BAR's bus address */
	uintptr_t unhinted;	/* where mmap() without a hint put it */
	uint8_t *map;		/* the whole BAR, 1 GiB aligned */
};

FIXTURE_SETUP(huge1g)
{
	uint64_t size;
	void *map;

	self->map = NULL;
	vfio_test_dev_open(_metadata, &self->dev, TB_HUGE_BDF,
			   VFIO_STAGE_DEVICE);
	vfio_device_get_region_info(self->dev.device, TB_HUGE_BAR,
				    &self->info);
	ASSERT_TRUE(self->info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	ASSERT_EQ(TB_HUGE_SIZE, self->info.size);
	ASSERT_EQ(0, vfio_pci_resource(TB_HUGE_BDF, TB_HUGE_BAR, &self->phys,
				       &size));
	ASSERT_EQ(size, self->info.size);
	ASSERT_EQ(0, self->phys & (SZ_1G - 1));
	set_memory(_metadata, self->dev.device, true);

	map = mmap(NULL, SZ_1G, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dev.device, self->info.offset);
	ASSERT_NE(MAP_FAILED, map);
	self->unhinted = (uintptr_t)map;
	if (self->unhinted & (SZ_1G - 1)) {
		/* Upstream's placement, or ours gone wrong: place it. */
		munmap(map, SZ_1G);
		map = map_placed(self->dev.device, self->info.offset, SZ_1G,
				 SZ_1G, 0);
		ASSERT_NE(NULL, map);
	}
	self->map = map;
}

FIXTURE_TEARDOWN(huge1g)
{
	if (self->map)
		munmap(self->map, SZ_1G);
	vfio_test_dev_close(_metadata, &self->dev);
}

/* No hint: a mapping of the whole BAR can take a PUD entry. */
TEST_F(huge1g, mapping_without_hint_is_1g_aligned)
{
	if (!tb_ours())
		SKIP(return, "upstream 6.12 aligns it to 2 MiB only (at %#lx)",
		     (unsigned long)self->unhinted);
	ASSERT_EQ(0, self->unhinted & (SZ_1G - 1)) {
		TH_LOG("mmap() put it at %#lx",
		       (unsigned long)self->unhinted);
	}
}

/*
 * The smaps block of the vma at @start, @field's line copied into @out
 * (empty if absent).
 */
static void smaps_field(const void *start, const char *field, char *out,
			size_t len)
{
	char line[512], head[32];
	bool in = false;
	FILE *fp;

	out[0] = '\0';
	fp = fopen("/proc/self/smaps", "r");
	if (!fp)
		return;
	snprintf(head, sizeof(head), "%lx-", (unsigned long)start);
	while (fgets(line, sizeof(line), fp)) {
		/* A vma's header starts with its address, fields do not */
		if (isxdigit(line[0]) && !isupper(line[0])) {
			in = !strncmp(line, head, strlen(head));
			continue;
		}
		if (in && !strncmp(line, field, strlen(field))) {
			size_t n = strcspn(line, "\n");

			n = n < len ? n : len - 1;
			memcpy(out, line, n);
			out[n] = '\0';
			break;
		}
	}
	fclose(fp);
}

/*
 * One fault for the whole GiB: a PUD entry.  smaps cannot show it: it
 * counts only entries with a struct page behind them (Rss stays 0, the
 * page sizes are the vma's, 4 kB), so all it tells is that the vma is a
 * PFN map (VmFlags pf); the fault count is the evidence.
 *
 * Reading smaps does not leave the entry alone, though: 6.12's page walk
 * (walk_page_vma(), which smaps uses, does not skip PFN maps) splits a PUD
 * leaf it has no callback for, and the split of a PFN map PUD is a zap -
 * with either set of modules.  Harmless: one fault maps it again.
 */
TEST_F(huge1g, touching_every_page_of_the_gib_faults_once)
{
	char rss[128], kps[128], flags[256];
	long n;

	n = touch_faults(self->map, SZ_1G);
	TH_LOG("%ld faults for %lu pages", n, SZ_1G / SZ_4K);
	ASSERT_GE(2, n);
	ASSERT_LE(1, n);

	EXPECT_EQ(0, touch_faults_step(self->map, SZ_1G, SZ_2M));

	smaps_field(self->map, "Rss:", rss, sizeof(rss));
	smaps_field(self->map, "KernelPageSize:", kps, sizeof(kps));
	smaps_field(self->map, "VmFlags:", flags, sizeof(flags));
	TH_LOG("smaps: %s | %s | %s", rss, kps, flags);
	EXPECT_NE(NULL, strstr(flags, " pf"));
	n = touch_faults_step(self->map, SZ_1G, SZ_2M);
	TH_LOG("%ld faults to touch it after reading smaps", n);
	EXPECT_GE(1, n);
}

/*
 * Off the BAR's alignment no block can be huge, however large the
 * mapping: an address a page past a 2 MiB boundary, or a file offset a
 * page into the BAR at a 1 GiB aligned address, take the 4 KiB path.
 */
TEST_F(huge1g, mapping_at_an_address_off_2m_takes_the_4k_path)
{
	size_t len = 4 * SZ_1M;
	uint8_t *map;
	long n;

	map = map_placed(self->dev.device, self->info.offset, len, SZ_2M,
			 SZ_4K);
	ASSERT_NE(NULL, map);
	n = touch_faults(map, len);
	munmap(map, len);
	TH_LOG("%ld faults for %lu pages", n, len / SZ_4K);
	ASSERT_LE(path_4k_faults(len / SZ_4K), n);
	ASSERT_GE(path_4k_faults(len / SZ_4K) + 8, n);
}

TEST_F(huge1g, mapping_at_an_offset_off_2m_takes_the_4k_path)
{
	size_t len = 4 * SZ_1M;
	uint8_t *map;
	long n;

	map = map_placed(self->dev.device, self->info.offset + SZ_4K, len,
			 SZ_1G, 0);
	ASSERT_NE(NULL, map);
	n = touch_faults(map, len);
	munmap(map, len);
	TH_LOG("%ld faults for %lu pages", n, len / SZ_4K);
	ASSERT_LE(path_4k_faults(len / SZ_4K), n);
	ASSERT_GE(path_4k_faults(len / SZ_4K) + 8, n);
}

/*
 * The 4 KiB path maps the right page at every address, those mapped
 * around a fault included: a mapping 3 pages into the BAR at an address a
 * page past 2 MiB (neither lines up with a 64 KiB block), first faulted
 * in the middle of a block so that pages below the fault come in with it.
 */
TEST_F(huge1g, pages_mapped_around_a_fault_are_the_right_ones)
{
	const uint64_t skew = 3 * SZ_4K, len = SZ_1M;
	const uint64_t offs[] = {
		0, SZ_4K, 10 * SZ_4K + 8, 14 * SZ_4K - 4, 14 * SZ_4K,
		15 * SZ_4K, 16 * SZ_4K + 4, SZ_1M / 2 + 12, len - 4,
	};
	uint8_t *map;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		uint32_t v = 0xa5170000 | i;

		ASSERT_EQ(4, pwrite(self->dev.device, &v, 4,
				    self->info.offset + skew + offs[i]));
	}
	map = map_placed(self->dev.device, self->info.offset + skew, len,
			 SZ_2M, SZ_4K);
	ASSERT_NE(NULL, map);
	(void)rd32(map + 10 * SZ_4K);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		EXPECT_EQ(0xa5170000 | i, rd32(map + offs[i])) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
	}
	munmap(map, len);
}

/* The whole GiB, 2 MiB aligned but not 1 GiB: PMDs, one per 2 MiB. */
TEST_F(huge1g, mapping_2m_aligned_off_1g_faults_once_per_2m)
{
	uint8_t *map;
	long n;

	map = map_placed(self->dev.device, self->info.offset, SZ_1G, SZ_1G,
			 SZ_2M);
	ASSERT_NE(NULL, map);
	n = touch_faults(map, SZ_1G);
	munmap(map, SZ_1G);
	TH_LOG("%ld faults for %lu pages", n, SZ_1G / SZ_4K);
	ASSERT_LE(SZ_1G / SZ_2M, n);
	ASSERT_GE(SZ_1G / SZ_2M + 8, n);
}

/*
 * Decode off takes the PUD entry away: SIGBUS at either end and in the
 * middle of the GiB.  Decode on: one fault maps it all again.
 */
TEST_F(huge1g, memory_off_sigbus_across_the_gib_then_one_fault_back)
{
	const uint64_t offs[] = {
		0, SZ_4K, SZ_2M, SZ_1G / 2 - 4, SZ_1G / 2, SZ_1G / 2 + SZ_4K,
		SZ_1G - SZ_2M, SZ_1G - SZ_4K, SZ_1G - 1,
	};
	unsigned int i;
	long n;

	ASSERT_GE(2, touch_faults_step(self->map, SZ_1G, SZ_2M));
	set_memory(_metadata, self->dev.device, false);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		ASSERT_EQ(SIGBUS, probe(self->map + offs[i])) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
	}
	set_memory(_metadata, self->dev.device, true);
	n = touch_faults_step(self->map, SZ_1G, SZ_2M);
	TH_LOG("%ld faults to touch every 2 MiB again", n);
	ASSERT_LE(1, n);
	ASSERT_GE(2, n);
}

/*
 * A zap reaches every mapping of the device, whatever file and vma it came
 * through: the BAR mapped a second time through a second device fd, both
 * faulted in, then zapped - by VFIO_DEVICE_RESET where the device has a
 * reset, else (ivshmem in this bed has none) by memory decode off and on
 * again.  Both fault again, and what they read is still the device's.
 */
TEST_F(huge1g, zap_reaches_every_mapping_and_data_stays)
{
	const uint64_t offs[] = { 0, SZ_2M + 8, SZ_1G / 2 + 0x40, SZ_1G - 4 };
	struct vfio_device_info dinfo;
	uint8_t *map2;
	unsigned int i;
	int fd2;
	long n1, n2;

	ASSERT_EQ(0, _vfio_group_get_device_fd(self->dev.group, TB_HUGE_BDF,
					       &fd2));
	map2 = map_placed(fd2, self->info.offset, SZ_1G, SZ_1G, 0);
	ASSERT_NE(NULL, map2);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		uint32_t v = 0x2a900000 | i;

		ASSERT_EQ(4, pwrite(self->dev.device, &v, 4,
				    self->info.offset + offs[i]));
	}
	touch_faults_step(self->map, SZ_1G, SZ_2M);
	touch_faults_step(map2, SZ_1G, SZ_2M);
	ASSERT_EQ(0, touch_faults_step(self->map, SZ_1G, SZ_2M));
	ASSERT_EQ(0, touch_faults_step(map2, SZ_1G, SZ_2M));

	vfio_device_get_info(self->dev.device, &dinfo);
	if (dinfo.flags & VFIO_DEVICE_FLAGS_RESET) {
		TH_LOG("zap: VFIO_DEVICE_RESET");
		ASSERT_EQ(0, ioctl(self->dev.device, VFIO_DEVICE_RESET));
		set_memory(_metadata, self->dev.device, true);
	} else {
		TH_LOG("zap: no reset here, memory decode off and on");
		set_memory(_metadata, self->dev.device, false);
		set_memory(_metadata, self->dev.device, true);
	}

	n1 = touch_faults_step(self->map, SZ_1G, SZ_2M);
	n2 = touch_faults_step(map2, SZ_1G, SZ_2M);
	TH_LOG("faults after the zap: %ld and %ld", n1, n2);
	EXPECT_LE(1, n1);
	EXPECT_LE(1, n2);
	EXPECT_GE(2, n1);
	EXPECT_GE(2, n2);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		EXPECT_EQ(0x2a900000 | i, rd32(self->map + offs[i])) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
		EXPECT_EQ(0x2a900000 | i, rd32(map2 + offs[i])) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
	}
	munmap(map2, SZ_1G);
	close(fd2);
}

/*
 * munmap() of one page in the middle of a PUD-mapped GiB: the page is
 * gone (SIGSEGV), stores made through the mapping on both sides of it are
 * in the device (the region) and behind it (the host file), and the two
 * pieces fault back in with PMDs where a 2 MiB block of theirs lines up
 * and pages in the two partial blocks around the hole.
 */
TEST_F(huge1g, partial_munmap_in_a_pud_leaves_the_rest_right)
{
	const uint64_t hole = SZ_1G / 2 + 3 * SZ_4K;
	const uint64_t offs[] = {
		0, SZ_1G / 2 - 4, hole - 4, hole + SZ_4K, hole + SZ_4K + SZ_2M,
		SZ_1G - 4,
	};
	/* Left: 2 MiB blocks up to 512M, then 3 pages; right: the rest */
	const long left = SZ_1G / 2 / SZ_2M + path_4k_faults(3);
	const long right = path_4k_faults((SZ_2M - 4 * SZ_4K) / SZ_4K) +
			   SZ_1G / 2 / SZ_2M - 1;
	unsigned int i;
	long n;

	ASSERT_GE(2, touch_faults_step(self->map, SZ_1G, SZ_2M));
	for (i = 0; i < ARRAY_SIZE(offs); i++)
		wr32(self->map + offs[i], 0x5b1e0000 | i);
	ASSERT_EQ(0, munmap(self->map + hole, SZ_4K));
	EXPECT_EQ(SIGSEGV, probe(self->map + hole));

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		uint32_t dev = 0, file = 0;

		ASSERT_EQ(4, pread(self->dev.device, &dev, 4,
				   self->info.offset + offs[i]));
		ASSERT_EQ(0, huge_file_read(offs[i], &file, 4));
		EXPECT_EQ(0x5b1e0000 | i, dev) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
		EXPECT_EQ(0x5b1e0000 | i, file) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
	}

	n = touch_faults(self->map, hole) +
	    touch_faults(self->map + hole + SZ_4K, SZ_1G - hole - SZ_4K);
	TH_LOG("%ld faults to touch both pieces, %ld expected", n,
	       left + right);
	EXPECT_LE(left + right, n);
	EXPECT_GE(left + right + 8, n);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		EXPECT_EQ(0x5b1e0000 | i, rd32(self->map + offs[i])) {
			TH_LOG("offset %#llx", (unsigned long long)offs[i]);
		}
	}
	EXPECT_EQ(SIGSEGV, probe(self->map + hole + SZ_4K - 1));
}

/*
 * Stores through the PUD entry land at their own offset: seen there by a
 * read of the region and in the host file, the bytes around untouched.
 */
TEST_F(huge1g, stores_through_the_pud_land_at_their_offset)
{
	const uint64_t offs[] = { 0, SZ_2M - 4, 511 * SZ_1M + 123, SZ_1G - 4 };
	unsigned int i, j;

	ASSERT_GE(2, touch_faults_step(self->map, SZ_1G, SZ_2M));
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		uint8_t fill[12], want[12], got[12];
		uint64_t at = offs[i] >= 4 ? offs[i] - 4 : 0;
		size_t pre = offs[i] - at;
		size_t len = offs[i] + 8 <= SZ_1G ? pre + 8 : pre + 4;
		uint32_t v = 0x7e570000 | i;

		memset(fill, 0x3c, sizeof(fill));
		ASSERT_EQ((ssize_t)len, pwrite(self->dev.device, fill, len,
					       self->info.offset + at));
		if (offs[i] % 4) {
			for (j = 0; j < 4; j++)
				__atomic_store_n(self->map + offs[i] + j,
						 (uint8_t)(v >> (8 * j)),
						 __ATOMIC_RELAXED);
		} else {
			wr32(self->map + offs[i], v);
		}
		memcpy(want, fill, sizeof(want));
		memcpy(want + pre, &v, 4);

		memset(got, 0, sizeof(got));
		ASSERT_EQ((ssize_t)len, pread(self->dev.device, got, len,
					      self->info.offset + at));
		EXPECT_EQ(0, memcmp(want, got, len)) {
			TH_LOG("region at offset %#llx",
			       (unsigned long long)offs[i]);
		}
		memset(got, 0, sizeof(got));
		ASSERT_EQ(0, huge_file_read(at, got, len));
		EXPECT_EQ(0, memcmp(want, got, len)) {
			TH_LOG("host file at offset %#llx",
			       (unsigned long long)offs[i]);
		}
	}
}

/*
 * The BAR's vma carries the flags upstream gives it: an I/O PFN map that
 * neither grows nor dumps (io pf de dd), and VM_ALLOW_ANY_UNCACHED, which
 * lets KVM on arm64 map the BAR as Normal-NC at stage 2.  6.12's smaps has
 * no mnemonic for that bit on x86 and prints "??".
 */
TEST_F(huge1g, bar_vma_flags_are_upstreams)
{
	static const char * const want[] = { "io", "pf", "de", "dd", "??" };
	char flags[256], tok[8];
	unsigned int i;

	smaps_field(self->map, "VmFlags:", flags, sizeof(flags));
	TH_LOG("%s", flags);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		snprintf(tok, sizeof(tok), " %s", want[i]);
		EXPECT_NE(NULL, strstr(flags, tok)) TH_LOG("no %s", want[i]);
	}
}

/* ---- racing faults, unmaps and decode toggles ---------------------------- */

#define RACE_THREADS	3
#define RACE_MS		2000

static __thread sigjmp_buf race_jmp;

static void race_on_fault(int sig)
{
	siglongjmp(race_jmp, sig);
}

/* What race_fill() stored at BAR offset @off: its own offset, scrambled. */
static uint32_t race_word(uint64_t off)
{
	return (uint32_t)(off >> 2) ^ 0x5a17c0deU;
}

struct race {
	int fd;
	uint64_t region;	/* the BAR's offset in the device file */
	size_t gran;		/* bytes each mapping covers */
	int stop;
	int decode_off;		/* set while the toggler has decode off */
	long maps, sigbus, wrong, failed;
};

static uint64_t race_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/*
 * Map a random @gran block of the BAR without a hint, read three words of
 * it (first, middle, last), unmap it; over and over.  A read either gives
 * what race_fill() stored or, while decode is off, SIGBUS.
 */
static void *race_mapper(void *arg)
{
	struct race *r = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;
	size_t at[3] = { 0, r->gran / 2, r->gran - 4 };

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		uint64_t off = (uint64_t)(rand_r(&seed) %
					  (TB_HUGE_SIZE / r->gran)) * r->gran;
		uint8_t *map;
		int i;

		map = mmap(NULL, r->gran, PROT_READ, MAP_SHARED, r->fd,
			   r->region + off);
		if (map == MAP_FAILED) {
			__atomic_add_fetch(&r->failed, 1, __ATOMIC_RELAXED);
			break;
		}
		for (i = 0; i < 3; i++) {
			uint32_t v;

			if (sigsetjmp(race_jmp, 1)) {
				__atomic_add_fetch(&r->sigbus, 1,
						   __ATOMIC_RELAXED);
				continue;
			}
			v = rd32(map + at[i]);
			if (v != race_word(off + at[i]))
				__atomic_add_fetch(&r->wrong, 1,
						   __ATOMIC_RELAXED);
		}
		munmap(map, r->gran);
		__atomic_add_fetch(&r->maps, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Store race_word() at every offset a mapper may read, through @map. */
static void race_fill(uint8_t *map, size_t gran)
{
	uint64_t off;

	for (off = 0; off < TB_HUGE_SIZE; off += gran) {
		wr32(map + off, race_word(off));
		wr32(map + off + gran / 2, race_word(off + gran / 2));
		wr32(map + off + gran - 4, race_word(off + gran - 4));
	}
}

static void race_run(struct __test_metadata *_metadata, int fd,
		     uint64_t region, uint8_t *map, size_t gran)
{
	struct sigaction sa = { .sa_handler = race_on_fault }, obus;
	struct race r = { .fd = fd, .region = region, .gran = gran };
	pthread_t t[RACE_THREADS];
	uint64_t end;
	long toggles = 0;
	int i;

	race_fill(map, gran);
	sigaction(SIGBUS, &sa, &obus);
	for (i = 0; i < RACE_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_mapper, &r));
	/* Decode off and on under the mappers, one toggle per 50 ms. */
	end = race_now_ms() + RACE_MS;
	while (race_now_ms() < end) {
		usleep(25000);
		set_memory(_metadata, fd, false);
		usleep(25000);
		set_memory(_metadata, fd, true);
		toggles++;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	sigaction(SIGBUS, &obus, NULL);

	TH_LOG("%zu KiB blocks: %ld maps, %ld SIGBUS, %ld toggles", gran >> 10,
	       r.maps, r.sigbus, toggles);
	EXPECT_EQ(0, r.failed);
	EXPECT_EQ(0, r.wrong);
	EXPECT_LT(0, r.maps);
	/* Decode is on again: the whole BAR reads back, in one fault. */
	EXPECT_EQ(1, touch_faults(map, SZ_1G));
	EXPECT_EQ(race_word(gran / 2), rd32(map + gran / 2));
}

/*
 * Threads mapping, touching and unmapping 2 MiB and 1 GiB blocks of the
 * BAR while memory decode goes off and on under them (each off zaps every
 * mapping of the device): every read is the device's data or SIGBUS,
 * nothing leaks, and the kernel log stays clean (the runner checks it,
 * with lockdep and KASAN on the debug kernel).
 */
TEST_F(huge1g, racing_maps_unmaps_and_decode_toggles_2m)
{
	race_run(_metadata, self->dev.device, self->info.offset, self->map,
		 SZ_2M);
}

TEST_F(huge1g, racing_maps_unmaps_and_decode_toggles_1g)
{
	race_run(_metadata, self->dev.device, self->info.offset, self->map,
		 SZ_1G);
}

TEST_HARNESS_MAIN
