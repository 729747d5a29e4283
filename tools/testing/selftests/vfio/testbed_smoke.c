// SPDX-License-Identifier: GPL-2.0
/*
 * The test bed itself: the guest looks the way testbed.h says it does.
 * When one of these fails, every other result of the run is suspect.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "testbed.h"

static int read_sysfs(const char *bdf, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int group_of(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(buf, len, "%s", strrchr(target, '/') + 1);
	return 0;
}

TEST(vfio_container_node_exists)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/vfio/vfio", &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
}

TEST(runner_loaded_the_vfio_pci_driver)
{
	struct stat st;

	ASSERT_EQ(0, stat("/sys/module/vfio_pci", &st));
	ASSERT_EQ(0, stat("/sys/bus/pci/drivers/vfio-pci", &st));
	ASSERT_TRUE(tb_ours() || !strcmp(tb_vfio_modules(), "distro"));
}

TEST(edu_is_at_its_address)
{
	char id[32];

	ASSERT_EQ(0, read_sysfs(TB_EDU_BDF, "vendor", id, sizeof(id)));
	ASSERT_STREQ("0x1234", id);
	ASSERT_EQ(0, read_sysfs(TB_EDU_BDF, "device", id, sizeof(id)));
	ASSERT_STREQ("0x11e8", id);
}

TEST(e1000_starts_on_its_host_driver)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
		 TB_PAIR_E1000_BDF);
	n = readlink(path, target, sizeof(target) - 1);
	ASSERT_LT(0, n);
	target[n] = '\0';
	ASSERT_STREQ("e1000", strrchr(target, '/') + 1);
}

TEST(multifunction_pair_shares_one_group)
{
	char a[32], b[32];

	if (tb_noiommu_profile())
		SKIP(return, "no IOMMU groups in the no-IOMMU boot");
	ASSERT_EQ(0, group_of(TB_PAIR_E1000_BDF, a, sizeof(a)));
	ASSERT_EQ(0, group_of(TB_PAIR_TESTDEV_BDF, b, sizeof(b)));
	ASSERT_STREQ(a, b);
	ASSERT_EQ(0, group_of(TB_EDU_BDF, b, sizeof(b)));
	ASSERT_STRNE(a, b);
}

TEST(no_iommu_groups_in_noiommu_boot)
{
	char g[32];

	if (!tb_noiommu_profile())
		SKIP(return, "IOMMU boot");
	ASSERT_EQ(-ENOENT, group_of(TB_EDU_BDF, g, sizeof(g)));
}

/* What a BAR2 store leaves in the host file is what pread sees: the way
 * tests check device memory and peer-to-peer DMA from outside.
 */
TEST(ivshmem_bar_is_the_host_file)
{
	char path[PATH_MAX];
	unsigned int stamp = 0x7e57bed0 ^ getpid(), seen = 0;
	unsigned int *bar;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d",
		 TB_IVSHMEM_BDF, TB_IVSHMEM_BAR);
	fd = open(path, O_RDWR | O_SYNC);
	ASSERT_LE(0, fd);
	bar = mmap(NULL, TB_IVSHMEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	ASSERT_NE(MAP_FAILED, bar);
	/* munmap() is a call the store cannot be moved past. */
	bar[1024] = stamp;
	munmap(bar, TB_IVSHMEM_SIZE);
	close(fd);

	fd = open(TB_IVSHMEM_FILE, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(seen), pread(fd, &seen, sizeof(seen), 4096));
	close(fd);
	ASSERT_EQ(stamp, seen);
}

TEST_HARNESS_MAIN
