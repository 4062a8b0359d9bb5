// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon exits`: a line for every process that exits (TM_SUBSCRIBE_EXITS,
// docs/exits.md).  The formatting has no device access: unit-tested on the
// host (tests/cli/test_exits_cli.cpp).
#ifndef TASKMON_TOOLS_EXITS_HPP
#define TASKMON_TOOLS_EXITS_HPP

#include "options.hpp"

#include <taskmon/taskmon.hpp>

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace taskmon::cli {

/** "exit 3", "signal SIGKILL" (or "signal 40" for a signal without a name). */
[[nodiscard]] std::string exit_status_text(const ExitRecord& record);

/** The header line of `taskmon exits` in text mode (empty in JSON mode). */
[[nodiscard]] std::string format_exits_header(bool json);

/**
 * One line of `taskmon exits`: a table row (the comm through safe_text();
 * with @p raw, plain seconds and bytes), or one JSON object (the Python
 * ExitRecord field names; "comm_hex" too when the comm is not valid UTF-8;
 * "time" and "time_unix_ns": @p wall_time, the exit's wall-clock time).
 * @p user is the name of the record's uid (its number if it has none).
 */
[[nodiscard]] std::string format_exit(const ExitRecord& record, const std::string& user,
                                      std::chrono::nanoseconds wall_time, bool json,
                                      bool raw = false);

/** The line for records the kernel dropped: "N exits lost: ...", or {"lost": N, ...}. */
[[nodiscard]] std::string format_exits_lost(std::uint64_t lost, std::chrono::nanoseconds wall_time,
                                            bool json);

/**
 * Runs `taskmon exits`: subscribes, then prints a line per exit as it
 * happens until SIGINT, SIGTERM or a closed standard output.
 */
[[nodiscard]] int run_exits(const Options& opts, std::ostream& out);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_EXITS_HPP
