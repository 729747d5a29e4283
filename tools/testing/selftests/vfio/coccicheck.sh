#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the kernel's coccinelle scripts in report mode over our sources.
#   coccicheck.sh KSRC TOP
# KSRC holds scripts/coccinelle from the linux-source tarball.  Prints what
# the scripts report and fails if anything was reported.
set -u
ksrc=$1
top=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

find "$ksrc/scripts/coccinelle" -name '*.cocci' | sort | while read -r c; do
	# Scripts that only have a patch mode print nothing useful in report.
	grep -q 'virtual report' "$c" || continue
	spatch --very-quiet -D report --no-show-diff --cocci-file "$c" \
		--include-headers -I "$top/include" \
		--dir "$top/drivers/vfio" 2>/dev/null
done | grep -v '^$' >"$out"

if [ -s "$out" ]; then
	cat "$out"
	exit 1
fi
exit 0
