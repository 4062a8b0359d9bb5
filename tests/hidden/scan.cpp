// SPDX-License-Identifier: GPL-2.0-only
//
// taskmon-hidden-scan: find_hidden() once, for the VM tests (until the
// `taskmon hidden` command exists), in the conditions a test sets up:
//
//   taskmon-hidden-scan [--proc DIR] [--settle MS] [--uid UID] [--count N]
//
// Opens /dev/taskmonitor ($TASKMON_DEVICE) first, then, with --uid, drops
// to that user (groups cleared) so that a non-root scan is possible with a
// root-only device node.  Prints one line per hidden process
// ("PID REASON[,REASON...] COMM") and, with --count N, scans N times and
// prints "scans N found M" last.  Exit status: 0 none found, 1 some found,
// 2 error.
#include <taskmon/taskmon.hpp>

#include <grp.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <system_error>

int main(int argc, char* argv[])
{
    taskmon::HiddenScanOptions options;
    long uid = -1;
    int count = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string opt = argv[i];
        if (opt == "--proc") {
            options.proc = argv[i + 1];
        } else if (opt == "--settle") {
            options.settle = std::chrono::milliseconds(std::atol(argv[i + 1]));
        } else if (opt == "--uid") {
            uid = std::atol(argv[i + 1]);
        } else if (opt == "--count") {
            count = std::atoi(argv[i + 1]);
        } else {
            std::cerr << "taskmon-hidden-scan: unknown option " << opt << '\n';
            return 2;
        }
    }
    try {
        const char* dev = std::getenv("TASKMON_DEVICE"); // NOLINT(concurrency-mt-unsafe)
        const taskmon::Monitor monitor(dev != nullptr && *dev != '\0' ? dev : "/dev/taskmonitor");
        if (uid >= 0) {
            const auto id = static_cast<uid_t>(uid);
            if (::setgroups(0, nullptr) != 0 || ::setresgid(id, id, id) != 0 ||
                ::setresuid(id, id, id) != 0) {
                std::cerr << "taskmon-hidden-scan: cannot become uid " << uid << ": "
                          << std::generic_category().message(errno) << '\n';
                return 2;
            }
        }
        std::size_t found = 0;
        for (int n = 0; n < count; ++n) {
            for (const auto& p : taskmon::find_hidden(monitor, options)) {
                ++found;
                std::cout << p.pid << ' ';
                const auto names = taskmon::reason_names(p.reasons);
                for (std::size_t i = 0; i < names.size(); ++i) {
                    std::cout << (i != 0 ? "," : "") << names[i];
                }
                std::cout << ' ' << p.comm << " # " << p << std::endl;
            }
        }
        if (count > 1) {
            std::cout << "scans " << count << " found " << found << std::endl;
        }
        return found != 0 ? 1 : 0;
    } catch (const std::exception& e) {
        std::cerr << "taskmon-hidden-scan: " << e.what() << '\n';
        return 2;
    }
}
