#!/bin/sh
# Build the two stock images and upload them (what `make up` runs; idempotent):
#   busybox  (rootfs-tar)     <- build-busybox-rootfs.sh
#   tiny-vm  (kernel+initrd)  <- build-tiny-vm.sh (the uncompressed PVH vmlinux: half the boot time under TCG)
# Outputs go to $KUMO_HOME/images/{busybox,tiny-vm}; a build is redone only when its script is newer
# than its output, and `kumo image upload` skips parts the server already has with the same sha256
# (the builds are reproducible), so a second run costs a few hashes and two GETs.
# Usage: upload-images.sh    (env: KUMO_HOME, default /var/lib/kumo; KUMO, default <repo>/bin/kumo)
set -eu

die() { echo "upload-images: $*" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KUMO=${KUMO:-$REPO/bin/kumo}
OUT=${KUMO_HOME:-/var/lib/kumo}/images
[ -x "$KUMO" ] || die "$KUMO not found (build first: make build)"

# stale OUTPUT SCRIPT: true when OUTPUT is missing or older than SCRIPT.
stale() { [ ! -s "$1" ] || [ "$2" -nt "$1" ]; }

if stale "$OUT/busybox/busybox-rootfs.tar" "$HERE/build-busybox-rootfs.sh"; then
	"$HERE/build-busybox-rootfs.sh" "$OUT/busybox" || die "building busybox failed"
fi
if stale "$OUT/tiny-vm/vmlinux" "$HERE/build-tiny-vm.sh" || stale "$OUT/tiny-vm/initramfs.cpio.gz" "$HERE/build-tiny-vm.sh"; then
	"$HERE/build-tiny-vm.sh" "$OUT/tiny-vm" || die "building tiny-vm failed"
fi

"$KUMO" image upload busybox --format rootfs-tar --file "$OUT/busybox/busybox-rootfs.tar" \
	--description "busybox-static container rootfs" || die "uploading busybox failed"
"$KUMO" image upload tiny-vm --format kernel+initrd --kernel "$OUT/tiny-vm/vmlinux" \
	--initrd "$OUT/tiny-vm/initramfs.cpio.gz" \
	--description "Debian kernel $(cat "$OUT/tiny-vm/kernel-version" 2>/dev/null || echo '?') + busybox initramfs (DHCP on eth0, httpd)" ||
	die "uploading tiny-vm failed"
