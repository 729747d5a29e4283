// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-pci access and interrupt latency, ours against the distro's, for
 * `make bench`.
 *
 * As in vfio_type1_bench.c, the @distro run only skips and the @ours run
 * measures both stacks in the same boot: it swaps the module sets between
 * rounds (`tb unload`, `tb load`, `tb bind`), alternating which goes
 * first, so that a slow spell of the host hits both alike.  Every round
 * starts with a warm-up that is not counted.
 *
 * The device is edu (TB_EDU_BDF), with its 1 MiB BAR0 of registers:
 *
 *   bar0 read   a 4-byte read of the ID register, by pread() of the device
 *               fd and by a load through an mmap() of BAR0
 *   bar0 write  a 4-byte write of the liveness register, by pwrite() and
 *               by a store through the mapping
 *   cfg read    a 4-byte pread() of config space (vendor and device ID)
 *   msi         one MSI vector with an eventfd: a store to edu's raise
 *               register, a blocking read() of the eventfd, a store to the
 *               acknowledge register; one round trip
 *   intx        the same with INTx, which is masked on delivery: raise,
 *               read() the eventfd, acknowledge, then VFIO_DEVICE_SET_IRQS
 *               UNMASK
 *   open+close  VFIO_GROUP_GET_DEVICE_FD and close() of the new fd, with
 *               nothing mapped and no interrupt set (the group stays in a
 *               type1 container): the device's whole enable/disable path
 *
 * The mmap rows never enter vfio once the page is in: they measure the
 * machine, not the code, and are there as the floor pread() is compared
 * with; their ratio can only be 1 give or take the noise.  The bench and
 * edu's interrupt are kept on one CPU (BENCH_CPU), so an interrupt is
 * taken right after the store that raised it and the read() finds the
 * eventfd signalled: the msi and intx rows time the delivery code, not
 * the wake-up of a halted vCPU.
 *
 * A sample is one call, or for the mmap rows a burst of MMAP_BURST
 * accesses (one access is too short for the clock).  Within a round each
 * row runs in CHUNKS pieces taken in turn with the other rows', and the
 * round's number is the median sample, per access, of its best piece; a
 * row's number is the best of ROUNDS rounds.  "noise" is how far the
 * median round lies above the best, the worse of the two stacks.  The
 * ratio is distro time over ours: above 1, ours is faster.
 *
 * The table goes to stdout ("# " lines, TAP otherwise); the raw numbers
 * to /host/bench.pci.tsv and the table to /host/bench.pci.txt, which are
 * build/testbed/share/ on the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#include "testbed.h"

#define ROUNDS		5
#define MMAP_BURST	16
#define CHUNKS		5
/* The CPU the bench and edu's interrupt are kept on */
#define BENCH_CPU	0
/* A row taking longer has lost an interrupt: SIGALRM ends its read() */
#define ROW_TIMEOUT_S	30
#define RAW_FILE	"/host/bench.pci.tsv"
#define TABLE_FILE	"/host/bench.pci.txt"

/* edu's BAR0 registers */
#define EDU_ID		0x00
#define EDU_LIVENESS	0x04
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64
#define EDU_ID_VALUE	0x010000edU

#define CFG_COMMAND	0x04
#define CMD_MEMORY	0x0002
#define CMD_MASTER	0x0004

enum { SET_DISTRO, SET_OURS, NR_SETS };

static const char * const set_names[NR_SETS] = { "distro", "ours" };

/* What is open while a stack is measured */
static struct {
	int container;
	int group;
	int device;
	uint64_t bar0_off;
	uint64_t bar0_size;
	uint64_t cfg_off;
	uint32_t *bar0;
	int efd;
} st = { -1, -1, -1, 0, 0, 0, NULL, -1 };

struct row {
	const char *name;	/* with @how, the TAP test name */
	const char *how;
	int (*op)(void);	/* one sample; 0 or -1 */
	int (*setup)(void);	/* run before the row, undone by teardown */
	void (*teardown)(void);
	unsigned int samples;
	unsigned int burst;	/* operations per sample */
	bool failed;
	int runs;
	double p50_ns[NR_SETS][ROUNDS];		/* median sample, per op */
	double mean_ns[NR_SETS][ROUNDS];
};

static bool have_set[NR_SETS];

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- the device ---------------------------------------------------- */

/* One 4-byte access through the BAR0 mapping, never merged or dropped */
static uint32_t bar0_load(unsigned int off)
{
	return __atomic_load_n(&st.bar0[off / 4], __ATOMIC_RELAXED);
}

static void bar0_store(unsigned int off, uint32_t val)
{
	__atomic_store_n(&st.bar0[off / 4], val, __ATOMIC_RELAXED);
}

static int region_info(unsigned int index, uint64_t *off, uint64_t *size,
		       uint32_t *flags)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(st.device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -1;
	*off = ri.offset;
	*size = ri.size;
	if (flags)
		*flags = ri.flags;
	return 0;
}

static int cfg_write16(unsigned int off, uint16_t val)
{
	return pwrite(st.device, &val, 2, st.cfg_off + off) == 2 ? 0 : -1;
}

static int cfg_read16(unsigned int off, uint16_t *val)
{
	return pread(st.device, val, 2, st.cfg_off + off) == 2 ? 0 : -1;
}

static int irqs_set(unsigned int index, uint32_t flags, uint32_t count,
		    int32_t fd)
{
	struct {
		struct vfio_irq_set hdr;
		int32_t fd;
	} s = {
		.hdr = {
			.argsz = sizeof(s.hdr) + (count ? sizeof(fd) : 0),
			.flags = flags, .index = index, .start = 0,
			.count = count,
		},
		.fd = fd,
	};

	if ((flags & VFIO_IRQ_SET_DATA_TYPE_MASK) != VFIO_IRQ_SET_DATA_EVENTFD)
		s.hdr.argsz = sizeof(s.hdr);
	return ioctl(st.device, VFIO_DEVICE_SET_IRQS, &s) ? -1 : 0;
}

static int device_open(void)
{
	uint64_t cfg_size;
	uint32_t flags;
	uint16_t cmd;
	void *p;

	st.device = ioctl(st.group, VFIO_GROUP_GET_DEVICE_FD, TB_EDU_BDF);
	if (st.device < 0)
		return -1;
	if (region_info(VFIO_PCI_CONFIG_REGION_INDEX, &st.cfg_off, &cfg_size,
			NULL) ||
	    region_info(VFIO_PCI_BAR0_REGION_INDEX, &st.bar0_off,
			&st.bar0_size, &flags) ||
	    !(flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -1;
	p = mmap(NULL, st.bar0_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 st.device, st.bar0_off);
	if (p == MAP_FAILED)
		return -1;
	st.bar0 = p;
	/* Decode on; MSI is a memory write, so it needs bus mastering */
	if (cfg_read16(CFG_COMMAND, &cmd) ||
	    cfg_write16(CFG_COMMAND, cmd | CMD_MEMORY | CMD_MASTER))
		return -1;
	if (bar0_load(EDU_ID) != EDU_ID_VALUE) {
		printf("# edu ID reads %#x\n", bar0_load(EDU_ID));
		return -1;
	}
	bar0_store(EDU_IRQ_ACK, ~0U);
	return 0;
}

static void device_close(void)
{
	if (st.bar0)
		munmap(st.bar0, st.bar0_size);
	st.bar0 = NULL;
	if (st.device >= 0)
		close(st.device);
	st.device = -1;
}

static void close_all(void)
{
	device_close();
	if (st.efd >= 0)
		close(st.efd);
	st.efd = -1;
	if (st.group >= 0)
		close(st.group);
	if (st.container >= 0)
		close(st.container);
	st.group = -1;
	st.container = -1;
}

/* Load module set @set, bind edu to its vfio-pci and open the device */
static int switch_to(int set)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	close_all();
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
	st.group = open(path, O_RDWR);
	st.container = open("/dev/vfio/vfio", O_RDWR);
	st.efd = eventfd(0, EFD_CLOEXEC);
	if (st.group < 0 || st.container < 0 || st.efd < 0)
		return -1;
	if (ioctl(st.group, VFIO_GROUP_SET_CONTAINER, &st.container) ||
	    ioctl(st.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -1;
	return device_open();
}

/* ---- the operations -------------------------------------------------- */

static int op_bar_pread(void)
{
	uint32_t v;

	if (pread(st.device, &v, 4, st.bar0_off + EDU_ID) != 4)
		return -1;
	return v == EDU_ID_VALUE ? 0 : -1;
}

static int op_bar_load(void)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < MMAP_BURST; i++)
		v |= bar0_load(EDU_ID) ^ EDU_ID_VALUE;
	return v ? -1 : 0;
}

static int op_bar_pwrite(void)
{
	uint32_t v = 0x5a5a0000;

	return pwrite(st.device, &v, 4, st.bar0_off + EDU_LIVENESS) == 4 ?
	       0 : -1;
}

static int op_bar_store(void)
{
	int i;

	for (i = 0; i < MMAP_BURST; i++)
		bar0_store(EDU_LIVENESS, i);
	return 0;
}

static int op_cfg_pread(void)
{
	uint32_t v;

	return pread(st.device, &v, 4, st.cfg_off) == 4 ? 0 : -1;
}

static int wait_event(void)
{
	uint64_t cnt;

	return read(st.efd, &cnt, sizeof(cnt)) == sizeof(cnt) ? 0 : -1;
}

static int op_msi(void)
{
	bar0_store(EDU_IRQ_RAISE, 1);
	if (wait_event())
		return -1;
	bar0_store(EDU_IRQ_ACK, 1);
	return 0;
}

static int op_intx(void)
{
	bar0_store(EDU_IRQ_RAISE, 1);
	if (wait_event())
		return -1;
	bar0_store(EDU_IRQ_ACK, 1);
	return irqs_set(VFIO_PCI_INTX_IRQ_INDEX,
			VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
			1, -1);
}

static int op_open_close(void)
{
	int fd = ioctl(st.group, VFIO_GROUP_GET_DEVICE_FD, TB_EDU_BDF);

	if (fd < 0)
		return -1;
	return close(fd);
}

/* ---- around the rows ------------------------------------------------- */

static void drain_event(void)
{
	uint64_t cnt;
	int fl = fcntl(st.efd, F_GETFL);

	fcntl(st.efd, F_SETFL, fl | O_NONBLOCK);
	while (read(st.efd, &cnt, sizeof(cnt)) == sizeof(cnt))
		;
	fcntl(st.efd, F_SETFL, fl);
}

/*
 * Steer edu's interrupt, MSI or INTx, whichever is enabled, to the CPU
 * the bench runs on.  The interrupt then arrives right after the store
 * that raised it, on the same CPU, and the read() finds the eventfd
 * signalled: the round trip is the code's, not that of waking a halted
 * vCPU, whose cost depends on the host's load and on where the kernel
 * happened to place the vector.
 */
static void irq_pin(void)
{
	static bool told;
	char path[PATH_MAX], buf[32];
	int fd, irq = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/irq",
		 TB_EDU_BDF);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			irq = atoi(buf);
		}
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	fd = irq > 0 ? open(path, O_WRONLY) : -1;
	if (fd < 0 || dprintf(fd, "%d\n", BENCH_CPU) < 0) {
		if (!told)
			printf("# cannot steer edu's interrupt (irq %d) to CPU %d\n",
			       irq, BENCH_CPU);
		told = true;
	}
	if (fd >= 0)
		close(fd);
}

static int msi_on(void)
{
	drain_event();
	if (irqs_set(VFIO_PCI_MSI_IRQ_INDEX,
		     VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		     1, st.efd))
		return -1;
	irq_pin();
	return 0;
}

static void msi_off(void)
{
	irqs_set(VFIO_PCI_MSI_IRQ_INDEX,
		 VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, -1);
	bar0_store(EDU_IRQ_ACK, ~0U);
}

static int intx_on(void)
{
	drain_event();
	if (irqs_set(VFIO_PCI_INTX_IRQ_INDEX,
		     VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		     1, st.efd))
		return -1;
	irq_pin();
	return 0;
}

static void intx_off(void)
{
	bar0_store(EDU_IRQ_ACK, ~0U);
	irqs_set(VFIO_PCI_INTX_IRQ_INDEX,
		 VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, -1);
}

/* The device fd is what open+close opens again: close it for the row */
static int reopen_off(void)
{
	device_close();
	return 0;
}

static void reopen_on(void)
{
	if (device_open())
		printf("# cannot open the device again\n");
}

#define ROW(n, h, o, s, b)	{ .name = n, .how = h, .op = o, \
				  .samples = s, .burst = b }

static struct row rows[] = {
	ROW("bar0_read", "pread", op_bar_pread, 20000, 1),
	ROW("bar0_read", "mmap", op_bar_load, 4000, MMAP_BURST),
	ROW("bar0_write", "pwrite", op_bar_pwrite, 20000, 1),
	ROW("bar0_write", "mmap", op_bar_store, 4000, MMAP_BURST),
	ROW("cfg_read", "pread", op_cfg_pread, 20000, 1),
	{ .name = "msi", .how = "eventfd", .op = op_msi, .samples = 4000,
	  .burst = 1, .setup = msi_on, .teardown = msi_off },
	{ .name = "intx", .how = "eventfd+unmask", .op = op_intx,
	  .samples = 4000, .burst = 1, .setup = intx_on,
	  .teardown = intx_off },
	{ .name = "open+close", .how = "group_fd", .op = op_open_close,
	  .samples = 300, .burst = 1, .setup = reopen_off,
	  .teardown = reopen_on },
};

#define NR_ROWS		ARRAY_SIZE(rows)

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
 * @samples samples of @row with the stack now loaded; the median and mean
 * sample per operation go to @p50_ns and @mean_ns.  Returns -1 if an
 * operation failed.
 */
static int run_row(struct row *row, unsigned int samples, double *p50_ns,
		   double *mean_ns)
{
	double *t = calloc(samples, sizeof(*t)), sum = 0, t0;
	unsigned int i;
	int ret = 0;

	if (!t)
		return -1;
	if (row->setup && row->setup()) {
		free(t);
		return -1;
	}
	alarm(ROW_TIMEOUT_S);
	for (i = 0; i < samples && !ret; i++) {
		t0 = now_ns();
		ret = row->op();
		t[i] = (now_ns() - t0) / row->burst;
		sum += t[i];
	}
	alarm(0);
	if (row->teardown)
		row->teardown();
	*p50_ns = p50(t, i);
	*mean_ns = sum / i;
	free(t);
	return ret;
}

/*
 * One round of every row with the stack now loaded.  The host runs other
 * guests and slows this one down for seconds at a time: each row is cut
 * into CHUNKS pieces, taken in turn with the other rows', and the round
 * keeps the best piece's median, so that a row is not lost to one bad
 * spell.
 */
static void measure_all(int set, int round)
{
	double p, m;
	size_t i;
	int c;

	for (i = 0; i < NR_ROWS; i++) {
		rows[i].p50_ns[set][round] = 1e30;
		rows[i].runs = round + 1;
	}
	for (c = 0; c < CHUNKS; c++) {
		for (i = 0; i < NR_ROWS; i++) {
			struct row *row = &rows[i];

			if (run_row(row, row->samples / CHUNKS, &p, &m)) {
				printf("# %s %s %s: failed\n", set_names[set],
				       row->name, row->how);
				row->failed = true;
			}
			if (p < row->p50_ns[set][round]) {
				row->p50_ns[set][round] = p;
				row->mean_ns[set][round] = m;
			}
		}
	}
}

/*
 * Right after a module swap the guest is still freeing the old modules
 * and QEMU translates the new code for the first time: let both pass.
 */
static void warm_up(void)
{
	double p, m;
	size_t i;

	usleep(500 * 1000);
	for (i = 0; i < NR_ROWS; i++)
		run_row(&rows[i], rows[i].samples / 20 + 1, &p, &m);
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

	memcpy(s, v, n * sizeof(*v));
	return p50(s, n);
}

/* How far the median round is above the best, worst of both stacks */
static double row_noise(const struct row *r)
{
	double worst = 1, n;
	int s;

	for (s = 0; s < NR_SETS; s++) {
		if (!have_set[s])
			continue;
		n = median(r->p50_ns[s], r->runs) / best(r->p50_ns[s], r->runs);
		worst = n > worst ? n : worst;
	}
	return (worst - 1) * 100;
}

/* The table, to @f, each line prefixed with @pfx */
static void print_table(FILE *f, const char *pfx)
{
	size_t i;
	int s;

	fprintf(f, "%svfio-pci on edu: the median call, best of %d rounds\n",
		pfx, ROUNDS);
	fprintf(f, "%smmap: per access, in bursts of %d; ratio: distro time / ours;\n",
		pfx, MMAP_BURST);
	fprintf(f, "%snoise: median round over best\n", pfx);
	fprintf(f, "%s%-10s %-14s %6s | %9s | %9s | %5s | %5s\n", pfx,
		"operation", "by", "calls", "distro us", "ours us", "ratio",
		"noise");
	for (i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];
		double b[NR_SETS];

		fprintf(f, "%s%-10s %-14s %6u |", pfx, r->name, r->how,
			r->samples * r->burst);
		if (!r->runs) {
			fprintf(f, " not measured\n");
			continue;
		}
		for (s = 0; s < NR_SETS; s++) {
			b[s] = best(r->p50_ns[s], r->runs);
			if (have_set[s])
				fprintf(f, " %9.3f |", b[s] / 1e3);
			else
				fprintf(f, " %9s |", "-");
		}
		if (have_set[SET_DISTRO] && have_set[SET_OURS])
			fprintf(f, " %5.2f |", b[SET_DISTRO] / b[SET_OURS]);
		else
			fprintf(f, " %5s |", "-");
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
	fprintf(f, "operation\tby\tsamples\tburst\tstack\tround\tns_p50\tns_mean\n");
	for (i = 0; i < NR_ROWS; i++)
		for (s = 0; s < NR_SETS; s++)
			for (k = 0; have_set[s] && k < rows[i].runs; k++)
				fprintf(f, "%s\t%s\t%u\t%u\t%s\t%d\t%.1f\t%.1f\n",
					rows[i].name, rows[i].how,
					rows[i].samples, rows[i].burst,
					set_names[s], k, rows[i].p50_ns[s][k],
					rows[i].mean_ns[s][k]);
	fclose(f);
}

static void on_alarm(int sig)
{
	(void)sig;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no restart */
	int round, set, k, nr = 0;
	cpu_set_t cpus;
	size_t i;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	CPU_ZERO(&cpus);
	CPU_SET(BENCH_CPU, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	sigaction(SIGALRM, &sa, NULL);
	printf("TAP version 13\n");
	if (tb_noiommu_profile()) {
		printf("1..0 # SKIP measured with type1, in the IOMMU boot\n");
		return 0;
	}
	if (!tb_ours()) {
		printf("1..0 # SKIP the @ours run measures both stacks\n");
		return 0;
	}
	have_set[SET_DISTRO] = !access("/tb/modules/distro", F_OK);
	have_set[SET_OURS] = true;
	printf("1..%zu\n", NR_ROWS);

	for (round = 0; round < ROUNDS; round++) {
		for (k = 0; k < NR_SETS; k++) {
			/* Who goes first alternates too */
			set = round % 2 ? NR_SETS - 1 - k : k;
			if (!have_set[set])
				continue;
			if (switch_to(set)) {
				printf("# cannot set edu up under the %s stack\n",
				       set_names[set]);
				have_set[set] = false;
				continue;
			}
			warm_up();
			measure_all(set, round);
		}
	}
	close_all();
	setenv("VFIO_MODULES", "ours", 1);

	print_table(stdout, "# ");
	write_raw();
	f = fopen(TABLE_FILE, "w");
	if (f) {
		print_table(f, "");
		fclose(f);
	}
	for (i = 0; i < NR_ROWS; i++)
		printf("%sok %d %s_%s\n",
		       rows[i].failed || !rows[i].runs || !have_set[SET_OURS] ?
		       "not " : "", ++nr, rows[i].name, rows[i].how);
	return 0;
}
