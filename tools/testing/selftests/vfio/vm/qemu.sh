#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu.sh MODE PROFILE: boot the test-bed guest once.
#   MODE     check | run | bench (results stream to OUT/results.log and,
#            live, to stdout) | shell (interactive console on stdio)
#   PROFILE  iommu (q35 + intel-iommu with interrupt remapping) | noiommu |
#            kvm (iommu + an SVM CPU model and QEMU in the image) |
#            clients (kvm + the client devices and the clients' images,
#            make check-clients) | clients-noiommu (the same, no IOMMU)
# Environment: KVER, B, VFIO_MODULES, T (check: programs to run),
# TB_TIMEOUT (per program, s), TB_RUN_TIMEOUT (whole boot, s).
# Writes $TB_OUT (build/testbed)/MODE-PROFILE/{console,results,qemu}.log.
#
# TCG, not KVM: nested KVM is present on these machines but does not boot a
# guest.  One TCG thread runs both vCPUs (thread=single): QEMU 7.2's
# multi-threaded TCG can use a freed memory-region section when one vCPU
# turns a BAR's decode off while the other is mid-access - the guest froze
# or QEMU segfaulted in memory_region_dispatch_write() under the MEM-toggle
# stress, with the distro's modules as with ours: a QEMU race.
# Round-robin costs the suite nothing measurable on a 2-CPU host.
# With TCG, kernel-irqchip=split is only QEMU's way of accepting
# intremap=on; caching-mode=on makes the vIOMMU see every map, which vfio
# in the guest needs.  Devices sit at the addresses testbed.h defines.
# QEMU options are comma lists, not array separators:
# shellcheck disable=SC2054
set -euo pipefail
: "${KVER:?}" "${B:?}"
mode=$1 profile=$2
VFIO_MODULES=${VFIO_MODULES:-ours}
TB_TIMEOUT=${TB_TIMEOUT:-300}
TB_RUN_TIMEOUT=${TB_RUN_TIMEOUT:-2400}
T=${T:-}

here=$(cd "$(dirname "$0")" && pwd)
TB=${TB_OUT:-$B/testbed}
out=$TB/$mode-$profile
share=$TB/share
kernel=/boot/vmlinuz-$KVER
# make check KERNEL=...: the in-tree kernel (intree/build-kernel.sh).
[ -n "${TB_KERNEL:-}" ] && kernel=$TB_KERNEL/vmlinuz
eval "$("$here/testbed-env.sh")"

[ -r "$kernel" ] || { echo "qemu.sh: no $kernel (make deps)" >&2; exit 1; }
mkdir -p "$out" "$share"
rm -f "$out"/*.log

# The ivshmem BAR's backing store, zeroed every boot; the guest sees the
# same file as /host/ivshmem through 9p and can pread what reached the BAR.
rm -f "$share/ivshmem"
truncate -s 1M "$share/ivshmem"
rm -f "$share/ivshmem-huge"
truncate -s 1G "$share/ivshmem-huge"

slot() { echo "${1#0000:0?:}"; }

# no_timer_check: under TCG on a loaded host the IO-APIC timer check can
# time out and panic the boot; the check proves nothing about vfio.
cmdline="console=ttyS0,115200 panic=-1 log_buf_len=4M rdinit=/init no_timer_check"
cmdline+=" tb.mode=$mode tb.modules=$VFIO_MODULES tb.profile=$profile"
cmdline+=" tb.timeout=$TB_TIMEOUT"
[ -n "$T" ] && cmdline+=" tb.only=$(echo "$T" | tr ' ' ,)"

# The KVM boot's image is the common one with QEMU appended; the clients'
# boots add the client archives (build-initramfs.sh).
initrd=$TB/initramfs.cpio
mem=2G
case $profile in
kvm) initrd=$TB/initramfs-kvm.cpio ;;
clients*) initrd=$TB/initramfs-clients.cpio mem=3G ;;
esac

args=(
	-accel tcg,thread=single -machine q35,kernel-irqchip=split -m "$mem" -smp 2
	-nodefaults -display none -no-reboot
	# HMP on a socket, to look into a guest that hangs: vm/hmp.sh
	-monitor "unix:$out/monitor.sock,server=on,wait=off"
	-kernel "$kernel" -initrd "$initrd"
)
case $profile in
iommu)
	# 48 address bits, as real VT-d has (QEMU's default is 39)
	args+=(-device intel-iommu,intremap=on,caching-mode=on,aw-bits=48)
	cmdline+=" intel_iommu=on"
	;;
noiommu) ;;
kvm | clients)
	# The IOMMU as above, and an AMD CPU model with SVM, which TCG
	# emulates: kvm_amd loads in the guest and gives it /dev/kvm.
	args+=(-device intel-iommu,intremap=on,caching-mode=on,aw-bits=48)
	# On this model without IBPB microcode the kernel prints a "WARNING:"
	# about SRSO, which a TCG guest need not mitigate.
	args+=(-cpu EPYC,+svm)
	cmdline+=" intel_iommu=on spec_rstack_overflow=off"
	;;
clients-noiommu)
	# No KVM here, but Debian's DPDK needs more than qemu64 has (SSE4.2:
	# EAL dies of SIGILL there); the same CPU model as above, without SVM.
	args+=(-cpu EPYC)
	cmdline+=" spec_rstack_overflow=off"
	;;
*) echo "qemu.sh: unknown profile $profile" >&2; exit 2 ;;
esac
case $profile in
clients*)
	# testbed.h's client devices.  Each NIC's backend is a UDP socket
	# that sends to its own address: whatever the NIC transmits comes
	# back to it.
	port=$((20000 + RANDOM % 20000))
	udp() { echo "socket,id=$1,udp=127.0.0.1:$2,localaddr=127.0.0.1:$2"; }
	args+=(
		-device "pcie-root-port,id=tbcrp,chassis=2,slot=2,addr=$(slot "$TB_CLIENT_ROOT_PORT_BDF")"
		-device "edu,bus=tbcrp,addr=0"
		-netdev "$(udp tbne1000 "$port")"
		-device "e1000,netdev=tbne1000,mac=52:54:00:76:00:01,addr=$(slot "$TB_CLIENT_E1000_BDF")"
		-netdev "$(udp tbne1000e $((port + 1)))"
		-device "e1000e,netdev=tbne1000e,mac=52:54:00:76:00:02,addr=$(slot "$TB_CLIENT_E1000E_BDF")"
		-netdev "$(udp tbnvirtio $((port + 2)))"
		-device "virtio-net-pci,netdev=tbnvirtio,mac=52:54:00:76:00:03,disable-legacy=on,iommu_platform=on,addr=$(slot "$TB_CLIENT_VIRTIO_NET_BDF")"
	)
	;;
esac
args+=(
	-device "edu,addr=$(slot "$TB_EDU_BDF")"
	-device "pci-testdev,addr=$(slot "$TB_TESTDEV_BDF")"
	-object "memory-backend-file,id=ivshmem,share=on,mem-path=$share/ivshmem,size=1M"
	-device "ivshmem-plain,memdev=ivshmem,addr=$(slot "$TB_IVSHMEM_BDF")"
	# The 1 GiB BAR for huge mappings; the file is sparse.
	-object "memory-backend-file,id=ivshmemhuge,share=on,mem-path=$share/ivshmem-huge,size=1G"
	-device "ivshmem-plain,memdev=ivshmemhuge,addr=$(slot "$TB_HUGE_BDF")"
	# SR-IOV: 2 VFs; the PF keeps 6 queue pairs, the VFs share 4 flexible
	# queues and 2 flexible interrupts (QEMU 7.2's nvme constraints).
	-device nvme-subsys,id=nvmesubsys0
	-device "nvme,serial=tbnvme0,subsys=nvmesubsys0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,max_ioqpairs=6,msix_qsize=8,addr=$(slot "$TB_NVME_PF_BDF")"
	# One slot, two functions, no ACS: one IOMMU group.  The e1000 has no
	# network peer on purpose (QEMU warns about it in qemu.log).
	-device "e1000,addr=$(slot "$TB_PAIR_E1000_BDF"),multifunction=on"
	-device "pci-testdev,addr=$(slot "$TB_PAIR_TESTDEV_BDF")"
	# A PCIe-to-PCI bridge with one device behind it: a bus to reset.
	-device "pcie-pci-bridge,id=tbbr,addr=$(slot "$TB_BRIDGE_BDF")"
	-device "pci-testdev,bus=tbbr,addr=$(slot "$TB_BRIDGED_TESTDEV_BDF")"
	-device "VGA,addr=$(slot "$TB_VGA_BDF")"
	# A PCIe root port and a two-function device on its slot: one slot
	# reset covers both, so they share a vfio device set.
	-device "pcie-root-port,id=tbrp,chassis=1,slot=1,addr=$(slot "$TB_ROOT_PORT_BDF")"
	-device "pci-testdev,bus=tbrp,addr=$(slot "$TB_SLOT_TESTDEV0_BDF"),multifunction=on"
	-device "pci-testdev,bus=tbrp,addr=$(slot "$TB_SLOT_TESTDEV1_BDF")"
	-fsdev "local,id=hostshare,path=$share,security_model=none"
	-device "virtio-9p-pci,fsdev=hostshare,mount_tag=host,addr=$(slot "$TB_SHARE_BDF")"
	-append "$cmdline"
)

if [ "$mode" = shell ]; then
	echo "qemu.sh: guest console here; Ctrl-A X quits QEMU" >&2
	exec qemu-system-x86_64 "${args[@]}" -serial mon:stdio \
		-serial "file:$out/results.log"
fi

: > "$out/results.log"
timeout -k 10 "$TB_RUN_TIMEOUT" qemu-system-x86_64 "${args[@]}" \
	-serial "file:$out/console.log" -serial "file:$out/results.log" \
	< /dev/null 2> "$out/qemu.log" &
qpid=$!
trap 'kill "$qpid" 2>/dev/null' INT TERM

# Live view of the stream, markers made readable and the dmesg dump left
# to dmesg.log; report.sh judges from the files, not from this.
tail -n +1 -s 0.5 -F --pid="$qpid" "$out/results.log" 2>/dev/null | awk '
	{ gsub(/\r/, "") }
	/@@TB DMESG BEGIN/ { d = 1; next }
	/@@TB DMESG END/ { d = 0; next }
	d { next }
	/@@TB BEGIN / { sub(/.*@@TB BEGIN /, ""); print "# ===== " $0; fflush(); next }
	/@@TB END / { sub(/.*@@TB END /, ""); print "# ===== " $0; fflush(); next }
	/@@TB CHECK / { sub(/.*@@TB CHECK /, ""); print "# tb check: " $0; fflush(); next }
	/@@TB / { next }
	{ print; fflush() }'

rc=0
wait "$qpid" || rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "qemu.sh: the guest ran past TB_RUN_TIMEOUT=${TB_RUN_TIMEOUT}s and was killed" >&2
elif [ "$rc" -ne 0 ]; then
	echo "qemu.sh: QEMU exited with $rc:" >&2
	tail -n 20 "$out/qemu.log" >&2
fi
# The verdict is report.sh's; QEMU's own status only explains a cut-off run.
exit 0
