#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh check|clients|run|bench|selftest: run the suite (host-side
# scripts, then one guest boot per profile), the real clients (QEMU, DPDK:
# the clients' boots), the demo or the benchmarks, then hand every
# result to report.sh, whose verdict is the exit status.  selftest proves
# that a real kernel splat in the guest fails a run.  Called by testbed.mk with
# KVER, TOP, B, VFIO_MODULES, PROFILE, T, TB_TIMEOUT, TB_RUN_TIMEOUT set.
set -uo pipefail
: "${KVER:?}" "${TOP:?}" "${B:?}"
mode=$1
here=$(cd "$(dirname "$0")" && pwd)
ST=$TOP/tools/testing/selftests/vfio
TB=${TB_OUT:-$B/testbed}
PROFILE=${PROFILE:-}
T=${T:-}
export KVER TOP B T

list() { grep -v '^$' "$B/selftests/$1.list" 2>/dev/null; }

# T names programs; a host script may be named with or without its
# directory and .sh.
host_match() {
	local p=$1 w
	for w in $T; do
		case $w in
		"$p" | "$(basename "$p")" | "$(basename "$p" .sh)") return 0 ;;
		esac
	done
	return 1
}

# Host-side TAP scripts: same stream format as the guest's, so report.sh
# counts both alike.  They run from the subtree root.
run_host() {
	local out=$TB/host p t0 rc ran=0
	mkdir -p "$out"
	: > "$out/results.log"
	for p in $(list host); do
		[ -n "$T" ] && ! host_match "$p" && continue
		ran=1
		echo "# ===== $p (host)"
		t0=$SECONDS
		echo "@@TB BEGIN $p" >> "$out/results.log"
		(cd "$TOP" && KSRC=$B/linux-tools timeout -k 10 600 "$ST/$p") 2>&1 |
			tee -a "$out/results.log"
		rc=${PIPESTATUS[0]}
		printf '\n@@TB END %s rc=%s secs=%s\n' "$p" "$rc" $((SECONDS - t0)) >> "$out/results.log"
	done
	echo "@@TB DONE" >> "$out/results.log"
	[ $ran = 1 ] && dirs+=("$out")
}

# With T, only the guest programs it names (host scripts are run above).
guest_only=
for w in $T; do
	hit=
	for p in $(list host); do
		case $w in "$p" | "$(basename "$p")" | "$(basename "$p" .sh)") hit=1 ;; esac
	done
	[ -z "$hit" ] && guest_only+="$w "
done

dirs=()
case $mode in
check)
	rm -rf "$TB/host" "$TB"/check-*
	run_host
	if [ -n "$T" ] && [ -z "$guest_only" ]; then
		profiles=
	elif [ -n "$PROFILE" ]; then
		profiles=$PROFILE
	elif [ -n "$T" ] || [ -z "$(list noiommu)" ]; then
		profiles=iommu
	else
		profiles="iommu noiommu"
	fi
	# The KVM boot last, like no-IOMMU, when it has programs and the
	# kernel has kvm_amd (the in-tree kernels do not).
	if [ -z "$PROFILE" ] && [ -z "$T" ] && [ -n "$(list kvm)" ]; then
		if [ -n "${TB_KERNEL:-}" ] &&
			! grep -qE '^CONFIG_KVM_AMD=[ym]' "$TB_KERNEL/config"; then
			echo "# ===== no kvm_amd in $TB_KERNEL: no KVM boot"
		else
			profiles+=" kvm"
		fi
	fi
	for prof in $profiles; do
		echo "# ===== guest boot: profile $prof, $VFIO_MODULES vfio modules"
		T=$guest_only "$here/qemu.sh" check "$prof"
		dirs+=("$TB/check-$prof")
	done
	;;
clients)
	# make check-clients: one boot per clients' profile that has programs,
	# on Debian's kernel (build-initramfs.sh makes no clients' image for
	# another).
	rm -rf "$TB"/check-clients*
	if [ -n "${TB_KERNEL:-}" ]; then
		echo "check-clients: the clients run on Debian's kernel, not KERNEL=$TB_KERNEL" >&2
		exit 2
	fi
	profiles=$PROFILE
	if [ -z "$profiles" ]; then
		for prof in clients clients-noiommu; do
			[ -n "$(list "$prof")" ] && profiles+=" $prof"
		done
	fi
	if [ -z "$profiles" ]; then
		echo "check-clients: no client programs (TEST_CLIENT_PROGS in $ST/Makefile)"
		exit 0
	fi
	for prof in $profiles; do
		echo "# ===== guest boot: profile $prof, distro and $VFIO_MODULES vfio modules"
		"$here/qemu.sh" check "$prof"
		dirs+=("$TB/check-$prof")
	done
	;;
run)
	"$here/qemu.sh" run "${PROFILE:-iommu}"
	dirs+=("$TB/run-${PROFILE:-iommu}")
	;;
bench)
	if [ -z "$(list bench)" ]; then
		echo "bench: no benchmarks yet (TEST_BENCH_PROGS in $ST/Makefile)"
		exit 0
	fi
	"$here/qemu.sh" bench "${PROFILE:-iommu}"
	dirs+=("$TB/bench-${PROFILE:-iommu}")
	;;
selftest)
	# The whole chain on a real splat: the guest prints a kernel
	# backtrace, and the run must fail because of it.
	"$here/qemu.sh" splat iommu > /dev/null
	if "$here/report.sh" "$TB/splat-iommu" > "$TB/splat-iommu/report" 2>&1; then
		cat "$TB/splat-iommu/report"
		echo "testbed-selftest: FAILED, a kernel backtrace went unnoticed"
		exit 1
	fi
	grep -A3 'splat line' "$TB/splat-iommu/report"
	if ! grep -q 'Call Trace' "$TB/splat-iommu/report"; then
		echo "testbed-selftest: FAILED, the run failed for another reason:"
		cat "$TB/splat-iommu/report"
		exit 1
	fi
	echo "testbed-selftest: ok, a real kernel backtrace fails the run"
	exit 0
	;;
*)
	echo "check.sh: unknown mode $mode" >&2
	exit 2
	;;
esac

echo
exec "$here/report.sh" "${dirs[@]}"
