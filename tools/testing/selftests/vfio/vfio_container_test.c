// SPDX-License-Identifier: GPL-2.0
/*
 * The container, /dev/vfio/vfio: version and extension queries, choosing an
 * IOMMU model, and what it says to ioctls it does not know.  Every errno
 * asserted here is the one upstream 6.12 returns.
 */
#include <sys/mman.h>

#include "vfio_test_util.h"

/* Extensions no x86 container offers, known or not. */
static const unsigned long unsupported_extensions[] = {
	0,
	VFIO_SPAPR_TCE_IOMMU,
	VFIO_EEH,
	VFIO_SPAPR_TCE_v2_IOMMU,
	11,
	12345,
	~0UL,
};

/* IOMMU models SET_IOMMU must refuse on an x86 container with a group. */
static const unsigned long unsupported_models[] = {
	0,
	VFIO_SPAPR_TCE_IOMMU,
	VFIO_SPAPR_TCE_v2_IOMMU,
	VFIO_NOIOMMU_IOMMU,	/* a real IOMMU group is never no-IOMMU */
	12345,
};

/* An ioctl number in vfio's range that no version has defined. */
#define VFIO_UNKNOWN_IOCTL	_IO(VFIO_TYPE, VFIO_BASE + 60)

FIXTURE(container)
{
	int fd;
};

FIXTURE_SETUP(container)
{
	vfio_container_open(&self->fd);
}

FIXTURE_TEARDOWN(container)
{
	vfio_close_fd(&self->fd);
}

TEST_F(container, api_version_is_vfio_api_version)
{
	ASSERT_EQ(VFIO_API_VERSION, ioctl(self->fd, VFIO_GET_API_VERSION));
}

TEST_F(container, every_open_is_a_new_container)
{
	int other;

	vfio_container_open(&other);
	EXPECT_NE(self->fd, other);
	EXPECT_EQ(VFIO_API_VERSION, ioctl(other, VFIO_GET_API_VERSION));
	close(other);
}

TEST_F(container, check_extension_of_unsupported_extension_is_zero)
{
	for (size_t i = 0; i < ARRAY_SIZE(unsupported_extensions); i++) {
		ASSERT_EQ(0, vfio_check_extension(self->fd,
						  unsupported_extensions[i])) {
			TH_LOG("extension %lu", unsupported_extensions[i]);
		}
	}
}

TEST_F(container, check_extension_never_fails)
{
	for (unsigned long ext = 0; ext < 256; ext++) {
		int ret = vfio_check_extension(self->fd, ext);

		ASSERT_TRUE(ret == 0 || ret == 1) {
			TH_LOG("extension %lu: %d", ext, ret);
		}
	}
}

TEST_F(container, check_extension_of_type1_is_one)
{
	ASSERT_TRUE(vfio_module_loaded("vfio_iommu_type1"));
	ASSERT_EQ(1, vfio_check_extension(self->fd, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(1, vfio_check_extension(self->fd, VFIO_TYPE1v2_IOMMU));
}

TEST_F(container, check_extension_of_noiommu_is_zero_when_mode_is_off)
{
	char mode[8] = "N";

	vfio_sysfs_read("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
			mode, sizeof(mode));
	if (mode[0] == 'Y')
		SKIP(return, "enable_unsafe_noiommu_mode is on");
	ASSERT_EQ(0, vfio_check_extension(self->fd, VFIO_NOIOMMU_IOMMU));
}

TEST_F(container, set_iommu_without_group_is_einval)
{
	vfio_set_iommu_err(EINVAL, self->fd, VFIO_TYPE1v2_IOMMU);
	vfio_set_iommu_err(EINVAL, self->fd, VFIO_TYPE1_IOMMU);
}

/* The missing group is noticed before the model is looked up. */
TEST_F(container, set_iommu_of_unknown_model_without_group_is_einval)
{
	vfio_set_iommu_err(EINVAL, self->fd, 12345);
}

TEST_F(container, iommu_ioctl_without_iommu_model_is_einval)
{
	struct vfio_iommu_type1_info info;

	vfio_iommu_get_info_err(EINVAL, self->fd, sizeof(info), &info);
}

TEST_F(container, unknown_ioctl_without_iommu_model_is_einval)
{
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_UNKNOWN_IOCTL));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(container, foreign_ioctl_without_iommu_model_is_einval)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IO('x', 1)));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(container, read_is_einval)
{
	char buf[8];

	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(container, write_is_einval)
{
	char buf[8] = {};

	EXPECT_EQ(-1, write(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(container, mmap_is_enodev)
{
	void *p = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, self->fd, 0);

	EXPECT_EQ(MAP_FAILED, p);
	ASSERT_EQ(ENODEV, errno);
}

/* A container holding one group (edu), no IOMMU model chosen yet. */
FIXTURE(container_with_group)
{
	struct vfio_test_dev dev;
	struct vfio_test_dev other;	/* for tests that need a second group */
};

FIXTURE_SETUP(container_with_group)
{
	vfio_test_dev_open_with_spare(_metadata, &self->dev, &self->other,
				      TB_EDU_BDF, VFIO_STAGE_CONTAINER);
}

FIXTURE_TEARDOWN(container_with_group)
{
	vfio_test_dev_close_with_spare(_metadata, &self->dev, &self->other);
}

TEST_F(container_with_group, set_iommu_type1v2_works)
{
	struct vfio_iommu_type1_info info;

	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_iommu_get_info(self->dev.container, &info);
}

/* DPDK asks for type1 v1 first and cannot work without it. */
TEST_F(container_with_group, set_iommu_type1_works)
{
	struct vfio_iommu_type1_info info;

	vfio_set_iommu(self->dev.container, VFIO_TYPE1_IOMMU);
	vfio_iommu_get_info(self->dev.container, &info);
}

TEST_F(container_with_group, set_iommu_of_unsupported_model_is_enodev)
{
	for (size_t i = 0; i < ARRAY_SIZE(unsupported_models); i++) {
		vfio_set_iommu_err(ENODEV, self->dev.container,
				   unsupported_models[i]) {
			TH_LOG("model %lu", unsupported_models[i]);
		}
	}
}

TEST_F(container_with_group, failed_set_iommu_leaves_no_model)
{
	struct vfio_iommu_type1_info info;

	vfio_set_iommu_err(ENODEV, self->dev.container, 12345);
	vfio_iommu_get_info_err(EINVAL, self->dev.container, sizeof(info),
				&info);
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
}

TEST_F(container_with_group, second_set_iommu_is_einval)
{
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_set_iommu_err(EINVAL, self->dev.container, VFIO_TYPE1v2_IOMMU);
}

TEST_F(container_with_group, second_set_iommu_of_other_model_is_einval)
{
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_set_iommu_err(EINVAL, self->dev.container, VFIO_TYPE1_IOMMU);
}

TEST_F(container_with_group, unknown_ioctl_with_iommu_model_is_enotty)
{
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	EXPECT_EQ(-1, ioctl(self->dev.container, VFIO_UNKNOWN_IOCTL));
	ASSERT_EQ(ENOTTY, errno);
}

TEST_F(container_with_group, api_version_is_unchanged_by_iommu_model)
{
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(VFIO_API_VERSION,
		  ioctl(self->dev.container, VFIO_GET_API_VERSION));
}

TEST_F(container_with_group, check_extension_with_iommu_model_still_answers)
{
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(1, vfio_check_extension(self->dev.container,
					  VFIO_TYPE1v2_IOMMU));
	for (size_t i = 0; i < ARRAY_SIZE(unsupported_extensions); i++) {
		ASSERT_EQ(0, vfio_check_extension(self->dev.container,
						  unsupported_extensions[i])) {
			TH_LOG("extension %lu", unsupported_extensions[i]);
		}
	}
}

TEST_F(container_with_group, iommu_get_info_argsz_too_small_is_einval)
{
	struct vfio_iommu_type1_info info;

	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_iommu_get_info_err(EINVAL, self->dev.container,
				offsetofend(struct vfio_iommu_type1_info,
					    iova_pgsizes) - 1, &info);
}

/* Userspace from before cap_offset existed asks with the old size. */
TEST_F(container_with_group, iommu_get_info_without_cap_offset_works)
{
	struct vfio_iommu_type1_info info;

	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, _vfio_iommu_get_info(self->dev.container,
					  offsetofend(struct vfio_iommu_type1_info,
						      iova_pgsizes), &info));
	ASSERT_NE(0, info.iova_pgsizes);
}

/* When the last group leaves, the container forgets its IOMMU model. */
TEST_F(container_with_group, unset_of_last_group_drops_iommu_model)
{
	struct vfio_iommu_type1_info info;

	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_group_unset_container(self->dev.group);
	vfio_iommu_get_info_err(EINVAL, self->dev.container, sizeof(info),
				&info);
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_set_iommu(self->dev.container, VFIO_TYPE1_IOMMU);
}

/* A second group joins a container whose model is already chosen. */
TEST_F(container_with_group, second_group_joins_container_with_iommu_model)
{
	struct vfio_test_dev *other = &self->other;

	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_test_dev_open(_metadata, other, TB_TESTDEV_BDF,
			   VFIO_STAGE_GROUP);
	vfio_group_set_container(other->group, self->dev.container);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  vfio_group_flags(other->group));
	vfio_group_get_device_fd(other->group, TB_TESTDEV_BDF,
				 &other->device);
}

/* Unsetting one of two groups keeps the model for the other. */
TEST_F(container_with_group, unset_of_one_of_two_groups_keeps_iommu_model)
{
	struct vfio_test_dev *other = &self->other;
	struct vfio_iommu_type1_info info;

	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_test_dev_open(_metadata, other, TB_TESTDEV_BDF,
			   VFIO_STAGE_GROUP);
	vfio_group_set_container(other->group, self->dev.container);
	vfio_group_unset_container(other->group);
	vfio_iommu_get_info(self->dev.container, &info);
}

/*
 * The container offers what the IOMMU backends registered right now
 * offer: with vfio_iommu_type1 unloaded there is no type1.  The edu's group
 * is attached (no model yet), which does not pin the backend module.
 */
FIXTURE(without_type1)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(without_type1)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_CONTAINER);
	ASSERT_EQ(0, _vfio_module_unload("vfio_iommu_type1"));
}

FIXTURE_TEARDOWN(without_type1)
{
	vfio_test_dev_close(_metadata, &self->dev);
	/* Whatever the test did, the stack is whole again for the next. */
	vfio_stack_load();
}

TEST_F(without_type1, check_extension_of_type1_is_zero)
{
	ASSERT_EQ(0, vfio_check_extension(self->dev.container,
					  VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, vfio_check_extension(self->dev.container,
					  VFIO_TYPE1v2_IOMMU));
}

TEST_F(without_type1, set_iommu_of_type1_is_enodev)
{
	vfio_set_iommu_err(ENODEV, self->dev.container, VFIO_TYPE1v2_IOMMU);
}

TEST_F(without_type1, type1_is_offered_once_loaded_again)
{
	vfio_stack_load();
	ASSERT_EQ(1, vfio_check_extension(self->dev.container,
					  VFIO_TYPE1v2_IOMMU));
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
}

/* ---- the modules as users and tools see them ------------------------ */

/* /sys/module/@mod/@attr, without its newline; "" when absent. */
static void module_attr(const char *mod, const char *attr, char *buf,
			size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/%s", mod, attr);
	if (vfio_sysfs_read(path, buf, len))
		buf[0] = '\0';
}

/*
 * `modinfo -F version vfio` and /sys/module/vfio/version are what support
 * scripts (sosreport, distribution bug templates) record and compare:
 * upstream's numbers, and a srcversion for the modules that have one.
 */
TEST(module_versions_are_upstreams)
{
	char buf[64];

	module_attr("vfio", "version", buf, sizeof(buf));
	EXPECT_STREQ("0.3", buf);
	module_attr("vfio", "srcversion", buf, sizeof(buf));
	EXPECT_EQ(23, strlen(buf)) TH_LOG("vfio srcversion '%s'", buf);
	module_attr("vfio_iommu_type1", "version", buf, sizeof(buf));
	EXPECT_STREQ("0.2", buf);
	module_attr("vfio_iommu_type1", "srcversion", buf, sizeof(buf));
	EXPECT_EQ(23, strlen(buf)) TH_LOG("type1 srcversion '%s'", buf);
	/* Upstream's vfio-pci modules carry no version, hence no srcversion */
	module_attr("vfio_pci", "version", buf, sizeof(buf));
	EXPECT_STREQ("", buf);
	module_attr("vfio_pci_core", "version", buf, sizeof(buf));
	EXPECT_STREQ("", buf);
}

/*
 * Loading vfio prints upstream's banner, "VFIO - User Level meta-driver
 * version: 0.3": what people grep a boot log for to see vfio came up.
 */
TEST(load_banner_is_upstreams)
{
	static const char banner[] = "VFIO - User Level meta-driver version: 0.3";
	char line[512], marker[64];
	bool after = false, found = false;
	FILE *f;

	snprintf(marker, sizeof(marker), "vfio-banner-test-%d", getpid());
	ASSERT_EQ(0, vfio_sysfs_write("/dev/kmsg", marker));
	ASSERT_EQ(0, tb_cmd("reload"));
	f = popen("dmesg", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, marker))
			after = true;
		else if (after && strstr(line, banner))
			found = true;
	}
	pclose(f);
	ASSERT_TRUE(after);
	ASSERT_TRUE(found);
}

TEST_HARNESS_MAIN
