#!/bin/sh
# Build a container rootfs tarball (kumo image format `rootfs-tar`) from Debian's busybox-static.
# Usage: build-busybox-rootfs.sh OUTDIR   -> OUTDIR/busybox-rootfs.tar (+ .sha256)
# Idempotent and reproducible: fixed mtimes/owners and sorted entries, so the same busybox
# package always yields the same sha256 (the image store is content-addressed).
set -eu

die() { echo "build-busybox-rootfs: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUT=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found: install it with 'apt-get install -y busybox-static'"
# A dynamically linked busybox would need the host's libc inside the rootfs.
if command -v file >/dev/null 2>&1 && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
	die "$BUSYBOX is not statically linked: install 'busybox-static' (not 'busybox')"
fi
command -v tar >/dev/null 2>&1 || die "tar not found: apt-get install -y tar"

mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kumo-busybox-rootfs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
R=$WORK/rootfs

mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/etc" "$R/proc" "$R/sys" "$R/dev" \
	"$R/run" "$R/var/log" "$R/root" "$R/home" "$R/www" "$R/tmp" "$R/var/tmp"
chmod 1777 "$R/tmp" "$R/var/tmp"
chmod 700 "$R/root"
cp "$BUSYBOX" "$R/bin/busybox"
chmod 755 "$R/bin/busybox"

# One symlink per applet at its canonical path (bin/sh, usr/bin/wget, sbin/ip, ...).
"$R/bin/busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	[ -e "$R/$applet" ] || ln -s /bin/busybox "$R/$applet"
done

cat > "$R/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$R/etc/group" <<'G'
root:x:0:
daemon:x:1:
nogroup:x:65534:
G
echo 'root:*:19000:0:99999:7:::' > "$R/etc/shadow"
chmod 600 "$R/etc/shadow"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > "$R/etc/hosts"
: > "$R/etc/resolv.conf"
echo kumo > "$R/etc/hostname"
printf 'hosts: files dns\n' > "$R/etc/nsswitch.conf"
printf 'NAME="kumo busybox"\nID=busybox\nVERSION_ID=%s\n' \
	"$("$R/bin/busybox" | head -n1 | sed -n 's/^BusyBox v\([^ ]*\).*/\1/p')" > "$R/etc/os-release"
echo '<h1>kumo busybox</h1>' > "$R/www/index.html"

TMP_TAR=$WORK/busybox-rootfs.tar
(cd "$R" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
	-cf "$TMP_TAR" .)
mv -f "$TMP_TAR" "$OUT/busybox-rootfs.tar"
(cd "$OUT" && sha256sum busybox-rootfs.tar > busybox-rootfs.tar.sha256)
echo "build-busybox-rootfs: $OUT/busybox-rootfs.tar ($(wc -c < "$OUT/busybox-rootfs.tar") bytes, sha256 $(cut -d' ' -f1 "$OUT/busybox-rootfs.tar.sha256"))"
