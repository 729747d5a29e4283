/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest test bed: what the QEMU machine that runs the vfio selftests
 * looks like, so tests can name devices instead of searching for them.
 *
 * This header is the only place the addresses are written down:
 * vm/qemu.sh places every device at the address given here and the guest
 * scripts (vm/init, vm/tb) read the same defines, so a device moves by
 * editing one line.  Facts measured in the guest (distro 6.12 kernel,
 * QEMU 7.2 q35, `ls /sys/kernel/iommu_groups/{N}/devices`):
 *
 *   BDF           device                      group (IOMMU boot)
 *   00:00.0       q35 host bridge              0
 *   00:03.0       edu 1234:11e8                1   alone
 *   00:04.0       pci-testdev 1b36:0005        2   alone
 *   00:05.0       ivshmem-plain 1af4:1110      3   alone, BAR2 = host file
 *   00:06.0       nvme PF 1b36:0010, SR-IOV    4   alone
 *   00:06.1/.2    nvme VF0/VF1 (sriov_numvfs)  13/14 one group each
 *   00:07.0       e1000 8086:100e (mf slot)    5   shared with 07.1
 *   00:07.1       pci-testdev 1b36:0005        5   shared with 07.0
 *   00:08.0       virtio-9p (the /host share)  6   harness only
 *   00:09.0       pcie-pci-bridge 1b36:000e    7   shared with 01:01.0
 *   01:01.0       pci-testdev 1b36:0005        7   behind the bridge
 *   00:0a.0       std VGA 1234:1111            8   alone, VGA class
 *   00:0b.0       PCIe root port               9
 *   00:10.0       ivshmem-plain 1af4:1110      10  alone, BAR2 = 1 GiB file
 *   00:1f.0/2/3   ICH9 LPC, AHCI, SMBus        11  shared by all three
 *   02:00.0/.1    pci-testdev x2 (root port)   12  one slot, one group
 *
 * Group numbers follow probe order and are stable for this machine, but
 * look a group up through /sys/bus/pci/devices/BDF/iommu_group rather than
 * hard-coding it.  The VF addresses exist only while the PF has
 * sriov_numvfs=2; QEMU's nvme VFs stay "not ready" to the nvme driver until
 * the PF assigns them resources, which does not matter to vfio.
 *
 * Guest state at the start of every test program:
 *   - the vfio stack (irqbypass, vfio, vfio_iommu_type1, vfio-pci-core,
 *     vfio-pci) freshly loaded with default parameters, from the set named
 *     by $VFIO_MODULES ("ours": build/modules, "distro": Debian's);
 *   - no device bound to vfio-pci and no driver_override set: the e1000
 *     is bound to e1000 and the nvme PF to nvme (host drivers, as on a real
 *     machine), every other device has no driver;
 *   - $TB_PROFILE is "iommu" (intel-iommu, intremap=on, caching-mode=on)
 *     or "noiommu" (no IOMMU at all: no iommu_group links), "kvm" (iommu
 *     plus /dev/kvm and QEMU in the image), or, for make check-clients,
 *     "clients" (kvm plus the client devices below and the clients'
 *     images) and "clients-noiommu" (the same without the IOMMU and KVM);
 *   - /host is the host directory build/testbed/share (9p); /host/ivshmem is
 *     the file behind the ivshmem BAR2, so a test can check what reached the
 *     BAR from outside the device (pread it) - it is zeroed at every boot.
 * Tests change that state themselves (bind, module parameters) with the
 * helpers below or with the `tb` shell helper (tb help); the runner undoes
 * it after each program: kills whatever processes the program left, unloads
 * the vfio stack (a failed unload is reported as a leaked reference),
 * restores the bindings above and reloads.  Each program runs as root in
 * /tmp under a timeout (`settings`, default 300 s; make TB_TIMEOUT=...).
 */
#ifndef SELFTESTS_VFIO_TESTBED_H
#define SELFTESTS_VFIO_TESTBED_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest.h"	/* __printf() */

/* Alone in their groups. */
#define TB_EDU_BDF		"0000:00:03.0"
#define TB_TESTDEV_BDF		"0000:00:04.0"
#define TB_IVSHMEM_BDF		"0000:00:05.0"

/* SR-IOV: two VFs once sriov_numvfs=2 is written (vfio-pci needs its
 * enable_sriov parameter for that when it owns the PF).
 */
#define TB_NVME_PF_BDF		"0000:00:06.0"
#define TB_NVME_VF0_BDF		"0000:00:06.1"
#define TB_NVME_VF1_BDF		"0000:00:06.2"

/* One group, two devices: bind the e1000 to e1000 and the group is not
 * viable any more.
 */
#define TB_PAIR_E1000_BDF	"0000:00:07.0"
#define TB_PAIR_TESTDEV_BDF	"0000:00:07.1"

/* A conventional PCI bus behind a PCIe-to-PCI bridge: the only place in
 * the bed with a secondary bus reset, so hot reset and bus-reset paths
 * have a device.  The bridge and the device behind it share one group
 * (conventional PCI requester IDs alias to the bridge).
 */
#define TB_BRIDGE_BDF		"0000:00:09.0"
#define TB_BRIDGED_TESTDEV_BDF	"0000:01:01.0"

/* QEMU's std VGA: VGA class, so vfio-pci offers the legacy VGA region. */
#define TB_VGA_BDF		"0000:00:0a.0"

/* Two functions of one device in the slot of a PCIe root port: the slot
 * reset covers both, so vfio-pci puts them in one device set (opens and
 * closes of either serialize on it); no ACS between functions, so they
 * share one IOMMU group too.
 */
#define TB_ROOT_PORT_BDF	"0000:00:0b.0"
#define TB_SLOT_TESTDEV0_BDF	"0000:02:00.0"
#define TB_SLOT_TESTDEV1_BDF	"0000:02:00.1"

/* One group, three devices, none with a driver (AHCI is a module the
 * guest does not load).
 */
#define TB_ICH9_LPC_BDF		"0000:00:1f.0"
#define TB_ICH9_AHCI_BDF	"0000:00:1f.2"
#define TB_ICH9_SMBUS_BDF	"0000:00:1f.3"

/*
 * The clients' boots only (PROFILE=clients|clients-noiommu, make
 * check-clients): devices for real users of vfio, QEMU and DPDK, on top of
 * the bed above.  A second edu behind a PCIe root port of its own (a bus
 * QEMU can reset), and three NICs whose backends loop every packet they
 * send back to them (a UDP socket sending to itself): an e1000 (INTx
 * only), an e1000e (MSI, MSI-X) and a modern-only virtio-net that goes
 * through the IOMMU (iommu_platform=on).  In the other boots they do not
 * exist and `tb` skips them.
 */
#define TB_CLIENT_ROOT_PORT_BDF	"0000:00:0c.0"
#define TB_CLIENT_EDU_BDF	"0000:03:00.0"
#define TB_CLIENT_E1000_BDF	"0000:00:0d.0"
#define TB_CLIENT_E1000E_BDF	"0000:00:0e.0"
#define TB_CLIENT_VIRTIO_NET_BDF	"0000:00:0f.0"

/* The harness's own 9p share; never hand it to vfio. */
#define TB_SHARE_BDF		"0000:00:08.0"

/* ivshmem-plain: BAR0 registers, BAR2 this many bytes of the host file. */
#define TB_IVSHMEM_FILE		"/host/ivshmem"
#define TB_IVSHMEM_BAR		2
#define TB_IVSHMEM_SIZE		0x100000UL

/* A second ivshmem-plain whose BAR2 is 1 GiB (of /host/ivshmem-huge): the
 * firmware places it above 4 GiB, naturally aligned, so its mmap() can be
 * mapped with PUD and PMD entries.  The host file is sparse and zeroed at
 * every boot; only what a test touches costs host memory.
 */
#define TB_HUGE_BDF		"0000:00:10.0"
#define TB_HUGE_FILE		"/host/ivshmem-huge"
#define TB_HUGE_BAR		2
#define TB_HUGE_SIZE		0x40000000UL

/* The edu DMA engine: 28-bit addresses; QEMU 7.2 stops the whole VM when a
 * transfer touches the last byte of its 4 KiB buffer, keep them shorter.
 */
#define TB_EDU_DMA_BUF		0x40000UL
#define TB_EDU_DMA_MAX		2048UL

/* "ours" or "distro": which vfio modules the runner loaded. */
static inline const char *tb_vfio_modules(void)
{
	const char *m = getenv("VFIO_MODULES");

	return m && *m ? m : "ours";
}

/* Upstream 6.12 lacks some of what this series adds: SKIP those there. */
static inline bool tb_ours(void)
{
	return !strcmp(tb_vfio_modules(), "ours");
}

/* Does the running kernel tell its config (/proc/config.gz)?  Debian's not. */
static inline bool tb_kconfig_known(void)
{
	return access("/proc/config.gz", R_OK) == 0;
}

/*
 * Is CONFIG_@name built into the running kernel?  From /proc/config.gz,
 * which the in-tree kernels have; false where there is none (Debian's).
 */
static inline bool tb_kconfig_y(const char *name)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "zcat /proc/config.gz 2>/dev/null | grep -qx 'CONFIG_%s=y'",
		 name);
	return system(cmd) == 0;
}

/* The no-IOMMU boot (PROFILE=noiommu). */
static inline bool tb_noiommu_profile(void)
{
	const char *p = getenv("TB_PROFILE");

	return p && !strcmp(p, "noiommu");
}

/*
 * Run the guest's `tb` helper, e.g. tb_cmd("bind %s vfio-pci", TB_EDU_BDF)
 * or tb_cmd("reload vfio_pci.enable_sriov=1").  Returns its exit status, or
 * -1 when it could not be run.
 */
static inline __printf(1, 2) int tb_cmd(const char *fmt, ...)
{
	char cmd[512] = "tb ";
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd + 3, sizeof(cmd) - 3, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 3)
		return -1;
	fflush(NULL);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif /* SELFTESTS_VFIO_TESTBED_H */
