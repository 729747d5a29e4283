// SPDX-License-Identifier: GPL-2.0
/*
 * Config space virtualization of vfio-pci, as QEMU and DPDK use it: BAR and
 * ROM sizing, the COMMAND and STATUS registers, read-only fields, reads of
 * every width, and the capability chains compared with what the host
 * kernel sees through sysfs (the passthrough fields must agree; what vfio
 * hides must not appear out of nowhere).  Every test runs on each device
 * of the test bed and every rule checked here is upstream 6.12's too.
 */
#include "vfio_test_util.h"

#define CFG_COMMAND		0x04
#define CFG_CMD_MEMORY		0x0002
#define CFG_CMD_INTX_DISABLE	0x0400
#define CFG_BAR0		0x10
#define CFG_ROM			0x30
#define CFG_ROM_SIZING		0xfffff800u
#define CFG_INTERRUPT_LINE	0x3c
#define CAP_ID_PM		0x01
#define CAP_ID_MSI		0x05
#define CAP_ID_EXP		0x10
#define CAP_ID_MSIX		0x11
#define MSI_FLAGS_ENABLE	0x0001
#define MSIX_FLAGS_ENABLE	0x8000

FIXTURE(config)
{
	struct vfio_test_dev dev;
	size_t size;
	uint8_t host[4096];
};

FIXTURE_VARIANT(config)
{
	const char *bdf;
};

FIXTURE_VARIANT_ADD(config, edu)
{
	.bdf = TB_EDU_BDF,
};

FIXTURE_VARIANT_ADD(config, testdev)
{
	.bdf = TB_TESTDEV_BDF,
};

FIXTURE_VARIANT_ADD(config, ivshmem)
{
	.bdf = TB_IVSHMEM_BDF,
};

FIXTURE_VARIANT_ADD(config, nvme)
{
	.bdf = TB_NVME_PF_BDF,
};

FIXTURE_VARIANT_ADD(config, e1000)
{
	.bdf = TB_PAIR_E1000_BDF,
};

FIXTURE_SETUP(config)
{
	vfio_test_dev_open(_metadata, &self->dev, variant->bdf,
			   VFIO_STAGE_DEVICE);
	self->size = vfio_pci_config_size(variant->bdf);
	ASSERT_LE(256, self->size);
	ASSERT_GE(sizeof(self->host), self->size);
	ASSERT_EQ(0, vfio_pci_sysfs_config(variant->bdf, self->host,
					   self->size));
}

FIXTURE_TEARDOWN(config)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

/* A register as the host kernel sees it now. */
static uint32_t host_read(const char *bdf, unsigned int off, unsigned int len)
{
	uint8_t buf[4096];
	uint32_t val = 0;

	if (vfio_pci_sysfs_config(bdf, buf, off + len))
		return ~0u;
	memcpy(&val, buf + off, len);
	return val;
}

/* The standard capability chain of a config image: offsets by index. */
static int cap_walk(const uint8_t *cfg, uint8_t *offs, uint8_t *ids)
{
	unsigned int pos;
	int n = 0;

	if (!(cfg[PCI_CFG_STATUS] & PCI_CFG_STATUS_CAP_LIST))
		return 0;
	for (pos = cfg[PCI_CFG_CAP_PTR] & ~3u; pos >= 0x40 && n < 48;
	     pos = cfg[pos + 1] & ~3u) {
		offs[n] = pos;
		ids[n++] = cfg[pos];
	}
	return n;
}

static bool cap_in(const uint8_t *offs, const uint8_t *ids, int n,
		   unsigned int off, uint8_t id)
{
	for (int i = 0; i < n; i++)
		if (offs[i] == off && ids[i] == id)
			return true;
	return false;
}

static unsigned int cap_find(const uint8_t *cfg, uint8_t id)
{
	uint8_t offs[48], ids[48];
	int n = cap_walk(cfg, offs, ids);

	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return offs[i];
	return 0;
}

TEST_F(config, bar_sizing_reads_back_the_size_mask)
{
	for (unsigned int i = 0; i < 6; i++) {
		unsigned int reg = CFG_BAR0 + 4 * i;
		uint64_t start, size, mask;
		uint32_t orig, low, high;

		ASSERT_EQ(0, vfio_pci_resource(variant->bdf, i, &start, &size));
		orig = vfio_config_reg(self->dev.device, reg, 4);
		vfio_config_set_reg(self->dev.device, reg, 4, ~0u);
		low = vfio_config_reg(self->dev.device, reg, 4);
		vfio_config_set_reg(self->dev.device, reg, 4, orig);
		ASSERT_EQ(orig, vfio_config_reg(self->dev.device, reg, 4));
		if (!size) {
			/* Absent, or the upper half of a 64-bit BAR. */
			continue;
		}
		mask = ~(size - 1);
		if (orig & 1) {
			EXPECT_EQ(((uint32_t)mask & ~3u) | 1, low) {
				TH_LOG("I/O BAR %u, size 0x%llx", i,
				       (unsigned long long)size);
			}
			continue;
		}
		EXPECT_EQ(((uint32_t)mask & ~0xfu) | (orig & 0xf), low) {
			TH_LOG("BAR %u, size 0x%llx", i,
			       (unsigned long long)size);
		}
		if ((orig & 0x6) != 0x4)
			continue;
		/* 64-bit: the upper half sizes too. */
		i++;
		reg += 4;
		orig = vfio_config_reg(self->dev.device, reg, 4);
		vfio_config_set_reg(self->dev.device, reg, 4, ~0u);
		high = vfio_config_reg(self->dev.device, reg, 4);
		vfio_config_set_reg(self->dev.device, reg, 4, orig);
		EXPECT_EQ((uint32_t)(mask >> 32), high);
	}
}

TEST_F(config, absent_bars_read_zero_and_ignore_writes)
{
	for (unsigned int i = 0; i < 6; i++) {
		unsigned int reg = CFG_BAR0 + 4 * i;
		uint64_t start, size;
		uint32_t prev;

		ASSERT_EQ(0, vfio_pci_resource(variant->bdf, i, &start, &size));
		prev = i ? vfio_config_reg(self->dev.device, reg - 4, 4) : 0;
		/* Skip the upper half of a 64-bit BAR. */
		if (size || (i && (prev & 0x7) == 0x4))
			continue;
		vfio_config_set_reg(self->dev.device, reg, 4, ~0u);
		EXPECT_EQ(0, vfio_config_reg(self->dev.device, reg, 4));
	}
}

TEST_F(config, rom_sizing_with_qemu_mask_reads_the_rom_size)
{
	uint64_t start, size;
	uint32_t orig, val;

	ASSERT_EQ(0, vfio_pci_resource(variant->bdf, 6, &start, &size));
	orig = vfio_config_reg(self->dev.device, CFG_ROM, 4);
	vfio_config_set_reg(self->dev.device, CFG_ROM, 4, CFG_ROM_SIZING);
	val = vfio_config_reg(self->dev.device, CFG_ROM, 4);
	vfio_config_set_reg(self->dev.device, CFG_ROM, 4, orig);
	/* No ROM: the register reads zero whatever is written. */
	EXPECT_EQ(size ? (uint32_t)~(size - 1) & CFG_ROM_SIZING : 0, val);
}

TEST_F(config, command_memory_bit_reaches_the_device)
{
	uint16_t cmd = vfio_config_reg(self->dev.device, CFG_COMMAND, 2);

	vfio_config_set_reg(self->dev.device, CFG_COMMAND, 2,
			    cmd & ~CFG_CMD_MEMORY);
	EXPECT_EQ(0, vfio_config_reg(self->dev.device, CFG_COMMAND, 2) &
		  CFG_CMD_MEMORY);
	EXPECT_EQ(0, host_read(variant->bdf, CFG_COMMAND, 2) & CFG_CMD_MEMORY);
	vfio_config_set_reg(self->dev.device, CFG_COMMAND, 2,
			    cmd | CFG_CMD_MEMORY);
	EXPECT_TRUE(vfio_config_reg(self->dev.device, CFG_COMMAND, 2) &
		    CFG_CMD_MEMORY);
	EXPECT_TRUE(host_read(variant->bdf, CFG_COMMAND, 2) & CFG_CMD_MEMORY);
}

TEST_F(config, command_intx_disable_reads_back_what_was_written)
{
	uint16_t cmd = vfio_config_reg(self->dev.device, CFG_COMMAND, 2);

	vfio_config_set_reg(self->dev.device, CFG_COMMAND, 2,
			    cmd | CFG_CMD_INTX_DISABLE);
	EXPECT_TRUE(vfio_config_reg(self->dev.device, CFG_COMMAND, 2) &
		    CFG_CMD_INTX_DISABLE);
	vfio_config_set_reg(self->dev.device, CFG_COMMAND, 2,
			    cmd & ~CFG_CMD_INTX_DISABLE);
	EXPECT_FALSE(vfio_config_reg(self->dev.device, CFG_COMMAND, 2) &
		     CFG_CMD_INTX_DISABLE);
}

TEST_F(config, writes_to_ids_and_class_succeed_and_change_nothing)
{
	static const unsigned int regs[] = { 0x00, 0x08, 0x2c };

	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++) {
		uint32_t before = vfio_config_reg(self->dev.device, regs[i], 4);

		EXPECT_EQ(0, _vfio_config_set_reg(self->dev.device, regs[i],
						  4, ~before));
		EXPECT_EQ(before,
			  vfio_config_reg(self->dev.device, regs[i], 4));
		EXPECT_EQ(before, host_read(variant->bdf, regs[i], 4));
	}
}

TEST_F(config, status_write_keeps_the_capability_list_bit)
{
	uint16_t before = vfio_config_reg(self->dev.device, PCI_CFG_STATUS, 2);

	EXPECT_EQ(0, _vfio_config_set_reg(self->dev.device, PCI_CFG_STATUS,
					  2, 0));
	EXPECT_EQ(before & PCI_CFG_STATUS_CAP_LIST,
		  vfio_config_reg(self->dev.device, PCI_CFG_STATUS, 2) &
		  PCI_CFG_STATUS_CAP_LIST);
	/* Writing ones only clears error bits (RW1C). */
	EXPECT_EQ(0, _vfio_config_set_reg(self->dev.device, PCI_CFG_STATUS,
					  2, 0xffff));
	EXPECT_EQ(before & PCI_CFG_STATUS_CAP_LIST,
		  vfio_config_reg(self->dev.device, PCI_CFG_STATUS, 2) &
		  PCI_CFG_STATUS_CAP_LIST);
}

TEST_F(config, interrupt_line_reads_back_what_was_written)
{
	uint8_t orig = vfio_config_reg(self->dev.device, CFG_INTERRUPT_LINE, 1);

	vfio_config_set_reg(self->dev.device, CFG_INTERRUPT_LINE, 1, 0x5a);
	EXPECT_EQ(0x5a,
		  vfio_config_reg(self->dev.device, CFG_INTERRUPT_LINE, 1));
	vfio_config_set_reg(self->dev.device, CFG_INTERRUPT_LINE, 1, orig);
}

/* QEMU reads it all at once, DPDK 16 bytes at a time, others per register. */
TEST_F(config, reads_of_every_width_agree)
{
	static const unsigned int widths[] = { 1, 2, 4, 16 };
	uint8_t whole[4096], part[4096];

	ASSERT_EQ(0, _vfio_config_read(self->dev.device, whole, self->size, 0));
	for (unsigned int w = 0; w < ARRAY_SIZE(widths); w++) {
		for (size_t off = 0; off < self->size; off += widths[w])
			ASSERT_EQ(0, _vfio_config_read(self->dev.device,
						       part + off, widths[w],
						       off));
		/* STATUS may change under us (interrupt status). */
		part[PCI_CFG_STATUS] = whole[PCI_CFG_STATUS];
		EXPECT_EQ(0, memcmp(whole, part, self->size)) {
			TH_LOG("%u-byte reads differ", widths[w]);
		}
	}
}

TEST_F(config, unaligned_reads_agree_with_aligned_ones)
{
	uint8_t whole[64], part[64];

	ASSERT_EQ(0, _vfio_config_read(self->dev.device, whole, 64, 0));
	ASSERT_EQ(0, _vfio_config_read(self->dev.device, part, 1, 0));
	ASSERT_EQ(0, _vfio_config_read(self->dev.device, part + 1, 63, 1));
	part[PCI_CFG_STATUS] = whole[PCI_CFG_STATUS];
	EXPECT_EQ(0, memcmp(whole, part, 64));
}

TEST_F(config, header_ids_and_pin_match_sysfs)
{
	uint8_t cfg[64];

	vfio_config_read(self->dev.device, cfg, sizeof(cfg), 0);
	EXPECT_EQ(0, memcmp(cfg, self->host, 4));		/* IDs */
	EXPECT_EQ(0, memcmp(cfg + 8, self->host + 8, 4));	/* rev, class */
	EXPECT_EQ(0, memcmp(cfg + 0x2c, self->host + 0x2c, 4));	/* subsys */
	EXPECT_EQ(self->host[0x0e] & 0x7f, cfg[0x0e] & 0x7f);	/* hdr type */
	EXPECT_EQ(self->host[PCI_CFG_INTERRUPT_PIN],
		  cfg[PCI_CFG_INTERRUPT_PIN]);
}

/*
 * Every capability vfio shows is the device's, at the device's offset; the
 * ones every VMM needs (PM, MSI, MSI-X, PCIe) are never hidden.
 */
TEST_F(config, capability_chain_is_the_devices_less_hidden_ones)
{
	static const uint8_t keep[] = {
		CAP_ID_PM, CAP_ID_MSI, CAP_ID_MSIX, CAP_ID_EXP,
	};
	uint8_t hoffs[48], hids[48], voffs[48], vids[48];
	uint8_t cfg[256];
	int hn, vn;

	vfio_config_read(self->dev.device, cfg, sizeof(cfg), 0);
	hn = cap_walk(self->host, hoffs, hids);
	vn = cap_walk(cfg, voffs, vids);
	ASSERT_GE(hn, vn);
	for (int i = 0; i < vn; i++) {
		EXPECT_TRUE(cap_in(hoffs, hids, hn, voffs[i], vids[i])) {
			TH_LOG("cap 0x%02x at 0x%02x is not the device's",
			       vids[i], voffs[i]);
		}
	}
	for (int i = 0; i < hn; i++) {
		for (unsigned int k = 0; k < ARRAY_SIZE(keep); k++) {
			if (hids[i] != keep[k])
				continue;
			EXPECT_TRUE(cap_in(voffs, vids, vn, hoffs[i],
					   hids[i])) {
				TH_LOG("cap 0x%02x hidden", hids[i]);
			}
		}
	}
}

/* The same for the extended chain, where 0x100 may hold a placeholder. */
TEST_F(config, extended_capabilities_are_the_devices)
{
	uint8_t cfg[4096];
	unsigned int pos = 0x100, n = 0;

	if (self->size <= 256)
		SKIP(return, "conventional PCI: no extended config space");
	vfio_config_read(self->dev.device, cfg, self->size, 0);
	while (pos >= 0x100 && pos + 4 <= self->size && n++ < 512) {
		uint32_t hdr, host;

		memcpy(&hdr, cfg + pos, 4);
		memcpy(&host, self->host + pos, 4);
		if (!hdr)
			break;
		if (pos != 0x100 || (hdr & 0xffff)) {
			EXPECT_EQ(host & 0xffff, hdr & 0xffff) {
				TH_LOG("ecap at 0x%x", pos);
			}
		}
		pos = hdr >> 20 & 0xffc;
	}
}

TEST_F(config, passthrough_capability_fields_match_sysfs)
{
	uint8_t cfg[256];
	unsigned int pos;

	vfio_config_read(self->dev.device, cfg, sizeof(cfg), 0);
	/* MSI-X: table and PBA location */
	pos = cap_find(cfg, CAP_ID_MSIX);
	EXPECT_TRUE(!pos || !memcmp(cfg + pos + 4, self->host + pos + 4, 8));
	/* PCIe: flags and device capabilities */
	pos = cap_find(cfg, CAP_ID_EXP);
	EXPECT_TRUE(!pos || !memcmp(cfg + pos + 2, self->host + pos + 2, 6));
	/* PM capabilities */
	pos = cap_find(cfg, CAP_ID_PM);
	EXPECT_TRUE(!pos || !memcmp(cfg + pos + 2, self->host + pos + 2, 2));
}

TEST_F(config, msi_enable_written_by_the_user_never_reaches_the_device)
{
	unsigned int pos = cap_find(self->host, CAP_ID_MSI);
	uint16_t flags;

	if (!pos)
		SKIP(return, "no MSI capability");
	flags = vfio_config_reg(self->dev.device, pos + 2, 2);
	vfio_config_set_reg(self->dev.device, pos + 2, 2,
			    flags | MSI_FLAGS_ENABLE);
	EXPECT_EQ(0, host_read(variant->bdf, pos + 2, 2) & MSI_FLAGS_ENABLE);
	vfio_config_set_reg(self->dev.device, pos + 2, 2, flags);
}

TEST_F(config, msix_enable_written_by_the_user_never_reaches_the_device)
{
	unsigned int pos = cap_find(self->host, CAP_ID_MSIX);
	uint16_t flags;

	if (!pos)
		SKIP(return, "no MSI-X capability");
	flags = vfio_config_reg(self->dev.device, pos + 2, 2);
	vfio_config_set_reg(self->dev.device, pos + 2, 2,
			    flags | MSIX_FLAGS_ENABLE);
	EXPECT_EQ(0, host_read(variant->bdf, pos + 2, 2) & MSIX_FLAGS_ENABLE);
	vfio_config_set_reg(self->dev.device, pos + 2, 2, flags);
}

TEST_F(config, write_straddling_the_end_is_efault)
{
	uint32_t val = 0;

	EXPECT_EQ(EFAULT, _vfio_region_write(self->dev.device,
					     VFIO_PCI_CONFIG_REGION_INDEX,
					     self->size - 2, &val, 4));
}

/*
 * A VF's own vendor and device ID registers read as all ones; the PCI
 * core takes its IDs from the PF's SR-IOV capability, and a VMM must see
 * those.  The PF stays on its host driver (nvme), which creates the VFs.
 */
FIXTURE(vf)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(vf)
{
	char path[PATH_MAX];

	vfio_test_dev_init(&self->dev);
	if (tb_noiommu_profile())
		SKIP(return, "VFs have no IOMMU group in the no-IOMMU boot");
	snprintf(path, sizeof(path), "%s/%s/sriov_numvfs", PCI_DEVICES,
		 TB_NVME_PF_BDF);
	ASSERT_EQ(0, vfio_sysfs_write(path, "2"));
	for (int i = 0; i < 100 && access(PCI_DEVICES "/" TB_NVME_VF0_BDF,
					  F_OK); i++)
		usleep(10 * 1000);
	vfio_test_dev_open(_metadata, &self->dev, TB_NVME_VF0_BDF,
			   VFIO_STAGE_DEVICE);
}

FIXTURE_TEARDOWN(vf)
{
	char path[PATH_MAX];

	if (self->dev.bdf)
		vfio_test_dev_close(_metadata, &self->dev);
	snprintf(path, sizeof(path), "%s/%s/sriov_numvfs", PCI_DEVICES,
		 TB_NVME_PF_BDF);
	vfio_sysfs_write(path, "0");
}

TEST_F(vf, ids_are_the_pci_cores_not_all_ones)
{
	uint16_t ids[2];

	vfio_config_read(self->dev.device, ids, sizeof(ids), 0);
	EXPECT_NE(0xffff, ids[0]);
	EXPECT_EQ(vfio_pci_attr_ulong(TB_NVME_VF0_BDF, "vendor"), ids[0]);
	EXPECT_EQ(vfio_pci_attr_ulong(TB_NVME_VF0_BDF, "device"), ids[1]);
}

/* A VF has no INTx: no pin, and no INTx interrupt to set up. */
TEST_F(vf, has_no_intx)
{
	struct vfio_irq_info irq;
	uint8_t pin;

	vfio_config_read(self->dev.device, &pin, 1, PCI_CFG_INTERRUPT_PIN);
	EXPECT_EQ(0, pin);
	vfio_device_get_irq_info(self->dev.device, VFIO_PCI_INTX_IRQ_INDEX,
				 &irq);
	EXPECT_EQ(0, irq.count);
}

TEST_HARNESS_MAIN
