#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-manpage.sh PROGRAM MANPAGE
# The man page and the program's --help name the same options and commands:
# each one in --help (and, for a program with commands, in 'PROGRAM help
# COMMAND') appears in the man page, and each one the man page documents
# appears in --help.  MANPAGE is Markdown for pandoc (taskmon.1.md: options
# and commands in **bold**, commands as the terms of # COMMANDS) or roff
# (hello-ioctl.1: options on .B/.BR/.RB lines).
set -euo pipefail

program=$1 manpage=$2
name=$(basename "$program")

help=$("$program" --help)
# The commands: the first word of the lines indented by two under "Commands:".
help_commands=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/p' |
	sed -nE 's/^  ([a-z][a-z-]*).*/\1/p' | sort -u)
for command in $help_commands; do
	help+=$'\n'$("$program" help "$command")
done
# The options: the definition lines, "-d, --device PATH".
# (A long option without a short one: "    --no-headers".)
help_options=$(printf '%s\n' "$help" |
	sed -nE -e 's/^ +(-[A-Za-z]), (--[a-z][a-z-]*).*/\1\n\2/p' \
		-e 's/^ +(--[a-z][a-z-]*)( .*|$)/\1/p' | sort -u)

case $manpage in
*.md)
	man_options=$(grep -oE '\*\*--?[A-Za-z][a-z-]*\*\*' "$manpage" | tr -d '*' | sort -u)
	man_commands=$(sed -n '/^# COMMANDS/,/^# /p' "$manpage" |
		sed -nE 's/^\*\*([a-z][a-z-]*)\*\*.*/\1/p' | sort -u)
	;;
*)
	man_options=$(grep -E '^\.(B|BR|RB|TP|IP)( |$)' "$manpage" |
		grep -oE '\\-(\\-)?[A-Za-z][a-z-]*' | sed 's/\\-/-/g' | sort -u)
	man_commands=
	;;
esac

status=0
compare() { # WHAT HELP_LIST MAN_LIST
	local missing
	missing=$(comm -23 <(printf '%s\n' "$2" | sed '/^$/d') <(printf '%s\n' "$3" | sed '/^$/d'))
	if [ -n "$missing" ]; then
		echo "$name: $1 in --help but not in $manpage: ${missing//$'\n'/ }" >&2
		status=1
	fi
	missing=$(comm -13 <(printf '%s\n' "$2" | sed '/^$/d') <(printf '%s\n' "$3" | sed '/^$/d'))
	if [ -n "$missing" ]; then
		echo "$name: $1 in $manpage but not in --help: ${missing//$'\n'/ }" >&2
		status=1
	fi
}
compare options "$help_options" "$man_options"
compare commands "$help_commands" "$man_commands"
if [ -z "$help_options" ]; then
	echo "$name: no option found in --help: is its format still '  -x, --name ...'?" >&2
	status=1
fi
all=$(printf '%s\n' "$help_options" "$help_commands")
[ "$status" -ne 0 ] || echo "$name: --help and $manpage agree: ${all//$'\n'/ }"
exit "$status"
