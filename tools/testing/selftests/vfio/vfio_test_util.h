/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vfio core selftests: the container, group and device
 * fds of the legacy (group) interface, and the sysfs and module plumbing
 * that puts a PCI device under vfio-pci and gives it back afterwards.
 *
 * Every operation comes as a triad, as in the iommufd selftests:
 *
 *   _vfio_x(...)           does x; returns 0 or the positive errno, never
 *                          asserts, so it is usable anywhere;
 *   vfio_x(...)            asserts that x succeeds;
 *   vfio_x_err(err, ...)   asserts that x fails with errno @err.
 *
 * The asserting forms are macros that need the harness's _metadata, i.e. a
 * TEST/TEST_F body, a FIXTURE_SETUP/TEARDOWN or a helper taking _metadata.
 *
 * A device under test is a struct vfio_test_dev: vfio_test_dev_open() binds
 * it to vfio-pci and opens as much of the stack as asked (group, container,
 * IOMMU model, device fd); vfio_test_dev_close() closes what is still open,
 * checks that the group was really let go (it can be opened again), and
 * puts the device back on the driver it came from.
 */
#ifndef SELFTESTS_VFIO_TEST_UTIL_H
#define SELFTESTS_VFIO_TEST_UTIL_H

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "testbed.h"

#define VFIO_CONTAINER_PATH	"/dev/vfio/vfio"
#define PCI_DEVICES		"/sys/bus/pci/devices"
#define PCI_DRIVERS		"/sys/bus/pci/drivers"
#define VFIO_PCI_DRIVER		"vfio-pci"
/* driver_override naming no driver: the device stays unbound. */
#define VFIO_NO_DRIVER		"none"

#define VFIO_REGION_OFFSET(index)	((uint64_t)(index) << 40)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#ifndef offsetofend
#define offsetofend(TYPE, MEMBER) \
	(offsetof(TYPE, MEMBER) + sizeof(((TYPE *)0)->MEMBER))
#endif

/* Standard PCI config space layout, as the PCI spec defines it. */
#define PCI_CFG_VENDOR_ID	0x00
#define PCI_CFG_DEVICE_ID	0x02
#define PCI_CFG_STATUS		0x06
#define PCI_CFG_STATUS_CAP_LIST	0x10
#define PCI_CFG_REVISION_ID	0x08
#define PCI_CFG_CLASS		0x09
#define PCI_CFG_CAP_PTR		0x34
#define PCI_CFG_INTERRUPT_PIN	0x3d
#define PCI_CAP_ID_MSI_		0x05
#define PCI_CAP_ID_EXP_		0x10
#define PCI_CAP_ID_MSIX_	0x11

/* ---- sysfs ---------------------------------------------------------- */

/* Read a sysfs attribute, without its trailing newline. */
static inline int vfio_sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int err = errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* One write(2) of @val; the errno of the write is what sysfs reports. */
static inline int vfio_sysfs_write(const char *path, const char *val)
{
	ssize_t n;
	int err = 0;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = errno;
	close(fd);
	return err;
}

static inline int vfio_pci_attr_read(const char *bdf, const char *attr,
				     char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", bdf, attr);
	return vfio_sysfs_read(path, buf, len);
}

static inline unsigned long vfio_pci_attr_ulong(const char *bdf,
						const char *attr)
{
	char buf[64];

	if (vfio_pci_attr_read(bdf, attr, buf, sizeof(buf)))
		return ULONG_MAX;
	return strtoul(buf, NULL, 0);
}

/* The driver @bdf is bound to, or VFIO_NO_DRIVER. */
static inline void vfio_pci_driver(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(buf, len, "%s", VFIO_NO_DRIVER);
		return;
	}
	target[n] = '\0';
	snprintf(buf, len, "%s", strrchr(target, '/') + 1);
}

static inline bool vfio_pci_driver_is(const char *bdf, const char *driver)
{
	char now[64];

	vfio_pci_driver(bdf, now, sizeof(now));
	return !strcmp(now, driver);
}

/* The IOMMU group number of @bdf, or -errno (no IOMMU: -ENOENT). */
static inline int vfio_pci_group(const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return atoi(strrchr(target, '/') + 1);
}

static inline void vfio_group_path(int group, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/vfio/%d", group);
}

/*
 * Read or write @len bytes at @off of config space through sysfs: what
 * the host kernel sees, and how setpci changes it behind vfio's back.
 */
static inline int vfio_pci_sysfs_config_rw(const char *bdf, unsigned int off,
					   void *buf, size_t len, bool write)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/config", bdf);
	fd = open(path, write ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return errno;
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EIO;
}

/* The first @len bytes of config space, as the host kernel sees them. */
static inline int vfio_pci_sysfs_config(const char *bdf, void *buf,
					size_t len)
{
	return vfio_pci_sysfs_config_rw(bdf, 0, buf, len, false);
}

/* One register (1, 2 or 4 bytes) as the host sees it; ~0 if unreadable. */
static inline uint32_t vfio_pci_host_reg(const char *bdf, unsigned int off,
					 unsigned int len)
{
	uint32_t val = 0;

	if (vfio_pci_sysfs_config_rw(bdf, off, &val, len, false))
		return ~0u;
	return val;
}

/* Write one register from the host side, as setpci does. */
static inline int vfio_pci_host_reg_write(const char *bdf, unsigned int off,
					  unsigned int len, uint32_t val)
{
	return vfio_pci_sysfs_config_rw(bdf, off, &val, len, true);
}

/* Size of the config space as the host kernel knows it (256 or 4096). */
static inline size_t vfio_pci_config_size(const char *bdf)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/config", bdf);
	if (stat(path, &st))
		return 0;
	return st.st_size;
}

/*
 * Offset of capability @id in the standard capability list of @bdf, or 0.
 * The list is read through sysfs, independently of vfio.
 */
static inline unsigned int vfio_pci_find_cap(const char *bdf, uint8_t id)
{
	uint8_t cfg[256];
	unsigned int pos;
	int ttl = 48;

	if (vfio_pci_sysfs_config(bdf, cfg, 64))
		return 0;
	if (!(cfg[PCI_CFG_STATUS] & PCI_CFG_STATUS_CAP_LIST))
		return 0;
	if (vfio_pci_sysfs_config(bdf, cfg, sizeof(cfg)))
		return 0;
	for (pos = cfg[PCI_CFG_CAP_PTR] & ~3u; pos >= 0x40 && ttl--;
	     pos = cfg[pos + 1] & ~3u) {
		if (cfg[pos] == id)
			return pos;
	}
	return 0;
}

/*
 * Start and size of resource @index (BARs 0-5, 6 the ROM) from sysfs's
 * `resource` file; size 0 for a resource the device does not have.
 */
static inline int vfio_pci_resource(const char *bdf, unsigned int index,
				    uint64_t *start, uint64_t *size)
{
	unsigned long long s, e, f;
	char path[PATH_MAX];
	unsigned int i;
	int ret = ENOENT;
	FILE *fp;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/resource", bdf);
	fp = fopen(path, "r");
	if (!fp)
		return errno;
	for (i = 0; fscanf(fp, "%llx %llx %llx", &s, &e, &f) == 3; i++) {
		if (i != index)
			continue;
		*start = s;
		*size = e ? e - s + 1 : 0;
		ret = 0;
		break;
	}
	fclose(fp);
	return ret;
}

/*
 * Bind @bdf to @driver (VFIO_NO_DRIVER: leave it unbound) the way an admin
 * does: driver_override names the driver, the old driver lets go and the
 * driver's `bind` attribute takes the device.  The errno is that of the
 * `bind` write, which is where a driver that refuses the device says why.
 */
static inline int _vfio_pci_bind(const char *bdf, const char *driver)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver_override", bdf);
	err = vfio_sysfs_write(path, driver);
	if (err)
		return err;
	if (vfio_pci_driver_is(bdf, driver))
		return 0;
	if (!vfio_pci_driver_is(bdf, VFIO_NO_DRIVER)) {
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver/unbind",
			 bdf);
		err = vfio_sysfs_write(path, bdf);
		if (err)
			return err;
	}
	if (!strcmp(driver, VFIO_NO_DRIVER))
		return 0;
	snprintf(path, sizeof(path), PCI_DRIVERS "/%s/bind", driver);
	err = vfio_sysfs_write(path, bdf);
	if (err)
		return err;
	return vfio_pci_driver_is(bdf, driver) ? 0 : ENXIO;
}

#define vfio_pci_bind(bdf, driver) ASSERT_EQ(0, _vfio_pci_bind(bdf, driver))
#define vfio_pci_bind_err(err, bdf, driver) \
	ASSERT_EQ(err, _vfio_pci_bind(bdf, driver))

/* Unbind @bdf from whatever driver has it (none: nothing to do). */
static inline int _vfio_pci_unbind(const char *bdf)
{
	char path[PATH_MAX];

	if (vfio_pci_driver_is(bdf, VFIO_NO_DRIVER))
		return 0;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver/unbind", bdf);
	return vfio_sysfs_write(path, bdf);
}

#define vfio_pci_unbind(bdf) ASSERT_EQ(0, _vfio_pci_unbind(bdf))

/* What a device was bound to before a test touched it. */
struct vfio_pci_binding {
	char bdf[16];
	char driver[64];
	char override[64];
};

static inline void vfio_pci_save(const char *bdf, struct vfio_pci_binding *b)
{
	snprintf(b->bdf, sizeof(b->bdf), "%s", bdf);
	vfio_pci_driver(bdf, b->driver, sizeof(b->driver));
	if (vfio_pci_attr_read(bdf, "driver_override", b->override,
			       sizeof(b->override)))
		b->override[0] = '\0';
}

/*
 * Put the device back as vfio_pci_save() found it.  Every fd that holds
 * the device must be closed first: unbinding vfio-pci waits for them.
 */
static inline int _vfio_pci_restore(const struct vfio_pci_binding *b)
{
	char path[PATH_MAX];
	int err;

	if (!b->bdf[0])
		return 0;
	err = _vfio_pci_bind(b->bdf, b->driver);
	if (err)
		return err;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver_override",
		 b->bdf);
	if (!b->override[0] || !strcmp(b->override, "(null)"))
		return vfio_sysfs_write(path, "\n");
	return vfio_sysfs_write(path, b->override);
}

#define vfio_pci_restore(b) ASSERT_EQ(0, _vfio_pci_restore(b))

/* ---- modules -------------------------------------------------------- */

static inline bool vfio_module_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	return !access(path, F_OK);
}

/* rmmod without waiting: a module still in use fails with EWOULDBLOCK. */
static inline int _vfio_module_unload(const char *name)
{
	if (syscall(SYS_delete_module, name, O_NONBLOCK))
		return errno;
	return 0;
}

#define vfio_module_unload_err(err, name) \
	ASSERT_EQ(err, _vfio_module_unload(name))

/* The whole stack, from the set the test bed was booted with ($VFIO_MODULES). */
static inline int _vfio_stack_load(void)
{
	return tb_cmd("load") ? EIO : 0;
}

#define vfio_stack_load() ASSERT_EQ(0, _vfio_stack_load())

static inline int _vfio_stack_unload(void)
{
	return tb_cmd("unload") ? EBUSY : 0;
}

#define vfio_stack_unload() ASSERT_EQ(0, _vfio_stack_unload())

/* ---- GET_INFO ioctls ----------------------------------------------- */

/*
 * A GET_INFO ioctl (@request): @info, the struct of @size bytes it fills,
 * is zeroed and sent with @argsz, the first field of every such struct.
 * 0 or errno.
 */
static inline int _vfio_get_info(int fd, unsigned long request, void *info,
				 size_t size, __u32 argsz)
{
	memset(info, 0, size);
	*(__u32 *)info = argsz;
	return ioctl(fd, request, info) ? errno : 0;
}

/* ---- container ------------------------------------------------------ */

static inline int _vfio_container_open(int *fd)
{
	*fd = open(VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? errno : 0;
}

#define vfio_container_open(fd) ASSERT_EQ(0, _vfio_container_open(fd))

/* The extension's value (0 or 1 upstream), or -errno. */
static inline int vfio_check_extension(int container, unsigned long ext)
{
	int ret = ioctl(container, VFIO_CHECK_EXTENSION, ext);

	return ret < 0 ? -errno : ret;
}

static inline int _vfio_set_iommu(int container, unsigned long type)
{
	return ioctl(container, VFIO_SET_IOMMU, type) ? errno : 0;
}

#define vfio_set_iommu(container, type) \
	ASSERT_EQ(0, _vfio_set_iommu(container, type))
#define vfio_set_iommu_err(err, container, type) \
	ASSERT_EQ(err, _vfio_set_iommu(container, type))

static inline int _vfio_iommu_get_info(int fd, __u32 argsz,
				       struct vfio_iommu_type1_info *info)
{
	return _vfio_get_info(fd, VFIO_IOMMU_GET_INFO, info, sizeof(*info), argsz);
}

#define vfio_iommu_get_info(container, info) \
	ASSERT_EQ(0, _vfio_iommu_get_info(container, \
		sizeof(struct vfio_iommu_type1_info), info))
#define vfio_iommu_get_info_err(err, container, argsz, info) \
	ASSERT_EQ(err, _vfio_iommu_get_info(container, argsz, info))

/* ---- group ---------------------------------------------------------- */

static inline int _vfio_group_open(int group, int *fd)
{
	char path[PATH_MAX];

	vfio_group_path(group, path, sizeof(path));
	*fd = open(path, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? errno : 0;
}

#define vfio_group_open(group, fd) ASSERT_EQ(0, _vfio_group_open(group, fd))
#define vfio_group_open_err(err, group) \
	({ \
		int __fd; \
		int __err = _vfio_group_open(group, &__fd); \
		if (!__err) \
			close(__fd); \
		ASSERT_EQ(err, __err); \
	})

static inline int _vfio_group_get_status(int group_fd, __u32 argsz,
					 __u32 *flags)
{
	struct vfio_group_status status = { .argsz = argsz };

	if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status))
		return errno;
	*flags = status.flags;
	return 0;
}

/* The group's status flags; asserts GET_STATUS works. */
#define vfio_group_flags(group_fd) \
	({ \
		__u32 __flags = 0; \
		ASSERT_EQ(0, _vfio_group_get_status(group_fd, \
			sizeof(struct vfio_group_status), &__flags)); \
		__flags; \
	})

static inline int _vfio_group_set_container(int group_fd, int container)
{
	return ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container) ?
		errno : 0;
}

#define vfio_group_set_container(group_fd, container) \
	ASSERT_EQ(0, _vfio_group_set_container(group_fd, container))
#define vfio_group_set_container_err(err, group_fd, container) \
	ASSERT_EQ(err, _vfio_group_set_container(group_fd, container))

static inline int _vfio_group_unset_container(int group_fd)
{
	return ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER) ? errno : 0;
}

#define vfio_group_unset_container(group_fd) \
	ASSERT_EQ(0, _vfio_group_unset_container(group_fd))
#define vfio_group_unset_container_err(err, group_fd) \
	ASSERT_EQ(err, _vfio_group_unset_container(group_fd))

static inline int _vfio_group_get_device_fd(int group_fd, const char *name,
					    int *fd)
{
	*fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
	return *fd < 0 ? errno : 0;
}

#define vfio_group_get_device_fd(group_fd, name, fd) \
	ASSERT_EQ(0, _vfio_group_get_device_fd(group_fd, name, fd))
#define vfio_group_get_device_fd_err(err, group_fd, name) \
	({ \
		int __fd; \
		int __err = _vfio_group_get_device_fd(group_fd, name, &__fd); \
		if (!__err) \
			close(__fd); \
		ASSERT_EQ(err, __err); \
	})

/* ---- device --------------------------------------------------------- */

static inline int _vfio_device_get_info(int fd, __u32 argsz,
					struct vfio_device_info *info)
{
	return _vfio_get_info(fd, VFIO_DEVICE_GET_INFO, info, sizeof(*info), argsz);
}

#define vfio_device_get_info(fd, info) \
	ASSERT_EQ(0, _vfio_device_get_info(fd, sizeof(struct vfio_device_info), \
					   info))
#define vfio_device_get_info_err(err, fd, argsz) \
	({ \
		struct vfio_device_info __info; \
		ASSERT_EQ(err, _vfio_device_get_info(fd, argsz, &__info)); \
	})

/*
 * GET_REGION_INFO and GET_IRQ_INFO take arguments that start alike: argsz,
 * flags (an output: whatever the caller leaves there must be ignored) and
 * the index asked about.
 */
struct vfio_info_head {
	__u32 argsz;
	__u32 flags;
	__u32 index;
};

static_assert(offsetof(struct vfio_region_info, index) ==
	       offsetof(struct vfio_info_head, index), "region info head");
static_assert(offsetof(struct vfio_irq_info, index) ==
	       offsetof(struct vfio_info_head, index), "irq info head");

/*
 * GET_REGION_INFO or GET_IRQ_INFO (@request) for @index into @info, a
 * struct vfio_region_info or vfio_irq_info of @size bytes, zeroed first and
 * sent with @argsz and the input @flags: 0 or errno.
 */
static inline int _vfio_device_get_indexed_info(int fd, unsigned long request,
						__u32 index, __u32 argsz,
						__u32 flags, void *info,
						size_t size)
{
	struct vfio_info_head *head = info;

	memset(info, 0, size);
	head->argsz = argsz;
	head->flags = flags;
	head->index = index;
	return ioctl(fd, request, info) ? errno : 0;
}

/* @info points to the struct @request fills; its size is the argsz. */
#define vfio_device_get_indexed_info(fd, request, index, info) \
	ASSERT_EQ(0, _vfio_device_get_indexed_info(fd, request, index, \
		sizeof(*(info)), 0, info, sizeof(*(info))))
/* @type is the struct @request fills; @argsz what the call claims. */
#define vfio_device_get_indexed_info_err(err, fd, request, type, index, argsz) \
	({ \
		type __info; \
		ASSERT_EQ(err, _vfio_device_get_indexed_info(fd, request, \
			index, argsz, 0, &__info, sizeof(__info))); \
	})

/* Region @index of the device: VFIO_PCI_*_REGION_INDEX */
#define vfio_device_get_region_info(fd, index, info) \
	vfio_device_get_indexed_info(fd, VFIO_DEVICE_GET_REGION_INFO, index, \
				     info)
#define vfio_device_get_region_info_err(err, fd, index, argsz) \
	vfio_device_get_indexed_info_err(err, fd, VFIO_DEVICE_GET_REGION_INFO, \
					 struct vfio_region_info, index, argsz)

/* Interrupt @index of the device: VFIO_PCI_*_IRQ_INDEX */
#define vfio_device_get_irq_info(fd, index, info) \
	vfio_device_get_indexed_info(fd, VFIO_DEVICE_GET_IRQ_INFO, index, info)
#define vfio_device_get_irq_info_err(err, fd, index, argsz) \
	vfio_device_get_indexed_info_err(err, fd, VFIO_DEVICE_GET_IRQ_INFO, \
					 struct vfio_irq_info, index, argsz)

/* Trigger @eventfd on vector 0 of interrupt @index of the device. */
static inline int _vfio_device_set_irq_eventfd(int fd, __u32 index,
					       int eventfd)
{
	struct {
		struct vfio_irq_set set;
		__s32 fd;
	} irq = {
		.set = {
			.argsz = sizeof(irq),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = index,
			.start = 0,
			.count = 1,
		},
		.fd = eventfd,
	};

	return ioctl(fd, VFIO_DEVICE_SET_IRQS, &irq) ? errno : 0;
}

/* Route the device's request ("please let go") interrupt to @eventfd. */
static inline int _vfio_device_set_req_eventfd(int fd, int eventfd)
{
	return _vfio_device_set_irq_eventfd(fd, VFIO_PCI_REQ_IRQ_INDEX,
					    eventfd);
}

#define vfio_device_set_req_eventfd(fd, eventfd) \
	ASSERT_EQ(0, _vfio_device_set_req_eventfd(fd, eventfd))

/*
 * One pread (@write false) or pwrite of @len bytes at @pos in region @index
 * (VFIO_PCI_*_REGION_INDEX): 0 or errno, a short transfer being EIO.
 */
static inline int _vfio_region_rw(int fd, __u32 index, uint64_t pos,
				  void *buf, size_t len, bool write)
{
	uint64_t off = VFIO_REGION_OFFSET(index) + pos;
	ssize_t n = write ? pwrite(fd, buf, len, off) :
			    pread(fd, buf, len, off);

	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EIO;
}

/* The two directions of _vfio_region_rw(). */
static inline int _vfio_region_read(int fd, __u32 index, uint64_t pos,
				    void *buf, size_t len)
{
	return _vfio_region_rw(fd, index, pos, buf, len, false);
}

static inline int _vfio_region_write(int fd, __u32 index, uint64_t pos,
				     const void *buf, size_t len)
{
	return _vfio_region_rw(fd, index, pos, (void *)buf, len, true);
}

/* pread of @len bytes of the config region at @pos: 0 or errno. */
static inline int _vfio_config_read(int fd, void *buf, size_t len,
				    uint64_t pos)
{
	return _vfio_region_read(fd, VFIO_PCI_CONFIG_REGION_INDEX, pos, buf,
				 len);
}

#define vfio_config_read(fd, buf, len, pos) \
	ASSERT_EQ(0, _vfio_config_read(fd, buf, len, pos))
#define vfio_config_read_err(err, fd, buf, len, pos) \
	ASSERT_EQ(err, _vfio_config_read(fd, buf, len, pos))

/*
 * The 1, 2 or 4 byte config register at @off, as the user sees it through
 * vfio (little-endian, as on x86), or all ones if it cannot be read.
 */
static inline uint32_t vfio_config_reg(int fd, unsigned int off,
				       unsigned int len)
{
	uint32_t val = 0;

	if (_vfio_config_read(fd, &val, len, off))
		return ~0u;
	return val;
}

/* Write @len (1, 2 or 4) bytes of @val to the config register at @off. */
static inline int _vfio_config_set_reg(int fd, unsigned int off,
				       unsigned int len, uint32_t val)
{
	return _vfio_region_write(fd, VFIO_PCI_CONFIG_REGION_INDEX, off, &val,
				  len);
}

#define vfio_config_set_reg(fd, off, len, val) \
	ASSERT_EQ(0, _vfio_config_set_reg(fd, off, len, val))

/* ---- device cdev and iommufd ---------------------------------------- */

/*
 * The device-centric interface: every vfio device also has a character
 * device, /dev/vfio/devices/vfioN (noiommu-vfioN for a no-IOMMU device),
 * named in sysfs by the one entry of /sys/bus/pci/devices/BDF/vfio-dev/.
 * Its fd does nothing until VFIO_DEVICE_BIND_IOMMUFD ties it to an iommufd
 * (/dev/iommu).  Only a kernel with IOMMUFD has either.
 */
#define VFIO_CDEV_DIR		"/dev/vfio/devices"
#define IOMMUFD_PATH		"/dev/iommu"

static inline bool vfio_have_iommufd(void)
{
	return !access(IOMMUFD_PATH, F_OK);
}

#define VFIO_NO_IOMMUFD_MSG \
	"no " IOMMUFD_PATH ": this kernel has no iommufd, so no device cdev " \
	"(run on the in-tree kernel: make check KERNEL=debug)"

/* SKIP (doing @action) on a kernel without iommufd, e.g. the distro's. */
#define VFIO_CDEV_REQUIRED(action) \
	do { \
		if (!vfio_have_iommufd()) \
			SKIP(action, VFIO_NO_IOMMUFD_MSG); \
	} while (0)

/* The name of @bdf's cdev (vfioN): 0, or errno (ENOENT: it has none). */
static inline int vfio_cdev_name(const char *bdf, char *buf, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *d;
	int err = ENOENT;
	DIR *dp;

	snprintf(dir, sizeof(dir), PCI_DEVICES "/%s/vfio-dev", bdf);
	dp = opendir(dir);
	if (!dp)
		return errno;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(buf, len, "%s", d->d_name);
		err = 0;
		break;
	}
	closedir(dp);
	return err;
}

/* The /dev path of @bdf's cdev: 0 or errno, as vfio_cdev_name(). */
static inline int vfio_cdev_path(const char *bdf, char *buf, size_t len)
{
	char name[NAME_MAX + 1];
	int err = vfio_cdev_name(bdf, name, sizeof(name));

	if (!err)
		snprintf(buf, len, VFIO_CDEV_DIR "/%s", name);
	return err;
}

/* Open @bdf's cdev into *@fd (-1 on failure): 0 or errno. */
static inline int _vfio_cdev_open(const char *bdf, int *fd)
{
	char path[PATH_MAX];
	int err = vfio_cdev_path(bdf, path, sizeof(path));

	*fd = -1;
	if (err)
		return err;
	*fd = open(path, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? errno : 0;
}

#define vfio_cdev_open(bdf, fd) ASSERT_EQ(0, _vfio_cdev_open(bdf, fd))

static inline int _vfio_iommufd_open(int *fd)
{
	*fd = open(IOMMUFD_PATH, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? errno : 0;
}

#define vfio_iommufd_open(fd) ASSERT_EQ(0, _vfio_iommufd_open(fd))

/*
 * VFIO_DEVICE_BIND_IOMMUFD of cdev fd @fd to @iommufd (-1: no-IOMMU);
 * the device's id in that iommufd goes to *@devid (may be NULL).
 */
static inline int _vfio_device_bind_iommufd(int fd, int iommufd,
					    __u32 *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return errno;
	if (devid)
		*devid = bind.out_devid;
	return 0;
}

#define vfio_device_bind_iommufd(fd, iommufd, devid) \
	ASSERT_EQ(0, _vfio_device_bind_iommufd(fd, iommufd, devid))
#define vfio_device_bind_iommufd_err(err, fd, iommufd) \
	ASSERT_EQ(err, _vfio_device_bind_iommufd(fd, iommufd, NULL))

/*
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT to the IOAS or HW pagetable *@pt_id; the
 * kernel writes back the id of the pagetable the device ended up in.
 */
static inline int _vfio_device_attach_pt(int fd, __u32 *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};

	if (ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return errno;
	*pt_id = attach.pt_id;
	return 0;
}

#define vfio_device_attach_pt(fd, pt_id) \
	ASSERT_EQ(0, _vfio_device_attach_pt(fd, pt_id))

static inline int _vfio_device_detach_pt(int fd)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) ? errno : 0;
}

#define vfio_device_detach_pt(fd) ASSERT_EQ(0, _vfio_device_detach_pt(fd))

/* ---- a device under test ------------------------------------------- */

/* How far vfio_test_dev_open() goes; each stage includes the previous. */
enum vfio_test_stage {
	VFIO_STAGE_BOUND,	/* bound to vfio-pci, nothing open */
	VFIO_STAGE_GROUP,	/* + container and group fds open */
	VFIO_STAGE_CONTAINER,	/* + group attached to the container */
	VFIO_STAGE_IOMMU,	/* + container has the type1v2 IOMMU model */
	VFIO_STAGE_DEVICE,	/* + device fd */
};

struct vfio_test_dev {
	const char *bdf;
	int group_id;
	int container;
	int group;
	int device;
	struct vfio_pci_binding saved;
};

static inline void vfio_test_dev_init(struct vfio_test_dev *dev)
{
	memset(dev, 0, sizeof(*dev));
	dev->container = -1;
	dev->group = -1;
	dev->device = -1;
}

static inline void vfio_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static inline void vfio_test_dev_open(struct __test_metadata *_metadata,
				      struct vfio_test_dev *dev,
				      const char *bdf,
				      enum vfio_test_stage stage)
{
	vfio_test_dev_init(dev);
	dev->bdf = bdf;
	vfio_pci_save(bdf, &dev->saved);
	vfio_pci_bind(bdf, VFIO_PCI_DRIVER);
	dev->group_id = vfio_pci_group(bdf);
	ASSERT_LE(0, dev->group_id);
	if (stage < VFIO_STAGE_GROUP)
		return;
	vfio_container_open(&dev->container);
	vfio_group_open(dev->group_id, &dev->group);
	if (stage < VFIO_STAGE_CONTAINER)
		return;
	vfio_group_set_container(dev->group, dev->container);
	if (stage < VFIO_STAGE_IOMMU)
		return;
	vfio_set_iommu(dev->container, VFIO_TYPE1v2_IOMMU);
	if (stage < VFIO_STAGE_DEVICE)
		return;
	vfio_group_get_device_fd(dev->group, bdf, &dev->device);
}

/*
 * Close everything, check nothing still holds the group (it opens again),
 * give the device back.  A test that moved the device elsewhere already
 * clears dev->bdf to skip the leak check.
 */
static inline void vfio_test_dev_close(struct __test_metadata *_metadata,
				       struct vfio_test_dev *dev)
{
	int fd;

	vfio_close_fd(&dev->device);
	vfio_close_fd(&dev->group);
	vfio_close_fd(&dev->container);
	if (dev->bdf && vfio_pci_driver_is(dev->bdf, VFIO_PCI_DRIVER)) {
		EXPECT_EQ(0, _vfio_group_open(dev->group_id, &fd));
		if (fd >= 0)
			close(fd);
	}
	vfio_pci_restore(&dev->saved);
}

/*
 * vfio_test_dev_open() of @dev, with @spare left empty for the tests that
 * need a second device (they open it themselves).  Undo with
 * vfio_test_dev_close_with_spare().
 */
static inline void
vfio_test_dev_open_with_spare(struct __test_metadata *_metadata,
			      struct vfio_test_dev *dev,
			      struct vfio_test_dev *spare, const char *bdf,
			      enum vfio_test_stage stage)
{
	vfio_test_dev_init(spare);
	vfio_test_dev_open(_metadata, dev, bdf, stage);
}

/* Close the spare, opened or not, then the device under test. */
static inline void
vfio_test_dev_close_with_spare(struct __test_metadata *_metadata,
			       struct vfio_test_dev *dev,
			       struct vfio_test_dev *spare)
{
	vfio_test_dev_close(_metadata, spare);
	vfio_test_dev_close(_metadata, dev);
}

/* ---- misc ----------------------------------------------------------- */

/* Wait up to @ms for @fd to become readable: 1 readable, 0 timed out. */
static inline int vfio_wait_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ret;

	do {
		ret = poll(&pfd, 1, ms);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

/*
 * Run vfio_sysfs_write(@path, @val) in a child process that holds none of
 * our fds (they are all O_CLOEXEC, and the child execs nothing, so close
 * them explicitly by closing every fd above stderr).  Returns the pid; the
 * child exits with the write's errno.
 */
static inline pid_t vfio_sysfs_write_async(const char *path, const char *val)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid)
		return pid;
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	_exit(vfio_sysfs_write(path, val));
}

/*
 * waitpid() with a timeout: the child's exit status (its errno), or -1 if
 * it is still running after @ms.
 */
static inline int vfio_wait_child(pid_t pid, int ms)
{
	int status;

	for (;;) {
		pid_t ret = waitpid(pid, &status, WNOHANG);

		if (ret == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
		if (ret < 0 || ms <= 0)
			return -1;
		usleep(10 * 1000);
		ms -= 10;
	}
}

#endif /* SELFTESTS_VFIO_TEST_UTIL_H */
