// SPDX-License-Identifier: GPL-2.0
/*
 * type1 MAP_DMA / UNMAP_DMA speed, ours against the distro's, for
 * `make bench`.
 *
 * The init of the bench boot runs every benchmark once per module set
 * (distro, then ours).  Two runs would pin two different sets of pages,
 * though, and how many physically contiguous runs a buffer has decides
 * how many IOMMU mappings a MAP_DMA makes - the comparison would measure
 * the allocator as much as the code.  So the @distro run only skips, and
 * the @ours run measures both stacks itself, on the same buffers: it
 * swaps the modules (`tb unload`, `tb load`) between measurements and
 * alternates the stacks round by round (and which goes first), so drift
 * in the host's load hits both alike.  Each number is the best of ROUNDS
 * rounds (short ones are repeated within a round too, and every round
 * starts with a warm-up); the raw file keeps every round.
 *
 * Backings: "4k" is anonymous memory without THP faulted in a random
 * page order, so that no two neighbouring pages are physically adjacent
 * (the worst case, every page its own IOMMU mapping); "thp" is anonymous
 * memory with MADV_HUGEPAGE; "hugetlb" is MAP_HUGETLB with 2 MiB pages.
 * For each backing, ranges of 4 KiB to 1 GiB are mapped `calls` at a time
 * at neighbouring IOVAs, then unmapped one by one; "dpdk" is DPDK's pattern
 * without hugepages: 64 MiB mapped and unmapped one 4 KiB page per call.
 * Latency is that of the median call, throughput is a range's bytes over
 * its map + unmap latency, the ratio is distro time over ours (above 1:
 * ours is faster).
 *
 * The table goes to stdout ("# " lines, TAP otherwise); the raw numbers
 * to /host/bench.type1.tsv and the table to /host/bench.type1.txt, which
 * are build/testbed/share/ on the host.
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

#define KIB		0x400UL
#define MIB		0x100000UL
#define GIB		0x40000000UL
#define HPAGE		(2 * MIB)
#define IOVA_BASE	0x100000000ULL
#define ROUNDS		5
/* A measurement this short is repeated within a round, the best kept */
#define SHORT_BYTES	(64 * MIB)
#define SHORT_REPEAT	5
#define MAX_BUF		GIB
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define RAW_FILE	"/host/bench.type1.tsv"
#define TABLE_FILE	"/host/bench.type1.txt"

enum { SET_DISTRO, SET_OURS, NR_SETS };

static const char * const set_names[NR_SETS] = { "distro", "ours" };

struct row {
	const char *backing;
	const char *label;	/* printed instead of the range size */
	size_t size;		/* bytes per MAP_DMA */
	unsigned int calls;	/* MAP_DMAs per measurement */
	bool skip;
	bool failed;
	int runs;		/* rounds measured */
	double map_ns[NR_SETS][ROUNDS];		/* median call */
	double unmap_ns[NR_SETS][ROUNDS];
	double map_mean_ns[NR_SETS][ROUNDS];	/* mean call */
	double unmap_mean_ns[NR_SETS][ROUNDS];
};

#define ROW(b, s, n)	{ .backing = b, .size = s, .calls = n }

/* In the order measured: hugetlb first, while 2 MiB pages are easy to get */
static struct row rows[] = {
	ROW("hugetlb", 4 * KIB, 1024), ROW("hugetlb", 64 * KIB, 256),
	ROW("hugetlb", 2 * MIB, 32), ROW("hugetlb", 32 * MIB, 4),
	ROW("hugetlb", 256 * MIB, 1), ROW("hugetlb", GIB, 1),
	ROW("thp", 4 * KIB, 1024), ROW("thp", 64 * KIB, 256),
	ROW("thp", 2 * MIB, 32), ROW("thp", 32 * MIB, 4),
	ROW("thp", 256 * MIB, 1), ROW("thp", GIB, 1),
	ROW("4k", 4 * KIB, 1024), ROW("4k", 64 * KIB, 256),
	ROW("4k", 2 * MIB, 32), ROW("4k", 32 * MIB, 4),
	ROW("4k", 256 * MIB, 1), ROW("4k", GIB, 1),
	{ .backing = "4k", .label = "dpdk", .size = 4 * KIB, .calls = 16384 },
};

#define NR_ROWS		ARRAY_SIZE(rows)

static int container = -1;
static int group = -1;
static bool have_set[NR_SETS];

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
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

static void close_container(void)
{
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	group = -1;
	container = -1;
}

/* Load module set @set and open a type1v2 container with edu's group */
static int switch_to(int set)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	close_container();
	if (tb_cmd("unload"))
		return -1;
	setenv("VFIO_MODULES", set_names[set], 1);
	if (tb_cmd("load") || tb_cmd("bind %s vfio-pci", TB_EDU_BDF))
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

static long write_long(const char *path, long val)
{
	char buf[32];
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	if (dprintf(fd, "%ld\n", val) < 0 ||
	    pread(fd, buf, sizeof(buf) - 1, 0) <= 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return atol(buf);
}

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long kb = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			kb = atol(line + len + 1);
			break;
		}
	fclose(f);
	return kb;
}

/* xorshift: a fixed random page order, the same in every boot */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Fault every page of [p, p + size) in, in a random order */
static int fault_scattered(char *p, size_t size)
{
	size_t n = size / getpagesize(), i;
	uint32_t *order = malloc(n * sizeof(*order));

	if (!order)
		return -1;
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1);
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		p[(size_t)order[i] * getpagesize()] = 1;
	free(order);
	return 0;
}

static void *backing(const char *kind, size_t size)
{
	char *p;

	if (!strcmp(kind, "hugetlb")) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		memset(p, 1, size);
		return p;
	}
	p = mmap(NULL, size + HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1));
	if (!strcmp(kind, "thp")) {
		madvise(p, size, MADV_HUGEPAGE);
		memset(p, 1, size);
		return p;
	}
	madvise(p, size, MADV_NOHUGEPAGE);
	if (fault_scattered(p, size))
		return NULL;
	return p;
}

static void backing_free(const char *kind, char *p, size_t size)
{
	if (!strcmp(kind, "hugetlb"))
		munmap(p, size);
	else
		munmap(p, size + HPAGE);	/* the unaligned head stays: fine */
}

/* Physically contiguous runs backing [p, p + size): what the IOMMU maps */
static long pfn_runs(const char *p, size_t size)
{
	size_t n = size / 4096, i, j;
	uint64_t ent[512], prev = 0;
	long runs = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	for (i = 0; i < n; i += 512) {
		size_t cnt = n - i < 512 ? n - i : 512;

		if (pread(fd, ent, cnt * 8, ((uintptr_t)p / 4096 + i) * 8) !=
		    (ssize_t)(cnt * 8)) {
			runs = -1;
			break;
		}
		for (j = 0; j < cnt; j++) {
			uint64_t pfn = ent[j] & ((1ULL << 55) - 1);

			if (!(i + j) || pfn != prev + 1)
				runs++;
			prev = pfn;
		}
	}
	close(fd);
	return runs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @v[0..n), which gets sorted */
static double p50(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * One measurement of @row with the stack now loaded: every call is timed,
 * and the median call is the result.  The host runs other guests too and
 * takes the CPU away for milliseconds at a time; a call of a few
 * microseconds is rarely hit, a batch of a thousand almost always.  The
 * mean goes to the raw file as well.
 */
static void measure(struct row *row, int set, int round, char *buf)
{
	int rep, reps = row->size * row->calls <= SHORT_BYTES ?
			SHORT_REPEAT : 1;
	double *tm = calloc(2 * row->calls, sizeof(*tm));
	double *tu = tm + row->calls, m = 1e30, u = 1e30, mm = 0, um = 0;
	unsigned int i;
	bool ok = !!tm;

	for (rep = 0; ok && rep < reps; rep++) {
		double t0, t1, sm = 0, su = 0, pm, pu;

		for (i = 0; i < row->calls; i++) {
			t0 = now_ns();
			ok &= !map(IOVA_BASE + (uint64_t)i * row->size,
				   row->size, buf + (size_t)i * row->size);
			t1 = now_ns();
			tm[i] = t1 - t0;
			sm += tm[i];
		}
		for (i = 0; i < row->calls; i++) {
			t0 = now_ns();
			ok &= !unmap(IOVA_BASE + (uint64_t)i * row->size,
				     row->size, 0);
			t1 = now_ns();
			tu[i] = t1 - t0;
			su += tu[i];
		}
		pm = p50(tm, row->calls);
		pu = p50(tu, row->calls);
		if (pm + pu < m + u) {
			m = pm;
			u = pu;
			mm = sm / row->calls;
			um = su / row->calls;
		}
	}
	free(tm);
	if (!ok) {
		printf("# %s %s %zu KiB x%u: MAP_DMA/UNMAP_DMA failed\n",
		       set_names[set], row->backing, row->size / KIB,
		       row->calls);
		row->failed = true;
	}
	row->map_ns[set][round] = m;
	row->unmap_ns[set][round] = u;
	row->map_mean_ns[set][round] = mm;
	row->unmap_mean_ns[set][round] = um;
}

/*
 * Right after a module swap the guest is busy freeing the old module and
 * QEMU translates the new one's code: let both pass before timing.
 */
static void warm_up(char *buf)
{
	struct row scratch = { .backing = "warm-up", .size = 4 * KIB,
			       .calls = 256 };

	usleep(500 * 1000);
	measure(&scratch, SET_OURS, 0, buf);
	scratch.size = 2 * MIB;
	scratch.calls = 4;
	measure(&scratch, SET_OURS, 0, buf);
}

static void bench_backing(const char *kind)
{
	size_t size = MAX_BUF, i;
	bool settled = false;
	int round, set, k;
	char *buf;

	if (!strcmp(kind, "hugetlb"))
		write_long("/proc/sys/vm/nr_hugepages", MAX_BUF / HPAGE);
	for (buf = NULL; size >= 64 * MIB && !buf; size /= 2)
		buf = backing(kind, size);
	size *= 2;
	if (!buf) {
		printf("# backing %s: cannot allocate 64 MiB\n", kind);
		size = 0;
	} else {
		printf("# backing %s: %zu MiB, %ld physically contiguous runs%s\n",
		       kind, size / MIB, pfn_runs(buf, size),
		       size < MAX_BUF ? " (no room for more in this guest)" :
					"");
	}
	for (i = 0; i < NR_ROWS; i++)
		if (!strcmp(rows[i].backing, kind) &&
		    (uint64_t)rows[i].size * rows[i].calls > size)
			rows[i].skip = true;
	if (!buf)
		return;

	for (round = 0; round < ROUNDS; round++) {
		for (k = 0; k < NR_SETS; k++) {
			/* Who goes first alternates too */
			set = round % 2 ? NR_SETS - 1 - k : k;
			if (!have_set[set])
				continue;
			if (switch_to(set)) {
				printf("# cannot load the %s stack\n",
				       set_names[set]);
				have_set[set] = false;
				continue;
			}
			/* Let the first pin settle the pages where they stay */
			if (!settled) {
				map(IOVA_BASE, size, buf);
				unmap(IOVA_BASE, size, 0);
				settled = true;
			}
			warm_up(buf);
			for (i = 0; i < NR_ROWS; i++) {
				if (strcmp(rows[i].backing, kind) ||
				    rows[i].skip)
					continue;
				measure(&rows[i], set, round, buf);
				rows[i].runs = round + 1;
			}
		}
	}
	close_container();
	backing_free(kind, buf, size);
	if (!strcmp(kind, "hugetlb"))
		write_long("/proc/sys/vm/nr_hugepages", 0);
}

static double best(const double *v, int n)
{
	double b = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < b)
			b = v[i];
	return b;
}

static double median(const double *v, int n)
{
	double s[ROUNDS];
	int i, j;

	memcpy(s, v, n * sizeof(*v));
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && s[j - 1] > s[j]; j--) {
			double t = s[j];

			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* How far the median round is above the best, worst of both stacks */
static double row_noise(const struct row *r)
{
	double worst = 1, n;
	int s;

	for (s = 0; s < NR_SETS; s++) {
		if (!have_set[s])
			continue;
		n = median(r->map_ns[s], r->runs) / best(r->map_ns[s], r->runs);
		worst = n > worst ? n : worst;
		n = median(r->unmap_ns[s], r->runs) /
		    best(r->unmap_ns[s], r->runs);
		worst = n > worst ? n : worst;
	}
	return (worst - 1) * 100;
}

static const char *range_name(const struct row *row, char *buf, size_t len)
{
	if (row->label)
		snprintf(buf, len, "%s", row->label);
	else if (row->size >= GIB)
		snprintf(buf, len, "%zuG", row->size / GIB);
	else if (row->size >= MIB)
		snprintf(buf, len, "%zuM", row->size / MIB);
	else
		snprintf(buf, len, "%zuK", row->size / KIB);
	return buf;
}

static double gibps(const struct row *row, double map_ns, double unmap_ns)
{
	return row->size / (map_ns + unmap_ns) * 1e9 / GIB;
}

/* The table, to @f, each line prefixed with @pfx */
static void print_table(FILE *f, const char *pfx)
{
	char name[16];
	size_t i;

	fprintf(f, "%stype1 MAP_DMA + UNMAP_DMA: the median call, best of %d rounds\n",
		pfx, ROUNDS);
	fprintf(f, "%sratio: distro time / ours; noise: median round over best\n",
		pfx);
	fprintf(f, "%s%-8s %-5s %5s | %9s %9s %7s | %9s %9s %7s | %5s %5s %5s | %5s\n",
		pfx, "backing", "range", "calls", "distro", "", "",
		"ours", "", "", "ratio", "", "", "noise");
	fprintf(f, "%s%-8s %-5s %5s | %9s %9s %7s | %9s %9s %7s | %5s %5s %5s |\n",
		pfx, "", "", "", "map us", "unmap us", "GiB/s", "map us",
		"unmap us", "GiB/s", "map", "unmap", "total");
	for (i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];
		double m[NR_SETS], u[NR_SETS];
		int s;

		range_name(r, name, sizeof(name));
		if (r->skip || !r->runs) {
			fprintf(f, "%s%-8s %-5s %5u | not measured (no room for it in the guest)\n",
				pfx, r->backing, name, r->calls);
			continue;
		}
		for (s = 0; s < NR_SETS; s++) {
			m[s] = best(r->map_ns[s], r->runs);
			u[s] = best(r->unmap_ns[s], r->runs);
		}
		fprintf(f, "%s%-8s %-5s %5u |", pfx, r->backing, name,
			r->calls);
		for (s = 0; s < NR_SETS; s++) {
			if (!have_set[s]) {
				fprintf(f, " %9s %9s %7s |", "-", "-", "-");
				continue;
			}
			fprintf(f, " %9.1f %9.1f %7.2f |", m[s] / 1e3,
				u[s] / 1e3, gibps(r, m[s], u[s]));
		}
		if (have_set[SET_DISTRO] && have_set[SET_OURS])
			fprintf(f, " %5.2f %5.2f %5.2f |", m[0] / m[1],
				u[0] / u[1], (m[0] + u[0]) / (m[1] + u[1]));
		else
			fprintf(f, " %5s %5s %5s |", "-", "-", "-");
		fprintf(f, " %4.0f%%%s\n", row_noise(r),
			r->failed ? "  (errors!)" : "");
	}
}

static void write_raw(void)
{
	FILE *f = fopen(RAW_FILE, "w");
	size_t i;
	int s, k;

	if (!f)
		return;
	fprintf(f, "%s\n", "backing\trange_bytes\tcalls\tstack\tround\t"
		"map_ns_p50\tunmap_ns_p50\tmap_ns_mean\tunmap_ns_mean");
	for (i = 0; i < NR_ROWS; i++)
		for (s = 0; s < NR_SETS; s++)
			for (k = 0; have_set[s] && k < rows[i].runs; k++)
				fprintf(f, "%s%s\t%zu\t%u\t%s\t%d\t%.0f\t%.0f\t%.0f\t%.0f\n",
					rows[i].backing,
					rows[i].label ? "-dpdk" : "",
					rows[i].size, rows[i].calls,
					set_names[s], k, rows[i].map_ns[s][k],
					rows[i].unmap_ns[s][k],
					rows[i].map_mean_ns[s][k],
					rows[i].unmap_mean_ns[s][k]);
	fclose(f);
}

int main(void)
{
	static const char * const kinds[] = { "hugetlb", "thp", "4k" };
	char name[16];
	FILE *f;
	size_t i;
	int nr = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	if (tb_noiommu_profile()) {
		printf("1..0 # SKIP type1 needs an IOMMU\n");
		return 0;
	}
	if (!tb_ours()) {
		printf("1..0 # SKIP the @ours run measures both stacks\n");
		return 0;
	}
	have_set[SET_DISTRO] = !access("/tb/modules/distro", F_OK);
	have_set[SET_OURS] = true;
	printf("1..%zu\n", NR_ROWS);
	printf("# guest: MemTotal %ld MiB\n", meminfo_kb("MemTotal") / 1024);

	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		bench_backing(kinds[i]);
	setenv("VFIO_MODULES", "ours", 1);

	print_table(stdout, "# ");
	write_raw();
	f = fopen(TABLE_FILE, "w");
	if (f) {
		print_table(f, "");
		fclose(f);
	}
	for (i = 0; i < NR_ROWS; i++) {
		range_name(&rows[i], name, sizeof(name));
		if (rows[i].skip)
			printf("ok %d %s_%s # SKIP no room in the guest\n",
			       ++nr, rows[i].backing, name);
		else
			printf("%sok %d %s_%s\n",
			       rows[i].failed || !rows[i].runs ? "not " : "",
			       ++nr, rows[i].backing, name);
	}
	return 0;
}
