# SPDX-License-Identifier: GPL-2.0-only
"""python3 -m taskmon_exporter: the same as the taskmon-exporter command."""
import sys

from .cli import main

sys.exit(main())
