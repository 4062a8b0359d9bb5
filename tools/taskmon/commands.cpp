// SPDX-License-Identifier: GPL-2.0-only
#include "commands.hpp"

#include "exit_codes.hpp"
#include "exits.hpp"
#include "format.hpp"
#include "hidden.hpp"
#include "output.hpp"
#include "ps.hpp"
#include "stop_signals.hpp"
#include "top.hpp"

#include <taskmon/taskmon.hpp>

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace taskmon::cli {

namespace {

std::chrono::nanoseconds clock_ns(clockid_t clock)
{
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// CLOCK_REALTIME minus CLOCK_BOOTTIME now: turns a stream record's
// timestamp into the wall-clock time of its sample.
std::chrono::nanoseconds boottime_to_realtime()
{
    return clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
}

// The target's pid and CPU time.  With TM_STATS (pid 0) both come from one
// read, so another program switching the target cannot pair one pid with
// another's time; a module without TM_STATS gets the old two requests.
class TargetReader {
public:
    explicit TargetReader(const Monitor& monitor) : monitor_(monitor) {}

    std::pair<pid_t, Sample> read()
    {
        if (atomic_) {
            try {
                const Stats s = monitor_.stats();
                if (s.user && s.system) {
                    return {s.pid, Sample{*s.user, *s.system}};
                }
            } catch (const NotSupported&) {
                // An older module (or not a taskmonitor at all: then the
                // requests below fail with their own NotSupported).
            }
            atomic_ = false;
        }
        const pid_t pid = monitor_.target();
        return {pid, monitor_.sample()};
    }

private:
    const Monitor& monitor_;
    bool atomic_ = true;
};

// `watch` without a stream: TM_GET in a sleep loop, for a module without
// TM_SUBSCRIBE (or an interval above the stream's hour).
void watch_polling(Monitor& monitor, const Options& opts, std::ostream& out)
{
    TargetReader reader(monitor);
    auto [previous_pid, previous] = reader.read();
    const Clock::time_point begin = Clock::now();
    Clock::time_point previous_time = begin;
    Clock::time_point deadline = begin + opts.interval;
    write_output(out, format_watch_header(previous_pid, opts.interval, opts.json));

    for (std::uint64_t rows = 0; !opts.count || rows < *opts.count; ++rows) {
        if (!sleep_until(deadline)) {
            return; // Ctrl-C or SIGTERM: a normal end
        }
        // A switched target shows as a new pid, without CPU %; on an old
        // module (target() then sample()) the row may pair the new pid with
        // the old one's time, and the next row is right again.
        const auto [pid, current] = reader.read();
        const Clock::time_point now = Clock::now();
        WatchRow row =
            make_watch_row(now - begin, pid, current, previous_pid, previous, now - previous_time);
        row.wall_time = clock_ns(CLOCK_REALTIME);
        write_output(out, format_watch_row(row, opts.json, false, opts.raw));
        previous_pid = pid;
        previous = current;
        previous_time = now;
        deadline += opts.interval;
        if (deadline < now) { // fell behind (suspend, overload): skip, do not burst
            deadline = now + opts.interval;
        }
    }
}

// What `watch` remembers of one process of the stream.
struct Watched {
    Sample sample;                    // of the previous record
    std::chrono::nanoseconds time{0}; // its timestamp
    std::uint64_t rows = 0;
    bool done = false; // exited, or --count rows printed
};

// `watch [PID...]` from a stream of samples (TM_SUBSCRIBE): the kernel takes
// them on time, so rows do not drift; each process's first record is the
// base of its CPU use, the next ones are rows; an exit record is a line of
// its own.  Ends when every process exited or has --count rows, or on a
// stop signal.
void watch_stream(Stream& stream, const Options& opts, std::ostream& out)
{
    const bool several = !opts.pids.empty();
    if (several) {
        write_output(out, format_watch_pids_header(opts.pids, opts.interval, opts.json));
    }
    std::map<pid_t, Watched> seen;
    std::optional<std::chrono::nanoseconds> begin;
    const std::chrono::nanoseconds to_wall = boottime_to_realtime();
    pollfd pfd{stream.fd(), POLLIN, 0};
    for (;;) {
        if (stop_requested()) {
            return; // Ctrl-C or SIGTERM: a normal end
        }
        const std::optional<StreamRecord> r = stream.try_next();
        if (!r) {
            if (stream.ended()) {
                return; // every process exited
            }
            if (::poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                throw std::system_error(errno, std::generic_category(), "poll");
            }
            continue;
        }
        if (!begin) {
            begin = r->timestamp;
            if (!several) {
                write_output(out, format_watch_header(r->pid, opts.interval, opts.json));
            }
        }
        const std::chrono::nanoseconds elapsed = r->timestamp - *begin;
        if (r->lost != 0) {
            write_output(out, format_watch_lost(elapsed, r->lost, opts.json, opts.raw));
        }
        const auto found = seen.find(r->pid);
        if (r->exited()) {
            write_output(out, format_watch_exit(elapsed, r->pid, r->sample(), r->reaped(),
                                                opts.json, opts.raw, r->timestamp + to_wall));
            seen[r->pid].done = true;
        } else if (found == seen.end()) {
            seen[r->pid] = Watched{r->sample(), r->timestamp, 0, false};
        } else if (!found->second.done) {
            Watched& w = found->second;
            WatchRow row = make_watch_row(elapsed, r->pid, r->sample(), r->pid, w.sample,
                                          r->timestamp - w.time);
            row.wall_time = r->timestamp + to_wall;
            write_output(out, format_watch_row(row, opts.json, several, opts.raw));
            w = Watched{r->sample(), r->timestamp, w.rows + 1,
                        opts.count && w.rows + 1 >= *opts.count};
        }
        const std::size_t processes = several ? opts.pids.size() : 1;
        if (seen.size() >= processes &&
            std::all_of(seen.begin(), seen.end(), [](const auto& p) { return p.second.done; })) {
            return;
        }
    }
}

void watch(Monitor& monitor, const Options& opts, std::ostream& out)
{
    const StopSignals signals;
    const bool several = !opts.pids.empty();
    if (!several && opts.interval > Stream::max_period) {
        watch_polling(monitor, opts, out);
        return;
    }
    std::optional<Stream> stream;
    try {
        stream.emplace(monitor, several ? opts.pids : std::vector<pid_t>{0}, opts.interval);
    } catch (const NotSupported&) {
        if (several) {
            throw; // the loop below follows only the target
        }
        watch_polling(monitor, opts, out); // a module older than streams
        return;
    }
    watch_stream(*stream, opts, out);
}

// `stats PID...`: one batch; a pid that cannot be read gets its message on
// @p err and makes the status non-zero, the others still print.
int stats(const Monitor& monitor, const Options& opts, std::ostream& out, std::ostream& err)
{
    const auto results = monitor.stats(opts.pids, opts.threads ? Scope::thread : Scope::process);
    std::string text = format_stats_header(opts.json);
    int status = exit_ok;
    for (const auto& result : results) {
        if (result.ok()) {
            text += format_stats(result.stats, opts.json, opts.raw);
            continue;
        }
        try {
            std::rethrow_exception(result.exception);
        } catch (const std::exception& e) {
            text += format_stats_error(result.pid, result.error, e.what(), opts.json);
            err << "taskmon: " << e.what() << '\n';
            if (status == exit_ok) {
                status = exit_code_for(e);
            }
        }
    }
    write_output(out, text);
    return status;
}

} // namespace

int run_command(const Options& opts, std::ostream& out, std::ostream& err)
{
    switch (opts.command) {
    case Command::help:
        write_output(out, help_text(opts.help_for));
        return exit_ok;
    case Command::version:
        write_output(out, version_text());
        return exit_ok;
    case Command::hidden:
        return run_hidden(opts, out, err);
    case Command::ps:
        return run_ps(opts, out, err);
    case Command::top:
        return run_top(opts, out, err);
    case Command::exits:
        return run_exits(opts, out);
    default:
        break;
    }

    // Steering needs a read-write open, which only root may make; reading a
    // read-only one, which the group taskmon may too (docs/security.md).
    Monitor monitor(opts.device, steers(opts) ? Access::steer : Access::read);
    switch (opts.command) {
    case Command::get: {
        const auto [pid, sample] = TargetReader(monitor).read();
        write_output(out, format_get(pid, sample, opts.json, opts.raw));
        break;
    }
    case Command::stats:
        return stats(monitor, opts, out, err);
    case Command::watch:
        watch(monitor, opts, out);
        break;
    case Command::start:
        monitor.start();
        write_output(out, format_thread(true, opts.json));
        break;
    case Command::stop:
        monitor.stop();
        write_output(out, format_thread(false, opts.json));
        break;
    case Command::pid:
        if (opts.pid) {
            monitor.set_target(*opts.pid);
            write_output(out, format_set_pid(*opts.pid, opts.json));
        } else {
            write_output(out, format_pid(monitor.target(), opts.json));
        }
        break;
    case Command::help:
    case Command::version:
    case Command::hidden:
    case Command::ps:
    case Command::top:
    case Command::exits:
        break;
    }
    return exit_ok;
}

std::string advice(const Error& error, const Options& opts)
{
    const bool setting_target = opts.command == Command::pid && opts.pid;
    if (dynamic_cast<const DeviceNotFound*>(&error) != nullptr) {
        return "is the module loaded? Load it with 'sudo modprobe taskmonitor' (installed "
               "package) or 'sudo insmod taskmonitor.ko' (build tree), or check --device";
    }
    if (dynamic_cast<const PermissionDenied*>(&error) != nullptr) {
        if (error.operation() == "open" && !steers(opts)) {
            return "to read without root, join the group taskmon: 'sudo adduser $USER taskmon', "
                   "then log in again";
        }
        if (error.errnum() == EBADF) { // steers() and the request disagree
            return "this taskmon opened the device read-only for a steering command: please "
                   "report it as a bug";
        }
        return "start, stop and 'pid PID' change what every user of the module sees: run them "
               "as root (sudo taskmon ...; root in a user namespace or container cannot)";
    }
    if (dynamic_cast<const NoTarget*>(&error) != nullptr) {
        return "choose a process to monitor with 'sudo taskmon pid PID'";
    }
    if (dynamic_cast<const NoSuchProcess*>(&error) != nullptr) {
        if (setting_target) {
            return "'ps' lists the pids of running processes";
        }
        if (opts.command == Command::stats) {
            return "";
        }
        return "choose another target with 'sudo taskmon pid PID'";
    }
    if (dynamic_cast<const NotSupported*>(&error) != nullptr) {
        return "is " + error.device().string() +
               " the taskmonitor device (check --device)? Otherwise the loaded module is older "
               "than this taskmon: load the module of the same release";
    }
    return "";
}

int run_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) noexcept
{
    try {
        Options opts;
        try {
            opts = parse_args(args);
            return run_command(opts, out, err);
        } catch (const UsageError& e) {
            err << "taskmon: " << e.what() << "\nTry 'taskmon --help' for more information.\n";
            return exit_code_for(e);
        } catch (const OutputClosed&) {
            return exit_ok; // as 'yes | head -1' expects: not an error, nothing to say
        } catch (const Error& e) {
            err << "taskmon: " << e.what() << '\n';
            if (const std::string fix = advice(e, opts); !fix.empty()) {
                err << "taskmon: " << fix << '\n';
            }
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
