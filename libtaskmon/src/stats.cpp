// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Stats: conversion from struct taskmon_stats, and printing.
#include "internal.hpp"

#include <linux/taskmon.h>

#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <limits>
#include <ostream>

namespace taskmon {

namespace {

std::chrono::nanoseconds to_ns(__u64 value) noexcept
{
    // 2^63 ns is 292 years: saturate rather than wrap.
    constexpr auto max =
        static_cast<__u64>(std::numeric_limits<std::chrono::nanoseconds::rep>::max());
    return std::chrono::nanoseconds(
        static_cast<std::chrono::nanoseconds::rep>(value > max ? max : value));
}

// Exact seconds with 9 decimals, e.g. "36.181000000 s".
void put_seconds(std::ostream& out, std::chrono::nanoseconds ns)
{
    const auto count = ns.count();
    const char fill = out.fill('0');
    if (count < 0 && count / 1'000'000'000 == 0) {
        out << '-';
    }
    out << count / 1'000'000'000 << '.' << std::setw(9) << std::llabs(count % 1'000'000'000)
        << " s";
    out.fill(fill);
}

template <typename T>
void put(std::ostream& out, const char* name, const std::optional<T>& value)
{
    if (value) {
        out << ' ' << name << ' ' << *value;
    }
}

void put(std::ostream& out, const char* name, const std::optional<std::chrono::nanoseconds>& value)
{
    if (value) {
        out << ' ' << name << ' ';
        put_seconds(out, *value);
    }
}

} // namespace

std::ostream& operator<<(std::ostream& out, const Stats& stats)
{
    out << "pid " << stats.pid;
    put(out, "tgid", stats.tgid);
    put(out, "ppid", stats.ppid);
    put(out, "state", stats.state);
    put(out, "threads", stats.threads);
    put(out, "comm", stats.comm);
    put(out, "uid", stats.uid);
    put(out, "euid", stats.euid);
    put(out, "gid", stats.gid);
    put(out, "egid", stats.egid);
    put(out, "user", stats.user);
    put(out, "system", stats.system);
    put(out, "minor_faults", stats.minor_faults);
    put(out, "major_faults", stats.major_faults);
    put(out, "voluntary_ctxsw", stats.voluntary_ctxsw);
    put(out, "involuntary_ctxsw", stats.involuntary_ctxsw);
    put(out, "rss_anon_bytes", stats.rss_anon_bytes);
    put(out, "rss_file_bytes", stats.rss_file_bytes);
    put(out, "rss_shmem_bytes", stats.rss_shmem_bytes);
    put(out, "vsize_bytes", stats.vsize_bytes);
    put(out, "start_time", stats.start_time);
    put(out, "sample_time", stats.sample_time);
    return out;
}

namespace detail {

Stats stats_from_raw(const taskmon_stats& raw)
{
    Stats s;
    s.pid = raw.pid;
    s.mask = raw.mask;
    const auto has = [&raw](__u64 bit) { return (raw.mask & bit) != 0; };
    if (has(TM_STATS_IDS)) {
        s.tgid = raw.tgid;
    }
    if (has(TM_STATS_PPID)) {
        s.ppid = raw.ppid;
    }
    if (has(TM_STATS_STATE)) {
        s.state = static_cast<char>(raw.state);
    }
    if (has(TM_STATS_THREADS)) {
        s.threads = raw.threads;
    }
    if (has(TM_STATS_COMM)) {
        // The kernel NUL-terminates; never trust that past the buffer.
        s.comm = std::string(static_cast<const char*>(raw.comm), ::strnlen(raw.comm, TM_COMM_LEN));
    }
    if (has(TM_STATS_CREDS)) {
        s.uid = raw.uid;
        s.euid = raw.euid;
        s.gid = raw.gid;
        s.egid = raw.egid;
    }
    if (has(TM_STATS_CPU)) {
        s.user = to_ns(raw.user_ns);
        s.system = to_ns(raw.system_ns);
    }
    if (has(TM_STATS_FAULTS)) {
        s.minor_faults = raw.minor_faults;
        s.major_faults = raw.major_faults;
    }
    if (has(TM_STATS_CTXSW)) {
        s.voluntary_ctxsw = raw.voluntary_ctxsw;
        s.involuntary_ctxsw = raw.involuntary_ctxsw;
    }
    if (has(TM_STATS_RSS)) {
        s.rss_anon_bytes = raw.rss_anon_bytes;
        s.rss_file_bytes = raw.rss_file_bytes;
        s.rss_shmem_bytes = raw.rss_shmem_bytes;
    }
    if (has(TM_STATS_VSIZE)) {
        s.vsize_bytes = raw.vsize_bytes;
    }
    if (has(TM_STATS_START_TIME)) {
        s.start_time = to_ns(raw.start_time_ns);
    }
    if (has(TM_STATS_SAMPLE_TIME)) {
        s.sample_time = to_ns(raw.sample_time_ns);
    }
    return s;
}

} // namespace detail

} // namespace taskmon
