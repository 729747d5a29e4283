// SPDX-License-Identifier: GPL-2.0
/*
 * Group viability: a group is usable only while every device in it is
 * bound to vfio or to no driver, and once in use no host driver may take a
 * device of it.  The test bed's multifunction slot is one group of two
 * devices: an e1000 (booted on the e1000 host driver) and a pci-testdev.
 * Every errno asserted here is the one upstream 6.12 returns.
 */
#include "vfio_test_util.h"

#define E1000_DRIVER	"e1000"

/*
 * The testdev on vfio-pci, its group and a container open; the e1000
 * sibling is on its host driver, as the test bed boots it.
 */
FIXTURE(pair)
{
	struct vfio_test_dev dev;
	struct vfio_pci_binding sibling;
};

FIXTURE_SETUP(pair)
{
	vfio_pci_save(TB_PAIR_E1000_BDF, &self->sibling);
	ASSERT_TRUE(vfio_pci_driver_is(TB_PAIR_E1000_BDF, E1000_DRIVER));
	ASSERT_EQ(vfio_pci_group(TB_PAIR_E1000_BDF),
		  vfio_pci_group(TB_PAIR_TESTDEV_BDF));
	vfio_test_dev_open(_metadata, &self->dev, TB_PAIR_TESTDEV_BDF,
			   VFIO_STAGE_GROUP);
}

FIXTURE_TEARDOWN(pair)
{
	vfio_close_fd(&self->dev.device);
	vfio_close_fd(&self->dev.group);
	vfio_close_fd(&self->dev.container);
	vfio_pci_restore(&self->sibling);
	vfio_test_dev_close(_metadata, &self->dev);
}

/* Take the sibling off its host driver and open the rest of the stack. */
static void pair_make_ready(struct __test_metadata *_metadata,
			    struct vfio_test_dev *dev)
{
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER);
	vfio_group_set_container(dev->group, dev->container);
	vfio_set_iommu(dev->container, VFIO_TYPE1v2_IOMMU);
}

TEST_F(pair, group_with_host_bound_sibling_is_not_viable)
{
	ASSERT_EQ(0, vfio_group_flags(self->dev.group));
}

TEST_F(pair, set_container_on_non_viable_group_is_eperm)
{
	vfio_group_set_container_err(EPERM, self->dev.group,
				     self->dev.container);
	ASSERT_EQ(0, vfio_group_flags(self->dev.group));
}

TEST_F(pair, get_device_fd_on_non_viable_group_is_einval)
{
	vfio_group_get_device_fd_err(EINVAL, self->dev.group,
				     TB_PAIR_TESTDEV_BDF);
}

TEST_F(pair, group_is_viable_once_sibling_has_no_driver)
{
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, vfio_group_flags(self->dev.group));
}

TEST_F(pair, group_is_viable_with_sibling_on_vfio_pci)
{
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_PCI_DRIVER);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, vfio_group_flags(self->dev.group));
}

/* An open group fd alone does not keep host drivers away. */
TEST_F(pair, host_driver_binds_sibling_while_group_has_no_container)
{
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER);
	vfio_pci_bind(TB_PAIR_E1000_BDF, E1000_DRIVER);
	ASSERT_EQ(0, vfio_group_flags(self->dev.group));
}

TEST_F(pair, host_driver_bind_while_group_has_container_is_ebusy)
{
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER);
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_pci_bind_err(EBUSY, TB_PAIR_E1000_BDF, E1000_DRIVER);
	ASSERT_TRUE(vfio_pci_driver_is(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER));
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  vfio_group_flags(self->dev.group));
}

TEST_F(pair, host_driver_bind_while_device_fd_open_is_ebusy)
{
	pair_make_ready(_metadata, &self->dev);
	vfio_group_get_device_fd(self->dev.group, TB_PAIR_TESTDEV_BDF,
				 &self->dev.device);
	vfio_pci_bind_err(EBUSY, TB_PAIR_E1000_BDF, E1000_DRIVER);
	ASSERT_TRUE(vfio_pci_driver_is(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER));
}

/* drivers_probe says less than bind: the probe fails, the write EINVAL. */
TEST_F(pair, drivers_probe_while_group_has_container_binds_nothing)
{
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER);
	vfio_group_set_container(self->dev.group, self->dev.container);
	ASSERT_EQ(0, vfio_sysfs_write(PCI_DEVICES "/" TB_PAIR_E1000_BDF
				      "/driver_override", E1000_DRIVER));
	ASSERT_EQ(EINVAL, vfio_sysfs_write("/sys/bus/pci/drivers_probe",
					   TB_PAIR_E1000_BDF));
	ASSERT_TRUE(vfio_pci_driver_is(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER));
}

TEST_F(pair, host_driver_binds_sibling_after_unset_container)
{
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER);
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_group_unset_container(self->dev.group);
	vfio_pci_bind(TB_PAIR_E1000_BDF, E1000_DRIVER);
	ASSERT_EQ(0, vfio_group_flags(self->dev.group));
}

TEST_F(pair, host_driver_binds_sibling_after_group_fd_is_closed)
{
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER);
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_close_fd(&self->dev.group);
	vfio_pci_bind(TB_PAIR_E1000_BDF, E1000_DRIVER);
}

/* A device with no driver is in the group but is not a vfio device. */
TEST_F(pair, get_device_fd_of_driverless_sibling_is_enodev)
{
	pair_make_ready(_metadata, &self->dev);
	vfio_group_get_device_fd_err(ENODEV, self->dev.group,
				     TB_PAIR_E1000_BDF);
}

TEST_F(pair, both_devices_of_a_group_open_through_one_group_fd)
{
	int e1000;

	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_PCI_DRIVER);
	vfio_group_set_container(self->dev.group, self->dev.container);
	vfio_set_iommu(self->dev.container, VFIO_TYPE1v2_IOMMU);
	vfio_group_get_device_fd(self->dev.group, TB_PAIR_TESTDEV_BDF,
				 &self->dev.device);
	vfio_group_get_device_fd(self->dev.group, TB_PAIR_E1000_BDF, &e1000);
	close(e1000);
}

/* The group stays viable while a sibling moves between vfio and no driver. */
TEST_F(pair, sibling_leaving_vfio_pci_keeps_group_viable)
{
	pair_make_ready(_metadata, &self->dev);
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_PCI_DRIVER);
	vfio_pci_bind(TB_PAIR_E1000_BDF, VFIO_NO_DRIVER);
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  vfio_group_flags(self->dev.group));
	vfio_group_get_device_fd(self->dev.group, TB_PAIR_TESTDEV_BDF,
				 &self->dev.device);
}

/*
 * q35's 00:1f.x functions share one group and have no driver in the test
 * bed: one of them on vfio-pci makes a viable group on its own.
 */
FIXTURE(ich9)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(ich9)
{
	ASSERT_TRUE(vfio_pci_driver_is(TB_ICH9_LPC_BDF, VFIO_NO_DRIVER));
	ASSERT_TRUE(vfio_pci_driver_is(TB_ICH9_AHCI_BDF, VFIO_NO_DRIVER));
	ASSERT_EQ(vfio_pci_group(TB_ICH9_LPC_BDF),
		  vfio_pci_group(TB_ICH9_SMBUS_BDF));
	vfio_test_dev_open(_metadata, &self->dev, TB_ICH9_SMBUS_BDF,
			   VFIO_STAGE_GROUP);
}

FIXTURE_TEARDOWN(ich9)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

TEST_F(ich9, group_with_driverless_siblings_is_viable)
{
	ASSERT_EQ(VFIO_GROUP_FLAGS_VIABLE, vfio_group_flags(self->dev.group));
}

TEST_HARNESS_MAIN
