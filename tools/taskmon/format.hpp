// SPDX-License-Identifier: GPL-2.0-only
//
// Output formatting of the taskmon command, text and JSON (no device access:
// unit-tested on the host).
#ifndef TASKMON_TOOLS_FORMAT_HPP
#define TASKMON_TOOLS_FORMAT_HPP

#include <taskmon/taskmon.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskmon::cli {

/** "36.181 s": seconds with @p decimals decimals (truncated, not rounded). */
[[nodiscard]] std::string format_seconds(std::chrono::nanoseconds ns, int decimals = 3);

/** Exact seconds as a JSON number, e.g. "36.181000000". */
[[nodiscard]] std::string json_seconds(std::chrono::nanoseconds ns);

/** A JSON string literal, quoted and escaped. */
[[nodiscard]] std::string json_string(std::string_view text);

/** `taskmon get`: aligned "pid/user/system/total" lines, or one JSON object. */
[[nodiscard]] std::string format_get(pid_t pid, const Sample& sample, bool json);

/** `taskmon pid`: the pid alone ("1234\n"), or {"pid": 1234}. */
[[nodiscard]] std::string format_pid(pid_t pid, bool json);

/** `taskmon pid PID`: a confirmation, or {"pid": 1234}. */
[[nodiscard]] std::string format_set_pid(pid_t pid, bool json);

/** `taskmon start` / `taskmon stop`: a confirmation, or {"thread": "started"}. */
[[nodiscard]] std::string format_thread(bool started, bool json);

/** One row of `taskmon watch`. */
struct WatchRow {
    std::chrono::nanoseconds elapsed{0}; // since the watch began
    pid_t pid = 0;
    Sample sample;                    // cumulative CPU time of the target
    std::optional<double> cpu;        // % of one CPU over the interval, user+system
    std::optional<double> user_cpu;   // % in user mode
    std::optional<double> system_cpu; // % in kernel mode
};

/**
 * Builds a row from two consecutive samples taken @p wall apart, the
 * percentages by taskmon::cpu_percent().  They are unset when they cannot be
 * computed: a different pid, a non-positive wall time, or CPU time going
 * backwards.
 */
[[nodiscard]] WatchRow make_watch_row(std::chrono::nanoseconds elapsed, pid_t pid,
                                      const Sample& sample, pid_t previous_pid,
                                      const Sample& previous, std::chrono::nanoseconds wall);

/** The first lines of `taskmon watch` in text mode (empty in JSON mode). */
[[nodiscard]] std::string format_watch_header(pid_t pid, std::chrono::nanoseconds interval,
                                              bool json);

/** One line of `taskmon watch`: a table row, or one JSON object. */
[[nodiscard]] std::string format_watch_row(const WatchRow& row, bool json);

/**
 * The first lines of `taskmon watch PID...` in text mode: "pids A B, a
 * sample every S" and the columns, with a pid column (empty in JSON mode).
 */
[[nodiscard]] std::string format_watch_pids_header(const std::vector<pid_t>& pids,
                                                   std::chrono::nanoseconds interval, bool json);

/** A row of `taskmon watch PID...`: with @p with_pid, the pid's column after elapsed. */
[[nodiscard]] std::string format_watch_row(const WatchRow& row, bool json, bool with_pid);

/**
 * The line of `taskmon watch` for a process that exited: "ELAPSED  pid N
 * exited: user U s, system S s", its final times (@p reaped: those of its
 * last sample), or {"elapsed_s", "pid", "exited": true, "reaped", ...}.
 */
[[nodiscard]] std::string format_watch_exit(std::chrono::nanoseconds elapsed, pid_t pid,
                                            const Sample& sample, bool reaped, bool json);

/** The line of `taskmon watch` for samples the kernel dropped: "ELAPSED  N samples lost: ...". */
[[nodiscard]] std::string format_watch_lost(std::chrono::nanoseconds elapsed, std::uint64_t lost,
                                            bool json);

/** "4.0 KiB", "12.5 MiB", "3.2 GiB": a byte count for people (one decimal, binary units). */
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

/** The header line of `taskmon stats` in text mode (empty in JSON mode). */
[[nodiscard]] std::string format_stats_header(bool json);

/**
 * One line of `taskmon stats`: a table row ("-" for what the kernel did not
 * fill), or one JSON object whose keys are the Python taskmon.Stats field
 * names (pid, tgid, ppid, comm, threads, state, uid, euid, gid, egid,
 * user_ns, system_ns, minor_faults, major_faults, voluntary_ctxsw,
 * involuntary_ctxsw, rss_anon_bytes, rss_file_bytes, rss_shmem_bytes,
 * vsize_bytes, start_time_ns, sample_time_ns): a field not filled is null.
 */
[[nodiscard]] std::string format_stats(const Stats& stats, bool json);

/**
 * `taskmon --json stats`: the line of a pid that could not be read,
 * {"pid": N, "error": "ESRCH", "errno": 3, "message": "..."} (text mode: empty,
 * the message goes to standard error).
 */
[[nodiscard]] std::string format_stats_error(pid_t pid, int errnum, std::string_view message,
                                             bool json);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_FORMAT_HPP
