// SPDX-License-Identifier: GPL-2.0
/*
 * The VF token through the device cdev.  The group path checks it when a
 * VF is opened ("BDF vf_token=UUID"); the cdev has no name to carry it,
 * and 6.12's VFIO_DEVICE_BIND_IOMMUFD takes none: a VF whose PF is on
 * vfio-pci binds through its cdev with no token at all.  Upstream closed
 * that hole in 2025 (a fix of the commit that added the bind):
 * VFIO_DEVICE_BIND_FLAG_TOKEN, bit 0 of the bind's flags, says that
 * token_uuid_ptr, a member appended to struct vfio_device_bind_iommufd,
 * points to the 16-byte token.
 *
 * The tests assert the fixed behaviour: no token or a wrong one is EACCES
 * (as on the group path), the PF's current token binds.  With 6.12's
 * modules (VFIO_MODULES=distro) they check that the hole is there and
 * SKIP, the fix being beyond 6.12.  The distro kernel has no iommufd and
 * so no cdev: everything SKIPs there.
 *
 * The bed's SR-IOV nvme: the PF's reset method is cleared while it is
 * open (QEMU 7.2's nvme drops its VFs on an FLR of the PF; see
 * vfio_pci_sriov_test), and put back after.
 */
#include "vfio_test_util.h"

#ifndef VFIO_DEVICE_BIND_FLAG_TOKEN
#define VFIO_DEVICE_BIND_FLAG_TOKEN	0x1
#endif

/* The bind's argument as the fix extends it. */
struct bind_token {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
	__aligned_u64 token_uuid_ptr;
};

static_assert(offsetof(struct bind_token, out_devid) ==
	      offsetof(struct vfio_device_bind_iommufd, out_devid),
	      "bind_token extends vfio_device_bind_iommufd");

#define ENABLE_SRIOV_PARAM	"/sys/module/vfio_pci/parameters/enable_sriov"
#define SRIOV_TEST_TIMEOUT	120

/* ---- SR-IOV on the bed's nvme ----------------------------------------- */

static int set_numvfs(const char *n)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/sriov_numvfs",
		 TB_NVME_PF_BDF);
	return vfio_sysfs_write(path, n);
}

static bool device_present(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s", bdf);
	return !access(path, F_OK);
}

/* Wait up to 5 s for both VFs to be there (@present) or gone. */
static bool vfs_wait(bool present)
{
	for (int i = 0; i < 500; i++) {
		if (device_present(TB_NVME_VF0_BDF) == present &&
		    device_present(TB_NVME_VF1_BDF) == present)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* Wait up to 2 s for @bdf to be on vfio-pci. */
static bool on_vfio_pci(const char *bdf)
{
	for (int i = 0; i < 200; i++) {
		if (vfio_pci_driver_is(bdf, VFIO_PCI_DRIVER))
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* "" clears the reset methods of @bdf, "default" gives them back. */
static int set_reset_method(const char *bdf, const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/reset_method", bdf);
	return vfio_sysfs_write(path, *val ? val : "\n");
}

static bool sriov_enabled_stack(void)
{
	char val[8] = "";

	if (!vfio_sysfs_read(ENABLE_SRIOV_PARAM, val, sizeof(val)) &&
	    val[0] == 'Y')
		return true;
	return !tb_cmd("reload vfio_pci.enable_sriov=1") &&
	       !vfio_sysfs_read(ENABLE_SRIOV_PARAM, val, sizeof(val)) &&
	       val[0] == 'Y';
}

/* VFIO_DEVICE_FEATURE_PCI_VF_TOKEN: set @uuid as the PF's token. */
static int set_vf_token(int pf, const __u8 *uuid)
{
	struct {
		struct vfio_device_feature hdr;
		__u8 uuid[16];
	} arg = {
		.hdr = {
			.argsz = sizeof(arg),
			.flags = VFIO_DEVICE_FEATURE_SET |
				 VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
		},
	};

	memcpy(arg.uuid, uuid, sizeof(arg.uuid));
	return ioctl(pf, VFIO_DEVICE_FEATURE, &arg) ? errno : 0;
}

/* The bind of @fd to @iommufd, with @uuid as token (NULL: no flag). */
static int bind_with_token(int fd, int iommufd, const __u8 *uuid)
{
	struct bind_token bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (uuid) {
		bind.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
		bind.token_uuid_ptr = (uintptr_t)uuid;
	}
	return ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? errno : 0;
}

static const __u8 token_a[16] = {
	0x4d, 0x1c, 0x5e, 0x0a, 0x7b, 0x21, 0x4f, 0x33,
	0x9a, 0x10, 0x62, 0xc4, 0x85, 0xe7, 0x3b, 0x19,
};

static const __u8 token_b[16] = {
	0x4d, 0x1c, 0x5e, 0x0a, 0x7b, 0x21, 0x4f, 0x33,
	0x9a, 0x10, 0x62, 0xc4, 0x85, 0xe7, 0x3b, 0x1a,
};

/*
 * The PF on vfio-pci with two VFs (on vfio-pci by themselves), the PF
 * bound through its cdev with token_a set, VF0's cdev open, not bound.
 */
struct vf_bed {
	struct vfio_pci_binding pf_saved;
	bool reset_cleared;
	int iommufd;
	int pf;
	int vf;
};

FIXTURE(vf_token)
{
	struct vf_bed b;
};

static void vf_token_down(struct __test_metadata *_metadata,
			  struct vf_bed *b)
{
	unsigned long n;

	vfio_close_fd(&b->vf);
	vfio_close_fd(&b->pf);
	vfio_close_fd(&b->iommufd);
	n = vfio_pci_attr_ulong(TB_NVME_PF_BDF, "sriov_numvfs");
	if (n && n != ULONG_MAX)
		EXPECT_EQ(0, set_numvfs("0"));
	EXPECT_TRUE(vfs_wait(false));
	EXPECT_EQ(0, _vfio_pci_restore(&b->pf_saved));
	if (b->reset_cleared)
		EXPECT_EQ(0, set_reset_method(TB_NVME_PF_BDF, "default"));
	b->reset_cleared = false;
}

/* 0, or the errno of the step that failed, named in *@what. */
static int vf_token_up(struct vf_bed *b, const char **what)
{
	int err;

	vfio_pci_save(TB_NVME_PF_BDF, &b->pf_saved);
	*what = "clearing the PF's reset method";
	b->reset_cleared = true;
	err = set_reset_method(TB_NVME_PF_BDF, "");
	if (err)
		return err;
	*what = "binding the PF to vfio-pci";
	err = _vfio_pci_bind(TB_NVME_PF_BDF, VFIO_PCI_DRIVER);
	if (err)
		return err;
	*what = "enabling the VFs";
	err = set_numvfs("2");
	if (!err && !vfs_wait(true))
		err = ETIMEDOUT;
	if (err)
		return err;
	*what = "VF0 on vfio-pci";
	err = on_vfio_pci(TB_NVME_VF0_BDF) ? 0 : ENODEV;
	if (err)
		return err;
	*what = "opening /dev/iommu";
	err = _vfio_iommufd_open(&b->iommufd);
	if (err)
		return err;
	*what = "binding the PF through its cdev";
	err = _vfio_cdev_open(TB_NVME_PF_BDF, &b->pf);
	if (!err)
		err = _vfio_device_bind_iommufd(b->pf, b->iommufd, NULL);
	if (err)
		return err;
	*what = "setting the PF's VF token";
	err = set_vf_token(b->pf, token_a);
	if (err)
		return err;
	*what = "opening VF0's cdev";
	return _vfio_cdev_open(TB_NVME_VF0_BDF, &b->vf);
}

FIXTURE_SETUP(vf_token)
{
	const char *what = "";
	int err;

	memset(&self->b.pf_saved, 0, sizeof(self->b.pf_saved));
	self->b.reset_cleared = false;
	self->b.iommufd = -1;
	self->b.pf = -1;
	self->b.vf = -1;
	VFIO_CDEV_REQUIRED(return);
	if (tb_noiommu_profile())
		SKIP(return, "VFs have no IOMMU group in the no-IOMMU boot");
	ASSERT_TRUE(sriov_enabled_stack());
	ASSERT_TRUE(vfio_pci_driver_is(TB_NVME_PF_BDF, "nvme"));
	err = vf_token_up(&self->b, &what);
	if (err)
		vf_token_down(_metadata, &self->b);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", what, strerror(err));
}

FIXTURE_TEARDOWN(vf_token)
{
	vf_token_down(_metadata, &self->b);
}

#define BEYOND_612 \
	"VFIO_DEVICE_BIND_FLAG_TOKEN is beyond 6.12 (upstream 2025): 6.12 binds a VF with no token"

/*
 * On 6.12 the hole: the VF binds without any token.  Fixed: EACCES
 * without one, EACCES with a wrong one, the PF's token binds.
 */
TEST_F_TIMEOUT(vf_token, vf_bind_needs_the_pf_token, SRIOV_TEST_TIMEOUT)
{
	struct vfio_device_info info;

	if (!tb_ours()) {
		/* The hole, as 6.12 has it (ASSERT: SKIP hides an EXPECT). */
		ASSERT_EQ(0, bind_with_token(self->b.vf, self->b.iommufd, NULL));
		SKIP(return, BEYOND_612);
	}
	EXPECT_EQ(EACCES, bind_with_token(self->b.vf, self->b.iommufd, NULL));
	EXPECT_EQ(EACCES, bind_with_token(self->b.vf, self->b.iommufd, token_b));
	/* Still blocked after both. */
	EXPECT_EQ(EINVAL, _vfio_device_get_info(self->b.vf, sizeof(info), &info));
	ASSERT_EQ(0, bind_with_token(self->b.vf, self->b.iommufd, token_a));
	EXPECT_EQ(0, _vfio_device_get_info(self->b.vf, sizeof(info), &info));
}

/* A new token set through the PF replaces the old one for the next bind. */
TEST_F_TIMEOUT(vf_token, vf_bind_follows_token_changes, SRIOV_TEST_TIMEOUT)
{
	if (!tb_ours())
		SKIP(return, BEYOND_612);
	ASSERT_EQ(0, set_vf_token(self->b.pf, token_b));
	EXPECT_EQ(EACCES, bind_with_token(self->b.vf, self->b.iommufd, token_a));
	EXPECT_EQ(0, bind_with_token(self->b.vf, self->b.iommufd, token_b));
}

/*
 * The token is read from token_uuid_ptr: a pointer to nowhere is EFAULT,
 * and so is the flag with an argsz of 6.12's size (the kernel reads the
 * argument as far as argsz goes, the rest is zero: a NULL pointer).
 * Nothing is bound either way.
 */
TEST_F_TIMEOUT(vf_token, token_pointer_is_checked, SRIOV_TEST_TIMEOUT)
{
	struct bind_token bind = {
		.argsz = sizeof(bind),
		.flags = VFIO_DEVICE_BIND_FLAG_TOKEN,
		.iommufd = self->b.iommufd,
		.token_uuid_ptr = 8,
	};
	struct vfio_device_info info;
	int err;

	if (!tb_ours())
		SKIP(return, BEYOND_612);
	err = ioctl(self->b.vf, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? errno : 0;
	EXPECT_EQ(EFAULT, err);
	bind.argsz = offsetof(struct bind_token, token_uuid_ptr);
	bind.token_uuid_ptr = (uintptr_t)token_a;
	err = ioctl(self->b.vf, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? errno : 0;
	EXPECT_EQ(EFAULT, err);
	EXPECT_EQ(EINVAL, _vfio_device_get_info(self->b.vf, sizeof(info), &info));
	EXPECT_EQ(0, bind_with_token(self->b.vf, self->b.iommufd, token_a));
}

/* 6.12 knows no flags: the token flag is EINVAL there, as any other. */
TEST_F_TIMEOUT(vf_token, token_flag_on_612, SRIOV_TEST_TIMEOUT)
{
	if (tb_ours())
		SKIP(return, "6.12's behaviour, for the distro modules");
	EXPECT_EQ(EINVAL, bind_with_token(self->b.vf, self->b.iommufd, token_a));
}

TEST_HARNESS_MAIN
