// SPDX-License-Identifier: GPL-2.0
/*
 * DPDK 22.11 (Debian's dpdk-testpmd, unchanged) as a user of vfio, on the
 * distro's modules (the control) and then on ours, in one boot of make
 * check-clients.  testpmd drives the clients' NICs through vfio-pci, at
 * its prompt, in io forwarding mode with the port looped onto itself:
 * "start tx_first" sends a burst that comes back through the NIC's UDP
 * socket backend and is sent again, for a few seconds, then "stop" and
 * "quit".  Per run: EAL probes the device through VFIO (its log says so,
 * with the IOMMU type), packets were sent and received, testpmd exits
 * cleanly (status 0, "Bye..."), the group and device open again
 * afterwards, and dpdk-devbind.py --status-dev net shows the binding.
 *
 * Profile clients (IOMMU): the e1000 (INTx only), the e1000e (MSI, MSI-X)
 * and the modern virtio-net (through the IOMMU: iommu_platform=on), with
 * hugepages and with --no-huge, --iova-mode=va.  Profile clients-noiommu:
 * no-IOMMU mode (vfio.enable_unsafe_noiommu_mode=1) with hugepages and
 * --iova-mode=pa; the distro's vfio has no such mode (Debian builds it
 * without CONFIG_VFIO_NOIOMMU): it SKIPs there.
 *
 * Both sets run the same runs; every run of ours must have the outcome the
 * distro's had, and a line testpmd prints about vfio (or an error) on ours
 * that it did not print on the distro's fails.  The distro's results are
 * kept in files (each test is a process of its own).
 */
#include <ctype.h>
#include <signal.h>
#include <time.h>

#include "vfio_test_util.h"

#define TESTPMD		"/usr/bin/dpdk-testpmd"
#define DEVBIND		"/usr/bin/dpdk-devbind.py"
#define PYTHON		"/usr/bin/python3"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define NOIOMMU_PARAM	"/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define STATE_DIR	"/tmp/vfio_client_dpdk"
#define SET_FILE	STATE_DIR "/loaded"
/* 2 MiB pages: 256 MiB, far more than testpmd takes with few mbufs. */
#define HUGEPAGES	"128"
/* --no-huge: the memory EAL allocates and maps for DMA, MiB. */
#define NOHUGE_MB	"160"
/* Under TCG, EAL's start (128 plugins to load) takes 1-6 s here. */
#define START_MS	120000
#define FORWARD_MS	3000
#define EXIT_MS		60000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool noiommu_boot(void)
{
	const char *p = getenv("TB_PROFILE");

	return p && !strcmp(p, "clients-noiommu");
}

/* What one run came to; its outcome must be the same on both sets. */
struct dpdk_result {
	bool probed;		/* EAL: Probe PCI driver ... BDF */
	bool iommu_type;	/* EAL: using IOMMU type 1, or 8 (no-IOMMU) */
	bool started;		/* forwarding started */
	unsigned long rx, tx;	/* port 0's forward statistics */
	int status;		/* exit status; 255: a signal, -1: hung */
	bool bye;		/* testpmd's last word */
};

/* A run in progress, for the teardown to clean up. */
struct dpdk_state {
	const char *bdf;	/* bound to vfio-pci by the run */
	pid_t pmd;
	int pty;		/* testpmd's terminal, our side */
	int logfd;		/* what it printed */
	char log[PATH_MAX];
};

/*
 * Once, before the first test: nothing from an earlier run of this program
 * (which set is loaded, the distro's results) is believed.
 */
static void __attribute__((constructor)) state_reset(void)
{
	if (system("rm -rf " STATE_DIR))
		return;
}

FIXTURE(dpdk)
{
	struct dpdk_state s;
};

FIXTURE_VARIANT(dpdk)
{
	const char *set;
};

/* The distro's modules first: they are the control. */
FIXTURE_VARIANT_ADD(dpdk, distro)
{
	.set = "distro",
};

FIXTURE_VARIANT_ADD(dpdk, ours)
{
	.set = "ours",
};

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

/*
 * Load @set's vfio stack unless it is the one loaded: tb unload, then
 * VFIO_MODULES=@set, every device back where it started, tb load (with
 * no-IOMMU mode in the no-IOMMU boot).  NULL, or what failed.
 */
static const char *load_set(const char *set)
{
	char now[32] = "";

	read_file(SET_FILE, now, sizeof(now));
	if (!strcmp(now, set))
		return NULL;
	unlink(SET_FILE);
	if (tb_cmd("unload"))
		return "tb unload failed";
	setenv("VFIO_MODULES", set, 1);
	if (tb_cmd("reset"))
		return "tb reset failed";
	if (noiommu_boot() ? tb_cmd("load vfio.enable_unsafe_noiommu_mode=1") :
			     tb_cmd("load"))
		return "tb load failed";
	write_file(SET_FILE, set);
	return NULL;
}

FIXTURE_SETUP(dpdk)
{
	const char *err;
	char buf[16];

	self->s.pmd = 0;
	self->s.pty = -1;
	self->s.logfd = -1;
	self->s.bdf = NULL;
	signal(SIGPIPE, SIG_IGN);
	if (access(TESTPMD, X_OK))
		SKIP(return, "no %s: make check-clients' image has it",
		     TESTPMD);
	mkdir(STATE_DIR, 0755);
	/* EAL's runtime directory, as on a real system. */
	mkdir("/var", 0755);
	mkdir("/var/run", 0755);
	setenv("VFIO_MODULES", variant->set, 1);
	err = load_set(variant->set);
	ASSERT_EQ(NULL, err) TH_LOG("%s modules: %s", variant->set, err);
	if (noiommu_boot() && access(NOIOMMU_PARAM, F_OK))
		SKIP(return,
		     "%s vfio has no enable_unsafe_noiommu_mode (built without CONFIG_VFIO_NOIOMMU, as Debian's kernel is)",
		     variant->set);
	ASSERT_EQ(0, write_file(NR_HUGEPAGES, HUGEPAGES));
	ASSERT_LT(0, read_file(NR_HUGEPAGES, buf, sizeof(buf)));
	ASSERT_EQ(atoi(HUGEPAGES), atoi(buf));
}

FIXTURE_TEARDOWN(dpdk)
{
	if (self->s.pty >= 0)
		close(self->s.pty);
	if (self->s.logfd >= 0)
		close(self->s.logfd);
	if (self->s.pmd > 0) {
		kill(self->s.pmd, SIGKILL);
		waitpid(self->s.pmd, NULL, 0);
	}
	if (self->s.bdf)
		tb_cmd("host %s", self->s.bdf);
}

/* Does the file at @path have a line with @needle (case-insensitive)? */
static bool log_has(const char *path, const char *needle)
{
	char line[1024];
	bool found = false;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp))
		found = strcasestr(line, needle);
	fclose(fp);
	return found;
}

/* The number after @key on the first line of @fp from here that has it. */
static unsigned long stat_after(FILE *fp, const char *key)
{
	char line[1024], *p;

	while (fgets(line, sizeof(line), fp)) {
		p = strstr(line, key);
		if (p)
			return strtoul(p + strlen(key), NULL, 10);
	}
	return 0;
}

/*
 * Lines of testpmd's log that a difference between the sets would show in:
 * those naming vfio, and errors.  EAL's greeting is the same everywhere.
 */
static bool notable(const char *line)
{
	if (strstr(line, "VFIO support initialized"))
		return false;
	return strcasestr(line, "vfio") || strcasestr(line, "error") ||
	       strcasestr(line, "fail") || strcasestr(line, "cannot");
}

/*
 * @line with its numbers as '#': fds, addresses and counts may differ
 * between the sets without meaning anything.
 */
static const char *sans_digits(const char *line, char *buf, size_t size)
{
	size_t i;

	for (i = 0; line[i] && i < size - 1; i++)
		buf[i] = isdigit((unsigned char)line[i]) ? '#' : line[i];
	buf[i] = 0;
	return buf;
}

/*
 * Log what matters of testpmd's output (the whole is in STATE_DIR); write
 * its notable lines to @notes.  @all: log every line.
 */
static void parse_log(struct __test_metadata *_metadata, const char *log,
		      const char *notes, struct dpdk_result *r, bool all)
{
	char line[1024], buf[1024];
	FILE *fp, *nfp;

	fp = fopen(log, "r");
	ASSERT_NE(NULL, fp);
	nfp = fopen(notes, "w");
	ASSERT_NE(NULL, nfp);
	while (fgets(line, sizeof(line), fp)) {
		/* A terminal's lines end in \r\n. */
		line[strcspn(line, "\r\n")] = 0;
		if (notable(line))
			fprintf(nfp, "%s\n", sans_digits(line, buf, sizeof(buf)));
		if (all || notable(line) || !strncmp(line, "EAL:", 4) ||
		    strstr(line, "Port 0") || strstr(line, "-packets:") ||
		    strstr(line, "testpmd> ") || strstr(line, "Bye"))
			TH_LOG("testpmd: %s", line);
		if (strstr(line, "Accumulated forward statistics")) {
			r->rx = stat_after(fp, "RX-packets:");
			r->tx = stat_after(fp, "TX-packets:");
		}
	}
	fclose(nfp);
	fclose(fp);
}

/* Lines of @notes that @control does not have; logged, counted. */
static int new_notes(struct __test_metadata *_metadata, const char *notes,
		     const char *control)
{
	char line[1024];
	int n = 0;
	FILE *fp = fopen(notes, "r");

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = 0;
		if (!log_has(control, line)) {
			TH_LOG("only on ours: %s", line);
			n++;
		}
	}
	fclose(fp);
	return n;
}

/*
 * After testpmd: what DPDK opens, opened again - the group (noiommu-N in
 * no-IOMMU mode) is viable, takes a container with the IOMMU type DPDK
 * uses, and gives the device fd.  Nothing of testpmd's still holds them.
 */
static void reopen(struct __test_metadata *_metadata, const char *bdf)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int group, container, gfd, dfd;
	char path[PATH_MAX];

	group = vfio_pci_group(bdf);
	ASSERT_LE(0, group);
	snprintf(path, sizeof(path), "/dev/vfio/%s%d",
		 noiommu_boot() ? "noiommu-" : "", group);
	container = open(VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, container);
	gfd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, gfd) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, ioctl(gfd, VFIO_GROUP_GET_STATUS, &st));
	ASSERT_TRUE(st.flags & VFIO_GROUP_FLAGS_VIABLE);
	ASSERT_EQ(0, ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU,
			   noiommu_boot() ? VFIO_NOIOMMU_IOMMU :
					    VFIO_TYPE1_IOMMU));
	dfd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, dfd) TH_LOG("GET_DEVICE_FD: %s", strerror(errno));
	close(dfd);
	close(gfd);
	close(container);
}

/* dpdk-devbind.py --status-dev net shows @bdf on vfio-pci. */
static void devbind_status(struct __test_metadata *_metadata, const char *bdf)
{
	char cmd[256], line[512];
	bool bound = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s %s --status-dev net 2>&1", PYTHON,
		 DEVBIND);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		if (strstr(line, bdf)) {
			TH_LOG("dpdk-devbind.py: %s", line);
			bound |= !!strstr(line, "drv=vfio-pci");
		}
	}
	ASSERT_EQ(0, pclose(p));
	ASSERT_TRUE(bound);
}

/* testpmd's output, all of it (a few KiB), to look for its prompts in. */
static char out[1 << 18];
static size_t out_len, out_seen;

/*
 * Copy what testpmd prints (its terminal: @s->pty) to its log and to out[]
 * for up to @ms, until @needle shows up past what earlier calls matched,
 * or testpmd closes its terminal.  Without @needle, the whole @ms.
 */
static bool pump(struct dpdk_state *s, const char *needle, int ms)
{
	long end = now_ms() + ms;
	char buf[4096];
	ssize_t n;

	for (;;) {
		char *p = needle ? memmem(out + out_seen, out_len - out_seen,
					  needle, strlen(needle)) : NULL;

		if (p) {
			out_seen = p - out + strlen(needle);
			return true;
		}
		if (s->pty < 0 || now_ms() >= end)
			return false;
		if (vfio_wait_readable(s->pty, end - now_ms()) <= 0)
			continue;
		n = read(s->pty, buf, sizeof(buf));
		if (n <= 0) {
			/* EIO: testpmd, the terminal's last user, is gone. */
			close(s->pty);
			s->pty = -1;
			continue;
		}
		if (write(s->logfd, buf, n) != n)
			return false;
		if ((size_t)n > sizeof(out) - out_len)
			n = sizeof(out) - out_len;
		memcpy(out + out_len, buf, n);
		out_len += n;
	}
}

/* Type @line at testpmd's prompt. */
static bool type(struct dpdk_state *s, const char *line)
{
	ssize_t len = strlen(line);

	return s->pty >= 0 && write(s->pty, line, len) == len;
}

/*
 * One run of testpmd on @bdf, driven at its interactive prompt on a
 * terminal of its own (its output is then line-buffered, as a user sees
 * it): io forwarding with port 0 looped onto itself (--port-topology=loop),
 * "start tx_first" (a first burst, then whatever comes back is sent
 * again), a few seconds of that, "stop" (the statistics), "quit".
 */
static void dpdk_run(struct __test_metadata *_metadata,
		     struct dpdk_state *self, const char *set,
		     const char *name, const char *bdf, const char *intr,
		     bool no_huge)
{
	char notes[PATH_MAX], control[PATH_MAX], outcome[256], prev[256];
	char intr_arg[32], probe[64], *slave;
	struct dpdk_result r = { .status = -1 };
	const char *argv[32];
	long t0 = now_ms(), t_start, t_fwd;
	int argc = 0;

	if (noiommu_boot() != !strcmp(name + strlen(name) - 2, "pa"))
		SKIP(return, "%s", noiommu_boot() ?
		     "an IOMMU run: make check-clients' clients profile" :
		     "a no-IOMMU run: the clients-noiommu profile");
	snprintf(self->log, sizeof(self->log), STATE_DIR "/%s.%s.log", name,
		 set);
	snprintf(notes, sizeof(notes), STATE_DIR "/%s.%s.notes", name, set);
	snprintf(control, sizeof(control), STATE_DIR "/%s.distro.notes", name);
	snprintf(intr_arg, sizeof(intr_arg), "--vfio-intr=%s", intr);

	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", bdf));
	self->bdf = bdf;

	argv[argc++] = TESTPMD;
	argv[argc++] = "-l";
	argv[argc++] = "0-1";
	argv[argc++] = "-a";
	argv[argc++] = bdf;
	/* Nothing shared with other DPDK processes (--no-huge: it has none). */
	argv[argc++] = no_huge ? "--no-shconf" : "--in-memory";
	argv[argc++] = "--no-telemetry";
	argv[argc++] = noiommu_boot() ? "--iova-mode=pa" : "--iova-mode=va";
	argv[argc++] = intr_arg;
	if (no_huge) {
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = NOHUGE_MB;
	}
	argv[argc++] = "--";
	argv[argc++] = "-i";
	argv[argc++] = "--total-num-mbufs=2048";
	argv[argc++] = "--rxd=256";
	argv[argc++] = "--txd=256";
	argv[argc++] = "--forward-mode=io";
	argv[argc++] = "--port-topology=loop";
	argv[argc] = NULL;

	self->logfd = open(self->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			   0644);
	ASSERT_LE(0, self->logfd);
	self->pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, self->pty);
	ASSERT_EQ(0, grantpt(self->pty));
	ASSERT_EQ(0, unlockpt(self->pty));
	slave = ptsname(self->pty);
	ASSERT_NE(NULL, slave);
	out_len = 0;
	out_seen = 0;
	fflush(NULL);
	self->pmd = fork();
	ASSERT_LE(0, self->pmd);
	if (!self->pmd) {
		int tty;

		setsid();
		tty = open(slave, O_RDWR);
		if (tty < 0 || dup2(tty, 0) < 0 || dup2(tty, 1) < 0 ||
		    dup2(tty, 2) < 0)
			_exit(127);
		execv(TESTPMD, (char **)argv);
		_exit(127);
	}

	/* The first prompt: EAL up, the port configured and started. */
	if (pump(self, "testpmd> ", START_MS)) {
		t_start = now_ms();
		type(self, "start tx_first\n");
		r.started = pump(self, "packet forwarding - ports=1", 30000);
		pump(self, NULL, FORWARD_MS);
		t_fwd = now_ms();
		type(self, "stop\n");
		pump(self, "Accumulated forward statistics", 30000);
		pump(self, "testpmd> ", 30000);
	} else {
		t_start = now_ms();
		t_fwd = t_start;
	}
	/* quit: stop and close the port, EAL's cleanup, exit. */
	type(self, "quit\n");
	pump(self, NULL, EXIT_MS);
	r.status = vfio_wait_child(self->pmd, 1000);
	if (r.status < 0) {
		kill(self->pmd, SIGKILL);
		waitpid(self->pmd, NULL, 0);
	}
	self->pmd = 0;
	TH_LOG("%s: EAL and port up in %ld ms, forwarded %ld ms, exited in %ld ms",
	       set, t_start - t0, t_fwd - t_start, now_ms() - t_fwd);

	/* All of it when testpmd never got to forwarding. */
	parse_log(_metadata, self->log, notes, &r, !r.started);
	/* EAL: Probe PCI driver: net_... (vendor:device) device: BDF ... */
	snprintf(probe, sizeof(probe), "device: %s", bdf);
	r.probed = log_has(self->log, "Probe PCI driver") &&
		   log_has(self->log, probe);
	r.iommu_type = log_has(self->log, noiommu_boot() ?
			       "using IOMMU type 8" : "using IOMMU type 1");
	r.bye = log_has(self->log, "Bye");
	snprintf(outcome, sizeof(outcome),
		 "probed=%d iommu_type=%d started=%d tx=%d rx=%d status=%d bye=%d",
		 r.probed, r.iommu_type, r.started, r.tx > 0, r.rx > 0,
		 r.status, r.bye);
	TH_LOG("%s: %s (tx %lu, rx %lu)", set, outcome, r.tx, r.rx);
	snprintf(prev, sizeof(prev), STATE_DIR "/%s.%s.outcome", name, set);
	write_file(prev, outcome);

	/*
	 * Ours against the distro's run, when there was one (no-IOMMU: not
	 * on Debian's kernel): the same outcome, nothing new about vfio.
	 */
	if (!strcmp(set, "ours") && !access(control, R_OK)) {
		char theirs[256] = "";

		snprintf(prev, sizeof(prev), STATE_DIR "/%s.distro.outcome",
			 name);
		read_file(prev, theirs, sizeof(theirs));
		EXPECT_STREQ(theirs, outcome);
		EXPECT_EQ(0, new_notes(_metadata, notes, control));
	}

	/* What must hold on every set. */
	EXPECT_TRUE(r.probed);
	EXPECT_TRUE(r.iommu_type);
	ASSERT_TRUE(r.started);
	EXPECT_LT(0, r.tx);
	/* Every NIC's backend sends its packets back. */
	EXPECT_LT(0, r.rx);
	EXPECT_EQ(0, r.status);
	EXPECT_TRUE(r.bye);

	reopen(_metadata, bdf);
	devbind_status(_metadata, bdf);
}

/*
 * The IOMMU boot, --iova-mode=va: each interrupt mode a NIC offers
 * (--vfio-intr: the e1000 has INTx only, the virtio-net no MSI), and each
 * NIC without hugepages (--no-huge: DMA-mapped anonymous memory) once.
 */
TEST_F_TIMEOUT(dpdk, e1000_intx, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "e1000_intx",
		 TB_CLIENT_E1000_BDF, "legacy", false);
}

TEST_F_TIMEOUT(dpdk, e1000_intx_nohuge, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "e1000_intx_nohuge",
		 TB_CLIENT_E1000_BDF, "legacy", true);
}

TEST_F_TIMEOUT(dpdk, e1000e_msi, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "e1000e_msi",
		 TB_CLIENT_E1000E_BDF, "msi", false);
}

TEST_F_TIMEOUT(dpdk, e1000e_msix, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "e1000e_msix",
		 TB_CLIENT_E1000E_BDF, "msix", false);
}

TEST_F_TIMEOUT(dpdk, e1000e_msix_nohuge, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "e1000e_msix_nohuge",
		 TB_CLIENT_E1000E_BDF, "msix", true);
}

TEST_F_TIMEOUT(dpdk, virtio_msix, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "virtio_msix",
		 TB_CLIENT_VIRTIO_NET_BDF, "msix", false);
}

TEST_F_TIMEOUT(dpdk, virtio_msix_nohuge, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "virtio_msix_nohuge",
		 TB_CLIENT_VIRTIO_NET_BDF, "msix", true);
}

TEST_F_TIMEOUT(dpdk, virtio_intx, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "virtio_intx",
		 TB_CLIENT_VIRTIO_NET_BDF, "legacy", false);
}

/* The no-IOMMU boot: --iova-mode=pa, hugepages (names end in "pa"). */
TEST_F_TIMEOUT(dpdk, e1000_intx_pa, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "e1000_intx_pa",
		 TB_CLIENT_E1000_BDF, "legacy", false);
}

TEST_F_TIMEOUT(dpdk, e1000e_msi_pa, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "e1000e_msi_pa",
		 TB_CLIENT_E1000E_BDF, "msi", false);
}

TEST_F_TIMEOUT(dpdk, e1000e_msix_pa, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "e1000e_msix_pa",
		 TB_CLIENT_E1000E_BDF, "msix", false);
}

TEST_F_TIMEOUT(dpdk, virtio_msix_pa, 300)
{
	dpdk_run(_metadata, &self->s, variant->set, "virtio_msix_pa",
		 TB_CLIENT_VIRTIO_NET_BDF, "msix", false);
}

TEST_HARNESS_MAIN
