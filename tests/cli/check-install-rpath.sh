#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-install-rpath.sh prefix BUILD_DIR WORK_DIR CMAKE VERSION
#   'cmake --install BUILD_DIR --prefix' a temporary prefix (outside the
#   loader's path): the installed hello-ioctl runs without LD_LIBRARY_PATH,
#   with the installed libtaskmon, through an RPATH relative to itself; so it
#   still does once the prefix is moved.  taskmon carries libtaskmon's
#   objects (tools/taskmon/CMakeLists.txt): it has no RPATH and does not
#   load libtaskmon.so.1 at all.
# check-install-rpath.sh system SOURCE_DIR WORK_DIR CMAKE
#   A build configured for the prefix /usr (as the Debian package is) installs
#   programs with no RPATH or RUNPATH at all (lintian's
#   custom-library-search-path); it builds the two programs in WORK_DIR.
set -euo pipefail

fail() {
	echo "check-install-rpath: FAIL: $*" >&2
	exit 1
}
runpath() { # the RPATH or RUNPATH of ELF file $1, empty if none
	readelf -d "$1" | sed -nE 's/.*\((RPATH|RUNPATH)\).*\[(.*)\]/\2/p'
}

mode=$1
case $mode in
prefix)
	build=$2 work=$3 cmake=$4 version=$5
	rm -rf "$work"
	mkdir -p "$work"
	for component in Runtime Tools; do
		"$cmake" --install "$build" --prefix "$work/prefix" --component "$component" \
			>>"$work/install.log" 2>&1 ||
			{ cat "$work/install.log" >&2; fail "cmake --install --component $component"; }
	done
	# Moved after installing: only a relative RPATH still finds the library.
	mv "$work/prefix" "$work/moved"
	for program in taskmon hello-ioctl; do
		path=$work/moved/bin/$program
		[ -x "$path" ] || fail "$path not installed"
		rpath=$(runpath "$path")
		out=$(env -u LD_LIBRARY_PATH "$path" --version 2>&1) ||
			fail "$program --version: $out"
		[ "$out" = "$program $version (libtaskmon $version)" ] ||
			fail "$program --version printed '$out'"
		lib=$(env -u LD_LIBRARY_PATH ldd "$path" | sed -nE 's/^\s*libtaskmon\.so\.1 => (\S+).*/\1/p')
		if [ "$program" = taskmon ]; then
			[ -z "$rpath" ] || fail "taskmon has an RPATH/RUNPATH: $rpath (it links libtaskmon statically)"
			[ -z "$lib" ] || fail "taskmon loads libtaskmon.so.1 from '$lib' (it links libtaskmon statically)"
			echo "$program: no RUNPATH, no libtaskmon.so.1, runs: $out"
			continue
		fi
		case $rpath in
		\$ORIGIN/*) ;;
		*) fail "$program's RUNPATH is '$rpath', not relative to \$ORIGIN" ;;
		esac
		case $lib in
		"$work/moved/"*) ;;
		*) fail "$program loads libtaskmon.so.1 from '$lib', not from the installed prefix" ;;
		esac
		echo "$program: RUNPATH $rpath, runs: $out (libtaskmon from $lib)"
	done
	;;
system)
	src=$2 work=$3 cmake=$4
	rm -rf "$work"
	mkdir -p "$work"
	"$cmake" -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Debug \
		-DTASKMON_BUILD_TESTS=OFF -DTASKMON_BUILD_PYTHON=OFF -DTASKMON_BUILD_MANPAGES=OFF \
		>"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; fail "configure"; }
	"$cmake" --build "$work/build" -j2 --target taskmon_cli hello_ioctl >"$work/build.log" 2>&1 ||
		{ tail -50 "$work/build.log" >&2; fail "build"; }
	DESTDIR=$work/root "$cmake" --install "$work/build" --component Tools \
		>"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "install"; }
	for program in taskmon hello-ioctl; do
		path=$work/root/usr/bin/$program
		[ -x "$path" ] || fail "$path not installed"
		rpath=$(runpath "$path")
		[ -z "$rpath" ] || fail "/usr/bin/$program has an RPATH/RUNPATH: $rpath"
		echo "/usr/bin/$program: no RPATH or RUNPATH"
	done
	;;
*)
	fail "unknown mode '$mode' (prefix or system)"
	;;
esac
