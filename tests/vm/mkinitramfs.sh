#!/bin/bash
# Build the test VM's initramfs for one kernel:
#
#   tests/vm/mkinitramfs.sh KERNEL_ROOT KVER OUTPUT.cpio.gz
#
# KERNEL_ROOT is the unpacked image package, holding lib/modules/KVER (or
# usr/lib/modules/KVER, the merged-/usr layout) with a modules.dep.  The
# initramfs holds only a static busybox, the modules the kernel needs to
# reach the host over virtio-9p, and tests/vm/init.  kernel.sh calls this;
# call it yourself only for a kernel you unpacked some other way.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage="usage: mkinitramfs.sh KERNEL_ROOT KVER OUTPUT"
kroot=${1:?$usage}
kver=${2:?$usage}
output=${3:?$usage}

# virtio-9p over the PCI transport.  Everything else they need (virtio,
# virtio_ring, netfs, fscache, ...) comes from the kernel's own modules.dep;
# whatever the kernel has built in is skipped.
wanted=(virtio_pci 9pnet_virtio 9p)

die() {
	echo "mkinitramfs.sh: $*" >&2
	exit 1
}

# modprobe -d DIR looks in DIR/lib/modules/KVER; a merged-/usr package has
# usr/lib/modules/KVER only, so point a private lib/modules at it.
modules_base() {
	local mods
	for mods in "$kroot/lib/modules/$kver" "$kroot/usr/lib/modules/$kver"; do
		if [ -f "$mods/modules.dep" ]; then
			mkdir -p "$work/base/lib/modules"
			ln -s "$(cd "$mods" && pwd)" "$work/base/lib/modules/$kver"
			echo "$work/base"
			return
		fi
	done
	die "no modules.dep under $kroot/{,usr/}lib/modules/$kver: run 'depmod -b $kroot $kver' first"
}

# busybox is the initramfs's only program: it must not need a libc.
check_busybox() {
	[ -x /bin/busybox ] || die "/bin/busybox is missing: apt-get install busybox-static"
	if ldd /bin/busybox >/dev/null 2>&1; then
		die "/bin/busybox is dynamically linked: apt-get install busybox-static (it replaces busybox)"
	fi
}

# Copy one module, decompressed: busybox's insmod loads plain .ko files only.
copy_module() {
	local path=$1 name=$2
	case $path in
	*.xz) xz -dc "$path" >"$work/root/modules/$name" ;;
	*.zst)
		command -v zstd >/dev/null || die "$path is zstd-compressed: apt-get install zstd"
		zstd -qdc "$path" >"$work/root/modules/$name"
		;;
	*.gz) gzip -dc "$path" >"$work/root/modules/$name" ;;
	*) cp "$path" "$work/root/modules/$name" ;;
	esac
}

# The modules in modprobe's load order (dependencies first), once each,
# listed in /modules/order for init.
add_modules() {
	local base module verb path name
	local -A seen=()
	base=$(modules_base)
	: >"$work/root/modules/order"
	for module in "${wanted[@]}"; do
		if ! modprobe --show-depends --dirname "$base" --set-version "$kver" "$module" \
			>"$work/deps" 2>"$work/error"; then
			# Some packages (e.g. trixie's linux-binary + linux-modules) ship
			# no modules.builtin: then a missing module may be built in.
			[ -s "$base/lib/modules/$kver/modules.builtin" ] ||
				[ -s "$base/lib/modules/$kver/modules.builtin.bin" ] ||
				{ echo "mkinitramfs.sh: no $module module and no modules.builtin: assuming $kver has it built in" >&2 && continue; }
			cat "$work/error" >&2
			die "$module is neither a module nor built into $kver: this kernel cannot reach the host over 9p"
		fi
		while read -r verb path _; do
			[ "$verb" = insmod ] || continue # "builtin NAME": nothing to load
			name=$(basename "$path")
			name=${name%.xz}
			name=${name%.zst}
			name=${name%.gz}
			[ -z "${seen[$name]:-}" ] || continue
			seen[$name]=1
			copy_module "$path" "$name"
			echo "$name" >>"$work/root/modules/order"
		done <"$work/deps"
	done
}

check_busybox
work=$(mktemp -d)
trap 'rm -rf "$work" "$output.tmp.$$"' EXIT
mkdir -p "$work"/root/{bin,dev,proc,sys,newroot,modules}
cp /bin/busybox "$work/root/bin/busybox"
install -m 755 "$here/init" "$work/root/init"
add_modules

# Written aside and renamed: a VM booting this kernel meanwhile must never
# read half a file.
(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$output.tmp.$$"
mv -f "$output.tmp.$$" "$output"
