# SPDX-License-Identifier: LGPL-2.1-or-later
"""python3 -m taskmon: the taskmon command line, in Python (see taskmon.cli)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
