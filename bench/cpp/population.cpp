// SPDX-License-Identifier: GPL-2.0-only
//
// The population-dependent benchmarks: listing every process, and the whole
// process table (a monitor's view: name, state, threads, CPU times, RSS and
// virtual size of every process), from taskmon and from /proc.  They measure
// whatever processes exist; scripts/bench runs them at several populations
// made with taskmon-bench-population.  Each sets counters["processes"].
//
// list/tm_list is a raw TM_LIST into a kept buffer (the kernel's path);
// table/cpp_taskmon is libtaskmon (list_processes() + Monitor::stats() of
// every pid, which sends TM_STATS_BATCH in chunks of TM_STATS_BATCH_MAX):
// what a C++ program using taskmon writes.
#include "device.hpp"
#include "procfs.hpp"

#include <taskmon/taskmon.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace taskmon::bench {
namespace {

// One row of the process table.
struct Row {
    pid_t pid = 0;
    std::string comm;
    char state = '?';
    std::uint64_t threads = 0;
    std::uint64_t user_ns = 0;
    std::uint64_t system_ns = 0;
    std::uint64_t rss_bytes = 0;
    std::uint64_t vsize_bytes = 0;
};

void set_processes(benchmark::State& state, std::size_t count)
{
    state.counters["processes"] = static_cast<double>(count);
}

void list_tm_list(benchmark::State& state)
{
    const Fd fd = open_or_skip(state, device_path, O_RDONLY);
    if (!fd) {
        return;
    }
    std::vector<taskmon_proc> entries; // sized by the first ERANGE, then kept
    long count = 0;
    for (auto _ : state) {
        count = tm_list(fd.get(), entries);
        if (count < 0) {
            skip(state, errno_text("TM_LIST", static_cast<int>(-count)));
            break;
        }
        benchmark::DoNotOptimize(entries.data());
        benchmark::ClobberMemory();
    }
    set_processes(state, static_cast<std::size_t>(count > 0 ? count : 0));
}

void list_proc_scan(benchmark::State& state)
{
    std::vector<pid_t> pids;
    for (auto _ : state) {
        if (!scan_proc(pids)) {
            skip(state, errno_text("opendir /proc", errno));
            break;
        }
        benchmark::DoNotOptimize(pids.data());
        benchmark::ClobberMemory();
    }
    set_processes(state, pids.size());
}

// An open /proc, the directory the per-pid files are opened relative to.
Fd open_proc(benchmark::State& state)
{
    return open_or_skip(state, "/proc", O_RDONLY | O_DIRECTORY);
}

void list_proc_scan_stat(benchmark::State& state)
{
    const Fd proc = open_proc(state);
    if (!proc) {
        return;
    }
    std::vector<pid_t> pids;
    struct Entry {
        pid_t pid;
        std::uint64_t starttime;
    };
    std::vector<Entry> entries;
    ProcBuffer buf{};
    ProcStat stat;
    for (auto _ : state) {
        if (!scan_proc(pids)) {
            skip(state, errno_text("opendir /proc", errno));
            break;
        }
        entries.clear();
        for (const pid_t pid : pids) {
            const long len = read_proc_file(proc.get(), pid, "stat", buf);
            if (len > 0 && parse_stat(buf.data(), len, stat)) { // else it exited meanwhile
                entries.push_back({pid, stat.starttime});
            }
        }
        benchmark::DoNotOptimize(entries.data());
        benchmark::ClobberMemory();
    }
    set_processes(state, pids.size());
}

void table_cpp_taskmon(benchmark::State& state)
{
    std::vector<Row> rows;
    std::vector<pid_t> pids;
    try {
        const taskmon::Monitor monitor;
        for (auto _ : state) {
            const std::vector<taskmon::ProcessEntry> processes = taskmon::list_processes(monitor);
            pids.clear();
            for (const taskmon::ProcessEntry& process : processes) {
                pids.push_back(process.pid);
            }
            rows.clear();
            for (const taskmon::StatsResult& result : monitor.stats(pids)) {
                if (!result.ok()) {
                    continue; // exited since the listing
                }
                const taskmon::Stats& s = result.stats;
                rows.push_back({s.pid, s.comm.value_or(std::string()), s.state.value_or('?'),
                                s.threads.value_or(0),
                                static_cast<std::uint64_t>(
                                    s.user.value_or(std::chrono::nanoseconds{}).count()),
                                static_cast<std::uint64_t>(
                                    s.system.value_or(std::chrono::nanoseconds{}).count()),
                                s.rss_bytes().value_or(0), s.vsize_bytes.value_or(0)});
            }
            benchmark::DoNotOptimize(rows.data());
            benchmark::ClobberMemory();
        }
    } catch (const taskmon::Error& e) {
        skip(state, e.what());
        return;
    }
    set_processes(state, pids.size());
}

void table_cpp_proc(benchmark::State& state)
{
    const Fd proc = open_proc(state);
    if (!proc) {
        return;
    }
    const auto tick_ns = static_cast<std::uint64_t>(1'000'000'000L / ::sysconf(_SC_CLK_TCK));
    const auto page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    std::vector<Row> rows;
    std::vector<pid_t> pids;
    ProcBuffer buf{};
    ProcStat stat;
    ProcStatm statm;
    for (auto _ : state) {
        if (!scan_proc(pids)) {
            skip(state, errno_text("opendir /proc", errno));
            break;
        }
        rows.clear();
        for (const pid_t pid : pids) {
            long len = read_proc_file(proc.get(), pid, "stat", buf);
            if (len <= 0 || !parse_stat(buf.data(), len, stat)) {
                continue; // exited since the scan
            }
            len = read_proc_file(proc.get(), pid, "statm", buf);
            if (len <= 0 || !parse_statm(buf.data(), len, statm)) {
                continue;
            }
            rows.push_back({pid, stat.comm, stat.state, stat.num_threads, stat.utime * tick_ns,
                            stat.stime * tick_ns, statm.resident * page_size, stat.vsize});
        }
        benchmark::DoNotOptimize(rows.data());
        benchmark::ClobberMemory();
    }
    set_processes(state, pids.size());
}

} // namespace

// NOLINTBEGIN(cert-err58-cpp): registration at static initialisation is how gbench works
BENCHMARK(list_tm_list)->Name("list/tm_list");
BENCHMARK(list_proc_scan)->Name("list/proc_scan");
BENCHMARK(list_proc_scan_stat)->Name("list/proc_scan_stat");
BENCHMARK(table_cpp_taskmon)->Name("table/cpp_taskmon");
BENCHMARK(table_cpp_proc)->Name("table/cpp_proc");
// NOLINTEND(cert-err58-cpp)

} // namespace taskmon::bench
