// SPDX-License-Identifier: GPL-2.0-only
//
// exits/spawn/*: what exit records for every process (TM_SUBSCRIBE_EXITS)
// cost the processes that exit.  Each iteration is one fork + exec of
// /bin/true + exit + waitpid, the loop of a shell script or a build; the
// figure is its wall time per process:
//
//   exits/spawn/none        nobody subscribed: the tracepoint is off
//   exits/spawn/subscribed  one subscriber that never reads (its ring is
//                           full and drops the oldest: the hook and the
//                           completion work run for every exit)
//   exits/spawn/read        one subscriber whose thread reads every record
//
// docs/performance.md's target: subscribed/none and read/none at most
// 1/0.97 (the loop keeps at least 97 % of its rate).
#include "device.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace taskmon::bench {
namespace {

// One spawn of /bin/true, waited for; 0 or the errno of what failed.
int spawn_true()
{
    char path[] = "/bin/true";
    char* const argv[] = {path, nullptr};
    pid_t pid = -1;
    const int err = ::posix_spawn(&pid, path, nullptr, nullptr, argv, environ);
    if (err != 0) {
        return err;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

void spawn_loop(benchmark::State& state)
{
    for (auto _ : state) {
        if (const int err = spawn_true(); err != 0) {
            skip(state, errno_text("spawn of /bin/true", err));
            return;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// An open /dev/taskmonitor subscribed to every exit; no Fd (and @p state
// skipped) on failure.
Fd subscribed(benchmark::State& state, std::uint32_t ring)
{
    Fd fd = open_or_skip(state, device_path, O_RDONLY);
    if (!fd) {
        return fd;
    }
    taskmon_exits_subscribe req{};
    req.ring = ring;
    if (::ioctl(fd.get(), TM_SUBSCRIBE_EXITS, &req) < 0) { // NOLINT(*-vararg)
        skip(state, errno_text("TM_SUBSCRIBE_EXITS", errno));
        return Fd{};
    }
    return fd;
}

void exits_spawn_none(benchmark::State& state)
{
    spawn_loop(state);
}

void exits_spawn_subscribed(benchmark::State& state)
{
    // A small ring, never read: full from the start, as a stalled reader's.
    const Fd fd = subscribed(state, 16);
    if (fd) {
        spawn_loop(state);
    }
}

void exits_spawn_read(benchmark::State& state)
{
    const Fd fd = subscribed(state, 0);
    if (!fd) {
        return;
    }
    std::atomic<std::uint64_t> records{0};
    std::atomic<std::uint64_t> lost{0};
    std::atomic<bool> stop{false};
    // The reader blocks in read(); the last spawn after stop wakes it.
    std::thread reader([&] {
        std::vector<taskmon_exit> buf(64);
        while (!stop.load()) {
            const ssize_t len = ::read(fd.get(), buf.data(), buf.size() * sizeof(buf[0]));
            if (len < 0) {
                if (errno == EINTR) {
                    continue;
                }
                break;
            }
            const auto n = static_cast<std::size_t>(len) / sizeof(buf[0]);
            for (std::size_t i = 0; i < n; ++i) {
                lost += buf[i].lost;
            }
            records += n;
        }
    });
    spawn_loop(state);
    stop = true;
    (void)spawn_true();
    reader.join();
    state.counters["records"] = static_cast<double>(records.load());
    state.counters["lost"] = static_cast<double>(lost.load());
}

} // namespace

// NOLINTBEGIN(cert-err58-cpp): registration at static initialisation is how gbench works
BENCHMARK(exits_spawn_none)->Name("exits/spawn/none")->UseRealTime();
BENCHMARK(exits_spawn_subscribed)->Name("exits/spawn/subscribed")->UseRealTime();
BENCHMARK(exits_spawn_read)->Name("exits/spawn/read")->UseRealTime();
// NOLINTEND(cert-err58-cpp)

} // namespace taskmon::bench
