# SPDX-License-Identifier: GPL-2.0-only
"""Monitoring code as Glances-like tools write it for psutil: a refresh of
the whole table with process_iter(attrs, ad_value), a summary (processes
per status, threads), the process tree from ppid, the processes of one
user, a sort by memory, then signals and wait_procs on children it starts.
Prints JSON.  Run with psutil and with taskmon standing in for it."""
import collections
import json
import os
import subprocess

import psutil

ATTRS = ["pid", "ppid", "name", "username", "status", "num_threads", "cpu_percent",
         "memory_percent", "memory_info", "cpu_times", "create_time", "nice", "gids"]


def refresh():
    return {p.pid: p.info for p in psutil.process_iter(attrs=ATTRS, ad_value="-")}


def main():
    refresh()  # cpu_percent's first round
    table = refresh()
    me = table[os.getpid()]
    tree = collections.defaultdict(list)
    for pid, info in table.items():
        tree[info["ppid"]].append(pid)
    statuses = collections.Counter(info["status"] for info in table.values())
    mine = sorted(pid for pid, i in table.items() if i["username"] == me["username"])
    biggest = max(table.values(), key=lambda i: i["memory_info"].rss)
    kids = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    procs = [psutil.Process(k.pid) for k in kids]
    parent_children = sorted(c.pid for c in psutil.Process().children())
    for p in procs[:2]:
        p.terminate()
    gone, alive = psutil.wait_procs(procs, timeout=1)
    codes = sorted(p.returncode for p in gone)
    for p in alive:
        p.kill()
    try:
        procs[-1].wait(timeout=5)
    except psutil.TimeoutExpired:
        pass
    try:
        procs[-1].name()
        gone_error = "none"
    except psutil.NoSuchProcess as e:
        gone_error = type(e).__name__
    print(json.dumps({
        "me": {k: me[k] for k in ("name", "username", "ppid", "nice", "gids", "num_threads")},
        "my_create_time": me["create_time"] == psutil.Process().create_time(),
        "statuses": sorted(statuses), "count": len(table),
        "my_children": sorted(tree[os.getpid()]), "mine": len(mine),
        "biggest_has_rss": biggest["memory_info"].rss > 0,
        "parent_children": parent_children == sorted(k.pid for k in kids),
        "gone": len(gone), "alive": len(alive), "codes": codes, "gone_error": gone_error,
        "pid_exists": [psutil.pid_exists(os.getpid()), psutil.pid_exists(kids[0].pid)],
        "in_pids": os.getpid() in psutil.pids(),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
