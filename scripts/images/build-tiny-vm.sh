#!/bin/sh
# Build the `tiny-vm` image (kumo format `kernel+initrd`): a Debian kernel plus a busybox initramfs
# whose init loads the virtio-net modules, brings up eth0, runs udhcpc and keeps running (httpd).
# Usage: build-tiny-vm.sh OUTDIR   -> OUTDIR/vmlinuz, OUTDIR/initramfs.cpio.gz (+ .sha256 each)
#   and OUTDIR/vmlinux: the same kernel uncompressed (an ELF with a PVH entry). QEMU boots it
#   directly, skipping firmware real-mode setup and the in-guest xz decompression: under TCG
#   emulation that halves the time to /init (~2.5 s instead of ~5 s here). Skip with NO_VMLINUX=1.
# Kernel source: the installed linux-image-amd64 (/boot + /lib/modules) when present, else the
# package fetched with `apt-get download` and unpacked with `dpkg-deb -x` (nothing is installed or
# booted on the host). Force the download path with FROM_PACKAGE=1; pick a version with KVER=...
# Serial-console markers printed by the guest (the runtime and tests look for these):
#   "kumo-vm: init"            /init started (kernel booted, userspace running)
#   "kumo-vm: eth0 up"         virtio-net loaded and the link is up
#   "kumo-vm: eth0 A.B.C.D"    DHCP lease bound
set -eu

die() { echo "build-tiny-vm: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUT=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}
# Load order matters: each module needs the symbols of the ones before it (no modprobe/depmod here).
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net button evdev"

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found: apt-get install -y busybox-static"
if command -v file >/dev/null 2>&1 && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
	die "$BUSYBOX is not statically linked: apt-get install -y busybox-static"
fi
command -v cpio >/dev/null 2>&1 || die "cpio not found: apt-get install -y cpio"
command -v gzip >/dev/null 2>&1 || die "gzip not found: apt-get install -y gzip"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kumo-tiny-vm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

# --- kernel: installed, or from the Debian package --------------------------------------------
KROOT=/
if [ -z "${FROM_PACKAGE:-}" ] && [ -z "${KVER:-}" ]; then
	for f in $(ls /boot/vmlinuz-* 2>/dev/null | sort -V); do
		v=${f#/boot/vmlinuz-}
		[ -d "/lib/modules/$v/kernel" ] && KVER=$v
	done
fi
if [ -n "${KVER:-}" ] && [ -z "${FROM_PACKAGE:-}" ] && [ -r "/boot/vmlinuz-$KVER" ]; then
	echo "build-tiny-vm: using installed kernel $KVER"
else
	command -v apt-get >/dev/null 2>&1 || die "no installed kernel and no apt-get: apt-get install -y linux-image-amd64"
	command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found"
	PKG=${KVER:+linux-image-$KVER}
	[ -n "$PKG" ] || PKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
	[ -n "$PKG" ] || die "cannot resolve linux-image-amd64 (run apt-get update, or apt-get install -y linux-image-amd64)"
	mkdir -p "$OUT/.cache"
	if ! ls "$OUT/.cache/${PKG}_"*.deb >/dev/null 2>&1; then
		echo "build-tiny-vm: downloading $PKG"
		# apt-get download drops privileges to _apt, which needs a writable cwd.
		# (apt-get warns it cannot sandbox into our 0700 temp dir; only show its output on failure)
		(cd "$WORK" && apt-get download "$PKG" > "$WORK/apt.log" 2>&1) ||
			{ cat "$WORK/apt.log" >&2; die "apt-get download $PKG failed"; }
		mv "$WORK/${PKG}_"*.deb "$OUT/.cache/"
	fi
	KROOT=$WORK/kpkg
	dpkg-deb -x "$(ls "$OUT/.cache/${PKG}_"*.deb | head -n1)" "$KROOT"
	KVER=${PKG#linux-image-}
	echo "build-tiny-vm: using kernel $KVER from $PKG"
fi
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
MODDIR=$KROOT/lib/modules/$KVER
[ -r "$VMLINUZ" ] || die "$VMLINUZ missing (is linux-image-$KVER complete?)"
[ -d "$MODDIR/kernel" ] || die "$MODDIR missing: modules for $KVER are needed"

# --- initramfs tree --------------------------------------------------------------------------
R=$WORK/initramfs
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/etc/acpi/PWRF" "$R/proc" "$R/sys" \
	"$R/dev" "$R/run" "$R/tmp" "$R/root" "$R/www" "$R/var/log" "$R/lib/modules/kumo"
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
"$R/bin/busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] || [ -e "$R/$applet" ] || ln -s /bin/busybox "$R/$applet"
done

: > "$R/lib/modules/kumo/order"
for m in $MODULES; do
	if grep -q "/$m.ko\$" "$MODDIR/modules.builtin" 2>/dev/null; then continue; fi # built in
	ko=$(find "$MODDIR/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n1)
	[ -n "$ko" ] || die "module $m not found under $MODDIR (kernel too different from Debian 12's?)"
	case "$ko" in # busybox insmod wants plain ELF
	*.xz) xz -dc "$ko" > "$R/lib/modules/kumo/$m.ko" ;;
	*.zst) zstd -qdc "$ko" > "$R/lib/modules/kumo/$m.ko" ;;
	*) cp "$ko" "$R/lib/modules/kumo/$m.ko" ;;
	esac
	echo "$m" >> "$R/lib/modules/kumo/order"
done

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
printf '127.0.0.1\tlocalhost\n' > "$R/etc/hosts"

# The kernel starts /init with no PATH; it sets up the system, then execs busybox init (PID 1
# stays busybox, which reaps zombies, respawns services and handles poweroff).
cat > "$R/init" <<'INIT'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
echo "kumo-vm: init (kernel $(uname -r))" > /dev/console
for arg in $(cat /proc/cmdline); do
	case "$arg" in kumo.hostname=*) hostname "${arg#kumo.hostname=}" ;; esac
done
while read -r m; do
	insmod "/lib/modules/kumo/$m.ko" || echo "kumo-vm: insmod $m failed" > /dev/console
done < /lib/modules/kumo/order
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
# udhcpc spins forever on a down link, so bring it up first.
if ip link set eth0 up 2>/dev/null; then
	echo "kumo-vm: eth0 up" > /dev/console
else
	echo "kumo-vm: no eth0" > /dev/console
	sed -i '/udhcpc/d' /etc/inittab # else init respawns a failing udhcpc forever
fi
echo "<h1>kumo tiny-vm $(hostname)</h1>" > /www/index.html
exec /sbin/init
INIT
chmod 755 "$R/init"

cat > "$R/etc/inittab" <<'TAB'
::respawn:/sbin/udhcpc -f -i eth0 -s /etc/udhcpc.script -t 5 -T 1 -A 1 -O mtu
::respawn:/usr/sbin/httpd -f -p 80 -h /www
::respawn:/sbin/acpid -f -c /etc/acpi
::shutdown:/bin/echo kumo-vm: shutting down
::ctrlaltdel:/sbin/poweroff
TAB

# ACPI power button (QMP system_powerdown) -> clean poweroff instead of being ignored.
printf '#!/bin/sh\nexec /sbin/poweroff\n' > "$R/etc/acpi/PWRF/00000080"
chmod 755 "$R/etc/acpi/PWRF/00000080"

cat > "$R/etc/udhcpc.script" <<'DHCP'
#!/bin/sh
# busybox udhcpc hook: $1 is the event, the lease is in the environment.
case "$1" in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	[ -n "${mtu:-}" ] && ip link set dev "$interface" mtu "$mtu"
	old=$(cat "/run/lease.$interface" 2>/dev/null || true)
	if [ "$old" != "$ip/$mask" ]; then
		ip addr flush dev "$interface"
		ip addr add "$ip/$mask" ${broadcast:+broadcast $broadcast} dev "$interface"
		echo "$ip/$mask" > "/run/lease.$interface"
		echo "kumo-vm: $interface $ip" > /dev/console
	fi
	ip route del default dev "$interface" 2>/dev/null || true
	for r in ${router:-}; do ip route add default via "$r" dev "$interface"; break; done
	: > /etc/resolv.conf
	[ -n "${domain:-}" ] && echo "search $domain" >> /etc/resolv.conf
	for d in ${dns:-}; do echo "nameserver $d" >> /etc/resolv.conf; done
	[ -n "${hostname:-}" ] && hostname "$hostname"
	;;
esac
exit 0
DHCP
chmod 755 "$R/etc/udhcpc.script"

# --- pack, reproducibly ----------------------------------------------------------------------
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
	gzip -9n > "$WORK/initramfs.cpio.gz"
cp "$VMLINUZ" "$WORK/vmlinuz"
if [ -z "${NO_VMLINUX:-}" ]; then
	command -v xz >/dev/null 2>&1 || die "xz not found (needed for vmlinux): apt-get install -y xz-utils, or NO_VMLINUX=1"
	# The bzImage carries the kernel as an xz stream (Debian: CONFIG_KERNEL_XZ); find its magic.
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || die "no xz payload in $VMLINUZ (not an xz-compressed kernel?); use NO_VMLINUX=1"
	tail -c +$((off + 1)) "$VMLINUZ" | xz -dc --single-stream > "$WORK/vmlinux" ||
		die "cannot decompress the kernel payload of $VMLINUZ"
	[ "$(head -c 4 "$WORK/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] || die "extracted vmlinux is not an ELF"
	mv -f "$WORK/vmlinux" "$OUT/vmlinux"
	(cd "$OUT" && sha256sum vmlinux > vmlinux.sha256)
fi
mv -f "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
(cd "$OUT" && sha256sum vmlinuz > vmlinuz.sha256 && sha256sum initramfs.cpio.gz > initramfs.cpio.gz.sha256)
echo "$KVER" > "$OUT/kernel-version"
echo "build-tiny-vm: $OUT/vmlinuz ($(wc -c < "$OUT/vmlinuz") bytes), $OUT/initramfs.cpio.gz ($(wc -c < "$OUT/initramfs.cpio.gz") bytes), kernel $KVER"
