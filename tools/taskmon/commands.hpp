// SPDX-License-Identifier: GPL-2.0-only
//
// The taskmon command's logic, minus main(): parse, run, report.
#ifndef TASKMON_TOOLS_COMMANDS_HPP
#define TASKMON_TOOLS_COMMANDS_HPP

#include "options.hpp"
#include "output.hpp"

#include <taskmon/taskmon.hpp>

#include <exception>
#include <iosfwd>
#include <string>
#include <vector>

namespace taskmon::cli {

/**
 * What the user can do about @p error, in this command's terms (the
 * library's message says what failed and why); empty if nothing to add.
 */
[[nodiscard]] std::string advice(const Error& error, const Options& opts);

/**
 * Runs one parsed command against the device; throws taskmon::Error on a
 * failure of the whole command.  Returns the exit status: non-zero when
 * `stats` could not read some of its pids (each one's message is then
 * written to @p err, the others' figures to @p out).
 */
[[nodiscard]] int run_command(const Options& opts, std::ostream& out, std::ostream& err);

/**
 * The whole command: parses @p args (argv[1..]), runs the command, writes
 * errors to @p err as "taskmon: <what failed and why>" and, on a second line,
 * "taskmon: <what to do>", and returns the exit status
 * (see exit_codes.hpp).  Never throws.
 */
[[nodiscard]] int run_main(const std::vector<std::string>& args, std::ostream& out,
                           std::ostream& err) noexcept;

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_COMMANDS_HPP
