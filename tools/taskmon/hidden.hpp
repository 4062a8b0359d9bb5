// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon hidden`: the processes the kernel runs that /proc does not show
// truthfully (libtaskmon's find_hidden(), docs/hidden.md), once or every
// --watch seconds.
#ifndef TASKMON_TOOLS_HIDDEN_HPP
#define TASKMON_TOOLS_HIDDEN_HPP

#include "options.hpp"

#include <taskmon/taskmon.hpp>

#include <chrono>
#include <iosfwd>
#include <string>
#include <string_view>

namespace taskmon::cli {

/**
 * Applies one of `hidden`'s own options (--watch, --settle, --proc) to
 * @p opts; false if @p key is not one of them.  Throws UsageError.
 */
bool apply_hidden_option(Options& opts, int key, const char* value);

/** --settle's value: decimal seconds from 0 to 3600 ("0", "0.5", "2s"); UsageError otherwise. */
[[nodiscard]] std::chrono::milliseconds parse_settle(const std::string& text);

/** What `hidden --watch` says about a process: new, no longer hidden, other reasons. */
enum class HiddenEvent { appeared, disappeared, changed };

/**
 * One line about a hidden process: "pid 42 comm sleep uid 0 start 12.340 s:
 * readdir (detail)" (its comm and detail with control characters as '?'),
 * or one JSON object {"pid", "comm", "uid", "start_time_ns", "reasons",
 * "detail"} ("comm_hex"/"detail_hex" too when not valid UTF-8, see
 * json_bytes_member()).  With @p event (--watch), text lines begin with the
 * time since the watch began and the event ("3.012 s appeared pid 42 ..."),
 * and JSON objects have "elapsed_s" and "event" too.  With @p raw, times
 * are plain seconds ("12.340000000") without a unit.
 */
[[nodiscard]] std::string format_hidden(const HiddenProcess& process, bool json,
                                        const HiddenEvent* event = nullptr,
                                        std::chrono::nanoseconds elapsed = {}, bool raw = false);

/**
 * Runs `taskmon hidden`: opens the device read-only, scans once (or every
 * --watch seconds, printing changes, until SIGINT or SIGTERM) and returns
 * exit_ok when no process is hidden, exit_hidden_found when some are (with
 * --watch: at the last check).  An error whose status would be exit_failure
 * is written to @p err and returns exit_hidden_failed instead, so that 1
 * always means "found"; the others are thrown as from the other commands.
 */
[[nodiscard]] int run_hidden(const Options& opts, std::ostream& out, std::ostream& err);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_HIDDEN_HPP
