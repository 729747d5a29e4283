// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy VGA region and the shadowed option ROM of a boot VGA device,
 * through the device fd, as QEMU uses them when it assigns a primary
 * graphics card (x-vga=on).  The device is QEMU's std VGA, the guest's
 * boot VGA device, left in text mode by the firmware.
 *
 * The VGA region (index 8) is laid out by legacy address: region offset
 * 0xa0000 is memory address 0xa0000, region offset 0x3c4 is I/O port
 * 0x3c4, and everything outside memory 0xa0000-0xbffff and ports
 * 0x3b0-0x3bb / 0x3c0-0x3df is a hole.  An access is clipped at the end
 * of the range it starts in, may be of any length, and is not gated on
 * COMMAND.MEMORY.  The ROM region (index 6) of the boot VGA device is the
 * platform's shadow copy at 0xc0000: as long as the ROM resource, bytes
 * past the image reading as 0xff, read-only.  Every rule here is upstream
 * 6.12's.
 */
#include <sys/mman.h>

#include "vfio_test_util.h"

#define VGA_REGION_SIZE		0xc0000u
#define VGA_MEM_START		0xa0000u
#define VGA_MEM_END		0xc0000u
#define VGA_IO_MONO		0x3b0u
#define VGA_IO_MONO_END		0x3bcu
#define VGA_IO_COLOR		0x3c0u
#define VGA_IO_COLOR_END	0x3e0u

/* Index registers that read back what was written (QEMU: SR 3 bits, GR 4). */
#define VGA_SEQ_INDEX		0x3c4u
#define VGA_SEQ_DATA		0x3c5u
#define VGA_GC_INDEX		0x3ceu
#define VGA_SEQ_MAP_MASK	0x02

/*
 * Scratch text memory: the last 256 bytes of the 32 KiB text window at
 * 0xb8000, past anything an 80x25 console shows.  Binding to vfio-pci
 * takes the host console off the device, so nobody else writes there.
 */
#define VGA_TEXT		0xb8000u
#define VGA_SCRATCH		0xbff00u

#define ROM_SIGNATURE0		0x55
#define ROM_SIGNATURE1		0xaa
#define ROM_UNIT		512

#define CFG_COMMAND		0x04
#define CFG_CMD_IO		0x0001
#define CFG_CMD_MEMORY		0x0002

static uint64_t vga_pos(uint64_t addr)
{
	return VFIO_REGION_OFFSET(VFIO_PCI_VGA_REGION_INDEX) + addr;
}

static uint64_t rom_pos(uint64_t off)
{
	return VFIO_REGION_OFFSET(VFIO_PCI_ROM_REGION_INDEX) + off;
}

/* pread of the VGA region: bytes read, or -errno. */
static ssize_t vga_read(int fd, void *buf, size_t len, uint64_t addr)
{
	ssize_t n = pread(fd, buf, len, vga_pos(addr));

	return n < 0 ? -errno : n;
}

static ssize_t vga_write(int fd, const void *buf, size_t len, uint64_t addr)
{
	ssize_t n = pwrite(fd, buf, len, vga_pos(addr));

	return n < 0 ? -errno : n;
}

static ssize_t rom_read(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, rom_pos(off));

	return n < 0 ? -errno : n;
}

/* One byte of the VGA region, or -errno. */
static int vga_inb(int fd, uint64_t addr)
{
	uint8_t v;
	ssize_t n = vga_read(fd, &v, 1, addr);

	return n == 1 ? v : (n < 0 ? (int)n : -EIO);
}

static int vga_outb(int fd, uint64_t addr, uint8_t v)
{
	ssize_t n = vga_write(fd, &v, 1, addr);

	return n == 1 ? 0 : (n < 0 ? (int)n : -EIO);
}

/* ---- the VGA device ------------------------------------------------- */

FIXTURE(vga)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(vga)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_VGA_BDF,
			   VFIO_STAGE_DEVICE);
}

FIXTURE_TEARDOWN(vga)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

/*
 * num_regions counts the fixed regions up to and including VGA on every
 * vfio-pci device; whether the VGA region exists is GET_REGION_INFO's.
 */
TEST_F(vga, device_info_counts_the_vga_region)
{
	struct vfio_device_info info;

	vfio_device_get_info(self->dev.device, &info);
	ASSERT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	ASSERT_LT(VFIO_PCI_VGA_REGION_INDEX, info.num_regions);
}

TEST_F(vga, region_info_is_rw_legacy_window_without_mmap)
{
	struct vfio_region_info info;

	vfio_device_get_region_info(self->dev.device,
				    VFIO_PCI_VGA_REGION_INDEX, &info);
	ASSERT_EQ(VGA_REGION_SIZE, info.size);
	ASSERT_EQ(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		  info.flags);
	ASSERT_EQ(VFIO_REGION_OFFSET(VFIO_PCI_VGA_REGION_INDEX), info.offset);
}

TEST_F(vga, mmap_is_einval)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->dev.device, vga_pos(VGA_TEXT));

	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(vga, index_registers_read_back_what_was_written)
{
	int fd = self->dev.device;
	int seq = vga_inb(fd, VGA_SEQ_INDEX);
	int gc = vga_inb(fd, VGA_GC_INDEX);

	ASSERT_LE(0, seq);
	ASSERT_LE(0, gc);
	for (uint8_t v = 0; v < 8; v++) {
		ASSERT_EQ(0, vga_outb(fd, VGA_SEQ_INDEX, v));
		ASSERT_EQ(v, vga_inb(fd, VGA_SEQ_INDEX));
		ASSERT_EQ(0, vga_outb(fd, VGA_GC_INDEX, 7 - v));
		ASSERT_EQ(7 - v, vga_inb(fd, VGA_GC_INDEX));
	}
	ASSERT_EQ(0, vga_outb(fd, VGA_SEQ_INDEX, seq));
	ASSERT_EQ(0, vga_outb(fd, VGA_GC_INDEX, gc));
}

/*
 * A port access may be wider than a byte and unaligned: it reads the
 * adjacent ports, in naturally aligned pieces (0x3c5 + 4: 1, 2, 1 bytes).
 */
TEST_F(vga, wide_port_reads_span_adjacent_ports)
{
	int fd = self->dev.device;
	int seq = vga_inb(fd, VGA_SEQ_INDEX);
	uint8_t w[4];
	int data;

	ASSERT_LE(0, seq);
	ASSERT_EQ(0, vga_outb(fd, VGA_SEQ_INDEX, VGA_SEQ_MAP_MASK));
	data = vga_inb(fd, VGA_SEQ_DATA);
	ASSERT_LE(0, data);

	ASSERT_EQ(2, vga_read(fd, w, 2, VGA_SEQ_INDEX));
	EXPECT_EQ(VGA_SEQ_MAP_MASK, w[0]);
	EXPECT_EQ(data, w[1]);
	/* QEMU's VGA ports do not answer a 32-bit cycle: only the count. */
	ASSERT_EQ(4, vga_read(fd, w, 4, VGA_SEQ_INDEX));
	ASSERT_EQ(2, vga_read(fd, w, 2, VGA_SEQ_DATA));
	EXPECT_EQ(data, w[0]);
	ASSERT_EQ(4, vga_read(fd, w, 4, VGA_SEQ_DATA));
	EXPECT_EQ(data, w[0]);

	/* A 2-byte write is index then data, as outw does it. */
	w[0] = VGA_SEQ_MAP_MASK;
	w[1] = data;
	ASSERT_EQ(2, vga_write(fd, w, 2, VGA_SEQ_INDEX));
	EXPECT_EQ(VGA_SEQ_MAP_MASK, vga_inb(fd, VGA_SEQ_INDEX));
	EXPECT_EQ(data, vga_inb(fd, VGA_SEQ_DATA));
	ASSERT_EQ(0, vga_outb(fd, VGA_SEQ_INDEX, seq));
}

/* Whole port ranges in one access, clipped where each range ends. */
TEST_F(vga, port_access_is_clipped_at_range_end)
{
	uint8_t buf[0x40];
	int fd = self->dev.device;

	ASSERT_EQ(VGA_IO_COLOR_END - VGA_IO_COLOR,
		  vga_read(fd, buf, sizeof(buf), VGA_IO_COLOR));
	ASSERT_EQ(VGA_IO_MONO_END - VGA_IO_MONO,
		  vga_read(fd, buf, sizeof(buf), VGA_IO_MONO));
	ASSERT_EQ(4, vga_read(fd, buf, 8, VGA_IO_COLOR_END - 4));
	ASSERT_EQ(1, vga_read(fd, buf, 2, VGA_IO_MONO_END - 1));
	ASSERT_EQ(1, vga_read(fd, buf, 1, VGA_IO_COLOR_END - 1));
}

/* Starting in a hole fails, even when the access would reach a range. */
TEST_F(vga, holes_are_einval)
{
	static const uint64_t holes[] = {
		0, VGA_IO_MONO - 1, VGA_IO_MONO_END, VGA_IO_COLOR - 1,
		VGA_IO_COLOR_END, 0x1000, VGA_MEM_START - 1, VGA_MEM_END,
		0x100000,
	};
	int fd = self->dev.device;
	uint8_t buf[4] = { };

	for (size_t i = 0; i < ARRAY_SIZE(holes); i++) {
		TH_LOG("hole at %#llx", (unsigned long long)holes[i]);
		ASSERT_EQ(-EINVAL, vga_read(fd, buf, 1, holes[i]));
		ASSERT_EQ(-EINVAL, vga_read(fd, buf, 4, holes[i]));
		ASSERT_EQ(-EINVAL, vga_write(fd, buf, 1, holes[i]));
	}
}

TEST_F(vga, zero_length_access_is_zero)
{
	uint8_t b;

	ASSERT_EQ(0, vga_read(self->dev.device, &b, 0, VGA_SEQ_INDEX));
	ASSERT_EQ(0, vga_read(self->dev.device, &b, 0, VGA_IO_COLOR_END));
}

/* The whole legacy memory window in one pread, and its tail clipped. */
TEST_F(vga, memory_window_reads_whole_and_clipped)
{
	size_t len = VGA_MEM_END - VGA_MEM_START;
	uint8_t *buf = malloc(len);
	uint8_t tail[8];

	ASSERT_NE(NULL, buf);
	EXPECT_EQ((ssize_t)len,
		  vga_read(self->dev.device, buf, len, VGA_MEM_START));
	free(buf);
	ASSERT_EQ(2, vga_read(self->dev.device, tail, 8, VGA_MEM_END - 2));
}

/* Text memory keeps what is written, at every access width. */
TEST_F(vga, text_memory_round_trip)
{
	static const uint8_t pat[16] = {
		0x5a, 0xa5, 0x3c, 0xc3, 0x01, 0x80, 0x7e, 0xe7,
		0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
	};
	int fd = self->dev.device;
	uint8_t save[16], got[16];

	ASSERT_EQ(16, vga_read(fd, save, 16, VGA_SCRATCH));
	for (size_t w = 1; w <= 16; w *= 2) {
		TH_LOG("%zu-byte writes", w);
		for (size_t i = 0; i < 16; i += w)
			ASSERT_EQ((ssize_t)w,
				  vga_write(fd, pat + i, w, VGA_SCRATCH + i));
		memset(got, 0, sizeof(got));
		ASSERT_EQ(16, vga_read(fd, got, 16, VGA_SCRATCH));
		ASSERT_EQ(0, memcmp(pat, got, 16));
		ASSERT_EQ(16, vga_write(fd, save, 16, VGA_SCRATCH));
	}
	/* An odd address and length. */
	ASSERT_EQ(3, vga_write(fd, pat, 3, VGA_SCRATCH + 5));
	ASSERT_EQ(3, vga_read(fd, got, 3, VGA_SCRATCH + 5));
	ASSERT_EQ(0, memcmp(pat, got, 3));
	ASSERT_EQ(16, vga_write(fd, save, 16, VGA_SCRATCH));
}

/* Legacy cycles reach the device whatever COMMAND says. */
TEST_F(vga, access_does_not_depend_on_command_decode)
{
	int fd = self->dev.device;
	uint16_t cmd, off;
	uint8_t buf[4];

	vfio_config_read(fd, &cmd, 2, CFG_COMMAND);
	off = cmd & ~(CFG_CMD_IO | CFG_CMD_MEMORY);
	ASSERT_EQ(2, pwrite(fd, &off, 2,
			    VFIO_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) +
			    CFG_COMMAND));
	EXPECT_EQ(4, vga_read(fd, buf, 4, VGA_TEXT));
	EXPECT_EQ(1, vga_read(fd, buf, 1, VGA_SEQ_INDEX));
	ASSERT_EQ(2, pwrite(fd, &cmd, 2,
			    VFIO_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) +
			    CFG_COMMAND));
}

/* Binding the boot VGA device to vfio-pci takes the VGA console off it. */
TEST_F(vga, bind_releases_the_vga_console)
{
	char path[PATH_MAX], name[128], bound[16];

	for (int i = 0; i < 16; i++) {
		snprintf(path, sizeof(path),
			 "/sys/class/vtconsole/vtcon%d/name", i);
		if (vfio_sysfs_read(path, name, sizeof(name)))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/class/vtconsole/vtcon%d/bind", i);
		ASSERT_EQ(0, vfio_sysfs_read(path, bound, sizeof(bound)));
		TH_LOG("vtcon%d: %s, bind %s", i, name, bound);
		if (strstr(name, "VGA"))
			ASSERT_STREQ("0", bound);
	}
}

/* ---- its option ROM: the shadow copy -------------------------------- */

TEST_F(vga, rom_region_is_the_rom_resource_read_only)
{
	struct vfio_region_info info;
	uint64_t start, size;

	ASSERT_EQ(0, vfio_pci_resource(TB_VGA_BDF, 6, &start, &size));
	vfio_device_get_region_info(self->dev.device,
				    VFIO_PCI_ROM_REGION_INDEX, &info);
	ASSERT_LT(0, info.size);
	ASSERT_EQ(size, info.size);
	ASSERT_EQ(VFIO_REGION_INFO_FLAG_READ, info.flags);
}

TEST_F(vga, rom_has_signature_and_reads_ff_past_the_image)
{
	struct vfio_region_info info;
	uint8_t *rom;
	size_t image;

	vfio_device_get_region_info(self->dev.device,
				    VFIO_PCI_ROM_REGION_INDEX, &info);
	rom = malloc(info.size);
	ASSERT_NE(NULL, rom);
	ASSERT_EQ((ssize_t)info.size,
		  rom_read(self->dev.device, rom, info.size, 0));
	ASSERT_EQ(ROM_SIGNATURE0, rom[0]);
	ASSERT_EQ(ROM_SIGNATURE1, rom[1]);
	image = rom[2] * ROM_UNIT;
	ASSERT_LT(0, image);
	ASSERT_GE(info.size, image);
	for (size_t i = image; i < info.size; i++)
		ASSERT_EQ(0xff, rom[i]);
	free(rom);
}

TEST_F(vga, rom_read_is_clipped_then_einval_at_end)
{
	struct vfio_region_info info;
	uint8_t buf[8];
	int fd = self->dev.device;

	vfio_device_get_region_info(fd, VFIO_PCI_ROM_REGION_INDEX, &info);
	ASSERT_EQ(2, rom_read(fd, buf, 8, info.size - 2));
	ASSERT_EQ(-EINVAL, rom_read(fd, buf, 1, info.size));
	ASSERT_EQ(-EINVAL, rom_read(fd, buf, 1, info.size + 0x100000));
}

TEST_F(vga, rom_write_is_einval)
{
	uint8_t sig[2] = { ROM_SIGNATURE0, ROM_SIGNATURE1 };
	ssize_t n = pwrite(self->dev.device, sig, 2, rom_pos(0));

	ASSERT_EQ(-1, n);
	ASSERT_EQ(EINVAL, errno);
}

/* ---- a device that is not VGA --------------------------------------- */

FIXTURE(novga)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(novga)
{
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_DEVICE);
}

FIXTURE_TEARDOWN(novga)
{
	vfio_test_dev_close(_metadata, &self->dev);
}

TEST_F(novga, vga_region_info_is_einval)
{
	vfio_device_get_region_info_err(EINVAL, self->dev.device,
					VFIO_PCI_VGA_REGION_INDEX,
					sizeof(struct vfio_region_info));
}

TEST_F(novga, vga_region_access_is_einval)
{
	uint8_t b = 0;

	ASSERT_EQ(-EINVAL, vga_read(self->dev.device, &b, 1, VGA_SEQ_INDEX));
	ASSERT_EQ(-EINVAL, vga_read(self->dev.device, &b, 1, VGA_TEXT));
	ASSERT_EQ(-EINVAL, vga_write(self->dev.device, &b, 1, VGA_TEXT));
}

TEST_F(novga, absent_rom_is_empty_and_einval)
{
	struct vfio_region_info info;
	uint8_t b;

	vfio_device_get_region_info(self->dev.device,
				    VFIO_PCI_ROM_REGION_INDEX, &info);
	ASSERT_EQ(0, info.size);
	ASSERT_EQ(0, info.flags);
	ASSERT_EQ(-EINVAL, rom_read(self->dev.device, &b, 1, 0));
}

/* ---- vfio_pci.disable_vga=1 ----------------------------------------- */

FIXTURE(disabled)
{
	struct vfio_test_dev dev;
};

FIXTURE_SETUP(disabled)
{
	char val[8];

	ASSERT_EQ(0, tb_cmd("reload vfio_pci.disable_vga=1"));
	ASSERT_EQ(0, vfio_sysfs_read("/sys/module/vfio_pci/parameters/disable_vga",
				     val, sizeof(val)));
	ASSERT_STREQ("Y", val);
	vfio_test_dev_open(_metadata, &self->dev, TB_VGA_BDF,
			   VFIO_STAGE_DEVICE);
}

FIXTURE_TEARDOWN(disabled)
{
	vfio_test_dev_close(_metadata, &self->dev);
	EXPECT_EQ(0, tb_cmd("reload"));
}

TEST_F(disabled, hides_the_vga_region)
{
	uint8_t b = 0;

	vfio_device_get_region_info_err(EINVAL, self->dev.device,
					VFIO_PCI_VGA_REGION_INDEX,
					sizeof(struct vfio_region_info));
	ASSERT_EQ(-EINVAL, vga_read(self->dev.device, &b, 1, VGA_SEQ_INDEX));
	ASSERT_EQ(-EINVAL, vga_write(self->dev.device, &b, 1, VGA_TEXT));
}

TEST_F(disabled, keeps_the_rom)
{
	struct vfio_region_info info;
	uint8_t sig[2];

	vfio_device_get_region_info(self->dev.device,
				    VFIO_PCI_ROM_REGION_INDEX, &info);
	ASSERT_LT(0, info.size);
	ASSERT_EQ(2, rom_read(self->dev.device, sig, 2, 0));
	ASSERT_EQ(ROM_SIGNATURE0, sig[0]);
	ASSERT_EQ(ROM_SIGNATURE1, sig[1]);
}

/* ---- binding and unbinding ------------------------------------------ */

/*
 * The arbiter registration is made at bind and undone at unbind: after
 * several rounds the device is still a working VGA device for the next
 * user.  (A kernel warning on the way fails the whole run.)
 */
TEST(rebind_cycles_keep_the_region_working)
{
	struct vfio_test_dev dev;
	int seq;

	for (int i = 0; i < 3; i++) {
		vfio_test_dev_open(_metadata, &dev, TB_VGA_BDF,
				   VFIO_STAGE_DEVICE);
		seq = vga_inb(dev.device, VGA_SEQ_INDEX);
		EXPECT_LE(0, seq);
		EXPECT_EQ(0, vga_outb(dev.device, VGA_SEQ_INDEX, i));
		EXPECT_EQ(i, vga_inb(dev.device, VGA_SEQ_INDEX));
		EXPECT_EQ(0, vga_outb(dev.device, VGA_SEQ_INDEX, seq));
		vfio_test_dev_close(_metadata, &dev);
		ASSERT_TRUE(vfio_pci_driver_is(TB_VGA_BDF, VFIO_NO_DRIVER));
	}
}

TEST_HARNESS_MAIN
