// SPDX-License-Identifier: GPL-2.0-only
//
// taskmon: read and control taskmonitor.ko from the command line.
// See `taskmon --help` and docs/taskmon.1.md.
#include "commands.hpp"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char* argv[])
{
    const std::vector<std::string> args(
        argv + 1, argv + argc); // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    return taskmon::cli::run_main(args, std::cout, std::cerr);
}
