#!/bin/bash
# Debian kernels for the test VM.
#
#   tests/vm/kernel.sh kver FLAVOR      print the kernel version FLAVOR means today
#   tests/vm/kernel.sh prepare FLAVOR   fetch it (cached) and print its version last
#
# FLAVOR is 6.1 or 6.12 (bookworm's archive), or a full version already in
# the cache (e.g. one another script extracted there).  Versions are
# resolved from the archive each time: the ABI number moves on (6.1.0-56
# today, -57 tomorrow), so none is written down anywhere.
#
# prepare installs linux-headers-KVER on the host (to build modules), and
# unpacks the image package, without installing it, into
#   ${TASKMON_CACHE:-/var/cache/taskmon}/kernels/KVER/{root,vmlinuz,initramfs.cpio.gz}
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${TASKMON_CACHE:-/var/cache/taskmon}/kernels

die() { echo "kernel.sh: $*" >&2; exit 1; }

# The metapackage that follows each supported kernel series.
meta_package() {
	case $1 in
	6.1) echo linux-image-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	*) return 1 ;;
	esac
}

# apt-cache depends METAPACKAGE -> linux-image-KVER -> KVER
resolve_kver() {
	local flavor=$1 meta image
	if [ -f "$cache/$flavor/vmlinuz" ]; then
		echo "$flavor"
		return
	fi
	meta=$(meta_package "$flavor") ||
		die "unknown kernel '$flavor': use 6.1 or 6.12, or a version prepared in $cache"
	image=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
	if [ -z "$image" ]; then
		apt-get update -qq >&2
		image=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
	fi
	[ -n "$image" ] || die "cannot resolve $meta in the apt archive: check /etc/apt/sources.list (bookworm and bookworm-security)"
	echo "${image#linux-image-}"
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 ||
		die "apt-get install $* failed"
}

ensure_tools() {
	local missing=() tool
	for tool in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio xz:xz-utils \
		modprobe:kmod; do
		command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
	done
	# busybox must be the static one: it runs alone in the initramfs.
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" ||
		missing+=(busybox-static)
	[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

prepare() {
	local kver=$1 dir=$cache/$1 tmp
	if ! dpkg-query -W -f='${Status}' "linux-headers-$kver" 2>/dev/null | grep -q "ok installed"; then
		[ -e "/usr/src/linux-headers-$kver/Makefile" ] || apt_install "linux-headers-$kver"
	fi
	if [ ! -f "$dir/vmlinuz" ]; then
		echo "kernel.sh: fetching linux-image-$kver" >&2
		tmp=$(mktemp -d)
		# apt drops root to _apt for downloads: let it write there.
		chown _apt "$tmp" 2>/dev/null || true
		(cd "$tmp" && apt-get download -qq "linux-image-$kver" >&2) ||
			die "apt-get download linux-image-$kver failed"
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg -x "$tmp"/linux-image-*.deb "$dir/root"
		# modules.dep is made by the package's postinst, which never runs here.
		depmod -b "$dir/root" "$kver"
		rm -rf "$tmp"
		ln -sf "root/boot/vmlinuz-$kver" "$dir/vmlinuz"
	fi
	if [ ! -f "$dir/initramfs.cpio.gz" ] || [ "$here/mkinitramfs.sh" -nt "$dir/initramfs.cpio.gz" ] ||
		[ "$here/init" -nt "$dir/initramfs.cpio.gz" ]; then
		"$here/mkinitramfs.sh" "$dir/root" "$kver" "$dir/initramfs.cpio.gz"
	fi
}

case ${1:-} in
kver)
	resolve_kver "${2:?usage: kernel.sh kver FLAVOR}"
	;;
prepare)
	ensure_tools
	kver=$(resolve_kver "${2:?usage: kernel.sh prepare FLAVOR}")
	prepare "$kver"
	echo "$kver"
	;;
*)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
