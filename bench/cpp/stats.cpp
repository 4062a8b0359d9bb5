// SPDX-License-Identifier: GPL-2.0-only
//
// The statistics requests: TM_STATS of one pid, TM_STATS of each of N pids,
// and TM_STATS_BATCH of N pids per call, of every group of fields or of the
// names and ids only.  Raw ioctls on a kept read-only descriptor (reading needs
// no steering), so that the kernel's path is measured, not libtaskmon's
// conversion into std::optional fields.
#include "child.hpp"
#include "device.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace taskmon::bench {
namespace {

// @p count distinct live pids, the sleeping child first; none (and @p state
// skipped, saying how to get enough) if fewer processes exist.
std::vector<pid_t> count_live_pids(benchmark::State& state, int fd, std::size_t count)
{
    std::vector<pid_t> pids = live_pids(state, fd, count, sleeping_child().pid());
    if (state.error_occurred()) {
        return {};
    }
    if (pids.size() < count) {
        skip(state, "TM_LIST lists " + std::to_string(pids.size()) + " processes, " +
                        std::to_string(count) + " needed (run taskmon-bench-population " +
                        std::to_string(count + 50) + ")");
        return {};
    }
    return pids;
}

void stats_tm_stats(benchmark::State& state)
{
    const pid_t pid = sleeping_child().pid();
    if (pid < 0) {
        skip(state, errno_text("fork of the sleeping child", sleeping_child().error()));
        return;
    }
    const Fd fd = open_or_skip(state, device_path, O_RDONLY);
    if (!fd) {
        return;
    }
    taskmon_stats stats{};
    for (auto _ : state) {
        stats.size = sizeof(stats); // the request's input, as a caller fills it each time
        stats.flags = 0;
        stats.pid = pid;
        if (::ioctl(fd.get(), TM_STATS, &stats) < 0) { // NOLINT(*-vararg)
            skip(state, errno_text("TM_STATS", errno));
            break;
        }
        benchmark::DoNotOptimize(stats);
    }
}

// One call per iteration: time per call; counters["pids"] says how many
// processes it answered.  Every record asks for the groups of @p mask (0:
// every group), set again before each call as a caller sets its inputs (the
// kernel writes the groups it filled there).
void tm_stats_batch(benchmark::State& state, __u64 mask)
{
    const auto count = static_cast<std::size_t>(state.range(0));
    const Fd fd = open_or_skip(state, device_path, O_RDONLY);
    if (!fd) {
        return;
    }
    const std::vector<pid_t> pids = count_live_pids(state, fd.get(), count);
    if (pids.empty()) {
        return;
    }
    std::vector<taskmon_stats> records(count);
    for (std::size_t i = 0; i < count; ++i) {
        records[i].size = sizeof(taskmon_stats);
        records[i].pid = pids[i]; // kept by the kernel, even in a failed record
    }
    taskmon_stats_batch batch{};
    batch.size = sizeof(taskmon_stats);
    batch.count = static_cast<std::uint32_t>(count);
    batch.records = reinterpret_cast<std::uintptr_t>(records.data());
    for (auto _ : state) {
        for (taskmon_stats& record : records) {
            record.mask = mask;
        }
        if (::ioctl(fd.get(), TM_STATS_BATCH, &batch) < 0) { // NOLINT(*-vararg)
            skip(state, errno_text("TM_STATS_BATCH", errno));
            break;
        }
        benchmark::DoNotOptimize(records.data());
        benchmark::ClobberMemory();
    }
    state.counters["pids"] = static_cast<double>(count);
    std::size_t failed = 0;
    for (const taskmon_stats& record : records) {
        failed += record.error != 0 ? 1 : 0;
    }
    if (failed != 0) { // processes that exited during the run: their records are cheaper
        state.counters["failed"] = static_cast<double>(failed);
    }
}

// A full query: every group (mask 0), the thread walk and the per-CPU
// sums included.
void stats_tm_stats_batch(benchmark::State& state)
{
    tm_stats_batch(state, 0);
}

// A name-and-ids query of the same N pids: neither the walk over each
// process's threads nor the per-CPU sums (what `taskmon ps -o pid,comm`,
// psutil's name() or find_hidden() ask).  Its ratio to the full query is
// docs/performance.md's "full / names and ids" row.
void stats_tm_stats_batch_names(benchmark::State& state)
{
    tm_stats_batch(state,
                   TM_STATS_IDS | TM_STATS_COMM | TM_STATS_CREDS | TM_STATS_PPID | TM_STATS_STATE);
}

// The single request's side of the batch comparison: one TM_STATS per pid
// of the same N pids the batch asks for (stats/tm_stats asks for one pid
// over and over, whose kernel structures then stay in the caches and TLB).
// One iteration is N calls; counters["pids"] = N.
void stats_tm_stats_each(benchmark::State& state)
{
    const auto count = static_cast<std::size_t>(state.range(0));
    const Fd fd = open_or_skip(state, device_path, O_RDONLY);
    if (!fd) {
        return;
    }
    const std::vector<pid_t> pids = count_live_pids(state, fd.get(), count);
    if (pids.empty()) {
        return;
    }
    taskmon_stats stats{};
    std::size_t failed = 0;
    for (auto _ : state) {
        failed = 0;
        for (const pid_t pid : pids) {
            stats.size = sizeof(stats);
            stats.flags = 0;
            stats.pid = pid;
            if (::ioctl(fd.get(), TM_STATS, &stats) < 0) { // NOLINT(*-vararg)
                if (errno != ESRCH) {
                    skip(state, errno_text("TM_STATS", errno));
                    break;
                }
                ++failed; // exited during the run, as a batch record's error
            }
            benchmark::DoNotOptimize(stats);
        }
        if (state.error_occurred()) {
            break;
        }
    }
    state.counters["pids"] = static_cast<double>(count);
    if (failed != 0) {
        state.counters["failed"] = static_cast<double>(failed);
    }
}

} // namespace

// NOLINTBEGIN(cert-err58-cpp): registration at static initialisation is how gbench works
BENCHMARK(stats_tm_stats)->Name("stats/tm_stats");
BENCHMARK(stats_tm_stats_each)->Name("stats/tm_stats_each")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(stats_tm_stats_batch)->Name("stats/tm_stats_batch")->Arg(1)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(stats_tm_stats_batch_names)
    ->Name("stats/tm_stats_batch_names")
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000);
// NOLINTEND(cert-err58-cpp)

} // namespace taskmon::bench
