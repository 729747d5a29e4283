// SPDX-License-Identifier: GPL-2.0
/*
 * The group, /dev/vfio/N: exclusive open, status, attaching to a container
 * and handing out device fds.  Every errno asserted here is the one
 * upstream 6.12 returns.
 */
#include <sys/socket.h>

#include "vfio_test_util.h"

#define VFIO_UNKNOWN_IOCTL	_IO(VFIO_TYPE, VFIO_BASE + 60)

/* The edu is alone in its group; its group is open, no container set. */
FIXTURE(group)
{
	struct vfio_test_dev dev;
	struct vfio_test_dev other;	/* for tests that need a second group */
};

FIXTURE_SETUP(group)
{
	vfio_test_dev_open_with_spare(_metadata, &self->dev, &self->other,
				      TB_EDU_BDF, VFIO_STAGE_GROUP);
}

FIXTURE_TEARDOWN(group)
{
	vfio_test_dev_close_with_spare(_metadata, &self->dev, &self->other);
}

TEST_F(group, node_is_named_after_the_iommu_group)
{
	char path[PATH_MAX];
	struct stat st;

	vfio_group_path(self->dev.group_id, path, sizeof(path));
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(group, second_open_is_ebusy)
{
	vfio_group_open_err(EBUSY, self->dev.group_id);
}

TEST_F(group, open_after_close_works)
{
	vfio_close_fd(&self->dev.group);
	vfio_group_open(self->dev.group_id, &self->dev.group);
}

TEST_F(group, open_of_group_without_vfio_device_is_enoent)
{
	int group = vfio_pci_group(TB_TESTDEV_BDF);

	ASSERT_LE(0, group);
	ASSERT_TRUE(vfio_pci_driver_is(TB_TESTDEV_BDF, VFIO_NO_DRIVER));
	vfio_group_open_err(ENOENT, group);
}

TEST_F(group, status_of_fresh_group_is_viable_without_container)
{
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, vfio_group_flags(self->dev.group));
}

TEST_F(group, status_has_container_set_after_set_container)
{
	vfio_group_set_container(self->dev.group, self->dev.container);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  vfio_group_flags(self->dev.group));
}

TEST_F(group, status_argsz_too_small_is_einval)
{
	__u32 argsz = offsetofend(struct vfio_group_status, flags) - 1;
	__u32 flags = 0;

	ASSERT_EQ(EINVAL,
		  _vfio_group_get_status(self->dev.group, argsz, &flags));
}

/* flags is an output: whatever the caller left there is overwritten. */
TEST_F(group, status_ignores_input_flags)
{
	struct vfio_group_status status = {
		.argsz = sizeof(status),
		.flags = 0xff00 | VFIO_GROUP_FLAGS_CONTAINER_SET,
	};

	ASSERT_EQ(0, ioctl(self->dev.group, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, status.flags);
}

TEST_F(group, status_with_larger_argsz_works)
{
	__u32 flags = 0;

	ASSERT_EQ(0, _vfio_group_get_status(self->dev.group, 4096, &flags));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, flags);
}

TEST_F(group, status_with_bad_pointer_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->dev.group, VFIO_GROUP_GET_STATUS, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(group, set_container_with_bad_pointer_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->dev.group, VFIO_GROUP_SET_CONTAINER, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(group, set_container_twice_is_einval)
{
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_group_set_container_err(EINVAL, self->dev.group,
				     self->dev.container);
}

TEST_F(group, set_container_of_second_container_is_einval)
{
	int second;

	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_container_open(&second);
	EXPECT_EQ(EINVAL, _vfio_group_set_container(self->dev.group, second));
	close(second);
}

TEST_F(group, unset_container_without_container_is_einval)
{
	vfio_group_unset_container_err(EINVAL, self->dev.group);
}

TEST_F(group, unset_container_clears_container_set)
{
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_group_unset_container(self->dev.group);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, vfio_group_flags(self->dev.group));
}

TEST_F(group, set_container_after_unset_works)
{
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_group_unset_container(self->dev.group);
	vfio_group_set_container(self->dev.group, self->dev.container);
}

TEST_F(group, closing_group_fd_detaches_it_from_container)
{
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_close_fd(&self->dev.group);
	vfio_group_open(self->dev.group_id, &self->dev.group);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, vfio_group_flags(self->dev.group));
}

TEST_F(group, unset_container_while_device_fd_open_is_ebusy)
{
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF,
				 &self->dev.device);
	vfio_group_unset_container_err(EBUSY, self->dev.group);
}

TEST_F(group, get_device_fd_without_container_is_einval)
{
	vfio_group_get_device_fd_err(EINVAL, self->dev.group, TB_EDU_BDF);
}

TEST_F(group, get_device_fd_without_iommu_model_is_einval)
{
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_group_get_device_fd_err(EINVAL, self->dev.group, TB_EDU_BDF);
}

TEST_F(group, get_device_fd_after_unset_container_is_einval)
{
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_group_unset_container(self->dev.group);
	vfio_group_get_device_fd_err(EINVAL, self->dev.group, TB_EDU_BDF);
}

/* The name is looked up before the container is checked. */
TEST_F(group, get_device_fd_of_unknown_name_without_container_is_enodev)
{
	vfio_group_get_device_fd_err(ENODEV, self->dev.group, "0000:00:1e.7");
}

TEST_F(group, unknown_ioctl_is_enotty)
{
	EXPECT_EQ(-1, ioctl(self->dev.group, VFIO_UNKNOWN_IOCTL));
	ASSERT_EQ(ENOTTY, errno);
}

/* Two groups, each with its own device, share one container. */
TEST_F(group, two_groups_share_one_container)
{
	struct vfio_test_dev *other = &self->other;

	vfio_test_dev_open(_metadata, other, TB_TESTDEV_BDF,
			   VFIO_STAGE_GROUP);
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_group_set_container(other->group, self->dev.container);
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF,
				 &self->dev.device);
	vfio_group_get_device_fd(other->group, TB_TESTDEV_BDF,
				 &other->device);
}

/* The edu group attached to a container with type1v2, ready for devices. */
FIXTURE(group_ready)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(group_ready)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_IOMMU);
}

FIXTURE_TEARDOWN(group_ready)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

TEST_F(group_ready, get_device_fd_works)
{
	struct vfio_device_info info;

	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF,
				 &self->dev.device);
	vfio_device_get_info(self->dev.device, &info);
}

/* Several fds of one device may be open through its group. */
TEST_F(group_ready, get_device_fd_twice_gives_two_fds)
{
	int second;

	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF,
				 &self->dev.device);
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &second);
	EXPECT_NE(self->dev.device, second);
	close(second);
}

TEST_F(group_ready, get_device_fd_of_unknown_name_is_enodev)
{
	vfio_group_get_device_fd_err(ENODEV, self->dev.group, "0000:00:1e.7");
}

TEST_F(group_ready, get_device_fd_of_empty_name_is_enodev)
{
	vfio_group_get_device_fd_err(ENODEV, self->dev.group, "");
}

/* The name is the full dev_name(), domain included. */
TEST_F(group_ready, get_device_fd_of_short_name_is_enodev)
{
	vfio_group_get_device_fd_err(ENODEV, self->dev.group,
				     strchr(TB_EDU_BDF, ':') + 1);
}

TEST_F(group_ready, get_device_fd_of_device_in_other_group_is_enodev)
{
	vfio_group_get_device_fd_err(ENODEV, self->dev.group, TB_TESTDEV_BDF);
}

TEST_F(group_ready, get_device_fd_with_unknown_option_is_einval)
{
	char name[64];

	snprintf(name, sizeof(name), "%s foo=bar", TB_EDU_BDF);
	vfio_group_get_device_fd_err(EINVAL, self->dev.group, name);
}

TEST_F(group_ready, get_device_fd_with_bad_pointer_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->dev.group, VFIO_GROUP_GET_DEVICE_FD, NULL));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(group_ready, device_fd_is_close_on_exec)
{
	int flags;

	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF,
				 &self->dev.device);
	flags = fcntl(self->dev.device, F_GETFD);
	ASSERT_LE(0, flags);
	ASSERT_TRUE(flags & FD_CLOEXEC);
}

/*
 * Everything that is not a container, passed to SET_CONTAINER.  Files of
 * the wrong kind are EBADFD, numbers that are no open file EBADF.
 */
enum wrong_fd_kind {
	WRONG_FD_EVENTFD,
	WRONG_FD_REGULAR_FILE,
	WRONG_FD_DEV_NULL,
	WRONG_FD_PIPE,
	WRONG_FD_SOCKET,
	WRONG_FD_SAME_GROUP,
	WRONG_FD_OTHER_GROUP,
	WRONG_FD_DEVICE,
	WRONG_FD_MINUS_ONE,
	WRONG_FD_CLOSED,
};

FIXTURE(wrong_container_fd)
{
	struct vfio_test_dev dev;
	struct vfio_test_dev other;
	int fds[2];
	int fd;
};

FIXTURE_VARIANT(wrong_container_fd)
{
	enum wrong_fd_kind kind;
	int err;
};

FIXTURE_VARIANT_ADD(wrong_container_fd, eventfd)
{
	.kind = WRONG_FD_EVENTFD,
	.err = EBADFD,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, regular_file)
{
	.kind = WRONG_FD_REGULAR_FILE,
	.err = EBADFD,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, dev_null)
{
	.kind = WRONG_FD_DEV_NULL,
	.err = EBADFD,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, pipe)
{
	.kind = WRONG_FD_PIPE,
	.err = EBADFD,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, socket)
{
	.kind = WRONG_FD_SOCKET,
	.err = EBADFD,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, same_group)
{
	.kind = WRONG_FD_SAME_GROUP,
	.err = EBADFD,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, other_group)
{
	.kind = WRONG_FD_OTHER_GROUP,
	.err = EBADFD,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, device)
{
	.kind = WRONG_FD_DEVICE,
	.err = EBADFD,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, minus_one)
{
	.kind = WRONG_FD_MINUS_ONE,
	.err = EBADF,
};

FIXTURE_VARIANT_ADD(wrong_container_fd, closed)
{
	.kind = WRONG_FD_CLOSED,
	.err = EBADF,
};

FIXTURE_SETUP(wrong_container_fd)
{
	self->fds[0] = -1;
	self->fds[1] = -1;
	self->fd = -1;
	vfio_test_dev_open_with_spare(_metadata, &self->dev, &self->other,
				      TB_EDU_BDF, VFIO_STAGE_GROUP);

	switch (variant->kind) {
	case WRONG_FD_EVENTFD:
		self->fd = eventfd(0, EFD_CLOEXEC);
		break;
	case WRONG_FD_REGULAR_FILE:
		self->fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
		break;
	case WRONG_FD_DEV_NULL:
		self->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	case WRONG_FD_PIPE:
		ASSERT_EQ(0, pipe2(self->fds, O_CLOEXEC));
		self->fd = self->fds[0];
		break;
	case WRONG_FD_SOCKET:
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
					self->fds));
		self->fd = self->fds[0];
		break;
	case WRONG_FD_SAME_GROUP:
		self->fd = self->dev.group;
		break;
	case WRONG_FD_OTHER_GROUP:
		vfio_test_dev_open(_metadata, &self->other, TB_TESTDEV_BDF,
				   VFIO_STAGE_GROUP);
		self->fd = self->other.group;
		break;
	case WRONG_FD_DEVICE:
		vfio_test_dev_open(_metadata, &self->other, TB_TESTDEV_BDF,
				   VFIO_STAGE_DEVICE);
		self->fd = self->other.device;
		break;
	case WRONG_FD_MINUS_ONE:
		return;
	case WRONG_FD_CLOSED:
		self->fd = dup(self->dev.container);
		ASSERT_LE(0, self->fd);
		close(self->fd);
		return;
	}
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(wrong_container_fd)
{
	switch (variant->kind) {
	case WRONG_FD_EVENTFD:
	case WRONG_FD_REGULAR_FILE:
	case WRONG_FD_DEV_NULL:
		vfio_close_fd(&self->fd);
		break;
	default:
		break;
	}
	vfio_close_fd(&self->fds[0]);
	vfio_close_fd(&self->fds[1]);
	vfio_test_dev_close_with_spare(_metadata, &self->dev, &self->other);
}

TEST_F(wrong_container_fd, set_container_is_refused)
{
	vfio_group_set_container_err(variant->err, self->dev.group, self->fd);
}

TEST_F(wrong_container_fd, refused_set_container_leaves_group_detached)
{
	vfio_group_set_container_err(variant->err, self->dev.group, self->fd);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, vfio_group_flags(self->dev.group));
	vfio_group_set_container(self->dev.group, self->dev.container);
}

TEST_HARNESS_MAIN
