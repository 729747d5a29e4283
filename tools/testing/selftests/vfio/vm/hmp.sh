#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# hmp.sh SOCKET COMMAND...: run one QEMU monitor (HMP) command in a running
# test-bed guest and print its answer, e.g.
#   vm/hmp.sh build/testbed/check-iommu/monitor.sock info registers -a
# qemu.sh gives every guest a monitor socket in its output directory.
set -euo pipefail
sock=$1
shift
exec python3 - "$sock" "$*" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(2)
def drain():
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    return out
drain()				# the banner and the first prompt
s.sendall(sys.argv[2].encode() + b"\n")
out = drain().decode(errors="replace").replace("\r", "")
# Drop the echoed command line and the trailing prompt.
lines = [l for l in out.split("\n") if not l.startswith("(qemu)")]
print("\n".join(lines).strip())
PY
