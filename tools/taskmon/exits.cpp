// SPDX-License-Identifier: GPL-2.0-only
#include "exits.hpp"

#include "exit_codes.hpp"
#include "format.hpp"
#include "id_names.hpp"
#include "output.hpp"
#include "stop_signals.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <optional>
#include <sstream>
#include <system_error>

namespace taskmon::cli {

namespace {

std::chrono::nanoseconds clock_ns(clockid_t clock)
{
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// "SIGKILL", or nullopt for a signal without a name (real-time ones).
std::optional<std::string> signal_name(int sig)
{
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev == nullptr) {
        return std::nullopt;
    }
    return std::string("SIG") + abbrev;
}

// "14:02:03.123", the local time of day of a CLOCK_REALTIME time.
std::string time_of_day(std::chrono::nanoseconds wall)
{
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wall);
    const std::time_t t = seconds.count();
    std::tm tm{};
    ::localtime_r(&t, &tm);
    std::ostringstream out;
    out << std::setfill('0') << std::setw(2) << tm.tm_hour << ':' << std::setw(2) << tm.tm_min
        << ':' << std::setw(2) << tm.tm_sec << '.' << std::setw(3)
        << std::chrono::duration_cast<std::chrono::milliseconds>(wall - seconds).count();
    return out.str();
}

std::string seconds_cell(std::chrono::nanoseconds ns, bool raw)
{
    return raw ? raw_seconds(ns) : format_seconds(ns);
}

std::string wall_json(std::chrono::nanoseconds wall)
{
    return R"("time": ")" + rfc3339(wall) + R"(", "time_unix_ns": )" + std::to_string(wall.count());
}

} // namespace

std::string exit_status_text(const ExitRecord& record)
{
    if (record.signaled()) {
        const auto name = signal_name(record.term_signal());
        return "signal " + (name ? *name : std::to_string(record.term_signal()));
    }
    return "exit " + std::to_string(record.exit_code());
}

std::string format_exits_header(bool json)
{
    if (json) {
        return {};
    }
    std::ostringstream out;
    out << std::left << std::setw(12) << "TIME" << std::right << ' ' << std::setw(7) << "PID" << ' '
        << std::setw(7) << "PPID" << ' ' << std::left << std::setw(10) << "USER" << ' '
        << std::setw(14) << "STATUS" << std::right << ' ' << std::setw(11) << "CPU-USER" << ' '
        << std::setw(11) << "CPU-SYSTEM" << ' ' << std::setw(10) << "MAXRSS" << ' ' << std::setw(12)
        << "LIFETIME" << ' ' << "COMM\n";
    return out.str();
}

std::string format_exit(const ExitRecord& r, const std::string& user,
                        std::chrono::nanoseconds wall_time, bool json, bool raw)
{
    std::ostringstream out;
    if (json) {
        const auto sig = r.signaled() ? signal_name(r.term_signal()) : std::nullopt;
        out << '{' << wall_json(wall_time) << ", \"seq\": " << r.seq << ", \"pid\": " << r.pid
            << ", \"ppid\": " << r.ppid << ", \"uid\": " << r.uid
            << ", \"username\": " << json_string(user) << ", \"status\": " << r.status
            << ", \"exited\": " << (r.exited() ? "true" : "false") << ", \"exit_code\": "
            << (r.exited() ? std::to_string(r.exit_code()) : std::string("null"))
            << ", \"signaled\": " << (r.signaled() ? "true" : "false") << ", \"term_signal\": "
            << (r.signaled() ? std::to_string(r.term_signal()) : std::string("null"))
            << ", \"signal\": " << (sig ? json_string(*sig) : std::string("null"))
            << ", \"core_dumped\": " << (r.signaled() && r.core_dumped() ? "true" : "false")
            << ", \"start_time_ns\": " << r.start_time.count()
            << ", \"exit_time_ns\": " << r.exit_time.count()
            << ", \"lifetime_s\": " << raw_seconds(r.lifetime())
            << ", \"user_ns\": " << r.user.count() << ", \"system_ns\": " << r.system.count()
            << ", \"user_s\": " << raw_seconds(r.user)
            << ", \"system_s\": " << raw_seconds(r.system)
            << ", \"children_user_ns\": " << r.children_user.count()
            << ", \"children_system_ns\": " << r.children_system.count()
            << ", \"max_rss_bytes\": " << r.max_rss_bytes
            << ", \"minor_faults\": " << r.minor_faults << ", \"major_faults\": " << r.major_faults
            << ", \"voluntary_ctxsw\": " << r.voluntary_ctxsw
            << ", \"involuntary_ctxsw\": " << r.involuntary_ctxsw << ", "
            << json_bytes_member("comm", r.comm) << "}\n";
        return out.str();
    }
    const std::string name = safe_text(user);
    out << std::left << std::setw(12) << time_of_day(wall_time) << std::right << ' ' << std::setw(7)
        << r.pid << ' ' << std::setw(7) << r.ppid << ' ' << std::left << std::setw(10) << name
        << ' ' << std::setw(14) << exit_status_text(r) << std::right << ' ' << std::setw(11)
        << seconds_cell(r.user, raw) << ' ' << std::setw(11) << seconds_cell(r.system, raw) << ' '
        << std::setw(10) << (raw ? std::to_string(r.max_rss_bytes) : format_bytes(r.max_rss_bytes))
        << ' ' << std::setw(12) << seconds_cell(r.lifetime(), raw) << ' '
        << (r.comm.empty() ? std::string("-") : safe_text(r.comm)) << '\n';
    return out.str();
}

std::string format_exits_lost(std::uint64_t lost, std::chrono::nanoseconds wall_time, bool json)
{
    if (json) {
        return '{' + wall_json(wall_time) + ", \"lost\": " + std::to_string(lost) + "}\n";
    }
    return std::to_string(lost) + (lost == 1 ? " exit" : " exits") +
           " lost: the output did not keep up\n";
}

int run_exits(const Options& opts, std::ostream& out)
{
    const StopSignals signals;
    // Subscribing is reading: a read-only file of the device (its own).
    Exits exits(opts.device);
    const std::chrono::nanoseconds to_wall = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
    IdNames users;
    write_output(out, format_exits_header(opts.json));
    pollfd pfd{exits.fd(), POLLIN, 0};
    for (;;) {
        if (stop_requested()) {
            return exit_ok; // Ctrl-C or SIGTERM: a normal end
        }
        const std::optional<ExitRecord> r = exits.try_next();
        if (!r) {
            if (::poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                throw std::system_error(errno, std::generic_category(), "poll");
            }
            continue;
        }
        const std::chrono::nanoseconds wall = r->exit_time + to_wall;
        if (r->lost != 0) {
            write_output(out, format_exits_lost(r->lost, wall, opts.json));
        }
        write_output(out, format_exit(*r, users.user(r->uid), wall, opts.json, opts.raw));
    }
}

} // namespace taskmon::cli
