#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# expect.sh RC REGEX COMMAND [ARGS...]
# Runs COMMAND; passes if it exits with RC and its stdout+stderr match the
# extended regular expression REGEX (grep -E, any line).
set -u
want_rc=$1 regex=$2
shift 2
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne "$want_rc" ]; then
    echo "expect.sh: '$*' exited $rc, expected $want_rc" >&2
    exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then
    echo "expect.sh: output of '$*' does not match: $regex" >&2
    exit 1
fi
