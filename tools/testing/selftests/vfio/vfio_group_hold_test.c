// SPDX-License-Identifier: GPL-2.0
/*
 * Holds that kernel users take on a vfio group (vfio_group_hold_file(),
 * vfio_group_hold_dev(), vfio_group_unhold(); seed 002's external user):
 * a held group stays attached to its container whatever userspace does -
 * VFIO_GROUP_UNSET_CONTAINER, closing the container, closing the group,
 * even unbinding its device - until the last hold is dropped; holds are
 * refused for groups that are not attached, have no IOMMU model, or are
 * no-IOMMU groups, and a refused hold leaves nothing behind.
 *
 * The holds are taken through the test-only module vfio_test_hold (kmod/,
 * in the test image only) and its debugfs file.  Upstream 6.12 has no
 * such interface (its in-kernel users went through the vfio_file_*()
 * calls), so everything here SKIPs on the distro modules.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "testbed.h"
#include "vfio_test_util.h"

#define HOLD_KO		"/tb/modules/ours/test/vfio_test_hold.ko"
#define HOLD_CTL	"/sys/kernel/debug/vfio_test_hold/ctl"
#define HOLD_MODULE	"vfio_test_hold"

/* One command to the module: 0 or the errno of the hold. */
static int hold_cmd(const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return vfio_sysfs_write(HOLD_CTL, buf);
}

/* Load the holder module: 0 or EIO. */
static int load_holder(void)
{
	int st = system("insmod " HOLD_KO);

	return st != -1 && WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : EIO;
}

static int hold_fd(int fd)
{
	return hold_cmd("file %d", fd);
}

static int hold_dev(const char *bdf)
{
	return hold_cmd("dev %s", bdf);
}

static int unhold(void)
{
	return hold_cmd("put");
}

static long holds(void)
{
	char buf[16];

	if (vfio_sysfs_read(HOLD_CTL, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static bool group_attached(int group_fd)
{
	__u32 flags = 0;

	return !_vfio_group_get_status(group_fd, sizeof(struct vfio_group_status),
				       &flags) &&
	       (flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
}

FIXTURE(hold) {
	struct vfio_test_dev dev;
	bool loaded;
};

FIXTURE_SETUP(hold)
{
	vfio_test_dev_init(&self->dev);
	if (!tb_ours())
		SKIP(return, "group holds are this series' (not in upstream 6.12)");
	if (tb_noiommu_profile())
		SKIP(return, "IOMMU boot only");
	if (access(HOLD_KO, R_OK))
		SKIP(return, "%s not in the image (in-tree kernels lack it)",
		     HOLD_KO);
	ASSERT_EQ(0, load_holder());
	self->loaded = true;
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF, VFIO_STAGE_IOMMU);
}

FIXTURE_TEARDOWN(hold)
{
	if (!self->loaded)
		return;
	/* Unloading drops whatever a failed test left held. */
	EXPECT_EQ(0, _vfio_module_unload(HOLD_MODULE));
	vfio_test_dev_close(_metadata, &self->dev);
}

/* The held group cannot be taken out of its container by its user. */
TEST_F(hold, unset_container_is_busy_until_unhold)
{
	ASSERT_EQ(0, hold_fd(self->dev.group));
	EXPECT_EQ(1, holds());
	vfio_group_unset_container_err(EBUSY, self->dev.group);
	EXPECT_TRUE(group_attached(self->dev.group));

	ASSERT_EQ(0, unhold());
	vfio_group_unset_container(self->dev.group);
	EXPECT_FALSE(group_attached(self->dev.group));
}

/* Same through the struct device, and holds add up. */
TEST_F(hold, by_device_and_holds_add_up)
{
	ASSERT_EQ(0, hold_dev(TB_EDU_BDF));
	ASSERT_EQ(0, hold_fd(self->dev.group));
	EXPECT_EQ(2, holds());

	ASSERT_EQ(0, unhold());
	vfio_group_unset_container_err(EBUSY, self->dev.group);
	ASSERT_EQ(0, unhold());
	vfio_group_unset_container(self->dev.group);
}

/*
 * Closing the container file detaches nothing (groups hold the container),
 * and the IOMMU context stays usable: the held group still gives out its
 * device.
 */
TEST_F(hold, container_close_keeps_the_group_attached)
{
	int fd;

	ASSERT_EQ(0, hold_fd(self->dev.group));
	vfio_close_fd(&self->dev.container);
	EXPECT_TRUE(group_attached(self->dev.group));
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &fd);
	close(fd);
	vfio_group_unset_container_err(EBUSY, self->dev.group);
	ASSERT_EQ(0, unhold());
}

/*
 * Closing the group file keeps a held group in its container: the group
 * cannot be opened again (its new user would find the old container)
 * until the last hold goes, and then it comes back detached.
 */
TEST_F(hold, group_close_waits_for_unhold)
{
	int fd;

	ASSERT_EQ(0, hold_fd(self->dev.group));
	vfio_close_fd(&self->dev.group);
	vfio_close_fd(&self->dev.container);
	vfio_group_open_err(EBUSY, self->dev.group_id);

	ASSERT_EQ(0, unhold());
	vfio_group_open(self->dev.group_id, &fd);
	EXPECT_FALSE(group_attached(fd));
	close(fd);
}

/*
 * Even the device going away keeps the held attachment, and with it the
 * claim on DMA ownership of the IOMMU group: a new vfio group for the same
 * IOMMU group is not viable (no other owner can take the devices) until
 * the hold is dropped.
 */
TEST_F(hold, unbind_keeps_dma_ownership_until_unhold)
{
	int fd;

	ASSERT_EQ(0, hold_fd(self->dev.group));
	vfio_close_fd(&self->dev.group);
	vfio_close_fd(&self->dev.container);
	ASSERT_EQ(0, _vfio_pci_unbind(TB_EDU_BDF));
	ASSERT_EQ(0, _vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER));

	vfio_group_open(self->dev.group_id, &fd);
	EXPECT_FALSE(vfio_group_flags(fd) & VFIO_GROUP_FLAGS_VIABLE);
	close(fd);

	ASSERT_EQ(0, unhold());
	vfio_group_open(self->dev.group_id, &fd);
	EXPECT_TRUE(vfio_group_flags(fd) & VFIO_GROUP_FLAGS_VIABLE);
	close(fd);
}

/* Unloading the holder drops its holds (and the teardown's unload works). */
TEST_F(hold, holder_unload_drops_holds)
{
	ASSERT_EQ(0, hold_fd(self->dev.group));
	ASSERT_EQ(0, hold_dev(TB_EDU_BDF));
	ASSERT_EQ(0, _vfio_module_unload(HOLD_MODULE));
	vfio_group_unset_container(self->dev.group);
	ASSERT_EQ(0, load_holder());
}

/* What is refused, and that a refusal leaves nothing held. */
TEST_F(hold, refusals_hold_nothing)
{
	int null_fd, container;

	/* Not a group file: the container, /dev/null; no file at all. */
	EXPECT_EQ(EINVAL, hold_fd(self->dev.container));
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, null_fd);
	EXPECT_EQ(EINVAL, hold_fd(null_fd));
	close(null_fd);
	EXPECT_EQ(EBADF, hold_fd(999));

	/* No vfio group behind the device: not bound, or no such device. */
	EXPECT_EQ(ENODEV, hold_dev(TB_ICH9_SMBUS_BDF));
	EXPECT_EQ(ENODEV, hold_dev("0000:00:1e.7"));

	/* A group in no container, then in one without an IOMMU model. */
	vfio_group_unset_container(self->dev.group);
	EXPECT_EQ(EINVAL, hold_fd(self->dev.group));
	EXPECT_EQ(EINVAL, hold_dev(TB_EDU_BDF));
	vfio_container_open(&container);
	vfio_group_set_container(self->dev.group, container);
	EXPECT_EQ(EINVAL, hold_fd(self->dev.group));
	EXPECT_EQ(EINVAL, hold_dev(TB_EDU_BDF));

	EXPECT_EQ(0, holds());
	EXPECT_EQ(ENOENT, unhold());
	/* Nothing pins the group: it leaves, and its file closes cleanly. */
	vfio_group_unset_container(self->dev.group);
	close(container);
}

/*
 * The no-IOMMU boot: a no-IOMMU group is refused even with a container
 * and the no-IOMMU model, since no IOMMU stands between it and memory.
 */
TEST(noiommu_group_is_refused)
{
	char path[64], param[] = "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode";
	struct vfio_test_dev dev;
	int group_id, container, group;

	if (!tb_ours())
		SKIP(return, "vfio group holds are this series' (not in upstream 6.12)");
	if (!tb_noiommu_profile())
		SKIP(return, "no-IOMMU boot only");
	if (access(HOLD_KO, R_OK))
		SKIP(return, "%s is not in this image", HOLD_KO);
	ASSERT_EQ(0, vfio_sysfs_write(param, "1"));
	ASSERT_EQ(0, load_holder());

	vfio_test_dev_init(&dev);
	vfio_pci_save(TB_EDU_BDF, &dev.saved);
	vfio_pci_bind(TB_EDU_BDF, VFIO_PCI_DRIVER);
	group_id = vfio_pci_group(TB_EDU_BDF);
	ASSERT_LE(0, group_id);
	snprintf(path, sizeof(path), "/dev/vfio/noiommu-%d", group_id);
	group = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, group);
	vfio_container_open(&container);
	vfio_group_set_container(group, container);
	ASSERT_EQ(0, _vfio_set_iommu(container, VFIO_NOIOMMU_IOMMU));

	EXPECT_EQ(EPERM, hold_fd(group));
	EXPECT_EQ(EPERM, hold_dev(TB_EDU_BDF));
	EXPECT_EQ(0, holds());

	close(group);
	close(container);
	EXPECT_EQ(0, _vfio_module_unload(HOLD_MODULE));
	vfio_pci_restore(&dev.saved);
	EXPECT_EQ(0, vfio_sysfs_write(param, "0"));
}

TEST_HARNESS_MAIN
