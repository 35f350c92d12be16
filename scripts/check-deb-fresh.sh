#!/usr/bin/env bash
# Installs the .deb of `make package` on a fresh Debian 12 and uses it: a
# minimal bookworm made with debootstrap in a chroot (nothing of this
# machine's packages inside), `apt-get install ./marsc_*.deb` pulling its
# dependencies from the Debian archive, then marsc --help, zoo, compile,
# run and a short train on Fashion-MNIST from /usr/bin.
# Needs root, network access to the Debian archive and about 3 GB; takes
# minutes (not part of make test).
# Usage: scripts/check-deb-fresh.sh [DEB] [ROOT]
#   DEB   default build/release/marsc_*.deb (run `make package` first)
#   ROOT  the chroot folder, default /tmp/marsc-fresh-debian (reused if it
#         already holds a debootstrapped system)
set -euo pipefail
deb=${1:-$(ls build/release/marsc_*.deb 2>/dev/null | head -1)}
root=${2:-/tmp/marsc-fresh-debian}
mirror=${MIRROR:-http://deb.debian.org/debian}
[ -f "$deb" ] || { echo "no .deb (run make package first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null ||
  { apt-get update -q && apt-get install -y -q debootstrap; }
if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "debootstrap --variant=minbase bookworm $root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
    { tail -20 "$root.log"; exit 1; }
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/root/"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
in_root() { chroot "$root" /bin/bash -euo pipefail -c "$1"; }
in_root "dpkg -s marsc >/dev/null 2>&1 && apt-get remove -y -q marsc >/dev/null || true"
echo "apt-get install ./$(basename "$deb") in the fresh system"
in_root "apt-get update -q >/dev/null &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/$(basename "$deb") |
  grep -E 'newly installed'"
in_root "DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null"
in_root "cd /root && marsc --help | head -1 &&
  marsc zoo lenet5 -o l.onnx &&
  marsc compile l.onnx --calib random -o l.bin 2>/dev/null &&
  marsc run l.bin --limit 1 | head -3 &&
  marsc train --model l.onnx --limit-train 256 --limit-test 64 --epochs 1 \
    --qat-epochs 1 --prune-epochs 0 --finetune-epochs 0 -o t.onnx \
    --no-progress | tail -2"
echo "the .deb installs and runs on a fresh Debian 12"
