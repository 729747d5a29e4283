// SPDX-License-Identifier: GPL-2.0
/*
 * vfio under allocation failure: each fault-injection point on the main
 * paths of the group interface made to fail in turn, through
 * /proc/self/task/<tid>/fail-nth.
 *
 * A path is one call: an open, an ioctl or a close.  Its sweep runs the
 * call with fail-nth = 1, 2, 3, ...: the N-th injection point the task
 * reaches during the call fails (a slab allocation: failslab; a page
 * allocation: fail_page_alloc; a user copy: fail_usercopy).  The sweep
 * ends with the first run that finishes before reaching its N-th point;
 * the path has N - 1 points, printed as "fail_nth: <path>: <N-1> points".
 * A point is any the task reaches, in vfio or not: the VFS, mm, the IOMMU
 * driver, and on a debug kernel kmemleak's and the object debugging's own
 * allocations too (they absorb their failures), so the counts are the
 * kernel's, not vfio's alone.
 *
 * Every run must:
 *  - succeed, or fail with ENOMEM (or EFAULT when the point was a user
 *    copy), and fail only when something was injected;
 *  - leave no stuck state: a failed call repeated with nothing injected
 *    succeeds, and the path's check of the result holds (the range unmaps
 *    whole, the vector fires by loopback, ...);
 *  - leave nothing behind once every fd is closed: locked_vm (VmLck) and
 *    the kernel's page pins back where they were, the group viable and
 *    free to open, the device free to open (the next run's setup opens
 *    it, and once more after the last run), and no splat in the kernel
 *    log (checked after every run, so a splat is tied to its path and N).
 *    The SET_IRQS paths keep their device open from run to run (opening
 *    one costs seconds under TCG, the call milliseconds): their check
 *    disables the interrupts again, the next run starts from what a
 *    failed call left, and everything is closed and checked at the end.
 * Leaked objects are kmemleak's to find: the test bed scans at the end.
 *
 * A few places outside vfio do not survive a failed allocation (ACPICA
 * evaluating _PRT, the IOMMU core giving a group its default domain back,
 * genirq's /proc/irq entries; each is described at its path): a path may
 * spare one such range of kernel text from the sweep, and says so in its
 * output.
 *
 * Fault injection is set up here through debugfs: sleeping allocations
 * and highmem/user pages are made eligible (ignore-gfp-wait=N,
 * ignore-gfp-highmem=N), order-0 pages too (min-order=0), and every fail*
 * attribute is made quiet (verbose=0): an injected failure is not a
 * splat.  fail-nth is looked at before probability, interval, times and
 * task-filter (lib/fault-inject.c), so those stay as they are: probability
 * 0 keeps every other task of the guest out of it.  What was changed is
 * put back at the end.
 *
 * A sweep stops at FNTH_CAP runs and says so: a path with more points is
 * swept only that far, to keep TCG time bounded.
 *
 * Where it runs: a kernel with CONFIG_FAULT_INJECTION and debugfs
 * (the in-tree debug kernel, `make check KERNEL=debug`); elsewhere it
 * SKIPs.  It also SKIPs on upstream's modules (VFIO_MODULES=distro):
 * how the implementation copes with allocation failure is a property of
 * this series' code, not of upstream's ABI.
 */
#include <dirent.h>
#include <sys/mman.h>
#include <time.h>

#include "vfio_test_util.h"
#include "vfio_type1_util.h"

/* Runs per path at most (the cap of the sweep). */
#define FNTH_CAP		500
/* Failures reported per path before its sweep gives up. */
#define FNTH_MAX_FAILURES	10
/* Harness timeout of one sweep, seconds (the debug kernel under TCG). */
#define FNTH_TIMEOUT		1800

/* The most text a path may spare from the sweep, bytes. */
#define FNTH_SPARE_MAX		(2UL << 20)

/* An op's result that is no errno: it succeeded with the wrong outcome. */
#define FNTH_WRONG		(-1)

#define FNTH_IOVA		0x200000UL	/* 2 MiB aligned */
#define FNTH_BAR_IOVA		0x800000UL
#define FNTH_VECS		4

#define CFG_COMMAND		0x04
#define CMD_MEMORY		0x0002
#define CMD_MASTER		0x0004

#define DEBUGFS			"/sys/kernel/debug"

/* iommufd's uapi (linux/iommufd.h), the one call the cdev paths make. */
#define IOMMUFD_PATH		"/dev/iommu"
#define VFIO_CDEV_DIR		"/dev/vfio/devices"
struct fnth_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define FNTH_IOMMU_IOAS_ALLOC	_IO(';', 0x81)

/* ---- fault-injection knobs ------------------------------------------ */

struct fnth_knob {
	const char *path;
	const char *val;
	char saved[32];
	bool set;
};

static struct fnth_knob fnth_knobs[] = {
	{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ DEBUGFS "/fail_page_alloc/min-order", "0" },
	{ DEBUGFS "/failslab/verbose", "0" },
	{ DEBUGFS "/fail_page_alloc/verbose", "0" },
	{ DEBUGFS "/fail_usercopy/verbose", "0" },
	/* set per path by fnth_spare(); saved here, put back at exit */
	{ DEBUGFS "/failslab/reject-start", "0" },
	{ DEBUGFS "/failslab/reject-end", "0" },
	{ DEBUGFS "/fail_page_alloc/reject-start", "0" },
	{ DEBUGFS "/fail_page_alloc/reject-end", "0" },
};

static bool fnth_have_knobs;

/*
 * Set every knob there is, once for the whole program, before the harness
 * forks: its test processes end with _exit(), this one puts the knobs back
 * when it exits.
 */
static void __attribute__((constructor)) fnth_knobs_set(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fnth_knobs); i++) {
		struct fnth_knob *k = &fnth_knobs[i];

		if (vfio_sysfs_read(k->path, k->saved, sizeof(k->saved)))
			continue;
		k->set = !vfio_sysfs_write(k->path, k->val);
	}
	fnth_have_knobs = fnth_knobs[0].set;
}

static void __attribute__((destructor)) fnth_knobs_restore(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fnth_knobs); i++) {
		struct fnth_knob *k = &fnth_knobs[i];

		if (k->set)
			vfio_sysfs_write(k->path, k->saved);
		k->set = false;
	}
}

/*
 * Code a sweep spares.  A few places outside vfio do not survive an
 * allocation failure (see the paths that set .spare); injecting there
 * splats whatever vfio does, so a path may name one range of kernel text
 * that fail-nth skips: the stack-trace filter (reject-start/end, one
 * range per attribute) makes every allocation with a return address in
 * it uncounted and never failed.  @what is "acpica" (the ACPI
 * interpreter, drivers/acpi/acpica: every acpi_{ds,ev,ex,hw,ns,ps,rs,
 * tb,ut}_ function) or the name of one function; NULL spares nothing.
 * Returns 0 or errno.
 */
static bool fnth_acpica(const char *name)
{
	static const char * const pfx[] = {
		"acpi_ds_", "acpi_ev_", "acpi_ex_", "acpi_hw_", "acpi_ns_",
		"acpi_ps_", "acpi_rs_", "acpi_tb_", "acpi_ut_",
	};
	unsigned int i;

	/* .cold parts live with every other object's, far away */
	if (strchr(name, '.'))
		return false;
	for (i = 0; i < ARRAY_SIZE(pfx); i++)
		if (!strncmp(name, pfx[i], strlen(pfx[i])))
			return true;
	return false;
}

/* The next text symbol of the core kernel in @f; false at the end. */
static bool kallsyms_next(FILE *f, unsigned long *addr, char *name)
{
	char line[512], type;

	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '[') ||
		    sscanf(line, "%lx %c %255s", addr, &type, name) != 3)
			continue;
		if (type == 't' || type == 'T')
			return true;
	}
	return false;
}

static int fnth_text_range(const char *what, unsigned long *start,
			   unsigned long *end)
{
	unsigned long addr, lo = ULONG_MAX, hi = 0, next = ULONG_MAX;
	unsigned long init_lo = 0, init_hi = 0;
	bool acpica = !strcmp(what, "acpica");
	int err = ENOENT;
	char name[256];
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return errno;
	/* The init text, freed after boot, holds ACPICA's table loading. */
	while (kallsyms_next(f, &addr, name)) {
		if (!strcmp(name, "_sinittext"))
			init_lo = addr;
		else if (!strcmp(name, "_einittext"))
			init_hi = addr;
	}
	/* The range's own functions... */
	rewind(f);
	while (kallsyms_next(f, &addr, name)) {
		if (acpica ? !fnth_acpica(name) : strcmp(name, what))
			continue;
		if (addr >= init_lo && addr < init_hi)
			continue;
		lo = addr < lo ? addr : lo;
		hi = addr > hi ? addr : hi;
	}
	/* ...up to where the next function starts. */
	rewind(f);
	while (kallsyms_next(f, &addr, name))
		if (addr > hi && addr < next)
			next = addr;
	fclose(f);
	/* absent, or the addresses hidden (kptr_restrict) */
	if (!lo || lo == ULONG_MAX || next == ULONG_MAX)
		return err;
	*start = lo;
	*end = next;
	return 0;
}

static int fnth_spare(const char *what)
{
	static const char * const attrs[] = { "failslab", "fail_page_alloc" };
	unsigned long start = 0, end = 0;
	char path[PATH_MAX], val[32];
	unsigned int i;
	int err = 0;

	if (what) {
		err = fnth_text_range(what, &start, &end);
		if (err)
			return err;
		/* A range this big spares more than it names: refuse it. */
		if (end - start > FNTH_SPARE_MAX)
			return E2BIG;
		printf("# fail_nth: sparing %s: %#lx-%#lx (%lu bytes)\n", what,
		       start, end, end - start);
	}
	for (i = 0; i < ARRAY_SIZE(attrs) && !err; i++) {
		/* end first: start <= end holds at every step */
		snprintf(path, sizeof(path), DEBUGFS "/%s/reject-end", attrs[i]);
		snprintf(val, sizeof(val), "0x%lx", end);
		err = vfio_sysfs_write(path, val);
		snprintf(path, sizeof(path), DEBUGFS "/%s/reject-start", attrs[i]);
		snprintf(val, sizeof(val), "0x%lx", start);
		if (!err)
			err = vfio_sysfs_write(path, val);
	}
	return err;
}

/* ---- fail-nth -------------------------------------------------------- */

static int fnth_open(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Make the @nth injection point this task reaches from now on fail. */
static int fnth_arm(int fd, unsigned int nth)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", nth);

	return pwrite(fd, buf, n, 0) == n ? 0 : errno;
}

/*
 * Disarm; true when the armed point was reached (and failed).  The file
 * reads 0 once the failure was injected, what is left to count otherwise.
 * The read's and the write's own user copies are injection points: a read
 * that fails with EFAULT was the last one to count (so the call did not
 * reach it), and a write that does leaves fail-nth at 0 all the same.
 */
static bool fnth_disarm(int fd)
{
	char buf[16] = "";
	bool injected = false;
	ssize_t n;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0)
		injected = strtoul(buf, NULL, 10) == 0;
	if (pwrite(fd, "0", 1, 0) != 1 && errno == EFAULT)
		(void)!pwrite(fd, "0", 1, 0);
	return injected;
}

/* ---- the kernel log -------------------------------------------------- */

/* What vm/report.sh would count as a splat (a subset of its SPLAT_RE). */
static const char * const fnth_splats[] = {
	"WARNING:", "BUG:", "kernel BUG at", "Oops", "Call Trace:",
	"general protection fault", "refcount_t:", "KASAN:", "UBSAN:",
	"DEBUG_LOCKS_WARN_ON", "possible recursive locking",
	"possible circular locking", "unreferenced object 0x",
	"list_add corruption", "list_del corruption", "Bad page state",
	"ODEBUG:",
};

/*
 * Print the kernel log records since the last call that look like a
 * splat, prefixed with @what; how many there were.
 */
static unsigned int kmsg_splats(int fd, const char *what)
{
	unsigned int found = 0, i;
	char rec[1024];
	ssize_t n;

	if (fd < 0)
		return 0;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		for (i = 0; i < ARRAY_SIZE(fnth_splats); i++) {
			if (!strstr(rec, fnth_splats[i]))
				continue;
			rec[strcspn(rec, "\n")] = '\0';
			printf("# fail_nth: %s: kernel log: %s\n", what, rec);
			found++;
			break;
		}
	}
	return found;
}

/* ---- the state a path runs in ---------------------------------------- */

/* How much of the stack a run opens before the swept call. */
enum fnth_stage {
	FNTH_BOUND,		/* nothing open */
	FNTH_CONTAINER,		/* a container fd */
	FNTH_GROUP,		/* + the group fd */
	FNTH_ATTACHED,		/* + the group in the container */
	FNTH_IOMMU,		/* + the type1v2 model */
	FNTH_DEVICE,		/* + the device fd, memory and bus master on */
	/* the device cdev instead of the group */
	FNTH_CDEV,		/* the cdev and an iommufd */
	FNTH_CDEV_BOUND,	/* + bound to the iommufd, an IOAS made */
};

/* What a sweep works with. */
struct fnth {
	int nth_fd;
	int kmsg;
	bool retry;		/* the op runs again, with nothing injected */
	char where[64];		/* "path nth N", for the messages */
	unsigned int failures;
	long locked_before;
	long pins_before;
	/* the stack, per run; -1 while closed */
	int container;
	int group;
	int device;
	int iommufd;		/* the cdev paths' */
	__u32 ioas;
	int group2;		/* the second device of two-device paths */
	int device2;
	void *bar;		/* device2's BAR mmap, MAP_FAILED if none */
	/* per sweep */
	void *buf;		/* backing of the mapping paths */
	size_t buf_len;
	int efd[FNTH_VECS];
};

/*
 * A path.  @setup (optional) adds what the call needs beyond @stage;
 * @op is the swept call: 0, an errno, or FNTH_WRONG; @check (optional)
 * judges the state after a successful call, with nothing injected: NULL
 * or what is wrong.
 */
struct fnth_path;
typedef int (*fnth_setup_t)(struct fnth *self, const struct fnth_path *p);
typedef int (*fnth_op_t)(struct fnth *self, const struct fnth_path *p);
typedef const char *(*fnth_check_t)(struct fnth *self,
				    const struct fnth_path *p);

struct fnth_path {
	const char *name;
	const char *bdf;	/* the device */
	const char *bdf2;	/* a second device, NULL if none */
	enum fnth_stage stage;
	const char *backing;	/* "4k", "thp", "hugetlb": the mapping paths */
	size_t len;		/* their length */
	__u32 irq_index;	/* SET_IRQS paths */
	__u32 irq_count;
	int also_errno;		/* a clean errno besides ENOMEM and EFAULT */
	const char *spare;	/* code not injected: fnth_spare() */
	/*
	 * The runs share one setup, closed after the last: @check must
	 * undo what the call did.  For the paths whose setup (a device
	 * open) costs far more than the call, and it shows that a failed
	 * call leaves the device fit for the next one.
	 */
	bool keep_open;
	fnth_setup_t setup;
	fnth_op_t op;
	fnth_check_t check;
};

FIXTURE(fail_nth)
{
	struct fnth f;
};

FIXTURE_VARIANT(fail_nth)
{
	struct fnth_path p;
};

static void fnth_reset(struct fnth *self)
{
	self->container = -1;
	self->group = -1;
	self->device = -1;
	self->iommufd = -1;
	self->group2 = -1;
	self->device2 = -1;
	self->bar = MAP_FAILED;
}

/* Open the group of @bdf into @group, in the container if there is one. */
static int fnth_group(struct fnth *self, const char *bdf,
		      int *group, enum fnth_stage stage)
{
	int ret = group_open(bdf);

	if (ret < 0)
		return -ret;
	*group = ret;
	if (stage < FNTH_ATTACHED)
		return 0;
	return _vfio_group_set_container(*group, self->container);
}

static int fnth_device(int group, const char *bdf, int *device)
{
	int err = _vfio_group_get_device_fd(group, bdf, device);
	uint32_t cmd;

	if (err)
		return err;
	cmd = vfio_config_reg(*device, CFG_COMMAND, 2);
	return _vfio_config_set_reg(*device, CFG_COMMAND, 2,
				    cmd | CMD_MEMORY | CMD_MASTER);
}

/* The cdev of @bdf (/dev/vfio/devices/vfioN), opened: 0 or errno. */
static int fnth_cdev_open(const char *bdf, int *fd)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		return errno;
	path[0] = '\0';
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(path, sizeof(path), VFIO_CDEV_DIR "/%s",
				 de->d_name);
	closedir(dir);
	*fd = path[0] ? open(path, O_RDWR | O_CLOEXEC) : -1;
	if (!path[0])
		errno = ENOENT;
	return *fd < 0 ? errno : 0;
}

static int fnth_cdev_bind(struct fnth *self)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = self->iommufd,
	};

	return ioctl(self->device, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? errno : 0;
}

static int fnth_prepare_cdev(struct fnth *self,
			     const struct fnth_path *p)
{
	struct fnth_ioas_alloc alloc = { .size = sizeof(alloc) };
	int err;

	err = fnth_cdev_open(p->bdf, &self->device);
	if (err)
		return err;
	self->iommufd = open(IOMMUFD_PATH, O_RDWR | O_CLOEXEC);
	if (self->iommufd < 0)
		return errno;
	if (p->stage < FNTH_CDEV_BOUND)
		return 0;
	err = fnth_cdev_bind(self);
	if (err)
		return err;
	if (ioctl(self->iommufd, FNTH_IOMMU_IOAS_ALLOC, &alloc))
		return errno;
	self->ioas = alloc.out_ioas_id;
	return 0;
}

/* Everything up to @p->stage, then @p->setup: 0 or errno. */
static int fnth_prepare(struct fnth *self,
			const struct fnth_path *p)
{
	int err;

	fnth_reset(self);
	if (p->stage >= FNTH_CDEV) {
		err = fnth_prepare_cdev(self, p);
		if (err)
			return err;
		return p->setup ? p->setup(self, p) : 0;
	}
	if (p->stage >= FNTH_CONTAINER) {
		err = _vfio_container_open(&self->container);
		if (err)
			return err;
	}
	if (p->stage >= FNTH_GROUP) {
		err = fnth_group(self, p->bdf, &self->group, p->stage);
		if (err)
			return err;
	}
	if (p->stage >= FNTH_IOMMU) {
		err = _vfio_set_iommu(self->container, VFIO_TYPE1v2_IOMMU);
		if (err)
			return err;
	}
	if (p->stage >= FNTH_DEVICE) {
		err = fnth_device(self->group, p->bdf, &self->device);
		if (err)
			return err;
	}
	return p->setup ? p->setup(self, p) : 0;
}

/* Close everything a run opened, device first, container last. */
static void fnth_close(struct fnth *self)
{
	if (self->bar != MAP_FAILED)
		munmap(self->bar, TB_IVSHMEM_SIZE);
	self->bar = MAP_FAILED;
	vfio_close_fd(&self->device2);
	vfio_close_fd(&self->device);
	vfio_close_fd(&self->iommufd);
	vfio_close_fd(&self->group2);
	vfio_close_fd(&self->group);
	vfio_close_fd(&self->container);
}

/* The group of @bdf opens (nothing holds it) and is viable: 0 or why. */
static const char *fnth_group_free(const char *bdf)
{
	__u32 flags = 0;
	int fd, err;

	fd = group_open(bdf);
	if (fd < 0)
		return "the group does not open again";
	err = _vfio_group_get_status(fd, sizeof(struct vfio_group_status),
				     &flags);
	close(fd);
	if (err || !(flags & VFIO_GROUP_FLAGS_VIABLE))
		return "the group is not viable";
	if (flags & VFIO_GROUP_FLAGS_CONTAINER_SET)
		return "the group is still in a container";
	return NULL;
}

/* The whole stack opens for @bdf and closes again: 0 or errno. */
static int fnth_device_reopens(const char *bdf)
{
	int container = -1, group = -1, device = -1, err;

	err = container_with_group(bdf, &container, &group,
				   VFIO_TYPE1v2_IOMMU);
	if (!err)
		err = _vfio_group_get_device_fd(group, bdf, &device);
	if (device >= 0)
		close(device);
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	return err;
}

static __printf(2, 3) void fnth_fail(struct fnth *self,
				     const char *fmt, ...)
{
	va_list ap;

	printf("# fail_nth: %s: ", self->where);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	self->failures++;
}

static const char *errname(int err)
{
	const char *name = err > 0 ? strerrorname_np(err) : NULL;

	return name ? name : "?";
}

struct fnth_tally {
	unsigned int enomem;
	unsigned int efault;
	unsigned int other;	/* the path's also_errno */
	unsigned int absorbed;	/* injected, and the call succeeded */
};

/*
 * One run with fail-nth = @nth (0: nothing injected).  Returns whether
 * the armed point was reached; every finding goes to fnth_fail().
 */
static bool fnth_run(struct fnth *self, const struct fnth_path *p,
		     unsigned int nth, struct fnth_tally *tally)
{
	bool injected = false;
	const char *why;
	int err, ret;

	snprintf(self->where, sizeof(self->where), "%s nth %u", p->name, nth);
	err = p->keep_open ? 0 : fnth_prepare(self, p);
	if (err) {
		fnth_fail(self, "setup before the call failed: %s",
			  errname(err));
		fnth_close(self);
		return false;
	}

	if (nth && fnth_arm(self->nth_fd, nth)) {
		fnth_fail(self, "fail-nth cannot be armed: %m");
		fnth_close(self);
		return false;
	}
	ret = p->op(self, p);
	if (nth)
		injected = fnth_disarm(self->nth_fd);

	if (ret == FNTH_WRONG) {
		fnth_fail(self, "the call succeeded with a wrong result");
	} else if (ret && !injected) {
		fnth_fail(self, "the call failed with %s, nothing injected",
			  errname(ret));
	} else if (ret == ENOMEM) {
		tally->enomem++;
	} else if (ret == EFAULT) {
		tally->efault++;
	} else if (ret && ret == p->also_errno) {
		tally->other++;
	} else if (ret) {
		fnth_fail(self, "the call failed with %s, not ENOMEM/EFAULT%s%s",
			  errname(ret), p->also_errno ? "/" : "",
			  p->also_errno ? errname(p->also_errno) : "");
	} else if (injected) {
		tally->absorbed++;
	}

	/* No stuck state: the same call works when nothing fails. */
	if (ret) {
		self->retry = true;
		ret = p->op(self, p);
		self->retry = false;
		if (ret)
			fnth_fail(self, "the call repeated without injection failed: %s",
				  ret == FNTH_WRONG ? "wrong result" :
				  errname(ret));
	}
	if (!ret && p->check) {
		why = p->check(self, p);
		if (why)
			fnth_fail(self, "after the call: %s", why);
	}

	if (!p->keep_open)
		fnth_close(self);
	if (vm_locked_kb() != self->locked_before)
		fnth_fail(self, "locked_vm %ld kB, was %ld kB", vm_locked_kb(),
			  self->locked_before);
	if (pins_settle(self->pins_before, 1000) != self->pins_before)
		fnth_fail(self, "%ld page pins held, were %ld",
			  pins_outstanding(), self->pins_before);
	why = p->keep_open ? NULL : fnth_group_free(p->bdf);
	if (!why && p->bdf2)
		why = fnth_group_free(p->bdf2);
	if (why)
		fnth_fail(self, "after closing everything: %s", why);
	if (kmsg_splats(self->kmsg, self->where))
		fnth_fail(self, "splat in the kernel log");
	return injected;
}

/* ---- the fixture ----------------------------------------------------- */

FIXTURE_SETUP(fail_nth)
{
	struct fnth *f = &self->f;
	const struct fnth_path *p = &variant->p;
	unsigned int i;

	fnth_reset(f);
	f->nth_fd = -1;
	f->kmsg = -1;
	f->retry = false;
	f->buf = MAP_FAILED;
	for (i = 0; i < FNTH_VECS; i++)
		f->efd[i] = -1;

	/* How it copes with failing allocations is ours, not upstream's ABI */
	if (!tb_ours())
		SKIP(return, "robustness of this series' code, not upstream ABI");
	if (tb_noiommu_profile())
		SKIP(return, "the paths need type1, i.e. an IOMMU");
	if (p->stage >= FNTH_CDEV &&
	    (access(VFIO_CDEV_DIR, F_OK) || access(IOMMUFD_PATH, F_OK)))
		SKIP(return, "no device cdev or iommufd in this kernel");
	f->nth_fd = fnth_open();
	if (f->nth_fd < 0)
		SKIP(return, "no fail-nth: kernel without CONFIG_FAULT_INJECTION");
	if (!fnth_have_knobs)
		SKIP(return, "no " DEBUGFS "/failslab in this kernel");

	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", p->bdf));
	if (p->bdf2)
		ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", p->bdf2));

	if (p->backing) {
		if (!strcmp(p->backing, "hugetlb") && hugepages_free() < 0)
			SKIP(return, "no 2 MiB hugetlb pages in this kernel");
		f->buf = test_backing(p->backing, p->len);
		if (!f->buf)
			f->buf = MAP_FAILED;
		ASSERT_NE(MAP_FAILED, f->buf) {
			TH_LOG("no %s memory for the mapping", p->backing);
		}
		f->buf_len = p->len;
		/* Faulted in once: the sweep is of vfio's points, not of mm's. */
		memset(f->buf, 0x5a, p->len);
	}
	for (i = 0; i < FNTH_VECS; i++) {
		f->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, f->efd[i]);
	}

	f->locked_before = vm_locked_kb();
	ASSERT_LE(0, f->locked_before);
	f->pins_before = pins_outstanding();
	ASSERT_LE(0, f->pins_before);
	ASSERT_EQ(0, fnth_spare(p->spare)) {
		TH_LOG("cannot spare %s from the sweep", p->spare);
	}
	f->kmsg = kmsg_open();
}

FIXTURE_TEARDOWN(fail_nth)
{
	struct fnth *f = &self->f;
	unsigned int i;

	fnth_close(f);
	if (f->buf != MAP_FAILED && !strcmp(variant->p.backing, "hugetlb"))
		munmap(f->buf, f->buf_len);
	for (i = 0; i < FNTH_VECS; i++)
		vfio_close_fd(&f->efd[i]);
	vfio_close_fd(&f->kmsg);
	vfio_close_fd(&f->nth_fd);
	if (fnth_have_knobs)
		fnth_spare(NULL);
}

TEST_F_TIMEOUT(fail_nth, sweep, FNTH_TIMEOUT)
{
	struct fnth *f = &self->f;
	const struct fnth_path *p = &variant->p;
	struct fnth_tally tally = {};
	time_t t0 = time(NULL);
	unsigned int nth, points = 0;
	bool injected = true, stopped = false;

	if (p->keep_open)
		ASSERT_EQ(0, fnth_prepare(f, p));

	/* Nothing injected first: the path works at all. */
	fnth_run(f, p, 0, &tally);
	ASSERT_EQ(0, f->failures) {
		TH_LOG("%s fails with nothing injected", p->name);
	}

	for (nth = 1; nth <= FNTH_CAP; nth++) {
		injected = fnth_run(f, p, nth, &tally);
		if (!injected)
			break;
		points = nth;
		if (f->failures >= FNTH_MAX_FAILURES) {
			printf("# fail_nth: %s: %u failures, sweep stopped at nth %u\n",
			       p->name, f->failures, nth);
			stopped = true;
			break;
		}
	}

	/* The device of the last run's teardown opens again too. */
	snprintf(f->where, sizeof(f->where), "%s end", p->name);
	if (p->keep_open) {
		const char *why;

		fnth_close(f);
		why = fnth_group_free(p->bdf);
		if (why)
			fnth_fail(f, "after closing everything: %s", why);
	}
	if (fnth_device_reopens(p->bdf))
		fnth_fail(f, "the device does not open again");
	if (p->bdf2 && fnth_device_reopens(p->bdf2))
		fnth_fail(f, "the second device does not open again");

	printf("# fail_nth: %s: %u points%s (ENOMEM %u, EFAULT %u, %s %u, absorbed %u; %lds)\n",
	       p->name, points,
	       stopped ? " or more, sweep stopped" :
	       injected ? " or more, the cap" : "",
	       tally.enomem, tally.efault,
	       p->also_errno ? errname(p->also_errno) : "other", tally.other,
	       tally.absorbed, (long)(time(NULL) - t0));
	ASSERT_EQ(0, f->failures);
}

/* ---- setups, calls and checks --------------------------------------- */

static int op_container_open(struct fnth *self,
			     const struct fnth_path *p)
{
	return _vfio_container_open(&self->container);
}

static const char *check_container(struct fnth *self,
				   const struct fnth_path *p)
{
	return vfio_check_extension(self->container, VFIO_TYPE1v2_IOMMU) == 1 ?
		NULL : "the container offers no type1v2";
}

static int op_group_open(struct fnth *self,
			 const struct fnth_path *p)
{
	int fd = group_open(p->bdf);

	if (fd < 0)
		return -fd;
	self->group = fd;
	return 0;
}

static const char *check_group(struct fnth *self,
			       const struct fnth_path *p)
{
	__u32 flags = 0;

	if (_vfio_group_get_status(self->group,
				   sizeof(struct vfio_group_status), &flags))
		return "GET_STATUS fails";
	return flags & VFIO_GROUP_FLAGS_VIABLE ? NULL : "the group is not viable";
}

static int op_set_container(struct fnth *self,
			    const struct fnth_path *p)
{
	return _vfio_group_set_container(self->group, self->container);
}

static const char *check_attached(struct fnth *self,
				  const struct fnth_path *p)
{
	__u32 flags = 0;

	if (_vfio_group_get_status(self->group,
				   sizeof(struct vfio_group_status), &flags))
		return "GET_STATUS fails";
	return flags & VFIO_GROUP_FLAGS_CONTAINER_SET ?
		NULL : "the group is not in the container";
}

static int op_device_open(struct fnth *self,
			  const struct fnth_path *p)
{
	return _vfio_group_get_device_fd(self->group, p->bdf, &self->device);
}

static const char *check_device(struct fnth *self,
				const struct fnth_path *p)
{
	struct vfio_device_info info;

	if (_vfio_device_get_info(self->device, sizeof(info), &info))
		return "DEVICE_GET_INFO fails";
	if (vfio_config_reg(self->device, PCI_CFG_VENDOR_ID, 2) !=
	    vfio_pci_host_reg(p->bdf, PCI_CFG_VENDOR_ID, 2))
		return "config space does not read";
	return NULL;
}

static int op_device_close(struct fnth *self,
			   const struct fnth_path *p)
{
	vfio_close_fd(&self->device);
	return 0;
}

/* A mapping in the container and MSI on. */
static int setup_busy(struct fnth *self, const struct fnth_path *p)
{
	int ret = -_map(self->container, FNTH_IOVA, self->buf_len, self->buf,
			RW);
	struct {
		struct vfio_irq_set set;
		__s32 fd;
	} irq = {
		.set = {
			.argsz = sizeof(irq),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_MSI_IRQ_INDEX,
			.count = 1,
		},
		.fd = self->efd[0],
	};

	if (ret)
		return ret;
	return ioctl(self->device, VFIO_DEVICE_SET_IRQS, &irq) ? errno : 0;
}

static int op_release(struct fnth *self, const struct fnth_path *p)
{
	vfio_close_fd(&self->group);
	vfio_close_fd(&self->container);
	return 0;
}

/* MAP_DMA of the sweep's memory at FNTH_IOVA. */
static int op_map(struct fnth *self, const struct fnth_path *p)
{
	return -_map(self->container, FNTH_IOVA, self->buf_len, self->buf, RW);
}

static int setup_mapped(struct fnth *self,
			const struct fnth_path *p)
{
	return op_map(self, p);
}

/*
 * UNMAP_DMA of [@iova, @iova + @len): FNTH_WRONG unless it all goes, or
 * (@gone_ok) none of it was there any more.
 */
static int fnth_unmap(int container, __u64 iova, __u64 len, bool gone_ok)
{
	__u64 unmapped = 0;
	int ret = -_unmap(container, iova, len, 0, &unmapped);

	if (ret)
		return ret;
	return unmapped == len || (gone_ok && !unmapped) ? 0 : FNTH_WRONG;
}

/*
 * A failed UNMAP_DMA may have unmapped the range all the same: when the
 * last point, the copy of the unmapped size back to the user, fails with
 * EFAULT.  So the repeat may find nothing there; check_unmapped() then
 * proves that nothing is.
 */
static int op_unmap(struct fnth *self, const struct fnth_path *p)
{
	return fnth_unmap(self->container, FNTH_IOVA, self->buf_len,
			  self->retry);
}

/* What a map left: the range unmaps whole, then nothing is left there. */
static const char *check_mapped_at(int container, __u64 iova, __u64 len)
{
	__u64 unmapped = ~0ULL;

	if (fnth_unmap(container, iova, len, false))
		return "the range does not unmap whole";
	if (_unmap(container, iova, len, 0, &unmapped) || unmapped)
		return "something is still mapped after the unmap";
	return NULL;
}

static const char *check_mapped(struct fnth *self,
				const struct fnth_path *p)
{
	return check_mapped_at(self->container, FNTH_IOVA, self->buf_len);
}

static int op_set_iommu(struct fnth *self,
			const struct fnth_path *p)
{
	return _vfio_set_iommu(self->container, VFIO_TYPE1v2_IOMMU);
}

static const char *check_iommu(struct fnth *self,
			       const struct fnth_path *p)
{
	struct vfio_iommu_type1_info info;

	if (_vfio_iommu_get_info(self->container, sizeof(info), &info))
		return "IOMMU_GET_INFO fails";
	if (_map(self->container, FNTH_IOVA, self->buf_len, self->buf, RW))
		return "no MAP_DMA through the model";
	return check_mapped_at(self->container, FNTH_IOVA, self->buf_len);
}

static const char *check_unmapped(struct fnth *self,
				  const struct fnth_path *p)
{
	__u64 unmapped = ~0ULL;

	if (_unmap(self->container, FNTH_IOVA, self->buf_len, 0, &unmapped) ||
	    unmapped)
		return "something is still mapped after the unmap";
	if (vm_locked_kb() != self->locked_before)
		return "locked_vm not given back by the unmap";
	return NULL;
}

/* SET_IRQS: @p->irq_count vectors of @p->irq_index to the eventfds. */
static int op_irqs(struct fnth *self, const struct fnth_path *p)
{
	struct {
		struct vfio_irq_set set;
		__s32 fd[FNTH_VECS];
	} irq = {
		.set = {
			.argsz = sizeof(irq.set) + p->irq_count * sizeof(__s32),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = p->irq_index,
			.count = p->irq_count,
		},
	};

	int ret;

	memcpy(irq.fd, self->efd, sizeof(irq.fd));
	ret = ioctl(self->device, VFIO_DEVICE_SET_IRQS, &irq);
	if (ret < 0)
		return errno;
	/*
	 * MSI/MSI-X: a positive result is the number of vectors the host
	 * could give, for the user to try again with; an allocation that
	 * failed is one reason for it, reported as ENOSPC (what the PCI
	 * core says when it cannot allocate vectors).
	 */
	return ret ? ENOSPC : 0;
}

/* Every vector fires its eventfd by loopback, then the index disables. */
static const char *check_irqs(struct fnth *self,
			      const struct fnth_path *p)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = p->irq_index,
		.count = 1,
	};
	uint64_t n;
	__u32 v;

	for (v = 0; v < p->irq_count; v++) {
		set.start = v;
		if (ioctl(self->device, VFIO_DEVICE_SET_IRQS, &set))
			return "loopback of a vector fails";
		if (vfio_wait_readable(self->efd[v], 2000) <= 0 ||
		    read(self->efd[v], &n, sizeof(n)) != sizeof(n))
			return "a vector does not fire its eventfd";
	}
	set.start = 0;
	set.count = 0;
	if (ioctl(self->device, VFIO_DEVICE_SET_IRQS, &set))
		return "the interrupts do not disable";
	return NULL;
}

static int op_hot_reset(struct fnth *self,
			const struct fnth_path *p)
{
	struct {
		struct vfio_pci_hot_reset hdr;
		__s32 fd;
	} req = {
		.hdr = { .argsz = sizeof(req), .count = 1 },
		.fd = self->group,
	};

	return ioctl(self->device, VFIO_DEVICE_PCI_HOT_RESET, &req) ? errno : 0;
}

static int op_hot_reset_info(struct fnth *self,
			     const struct fnth_path *p)
{
	struct {
		struct vfio_pci_hot_reset_info info;
		struct vfio_pci_dependent_device devs[8];
	} buf = { .info = { .argsz = sizeof(buf) } };

	if (ioctl(self->device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &buf))
		return errno;
	return buf.info.count ? 0 : FNTH_WRONG;
}

/* ivshmem in the container too, and its BAR2 mapped into this process. */
static int setup_p2p(struct fnth *self, const struct fnth_path *p)
{
	int err = fnth_group(self, p->bdf2, &self->group2, FNTH_ATTACHED);

	if (!err)
		err = fnth_device(self->group2, p->bdf2, &self->device2);
	if (err)
		return err;
	self->bar = mmap(NULL, TB_IVSHMEM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->device2,
			 VFIO_REGION_OFFSET(TB_IVSHMEM_BAR));
	return self->bar == MAP_FAILED ? errno : 0;
}

static int op_p2p_map(struct fnth *self, const struct fnth_path *p)
{
	return -_map(self->container, FNTH_BAR_IOVA, TB_IVSHMEM_SIZE,
		     self->bar, RW);
}

static const char *check_p2p_mapped(struct fnth *self,
				    const struct fnth_path *p)
{
	return check_mapped_at(self->container, FNTH_BAR_IOVA,
			       TB_IVSHMEM_SIZE);
}

static int op_cdev_bind(struct fnth *self,
			const struct fnth_path *p)
{
	return fnth_cdev_bind(self);
}

/* Bound: the device answers (it refuses everything before the bind). */
static const char *check_cdev_bound(struct fnth *self,
				    const struct fnth_path *p)
{
	struct vfio_device_info info;

	if (_vfio_device_get_info(self->device, sizeof(info), &info))
		return "DEVICE_GET_INFO fails after the bind";
	return NULL;
}

static int op_cdev_attach(struct fnth *self,
			  const struct fnth_path *p)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = self->ioas,
	};

	return ioctl(self->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) ?
		errno : 0;
}

/* Attached: detaching works, and so does attaching again. */
static const char *check_cdev_attached(struct fnth *self,
				       const struct fnth_path *p)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	if (ioctl(self->device, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach))
		return "DETACH_IOMMUFD_PT fails after the attach";
	if (op_cdev_attach(self, p))
		return "ATTACH_IOMMUFD_PT fails after a detach";
	return NULL;
}

/* ---- the paths ------------------------------------------------------- */

FIXTURE_VARIANT_ADD(fail_nth, container_open)
{
	.p = { .name = "container_open", .bdf = TB_EDU_BDF,
	       .stage = FNTH_BOUND,
	       .op = op_container_open, .check = check_container },
};

FIXTURE_VARIANT_ADD(fail_nth, group_open)
{
	.p = { .name = "group_open", .bdf = TB_EDU_BDF,
	       .stage = FNTH_CONTAINER,
	       .op = op_group_open, .check = check_group },
};

FIXTURE_VARIANT_ADD(fail_nth, set_container)
{
	.p = { .name = "set_container", .bdf = TB_EDU_BDF,
	       .stage = FNTH_GROUP,
	       .op = op_set_container, .check = check_attached },
};

FIXTURE_VARIANT_ADD(fail_nth, set_iommu)
{
	.p = { .name = "set_iommu", .bdf = TB_EDU_BDF,
	       .stage = FNTH_ATTACHED, .backing = "4k", .len = PG,
	       .op = op_set_iommu, .check = check_iommu },
};

/*
 * Enabling and disabling a PCI device evaluates the ACPI _PRT of its bus
 * (the INTx routing).  ACPICA does not survive an allocation failure
 * there: "Could not update object reference count" leaves the _PRT's
 * objects with a wrong count and a later evaluation reads freed memory
 * (KASAN slab-use-after-free in acpi_ns_get_attached_object).  Not
 * vfio's; the device paths spare the interpreter.
 */
FIXTURE_VARIANT_ADD(fail_nth, device_open)
{
	.p = { .name = "device_open", .bdf = TB_EDU_BDF,
	       .stage = FNTH_IOMMU, .spare = "acpica",
	       .op = op_device_open, .check = check_device },
};

FIXTURE_VARIANT_ADD(fail_nth, device_close)
{
	.p = { .name = "device_close", .bdf = TB_EDU_BDF,
	       .stage = FNTH_DEVICE, .spare = "acpica",
	       .op = op_device_close },
};

/* The last close of a device with MSI on and a mapping in its container. */
FIXTURE_VARIANT_ADD(fail_nth, device_close_busy)
{
	.p = { .name = "device_close_busy", .bdf = TB_EDU_BDF,
	       .stage = FNTH_DEVICE, .backing = "4k", .len = PG,
	       .spare = "acpica", .setup = setup_busy,
	       .op = op_device_close },
};

/*
 * The last close of the group and of its container, a mapping still in
 * it.  When vfio gives the group back, the IOMMU core puts the group's
 * default domain back and treats that as unable to fail (a WARN in
 * __iommu_release_dma_ownership()); the Intel driver allocates there
 * (-ENOMEM).  Not vfio's; the path spares that function.
 */
FIXTURE_VARIANT_ADD(fail_nth, group_release)
{
	.p = { .name = "group_release", .bdf = TB_EDU_BDF,
	       .stage = FNTH_IOMMU, .backing = "4k", .len = PG,
	       .spare = "__iommu_release_dma_ownership",
	       .setup = setup_mapped, .op = op_release },
};

FIXTURE_VARIANT_ADD(fail_nth, map_4k)
{
	.p = { .name = "map_4k", .bdf = TB_EDU_BDF, .stage = FNTH_IOMMU,
	       .backing = "4k", .len = PG,
	       .op = op_map, .check = check_mapped },
};

FIXTURE_VARIANT_ADD(fail_nth, unmap_4k)
{
	.p = { .name = "unmap_4k", .bdf = TB_EDU_BDF, .stage = FNTH_IOMMU,
	       .backing = "4k", .len = PG, .setup = setup_mapped,
	       .op = op_unmap, .check = check_unmapped },
};

FIXTURE_VARIANT_ADD(fail_nth, map_thp)
{
	.p = { .name = "map_thp", .bdf = TB_EDU_BDF, .stage = FNTH_IOMMU,
	       .backing = "thp", .len = HPAGE,
	       .op = op_map, .check = check_mapped },
};

FIXTURE_VARIANT_ADD(fail_nth, unmap_thp)
{
	.p = { .name = "unmap_thp", .bdf = TB_EDU_BDF, .stage = FNTH_IOMMU,
	       .backing = "thp", .len = HPAGE, .setup = setup_mapped,
	       .op = op_unmap, .check = check_unmapped },
};

FIXTURE_VARIANT_ADD(fail_nth, map_hugetlb)
{
	.p = { .name = "map_hugetlb", .bdf = TB_EDU_BDF, .stage = FNTH_IOMMU,
	       .backing = "hugetlb", .len = HPAGE,
	       .op = op_map, .check = check_mapped },
};

FIXTURE_VARIANT_ADD(fail_nth, irq_intx)
{
	.p = { .name = "irq_intx", .bdf = TB_EDU_BDF, .stage = FNTH_DEVICE,
	       .keep_open = true,
	       .irq_index = VFIO_PCI_INTX_IRQ_INDEX, .irq_count = 1,
	       .op = op_irqs, .check = check_irqs },
};

/*
 * MSI and MSI-X: the PCI core reports vectors it could not allocate as
 * ENOSPC, passed on as upstream does.  A new interrupt's /proc/irq/N
 * entries are made by register_irq_proc(), which ignores a failure, and
 * removing the missing entry later WARNs ("name 'node'" in
 * remove_proc_entry()): genirq's, not vfio's; spared.
 */
FIXTURE_VARIANT_ADD(fail_nth, irq_msi)
{
	.p = { .name = "irq_msi", .bdf = TB_EDU_BDF, .stage = FNTH_DEVICE,
	       .keep_open = true,
	       .irq_index = VFIO_PCI_MSI_IRQ_INDEX, .irq_count = 1,
	       .also_errno = ENOSPC, .spare = "register_irq_proc",
	       .op = op_irqs, .check = check_irqs },
};

FIXTURE_VARIANT_ADD(fail_nth, irq_msix)
{
	.p = { .name = "irq_msix", .bdf = TB_NVME_PF_BDF,
	       .stage = FNTH_DEVICE, .keep_open = true,
	       .irq_index = VFIO_PCI_MSIX_IRQ_INDEX, .irq_count = 2,
	       .also_errno = ENOSPC, .spare = "register_irq_proc",
	       .op = op_irqs, .check = check_irqs },
};

FIXTURE_VARIANT_ADD(fail_nth, hot_reset_info)
{
	.p = { .name = "hot_reset_info", .bdf = TB_BRIDGED_TESTDEV_BDF,
	       .stage = FNTH_DEVICE,
	       .op = op_hot_reset_info },
};

FIXTURE_VARIANT_ADD(fail_nth, hot_reset)
{
	.p = { .name = "hot_reset", .bdf = TB_BRIDGED_TESTDEV_BDF,
	       .stage = FNTH_DEVICE,
	       .op = op_hot_reset, .check = check_device },
};

FIXTURE_VARIANT_ADD(fail_nth, p2p_map)
{
	.p = { .name = "p2p_map", .bdf = TB_EDU_BDF, .bdf2 = TB_IVSHMEM_BDF,
	       .stage = FNTH_DEVICE, .setup = setup_p2p,
	       .op = op_p2p_map, .check = check_p2p_mapped },
};

/* The device cdev (skipped without CONFIG_VFIO_DEVICE_CDEV). */
FIXTURE_VARIANT_ADD(fail_nth, cdev_bind)
{
	.p = { .name = "cdev_bind", .bdf = TB_EDU_BDF, .stage = FNTH_CDEV,
	       .spare = "acpica",
	       .op = op_cdev_bind, .check = check_cdev_bound },
};

FIXTURE_VARIANT_ADD(fail_nth, cdev_attach)
{
	.p = { .name = "cdev_attach", .bdf = TB_EDU_BDF,
	       .stage = FNTH_CDEV_BOUND,
	       .op = op_cdev_attach, .check = check_cdev_attached },
};

TEST_HARNESS_MAIN
