// SPDX-License-Identifier: GPL-2.0
/*
 * Peer-to-peer DMA through type1: a MAP_DMA of the BAR mmap of one vfio
 * device (ivshmem's BAR2, backed by the host file /host/ivshmem) lets
 * another device (edu) DMA into that BAR.
 *
 * What upstream 6.12 does too: the mapping works, it charges nothing to
 * locked_vm and pins no page, a range running past the BAR's vma is
 * refused, and UNMAP_DMA takes it away.
 *
 * What is ours alone (SKIP with the distro modules, which say why): type1
 * accepts VM_PFNMAP memory only when it is a vfio device's (strict mode),
 * and it follows the device: when the device is released (last close) or
 * its memory decode goes off, the mapping goes, the IOMMU blocks DMA to
 * it and a later UNMAP_DMA finds nothing there.
 *
 * Revocation never waits for the container's lock, which a user holds
 * across their own page faults in MAP_DMA: a user stalled there (on a
 * userfaultfd page nobody serves) holds up no other device, device set or
 * container.  c9a626b revoked under that lock: the close of the device
 * hung, and with it every open of its device set and every container
 * release on the host.
 *
 * PFNMAP mappings of ordinary RAM (a udmabuf) are refused in every mode,
 * as upstream refuses them; c9a626b's type1 built without
 * CONFIG_VFIO_STRICT_PFNMAP mapped them with no pin.
 *
 * Blocked DMA is shown as in vfio_type1_test: the same transfer first
 * lands through the mapping, then, once the mapping is gone, changes
 * nothing and leaves a DMAR fault in the guest log.
 *
 * A BAR mapped with a PUD entry (the bed's 1 GiB ivshmem BAR) is mapped
 * for DMA from inside that entry: each IOVA must reach its own offset of
 * the BAR, at a window's first and last byte too, whether the window
 * starts on a huge boundary or a page past one.  Upstream 6.12 does this
 * too.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/udmabuf.h>
#include <linux/userfaultfd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "testbed.h"
#include "vfio_type1_util.h"

#define SRC_IOVA	0x10000UL	/* one RAM page edu is filled from */
#define BAR_IOVA	0x400000UL	/* where ivshmem's BAR2 is mapped */
#define XFER_OFF	0x3000UL	/* where in the BAR the tests write */
#define XFER_LEN	256UL

#define CFG_COMMAND	0x04
#define CMD_MEMORY	0x0002

FIXTURE(p2p)
{
	int container;
	int edu_group;
	int shm_group;
	int shm;		/* ivshmem's device fd */
	__u64 shm_cfg;		/* offset of its config region */
	struct edu edu;
	char *src;		/* mapped at SRC_IOVA */
	char *bar;		/* ivshmem's BAR2, TB_IVSHMEM_SIZE */
	long pins_before;
};

static int cfg_command(int fd, __u64 cfg, __u16 set, __u16 clear)
{
	__u16 cmd;

	if (pread(fd, &cmd, 2, cfg + CFG_COMMAND) != 2)
		return -EIO;
	cmd = (cmd | set) & ~clear;
	return pwrite(fd, &cmd, 2, cfg + CFG_COMMAND) == 2 ? 0 : -EIO;
}

/* What reached a BAR, read from the host file behind it (@path) */
static int host_file_read(const char *path, __u64 off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Does @path hold @byte at every offset of [@off, @off + @len)? */
static bool host_file_all(const char *path, __u64 off, size_t len, int byte)
{
	char buf[XFER_LEN];
	size_t i;

	if (len > sizeof(buf) || host_file_read(path, off, buf, len))
		return false;
	for (i = 0; i < len; i++)
		if (buf[i] != (char)byte)
			return false;
	return true;
}

/* edu writes XFER_LEN bytes of @byte to @iova */
static int edu_put(struct edu *edu, char *src, __u64 iova, int byte)
{
	int ret;

	memset(src, byte, XFER_LEN);
	ret = edu_read_iova(edu, SRC_IOVA, XFER_LEN);
	return ret ? ret : edu_write_iova(edu, iova, XFER_LEN);
}

static bool dmar_fault_logged(int kmsg, __u64 iova)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "fault addr 0x%llx ",
		 (unsigned long long)iova);
	return kmsg_find(kmsg, needle, 2000);
}

FIXTURE_SETUP(p2p)
{
	self->container = -1;
	self->edu_group = -1;
	self->shm_group = -1;
	self->shm = -1;
	self->edu.fd = -1;
	self->bar = MAP_FAILED;
	self->src = MAP_FAILED;
	if (tb_noiommu_profile())
		SKIP(return, "type1 needs an IOMMU");
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_EDU_BDF));
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_IVSHMEM_BDF));
	self->pins_before = pins_outstanding();
	ASSERT_LE(0, self->pins_before);
	ASSERT_EQ(0, container_with_edu(&self->container, &self->edu_group,
					VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, edu_open(self->edu_group, &self->edu));

	self->shm_group = group_open(TB_IVSHMEM_BDF);
	ASSERT_LE(0, self->shm_group);
	ASSERT_EQ(0, ioctl(self->shm_group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	self->shm = ioctl(self->shm_group, VFIO_GROUP_GET_DEVICE_FD,
			  TB_IVSHMEM_BDF);
	ASSERT_LE(0, self->shm);
	ASSERT_EQ(0, region_offset(self->shm, VFIO_PCI_CONFIG_REGION_INDEX,
				   &self->shm_cfg));
	ASSERT_EQ(0, cfg_command(self->shm, self->shm_cfg, CMD_MEMORY, 0));
	self->bar = mmap(NULL, TB_IVSHMEM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->shm,
			 (off_t)VFIO_PCI_BAR2_REGION_INDEX << 40);
	ASSERT_NE(MAP_FAILED, self->bar);

	self->src = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->src);
	ASSERT_EQ(0, _map(self->container, SRC_IOVA, PG, self->src, RW));
}

FIXTURE_TEARDOWN(p2p)
{
	if (self->bar != MAP_FAILED)
		munmap(self->bar, TB_IVSHMEM_SIZE);
	if (self->shm >= 0)
		close(self->shm);
	if (self->edu.fd >= 0)
		close(self->edu.fd);
	if (self->shm_group >= 0)
		close(self->shm_group);
	if (self->edu_group >= 0)
		close(self->edu_group);
	if (self->container >= 0) {
		close(self->container);
		EXPECT_EQ(self->pins_before, pins_settle(self->pins_before,
							 1000));
	}
	if (self->src != MAP_FAILED)
		munmap(self->src, PG);
}

/* Map the BAR and show that edu's DMA lands in it */
static int _map_bar_and_reach_it(struct __test_metadata *_metadata,
				 int container, struct edu *edu, char *src,
				 char *bar, int byte)
{
	int ret = _map(container, BAR_IOVA, TB_IVSHMEM_SIZE, bar, RW);

	if (ret)
		return ret;
	EXPECT_EQ(0, edu_put(edu, src, BAR_IOVA + XFER_OFF, byte));
	EXPECT_TRUE(host_file_all(TB_IVSHMEM_FILE, XFER_OFF, XFER_LEN, byte));
	EXPECT_EQ((char)byte, bar[XFER_OFF]);
	return 0;
}

#define map_bar_and_reach_it(byte) \
	_map_bar_and_reach_it(_metadata, self->container, &self->edu, \
			      self->src, self->bar, byte)

TEST_F(p2p, dma_through_a_bar_mapping_reaches_the_bar)
{
	__u64 done = 0;

	ASSERT_EQ(0, map_bar_and_reach_it(0x5a));
	ASSERT_EQ(0, _unmap(self->container, BAR_IOVA, TB_IVSHMEM_SIZE, 0,
			    &done));
	EXPECT_EQ(TB_IVSHMEM_SIZE, done);
}

TEST_F(p2p, bar_mapping_pins_and_charges_nothing)
{
	long locked = vm_locked_kb();
	long pins = pins_outstanding();

	ASSERT_EQ(0, _map(self->container, BAR_IOVA, TB_IVSHMEM_SIZE,
			  self->bar, RW));
	EXPECT_EQ(locked, vm_locked_kb());
	EXPECT_EQ(pins, pins_outstanding());
	ASSERT_EQ(0, _unmap(self->container, BAR_IOVA, TB_IVSHMEM_SIZE, 0,
			    NULL));
}

TEST_F(p2p, mapping_past_the_end_of_the_bar_vma_is_efault)
{
	char *resv;

	/* The BAR, then a page nothing can be mapped from */
	resv = mmap(NULL, TB_IVSHMEM_SIZE + PG, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, resv);
	ASSERT_EQ(resv, mmap(resv, TB_IVSHMEM_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_FIXED, self->shm,
			     (off_t)VFIO_PCI_BAR2_REGION_INDEX << 40));
	EXPECT_EQ(-EFAULT, _map(self->container, BAR_IOVA,
				TB_IVSHMEM_SIZE + PG, resv, RW));
	munmap(resv, TB_IVSHMEM_SIZE + PG);
	/* Nothing was left behind: the whole range maps now */
	ASSERT_EQ(0, _map(self->container, BAR_IOVA, TB_IVSHMEM_SIZE,
			  self->bar, RW));
}

TEST_F(p2p, user_unmap_of_a_bar_mapping_blocks_dma)
{
	__u64 done = 0;
	int kmsg;

	ASSERT_EQ(0, map_bar_and_reach_it(0x61));
	ASSERT_EQ(0, _unmap(self->container, BAR_IOVA, TB_IVSHMEM_SIZE, 0,
			    &done));
	ASSERT_EQ(TB_IVSHMEM_SIZE, done);

	dmar_fault_window();
	kmsg = kmsg_open();
	ASSERT_EQ(0, edu_put(&self->edu, self->src, BAR_IOVA + XFER_OFF,
			     0x62));
	EXPECT_TRUE(dmar_fault_logged(kmsg, BAR_IOVA + XFER_OFF));
	EXPECT_TRUE(host_file_all(TB_IVSHMEM_FILE, XFER_OFF, XFER_LEN, 0x61));
}

/*
 * The memory of a device nobody has open is the bus driver's again (it
 * may reset the device, park it in D3, give it to another user): the
 * mapping must not outlive the last close.
 */
TEST_F(p2p, last_close_of_the_device_drops_its_bar_mapping)
{
	__u64 done = 1;
	int kmsg;

	if (!tb_ours())
		SKIP(return, "upstream 6.12 keeps the mapping of a closed device");
	ASSERT_EQ(0, map_bar_and_reach_it(0x71));
	/* The vma holds the device file: both must go for the last close */
	munmap(self->bar, TB_IVSHMEM_SIZE);
	self->bar = MAP_FAILED;
	close(self->shm);
	self->shm = -1;

	dmar_fault_window();
	kmsg = kmsg_open();
	ASSERT_EQ(0, edu_put(&self->edu, self->src, BAR_IOVA + XFER_OFF,
			     0x72));
	EXPECT_TRUE(dmar_fault_logged(kmsg, BAR_IOVA + XFER_OFF));
	EXPECT_TRUE(host_file_all(TB_IVSHMEM_FILE, XFER_OFF, XFER_LEN, 0x71));
	ASSERT_EQ(0, _unmap(self->container, BAR_IOVA, TB_IVSHMEM_SIZE, 0,
			    &done));
	EXPECT_EQ(0, done);
}

TEST_F(p2p, memory_decode_off_drops_the_bar_mapping)
{
	__u64 done = 1;
	int kmsg;

	if (!tb_ours())
		SKIP(return, "upstream 6.12 keeps it");
	ASSERT_EQ(0, map_bar_and_reach_it(0x81));
	ASSERT_EQ(0, cfg_command(self->shm, self->shm_cfg, 0, CMD_MEMORY));

	dmar_fault_window();
	kmsg = kmsg_open();
	ASSERT_EQ(0, edu_put(&self->edu, self->src, BAR_IOVA + XFER_OFF,
			     0x82));
	EXPECT_TRUE(dmar_fault_logged(kmsg, BAR_IOVA + XFER_OFF));
	EXPECT_TRUE(host_file_all(TB_IVSHMEM_FILE, XFER_OFF, XFER_LEN, 0x81));
	ASSERT_EQ(0, _unmap(self->container, BAR_IOVA, TB_IVSHMEM_SIZE, 0,
			    &done));
	EXPECT_EQ(0, done);

	/* While decode is off there is nothing to map; once back, there is */
	EXPECT_EQ(-EFAULT, _map(self->container, BAR_IOVA, TB_IVSHMEM_SIZE,
				self->bar, RW));
	ASSERT_EQ(0, cfg_command(self->shm, self->shm_cfg, CMD_MEMORY, 0));
	ASSERT_EQ(0, map_bar_and_reach_it(0x83));
}

/*
 * sysfs resource files of a PCI device no vfio driver owns are VM_PFNMAP
 * too; nothing would tell type1 when that memory goes away.
 */
TEST_F(p2p, map_of_pfnmap_memory_of_no_vfio_device_is_efault)
{
	char path[128];
	void *mem;
	int fd;

	if (!tb_ours())
		SKIP(return, "upstream 6.12 maps any VM_PFNMAP memory");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0",
		 TB_TESTDEV_BDF);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		SKIP(return, "no PFNMAP source: %s: %s", path, strerror(errno));
	mem = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mem == MAP_FAILED)
		SKIP(return, "no PFNMAP source: mmap %s: %s", path,
		     strerror(errno));
	EXPECT_EQ(-EFAULT, _map(self->container, BAR_IOVA, PG, mem, RW));
	munmap(mem, PG);
}

/* A revocation racing MAP_DMA of the same BAR, over and over */
#define RACE_TOGGLES	10000

struct race {
	int container;
	char *bar;
	int stop;		/* __atomic */
	bool ours;
	unsigned long maps, refused;
	int bad;		/* an errno nobody should see, or 0 */
};

static void *race_mapper(void *arg)
{
	struct race *r = arg;
	__u64 done = 0;
	int ret;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		ret = _map(r->container, BAR_IOVA, PG, r->bar, RW);
		/*
		 * Upstream 6.12 also answers -EINVAL when decode goes off
		 * between its fault and its page-table walk; ours refuses
		 * device memory that is gone with -EFAULT only.
		 */
		if (ret == -EFAULT || (ret == -EINVAL && !r->ours)) {
			r->refused++;
			continue;
		}
		if (ret) {
			r->bad = ret;
			break;
		}
		r->maps++;
		ret = _unmap(r->container, BAR_IOVA, PG, 0, &done);
		if (ret || (done != PG && done != 0)) {
			r->bad = ret ? ret : -E2BIG;
			break;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(p2p, decode_off_racing_map_of_the_bar_stays_consistent, 240)
{
	struct race r = {
		.container = self->container,
		.bar = self->bar,
		.ours = tb_ours(),
	};
	struct timespec t0, t1;
	pthread_t mapper;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, pthread_create(&mapper, NULL, race_mapper, &r));
	for (i = 0; i < RACE_TOGGLES && !r.bad; i++) {
		ASSERT_EQ(0, cfg_command(self->shm, self->shm_cfg, 0,
					 CMD_MEMORY));
		ASSERT_EQ(0, cfg_command(self->shm, self->shm_cfg, CMD_MEMORY,
					 0));
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(mapper, NULL));
	ASSERT_EQ(0, r.bad);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("%d toggles in %ld s; %lu maps went through, %lu were refused",
	       i, (long)(t1.tv_sec - t0.tv_sec), r.maps, r.refused);
	EXPECT_LT(0, r.maps);

	/* Whatever happened, what is left is a clean slate that works */
	_unmap(self->container, BAR_IOVA, TB_IVSHMEM_SIZE, 0, NULL);
	ASSERT_EQ(0, map_bar_and_reach_it(0x91));
}

/* A PFNMAP mapping of RAM: a udmabuf of a memfd */
static void *udmabuf_mmap(size_t size)
{
	struct udmabuf_create create = { .flags = UDMABUF_FLAGS_CLOEXEC };
	int memfd, dev, buf;
	void *p = MAP_FAILED;

	memfd = memfd_create("tb-udmabuf", MFD_ALLOW_SEALING);
	if (memfd < 0)
		return MAP_FAILED;
	dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0 || ftruncate(memfd, size) ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		goto out;
	create.memfd = memfd;
	create.size = size;
	buf = ioctl(dev, UDMABUF_CREATE, &create);
	if (buf < 0)
		goto out;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	close(buf);
	if (p != MAP_FAILED)
		memset(p, 0xa5, size);
out:
	if (dev >= 0)
		close(dev);
	close(memfd);
	return p;
}

TEST_F(p2p, map_of_pfnmap_ram_is_efault)
{
	void *ram;

	if (access("/dev/udmabuf", F_OK))
		SKIP(return, "no /dev/udmabuf: the kernel lacks CONFIG_UDMABUF");
	ram = udmabuf_mmap(4 * PG);
	ASSERT_NE(MAP_FAILED, ram) TH_LOG("udmabuf: %s", strerror(errno));
	EXPECT_EQ(-EFAULT, _map(self->container, BAR_IOVA, 4 * PG, ram, RW));
	munmap(ram, 4 * PG);
}

/*
 * The same with type1 built without CONFIG_VFIO_STRICT_PFNMAP (`tb type1
 * loose` swaps it in): PFNMAP device memory of drivers that are not vfio
 * maps untracked, RAM still does not.  Fails on c9a626b, which mapped the
 * RAM.
 */
#define LOOSE_TYPE1	"/tb/modules/ours/loose/vfio_iommu_type1.ko"

TEST(loose_pfnmap_mode_still_refuses_ram)
{
	int container = -1, group = -1, fd;
	char path[128];
	void *ram, *mem;

	if (tb_noiommu_profile())
		SKIP(return, "type1 needs an IOMMU");
	if (!tb_ours())
		SKIP(return,
		     "a build option of ours: upstream 6.12 has no strict mode");
	/* `make` builds it for the distro kernel; in-tree kernels lack it */
	if (access(LOOSE_TYPE1, R_OK))
		SKIP(return, "no %s in this image", LOOSE_TYPE1);
	ASSERT_EQ(0, tb_cmd("type1 loose"));
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_EDU_BDF));
	ASSERT_EQ(0, container_with_edu(&container, &group,
					VFIO_TYPE1v2_IOMMU));

	ram = udmabuf_mmap(4 * PG);
	ASSERT_NE(MAP_FAILED, ram);
	EXPECT_EQ(-EFAULT, _map(container, BAR_IOVA, 4 * PG, ram, RW));
	munmap(ram, 4 * PG);

	/* What the loose mode is for: a host driver's BAR through sysfs */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0",
		 TB_TESTDEV_BDF);
	fd = open(path, O_RDWR | O_SYNC);
	ASSERT_LE(0, fd);
	mem = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, mem);
	EXPECT_EQ(0, _map(container, BAR_IOVA, PG, mem, RW));
	EXPECT_EQ(0, _unmap(container, BAR_IOVA, PG, 0, NULL));
	munmap(mem, PG);

	close(group);
	close(container);
	ASSERT_EQ(0, tb_cmd("type1 strict"));
}

/*
 * A user stalled in MAP_DMA holds up nobody else.  The stall: pinning a
 * userfaultfd page whose fault nobody serves.  Meanwhile the last close
 * of a device whose BAR is DMA-mapped in that container, an open and
 * close of the other device of its device set, and the release of
 * another container that maps the same BAR must all finish.
 */
#define STALL_IOVA	0x800000UL
#define STALL_WAIT_MS	10000

struct bg {
	pthread_t thread;
	int fd, fd2;
	const char *name;
	void *ptr;
	int ret;
	int done;		/* __atomic */
};

static void bg_done(struct bg *b, int ret)
{
	b->ret = ret;
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
}

static bool bg_wait(struct bg *b, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
			return true;
		usleep(10000);
	}
	return __atomic_load_n(&b->done, __ATOMIC_ACQUIRE);
}

static void *bg_map(void *arg)
{
	struct bg *b = arg;

	bg_done(b, _map(b->fd, STALL_IOVA, 2 * PG, b->ptr, RW));
	return NULL;
}

static void *bg_close(void *arg)
{
	struct bg *b = arg;

	bg_done(b, close(b->fd) ? -errno : 0);
	return NULL;
}

static void *bg_open_close(void *arg)
{
	struct bg *b = arg;
	int fd = ioctl(b->fd, VFIO_GROUP_GET_DEVICE_FD, b->name);

	if (fd >= 0)
		close(fd);
	bg_done(b, fd < 0 ? -errno : 0);
	return NULL;
}

/* Both fds of a container and its only group: the container goes */
static void *bg_release(void *arg)
{
	struct bg *b = arg;

	close(b->fd2);
	bg_done(b, close(b->fd) ? -errno : 0);
	return NULL;
}

static int uffd_missing(void *addr, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Serve every missing page of the range: the stalled pin goes on */
static int uffd_serve(int uffd, void *addr, size_t len, const void *src)
{
	size_t off;

	for (off = 0; off < len; off += PG) {
		struct uffdio_copy copy = {
			.dst = (uintptr_t)addr + off,
			.src = (uintptr_t)src,
			.len = PG,
		};

		if (ioctl(uffd, UFFDIO_COPY, &copy) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

/* A device fd of @bdf, from its group in a container, memory decode on */
static int open_decoding(int group, const char *bdf)
{
	__u64 cfg = 0;
	int fd;

	fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (fd < 0)
		return -errno;
	if (region_offset(fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    cfg_command(fd, cfg, CMD_MEMORY, 0)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

FIXTURE(stall) {};
FIXTURE_SETUP(stall) {}
FIXTURE_TEARDOWN(stall) {}

/* Up to three waits of STALL_WAIT_MS, then everything ends */
TEST_F_TIMEOUT(stall, map_dma_stalled_in_a_fault_holds_up_no_other_user,
	       120)
{
	struct bg map = {}, close_dev = {}, peer = {}, release = {};
	int a, b, ga, gb, dev0, uffd;
	bool closed, opened, released, stalled;
	struct pollfd pfd;
	char *bar, *ubuf, *page;

	if (tb_noiommu_profile())
		SKIP(return, "type1 needs an IOMMU");
	/* The vm.* knob exists exactly when the syscall does */
	if (access("/proc/sys/vm/unprivileged_userfaultfd", F_OK))
		SKIP(return, "the kernel lacks CONFIG_USERFAULTFD");
	/*
	 * Upstream's pin cannot wait for a userfaultfd fault (see below),
	 * and a DEBUG_VM kernel dumps a stack for every such fault, which
	 * the bed rightly counts as a splat.
	 */
	if (!tb_ours() && tb_kconfig_y("DEBUG_VM"))
		SKIP(return, "upstream's pin cannot wait; DEBUG_VM dumps a stack");
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_SLOT_TESTDEV0_BDF));
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_SLOT_TESTDEV1_BDF));
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_TESTDEV_BDF));

	/* Container a: the slot's group; its BAR0 mapped for peer DMA */
	ASSERT_EQ(0, container_with_group(TB_SLOT_TESTDEV0_BDF, &a, &ga,
					  VFIO_TYPE1v2_IOMMU));
	dev0 = open_decoding(ga, TB_SLOT_TESTDEV0_BDF);
	ASSERT_LE(0, dev0);
	bar = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, dev0,
		   (off_t)VFIO_PCI_BAR0_REGION_INDEX << 40);
	ASSERT_NE(MAP_FAILED, bar);
	ASSERT_EQ(0, _map(a, BAR_IOVA, PG, bar, RW));

	/* Container b, another group, maps the same BAR */
	ASSERT_EQ(0, container_with_group(TB_TESTDEV_BDF, &b, &gb,
					  VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, _map(b, BAR_IOVA, PG, bar, RW));

	/* The stall: MAP_DMA in a of memory whose fault nobody serves */
	ubuf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ubuf);
	uffd = uffd_missing(ubuf, 2 * PG);
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(-uffd));
	map.fd = a;
	map.ptr = ubuf;
	ASSERT_EQ(0, pthread_create(&map.thread, NULL, bg_map, &map));
	pfd.fd = uffd;
	pfd.events = POLLIN;
	stalled = poll(&pfd, 1, 5000) == 1 &&
		  !__atomic_load_n(&map.done, __ATOMIC_ACQUIRE);
	/*
	 * Upstream 6.12 pins without letting the fault wait (a userfaultfd
	 * page is -EFAULT there): no stall, nothing to hold anyone up.  Ours
	 * waits, so the rest of the test is the real one.
	 */
	if (tb_ours())
		EXPECT_TRUE(stalled);

	/* Last close of dev0: its BAR mapping goes from a and b */
	munmap(bar, PG);
	close_dev.fd = dev0;
	ASSERT_EQ(0, pthread_create(&close_dev.thread, NULL, bg_close,
				    &close_dev));
	closed = bg_wait(&close_dev, STALL_WAIT_MS);
	/* The other device of dev0's device set */
	peer.fd = ga;
	peer.name = TB_SLOT_TESTDEV1_BDF;
	ASSERT_EQ(0, pthread_create(&peer.thread, NULL, bg_open_close, &peer));
	opened = bg_wait(&peer, STALL_WAIT_MS);
	/* Another container goes, with its link to dev0 */
	release.fd = b;
	release.fd2 = gb;
	ASSERT_EQ(0, pthread_create(&release.thread, NULL, bg_release,
				    &release));
	released = bg_wait(&release, STALL_WAIT_MS);

	/* Let the fault go: everything ends, on any kernel */
	page = calloc(1, PG);
	ASSERT_NE(NULL, page);
	ASSERT_EQ(0, uffd_serve(uffd, ubuf, 2 * PG, page));
	ASSERT_EQ(0, pthread_join(map.thread, NULL));
	ASSERT_EQ(0, pthread_join(close_dev.thread, NULL));
	ASSERT_EQ(0, pthread_join(peer.thread, NULL));
	ASSERT_EQ(0, pthread_join(release.thread, NULL));

	EXPECT_TRUE(closed) TH_LOG("the device's last close waited for the stalled MAP_DMA");
	EXPECT_TRUE(opened) TH_LOG("an open in the same device set waited for the stalled MAP_DMA");
	EXPECT_TRUE(released) TH_LOG("another container's release waited for the stalled MAP_DMA");
	EXPECT_EQ(0, close_dev.ret);
	EXPECT_EQ(0, peer.ret);
	EXPECT_EQ(0, release.ret);
	/* Upstream 6.12 refuses the userfaultfd page instead of waiting */
	EXPECT_TRUE(map.ret == 0 || (!stalled && map.ret == -EFAULT));

	free(page);
	close(uffd);
	munmap(ubuf, 2 * PG);
	close(ga);
	close(a);
}

/*
 * P2P DMA into the middle of a PUD-mapped BAR: edu and the 1 GiB ivshmem
 * in one container, the BAR mapped 1 GiB aligned (MAP_FIXED: this is
 * about type1, not placement) and touched, so the MAP_DMAs below find a
 * PUD leaf.  edu reaches 28 bits: windows of the BAR's middle are mapped
 * low.
 */
#define HUGE_IOVA	0x8000000UL		/* 128 MiB from the middle */
#define HUGE_OFF	(TB_HUGE_SIZE / 2)
#define HUGE_LEN	0x8000000UL
#define ODD_IOVA	0x4000000UL		/* starts a page into a PUD */
#define ODD_OFF		(TB_HUGE_SIZE / 2 + PG)
#define ODD_LEN		(HPAGE + 2 * PG)
#define FILL		0x11			/* around what DMA writes */

FIXTURE(p2p_huge)
{
	int container;
	int edu_group;
	int huge_group;
	int huge;		/* the 1 GiB ivshmem's device fd */
	__u64 huge_bar;		/* offset of its BAR2 region */
	struct edu edu;
	char *src;		/* mapped at SRC_IOVA */
	char *bar;		/* BAR2, TB_HUGE_SIZE, 1 GiB aligned */
	long pins_before;
};

/* XFER_LEN bytes of FILL on either side of [@off, @off + XFER_LEN) */
static int huge_fill_around(int fd, __u64 bar, __u64 off)
{
	char fill[3 * XFER_LEN];

	memset(fill, FILL, sizeof(fill));
	return pwrite(fd, fill, sizeof(fill), bar + off - XFER_LEN) ==
	       (ssize_t)sizeof(fill) ? 0 : -EIO;
}

/* edu's write of @byte to @iova landed at BAR offset @off, and only there */
static bool huge_landed(__u64 off, int byte)
{
	return host_file_all(TB_HUGE_FILE, off, XFER_LEN, byte) &&
	       host_file_all(TB_HUGE_FILE, off - XFER_LEN, XFER_LEN, FILL) &&
	       host_file_all(TB_HUGE_FILE, off + XFER_LEN, XFER_LEN, FILL);
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

FIXTURE_SETUP(p2p_huge)
{
	__u64 cfg = 0, off;
	char *res;
	long before;

	self->container = -1;
	self->edu_group = -1;
	self->huge_group = -1;
	self->huge = -1;
	self->edu.fd = -1;
	self->bar = MAP_FAILED;
	self->src = MAP_FAILED;
	if (tb_noiommu_profile())
		SKIP(return, "type1 needs an IOMMU");
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_EDU_BDF));
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_HUGE_BDF));
	self->pins_before = pins_outstanding();
	ASSERT_LE(0, self->pins_before);
	ASSERT_EQ(0, container_with_edu(&self->container, &self->edu_group,
					VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, edu_open(self->edu_group, &self->edu));

	self->huge_group = group_open(TB_HUGE_BDF);
	ASSERT_LE(0, self->huge_group);
	ASSERT_EQ(0, ioctl(self->huge_group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	self->huge = ioctl(self->huge_group, VFIO_GROUP_GET_DEVICE_FD,
			   TB_HUGE_BDF);
	ASSERT_LE(0, self->huge);
	ASSERT_EQ(0, region_offset(self->huge, VFIO_PCI_CONFIG_REGION_INDEX,
				   &cfg));
	ASSERT_EQ(0, region_offset(self->huge, TB_HUGE_BAR, &self->huge_bar));
	ASSERT_EQ(0, cfg_command(self->huge, cfg, CMD_MEMORY, 0));

	/* A 1 GiB aligned hole, the BAR in it */
	res = mmap(NULL, 2 * TB_HUGE_SIZE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	self->bar = (char *)(((uintptr_t)res + TB_HUGE_SIZE - 1) &
			     ~(TB_HUGE_SIZE - 1));
	ASSERT_EQ(self->bar, mmap(self->bar, TB_HUGE_SIZE,
				  PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_FIXED, self->huge,
				  self->huge_bar));
	if (self->bar > res)
		munmap(res, self->bar - res);
	munmap(self->bar + TB_HUGE_SIZE, res + TB_HUGE_SIZE - self->bar);

	/* One fault for the GiB: a PUD entry */
	before = minflt();
	for (off = 0; off < TB_HUGE_SIZE; off += HPAGE)
		(void)__atomic_load_n(self->bar + off, __ATOMIC_RELAXED);
	ASSERT_GE(2, minflt() - before);

	self->src = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->src);
	ASSERT_EQ(0, _map(self->container, SRC_IOVA, PG, self->src, RW));
}

FIXTURE_TEARDOWN(p2p_huge)
{
	if (self->bar != MAP_FAILED)
		munmap(self->bar, TB_HUGE_SIZE);
	if (self->huge >= 0)
		close(self->huge);
	if (self->edu.fd >= 0)
		close(self->edu.fd);
	if (self->huge_group >= 0)
		close(self->huge_group);
	if (self->edu_group >= 0)
		close(self->edu_group);
	if (self->container >= 0) {
		close(self->container);
		EXPECT_EQ(self->pins_before, pins_settle(self->pins_before,
							 1000));
	}
	if (self->src != MAP_FAILED)
		munmap(self->src, PG);
}

/*
 * A DMA write to an IOVA in the window (not 2 MiB aligned) lands at the
 * BAR offset it stands for; a DMA read from another one brings back what
 * is there.  Once unmapped, the same write is blocked.
 */
TEST_F(p2p_huge, dma_into_the_middle_of_a_pud_lands_at_its_offset)
{
	const __u64 wr = 0x2345670, rd = HUGE_LEN - PG - 0x123;
	char want[XFER_LEN];
	__u64 done = 0;
	unsigned int i;
	int kmsg;

	ASSERT_EQ(0, _map(self->container, HUGE_IOVA, HUGE_LEN,
			  self->bar + HUGE_OFF, RW));

	ASSERT_EQ(0, huge_fill_around(self->huge, self->huge_bar,
				      HUGE_OFF + wr));
	ASSERT_EQ(0, edu_put(&self->edu, self->src, HUGE_IOVA + wr, 0xa7));
	EXPECT_TRUE(huge_landed(HUGE_OFF + wr, 0xa7));
	EXPECT_EQ((char)0xa7, self->bar[HUGE_OFF + wr]);

	for (i = 0; i < XFER_LEN; i++)
		want[i] = (char)(i * 7 + 1);
	ASSERT_EQ((ssize_t)XFER_LEN,
		  pwrite(self->huge, want, XFER_LEN,
			 self->huge_bar + HUGE_OFF + rd));
	ASSERT_EQ(0, edu_read_iova(&self->edu, HUGE_IOVA + rd, XFER_LEN));
	memset(self->src, 0, XFER_LEN);
	ASSERT_EQ(0, edu_write_iova(&self->edu, SRC_IOVA, XFER_LEN));
	EXPECT_EQ(0, memcmp(want, self->src, XFER_LEN));

	ASSERT_EQ(0, _unmap(self->container, HUGE_IOVA, HUGE_LEN, 0, &done));
	EXPECT_EQ(HUGE_LEN, done);
	dmar_fault_window();
	kmsg = kmsg_open();
	ASSERT_EQ(0, edu_put(&self->edu, self->src, HUGE_IOVA + wr, 0xa8));
	/* The fault record holds the page, not the byte */
	EXPECT_TRUE(dmar_fault_logged(kmsg, (HUGE_IOVA + wr) & ~(PG - 1)));
	EXPECT_TRUE(huge_landed(HUGE_OFF + wr, 0xa7));
}

/*
 * A window that starts a page into the PUD and ends two pages past a
 * 2 MiB boundary: its first and last XFER_LEN bytes land at their own
 * offsets, the bytes just outside stay.  Once unmapped, blocked.
 */
TEST_F(p2p_huge, dma_window_starting_inside_a_pud_lands_right_at_both_ends)
{
	const __u64 last = ODD_LEN - XFER_LEN;
	__u64 done = 0;
	int kmsg;

	ASSERT_EQ(0, _map(self->container, ODD_IOVA, ODD_LEN,
			  self->bar + ODD_OFF, RW));
	ASSERT_EQ(0, huge_fill_around(self->huge, self->huge_bar, ODD_OFF));
	ASSERT_EQ(0, huge_fill_around(self->huge, self->huge_bar,
				      ODD_OFF + last));

	ASSERT_EQ(0, edu_put(&self->edu, self->src, ODD_IOVA, 0xb1));
	EXPECT_TRUE(huge_landed(ODD_OFF, 0xb1));
	ASSERT_EQ(0, edu_put(&self->edu, self->src, ODD_IOVA + last, 0xb2));
	EXPECT_TRUE(huge_landed(ODD_OFF + last, 0xb2));

	ASSERT_EQ(0, _unmap(self->container, ODD_IOVA, ODD_LEN, 0, &done));
	EXPECT_EQ(ODD_LEN, done);
	dmar_fault_window();
	kmsg = kmsg_open();
	ASSERT_EQ(0, edu_put(&self->edu, self->src, ODD_IOVA, 0xb3));
	EXPECT_TRUE(dmar_fault_logged(kmsg, ODD_IOVA));
	EXPECT_TRUE(huge_landed(ODD_OFF, 0xb1));
}

TEST_HARNESS_MAIN
