// SPDX-License-Identifier: GPL-2.0-only
#include "commands.hpp"

#include "exit_codes.hpp"
#include "format.hpp"

#include <taskmon/taskmon.hpp>

#include <csignal>
#include <ctime>

#include <cerrno>
#include <chrono>
#include <ostream>
#include <stdexcept>

namespace taskmon::cli {

namespace {

using Clock = std::chrono::steady_clock; // CLOCK_MONOTONIC on Linux

volatile std::sig_atomic_t stop_requested =
    0; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

extern "C" void on_stop_signal(int /*signum*/)
{
    stop_requested = 1;
}

// Catches SIGINT and SIGTERM for its lifetime so that `watch` ends cleanly
// (exit status 0, last line complete); restores the previous handlers.
class StopSignals {
public:
    StopSignals()
    {
        stop_requested = 0;
        struct sigaction action {};
        action.sa_handler = on_stop_signal; // NOLINT(cppcoreguidelines-pro-type-union-access)
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: interrupt the sleep
        sigaction(SIGINT, &action, &old_int_);
        sigaction(SIGTERM, &action, &old_term_);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    StopSignals(StopSignals&&) = delete;
    StopSignals& operator=(StopSignals&&) = delete;
    ~StopSignals()
    {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

// Sleeps until @p deadline; false if a stop signal arrived first.
bool sleep_until(Clock::time_point deadline)
{
    const auto since_epoch = deadline.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(secs.count());
    ts.tv_nsec = static_cast<long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
    for (;;) {
        if (stop_requested != 0) {
            return false;
        }
        const int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        if (rc == 0) {
            return stop_requested == 0;
        }
        if (rc != EINTR) {
            throw std::system_error(rc, std::generic_category(), "clock_nanosleep");
        }
    }
}

void write(std::ostream& out, const std::string& text)
{
    out << text;
    out.flush();
    if (!out) {
        throw std::runtime_error(
            "cannot write to standard output (closed pipe or full disk?); check where the output "
            "goes");
    }
}

void watch(Monitor& monitor, const Options& opts, std::ostream& out)
{
    const StopSignals signals;
    pid_t previous_pid = monitor.target();
    Sample previous = monitor.sample();
    const Clock::time_point begin = Clock::now();
    Clock::time_point previous_time = begin;
    Clock::time_point deadline = begin + opts.interval;
    write(out, format_watch_header(previous_pid, opts.interval, opts.json));

    for (std::uint64_t rows = 0; !opts.count || rows < *opts.count; ++rows) {
        if (!sleep_until(deadline)) {
            return; // Ctrl-C or SIGTERM: a normal end
        }
        // target() then sample(): if another process switches the target in
        // between, the row shows the new pid's time and no CPU %; the next
        // row is right again.
        const pid_t pid = monitor.target();
        const Sample current = monitor.sample();
        const Clock::time_point now = Clock::now();
        write(out, format_watch_row(make_watch_row(now - begin, pid, current, previous_pid,
                                                   previous, now - previous_time),
                                    opts.json));
        previous_pid = pid;
        previous = current;
        previous_time = now;
        deadline += opts.interval;
        if (deadline < now) { // fell behind (suspend, overload): skip, do not burst
            deadline = now + opts.interval;
        }
    }
}

} // namespace

void run_command(const Options& opts, std::ostream& out)
{
    switch (opts.command) {
    case Command::help:
        write(out, help_text());
        return;
    case Command::version:
        write(out, version_text());
        return;
    default:
        break;
    }

    Monitor monitor(opts.device);
    switch (opts.command) {
    case Command::get: {
        const pid_t pid = monitor.target();
        write(out, format_get(pid, monitor.sample(), opts.json));
        break;
    }
    case Command::watch:
        watch(monitor, opts, out);
        break;
    case Command::start:
        monitor.start();
        write(out, format_thread(true, opts.json));
        break;
    case Command::stop:
        monitor.stop();
        write(out, format_thread(false, opts.json));
        break;
    case Command::pid:
        if (opts.pid) {
            monitor.set_target(*opts.pid);
            write(out, format_set_pid(*opts.pid, opts.json));
        } else {
            write(out, format_pid(monitor.target(), opts.json));
        }
        break;
    case Command::help:
    case Command::version:
        break;
    }
}

int run_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) noexcept
{
    try {
        try {
            run_command(parse_args(args), out);
            return exit_ok;
        } catch (const UsageError& e) {
            err << "taskmon: " << e.what() << "\nTry 'taskmon --help' for more information.\n";
            return exit_code_for(e);
        } catch (const std::exception& e) {
            err << "taskmon: " << e.what() << '\n';
            return exit_code_for(e);
        }
    } catch (...) {
        return exit_failure; // writing the error message itself failed
    }
}

} // namespace taskmon::cli
