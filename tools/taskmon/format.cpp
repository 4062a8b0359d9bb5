// SPDX-License-Identifier: GPL-2.0-only
#include "format.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <sstream>

namespace taskmon::cli {

namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;

std::string fixed(double value, int precision)
{
    std::ostringstream out;
    out << std::fixed << std::setprecision(precision) << value;
    return out.str();
}

std::string percent_text(const std::optional<double>& value)
{
    return value ? fixed(*value, 1) + " %" : std::string("- %");
}

std::string percent_json(const std::optional<double>& value)
{
    return value ? fixed(*value, 2) : std::string("null");
}

// The columns of `watch`: elapsed, user, system, cpu, user, system.
std::string columns(const std::array<std::string, 6>& cells)
{
    constexpr std::array<int, 6> widths{12, 15, 15, 9, 9, 9};
    std::ostringstream out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        out << (i == 0 ? "" : " ") << std::setw(widths.at(i)) << cells.at(i);
    }
    out << '\n';
    return out.str();
}

} // namespace

std::string format_seconds(std::chrono::nanoseconds ns, int decimals)
{
    if (decimals < 0) {
        decimals = 0;
    }
    if (decimals > 9) {
        decimals = 9;
    }
    const std::int64_t count = ns.count();
    const std::int64_t whole = count / ns_per_s;
    std::int64_t frac = std::llabs(count % ns_per_s);
    for (int i = decimals; i < 9; ++i) {
        frac /= 10;
    }
    std::ostringstream out;
    if (count < 0 && whole == 0) {
        out << '-';
    }
    out << whole;
    if (decimals > 0) {
        out << '.' << std::setw(decimals) << std::setfill('0') << frac;
    }
    out << " s";
    return out.str();
}

std::string json_seconds(std::chrono::nanoseconds ns)
{
    std::string text = format_seconds(ns, 9);
    text.resize(text.size() - 2); // drop " s"
    return text;
}

std::string json_string(std::string_view text)
{
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                std::ostringstream hex;
                hex << "\\u" << std::hex << std::setw(4) << std::setfill('0')
                    << static_cast<unsigned>(static_cast<unsigned char>(c));
                out += hex.str();
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

std::string format_get(pid_t pid, const Sample& sample, bool json)
{
    std::ostringstream out;
    if (json) {
        out << "{\"pid\": " << pid << ", \"user_ns\": " << sample.user.count()
            << ", \"system_ns\": " << sample.system.count()
            << ", \"total_ns\": " << sample.total().count()
            << ", \"user_s\": " << json_seconds(sample.user)
            << ", \"system_s\": " << json_seconds(sample.system)
            << ", \"total_s\": " << json_seconds(sample.total()) << "}\n";
    } else {
        out << "pid     " << pid << '\n'
            << "user    " << format_seconds(sample.user) << '\n'
            << "system  " << format_seconds(sample.system) << '\n'
            << "total   " << format_seconds(sample.total()) << '\n';
    }
    return out.str();
}

std::string format_pid(pid_t pid, bool json)
{
    return json ? "{\"pid\": " + std::to_string(pid) + "}\n" : std::to_string(pid) + "\n";
}

std::string format_set_pid(pid_t pid, bool json)
{
    return json ? format_pid(pid, true) : "now monitoring pid " + std::to_string(pid) + "\n";
}

std::string format_thread(bool started, bool json)
{
    const char* state = started ? "started" : "stopped";
    return json ? std::string(R"({"thread": ")") + state + "\"}\n"
                : std::string("monitoring thread ") + state + "\n";
}

WatchRow make_watch_row(std::chrono::nanoseconds elapsed, pid_t pid, const Sample& sample,
                        pid_t previous_pid, const Sample& previous, std::chrono::nanoseconds wall)
{
    WatchRow row;
    row.elapsed = elapsed;
    row.pid = pid;
    row.sample = sample;
    const Sample delta = sample - previous;
    if (pid == previous_pid && wall.count() > 0 && delta.user.count() >= 0 &&
        delta.system.count() >= 0) {
        // libtaskmon's percentage of one CPU; for one mode, of samples of that mode alone.
        row.cpu = taskmon::cpu_percent(previous, sample, wall);
        row.user_cpu =
            taskmon::cpu_percent(Sample{previous.user, {}}, Sample{sample.user, {}}, wall);
        row.system_cpu =
            taskmon::cpu_percent(Sample{{}, previous.system}, Sample{{}, sample.system}, wall);
    }
    return row;
}

std::string format_watch_header(pid_t pid, std::chrono::nanoseconds interval, bool json)
{
    if (json) {
        return {};
    }
    return "pid " + std::to_string(pid) + ", a sample every " + format_seconds(interval) + "\n" +
           columns({"elapsed", "user", "system", "cpu", "user", "system"});
}

std::string format_watch_row(const WatchRow& row, bool json)
{
    if (json) {
        std::ostringstream out;
        out << "{\"elapsed_s\": " << json_seconds(row.elapsed) << ", \"pid\": " << row.pid
            << ", \"user_ns\": " << row.sample.user.count()
            << ", \"system_ns\": " << row.sample.system.count()
            << ", \"user_s\": " << json_seconds(row.sample.user)
            << ", \"system_s\": " << json_seconds(row.sample.system)
            << ", \"cpu_percent\": " << percent_json(row.cpu)
            << ", \"user_percent\": " << percent_json(row.user_cpu)
            << ", \"system_percent\": " << percent_json(row.system_cpu) << "}\n";
        return out.str();
    }
    return columns({format_seconds(row.elapsed), format_seconds(row.sample.user),
                    format_seconds(row.sample.system), percent_text(row.cpu),
                    percent_text(row.user_cpu), percent_text(row.system_cpu)});
}

std::string format_watch_pids_header(const std::vector<pid_t>& pids,
                                     std::chrono::nanoseconds interval, bool json)
{
    if (json) {
        return {};
    }
    std::string text = pids.size() == 1 ? "pid" : "pids";
    for (const pid_t pid : pids) {
        text += " " + std::to_string(pid);
    }
    std::ostringstream pid;
    pid << ' ' << std::setw(8) << "pid";
    return text + ", a sample every " + format_seconds(interval) + "\n" +
           columns({"elapsed", "user", "system", "cpu", "user", "system"}).insert(12, pid.str());
}

std::string format_watch_row(const WatchRow& row, bool json, bool with_pid)
{
    std::string line = format_watch_row(row, json);
    if (json || !with_pid) {
        return line;
    }
    std::ostringstream pid;
    pid << ' ' << std::setw(8) << row.pid;
    return line.insert(12, pid.str());
}

std::string format_watch_exit(std::chrono::nanoseconds elapsed, pid_t pid, const Sample& sample,
                              bool reaped, bool json)
{
    if (json) {
        std::ostringstream out;
        out << "{\"elapsed_s\": " << json_seconds(elapsed) << ", \"pid\": " << pid
            << R"(, "exited": true, "reaped": )" << (reaped ? "true" : "false")
            << ", \"user_ns\": " << sample.user.count()
            << ", \"system_ns\": " << sample.system.count()
            << ", \"user_s\": " << json_seconds(sample.user)
            << ", \"system_s\": " << json_seconds(sample.system) << "}\n";
        return out.str();
    }
    return format_seconds(elapsed) + "  pid " + std::to_string(pid) + " exited: user " +
           format_seconds(sample.user) + ", system " + format_seconds(sample.system) +
           (reaped ? " (reaped before its exit was seen: the times of its last sample)" : "") +
           "\n";
}

std::string format_watch_lost(std::chrono::nanoseconds elapsed, std::uint64_t lost, bool json)
{
    if (json) {
        return "{\"elapsed_s\": " + json_seconds(elapsed) + ", \"lost\": " + std::to_string(lost) +
               "}\n";
    }
    return format_seconds(elapsed) + "  " + std::to_string(lost) +
           " samples lost: the output did not keep up\n";
}

namespace {

template <typename T>
std::string text_or_dash(const std::optional<T>& value)
{
    return value ? std::to_string(*value) : std::string("-");
}

std::string bytes_or_dash(const std::optional<std::uint64_t>& value)
{
    return value ? format_bytes(*value) : std::string("-");
}

std::string seconds_or_dash(const std::optional<std::chrono::nanoseconds>& value)
{
    return value ? format_seconds(*value) : std::string("-");
}

template <typename T>
std::string json_or_null(const std::optional<T>& value)
{
    return value ? std::to_string(*value) : std::string("null");
}

std::string json_or_null(const std::optional<std::chrono::nanoseconds>& value)
{
    return value ? std::to_string(value->count()) : std::string("null");
}

// The columns of `stats`: pid, ppid, state, threads, user, system, rss,
// anon, file, shmem, vsize, then comm (left-aligned, last).
std::string stats_columns(const std::array<std::string, 12>& cells)
{
    constexpr std::array<int, 11> widths{8, 8, 1, 7, 12, 12, 10, 10, 10, 10, 10};
    std::ostringstream out;
    for (std::size_t i = 0; i < widths.size(); ++i) {
        out << (i == 0 ? "" : " ") << std::setw(widths.at(i)) << cells.at(i);
    }
    out << ' ' << cells.back() << '\n';
    return out.str();
}

const char* errno_name(int errnum)
{
    switch (errnum) {
    case ESRCH:
        return "ESRCH";
    case EINVAL:
        return "EINVAL";
    case EACCES:
        return "EACCES";
    case EPERM:
        return "EPERM";
    case ENOTTY:
        return "ENOTTY";
    case ENODATA:
        return "ENODATA";
    default:
        return "error";
    }
}

} // namespace

std::string format_bytes(std::uint64_t bytes)
{
    constexpr std::array<const char*, 6> units{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        return std::to_string(bytes) + " B";
    }
    auto value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < units.size()) {
        value /= 1024.0;
        ++unit;
    }
    return fixed(value, 1) + " " + units.at(unit);
}

std::string format_stats_header(bool json)
{
    if (json) {
        return {};
    }
    return stats_columns({"PID", "PPID", "S", "THREADS", "USER", "SYSTEM", "RSS", "ANON", "FILE",
                          "SHMEM", "VSIZE", "COMM"});
}

std::string format_stats(const Stats& s, bool json)
{
    if (!json) {
        return stats_columns({std::to_string(s.pid), text_or_dash(s.ppid),
                              s.state ? std::string(1, *s.state) : std::string("-"),
                              text_or_dash(s.threads), seconds_or_dash(s.user),
                              seconds_or_dash(s.system), bytes_or_dash(s.rss_bytes()),
                              bytes_or_dash(s.rss_anon_bytes), bytes_or_dash(s.rss_file_bytes),
                              bytes_or_dash(s.rss_shmem_bytes), bytes_or_dash(s.vsize_bytes),
                              s.comm ? *s.comm : std::string("-")});
    }
    std::ostringstream out;
    out << "{\"pid\": " << s.pid << ", \"tgid\": " << json_or_null(s.tgid)
        << ", \"ppid\": " << json_or_null(s.ppid)
        << ", \"comm\": " << (s.comm ? json_string(*s.comm) : std::string("null"))
        << ", \"threads\": " << json_or_null(s.threads) << ", \"state\": "
        << (s.state ? json_string(std::string(1, *s.state)) : std::string("null"))
        << ", \"uid\": " << json_or_null(s.uid) << ", \"euid\": " << json_or_null(s.euid)
        << ", \"gid\": " << json_or_null(s.gid) << ", \"egid\": " << json_or_null(s.egid)
        << ", \"user_ns\": " << json_or_null(s.user)
        << ", \"system_ns\": " << json_or_null(s.system)
        << ", \"minor_faults\": " << json_or_null(s.minor_faults)
        << ", \"major_faults\": " << json_or_null(s.major_faults)
        << ", \"voluntary_ctxsw\": " << json_or_null(s.voluntary_ctxsw)
        << ", \"involuntary_ctxsw\": " << json_or_null(s.involuntary_ctxsw)
        << ", \"rss_anon_bytes\": " << json_or_null(s.rss_anon_bytes)
        << ", \"rss_file_bytes\": " << json_or_null(s.rss_file_bytes)
        << ", \"rss_shmem_bytes\": " << json_or_null(s.rss_shmem_bytes)
        << ", \"vsize_bytes\": " << json_or_null(s.vsize_bytes)
        << ", \"start_time_ns\": " << json_or_null(s.start_time)
        << ", \"sample_time_ns\": " << json_or_null(s.sample_time) << "}\n";
    return out.str();
}

std::string format_stats_error(pid_t pid, int errnum, std::string_view message, bool json)
{
    if (!json) {
        return {};
    }
    return "{\"pid\": " + std::to_string(pid) + ", \"error\": " + json_string(errno_name(errnum)) +
           ", \"errno\": " + std::to_string(errnum) + ", \"message\": " + json_string(message) +
           "}\n";
}

} // namespace taskmon::cli
