// SPDX-License-Identifier: GPL-2.0-only
//
// Exit status of the taskmon command; documented in --help and docs/taskmon.1.md.
#ifndef TASKMON_TOOLS_EXIT_CODES_HPP
#define TASKMON_TOOLS_EXIT_CODES_HPP

#include <exception>

namespace taskmon::cli {

enum ExitCode : int {
    exit_ok = 0,                // success
    exit_failure = 1,           // any other runtime error
    exit_usage = 2,             // bad command, option or argument
    exit_no_such_process = 3,   // ESRCH: no such pid, or the target exited
    exit_no_target = 4,         // ENODATA: no target set
    exit_device_not_found = 5,  // ENOENT/ENODEV/ENXIO: module not loaded
    exit_permission_denied = 6, // EACCES/EPERM
    exit_not_supported = 7,     // ENOTTY: not a taskmonitor device, or module too old
    exit_hidden_found = 1,      // hidden: some process is hidden
    exit_hidden_failed = 8,     // hidden: what is 1 for the others (1 means found)
};

/** The exit status for an exception thrown while running a command. */
[[nodiscard]] int exit_code_for(const std::exception& error) noexcept;

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_EXIT_CODES_HPP
