#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The L2 guest of vfio_client_qemu_test, as an archive for the clients'
# image (see vm/build-initramfs.sh): /tb/l2/vmlinux, Debian's kernel - the
# one the bed boots - uncompressed, and /tb/l2/initrd.cpio, busybox,
# qemu-l2/init and the edu_l2 module built against Debian's headers for
# that kernel.  Plus what the QEMU of the KVM image lacks to run it: TCG,
# a module in Debian's QEMU (accel-tcg-x86_64.so), and pvh.bin, the
# option ROM that boots an ELF vmlinux through its PVH entry point.
#
# Why a vmlinux: under TCG inside the TCG guest, the bzImage's own zstd
# decompression takes tens of seconds of every L2 boot; QEMU loads an ELF
# kernel itself.
#
# Built into a cache outside the tree, reused while its inputs (the
# packages' versions, this script and qemu-l2/) are unchanged.  Prints the
# archive's path as its last line; everything else goes to stderr.
set -euo pipefail
exec 3>&1 1>&2
die() { echo "image-qemu-l2: $*" >&2; exit 1; }
: "${KVER:?}" "${TOP:?}"

here=$(cd "$(dirname "$0")" && pwd)
src=$here/qemu-l2
pkgs=(busybox-static "linux-image-$KVER" "linux-headers-$KVER" qemu-system-x86
	qemu-system-data gcc make cpio zstd)
tcg=/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
	echo "image-qemu-l2: installing ${missing[*]}"
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >/dev/null
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cache=$("$TOP"/tools/testing/selftests/vfio/intree/kernel-cache.sh dir)/clients/qemu-l2
mkdir -p "$cache"
out=$cache/qemu-l2.cpio
stamp=$(
	dpkg-query -W -f='${Package} ${Version}\n' "${pkgs[@]}"
	cd "$here" && sha256sum "${0##*/}" qemu-l2/*
)
if [ -r "$out" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out" >&3
	exit 0
fi

kmod=$cache/kmod root=$cache/root l2=$cache/l2
rm -rf "$kmod" "$root" "$l2" "$cache/stamp"
mkdir -p "$kmod" "$root/bin" "$l2/tb/l2"
cp "$src/Kbuild" "$src/edu_l2.c" "$kmod/"
make -s -C "/lib/modules/$KVER/build" M="$kmod" modules ||
	die "edu_l2 does not build against linux-headers-$KVER"

readelf -l /bin/busybox | grep -q 'program interpreter' &&
	die "/bin/busybox is dynamic: install busybox-static"
cp /bin/busybox "$root/bin/"
install -m 755 "$src/init" "$root/init"
cp "$kmod/edu_l2.ko" "$root/"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) > "$l2/tb/l2/initrd.cpio"
# The bzImage's payload (boot protocol: setup_sects at 0x1f1, then
# payload_offset and payload_length at 0x248) is Debian's zstd vmlinux,
# with its length appended.
vmlinuz=/boot/vmlinuz-$KVER
le32() { od -An -tu4 -j "$1" -N 4 "$vmlinuz" | tr -d ' '; }
setup=$(od -An -tu1 -j $((0x1f1)) -N 1 "$vmlinuz" | tr -d ' ')
[ "$setup" -ne 0 ] || setup=4
start=$(( (setup + 1) * 512 + $(le32 $((0x248))) ))
len=$(le32 $((0x24c)))
dd if="$vmlinuz" of="$cache/payload.zst" bs=4096 iflag=skip_bytes,count_bytes \
	skip="$start" count=$((len - 4)) status=none
zstd -dqf "$cache/payload.zst" -o "$l2/tb/l2/vmlinux" ||
	die "no zstd vmlinux in $vmlinuz"
rm -f "$cache/payload.zst"
readelf -n "$l2/tb/l2/vmlinux" | grep -q 'Xen.*0x00000012' ||
	die "$vmlinuz has no PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY)"
mkdir -p "$l2/usr/share/qemu"
cp /usr/share/qemu/pvh.bin "$l2/usr/share/qemu/"
# It needs only libc, which the KVM image's QEMU brings.
mkdir -p "$l2${tcg%/*}"
cp "$tcg" "$l2$tcg"
(cd "$l2" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
echo "$stamp" > "$cache/stamp"
echo "image-qemu-l2: $(du -h "$out" | cut -f1) (edu_l2 for $KVER)"
echo "$out" >&3
