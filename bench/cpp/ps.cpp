// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon ps` against procps `ps` (issue 21): the same columns of every
// process, each program run whole (posix_spawn, output to /dev/null, wait),
// so the figure is what a user or a script pays per listing, start-up
// included.  Both run in the same stage of the same boot, at each
// population (bench/run-guest); report.py divides them.
//
// The time is the child's CPU time, user + system, from wait4()'s rusage
// (Google Benchmark's manual time): what the listing costs the machine.  Its
// wall time in the VM is mostly waiting, for the host's CPUs (shared with
// whatever else runs there, under TCG) and for the 9p file system the
// programs and their libraries are loaded from, which made it vary by a
// factor of three between runs.
//
//   ps/procps   ps -e -o pid,ppid,user,rss,vsz,time,comm
//   ps/taskmon  taskmon ps -o pid,ppid,user,rss,vsz,time,comm
//   ps/taskmon_hidden  taskmon ps (the default columns, with the hidden
//               check: one getdents64 and one readdir() pass over /proc)
//   ps/procps_startup, ps/taskmon_startup  ps --version, taskmon --version:
//               what starting each program costs, listing nothing
//
// The taskmon binary is $TASKMON_CLI, else this build tree's (else taskmon
// on $PATH, in a build without the tools).
#include "device.hpp"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX

namespace taskmon::bench {
namespace {

const char* const columns = "pid,ppid,user,rss,vsz,time,comm";

std::string taskmon_cli()
{
    const char* env = std::getenv("TASKMON_CLI"); // NOLINT(concurrency-mt-unsafe)
    return env != nullptr && *env != '\0' ? env : TASKMON_BENCH_CLI;
}

// Runs @p argv with stdout and stderr on /dev/null, its CPU time (user +
// system) in @p cpu_s; empty, or an error text.
std::string run(const std::vector<std::string>& argv, double& cpu_s)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(
            const_cast<char*>(a.c_str())); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        return "cannot run " + argv[0] + ": " + std::strerror(rc);
    }
    int status = 0;
    rusage usage{};
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            return "waitpid: " + std::string(std::strerror(errno));
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return argv[0] + " failed (wait status " + std::to_string(status) + ")";
    }
    const auto seconds = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    cpu_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    return {};
}

void ps_loop(benchmark::State& state, const std::vector<std::string>& argv)
{
    double wall_s = 0;
    std::int64_t runs = 0;
    for (auto _ : state) {
        double cpu_s = 0;
        const auto begin = std::chrono::steady_clock::now();
        if (const std::string error = run(argv, cpu_s); !error.empty()) {
            skip(state, error);
            break;
        }
        wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        ++runs;
        state.SetIterationTime(cpu_s);
    }
    // The wall time too, for the record (not the figure: see above).
    state.counters["wall_s"] = runs > 0 ? wall_s / static_cast<double>(runs) : 0.0;
}

void ps_procps(benchmark::State& state)
{
    ps_loop(state, {"/usr/bin/ps", "-e", "-o", columns});
}

void ps_taskmon(benchmark::State& state)
{
    ps_loop(state, {taskmon_cli(), "--device", device_path, "ps", "-o", columns});
}

void ps_taskmon_hidden(benchmark::State& state)
{
    ps_loop(state, {taskmon_cli(), "--device", device_path, "ps"});
}

void ps_procps_startup(benchmark::State& state)
{
    ps_loop(state, {"/usr/bin/ps", "--version"});
}

void ps_taskmon_startup(benchmark::State& state)
{
    ps_loop(state, {taskmon_cli(), "--version"});
}

} // namespace

// NOLINTBEGIN(cert-err58-cpp): registration at static initialisation is how gbench works
BENCHMARK(ps_procps)->Name("ps/procps")->UseManualTime();
BENCHMARK(ps_taskmon)->Name("ps/taskmon")->UseManualTime();
BENCHMARK(ps_taskmon_hidden)->Name("ps/taskmon_hidden")->UseManualTime();
BENCHMARK(ps_procps_startup)->Name("ps/procps_startup")->UseManualTime();
BENCHMARK(ps_taskmon_startup)->Name("ps/taskmon_startup")->UseManualTime();
// NOLINTEND(cert-err58-cpp)

} // namespace taskmon::bench
