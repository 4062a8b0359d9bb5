// SPDX-License-Identifier: GPL-2.0-only
#include "stop_signals.hpp"

#include <ctime>

#include <cerrno>
#include <system_error>

namespace taskmon::cli {

namespace {

volatile std::sig_atomic_t stop_flag =
    0; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

extern "C" void on_stop_signal(int /*signum*/)
{
    stop_flag = 1;
}

} // namespace

StopSignals::StopSignals()
{
    stop_flag = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal; // NOLINT(cppcoreguidelines-pro-type-union-access)
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; // no SA_RESTART: interrupt the sleep
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
}

StopSignals::~StopSignals()
{
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
}

bool stop_requested() noexcept
{
    return stop_flag != 0;
}

bool sleep_until(Clock::time_point deadline)
{
    const auto since_epoch = deadline.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(secs.count());
    ts.tv_nsec = static_cast<long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
    for (;;) {
        if (stop_requested()) {
            return false;
        }
        const int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        if (rc == 0) {
            return !stop_requested();
        }
        if (rc != EINTR) {
            throw std::system_error(rc, std::generic_category(), "clock_nanosleep");
        }
    }
}

} // namespace taskmon::cli
