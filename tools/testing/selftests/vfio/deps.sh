#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install whatever the build, the checks and the guest test bed need and is
# not installed yet.  Quiet when there is nothing to do; safe to run twice.
set -e
pkgs=(
	linux-image-6.12-amd64 linux-headers-6.12-amd64 linux-source-6.12
	build-essential bc bison flex libelf-dev libssl-dev kmod cpio xz-utils
	rsync python3 perl qemu-system-x86 busybox-static sparse coccinelle
	pciutils
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
