// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU 7.2, unchanged, as a client of vfio: device assignment of the
 * bed's two edu devices to an L2 Linux guest, on the distro's modules and
 * on ours in the same boot (make check-clients, profile clients).
 *
 * Per module set (tb unload, VFIO_MODULES=set, tb reset, tb load):
 *   - qemu-system-x86_64 -machine pc -accel tcg with both edus through
 *     vfio-pci: 00:03.0 on the bed's root bus (no reset method) and
 *     03:00.0 behind the root port 00:0c.0 (QEMU resets it with a bus
 *     reset, VFIO_DEVICE_PCI_HOT_RESET), and a small L2 (Debian's kernel,
 *     a busybox initrd and the edu_l2 module, vm/clients/qemu-l2/) whose
 *     edu_l2 drives each edu: ID, liveness, factorial, DMA both ways
 *     through the type1 mappings of the L2's RAM, INTx and MSI;
 *   - through QMP/HMP: query-pci, `info mtree` (QEMU mmapped every BAR:
 *     the "BAR 0 mmaps[0]" subregions), VmLck of QEMU (what type1 pinned)
 *     is the L2's RAM, the L2's results, system_reset and the L2's checks
 *     again, device_del of the edu behind the root port (DEVICE_DELETED)
 *     and device_add of it again (the L2 probes it and checks it again),
 *     quit and exit status 0;
 *   - afterwards: both devices open again through their groups, the
 *     pinned memory came back (MemFree), and the stack unloads;
 *   - QEMU with KVM: -accel kvm -S -M q35 realizes both devices, QEMU
 *     adding their groups to KVM's vfio device (KVM_DEV_VFIO_FILE_ADD;
 *     QEMU reports a failure on stderr: kvm_group), query-pci,
 *     system_reset, quit.
 * What QEMU prints about vfio on ours and not on the distro's fails, as
 * does any check whose outcome differs between the sets.
 *
 * One fixture variant per set: client.<set>.run runs the sequence and
 * records every check in a file, client.<set>.<check> asserts each, and
 * compare.* asserts that ours did what the distro's did.
 *
 * Time: an L2 boot, under TCG inside the TCG guest, takes 65 to 155 s
 * on this 2-core machine depending on what else runs (it has its kernel
 * uncompressed and its slowest initcalls skipped); the hotplug and the
 * L2's checks of the new device 4 to 35 s.  Both sets run the whole
 * sequence, the control included: 396 s for both (distro 248 s, ours
 * 147 s) on a quiet machine, more with other nested guests running.
 * (.full = false skips system_reset - a second boot - and the hotplug
 * on a set, for a quicker run by hand.)  compare.* holds ours to the
 * distro's outcome wherever both ran.
 */
#include <signal.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "vfio_test_util.h"

#define QEMU_PATH	"/usr/bin/qemu-system-x86_64"
#define L2_KERNEL	"/tb/l2/vmlinux"
#define L2_INITRD	"/tb/l2/initrd.cpio"
#define KVM_PATH	"/dev/kvm"
#define QMP_SOCK	"/tmp/vfio_client_qemu_test.qmp"
#define RESULTS		"/tmp/vfio_client_qemu_test.results"
#define TMP		"/tmp/vfio_client_qemu_test"

/* The L2's RAM: what type1 pins for QEMU (VmLck). */
#define L2_RAM_MB	128
#define QEMU_START_MS	90000
#define QMP_REPLY_MS	60000
#define QEMU_EXIT_MS	60000
/* One boot of the L2 and its checks, nested TCG: ~1 minute measured. */
#define L2_BOOT_MS	420000
#define HOTPLUG_MS	120000

/* The edus in the L2 (-device ...,addr=): the bed's, and the client's. */
#define L2_EDU0		"0000:00:04.0"
#define L2_EDU1		"0000:00:05.0"

/*
 * The L2's command line: quiet, and without the slowest initcalls it does
 * not need (measured with initcall_debug): a third of its boot time.  An
 * oops reboots it at once: under TCG inside the TCG guest, Debian's kernel
 * sometimes takes a #GP in its early boot (do_sync_core()'s IRET, with NT
 * set in the flags it pushed), long before edu_l2 runs - an emulation
 * fault, seen on both module sets; the boot that follows is the L2's.
 */
#define L2_CMDLINE	"console=ttyS0 quiet oops=panic panic=-1 mitigations=off i8042.noaux i8042.nokbd i8042.nopnp cryptomgr.notests"
#define L2_NO_INITCALLS	"bpf_tcp_ca_kfunc_init,load_system_certificate_list,jent_mod_init,bpf_dummy_struct_ops_init,trace_eval_init,bpf_sockmap_iter_init,inet6_init,depot_debugfs_init,sed_opal_init,crypto_kdf108_init,init_encrypted,bpf_kfunc_init"

#define QMP_INFO_MTREE	"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"info mtree\"}}"
#define QMP_DEL_EDU1	"{\"execute\": \"device_del\", \"arguments\": {\"id\": \"edu1\"}}"
#define QMP_ADD_EDU1	"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"vfio-pci\", \"host\": \"%s\", \"id\": \"edu1\", \"addr\": \"5\"}}"

static const char *const l2_checks[] = {
	"id", "live", "fact", "dma", "intx", "msi",
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The results file: "set check ok|fail detail" lines. */
static __printf(4, 5) void record_as(const char *set, const char *check,
				     const char *res, const char *fmt, ...)
{
	char detail[512] = "";
	va_list ap;
	FILE *fp;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	detail[strcspn(detail, "\n")] = 0;
	fp = fopen(RESULTS, "a");
	if (fp) {
		fprintf(fp, "%s %s %s %s\n", set, check, res, detail);
		fclose(fp);
	}
	printf("# %s %s: %s %s\n", set, check, res, detail);
	fflush(stdout);
}

static __printf(4, 5) void record(const char *set, const char *check,
				  bool ok, const char *fmt, ...)
{
	char detail[512] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	record_as(set, check, ok ? "ok" : "fail", "%s", detail);
}

/* The outcome of @set's @check, "ok" or "fail", "" when not recorded. */
static void lookup(const char *set, const char *check, char *res,
		   size_t len, char *detail, size_t dlen)
{
	char line[1024], s[32], c[64], r[8];
	FILE *fp = fopen(RESULTS, "r");
	int n;

	*res = 0;
	*detail = 0;
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%31s %63s %7s %n", s, c, r, &n) < 3)
			continue;
		if (strcmp(s, set) || strcmp(c, check))
			continue;
		snprintf(res, len, "%s", r);
		snprintf(detail, dlen, "%s", line + n);
	}
	fclose(fp);
}

struct qmp {
	int fd;
	char *buf;
	size_t len, size;
};

#define QMP_BUF		0x100000

static int qmp_connect(struct qmp *q, pid_t qemu, int ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long end = now_ms() + ms;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", QMP_SOCK);
	q->len = 0;
	while (now_ms() < end) {
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0)
			return -errno;
		if (!connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)))
			return 0;
		close(q->fd);
		q->fd = -1;
		if (waitpid(qemu, NULL, WNOHANG) == qemu)
			return -ECHILD;
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

/*
 * The next message (one line of JSON) into @line; events are skipped
 * unless @events.
 */
static int qmp_next(struct qmp *q, char *line, size_t size, bool events,
		    int ms)
{
	long end = now_ms() + ms;

	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		ssize_t r;

		if (nl) {
			size_t n = nl - q->buf + 1;
			bool event;

			snprintf(line, size, "%.*s", (int)n - 1, q->buf);
			memmove(q->buf, q->buf + n, q->len - n);
			q->len -= n;
			event = strstr(line, "\"event\"");
			if (events || !event)
				return 0;
			continue;
		}
		if (q->len == q->size)
			return -E2BIG;
		if (vfio_wait_readable(q->fd, end - now_ms()) <= 0)
			return -ETIMEDOUT;
		r = read(q->fd, q->buf + q->len, q->size - q->len);
		if (r <= 0)
			return r ? -errno : -EPIPE;
		q->len += r;
	}
}

/* Send @req (a whole QMP command) and read its reply into @line. */
static int qmp_send(struct qmp *q, const char *req, char *line, size_t size)
{
	int n = strlen(req);

	if (write(q->fd, req, n) != n || write(q->fd, "\n", 1) != 1)
		return -EIO;
	return qmp_next(q, line, size, false, QMP_REPLY_MS);
}

static int qmp_cmd(struct qmp *q, const char *cmd, char *line, size_t size)
{
	char req[128];

	snprintf(req, sizeof(req), "{\"execute\": \"%s\"}", cmd);
	return qmp_send(q, req, line, size);
}

static bool json_has(const char *json, const char *key, const char *val)
{
	char k[64];
	const char *p = json;

	snprintf(k, sizeof(k), "\"%s\":", key);
	while ((p = strstr(p, k))) {
		p += strlen(k);
		while (*p == ' ')
			p++;
		if (!strncmp(p, val, strlen(val)))
			return true;
	}
	return false;
}

static bool replied(const char *line)
{
	return strstr(line, "\"return\"");
}

/* Start QEMU with @args (NULL-terminated), stdout and stderr to @log. */
static pid_t qemu_start(const char *log, const char *const *args)
{
	pid_t pid;
	int fd;

	unlink(QMP_SOCK);
	fflush(NULL);
	pid = fork();
	if (pid)
		return pid;
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	close(0);
	open("/dev/null", O_RDONLY);
	execv(QEMU_PATH, (char *const *)args);
	_exit(127);
}

static void qemu_kill(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

/* A "Key:   N kB" line of a /proc status or meminfo file, or -1. */
static long proc_kb(const char *path, const char *key)
{
	char line[256];
	long v = -1;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, key, strlen(key)) &&
		    line[strlen(key)] == ':')
			v = atol(line + strlen(key) + 1);
	fclose(fp);
	return v;
}

/* The whole of a small file, NUL-terminated, in a malloc()ed buffer. */
static char *slurp(const char *path)
{
	size_t len = 0, size = 65536;
	char *buf = malloc(size);
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!buf)
		return NULL;
	buf[0] = 0;
	if (!fp)
		return buf;
	while ((n = fread(buf + len, 1, size - len - 1, fp)) > 0) {
		len += n;
		if (len + 1 == size) {
			char *b = realloc(buf, size * 2);

			if (!b)
				break;
			buf = b;
			size *= 2;
		}
	}
	buf[len] = 0;
	fclose(fp);
	return buf;
}

static int count_str(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

/* The start of the @nth (1-based) occurrence of @what in @s, or NULL. */
static const char *nth_str(const char *s, const char *what, int nth)
{
	while ((s = strstr(s, what))) {
		if (--nth == 0)
			return s;
		s += strlen(what);
	}
	return NULL;
}

/*
 * Wait until the L2's console (@serial) has @what @n times, or QEMU died,
 * or @ms passed.
 */
static bool wait_serial(const char *serial, const char *what, int n,
			pid_t qemu, int ms)
{
	long end = now_ms() + ms;

	for (;;) {
		char *s = slurp(serial);
		bool found = s && count_str(s, what) >= n;

		free(s);
		if (found)
			return true;
		if (now_ms() > end || waitpid(qemu, NULL, WNOHANG) == qemu)
			return false;
		usleep(500 * 1000);
	}
}

/*
 * edu_l2's verdicts in the @boot'th boot of the L2 that got through them
 * (a boot that crashed before is not counted), one check each.
 */
static void record_l2(const char *set, const char *serial, int boot,
		      const char *prefix, bool per_check)
{
	static const char *const edus[] = { L2_EDU0, L2_EDU1 };
	char *s = slurp(serial);
	const char *from, *to;
	char *seg;

	if (!s)
		return;
	/* The boot that said "all done" for the @boot'th time. */
	to = nth_str(s, "edu_l2: all done", boot);
	from = NULL;
	for (const char *p = s; to && (p = strstr(p, "edu_l2: boot up=")) &&
	     p < to; p++)
		from = p;
	seg = from ? strndup(from, to - from) : strdup("");
	for (unsigned int e = 0; e < ARRAY_SIZE(edus); e++) {
		char check[64], want[128];
		bool done;

		snprintf(want, sizeof(want), "edu_l2: %s done failures=0",
			 edus[e]);
		done = seg && strstr(seg, want);
		if (!per_check) {
			snprintf(check, sizeof(check), "%s_edu%u", prefix, e);
			record(set, check, done, "%s", want);
			continue;
		}
		for (unsigned int c = 0; c < ARRAY_SIZE(l2_checks); c++) {
			const char *line;
			char ok[160], detail[160] = "not reported";

			snprintf(want, sizeof(want), "edu_l2: %s %s ", edus[e],
				 l2_checks[c]);
			line = seg ? strstr(seg, want) : NULL;
			if (line)
				snprintf(detail, sizeof(detail), "%.*s",
					 (int)strcspn(line, "\r\n"), line);
			snprintf(ok, sizeof(ok), "%sok", want);
			snprintf(check, sizeof(check), "%s_edu%u_%s", prefix,
				 e, l2_checks[c]);
			record(set, check, line && !strncmp(line, ok,
							    strlen(ok)),
			       "%s", detail);
		}
	}
	free(seg);
	free(s);
}

/*
 * QEMU's vfio lines of @log, each prefixed with @set's name in the
 * results ("set qemu_msg ok line") - compared between the sets later.
 */
static void record_qemu_log(const char *set, const char *log)
{
	char line[1024];
	FILE *fp = fopen(log, "r");

	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = 0;
		printf("# %s qemu: %s\n", set, line);
		if (strcasestr(line, "vfio"))
			record(set, "qemu_msg", true, "%s", line);
	}
	fclose(fp);
}

/* Open @bdf's group and device again, as a fresh user would. */
static int reopen(const char *bdf)
{
	int container = -1, group = -1, device = -1, ret = 0, gid;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];

	gid = vfio_pci_group(bdf);
	if (gid < 0)
		return gid;
	vfio_group_path(gid, path, sizeof(path));
	container = open(VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (container < 0 || group < 0 ||
	    ioctl(group, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE) ||
	    ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		ret = errno ? -errno : -EINVAL;
	if (!ret) {
		device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
		if (device < 0)
			ret = -errno;
	}
	if (device >= 0)
		close(device);
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	return ret;
}

/* The L2 run: QEMU under TCG, both edus assigned, the L2's checks. */
/* The L2's console, in the test's output (without the kernel's lines). */
static void dump_serial(const char *set, const char *serial)
{
	char line[512];
	FILE *fp = fopen(serial, "r");

	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, "edu_l2: ", 8) || strstr(line, "all done"))
			printf("# %s l2: %s", set, line);
	fclose(fp);
}

static void run_l2(const char *set, bool full)
{
	char log[128], serial[128], serial_arg[160], *line;
	char dev0[128], dev1[128], req[256], *mtree, cmdline[512];
	struct qmp q = { .fd = -1, .size = QMP_BUF };
	long t0 = now_ms(), free0, vmlck, t;
	bool ok, ok1;
	pid_t qemu;
	int st, seen;

	snprintf(log, sizeof(log), TMP ".%s.log", set);
	snprintf(serial, sizeof(serial), TMP ".%s.serial", set);
	snprintf(serial_arg, sizeof(serial_arg), "file:%s", serial);
	snprintf(dev0, sizeof(dev0), "vfio-pci,host=%s,id=edu0,addr=4",
		 TB_EDU_BDF);
	snprintf(dev1, sizeof(dev1), "vfio-pci,host=%s,id=edu1,addr=5",
		 TB_CLIENT_EDU_BDF);
	snprintf(cmdline, sizeof(cmdline), "%s initcall_blacklist=%s",
		 L2_CMDLINE, L2_NO_INITCALLS);
	unlink(serial);

	const char *const args[] = {
		QEMU_PATH, "-machine", "pc", "-accel", "tcg", "-nodefaults",
		"-display", "none", "-m", "128M", "-smp", "1",
		"-kernel", L2_KERNEL, "-initrd", L2_INITRD,
		/* Quiet, and no probes the L2 does not need. */
		"-append", cmdline,
		"-serial", serial_arg, "-device", dev0, "-device", dev1,
		"-qmp", "unix:" QMP_SOCK ",server=on,wait=off", NULL,
	};

	q.buf = malloc(QMP_BUF);
	line = malloc(QMP_BUF);
	if (!q.buf || !line)
		return;
	free0 = proc_kb("/proc/meminfo", "MemFree");
	qemu = qemu_start(log, args);
	ok = qemu > 0 && !qmp_connect(&q, qemu, QEMU_START_MS) &&
	     !qmp_next(&q, line, QMP_BUF, false, QEMU_START_MS) &&
	     !qmp_cmd(&q, "qmp_capabilities", line, QMP_BUF) && replied(line);
	record(set, "qemu_start", ok, "in %ld ms", now_ms() - t0);
	if (!ok)
		goto out;

	ok = !qmp_cmd(&q, "query-pci", line, QMP_BUF) &&
	     json_has(line, "qdev_id", "\"edu0\"") &&
	     json_has(line, "qdev_id", "\"edu1\"");
	record(set, "query_pci", ok, "%.200s", line);

	snprintf(req, sizeof(req), "/proc/%d/status", qemu);
	vmlck = proc_kb(req, "VmLck");
	record(set, "vmlck", vmlck >= L2_RAM_MB * 1024 &&
	       vmlck <= (L2_RAM_MB + 4) * 1024, "VmLck %ld kB, L2 RAM %d MiB",
	       vmlck, L2_RAM_MB);

	t = now_ms();
	ok = wait_serial(serial, "edu_l2: all done", 1, qemu, L2_BOOT_MS);
	record(set, "l2_boot", ok, "L2 booted and checked in %ld ms",
	       now_ms() - t);
	record_l2(set, serial, 1, "l2", true);

	/*
	 * The BARs are in the memory map once the L2 set them up: each with
	 * QEMU's mmap of the BAR (through vfio's mmap) as its subregion.
	 */
	ok1 = !qmp_send(&q, QMP_INFO_MTREE, line, QMP_BUF);
	snprintf(req, sizeof(req), "%s BAR 0 mmaps[0]", TB_EDU_BDF);
	ok1 = ok1 && strstr(line, req);
	snprintf(req, sizeof(req), "%s BAR 0 mmaps[0]", TB_CLIENT_EDU_BDF);
	ok1 = ok1 && strstr(line, req);
	mtree = strstr(line, "BAR 0");
	record(set, "bar_mmap", ok1, "'<bdf> BAR 0 mmaps[0]' of both: %.160s",
	       mtree ? mtree : "no BAR 0 in info mtree");
	if (!ok)
		goto quit;

	if (!full) {
		static const char *const ours_only[] = {
			"reset_boot", "reset_l2_edu0", "reset_l2_edu1",
			"device_del", "device_add", "hotplug_l2_edu1",
		};

		for (unsigned int i = 0; i < ARRAY_SIZE(ours_only); i++)
			record_as(set, ours_only[i], "skip",
				  "only on ours: time");
		goto quit;
	}
	t = now_ms();
	ok = !qmp_cmd(&q, "system_reset", line, QMP_BUF) && replied(line) &&
	     wait_serial(serial, "edu_l2: all done", 2, qemu, L2_BOOT_MS);
	record(set, "reset_boot", ok, "L2 rebooted and checked in %ld ms",
	       now_ms() - t);
	record_l2(set, serial, 2, "reset_l2", false);
	if (!ok)
		goto quit;

	/* Unplug the edu behind the root port (ACPI: the L2 ejects it). */
	t = now_ms();
	ok = !qmp_send(&q, QMP_DEL_EDU1, line, QMP_BUF) &&
	     replied(line);
	while (ok) {
		ok = !qmp_next(&q, line, QMP_BUF, true, HOTPLUG_MS);
		if (ok && strstr(line, "DEVICE_DELETED") &&
		    strstr(line, "\"edu1\""))
			break;
	}
	record(set, "device_del", ok, "DEVICE_DELETED in %ld ms",
	       now_ms() - t);
	if (!ok)
		goto quit;
	/* edu_l2's verdicts on this edu so far: one per boot. */
	snprintf(req, sizeof(req), "edu_l2: %s done failures=0", L2_EDU1);
	mtree = slurp(serial);
	seen = mtree ? count_str(mtree, req) : 0;
	free(mtree);
	t = now_ms();
	snprintf(req, sizeof(req), QMP_ADD_EDU1, TB_CLIENT_EDU_BDF);
	ok = !qmp_send(&q, req, line, QMP_BUF) && replied(line);
	ok = ok && !qmp_cmd(&q, "query-pci", line, QMP_BUF) &&
	     json_has(line, "qdev_id", "\"edu1\"");
	record(set, "device_add", ok, "%.200s", line);
	snprintf(req, sizeof(req), "edu_l2: %s done failures=0", L2_EDU1);
	ok = ok && wait_serial(serial, req, seen + 1, qemu, HOTPLUG_MS);
	record(set, "hotplug_l2_edu1", ok, "probed and checked again in %ld ms",
	       now_ms() - t);

quit:
	ok = !qmp_cmd(&q, "quit", line, QMP_BUF) && replied(line);
	st = vfio_wait_child(qemu, QEMU_EXIT_MS);
	record(set, "quit", ok && !st, "exit status %d", st);
	if (!st)
		qemu = 0;
out:
	if (q.fd >= 0)
		close(q.fd);
	qemu_kill(&qemu);
	dump_serial(set, serial);
	mtree = slurp(serial);
	if (mtree && strstr(mtree, "Oops"))
		printf("# %s: the L2 oopsed and rebooted %d time(s)\n", set,
		       count_str(mtree, "Oops"));
	free(mtree);
	/* Unpinning is done at the last fput; give it a moment. */
	usleep(500 * 1000);
	t = proc_kb("/proc/meminfo", "MemFree");
	record(set, "pinned_freed", t >= free0 - 32 * 1024,
	       "MemFree %ld kB before QEMU, %ld kB after", free0, t);
	record_qemu_log(set, log);
	record(set, "l2_run_ms", true, "%ld", now_ms() - t0);
	free(q.buf);
	free(line);
}

/* QEMU with KVM: realize both devices with -accel kvm -S, then quit. */
static void run_kvm(const char *set)
{
	char log[128], dev0[128], dev1[128], *line, *mtree;
	struct qmp q = { .fd = -1, .size = QMP_BUF };
	long t0 = now_ms();
	pid_t qemu;
	bool ok;
	int st;

	if (access(KVM_PATH, R_OK | W_OK)) {
		record(set, "kvm_realize", false, "no %s", KVM_PATH);
		return;
	}
	snprintf(log, sizeof(log), TMP ".%s.kvm.log", set);
	snprintf(dev0, sizeof(dev0), "vfio-pci,host=%s,id=edu0", TB_EDU_BDF);
	snprintf(dev1, sizeof(dev1), "vfio-pci,host=%s,id=edu1",
		 TB_CLIENT_EDU_BDF);

	const char *const args[] = {
		QEMU_PATH, "-accel", "kvm", "-S", "-nodefaults",
		"-display", "none", "-M", "q35", "-m", "128",
		"-device", dev0, "-device", dev1,
		"-qmp", "unix:" QMP_SOCK ",server=on,wait=off", NULL,
	};

	q.buf = malloc(QMP_BUF);
	line = malloc(QMP_BUF);
	if (!q.buf || !line)
		return;
	qemu = qemu_start(log, args);
	ok = qemu > 0 && !qmp_connect(&q, qemu, QEMU_START_MS) &&
	     !qmp_next(&q, line, QMP_BUF, false, QEMU_START_MS) &&
	     !qmp_cmd(&q, "qmp_capabilities", line, QMP_BUF) && replied(line);
	record(set, "kvm_realize", ok, "in %ld ms", now_ms() - t0);
	if (!ok)
		goto out;
	ok = !qmp_cmd(&q, "query-pci", line, QMP_BUF) &&
	     json_has(line, "qdev_id", "\"edu0\"") &&
	     json_has(line, "qdev_id", "\"edu1\"");
	record(set, "kvm_query_pci", ok, "%.200s", line);
	ok = !qmp_cmd(&q, "system_reset", line, QMP_BUF) && replied(line);
	record(set, "kvm_reset", ok, "%.200s", line);
	ok = !qmp_cmd(&q, "quit", line, QMP_BUF) && replied(line);
	st = vfio_wait_child(qemu, QEMU_EXIT_MS);
	record(set, "kvm_quit", ok && !st, "exit status %d", st);
	if (!st)
		qemu = 0;
out:
	if (q.fd >= 0)
		close(q.fd);
	qemu_kill(&qemu);
	/* "Failed to add group N to KVM VFIO device: ..." */
	mtree = slurp(log);
	record(set, "kvm_group", mtree && !strstr(mtree, "KVM VFIO"),
	       "no KVM VFIO error from QEMU");
	free(mtree);
	record_qemu_log(set, log);
	free(q.buf);
	free(line);
}

static void run_set(const char *set, bool full)
{
	static const char *const bdfs[] = { TB_EDU_BDF, TB_CLIENT_EDU_BDF };
	bool ok = true;
	int ret;

	setenv("VFIO_MODULES", set, 1);
	tb_cmd("unload");
	tb_cmd("reset");
	ok = !tb_cmd("load");
	record(set, "load", ok, "tb load");
	if (!ok)
		return;
	for (unsigned int i = 0; i < ARRAY_SIZE(bdfs); i++)
		ok = ok && !tb_cmd("bind %s vfio-pci", bdfs[i]);
	record(set, "bind", ok, "both edus on vfio-pci");
	if (!ok)
		return;

	run_l2(set, full);
	for (unsigned int i = 0; i < ARRAY_SIZE(bdfs); i++) {
		char check[32];

		ret = reopen(bdfs[i]);
		snprintf(check, sizeof(check), "reopen_edu%u", i);
		record(set, check, !ret, "%s: %s", bdfs[i], strerror(-ret));
	}
	run_kvm(set);
	record(set, "unload", !tb_cmd("unload"), "tb unload after QEMU");
}

/*
 * One variant per module set, distro's first: its run, then its checks,
 * then ours.  The runner expects ours loaded at the end, and ours come
 * last.
 */
FIXTURE(client) {
};

FIXTURE_VARIANT(client) {
	const char *set;
	bool full;	/* + system_reset (a second L2 boot), hotplug */
};

FIXTURE_VARIANT_ADD(client, distro) {
	.set = "distro",
	.full = true,
};

FIXTURE_VARIANT_ADD(client, ours) {
	.set = "ours",
	.full = true,
};

FIXTURE_SETUP(client)
{
}

FIXTURE_TEARDOWN(client)
{
}

/* The run on this set: every check recorded for the tests below. */
TEST_F_TIMEOUT(client, run, 900)
{
	long t0 = now_ms();

	if (!strcmp(variant->set, "distro"))
		unlink(RESULTS);
	if (access(QEMU_PATH, X_OK) || access(L2_KERNEL, R_OK))
		SKIP(return, "no QEMU or L2 in this image (make check-clients)");
	run_set(variant->set, variant->full);
	setenv("VFIO_MODULES", "ours", 1);
	tb_cmd("reset");
	ASSERT_EQ(0, tb_cmd("load"));
	TH_LOG("%s: %ld s", variant->set, (now_ms() - t0) / 1000);
}

static void expect_ok(struct __test_metadata *_metadata, const char *set,
		      const char *check)
{
	char res[8], detail[512];

	lookup(set, check, res, sizeof(res), detail, sizeof(detail));
	if (!*res && access(RESULTS, R_OK))
		SKIP(return, "no results (the run test skipped)");
	if (!strcmp(res, "skip"))
		SKIP(return, "%s", detail);
	TH_LOG("%s %s: %s %s", set, check, *res ? res : "not reached",
	       detail);
	ASSERT_STREQ("ok", res);
}

TEST_F(client, load)
{
	expect_ok(_metadata, variant->set, "load");
}

TEST_F(client, bind)
{
	expect_ok(_metadata, variant->set, "bind");
}

TEST_F(client, qemu_start)
{
	expect_ok(_metadata, variant->set, "qemu_start");
}

TEST_F(client, query_pci)
{
	expect_ok(_metadata, variant->set, "query_pci");
}

TEST_F(client, bar_mmap)
{
	expect_ok(_metadata, variant->set, "bar_mmap");
}

TEST_F(client, vmlck)
{
	expect_ok(_metadata, variant->set, "vmlck");
}

TEST_F(client, l2_boot)
{
	expect_ok(_metadata, variant->set, "l2_boot");
}

TEST_F(client, l2_edu0_id)
{
	expect_ok(_metadata, variant->set, "l2_edu0_id");
}

TEST_F(client, l2_edu0_live)
{
	expect_ok(_metadata, variant->set, "l2_edu0_live");
}

TEST_F(client, l2_edu0_fact)
{
	expect_ok(_metadata, variant->set, "l2_edu0_fact");
}

TEST_F(client, l2_edu0_dma)
{
	expect_ok(_metadata, variant->set, "l2_edu0_dma");
}

TEST_F(client, l2_edu0_intx)
{
	expect_ok(_metadata, variant->set, "l2_edu0_intx");
}

TEST_F(client, l2_edu0_msi)
{
	expect_ok(_metadata, variant->set, "l2_edu0_msi");
}

TEST_F(client, l2_edu1_id)
{
	expect_ok(_metadata, variant->set, "l2_edu1_id");
}

TEST_F(client, l2_edu1_live)
{
	expect_ok(_metadata, variant->set, "l2_edu1_live");
}

TEST_F(client, l2_edu1_fact)
{
	expect_ok(_metadata, variant->set, "l2_edu1_fact");
}

TEST_F(client, l2_edu1_dma)
{
	expect_ok(_metadata, variant->set, "l2_edu1_dma");
}

TEST_F(client, l2_edu1_intx)
{
	expect_ok(_metadata, variant->set, "l2_edu1_intx");
}

TEST_F(client, l2_edu1_msi)
{
	expect_ok(_metadata, variant->set, "l2_edu1_msi");
}

TEST_F(client, reset_boot)
{
	expect_ok(_metadata, variant->set, "reset_boot");
}

TEST_F(client, reset_l2_edu0)
{
	expect_ok(_metadata, variant->set, "reset_l2_edu0");
}

TEST_F(client, reset_l2_edu1)
{
	expect_ok(_metadata, variant->set, "reset_l2_edu1");
}

TEST_F(client, device_del)
{
	expect_ok(_metadata, variant->set, "device_del");
}

TEST_F(client, device_add)
{
	expect_ok(_metadata, variant->set, "device_add");
}

TEST_F(client, hotplug_l2_edu1)
{
	expect_ok(_metadata, variant->set, "hotplug_l2_edu1");
}

TEST_F(client, quit)
{
	expect_ok(_metadata, variant->set, "quit");
}

TEST_F(client, pinned_freed)
{
	expect_ok(_metadata, variant->set, "pinned_freed");
}

TEST_F(client, reopen_edu0)
{
	expect_ok(_metadata, variant->set, "reopen_edu0");
}

TEST_F(client, reopen_edu1)
{
	expect_ok(_metadata, variant->set, "reopen_edu1");
}

TEST_F(client, kvm_realize)
{
	expect_ok(_metadata, variant->set, "kvm_realize");
}

TEST_F(client, kvm_query_pci)
{
	expect_ok(_metadata, variant->set, "kvm_query_pci");
}

TEST_F(client, kvm_reset)
{
	expect_ok(_metadata, variant->set, "kvm_reset");
}

TEST_F(client, kvm_group)
{
	expect_ok(_metadata, variant->set, "kvm_group");
}

TEST_F(client, kvm_quit)
{
	expect_ok(_metadata, variant->set, "kvm_quit");
}

TEST_F(client, unload)
{
	expect_ok(_metadata, variant->set, "unload");
}

/* Between the sets, once both ran. */
FIXTURE(compare) {
};

FIXTURE_SETUP(compare)
{
}

FIXTURE_TEARDOWN(compare)
{
}

/* Same VmLck on both: type1 pinned the same pages for the same QEMU. */
TEST_F(compare, same_vmlck)
{
	char r0[8], r1[8], d0[512], d1[512];

	lookup("distro", "vmlck", r0, sizeof(r0), d0, sizeof(d0));
	lookup("ours", "vmlck", r1, sizeof(r1), d1, sizeof(d1));
	if (!*r0 || !*r1)
		SKIP(return, "not measured on both sets");
	TH_LOG("distro: %s; ours: %s", d0, d1);
	ASSERT_STREQ(d0, d1);
}

/* Every check has the same outcome on both sets. */
TEST_F(compare, same_outcomes)
{
	static const char *const all[] = {
		"load", "bind", "qemu_start", "query_pci", "bar_mmap", "vmlck",
		"l2_boot", "l2_edu0_id", "l2_edu0_live", "l2_edu0_fact",
		"l2_edu0_dma", "l2_edu0_intx", "l2_edu0_msi", "l2_edu1_id",
		"l2_edu1_live", "l2_edu1_fact", "l2_edu1_dma", "l2_edu1_intx",
		"l2_edu1_msi", "reset_boot", "reset_l2_edu0", "reset_l2_edu1",
		"device_del", "device_add", "hotplug_l2_edu1", "quit",
		"pinned_freed", "reopen_edu0", "reopen_edu1", "kvm_realize",
		"kvm_query_pci", "kvm_reset", "kvm_group", "kvm_quit", "unload",
	};
	char r0[8], r1[8], d0[512], d1[512];
	int bad = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(all); i++) {
		lookup("distro", all[i], r0, sizeof(r0), d0, sizeof(d0));
		lookup("ours", all[i], r1, sizeof(r1), d1, sizeof(d1));
		if (strcmp(r0, r1) && strcmp(r0, "skip")) {
			TH_LOG("%s: distro %s (%s), ours %s (%s)", all[i],
			       *r0 ? r0 : "-", d0, *r1 ? r1 : "-", d1);
			bad++;
		}
	}
	ASSERT_EQ(0, bad);
}

/* What QEMU said about vfio on ours must have been said on the distro's. */
TEST_F(compare, no_new_vfio_messages)
{
	char line[1024], s[32], c[64], r[8], *all = slurp(RESULTS);
	FILE *fp = fopen(RESULTS, "r");
	int n, bad = 0;

	ASSERT_NE(NULL, all);
	if (!fp)
		SKIP(return, "no results");
	while (fgets(line, sizeof(line), fp)) {
		char want[1100];

		if (sscanf(line, "%31s %63s %7s %n", s, c, r, &n) < 3 ||
		    strcmp(s, "ours") || strcmp(c, "qemu_msg"))
			continue;
		snprintf(want, sizeof(want), "distro qemu_msg ok %s",
			 line + n);
		if (!strstr(all, want)) {
			TH_LOG("only on ours: %s", line + n);
			bad++;
		}
	}
	fclose(fp);
	free(all);
	ASSERT_EQ(0, bad);
}

TEST_HARNESS_MAIN
