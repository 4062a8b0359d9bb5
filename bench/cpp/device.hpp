// SPDX-License-Identifier: GPL-2.0-only
//
// /dev/taskmonitor for the benchmarks, through raw ioctls (the kernel's own
// path, without libtaskmon's wrapping): opening it, steering its target,
// listing processes (TM_LIST), and turning a missing facility into a
// skipped benchmark with the reason.
#ifndef TASKMON_BENCH_DEVICE_HPP
#define TASKMON_BENCH_DEVICE_HPP

#include "fd.hpp"

#include <linux/taskmon.h>

#include <benchmark/benchmark.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace taskmon::bench {

inline constexpr const char* device_path = "/dev/taskmonitor";
inline constexpr const char* sysfs_path = "/sys/kernel/taskmonitor";

/** "WHAT: strerror(ERR)", with a hint where one helps (root, the module). */
std::string errno_text(const std::string& what, int err);

/** Marks the benchmark as skipped with @p why (SkipWithError copies it). */
void skip(benchmark::State& state, const std::string& why);

/** Opens @p path with @p flags (O_CLOEXEC added); on failure skips @p state, returns no Fd. */
Fd open_or_skip(benchmark::State& state, const char* path, int flags);

/**
 * Opens the device read-write and makes sleeping_child() its target
 * (TM_PID, steering: root only); skips @p state and returns no Fd on failure.
 */
Fd open_targeted_device(benchmark::State& state);

/**
 * One TM_LIST into @p entries, kept by the caller and grown to the total
 * the kernel reports (plus a margin) on ERANGE: the number of entries
 * filled, or -errno.  The buffer keeps its size between calls.
 */
long tm_list(int fd, std::vector<taskmon_proc>& entries);

/**
 * Up to @p count distinct live pids from TM_LIST, @p first first (if > 0),
 * then the others in the kernel's order; on failure skips @p state and
 * returns fewer (the caller checks the size and says what it needed).
 */
std::vector<pid_t> live_pids(benchmark::State& state, int fd, std::size_t count, pid_t first);

} // namespace taskmon::bench

#endif // TASKMON_BENCH_DEVICE_HPP
