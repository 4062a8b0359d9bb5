#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs the build tree into a temporary prefix and builds a consumer of
# libtaskmon against it, with find_package(taskmon) and with pkg-config.
# Also checks the installed files, the SONAME, the exported symbols and that
# inner headers refuse direct inclusion.
#
#   run-consumer-test.sh BUILD_DIR WORK_DIR CONSUMER_SRC_DIR CMAKE CXX VERSION
#
# Exit 0 pass, 1 fail, 77 skip (pkg-config missing; CTest SKIP_RETURN_CODE).
set -eu

build=$1 work=$2 src=$3 cmake=$4 cxx=$5 version=$6

fail() { echo "consumer test: FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

step "cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "cmake --install failed"; }

lib=$(find "$prefix" -name 'libtaskmon.so.1' | head -n 1)
[ -n "$lib" ] || fail "libtaskmon.so.1 not installed"
libdir=$(dirname "$lib")
for f in "$libdir/libtaskmon.so" \
         "$libdir/cmake/taskmon/taskmonConfig.cmake" \
         "$libdir/cmake/taskmon/taskmonConfigVersion.cmake" \
         "$libdir/cmake/taskmon/taskmonTargets.cmake" \
         "$libdir/pkgconfig/taskmon.pc" \
         "$prefix/include/taskmon/taskmon.hpp" \
         "$prefix/include/taskmon/version.hpp" \
         "$prefix/include/taskmon/uapi/taskmon.h" \
         "$prefix/bin/taskmon" \
         "$prefix/bin/hello-ioctl"; do
    [ -e "$f" ] || fail "not installed: $f"
done
echo "installed files OK (libdir $libdir)"

step "SONAME and exported symbols"
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$soname" = "libtaskmon.so.1" ] || fail "SONAME is '$soname', expected libtaskmon.so.1"
nm -D --defined-only "$lib" | c++filt >"$work/symbols.txt"
if grep -v -e 'taskmon::' -e ' TASKMON_[0-9.]*$' "$work/symbols.txt" >"$work/leaked.txt"; then
    cat "$work/leaked.txt" >&2
    fail "symbols outside namespace taskmon are exported"
fi
grep -q 'taskmon::Monitor::sample() const' "$work/symbols.txt" || fail "Monitor::sample not exported"
grep -q 'typeinfo for taskmon::NoSuchProcess' "$work/symbols.txt" || fail "exception typeinfo not exported"
echo "SONAME $soname, $(wc -l <"$work/symbols.txt") symbols, all in namespace taskmon"

step "find_package(taskmon) consumer"
"$cmake" -S "$src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug >"$work/cmake-configure.log" 2>&1 ||
    { cat "$work/cmake-configure.log" >&2; fail "configuring the consumer failed"; }
"$cmake" --build "$work/cmake-build" >"$work/cmake-build.log" 2>&1 ||
    { cat "$work/cmake-build.log" >&2; fail "building the consumer failed"; }
"$work/cmake-build/consumer" || fail "CMake-built consumer failed"

step "find_package(taskmon 99) must fail (config-version file)"
mkdir -p "$work/too-new"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(x LANGUAGES CXX)\nfind_package(taskmon 99 REQUIRED)\n' \
    >"$work/too-new/CMakeLists.txt"
if "$cmake" -S "$work/too-new" -B "$work/too-new/build" -DCMAKE_PREFIX_PATH="$prefix" \
    >"$work/too-new.log" 2>&1; then
    fail "find_package(taskmon 99) succeeded against $version"
fi

step "pkg-config consumer"
if ! command -v pkg-config >/dev/null 2>&1; then
    # A skip by hand, a failure under TASKMON_REQUIRE_TOOLS=1 (scripts/test),
    # as tm_require_tool in tests/lib.sh decides.
    if [ "${TASKMON_REQUIRE_TOOLS:-0}" = 1 ]; then
        echo "FAILED: pkg-config is not installed (apt-get install pkgconf; TASKMON_REQUIRE_TOOLS=1: it must be there)" >&2
        exit 1
    fi
    echo "pkg-config is not installed (apt-get install pkgconf): skipping its part" >&2
    exit 77
fi
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
pcver=$(pkg-config --modversion taskmon) || fail "pkg-config cannot find taskmon.pc"
[ "$pcver" = "$version" ] || fail "taskmon.pc version $pcver, expected $version"
# shellcheck disable=SC2046 # word splitting of the flags is intended
"$cxx" -std=c++17 -Wall -Wextra -Werror -o "$work/pc-consumer" "$src/main.cpp" \
    $(pkg-config --cflags --libs taskmon) -Wl,-rpath,"$libdir" ||
    fail "building the consumer with pkg-config flags failed"
"$work/pc-consumer" || fail "pkg-config-built consumer failed"

step "inner headers refuse direct inclusion"
printf '#include <taskmon/monitor.hpp>\n' >"$work/direct.cpp"
if "$cxx" -std=c++17 -fsyntax-only -I"$prefix/include" "$work/direct.cpp" >"$work/direct.log" 2>&1; then
    fail "<taskmon/monitor.hpp> compiled on its own"
fi
grep -q 'Only <taskmon/taskmon.hpp> can be included directly' "$work/direct.log" ||
    { cat "$work/direct.log" >&2; fail "unexpected error for a direct include"; }

echo "consumer test: PASS"
