#!/bin/bash
# Prove the VM harness on one kernel:
#
#   tests/vm/selftest.sh [--junit FILE] FLAVOR|KVER [OUTDIR]
#
# Prepares the kernel, then runs seven cases, each in boots of its own: a command
# that reports what it sees in the guest (kernel, python3, environment,
# mounts, CPUs, clocksource) and exits 7 (its status must come back), a
# command writing a kernel WARNING (126), a kernel crash (125), a hang
# (time-out, 124), and a boot that hangs before the command (the boot
# watchdog, with its one retry: two 10 s boots, 125), and a run the
# emulator crashed (run once more: two boots, the second run's status).  Prints one
# "ok"/"not ok" line per check (TAP), also as JUnit XML into FILE with
# --junit (scripts/test's vm step runs it so, on its first kernel), and
# exits 1 if any failed.  The runs' files stay in OUTDIR/KVER/ (default:
# build/vm-selftest in the checkout).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
checkout=$(cd "$here/../.." && pwd -P)
junit=''
if [ "${1:-}" = --junit ]; then
	junit=${2:?usage: selftest.sh [--junit FILE] FLAVOR|KVER [OUTDIR]}
	junit=$(realpath -m "$junit")
	shift 2
fi
flavor=${1:?usage: selftest.sh [--junit FILE] FLAVOR|KVER [OUTDIR]}
failed=0 count=0
cases=()

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$1"; }
ok() {
	count=$((count + 1))
	echo "ok $count - $1"
	cases+=("<testcase classname=\"vm-selftest\" name=\"$(xml_escape "$1")\"/>")
}
not_ok() {
	count=$((count + 1))
	failed=$((failed + 1))
	echo "not ok $count - $1: $2"
	cases+=("<testcase classname=\"vm-selftest\" name=\"$(xml_escape "$1")\"><failure message=\"$(xml_escape "$2")\"/></testcase>")
}
write_junit() {
	[ -n "$junit" ] || return 0
	mkdir -p "$(dirname "$junit")"
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<testsuite name=\"vm-selftest\" tests=\"$count\" failures=\"$failed\">"
		printf '  %s\n' "${cases[@]}"
		echo '</testsuite>'
	} >"$junit"
}
# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$3'"; fi
}

# vm NAME [RUN-VM OPTIONS] -- COMMAND...: one boot, its output in
# $base/NAME.log; sets $status and $seconds.
vm() {
	local name=$1 start=$SECONDS
	shift
	mkdir -p "$base/$name"
	status=0
	"$here/run-vm" --kernel "$kver" --out "$base/$name" "$@" >"$base/$name.log" 2>&1 || status=$?
	seconds=$((SECONDS - start))
}

# Run in the guest by the first boot: facts as KEY=VALUE lines, for the
# host to compare.
# shellcheck disable=SC2016 # expanded in the guest
guest_facts='
out=$1 checkout=$2
{
	echo "kernel=$(uname -r)"
	echo "python=$(/usr/bin/python3 -c "print(1)")"
	echo "cwd=$PWD"
	echo "cpus=$(nproc)"
	for var in PATH HOME PYTHONDONTWRITEBYTECODE TASKMON_IN_VM TERM; do
		echo "$var=${!var:-unset}"
	done
	touch /.taskmon-ro-probe 2>/dev/null && echo "root=writable" || echo "root=read-only"
	echo "tmp=$(stat -f -c %T /tmp)"
	touch /tmp/probe && echo "tmp-writable=yes" || echo "tmp-writable=no"
	echo "checkout=$(test -x "$checkout/tests/vm/run-vm" && echo visible || echo missing)"
	mountpoint -q /sys/kernel/debug && echo "debugfs=mounted" || echo "debugfs=missing"
	echo "clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	read -r line && echo "stdin=data" || echo "stdin=eof"
	echo "tmp-out=yes"
} >"$out/facts"
echo "WARNING: this line is user-space output and must not fail the run"
exit 7
'

# fact KEY: its value in the first boot's facts
fact() { sed -n "s/^$1=//p" "$base/facts/facts"; }

check_facts() {
	if [ "$status" -ne 7 ] || [ ! -f "$base/facts/facts" ]; then
		not_ok "boot $kver and run commands in a chroot of the host" \
			"run-vm exit status $status, see $base/facts.log"
		return
	fi
	ok "boot $kver and run commands in a chroot of the host ($seconds s)"
	check "a failing command's exit status comes back" 7 "$status"
	check "DIR under /tmp is writable from the guest" yes "$(fact tmp-out)"
	check "uname -r in the guest" "$kver" "$(fact kernel)"
	check "/usr/bin/python3 in the guest" 1 "$(fact python)"
	check "the command runs in the host's cwd" "$checkout" "$(fact cwd)"
	check "2 CPUs" 2 "$(fact cpus)"
	check "guest PATH" /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$(fact PATH)"
	check "guest HOME, PYTHONDONTWRITEBYTECODE, TASKMON_IN_VM, TERM" "/root 1 1 dumb" \
		"$(fact HOME) $(fact PYTHONDONTWRITEBYTECODE) $(fact TASKMON_IN_VM) $(fact TERM)"
	check "the host root is read-only" read-only "$(fact root)"
	check "/tmp is a writable tmpfs" "tmpfs yes" "$(fact tmp) $(fact tmp-writable)"
	check "the checkout is mounted at its own path" visible "$(fact checkout)"
	check "debugfs is mounted" mounted "$(fact debugfs)"
	check "stdin is empty" eof "$(fact stdin)"
	check "dmesg.log is the whole kernel log" 1 \
		"$(grep -c "Linux version $kver" "$base/facts/dmesg.log" || true)"
	check "console.log is kept" 1 "$(grep -c "Linux version $kver" "$base/facts/console.log" || true)"
	# run-vm's tsc_early_khz: the kernel times nothing against the PIT.
	check "the guest's clocksource is the TSC" tsc "$(fact clocksource)"
	check "the TSC frequency came from run-vm" 0 \
		"$(grep -c 'Unable to calibrate against PIT\|TSC disabled\|could not calculate TSC khz' "$base/facts/console.log" || true)"
	boot=$(sed -n 's/.*vm-init: running the command on .*, \([0-9.]*\) s after boot.*/\1/p' \
		"$base/facts/console.log")
	echo "# $kver: the command started ${boot:-?} s after the kernel did; $seconds s for the whole run"
}

# The first boot: the facts, from a command that exits 7, with --out a
# folder under /tmp (the guest's tmpfs on /tmp must not hide it).  One
# boot for both, then its files are copied to $base/facts.
check_facts_and_exit_status() {
	local tmp
	tmp=$(mktemp -d /tmp/taskmon-vm-selftest.XXXXXX)
	vm facts --out "$tmp" -- bash -c "$guest_facts" guest "$tmp" "$checkout"
	cp -r "$tmp"/. "$base/facts/" 2>/dev/null || true
	rm -rf "$tmp"
	check_facts
}

# reported NAME PATTERN: how many of run-vm's kernel report lines match
reported() {
	sed -n '/run-vm: the kernel reported problems/,$p' "$base/$1.log" | grep -c "$2" || true
}

check_warning() {
	vm warning -- sh -c 'echo "<4>WARNING: CPU: 0 PID: 1 at selftest.sh: injected by tests/vm/selftest.sh" >/dev/kmsg'
	check "a kernel WARNING fails a passing command (126)" 126 "$status"
	check "run-vm prints the WARNING line" 1 "$(reported warning 'WARNING: CPU: 0 PID: 1 at selftest.sh')"
}

check_crash() {
	vm crash -- sh -c 'echo c >/proc/sysrq-trigger; sleep 60'
	check "a kernel crash ends the VM as a harness failure (125)" 125 "$status"
	check "run-vm prints the panic" 1 "$(reported crash 'Kernel panic')"
}

check_timeout() {
	vm timeout --timeout 20 -- sleep 600
	check "a hung guest is killed: 124" 124 "$status"
	check "... within the time-out" yes "$([ "$seconds" -lt 40 ] && echo yes || echo "no: $seconds s")"
}

# An init that sleeps before running anything: the kernel boots, then the
# console stays silent.  The watchdog kills it after 10 s, boots again,
# and gives up: 125.
check_stall() {
	vm stall --boot-timeout 10 --append "rdinit=/bin/busybox -- sleep 3600" -- true
	check "a boot that hangs before the command: 125" 125 "$status"
	check "run-vm says BOOT STALLED, twice" 2 "$(grep -c 'run-vm: BOOT STALLED' "$base/stall.log" || true)"
	check "the stalled boot's console is kept" yes \
		"$([ -s "$base/stall/console.boot1.log" ] && echo yes || echo no)"
}

# An init that powers the guest off at once: the guest ends before the
# command starts (as a crash while booting would); booted again, then 125.
check_boot_end() {
	vm bootend --boot-timeout 10 --append "rdinit=/bin/busybox -- poweroff -f" -- true
	check "a guest that ends while booting: 125" 125 "$status"
	check "run-vm says BOOT FAILED, twice" 2 "$(grep -c 'run-vm: BOOT FAILED' "$base/bootend.log" || true)"
}

# A command that, the first time, logs what the emulator's crash looks
# like (tests/vm/find-emulation-crash: an int3 no longer in memory) and
# crashes the kernel, and passes the second time: run-vm runs it once
# more in a new boot, and its status is the second run's.
# shellcheck disable=SC2016 # expanded in the guest
emulation_crash='
if [ -e "$1/crashed-once" ]; then exit 0; fi
touch "$1/crashed-once"
printf "<0>Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n" >/dev/kmsg
printf "<0>RIP: 0010:selftest_injected+0x1/0x2\n" >/dev/kmsg
printf "<0>Code: 0f 1f 44 00 00 66 <90> 0f 1f 44 00 00\n" >/dev/kmsg
echo c >/proc/sysrq-trigger
sleep 60
'
check_emulation_crash() {
	vm emucrash -- sh -c "$emulation_crash" sh "$base/emucrash"
	check "a run the emulator crashed is run once more: the second run's status (0)" 0 "$status"
	check "run-vm says EMULATION CRASH, once" 1 "$(grep -c 'run-vm: EMULATION CRASH' "$base/emucrash.log" || true)"
	check "the crashed run's console is kept" yes \
		"$([ -s "$base/emucrash/console.crash1.log" ] && echo yes || echo no)"
}

kver=$("$here/kernel.sh" prepare "$flavor" | tail -n 1)
base=${2:-$checkout/build/vm-selftest}/$kver
rm -rf "$base"
mkdir -p "$base"
base=$(cd "$base" && pwd -P)
cd "$checkout"
echo "# tests/vm/selftest.sh on $kver; logs in $base"
check_facts_and_exit_status
check_warning
check_crash
check_timeout
check_stall
check_boot_end
check_emulation_crash
echo "1..$count"
write_junit
if [ "$failed" -gt 0 ]; then
	echo "# $failed of $count checks failed on $kver"
	exit 1
fi
echo "# all $count checks passed on $kver"
