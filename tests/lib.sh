# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Shell helpers shared by scripts/ and tests/: source it, never run it.
#
#   . "$root/tests/lib.sh"
#
# Everything here is prefixed tm_.  Set tm_prog (default: the caller's
# file name) to prefix messages.  The entry points stay in scripts/ and in
# each suite's folder; what they have in common lives here once:
#
#   tm_note / tm_die MSG         a message on stderr (tm_die exits 1)
#   tm_installed PKG...          true when every package is installed
#   tm_missing PKG...            prints the packages that are not
#   tm_apt_update                apt-get update, at most once per run
#   tm_apt_install PKG...        installs those missing (no recommends)
#   tm_debian_archive            this machine's Debian archive (from apt)
#   tm_debian_security_archive   and its security archive, if it has one
#   tm_apt_source_of SUITE       the apt source serving SUITE
#   tm_codename                  the release this machine runs
#   tm_unpack_kernel DIR KVER DEB...
#                                unpacks kernel packages into DIR/root for
#                                the VM (never installs them)
#   tm_pytest SUITE XML ARGS...  pytest with JUnit XML and a time limit per
#                                test, as every suite runs it
#   tm_require_results XML WHAT  fails when a suite left no results
#   tm_require_tool PRESENT WHAT a missing tool: a skip (status 77), or a
#                                failure (1) under TASKMON_REQUIRE_TOOLS=1
#   tm_guest_env                 the environment that crosses into the VM
#                                (tm_guest_vars), as NAME=VALUE lines
#   tm_check_tools               fails, naming each, when a program of
#                                tm_tools is missing (scripts/check-fresh)
#   tm_insmod KO_DIR NAME [ARGS...]
#                                loads NAME.ko found under KO_DIR

tm_prog=${tm_prog:-$(basename "$0")}
# shellcheck disable=SC2034 # for the scripts that source this file
tm_cache=${TASKMON_CACHE:-/var/cache/taskmon}

tm_note() { echo "$tm_prog: $*" >&2; }
tm_die() {
	echo "$tm_prog: $*" >&2
	exit 1
}

tm_installed() {
	local pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || return 1
	done
}

tm_missing() {
	local pkg
	for pkg in "$@"; do
		tm_installed "$pkg" || echo "$pkg"
	done
}

# A fresh machine has no package lists at all, and a machine kept for a
# while has stale ones: update once per run (TASKMON_APT_UPDATED is
# inherited by the scripts this one starts).
tm_apt_update() {
	[ -z "${TASKMON_APT_UPDATED:-}" ] || return 0
	tm_note "apt-get update"
	apt-get update -qq -o DPkg::Lock::Timeout=600 >&2 ||
		tm_die "apt-get update failed: check the network and /etc/apt/sources.list.d/"
	export TASKMON_APT_UPDATED=1
}

# Others may install packages at the same time: wait for dpkg's lock
# rather than fail.
tm_apt_install() {
	local missing
	mapfile -t missing < <(tm_missing "$@")
	[ ${#missing[@]} -gt 0 ] || return 0
	tm_apt_update
	tm_note "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o DPkg::Lock::Timeout=600 "${missing[@]}" >&2 ||
		tm_die "apt-get install ${missing[*]} failed (see apt's messages above)"
}

# The Debian archive this machine's apt uses, e.g. http://deb.debian.org/debian
# (whichever mirror or proxy its sources name): the one serving the
# release this machine runs.  debootstrap and extra apt sources take it
# from here, so the repository names no archive host of its own.
# TASKMON_DEBIAN_ARCHIVE overrides it.
tm_debian_archive() {
	if [ -n "${TASKMON_DEBIAN_ARCHIVE:-}" ]; then
		echo "$TASKMON_DEBIAN_ARCHIVE"
		return
	fi
	tm_apt_source_of "$(tm_codename)" ||
		tm_die "cannot tell this machine's Debian archive: no apt source serves '$(tm_codename)' (/etc/apt/sources.list.d/); set TASKMON_DEBIAN_ARCHIVE=URL"
}

# The release this machine runs, e.g. bookworm.
tm_codename() { (. /etc/os-release && echo "${VERSION_CODENAME:-}"); }

# tm_apt_source_of SUITE: the URI of the apt source serving SUITE (as
# apt itself reads its sources, one-line or deb822), without a trailing
# slash; fails when none does.
tm_apt_source_of() {
	local uri
	# shellcheck disable=SC2016 # $(...) are apt's format fields
	uri=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' \
		'Identifier: Packages' 2>/dev/null | awk -v s="$1" '$2 == s { print $1; exit }')
	[ -n "$uri" ] || return 1
	echo "${uri%/}"
}

# tm_unpack_kernel DIR KVER DEB...: the packages' files in DIR/root, with
# modules.dep (made by a postinst that never runs here) and DIR/vmlinuz.
# Built in a temporary folder renamed into place, so a half-unpacked
# kernel is never taken for a whole one.
tm_unpack_kernel() {
	local dir=$1 kver=$2 work deb image
	shift 2
	work=$(mktemp -d "$(dirname "$dir")/.$kver.XXXXXX") || return 1
	chmod 755 "$work"
	for deb in "$@"; do
		dpkg -x "$deb" "$work/root" || { rm -rf "$work"; return 1; }
	done
	# Merged-/usr packages have usr/lib/modules only; depmod -b wants lib/.
	[ -e "$work/root/lib" ] || ln -s usr/lib "$work/root/lib"
	depmod -b "$work/root" "$kver" || { rm -rf "$work"; return 1; }
	image=$(cd "$work" && find root/boot/ root/lib/modules/"$kver"/ -maxdepth 1 \
		\( -name "vmlinuz-$kver" -o -name vmlinuz \) 2>/dev/null | head -n 1) || true
	if [ -z "$image" ]; then
		rm -rf "$work"
		tm_note "no vmlinuz in $*"
		return 1
	fi
	ln -s "$image" "$work/vmlinuz"
	rm -rf "$dir"
	mv "$work" "$dir"
}

# tm_pytest SUITE XML ARGS...: the system's Python (the guest sees the
# host's root, where a pyenv or virtualenv python3 may come first in PATH).
# Every test has TASKMON_TEST_TIMEOUT seconds (default 300; pytest-timeout,
# python3-pytest-timeout): a hung test fails by name and the suite goes on.
tm_pytest() {
	local suite=$1 xml=$2
	shift 2
	/usr/bin/python3 -m pytest -p no:cacheprovider -v -rs \
		-p timeout --timeout="${TASKMON_TEST_TIMEOUT:-300}" \
		--junitxml="$xml" -o junit_suite_name="$suite" "$@"
}

# tm_require_tool PRESENT WHAT: for a test that needs a tool (PRESENT is
# true or false, or a command to run).  With the tool, returns 0.  Without
# it, says WHAT is missing and returns 77 (skip), or 1 (failure) under
# TASKMON_REQUIRE_TOOLS=1: scripts/test and CI set it, where every tool
# scripts/setup-host installs must be there.  The same rule as
# tests/pylib/required.py and TASKMON_REQUIRE_TOOL (tests/libtaskmon/vm).
tm_require_tool() {
	local present=$1
	shift
	if eval "$present" >/dev/null 2>&1; then return 0; fi
	if [ "${TASKMON_REQUIRE_TOOLS:-0}" = 1 ]; then
		tm_note "FAILED: $* (TASKMON_REQUIRE_TOOLS=1: it must be there)"
		return 1
	fi
	tm_note "skipped: $*"
	return 77
}

# What crosses into the test VM (tests/vm/run-vm passes the guest only
# TASKMON_IN_VM=1): every entry point that boots one (scripts/test's vm
# step, tests/sanitizer/run, tests/dkms/run) passes these on with
# `env $(tm_guest_env)`.  The knobs of docs/reliability.md, the cache
# (the exporter's end-to-end test finds promtool and Prometheus there),
# the per-test time limit and TASKMON_REQUIRE_TOOLS.
tm_guest_vars=(
	TASKMON_SEED TASKMON_STRESS_SECONDS TASKMON_STRESS_THREADS TASKMON_STRESS_PROCESSES
	TASKMON_CHURN_SECONDS TASKMON_CHURN_THREADS TASKMON_CHURN_IDLE
	TASKMON_VM_CHURN_SECONDS TASKMON_UNLOAD_CYCLES TASKMON_RACE_ITERATIONS TASKMON_CALL_DEADLINE
	TASKMON_FUZZ_WRITES TASKMON_FUZZ_IOCTLS TASKMON_FUZZ_LIST_CALLS
	TASKMON_CACHE TASKMON_TEST_TIMEOUT TASKMON_REQUIRE_TOOLS
)

# tm_guest_env: NAME=VALUE for each of tm_guest_vars that is set, one a
# line (mapfile -t them, then: run-vm ... -- env "${vars[@]}" COMMAND).
tm_guest_env() {
	local var
	for var in "${tm_guest_vars[@]}"; do
		[ -z "${!var+set}" ] || printf '%s=%s\n' "$var" "${!var}"
	done
}

# A suite that wrote no results did not run (or crashed): a failure, never
# a silent skip.
tm_require_results() {
	[ -s "$1" ] && return 0
	tm_note "$2 ended without writing its results ($1): it did not run, or crashed"
	return 1
}

tm_insmod() {
	local ko_dir=$1 name=$2 ko
	shift 2
	ko=$(find "$ko_dir" -name "$name.ko" | head -n 1)
	[ -n "$ko" ] || { tm_note "no $name.ko under $ko_dir"; return 1; }
	insmod "$ko" "$@"
}

# The security archive this machine's apt uses, e.g.
# http://deb.debian.org/debian-security: the one serving CODENAME-security
# for the release this machine runs.  Debian names every release's
# security suite the same way (bookworm-security, trixie-security), so a
# chroot of another release takes RELEASE-security from the same URI.
# Prints nothing and fails when this machine has no security source (the
# caller then goes without).  TASKMON_DEBIAN_SECURITY_ARCHIVE overrides it.
tm_debian_security_archive() {
	if [ -n "${TASKMON_DEBIAN_SECURITY_ARCHIVE:-}" ]; then
		echo "$TASKMON_DEBIAN_SECURITY_ARCHIVE"
		return
	fi
	tm_apt_source_of "$(tm_codename)-security"
}

# Every program the scripts and tests call that a minimal Debian 12
# (debootstrap --variant=minbase) lacks, as PROGRAM:PACKAGE, the package
# being the one scripts/setup-host installs for it.  The guest runs the
# host's root: what the guest scripts call (ip, udevadm...) is here too.
# scripts/check-fresh checks them with command -v after scripts/setup-host.
tm_tools=(
	cmake:cmake ctest:cmake g++:build-essential gcc:build-essential make:build-essential
	pkg-config:pkgconf git:git python3:python3-dev pandoc:pandoc
	clang-format:clang-format run-clang-tidy:clang-tidy pycodestyle:pycodestyle
	shellcheck:shellcheck
	insmod:kmod rmmod:kmod modprobe:kmod depmod:kmod sparse:sparse xz:xz-utils perl:perl
	qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio unshare:util-linux
	mountpoint:util-linux zstd:zstd gzip:gzip readelf:binutils
	dkms:dkms dpkg-buildpackage:dpkg-dev dpkg-checkbuilddeps:dpkg-dev debuild:devscripts
	lintian:lintian fakeroot:fakeroot debootstrap:debootstrap
	bpftrace:bpftrace perf:linux-perf flex:flex bison:bison bc:bc
	ip:iproute2 udevadm:udev /lib/systemd/systemd-udevd:udev systemd-analyze:systemd
	pgrep:procps ps:procps
)

tm_check_tools() {
	local entry missing=()
	for entry in "${tm_tools[@]}"; do
		command -v "${entry%%:*}" >/dev/null || missing+=("${entry%%:*} (${entry#*:})")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	tm_note "missing after scripts/setup-host: ${missing[*]}"
	return 1
}
