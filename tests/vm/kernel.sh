#!/bin/bash
# Debian kernels for the test VM.
#
#   tests/vm/kernel.sh kver FLAVOR        print the kernel version (KVER) FLAVOR means today
#   tests/vm/kernel.sh prepare FLAVOR     fetch that kernel (cached); print KVER last
#   tests/vm/kernel.sh vm-files FLAVOR    print the kernel and initramfs QEMU boots (for run-vm)
#
# FLAVOR is a kernel series (6.1, 6.12: see flavor_metapackage below), a
# KVER already in the cache (one another script unpacked there), or a KVER
# whose linux-image-KVER package apt knows.  A series is resolved from the
# apt archive each time: its ABI number moves on (6.1.0-56 today, -57
# tomorrow), so none is written down anywhere.
#
# prepare installs linux-headers-KVER on the host (to build modules for
# it), and unpacks the image package, without installing it, into
#   ${TASKMON_CACHE:-/var/cache/taskmon}/kernels/KVER/
#     root/                     the unpacked package(s), with modules.dep
#     vmlinuz                   -> the kernel image in root/
#     vmlinux                   the same, uncompressed, if it can boot it faster
#     initramfs-HASH.cpio.gz    busybox + 9p modules + tests/vm/init
#     initramfs.cpio.gz         -> the newest of those
# HASH covers init, mkinitramfs.sh and busybox, so an edited init is
# picked up at the next run and checkouts with different inits do not
# overwrite each other's initramfs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernels=${TASKMON_CACHE:-/var/cache/taskmon}/kernels

die() {
	echo "kernel.sh: $*" >&2
	exit 1
}
note() { echo "kernel.sh: $*" >&2; }

# The metapackage that always depends on the newest image of a series.  To
# add a series, add a line (and, if the archive holding it is not in
# /etc/apt/sources.list yet, add that first).
flavor_metapackage() {
	case $1 in
	6.1) echo linux-image-amd64 ;; # bookworm's default kernel
	6.12) echo linux-image-6.12-amd64 ;; # the newer series bookworm carries too
	*) return 1 ;;
	esac
}
flavors="6.1 6.12"

is_cached() { [ -f "$kernels/$1/vmlinuz" ] && [ -d "$kernels/$1/root" ]; }

apt_knows() { apt-cache show "$1" >/dev/null 2>&1; }

# apt-get update only when apt does not know PACKAGE (a fresh machine has
# no package lists at all).
apt_update_for() {
	apt_knows "$1" && return
	note "apt does not know $1: running apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed: check the network and /etc/apt/sources.list"
}

# Others may be installing packages at the same time: wait for dpkg's lock
# rather than fail.
apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o DPkg::Lock::Timeout=600 "$@" >&2 ||
		die "apt-get install $* failed (see apt's messages above)"
}

# METAPACKAGE -> linux-image-KVER
metapackage_image() {
	apt-cache depends "$1" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

# FLAVOR -> KVER, from the archive (one apt-cache call: they are slow).
resolve_flavor() {
	local flavor=$1 meta image kver
	meta=$(flavor_metapackage "$flavor")
	image=$(metapackage_image "$meta")
	if [ -z "$image" ]; then
		apt_update_for "$meta"
		image=$(metapackage_image "$meta")
	fi
	[ -n "$image" ] ||
		die "cannot find which linux-image $meta depends on: is the archive with the $flavor kernels in /etc/apt/sources.list?"
	kver=${image#linux-image-}
	# A metapackage that moved on to another series (a new Debian release)
	# must not silently turn the 6.1 tests into 6.12 ones.
	case $kver in
	"$flavor".*) ;;
	*) die "$meta now depends on $image, which is not a $flavor kernel: update flavor_metapackage in $0" ;;
	esac
	echo "$kver"
}

resolve_kver() {
	local name=$1
	if flavor_metapackage "$name" >/dev/null; then
		resolve_flavor "$name"
	elif is_cached "$name" || apt_knows "linux-image-$name"; then
		echo "$name"
	else
		die "unknown kernel '$name': use a series ($flavors), a version in $kernels ($(cached_list)), or one whose linux-image-VERSION package apt knows"
	fi
}

cached_list() {
	local d names=()
	for d in "$kernels"/*/vmlinuz; do
		[ -e "$d" ] && names+=("$(basename "$(dirname "$d")")")
	done
	echo "${names[*]:-none cached}"
}

ensure_tools() {
	local missing=() tool
	# zstd and readelf: to take the uncompressed kernel out of the image.
	for tool in qemu-system-x86_64:qemu-system-x86 cpio:cpio xz:xz-utils modprobe:kmod \
		depmod:kmod flock:util-linux zstd:zstd readelf:binutils; do
		command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
	done
	# The initramfs's busybox runs without a libc: it must be the static one.
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" ||
		missing+=(busybox-static)
	if [ ${#missing[@]} -gt 0 ]; then
		apt_update_for "${missing[0]}"
		apt_install "${missing[@]}"
	fi
}

# Modules are built against /usr/src/linux-headers-KVER on the host.
ensure_headers() {
	local kver=$1 pkg=linux-headers-$1
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
		[ -f "/usr/src/$pkg/Makefile" ]; then
		return
	fi
	if ! apt_knows "$pkg" && is_cached "$kver"; then
		# A kernel another script unpacked from elsewhere (e.g. trixie).
		note "$pkg is not in the apt archive: the VM can boot $kver, but build its modules elsewhere"
		return
	fi
	apt_update_for "$pkg"
	apt_knows "$pkg" || die "$pkg is not in the apt archive"
	note "installing $pkg"
	apt_install "$pkg"
}

# One prepare or initramfs build per kernel at a time: others share the
# cache and may call us concurrently.
lock_kernel() {
	mkdir -p "$kernels"
	exec 9>"$kernels/.$1.lock"
	if ! flock -n 9; then
		note "waiting for another kernel.sh working on $1"
		flock 9
	fi
}

# The image package and, for a kernel split over several packages (e.g.
# linux-binary-KVER + linux-modules-KVER), every dependency named *-KVER.
image_packages() {
	local kver=$1
	echo "linux-image-$kver"
	apt-cache depends "linux-image-$kver" 2>/dev/null |
		awk -v k="-$kver" '$1 ~ /Depends:$/ && $2 ~ /^linux-/ && $2 !~ /^linux-headers-/ &&
			substr($2, length($2) - length(k) + 1) == k { print $2 }' | sort -u
}

# Download and unpack (never install) the image into a fresh directory,
# renamed into place when complete.
fetch_image() {
	local kver=$1 dir=$kernels/$1 work deb image packages
	mapfile -t packages < <(image_packages "$kver")
	note "fetching ${packages[*]}"
	work=$(mktemp -d "$kernels/.$kver.XXXXXX")
	# A half-unpacked kernel is no use.  (Expanded now: $work is local.)
	# shellcheck disable=SC2064
	trap "rm -rf '$work'" EXIT
	chmod 755 "$work"
	mkdir "$work/debs"
	# apt downloads as the _apt user: let it write there.
	chown _apt "$work/debs" 2>/dev/null || true
	(cd "$work/debs" && apt-get download -qq "${packages[@]}" >&2) ||
		die "apt-get download ${packages[*]} failed: run apt-get update, or check the network"
	for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
	rm -rf "$work/debs"
	# Merged-/usr packages have usr/lib/modules only; depmod -b wants lib/.
	[ -e "$work/root/lib" ] || ln -s usr/lib "$work/root/lib"
	# modules.dep is made by the package's postinst, which never runs here.
	depmod -b "$work/root" "$kver"
	image=$(cd "$work" && find root/boot/ root/lib/modules/"$kver"/ -maxdepth 1 \
		\( -name "vmlinuz-$kver" -o -name vmlinuz \) 2>/dev/null | head -n 1)
	[ -n "$image" ] || die "no vmlinuz in ${packages[*]}"
	ln -s "$image" "$work/vmlinuz"
	rm -rf "$dir"
	mv "$work" "$dir"
	trap - EXIT
}

# QEMU boots an uncompressed kernel through its PVH entry point
# (CONFIG_PVH), which skips the bzImage decompressing itself under TCG:
# 2.5 s of 6 for a 6.1 run on a quiet host (xz), more on a busy one.  Debian ships only the bzImage: take the ELF out of it
# (like the kernel's scripts/extract-vmlinux).  Without readelf, or with
# no PVH entry, there is no vmlinux and run-vm boots the bzImage.
extract_vmlinux() {
	local kver=$1 dir=$kernels/$1 magic tool offset
	[ ! -f "$dir/vmlinux" ] && [ ! -f "$dir/vmlinux.none" ] || return 0
	# Missing tools (prepare installs them): try again next time.
	for tool in readelf xz zstd gzip; do
		command -v "$tool" >/dev/null || return 0
	done
	for magic in '\xfd\x37\x7a\x58\x5a\x00:xz --single-stream' '\x28\xb5\x2f\xfd:zstd' \
		'\x1f\x8b\x08:gzip'; do
		tool=${magic#*:}
		for offset in $(LC_ALL=C grep -obUaP "${magic%%:*}" "$dir/vmlinuz" | cut -d: -f1 | head -n 3); do
			# The payload is followed by other data: ignore the decompressor's
			# complaint about it and judge the output.
			tail -c +$((offset + 1)) "$dir/vmlinuz" | $tool -dc >"$dir/vmlinux.tmp" 2>/dev/null || true
			# XEN_ELFNOTE_PHYS32_ENTRY (18) is the PVH entry point.
			if readelf -n "$dir/vmlinux.tmp" 2>/dev/null | grep -qE 'Xen .*\(0x00000012\)'; then
				mv "$dir/vmlinux.tmp" "$dir/vmlinux"
				return
			fi
		done
	done
	rm -f "$dir/vmlinux.tmp"
	note "no PVH-bootable vmlinux in $kver's image: the VM boots the compressed one (slower)"
	: >"$dir/vmlinux.none" # do not try at every boot
}

initramfs_hash() {
	cat "$here/init" "$here/mkinitramfs.sh" /bin/busybox | sha256sum | cut -c1-12
}

# The release (uname -r) of the kernel cached as NAME: NAME itself for
# the kernels we fetch, the only one under root/ for a kernel another
# script built and named (tests/sanitizer: sanitizer-KEY).
kernel_release() {
	local name=$1 root=$kernels/$1/root releases=()
	if [ -d "$root/lib/modules/$name" ] || [ -d "$root/usr/lib/modules/$name" ]; then
		echo "$name"
		return
	fi
	mapfile -t releases < <(find "$root/lib/modules/" "$root/usr/lib/modules/" -mindepth 1 \
		-maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -u)
	[ ${#releases[@]} -eq 1 ] ||
		die "cannot tell which kernel release $kernels/$name/root holds (${releases[*]:-none})"
	echo "${releases[0]}"
}

# Build the initramfs this checkout's init needs, unless it is there;
# print its path.
ensure_initramfs() {
	local name=$1 dir=$kernels/$1 initramfs release
	initramfs=$dir/initramfs-$(initramfs_hash).cpio.gz
	if [ ! -f "$initramfs" ]; then
		release=$(kernel_release "$name")
		"$here/mkinitramfs.sh" "$dir/root" "$release" "$initramfs"
		ln -sfn "$(basename "$initramfs")" "$dir/initramfs.cpio.gz"
		# Initramfs of other (older) inits, unused for two weeks.
		find "$dir" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -name "$(basename "$initramfs")" \
			-mtime +14 -delete
	fi
	# In use: keep the clean-up above away from it.
	touch "$initramfs"
	echo "$initramfs"
}

# What QEMU boots: the kernel image and the initramfs, one per line.
vm_files() {
	local kver=$1 dir=$kernels/$1 initramfs
	extract_vmlinux "$kver"
	initramfs=$(ensure_initramfs "$kver")
	if [ -f "$dir/vmlinux" ]; then echo "$dir/vmlinux"; else echo "$dir/vmlinuz"; fi
	echo "$initramfs"
}

prepare() {
	local kver=$1
	ensure_headers "$kver"
	lock_kernel "$kver"
	is_cached "$kver" || fetch_image "$kver"
	vm_files "$kver" >/dev/null
}

usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
	exit 2
}

[ $# -eq 2 ] || usage
case $1 in
kver)
	resolve_kver "$2"
	;;
prepare)
	ensure_tools
	kver=$(resolve_kver "$2")
	prepare "$kver"
	echo "$kver"
	;;
vm-files)
	kver=$(resolve_kver "$2")
	is_cached "$kver" || die "kernel $kver is not prepared: run tests/vm/kernel.sh prepare $2"
	lock_kernel "$kver"
	vm_files "$kver"
	;;
*) usage ;;
esac
