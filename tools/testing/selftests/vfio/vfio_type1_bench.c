// SPDX-License-Identifier: GPL-2.0
/*
 * type1 MAP_DMA / UNMAP_DMA throughput, for `make bench`, which runs it in
 * one guest boot against the distro's modules and ours: the ratio of the
 * two is the result.
 *
 * For each backing (4 KiB pages, THP, hugetlbfs 2 MiB) the buffer is
 * faulted in first, so only pinning, accounting and IOMMU mapping are
 * timed: one MAP_DMA of the whole buffer, then one UNMAP_DMA; and the same
 * buffer as 2 MiB ranges, unmapped with VFIO_DMA_UNMAP_FLAG_ALL.  Each is
 * the best of ROUNDS runs.  Output is TAP; the numbers are "# bench" lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#include "testbed.h"

#define MIB		0x100000UL
#define IOVA		0x100000000UL
#define ROUNDS		5
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static int container = -1;
static int test_nr;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int setup(void)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	int group;

	if (tb_cmd("bind %s vfio-pci", TB_EDU_BDF))
		return -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 TB_EDU_BDF);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(target, '/') + 1);
	group = open(path, O_RDWR);
	container = open("/dev/vfio/vfio", O_RDWR);
	if (group < 0 || container < 0)
		return -1;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -1;
	return 0;
}

static int map(uint64_t iova, uint64_t size, void *vaddr)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW,
		.vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
}

static int unmap(uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u) ? -errno : 0;
}

static void *backing(const char *kind, size_t size)
{
	size_t align = 2 * MIB;
	char *p;

	if (!strcmp(kind, "hugetlb")) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
	} else {
		p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		p = (char *)(((uintptr_t)p + align - 1) & ~(align - 1));
		madvise(p, size, !strcmp(kind, "thp") ? MADV_HUGEPAGE :
							MADV_NOHUGEPAGE);
	}
	memset(p, 1, size);
	return p;
}

/* How many physically contiguous runs back [p, p + size): what the IOMMU maps */
static long pfn_runs(const char *p, size_t size)
{
	uint64_t ent, prev = 0;
	long runs = 0;
	size_t off;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	for (off = 0; off < size; off += 4096) {
		uint64_t pfn;

		if (pread(fd, &ent, sizeof(ent),
			  ((uintptr_t)p + off) / 4096 * sizeof(ent)) != sizeof(ent))
			break;
		pfn = ent & ((1ULL << 55) - 1);
		if (!off || pfn != prev + 1)
			runs++;
		prev = pfn;
	}
	close(fd);
	return runs;
}

static void result(bool ok, const char *name, const char *kind, size_t size,
		   double ms)
{
	printf("# bench %s %s %zuMiB: %.3f ms\n", name, kind, size / MIB, ms);
	printf("%sok %d %s_%s_%zuMiB\n", ok ? "" : "not ", ++test_nr, name,
	       kind, size / MIB);
}

static void bench(const char *kind, size_t size)
{
	double best_map = 1e30, best_unmap = 1e30, best_chunks = 1e30,
	       best_all = 1e30, t0, t1, t2;
	bool ok = true, chunks_ok = true;
	char *buf = backing(kind, size);
	size_t off;
	int r;

	if (!buf) {
		for (r = 0; r < 4; r++)
			printf("ok %d %s_%zuMiB # SKIP no %s backing\n",
			       ++test_nr, kind, size / MIB, kind);
		return;
	}
	printf("# backing %s %zuMiB: %ld physically contiguous runs\n", kind,
	       size / MIB, pfn_runs(buf, size));
	for (r = 0; r < ROUNDS; r++) {
		t0 = now_ms();
		ok &= !map(IOVA, size, buf);
		t1 = now_ms();
		ok &= !unmap(IOVA, size, 0);
		t2 = now_ms();
		if (t1 - t0 < best_map)
			best_map = t1 - t0;
		if (t2 - t1 < best_unmap)
			best_unmap = t2 - t1;

		t0 = now_ms();
		for (off = 0; off < size; off += 2 * MIB)
			chunks_ok &= !map(IOVA + off, 2 * MIB, buf + off);
		t1 = now_ms();
		chunks_ok &= !unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
		t2 = now_ms();
		if (t1 - t0 < best_chunks)
			best_chunks = t1 - t0;
		if (t2 - t1 < best_all)
			best_all = t2 - t1;
	}
	result(ok, "map", kind, size, best_map);
	result(ok, "unmap", kind, size, best_unmap);
	result(chunks_ok, "map_2m_ranges", kind, size, best_chunks);
	result(chunks_ok, "unmap_all_2m_ranges", kind, size, best_all);
}

int main(void)
{
	size_t size = 256 * MIB;
	int fd;

	printf("TAP version 13\n1..12\n");
	if (tb_noiommu_profile() || setup()) {
		printf("ok 1 # SKIP no type1 container\n");
		return 0;
	}
	fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	if (fd >= 0) {
		dprintf(fd, "%zu\n", size / (2 * MIB) + 8);
		close(fd);
	}
	bench("4k", 64 * MIB);
	bench("thp", size);
	bench("hugetlb", size);
	return 0;
}
