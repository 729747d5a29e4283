// SPDX-License-Identifier: GPL-2.0
/*
 * What vfio-pci must refuse or undo so that a device is no more than its
 * user's, found lacking by a review of the tree at c9a626b (issue 8); each
 * test below failed there:
 *
 *  - a PF whose SR-IOV VFs already exist is not taken (EBUSY): its user
 *    could reset them under whoever drives them;
 *  - bus mastering set on the host before the first open does not come
 *    back when the device is closed;
 *  - devices with errata that make assignment unsafe are refused unless
 *    the admin says disable_denylist=1 (the bed has none, so a test-only
 *    parameter of ours puts pci-testdev on the list);
 *  - an open whose reset cannot take the device lock fails with EAGAIN
 *    rather than handing over a device that was not reset;
 *  - BARs zeroed by a reset vfio did not do (a secondary bus reset from
 *    the bridge, behind everyone's back) are restored when the user turns
 *    decode back on.
 * All but the denylist parameter are upstream 6.12 rules too.
 */
#include <sys/time.h>

#include "vfio_test_util.h"

#define CFG_COMMAND		0x04
#define CFG_CMD_MEMORY		0x0002
#define CFG_CMD_MASTER		0x0004
#define CFG_BAR0		0x10
#define CFG_BRIDGE_CONTROL	0x3e
#define CFG_BRIDGE_CTL_SBR	0x0040

/* nvme BAR0: the interrupt mask, set by writing 1s to INTMS, read back. */
#define NVME_INTMS		0x0c

/* pci-testdev BAR0: writing N to byte 0 starts test N, whose name the
 * header shows from offset 16 ("mmio-..."); a reset stops the test and the
 * BAR reads as zeros.
 */
#define TESTDEV_TEST		0
#define TESTDEV_NAME		16

/* Reloading the vfio stack takes long on a debug kernel. */
#define RELOAD_TEST_TIMEOUT	180

/* ---- helpers --------------------------------------------------------- */

static int set_command_bits(int fd, uint16_t bits)
{
	uint16_t cmd = vfio_config_reg(fd, CFG_COMMAND, 2);

	return _vfio_config_set_reg(fd, CFG_COMMAND, 2, cmd | bits);
}

static void set_numvfs(const char *pf, const char *n)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/sriov_numvfs", pf);
	vfio_sysfs_write(path, n);
}

static bool device_present(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s", bdf);
	return !access(path, F_OK);
}

static uint64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- SR-IOV: a PF with VFs is not taken ------------------------------ */

/*
 * The nvme PF stays on its host driver, which creates the VFs; binding the
 * PF to vfio-pci then must fail, and leave the VFs as they were.
 */
FIXTURE(pf_with_vfs)
{
	struct vfio_pci_binding saved;
	char vf0_driver[64];
};

FIXTURE_SETUP(pf_with_vfs)
{
	memset(&self->saved, 0, sizeof(self->saved));
	if (tb_noiommu_profile())
		SKIP(return, "VFs have no IOMMU group in the no-IOMMU boot");
	vfio_pci_save(TB_NVME_PF_BDF, &self->saved);
	ASSERT_TRUE(vfio_pci_driver_is(TB_NVME_PF_BDF, "nvme"));
	set_numvfs(TB_NVME_PF_BDF, "2");
	for (int i = 0; i < 200 && !(device_present(TB_NVME_VF0_BDF) &&
				     device_present(TB_NVME_VF1_BDF)); i++)
		usleep(10 * 1000);
	ASSERT_TRUE(device_present(TB_NVME_VF1_BDF));
	vfio_pci_driver(TB_NVME_VF0_BDF, self->vf0_driver,
			sizeof(self->vf0_driver));
}

FIXTURE_TEARDOWN(pf_with_vfs)
{
	/* Back on nvme first: only a driver can take its VFs away. */
	EXPECT_EQ(0, _vfio_pci_restore(&self->saved));
	set_numvfs(TB_NVME_PF_BDF, "0");
}

TEST_F(pf_with_vfs, pf_with_vfs_refused_ebusy)
{
	EXPECT_EQ(EBUSY, _vfio_pci_bind(TB_NVME_PF_BDF, VFIO_PCI_DRIVER));
	EXPECT_FALSE(vfio_pci_driver_is(TB_NVME_PF_BDF, VFIO_PCI_DRIVER));
	/* The VFs are still there, untouched. */
	EXPECT_EQ(2, vfio_pci_attr_ulong(TB_NVME_PF_BDF, "sriov_numvfs"));
	EXPECT_TRUE(device_present(TB_NVME_VF0_BDF));
	EXPECT_TRUE(device_present(TB_NVME_VF1_BDF));
	EXPECT_EQ(vfio_pci_attr_ulong(TB_NVME_PF_BDF, "vendor"),
		  vfio_pci_attr_ulong(TB_NVME_VF0_BDF, "vendor"));
	EXPECT_TRUE(vfio_pci_driver_is(TB_NVME_VF0_BDF, self->vf0_driver));
}

/* ---- bus mastering does not survive close ---------------------------- */

/*
 * pci-testdev has no function reset, so nothing but vfio's own handling of
 * COMMAND decides what the device is left with.  The host sets bus
 * mastering before the first open (setpci); after open and close it must
 * be off, or the device keeps DMA rights the last user programmed.
 */
FIXTURE(no_reset)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(no_reset)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_TESTDEV_BDF,
			   VFIO_STAGE_IOMMU);
}

FIXTURE_TEARDOWN(no_reset)
{
	uint32_t cmd = vfio_pci_host_reg(TB_TESTDEV_BDF, CFG_COMMAND, 2);

	if (cmd != ~0u && cmd & CFG_CMD_MASTER)
		vfio_pci_host_reg_write(TB_TESTDEV_BDF, CFG_COMMAND, 2,
					cmd & ~CFG_CMD_MASTER);
	vfio_test_dev_close(_metadata, &self->dev);
}

TEST_F(no_reset, bus_master_off_after_close)
{
	uint32_t cmd = vfio_pci_host_reg(TB_TESTDEV_BDF, CFG_COMMAND, 2);
	int fd;

	ASSERT_NE(~0u, cmd);
	ASSERT_EQ(0, vfio_pci_host_reg_write(TB_TESTDEV_BDF, CFG_COMMAND, 2,
					     cmd | CFG_CMD_MASTER));
	ASSERT_TRUE(vfio_pci_host_reg(TB_TESTDEV_BDF, CFG_COMMAND, 2) &
		    CFG_CMD_MASTER);

	vfio_group_get_device_fd(self->dev.group, TB_TESTDEV_BDF, &fd);
	close(fd);

	cmd = vfio_pci_host_reg(TB_TESTDEV_BDF, CFG_COMMAND, 2);
	ASSERT_NE(~0u, cmd);
	EXPECT_FALSE(cmd & CFG_CMD_MASTER)
		TH_LOG("COMMAND %#x after close: bus mastering survived", cmd);
}

/* ---- the denylist ---------------------------------------------------- */

#define DENYLIST_EXTRA	"/sys/module/vfio_pci/parameters/denylist_extra"

/*
 * The bed has no device with the errata the denylist is about, so our
 * vfio-pci has a test-only parameter, denylist_extra=VVVV:DDDD, that adds
 * one ID to the list: pci-testdev's.  Upstream has nothing like it, so
 * these SKIP on the distro modules; on ours a missing parameter is a
 * failure (the denylist would be untested).
 */
FIXTURE(denylist)
{
	struct vfio_pci_binding saved;
	char id[16];
	bool reloaded;
};

FIXTURE_SETUP(denylist)
{
	memset(&self->saved, 0, sizeof(self->saved));
	self->reloaded = false;
	if (!tb_ours())
		SKIP(return,
		     "denylist_extra is a test-only parameter of our vfio-pci; %s",
		     "upstream cannot deny a device of the bed");
	snprintf(self->id, sizeof(self->id), "%04lx:%04lx",
		 vfio_pci_attr_ulong(TB_TESTDEV_BDF, "vendor"),
		 vfio_pci_attr_ulong(TB_TESTDEV_BDF, "device"));
	vfio_pci_save(TB_TESTDEV_BDF, &self->saved);
}

FIXTURE_TEARDOWN(denylist)
{
	EXPECT_EQ(0, _vfio_pci_restore(&self->saved));
	if (self->reloaded)
		EXPECT_EQ(0, tb_cmd("reload"));
}

TEST_F_TIMEOUT(denylist, denied_device_refuses_to_bind, RELOAD_TEST_TIMEOUT)
{
	self->reloaded = true;
	ASSERT_EQ(0, tb_cmd("reload vfio_pci.denylist_extra=%s", self->id));
	ASSERT_EQ(0, access(DENYLIST_EXTRA, F_OK))
		TH_LOG("vfio-pci has no denylist_extra parameter");
	EXPECT_EQ(EINVAL, _vfio_pci_bind(TB_TESTDEV_BDF, VFIO_PCI_DRIVER));
	EXPECT_FALSE(vfio_pci_driver_is(TB_TESTDEV_BDF, VFIO_PCI_DRIVER));
}

TEST_F_TIMEOUT(denylist, disable_denylist_binds_a_denied_device,
	       RELOAD_TEST_TIMEOUT)
{
	self->reloaded = true;
	ASSERT_EQ(0, tb_cmd("reload vfio_pci.denylist_extra=%s vfio_pci.disable_denylist=1",
			    self->id));
	ASSERT_EQ(0, access(DENYLIST_EXTRA, F_OK))
		TH_LOG("vfio-pci has no denylist_extra parameter");
	EXPECT_EQ(0, _vfio_pci_bind(TB_TESTDEV_BDF, VFIO_PCI_DRIVER));
}

/* ---- open without reset ---------------------------------------------- */

/*
 * nvme has FLR, which clears its interrupt mask (INTMS): a mask the last
 * user set is gone when the next one opens the device.  A sysfs `reset`
 * holds the PCI device lock through the FLR's 100 ms wait; an open in
 * that window cannot take the lock for its own reset and must fail with
 * EAGAIN instead of handing the device over unreset.
 */
FIXTURE(nvme)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(nvme)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_NVME_PF_BDF,
			   VFIO_STAGE_IOMMU);
}

FIXTURE_TEARDOWN(nvme)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

/* Open, check the last user's mask is gone, leave one, close. */
static void open_check_mark_close(struct __test_metadata *_metadata,
				  struct vfio_test_dev *dev)
{
	uint32_t mask = 1, val = ~0u;
	int fd;

	vfio_group_get_device_fd(dev->group, TB_NVME_PF_BDF, &fd);
	ASSERT_EQ(0, set_command_bits(fd, CFG_CMD_MEMORY));
	EXPECT_EQ(0, _vfio_region_read(fd, 0, NVME_INTMS, &val, 4));
	EXPECT_EQ(0, val) TH_LOG("the last user's interrupt mask survived the open");
	EXPECT_EQ(0, _vfio_region_write(fd, 0, NVME_INTMS, &mask, 4));
	EXPECT_EQ(0, _vfio_region_read(fd, 0, NVME_INTMS, &val, 4));
	EXPECT_EQ(mask, val);
	close(fd);
}

TEST_F_TIMEOUT(nvme, open_with_device_lock_held_fails_eagain, 120)
{
	char path[PATH_MAX];
	int overlapped = 0;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/reset", TB_NVME_PF_BDF);
	for (int i = 0; i < 8; i++) {
		uint64_t start, opened;
		bool before, after;
		int err, fd, st = -1;
		pid_t pid;

		open_check_mark_close(_metadata, &self->dev);

		pid = vfio_sysfs_write_async(path, "1");
		ASSERT_LT(0, pid);
		start = now_ms();
		/* Let the reset take the lock; it keeps it >= 100 ms. */
		usleep(40 * 1000);
		/* A child that is done is reaped once: keep its status */
		before = (st = vfio_wait_child(pid, 0)) == -1;
		err = _vfio_group_get_device_fd(self->dev.group,
						TB_NVME_PF_BDF, &fd);
		opened = now_ms();
		after = before && (st = vfio_wait_child(pid, 0)) == -1;
		if (!err)
			close(fd);
		if (st == -1)
			st = vfio_wait_child(pid, 10 * 1000);
		EXPECT_EQ(0, st) TH_LOG("sysfs reset: %s", strerror(st));

		if (before && after) {
			overlapped++;
			EXPECT_EQ(EAGAIN, err)
				TH_LOG("iteration %d: open at +%llu ms, %s, %s",
				       i, (unsigned long long)(opened - start),
				       "inside a reset holding the device lock",
				       err ? strerror(err) :
				       "succeeded without a reset of its own");
		} else if (err) {
			EXPECT_EQ(EAGAIN, err);
		}
	}
	TH_LOG("%d of 8 opens fell inside a sysfs reset", overlapped);
	open_check_mark_close(_metadata, &self->dev);
	/*
	 * Otherwise nothing was tested: on this kernel the resets were all
	 * done within 40 ms (seen with the in-tree debug kernel, whose reset
	 * of the PF does not wait as the distro kernel's FLR does).
	 */
	if (!overlapped)
		SKIP(return, "no open fell inside a sysfs reset of the PF");
}

/* ---- BARs lost behind vfio's back ------------------------------------ */

/*
 * The pci-testdev behind the PCIe-to-PCI bridge: setting the bridge's
 * secondary bus reset bit from the host (setpci) resets it without the PCI
 * core or vfio knowing, which zeroes its BARs and COMMAND.  When the user
 * turns memory decode back on, vfio must put the BARs back first.
 */
FIXTURE(bridged)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(bridged)
{
	vfio_test_dev_init(&self->dev);
	if (!device_present(TB_BRIDGED_TESTDEV_BDF))
		SKIP(return, "the test bed has no device behind the bridge");
	vfio_test_dev_open(_metadata, &self->dev, TB_BRIDGED_TESTDEV_BDF,
			   VFIO_STAGE_DEVICE);
}

FIXTURE_TEARDOWN(bridged)
{
	if (self->dev.bdf)
		vfio_test_dev_close(_metadata, &self->dev);
}

/* Start test 0 and read the start of its name: "mmio" if the BAR works. */
static bool testdev_answers(int fd)
{
	uint8_t zero = 0;
	char name[5] = "";

	if (_vfio_region_write(fd, 0, TESTDEV_TEST, &zero, 1) ||
	    _vfio_region_read(fd, 0, TESTDEV_NAME, name, 4))
		return false;
	return !strcmp(name, "mmio");
}

TEST_F(bridged, bars_restored_when_decode_comes_back)
{
	const char *bdf = TB_BRIDGED_TESTDEV_BDF;
	uint32_t bar0, ctl;

	ASSERT_EQ(0, set_command_bits(self->dev.device, CFG_CMD_MEMORY));
	bar0 = vfio_pci_host_reg(bdf, CFG_BAR0, 4);
	ASSERT_NE(0, bar0 & ~0xfu);
	ASSERT_TRUE(testdev_answers(self->dev.device));

	/* The backdoor: pulse the bridge's secondary bus reset. */
	ctl = vfio_pci_host_reg(TB_BRIDGE_BDF, CFG_BRIDGE_CONTROL, 2);
	ASSERT_NE(~0u, ctl);
	ASSERT_EQ(0, vfio_pci_host_reg_write(TB_BRIDGE_BDF, CFG_BRIDGE_CONTROL,
					     2, ctl | CFG_BRIDGE_CTL_SBR));
	usleep(2 * 1000);
	ASSERT_EQ(0, vfio_pci_host_reg_write(TB_BRIDGE_BDF, CFG_BRIDGE_CONTROL,
					     2, ctl & ~CFG_BRIDGE_CTL_SBR));
	usleep(100 * 1000);
	ASSERT_EQ(0, vfio_pci_host_reg(bdf, CFG_BAR0, 4) & ~0xfu)
		TH_LOG("the secondary bus reset did not reach %s", bdf);
	ASSERT_FALSE(vfio_pci_host_reg(bdf, CFG_COMMAND, 2) & CFG_CMD_MEMORY);

	/* The user turns decode back on, as after any reset. */
	ASSERT_EQ(0, set_command_bits(self->dev.device, CFG_CMD_MEMORY));
	EXPECT_EQ(bar0, vfio_pci_host_reg(bdf, CFG_BAR0, 4))
		TH_LOG("BAR0 %#x, was %#x", vfio_pci_host_reg(bdf, CFG_BAR0, 4),
		       bar0);
	EXPECT_TRUE(vfio_pci_host_reg(bdf, CFG_COMMAND, 2) & CFG_CMD_MEMORY);
	EXPECT_TRUE(testdev_answers(self->dev.device));
}

TEST_HARNESS_MAIN
