// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU itself, run with -accel kvm inside the test-bed guest, given the edu
 * through vfio-pci: realizing the device is QEMU's whole use of vfio and of
 * KVM's vfio device (the group in a type1 container, its regions, config
 * space and interrupts, the group added to the VM's KVM-VFIO device).  An
 * L2 guest does not get far under KVM-in-TCG, so nothing runs in it (-S):
 * the machine is driven through QMP instead - the device is there
 * (query-pci), survives a system_reset (a vfio device reset) and goes away
 * with quit.  What QEMU prints about vfio on its stderr is a failure.
 *
 * The QEMU is the host's (Debian's 7.2), put into the KVM boot's image by
 * vm/build-initramfs.sh; elsewhere the test SKIPs.
 */
#include <signal.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "vfio_test_util.h"

#define KVM_PATH	"/dev/kvm"
#define QEMU_PATH	"/usr/bin/qemu-system-x86_64"
#define QMP_SOCK	"/tmp/vfio_kvm_qemu_test.qmp"
#define QEMU_LOG	"/tmp/vfio_kvm_qemu_test.log"
/* Generous for TCG: QEMU's start (dynamic linking) takes seconds there. */
#define QEMU_START_MS	60000
#define QMP_REPLY_MS	30000
#define QEMU_EXIT_MS	30000

/* The edu's PCI IDs, as query-pci gives them (decimal). */
#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct qmp {
	int fd;
	char buf[65536];
	size_t len;
};

/*
 * Connect to QEMU's QMP socket, waiting for QEMU to make it.  The QMP
 * helpers return 0 or a negative errno.
 */
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
		/* QEMU gave up before it listened. */
		if (waitpid(qemu, NULL, WNOHANG) == qemu)
			return -ECHILD;
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

/*
 * The next message QEMU sends (one line of JSON) into @line; events
 * ("event") are skipped unless @events.
 */
static int qmp_next(struct qmp *q, char *line, size_t size, bool events,
		    int ms)
{
	long end = now_ms() + ms;

	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);

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
		if (q->len == sizeof(q->buf))
			return -E2BIG;
		if (vfio_wait_readable(q->fd, end - now_ms()) <= 0)
			return -ETIMEDOUT;
		ssize_t r = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);

		if (r <= 0)
			return r ? -errno : -EPIPE;
		q->len += r;
	}
}

/* Send @cmd (a QMP command name) and read its reply into @line. */
static int qmp_cmd(struct qmp *q, const char *cmd, char *line, size_t size)
{
	char req[128];
	int n;

	n = snprintf(req, sizeof(req), "{\"execute\": \"%s\"}\n", cmd);
	if (write(q->fd, req, n) != n)
		return -EIO;
	return qmp_next(q, line, size, false, QMP_REPLY_MS);
}

/* Does @json have "@key": @val somewhere (@val as QEMU writes it)? */
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

/*
 * What QEMU says about vfio on every run, with the distro modules as with
 * ours: the edu has no reset method (no FLR, no PM reset, alone on the
 * bus), so QEMU cannot reset it at realize, system_reset or exit.
 */
static const char *const qemu_expected[] = {
	"no available reset mechanism",
};

/* QEMU's stderr, logged; returns how many other lines mention vfio. */
static int qemu_log_vfio_lines(struct __test_metadata *_metadata)
{
	char line[1024];
	int n = 0;
	FILE *fp;

	fp = fopen(QEMU_LOG, "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		bool expected = false;

		line[strcspn(line, "\n")] = 0;
		TH_LOG("qemu: %s", line);
		for (unsigned int i = 0; i < ARRAY_SIZE(qemu_expected); i++)
			if (strstr(line, qemu_expected[i]))
				expected = true;
		if (!expected && strcasestr(line, "vfio"))
			n++;
	}
	fclose(fp);
	return n;
}

FIXTURE(qemu)
{
	struct vfio_test_dev dev;
	pid_t qemu;
	struct qmp qmp;
};

FIXTURE_SETUP(qemu)
{
	self->qemu = 0;
	self->qmp.fd = -1;
	vfio_test_dev_init(&self->dev);
	if (access(KVM_PATH, R_OK | W_OK))
		SKIP(return, "no %s: the KVM boot (PROFILE=kvm) has it",
		     KVM_PATH);
	if (access(QEMU_PATH, X_OK))
		SKIP(return, "no %s in this image", QEMU_PATH);
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_BOUND);
}

FIXTURE_TEARDOWN(qemu)
{
	if (self->qmp.fd >= 0)
		close(self->qmp.fd);
	if (self->qemu > 0) {
		kill(self->qemu, SIGKILL);
		waitpid(self->qemu, NULL, 0);
	}
	if (self->dev.bdf)
		vfio_test_dev_close(_metadata, &self->dev);
}

TEST_F_TIMEOUT(qemu, realize_reset_quit, 240)
{
	char dev_arg[128], line[65536], vendor[32], device[32];
	long t0 = now_ms(), t;
	int st, log;

	snprintf(dev_arg, sizeof(dev_arg), "vfio-pci,host=%s,id=edu0",
		 TB_EDU_BDF);
	unlink(QMP_SOCK);
	self->qemu = fork();
	ASSERT_LE(0, self->qemu);
	if (!self->qemu) {
		log = open(QEMU_LOG, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(127);
		close(0);
		open("/dev/null", O_RDONLY);
		execl(QEMU_PATH, QEMU_PATH, "-accel", "kvm", "-S",
		      "-nodefaults", "-display", "none", "-M", "q35",
		      "-m", "128", "-device", dev_arg,
		      "-qmp", "unix:" QMP_SOCK ",server=on,wait=off",
		      (char *)NULL);
		_exit(127);
	}

	/* The greeting, then capabilities negotiation. */
	ASSERT_EQ(0, qmp_connect(&self->qmp, self->qemu, QEMU_START_MS)) {
		qemu_log_vfio_lines(_metadata);
	}
	ASSERT_EQ(0, qmp_next(&self->qmp, line, sizeof(line), false,
			      QEMU_START_MS));
	ASSERT_NE(NULL, strstr(line, "\"QMP\""));
	ASSERT_EQ(0, qmp_cmd(&self->qmp, "qmp_capabilities", line,
			     sizeof(line)));
	ASSERT_NE(NULL, strstr(line, "\"return\""));
	t = now_ms();
	TH_LOG("QEMU up with the edu realized in %ld ms", t - t0);

	/* The device, by its id and its IDs. */
	ASSERT_EQ(0, qmp_cmd(&self->qmp, "query-pci", line, sizeof(line)));
	ASSERT_TRUE(json_has(line, "qdev_id", "\"edu0\"")) TH_LOG("%s", line);
	snprintf(vendor, sizeof(vendor), "%d", EDU_VENDOR);
	snprintf(device, sizeof(device), "%d", EDU_DEVICE);
	ASSERT_TRUE(json_has(line, "vendor", vendor)) TH_LOG("%s", line);
	ASSERT_TRUE(json_has(line, "device", device)) TH_LOG("%s", line);

	/* A machine reset resets the device through vfio. */
	ASSERT_EQ(0, qmp_cmd(&self->qmp, "system_reset", line, sizeof(line)));
	ASSERT_NE(NULL, strstr(line, "\"return\"")) TH_LOG("%s", line);
	ASSERT_EQ(0, qmp_cmd(&self->qmp, "query-pci", line, sizeof(line)));
	ASSERT_TRUE(json_has(line, "qdev_id", "\"edu0\""));

	ASSERT_EQ(0, qmp_cmd(&self->qmp, "quit", line, sizeof(line)));
	ASSERT_NE(NULL, strstr(line, "\"return\"")) TH_LOG("%s", line);
	/* Reaped here, exit status 0. */
	st = vfio_wait_child(self->qemu, QEMU_EXIT_MS);
	self->qemu = 0;
	ASSERT_EQ(0, st);
	TH_LOG("QEMU started, reset and quit in %ld ms", now_ms() - t0);
	ASSERT_EQ(0, qemu_log_vfio_lines(_metadata));
}

TEST_HARNESS_MAIN
