#!/bin/bash
# Build the sanitizer kernel (KASAN, lockdep, KMEMLEAK, DEBUG_OBJECTS, UBSAN)
# from Debian's linux-source-SERIES, once per machine and series:
#
#   tests/sanitizer/build-kernel.sh [SERIES]    prints the kernel's name last
#
# SERIES is a kernel series bookworm has the source of: 6.1 (the default)
# or 6.12.
# The configuration is x86_64_defconfig + kvm_guest.config + the fragment
# tests/sanitizer/sanitizer.config.  Everything is cached outside the
# checkout, keyed on a hash of the fragment, the linux-source package's
# name and version and the compiler's, so a second run only prints the name:
#
#   ${TASKMON_CACHE:-/var/cache/taskmon}/sanitizer/KEY/{linux,build}
#       the source tree and the build tree (the KDIR of the modules)
#   ${TASKMON_CACHE:-/var/cache/taskmon}/kernels/sanitizer-KEY/
#       vmlinuz, initramfs.cpio.gz, build -> the build tree: the layout
#       tests/vm/run-vm boots (--kernel sanitizer-KEY)
#
# A new build deletes the older trees of the same series (each takes ~3 GB);
# those of the other series stay.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
tm_prog=build-kernel
# shellcheck source=../lib.sh
. "$checkout/tests/lib.sh"
series=${1:-6.1}
[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || tm_die "usage: build-kernel.sh [SERIES], e.g. 6.1 or 6.12, not '$series'"
cache=$tm_cache
fragment=$here/sanitizer.config
source_package=linux-source-$series
tarball=/usr/src/$source_package.tar.xz
jobs=${TASKMON_JOBS:-$(nproc)}

die() { tm_die "$@"; }

# The build's own needs; setup-host installs the rest of the toolchain.
tm_apt_install "$source_package" build-essential flex bison bc libelf-dev libssl-dev \
	cpio kmod busybox-static
source_version=$(dpkg-query -W -f='${Version}' "$source_package")
# (The same key as when only 6.1 was built: its cached kernel stays valid.)
key=$({
	cat "$fragment"
	echo "$source_package $source_version"
	gcc --version | head -n 1
} | sha256sum | cut -c1-16)
name=sanitizer-$key
work=$cache/sanitizer/$key
kernel=$cache/kernels/$name

if [ -f "$kernel/vmlinuz" ] && [ -f "$kernel/initramfs.cpio.gz" ] &&
	[ -f "$work/build/Module.symvers" ]; then
	echo "$name"
	exit 0
fi

mkdir -p "$cache/sanitizer" "$cache/kernels"
# Two test runs on one machine must not build the same tree at once.
exec 9>"$cache/sanitizer/.lock"
flock 9
if [ -f "$kernel/vmlinuz" ] && [ -f "$kernel/initramfs.cpio.gz" ]; then
	echo "$name"
	exit 0
fi

started=$(date +%s)
echo "build-kernel: building $name from $source_package $source_version with $jobs jobs" >&2
# The older trees of this series (a tree without a series file is from
# before there were several: 6.1).
for old in "$cache"/sanitizer/*/; do
	[ -d "$old" ] || continue
	[ "$old" != "$work/" ] || continue
	[ "$(cat "$old/series" 2>/dev/null || echo 6.1)" = "$series" ] || continue
	echo "build-kernel: removing the outdated $old and its kernel" >&2
	rm -rf "$old" "$cache/kernels/sanitizer-$(basename "$old")"
done
rm -rf "$work" "$kernel"
mkdir -p "$work/linux" "$work/build" "$kernel"
echo "$series" >"$work/series"
tar -xf "$tarball" -C "$work/linux" --strip-components=1

log=$work/build.log
make_k() { make -C "$work/linux" O="$work/build" "$@" >>"$log" 2>&1; }
run_step() { # run_step WHAT make-arguments...
	local what=$1
	shift
	if ! make_k "$@"; then
		tail -n 40 "$log" >&2
		die "$what failed (full log: $log)"
	fi
}

run_step "x86_64_defconfig" x86_64_defconfig
(cd "$work/build" && "$work/linux/scripts/kconfig/merge_config.sh" -m -O "$work/build" \
	"$work/build/.config" "$work/linux/kernel/configs/kvm_guest.config" "$fragment") >>"$log" 2>&1 ||
	die "merging the configuration failed (log: $log)"
run_step "olddefconfig" olddefconfig

# Kconfig drops a setting whose dependencies are not met without a word:
# check that every line of the fragment made it into the configuration.
# An option this source does not define at all is left out with a note:
# the fragment serves several series (6.12 has no UBSAN_SANITIZE_ALL, it
# sanitizes everything by default).
defined() {
	grep -rqxE --include='Kconfig*' "(menu)?config ${1#CONFIG_}" "$work/linux"
}
mismatch=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF -- "$line" "$work/build/.config" && continue
		if defined "${line%%=*}"; then
			mismatch+=("$line")
		else
			tm_note "$source_package has no ${line%%=*}: left out"
		fi
		;;
	"# CONFIG_"*" is not set")
		option=${line#\# }
		option=${option%% *}
		! grep -qE "^$option=" "$work/build/.config" || mismatch+=("$line")
		;;
	esac
done <"$fragment"
if [ ${#mismatch[@]} -ne 0 ]; then
	printf '  %s\n' "${mismatch[@]}" >&2
	die "these settings of $fragment did not survive olddefconfig"
fi

run_step "the kernel build" -j"$jobs" all
kver=$(make -s -C "$work/linux" O="$work/build" kernelrelease)
run_step "modules_install" INSTALL_MOD_PATH="$kernel/root" modules_install
depmod -b "$kernel/root" "$kver"
cp "$work/build/arch/x86/boot/bzImage" "$kernel/vmlinuz"
ln -sfn "$work/build" "$kernel/build"
# virtio-9p is built in: the initramfs gets no module, only busybox and init.
"$checkout/tests/vm/mkinitramfs.sh" "$kernel/root" "$kver" "$kernel/initramfs.cpio.gz"

echo "build-kernel: built $kver in $(($(date +%s) - started)) s" >&2
echo "$name"
