#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# image-dpdk.sh: the clients' boots' DPDK archive (vfio_client_dpdk_test),
# from Debian's packages, at their host paths:
#   /usr/bin/dpdk-testpmd       (package dpdk-dev, not dpdk), the libraries
#                               ldd names, and the PMD plugin directory EAL
#                               dlopens at start (pmds-*/) with theirs;
#   /usr/bin/dpdk-devbind.py    (package dpdk) with what --status runs: a
#                               python3 with the few stdlib modules it
#                               imports, Debian's lspci and pci.ids.
# Called by build-initramfs.sh with KVER, TOP, B and TB set; installs the
# packages on the host when missing, builds into the cache outside the
# tree, reuses the archive while the package versions and this script are
# unchanged, and prints the archive's path as its last line (everything
# else goes to stderr).
set -euo pipefail
: "${TOP:?}"

pkgs=(dpdk-dev dpdk python3 python3.11-minimal libpython3.11-stdlib
	pciutils pci.ids libc6)
die() { echo "image-dpdk: $*" >&2; exit 1; }

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "image-dpdk: installing ${missing[*]}" >&2
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >/dev/null
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

cache=$("$TOP"/tools/testing/selftests/vfio/intree/kernel-cache.sh dir)/clients
mkdir -p "$cache"
out=$cache/dpdk.cpio
stamp=$({
	dpkg-query -W -f='${Package} ${Version}\n' "${pkgs[@]}"
	sha256sum < "$0"
})
if [ -r "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi

root=$cache/root-dpdk
rm -rf "$root"
mkdir -p "$root"

# Copy @1 to the same path in the archive's root; a symlink as a symlink,
# and what it points to (through the same directories, whatever symlinks
# the host has among them: the archive has none).
put() {
	local f=$1 t
	[ -e "$root$f" ] || [ -L "$root$f" ] && return 0
	mkdir -p "$root$(dirname "$f")"
	cp -a "$f" "$root$f"
	if [ -L "$f" ]; then
		t=$(readlink "$f")
		case $t in /*) ;; *) t=$(dirname "$f")/$t ;; esac
		put "$(realpath -sm "$t")"
	fi
	return 0
}
# ELF files and every library ldd says they load.
elfs=()

testpmd=/usr/bin/dpdk-testpmd
[ -x "$testpmd" ] || die "no $testpmd (package dpdk-dev)"
put "$testpmd"
elfs+=("$testpmd")

# EAL dlopens every library in its plugin directory at start; a missing
# dependency of any of them is fatal, so all go in, with their libraries.
pmds=$(ls -d /usr/lib/x86_64-linux-gnu/dpdk/pmds-*)
[ -d "$pmds" ] || die "no DPDK plugin directory"
for f in "$pmds"/*; do
	put "$f"
	elfs+=("$(readlink -f "$f")")
done

# dpdk-devbind.py --status: python3 with the stdlib modules it imports
# (the ones python -v reports loading, os.py being the landmark python
# finds its prefix by, lib-dynload its exec prefix), lspci (-Dvmmnnk, which busybox lacks) and the
# PCI ID database.
py=/usr/bin/python3.11
put /usr/bin/dpdk-devbind.py
put /usr/bin/python3
elfs+=("$py")
put /usr/lib/python3.11/os.py
mkdir -p "$root/usr/lib/python3.11/lib-dynload"
"$py" -v -c 'import sys, os, subprocess, argparse, platform, glob' 2>&1 >/dev/null |
	grep -oE "(from|matches) '?/usr/lib/python3[^' ]*" | awk '{print $2}' |
	tr -d "'" | sort -u | while read -r f; do
		[ -e "$f" ] && echo "$f"
	done > "$cache/dpdk-py.list"
[ -s "$cache/dpdk-py.list" ] || die "python3 -v named no modules"
while read -r f; do
	put "$f"
	case $f in *.so) elfs+=("$f") ;; esac
done < "$cache/dpdk-py.list"
put /usr/bin/lspci
elfs+=(/usr/bin/lspci)
put /usr/share/misc/pci.ids

# Libraries go where the host really keeps them (/usr/lib, not through
# its /lib symlink): testpmd's libraries are also plugins EAL dlopens by
# their /usr/lib path, and a second copy elsewhere would be loaded twice.
# The program interpreter stays at the path the binaries name.
for e in $(printf '%s\n' "${elfs[@]}" | sort -u); do
	for lib in $(ldd "$e" | grep -o '/[^ ]*'); do
		case $lib in
		/lib64/*) put "$lib" ;;
		*) put "$(readlink -f "$(dirname "$lib")")/${lib##*/}" ;;
		esac
	done
done

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
echo "$stamp" > "$out.stamp"
echo "image-dpdk: $(du -h "$out" | cut -f1) ($testpmd, $(find "$pmds" -name '*.so' | wc -l) plugins, dpdk-devbind.py)" >&2
echo "$out"
