// SPDX-License-Identifier: GPL-2.0
/*
 * BAR mappings, memory decode, resets and power states of vfio-pci:
 *
 *  - a BAR mmap reaches the device (ivshmem's BAR2 is a host file the
 *    guest also sees as TB_IVSHMEM_FILE, so a pattern written through the
 *    mapping can be checked from outside);
 *  - whenever memory decode is off (COMMAND.MEM cleared, D3hot) touching
 *    the mapping raises SIGBUS and pread/pwrite of the BAR fail with EIO,
 *    until decode is back;
 *  - VFIO_DEVICE_RESET (nvme has FLR) keeps COMMAND, which DPDK relies on,
 *    and mappings work again right after it;
 *  - hot reset: the test bed's devices sit on the root bus, which has no
 *    bus reset, so the ioctls say ENODEV; a device behind a bridge, when
 *    the bed has one, gets the full ENOSPC/group fd checks;
 *  - VFIO_DEVICE_IOEVENTFD writes edu's liveness register;
 *  - a stress of faults, MEM toggles, BAR reads and resets from several
 *    threads, which must leave no splat in the guest log (see the stress
 *    section for how it is scaled under TCG).
 * Every rule here is upstream 6.12's too.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "vfio_test_util.h"

#define CFG_COMMAND		0x04
#define CFG_CMD_IO		0x0001
#define CFG_CMD_MEMORY		0x0002
#define CFG_CMD_MASTER		0x0004
#define CAP_ID_PM		0x01
#define PM_CTRL			4
#define PM_STATE_MASK		0x0003
#define PM_D3HOT		3
#define EDU_LIVENESS		0x04

/* ---- helpers --------------------------------------------------------- */

static int set_memory(int fd, bool on)
{
	uint16_t cmd = vfio_config_reg(fd, CFG_COMMAND, 2);

	cmd = on ? cmd | CFG_CMD_MEMORY : cmd & ~CFG_CMD_MEMORY;
	return _vfio_config_set_reg(fd, CFG_COMMAND, 2, cmd);
}

static void *bar_mmap(int fd, unsigned int bar, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       VFIO_REGION_OFFSET(bar));

	return p == MAP_FAILED ? NULL : p;
}

/*
 * BAR mappings are device memory: every access must really happen, once,
 * with the width asked for.  Relaxed atomics are exactly that.
 */
static uint32_t mmio_read32(uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void mmio_write32(uint32_t *p, uint32_t val)
{
	__atomic_store_n(p, val, __ATOMIC_RELAXED);
}

/*
 * Touching a BAR mapping may raise SIGBUS: each thread has its own jump
 * buffer, armed only around the touch.
 */
static __thread sigjmp_buf sigbus_jmp;
static __thread int sigbus_armed;

static void sigbus_arm(int on)
{
	__atomic_store_n(&sigbus_armed, on, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void sigbus_handler(int sig)
{
	if (__atomic_load_n(&sigbus_armed, __ATOMIC_RELAXED))
		siglongjmp(sigbus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void sigbus_install(void)
{
	struct sigaction sa = { .sa_handler = sigbus_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* Read a dword through a mapping: 0, or SIGBUS if the page is gone. */
static int mmap_read32(uint32_t *p, uint32_t *val)
{
	if (sigsetjmp(sigbus_jmp, 1)) {
		sigbus_arm(0);
		return SIGBUS;
	}
	sigbus_arm(1);
	*val = mmio_read32(p);
	sigbus_arm(0);
	return 0;
}

static int mmap_write32(uint32_t *p, uint32_t val)
{
	if (sigsetjmp(sigbus_jmp, 1)) {
		sigbus_arm(0);
		return SIGBUS;
	}
	sigbus_arm(1);
	mmio_write32(p, val);
	sigbus_arm(0);
	return 0;
}

/* What reached the ivshmem BAR, from the host file's side. */
static int ivshmem_file_read(uint64_t off, void *buf, size_t len)
{
	ssize_t n;
	int fd = open(TB_IVSHMEM_FILE, O_RDONLY);

	if (fd < 0)
		return errno;
	n = pread(fd, buf, len, off);
	close(fd);
	if (n < 0)
		return errno;
	return n == (ssize_t)len ? 0 : EIO;
}

static int device_reset(int fd)
{
	return ioctl(fd, VFIO_DEVICE_RESET) ? errno : 0;
}

/*
 * The device at @bdf with memory decode on and BAR @index mapped whole
 * (*@size bytes at *@bar), a SIGBUS from it caught; undo with
 * close_mapped().
 */
static void open_mapped(struct __test_metadata *_metadata,
			struct vfio_test_dev *dev, const char *bdf,
			unsigned int index, uint32_t **bar, size_t *size)
{
	struct vfio_region_info info;

	sigbus_install();
	vfio_test_dev_open(_metadata, dev, bdf, VFIO_STAGE_DEVICE);
	vfio_device_get_region_info(dev->device, index, &info);
	ASSERT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	*size = info.size;
	ASSERT_EQ(0, set_memory(dev->device, true));
	*bar = bar_mmap(dev->device, index, *size);
	ASSERT_NE(NULL, *bar);
}

static void close_mapped(struct __test_metadata *_metadata,
			 struct vfio_test_dev *dev, uint32_t *bar, size_t size)
{
	if (bar)
		munmap(bar, size);
	vfio_test_dev_close(_metadata, dev);
}

/* ---- ivshmem: mmap, decode off, decode back --------------------------- */

FIXTURE(ivshmem)
{
	struct vfio_test_dev dev;
	uint32_t *bar;
	size_t size;
};

FIXTURE_SETUP(ivshmem)
{
	open_mapped(_metadata, &self->dev, TB_IVSHMEM_BDF, TB_IVSHMEM_BAR,
		    &self->bar, &self->size);
	ASSERT_EQ(TB_IVSHMEM_SIZE, self->size);
}

FIXTURE_TEARDOWN(ivshmem)
{
	close_mapped(_metadata, &self->dev, self->bar, self->size);
}

TEST_F(ivshmem, pattern_written_through_mmap_reaches_the_host_file)
{
	uint32_t back[256];

	for (unsigned int i = 0; i < 256; i++)
		mmio_write32(&self->bar[i], 0x5a000000 | i);
	ASSERT_EQ(0, ivshmem_file_read(0, back, sizeof(back)));
	for (unsigned int i = 0; i < 256; i++)
		ASSERT_EQ(0x5a000000 | i, back[i]);
}

TEST_F(ivshmem, pread_sees_what_mmap_wrote)
{
	uint32_t val = 0;

	mmio_write32(&self->bar[1024], 0xfeedf00d);
	ASSERT_EQ(0, _vfio_region_read(self->dev.device,
				       TB_IVSHMEM_BAR, 4096, &val, 4));
	EXPECT_EQ(0xfeedf00d, val);
}

TEST_F(ivshmem, memory_decode_off_makes_mmap_sigbus_and_pread_eio)
{
	uint32_t val;

	mmio_write32(&self->bar[0], 0x11223344);
	ASSERT_EQ(0, set_memory(self->dev.device, false));
	EXPECT_EQ(SIGBUS, mmap_read32(&self->bar[0], &val));
	EXPECT_EQ(SIGBUS, mmap_write32(&self->bar[0], 1));
	EXPECT_EQ(EIO, _vfio_region_read(self->dev.device,
					 TB_IVSHMEM_BAR, 0, &val, 4));
	EXPECT_EQ(EIO, _vfio_region_write(self->dev.device,
					  TB_IVSHMEM_BAR, 0, &val, 4));

	ASSERT_EQ(0, set_memory(self->dev.device, true));
	ASSERT_EQ(0, mmap_read32(&self->bar[0], &val));
	EXPECT_EQ(0x11223344, val);
	EXPECT_EQ(0, _vfio_region_read(self->dev.device,
				       TB_IVSHMEM_BAR, 0, &val, 4));
	EXPECT_EQ(0x11223344, val);
}

TEST_F(ivshmem, a_second_mapping_is_zapped_too)
{
	uint32_t *other;
	uint32_t val;

	other = bar_mmap(self->dev.device, TB_IVSHMEM_BAR, self->size);
	ASSERT_NE(NULL, other);
	mmio_write32(&other[8], 7);
	ASSERT_EQ(7, mmio_read32(&self->bar[8]));
	ASSERT_EQ(0, set_memory(self->dev.device, false));
	EXPECT_EQ(SIGBUS, mmap_read32(&other[8], &val));
	EXPECT_EQ(SIGBUS, mmap_read32(&self->bar[8], &val));
	ASSERT_EQ(0, set_memory(self->dev.device, true));
	EXPECT_EQ(0, mmap_read32(&other[8], &val));
	EXPECT_EQ(7, val);
	munmap(other, self->size);
}

TEST_F(ivshmem, device_without_reset_refuses_vfio_device_reset)
{
	struct vfio_device_info info;

	vfio_device_get_info(self->dev.device, &info);
	if (info.flags & VFIO_DEVICE_FLAGS_RESET)
		SKIP(return, "ivshmem has a reset here");
	EXPECT_EQ(EINVAL, device_reset(self->dev.device));
}

/* ---- nvme: function reset and power states ---------------------------- */

FIXTURE(nvme)
{
	struct vfio_test_dev dev;
	uint32_t *bar;
	size_t size;
};

FIXTURE_SETUP(nvme)
{
	open_mapped(_metadata, &self->dev, TB_NVME_PF_BDF, 0, &self->bar,
		    &self->size);
}

FIXTURE_TEARDOWN(nvme)
{
	close_mapped(_metadata, &self->dev, self->bar, self->size);
}

TEST_F(nvme, info_says_the_device_resets)
{
	struct vfio_device_info info;

	vfio_device_get_info(self->dev.device, &info);
	EXPECT_TRUE(info.flags & VFIO_DEVICE_FLAGS_RESET);
}

TEST_F(nvme, reset_keeps_the_command_register)
{
	uint16_t cmd = vfio_config_reg(self->dev.device, CFG_COMMAND, 2);

	cmd |= CFG_CMD_MEMORY | CFG_CMD_MASTER;
	vfio_config_set_reg(self->dev.device, CFG_COMMAND, 2, cmd);
	ASSERT_EQ(0, device_reset(self->dev.device));
	EXPECT_EQ(cmd, vfio_config_reg(self->dev.device, CFG_COMMAND, 2));
	cmd &= ~CFG_CMD_MASTER;
	vfio_config_set_reg(self->dev.device, CFG_COMMAND, 2, cmd);
}

TEST_F(nvme, mapping_works_again_right_after_reset)
{
	uint32_t before, after, val;

	/* CAP (offset 0) is read-only: the same before and after. */
	ASSERT_EQ(0, mmap_read32(&self->bar[0], &before));
	ASSERT_EQ(0, _vfio_region_read(self->dev.device, 0, 0, &val, 4));
	ASSERT_EQ(before, val);
	ASSERT_EQ(0, device_reset(self->dev.device));
	ASSERT_EQ(0, mmap_read32(&self->bar[0], &after));
	EXPECT_EQ(before, after);
}

TEST_F(nvme, mapping_sigbuses_with_decode_off_after_reset_too)
{
	uint32_t val;

	ASSERT_EQ(0, device_reset(self->dev.device));
	ASSERT_EQ(0, set_memory(self->dev.device, false));
	EXPECT_EQ(SIGBUS, mmap_read32(&self->bar[0], &val));
	EXPECT_EQ(EIO, _vfio_region_read(self->dev.device, 0, 0, &val, 4));
	ASSERT_EQ(0, set_memory(self->dev.device, true));
	EXPECT_EQ(0, mmap_read32(&self->bar[0], &val));
}

TEST_F(nvme, d3hot_turns_decode_off_until_d0)
{
	unsigned int pm = vfio_pci_find_cap(TB_NVME_PF_BDF, CAP_ID_PM);
	uint32_t cap, val;
	uint16_t ctrl;

	ASSERT_NE(0, pm);
	ASSERT_EQ(0, mmap_read32(&self->bar[0], &cap));
	ctrl = vfio_config_reg(self->dev.device, pm + PM_CTRL, 2);
	ASSERT_EQ(0, ctrl & PM_STATE_MASK);

	vfio_config_set_reg(self->dev.device, pm + PM_CTRL, 2,
			    ctrl | PM_D3HOT);
	EXPECT_EQ(PM_D3HOT, vfio_config_reg(self->dev.device, pm + PM_CTRL, 2) &
		  PM_STATE_MASK);
	EXPECT_EQ(SIGBUS, mmap_read32(&self->bar[0], &val));
	EXPECT_EQ(EIO, _vfio_region_read(self->dev.device, 0, 0, &val, 4));

	vfio_config_set_reg(self->dev.device, pm + PM_CTRL, 2, ctrl);
	EXPECT_EQ(0, vfio_config_reg(self->dev.device, pm + PM_CTRL, 2) &
		  PM_STATE_MASK);
	ASSERT_EQ(0, mmap_read32(&self->bar[0], &val));
	EXPECT_EQ(cap, val);
}

TEST_F(nvme, close_in_d3hot_gives_a_working_device_back)
{
	unsigned int pm = vfio_pci_find_cap(TB_NVME_PF_BDF, CAP_ID_PM);
	uint16_t ctrl;

	ASSERT_NE(0, pm);
	ctrl = vfio_config_reg(self->dev.device, pm + PM_CTRL, 2);
	vfio_config_set_reg(self->dev.device, pm + PM_CTRL, 2,
			    ctrl | PM_D3HOT);
	/* The teardown closes it and hands it back to nvme. */
}

/* ---- hot reset -------------------------------------------------------- */

static int hot_reset_info(int fd, __u32 argsz,
			  struct vfio_pci_hot_reset_info *info)
{
	memset(info, 0, argsz);
	info->argsz = argsz;
	return ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) ? errno : 0;
}

static int hot_reset(int fd, const int *fds, unsigned int count)
{
	struct {
		struct vfio_pci_hot_reset hdr;
		__s32 fds[8];
	} req = { .hdr = { .argsz = sizeof(req.hdr) + count * sizeof(__s32),
			   .count = count } };

	for (unsigned int i = 0; i < count && i < 8; i++)
		req.fds[i] = fds[i];
	return ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, &req) ? errno : 0;
}

FIXTURE(root_bus)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(root_bus)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_DEVICE);
}

FIXTURE_TEARDOWN(root_bus)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

/* The root bus has no bridge above it, so no bus reset: ENODEV. */
TEST_F(root_bus, hot_reset_info_without_a_bus_reset_is_enodev)
{
	struct vfio_pci_hot_reset_info info;

	EXPECT_EQ(ENODEV, hot_reset_info(self->dev.device, sizeof(info),
					 &info));
}

TEST_F(root_bus, hot_reset_without_a_bus_reset_is_enodev)
{
	EXPECT_EQ(ENODEV, hot_reset(self->dev.device, &self->dev.group, 1));
}

TEST_F(root_bus, hot_reset_info_argsz_too_small_is_einval)
{
	struct vfio_pci_hot_reset_info info;

	EXPECT_EQ(EINVAL, hot_reset_info(self->dev.device,
					 offsetofend(typeof(info), count) - 1,
					 &info));
}

/*
 * A device behind a bridge, if the test bed has one: the first PCI device
 * on a non-root bus that is not a bridge itself.
 */
static bool find_bridged_device(char *bdf, size_t len)
{
	struct dirent *de;
	bool found = false;
	DIR *dir = opendir(PCI_DEVICES);

	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		unsigned int dom, bus, dev, fn;
		unsigned long class;

		if (sscanf(de->d_name, "%x:%x:%x.%x", &dom, &bus, &dev,
			   &fn) != 4 || !bus)
			continue;
		class = vfio_pci_attr_ulong(de->d_name, "class");
		if ((class >> 16) == 0x06)	/* a bridge */
			continue;
		snprintf(bdf, len, "%s", de->d_name);
		found = true;
	}
	closedir(dir);
	return found;
}

FIXTURE(bridged)
{
	struct vfio_test_dev dev;
	char bdf[NAME_MAX + 1];
};

FIXTURE_SETUP(bridged)
{
	vfio_test_dev_init(&self->dev);
	if (!find_bridged_device(self->bdf, sizeof(self->bdf)))
		SKIP(return, "the test bed has no device behind a bridge");
	vfio_test_dev_open(_metadata, &self->dev, self->bdf,
			   VFIO_STAGE_DEVICE);
}

FIXTURE_TEARDOWN(bridged)
{
	if (self->dev.bdf)
		vfio_test_dev_close(_metadata, &self->dev);
}

TEST_F(bridged, hot_reset_info_without_room_is_enospc_with_the_count)
{
	struct vfio_pci_hot_reset_info info;

	ASSERT_EQ(ENOSPC, hot_reset_info(self->dev.device, sizeof(info),
					 &info));
	EXPECT_LE(1, info.count);
}

TEST_F(bridged, hot_reset_info_lists_the_device_itself)
{
	struct {
		struct vfio_pci_hot_reset_info info;
		struct vfio_pci_dependent_device devs[32];
	} buf;
	unsigned int dom, bus, dev, fn;
	bool found = false;
	int n;

	ASSERT_EQ(0, hot_reset_info(self->dev.device, sizeof(buf), &buf.info));
	n = sscanf(self->bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn);
	ASSERT_EQ(4, n);
	for (unsigned int i = 0; i < buf.info.count && i < 32; i++)
		if (buf.devs[i].segment == dom && buf.devs[i].bus == bus &&
		    buf.devs[i].devfn == (dev << 3 | fn)) {
			EXPECT_EQ(self->dev.group_id, buf.devs[i].group_id);
			found = true;
		}
	EXPECT_TRUE(found);
}

TEST_F(bridged, hot_reset_with_a_fd_that_is_no_group_is_einval)
{
	EXPECT_EQ(EINVAL, hot_reset(self->dev.device, &self->dev.container,
				    1));
}

/* Another group the user owns does not prove it owns this one. */
TEST_F(bridged, hot_reset_with_another_groups_fd_is_einval)
{
	struct vfio_test_dev other;

	vfio_test_dev_open(_metadata, &other, TB_EDU_BDF, VFIO_STAGE_GROUP);
	EXPECT_EQ(EINVAL, hot_reset(self->dev.device, &other.group, 1));
	vfio_test_dev_close(_metadata, &other);
}

TEST_F(bridged, hot_reset_with_no_group_fd_is_einval)
{
	EXPECT_EQ(EINVAL, hot_reset(self->dev.device, NULL, 0));
}

TEST_F(bridged, hot_reset_with_its_group_fd_works)
{
	struct vfio_pci_hot_reset_info info;

	ASSERT_EQ(ENOSPC, hot_reset_info(self->dev.device, sizeof(info),
					 &info));
	if (info.count != 1)
		SKIP(return, "other devices share the bus");
	EXPECT_EQ(0, hot_reset(self->dev.device, &self->dev.group, 1));
}

/* ---- ioeventfd -------------------------------------------------------- */

FIXTURE(edu)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(edu)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_DEVICE);
	ASSERT_EQ(0, set_memory(self->dev.device, true));
}

FIXTURE_TEARDOWN(edu)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

static int ioeventfd(int fd, __u32 flags, uint64_t off, uint64_t data,
		     int efd)
{
	struct vfio_device_ioeventfd req = {
		.argsz = sizeof(req),
		.flags = flags,
		.offset = VFIO_REGION_OFFSET(0) + off,
		.data = data,
		.fd = efd,
	};

	return ioctl(fd, VFIO_DEVICE_IOEVENTFD, &req) ? errno : 0;
}

TEST_F(edu, ioeventfd_writes_the_register_when_signalled)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	uint32_t val = 0;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_32,
			       EDU_LIVENESS, 0x12345678, efd));
	ASSERT_EQ(0, eventfd_write(efd, 1));
	/* The write may run from a work item: give it a moment. */
	for (int i = 0; i < 100 && val != ~0x12345678u; i++) {
		usleep(10 * 1000);
		ASSERT_EQ(0, _vfio_region_read(self->dev.device, 0,
					       EDU_LIVENESS, &val, 4));
	}
	EXPECT_EQ(~0x12345678u, val);
	EXPECT_EQ(EEXIST, ioeventfd(self->dev.device,
				    VFIO_DEVICE_IOEVENTFD_32, EDU_LIVENESS,
				    0x12345678, efd));
	EXPECT_EQ(0, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_32,
			       EDU_LIVENESS, 0x12345678, -1));
	EXPECT_EQ(ENODEV, ioeventfd(self->dev.device,
				    VFIO_DEVICE_IOEVENTFD_32, EDU_LIVENESS,
				    0x12345678, -1));
	close(efd);
}

TEST_F(edu, ioeventfd_with_two_sizes_is_einval)
{
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	EXPECT_EQ(EINVAL, ioeventfd(self->dev.device,
				    VFIO_DEVICE_IOEVENTFD_32 |
				    VFIO_DEVICE_IOEVENTFD_16,
				    EDU_LIVENESS, 0, efd));
	EXPECT_EQ(EINVAL, ioeventfd(self->dev.device, 0, EDU_LIVENESS, 0,
				    efd));
	close(efd);
}

TEST_F(edu, ioeventfd_past_the_bar_is_einval)
{
	struct vfio_region_info info;
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	vfio_device_get_region_info(self->dev.device, 0, &info);
	EXPECT_EQ(EINVAL, ioeventfd(self->dev.device,
				    VFIO_DEVICE_IOEVENTFD_32, info.size, 0,
				    efd));
	close(efd);
}

/*
 * Upstream 6.12 takes data wider than the write (only its low bytes are
 * written) and unaligned registers; each is an ioeventfd of its own.
 */
TEST_F(edu, ioeventfd_takes_wide_data_and_unaligned_registers)
{
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	EXPECT_EQ(0, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_8,
			       EDU_LIVENESS, 0x1ff, efd));
	EXPECT_EQ(0, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_8,
			       EDU_LIVENESS, 0xff, efd));
	EXPECT_EQ(0, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_32,
			       EDU_LIVENESS + 2, 0, efd));
	EXPECT_EQ(0, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_8,
			       EDU_LIVENESS, 0x1ff, -1));
	EXPECT_EQ(0, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_8,
			       EDU_LIVENESS, 0xff, -1));
	EXPECT_EQ(0, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_32,
			       EDU_LIVENESS + 2, 0, -1));
	close(efd);
}

/* Not a BAR: config space, the ROM. */
TEST_F(edu, ioeventfd_outside_the_bars_is_einval)
{
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	EXPECT_EQ(EINVAL, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_32,
				    VFIO_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) + 4,
				    0, efd));
	EXPECT_EQ(EINVAL, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_32,
				    VFIO_REGION_OFFSET(VFIO_PCI_ROM_REGION_INDEX), 0,
				    efd));
	close(efd);
}

TEST_F(edu, ioeventfd_of_a_file_that_is_no_eventfd_fails)
{
	int err = ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_32,
			    EDU_LIVENESS, 0, self->dev.container);

	EXPECT_TRUE(err == EINVAL || err == EBADF) TH_LOG("errno %d", err);
	EXPECT_EQ(EBADF, ioeventfd(self->dev.device, VFIO_DEVICE_IOEVENTFD_32,
				   EDU_LIVENESS, 0, 1000000));
}

/* ---- stress ----------------------------------------------------------- */

/*
 * Faults, MEM toggles, BAR preads and, where the device has one, resets
 * racing on one device; the toggler sets the pace and the other threads
 * loop until it is done.  Two runs:
 *
 *  - ivshmem, STRESS_TOGGLES (10,000) toggles;
 *  - nvme, with resets; an FLR waits 100 ms in the PCI core, so resets
 *    are bounded by STRESS_RESETS and the toggles scaled down to
 *    STRESS_RESET_TOGGLES, each access of its BAR being an exit to QEMU.
 *
 * Every loop sleeps a little between rounds so the threads interleave
 * instead of one starving the others on a 2-vCPU TCG guest.  (QEMU 7.2's
 * multi-threaded TCG itself crashed or froze under this test, whoever's
 * modules were loaded: vm/qemu.sh runs the vCPUs on one TCG thread.)
 * Both runs stay well under a minute under TCG.  On a debug kernel
 * (KASAN, lockdep) a toggle costs ten times as much: the toggler stops
 * after STRESS_SECONDS whatever its count, and at least
 * STRESS_MIN_TOGGLES must have happened by then.
 */
#define STRESS_TOGGLES		10000
#define STRESS_RESET_TOGGLES	1000
#define STRESS_RESETS		20
#define STRESS_SECONDS		90
#define STRESS_MIN_TOGGLES	200

struct stress {
	int fd;
	unsigned int bar_index;
	uint32_t *bar;
	unsigned int pace_us;	/* pause between two accesses */
	atomic_bool done;
	atomic_long faults, sigbus, reads, eio, resets, errors;
};

static void stress_pause(const struct stress *s)
{
	usleep(s->pace_us);
}

static void *stress_fault(void *arg)
{
	struct stress *s = arg;
	uint32_t val;

	while (!atomic_load(&s->done)) {
		if (mmap_read32(&s->bar[0], &val))
			atomic_fetch_add(&s->sigbus, 1);
		else
			atomic_fetch_add(&s->faults, 1);
		stress_pause(s);
	}
	return NULL;
}

static void *stress_pread(void *arg)
{
	struct stress *s = arg;
	uint32_t val;

	while (!atomic_load(&s->done)) {
		int err = _vfio_region_read(s->fd, s->bar_index, 0, &val, 4);

		if (!err)
			atomic_fetch_add(&s->reads, 1);
		else if (err == EIO)
			atomic_fetch_add(&s->eio, 1);
		else
			atomic_fetch_add(&s->errors, 1);
		stress_pause(s);
	}
	return NULL;
}

static void *stress_reset(void *arg)
{
	struct stress *s = arg;

	while (!atomic_load(&s->done) &&
	       atomic_load(&s->resets) < STRESS_RESETS) {
		int err = device_reset(s->fd);

		/* EAGAIN: the PCI device lock was busy, as upstream. */
		if (!err)
			atomic_fetch_add(&s->resets, 1);
		else if (err != EAGAIN)
			atomic_fetch_add(&s->errors, 1);
		usleep(1000);
	}
	return NULL;
}

static void stress_run(struct __test_metadata *_metadata, struct stress *s,
		       int toggles, bool resets)
{
	time_t deadline = time(NULL) + STRESS_SECONDS;
	pthread_t th[4];
	int n = 0, i;
	uint32_t val;

	ASSERT_EQ(0, pthread_create(&th[n++], NULL, stress_fault, s));
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, stress_fault, s));
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, stress_pread, s));
	if (resets)
		ASSERT_EQ(0, pthread_create(&th[n++], NULL, stress_reset, s));
	for (i = 0; i < toggles && time(NULL) < deadline; i++) {
		if (set_memory(s->fd, i & 1))
			atomic_fetch_add(&s->errors, 1);
		usleep(10);
	}
	ASSERT_EQ(0, set_memory(s->fd, true));
	EXPECT_LE(STRESS_MIN_TOGGLES, i);
	atomic_store(&s->done, true);
	while (n)
		pthread_join(th[--n], NULL);

	TH_LOG("%d toggles: %ld mmap reads, %ld SIGBUS, %ld preads, %ld EIO, %ld resets",
	       i, atomic_load(&s->faults), atomic_load(&s->sigbus),
	       atomic_load(&s->reads), atomic_load(&s->eio),
	       atomic_load(&s->resets));
	EXPECT_EQ(0, atomic_load(&s->errors));
	EXPECT_LT(0, atomic_load(&s->faults));
	EXPECT_LT(0, atomic_load(&s->sigbus));
	/* And the device still works. */
	ASSERT_EQ(0, mmap_read32(&s->bar[0], &val));
	ASSERT_EQ(0, _vfio_region_read(s->fd, s->bar_index, 0, &val, 4));
}

TEST_F_TIMEOUT(ivshmem, stress_faults_and_toggles, 300)
{
	struct stress s = {
		.fd = self->dev.device,
		.bar_index = TB_IVSHMEM_BAR,
		.bar = self->bar,
		.pace_us = 50,
	};

	stress_run(_metadata, &s, STRESS_TOGGLES, false);
}

TEST_F_TIMEOUT(nvme, stress_faults_toggles_and_resets, 300)
{
	struct stress s = {
		.fd = self->dev.device,
		.bar_index = 0,
		.bar = self->bar,
		.pace_us = 200,
	};

	stress_run(_metadata, &s, STRESS_RESET_TOGGLES, true);
	EXPECT_LT(0, atomic_load(&s.resets));
}

/* The PCI power state the host sees, polled for up to @ms until it is @want. */
static bool power_state_becomes(const char *bdf, const char *want, int ms)
{
	char state[16] = "";

	for (;;) {
		if (!vfio_pci_attr_read(bdf, "power_state", state,
					sizeof(state)) && !strcmp(state, want))
			return true;
		if (ms <= 0)
			return false;
		usleep(20 * 1000);
		ms -= 20;
	}
}

/*
 * A device bound to vfio-pci that nobody has open is parked in D3hot
 * (upstream through runtime PM, ours a little after the last close); an
 * open wakes it, and after the close it goes back.  The nvme PF has PM.
 */
TEST(idle_device_is_parked_in_d3hot_and_woken_by_open)
{
	struct vfio_test_dev dev;

	if (!tb_ours() && tb_kconfig_known() && !tb_kconfig_y("PM"))
		SKIP(return, "upstream parks through runtime PM: no CONFIG_PM");
	vfio_test_dev_open(_metadata, &dev, TB_NVME_PF_BDF, VFIO_STAGE_IOMMU);
	EXPECT_TRUE(power_state_becomes(TB_NVME_PF_BDF, "D3hot", 3000));

	vfio_group_get_device_fd(dev.group, TB_NVME_PF_BDF, &dev.device);
	EXPECT_TRUE(power_state_becomes(TB_NVME_PF_BDF, "D0", 0));
	vfio_close_fd(&dev.device);
	EXPECT_TRUE(power_state_becomes(TB_NVME_PF_BDF, "D3hot", 3000));

	/* A reopen right after the close finds it awake either way. */
	vfio_group_get_device_fd(dev.group, TB_NVME_PF_BDF, &dev.device);
	EXPECT_TRUE(power_state_becomes(TB_NVME_PF_BDF, "D0", 0));
	vfio_close_fd(&dev.device);
	vfio_test_dev_close(_metadata, &dev);
	/* Given back to its host driver awake. */
	EXPECT_TRUE(power_state_becomes(TB_NVME_PF_BDF, "D0", 1000));
}

TEST_HARNESS_MAIN
