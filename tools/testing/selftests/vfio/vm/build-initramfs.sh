#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-initramfs.sh: the test-bed guest's whole root file system, as one
# uncompressed cpio (TCG decompresses slowly; 2 GiB of guest RAM holds it
# easily).  Rebuilt from scratch every time: it takes a second or two and
# nothing stale can survive.  Environment: KVER, TOP, B (from the Makefile),
# VFIO_MODULES (ours needs build/modules to be complete).
#
#   /init, /tb/bin/tb            vm/init, vm/tb
#   /tb/testbed.env              testbed.h's facts (vm/testbed-env.sh)
#   /tb/tests/*, /tb/*.list      the static test programs and run lists
#   /tb/modules/{ours,distro}/   the two vfio stacks, plain .ko
#   /lib/modules/$KVER/          host drivers, the 9p share and irqbypass,
#                                with their dependencies and a modules.dep
#                                for busybox modprobe
#
# Modules are decompressed here: the distro ships .ko.xz and busybox insmod
# does not hand the kernel compressed modules.
set -euo pipefail
: "${KVER:?}" "${TOP:?}" "${B:?}"
VFIO_MODULES=${VFIO_MODULES:-ours}

ST=$TOP/tools/testing/selftests/vfio
TB=${TB_OUT:-$B/testbed}
root=$TB/root
kmods=/lib/modules/$KVER
stack="vfio vfio_iommu_type1 vfio-pci-core vfio-pci"
# TB_KERNEL (make check KERNEL=...): an in-tree kernel built by
# intree/build-kernel.sh; its own modules replace the host's, its in-tree
# build of our stack (TB_KERNEL/vfio) is "ours", and the "distro" set is
# upstream's pristine vfio built against it (TB_KERNEL/vfio-upstream,
# intree/build-upstream-vfio.sh).
TB_KERNEL=${TB_KERNEL:-}
modbase=/
ours_dir=$B/modules
if [ -n "$TB_KERNEL" ]; then
	[ -r "$TB_KERNEL/kernelrelease" ] || { echo "build-initramfs: no kernel in $TB_KERNEL (make kernel)" >&2; exit 1; }
	KVER=$(cat "$TB_KERNEL/kernelrelease")
	kmods=$TB_KERNEL/lib/modules/$KVER
	modbase=$TB_KERNEL
	ours_dir=$TB_KERNEL/vfio
	if [ "$VFIO_MODULES" = distro ] && [ ! -e "$TB_KERNEL/vfio-upstream/vfio.ko" ]; then
		echo "build-initramfs: no upstream vfio in $TB_KERNEL/vfio-upstream (make kernel-oracle)" >&2
		exit 1
	fi
fi

die() { echo "build-initramfs: $*" >&2; exit 1; }

[ -d "$kmods" ] || die "no $kmods: install linux-image-$KVER (make deps)"
readelf -l /bin/busybox 2>/dev/null | grep -q 'program interpreter' &&
	die "/bin/busybox is dynamic: the guest has no libc (install busybox-static)"

rm -rf "$root"
mkdir -p "$root"/{bin,tb/bin,tb/tests,tb/modules/distro,"lib/modules/$KVER"}
cp /bin/busybox "$root/bin/"
install -m 755 "$ST/vm/init" "$root/init"
install -m 755 "$ST/vm/tb" "$root/tb/bin/tb"
"$ST/vm/testbed-env.sh" > "$root/tb/testbed.env"

# Host-side kernel modules, each with what it depends on, in a tree of
# their own.
eval "$(grep '^TB_HOST_MODULES=' "$root/tb/testbed.env")"
# kvm_amd (with kvm and ccp) for the KVM and clients' boots, when they
# have programs.
kvm_mods=
# The clients run on Debian's kernel only (their L2 and packages are
# Debian's): no clients' image for an in-tree kernel.
clients=
if [ -z "$TB_KERNEL" ] && { [ -s "$B/selftests/clients.list" ] ||
	[ -s "$B/selftests/clients-noiommu.list" ]; }; then
	clients=1
fi
[ -s "$B/selftests/kvm.list" ] || [ -n "$clients" ] && kvm_mods=kvm_amd
for m in $TB_HOST_MODULES 9pnet_virtio 9p irqbypass $kvm_mods; do
	# A kernel built without one (an older in-tree build) goes without.
	modprobe -d "$modbase" -S "$KVER" --show-depends "$m" 2>/dev/null |
		awk '$1 == "insmod" { print $2 }' ||
		echo "build-initramfs: no module $m for $KVER" >&2
done | sort -u | while read -r ko; do
	rel=${ko#"$kmods"/}
	mkdir -p "$root/lib/modules/$KVER/$(dirname "$rel")"
	case $ko in
	*.xz) xz -dc "$ko" > "$root/lib/modules/$KVER/${rel%.xz}" ;;
	*) cp "$ko" "$root/lib/modules/$KVER/$rel" ;;
	esac
done
cp "$kmods"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$KVER/"
depmod -b "$root" "$KVER"

# The distro's vfio stack, kept out of modules.dep: the two stacks share
# module names and only `tb load` decides which one is loaded.
for m in $stack; do
	if [ -n "$TB_KERNEL" ]; then
		ko=$TB_KERNEL/vfio-upstream/$m.ko
		[ -e "$ko" ] || continue
		strip --strip-debug -o "$root/tb/modules/distro/$m.ko" "$ko"
		continue
	fi
	ko=$(modinfo -k "$KVER" -n "$m") || die "the distro kernel has no $m"
	case $ko in
	*.xz) xz -dc "$ko" > "$root/tb/modules/distro/$m.ko" ;;
	*) cp "$ko" "$root/tb/modules/distro/$m.ko" ;;
	esac
done

# Ours, when built (always there for `make bench`, required for ours).
if [ -d "$ours_dir" ] && ls "$ours_dir"/*.ko > /dev/null 2>&1; then
	mkdir -p "$root/tb/modules/ours"
	for ko in "$ours_dir"/*.ko; do
		# As INSTALL_MOD_STRIP=1 would: kallsyms still names functions.
		strip --strip-debug -o "$root/tb/modules/ours/${ko##*/}" "$ko"
	done
	# test-only modules (tools/testing/selftests/vfio/kmod)
	if ls "$ours_dir"/test/*.ko > /dev/null 2>&1; then
		mkdir -p "$root/tb/modules/ours/test"
		for ko in "$ours_dir"/test/*.ko; do
			strip --strip-debug -o "$root/tb/modules/ours/test/${ko##*/}" "$ko"
		done
	fi
	# type1 built without CONFIG_VFIO_STRICT_PFNMAP (`tb type1 loose`)
	if [ -e "$ours_dir/loose/vfio_iommu_type1.ko" ]; then
		mkdir -p "$root/tb/modules/ours/loose"
		strip --strip-debug -o "$root/tb/modules/ours/loose/vfio_iommu_type1.ko" \
			"$ours_dir/loose/vfio_iommu_type1.ko"
	fi
fi
if [ "$VFIO_MODULES" = ours ]; then
	for m in $stack; do
		[ -e "$root/tb/modules/ours/$m.ko" ] ||
			die "$ours_dir/$m.ko is missing (make modules, or make kernel)"
	done
fi

# Test programs: the run lists written by the selftests Makefile, and the
# binaries they name, stripped (the unstripped ones stay in
# build/selftests for gdb).
lists="tests noiommu kvm bench extra clients clients-noiommu"
for l in $lists; do
	grep -v '^$' "$B/selftests/$l.list" > "$root/tb/$l.list" || true
done
for l in $lists; do cat "$root/tb/$l.list"; done | sort -u | while read -r p; do
	[ -x "$B/selftests/$p" ] || die "build/selftests/$p was not built"
	strip -o "$root/tb/tests/$p" "$B/selftests/$p"
done

out=$TB/initramfs.cpio
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) > "$out.tmp"
mv "$out.tmp" "$out"

# The KVM boot's image: the same, with the host's QEMU appended as a
# second archive (the kernel unpacks both): the binary, the libraries
# ldd names and the firmware a q35 machine loads, at their host paths.
qemu_archive=$TB/qemu.cpio
if [ -n "$kvm_mods" ]; then
	qroot=$TB/root-kvm qemu=/usr/bin/qemu-system-x86_64
	rm -rf "$qroot"
	mkdir -p "$qroot/usr/bin" "$qroot/usr/share/qemu" "$qroot/usr/share/seabios"
	cp "$qemu" "$qroot/usr/bin/"
	for lib in $(ldd "$qemu" | grep -o '/[^ ]*'); do
		mkdir -p "$qroot$(dirname "$lib")"
		cp -L "$lib" "$qroot$lib"
	done
	cp -L /usr/share/seabios/bios-256k.bin "$qroot/usr/share/seabios/"
	cp -L /usr/share/qemu/{kvmvapic,linuxboot_dma}.bin "$qroot/usr/share/qemu/"
	(cd "$qroot" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) > "$qemu_archive"
	cat "$out" "$qemu_archive" > "$TB/initramfs-kvm.cpio.tmp"
	mv "$TB/initramfs-kvm.cpio.tmp" "$TB/initramfs-kvm.cpio"
	echo "initramfs-kvm: $(du -h "$TB/initramfs-kvm.cpio" | cut -f1) (with $qemu)"
fi

# The clients' boots (make check-clients): the KVM image plus one archive
# per vm/clients/image-*.sh - an L2 guest for QEMU, DPDK and its
# libraries...  Each script builds its archive from Debian's packages into
# a cache outside the tree (reused while its inputs are unchanged) and
# prints the archive's path as its last line.
if [ -n "$clients" ]; then
	archives=("$out" "$qemu_archive")
	for img in "$ST"/vm/clients/image-*.sh; do
		[ -x "$img" ] || continue
		a=$(KVER=$KVER TOP=$TOP B=$B TB=$TB "$img" | tail -n 1) ||
			die "${img##*/} failed"
		[ -r "$a" ] || die "${img##*/} made no archive ($a)"
		archives+=("$a")
	done
	cat "${archives[@]}" > "$TB/initramfs-clients.cpio.tmp"
	mv "$TB/initramfs-clients.cpio.tmp" "$TB/initramfs-clients.cpio"
	echo "initramfs-clients: $(du -h "$TB/initramfs-clients.cpio" | cut -f1)" \
		"(${#archives[@]} archives)"
fi
echo "initramfs: $(du -h "$out" | cut -f1) ($VFIO_MODULES modules," \
	"$(wc -l < "$root/tb/tests.list") test programs)"
