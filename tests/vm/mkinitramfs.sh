#!/bin/bash
# Build the test VM's initramfs for one kernel:
#
#   tests/vm/mkinitramfs.sh KERNEL_ROOT KVER OUTPUT.cpio.gz
#
# KERNEL_ROOT is the unpacked image package (holding lib/modules/KVER).
# The initramfs holds only a static busybox, the modules the kernel needs
# to reach the host over virtio-9p (in load order, decompressed: busybox's
# insmod reads plain .ko only) and tests/vm/init.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kroot=${1:?usage: mkinitramfs.sh KERNEL_ROOT KVER OUTPUT}
kver=${2:?usage: mkinitramfs.sh KERNEL_ROOT KVER OUTPUT}
output=${3:?usage: mkinitramfs.sh KERNEL_ROOT KVER OUTPUT}

# virtio-9p and the PCI transport; whatever is built in is skipped, and the
# dependencies come from the kernel's own modules.dep, in load order.
wanted=(virtio_pci 9pnet_virtio 9p)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,newroot,modules}
cp /bin/busybox "$work/bin/busybox"
cp "$here/init" "$work/init"
chmod 755 "$work/init"

: >"$work/modules/order"
declare -A seen=()
for module in "${wanted[@]}"; do
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		name=$(basename "$path")
		name=${name%.xz}
		name=${name%.zst}
		[ -z "${seen[$name]:-}" ] || continue
		seen[$name]=1
		case $path in
		*.xz) xz -dc "$path" >"$work/modules/$name" ;;
		*.zst) zstd -qdc "$path" >"$work/modules/$name" ;;
		*) cp "$path" "$work/modules/$name" ;;
		esac
		echo "$name" >>"$work/modules/order"
	done < <(modprobe --show-depends --dirname "$kroot" --set-version "$kver" "$module")
done

(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) >"$output"
