// SPDX-License-Identifier: GPL-2.0
/*
 * No-IOMMU mode (vfio.enable_unsafe_noiommu_mode), end to end, in the boot
 * without an IOMMU (make check PROFILE=noiommu): a device with no IOMMU
 * group gets /dev/vfio/noiommu-N when bound to vfio-pci, and a user with
 * CAP_SYS_RAWIO drives it as DPDK does in its PA mode: the device fd, a BAR
 * mmap, interrupts, and DMA to a physical address found in
 * /proc/self/pagemap.
 *
 * Each rule is its own case.  Upstream 6.12 is the oracle where it defines
 * the behaviour (errnos of the gates and of the container), but the distro
 * kernel is built without CONFIG_VFIO_NOIOMMU, so there every case SKIPs
 * saying so.  One case is ours alone: the mode cannot be switched off while
 * a no-IOMMU group exists (see "No-IOMMU mode" in
 * Documentation/driver-api/vfio.rst).
 *
 * The program is in the IOMMU boot's list too, for the one case that needs
 * a real IOMMU: a device in a real IOMMU group never becomes a no-IOMMU one.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/mman.h>

#include "vfio_test_util.h"
#include "vfio_type1_util.h"

#define NOIOMMU_PARAM	"/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define TAINTED		"/proc/sys/kernel/tainted"
#define TAINT_USER_BIT	6	/* 'U' */
#define CAP_SYS_RAWIO_	17

/* edu BAR0 registers */
#define EDU_ID		0x00
#define EDU_LIVENESS	0x04
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64
#define EDU_BAR0_SIZE	0x100000UL
/* edu's DMA engine takes 28-bit addresses. */
#define EDU_DMA_LIMIT	0x10000000UL

#define PCI_CFG_COMMAND	0x04
#define CMD_MEMORY	0x0002
#define CMD_MASTER	0x0004

#define DELIVER_MS	5000
#define CYCLES		100

/* ---- the mode and its groups ----------------------------------------- */

static bool noiommu_built_in(void)
{
	return !access(NOIOMMU_PARAM, F_OK);
}

#define NO_NOIOMMU_MSG \
	"vfio (%s) has no enable_unsafe_noiommu_mode: built without CONFIG_VFIO_NOIOMMU, as the distro kernel is"

/* SKIP unless this is the no-IOMMU boot with a vfio that has the mode. */
#define NOIOMMU_REQUIRED(action) \
	do { \
		if (!tb_noiommu_profile()) \
			SKIP(action, "needs the no-IOMMU boot (make check PROFILE=noiommu)"); \
		if (!noiommu_built_in()) \
			SKIP(action, NO_NOIOMMU_MSG, tb_vfio_modules()); \
	} while (0)

static int set_mode(bool on)
{
	return vfio_sysfs_write(NOIOMMU_PARAM, on ? "1" : "0");
}

/* 'Y', 'N', or 0 when unreadable. */
static char mode_now(void)
{
	char buf[8] = "";

	if (vfio_sysfs_read(NOIOMMU_PARAM, buf, sizeof(buf)))
		return 0;
	return buf[0];
}

static void noiommu_path(int group, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/vfio/noiommu-%d", group);
}

static int _noiommu_group_open(int group, int *fd)
{
	char path[PATH_MAX];

	noiommu_path(group, path, sizeof(path));
	*fd = open(path, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? errno : 0;
}

static bool noiommu_node_exists(int group)
{
	char path[PATH_MAX];

	noiommu_path(group, path, sizeof(path));
	return !access(path, F_OK);
}

/* Entries of @dir whose name starts with @prefix (none if no @dir). */
static int count_entries(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    !strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static long tainted(void)
{
	char buf[32];

	if (vfio_sysfs_read(TAINTED, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static bool taint_user(void)
{
	long t = tainted();

	return t >= 0 && (t & (1L << TAINT_USER_BIT));
}

/* ---- the kernel log -------------------------------------------------- */

/* Is there a record, from @fd's position on, holding both needles?  */
static bool kmsg_has(int fd, const char *a, const char *b)
{
	char rec[1024];
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			return false;
		rec[n] = '\0';
		if (strstr(rec, a) && (!b || strstr(rec, b)))
			return true;
	}
}

/* ---- capabilities ---------------------------------------------------- */

static int drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return errno;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	data[cap / 32].permitted &= ~(1U << (cap % 32));
	data[cap / 32].inheritable &= ~(1U << (cap % 32));
	if (syscall(SYS_capset, &hdr, data))
		return errno;
	return 0;
}

#define NO_CAPSET	200

/*
 * Run @fn(@fd, @arg) in a child without CAP_SYS_RAWIO: its result (0 or
 * an errno), NO_CAPSET if the capability could not be dropped.
 */
static int without_rawio(int (*fn)(int fd, const char *arg), int fd,
			 const char *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (drop_cap(CAP_SYS_RAWIO_))
			_exit(NO_CAPSET);
		_exit(fn(fd, arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int try_open_group(int group, const char *unused)
{
	int fd, err;

	err = _noiommu_group_open(group, &fd);
	if (!err)
		close(fd);
	return err;
}

static int try_set_container(int group_fd, const char *container)
{
	return _vfio_group_set_container(group_fd, atoi(container));
}

static int try_set_iommu(int container, const char *unused)
{
	return _vfio_set_iommu(container, VFIO_NOIOMMU_IOMMU);
}

static int try_get_device_fd(int group_fd, const char *name)
{
	int fd, err;

	err = _vfio_group_get_device_fd(group_fd, name, &fd);
	if (!err)
		close(fd);
	return err;
}

/* ---- a device and its no-IOMMU group ------------------------------- */

struct nodev {
	const char *bdf;
	int group_id;
	int container;
	int group;
	int device;
	struct vfio_pci_binding saved;
};

static void nodev_init(struct nodev *d)
{
	memset(d, 0, sizeof(*d));
	d->group_id = -1;
	d->container = -1;
	d->group = -1;
	d->device = -1;
}

/* @bdf on vfio-pci with the mode on: its no-IOMMU group exists. */
static void nodev_bind(struct __test_metadata *_metadata, struct nodev *d,
		       const char *bdf)
{
	nodev_init(d);
	ASSERT_EQ(0, set_mode(true));
	d->bdf = bdf;
	vfio_pci_save(bdf, &d->saved);
	vfio_pci_bind(bdf, VFIO_PCI_DRIVER);
	d->group_id = vfio_pci_group(bdf);
	ASSERT_LE(0, d->group_id);
	ASSERT_TRUE(noiommu_node_exists(d->group_id));
}

/* The rest of the way: container, group, model, device fd. */
static void nodev_open(struct __test_metadata *_metadata, struct nodev *d)
{
	vfio_container_open(&d->container);
	ASSERT_EQ(0, _noiommu_group_open(d->group_id, &d->group));
	vfio_group_set_container(d->group, d->container);
	vfio_set_iommu(d->container, VFIO_NOIOMMU_IOMMU);
	vfio_group_get_device_fd(d->group, d->bdf, &d->device);
}

/* Close everything, give the device back, switch the mode off. */
static void nodev_close(struct __test_metadata *_metadata, struct nodev *d)
{
	vfio_close_fd(&d->device);
	vfio_close_fd(&d->group);
	vfio_close_fd(&d->container);
	if (d->bdf)
		EXPECT_EQ(0, _vfio_pci_restore(&d->saved));
	if (noiommu_built_in())
		EXPECT_EQ(0, set_mode(false));
}

static int bar0_write32(int fd, unsigned int off, uint32_t v)
{
	if (pwrite(fd, &v, 4, VFIO_REGION_OFFSET(VFIO_PCI_BAR0_REGION_INDEX) +
		   off) != 4)
		return errno;
	return 0;
}

FIXTURE(noiommu)
{
	struct nodev edu;
};

FIXTURE_SETUP(noiommu)
{
	nodev_init(&self->edu);
	NOIOMMU_REQUIRED(return);
	nodev_bind(_metadata, &self->edu, TB_EDU_BDF);
}

FIXTURE_TEARDOWN(noiommu)
{
	nodev_close(_metadata, &self->edu);
}

/* ---- the flow -------------------------------------------------------- */

TEST_F(noiommu, whole_flow_to_device_fd_and_bar_mmap)
{
	struct vfio_region_info bar = {};
	struct vfio_device_info info;
	uint32_t *regs;
	uint32_t flags;
	int c;

	vfio_container_open(&c);
	ASSERT_EQ(1, vfio_check_extension(c, VFIO_NOIOMMU_IOMMU));
	close(c);

	nodev_open(_metadata, &self->edu);
	flags = vfio_group_flags(self->edu.group);
	ASSERT_TRUE(flags & VFIO_GROUP_FLAGS_VIABLE);
	ASSERT_TRUE(flags & VFIO_GROUP_FLAGS_CONTAINER_SET);

	vfio_device_get_info(self->edu.device, &info);
	ASSERT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	vfio_device_get_region_info(self->edu.device,
				    VFIO_PCI_BAR0_REGION_INDEX, &bar);
	ASSERT_TRUE(bar.flags & VFIO_REGION_INFO_FLAG_MMAP);
	ASSERT_EQ(EDU_BAR0_SIZE, bar.size);

	vfio_config_set_reg(self->edu.device, PCI_CFG_COMMAND, 2, CMD_MEMORY);
	regs = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    self->edu.device, bar.offset);
	ASSERT_NE(MAP_FAILED, regs);
	/* edu's identification: major 1, minor 0, 0xed. */
	EXPECT_EQ(0x010000edu, __atomic_load_n(&regs[EDU_ID / 4],
					       __ATOMIC_RELAXED));
	__atomic_store_n(&regs[EDU_LIVENESS / 4], 0x12345678, __ATOMIC_RELAXED);
	EXPECT_EQ(~0x12345678u, __atomic_load_n(&regs[EDU_LIVENESS / 4],
						__ATOMIC_RELAXED));
	munmap(regs, bar.size);
}

/*
 * A locked page below edu's 28-bit DMA limit: allocate in chunks, keep
 * the first page whose frame is low enough, give the rest back.  Its
 * physical address in *@pa; NULL if none was found in @budget bytes.
 */
static void *low_locked_page(size_t budget, uint64_t *pa)
{
	const size_t chunk = 4UL << 20;
	void *found = NULL;
	void *maps[256];
	int nmaps = 0;
	int pm;

	pm = open("/proc/self/pagemap", O_RDONLY);
	if (pm < 0)
		return NULL;
	for (size_t done = 0; !found && done < budget &&
	     nmaps < (int)ARRAY_SIZE(maps); done += chunk) {
		char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED |
			       MAP_POPULATE, -1, 0);

		if (p == MAP_FAILED)
			break;
		maps[nmaps++] = p;
		for (size_t off = 0; off < chunk; off += PG) {
			uint64_t ent, pfn;

			if (pread(pm, &ent, 8, (uintptr_t)(p + off) / PG * 8) != 8)
				break;
			pfn = ent & ((1ULL << 55) - 1);
			if (!(ent >> 63) || !pfn)
				continue;
			if ((pfn + 1) * PG <= EDU_DMA_LIMIT) {
				/* Keep this page alone, locked. */
				found = mmap(NULL, PG, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (found == MAP_FAILED) {
					found = NULL;
					break;
				}
				munmap(found, PG);
				found = mremap(p + off, PG, PG,
					       MREMAP_MAYMOVE | MREMAP_FIXED,
					       found);
				if (found == MAP_FAILED)
					found = NULL;
				*pa = pfn * PG;
				break;
			}
		}
	}
	while (nmaps--)
		munmap(maps[nmaps], chunk);
	close(pm);
	return found;
}

/* The frame behind @va now, or 0. */
static uint64_t pa_of(void *va)
{
	uint64_t ent = 0;
	int pm = open("/proc/self/pagemap", O_RDONLY);

	if (pm < 0)
		return 0;
	if (pread(pm, &ent, 8, (uintptr_t)va / PG * 8) != 8)
		ent = 0;
	close(pm);
	if (!(ent >> 63))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * PG;
}

/*
 * DMA by physical address, as DPDK's --iova-mode=pa: the device copies
 * the first half of a locked page into its buffer and back into the second
 * half.  The page has to stay put: it is mlocked, and the user trusts that,
 * exactly as a PA-mode user does.
 */
TEST_F_TIMEOUT(noiommu, edu_dma_by_physical_address, 120)
{
	const size_t half = TB_EDU_DMA_MAX / 2;
	struct edu edu = { .fd = -1 };
	uint64_t pa = 0;
	uint8_t *page;

	page = low_locked_page(512UL << 20, &pa);
	if (!page)
		SKIP(return,
		     "no locked page below edu's 28-bit DMA limit in 512 MiB of allocations");
	ASSERT_EQ(pa, pa_of(page));
	TH_LOG("page at physical %#llx", (unsigned long long)pa);

	for (size_t i = 0; i < PG; i++)
		page[i] = i < half ? (uint8_t)(i * 7 + 3) : 0;

	nodev_open(_metadata, &self->edu);
	edu.fd = self->edu.device;
	ASSERT_EQ(0, region_offset(edu.fd, VFIO_PCI_BAR0_REGION_INDEX,
				   &edu.bar0));
	vfio_config_set_reg(edu.fd, PCI_CFG_COMMAND, 2,
			    CMD_MEMORY | CMD_MASTER);

	ASSERT_EQ(0, edu_read_iova(&edu, pa, half));
	ASSERT_EQ(0, edu_write_iova(&edu, pa + PG / 2, half));
	ASSERT_EQ(pa, pa_of(page));
	ASSERT_EQ(0, memcmp(page, page + PG / 2, half));
	/* Nothing outside the asked range was written. */
	for (size_t i = PG / 2 + half; i < PG; i++)
		ASSERT_EQ(0, page[i]);
	munmap(page, PG);
}

/* ---- CAP_SYS_RAWIO at every step ------------------------------------- */

TEST_F(noiommu, group_open_needs_cap_sys_rawio)
{
	ASSERT_EQ(EPERM, without_rawio(try_open_group, self->edu.group_id,
				       NULL));
	/* With the capability it opens. */
	ASSERT_EQ(0, try_open_group(self->edu.group_id, NULL));
}

TEST_F(noiommu, set_container_needs_cap_sys_rawio)
{
	char container[16];

	vfio_container_open(&self->edu.container);
	ASSERT_EQ(0, _noiommu_group_open(self->edu.group_id,
					 &self->edu.group));
	snprintf(container, sizeof(container), "%d", self->edu.container);
	ASSERT_EQ(EPERM, without_rawio(try_set_container, self->edu.group,
				       container));
	ASSERT_FALSE(vfio_group_flags(self->edu.group) &
		     VFIO_GROUP_FLAGS_CONTAINER_SET);
	vfio_group_set_container(self->edu.group, self->edu.container);
}

TEST_F(noiommu, set_iommu_noiommu_needs_cap_sys_rawio)
{
	vfio_container_open(&self->edu.container);
	ASSERT_EQ(0, _noiommu_group_open(self->edu.group_id,
					 &self->edu.group));
	vfio_group_set_container(self->edu.group, self->edu.container);
	ASSERT_EQ(EPERM, without_rawio(try_set_iommu, self->edu.container,
				       NULL));
	/* The failure left no model behind: setting one still works. */
	vfio_set_iommu(self->edu.container, VFIO_NOIOMMU_IOMMU);
}

TEST_F(noiommu, get_device_fd_needs_cap_sys_rawio)
{
	vfio_container_open(&self->edu.container);
	ASSERT_EQ(0, _noiommu_group_open(self->edu.group_id,
					 &self->edu.group));
	vfio_group_set_container(self->edu.group, self->edu.container);
	vfio_set_iommu(self->edu.container, VFIO_NOIOMMU_IOMMU);
	ASSERT_EQ(EPERM, without_rawio(try_get_device_fd, self->edu.group,
				       TB_EDU_BDF));
	ASSERT_EQ(0, try_get_device_fd(self->edu.group, TB_EDU_BDF));
}

/* ---- taint and log --------------------------------------------------- */

/*
 * Binding taints the kernel (TAINT_USER) with a warning naming the
 * device; opening the device logs the opener's comm and pid.  The taint is
 * sticky, so "it was clear before the bind" is only checked when it was.
 */
TEST(bind_taints_and_device_open_is_logged)
{
	char comm[32] = "", needle[64];
	bool before = taint_user();
	struct nodev d;
	int kmsg;

	nodev_init(&d);
	NOIOMMU_REQUIRED(return);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	nodev_bind(_metadata, &d, TB_EDU_BDF);
	if (before)
		TH_LOG("TAINT_USER was set before the bind");
	EXPECT_TRUE(taint_user());
	EXPECT_TRUE(kmsg_has(kmsg, TB_EDU_BDF ": ", "taint"));

	nodev_open(_metadata, &d);
	ASSERT_EQ(0, vfio_sysfs_read("/proc/self/comm", comm, sizeof(comm)));
	snprintf(needle, sizeof(needle), "(%s:%d)", comm, getpid());
	EXPECT_TRUE(kmsg_has(kmsg, TB_EDU_BDF ": ", needle)) {
		TH_LOG("no log line naming %s", needle);
	}
	close(kmsg);
	nodev_close(_metadata, &d);
}

/* ---- the mode -------------------------------------------------------- */

TEST(mode_off_no_noiommu_group_on_bind)
{
	struct vfio_pci_binding saved;
	int groups;

	NOIOMMU_REQUIRED(return);
	ASSERT_EQ(0, set_mode(false));
	groups = count_entries("/dev/vfio", "noiommu-");
	vfio_pci_save(TB_EDU_BDF, &saved);
	EXPECT_EQ(EINVAL, _vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER));
	EXPECT_FALSE(vfio_pci_driver_is(TB_EDU_BDF, VFIO_PCI_DRIVER));
	EXPECT_EQ(-ENOENT, vfio_pci_group(TB_EDU_BDF));
	EXPECT_EQ(groups, count_entries("/dev/vfio", "noiommu-"));
	EXPECT_EQ(0, count_entries("/sys/kernel/iommu_groups", ""));
	vfio_pci_restore(&saved);
}

TEST(check_extension_follows_the_mode)
{
	int c;

	NOIOMMU_REQUIRED(return);
	vfio_container_open(&c);
	ASSERT_EQ(0, set_mode(true));
	EXPECT_EQ('Y', mode_now());
	EXPECT_EQ(1, vfio_check_extension(c, VFIO_NOIOMMU_IOMMU));
	ASSERT_EQ(0, set_mode(false));
	EXPECT_EQ('N', mode_now());
	EXPECT_EQ(0, vfio_check_extension(c, VFIO_NOIOMMU_IOMMU));
	/* Nothing to set a model for yet, mode or not. */
	EXPECT_EQ(EINVAL, _vfio_set_iommu(c, VFIO_NOIOMMU_IOMMU));
	close(c);
}

/* Toggled at runtime, the mode decides what the next bind gets. */
TEST(runtime_toggle_decides_the_next_bind)
{
	struct vfio_pci_binding saved;
	int i;

	NOIOMMU_REQUIRED(return);
	vfio_pci_save(TB_EDU_BDF, &saved);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, set_mode(true));
		vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER);
		ASSERT_TRUE(noiommu_node_exists(vfio_pci_group(TB_EDU_BDF)));
		vfio_pci_unbind(TB_EDU_BDF);
		ASSERT_EQ(0, set_mode(false));
		vfio_pci_bind_err(EINVAL, TB_EDU_BDF, VFIO_PCI_DRIVER);
	}
	vfio_pci_restore(&saved);
}

/*
 * Ours: the mode stays on while a no-IOMMU group exists.  Switching it off
 * under a group would leave a group that can be opened and attached but
 * never given a model (VFIO_SET_IOMMU(8) answers only while the mode is
 * on); the write fails with EBUSY instead, the group keeps working, and
 * once the device is unbound the mode goes off.
 */
TEST_F(noiommu, mode_stays_on_while_a_noiommu_group_exists)
{
	if (!tb_ours())
		SKIP(return,
		     "ours only: upstream accepts the write and leaves the group half usable");
	ASSERT_EQ(EBUSY, set_mode(false));
	ASSERT_EQ('Y', mode_now());
	/* The group still goes the whole way. */
	nodev_open(_metadata, &self->edu);
	vfio_close_fd(&self->edu.device);
	vfio_close_fd(&self->edu.group);
	vfio_close_fd(&self->edu.container);
	ASSERT_EQ(EBUSY, set_mode(false));

	vfio_pci_unbind(TB_EDU_BDF);
	ASSERT_EQ(0, set_mode(false));
	ASSERT_EQ('N', mode_now());
	vfio_pci_bind_err(EINVAL, TB_EDU_BDF, VFIO_PCI_DRIVER);
}

/*
 * As DPDK's guide has it: "modprobe vfio enable_unsafe_noiommu_mode=1",
 * and a bare "enable_unsafe_noiommu_mode" means on as for any bool.  The
 * value is taken before the module's init runs.
 */
/* Cases that may need more than the harness's default 30 s (debug kernel). */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, mode_set_at_module_load, 120)
{
	static const char * const how[] = {
		"vfio.enable_unsafe_noiommu_mode=1",
		"vfio.enable_unsafe_noiommu_mode",
	};
	struct vfio_pci_binding saved;

	NOIOMMU_REQUIRED(return);
	vfio_pci_save(TB_EDU_BDF, &saved);
	for (size_t i = 0; i < ARRAY_SIZE(how); i++) {
		ASSERT_EQ(0, tb_cmd("reload %s", how[i]));
		ASSERT_EQ('Y', mode_now());
		vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER);
		ASSERT_TRUE(noiommu_node_exists(vfio_pci_group(TB_EDU_BDF)));
		vfio_pci_restore(&saved);
	}
	ASSERT_EQ(0, tb_cmd("reload"));
	ASSERT_EQ('N', mode_now());
}

/*
 * Binds racing with the mode being switched on and off: each bind either
 * gets its group or fails whole, and afterwards nothing is left over - no
 * group node, no made-up IOMMU group - so the mode goes off and stays off.
 */
TEST_F_TIMEOUT(slow, toggle_races_bind_and_leaves_nothing_behind, 120)
{
	char bind[PATH_MAX], unbind[PATH_MAX];
	struct vfio_pci_binding saved;
	int bound = 0, refused = 0;
	pid_t toggler;

	NOIOMMU_REQUIRED(return);
	snprintf(bind, sizeof(bind), PCI_DRIVERS "/%s/bind", VFIO_PCI_DRIVER);
	snprintf(unbind, sizeof(unbind), PCI_DRIVERS "/%s/unbind",
		 VFIO_PCI_DRIVER);
	vfio_pci_save(TB_EDU_BDF, &saved);
	ASSERT_EQ(0, set_mode(true));
	vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER);
	vfio_pci_unbind(TB_EDU_BDF);

	fflush(NULL);
	toggler = fork();
	ASSERT_LE(0, toggler);
	if (!toggler) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			set_mode(true);
			set_mode(false);
		}
	}
	for (int i = 0; i < 2 * CYCLES; i++) {
		int err = vfio_sysfs_write(bind, TB_EDU_BDF);

		if (err) {
			ASSERT_EQ(EINVAL, err);
			ASSERT_FALSE(vfio_pci_driver_is(TB_EDU_BDF,
							VFIO_PCI_DRIVER));
			refused++;
			continue;
		}
		bound++;
		ASSERT_TRUE(noiommu_node_exists(vfio_pci_group(TB_EDU_BDF)));
		ASSERT_EQ(0, vfio_sysfs_write(unbind, TB_EDU_BDF));
	}
	kill(toggler, SIGKILL);
	waitpid(toggler, NULL, 0);
	TH_LOG("%d binds got a group, %d were refused", bound, refused);

	ASSERT_EQ(0, set_mode(false));
	ASSERT_EQ(0, count_entries("/dev/vfio", "noiommu-"));
	ASSERT_EQ(0, count_entries("/sys/kernel/iommu_groups", ""));
	vfio_pci_bind_err(EINVAL, TB_EDU_BDF, VFIO_PCI_DRIVER);
	vfio_pci_restore(&saved);
}

/* Turning it on twice, or off when it is off, is no change. */
TEST(mode_writes_are_idempotent)
{
	NOIOMMU_REQUIRED(return);
	ASSERT_EQ(0, set_mode(true));
	ASSERT_EQ(0, set_mode(true));
	ASSERT_EQ('Y', mode_now());
	ASSERT_EQ(0, set_mode(false));
	ASSERT_EQ(0, set_mode(false));
	ASSERT_EQ('N', mode_now());
	ASSERT_EQ(EINVAL, vfio_sysfs_write(NOIOMMU_PARAM, "maybe"));
	ASSERT_EQ('N', mode_now());
}

/* ---- group numbers --------------------------------------------------- */

TEST_F_TIMEOUT(noiommu, bind_unbind_rebind_reuses_the_group_number, 120)
{
	char bind[PATH_MAX], unbind[PATH_MAX];
	int first = self->edu.group_id;
	int iommu_groups = count_entries("/sys/kernel/iommu_groups", "");
	int i, fd;

	snprintf(bind, sizeof(bind), PCI_DRIVERS "/%s/bind", VFIO_PCI_DRIVER);
	snprintf(unbind, sizeof(unbind), PCI_DRIVERS "/%s/unbind",
		 VFIO_PCI_DRIVER);
	for (i = 0; i < CYCLES; i++) {
		ASSERT_EQ(0, vfio_sysfs_write(unbind, TB_EDU_BDF));
		ASSERT_FALSE(noiommu_node_exists(first));
		ASSERT_EQ(-ENOENT, vfio_pci_group(TB_EDU_BDF));
		ASSERT_EQ(0, vfio_sysfs_write(bind, TB_EDU_BDF));
		ASSERT_EQ(first, vfio_pci_group(TB_EDU_BDF)) {
			TH_LOG("cycle %d: noiommu-%d, first was noiommu-%d", i,
			       vfio_pci_group(TB_EDU_BDF), first);
		}
		/* Every tenth time, the group is used before the unbind. */
		if (i % 10)
			continue;
		ASSERT_EQ(0, _noiommu_group_open(first, &fd));
		close(fd);
	}
	ASSERT_EQ(iommu_groups, count_entries("/sys/kernel/iommu_groups", ""));
	ASSERT_EQ(1, count_entries("/dev/vfio", "noiommu-"));
}

/*
 * A group file still open across unbind keeps its number, so the rebound
 * device gets a new group under another name, and the old file reaches
 * nothing; once the old file is closed the number is free again.
 */
TEST_F(noiommu, stale_group_file_does_not_collide_with_the_rebound_group)
{
	char bind[PATH_MAX];
	int first = self->edu.group_id;
	int second, fd;
	__u32 flags;

	snprintf(bind, sizeof(bind), PCI_DRIVERS "/%s/bind", VFIO_PCI_DRIVER);
	vfio_container_open(&self->edu.container);
	ASSERT_EQ(0, _noiommu_group_open(first, &self->edu.group));
	vfio_pci_unbind(TB_EDU_BDF);
	ASSERT_FALSE(noiommu_node_exists(first));
	ASSERT_EQ(0, vfio_sysfs_write(bind, TB_EDU_BDF));
	second = vfio_pci_group(TB_EDU_BDF);
	ASSERT_LE(0, second);
	ASSERT_NE(first, second);
	ASSERT_TRUE(noiommu_node_exists(second));
	ASSERT_EQ(1, count_entries("/dev/vfio", "noiommu-"));

	/* The old file: dead.  The new group: free to open and use. */
	ASSERT_EQ(ENODEV, _vfio_group_get_status(self->edu.group,
						 sizeof(struct vfio_group_status),
						 &flags));
	vfio_group_set_container_err(ENODEV, self->edu.group,
				     self->edu.container);
	ASSERT_EQ(0, _noiommu_group_open(second, &fd));
	vfio_group_set_container(fd, self->edu.container);
	vfio_set_iommu(self->edu.container, VFIO_NOIOMMU_IOMMU);
	vfio_group_get_device_fd(fd, TB_EDU_BDF, &self->edu.device);
	vfio_close_fd(&self->edu.device);
	close(fd);

	vfio_close_fd(&self->edu.group);
	vfio_pci_unbind(TB_EDU_BDF);
	ASSERT_EQ(0, vfio_sysfs_write(bind, TB_EDU_BDF));
	ASSERT_EQ(first, vfio_pci_group(TB_EDU_BDF));
	ASSERT_TRUE(noiommu_node_exists(first));
}

/* Two devices, two groups, two numbers; unbinding one frees only its own. */
TEST_F(noiommu, two_devices_get_distinct_numbers)
{
	struct nodev td;

	nodev_bind(_metadata, &td, TB_TESTDEV_BDF);
	EXPECT_NE(self->edu.group_id, td.group_id);
	EXPECT_EQ(2, count_entries("/dev/vfio", "noiommu-"));
	EXPECT_EQ(0, _vfio_pci_restore(&td.saved));
	EXPECT_TRUE(noiommu_node_exists(self->edu.group_id));
	EXPECT_FALSE(noiommu_node_exists(td.group_id));
	/* The mode stays on for edu; the fixture turns it off. */
}

/* ---- the container --------------------------------------------------- */

/* Upstream's answers: only the no-IOMMU model, and it has no ioctls. */
TEST_F(noiommu, container_offers_only_the_noiommu_model)
{
	struct vfio_iommu_type1_info info;
	static char buf[PG];
	__u64 unmapped;

	vfio_container_open(&self->edu.container);
	ASSERT_EQ(0, _noiommu_group_open(self->edu.group_id,
					 &self->edu.group));
	vfio_group_set_container(self->edu.group, self->edu.container);

	/* No model yet: the DMA ioctls have nobody to go to. */
	EXPECT_EQ(-EINVAL, _map(self->edu.container, 0, PG, buf, RW));
	EXPECT_EQ(1, vfio_check_extension(self->edu.container,
					  VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, vfio_check_extension(self->edu.container,
					  VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, vfio_check_extension(self->edu.container,
					  VFIO_TYPE1_IOMMU));
	vfio_set_iommu_err(ENODEV, self->edu.container, VFIO_TYPE1v2_IOMMU);
	vfio_set_iommu_err(ENODEV, self->edu.container, VFIO_TYPE1_IOMMU);

	vfio_set_iommu(self->edu.container, VFIO_NOIOMMU_IOMMU);
	vfio_set_iommu_err(EINVAL, self->edu.container, VFIO_NOIOMMU_IOMMU);
	EXPECT_EQ(1, vfio_check_extension(self->edu.container,
					  VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, vfio_check_extension(self->edu.container,
					  VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(-ENOTTY, _map(self->edu.container, 0, PG, buf, RW));
	EXPECT_EQ(-ENOTTY, _unmap(self->edu.container, 0, PG, 0, &unmapped));
	vfio_iommu_get_info_err(ENOTTY, self->edu.container,
				sizeof(info), &info);
}

/*
 * Two no-IOMMU groups may share a container.  (The boot has no IOMMU, so
 * no real group exists to try mixing with; the IOMMU boot's case below is
 * the other half.)
 */
TEST_F(noiommu, two_noiommu_groups_share_a_container)
{
	struct nodev td;

	nodev_bind(_metadata, &td, TB_TESTDEV_BDF);
	nodev_open(_metadata, &self->edu);
	ASSERT_EQ(0, _noiommu_group_open(td.group_id, &td.group));
	vfio_group_set_container(td.group, self->edu.container);
	vfio_group_get_device_fd(td.group, TB_TESTDEV_BDF, &td.device);
	vfio_close_fd(&td.device);
	vfio_close_fd(&td.group);
	EXPECT_EQ(0, _vfio_pci_restore(&td.saved));
}

/* ---- interrupts ------------------------------------------------------ */

/* edu raises its interrupt (INTx, or MSI once enabled) on a BAR0 write. */
static void raise_and_expect(struct __test_metadata *_metadata, int dev,
			     __u32 index)
{
	uint64_t n = 0;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	vfio_config_set_reg(dev, PCI_CFG_COMMAND, 2, CMD_MEMORY | CMD_MASTER);
	ASSERT_EQ(0, _vfio_device_set_irq_eventfd(dev, index, efd));
	ASSERT_EQ(0, bar0_write32(dev, EDU_IRQ_RAISE, 1));
	ASSERT_EQ(1, vfio_wait_readable(efd, DELIVER_MS));
	ASSERT_EQ(sizeof(n), read(efd, &n, sizeof(n)));
	ASSERT_LT(0, n);
	ASSERT_EQ(0, bar0_write32(dev, EDU_IRQ_ACK, ~0u));
	close(efd);
}

TEST_F(noiommu, intx_is_delivered)
{
	nodev_open(_metadata, &self->edu);
	raise_and_expect(_metadata, self->edu.device, VFIO_PCI_INTX_IRQ_INDEX);
}

TEST_F(noiommu, msi_is_delivered)
{
	nodev_open(_metadata, &self->edu);
	raise_and_expect(_metadata, self->edu.device, VFIO_PCI_MSI_IRQ_INDEX);
}

/* ---- the IOMMU boot -------------------------------------------------- */

static int try_open_path(int unused, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/*
 * With the mode on, a device that has a real IOMMU group stays in it: no
 * noiommu node, no taint, no CAP_SYS_RAWIO needed, and the no-IOMMU model
 * is not offered to its container.  Upstream's modules without the mode
 * give the same answers.
 */
TEST(real_iommu_group_never_becomes_noiommu)
{
	bool before = taint_user();
	char path[PATH_MAX];
	struct vfio_test_dev dev;
	int ret;

	vfio_test_dev_init(&dev);
	if (tb_noiommu_profile())
		SKIP(return, "needs the IOMMU boot");
	/* Without the mode (distro) the container's answers still hold. */
	if (!noiommu_built_in())
		TH_LOG(NO_NOIOMMU_MSG, tb_vfio_modules());
	ASSERT_TRUE(!noiommu_built_in() || !set_mode(true));
	vfio_test_dev_open(_metadata, &dev, TB_EDU_BDF, VFIO_STAGE_CONTAINER);
	EXPECT_FALSE(noiommu_node_exists(dev.group_id));
	EXPECT_EQ(0, count_entries("/dev/vfio", "noiommu-"));
	if (!before)
		EXPECT_FALSE(taint_user());
	vfio_group_path(dev.group_id, path, sizeof(path));
	close(dev.group);
	dev.group = -1;
	ret = without_rawio(try_open_path, -1, path);
	EXPECT_EQ(0, ret);
	vfio_group_open(dev.group_id, &dev.group);
	vfio_group_set_container(dev.group, dev.container);
	EXPECT_EQ(0, vfio_check_extension(dev.container, VFIO_NOIOMMU_IOMMU));
	vfio_set_iommu_err(ENODEV, dev.container, VFIO_NOIOMMU_IOMMU);
	vfio_set_iommu(dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_test_dev_close(_metadata, &dev);
	if (noiommu_built_in())
		EXPECT_EQ(0, set_mode(false));
}

TEST_HARNESS_MAIN
