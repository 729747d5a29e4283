#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# testbed-env.sh: print the test bed's facts as shell assignments, for
# vm/qemu.sh (where to put each device) and the guest (vm/tb, vm/init).
# testbed.h is their only source, so the C tests, the QEMU command line
# and the guest scripts cannot disagree about an address.
set -euo pipefail
h=$(dirname "$0")/../testbed.h

# Every `#define TB_FOO "string"` of testbed.h.
sed -n 's/^#define[[:space:]]\{1,\}\(TB_[A-Z0-9_]*\)[[:space:]]\{1,\}"\([^"]*\)".*/\1="\2"/p' "$h"

# The devices `tb reset` puts back (all but the harness's own 9p share),
# and the host drivers some of them start on.
devs=$(sed -n 's/^#define[[:space:]]\{1,\}\(TB_[A-Z0-9_]*_BDF\)[[:space:]].*/\1/p' "$h" |
	grep -v '^TB_SHARE_BDF$' | sed 's/.*/$&/' | tr '\n' ' ')
echo "TB_DEVICES=\"${devs% }\""
# pci-stub binds whatever driver_override names it: a driver that is not
# vfio-pci and always probes (the SR-IOV test binds a VF to it).
echo 'TB_HOST_MODULES="e1000 nvme pci-stub"'
# shellcheck disable=SC2016 # expanded where the file is sourced
echo 'TB_HOST_DRIVERS="$TB_PAIR_E1000_BDF=e1000 $TB_NVME_PF_BDF=nvme"'
