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

/**
 * A JSON string literal, quoted and escaped; always valid UTF-8: a byte that
 * does not begin a well-formed UTF-8 sequence becomes U+FFFD.
 */
[[nodiscard]] std::string json_string(std::string_view text);

/** Whether @p text is well-formed UTF-8 (no overlong forms, surrogates, or code points above
 * U+10FFFF). */
[[nodiscard]] bool valid_utf8(std::string_view text);

/** @p text with each byte that does not begin a well-formed UTF-8 sequence replaced by U+FFFD. */
[[nodiscard]] std::string utf8(std::string_view text);

/** The bytes of @p text in lower-case hexadecimal, two digits a byte. */
[[nodiscard]] std::string hex_bytes(std::string_view text);

/**
 * A JSON member for bytes a process chose (a comm): `"KEY": "TEXT"`, TEXT
 * with invalid UTF-8 bytes as U+FFFD; when @p bytes is not valid UTF-8, also
 * `, "KEY_hex": "6162ff"`, the raw bytes, so that nothing is lost
 * (docs/taskmon.1.md, JSON OUTPUT).
 */
[[nodiscard]] std::string json_bytes_member(std::string_view key, std::string_view bytes);

/**
 * Text a terminal can be trusted with, from bytes a process chose (a comm, a
 * path): as ps(1) does, every control character (C0, DEL, C1), every byte
 * that is not well-formed UTF-8 and the bidirectional-text controls
 * (U+200E/F, U+202A..E, U+2066..9) and line/paragraph separators become
 * '?'; printable UTF-8 is kept.
 */
[[nodiscard]] std::string safe_text(std::string_view bytes);

/** Its width in terminal columns, counting one per code point (as safe_text() output). */
[[nodiscard]] std::size_t text_width(std::string_view text);

/** Exact seconds without a unit, e.g. "36.181000000" (the --raw and JSON form). */
[[nodiscard]] std::string raw_seconds(std::chrono::nanoseconds ns);

/** `taskmon get`: aligned "pid/user/system/total" lines, or one JSON object. */
[[nodiscard]] std::string format_get(pid_t pid, const Sample& sample, bool json, bool raw = false);

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
    /** The sample's wall-clock time (CLOCK_REALTIME), in JSON as "time" and "time_unix_ns". */
    std::optional<std::chrono::nanoseconds> wall_time;
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

/**
 * One line of `taskmon watch`: a table row (with @p raw: plain seconds and
 * percentages, no units), or one JSON object.
 */
[[nodiscard]] std::string format_watch_row(const WatchRow& row, bool json);

/**
 * The first lines of `taskmon watch PID...` in text mode: "pids A B, a
 * sample every S" and the columns, with a pid column (empty in JSON mode).
 */
[[nodiscard]] std::string format_watch_pids_header(const std::vector<pid_t>& pids,
                                                   std::chrono::nanoseconds interval, bool json);

/**
 * A row of `taskmon watch PID...`: with @p with_pid, the pid's column after
 * elapsed; with @p raw, plain seconds and percentages without units.
 */
[[nodiscard]] std::string format_watch_row(const WatchRow& row, bool json, bool with_pid,
                                           bool raw = false);

/**
 * The line of `taskmon watch` for a process that exited: "ELAPSED  pid N
 * exited: user U s, system S s", its final times (@p reaped: those of its
 * last sample), or {"elapsed_s", "pid", "exited": true, "reaped", ...}.
 */
[[nodiscard]] std::string format_watch_exit(std::chrono::nanoseconds elapsed, pid_t pid,
                                            const Sample& sample, bool reaped, bool json,
                                            bool raw = false,
                                            std::optional<std::chrono::nanoseconds> wall_time = {});

/** The line of `taskmon watch` for samples the kernel dropped: "ELAPSED  N samples lost: ...". */
[[nodiscard]] std::string format_watch_lost(std::chrono::nanoseconds elapsed, std::uint64_t lost,
                                            bool json, bool raw = false);

/** "2026-12-07T05:30:45.123456789Z": a CLOCK_REALTIME time in RFC 3339, UTC, nanoseconds. */
[[nodiscard]] std::string rfc3339(std::chrono::nanoseconds since_epoch);

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
 * vsize_bytes, start_time_ns, sample_time_ns): a field not filled is null;
 * "comm_hex" too when the comm is not valid UTF-8 (json_bytes_member()).
 * Text: the comm through safe_text(); with @p raw, plain seconds and bytes.
 */
[[nodiscard]] std::string format_stats(const Stats& stats, bool json, bool raw = false);

/**
 * `taskmon --json stats`: the line of a pid that could not be read,
 * {"pid": N, "error": "ESRCH", "errno": 3, "message": "..."} (text mode: empty,
 * the message goes to standard error).
 */
[[nodiscard]] std::string format_stats_error(pid_t pid, int errnum, std::string_view message,
                                             bool json);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_FORMAT_HPP
