// SPDX-License-Identifier: GPL-2.0
/*
 * The group, /dev/vfio/N: exclusive open, status, attaching to a container
 * and handing out device fds.  Every errno asserted here is the one
 * upstream 6.12 returns.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <time.h>

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

/*
 * The two functions of the multifunction slot share one IOMMU group; each
 * is bound to and unbound from vfio-pci in a loop of its own, so one of
 * them keeps registering while the other takes the group's last device
 * away.  Every bind must succeed, and while a function is bound its group
 * node must be there and be the group's (its device number is the one
 * sysfs gives the group).  At c9a626b the node of a group whose last
 * device went was removed after the group had left the lookup list, with
 * no lock: a registration in between made a new group of the same name,
 * whose class device collided with the old one ("sysfs: cannot create
 * duplicate filename '/devices/virtual/vfio/N'") and whose bind failed
 * with EEXIST.
 */
#define CHURN_ROUNDS		1500
#define CHURN_SECONDS		60
#define CHURN_TIMEOUT_S		200
#define VFIO_PCI_BIND		PCI_DRIVERS "/" VFIO_PCI_DRIVER "/bind"
#define VFIO_PCI_UNBIND		PCI_DRIVERS "/" VFIO_PCI_DRIVER "/unbind"

struct churn {
	pthread_t thread;
	const char *bdf;
	time_t deadline;
	int rounds;
	int err;		/* 0, or the errno of the failing step */
	const char *step;	/* what failed */
};

/* 0 when /dev/vfio/@group is a char device with the group's dev_t. */
static int churn_check_node(int group)
{
	char path[PATH_MAX], dev[32];
	unsigned int maj, min;
	struct stat st;
	int err;

	snprintf(path, sizeof(path), "/sys/class/vfio/%d/dev", group);
	err = vfio_sysfs_read(path, dev, sizeof(dev));
	if (err)
		return err;
	vfio_group_path(group, path, sizeof(path));
	if (stat(path, &st))
		return errno;
	return sscanf(dev, "%u:%u", &maj, &min) == 2 &&
	       S_ISCHR(st.st_mode) && st.st_rdev == makedev(maj, min) ?
	       0 : ESTALE;
}

static void *churn_fn(void *arg)
{
	struct churn *c = arg;
	int group;

	group = vfio_pci_group(c->bdf);
	if (group < 0) {
		c->err = -group;
		c->step = "iommu_group";
		return NULL;
	}
	for (c->rounds = 0; c->rounds < CHURN_ROUNDS; c->rounds++) {
		if (time(NULL) > c->deadline)
			break;
		c->err = vfio_sysfs_write(VFIO_PCI_BIND, c->bdf);
		if (c->err) {
			c->step = "bind";
			break;
		}
		c->err = churn_check_node(group);
		if (c->err) {
			c->step = "group node";
			break;
		}
		c->err = vfio_sysfs_write(VFIO_PCI_UNBIND, c->bdf);
		if (c->err) {
			c->step = "unbind";
			break;
		}
	}
	return NULL;
}

FIXTURE(group_churn)
{
	struct vfio_pci_binding saved[2];
	struct churn churn[2];
};

FIXTURE_SETUP(group_churn)
{
	const char *bdfs[2] = { TB_PAIR_E1000_BDF, TB_PAIR_TESTDEV_BDF };
	char path[PATH_MAX];
	int i;

	memset(self->saved, 0, sizeof(self->saved));
	for (i = 0; i < 2; i++) {
		vfio_pci_save(bdfs[i], &self->saved[i]);
		/* Unbound, with vfio-pci as the only driver that may bind. */
		vfio_pci_bind(bdfs[i], VFIO_NO_DRIVER);
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver_override",
			 bdfs[i]);
		ASSERT_EQ(0, vfio_sysfs_write(path, VFIO_PCI_DRIVER));
		self->churn[i].bdf = bdfs[i];
	}
	ASSERT_EQ(vfio_pci_group(bdfs[0]), vfio_pci_group(bdfs[1]));
}

FIXTURE_TEARDOWN(group_churn)
{
	vfio_pci_restore(&self->saved[1]);
	vfio_pci_restore(&self->saved[0]);
}

TEST_F_TIMEOUT(group_churn, bind_while_other_function_unbinds_always_works,
	       CHURN_TIMEOUT_S)
{
	time_t deadline = time(NULL) + CHURN_SECONDS;
	int i;

	for (i = 0; i < 2; i++) {
		self->churn[i].deadline = deadline;
		ASSERT_EQ(0, pthread_create(&self->churn[i].thread, NULL,
					    churn_fn, &self->churn[i]));
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(self->churn[i].thread, NULL));
	for (i = 0; i < 2; i++) {
		struct churn *c = &self->churn[i];

		TH_LOG("%s: %d rounds", c->bdf, c->rounds);
		EXPECT_EQ(0, c->err)
			TH_LOG("%s: round %d: %s: %s", c->bdf, c->rounds,
			       c->step, strerror(c->err));
	}
}

TEST_HARNESS_MAIN
