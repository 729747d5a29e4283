#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-cache.sh dir|status|seed FROM
#
# The in-tree kernel's build cache, kept outside the repository so that
# every checkout on the machine (CI's fresh clones too) shares one kernel
# build and kbuild rebuilds only what changed - normally just drivers/vfio:
#
#   linux/            the unpacked 6.12 source, the series overlaid by the
#                     last build (.unpacked names the tarball)
#   kbuild-<flavour>/ kbuild's objects (O=); .source names the tarball
#                     they come from, .config-inputs the configuration
#                     inputs, .complete is written by a whole build only
#   .lock             build-kernel.sh builds holding it; the oracle build
#                     (build-upstream-vfio.sh) reads under it
#
# Each checkout still installs its own kernel into build/kernel-<flavour>/:
# the bed boots that, whatever another checkout later builds in the cache.
#
#   dir         print the cache directory: $VFIO_KCACHE, else
#               /var/cache/vfio-series, else (not writable)
#               ${XDG_CACHE_HOME:-~/.cache}/vfio-series
#   status      what the cache holds
#   warm FLAVOUR
#               exit 0 if the cache has a whole build of that flavour from
#               this tarball (whatever its configuration): the next build
#               is an incremental one
#   seed FROM   fill an empty cache from FROM/linux and FROM/kbuild-*
#               (another checkout's build/, from before the cache): copied,
#               never moved, and kbuild's absolute source paths rewritten,
#               or kbuild would rebuild the whole kernel for a changed
#               command line
#   relocate DIR OLD NEW [OLD NEW]...
#               that rewrite alone, for a kbuild directory copied by hand
set -euo pipefail
SRC_TARBALL=${SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
log() { echo "kernel-cache: $*"; }
die() { echo "kernel-cache: $*" >&2; exit 1; }

cache_dir() {
	local d
	if [ -n "${VFIO_KCACHE:-}" ]; then
		echo "$VFIO_KCACHE"
		return
	fi
	d=/var/cache/vfio-series
	if mkdir -p "$d" 2>/dev/null && [ -w "$d" ]; then
		echo "$d"
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/vfio-series"
	fi
}

# The tarball a tree comes from, as the stamps record it.
source_id() { stat -c '%n %s %Y' "$SRC_TARBALL"; }

# relocate DIR OLD NEW [OLD NEW]...: in DIR's text files.
relocate() {
	local dir=$1 pat=() i
	shift
	for ((i = 1; i <= $#; i += 2)); do pat+=(-e "${!i}"); done
	grep -rlIF -Z "${pat[@]}" "$dir" | python3 -c '
import os, sys
pairs = [(a.encode(), b.encode()) for a, b in zip(sys.argv[1::2], sys.argv[2::2])]
for p in sys.stdin.buffer.read().split(b"\0"):
    if not p:
        continue
    st = os.stat(p)
    with open(p, "rb") as fh:
        data = fh.read()
    for a, b in pairs:
        data = data.replace(a, b)
    with open(p, "wb") as fh:
        fh.write(data)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
' "$@"
}

case ${1:-} in
dir)
	cache_dir
	;;
source-id)
	source_id
	;;
relocate)
	shift
	if [ $# -lt 3 ] || [ $(($# % 2)) = 0 ]; then
		die "relocate DIR OLD NEW [OLD NEW]..."
	fi
	relocate "$@"
	;;
warm)
	o=$(cache_dir)/kbuild-${2:?warm FLAVOUR}
	[ -s "$o/.complete" ] && [ "$(cat "$o/.source" 2>/dev/null)" = "$(source_id)" ]
	;;
status)
	C=$(cache_dir)
	echo "cache: $C"
	echo "source: $(cat "$C/linux/.unpacked" 2>/dev/null || echo none)"
	for o in "$C"/kbuild-*; do
		[ -d "$o" ] || continue
		done_for=$(cut -d' ' -f1 "$o/.complete" 2>/dev/null || true)
		if [ -n "$done_for" ] && [ "$done_for" = "$(cat "$o/.config-inputs")" ]; then
			echo "${o##*/}: complete, $(cat "$o/include/config/kernel.release" 2>/dev/null)"
		else
			echo "${o##*/}: incomplete (the next build finishes it)"
		fi
	done
	;;
seed)
	from=$(cd "${2:?seed FROM}" && pwd)
	C=$(cache_dir)
	[ -e "$from/linux/.unpacked" ] || die "$from/linux is no unpacked source"
	[ "$from/linux/.unpacked" -nt "$SRC_TARBALL" ] ||
		die "$from/linux is older than $SRC_TARBALL"
	mkdir -p "$C"
	exec 9>>"$C/.lock"
	flock 9
	if [ -e "$C/linux/.unpacked" ]; then
		die "$C already has a source tree"
	fi
	log "copying $from/linux to $C/linux"
	rm -rf "$C/linux.tmp"
	nice -n 19 cp -a "$from/linux" "$C/linux.tmp"
	source_id >"$C/linux.tmp/.unpacked"
	mv "$C/linux.tmp" "$C/linux"
	for o in "$from"/kbuild-*; do
		[ -e "$o/Makefile" ] || continue
		f=${o##*/}
		[ -e "$C/$f" ] && { log "$C/$f exists, left alone"; continue; }
		log "copying $o to $C/$f"
		rm -rf "$C/$f.tmp"
		nice -n 19 cp -a "$o" "$C/$f.tmp"
		# kbuild's saved command lines and dependency lists name the
		# source and (objtool's) the object directory by their
		# absolute paths: point them at the copies, mtimes kept.  No
		# .complete and no .config-inputs: the first build
		# reconfigures (same inputs, same .config) and relinks.
		relocate "$C/$f.tmp" "$from/linux" "$C/linux" "$o" "$C/$f"
		ln -sfn "$C/linux" "$C/$f.tmp/source"
		rm -f "$C/$f.tmp/.complete" "$C/$f.tmp/.config-inputs"
		source_id >"$C/$f.tmp/.source"
		mv "$C/$f.tmp" "$C/$f"
	done
	log "seeded $C from $from"
	;;
*)
	sed -n '4,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
