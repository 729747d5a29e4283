#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side kselftest: our include/uapi/linux/vfio.h must have the ABI of
# Linux 6.12's, as built by gcc.  See uapi_abi.py for what is compared.
#
#   check-uapi-abi.sh [OUR_HEADER] [DISTRO_HEADER]
#   check-uapi-abi.sh --mutate [OUR_HEADER] [DISTRO_HEADER]
#
# OUR_HEADER defaults to the header of this tree, DISTRO_HEADER to the
# newest /usr/src/linux-headers-6.12*-common copy.  --mutate feeds broken
# copies of OUR_HEADER to the check and expects every one to fail.
# --keep leaves the generated program and its output in a temp directory.
# Exit: 0 pass, 1 fail, 4 skip (kselftest codes).

KSFT_SKIP=4
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../../../.." && pwd)

mode=check
opts=()
args=()
for a in "$@"; do
	case "$a" in
	--mutate) mode=mutate ;;
	--*) opts+=("$a") ;;
	*) args+=("$a") ;;
	esac
done

newest_distro_header() {
	local h
	for h in /usr/src/linux-headers-6.12*-common/include/uapi/linux/vfio.h; do
		[ -e "$h" ] && printf '%s\n' "$h"
	done | sort -V | tail -n1
}

ours=${args[0]:-$top/include/uapi/linux/vfio.h}
ref=${args[1]:-$(newest_distro_header)}

skip() {
	echo "TAP version 13"
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
}

for tool in gcc python3; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
# A reference named on the command line must exist; the default may not.
if [ -z "$ref" ] || [ ! -r "$ref" ]; then
	[ -z "${args[1]}" ] ||
		{ echo "$0: cannot read ${args[1]}" >&2; exit 1; }
	skip "no distro vfio.h (install linux-headers-6.12-amd64)"
fi
if [ ! -r "$ours" ]; then
	echo "$0: cannot read $ours" >&2
	exit 1
fi

exec python3 "$here/uapi_abi.py" "$mode" "$ours" "$ref" "${opts[@]}"
