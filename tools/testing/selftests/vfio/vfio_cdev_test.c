// SPDX-License-Identifier: GPL-2.0
/*
 * The device-centric interface (CONFIG_VFIO_DEVICE_CDEV): every device on
 * vfio-pci also gets /dev/vfio/devices/vfioN, named by sysfs vfio-dev/vfioN
 * under the PCI device, and its fd is tied to an iommufd (/dev/iommu) by
 * VFIO_DEVICE_BIND_IOMMUFD, then to an IOAS or HW pagetable of that iommufd
 * by VFIO_DEVICE_ATTACH_IOMMUFD_PT.
 *
 *  - a cdev fd is blocked until it is bound: read, write, mmap and every
 *    ioctl but the bind fail, so nothing the user does reaches the device
 *    while it still sits in the host's DMA domain;
 *  - the bind takes an iommufd and nothing else, once;
 *  - attach, detach, attach again, replace (attach while attached);
 *  - edu's DMA goes through IOMMU_IOAS_MAP mappings and nowhere else;
 *  - the group path and the cdev path exclude each other;
 *  - close undoes it all, with the device attached and memory mapped;
 *  - an unbind from vfio-pci asks a cdev user through REQ, as a group user;
 *  - hot reset through the cdev names devices by iommufd device id and
 *    needs no group fds;
 *  - no-IOMMU through the cdev (iommufd -1) needs the mode and
 *    CAP_SYS_RAWIO (the series'; 6.12 gives such a device no node).
 *
 * Every errno asserted is the one upstream 6.12's modules return on the
 * in-tree kernel (make check KERNEL=debug VFIO_MODULES=distro); the
 * comments say "upstream" for those.  What 6.12 lacks SKIPs with its
 * modules, saying so.  The distro kernel has no iommufd: everything SKIPs
 * there.  The program runs in the no-IOMMU boot too, for the no-IOMMU
 * cases.  The VF token through the cdev, which 6.12 does not check, is
 * vfio_cdev_sriov_test's.
 */
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "vfio_test_util.h"
#include "vfio_type1_util.h"

/*
 * iommufd's uAPI: the test bed builds against the host's libc headers,
 * which are older than iommufd, so the few pieces used here are spelled
 * out as 6.12's include/uapi/linux/iommufd.h defines them (unless a
 * header included above already did).
 */
#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE		(';')
#define IOMMU_DESTROY		_IO(IOMMUFD_TYPE, 0x80)
#define IOMMU_IOAS_ALLOC	_IO(IOMMUFD_TYPE, 0x81)
#define IOMMU_IOAS_MAP		_IO(IOMMUFD_TYPE, 0x85)
#define IOMMU_IOAS_UNMAP	_IO(IOMMUFD_TYPE, 0x86)
#define IOMMU_HWPT_ALLOC	_IO(IOMMUFD_TYPE, 0x89)

#define IOMMU_IOAS_MAP_FIXED_IOVA	0x1
#define IOMMU_IOAS_MAP_WRITEABLE	0x2
#define IOMMU_IOAS_MAP_READABLE		0x4

struct iommu_destroy {
	__u32 size;
	__u32 id;
};

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#endif

#define MAP_RW		(IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

/* edu registers and the config bits DMA needs */
#define CFG_COMMAND	0x04
#define CMD_MEMORY	0x0002
#define CMD_MASTER	0x0004
#define EDU_ID		0x00

/* Where the DMA tests put things: one page edu reads from, one block. */
#define SRC_IOVA	0x10000UL
#define DST_IOVA	0x100000UL
#define BLOCK		(16 * PG)
#define DMA_LEN		TB_EDU_DMA_MAX

#define UNBIND_BLOCKED_MS	2000
#define UNBIND_DONE_MS		10000
#define REQ_SIGNAL_MS		15000

/* ---- iommufd -------------------------------------------------------- */

static int ioas_alloc(int ifd, __u32 *id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	if (ioctl(ifd, IOMMU_IOAS_ALLOC, &alloc))
		return errno;
	*id = alloc.out_ioas_id;
	return 0;
}

/* Map @len bytes at @va to @iova of IOAS @ioas, with @prot (MAP_RW...). */
static int ioas_map(int ifd, __u32 ioas, const void *va, __u64 len,
		    __u64 iova, __u32 prot)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | prot,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(ifd, IOMMU_IOAS_MAP, &map) ? errno : 0;
}

static int ioas_unmap(int ifd, __u32 ioas, __u64 iova, __u64 len)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = ioas,
		.iova = iova,
		.length = len,
	};

	return ioctl(ifd, IOMMU_IOAS_UNMAP, &unmap) ? errno : 0;
}

/* A kernel-managed HW pagetable for device @devid, on IOAS @ioas. */
static int hwpt_alloc(int ifd, __u32 devid, __u32 ioas, __u32 *hwpt)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.dev_id = devid,
		.pt_id = ioas,
	};

	if (ioctl(ifd, IOMMU_HWPT_ALLOC, &alloc))
		return errno;
	*hwpt = alloc.out_hwpt_id;
	return 0;
}

static int obj_destroy(int ifd, __u32 id)
{
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = id };

	return ioctl(ifd, IOMMU_DESTROY, &destroy) ? errno : 0;
}

/* ---- the raw ioctls, for the argument checks ------------------------- */

static int bind_raw(int fd, __u32 argsz, __u32 flags, int iommufd)
{
	struct {
		struct vfio_device_bind_iommufd bind;
		__u8 pad[16];
	} arg;

	memset(&arg, 0, sizeof(arg));
	arg.bind.argsz = argsz;
	arg.bind.flags = flags;
	arg.bind.iommufd = iommufd;
	return ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &arg) ? errno : 0;
}

static int attach_raw(int fd, __u32 argsz, __u32 flags, __u32 pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = argsz,
		.flags = flags,
		.pt_id = pt_id,
	};

	return ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) ? errno : 0;
}

static int detach_raw(int fd, __u32 argsz, __u32 flags)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = argsz,
		.flags = flags,
	};

	return ioctl(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) ? errno : 0;
}

/* ---- edu through a cdev fd ------------------------------------------- */

/* Memory decode and bus mastering on, BAR0's offset found. */
static int edu_enable(int fd, struct edu *edu)
{
	__u64 cfg = 0;
	__u16 cmd;

	edu->fd = fd;
	if (region_offset(fd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    region_offset(fd, VFIO_PCI_BAR0_REGION_INDEX, &edu->bar0) ||
	    pread(fd, &cmd, 2, cfg + CFG_COMMAND) != 2)
		return -EIO;
	cmd |= CMD_MEMORY | CMD_MASTER;
	return pwrite(fd, &cmd, 2, cfg + CFG_COMMAND) == 2 ? 0 : -EIO;
}

static bool all_bytes(const char *p, size_t len, int byte)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (char)byte)
			return false;
	return true;
}

/* The vIOMMU reports a blocked DMA at @iova in the kernel log. */
static bool dmar_fault_logged(int kmsg, __u64 iova)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "fault addr 0x%llx ",
		 (unsigned long long)iova);
	return kmsg_find(kmsg, needle, 2000);
}

/* ---- edu on its cdev --------------------------------------------------- */

/*
 * edu on vfio-pci with its cdev open, not bound, and an iommufd.  mem is
 * what the DMA tests map: a source page (SRC_IOVA) and a block (DST_IOVA).
 */
struct cdev_bed {
	struct vfio_pci_binding saved;
	int dev;
	int iommufd;
	__u32 devid;
	__u32 ioas;
	struct edu edu;
	char *src;
	char *dst;
};

FIXTURE(cdev)
{
	struct cdev_bed bed;
};

FIXTURE_SETUP(cdev)
{
	memset(&self->bed.saved, 0, sizeof(self->bed.saved));
	self->bed.dev = -1;
	self->bed.iommufd = -1;
	self->bed.src = NULL;
	VFIO_CDEV_REQUIRED(return);
	if (tb_noiommu_profile())
		SKIP(return, "the IOMMU boot's tests");
	vfio_pci_save(TB_EDU_BDF, &self->bed.saved);
	vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER);
	vfio_cdev_open(TB_EDU_BDF, &self->bed.dev);
	vfio_iommufd_open(&self->bed.iommufd);
	self->bed.src = mmap(NULL, PG + BLOCK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->bed.src);
	self->bed.dst = self->bed.src + PG;
	memset(self->bed.src, 0, PG + BLOCK);
}

FIXTURE_TEARDOWN(cdev)
{
	vfio_close_fd(&self->bed.dev);
	vfio_close_fd(&self->bed.iommufd);
	if (self->bed.src && self->bed.src != MAP_FAILED)
		munmap(self->bed.src, PG + BLOCK);
	vfio_pci_restore(&self->bed.saved);
}

/* Bind to the fixture's iommufd and attach to a new IOAS. */
static void cdev_attach(struct __test_metadata *_metadata,
			struct cdev_bed *bed)
{
	__u32 pt;

	vfio_device_bind_iommufd(bed->dev, bed->iommufd, &bed->devid);
	ASSERT_EQ(0, ioas_alloc(bed->iommufd, &bed->ioas));
	pt = bed->ioas;
	vfio_device_attach_pt(bed->dev, &pt);
}

/* ... and map src and dst, with edu ready to DMA. */
static void cdev_dma_ready(struct __test_metadata *_metadata,
			   struct cdev_bed *bed)
{
	cdev_attach(_metadata, bed);
	ASSERT_EQ(0, ioas_map(bed->iommufd, bed->ioas, bed->src, PG,
			      SRC_IOVA, MAP_RW));
	ASSERT_EQ(0, ioas_map(bed->iommufd, bed->ioas, bed->dst, BLOCK,
			      DST_IOVA, MAP_RW));
	ASSERT_EQ(0, edu_enable(bed->dev, &bed->edu));
}

/* edu's buffer filled with @byte (from src), then written to @iova. */
static int edu_copy_out(struct cdev_bed *bed, int byte, __u64 iova)
{
	int err;

	memset(bed->src, byte, DMA_LEN);
	err = edu_read_iova(&bed->edu, SRC_IOVA, DMA_LEN);
	return err ? err : edu_write_iova(&bed->edu, iova, DMA_LEN);
}

TEST_F(cdev, node_and_sysfs_name_match)
{
	char name[NAME_MAX + 1], path[PATH_MAX], buf[32];
	unsigned int maj, min;
	struct stat st;
	int n;

	ASSERT_EQ(0, vfio_cdev_name(TB_EDU_BDF, name, sizeof(name)));
	ASSERT_EQ(0, strncmp(name, "vfio", 4)) TH_LOG("%s", name);
	ASSERT_NE(0, name[4]);
	ASSERT_EQ(strlen(name + 4), strspn(name + 4, "0123456789"));

	snprintf(path, sizeof(path), VFIO_CDEV_DIR "/%s", name);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/vfio-dev/%s/dev",
		 TB_EDU_BDF, name);
	ASSERT_EQ(0, vfio_sysfs_read(path, buf, sizeof(buf)));
	n = sscanf(buf, "%u:%u", &maj, &min);
	ASSERT_EQ(2, n);
	ASSERT_EQ(major(st.st_rdev), maj);
	ASSERT_EQ(minor(st.st_rdev), min);

	/* The node goes with the device's registration, and comes back. */
	vfio_close_fd(&self->bed.dev);
	vfio_pci_unbind(TB_EDU_BDF);
	ASSERT_EQ(ENOENT, vfio_cdev_name(TB_EDU_BDF, path, sizeof(path)));
	snprintf(path, sizeof(path), VFIO_CDEV_DIR "/%s", name);
	ASSERT_NE(0, access(path, F_OK));
	vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER);
	vfio_cdev_open(TB_EDU_BDF, &self->bed.dev);
}

/*
 * Everything but the bind, each with arguments that work once bound, so
 * the failure before is the block and nothing else.  Upstream: EINVAL for
 * every ioctl, read, write and mmap.
 */
struct access_try {
	const char *what;
	int (*fn)(struct cdev_bed *bed);
	bool works_bound;	/* succeeds once bound (and attached) */
};

static int try_read(struct cdev_bed *bed)
{
	return _vfio_config_read(bed->dev, &(__u16){ 0 }, 2, PCI_CFG_VENDOR_ID);
}

static int try_write(struct cdev_bed *bed)
{
	__u16 cmd = 0;

	return _vfio_config_set_reg(bed->dev, CFG_COMMAND, 2, cmd);
}

static int try_mmap(struct cdev_bed *bed)
{
	void *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, bed->dev,
		       VFIO_REGION_OFFSET(VFIO_PCI_BAR0_REGION_INDEX));

	if (p == MAP_FAILED)
		return errno;
	munmap(p, PG);
	return 0;
}

static int try_get_info_of(int fd)
{
	struct vfio_device_info info;

	return _vfio_device_get_info(fd, sizeof(info), &info);
}

static int try_get_info(struct cdev_bed *bed)
{
	return try_get_info_of(bed->dev);
}

static int try_region_info(struct cdev_bed *bed)
{
	struct vfio_region_info info;

	return _vfio_device_get_indexed_info(bed->dev,
					     VFIO_DEVICE_GET_REGION_INFO,
					     VFIO_PCI_BAR0_REGION_INDEX,
					     sizeof(info), 0, &info,
					     sizeof(info));
}

static int try_irq_info(struct cdev_bed *bed)
{
	struct vfio_irq_info info;

	return _vfio_device_get_indexed_info(bed->dev,
					     VFIO_DEVICE_GET_IRQ_INFO,
					     VFIO_PCI_MSI_IRQ_INDEX,
					     sizeof(info), 0, &info,
					     sizeof(info));
}

static int try_set_irqs(struct cdev_bed *bed)
{
	int efd = eventfd(0, EFD_CLOEXEC), err;

	if (efd < 0)
		return errno;
	err = _vfio_device_set_req_eventfd(bed->dev, efd);
	close(efd);
	return err;
}

static int try_reset(struct cdev_bed *bed)
{
	return ioctl(bed->dev, VFIO_DEVICE_RESET) ? errno : 0;
}

/*
 * A feature no version defines: once bound the driver answers ENOTTY, so
 * an EINVAL can only be the gate's.
 */
static int try_feature(struct cdev_bed *bed)
{
	struct vfio_device_feature feature = {
		.argsz = sizeof(feature),
		.flags = VFIO_DEVICE_FEATURE_PROBE |
			 VFIO_DEVICE_FEATURE_SET | 0xfff0,
	};

	return ioctl(bed->dev, VFIO_DEVICE_FEATURE, &feature) ? errno : 0;
}

static int try_attach(struct cdev_bed *bed)
{
	__u32 ioas = 0, pt;
	int err = ioas_alloc(bed->iommufd, &ioas);

	pt = ioas;
	return err ? err : _vfio_device_attach_pt(bed->dev, &pt);
}

static int try_detach(struct cdev_bed *bed)
{
	return _vfio_device_detach_pt(bed->dev);
}

static int try_hot_reset_info(struct cdev_bed *bed)
{
	struct {
		struct vfio_pci_hot_reset_info info;
		struct vfio_pci_dependent_device devs[4];
	} arg = { .info = { .argsz = sizeof(arg) } };

	return ioctl(bed->dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &arg) ?
	       errno : 0;
}

static int try_hot_reset(struct cdev_bed *bed)
{
	struct vfio_pci_hot_reset reset = { .argsz = sizeof(reset) };

	return ioctl(bed->dev, VFIO_DEVICE_PCI_HOT_RESET, &reset) ? errno : 0;
}

static int try_ioeventfd(struct cdev_bed *bed)
{
	int efd = eventfd(0, EFD_CLOEXEC), err;
	struct vfio_device_ioeventfd ioev = {
		.argsz = sizeof(ioev),
		.flags = VFIO_DEVICE_IOEVENTFD_32,
		.offset = VFIO_REGION_OFFSET(VFIO_PCI_BAR0_REGION_INDEX) + 0x20,
		.data = 1,
		.fd = efd,
	};

	if (efd < 0)
		return errno;
	err = ioctl(bed->dev, VFIO_DEVICE_IOEVENTFD, &ioev) ? errno : 0;
	if (!err) {
		ioev.fd = -1;
		ioctl(bed->dev, VFIO_DEVICE_IOEVENTFD, &ioev);
	}
	close(efd);
	return err;
}

/* A vfio ioctl number nothing defines. */
static int try_unknown(struct cdev_bed *bed)
{
	return ioctl(bed->dev, _IO(VFIO_TYPE, VFIO_BASE + 60)) ? errno : 0;
}

static const struct access_try access_tries[] = {
	{ "read", try_read, true },
	{ "write", try_write, true },
	{ "mmap", try_mmap, true },
	{ "GET_INFO", try_get_info, true },
	{ "GET_REGION_INFO", try_region_info, true },
	{ "GET_IRQ_INFO", try_irq_info, true },
	{ "SET_IRQS", try_set_irqs, true },
	{ "RESET", try_reset, false },
	{ "FEATURE", try_feature, false },
	{ "ATTACH_IOMMUFD_PT", try_attach, true },
	{ "DETACH_IOMMUFD_PT", try_detach, true },
	{ "GET_PCI_HOT_RESET_INFO", try_hot_reset_info, false },
	{ "PCI_HOT_RESET", try_hot_reset, false },
	{ "IOEVENTFD", try_ioeventfd, true },
	{ "an unknown ioctl", try_unknown, false },
};

static void expect_all_blocked(struct __test_metadata *_metadata,
			       struct cdev_bed *bed)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(access_tries); i++) {
		EXPECT_EQ(EINVAL, access_tries[i].fn(bed))
			TH_LOG("%s before bind", access_tries[i].what);
	}
}

TEST_F(cdev, every_access_is_blocked_before_bind)
{
	size_t i;

	expect_all_blocked(_metadata, &self->bed);
	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	for (i = 0; i < ARRAY_SIZE(access_tries); i++) {
		if (access_tries[i].works_bound)
			EXPECT_EQ(0, access_tries[i].fn(&self->bed))
				TH_LOG("%s once bound", access_tries[i].what);
	}
	EXPECT_EQ(ENOTTY, try_feature(&self->bed));
	EXPECT_EQ(0x1234, vfio_config_reg(self->bed.dev, PCI_CFG_VENDOR_ID, 2));
}

/* A bind that failed grants nothing. */
TEST_F(cdev, failed_bind_leaves_access_blocked)
{
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	/* Upstream: EBADFD, the fd is not an iommufd. */
	vfio_device_bind_iommufd_err(EBADFD, self->bed.dev, efd);
	close(efd);
	expect_all_blocked(_metadata, &self->bed);
}

TEST_F(cdev, bind_returns_a_device_id)
{
	__u32 hwpt = 0;

	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	EXPECT_NE(0, self->bed.devid);
	/* The id names the device in its iommufd: a HWPT can be made for it. */
	ASSERT_EQ(0, ioas_alloc(self->bed.iommufd, &self->bed.ioas));
	EXPECT_EQ(0, hwpt_alloc(self->bed.iommufd, self->bed.devid, self->bed.ioas, &hwpt));
}

/* Upstream: EINVAL for a second bind, to the same iommufd or another. */
TEST_F(cdev, bind_twice_is_einval)
{
	int other;

	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	vfio_device_bind_iommufd_err(EINVAL, self->bed.dev, self->bed.iommufd);
	vfio_iommufd_open(&other);
	vfio_device_bind_iommufd_err(EINVAL, self->bed.dev, other);
	close(other);
	/* Still bound as before. */
	EXPECT_EQ(0, try_get_info(&self->bed));
}

/*
 * One cdev fd at a time: a second fd of a bound device opens but cannot
 * bind, to any iommufd (upstream: EINVAL); once the first is closed it can.
 */
TEST_F(cdev, only_one_cdev_fd_binds)
{
	int fd2, other;

	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	vfio_cdev_open(TB_EDU_BDF, &fd2);
	EXPECT_EQ(EINVAL, _vfio_device_bind_iommufd(fd2, self->bed.iommufd, NULL));
	vfio_iommufd_open(&other);
	EXPECT_EQ(EINVAL, _vfio_device_bind_iommufd(fd2, other, NULL));
	close(other);
	EXPECT_EQ(EINVAL, try_get_info_of(fd2));
	vfio_close_fd(&self->bed.dev);
	EXPECT_EQ(0, _vfio_device_bind_iommufd(fd2, self->bed.iommufd, NULL));
	EXPECT_EQ(0, try_get_info_of(fd2));
	close(fd2);
}

TEST_F(cdev, bind_to_what_is_not_an_iommufd)
{
	int efd, container, fd;

	/* Upstream: EINVAL for a negative number, before anything else. */
	EXPECT_EQ(EINVAL, _vfio_device_bind_iommufd(self->bed.dev, -2, NULL));
	EXPECT_EQ(EINVAL, _vfio_device_bind_iommufd(self->bed.dev, INT_MIN, NULL));

	/* Upstream: EBADF for a number that is no open fd. */
	EXPECT_EQ(EBADF, _vfio_device_bind_iommufd(self->bed.dev, 1000, NULL));
	vfio_iommufd_open(&fd);
	close(fd);
	EXPECT_EQ(EBADF, _vfio_device_bind_iommufd(self->bed.dev, fd, NULL));

	/* Upstream: EBADFD for an fd of something else. */
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	EXPECT_EQ(EBADFD, _vfio_device_bind_iommufd(self->bed.dev, efd, NULL));
	close(efd);
	vfio_container_open(&container);
	EXPECT_EQ(EBADFD, _vfio_device_bind_iommufd(self->bed.dev, container,
						    NULL));
	EXPECT_EQ(EBADFD, _vfio_device_bind_iommufd(self->bed.dev, self->bed.dev,
						    NULL));
	close(container);

	/* None of it spoiled the fd. */
	expect_all_blocked(_metadata, &self->bed);
	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
}

/* Upstream: EINVAL for a short argsz and for flags 6.12 does not know. */
TEST_F(cdev, bind_argsz_and_flags)
{
	const __u32 minsz = offsetofend(struct vfio_device_bind_iommufd,
					out_devid);

	EXPECT_EQ(EINVAL, bind_raw(self->bed.dev, 0, 0, self->bed.iommufd));
	EXPECT_EQ(EINVAL, bind_raw(self->bed.dev, minsz - 1, 0, self->bed.iommufd));
	EXPECT_EQ(EINVAL, bind_raw(self->bed.dev, minsz, 1u << 1, self->bed.iommufd));
	EXPECT_EQ(EINVAL, bind_raw(self->bed.dev, minsz, 1u << 31, self->bed.iommufd));
	expect_all_blocked(_metadata, &self->bed);
	/* The 6.12 size is enough; a bigger, zero-filled argument too. */
	EXPECT_EQ(0, bind_raw(self->bed.dev, minsz, 0, self->bed.iommufd));
}

TEST_F(cdev, bigger_zeroed_bind_argument_is_accepted)
{
	const __u32 minsz = offsetofend(struct vfio_device_bind_iommufd,
					out_devid);

	EXPECT_EQ(0, bind_raw(self->bed.dev, minsz + 16, 0, self->bed.iommufd));
}

/*
 * Beyond 6.12: the bind's argument grew (VFIO_DEVICE_BIND_FLAG_TOKEN and
 * token_uuid_ptr, see vfio_cdev_sriov_test), and since then the kernel
 * reads it as far as argsz says, requiring what it does not know to be
 * zero (E2BIG), and refuses a token for a device that takes none (EINVAL).
 * 6.12 ignores everything past out_devid.
 */
#ifndef VFIO_DEVICE_BIND_FLAG_TOKEN
#define VFIO_DEVICE_BIND_FLAG_TOKEN	0x1
#endif

/* Spelled out: the uapi header may or may not have the token yet. */
struct bind_token {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
	__aligned_u64 token_uuid_ptr;
	__u64 more;
};

static_assert(offsetof(struct bind_token, out_devid) ==
	      offsetof(struct vfio_device_bind_iommufd, out_devid),
	      "bind_token extends vfio_device_bind_iommufd");

static int bind_token_raw(int fd, __u32 argsz, __u32 flags, int iommufd,
			  const void *uuid, __u64 more)
{
	struct bind_token bind = {
		.argsz = argsz,
		.flags = flags,
		.iommufd = iommufd,
		.token_uuid_ptr = (uintptr_t)uuid,
		.more = more,
	};

	return ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? errno : 0;
}

#define BEYOND_612 "the bind's token (2025) is beyond 6.12"

TEST_F(cdev, bind_argument_past_the_token_must_be_zero)
{
	const __u8 uuid[16] = { 1 };

	if (!tb_ours()) {
		/* 6.12 reads 16 bytes and nothing else. */
		ASSERT_EQ(0, bind_token_raw(self->bed.dev, sizeof(struct bind_token),
					    0, self->bed.iommufd, uuid, 1));
		SKIP(return, BEYOND_612);
	}
	EXPECT_EQ(E2BIG, bind_token_raw(self->bed.dev, sizeof(struct bind_token), 0,
					self->bed.iommufd, NULL, 1));
	/* What argsz leaves out is not read at all. */
	EXPECT_EQ(0, bind_token_raw(self->bed.dev, offsetof(struct bind_token, more),
				    0, self->bed.iommufd, uuid, 1));
}

/* edu is neither PF nor VF: a token for it is refused. */
TEST_F(cdev, token_for_device_without_one_is_einval)
{
	const __u8 uuid[16] = { 1 };

	if (!tb_ours())
		SKIP(return, BEYOND_612);
	EXPECT_EQ(EINVAL, bind_token_raw(self->bed.dev, sizeof(struct bind_token),
					 VFIO_DEVICE_BIND_FLAG_TOKEN,
					 self->bed.iommufd, uuid, 0));
	expect_all_blocked(_metadata, &self->bed);
	EXPECT_EQ(0, bind_token_raw(self->bed.dev, sizeof(struct bind_token), 0,
				    self->bed.iommufd, uuid, 0));
}

/* In the IOMMU boot, iommufd -1 (no-IOMMU) is refused.  Upstream: EINVAL */
TEST_F(cdev, noiommu_bind_of_iommu_device_fails)
{
	vfio_device_bind_iommufd_err(EINVAL, self->bed.dev, -1);
	expect_all_blocked(_metadata, &self->bed);
}

TEST_F(cdev, attach_detach_attach)
{
	__u32 pt;

	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	ASSERT_EQ(0, ioas_alloc(self->bed.iommufd, &self->bed.ioas));
	pt = self->bed.ioas;
	vfio_device_attach_pt(self->bed.dev, &pt);
	/*
	 * Attached to an IOAS, the device sits in a HW pagetable iommufd
	 * made for it: its id comes back (upstream: a new id, not the IOAS).
	 */
	EXPECT_NE(self->bed.ioas, pt);
	EXPECT_NE(0, pt);
	vfio_device_detach_pt(self->bed.dev);
	pt = self->bed.ioas;
	vfio_device_attach_pt(self->bed.dev, &pt);
	vfio_device_detach_pt(self->bed.dev);
}

/* Upstream: detaching what is not attached succeeds, doing nothing. */
TEST_F(cdev, detach_when_not_attached)
{
	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	EXPECT_EQ(0, _vfio_device_detach_pt(self->bed.dev));
	EXPECT_EQ(0, _vfio_device_detach_pt(self->bed.dev));
}

TEST_F(cdev, attach_replaces_the_pagetable)
{
	__u32 ioas2 = 0, hwpt = 0, pt;

	cdev_attach(_metadata, &self->bed);
	ASSERT_EQ(0, ioas_alloc(self->bed.iommufd, &ioas2));
	pt = ioas2;
	vfio_device_attach_pt(self->bed.dev, &pt);

	ASSERT_EQ(0, hwpt_alloc(self->bed.iommufd, self->bed.devid, self->bed.ioas, &hwpt));
	pt = hwpt;
	vfio_device_attach_pt(self->bed.dev, &pt);
	EXPECT_EQ(hwpt, pt);
	/* Upstream (iommufd): EBUSY, the device sits in it. */
	EXPECT_EQ(EBUSY, obj_destroy(self->bed.iommufd, hwpt));
	pt = self->bed.ioas;
	vfio_device_attach_pt(self->bed.dev, &pt);
	EXPECT_EQ(0, obj_destroy(self->bed.iommufd, hwpt));
	EXPECT_EQ(0, obj_destroy(self->bed.iommufd, ioas2));
}

TEST_F(cdev, attach_bad_arguments)
{
	const __u32 minsz = offsetofend(struct vfio_device_attach_iommufd_pt,
					pt_id);
	__u32 ioas2 = 0;

	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	ASSERT_EQ(0, ioas_alloc(self->bed.iommufd, &self->bed.ioas));
	/* Upstream: ENOENT for an id that names nothing */
	EXPECT_EQ(ENOENT, attach_raw(self->bed.dev, minsz, 0, self->bed.ioas + 1000));
	ASSERT_EQ(0, ioas_alloc(self->bed.iommufd, &ioas2));
	ASSERT_EQ(0, obj_destroy(self->bed.iommufd, ioas2));
	EXPECT_EQ(ENOENT, attach_raw(self->bed.dev, minsz, 0, ioas2));
	/* Upstream: EINVAL for the id of an object that is no pagetable */
	EXPECT_EQ(EINVAL, attach_raw(self->bed.dev, minsz, 0,
				     self->bed.devid));
	/* Upstream: EINVAL for a short argsz or unknown flags */
	EXPECT_EQ(EINVAL, attach_raw(self->bed.dev, minsz - 1, 0, self->bed.ioas));
	EXPECT_EQ(EINVAL, attach_raw(self->bed.dev, minsz, 1u << 5, self->bed.ioas));
	EXPECT_EQ(EINVAL, detach_raw(self->bed.dev, 4, 0));
	EXPECT_EQ(EINVAL, detach_raw(self->bed.dev, 8, 1u << 5));
	EXPECT_EQ(0, attach_raw(self->bed.dev, minsz, 0, self->bed.ioas));
}

/* edu's DMA goes where IOMMU_IOAS_MAP put memory, both ways. */
TEST_F_TIMEOUT(cdev, edu_dma_through_ioas_mapping, 60)
{
	cdev_dma_ready(_metadata, &self->bed);
	memset(self->bed.dst, 0x11, BLOCK);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0xa5, DST_IOVA + PG));
	EXPECT_TRUE(all_bytes(self->bed.dst + PG, DMA_LEN, 0xa5));
	EXPECT_TRUE(all_bytes(self->bed.dst, PG, 0x11));
	EXPECT_TRUE(all_bytes(self->bed.dst + 2 * PG, BLOCK - 2 * PG, 0x11));
}

/* Unmapped or never mapped: the write lands nowhere, the vIOMMU faults. */
TEST_F_TIMEOUT(cdev, edu_dma_to_unmapped_iova_is_blocked, 60)
{
	int kmsg;

	cdev_dma_ready(_metadata, &self->bed);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0xa5, DST_IOVA));
	ASSERT_TRUE(all_bytes(self->bed.dst, DMA_LEN, 0xa5));
	memset(self->bed.dst, 0x11, BLOCK);

	dmar_fault_window();
	kmsg = kmsg_open();
	ASSERT_EQ(0, edu_write_iova(&self->bed.edu, DST_IOVA + BLOCK, DMA_LEN));
	EXPECT_TRUE(dmar_fault_logged(kmsg, DST_IOVA + BLOCK));
	ASSERT_EQ(0, ioas_unmap(self->bed.iommufd, self->bed.ioas, DST_IOVA, BLOCK));
	dmar_fault_window();
	kmsg = kmsg_open();
	ASSERT_EQ(0, edu_write_iova(&self->bed.edu, DST_IOVA, DMA_LEN));
	EXPECT_TRUE(dmar_fault_logged(kmsg, DST_IOVA));
	EXPECT_TRUE(all_bytes(self->bed.dst, BLOCK, 0x11));
}

/* Bound but attached nowhere: the device's DMA reaches nothing. */
TEST_F_TIMEOUT(cdev, edu_dma_before_attach_is_blocked, 60)
{
	__u32 pt;

	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	ASSERT_EQ(0, ioas_alloc(self->bed.iommufd, &self->bed.ioas));
	ASSERT_EQ(0, ioas_map(self->bed.iommufd, self->bed.ioas, self->bed.src, PG,
			      SRC_IOVA, MAP_RW));
	ASSERT_EQ(0, ioas_map(self->bed.iommufd, self->bed.ioas, self->bed.dst, BLOCK,
			      DST_IOVA, MAP_RW));
	ASSERT_EQ(0, edu_enable(self->bed.dev, &self->bed.edu));
	memset(self->bed.dst, 0x11, BLOCK);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0xa5, DST_IOVA));
	EXPECT_TRUE(all_bytes(self->bed.dst, BLOCK, 0x11));

	pt = self->bed.ioas;
	vfio_device_attach_pt(self->bed.dev, &pt);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0xa5, DST_IOVA));
	EXPECT_TRUE(all_bytes(self->bed.dst, DMA_LEN, 0xa5));

	/* And after a detach, nothing again. */
	vfio_device_detach_pt(self->bed.dev);
	memset(self->bed.dst, 0x11, BLOCK);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0x3c, DST_IOVA));
	EXPECT_TRUE(all_bytes(self->bed.dst, BLOCK, 0x11));
}

/* A replace moves the device's DMA to the new pagetable at once. */
TEST_F_TIMEOUT(cdev, replace_moves_dma, 60)
{
	__u32 ioas2 = 0, pt;

	cdev_dma_ready(_metadata, &self->bed);
	ASSERT_EQ(0, ioas_alloc(self->bed.iommufd, &ioas2));
	/* ioas2 has the source page, not the block */
	ASSERT_EQ(0, ioas_map(self->bed.iommufd, ioas2, self->bed.src, PG, SRC_IOVA,
			      MAP_RW));
	pt = ioas2;
	vfio_device_attach_pt(self->bed.dev, &pt);
	memset(self->bed.dst, 0x11, BLOCK);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0xa5, DST_IOVA));
	EXPECT_TRUE(all_bytes(self->bed.dst, BLOCK, 0x11));

	pt = self->bed.ioas;
	vfio_device_attach_pt(self->bed.dev, &pt);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0x5a, DST_IOVA));
	EXPECT_TRUE(all_bytes(self->bed.dst, DMA_LEN, 0x5a));
}

/*
 * Closing the fd of an attached device with memory mapped and DMA done:
 * the device is let go (the group path can have it, pins go back with the
 * iommufd), and a new cdev fd binds and DMAs again.
 */
TEST_F_TIMEOUT(cdev, close_attached_and_mapped_then_bind_again, 90)
{
	long pins = pins_outstanding();
	int group, device, err;
	__u32 pt;

	ASSERT_LE(0, pins);
	cdev_dma_ready(_metadata, &self->bed);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0xa5, DST_IOVA));
	ASSERT_TRUE(all_bytes(self->bed.dst, DMA_LEN, 0xa5));
	vfio_close_fd(&self->bed.dev);

	/* A new fd, the same iommufd and IOAS: the mapping still works. */
	vfio_cdev_open(TB_EDU_BDF, &self->bed.dev);
	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	pt = self->bed.ioas;
	vfio_device_attach_pt(self->bed.dev, &pt);
	ASSERT_EQ(0, edu_enable(self->bed.dev, &self->bed.edu));
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0x3c, DST_IOVA + PG));
	ASSERT_TRUE(all_bytes(self->bed.dst + PG, DMA_LEN, 0x3c));

	/* Everything closed: no pin left, the group path opens it. */
	vfio_close_fd(&self->bed.dev);
	vfio_close_fd(&self->bed.iommufd);
	EXPECT_EQ(pins, pins_settle(pins, 2000));
	group = group_open(TB_EDU_BDF);
	ASSERT_LE(0, group);
	err = _vfio_group_get_device_fd(group, TB_EDU_BDF, &device);
	/* No container: upstream EINVAL, but the group itself opened. */
	EXPECT_EQ(EINVAL, err);
	close(group);

	/* And a fresh iommufd binds it again. */
	vfio_iommufd_open(&self->bed.iommufd);
	vfio_cdev_open(TB_EDU_BDF, &self->bed.dev);
	cdev_dma_ready(_metadata, &self->bed);
	ASSERT_EQ(0, edu_copy_out(&self->bed, 0x77, DST_IOVA + 2 * PG));
	EXPECT_TRUE(all_bytes(self->bed.dst + 2 * PG, DMA_LEN, 0x77));
}

/* ---- cdev and group exclude each other ------------------------------- */

/* Upstream: a bound cdev keeps the group from being opened: EBUSY */
TEST_F(cdev, group_open_while_cdev_bound)
{
	int group;

	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	group = group_open(TB_EDU_BDF);
	EXPECT_EQ(-EBUSY, group);
	if (group >= 0)
		close(group);
	/* An open but unbound cdev fd does not. */
	vfio_close_fd(&self->bed.dev);
	vfio_cdev_open(TB_EDU_BDF, &self->bed.dev);
	group = group_open(TB_EDU_BDF);
	EXPECT_LE(0, group);
	if (group >= 0)
		close(group);
}

/* Upstream: an open group keeps the cdev from being bound: EBUSY */
TEST_F(cdev, bind_while_group_open)
{
	int group = group_open(TB_EDU_BDF);

	ASSERT_LE(0, group);
	vfio_device_bind_iommufd_err(EBUSY, self->bed.dev, self->bed.iommufd);
	expect_all_blocked(_metadata, &self->bed);
	close(group);
	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
}

/* Upstream: a device opened through its group cannot be bound: EBUSY */
TEST_F(cdev, bind_while_device_open_through_group)
{
	int container, group, device;

	ASSERT_EQ(0, container_with_edu(&container, &group,
					VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, _vfio_group_get_device_fd(group, TB_EDU_BDF, &device));
	close(group);
	close(container);
	/* Only the device fd is left, and it holds the group. */
	vfio_device_bind_iommufd_err(EBUSY, self->bed.dev, self->bed.iommufd);
	close(device);
	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
}

/* ---- REQ: an unbind asks the cdev user to let go --------------------- */

TEST_F_TIMEOUT(cdev, unbind_asks_cdev_user_through_req, 60)
{
	char name[NAME_MAX + 1];
	uint64_t count = 0;
	pid_t unbinder;
	int efd;

	vfio_device_bind_iommufd(self->bed.dev, self->bed.iommufd, &self->bed.devid);
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	vfio_device_set_req_eventfd(self->bed.dev, efd);
	unbinder = vfio_sysfs_write_async(PCI_DRIVERS "/" VFIO_PCI_DRIVER
					  "/unbind", TB_EDU_BDF);
	ASSERT_LT(0, unbinder);
	ASSERT_EQ(1, vfio_wait_readable(efd, REQ_SIGNAL_MS));
	ASSERT_EQ(sizeof(count), read(efd, &count, sizeof(count)));
	EXPECT_LE(1, count);

	/* The unbind waits for the fd, which still works meanwhile. */
	EXPECT_EQ(-1, vfio_wait_child(unbinder, UNBIND_BLOCKED_MS));
	EXPECT_EQ(0, try_get_info(&self->bed));
	EXPECT_EQ(0x1234, vfio_config_reg(self->bed.dev, PCI_CFG_VENDOR_ID, 2));

	vfio_close_fd(&self->bed.dev);
	EXPECT_EQ(0, vfio_wait_child(unbinder, UNBIND_DONE_MS));
	EXPECT_TRUE(vfio_pci_driver_is(TB_EDU_BDF, VFIO_NO_DRIVER));
	EXPECT_EQ(ENOENT, vfio_cdev_name(TB_EDU_BDF, name, sizeof(name)));
	close(efd);
}

/*
 * An open cdev fd holds the device even before it is bound: the unbind
 * waits for its close (with no REQ eventfd, nobody is asked), as upstream.
 */
TEST_F_TIMEOUT(cdev, unbind_waits_for_unbound_cdev_fd, 60)
{
	pid_t unbinder;

	unbinder = vfio_sysfs_write_async(PCI_DRIVERS "/" VFIO_PCI_DRIVER
					  "/unbind", TB_EDU_BDF);
	ASSERT_LT(0, unbinder);
	EXPECT_EQ(-1, vfio_wait_child(unbinder, UNBIND_BLOCKED_MS));
	vfio_close_fd(&self->bed.dev);
	EXPECT_EQ(0, vfio_wait_child(unbinder, UNBIND_DONE_MS));
	EXPECT_TRUE(vfio_pci_driver_is(TB_EDU_BDF, VFIO_NO_DRIVER));
}

/* ---- hot reset through the cdev -------------------------------------- */

struct reset_info {
	struct vfio_pci_hot_reset_info hdr;
	struct vfio_pci_dependent_device devs[8];
};

static int hot_reset_info(int fd, struct reset_info *info, __u32 argsz)
{
	memset(info, 0, sizeof(*info));
	info->hdr.argsz = argsz;
	return ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) ? errno : 0;
}

static int hot_reset_nofds(int fd)
{
	struct vfio_pci_hot_reset reset = { .argsz = sizeof(reset) };

	return ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, &reset) ? errno : 0;
}

/* The devices of a reset: bound to vfio-pci, cdevs open, an iommufd. */
FIXTURE(reset)
{
	struct vfio_pci_binding saved[2];
	int dev[2];
	__u32 devid[2];
	int iommufd;
};

FIXTURE_VARIANT(reset)
{
	const char *bdf[2];	/* the second NULL: alone in its reset */
};

FIXTURE_VARIANT_ADD(reset, bridged)
{
	.bdf = { TB_BRIDGED_TESTDEV_BDF, NULL },
};

FIXTURE_VARIANT_ADD(reset, slot_pair)
{
	.bdf = { TB_SLOT_TESTDEV0_BDF, TB_SLOT_TESTDEV1_BDF },
};

FIXTURE_SETUP(reset)
{
	memset(self->saved, 0, sizeof(self->saved));
	self->dev[0] = -1;
	self->dev[1] = -1;
	self->iommufd = -1;
	VFIO_CDEV_REQUIRED(return);
	if (tb_noiommu_profile())
		SKIP(return, "the IOMMU boot's tests");
	for (int i = 0; i < 2 && variant->bdf[i]; i++) {
		vfio_pci_save(variant->bdf[i], &self->saved[i]);
		vfio_pci_bind(variant->bdf[i], VFIO_PCI_DRIVER);
		vfio_cdev_open(variant->bdf[i], &self->dev[i]);
	}
	vfio_iommufd_open(&self->iommufd);
}

FIXTURE_TEARDOWN(reset)
{
	for (int i = 0; i < 2; i++)
		vfio_close_fd(&self->dev[i]);
	vfio_close_fd(&self->iommufd);
	for (int i = 1; i >= 0; i--)
		vfio_pci_restore(&self->saved[i]);
}

/* The entry of @info for @bdf, or NULL. */
static const struct vfio_pci_dependent_device *
reset_entry(const struct reset_info *info, const char *bdf)
{
	unsigned int seg, bus, slot, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn) != 4)
		return NULL;
	for (__u32 i = 0; i < info->hdr.count && i < 8; i++) {
		const struct vfio_pci_dependent_device *d = &info->devs[i];

		if (d->segment == seg && d->bus == bus &&
		    d->devfn == ((slot << 3) | fn))
			return d;
	}
	return NULL;
}

TEST_F_TIMEOUT(reset, info_names_devids_and_reset_needs_no_fds, 60)
{
	const struct vfio_pci_dependent_device *d;
	__u32 n = variant->bdf[1] ? 2 : 1;
	struct reset_info info;

	vfio_device_bind_iommufd(self->dev[0], self->iommufd, &self->devid[0]);
	ASSERT_EQ(0, hot_reset_info(self->dev[0], &info, sizeof(info)));
	EXPECT_EQ(n, info.hdr.count);
	EXPECT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
		  VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, info.hdr.flags);
	d = reset_entry(&info, variant->bdf[0]);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(self->devid[0], d->devid);
	if (variant->bdf[1]) {
		/* Not opened, but in the same group: upstream: OWNED (0) */
		d = reset_entry(&info, variant->bdf[1]);
		ASSERT_NE(NULL, d);
		EXPECT_EQ(VFIO_PCI_DEVID_OWNED, d->devid);
	}
	/* Upstream: ENOSPC with the count when the list does not fit */
	EXPECT_EQ(ENOSPC, hot_reset_info(self->dev[0], &info,
					 sizeof(info.hdr)));
	EXPECT_EQ(n, info.hdr.count);

	EXPECT_EQ(0, hot_reset_nofds(self->dev[0]));
}

/* Both functions bound to the same iommufd: both ids are listed. */
TEST_F_TIMEOUT(reset, two_bound_functions, 60)
{
	const struct vfio_pci_dependent_device *d;
	struct reset_info info;
	int other, err;

	if (!variant->bdf[1])
		SKIP(return, "one device");
	vfio_device_bind_iommufd(self->dev[0], self->iommufd, &self->devid[0]);
	/* The group is this iommufd's now: upstream: EPERM for another */
	vfio_iommufd_open(&other);
	err = _vfio_device_bind_iommufd(self->dev[1], other, NULL);
	close(other);
	EXPECT_EQ(EPERM, err);
	vfio_device_bind_iommufd(self->dev[1], self->iommufd, &self->devid[1]);
	EXPECT_NE(self->devid[0], self->devid[1]);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, hot_reset_info(self->dev[i], &info, sizeof(info)));
		EXPECT_EQ(2, info.hdr.count);
		EXPECT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
			  VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, info.hdr.flags);
		for (int j = 0; j < 2; j++) {
			d = reset_entry(&info, variant->bdf[j]);
			ASSERT_NE(NULL, d);
			EXPECT_EQ(self->devid[j], d->devid);
		}
	}
	EXPECT_EQ(0, hot_reset_nofds(self->dev[1]));
}

/* ---- no-IOMMU through the cdev ------------------------------------- */

#define NOIOMMU_PARAM	"/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define CAP_SYS_RAWIO_	17

static int drop_rawio(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return errno;
	data[0].effective &= ~(1U << CAP_SYS_RAWIO_);
	data[0].permitted &= ~(1U << CAP_SYS_RAWIO_);
	data[0].inheritable &= ~(1U << CAP_SYS_RAWIO_);
	return syscall(SYS_capset, &hdr, data) ? errno : 0;
}

/* The errno of a no-IOMMU bind of @fd by a child without CAP_SYS_RAWIO. */
static int bind_without_rawio(int fd, int iommufd)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (drop_rawio())
			_exit(200);
		_exit(_vfio_device_bind_iommufd(fd, iommufd, NULL));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Upstream 6.12 registers a no-IOMMU device without its cdev: sysfs has
 * vfio-dev/vfioN, /dev/vfio/devices has no node for it, so no-IOMMU is
 * the group path's alone there.  The series offers it through the cdev
 * too: bound with iommufd -1, by a task with CAP_SYS_RAWIO; those cases
 * SKIP on 6.12.
 */
#define NO_NOIOMMU_CDEV "6.12 gives a no-IOMMU device no cdev node"

FIXTURE(noiommu)
{
	struct vfio_pci_binding saved;
	char path[PATH_MAX];
	int dev;
	int iommufd;
};

FIXTURE_SETUP(noiommu)
{
	memset(&self->saved, 0, sizeof(self->saved));
	self->dev = -1;
	self->iommufd = -1;
	VFIO_CDEV_REQUIRED(return);
	if (!tb_noiommu_profile())
		SKIP(return, "needs the no-IOMMU boot (make check PROFILE=noiommu)");
	if (access(NOIOMMU_PARAM, F_OK))
		SKIP(return, "vfio (%s) built without CONFIG_VFIO_NOIOMMU",
		     tb_vfio_modules());
	ASSERT_EQ(0, vfio_sysfs_write(NOIOMMU_PARAM, "1"));
	vfio_pci_save(TB_EDU_BDF, &self->saved);
	vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER);
	/* Registered with vfio: the sysfs entry is there in any case. */
	ASSERT_EQ(0, vfio_cdev_path(TB_EDU_BDF, self->path,
				    sizeof(self->path)));
	vfio_iommufd_open(&self->iommufd);
}

FIXTURE_TEARDOWN(noiommu)
{
	vfio_close_fd(&self->dev);
	vfio_close_fd(&self->iommufd);
	vfio_pci_restore(&self->saved);
	if (!access(NOIOMMU_PARAM, F_OK))
		vfio_sysfs_write(NOIOMMU_PARAM, "0");
}

/*
 * Open the node into *@fd where there is one (ours); on 6.12 check that
 * there is none.  False: there is none, the test is skipped.
 */
static bool noiommu_cdev_open(struct __test_metadata *_metadata,
			      const char *path, int *fd)
{
	if (!tb_ours()) {
		bool none = access(path, F_OK);

		/* A failed EXPECT is not a skip: check, then skip. */
		EXPECT_TRUE(none) TH_LOG("6.12 has no %s", path);
		if (none)
			SKIP(return false, NO_NOIOMMU_CDEV);
		return false;
	}
	*fd = open(path, O_RDWR | O_CLOEXEC);
	EXPECT_LE(0, *fd) TH_LOG("%s: %s", path, strerror(errno));
	return *fd >= 0;
}

TEST_F(noiommu, sysfs_entry_and_node)
{
	TH_LOG("%s", self->path);
	noiommu_cdev_open(_metadata, self->path, &self->dev);
}

/* Blocked until bound, as any cdev fd. */
TEST_F(noiommu, blocked_before_bind)
{
	if (!noiommu_cdev_open(_metadata, self->path, &self->dev))
		return;
	EXPECT_EQ(EINVAL, try_get_info_of(self->dev));
	EXPECT_EQ(EINVAL, _vfio_config_read(self->dev, &(__u16){ 0 }, 2,
					    PCI_CFG_VENDOR_ID));
}

TEST_F(noiommu, bind_needs_cap_sys_rawio)
{
	if (!noiommu_cdev_open(_metadata, self->path, &self->dev))
		return;
	EXPECT_EQ(EPERM, bind_without_rawio(self->dev, -1));
	EXPECT_EQ(EINVAL, try_get_info_of(self->dev));
	vfio_device_bind_iommufd(self->dev, -1, NULL);
	EXPECT_EQ(0x1234, vfio_config_reg(self->dev, PCI_CFG_VENDOR_ID, 2));
	EXPECT_EQ(0, try_get_info_of(self->dev));
}

TEST_HARNESS_MAIN
