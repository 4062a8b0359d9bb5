// SPDX-License-Identifier: GPL-2.0-only
//
// Threads hammer one shared Monitor (and their own ones) with every request
// at once; meanwhile there must never be more than one taskmonitor kthread.
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

namespace taskmon::vmtest {
namespace {

using namespace std::chrono_literals;

class Concurrency : public VmTest {};

std::chrono::milliseconds hammer_duration()
{
    const char* env = std::getenv("TASKMON_VM_HAMMER_SECONDS"); // NOLINT(concurrency-mt-unsafe)
    const long seconds = env != nullptr ? std::strtol(env, nullptr, 10) : 3;
    return std::chrono::seconds(seconds > 0 ? seconds : 3);
}

TEST_F(Concurrency, HammerKeepsOneKthreadAndEveryCallSucceeds)
{
    // Children first: no fork() while threads run.
    const BusyChild a;
    const BusyChild b;
    Monitor shared(monitor_device(), Access::steer);
    shared.set_target(a.pid());
    shared.start();

    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::atomic<int> max_kthreads{0};
    std::atomic<int> bad_targets{0};
    std::mutex first_failure_mutex;
    std::string first_failure;

    const auto record = [&](const std::string& what) {
        if (failures.fetch_add(1) == 0) {
            const std::lock_guard<std::mutex> lock(first_failure_mutex);
            first_failure = what;
        }
    };

    struct Worker {
        const char* name = nullptr;
        std::function<void()> step;
        std::atomic<long> iterations{0};
    };
    Monitor own(monitor_device(), Access::steer);
    std::vector<std::unique_ptr<Worker>> workers;
    const auto add = [&workers](const char* name, std::function<void()> step) {
        workers.push_back(std::make_unique<Worker>());
        workers.back()->name = name;
        workers.back()->step = std::move(step);
    };
    const auto check_target = [&](pid_t pid) {
        if (pid != a.pid() && pid != b.pid()) {
            bad_targets.fetch_add(1);
        }
    };
    add("sample", [&] { static_cast<void>(shared.sample()); });
    add("sample_text", [&] { static_cast<void>(shared.sample_text()); });
    add("target", [&] { check_target(own.target()); });
    add("start/stop", [&] {
        shared.start();
        shared.stop();
    });
    add("start", [&] { own.start(); });
    add("set_target", [&] {
        shared.set_target(a.pid());
        shared.set_target(b.pid());
    });

    std::vector<std::thread> threads;
    threads.reserve(workers.size());
    for (auto& worker : workers) {
        threads.emplace_back([&, w = worker.get()] {
            while (!stop.load()) {
                try {
                    w->step();
                } catch (const std::exception& e) {
                    record(std::string(w->name) + ": " + e.what());
                }
                w->iterations.fetch_add(1);
            }
        });
    }
    std::thread watcher([&] {
        while (!stop.load()) {
            const int n = count_kthreads();
            int seen = max_kthreads.load();
            while (n > seen && !max_kthreads.compare_exchange_weak(seen, n)) {
            }
            std::this_thread::sleep_for(1ms);
        }
    });

    std::this_thread::sleep_for(hammer_duration());
    stop.store(true);
    for (auto& t : threads) {
        t.join();
    }
    watcher.join();

    EXPECT_EQ(failures.load(), 0) << "first failure: " << first_failure;
    EXPECT_LE(max_kthreads.load(), 1) << "more than one taskmonitor kthread at once";
    EXPECT_EQ(bad_targets.load(), 0) << "TM_PID returned a pid that was never set";
    for (const auto& worker : workers) {
        EXPECT_GT(worker->iterations.load(), 0) << worker->name << " never ran";
    }

    const pid_t target = shared.target();
    EXPECT_TRUE(target == a.pid() || target == b.pid()) << target;
    static_cast<void>(shared.sample());
}

// Runs after the hammer: it must have left no stray thread behind.
TEST_F(Concurrency, AfterTheHammerStartAndStopStillControlOneKthread)
{
    Monitor monitor(monitor_device(), Access::steer);
    monitor.start();
    EXPECT_EQ(wait_for_kthreads(1), 1);
    monitor.stop();
    EXPECT_EQ(wait_for_kthreads(0), 0) << "a kthread survived TM_STOP after concurrent starts";
    monitor.start();
    EXPECT_EQ(wait_for_kthreads(1), 1);
}

} // namespace
} // namespace taskmon::vmtest
