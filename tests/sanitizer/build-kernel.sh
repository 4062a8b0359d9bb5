#!/bin/bash
# Build the sanitizer kernel (KASAN, lockdep, KMEMLEAK, DEBUG_OBJECTS, UBSAN)
# from Debian's linux-source-6.1, once per machine:
#
#   tests/sanitizer/build-kernel.sh       prints the kernel's name last
#
# The configuration is x86_64_defconfig + kvm_guest.config + the fragment
# tests/sanitizer/sanitizer.config.  Everything is cached outside the
# checkout, keyed on a hash of the fragment, the linux-source package's
# version and the compiler's, so a second run only prints the name:
#
#   ${TASKMON_CACHE:-/var/cache/taskmon}/sanitizer/KEY/{linux,build}
#       the source tree and the build tree (the KDIR of the modules)
#   ${TASKMON_CACHE:-/var/cache/taskmon}/kernels/sanitizer-KEY/
#       vmlinuz, initramfs.cpio.gz, build -> the build tree: the layout
#       tests/vm/run-vm boots (--kernel sanitizer-KEY --append acpi=off)
#
# Other keys' trees are deleted when a new one is built: each takes ~3 GB.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
cache=${TASKMON_CACHE:-/var/cache/taskmon}
fragment=$here/sanitizer.config
tarball=/usr/src/linux-source-6.1.tar.xz
jobs=${TASKMON_JOBS:-$(nproc)}

die() { echo "build-kernel: $*" >&2; exit 1; }

# The build's own needs; setup-host installs the rest of the toolchain.
ensure_tools() {
	local missing=() pkg
	for pkg in linux-source-6.1 build-essential flex bison bc libelf-dev libssl-dev \
		cpio kmod busybox-static; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return
	echo "build-kernel: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
}

ensure_tools
source_version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$({
	cat "$fragment"
	echo "linux-source-6.1 $source_version"
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
echo "build-kernel: building $name from linux-source-6.1 $source_version with $jobs jobs" >&2
for old in "$cache"/sanitizer/*/ "$cache"/kernels/sanitizer-*/; do
	[ -d "$old" ] || continue
	case $old in "$work/" | "$kernel/") continue ;; esac
	echo "build-kernel: removing the outdated $old" >&2
	rm -rf "$old"
done
rm -rf "$work" "$kernel"
mkdir -p "$work/linux" "$work/build" "$kernel"
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
mismatch=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF -- "$line" "$work/build/.config" || mismatch+=("$line")
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
