// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-pci interrupts: VFIO_DEVICE_SET_IRQS on real (emulated) devices.
 *
 *  - edu (1234:11e8) raises INTx, or MSI once MSI is enabled, when 0x60 is
 *    written, and drops INTx when the same bits are written to 0x64: INTx
 *    delivery, automasking, the three ways to unmask, MSI delivery;
 *  - the nvme PF has MSI-X (and no MSI): sparse vector updates, growing the
 *    set while enabled, count=0 disable, checked by loopback
 *    (DATA_NONE|TRIGGER fires exactly the eventfd wired to a vector);
 *  - input checking, with the errnos upstream 6.12 returns.
 *
 * Terms: a raise is *delivered* when the trigger eventfd becomes readable
 * within DELIVER_MS; it is *held back* when nothing arrives in QUIET_MS.
 * Every rule here holds for upstream's modules too (make check
 * VFIO_MODULES=distro); the few places where ours differ on purpose SKIP
 * there and say so.
 */
#include "vfio_test_util.h"

/* edu registers (BAR0) */
#define EDU_IRQ_RAISE		0x60
#define EDU_IRQ_ACK		0x64

#define PCI_CFG_COMMAND		0x04
#define CMD_MEMORY		0x0002
#define CMD_MASTER		0x0004
#define CMD_INTX_DISABLE	0x0400
#define MSI_FLAGS_ENABLE	0x0001
#define MSIX_FLAGS_ENABLE	0x8000

/* TCG is slow: a delivery may take a while, silence is judged quickly. */
#define DELIVER_MS		5000
#define QUIET_MS		300

#define SET_EVENTFD	(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER)
#define SET_LOOPBACK	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)
#define SET_BOOL	(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER)
#define SET_MASK	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK)
#define SET_UNMASK	(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK)
#define SET_UNMASK_BOOL	(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_UNMASK)
#define SET_MASK_FD	(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK)
#define SET_UNMASK_FD	(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK)

#define INTX	VFIO_PCI_INTX_IRQ_INDEX
#define MSI	VFIO_PCI_MSI_IRQ_INDEX
#define MSIX	VFIO_PCI_MSIX_IRQ_INDEX
#define REQ	VFIO_PCI_REQ_IRQ_INDEX

#define MAX_VECS	64

/*
 * Fixtures that reload the vfio stack with another option take longer
 * than the harness's default 30 s per test on a debug kernel.
 */
#define RELOAD_TEST_TIMEOUT	180

/* ---- SET_IRQS --------------------------------------------------------- */

/*
 * VFIO_DEVICE_SET_IRQS with @len bytes of @data after the header.  Returns
 * 0 or the errno; a positive ioctl result (MSI: "retry with that many
 * vectors") comes back negated.
 */
static int _irq_set(int dev, __u32 index, __u32 flags, __u32 start,
		    __u32 count, const void *data, size_t len)
{
	char buf[sizeof(struct vfio_irq_set) + MAX_VECS * sizeof(__s32)];
	struct vfio_irq_set *set = (void *)buf;
	int ret;

	if (len > MAX_VECS * sizeof(__s32))
		return E2BIG;
	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(*set) + len;
	set->flags = flags;
	set->index = index;
	set->start = start;
	set->count = count;
	if (len)
		memcpy(set->data, data, len);
	ret = ioctl(dev, VFIO_DEVICE_SET_IRQS, set);
	if (ret < 0)
		return errno;
	return -ret;
}

/* An action without data: DATA_NONE loopback, disable, mask, unmask. */
#define irq_none(dev, index, flags, start, count) \
	ASSERT_EQ(0, _irq_set(dev, index, flags, start, count, NULL, 0))
#define irq_none_err(err, dev, index, flags, start, count) \
	ASSERT_EQ(err, _irq_set(dev, index, flags, start, count, NULL, 0))

static int _irq_set_fds(int dev, __u32 index, __u32 flags, __u32 start,
			__u32 count, const __s32 *fds)
{
	return _irq_set(dev, index, flags, start, count, fds,
			count * sizeof(*fds));
}

#define irq_set_fds(dev, index, start, count, fds) \
	ASSERT_EQ(0, _irq_set_fds(dev, index, SET_EVENTFD, start, count, fds))
#define irq_set_fds_err(err, dev, index, start, count, fds) \
	ASSERT_EQ(err, _irq_set_fds(dev, index, SET_EVENTFD, start, count, fds))

/* One eventfd (or -1) for one vector. */
static int _irq_set_fd(int dev, __u32 index, __u32 flags, __u32 vec,
		       __s32 fd)
{
	return _irq_set_fds(dev, index, flags, vec, 1, &fd);
}

#define irq_set_fd(dev, index, vec, fd) \
	ASSERT_EQ(0, _irq_set_fd(dev, index, SET_EVENTFD, vec, fd))
#define irq_set_fd_err(err, dev, index, vec, fd) \
	ASSERT_EQ(err, _irq_set_fd(dev, index, SET_EVENTFD, vec, fd))

static int _irq_set_bools(int dev, __u32 index, __u32 flags, __u32 start,
			  __u32 count, const __u8 *vals)
{
	return _irq_set(dev, index, flags, start, count, vals, count);
}

/* ---- eventfds ------------------------------------------------------- */

static int new_eventfd(void)
{
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/* How many signals @efd collected within @ms (0: none), consumed. */
static uint64_t fired(int efd, int ms)
{
	uint64_t n = 0;

	if (vfio_wait_readable(efd, ms) <= 0)
		return 0;
	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

#define ASSERT_DELIVERED(efd)	ASSERT_NE(0, fired(efd, DELIVER_MS))
#define ASSERT_HELD_BACK(efd)	ASSERT_EQ(0, fired(efd, QUIET_MS))

/* ---- config space and BARs ---------------------------------------- */

/* A config register as the host kernel sees it, through sysfs. */
/*
 * Does /proc/interrupts name a handler @name?  Handler names end a line,
 * several on one line are separated by ", " (a shared line).
 */
static bool irq_named(const char *name)
{
	char line[1024];
	size_t n = strlen(name);
	bool found = false;
	FILE *f;
	char *p;

	f = fopen("/proc/interrupts", "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		for (p = strstr(line, name); p; p = strstr(p + 1, name)) {
			if ((p == line || p[-1] == ' ') &&
			    (p[n] == '\n' || p[n] == ',' || p[n] == '\0')) {
				found = true;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

/* The handler name upstream gives @bdf's @what ("intx", "msi[0]"...). */
static void irq_name(char *buf, size_t len, const char *what, const char *bdf)
{
	snprintf(buf, len, "vfio-%s(%s)", what, bdf);
}

static uint16_t host_read16(const char *bdf, unsigned int off)
{
	uint8_t cfg[256];

	if (vfio_pci_sysfs_config(bdf, cfg, sizeof(cfg)))
		return 0xffff;
	return cfg[off] | cfg[off + 1] << 8;
}

static int bar0_write32(int dev, unsigned int off, uint32_t v)
{
	if (pwrite(dev, &v, 4, VFIO_REGION_OFFSET(0) + off) != 4)
		return errno;
	return 0;
}

#define edu_raise(dev)	ASSERT_EQ(0, bar0_write32(dev, EDU_IRQ_RAISE, 1))
#define edu_ack(dev)	ASSERT_EQ(0, bar0_write32(dev, EDU_IRQ_ACK, 1))

/*
 * Have the vfio stack loaded with vfio_pci.nointxmask as asked.  Reloading
 * is slow, so it is only done when the setting changes: tests of one
 * variant run back to back.  Nothing may hold a vfio device meanwhile.
 */
static bool use_nointxmask(bool on)
{
	char now[8] = "";

	if (vfio_sysfs_read("/sys/module/vfio_pci/parameters/nointxmask", now,
			    sizeof(now)))
		return false;
	if ((now[0] == 'Y') == on)
		return true;
	return !tb_cmd(on ? "reload vfio_pci.nointxmask=1" : "reload");
}

/*
 * The edu of the edu fixtures: the vfio stack loaded with @nointxmask as
 * asked, edu's device fd with memory decode and bus mastering on (MSI is a
 * memory write), and an eventfd @efd for the tests to wire up.  Undo with
 * edu_irq_close().
 */
static void edu_irq_open(struct __test_metadata *_metadata,
			 struct vfio_test_dev *dev, int *efd, bool nointxmask)
{
	ASSERT_TRUE(use_nointxmask(nointxmask));
	vfio_test_dev_open(_metadata, dev, TB_EDU_BDF, VFIO_STAGE_DEVICE);
	vfio_config_set_reg(dev->device, PCI_CFG_COMMAND, 2,
			    CMD_MEMORY | CMD_MASTER);
	*efd = new_eventfd();
	ASSERT_LE(0, *efd);
}

/* Drop whatever edu still raises, give it back, close @efd. */
static void edu_irq_close(struct __test_metadata *_metadata,
			  struct vfio_test_dev *dev, int efd)
{
	if (dev->device >= 0)
		bar0_write32(dev->device, EDU_IRQ_ACK, ~0u);
	if (dev->bdf)
		vfio_test_dev_close(_metadata, dev);
	if (efd >= 0)
		close(efd);
}

/* ---- edu: INTx ----------------------------------------------------- */

/*
 * edu with INTx enabled, its trigger @efd; the variants mask INTx at the
 * device (DisINTx, the default) or at the interrupt controller
 * (vfio_pci.nointxmask=1).
 */
FIXTURE(edu_intx)
{
	struct vfio_test_dev dev;
	int fd;
	int efd;
};

FIXTURE_VARIANT(edu_intx)
{
	bool nointxmask;
};

FIXTURE_VARIANT_ADD(edu_intx, devmask)
{
	.nointxmask = false,
};

FIXTURE_VARIANT_ADD(edu_intx, nointxmask)
{
	.nointxmask = true,
};

FIXTURE_SETUP(edu_intx)
{
	edu_irq_open(_metadata, &self->dev, &self->efd, variant->nointxmask);
	self->fd = self->dev.device;
	irq_set_fd(self->fd, INTX, 0, self->efd);
}

FIXTURE_TEARDOWN(edu_intx)
{
	edu_irq_close(_metadata, &self->dev, self->efd);
}

TEST_F_TIMEOUT(edu_intx, raise_is_delivered_to_the_trigger, RELOAD_TEST_TIMEOUT)
{
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

/* Level triggered: after a delivery nothing more comes until UNMASK. */
TEST_F_TIMEOUT(edu_intx, delivery_masks_until_unmask, RELOAD_TEST_TIMEOUT)
{
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	edu_ack(self->fd);
	edu_raise(self->fd);
	ASSERT_HELD_BACK(self->efd);
	irq_none(self->fd, INTX, SET_UNMASK, 0, 1);
	ASSERT_DELIVERED(self->efd);
}

TEST_F_TIMEOUT(edu_intx, unmask_with_nothing_pending_passes_the_next_raise, RELOAD_TEST_TIMEOUT)
{
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	edu_ack(self->fd);
	irq_none(self->fd, INTX, SET_UNMASK, 0, 1);
	ASSERT_HELD_BACK(self->efd);
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

TEST_F_TIMEOUT(edu_intx, unmask_by_data_bool_true_unmasks_false_does_not, RELOAD_TEST_TIMEOUT)
{
	__u8 no = 0, yes = 1;

	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	ASSERT_EQ(0, _irq_set_bools(self->fd, INTX, SET_UNMASK_BOOL, 0, 1,
				    &no));
	ASSERT_HELD_BACK(self->efd);
	ASSERT_EQ(0, _irq_set_bools(self->fd, INTX, SET_UNMASK_BOOL, 0, 1,
				    &yes));
	ASSERT_DELIVERED(self->efd);
}

/* KVM's resample eventfd: a signal on it unmasks without an ioctl. */
TEST_F_TIMEOUT(edu_intx, unmask_eventfd_unmasks, RELOAD_TEST_TIMEOUT)
{
	int ufd = new_eventfd();

	ASSERT_LE(0, ufd);
	ASSERT_EQ(0, _irq_set_fd(self->fd, INTX, SET_UNMASK_FD, 0, ufd));
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	edu_ack(self->fd);
	edu_raise(self->fd);
	ASSERT_HELD_BACK(self->efd);
	ASSERT_EQ(0, eventfd_write(ufd, 1));
	ASSERT_DELIVERED(self->efd);
	close(ufd);
}

/* Upstream keeps the first unmask eventfd until it is cleared with -1. */
TEST_F_TIMEOUT(edu_intx, second_unmask_eventfd_is_ebusy_until_cleared, RELOAD_TEST_TIMEOUT)
{
	int a = new_eventfd(), b = new_eventfd();

	ASSERT_EQ(0, _irq_set_fd(self->fd, INTX, SET_UNMASK_FD, 0, a));
	ASSERT_EQ(EBUSY, _irq_set_fd(self->fd, INTX, SET_UNMASK_FD, 0, b));
	ASSERT_EQ(0, _irq_set_fd(self->fd, INTX, SET_UNMASK_FD, 0, -1));
	ASSERT_EQ(0, _irq_set_fd(self->fd, INTX, SET_UNMASK_FD, 0, b));
	close(a);
	close(b);
}

TEST_F_TIMEOUT(edu_intx, mask_holds_delivery_back_until_unmask, RELOAD_TEST_TIMEOUT)
{
	irq_none(self->fd, INTX, SET_MASK, 0, 1);
	edu_raise(self->fd);
	ASSERT_HELD_BACK(self->efd);
	irq_none(self->fd, INTX, SET_UNMASK, 0, 1);
	ASSERT_DELIVERED(self->efd);
}

TEST_F_TIMEOUT(edu_intx, mask_by_eventfd_is_enotty, RELOAD_TEST_TIMEOUT)
{
	ASSERT_EQ(ENOTTY, _irq_set_fd(self->fd, INTX, SET_MASK_FD, 0,
				      self->efd));
}

TEST_F_TIMEOUT(edu_intx, data_none_trigger_is_a_loopback, RELOAD_TEST_TIMEOUT)
{
	irq_none(self->fd, INTX, SET_LOOPBACK, 0, 1);
	ASSERT_DELIVERED(self->efd);
}

TEST_F_TIMEOUT(edu_intx, data_bool_trigger_true_is_a_loopback_false_is_not, RELOAD_TEST_TIMEOUT)
{
	__u8 no = 0, yes = 1;

	ASSERT_EQ(0, _irq_set_bools(self->fd, INTX, SET_BOOL, 0, 1, &no));
	ASSERT_HELD_BACK(self->efd);
	ASSERT_EQ(0, _irq_set_bools(self->fd, INTX, SET_BOOL, 0, 1, &yes));
	ASSERT_DELIVERED(self->efd);
}

TEST_F_TIMEOUT(edu_intx, new_trigger_takes_over_delivery, RELOAD_TEST_TIMEOUT)
{
	int efd2 = new_eventfd();

	irq_set_fd(self->fd, INTX, 0, efd2);
	edu_raise(self->fd);
	ASSERT_DELIVERED(efd2);
	ASSERT_HELD_BACK(self->efd);
	close(efd2);
}

/* COMMAND.INTX_DISABLE is the user's own: the automask does not show. */
TEST_F_TIMEOUT(edu_intx, user_never_sees_the_automask_in_command, RELOAD_TEST_TIMEOUT)
{
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	ASSERT_EQ(0, vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2) &
		  CMD_INTX_DISABLE);
	if (variant->nointxmask)
		return;
	/* ...though it is done at the device. */
	ASSERT_EQ(CMD_INTX_DISABLE,
		  host_read16(TB_EDU_BDF, PCI_CFG_COMMAND) & CMD_INTX_DISABLE);
}

/* The user's INTX_DISABLE holds INTx off; clearing it lets it through. */
TEST_F_TIMEOUT(edu_intx, user_intx_disable_holds_back_and_clearing_it_delivers, RELOAD_TEST_TIMEOUT)
{
	uint16_t cmd = vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2);

	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2,
			    cmd | CMD_INTX_DISABLE);
	ASSERT_EQ(CMD_INTX_DISABLE,
		  vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2) &
		  CMD_INTX_DISABLE);
	edu_raise(self->fd);
	ASSERT_HELD_BACK(self->efd);
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2, cmd);
	ASSERT_DELIVERED(self->efd);
}

/* Clearing the user's INTX_DISABLE also undoes a MASK. */
TEST_F_TIMEOUT(edu_intx, clearing_user_intx_disable_undoes_mask, RELOAD_TEST_TIMEOUT)
{
	uint16_t cmd = vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2);

	irq_none(self->fd, INTX, SET_MASK, 0, 1);
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2,
			    cmd | CMD_INTX_DISABLE);
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2, cmd);
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

/* UNMASK cannot override the user's INTX_DISABLE. */
TEST_F_TIMEOUT(edu_intx, unmask_under_user_intx_disable_delivers_nothing, RELOAD_TEST_TIMEOUT)
{
	uint16_t cmd = vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2);

	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2,
			    cmd | CMD_INTX_DISABLE);
	irq_none(self->fd, INTX, SET_UNMASK, 0, 1);
	ASSERT_HELD_BACK(self->efd);
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2, cmd);
	ASSERT_DELIVERED(self->efd);
}

/* Rewriting COMMAND with INTX_DISABLE still clear does not unmask. */
TEST_F_TIMEOUT(edu_intx, command_write_without_change_keeps_the_mask, RELOAD_TEST_TIMEOUT)
{
	uint16_t cmd = vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2);

	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2, cmd);
	ASSERT_HELD_BACK(self->efd);
}

/* -1 drops the trigger but INTx stays the enabled type. */
TEST_F_TIMEOUT(edu_intx, trigger_minus_one_keeps_intx_enabled, RELOAD_TEST_TIMEOUT)
{
	irq_set_fd(self->fd, INTX, 0, -1);
	edu_raise(self->fd);
	ASSERT_HELD_BACK(self->efd);
	irq_none(self->fd, INTX, SET_LOOPBACK, 0, 1);
	irq_set_fd_err(EINVAL, self->fd, MSI, 0, self->efd);
}

TEST_F_TIMEOUT(edu_intx, msi_while_intx_is_enabled_is_einval, RELOAD_TEST_TIMEOUT)
{
	irq_set_fd_err(EINVAL, self->fd, MSI, 0, self->efd);
	irq_none_err(EINVAL, self->fd, MSI, SET_LOOPBACK, 0, 0);
}

TEST_F_TIMEOUT(edu_intx, msi_after_intx_disable_is_delivered, RELOAD_TEST_TIMEOUT)
{
	irq_none(self->fd, INTX, SET_LOOPBACK, 0, 0);
	irq_set_fd(self->fd, MSI, 0, self->efd);
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

TEST_F_TIMEOUT(edu_intx, eventfd_with_count_0_is_einval, RELOAD_TEST_TIMEOUT)
{
	irq_set_fds_err(EINVAL, self->fd, INTX, 0, 0, NULL);
}

TEST_F_TIMEOUT(edu_intx, actions_after_disable_are_einval, RELOAD_TEST_TIMEOUT)
{
	irq_none(self->fd, INTX, SET_LOOPBACK, 0, 0);
	irq_none_err(EINVAL, self->fd, INTX, SET_LOOPBACK, 0, 0);
	irq_none_err(EINVAL, self->fd, INTX, SET_LOOPBACK, 0, 1);
	irq_none_err(EINVAL, self->fd, INTX, SET_MASK, 0, 1);
	irq_none_err(EINVAL, self->fd, INTX, SET_UNMASK, 0, 1);
}

/*
 * Closing the device with INTx enabled, masked and an unmask eventfd set
 * tears everything down: the device opens again and INTx works.
 */
TEST_F_TIMEOUT(edu_intx, close_while_enabled_releases_everything, RELOAD_TEST_TIMEOUT)
{
	int ufd = new_eventfd();

	ASSERT_EQ(0, _irq_set_fd(self->fd, INTX, SET_UNMASK_FD, 0, ufd));
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	edu_ack(self->fd);
	close(ufd);

	vfio_close_fd(&self->dev.device);
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF,
				 &self->dev.device);
	self->fd = self->dev.device;
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2,
			    CMD_MEMORY | CMD_MASTER);
	irq_set_fd(self->fd, INTX, 0, self->efd);
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

/* ---- edu: before INTx is enabled ------------------------------------ */

FIXTURE(edu)
{
	struct vfio_test_dev dev;
	int fd;
	int efd;
};

FIXTURE_SETUP(edu)
{
	edu_irq_open(_metadata, &self->dev, &self->efd, false);
	self->fd = self->dev.device;
}

FIXTURE_TEARDOWN(edu)
{
	edu_irq_close(_metadata, &self->dev, self->efd);
}

/*
 * An INTx already asserted when the user enables INTx is delivered.
 * Upstream 6.12 leaves INTx unmasked at the device while nobody handles
 * it and, on this bed, never delivers that first assertion; ours keeps it
 * masked until the enable, which finds it pending.
 */
TEST_F(edu, intx_raised_before_enable_is_delivered_on_enable)
{
	if (!tb_ours())
		SKIP(return, "upstream 6.12 loses an INTx raised before enable");
	edu_raise(self->fd);
	irq_set_fd(self->fd, INTX, 0, self->efd);
	ASSERT_DELIVERED(self->efd);
}

/* The user's INTX_DISABLE set before enabling holds INTx off after. */
TEST_F(edu, user_intx_disable_set_before_enable_holds_back)
{
	uint16_t cmd = vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2);

	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2,
			    cmd | CMD_INTX_DISABLE);
	irq_set_fd(self->fd, INTX, 0, self->efd);
	edu_raise(self->fd);
	ASSERT_HELD_BACK(self->efd);
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2, cmd);
	ASSERT_DELIVERED(self->efd);
}

TEST_F(edu, intx_actions_before_enable_are_einval)
{
	irq_none_err(EINVAL, self->fd, INTX, SET_LOOPBACK, 0, 0);
	irq_none_err(EINVAL, self->fd, INTX, SET_LOOPBACK, 0, 1);
	irq_none_err(EINVAL, self->fd, INTX, SET_MASK, 0, 1);
	irq_none_err(EINVAL, self->fd, INTX, SET_UNMASK, 0, 1);
}

/* -1 enables INTx without a trigger. */
TEST_F(edu, intx_trigger_minus_one_enables_intx)
{
	irq_set_fd(self->fd, INTX, 0, -1);
	irq_none(self->fd, INTX, SET_UNMASK, 0, 1);
	irq_set_fd_err(EINVAL, self->fd, MSI, 0, self->efd);
}

/*
 * /proc/interrupts names the handler as upstream does: irqbalance,
 * tuned and people reading it for a VM's assigned device match on
 * "vfio-intx(BDF)".  Gone again once INTx is disabled.
 */
TEST_F(edu, intx_handler_is_named_vfio_intx_bdf)
{
	char name[64];

	irq_name(name, sizeof(name), "intx", TB_EDU_BDF);
	ASSERT_FALSE(irq_named(name));
	irq_set_fd(self->fd, INTX, 0, self->efd);
	ASSERT_TRUE(irq_named(name));
	irq_none(self->fd, INTX, SET_LOOPBACK, 0, 0);
	ASSERT_FALSE(irq_named(name));
}

/* ---- edu: INTx on a line another driver uses ------------------------ */

/* The netdev of a PCI function, "" if it has none. */
static void pci_netdev(const char *bdf, char *name, size_t len)
{
	char cmd[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls %s/%s/net 2>/dev/null", PCI_DEVICES,
		 bdf);
	name[0] = '\0';
	p = popen(cmd, "r");
	if (!p)
		return;
	if (fgets(name, len, p))
		name[strcspn(name, "\n")] = '\0';
	pclose(p);
}

/*
 * The e1000 requests its INTx when its interface comes up; on the test bed
 * that is the edu's line.  INTx masked at the device shares it.
 */
FIXTURE(edu_shared)
{
	struct vfio_test_dev dev;
	char netdev[64];
	int efd;
};

FIXTURE_VARIANT(edu_shared)
{
	bool nointxmask;
};

FIXTURE_VARIANT_ADD(edu_shared, devmask)
{
	.nointxmask = false,
};

FIXTURE_VARIANT_ADD(edu_shared, nointxmask)
{
	.nointxmask = true,
};

FIXTURE_SETUP(edu_shared)
{
	char cmd[128];

	self->efd = -1;
	vfio_test_dev_init(&self->dev);
	pci_netdev(TB_PAIR_E1000_BDF, self->netdev, sizeof(self->netdev));
	if (!self->netdev[0])
		SKIP(return, "the e1000 has no netdev");
	if (vfio_pci_attr_ulong(TB_EDU_BDF, "irq") !=
	    vfio_pci_attr_ulong(TB_PAIR_E1000_BDF, "irq"))
		SKIP(return, "edu and e1000 do not share a line here");
	snprintf(cmd, sizeof(cmd), "ip link set %s up", self->netdev);
	if (system(cmd)) {
		self->netdev[0] = '\0';
		SKIP(return, "cannot bring the e1000 up");
	}

	edu_irq_open(_metadata, &self->dev, &self->efd, variant->nointxmask);
}

FIXTURE_TEARDOWN(edu_shared)
{
	char cmd[128];

	edu_irq_close(_metadata, &self->dev, self->efd);
	if (self->netdev[0]) {
		snprintf(cmd, sizeof(cmd), "ip link set %s down",
			 self->netdev);
		EXPECT_EQ(0, system(cmd));
	}
}

/*
 * Masking at the device lets the line be shared; masking at the interrupt
 * controller needs it alone, so enabling INTx on a busy line fails.
 */
TEST_F_TIMEOUT(edu_shared, intx_on_a_shared_line_is_delivered_and_masked, RELOAD_TEST_TIMEOUT)
{
	int fd = self->dev.device;

	if (variant->nointxmask) {
		irq_set_fd_err(EBUSY, fd, INTX, 0, self->efd);
		return;
	}
	irq_set_fd(fd, INTX, 0, self->efd);
	edu_raise(fd);
	ASSERT_DELIVERED(self->efd);
	edu_ack(fd);
	edu_raise(fd);
	ASSERT_HELD_BACK(self->efd);
	irq_none(fd, INTX, SET_UNMASK, 0, 1);
	ASSERT_DELIVERED(self->efd);
}

/* ---- edu: MSI ------------------------------------------------------ */

FIXTURE(edu_msi)
{
	struct vfio_test_dev dev;
	int fd;
	int efd;
	unsigned int msi;
};

FIXTURE_SETUP(edu_msi)
{
	edu_irq_open(_metadata, &self->dev, &self->efd, false);
	self->fd = self->dev.device;
	self->msi = vfio_pci_find_cap(TB_EDU_BDF, PCI_CAP_ID_MSI_);
	ASSERT_NE(0, self->msi);
	irq_set_fd(self->fd, MSI, 0, self->efd);
}

FIXTURE_TEARDOWN(edu_msi)
{
	edu_irq_close(_metadata, &self->dev, self->efd);
}

/* As for INTx: "vfio-msi[N](BDF)", as upstream names it. */
TEST_F(edu_msi, vector_handler_is_named_vfio_msi_n_bdf)
{
	char name[64];

	irq_name(name, sizeof(name), "msi[0]", TB_EDU_BDF);
	ASSERT_TRUE(irq_named(name));
	irq_none(self->fd, MSI, SET_LOOPBACK, 0, 0);
	ASSERT_FALSE(irq_named(name));
}

/* Edge triggered: every raise is delivered, nothing to unmask. */
TEST_F(edu_msi, every_raise_is_delivered)
{
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
	edu_ack(self->fd);
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

TEST_F(edu_msi, data_none_trigger_is_a_loopback)
{
	irq_none(self->fd, MSI, SET_LOOPBACK, 0, 1);
	ASSERT_DELIVERED(self->efd);
}

TEST_F(edu_msi, data_bool_trigger_true_is_a_loopback_false_is_not)
{
	__u8 no = 0, yes = 1;

	ASSERT_EQ(0, _irq_set_bools(self->fd, MSI, SET_BOOL, 0, 1, &no));
	ASSERT_HELD_BACK(self->efd);
	ASSERT_EQ(0, _irq_set_bools(self->fd, MSI, SET_BOOL, 0, 1, &yes));
	ASSERT_DELIVERED(self->efd);
}

TEST_F(edu_msi, new_trigger_takes_over_delivery)
{
	int efd2 = new_eventfd();

	irq_set_fd(self->fd, MSI, 0, efd2);
	edu_raise(self->fd);
	ASSERT_DELIVERED(efd2);
	ASSERT_HELD_BACK(self->efd);
	close(efd2);
}

/* Setting the same eventfd again keeps delivering to it. */
TEST_F(edu_msi, same_trigger_again_keeps_delivery)
{
	irq_set_fd(self->fd, MSI, 0, self->efd);
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

TEST_F(edu_msi, minus_one_unsets_the_vector_but_msi_stays_enabled)
{
	irq_set_fd(self->fd, MSI, 0, -1);
	edu_raise(self->fd);
	ASSERT_HELD_BACK(self->efd);
	irq_none(self->fd, MSI, SET_LOOPBACK, 0, 1);
	irq_set_fd_err(EINVAL, self->fd, INTX, 0, self->efd);
}

TEST_F(edu_msi, intx_while_msi_is_enabled_is_einval)
{
	irq_set_fd_err(EINVAL, self->fd, INTX, 0, self->efd);
	irq_none_err(EINVAL, self->fd, INTX, SET_LOOPBACK, 0, 0);
}

TEST_F(edu_msi, count_0_disables_and_intx_works_after)
{
	irq_none(self->fd, MSI, SET_LOOPBACK, 0, 0);
	irq_none_err(EINVAL, self->fd, MSI, SET_LOOPBACK, 0, 1);
	irq_none_err(EINVAL, self->fd, MSI, SET_LOOPBACK, 0, 0);
	irq_set_fd(self->fd, INTX, 0, self->efd);
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

/* An eventfd set with count 0 while enabled changes nothing. */
TEST_F(edu_msi, eventfd_with_count_0_while_enabled_is_a_no_op)
{
	irq_set_fds(self->fd, MSI, 0, 0, NULL);
	edu_raise(self->fd);
	ASSERT_DELIVERED(self->efd);
}

TEST_F(edu_msi, mask_and_unmask_are_enotty)
{
	irq_none_err(ENOTTY, self->fd, MSI, SET_MASK, 0, 1);
	irq_none_err(ENOTTY, self->fd, MSI, SET_UNMASK, 0, 1);
	ASSERT_EQ(ENOTTY, _irq_set_fd(self->fd, MSI, SET_UNMASK_FD, 0,
				      self->efd));
}

TEST_F(edu_msi, more_vectors_than_the_device_has_is_einval)
{
	__s32 fds[2] = { self->efd, self->efd };

	irq_set_fds_err(EINVAL, self->fd, MSI, 0, 2, fds);
}

/* MSI is the ioctl's business: the user's capability never shows it. */
TEST_F(edu_msi, enable_bit_is_not_shown_in_the_user_capability)
{
	unsigned int flags = self->msi + 2;

	ASSERT_EQ(MSI_FLAGS_ENABLE, host_read16(TB_EDU_BDF, flags) &
		  MSI_FLAGS_ENABLE);
	ASSERT_EQ(0, vfio_config_reg(self->fd, flags, 2) & MSI_FLAGS_ENABLE);
}

TEST_F(edu_msi, user_command_is_unchanged_by_msi)
{
	ASSERT_EQ(CMD_MEMORY | CMD_MASTER,
		  vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2) &
		  (CMD_MEMORY | CMD_MASTER | CMD_INTX_DISABLE));
}

TEST_F(edu_msi, msix_on_a_device_without_msix_is_einval)
{
	irq_set_fd_err(EINVAL, self->fd, MSIX, 0, self->efd);
}

/* ---- nvme PF: MSI-X -------------------------------------------------- */

FIXTURE(nvme_msix)
{
	struct vfio_test_dev dev;
	int fd;
	unsigned int count;
	unsigned int msix;
	int efd[MAX_VECS];
};

FIXTURE_SETUP(nvme_msix)
{
	struct vfio_irq_info info;
	unsigned int i;

	for (i = 0; i < MAX_VECS; i++)
		self->efd[i] = -1;
	ASSERT_TRUE(use_nointxmask(false));
	/* Takes the PF from the nvme driver; the teardown gives it back. */
	vfio_test_dev_open(_metadata, &self->dev, TB_NVME_PF_BDF,
			   VFIO_STAGE_DEVICE);
	self->fd = self->dev.device;
	self->msix = vfio_pci_find_cap(TB_NVME_PF_BDF, PCI_CAP_ID_MSIX_);
	ASSERT_NE(0, self->msix);
	vfio_device_get_irq_info(self->fd, MSIX, &info);
	self->count = info.count;
	ASSERT_LE(6, self->count);
	ASSERT_GE(MAX_VECS, self->count);
	for (i = 0; i < self->count; i++) {
		self->efd[i] = new_eventfd();
		ASSERT_LE(0, self->efd[i]);
	}
	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2,
			    CMD_MEMORY | CMD_MASTER);
}

FIXTURE_TEARDOWN(nvme_msix)
{
	unsigned int i;

	vfio_test_dev_close(_metadata, &self->dev);
	for (i = 0; i < MAX_VECS; i++)
		if (self->efd[i] >= 0)
			close(self->efd[i]);
}

/*
 * Fire every vector by loopback, one at a time, and check that exactly
 * the eventfd @wired[v] (-1: none) collected each one.
 */
static void check_wiring(struct __test_metadata *_metadata, int fd,
			 const int *efd, unsigned int count, const int *wired)
{
	unsigned int v, e;

	for (v = 0; v < count; v++) {
		irq_none(fd, MSIX, SET_LOOPBACK, v, 1);
		for (e = 0; e < count; e++) {
			uint64_t n = fired(efd[e], e == (unsigned int)wired[v] ?
					   DELIVER_MS : 0);

			ASSERT_EQ(e == (unsigned int)wired[v] ? 1 : 0, n) {
				TH_LOG("vector %u, eventfd of vector %u", v, e);
			}
		}
	}
}

/*
 * "vfio-msix[N](BDF)" for each vector with a trigger, as upstream names
 * them; a vector without one has no handler.
 */
TEST_F(nvme_msix, vector_handlers_are_named_vfio_msix_n_bdf)
{
	__s32 fds[3] = { self->efd[0], -1, self->efd[2] };
	char name[64];

	irq_set_fds(self->fd, MSIX, 0, 3, fds);
	irq_name(name, sizeof(name), "msix[0]", TB_NVME_PF_BDF);
	EXPECT_TRUE(irq_named(name));
	irq_name(name, sizeof(name), "msix[1]", TB_NVME_PF_BDF);
	EXPECT_FALSE(irq_named(name));
	irq_name(name, sizeof(name), "msix[2]", TB_NVME_PF_BDF);
	EXPECT_TRUE(irq_named(name));
	irq_none(self->fd, MSIX, SET_LOOPBACK, 0, 0);
	EXPECT_FALSE(irq_named(name));
}

TEST_F(nvme_msix, sparse_enable_wires_each_vector_to_its_eventfd)
{
	__s32 fds[3] = { self->efd[0], -1, self->efd[2] };
	int wired[MAX_VECS];

	memset(wired, -1, sizeof(wired));
	irq_set_fds(self->fd, MSIX, 0, 3, fds);
	wired[0] = 0;
	wired[2] = 2;
	check_wiring(_metadata, self->fd, self->efd, self->count, wired);
}

TEST_F(nvme_msix, updating_one_vector_leaves_the_others)
{
	__s32 fds[3] = { self->efd[0], -1, self->efd[2] };
	int wired[MAX_VECS];

	memset(wired, -1, sizeof(wired));
	irq_set_fds(self->fd, MSIX, 0, 3, fds);
	irq_set_fd(self->fd, MSIX, 1, self->efd[1]);
	wired[0] = 0;
	wired[1] = 1;
	wired[2] = 2;
	check_wiring(_metadata, self->fd, self->efd, self->count, wired);
}

/* Vectors past the ones enabled first are added while enabled. */
TEST_F(nvme_msix, set_grows_while_enabled)
{
	unsigned int last = self->count - 1;
	int wired[MAX_VECS];

	memset(wired, -1, sizeof(wired));
	irq_set_fd(self->fd, MSIX, 0, self->efd[0]);
	irq_set_fd(self->fd, MSIX, last, self->efd[last]);
	irq_set_fd(self->fd, MSIX, 2, self->efd[2]);
	wired[0] = 0;
	wired[2] = 2;
	wired[last] = last;
	check_wiring(_metadata, self->fd, self->efd, self->count, wired);
}

TEST_F(nvme_msix, enable_may_start_past_vector_0)
{
	int wired[MAX_VECS];

	memset(wired, -1, sizeof(wired));
	irq_set_fd(self->fd, MSIX, 3, self->efd[3]);
	wired[3] = 3;
	check_wiring(_metadata, self->fd, self->efd, self->count, wired);
}

TEST_F(nvme_msix, minus_one_unsets_a_vector)
{
	__s32 fds[2] = { self->efd[0], self->efd[1] };
	int wired[MAX_VECS];

	memset(wired, -1, sizeof(wired));
	irq_set_fds(self->fd, MSIX, 0, 2, fds);
	irq_set_fd(self->fd, MSIX, 0, -1);
	wired[1] = 1;
	check_wiring(_metadata, self->fd, self->efd, self->count, wired);
}

TEST_F(nvme_msix, every_vector_can_have_its_eventfd)
{
	int wired[MAX_VECS];
	unsigned int v;

	for (v = 0; v < self->count; v++)
		wired[v] = v;
	irq_set_fds(self->fd, MSIX, 0, self->count, self->efd);
	check_wiring(_metadata, self->fd, self->efd, self->count, wired);
}

TEST_F(nvme_msix, data_bool_loopback_fires_the_vectors_set_true)
{
	__s32 fds[3] = { self->efd[0], self->efd[1], self->efd[2] };
	__u8 vals[3] = { 1, 0, 1 };

	irq_set_fds(self->fd, MSIX, 0, 3, fds);
	ASSERT_EQ(0, _irq_set_bools(self->fd, MSIX, SET_BOOL, 0, 3, vals));
	ASSERT_DELIVERED(self->efd[0]);
	ASSERT_DELIVERED(self->efd[2]);
	ASSERT_HELD_BACK(self->efd[1]);
}

TEST_F(nvme_msix, loopback_of_a_vector_without_eventfd_does_nothing)
{
	irq_set_fd(self->fd, MSIX, 0, self->efd[0]);
	irq_none(self->fd, MSIX, SET_LOOPBACK, 1, 1);
	ASSERT_HELD_BACK(self->efd[0]);
}

TEST_F(nvme_msix, count_0_disables)
{
	irq_set_fd(self->fd, MSIX, 0, self->efd[0]);
	irq_none(self->fd, MSIX, SET_LOOPBACK, 0, 0);
	irq_none_err(EINVAL, self->fd, MSIX, SET_LOOPBACK, 0, 1);
	irq_none_err(EINVAL, self->fd, MSIX, SET_LOOPBACK, 0, 0);
	/* ...and it can be enabled again. */
	irq_set_fd(self->fd, MSIX, 1, self->efd[1]);
	irq_none(self->fd, MSIX, SET_LOOPBACK, 1, 1);
	ASSERT_DELIVERED(self->efd[1]);
}

/* The user sees the enable bit SET_IRQS sets, and cannot set it itself. */
TEST_F(nvme_msix, enable_bit_follows_set_irqs_not_user_writes)
{
	unsigned int flags = self->msix + 2;
	uint16_t v = vfio_config_reg(self->fd, flags, 2);

	ASSERT_EQ(0, v & MSIX_FLAGS_ENABLE);
	vfio_config_set_reg(self->fd, flags, 2, v | MSIX_FLAGS_ENABLE);
	ASSERT_EQ(0, vfio_config_reg(self->fd, flags, 2) & MSIX_FLAGS_ENABLE);
	ASSERT_EQ(0, host_read16(TB_NVME_PF_BDF, flags) & MSIX_FLAGS_ENABLE);

	irq_set_fd(self->fd, MSIX, 0, self->efd[0]);
	ASSERT_EQ(MSIX_FLAGS_ENABLE, vfio_config_reg(self->fd, flags, 2) &
		  MSIX_FLAGS_ENABLE);
	irq_none(self->fd, MSIX, SET_LOOPBACK, 0, 0);
	ASSERT_EQ(0, vfio_config_reg(self->fd, flags, 2) & MSIX_FLAGS_ENABLE);
}

/*
 * The MSI-X table is in a BAR: setting vectors up works with the user's
 * memory decode off, which stays off.
 */
TEST_F(nvme_msix, vectors_are_set_up_with_memory_decode_off)
{
	unsigned int last = self->count - 1;

	vfio_config_set_reg(self->fd, PCI_CFG_COMMAND, 2, CMD_MASTER);
	irq_set_fd(self->fd, MSIX, 0, self->efd[0]);
	irq_set_fd(self->fd, MSIX, last, self->efd[last]);
	ASSERT_EQ(0, vfio_config_reg(self->fd, PCI_CFG_COMMAND, 2) &
		  CMD_MEMORY);
	ASSERT_EQ(0, host_read16(TB_NVME_PF_BDF, PCI_CFG_COMMAND) &
		  CMD_MEMORY);
	irq_none(self->fd, MSIX, SET_LOOPBACK, last, 1);
	ASSERT_DELIVERED(self->efd[last]);
	irq_none(self->fd, MSIX, SET_LOOPBACK, 0, 0);
}

TEST_F(nvme_msix, intx_while_msix_is_enabled_is_einval)
{
	irq_set_fd(self->fd, MSIX, 0, self->efd[0]);
	irq_set_fd_err(EINVAL, self->fd, INTX, 0, self->efd[1]);
	irq_none_err(EINVAL, self->fd, INTX, SET_LOOPBACK, 0, 0);
}

TEST_F(nvme_msix, msix_while_intx_is_enabled_is_einval)
{
	irq_set_fd(self->fd, INTX, 0, self->efd[0]);
	irq_set_fd_err(EINVAL, self->fd, MSIX, 0, self->efd[1]);
	irq_none(self->fd, INTX, SET_LOOPBACK, 0, 0);
	irq_set_fd(self->fd, MSIX, 0, self->efd[1]);
}

TEST_F(nvme_msix, mask_and_unmask_are_enotty)
{
	irq_set_fd(self->fd, MSIX, 0, self->efd[0]);
	irq_none_err(ENOTTY, self->fd, MSIX, SET_MASK, 0, 1);
	irq_none_err(ENOTTY, self->fd, MSIX, SET_UNMASK, 0, 1);
}

TEST_F(nvme_msix, index_past_the_last_is_einval)
{
	irq_set_fd_err(EINVAL, self->fd, VFIO_PCI_NUM_IRQS, 0, self->efd[0]);
	irq_set_fd_err(EINVAL, self->fd, 0xffffffff, 0, self->efd[0]);
}

TEST_F(nvme_msix, start_plus_count_past_the_table_is_einval)
{
	__s32 fds[2] = { self->efd[0], self->efd[1] };

	irq_set_fds_err(EINVAL, self->fd, MSIX, self->count - 1, 2, fds);
	irq_set_fd_err(EINVAL, self->fd, MSIX, self->count, self->efd[0]);
	irq_none_err(EINVAL, self->fd, MSIX, SET_LOOPBACK, self->count, 0);
}

TEST_F(nvme_msix, start_plus_count_wrapping_is_einval)
{
	__s32 fds[2] = { self->efd[0], self->efd[1] };

	irq_set_fds_err(EINVAL, self->fd, MSIX, 0xffffffff, 2, fds);
	irq_none_err(EINVAL, self->fd, MSIX, SET_LOOPBACK, 0xffffffff, 2);
}

/* argsz must cover count eventfds. */
TEST_F(nvme_msix, data_shorter_than_count_is_einval)
{
	__s32 fds[2] = { self->efd[0], self->efd[1] };

	ASSERT_EQ(EINVAL, _irq_set(self->fd, MSIX, SET_EVENTFD, 0, 2, fds,
				   sizeof(fds[0])));
}

TEST_F(nvme_msix, unknown_flags_and_two_data_types_are_einval)
{
	ASSERT_EQ(EINVAL, _irq_set(self->fd, MSIX, SET_EVENTFD | 1u << 10, 0,
				   1, &self->efd[0], sizeof(__s32)));
	ASSERT_EQ(EINVAL, _irq_set(self->fd, MSIX,
				   SET_EVENTFD | VFIO_IRQ_SET_DATA_BOOL, 0, 1,
				   &self->efd[0], sizeof(__s32)));
}

TEST_F(nvme_msix, fd_that_is_not_open_is_ebadf)
{
	irq_set_fd_err(EBADF, self->fd, MSIX, 0, 1000);
}

TEST_F(nvme_msix, fd_that_is_not_an_eventfd_is_einval)
{
	irq_set_fd_err(EINVAL, self->fd, MSIX, 0, self->fd);
}

/* A failed enable leaves MSI-X disabled. */
TEST_F(nvme_msix, failed_enable_leaves_it_disabled)
{
	__s32 fds[2] = { self->efd[0], 1000 };

	irq_set_fds_err(EBADF, self->fd, MSIX, 0, 2, fds);
	irq_none_err(EINVAL, self->fd, MSIX, SET_LOOPBACK, 0, 1);
	irq_set_fd(self->fd, INTX, 0, self->efd[0]);
}

TEST_F(nvme_msix, close_with_vectors_enabled_releases_everything)
{
	irq_set_fds(self->fd, MSIX, 0, self->count, self->efd);
	vfio_close_fd(&self->dev.device);
	vfio_group_get_device_fd(self->dev.group, TB_NVME_PF_BDF,
				 &self->dev.device);
	self->fd = self->dev.device;
	irq_set_fd(self->fd, MSIX, 1, self->efd[1]);
	irq_none(self->fd, MSIX, SET_LOOPBACK, 1, 1);
	ASSERT_DELIVERED(self->efd[1]);
}

/* What GET_IRQ_INFO says about each index, as upstream on this bed. */
TEST_F(nvme_msix, irq_info_flags)
{
	struct vfio_irq_info info;

	vfio_device_get_irq_info(self->fd, INTX, &info);
	ASSERT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
		  VFIO_IRQ_INFO_AUTOMASKED, info.flags);
	vfio_device_get_irq_info(self->fd, MSI, &info);
	ASSERT_EQ(0, info.count);
	ASSERT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, info.flags);
	/* x86 can add MSI-X vectors while enabled: the set may grow. */
	vfio_device_get_irq_info(self->fd, MSIX, &info);
	ASSERT_EQ(VFIO_IRQ_INFO_EVENTFD, info.flags);
	vfio_device_get_irq_info(self->fd, VFIO_PCI_ERR_IRQ_INDEX, &info);
	ASSERT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, info.flags);
	vfio_device_get_irq_info(self->fd, REQ, &info);
	ASSERT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, info.flags);
}

/* ERR and REQ: host-raised, one vector each, trigger only. */
TEST_F(nvme_msix, err_trigger_loopback)
{
	irq_set_fd(self->fd, VFIO_PCI_ERR_IRQ_INDEX, 0, self->efd[0]);
	irq_none(self->fd, VFIO_PCI_ERR_IRQ_INDEX, SET_LOOPBACK, 0, 1);
	ASSERT_DELIVERED(self->efd[0]);
}

TEST_F(nvme_msix, req_mask_is_enotty)
{
	irq_none_err(ENOTTY, self->fd, REQ, SET_MASK, 0, 1);
	irq_none_err(ENOTTY, self->fd, REQ, SET_UNMASK, 0, 1);
}

TEST_F(nvme_msix, req_loopback_without_eventfd_is_einval)
{
	irq_none_err(EINVAL, self->fd, REQ, SET_LOOPBACK, 0, 1);
	irq_none_err(EINVAL, self->fd, REQ, SET_LOOPBACK, 0, 0);
}

TEST_F(nvme_msix, req_fd_below_minus_one_is_einval)
{
	irq_set_fd_err(EINVAL, self->fd, REQ, 0, -2);
	irq_set_fds_err(EINVAL, self->fd, REQ, 0, 0, NULL);
}

TEST_HARNESS_MAIN
