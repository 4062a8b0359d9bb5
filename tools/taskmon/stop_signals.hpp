// SPDX-License-Identifier: GPL-2.0-only
//
// Ending a long-running command (watch, hidden --watch) cleanly on SIGINT or
// SIGTERM, and waiting in a way such a signal cuts short.
#ifndef TASKMON_TOOLS_STOP_SIGNALS_HPP
#define TASKMON_TOOLS_STOP_SIGNALS_HPP

#include <csignal>

#include <chrono>

namespace taskmon::cli {

/** The clock of every wait: CLOCK_MONOTONIC on Linux. */
using Clock = std::chrono::steady_clock;

/**
 * Catches SIGINT and SIGTERM for its lifetime, so that a command can finish
 * its last line and choose its own exit status; restores the previous
 * handlers.  One at a time.
 */
class StopSignals final {
public:
    StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    StopSignals(StopSignals&&) = delete;
    StopSignals& operator=(StopSignals&&) = delete;
    ~StopSignals();

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

/** Whether SIGINT or SIGTERM arrived while a StopSignals was alive. */
[[nodiscard]] bool stop_requested() noexcept;

/**
 * Sleeps until @p deadline; false if a stop signal arrived first (or
 * meanwhile).  Throws std::system_error if the clock cannot be waited on.
 */
[[nodiscard]] bool sleep_until(Clock::time_point deadline);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_STOP_SIGNALS_HPP
