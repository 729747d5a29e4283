#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# logcheck-selftest.sh: the result counter and kernel-log checker
# (report.sh) judged on made-up runs, every `make check`.  A checker that
# stopped seeing splats would otherwise pass silently forever.  Prints
# kselftest TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

n=0 failed=0
echo "TAP version 13"
echo "1..17"

ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=1
	fi
}

# run NAME [console lines...]: a guest run whose results.log is on stdin.
run() {
	local d=$work/$1
	shift
	mkdir -p "$d"
	cat > "$d/results.log"
	printf '%s\n' "[    0.000000] Linux version 6.12" "$@" > "$d/console.log"
	"$here/report.sh" "$d" > "$d/report" 2>&1
	status=$?
}

final() { tail -n 1 "$work/$1/report"; }

clean_stream() {
	printf '%s\r\n' "@@TB CHECK ok vfio stack (ours) loads" "@@TB BEGIN smoke" \
		"TAP version 13" "1..3" "ok 1 global.a" "ok 2 global.b # SKIP no" \
		"ok 3 global.c" "" "@@TB END smoke rc=0 secs=1" "@@TB TAINT ${1:-0}" \
		"@@TB DMESG BEGIN" "${2:-[    1.0] hello}" "@@TB DMESG END" "@@TB DONE"
}

run clean < <(clean_stream)
ok "$status" "clean run exits 0"
[ "$(final clean)" = "4 passed, 0 failed, 1 skipped" ]
ok $? "clean run counts tests, runner check and kernel log"

# Debug kernels' banners name the checkers without reporting anything.
run banners "[    0.1] kmemleak: Kernel memory leak detector initialized (mem pool available: 15682)" \
	"[    0.1] kasan: KernelAddressSanitizer initialized" \
	"[    0.1] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar" \
	"[    0.1] ... MAX_LOCKDEP_SUBCLASSES:  8" \
	"[    0.1] rcu: 	RCU lockdep checking is enabled." \
	"[    9.9] crash[200]: segfault at 0 ip 0000000000401745 sp 00007ffd error 6" < <(clean_stream)
ok "$status" "checker banners and user segfaults are not splats"

run dmar "[   12.5] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x1000 [fault reason 0x05] PTE Write access is not set" \
	"[   12.5] DMAR: DRHD: handling fault status reg 2" < <(clean_stream)
ok "$status" "DMAR fault lines are not splats"

run warn "[   20.1] ------------[ cut here ]------------" \
	"[   20.1] WARNING: CPU: 1 PID: 300 at drivers/vfio/vfio_main.c:99 vfio_x+0x1/0x2 [vfio]" \
	"[   20.1] Call Trace:" < <(clean_stream)
[ "$status" -ne 0 ] && [ "$(final warn)" = "3 passed, 1 failed, 1 skipped" ]
ok $? "a WARNING on the console fails the run"

run bug < <(clean_stream 0 "[   30.0] BUG: kernel NULL pointer dereference, address: 0000000000000008")
[ "$status" -ne 0 ] && grep -q 'NULL pointer' "$work/bug/report"
ok $? "a BUG only in the dmesg dump fails the run and is shown"

for s in "Oops: general protection fault, probably for non-canonical address" \
	"refcount_t: underflow; use-after-free." \
	"kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)" \
	"WARNING: possible circular locking dependency detected" \
	"INFO: task vfio_test:123 blocked for more than 120 seconds."; do
	run other < <(clean_stream 0 "[   40.0] $s")
	[ "$status" -ne 0 ]
	ok $? "splat fails the run: ${s%%:*}"
done

run label "[    5.0] tb-runner: BEGIN vfio_lockdep_oops_test" < <(clean_stream)
ok "$status" "a program named after a splat is not one"

run during "[    5.0] tb-runner: BEGIN vfio_group_test" "[    5.1] tb-runner: END vfio_group_test rc=0" \
	"[    6.0] tb-runner: BEGIN vfio_device_test" "[    6.1] BUG: unable to handle page fault for address: 0" \
	< <(clean_stream)
grep -q 'while running: vfio_device_test' "$work/during/report"
ok $? "a splat is tied to the program that was running"

run taint < <(clean_stream 512)
[ "$status" -ne 0 ]
ok $? "taint bit W fails the run even with a clean log"

run oot < <(clean_stream 12288)
ok "$status" "out-of-tree and unsigned module taints (O, E) do not"

run nodone < <(clean_stream | grep -v DONE)
[ "$status" -ne 0 ]
ok $? "a run without DONE fails"

run crash < <(printf '%s\n' "@@TB BEGIN crash" "1..5" "ok 1 a" "not ok 2 b" \
	"@@TB END crash rc=139 secs=1" "@@TB BEGIN skipall" "1..0 # SKIP no device" \
	"@@TB END skipall rc=4 secs=0" "@@TB TAINT 0" "@@TB DONE")
[ "$status" -ne 0 ] && [ "$(final crash)" = "2 passed, 4 failed, 1 skipped" ]
ok $? "a crashed program's missing tests count as failed"

exit $failed
