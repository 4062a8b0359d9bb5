// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon top`: every interval, every process that used CPU in it, with the
// CPU time it used there, from one TM_LIST and one TM_STATS_BATCH per
// interval plus the module's exit records (TM_SUBSCRIBE_EXITS), so that a
// process that started and exited between two samples is seen too.  The
// CPU time attributed to processes is compared with the time the kernel's
// /proc/stat says its tasks used (docs/top.md).
#ifndef TASKMON_TOOLS_TOP_HPP
#define TASKMON_TOOLS_TOP_HPP

#include "options.hpp"

#include <taskmon/taskmon.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace taskmon::cli {

/** Applies one of `top`'s own options (-b, -p); false if @p key is none. */
bool apply_top_option(Options& opts, int key, const char* value);

/** What `top` knows of a process that exited (an exit record). */
struct TopExit {
    pid_t pid = 0;
    pid_t ppid = 0;
    uid_t uid = 0;
    std::chrono::nanoseconds start_time{0}; // CLOCK_BOOTTIME
    std::chrono::nanoseconds exit_time{0};  // CLOCK_BOOTTIME
    std::chrono::nanoseconds user{0};       // final CPU time, every thread's
    std::chrono::nanoseconds system{0};
    std::uint64_t max_rss_bytes = 0;
    std::string comm;
};

/** How a process of an interval lived in it. */
enum class TopKind {
    running,        // seen at both ends
    started,        // started in the interval, still running at its end
    exited,         // seen at the start, exited in the interval
    started_exited, // started and exited in the interval
};

/** "", "new", "exited", "new+exited". */
[[nodiscard]] const char* top_kind_name(TopKind kind) noexcept;

/** One process of one interval. */
struct TopRow {
    pid_t pid = 0;
    std::chrono::nanoseconds start_time{0};
    TopKind kind = TopKind::running;
    std::optional<uid_t> uid; // effective uid (real uid of an exited process)
    std::string user;         // its name, or the number
    std::optional<char> state;
    std::optional<std::uint32_t> threads;
    std::optional<std::uint64_t> rss_bytes; // an exited process: its peak
    std::chrono::nanoseconds user_cpu{0};   // used in the interval
    std::chrono::nanoseconds system_cpu{0};
    std::chrono::nanoseconds total_cpu{0}; // its whole CPU time at the end
    double cpu_percent = 0;                // of one CPU, over the interval
    std::string comm;                      // as the process chose it
};

/** One interval: its processes and totals. */
struct TopInterval {
    std::uint64_t index = 0;            // 1, 2, ...
    std::chrono::nanoseconds length{0}; // between the two samples
    std::chrono::nanoseconds end_realtime{0};
    std::chrono::nanoseconds accounted{0}; // the rows' CPU time summed
    /** The time the kernel's tasks used: CPUs x length - idle - iowait - steal (docs/top.md). */
    std::chrono::nanoseconds kernel{0};
    std::chrono::nanoseconds kernel_ticks{0}; // /proc/stat user+nice+system over it
    std::size_t processes = 0;                // processes listed at its end
    std::size_t exited = 0;                   // exit records in it
    std::uint64_t lost = 0;                   // exit records the ring dropped
    unsigned cpus = 1;
    std::vector<TopRow> rows; // those that used CPU, or all with -p

    /** accounted / kernel in percent; unset when the kernel total is 0. */
    [[nodiscard]] std::optional<double> accounted_percent() const;
};

/** Sort keys of `top`. */
enum class TopSort { cpu, memory, time, pid };

/** The order of the sort columns for '<' and '>'. */
[[nodiscard]] const std::vector<TopSort>& top_sort_order();

/** Sorts @p rows by @p key, largest first (pid: smallest first), stably. */
void sort_top(std::vector<TopRow>& rows, TopSort key);

/** The header lines of an interval (the text of the batch and terminal modes). */
[[nodiscard]] std::vector<std::string> top_header(const TopInterval& interval, TopSort sort);

/** The column titles line. */
[[nodiscard]] std::string top_titles();

/** One row as a line of the table (process text through safe_text()). */
[[nodiscard]] std::string top_line(const TopRow& row, bool raw);

/**
 * The batch output of one interval: the header, the titles, the rows; or,
 * with @p json, one JSON object on one line (docs/top.md).
 */
[[nodiscard]] std::string format_top(const TopInterval& interval, TopSort sort, bool json,
                                     bool raw);

/**
 * What /proc/stat's "cpu" line says of all CPUs since boot, in nanoseconds:
 * the time of tasks, in user, nice and system ticks (sampled at each tick:
 * a guest that misses ticks undercounts it), and the time no task ran:
 * idle + iowait + steal (measured, not sampled, when the kernel runs
 * tickless: CONFIG_NO_HZ_COMMON, Debian's).
 */
struct KernelCpu {
    std::chrono::nanoseconds ticks{0};
    std::chrono::nanoseconds idle{0};
    unsigned cpus = 1;                     // online CPUs when read
    std::chrono::nanoseconds monotonic{0}; // CLOCK_MONOTONIC when read
};

/** Parses /proc/stat's first line; @p ticks_per_s is USER_HZ.  Throws std::runtime_error. */
[[nodiscard]] KernelCpu parse_proc_stat(const std::string& text, long ticks_per_s);

/**
 * The accounting of `top` between samples, without the device: fed the
 * samples and exit records, it makes the intervals.  Processes are keyed by
 * pid and start time, so a reused pid is another process.
 */
class TopAccounting {
public:
    /** One process of a sample. */
    struct Seen {
        Stats stats;
        std::chrono::nanoseconds cpu{0};
    };

    /**
     * Takes sample @p now (processes read at their Stats::sample_time,
     * after TM_LIST at @p listed_at) and the exit records @p exits
     * drained after it (@p lost: those the ring dropped) and /proc/stat's
     * figures read just before the list; returns the interval since the previous
     * sample, or nothing for the first.  Exit records later than the sample are kept for the next
     * interval.
     */
    std::optional<TopInterval> add(std::vector<Stats> now, std::chrono::nanoseconds listed_at,
                                   std::vector<TopExit> exits, std::uint64_t lost,
                                   const KernelCpu& kernel);

    /** Numbers the next interval 1 again (after a sample taken only to warm up). */
    void restart_numbering() noexcept { intervals_ = 0; }

    /** With -p: only these pids' rows (every one, used CPU or not). */
    void select(std::vector<pid_t> pids) { selected_ = std::move(pids); }

private:
    using Key = std::pair<pid_t, std::int64_t>;
    std::map<Key, Seen> previous_;
    std::set<Key> gone_; // exited, maybe still listed as zombies
    std::vector<TopExit> pending_;
    std::chrono::nanoseconds previous_listed_{0};
    KernelCpu previous_kernel_;
    std::uint64_t intervals_ = 0;
    bool first_ = true;
    std::vector<pid_t> selected_;
};

/** Runs `taskmon top`; returns the exit status. */
[[nodiscard]] int run_top(const Options& opts, std::ostream& out, std::ostream& err);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_TOP_HPP
