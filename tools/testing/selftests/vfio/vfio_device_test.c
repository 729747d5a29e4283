// SPDX-License-Identifier: GPL-2.0
/*
 * The vfio-pci device fd: what DEVICE_GET_INFO, GET_REGION_INFO and
 * GET_IRQ_INFO report, checked against what the host kernel knows of the
 * device through sysfs, and config space read through the region at
 * VFIO_PCI_CONFIG_REGION_INDEX << 40.  Each test runs on every device of
 * the test bed, so 32- and 64-bit BARs, I/O BARs, a ROM, PCI and PCIe,
 * INTx, MSI and MSI-X are all covered.  Every errno asserted here is the
 * one upstream 6.12 returns.
 */
#include <sys/mman.h>

#include "vfio_test_util.h"

#define VFIO_UNKNOWN_IOCTL	_IO(VFIO_TYPE, VFIO_BASE + 60)

FIXTURE(device)
{
	struct vfio_test_dev dev;
	struct vfio_device_info info;
};

FIXTURE_VARIANT(device)
{
	const char *bdf;
};

FIXTURE_VARIANT_ADD(device, edu)
{
	.bdf = TB_EDU_BDF,
};

FIXTURE_VARIANT_ADD(device, testdev)
{
	.bdf = TB_TESTDEV_BDF,
};

FIXTURE_VARIANT_ADD(device, ivshmem)
{
	.bdf = TB_IVSHMEM_BDF,
};

FIXTURE_VARIANT_ADD(device, nvme)
{
	.bdf = TB_NVME_PF_BDF,
};

FIXTURE_VARIANT_ADD(device, e1000)
{
	.bdf = TB_PAIR_E1000_BDF,
};

FIXTURE_SETUP(device)
{
	vfio_test_dev_open(_metadata, &self->dev, variant->bdf,
			   VFIO_STAGE_DEVICE);
	vfio_device_get_info(self->dev.device, &self->info);
}

FIXTURE_TEARDOWN(device)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

/*
 * The flags GET_REGION_INFO or GET_IRQ_INFO (@request) reports for @index
 * when the caller left @junk in them (flags are an output), or all ones if
 * the call fails.
 */
static __u32 info_flags_despite(int fd, unsigned long request, __u32 index,
				__u32 junk)
{
	union {
		struct vfio_info_head head;
		struct vfio_region_info region;
		struct vfio_irq_info irq;
	} info;
	size_t size = request == VFIO_DEVICE_GET_REGION_INFO ?
		      sizeof(info.region) : sizeof(info.irq);

	if (_vfio_device_get_indexed_info(fd, request, index, size, junk,
					  &info, size))
		return ~0u;
	return info.head.flags;
}

TEST_F(device, info_has_pci_flag)
{
	ASSERT_TRUE(self->info.flags & VFIO_DEVICE_FLAGS_PCI);
}

TEST_F(device, info_counts_every_pci_region)
{
	ASSERT_LE(VFIO_PCI_NUM_REGIONS, self->info.num_regions);
}

TEST_F(device, info_counts_every_pci_irq)
{
	ASSERT_LE(VFIO_PCI_NUM_IRQS, self->info.num_irqs);
}

TEST_F(device, info_argsz_too_small_is_einval)
{
	__u32 argsz = offsetofend(struct vfio_device_info, num_irqs) - 1;

	vfio_device_get_info_err(EINVAL, self->dev.device, argsz);
}

/* Userspace from before cap_offset existed asks with the old size. */
TEST_F(device, info_without_cap_offset_works)
{
	__u32 argsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	ASSERT_EQ(0, _vfio_device_get_info(self->dev.device, argsz, &info));
	ASSERT_EQ(self->info.num_regions, info.num_regions);
	ASSERT_EQ(self->info.num_irqs, info.num_irqs);
}

/* flags is an output: whatever the caller left there is overwritten. */
TEST_F(device, info_ignores_input_flags)
{
	struct vfio_device_info info = {
		.argsz = sizeof(info),
		.flags = 0xf0000000 | VFIO_DEVICE_FLAGS_PLATFORM,
	};

	ASSERT_EQ(0, ioctl(self->dev.device, VFIO_DEVICE_GET_INFO, &info));
	ASSERT_EQ(self->info.flags, info.flags);
}

TEST_F(device, region_offsets_are_index_shifted_by_40)
{
	struct vfio_region_info region;

	for (__u32 i = 0; i <= VFIO_PCI_CONFIG_REGION_INDEX; i++) {
		vfio_device_get_region_info(self->dev.device, i, &region);
		ASSERT_EQ(VFIO_REGION_OFFSET(i), region.offset) {
			TH_LOG("region %u", i);
		}
	}
}

/* BARs 0-5 and the ROM have the size sysfs gives their resources. */
TEST_F(device, region_sizes_match_sysfs_resources)
{
	struct vfio_region_info region;
	uint64_t start, size;

	for (__u32 i = 0; i <= VFIO_PCI_ROM_REGION_INDEX; i++) {
		ASSERT_EQ(0, vfio_pci_resource(variant->bdf, i, &start, &size));
		vfio_device_get_region_info(self->dev.device, i, &region);
		ASSERT_EQ(size, region.size) {
			TH_LOG("region %u", i);
		}
	}
}

TEST_F(device, bar_regions_are_readable_and_writable)
{
	struct vfio_region_info region;

	for (__u32 i = 0; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		vfio_device_get_region_info(self->dev.device, i, &region);
		if (!region.size)
			continue;
		ASSERT_EQ(VFIO_REGION_INFO_FLAG_READ |
			  VFIO_REGION_INFO_FLAG_WRITE,
			  region.flags & (VFIO_REGION_INFO_FLAG_READ |
					  VFIO_REGION_INFO_FLAG_WRITE)) {
			TH_LOG("BAR %u", i);
		}
	}
}

/*
 * What /proc/PID/fd and /proc/PID/maps show for a device file and its BAR
 * mappings: lsof and management software (libvirt's checks of what QEMU
 * holds) match on upstream's "anon_inode:[vfio-device]".
 */
#define VFIO_DEVICE_FILE_NAME	"anon_inode:[vfio-device]"

TEST_F(device, fd_shows_as_anon_inode_vfio_device)
{
	char path[64], target[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->dev.device);
	n = readlink(path, target, sizeof(target) - 1);
	ASSERT_LT(0, n);
	target[n] = '\0';
	ASSERT_STREQ(VFIO_DEVICE_FILE_NAME, target);
}

TEST_F(device, bar_mapping_shows_as_anon_inode_vfio_device)
{
	struct vfio_region_info region;
	char line[512], want[32];
	bool found = false;
	void *map = MAP_FAILED;
	FILE *maps;
	__u32 i;

	for (i = 0; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		vfio_device_get_region_info(self->dev.device, i, &region);
		if (!(region.flags & VFIO_REGION_INFO_FLAG_MMAP) ||
		    region.size < 4096)
			continue;
		map = mmap(NULL, 4096, PROT_READ, MAP_SHARED,
			   self->dev.device, region.offset);
		if (map != MAP_FAILED)
			break;
	}
	if (map == MAP_FAILED)
		SKIP(return, "no mmap()able BAR");

	snprintf(want, sizeof(want), "%lx-", (unsigned long)map);
	maps = fopen("/proc/self/maps", "r");
	ASSERT_NE(NULL, maps);
	while (fgets(line, sizeof(line), maps)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		found = true;
		EXPECT_NE(NULL, strstr(line, VFIO_DEVICE_FILE_NAME))
			TH_LOG("BAR %u mapping: %s", i, line);
	}
	fclose(maps);
	munmap(map, 4096);
	ASSERT_TRUE(found);
}

TEST_F(device, absent_bar_regions_have_no_flags)
{
	struct vfio_region_info region;

	for (__u32 i = 0; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		vfio_device_get_region_info(self->dev.device, i, &region);
		if (region.size)
			continue;
		ASSERT_EQ(0, region.flags) {
			TH_LOG("BAR %u", i);
		}
	}
}

TEST_F(device, config_region_is_config_space_sized)
{
	struct vfio_region_info region;

	vfio_device_get_region_info(self->dev.device,
				    VFIO_PCI_CONFIG_REGION_INDEX, &region);
	ASSERT_EQ(vfio_pci_config_size(variant->bdf), region.size);
	ASSERT_EQ(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		  region.flags);
}

/* None of the test bed's devices is a VGA device. */
TEST_F(device, vga_region_of_non_vga_device_is_einval)
{
	vfio_device_get_region_info_err(EINVAL, self->dev.device,
					VFIO_PCI_VGA_REGION_INDEX,
					sizeof(struct vfio_region_info));
}

TEST_F(device, region_index_past_num_regions_is_einval)
{
	vfio_device_get_region_info_err(EINVAL, self->dev.device,
					self->info.num_regions,
					sizeof(struct vfio_region_info));
}

TEST_F(device, region_info_argsz_too_small_is_einval)
{
	__u32 argsz = offsetofend(struct vfio_region_info, offset) - 1;

	vfio_device_get_region_info_err(EINVAL, self->dev.device,
					VFIO_PCI_CONFIG_REGION_INDEX, argsz);
}

TEST_F(device, region_info_ignores_input_flags)
{
	__u32 junk = 0xf0000000 | VFIO_REGION_INFO_FLAG_MMAP;

	ASSERT_EQ(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		  info_flags_despite(self->dev.device,
				     VFIO_DEVICE_GET_REGION_INFO,
				     VFIO_PCI_CONFIG_REGION_INDEX, junk));
}

TEST_F(device, config_ids_match_sysfs)
{
	uint16_t vendor, device;

	vfio_config_read(self->dev.device, &vendor, 2, PCI_CFG_VENDOR_ID);
	vfio_config_read(self->dev.device, &device, 2, PCI_CFG_DEVICE_ID);
	ASSERT_EQ(vfio_pci_attr_ulong(variant->bdf, "vendor"), vendor);
	ASSERT_EQ(vfio_pci_attr_ulong(variant->bdf, "device"), device);
}

/* QEMU reads the whole header in one go; a short read is fatal to it. */
TEST_F(device, config_read_of_256_bytes_is_complete)
{
	uint8_t cfg[256], host[256];

	memset(cfg, 0xa5, sizeof(cfg));
	vfio_config_read(self->dev.device, cfg, sizeof(cfg), 0);
	ASSERT_EQ(0, vfio_pci_sysfs_config(variant->bdf, host, sizeof(host)));
	/* IDs, revision and class are never virtualized. */
	ASSERT_EQ(0, memcmp(host, cfg, 4));
	ASSERT_EQ(0, memcmp(host + PCI_CFG_REVISION_ID,
			    cfg + PCI_CFG_REVISION_ID, 4));
}

TEST_F(device, config_read_of_whole_region_is_complete)
{
	size_t size = vfio_pci_config_size(variant->bdf);
	uint8_t *cfg = malloc(size);

	ASSERT_NE(NULL, cfg);
	EXPECT_EQ(0, _vfio_config_read(self->dev.device, cfg, size, 0));
	free(cfg);
}

TEST_F(device, config_read_past_config_space_is_efault)
{
	size_t size = vfio_pci_config_size(variant->bdf);
	uint32_t val;

	vfio_config_read_err(EFAULT, self->dev.device, &val, 4, size);
}

TEST_F(device, config_read_straddling_end_is_efault)
{
	size_t size = vfio_pci_config_size(variant->bdf);
	uint32_t val;

	vfio_config_read_err(EFAULT, self->dev.device, &val, 4, size - 2);
}

TEST_F(device, read_of_absent_bar_is_einval)
{
	struct vfio_region_info region;
	uint32_t val;

	for (__u32 i = 0; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		vfio_device_get_region_info(self->dev.device, i, &region);
		if (region.size)
			continue;
		EXPECT_EQ(-1, pread(self->dev.device, &val, sizeof(val),
				    region.offset));
		ASSERT_EQ(EINVAL, errno) {
			TH_LOG("BAR %u", i);
		}
	}
}

TEST_F(device, read_past_end_of_bar_is_einval)
{
	struct vfio_region_info region;
	uint32_t val;

	for (__u32 i = 0; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		vfio_device_get_region_info(self->dev.device, i, &region);
		if (!region.size)
			continue;
		EXPECT_EQ(-1, pread(self->dev.device, &val, sizeof(val),
				    region.offset + region.size));
		ASSERT_EQ(EINVAL, errno) {
			TH_LOG("BAR %u", i);
		}
	}
}

TEST_F(device, read_of_unknown_region_is_einval)
{
	uint32_t val;

	EXPECT_EQ(-1, pread(self->dev.device, &val, sizeof(val),
			    VFIO_REGION_OFFSET(self->info.num_regions + 8)));
	ASSERT_EQ(EINVAL, errno);
}

/* INTx is offered when the device has an interrupt pin. */
TEST_F(device, intx_count_follows_interrupt_pin)
{
	struct vfio_irq_info irq;
	uint8_t cfg[64];

	ASSERT_EQ(0, vfio_pci_sysfs_config(variant->bdf, cfg, sizeof(cfg)));
	vfio_device_get_irq_info(self->dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				 &irq);
	ASSERT_EQ(cfg[PCI_CFG_INTERRUPT_PIN] ? 1 : 0, irq.count);
}

TEST_F(device, intx_is_maskable_and_automasked)
{
	struct vfio_irq_info irq;

	vfio_device_get_irq_info(self->dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				 &irq);
	if (!irq.count)
		SKIP(return, "no interrupt pin");
	ASSERT_EQ(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
		  VFIO_IRQ_INFO_AUTOMASKED, irq.flags);
}

/*
 * The Message Control word of MSI or MSI-X capability @id of @bdf, as the
 * host kernel sees it; -1 if the device has no such capability.
 */
static int host_msg_control(struct __test_metadata *_metadata,
			    const char *bdf, uint8_t id)
{
	unsigned int pos = vfio_pci_find_cap(bdf, id);
	uint8_t cfg[256];

	if (!pos)
		return -1;
	ASSERT_EQ(0, vfio_pci_sysfs_config(bdf, cfg, sizeof(cfg)));
	return cfg[pos + 2] | cfg[pos + 3] << 8;
}

/* How many vectors GET_IRQ_INFO reports for interrupt @index. */
static __u32 irq_count(struct __test_metadata *_metadata, int fd,
		       __u32 index)
{
	struct vfio_irq_info irq;

	vfio_device_get_irq_info(fd, index, &irq);
	return irq.count;
}

/* MSI: as many vectors as the capability's Multiple Message Capable. */
TEST_F(device, msi_count_follows_msi_capability)
{
	int ctrl = host_msg_control(_metadata, variant->bdf, PCI_CAP_ID_MSI_);

	ASSERT_EQ(ctrl < 0 ? 0 : 1u << ((ctrl >> 1) & 7),
		  irq_count(_metadata, self->dev.device,
			    VFIO_PCI_MSI_IRQ_INDEX));
}

/* MSI-X: as many vectors as the capability's table size. */
TEST_F(device, msix_count_follows_msix_capability)
{
	int ctrl = host_msg_control(_metadata, variant->bdf, PCI_CAP_ID_MSIX_);

	ASSERT_EQ(ctrl < 0 ? 0u : (ctrl & 0x7ffu) + 1,
		  irq_count(_metadata, self->dev.device,
			    VFIO_PCI_MSIX_IRQ_INDEX));
}

/* AER error reporting exists for PCI Express devices only. */
TEST_F(device, err_irq_exists_only_for_pcie)
{
	struct vfio_irq_info irq;

	if (!vfio_pci_find_cap(variant->bdf, PCI_CAP_ID_EXP_)) {
		vfio_device_get_irq_info_err(EINVAL, self->dev.device,
					     VFIO_PCI_ERR_IRQ_INDEX,
					     sizeof(irq));
		return;
	}
	vfio_device_get_irq_info(self->dev.device, VFIO_PCI_ERR_IRQ_INDEX,
				 &irq);
	ASSERT_EQ(1, irq.count);
}

/* Every vfio-pci device can be asked to let go (DPDK requires this). */
TEST_F(device, req_irq_is_one_eventfd)
{
	struct vfio_irq_info irq;

	vfio_device_get_irq_info(self->dev.device, VFIO_PCI_REQ_IRQ_INDEX,
				 &irq);
	ASSERT_EQ(1, irq.count);
	ASSERT_TRUE(irq.flags & VFIO_IRQ_INFO_EVENTFD);
}

TEST_F(device, req_irq_takes_an_eventfd)
{
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	EXPECT_EQ(0, _vfio_device_set_req_eventfd(self->dev.device, efd));
	EXPECT_EQ(0, _vfio_device_set_req_eventfd(self->dev.device, -1));
	close(efd);
}

TEST_F(device, irq_index_past_num_irqs_is_einval)
{
	vfio_device_get_irq_info_err(EINVAL, self->dev.device,
				     self->info.num_irqs,
				     sizeof(struct vfio_irq_info));
}

TEST_F(device, irq_info_argsz_too_small_is_einval)
{
	__u32 argsz = offsetofend(struct vfio_irq_info, count) - 1;

	vfio_device_get_irq_info_err(EINVAL, self->dev.device,
				     VFIO_PCI_REQ_IRQ_INDEX, argsz);
}

TEST_F(device, irq_info_ignores_input_flags)
{
	ASSERT_EQ(0, info_flags_despite(self->dev.device,
					VFIO_DEVICE_GET_IRQ_INFO,
					VFIO_PCI_REQ_IRQ_INDEX, 0xf0000000) &
		     0xf0000000);
}

TEST_F(device, unknown_ioctl_is_enotty)
{
	EXPECT_EQ(-1, ioctl(self->dev.device, VFIO_UNKNOWN_IOCTL));
	ASSERT_EQ(ENOTTY, errno);
}

TEST_F(device, foreign_ioctl_is_enotty)
{
	EXPECT_EQ(-1, ioctl(self->dev.device, _IO('x', 1)));
	ASSERT_EQ(ENOTTY, errno);
}

/* The edu's first register is its identification, 0x010000ed. */
TEST_F(device, edu_bar0_reads_identification)
{
	uint32_t id;

	if (strcmp(variant->bdf, TB_EDU_BDF))
		SKIP(return, "edu only");
	ASSERT_EQ(sizeof(id), pread(self->dev.device, &id, sizeof(id),
				    VFIO_REGION_OFFSET(0)));
	ASSERT_EQ(0x010000ed, id);
}

/*
 * Input checking of SET_IRQS and DEVICE_FEATURE; one device is enough.
 * SET_IRQS goes to the request interrupt, which every vfio-pci device has
 * exactly one of.
 */
FIXTURE(device_input)
{
	struct vfio_test_dev dev;
	struct {
		struct vfio_irq_set set;
		__s32 fds[2];
	} irq;
	struct vfio_device_feature feature;
};

FIXTURE_SETUP(device_input)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_DEVICE);
	/* A valid request: disable the REQ trigger. */
	self->irq.set.argsz = sizeof(self->irq.set) + sizeof(__s32);
	self->irq.set.flags = VFIO_IRQ_SET_DATA_EVENTFD |
			      VFIO_IRQ_SET_ACTION_TRIGGER;
	self->irq.set.index = VFIO_PCI_REQ_IRQ_INDEX;
	self->irq.set.start = 0;
	self->irq.set.count = 1;
	self->irq.fds[0] = -1;
	self->irq.fds[1] = -1;
	self->feature.argsz = sizeof(self->feature);
	self->feature.flags = VFIO_DEVICE_FEATURE_PROBE |
			      VFIO_DEVICE_FEATURE_GET;
}

FIXTURE_TEARDOWN(device_input)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

static int device_input_set_irqs(int fd, void *set)
{
	return ioctl(fd, VFIO_DEVICE_SET_IRQS, set) ? errno : 0;
}

static int device_input_feature(int fd, struct vfio_device_feature *feature)
{
	return ioctl(fd, VFIO_DEVICE_FEATURE, feature) ? errno : 0;
}

TEST_F(device_input, set_irqs_baseline_works)
{
	ASSERT_EQ(0, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_argsz_too_small_is_einval)
{
	self->irq.set.flags = VFIO_IRQ_SET_DATA_NONE |
			      VFIO_IRQ_SET_ACTION_TRIGGER;
	self->irq.set.argsz = offsetofend(struct vfio_irq_set, count) - 1;
	ASSERT_EQ(EINVAL, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_argsz_without_room_for_data_is_einval)
{
	self->irq.set.argsz = sizeof(self->irq.set);
	ASSERT_EQ(EINVAL, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_with_unknown_flag_is_einval)
{
	self->irq.set.flags |= 1u << 31;
	ASSERT_EQ(EINVAL, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_with_two_data_types_is_einval)
{
	self->irq.set.flags |= VFIO_IRQ_SET_DATA_BOOL;
	ASSERT_EQ(EINVAL, device_input_set_irqs(self->dev.device, &self->irq));
}

/*
 * An action the index does not implement is ENOTTY; two actions at once
 * are not rejected as malformed, they are just no action the index has.
 */
TEST_F(device_input, set_irqs_of_unsupported_action_is_enotty)
{
	self->irq.set.flags = VFIO_IRQ_SET_DATA_NONE |
			      VFIO_IRQ_SET_ACTION_MASK;
	ASSERT_EQ(ENOTTY, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_with_two_actions_is_enotty)
{
	self->irq.set.flags |= VFIO_IRQ_SET_ACTION_MASK;
	ASSERT_EQ(ENOTTY, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_index_past_num_irqs_is_einval)
{
	self->irq.set.index = VFIO_PCI_NUM_IRQS;
	ASSERT_EQ(EINVAL, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_range_past_irq_count_is_einval)
{
	self->irq.set.count = 2;
	self->irq.set.argsz += sizeof(__s32);
	ASSERT_EQ(EINVAL, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_with_non_eventfd_is_einval)
{
	self->irq.fds[0] = self->dev.group;
	ASSERT_EQ(EINVAL, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, set_irqs_with_closed_fd_is_ebadf)
{
	self->irq.fds[0] = dup(self->dev.group);
	ASSERT_LE(0, self->irq.fds[0]);
	close(self->irq.fds[0]);
	ASSERT_EQ(EBADF, device_input_set_irqs(self->dev.device, &self->irq));
}

TEST_F(device_input, feature_argsz_too_small_is_einval)
{
	self->feature.argsz = offsetofend(struct vfio_device_feature, flags) -
			      1;
	ASSERT_EQ(EINVAL,
		  device_input_feature(self->dev.device, &self->feature));
}

TEST_F(device_input, feature_with_unknown_flag_is_einval)
{
	self->feature.flags |= 1u << 19;
	ASSERT_EQ(EINVAL,
		  device_input_feature(self->dev.device, &self->feature));
}

TEST_F(device_input, feature_get_and_set_without_probe_is_einval)
{
	self->feature.flags = VFIO_DEVICE_FEATURE_GET |
			      VFIO_DEVICE_FEATURE_SET |
			      VFIO_DEVICE_FEATURE_MIGRATION;
	ASSERT_EQ(EINVAL,
		  device_input_feature(self->dev.device, &self->feature));
}

/* Plain vfio-pci devices do not migrate. */
TEST_F(device_input, feature_probe_of_migration_is_enotty)
{
	self->feature.flags |= VFIO_DEVICE_FEATURE_MIGRATION;
	ASSERT_EQ(ENOTTY,
		  device_input_feature(self->dev.device, &self->feature));
}

TEST_F(device_input, feature_probe_of_unknown_feature_is_enotty)
{
	self->feature.flags |= VFIO_DEVICE_FEATURE_MASK;
	ASSERT_EQ(ENOTTY,
		  device_input_feature(self->dev.device, &self->feature));
}

TEST_HARNESS_MAIN
