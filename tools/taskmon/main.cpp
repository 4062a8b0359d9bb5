// SPDX-License-Identifier: GPL-2.0-only
//
// taskmon: read and control taskmonitor.ko from the command line.
// See `taskmon --help` and docs/taskmon.1.md.
#include "commands.hpp"

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char* argv[])
{
    // A closed pipe ('taskmon watch | head -1') is then EPIPE from write(2),
    // which ends the command quietly with status 0, rather than a death by
    // SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    const std::vector<std::string> args(
        argv + 1, argv + argc); // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    return taskmon::cli::run_main(args, std::cout, std::cerr);
}
