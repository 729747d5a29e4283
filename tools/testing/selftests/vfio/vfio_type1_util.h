/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the type1 selftests (vfio_type1_test, vfio_type1_stress_test):
 * a type1 container with the edu device's group in it, MAP_DMA/UNMAP_DMA,
 * the edu DMA engine, the memory backings the tests map, and the two
 * witnesses of "every pin was given back":
 *
 *  - locked_vm (VmLck in /proc/PID/status): what type1 charged the owner
 *    of a mapping;
 *  - the kernel's own FOLL_PIN counters (nr_foll_pin_acquired and
 *    nr_foll_pin_released in /proc/vmstat): their difference is the number
 *    of page pins held right now by anyone.  The test bed guest pins
 *    nothing else while a test runs, so a test that ends where it started
 *    leaked no pin, and a mapping of N pages shows as N more.
 *
 * Functions return 0 or -errno and never assert, so children and threads
 * can use them too; the exceptions are the fixture helpers at the end
 * (edu_fixture_*()), which take the harness's _metadata.
 */
#ifndef SELFTESTS_VFIO_TYPE1_UTIL_H
#define SELFTESTS_VFIO_TYPE1_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <linux/capability.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "testbed.h"

#define PG		4096UL
#define HPAGE		(2UL << 20)
#define RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* The IOMMU group of @bdf, opened; -errno on failure */
static inline int group_open(const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(target, '/') + 1);
	fd = open(path, O_RDWR);
	return fd < 0 ? -errno : fd;
}

/* locked_vm of process @pid (0: this one), in KiB; -1 if unknown */
static inline long vm_locked_kb_of(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static inline long vm_locked_kb(void)
{
	return vm_locked_kb_of(0);
}

/* Page pins held in the whole system right now (see the top of the file) */
static inline long pins_outstanding(void)
{
	long acquired = -1, released = -1, v;
	char line[256];
	FILE *f;
	int fd;

	/* Fold the per-CPU counter deltas in first */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "# stat_refresh: %m\n");
		close(fd);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_foll_pin_acquired %ld", &v) == 1)
			acquired = v;
		else if (sscanf(line, "nr_foll_pin_released %ld", &v) == 1)
			released = v;
	}
	fclose(f);
	if (acquired < 0 || released < 0)
		return -1;
	return acquired - released;
}

/*
 * Wait up to @ms for the pins to come back to @expect: the last fput of a
 * container can run a moment after the process that held it is gone.
 */
static inline long pins_settle(long expect, int ms)
{
	long now = pins_outstanding();

	while (now != expect && ms > 0) {
		usleep(20 * 1000);
		ms -= 20;
		now = pins_outstanding();
	}
	return now;
}

static inline int write_param(const char *param, const char *val)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	snprintf(path, sizeof(path),
		 "/sys/module/vfio_iommu_type1/parameters/%s", param);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The first character of a vfio_iommu_type1 parameter, or 0 */
static inline char read_param(const char *param)
{
	char path[PATH_MAX], c = 0;
	int fd;

	snprintf(path, sizeof(path),
		 "/sys/module/vfio_iommu_type1/parameters/%s", param);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c;
}

static inline int drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[0].effective &= ~(1U << CAP_IPC_LOCK);
	data[0].permitted &= ~(1U << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static inline int _map(int fd, __u64 iova, __u64 size, const void *vaddr,
		       __u32 flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static inline int _unmap(int fd, __u64 iova, __u64 size, __u32 flags,
			 __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	if (ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	if (unmapped)
		*unmapped = unmap.size;
	return 0;
}

/* A container of model @type holding @bdf's group (@bdf on vfio-pci) */
static inline int container_with_group(const char *bdf, int *container,
				       int *group, unsigned long type)
{
	int ret;

	*group = -1;
	*container = open("/dev/vfio/vfio", O_RDWR);
	if (*container < 0)
		return -errno;
	*group = group_open(bdf);
	if (*group < 0)
		return *group;
	if (ioctl(*group, VFIO_GROUP_SET_CONTAINER, container)) {
		ret = -errno;
		fprintf(stderr, "# VFIO_GROUP_SET_CONTAINER: %s\n",
			strerror(-ret));
		return ret;
	}
	if (ioctl(*container, VFIO_SET_IOMMU, type)) {
		ret = -errno;
		fprintf(stderr, "# VFIO_SET_IOMMU(%lu): %s\n", type,
			strerror(-ret));
		return ret;
	}
	return 0;
}

static inline int container_with_edu(int *container, int *group,
				     unsigned long type)
{
	return container_with_group(TB_EDU_BDF, container, group, type);
}

/*
 * The edu device's DMA engine, driven through the device fd: the end to
 * end proof that a mapping leads where it should, and only there.  A
 * transfer copies between guest memory (an IOVA: 28 bits) and edu's
 * buffer at device address TB_EDU_DMA_BUF; QEMU runs it from a timer, so
 * each takes about 100 ms.
 */
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2

struct edu {
	int fd;
	__u64 bar0;
};

static inline int region_offset(int fd, __u32 index, __u64 *offset)
{
	struct vfio_region_info info = { .argsz = sizeof(info),
					 .index = index };

	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		return -errno;
	*offset = info.offset;
	return 0;
}

/* The device fd, with memory decode and bus mastering on */
static inline int edu_open(int group, struct edu *edu)
{
	__u64 cfg = 0;
	__u16 cmd;

	edu->bar0 = 0;
	edu->fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, TB_EDU_BDF);
	if (edu->fd < 0)
		return -errno;
	if (region_offset(edu->fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    region_offset(edu->fd, VFIO_PCI_BAR0_REGION_INDEX, &edu->bar0))
		return -EIO;
	if (pread(edu->fd, &cmd, 2, cfg + 4) != 2)
		return -EIO;
	cmd |= 0x6;	/* memory decode, bus master */
	if (pwrite(edu->fd, &cmd, 2, cfg + 4) != 2)
		return -EIO;
	return 0;
}

/* Start one transfer: RAM -> edu buffer, or the other way round */
static inline int edu_dma_start(struct edu *edu, __u64 src, __u64 dst,
				__u64 len, bool to_ram)
{
	__u64 cmd = EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0);

	if (pwrite(edu->fd, &src, 8, edu->bar0 + EDU_DMA_SRC) != 8 ||
	    pwrite(edu->fd, &dst, 8, edu->bar0 + EDU_DMA_DST) != 8 ||
	    pwrite(edu->fd, &len, 8, edu->bar0 + EDU_DMA_CNT) != 8 ||
	    pwrite(edu->fd, &cmd, 8, edu->bar0 + EDU_DMA_CMD) != 8)
		return -EIO;
	return 0;
}

/* One transfer, waited for */
static inline int edu_dma(struct edu *edu, __u64 src, __u64 dst, __u64 len,
			  bool to_ram)
{
	__u64 cmd;
	int i;

	if (edu_dma_start(edu, src, dst, len, to_ram))
		return -EIO;
	for (i = 0; i < 10000; i++) {
		if (pread(edu->fd, &cmd, 8, edu->bar0 + EDU_DMA_CMD) != 8)
			return -EIO;
		if (!(cmd & EDU_CMD_START))
			return 0;
		usleep(100);
	}
	return -ETIMEDOUT;
}

/* Device reads @len bytes at @iova into its buffer */
static inline int edu_read_iova(struct edu *edu, __u64 iova, __u64 len)
{
	return edu_dma(edu, iova, TB_EDU_DMA_BUF, len, false);
}

/* Device writes @len bytes of its buffer to @iova */
static inline int edu_write_iova(struct edu *edu, __u64 iova, __u64 len)
{
	return edu_dma(edu, TB_EDU_DMA_BUF, iova, len, true);
}

/*
 * What most type1 fixtures own: a container of one model holding edu's
 * group and, for those that drive edu's DMA engine, edu's device fd.
 * Every fd is -1 while not open.
 */
struct edu_container {
	int container;
	int group;
	struct edu edu;
};

static inline void edu_container_init(struct edu_container *ec)
{
	ec->container = -1;
	ec->group = -1;
	ec->edu.fd = -1;
	ec->edu.bar0 = 0;
}

/*
 * Open @ec (edu already on vfio-pci): edu's group in a new container of
 * model @type and, if @with_device, edu's device fd with DMA on (edu_open()).
 * 0 or -errno; undo with edu_container_close(), also after a failure.
 */
static inline int edu_container_open(struct edu_container *ec,
				     unsigned long type, bool with_device)
{
	int ret = container_with_edu(&ec->container, &ec->group, type);

	if (ret || !with_device)
		return ret;
	return edu_open(ec->group, &ec->edu);
}

/* Close what is open of @ec: the device, the group, then the container */
static inline void edu_container_close(struct edu_container *ec)
{
	if (ec->edu.fd >= 0)
		close(ec->edu.fd);
	if (ec->group >= 0)
		close(ec->group);
	if (ec->container >= 0)
		close(ec->container);
	edu_container_init(ec);
}

static inline long hugepages_attr(const char *attr)
{
	char path[PATH_MAX], buf[32] = "";
	int fd;

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-2048kB/%s", attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		buf[0] = '\0';
	close(fd);
	return buf[0] ? atol(buf) : -1;
}

/* 2 MiB pages of the hugetlbfs pool no mapping has reserved, or -1 */
static inline long hugepages_free(void)
{
	long free = hugepages_attr("free_hugepages");
	long resv = hugepages_attr("resv_hugepages");

	return free < 0 || resv < 0 ? -1 : free - resv;
}

/*
 * @size bytes of memory to map: "4k" (no THP), "thp" (MADV_HUGEPAGE,
 * 2 MiB aligned) or "hugetlb" (MAP_HUGETLB 2 MiB pages, reserved here).
 * Not faulted in.  NULL when the guest cannot provide it.
 */
static inline void *test_backing(const char *kind, size_t size)
{
	char *p;
	int fd;

	if (!strcmp(kind, "hugetlb")) {
		long need = size / HPAGE, total, free;

		/* Grow the pool by what is missing; freed pages stay in it */
		free = hugepages_free();
		fd = open("/proc/sys/vm/nr_hugepages", O_RDWR);
		if (fd >= 0 && free >= 0 && free < need) {
			char buf[32] = "";

			total = pread(fd, buf, sizeof(buf) - 1, 0) > 0 ?
				atol(buf) : 0;
			dprintf(fd, "%ld\n", total + need - free);
		}
		if (fd >= 0)
			close(fd);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	p = mmap(NULL, size + HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1));
	madvise(p, size, !strcmp(kind, "thp") ? MADV_HUGEPAGE :
						MADV_NOHUGEPAGE);
	return p;
}

/*
 * The kernel log from now on, to check for the vIOMMU's fault report on a
 * blocked DMA ("DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault
 * addr 0x...").  -errno if /dev/kmsg cannot be read.
 */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * intel-iommu prints DMA faults through one ratelimit, 10 lines per 5 s,
 * and a fault takes two (the status register, then the record): faults
 * provoked back to back lose their record lines.  A test about to provoke
 * a fault whose line it looks for first lets 5 s pass since the last such
 * fault in this boot (a stamp file, as tests are processes of their own).
 */
#define DMAR_FAULT_STAMP	"/tmp/tb-dmar-fault-stamp"
#define DMAR_FAULT_WINDOW_MS	5200

static inline void dmar_fault_window(void)
{
	struct timespec now;
	struct stat st;
	long ms;
	int fd;

	if (!stat(DMAR_FAULT_STAMP, &st)) {
		clock_gettime(CLOCK_REALTIME, &now);
		ms = (now.tv_sec - st.st_mtim.tv_sec) * 1000 +
		     (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
		if (ms >= 0 && ms < DMAR_FAULT_WINDOW_MS)
			usleep((DMAR_FAULT_WINDOW_MS - ms) * 1000);
	}
	fd = open(DMAR_FAULT_STAMP, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
}

/* Is there a record containing @needle, within @ms?  Closes @fd. */
static inline bool kmsg_find(int fd, const char *needle, int ms)
{
	char rec[1024];
	bool found = false;
	ssize_t n;

	if (fd < 0)
		return false;
	while (!found) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			if (ms <= 0 || poll(&pfd, 1, 50) < 0)
				break;
			ms -= 50;
			continue;
		}
		if (n < 0 && errno != EPIPE)
			break;
		if (n <= 0)
			continue;
		rec[n] = '\0';
		found = strstr(rec, needle);
	}
	close(fd);
	return found;
}

/*
 * Fixture helpers: a type1 fixture's setup and teardown around an
 * edu_container.  They assert, so they belong in FIXTURE_SETUP and
 * FIXTURE_TEARDOWN (or a TEST body).
 */

/*
 * The first step of a type1 fixture's setup: @ec emptied, so the teardown
 * may close it whatever happens next, and the test skipped where there is
 * no IOMMU.  False when skipped: the setup must return at once.
 */
static inline bool edu_fixture_needs_iommu(struct __test_metadata *_metadata,
					   struct edu_container *ec)
{
	edu_container_init(ec);
	if (tb_noiommu_profile())
		SKIP(return false, "type1 needs an IOMMU");
	return true;
}

/*
 * The rest of it: edu bound to vfio-pci; the witnesses taken where the
 * fixture keeps them (@locked_before for locked_vm, @pins_before for the
 * pins; NULL: not kept), before anything is mapped; then @ec opened
 * (edu_container_open()).
 */
static inline void edu_fixture_open(struct __test_metadata *_metadata,
				    struct edu_container *ec,
				    unsigned long type, bool with_device,
				    long *locked_before, long *pins_before)
{
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_EDU_BDF));
	if (locked_before) {
		*locked_before = vm_locked_kb();
		ASSERT_LE(0, *locked_before);
	}
	if (pins_before) {
		*pins_before = pins_outstanding();
		ASSERT_LE(0, *pins_before);
	}
	ASSERT_EQ(0, edu_container_open(ec, type, with_device));
}

/*
 * Both steps, for a setup with nothing to do in between.  False when
 * skipped, as edu_fixture_needs_iommu().
 */
static inline bool edu_fixture_setup(struct __test_metadata *_metadata,
				     struct edu_container *ec,
				     unsigned long type, bool with_device,
				     long *locked_before, long *pins_before)
{
	if (!edu_fixture_needs_iommu(_metadata, ec))
		return false;
	edu_fixture_open(_metadata, ec, type, with_device, locked_before,
			 pins_before);
	return true;
}

/*
 * A type1 fixture's teardown: @ec closed, which gives back every pin its
 * mappings held, then the witnesses the fixture kept (NULL: none) checked
 * against what they were before; the pins get up to @settle_ms, the last
 * fput of a container may run a moment late.
 */
static inline void edu_fixture_teardown(struct __test_metadata *_metadata,
					struct edu_container *ec,
					const long *locked_before,
					const long *pins_before, int settle_ms)
{
	edu_container_close(ec);
	if (locked_before)
		EXPECT_EQ(*locked_before, vm_locked_kb());
	if (pins_before)
		EXPECT_EQ(*pins_before, pins_settle(*pins_before, settle_ms));
}

#endif /* SELFTESTS_VFIO_TYPE1_UTIL_H */
