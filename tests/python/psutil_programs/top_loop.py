# SPDX-License-Identifier: GPL-2.0-only
"""A top-like loop written for psutil: refresh process_iter() with
cpu_percent every 0.5 s (the first round is psutil's 0.0), print the
busiest processes of the last round, and what Process(pid) says of the
first one.  Run with psutil and with taskmon standing in for it."""
import sys
import time

import psutil

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def main():
    table = []
    for n in range(ROUNDS):
        table = []
        for p in psutil.process_iter(["pid", "name", "cpu_percent", "memory_percent",
                                      "num_threads", "status"]):
            table.append((p.info["cpu_percent"], p.info["pid"], p.info["name"],
                          p.info["status"], p.info["num_threads"]))
        if n == 0:
            assert all(cpu == 0.0 for cpu, *_ in table), "the first round is 0.0"
        if n + 1 < ROUNDS:
            time.sleep(0.5)
    table.sort(reverse=True)
    for cpu, pid, name, status, threads in table[:5]:
        print(f"{pid}\t{name}\t{cpu}\t{status}\t{threads}")
    top = psutil.Process(table[0][1])
    with top.oneshot():  # psutil's oneshot() keeps cpu_times(): cpu_percent() outside
        print(top.name(), top.ppid(), top.parent().pid, len(top.children()),
              top.is_running(), end=" ")
    print(top.cpu_percent(interval=0.5) > 0)


if __name__ == "__main__":
    main()
