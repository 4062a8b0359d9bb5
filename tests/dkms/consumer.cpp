// SPDX-License-Identifier: GPL-2.0-only
//
// A tiny program built against the installed libtaskmon-dev (pkg-config)
// and run against the installed libtaskmon1 in the test VM:
//
//   consumer PID
//
// checks that the loaded taskmonitor monitors PID and that the process has
// used CPU time, and prints the sample.  Exit 0 on success, 1 otherwise.
#include <taskmon/taskmon.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>

int main(int argc, char* argv[])
{
    if (argc != 2) {
        std::cerr << "usage: consumer PID\n";
        return 1;
    }
    const pid_t expected = static_cast<pid_t>(std::atoi(argv[1]));
    try {
        const taskmon::Monitor monitor;
        const pid_t target = monitor.target();
        const taskmon::Sample sample = monitor.sample();
        std::cout << "libtaskmon " << taskmon::version() << ", target " << target << ": " << sample
                  << '\n';
        if (target != expected) {
            std::cerr << "consumer: the module monitors " << target << ", not " << expected << '\n';
            return 1;
        }
        if (sample.total().count() <= 0) {
            std::cerr << "consumer: a busy process with no CPU time\n";
            return 1;
        }
    } catch (const std::exception& e) {
        std::cerr << "consumer: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
