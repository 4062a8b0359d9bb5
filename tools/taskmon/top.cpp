// SPDX-License-Identifier: GPL-2.0-only
#include "top.hpp"

#include "exit_codes.hpp"
#include "format.hpp"
#include "id_names.hpp"
#include "output.hpp"
#include "stop_signals.hpp"
#include "top_exits.hpp"
#include "top_tui.hpp"

#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <ostream>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

namespace taskmon::cli {

namespace {

using std::chrono::nanoseconds;
constexpr std::int64_t ns_per_s = 1'000'000'000;

std::string fixed(double value, int precision)
{
    std::ostringstream out;
    out << std::fixed << std::setprecision(precision) << value;
    return out.str();
}

nanoseconds clock_ns(clockid_t clock)
{
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec);
}

// "MM:SS.hh" below an hour, as top's TIME+; "HHH:MM" above.
std::string time_plus(nanoseconds ns)
{
    const std::int64_t cs = std::max<std::int64_t>(ns.count(), 0) / 10'000'000;
    const std::int64_t s = cs / 100;
    std::ostringstream out;
    out << std::setfill('0');
    if (s >= 3600) {
        out << s / 3600 << ':' << std::setw(2) << (s % 3600) / 60;
    } else {
        out << s / 60 << ':' << std::setw(2) << s % 60 << '.' << std::setw(2) << cs % 100;
    }
    return out.str();
}

std::string pad_left(const std::string& text, std::size_t width)
{
    const std::size_t w = text_width(text);
    return w >= width ? text : std::string(width - w, ' ') + text;
}

std::string pad_right(const std::string& text, std::size_t width)
{
    const std::size_t w = text_width(text);
    return w >= width ? text : text + std::string(width - w, ' ');
}

// At most @p width columns of safe text (a user name may be long).
std::string clip(const std::string& text, std::size_t width)
{
    if (text_width(text) <= width) {
        return text;
    }
    std::string out;
    std::size_t columns = 0;
    for (std::size_t i = 0; i < text.size() && columns + 1 < width; ++columns) {
        std::size_t n = 1;
        while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) {
            ++n;
        }
        out += text.substr(i, n);
        i += n;
    }
    return out + "+";
}

std::vector<pid_t> split_pids(const std::string& value)
{
    std::vector<pid_t> pids;
    std::string word;
    std::istringstream in(value);
    while (std::getline(in, word, ',')) {
        if (word.empty()) {
            throw UsageError("empty PID in '" + value +
                             "': give a comma-separated list of pids, e.g. '-p 1,42'");
        }
        pids.push_back(parse_pid(word));
    }
    if (pids.empty()) {
        throw UsageError("option --pid needs a PID, e.g. '-p 1,42'");
    }
    return pids;
}

const char* sort_name(TopSort sort)
{
    switch (sort) {
    case TopSort::cpu:
        return "%CPU";
    case TopSort::memory:
        return "RSS";
    case TopSort::time:
        return "TIME";
    case TopSort::pid:
        return "PID";
    }
    return "%CPU";
}

} // namespace

bool apply_top_option(Options& opts, int key, const char* value)
{
    switch (key) {
    case 'b':
        opts.batch = true;
        return true;
    case 'p':
        for (const pid_t pid : split_pids(value)) {
            opts.pids.push_back(pid);
        }
        return true;
    default:
        return false;
    }
}

const char* top_kind_name(TopKind kind) noexcept
{
    switch (kind) {
    case TopKind::running:
        return "";
    case TopKind::started:
        return "new";
    case TopKind::exited:
        return "exited";
    case TopKind::started_exited:
        return "new+exited";
    }
    return "";
}

std::optional<double> TopInterval::accounted_percent() const
{
    if (kernel.count() <= 0) {
        return std::nullopt;
    }
    return 100.0 * static_cast<double>(accounted.count()) / static_cast<double>(kernel.count());
}

const std::vector<TopSort>& top_sort_order()
{
    static const std::vector<TopSort> order{TopSort::pid, TopSort::memory, TopSort::cpu,
                                            TopSort::time};
    return order;
}

void sort_top(std::vector<TopRow>& rows, TopSort key)
{
    const auto cpu = [](const TopRow& r) { return r.user_cpu + r.system_cpu; };
    std::stable_sort(rows.begin(), rows.end(), [&](const TopRow& a, const TopRow& b) {
        switch (key) {
        case TopSort::cpu:
            if (cpu(a) != cpu(b)) {
                return cpu(a) > cpu(b);
            }
            break;
        case TopSort::memory:
            if (a.rss_bytes.value_or(0) != b.rss_bytes.value_or(0)) {
                return a.rss_bytes.value_or(0) > b.rss_bytes.value_or(0);
            }
            break;
        case TopSort::time:
            if (a.total_cpu != b.total_cpu) {
                return a.total_cpu > b.total_cpu;
            }
            break;
        case TopSort::pid:
            break;
        }
        return a.pid < b.pid;
    });
}

std::vector<std::string> top_header(const TopInterval& iv, TopSort sort)
{
    std::vector<std::string> lines;
    std::size_t started = 0;
    for (const auto& r : iv.rows) {
        if (r.kind == TopKind::started || r.kind == TopKind::started_exited) {
            ++started;
        }
    }
    const auto pct = iv.accounted_percent();
    lines.push_back("taskmon top - interval " + std::to_string(iv.index) + ", " +
                    fixed(static_cast<double>(iv.length.count()) / ns_per_s, 2) + " s, " +
                    std::to_string(iv.cpus) + " CPUs, sorted by " + sort_name(sort));
    lines.push_back("Processes: " + std::to_string(iv.processes) + " listed, " +
                    std::to_string(iv.rows.size()) + " used CPU, " + std::to_string(started) +
                    " new, " + std::to_string(iv.exited) + " exited" +
                    (iv.lost != 0 ? ", " + std::to_string(iv.lost) + " exit records lost" : ""));
    lines.push_back("CPU: " + format_seconds(iv.accounted) + " accounted to processes of " +
                    format_seconds(iv.kernel) + " the kernel's tasks used: " +
                    (pct ? fixed(*pct, 1) + " %" : std::string("-")) +
                    " (/proc/stat: CPUs x time - idle - iowait - steal; ticks user+nice+system " +
                    format_seconds(iv.kernel_ticks) + ")");
    return lines;
}

std::string top_titles()
{
    return "    PID USER     S  THR      RSS  %CPU     USER      SYS     TIME+ COMMAND";
}

std::string top_line(const TopRow& r, bool raw)
{
    const std::string state = r.state ? std::string(1, *r.state) : "-";
    const std::string threads = r.threads ? std::to_string(*r.threads) : "-";
    std::string rss = "-";
    if (r.rss_bytes) {
        rss = raw ? std::to_string(*r.rss_bytes) : format_bytes(*r.rss_bytes);
    }
    const std::string user_cpu = raw ? raw_seconds(r.user_cpu) : format_seconds(r.user_cpu, 3);
    const std::string sys_cpu = raw ? raw_seconds(r.system_cpu) : format_seconds(r.system_cpu, 3);
    const std::string total = raw ? raw_seconds(r.total_cpu) : time_plus(r.total_cpu);
    std::string line = pad_left(std::to_string(r.pid), 7) + " " +
                       pad_right(clip(safe_text(r.user), 8), 8) + " " + state + " " +
                       pad_left(threads, 4) + " " + pad_left(rss, 8) + " " +
                       pad_left(fixed(r.cpu_percent, 1), 5) + " " + pad_left(user_cpu, 8) + " " +
                       pad_left(sys_cpu, 8) + " " + pad_left(total, 9) + " " + safe_text(r.comm);
    if (r.kind != TopKind::running) {
        line += std::string(" [") + top_kind_name(r.kind) + "]";
    }
    return line;
}

std::string format_top(const TopInterval& iv, TopSort sort, bool json, bool raw)
{
    if (!json) {
        std::string out;
        for (const auto& line : top_header(iv, sort)) {
            out += line + "\n";
        }
        out += "\n" + top_titles() + "\n";
        for (const auto& r : iv.rows) {
            out += top_line(r, raw) + "\n";
        }
        return out + "\n";
    }
    const auto pct = iv.accounted_percent();
    std::size_t started = 0;
    std::string procs;
    for (const auto& r : iv.rows) {
        if (r.kind == TopKind::started || r.kind == TopKind::started_exited) {
            ++started;
        }
        std::string p = "{\"pid\": " + std::to_string(r.pid);
        p += ", \"start_time\": " + raw_seconds(r.start_time);
        p += ", \"user\": " + (r.uid ? json_string(r.user) : std::string("null"));
        p += ", \"uid\": " + (r.uid ? std::to_string(*r.uid) : "null");
        p += ", \"state\": " + (r.state ? json_string(std::string(1, *r.state)) : "null");
        p += ", \"threads\": " + (r.threads ? std::to_string(*r.threads) : "null");
        p += ", \"rss_bytes\": " + (r.rss_bytes ? std::to_string(*r.rss_bytes) : "null");
        p += ", \"cpu_percent\": " + fixed(r.cpu_percent, 2);
        p += ", \"user_seconds\": " + raw_seconds(r.user_cpu);
        p += ", \"system_seconds\": " + raw_seconds(r.system_cpu);
        p += ", \"time_seconds\": " + raw_seconds(r.total_cpu);
        p += ", \"started\": ";
        p += (r.kind == TopKind::started || r.kind == TopKind::started_exited) ? "true" : "false";
        p += ", \"exited\": ";
        p += (r.kind == TopKind::exited || r.kind == TopKind::started_exited) ? "true" : "false";
        p += ", \"status\": " + json_string(top_kind_name(r.kind));
        p += ", " + json_bytes_member("comm", r.comm) + "}";
        procs += (procs.empty() ? "" : ", ") + p;
    }
    std::string out = "{\"interval\": " + std::to_string(iv.index);
    out += ", \"time\": " + json_string(rfc3339(iv.end_realtime));
    out += ", \"interval_seconds\": " + raw_seconds(iv.length);
    out += ", \"cpus\": " + std::to_string(iv.cpus);
    out += ", \"processes\": " + std::to_string(iv.processes);
    out += ", \"used_cpu\": " + std::to_string(iv.rows.size());
    out += ", \"started\": " + std::to_string(started);
    out += ", \"exited\": " + std::to_string(iv.exited);
    out += ", \"exits_lost\": " + std::to_string(iv.lost);
    out += ", \"accounted_seconds\": " + raw_seconds(iv.accounted);
    out += ", \"kernel_seconds\": " + raw_seconds(iv.kernel);
    out += ", \"kernel_ticks_seconds\": " + raw_seconds(iv.kernel_ticks);
    out += ", \"accounted_percent\": " + (pct ? fixed(*pct, 2) : std::string("null"));
    out += ", \"sort\": " + json_string(sort_name(sort));
    out += ", \"rows\": [" + procs + "]}\n";
    return out;
}

KernelCpu parse_proc_stat(const std::string& text, long ticks_per_s)
{
    std::istringstream in(text);
    std::string label;
    std::array<unsigned long long, 8> v{}; // user nice system idle iowait irq softirq steal
    in >> label;
    std::size_t n = 0;
    while (n < v.size() && in >> v.at(n)) {
        ++n;
    }
    if (label != "cpu" || n < 4 || ticks_per_s <= 0) {
        throw std::runtime_error("cannot parse /proc/stat: no 'cpu' line of user, nice, system, "
                                 "idle");
    }
    const auto tps = static_cast<unsigned long long>(ticks_per_s);
    const auto ns = [tps](unsigned long long ticks) {
        return nanoseconds(
            static_cast<std::int64_t>(ticks / tps * ns_per_s + ticks % tps * ns_per_s / tps));
    };
    KernelCpu k;
    k.ticks = ns(v[0] + v[1] + v[2]);
    k.idle = ns(v[3] + v[4] + v[7]);
    return k;
}

std::optional<TopInterval> TopAccounting::add(std::vector<Stats> now, nanoseconds listed_at,
                                              std::vector<TopExit> exits, std::uint64_t lost,
                                              const KernelCpu& kernel)
{
    std::map<Key, Seen> current;
    for (auto& s : now) {
        if (!s.start_time || !s.user || !s.system) {
            continue;
        }
        const Key key{s.pid, s.start_time->count()};
        const nanoseconds cpu = *s.user + *s.system;
        current.emplace(key, Seen{std::move(s), cpu});
    }
    // An exit belongs to this interval if it came before the process was
    // read (or, for one not read, before the list); a later one to the next.
    std::vector<TopExit> in_interval;
    std::vector<TopExit> later;
    for (auto& e : pending_) {
        exits.push_back(std::move(e));
    }
    pending_.clear();
    for (auto& e : exits) {
        const Key key{e.pid, e.start_time.count()};
        const auto found = current.find(key);
        nanoseconds boundary = listed_at;
        if (found != current.end() && found->second.stats.sample_time) {
            boundary = *found->second.stats.sample_time;
        }
        (e.exit_time > boundary ? later : in_interval).push_back(std::move(e));
    }
    pending_ = std::move(later);

    const bool first = first_;
    first_ = false;
    std::optional<TopInterval> result;
    if (!first) {
        TopInterval iv;
        iv.index = ++intervals_;
        iv.length = kernel.monotonic - previous_kernel_.monotonic;
        iv.end_realtime = clock_ns(CLOCK_REALTIME);
        iv.kernel_ticks = kernel.ticks - previous_kernel_.ticks;
        // The time not idle on the CPUs, as the kernel measured it; a CPU
        // brought on or off line meanwhile: the ticks.
        iv.kernel = kernel.cpus == previous_kernel_.cpus
                        ? iv.length * kernel.cpus - (kernel.idle - previous_kernel_.idle)
                        : iv.kernel_ticks;
        iv.processes = current.size();
        iv.exited = in_interval.size();
        iv.lost = lost;
        iv.cpus = kernel.cpus;
        const std::unordered_set<pid_t> wanted(selected_.begin(), selected_.end());
        const auto percent = [&iv](nanoseconds cpu) {
            return iv.length.count() > 0 ? 100.0 * static_cast<double>(cpu.count()) /
                                               static_cast<double>(iv.length.count())
                                         : 0.0;
        };
        std::set<Key> exited_keys;
        for (const auto& e : in_interval) {
            const Key key{e.pid, e.start_time.count()};
            exited_keys.insert(key);
            TopRow r;
            r.pid = e.pid;
            r.start_time = e.start_time;
            const auto before = previous_.find(key);
            nanoseconds user = e.user;
            nanoseconds system = e.system;
            if (before != previous_.end()) {
                r.kind = TopKind::exited;
                user -= before->second.stats.user.value_or(nanoseconds(0));
                system -= before->second.stats.system.value_or(nanoseconds(0));
            } else {
                r.kind =
                    e.start_time > previous_listed_ ? TopKind::started_exited : TopKind::exited;
            }
            r.user_cpu = std::max(user, nanoseconds(0));
            r.system_cpu = std::max(system, nanoseconds(0));
            r.total_cpu = e.user + e.system;
            r.uid = e.uid;
            r.state = 'X';
            r.rss_bytes = e.max_rss_bytes;
            r.comm = e.comm;
            r.cpu_percent = percent(r.user_cpu + r.system_cpu);
            iv.accounted += r.user_cpu + r.system_cpu;
            if ((wanted.empty() && r.user_cpu + r.system_cpu > nanoseconds(0)) ||
                wanted.count(r.pid) != 0) {
                iv.rows.push_back(std::move(r));
            }
        }
        for (const auto& [key, seen] : current) {
            if (exited_keys.count(key) != 0 || gone_.count(key) != 0) {
                continue; // a zombie: its exit record counted it
            }
            const Stats& s = seen.stats;
            TopRow r;
            r.pid = s.pid;
            r.start_time = *s.start_time;
            nanoseconds user = *s.user;
            nanoseconds system = *s.system;
            const auto before = previous_.find(key);
            if (before != previous_.end()) {
                user -= before->second.stats.user.value_or(nanoseconds(0));
                system -= before->second.stats.system.value_or(nanoseconds(0));
            } else {
                r.kind = *s.start_time > previous_listed_ ? TopKind::started : TopKind::running;
            }
            // Per-thread user/system splits are scaled from the runtime and
            // may step back by a little: the sum does not.
            if (user < nanoseconds(0)) {
                system += user;
                user = nanoseconds(0);
            }
            if (system < nanoseconds(0)) {
                user = std::max(user + system, nanoseconds(0));
                system = nanoseconds(0);
            }
            r.user_cpu = user;
            r.system_cpu = system;
            r.total_cpu = seen.cpu;
            r.uid = s.euid;
            r.state = s.state;
            r.threads = s.threads;
            r.rss_bytes = s.rss_bytes();
            r.comm = s.comm.value_or("");
            r.cpu_percent = percent(user + system);
            iv.accounted += user + system;
            if ((wanted.empty() && user + system > nanoseconds(0)) || wanted.count(r.pid) != 0) {
                iv.rows.push_back(std::move(r));
            }
        }
        gone_.insert(exited_keys.begin(), exited_keys.end());
        result = std::move(iv);
    }
    // Forget the exited ones the list no longer shows.
    for (auto it = gone_.begin(); it != gone_.end();) {
        it = current.count(*it) == 0 ? gone_.erase(it) : std::next(it);
    }
    previous_ = std::move(current);
    previous_listed_ = listed_at;
    previous_kernel_ = kernel;
    return result;
}

namespace {

KernelCpu read_kernel_cpu()
{
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    const nanoseconds monotonic = clock_ns(CLOCK_MONOTONIC);
    std::ifstream in("/proc/stat");
    std::string line;
    if (!in || !std::getline(in, line)) {
        throw std::runtime_error("cannot read /proc/stat");
    }
    KernelCpu k = parse_proc_stat(line, ::sysconf(_SC_CLK_TCK));
    k.cpus = cpus > 0 ? static_cast<unsigned>(cpus) : 1;
    k.monotonic = monotonic;
    return k;
}

KernelCpu midpoint(const KernelCpu& a, const KernelCpu& b)
{
    if (a.cpus != b.cpus) {
        return b; // a CPU went on or off line: the interval uses the ticks
    }
    KernelCpu m = a;
    m.ticks = a.ticks + (b.ticks - a.ticks) / 2;
    m.idle = a.idle + (b.idle - a.idle) / 2;
    m.monotonic = a.monotonic + (b.monotonic - a.monotonic) / 2;
    return m;
}

// One sample: the kernel's total, the list, the batch of stats, the exit
// records that came meanwhile.
class Sampler {
public:
    Sampler(const Monitor& monitor, const Options& opts, std::ostream& err)
        : monitor_(monitor), exits_(monitor, err)
    {
        accounting_.select(opts.pids);
    }

    std::optional<TopInterval> sample()
    {
        const KernelCpu before = read_kernel_cpu();
        const nanoseconds listed_at = clock_ns(CLOCK_BOOTTIME);
        const std::vector<ProcessEntry> list = list_processes(monitor_);
        std::vector<pid_t> pids;
        pids.reserve(list.size());
        for (const auto& e : list) {
            pids.push_back(e.pid);
        }
        const Fields fields = Field::state | Field::threads | Field::comm | Field::creds |
                              Field::cpu | Field::rss | Field::start_time | Field::sample_time;
        std::vector<Stats> stats;
        stats.reserve(pids.size());
        for (auto& r : monitor_.stats(pids, fields)) {
            if (r.ok()) {
                stats.push_back(std::move(r.stats));
            }
        }
        std::uint64_t lost = 0;
        // The processes were read between the two reads of /proc/stat:
        // their midpoint is the kernel's figure of this sample.
        const KernelCpu kernel = midpoint(before, read_kernel_cpu());
        std::vector<TopExit> exits = exits_.drain(lost);
        auto iv = accounting_.add(std::move(stats), listed_at, std::move(exits), lost, kernel);
        if (iv) {
            for (auto& r : iv->rows) {
                if (r.uid) {
                    r.user = names_.user(*r.uid);
                }
            }
        }
        return iv;
    }

    void poll_exits() { exits_.poll(); }

    /**
     * The first sample.  Taken twice: a cold first one (the first ioctls,
     * page faults and allocations of this process) reads the processes
     * long after /proc/stat, which the warm sample at the end of the
     * interval does not, and the first interval would lack that time.
     */
    void prime()
    {
        (void)sample();
        (void)sample();
        accounting_.restart_numbering();
    }

private:
    const Monitor& monitor_;
    ExitFeed exits_;
    TopAccounting accounting_;
    IdNames names_;
};

int run_batch(Sampler& sampler, const Options& opts, std::ostream& out)
{
    sampler.prime();
    Clock::time_point deadline = Clock::now() + opts.interval;
    for (std::uint64_t n = 0; !opts.count || n < *opts.count; ++n) {
        // Drain the exit records while waiting, so that the ring never
        // overflows however long the interval.
        while (Clock::now() < deadline) {
            const Clock::time_point step =
                std::min(deadline, Clock::now() + std::chrono::milliseconds(100));
            if (!sleep_until(step)) {
                return exit_ok;
            }
            sampler.poll_exits();
        }
        auto iv = sampler.sample();
        if (iv) {
            sort_top(iv->rows, TopSort::cpu);
            write_output(out, format_top(*iv, TopSort::cpu, opts.json, opts.raw));
        }
        deadline += opts.interval;
        if (deadline < Clock::now()) {
            deadline = Clock::now() + opts.interval;
        }
    }
    return exit_ok;
}

} // namespace

int run_top(const Options& opts, std::ostream& out, std::ostream& err)
{
    const Monitor monitor(opts.device, Access::read);
    const StopSignals signals;
    Sampler sampler(monitor, opts, err);
    if (!opts.batch && !opts.json && ::isatty(STDOUT_FILENO) == 1 && &out == &std::cout) {
        return run_tui(
            opts, [&sampler]() { return sampler.sample(); },
            [&sampler]() { sampler.poll_exits(); });
    }
    return run_batch(sampler, opts, out);
}

} // namespace taskmon::cli
