#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh [-f debug|plain] [-j N] [--config-only] [--vfio-only]
#
# The in-tree build of the series: overlay this subtree onto the Linux 6.12
# source (/usr/src/linux-source-6.12.tar.xz, unpacked once into the
# machine's kernel cache, see kernel-cache.sh), configure a small x86_64
# guest kernel for the QEMU test bed and build it, niced, into the cache's
# kbuild-<flavour>.  The result goes to build/kernel-<flavour>/:
#
#   vmlinuz             the bzImage
#   config, System.map  of that build
#   kernelrelease       e.g. 6.12.117-vfio-debug
#   lib/modules/<rel>/  every module (modules_install, depmod'ed)
#   vfio/*.ko           our vfio stack as built in-tree (vfio, vfio_iommu_type1,
#                       vfio-pci-core, vfio-pci): the bed's "ours" set
#
# Flavours (intree/<flavour>.config, merged last):
#   debug   lockdep, KASAN, kmemleak, UBSAN, debug objects, fault injection
#   plain   no debugging; also builds KVM's vfio device (virt/kvm/vfio.c)
#
#   --config-only   stop after writing the .config
#   --vfio-only     rebuild what changed in drivers/vfio (`make modules`)
#                   in an existing build and refresh vfio/*.ko
#
# Environment: KERNEL_FLAVOR, JOBS (2), KEEP_GOING=1 (make -k: every error
# at once), BASE_CONFIG (allnoconfig), B (build/), VFIO_KCACHE (the cache,
# default /var/cache/vfio-series; VFIO_KCACHE=build keeps it in build/).
#
# The cache is shared by every checkout on the machine and one build at a
# time holds it (flock); each overlays its own tree, so kbuild rebuilds
# only what differs from the last build - usually drivers/vfio alone.
# Stamps make it safe to interrupt: another tarball empties it, other
# configuration inputs (by content) reconfigure it, and only a whole
# build marks it complete.
#
# The kernel's own Kconfig drives the build: drivers/Kconfig sources our
# drivers/vfio/Kconfig, drivers/Makefile descends into drivers/vfio/.
# Nothing but build/ is written.
set -euo pipefail
# One block, parsed whole before it runs: editing this file during a
# (long) build cannot derail it.
{
here=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$here/../../../../.." && pwd)
B=${B:-$TOP/build}
SRC_TARBALL=${SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
export SRC_TARBALL
KCACHE=$("$here/kernel-cache.sh" dir)
[ "$KCACHE" = build ] && KCACHE=$B
KSRC=$KCACHE/linux
flavour=${KERNEL_FLAVOR:-debug}
BASE_CONFIG=${BASE_CONFIG:-allnoconfig}
jobs=${JOBS:-2}
config_only=0 vfio_only=0

while [ $# -gt 0 ]; do
	case $1 in
	-f | --flavour | --flavor) flavour=$2; shift ;;
	-j) jobs=$2; shift ;;
	-j*) jobs=${1#-j} ;;
	--config-only) config_only=1 ;;
	--vfio-only) vfio_only=1 ;;
	-h | --help) sed -n '4,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-kernel.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case $flavour in
debug | plain) ;;
*) echo "build-kernel.sh: KERNEL_FLAVOR must be debug or plain, not $flavour" >&2; exit 2 ;;
esac

OBJ=$KCACHE/kbuild-$flavour
OUT=$B/kernel-$flavour
log() { echo "build-kernel: $*"; }
kmake() { nice -n 19 make -s -C "$KSRC" O="$OBJ" -j"$jobs" ${KEEP_GOING:+-k} "$@"; }

mkdir -p "$KCACHE"
exec 9>>"$KCACHE/.lock"
if ! flock -n 9; then
	log "waiting for another build in $KCACHE"
	flock 9
fi
log "kernel cache: $KCACHE"

# 1. The source, once per tarball.  A half-extracted tree never passes for
# a whole one; objects of another tarball's source are thrown away (tar
# keeps the archive's mtimes: kbuild could not tell what changed).
src_id=$("$here/kernel-cache.sh" source-id)
if [ "$(cat "$KSRC/.unpacked" 2>/dev/null)" != "$src_id" ]; then
	log "unpacking $SRC_TARBALL into $KSRC"
	rm -rf "$KSRC" "$KSRC.tmp"
	mkdir -p "$KSRC.tmp"
	nice -n 19 tar -xJf "$SRC_TARBALL" -C "$KSRC.tmp" --strip-components=1
	echo "$src_id" >"$KSRC.tmp/.unpacked"
	mv "$KSRC.tmp" "$KSRC"
fi
if [ "$(cat "$OBJ/.source" 2>/dev/null)" != "$src_id" ]; then
	[ -e "$OBJ" ] && log "$OBJ is of another source: starting afresh"
	rm -rf "$OBJ"
	mkdir -p "$OBJ"
	echo "$src_id" >"$OBJ/.source"
fi

# 2. Our tree replaces upstream's vfio.  Files are compared by content and
# a changed one gets a new mtime: keeping the source's mtime (rsync -a)
# lost edits made before the objects were built, which then looked newer
# than the change.  Unchanged files keep their mtime, so kbuild only
# rebuilds what changed; --delete drops upstream's files (and ours that
# were removed).  Objects live in $OBJ, never in the source tree.
overlay() { rsync -rlpgoD --checksum "$@"; }
log "overlaying drivers/vfio and the vfio headers from $TOP"
overlay --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
	--exclude='*.mod' --exclude='*.mod.c' --exclude='modules.order' \
	--exclude='Module.symvers' \
	"$TOP/drivers/vfio/" "$KSRC/drivers/vfio/"
for h in include/linux/vfio.h include/linux/vfio_pci_core.h \
	include/uapi/linux/vfio.h; do
	if [ -e "$TOP/$h" ]; then
		overlay "$TOP/$h" "$KSRC/$h"
	else
		rm -f "$KSRC/$h"
	fi
done
headers=$(for h in include/linux/vfio.h include/linux/vfio_pci_core.h \
	include/uapi/linux/vfio.h; do
	[ ! -e "$KSRC/$h" ] || cat "$KSRC/$h"
done | sha256sum | cut -d' ' -f1)
if [ -e "$TOP/Documentation/driver-api/vfio.rst" ]; then
	overlay "$TOP/Documentation/driver-api/vfio.rst" \
		"$KSRC/Documentation/driver-api/vfio.rst"
fi

# 3. The configuration: allnoconfig + kvm_guest.config + the series'
# Kconfig.fragment + the bed's needs + the flavour; BASE_CONFIG=
# x86_64_defconfig starts from a fuller (and much slower to build) kernel.
# Redone whenever the inputs differ by content (the fragments, our
# Kconfig files, this script) from those of the last configuration: in a
# shared cache, mtimes say nothing.  An unchanged result leaves kbuild
# nothing to rebuild.
frags=("$KSRC/kernel/configs/kvm_guest.config" "$TOP/Kconfig.fragment"
	"$here/base.config" "$here/$flavour.config")
inputs=$({
	echo "$BASE_CONFIG"
	cat "$0" "${frags[@]}"
	(cd "$TOP" && find drivers/vfio -name Kconfig | LC_ALL=C sort | xargs cat)
} | sha256sum | cut -d' ' -f1)
if [ ! -e "$OBJ/.config" ] || [ "$(cat "$OBJ/.config-inputs" 2>/dev/null)" != "$inputs" ]; then
	log "configuring $flavour in $OBJ"
	rm -f "$OBJ/.config-inputs" "$OBJ/.config.prev"
	[ ! -e "$OBJ/.config" ] || cp -p "$OBJ/.config" "$OBJ/.config.prev"
	if [ "$BASE_CONFIG" = allnoconfig ]; then
		# allnoconfig with every fragment's value known up front
		# (KCONFIG_ALLCONFIG): the defaults of what stays are computed
		# for the final config (64-bit, ...), not for allnoconfig's.
		mc_args=(-n)
	else
		kmake "$BASE_CONFIG" >/dev/null
		mc_args=(-m "$OBJ/.config")
	fi
	(cd "$KSRC" && nice -n 19 scripts/kconfig/merge_config.sh -O "$OBJ" \
		"${mc_args[@]}" "${frags[@]}" >"$OBJ/merge_config.log" 2>&1) || {
		cat "$OBJ/merge_config.log" >&2
		exit 1
	}
	kmake olddefconfig >/dev/null
	# Every value asked for must have survived the dependency resolution;
	# a missing dependency is a configuration bug, not something to find
	# out at boot.
	# The last fragment that names a symbol wins, as in merge_config.
	bad=0
	while read -r sym want frag; do
		[ "$want" = n ] && want=
		got=$(sed -n "s/^$sym=//p" "$OBJ/.config")
		[ "$got" = "$want" ] && continue
		# A module that something built in selects is =y: fine.
		[ "$want" = m ] && [ "$got" = y ] && continue
		echo "build-kernel: $frag: $sym=${want:-n} wanted, got ${got:-n}" >&2
		bad=1
	done < <(for f in "${frags[@]}"; do
		sed -n -e "s|^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)|\1 \2 ${f##*/}|p" \
			-e "s|^# \(CONFIG_[A-Za-z0-9_]*\) is not set|\1 n ${f##*/}|p" "$f"
	done | awk '{ v[$1] = $0; if (!($1 in o)) o[$1] = ++n; k[o[$1]] = $1 }
		END { for (i = 1; i <= n; i++) print v[k[i]] }')
	[ $bad = 0 ] || { log "configuration does not hold (see above)"; exit 1; }
	# The same .config as before keeps its mtime: a newer one would
	# rebuild the embedded config (IKCONFIG) and relink vmlinux.
	if [ -e "$OBJ/.config.prev" ] && cmp -s "$OBJ/.config" "$OBJ/.config.prev"; then
		touch -r "$OBJ/.config.prev" "$OBJ/.config"
	fi
	rm -f "$OBJ/.config.prev"
	echo "$inputs" >"$OBJ/.config-inputs"
fi
[ $config_only = 1 ] && { log "config in $OBJ/.config"; exit 0; }

# The release as the build stamps it (LOCALVERSION from the .config):
# syncconfig first, or a fresh build dir has no auto.conf to take it from.
kmake syncconfig >/dev/null
rel=$(kmake -s kernelrelease)

# copy_vfio DIR: our stack, flat, as the bed's "ours" module set.
copy_vfio() {
	mkdir -p "$OUT/vfio"
	rm -f "$OUT/vfio/"*.ko
	find "$1" -name '*.ko' -exec cp {} "$OUT/vfio/" \;
	log "vfio modules: $(cd "$OUT/vfio" && echo *.ko)"
}

if [ $vfio_only = 1 ]; then
	# Only on a whole build of this configuration, and only when
	# drivers/vfio alone changed: a vfio header is included by built-in
	# code too (iommufd, KVM).
	if [ "$(cat "$OBJ/.complete" 2>/dev/null)" != "$inputs $headers" ]; then
		log "no whole build of this configuration and these vfio headers in $OBJ (make kernel)"
		exit 1
	fi
	log "building drivers/vfio ($flavour, $rel)"
	# `make drivers/vfio/` alone compiles the objects but links no .ko
	# (modpost runs for `modules`), which left stale modules behind;
	# `modules` relinks only what changed.
	kmake modules
	copy_vfio "$OBJ/drivers/vfio"
	exit 0
fi

# 4. Build.  Niced: QEMU guests share these cores.
log "building $rel: bzImage modules (nice -n 19, -j$jobs)"
t0=$(date +%s)
rm -f "$OBJ/.complete"
kmake bzImage modules
echo "$inputs $headers" >"$OBJ/.complete"
t1=$(date +%s)
log "built in $(((t1 - t0) / 60))m$(((t1 - t0) % 60))s"

# 5. Install where the test bed takes it from.
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
kmake INSTALL_MOD_PATH="$OUT.tmp" INSTALL_MOD_STRIP=1 modules_install >/dev/null
rm -f "$OUT.tmp/lib/modules/$rel/build" "$OUT.tmp/lib/modules/$rel/source"
cp "$OBJ/arch/x86/boot/bzImage" "$OUT.tmp/vmlinuz"
cp "$OBJ/.config" "$OUT.tmp/config"
cp "$OBJ/System.map" "$OUT.tmp/System.map"
echo "$rel" >"$OUT.tmp/kernelrelease"
# The oracle's set stays: build-upstream-vfio.sh finds out if it is stale.
[ ! -d "$OUT/vfio-upstream" ] || mv "$OUT/vfio-upstream" "$OUT.tmp/"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
copy_vfio "$OUT/lib/modules/$rel/kernel/drivers/vfio"
log "installed $rel into $OUT"
exit 0
}
