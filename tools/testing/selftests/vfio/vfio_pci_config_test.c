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
	EXPECT_EQ(0, vfio_pci_host_reg(variant->bdf, CFG_COMMAND, 2) & CFG_CMD_MEMORY);
	vfio_config_set_reg(self->dev.device, CFG_COMMAND, 2,
			    cmd | CFG_CMD_MEMORY);
	EXPECT_TRUE(vfio_config_reg(self->dev.device, CFG_COMMAND, 2) &
		    CFG_CMD_MEMORY);
	EXPECT_TRUE(vfio_pci_host_reg(variant->bdf, CFG_COMMAND, 2) & CFG_CMD_MEMORY);
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
		EXPECT_EQ(before, vfio_pci_host_reg(variant->bdf, regs[i], 4));
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
	EXPECT_EQ(0, vfio_pci_host_reg(variant->bdf, pos + 2, 2) & MSI_FLAGS_ENABLE);
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
	EXPECT_EQ(0, vfio_pci_host_reg(variant->bdf, pos + 2, 2) & MSIX_FLAGS_ENABLE);
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
 * PCI Express Device Control, as upstream 6.12 shows it to the user (the
 * distro modules were measured on the same nvme): Phantom Functions Enable
 * is read-only to the user, so that the device never issues requests with
 * function numbers it does not own; Max_Payload_Size is virtual (it must
 * agree with the fabric, which only the host knows); Max_Read_Request_Size
 * reads back what the user wrote and reaches the device only through
 * pcie_set_readrq(), never below the device's payload size.
 *
 * QEMU keeps these fields read-only in its emulated nvme, so whatever is
 * written, the device's register (sysfs) does not change: what vfio asks
 * the PCI core to do is seen with kprobes on the calls it makes.
 */
#define EXP_DEVCTL		0x08
#define DEVCTL_PAYLOAD		0x00e0
#define DEVCTL_PHANTOM		0x0200
#define DEVCTL_READRQ		0x7000
#define DEVCTL_READRQ_SHIFT	12
#define TRACE_DIR		"/sys/kernel/debug/tracing"
#define TRACE_GROUP		"vfio_cfg_test"

static int trace_write(const char *file, const char *val, bool append)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TRACE_DIR "/%s", file);
	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? errno : 0;
}

/*
 * The kprobes: every config write vfio passes to the PCI core on behalf of
 * the user (pci_user_write_config_*(dev, where, val)) and every
 * pcie_set_readrq(dev, rq).  x86-64 passes the arguments in rsi and rdx.
 */
static const char *const trace_probes[] = {
	"p:" TRACE_GROUP "/cfgb pci_user_write_config_byte where=%si:s32 val=%dx:x8",
	"p:" TRACE_GROUP "/cfgw pci_user_write_config_word where=%si:s32 val=%dx:x16",
	"p:" TRACE_GROUP "/cfgl pci_user_write_config_dword where=%si:s32 val=%dx:x32",
	"p:" TRACE_GROUP "/readrq pcie_set_readrq rq=%si:s32",
};

static void trace_stop(void)
{
	trace_write("events/" TRACE_GROUP "/enable", "0", false);
	trace_write("kprobe_events", "-:" TRACE_GROUP "/cfgb\n", true);
	trace_write("kprobe_events", "-:" TRACE_GROUP "/cfgw\n", true);
	trace_write("kprobe_events", "-:" TRACE_GROUP "/cfgl\n", true);
	trace_write("kprobe_events", "-:" TRACE_GROUP "/readrq\n", true);
}

/* 0, or why the calls cannot be traced here. */
static const char *trace_start(void)
{
#ifndef __x86_64__
	return "the kprobe arguments are x86-64 registers";
#endif
	if (access(TRACE_DIR "/kprobe_events", W_OK))
		return "no kprobe events (tracefs under debugfs)";
	trace_stop();
	for (unsigned int i = 0; i < ARRAY_SIZE(trace_probes); i++) {
		char def[256];

		snprintf(def, sizeof(def), "%s\n", trace_probes[i]);
		if (trace_write("kprobe_events", def, true)) {
			trace_stop();
			return "cannot add a kprobe";
		}
	}
	if (trace_write("trace", "", false) ||
	    trace_write("events/" TRACE_GROUP "/enable", "1", false) ||
	    trace_write("tracing_on", "1", false)) {
		trace_stop();
		return "cannot enable the kprobes";
	}
	return NULL;
}

/* One traced call: which probe, and its two numbers (rq: in where). */
struct trace_call {
	char name[8];
	long where;
	unsigned long val;
};

/* Read what was traced since trace_start(); returns the number of calls. */
static int trace_calls(struct trace_call *calls, int max)
{
	char line[512];
	FILE *fp;
	int n = 0;

	fp = fopen(TRACE_DIR "/trace", "r");
	if (!fp)
		return -1;
	while (n < max && fgets(line, sizeof(line), fp)) {
		struct trace_call *c = &calls[n];
		char *name, *arg;

		if (line[0] == '#')
			continue;
		name = strstr(line, ": cfg");
		if (!name)
			name = strstr(line, ": readrq:");
		if (!name)
			continue;
		memset(c, 0, sizeof(*c));
		if (sscanf(name + 2, "%7[a-z]", c->name) != 1)
			continue;
		arg = strstr(line, "where=");
		if (arg)
			sscanf(arg, "where=%ld val=%lx", &c->where, &c->val);
		arg = strstr(line, "rq=");
		if (arg)
			sscanf(arg, "rq=%ld", &c->where);
		n++;
	}
	fclose(fp);
	return n;
}

/*
 * The value a traced user config write gives the 16-bit register at @reg,
 * or -1 if it does not write that register whole.
 */
static long traced_reg16(const struct trace_call *c, unsigned int reg)
{
	unsigned int len = !strcmp(c->name, "cfgb") ? 1 :
			   !strcmp(c->name, "cfgw") ? 2 :
			   !strcmp(c->name, "cfgl") ? 4 : 0;

	if (!len || c->where > (long)reg || c->where + len < reg + 2)
		return -1;
	return (c->val >> (8 * (reg - c->where))) & 0xffff;
}

/* Does a traced user config write touch byte @reg? */
static bool traced_covers(const struct trace_call *c, unsigned int reg)
{
	unsigned int len = !strcmp(c->name, "cfgb") ? 1 :
			   !strcmp(c->name, "cfgw") ? 2 :
			   !strcmp(c->name, "cfgl") ? 4 : 0;

	return len && c->where <= (long)reg && c->where + len > reg;
}

FIXTURE(devctl)
{
	struct vfio_test_dev dev;
	unsigned int reg;	/* DEVCTL's offset */
	uint16_t orig;		/* as the user saw it at open */
	const char *no_trace;	/* why the calls cannot be traced, or NULL */
};

FIXTURE_SETUP(devctl)
{
	unsigned int exp;

	vfio_test_dev_open(_metadata, &self->dev, TB_NVME_PF_BDF,
			   VFIO_STAGE_DEVICE);
	exp = vfio_pci_find_cap(TB_NVME_PF_BDF, CAP_ID_EXP);
	ASSERT_NE(0, exp);
	self->reg = exp + EXP_DEVCTL;
	self->orig = vfio_config_reg(self->dev.device, self->reg, 2);
	/* The tests trace what they write, or say why they cannot. */
	self->no_trace = trace_start();
}

FIXTURE_TEARDOWN(devctl)
{
	if (!self->no_trace)
		trace_stop();
	if (self->dev.device >= 0)
		_vfio_config_set_reg(self->dev.device, self->reg, 2,
				     self->orig);
	vfio_test_dev_close(_metadata, &self->dev);
}

TEST_F(devctl, devctl_phantom_never_reaches_the_device)
{
	uint16_t host = vfio_pci_host_reg(TB_NVME_PF_BDF, self->reg, 2);
	struct trace_call calls[64];
	int n;

	if (self->no_trace)
		SKIP(return, "%s", self->no_trace);
	vfio_config_set_reg(self->dev.device, self->reg, 2,
			    self->orig | DEVCTL_PHANTOM);
	/* The high byte alone, as a guest may write it. */
	vfio_config_set_reg(self->dev.device, self->reg + 1, 1,
			    (self->orig | DEVCTL_PHANTOM) >> 8);
	n = trace_calls(calls, ARRAY_SIZE(calls));
	/* The error enables are the device's: the register was written. */
	ASSERT_LT(0, n);
	for (int i = 0; i < n; i++) {
		bool phantom;

		if (!traced_covers(&calls[i], self->reg + 1))
			continue;
		phantom = (calls[i].val >>
			   (8 * (self->reg + 1 - calls[i].where))) &
			  (DEVCTL_PHANTOM >> 8);
		EXPECT_FALSE(phantom) {
			TH_LOG("%s at 0x%lx wrote 0x%lx to the device",
			       calls[i].name, calls[i].where, calls[i].val);
		}
	}
	/* Read-only to the user, as upstream: it reads the device's bit. */
	EXPECT_EQ(host & DEVCTL_PHANTOM,
		  vfio_config_reg(self->dev.device, self->reg, 2) &
		  DEVCTL_PHANTOM);
	EXPECT_EQ(0, vfio_pci_host_reg(TB_NVME_PF_BDF, self->reg, 2) &
		  DEVCTL_PHANTOM);
}

TEST_F(devctl, devctl_payload_is_virtual)
{
	uint16_t host = vfio_pci_host_reg(TB_NVME_PF_BDF, self->reg, 2);
	uint16_t want = self->orig ^ DEVCTL_PAYLOAD;
	struct trace_call calls[64];
	int n;

	vfio_config_set_reg(self->dev.device, self->reg, 2, want);
	EXPECT_EQ(want & DEVCTL_PAYLOAD,
		  vfio_config_reg(self->dev.device, self->reg, 2) &
		  DEVCTL_PAYLOAD);
	EXPECT_EQ(host & DEVCTL_PAYLOAD,
		  vfio_pci_host_reg(TB_NVME_PF_BDF, self->reg, 2) & DEVCTL_PAYLOAD);
	if (self->no_trace) {
		TH_LOG("device writes not traced: %s", self->no_trace);
		return;
	}
	/* The device keeps the payload size the host gave it. */
	n = trace_calls(calls, ARRAY_SIZE(calls));
	ASSERT_LT(0, n);
	for (int i = 0; i < n; i++) {
		long val = traced_reg16(&calls[i], self->reg);

		if (val < 0)
			continue;
		EXPECT_EQ(host & DEVCTL_PAYLOAD, val & DEVCTL_PAYLOAD);
	}
}

/* Max_Read_Request_Size code @code in bytes. */
static int mrrs_bytes(unsigned int code)
{
	return 128 << code;
}

TEST_F(devctl, devctl_mrrs_goes_through_pcie_set_readrq)
{
	uint16_t host = vfio_pci_host_reg(TB_NVME_PF_BDF, self->reg, 2);
	int mps = mrrs_bytes((host & DEVCTL_PAYLOAD) >> 5);
	static const unsigned int codes[] = { 2, 0 };
	uint16_t base = self->orig & ~DEVCTL_READRQ;
	struct trace_call calls[64];
	int n, rq, got = 0;

	/* Start from a code the test does not write, so each one changes. */
	vfio_config_set_reg(self->dev.device, self->reg, 2,
			    base | 1 << DEVCTL_READRQ_SHIFT);
	rq = mrrs_bytes(1) < mps ? mps : mrrs_bytes(1);
	if (!self->no_trace)
		trace_write("trace", "", false);
	for (unsigned int i = 0; i < ARRAY_SIZE(codes); i++) {
		uint16_t val = base | codes[i] << DEVCTL_READRQ_SHIFT;

		vfio_config_set_reg(self->dev.device, self->reg, 2, val);
		/* The user reads its own value back. */
		EXPECT_EQ(val & DEVCTL_READRQ,
			  vfio_config_reg(self->dev.device, self->reg, 2) &
			  DEVCTL_READRQ);
	}
	if (self->no_trace) {
		TH_LOG("PCI core calls not traced: %s", self->no_trace);
		return;
	}

	n = trace_calls(calls, ARRAY_SIZE(calls));
	ASSERT_LE(0, n);
	for (int i = 0; i < n; i++) {
		long val = traced_reg16(&calls[i], self->reg);

		if (!strcmp(calls[i].name, "readrq")) {
			/* One call per change, in order, at least the MPS. */
			ASSERT_GT(ARRAY_SIZE(codes), (size_t)got);
			rq = mrrs_bytes(codes[got++]);
			if (rq < mps)
				rq = mps;
			EXPECT_EQ(rq, calls[i].where);
			continue;
		}
		/*
		 * A plain write of the register carries the MRRS the device
		 * has: the host's, or the last one pcie_set_readrq() set.
		 */
		if (val >= 0 && (val & DEVCTL_READRQ) != (host & DEVCTL_READRQ))
			EXPECT_EQ(rq, mrrs_bytes((val & DEVCTL_READRQ) >>
						 DEVCTL_READRQ_SHIFT));
	}
	EXPECT_EQ(ARRAY_SIZE(codes), (size_t)got);
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
