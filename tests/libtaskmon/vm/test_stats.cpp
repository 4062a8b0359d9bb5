// SPDX-License-Identifier: GPL-2.0-only
//
// Monitor::stats() and `taskmon stats` against the loaded taskmonitor.ko:
// every field against /proc (an independent source), kernel threads,
// zombies, exited pids, batches (mixed, at and above the kernel's bound),
// thread scope, and that none of it reads or moves the module's target.
//
// Under vm.emulated (the LD_PRELOAD stand-in on the host, which predates
// TM_STATS) these tests skip; in the VM a module without TM_STATS fails them.
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <linux/taskmon.h>

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <atomic>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace taskmon::vmtest {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class Stats : public VmTest {
protected:
    void SetUp() override
    {
        VmTest::SetUp();
        if (IsSkipped() || HasFailure()) {
            return;
        }
        require_request("TM_STATS",
                        [] { static_cast<void>(Monitor(monitor_device()).stats(::getpid())); });
    }
};

std::vector<std::string> proc_stat(pid_t pid)
{
    // Fields after "(comm)": [0] is the state (field 3 of proc(5)).
    const auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) {
        return {};
    }
    std::istringstream in(text->substr(text->rfind(')') + 2));
    std::vector<std::string> fields;
    for (std::string f; in >> f;) {
        fields.push_back(f);
    }
    return fields;
}

// "RssAnon:	    1234 kB" -> bytes
std::optional<std::uint64_t> status_kb(pid_t pid, const std::string& key)
{
    const auto text = read_file("/proc/" + std::to_string(pid) + "/status");
    if (!text) {
        return std::nullopt;
    }
    const std::regex line("(^|\n)" + key + ":\\s+([0-9]+) kB");
    std::smatch m;
    if (!std::regex_search(*text, m, line)) {
        return std::nullopt;
    }
    return std::stoull(m[2]) * 1024;
}

std::chrono::nanoseconds boottime()
{
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

std::chrono::nanoseconds tick()
{
    return std::chrono::nanoseconds(1'000'000'000LL / ::sysconf(_SC_CLK_TCK));
}

template <typename T>
void expect_near(T actual, T expected, T tolerance, const char* what)
{
    EXPECT_LE(actual > expected ? actual - expected : expected - actual, tolerance)
        << what << ": " << actual << " vs " << expected;
}

TEST_F(Stats, SelfAgreesWithProc)
{
    const Monitor m(monitor_device());
    const auto before = boottime();
    const taskmon::Stats s = m.stats(::getpid());
    const auto after = boottime();
    const auto f = proc_stat(::getpid());
    ASSERT_GE(f.size(), 22U);

    EXPECT_EQ(s.pid, ::getpid());
    EXPECT_EQ(s.tgid, ::getpid());
    EXPECT_EQ(s.ppid, ::getppid());
    EXPECT_EQ(s.state, 'R');
    EXPECT_EQ(s.comm,
              read_file("/proc/self/comm")->substr(0, read_file("/proc/self/comm")->size() - 1));
    EXPECT_EQ(s.threads, static_cast<std::uint32_t>(std::stoul(f[17])));
    EXPECT_EQ(s.uid, ::getuid());
    EXPECT_EQ(s.euid, ::geteuid());
    EXPECT_EQ(s.gid, ::getgid());
    EXPECT_EQ(s.egid, ::getegid());
    ASSERT_TRUE(s.minor_faults && s.major_faults && s.voluntary_ctxsw && s.involuntary_ctxsw);
    EXPECT_LE(*s.minor_faults, std::stoull(f[7]));
    EXPECT_LE(*s.major_faults, std::stoull(f[9]));
    EXPECT_GT(*s.voluntary_ctxsw + *s.involuntary_ctxsw, 0U);

    ASSERT_TRUE(s.rss_anon_bytes && s.rss_file_bytes && s.rss_shmem_bytes && s.vsize_bytes)
        << "a user process has memory";
    constexpr std::uint64_t slack = 4U << 20; // the test itself allocates between the reads
    expect_near(*s.rss_anon_bytes, *status_kb(::getpid(), "RssAnon"), slack, "rss_anon");
    expect_near(*s.rss_file_bytes, *status_kb(::getpid(), "RssFile"), slack, "rss_file");
    expect_near(*s.rss_shmem_bytes, *status_kb(::getpid(), "RssShmem"), slack, "rss_shmem");
    expect_near<std::uint64_t>(*s.vsize_bytes, std::stoull(f[20]), 64U << 20, "vsize");

    ASSERT_TRUE(s.start_time && s.sample_time);
    const auto start_ticks = std::stoll(f[19]);
    expect_near<std::int64_t>(s.start_time->count(), start_ticks * tick().count(), tick().count(),
                              "start_time");
    EXPECT_GE(*s.sample_time, before);
    EXPECT_LE(*s.sample_time, after);
}

TEST_F(Stats, BusyChildCpuAgreesWithProcAndTheTargetIsUntouched)
{
    const BusyChild target;
    const BusyChild other(Load::syscalls);
    Monitor m(monitor_device(), Access::steer);
    m.set_target(target.pid());
    std::this_thread::sleep_for(300ms);

    const auto proc_before = proc_cpu_time(other.pid());
    const taskmon::Stats s = m.stats(other.pid());
    const auto proc_after = proc_cpu_time(other.pid());
    ASSERT_TRUE(s.user && s.system && proc_before && proc_after);
    EXPECT_EQ(s.pid, other.pid());
    EXPECT_EQ(s.ppid, ::getpid());
    // /proc is tick-based and cputime_adjust()ed: within a few ticks.
    EXPECT_GE(*s.user + *s.system + 3 * tick(), *proc_before);
    EXPECT_LE(*s.user + *s.system, *proc_after + 3 * tick());

    EXPECT_EQ(m.target(), target.pid()) << "stats(pid) must not move the target";
    const taskmon::Stats t = m.stats();
    EXPECT_EQ(t.pid, target.pid()) << "stats() is the target's, with its pid";
    EXPECT_EQ(m.target(), target.pid());
}

TEST_F(Stats, KernelThreadHasNoMemoryBits)
{
    const taskmon::Stats s = Monitor(monitor_device()).stats(2); // kthreadd
    EXPECT_EQ(s.pid, 2);
    EXPECT_EQ(s.comm, "kthreadd");
    EXPECT_TRUE(s.user.has_value());
    EXPECT_FALSE(s.rss_anon_bytes.has_value()) << "a kernel thread has no memory";
    EXPECT_FALSE(s.vsize_bytes.has_value());
    EXPECT_EQ(s.mask & (TM_STATS_RSS | TM_STATS_VSIZE), 0U);
}

TEST_F(Stats, ZombieIsStateZ)
{
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::_exit(0);
    }
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
    const taskmon::Stats s = Monitor(monitor_device()).stats(child);
    EXPECT_EQ(s.pid, child);
    EXPECT_EQ(s.state, 'Z');
    ::waitpid(child, nullptr, 0);
}

TEST_F(Stats, ExitedPidIsNoSuchProcessNamingIt)
{
    BusyChild child;
    const pid_t pid = child.pid();
    child.kill_and_reap();
    const Monitor m(monitor_device());
    try {
        static_cast<void>(m.stats(pid));
        FAIL() << "stats of a reaped pid succeeded";
    } catch (const NoSuchProcess& e) {
        EXPECT_EQ(e.pid(), pid);
        EXPECT_THAT(std::string(e.what()), HasSubstr(std::to_string(pid)));
    }
    EXPECT_THROW(static_cast<void>(m.stats(bogus_pid())), NoSuchProcess);
    EXPECT_THROW(static_cast<void>(m.stats(0)), Error);
}

TEST_F(Stats, ThreadScopeNamesOneThread)
{
    std::atomic<pid_t> tid{0};
    std::atomic<bool> stop{false};
    std::thread worker([&] {
        tid = static_cast<pid_t>(::syscall(SYS_gettid));
        while (!stop) {
            std::this_thread::sleep_for(1ms);
        }
    });
    while (tid == 0) {
        std::this_thread::yield();
    }
    const Monitor m(monitor_device());
    const taskmon::Stats t = m.stats(tid, Scope::thread);
    EXPECT_EQ(t.pid, tid.load());
    EXPECT_EQ(t.tgid, ::getpid());
    const taskmon::Stats p = m.stats(::getpid(), Scope::thread);
    EXPECT_EQ(p.pid, ::getpid());
    stop = true;
    worker.join();
}

TEST_F(Stats, BatchHasOneStatusPerPid)
{
    BusyChild gone;
    const pid_t gone_pid = gone.pid();
    gone.kill_and_reap();
    const BusyChild live;
    const std::vector<pid_t> pids{::getpid(), gone_pid, 1, bogus_pid(), live.pid(), 0, 2};
    const auto r = Monitor(monitor_device()).stats(pids);
    ASSERT_EQ(r.size(), pids.size());
    EXPECT_TRUE(r[0].ok());
    EXPECT_EQ(r[0].stats.pid, ::getpid());
    EXPECT_EQ(r[1].code(), std::errc::no_such_process);
    EXPECT_THROW(static_cast<void>(r[1].value()), NoSuchProcess);
    EXPECT_TRUE(r[2].ok());
    EXPECT_EQ(r[2].stats.pid, 1);
    EXPECT_EQ(r[3].code(), std::errc::no_such_process);
    EXPECT_TRUE(r[4].ok());
    EXPECT_EQ(r[4].stats.ppid, ::getpid());
    EXPECT_EQ(r[5].code(), std::errc::invalid_argument);
    EXPECT_TRUE(r[6].ok());
    EXPECT_FALSE(r[6].stats.rss_anon_bytes.has_value());
}

// The request mask (ABI 1.0): the module fills what it was asked for and
// what costs it nothing; the thread walk's and RSS's groups only if asked.
TEST_F(Stats, OnlyTheGroupsAskedForCostAndAreFilled)
{
    using taskmon::Field;
    using taskmon::Fields;
    const Fields costly = Field::cpu | Field::faults | Field::ctxsw | Field::rss;
    const Monitor m(monitor_device());

    const taskmon::Stats names = m.stats(::getpid(), Field::comm | Field::creds | Field::ppid);
    EXPECT_EQ(names.pid, ::getpid());
    EXPECT_EQ(names.tgid, ::getpid());
    EXPECT_EQ(names.ppid, ::getppid());
    EXPECT_EQ(names.uid, ::getuid());
    EXPECT_EQ(names.comm,
              read_file("/proc/self/comm")->substr(0, read_file("/proc/self/comm")->size() - 1));
    EXPECT_TRUE(names.start_time && names.vsize_bytes && names.state) << "free groups";
    EXPECT_TRUE((names.filled() & costly).empty()) << names.mask;
    EXPECT_FALSE(names.user || names.minor_faults || names.voluntary_ctxsw || names.rss_anon_bytes);

    const taskmon::Stats faults = m.stats(::getpid(), Field::faults);
    EXPECT_TRUE(faults.minor_faults && faults.user && faults.voluntary_ctxsw) << "one walk";
    EXPECT_FALSE(faults.rss_anon_bytes.has_value());
    const taskmon::Stats rss = m.stats(::getpid(), Field::rss);
    EXPECT_TRUE(rss.rss_anon_bytes && rss.rss_file_bytes && rss.rss_shmem_bytes);
    EXPECT_FALSE(rss.user.has_value());
    EXPECT_EQ(m.stats(::getpid()).filled(), Fields::all());
    EXPECT_EQ(m.stats(::getpid(), Fields::all()).filled(), Fields::all());

    const auto batch = m.stats(std::vector<pid_t>{::getpid(), 1, 2}, Field::comm);
    ASSERT_EQ(batch.size(), 3U);
    for (const auto& r : batch) {
        ASSERT_TRUE(r.ok()) << r.pid;
        EXPECT_TRUE(r.stats.comm.has_value());
        EXPECT_TRUE((r.stats.filled() & costly).empty()) << r.pid << " " << r.stats.mask;
    }
    EXPECT_EQ(batch[2].stats.comm, "kthreadd");
}

TEST_F(Stats, BatchAtAndAboveTheKernelBound)
{
    const Monitor m(monitor_device());
    for (const std::size_t n :
         {std::size_t{TM_STATS_BATCH_MAX}, std::size_t{TM_STATS_BATCH_MAX} + 7}) {
        const std::vector<pid_t> pids(n, ::getpid());
        const auto r = m.stats(pids);
        ASSERT_EQ(r.size(), n);
        for (const auto& result : r) {
            ASSERT_TRUE(result.ok());
            ASSERT_EQ(result.stats.pid, ::getpid());
        }
    }
}

TEST_F(Stats, CliPrintsEveryPidAndFailsForAnExitedOne)
{
    const std::string cli = cli_program();
    TASKMON_REQUIRE_TOOL(!cli.empty(), "no taskmon program (build it: cmake --build build/host)");
    const std::string self = std::to_string(::getpid());
    RunResult r = run_program(cli, {"--device", monitor_device(), "stats", self, "1"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;

    const std::string bogus = std::to_string(bogus_pid());
    r = run_program(cli, {"--json", "--device", monitor_device(), "stats", self, bogus, "2"});
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr(bogus));
    std::istringstream in(r.out);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    for (const char* key :
         {"pid", "tgid", "ppid", "comm", "threads", "user_ns", "system_ns", "rss_anon_bytes",
          "rss_file_bytes", "rss_shmem_bytes", "vsize_bytes", "start_time_ns"}) {
        EXPECT_THAT(line, HasSubstr(std::string("\"") + key + "\": ")) << key;
    }
    EXPECT_THAT(line, HasSubstr("\"pid\": " + self + ","));
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_THAT(line, HasSubstr("\"pid\": " + bogus + ", \"error\": \"ESRCH\""));
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_THAT(line, HasSubstr("\"rss_anon_bytes\": null"));
}

} // namespace
} // namespace taskmon::vmtest
