// SPDX-License-Identifier: GPL-2.0-only
#include "format.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace taskmon::cli {

namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;

// As an ostream's std::fixed with std::setprecision(@p precision) prints it
// (the C locale, which taskmon never changes), without building a stream:
// `taskmon ps` prints thousands of these.
std::string fixed(double value, int precision)
{
    std::array<char, 64> buf{};
    const int n = std::snprintf(buf.data(), buf.size(), "%.*f", precision, value);
    if (n < 0 || static_cast<std::size_t>(n) >= buf.size()) {
        std::string big(static_cast<std::size_t>(std::max(n, 0)) + 1, '\0');
        const int m = std::snprintf(big.data(), big.size(), "%.*f", precision, value);
        big.resize(static_cast<std::size_t>(std::max(m, 0)));
        return big;
    }
    return std::string(buf.data(), static_cast<std::size_t>(n));
}

std::string percent_text(const std::optional<double>& value, bool raw = false)
{
    if (raw) {
        return value ? fixed(*value, 2) : std::string("-");
    }
    return value ? fixed(*value, 1) + " %" : std::string("- %");
}

// Seconds for a table cell: "36.181 s", or with @p raw "36.181000000".
std::string seconds_cell(std::chrono::nanoseconds ns, bool raw)
{
    return raw ? json_seconds(ns) : format_seconds(ns);
}

// The "time" and "time_unix_ns" members of a watch line, with a leading ", ".
std::string json_wall_time(const std::optional<std::chrono::nanoseconds>& wall)
{
    if (!wall) {
        return {};
    }
    return ", \"time\": \"" + rfc3339(*wall) +
           "\", \"time_unix_ns\": " + std::to_string(wall->count());
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
    const char* sign = count < 0 && whole == 0 ? "-" : "";
    std::array<char, 48> buf{};
    const int n = decimals > 0 ? std::snprintf(buf.data(), buf.size(), "%s%lld.%0*lld s", sign,
                                               static_cast<long long>(whole), decimals,
                                               static_cast<long long>(frac))
                               : std::snprintf(buf.data(), buf.size(), "%s%lld s", sign,
                                               static_cast<long long>(whole));
    return std::string(buf.data(), static_cast<std::size_t>(std::max(n, 0)));
}

std::string json_seconds(std::chrono::nanoseconds ns)
{
    std::string text = format_seconds(ns, 9);
    text.resize(text.size() - 2); // drop " s"
    return text;
}

namespace {

// The length of the well-formed UTF-8 sequence at @p i of @p text, and its
// code point; 0 if the byte there does not begin one.
std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& code)
{
    const auto byte = [&text](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const auto cont = [&](std::size_t k) { return k < text.size() && (byte(k) & 0xC0U) == 0x80U; };
    const unsigned c = byte(i);
    if (c < 0x80U) {
        code = c;
        return 1;
    }
    if (c >= 0xC2U && c <= 0xDFU && cont(i + 1)) {
        code = ((c & 0x1FU) << 6U) | (byte(i + 1) & 0x3FU);
        return 2;
    }
    if ((c & 0xF0U) == 0xE0U && cont(i + 1) && cont(i + 2)) {
        const unsigned c1 = byte(i + 1);
        if ((c == 0xE0U && c1 < 0xA0U) || (c == 0xEDU && c1 >= 0xA0U)) {
            return 0; // overlong, or a surrogate
        }
        code = ((c & 0x0FU) << 12U) | ((c1 & 0x3FU) << 6U) | (byte(i + 2) & 0x3FU);
        return 3;
    }
    if (c >= 0xF0U && c <= 0xF4U && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
        const unsigned c1 = byte(i + 1);
        if ((c == 0xF0U && c1 < 0x90U) || (c == 0xF4U && c1 >= 0x90U)) {
            return 0; // overlong, or above U+10FFFF
        }
        code = ((c & 0x07U) << 18U) | ((c1 & 0x3FU) << 12U) | ((byte(i + 2) & 0x3FU) << 6U) |
               (byte(i + 3) & 0x3FU);
        return 4;
    }
    return 0;
}

// Code points a terminal must not get from a process: controls, and those
// that reorder or break the text around them.
bool unsafe_code_point(char32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x200E || c == 0x200F ||
           (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

} // namespace

bool valid_utf8(std::string_view text)
{
    char32_t code = 0;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence(text, i, code);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

std::string utf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    char32_t code = 0;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence(text, i, code);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(text, i, n);
            i += n;
        }
    }
    return out;
}

std::string hex_bytes(std::string_view text)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size() * 2);
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out += digits[u >> 4U];
        out += digits[u & 0x0FU];
    }
    return out;
}

std::string safe_text(std::string_view bytes)
{
    // Most text is printable ASCII: as it is.
    if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return c >= 0x20 && c < 0x7F; })) {
        return std::string(bytes);
    }
    std::string out;
    out.reserve(bytes.size());
    char32_t code = 0;
    for (std::size_t i = 0; i < bytes.size();) {
        const std::size_t n = utf8_sequence(bytes, i, code);
        if (n == 0 || unsafe_code_point(code)) {
            out += '?';
            i += n == 0 ? 1 : n;
        } else {
            out.append(bytes, i, n);
            i += n;
        }
    }
    return out;
}

std::size_t text_width(std::string_view text)
{
    std::size_t width = 0;
    for (const char c : text) {
        if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) {
            ++width;
        }
    }
    return width;
}

std::string raw_seconds(std::chrono::nanoseconds ns)
{
    return json_seconds(ns);
}

std::string json_string(std::string_view bytes)
{
    const std::string text = utf8(bytes);
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
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                std::array<char, 8> hex{};
                std::snprintf(hex.data(), hex.size(), "\\u%04x",
                              static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += hex.data();
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

std::string json_bytes_member(std::string_view key, std::string_view bytes)
{
    std::string out = json_string(key) + ": " + json_string(bytes);
    if (!valid_utf8(bytes)) {
        out += ", " + json_string(std::string(key) + "_hex") + ": \"" + hex_bytes(bytes) + "\"";
    }
    return out;
}

std::string rfc3339(std::chrono::nanoseconds since_epoch)
{
    const std::int64_t count = since_epoch.count();
    std::int64_t secs = count / ns_per_s;
    std::int64_t frac = count % ns_per_s;
    if (frac < 0) {
        frac += ns_per_s;
        --secs;
    }
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 32> date{};
    const std::size_t n = std::strftime(date.data(), date.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    std::ostringstream out;
    out << std::string(date.data(), n) << '.' << std::setw(9) << std::setfill('0') << frac << 'Z';
    return out.str();
}

std::string format_get(pid_t pid, const Sample& sample, bool json, bool raw)
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
            << "user    " << seconds_cell(sample.user, raw) << '\n'
            << "system  " << seconds_cell(sample.system, raw) << '\n'
            << "total   " << seconds_cell(sample.total(), raw) << '\n';
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
    return format_watch_row(row, json, false, false);
}

namespace {

std::string watch_row(const WatchRow& row, bool json, bool raw)
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
            << ", \"system_percent\": " << percent_json(row.system_cpu)
            << json_wall_time(row.wall_time) << "}\n";
        return out.str();
    }
    return columns({seconds_cell(row.elapsed, raw), seconds_cell(row.sample.user, raw),
                    seconds_cell(row.sample.system, raw), percent_text(row.cpu, raw),
                    percent_text(row.user_cpu, raw), percent_text(row.system_cpu, raw)});
}

} // namespace

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

std::string format_watch_row(const WatchRow& row, bool json, bool with_pid, bool raw)
{
    std::string line = watch_row(row, json, raw);
    if (json || !with_pid) {
        return line;
    }
    std::ostringstream pid;
    pid << ' ' << std::setw(8) << row.pid;
    return line.insert(12, pid.str());
}

std::string format_watch_exit(std::chrono::nanoseconds elapsed, pid_t pid, const Sample& sample,
                              bool reaped, bool json, bool raw,
                              std::optional<std::chrono::nanoseconds> wall_time)
{
    if (json) {
        std::ostringstream out;
        out << "{\"elapsed_s\": " << json_seconds(elapsed) << ", \"pid\": " << pid
            << R"(, "exited": true, "reaped": )" << (reaped ? "true" : "false")
            << ", \"user_ns\": " << sample.user.count()
            << ", \"system_ns\": " << sample.system.count()
            << ", \"user_s\": " << json_seconds(sample.user)
            << ", \"system_s\": " << json_seconds(sample.system) << json_wall_time(wall_time)
            << "}\n";
        return out.str();
    }
    return seconds_cell(elapsed, raw) + "  pid " + std::to_string(pid) + " exited: user " +
           seconds_cell(sample.user, raw) + ", system " + seconds_cell(sample.system, raw) +
           (reaped ? " (reaped before its exit was seen: the times of its last sample)" : "") +
           "\n";
}

std::string format_watch_lost(std::chrono::nanoseconds elapsed, std::uint64_t lost, bool json,
                              bool raw)
{
    if (json) {
        return "{\"elapsed_s\": " + json_seconds(elapsed) + ", \"lost\": " + std::to_string(lost) +
               "}\n";
    }
    return seconds_cell(elapsed, raw) + "  " + std::to_string(lost) +
           " samples lost: the output did not keep up\n";
}

namespace {

template <typename T>
std::string text_or_dash(const std::optional<T>& value)
{
    return value ? std::to_string(*value) : std::string("-");
}

std::string bytes_or_dash(const std::optional<std::uint64_t>& value, bool raw)
{
    if (!value) {
        return "-";
    }
    return raw ? std::to_string(*value) : format_bytes(*value);
}

std::string seconds_or_dash(const std::optional<std::chrono::nanoseconds>& value, bool raw)
{
    return value ? seconds_cell(*value, raw) : std::string("-");
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
    // "%.1f" of value, without printf (`taskmon ps` prints two a row).
    // value is static_cast<double>(bytes) divided by 2^shift, exactly: its
    // whole part and its fraction as an integer of 2^-shift, both exact;
    // then tenths, rounded as printf rounds, half to even.
    const int shift = 10 * static_cast<int>(unit);
    const double whole = std::floor(value);
    const auto low = static_cast<std::uint64_t>(std::ldexp(value - whole, shift)); // < 2^50
    const std::uint64_t mask = (std::uint64_t{1} << static_cast<unsigned>(shift)) - 1U;
    const std::uint64_t half = std::uint64_t{1} << static_cast<unsigned>(shift - 1);
    std::uint64_t tenths =
        static_cast<std::uint64_t>(whole) * 10U + ((low * 10U) >> static_cast<unsigned>(shift));
    const std::uint64_t rest = (low * 10U) & mask;
    if (rest > half || (rest == half && (tenths & 1U) != 0U)) {
        ++tenths;
    }
    std::string out = std::to_string(static_cast<std::uint64_t>(tenths / 10U));
    out += '.';
    out += static_cast<char>('0' + static_cast<int>(tenths % 10U));
    out += ' ';
    out += units.at(unit);
    return out;
}

std::string format_stats_header(bool json)
{
    if (json) {
        return {};
    }
    return stats_columns({"PID", "PPID", "S", "THREADS", "USER", "SYSTEM", "RSS", "ANON", "FILE",
                          "SHMEM", "VSIZE", "COMM"});
}

std::string format_stats(const Stats& s, bool json, bool raw)
{
    if (!json) {
        return stats_columns(
            {std::to_string(s.pid), text_or_dash(s.ppid),
             s.state ? safe_text(std::string(1, *s.state)) : std::string("-"),
             text_or_dash(s.threads), seconds_or_dash(s.user, raw), seconds_or_dash(s.system, raw),
             bytes_or_dash(s.rss_bytes(), raw), bytes_or_dash(s.rss_anon_bytes, raw),
             bytes_or_dash(s.rss_file_bytes, raw), bytes_or_dash(s.rss_shmem_bytes, raw),
             bytes_or_dash(s.vsize_bytes, raw), s.comm ? safe_text(*s.comm) : std::string("-")});
    }
    std::ostringstream out;
    out << "{\"pid\": " << s.pid << ", \"tgid\": " << json_or_null(s.tgid)
        << ", \"ppid\": " << json_or_null(s.ppid) << ", "
        << (s.comm ? json_bytes_member("comm", *s.comm) : std::string("\"comm\": null"))
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
