#!/bin/bash
# Debian kernels for the test VM.
#
#   tests/vm/kernel.sh kver FLAVOR        print the kernel version (KVER) FLAVOR means today
#   tests/vm/kernel.sh prepare FLAVOR     fetch that kernel (cached); print KVER last
#   tests/vm/kernel.sh vm-files FLAVOR    print the kernel, initramfs and CONFIG_HZ (for run-vm)
#   tests/vm/kernel.sh prune              delete superseded kernels unused for days
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
#
# A series is resolved from package lists at most a day old (apt-get update
# first, at most once per run).  prepare then prunes the cache: a Debian
# kernel older than another of its series in the cache (e.g. 6.1.0-56 once
# 6.1.0-57 is there), unused for TASKMON_KERNEL_KEEP_DAYS (7) days and not
# in use, is deleted.  Kernels not named like Debian's (sanitizer-*: their
# builder manages them) are never touched.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tm_prog=kernel.sh
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"
kernels=$tm_cache/kernels
keep_days=${TASKMON_KERNEL_KEEP_DAYS:-7}

die() { tm_die "$@"; }
note() { tm_note "$@"; }

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

# A machine kept for a while has package lists naming kernels that have
# since been superseded: resolve a series from lists at most a day old.
# tm_apt_update runs at most once per run (TASKMON_APT_UPDATED); the stamp
# spares calls outside a run the update.  Concurrent calls take turns (apt
# refuses a second update at once) and the second finds the lists fresh.
fresh_lists() {
	local stamp=$tm_cache/apt-lists-updated
	[ -z "${TASKMON_APT_UPDATED:-}" ] || return 0
	[ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ] || return 0
	if [ ! -w /var/lib/apt/lists ]; then
		note "the package lists may be out of date, and only root can update them: the kernel series may resolve to an older kernel"
		return 0
	fi
	mkdir -p "$tm_cache"
	if (
		flock 7
		[ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ] || exit 0
		tm_apt_update
		touch "$stamp"
	) 7>>"$tm_cache/.apt-update.lock"; then
		export TASKMON_APT_UPDATED=1
	else
		note "resolving from the package lists there are (they may be out of date)"
	fi
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
	fresh_lists
	image=$(metapackage_image "$meta")
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

# zstd and readelf: to take the uncompressed kernel out of the image.  The
# initramfs's busybox runs without a libc: it must be the static one.
ensure_tools() {
	tm_apt_install qemu-system-x86 cpio xz-utils kmod util-linux zstd binutils busybox-static
}

# Modules are built against /usr/src/linux-headers-KVER on the host.
ensure_headers() {
	local kver=$1 pkg=linux-headers-$1
	if tm_installed "$pkg" || [ -f "/usr/src/$pkg/Makefile" ]; then
		return
	fi
	if ! apt_knows "$pkg" && is_cached "$kver"; then
		# A kernel another script unpacked from elsewhere (e.g. trixie).
		note "$pkg is not in the apt archive: the VM can boot $kver, but build its modules elsewhere"
		return
	fi
	tm_apt_install "$pkg"
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

# Download the image package(s) and unpack them (never install them):
# tm_unpack_kernel builds the cache entry aside and renames it into place.
fetch_image() {
	local kver=$1 debs packages
	mapfile -t packages < <(image_packages "$kver")
	note "fetching ${packages[*]}"
	debs=$(mktemp -d "$kernels/.$kver.debs.XXXXXX")
	# (Expanded now: $debs is local.)
	# shellcheck disable=SC2064
	trap "rm -rf '$debs'" EXIT
	# apt downloads as the _apt user: let it write there.
	chown _apt "$debs" 2>/dev/null || true
	(cd "$debs" && apt-get download -qq "${packages[@]}" >&2) ||
		die "apt-get download ${packages[*]} failed: run apt-get update, or check the network"
	tm_unpack_kernel "$kernels/$kver" "$kver" "$debs"/*.deb ||
		die "cannot unpack ${packages[*]} (see above)"
	rm -rf "$debs"
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

# The kernel's tick rate (CONFIG_HZ), from the configuration its package
# ships (root/boot/config-RELEASE), the build tree (tests/sanitizer) or
# the host's headers of it; empty if none is there (trixie's split
# packages ship no config).
kernel_hz() {
	local name=$1 dir=$kernels/$1 config release
	release=$(kernel_release "$name")
	for config in "$dir/root/boot/config-$release" "$dir/build/.config" \
		"/usr/src/linux-headers-$release/.config"; do
		if [ -f "$config" ]; then
			sed -n 's/^CONFIG_HZ=\([0-9]*\)$/\1/p' "$config"
			return
		fi
	done
}

# What QEMU boots: the kernel image and the initramfs, one per line, then
# CONFIG_HZ (run-vm's lpj= needs it; an empty line if unknown).
vm_files() {
	local kver=$1 dir=$kernels/$1 initramfs
	extract_vmlinux "$kver"
	initramfs=$(ensure_initramfs "$kver")
	if [ -f "$dir/vmlinux" ]; then echo "$dir/vmlinux"; else echo "$dir/vmlinuz"; fi
	echo "$initramfs"
	kernel_hz "$kver"
}

prepare() {
	local kver=$1
	ensure_headers "$kver"
	lock_kernel "$kver"
	is_cached "$kver" || fetch_image "$kver"
	vm_files "$kver" >/dev/null
	exec 9>&- # the lock: prune takes the others'
}

# A Debian kernel's series: what is left of its name without the version
# (6.1.0-57-amd64 -> 6.1 amd64, 6.12.117+deb12-amd64 -> 6.12 +deb12 amd64,
# 7.3.4+deb13-cloud-amd64 -> 7.3 +deb13 cloud-amd64); nothing for a name
# that is not a Debian kernel's (sanitizer-KEY).
debian_series() {
	[[ $1 =~ ^([0-9]+\.[0-9]+)\.[0-9]+(-[0-9]+)?(\+[a-z]+[0-9]*)?-([a-z][a-z0-9-]*)$ ]] || return 1
	echo "${BASH_REMATCH[1]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
}

# Delete the Debian kernels of the cache that a newer one of the same
# series superseded (the series now resolves to it, or a newer trixie
# kernel was unpacked) and that no run used for keep_days days (run-vm
# touches the initramfs at every boot).  One in use (run-vm holds .KVER.use,
# kernel.sh .KVER.lock) is left for next time.
prune() {
	local dir name series newest older=() kept=0
	declare -A newest_of=()
	for dir in "$kernels"/*/; do
		name=$(basename "$dir")
		series=$(debian_series "$name") || continue
		newest=${newest_of[$series]:-}
		if [ -z "$newest" ] || [ "$(printf '%s\n' "$newest" "$name" | sort -V | tail -n 1)" = "$name" ]; then
			newest_of[$series]=$name
		fi
	done
	for dir in "$kernels"/*/; do
		name=$(basename "$dir")
		series=$(debian_series "$name") || continue
		[ "${newest_of[$series]}" != "$name" ] || continue
		if [ -n "$(find "$dir" -maxdepth 1 -mtime -"$keep_days" -print -quit)" ]; then
			kept=$((kept + 1))
			continue
		fi
		older+=("$name")
	done
	for name in "${older[@]}"; do
		# Both locks, without waiting: a kernel being prepared or booted
		# stays.
		if (
			flock -n 7 && flock -n 6 || exit 1
			rm -rf "${kernels:?}/$name"
		) 7>>"$kernels/.$name.lock" 6>>"$kernels/.$name.use"; then
			note "pruned $name from the cache: ${newest_of[$(debian_series "$name")]} supersedes it, and no run used it for $keep_days days"
			rm -f "$kernels/.$name.lock" "$kernels/.$name.use"
		else
			note "$name is superseded but in use: not pruned"
		fi
	done
	[ "$kept" -eq 0 ] ||
		note "$kept superseded kernel(s) used in the last $keep_days days stay in $kernels"
}

usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
	exit 2
}

[[ $# -eq 2 || ($# -eq 1 && $1 = prune) ]] || usage
# In this shell, not in resolve_kver's: TASKMON_APT_UPDATED must last.
if [ $# -eq 2 ] && flavor_metapackage "$2" >/dev/null; then fresh_lists; fi
case $1 in
kver)
	resolve_kver "$2"
	;;
prepare)
	ensure_tools
	kver=$(resolve_kver "$2")
	prepare "$kver"
	prune
	echo "$kver"
	;;
prune)
	prune
	;;
vm-files)
	kver=$(resolve_kver "$2")
	is_cached "$kver" || die "kernel $kver is not prepared: run tests/vm/kernel.sh prepare $2"
	lock_kernel "$kver"
	vm_files "$kver"
	;;
*) usage ;;
esac
