# SPDX-License-Identifier: GPL-2.0-only
"""A 'ps aux' written for psutil, in the style of psutil's scripts/ps.py:
one line per process, tab-separated, from process_iter(attrs).  The tests
run it with psutil and with taskmon standing in for it, unchanged."""
import datetime

import psutil

ATTRS = ["pid", "ppid", "username", "name", "cmdline", "status", "nice", "create_time",
         "cpu_times", "memory_info", "memory_percent", "num_threads", "uids"]


def main():
    print("USER\tPID\tPPID\tNAME\tSTATUS\tNICE\tSTART\tTIME\tRSS\tVSZ\t%MEM\tNLWP\tUID\tCMD")
    for p in psutil.process_iter(ATTRS, ad_value=None):
        i = p.info
        start = datetime.datetime.fromtimestamp(i["create_time"]).strftime("%H:%M:%S.%f")
        cpu = sum(i["cpu_times"][:2]) if i["cpu_times"] else ""
        mem = i["memory_info"]
        cmd = " ".join(i["cmdline"]) if i["cmdline"] else i["name"]
        cmd = cmd.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
        print("\t".join(str(x) for x in (
            i["username"], i["pid"], i["ppid"], i["name"], i["status"], i["nice"], start,
            f"{cpu:.2f}", mem.rss, mem.vms, f"{i['memory_percent']:.1f}", i["num_threads"],
            i["uids"].real if i["uids"] else "", cmd)))


if __name__ == "__main__":
    main()
