#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# report.sh DIR...: count the results of test-bed runs and judge the kernel
# log.  Each DIR holds results.log (the @@TB stream vm/init writes to ttyS1,
# or check.sh writes for host-side tests) and, for a guest boot,
# console.log (the kernel's console).  Prints one line per program, the
# kernel-log verdict, and last exactly "N passed, N failed, N skipped";
# exits non-zero on any failure.
#
# Counting: every `ok`/`not ok` line a program prints is one test (`# SKIP`
# ones are skipped, XFAIL passes).  A program that promised more tests
# (1..N) than it reported, or that exited non-zero without reporting a
# failure (crash, timeout, exec failure), adds failures so that dying is
# never cheaper than failing.  Each runner check (@@TB CHECK) is one test;
# each guest boot adds "kernel log clean" and fails if the guest never said
# DONE.
#
# The kernel log is the console plus the dmesg dumped at the end (the
# console keeps what was printed after a crash, dmesg what the console's
# log level dropped).  A splat is any line matching SPLAT_RE below or a
# taint bit that only a splat sets.  DMAR fault lines are not splats:
# negative tests cause them on purpose.

set -u

# WARN/BUG/Oops and their trailers, lockdep, KASAN/UBSAN, kmemleak reports
# (not its boot banner), refcount_t, hung tasks, lockups, RCU stalls,
# list/page corruption, panics.
SPLAT_RE='WARNING:|BUG:|kernel BUG at|Oops|general protection fault|Call [Tt]race:|cut here \]|refcount_t:|KASAN:|UBSAN:|lockdep is turned off|non-static key|DEBUG_LOCKS_WARN_ON|possible (recursive|circular) locking|kmemleak: .*suspected memory leak|unreferenced object 0x|soft lockup|hard LOCKUP|detected stall|blocked for more than|Kernel panic|list_(add|del) corruption|Bad page (state|map)|Unable to handle|invalid opcode:|stack-protector|double fault'

total_p=0 total_f=0 total_s=0

for dir in "$@"; do
	res=$dir/results.log
	con=$dir/console.log
	[ -e "$con" ] || con=/dev/null
	guest=0
	[ "$con" != /dev/null ] && guest=1
	[ -e "$res" ] || : > "$res"
	echo "== ${dir##*/}"
	sum=$(awk -v guest="$guest" -v splat_re="$SPLAT_RE" \
		-v dmesg_out="$dir/dmesg.log" -v con="$con" '
	function bit(n, k) { return int(n / 2 ^ k) % 2 }
	function prog_end(rc, secs, timedout,   miss, why) {
		miss = (plan > np + nf + ns) ? plan - (np + nf + ns) : 0
		nf += miss
		why = ""
		if (timedout)
			why = ", timed out"
		if (rc != 0 && rc != 4 && nf == 0) {
			why = why ", exited " rc
			if (np + ns)
				why = why " without a failing test"
			nf = 1
		}
		if (np + nf + ns == 0) {
			if (rc == 4) ns = 1; else np = 1
		}
		if (miss)
			why = why ", " miss " planned tests never ran"
		printf "  %-32s %d passed, %d failed, %d skipped (rc=%s, %ss%s)\n",
			label, np, nf, ns, rc, secs, why
		P += np; F += nf; S += ns
		inprog = 0
	}
	function splat(line) {
		sub(/^<[0-9]+>/, "", line)
		sub(/^\[ *[0-9]+\.[0-9]+\] */, "", line)
		if (!(line in seen)) { seen[line] = 1; order[++nsplat] = line }
	}
	FNR == 1 && FILENAME == con { phase = "console" }
	{ gsub(/\r/, "") }
	# The runner marks each program in the kernel log (tb-runner: BEGIN
	# label); a label is not a splat, whatever its name.
	/tb-runner: (BEGIN|END) / { if (phase == "console") next }
	phase == "console" { if ($0 ~ splat_re) splat($0); next }
	{
		i = index($0, "@@TB ")
		if (i == 0) line = $0
		else { line = substr($0, 1, i - 1); mark = substr($0, i + 5) }
	}
	i > 0 && indmesg && mark ~ /^DMESG END/ { indmesg = 0; next }
	indmesg {
		print > dmesg_out
		if ($0 ~ splat_re && $0 !~ /tb-runner: (BEGIN|END) /) splat($0)
		next
	}
	inprog && line != "" {
		if (line ~ /^1\.\.0 .*# *[Ss][Kk][Ii][Pp]/) { ns++; plan = 0 }
		else if (line ~ /^1\.\.[0-9]+/) { plan = substr(line, 4) + 0 }
		else if (line ~ /^(not )?ok [0-9]+/) {
			if (line ~ /# *[Ss][Kk][Ii][Pp]/) ns++
			else if (line ~ /^not ok/) nf++
			else np++
		}
	}
	i == 0 { next }
	{ n = split(mark, w, " ") }
	w[1] == "BEGIN" {
		if (inprog) prog_end("none", "?", 0)
		label = w[2]; inprog = 1; plan = -1; np = nf = ns = 0
		next
	}
	w[1] == "END" && inprog {
		rc = "?"; secs = "?"; to = 0
		for (k = 3; k <= n; k++) {
			if (w[k] ~ /^rc=/) rc = substr(w[k], 4)
			else if (w[k] ~ /^secs=/) secs = substr(w[k], 6)
			else if (w[k] == "timeout") to = 1
		}
		prog_end(rc, secs, to)
		next
	}
	w[1] == "CHECK" {
		text = mark; sub(/^CHECK +[a-z]+ */, "", text)
		if (w[2] == "ok") P++
		else { F++; printf "  runner check failed: %s\n", text }
		next
	}
	w[1] == "TAINT" { taint = w[2] + 0; next }
	w[1] == "DMESG" && w[2] == "BEGIN" { indmesg = 1; printf "" > dmesg_out; next }
	w[1] == "DONE" { done = 1; next }
	END {
		if (inprog) {
			label = label " (cut off)"
			prog_end("none", "?", 0)
		}
		if (!done) {
			F++
			print "  the run never finished (no @@TB DONE): guest crashed, hung or timed out"
		}
		if (guest) {
			# Taint bits set only by splats: B bad page, D die/oops,
			# W warning, L soft lockup.
			if (bit(taint, 5) || bit(taint, 7) || bit(taint, 9) || bit(taint, 14))
				splat("kernel tainted by a splat: /proc/sys/kernel/tainted=" taint)
			if (nsplat) {
				F++
				printf "  kernel log: %d splat line(s):\n", nsplat
				for (k = 1; k <= nsplat && k <= 40; k++)
					printf "    | %s\n", order[k]
				if (nsplat > 40) printf "    | ... (%d more)\n", nsplat - 40
			} else {
				P++
				print "  kernel log clean"
			}
		}
		printf "@@SUM %d %d %d\n", P, F, S
	}' "$res" "$con")
	echo "$sum" | grep -v '^@@SUM'
	read -r _ p f s <<< "$(echo "$sum" | grep '^@@SUM')"
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
	if [ "$guest" = 1 ]; then
		# The first splat with its surroundings: the matched lines alone
		# rarely say where it came from.
		first=$(grep -n -E "$SPLAT_RE" "$con" | grep -v 'tb-runner: ' |
			head -n1 | cut -d: -f1)
		if [ -n "$first" ]; then
			during=$(head -n "$first" "$con" | grep -o 'tb-runner: BEGIN .*' |
				tail -n1 | cut -d' ' -f3 | tr -d '\r')
			echo "  first splat on the console (while running: ${during:-no program}):"
			sed -n "$((first > 5 ? first - 5 : 1)),$((first + 25))p" "$con" |
				tr -d '\r' | sed 's/^/    > /'
		fi
		echo "  logs: $dir/{console,results,dmesg,qemu}.log"
	fi
done

echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ] && [ $((total_p + total_s)) -gt 0 ]
