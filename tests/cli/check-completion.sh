#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-completion.sh PROGRAM COMPLETION
# The bash completion offers what PROGRAM's --help names: every command
# after "taskmon", every long option of each command (its own and the
# global ones) after "taskmon COMMAND --", and ps's columns after "-o".
set -euo pipefail

program=$1 completion=$2
# shellcheck source=/dev/null
source "$completion"

complete_words() { # WORD... (the last one is being completed)
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_taskmon
	printf '%s\n' "${COMPREPLY[@]}" | sort -u
}

status=0
expect() { # WHAT WANTED GOT
	local missing
	missing=$(comm -23 <(printf '%s\n' "$2" | sed '/^$/d' | sort -u) <(printf '%s\n' "$3"))
	if [ -n "$missing" ]; then
		echo "completion: $1: not offered: ${missing//$'\n'/ }" >&2
		status=1
	fi
}

help=$("$program" --help)
commands=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/p' |
	sed -nE 's/^  ([a-z][a-z-]*).*/\1/p' | sort -u)
expect "commands" "$commands" "$(complete_words taskmon '')"
globals=$(printf '%s\n' "$help" | sed -n '/^Options (before/,/^$/p' |
	grep -oE -- '--[a-z][a-z-]*' | sort -u)
expect "global options" "$globals" "$(complete_words taskmon --)"
for command in $commands; do
	[ "$command" != help ] || continue
	options=$("$program" help "$command" | grep -oE -- '^ +(-[A-Za-z], )?--[a-z][a-z-]*' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u)
	expect "$command's options" "$options" "$(complete_words taskmon "$command" --)"
done
expect "help's commands" "$commands" "$(complete_words taskmon help '')"
# The columns: the words from "names:" to "(and" in --format's help.
columns=$("$program" help ps | tr '\n' ' ' | sed -E 's/.*names: //; s/\(and.*//' | tr -s ' ' '\n')
expect "ps columns" "$columns" "$(complete_words taskmon ps -o '')"
expect "ps -o a list" "pid,comm" "$(complete_words taskmon ps -o pid,co)"
expect "ps --sort descending" "-rss" "$(complete_words taskmon ps --sort -rs)"
[ "$status" -ne 0 ] || echo "completion: offers every command and option of --help"
exit "$status"
