# SPDX-License-Identifier: GPL-2.0-only
"""taskmon-exporter: taskmon's kernel-side figures for Prometheus.

The exporter serves the Prometheus text format on /metrics through
prometheus_client (Debian's python3-prometheus-client).  At every scrape its
collector (:class:`~taskmon_exporter.collector.TaskmonCollector`) resolves
the watch set (pids, pid files, command-name patterns, systemd units),
reads each process's statistics from /dev/taskmonitor through the taskmon
bindings, counts the kernel's processes and scans for hidden ones.

docs/exporter.md lists the metrics, the configuration and the alert rules.
"""

__all__ = ["DEFAULT_PORT", "__version__"]

#: Outside 9100-9999 (Prometheus's default-port registry for exporters,
#: fully allocated since 2023): see docs/exporter.md, "The port".
DEFAULT_PORT = 19110

__version__ = "0.1.0"
