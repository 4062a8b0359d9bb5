// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of Monitor::stats() without the kernel module: libtaskmon's
// calls (linked in as objects) are answered by the fake taskmonitor of
// fake_stats_kernel.hpp while a test has one alive, and its requests are
// recorded; otherwise the real system call is made, so the other tests of
// this binary see the kernel as usual.  What this proves is the library's
// side: the requests it builds, the mask -> std::optional mapping, the
// errors, chunking.  The module itself is tested in the VM (vm/test_stats.cpp).
#include "fake_stats_kernel.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using taskmon::fake::FakeStatsKernel;
using taskmon::fake::full_record;
using taskmon::fake::kthread_record;

template <typename E, typename Fn>
E expect_throw(Fn&& fn)
{
    try {
        std::forward<Fn>(fn)();
    } catch (const E& e) {
        return e;
    }
    ADD_FAILURE() << "no exception of the expected type";
    return E(0, "");
}

// /dev/zero: a character device, so Monitor opens it; the fake answers.
taskmon::Monitor fake_monitor()
{
    return taskmon::Monitor("/dev/zero");
}

TEST(StatsHost, OnePidFillsEveryFieldOfTheMask)
{
    FakeStatsKernel k;
    k.processes[42] = full_record(42, "bash");
    const auto m = fake_monitor();
    const taskmon::Stats s = m.stats(42);

    ASSERT_EQ(k.single_requests.size(), 1U);
    EXPECT_EQ(k.single_requests[0].size, sizeof(taskmon_stats));
    EXPECT_EQ(k.single_requests[0].flags, 0U);
    EXPECT_EQ(k.single_requests[0].pid, 42);

    EXPECT_EQ(s.pid, 42);
    EXPECT_EQ(s.tgid, 42);
    EXPECT_EQ(s.ppid, 1);
    EXPECT_EQ(s.state, 'S');
    EXPECT_EQ(s.threads, 3U);
    EXPECT_EQ(s.comm, "bash");
    EXPECT_EQ(s.uid, 1000U);
    EXPECT_EQ(s.euid, 1001U);
    EXPECT_EQ(s.gid, 100U);
    EXPECT_EQ(s.egid, 101U);
    EXPECT_EQ(s.user, std::chrono::nanoseconds(1'500'000'000));
    EXPECT_EQ(s.system, std::chrono::nanoseconds(250'000'000));
    EXPECT_EQ(s.cpu_time(), std::chrono::nanoseconds(1'750'000'000));
    EXPECT_EQ(s.minor_faults, 10U);
    EXPECT_EQ(s.major_faults, 2U);
    EXPECT_EQ(s.voluntary_ctxsw, 7U);
    EXPECT_EQ(s.involuntary_ctxsw, 5U);
    EXPECT_EQ(s.rss_anon_bytes, 40960U);
    EXPECT_EQ(s.rss_file_bytes, 81920U);
    EXPECT_EQ(s.rss_shmem_bytes, 4096U);
    EXPECT_EQ(s.rss_bytes(), 40960U + 81920U + 4096U);
    EXPECT_EQ(s.vsize_bytes, 1U << 24);
    EXPECT_EQ(s.start_time, std::chrono::nanoseconds(123'456'789));
    EXPECT_EQ(s.sample_time, std::chrono::nanoseconds(987'654'321));
    EXPECT_EQ(s, m.stats(42));
}

TEST(StatsHost, FieldsOutsideTheMaskAreEmptyNotZero)
{
    FakeStatsKernel k;
    k.processes[2] = kthread_record(2);
    const taskmon::Stats s = fake_monitor().stats(2);
    EXPECT_FALSE(s.rss_anon_bytes.has_value());
    EXPECT_FALSE(s.rss_file_bytes.has_value());
    EXPECT_FALSE(s.rss_shmem_bytes.has_value());
    EXPECT_FALSE(s.rss_bytes().has_value());
    EXPECT_FALSE(s.vsize_bytes.has_value());
    EXPECT_TRUE(s.user.has_value());
    EXPECT_EQ(s.comm, "kworker/0:1");

    taskmon_stats bare{};
    bare.mask = 0; // a module that filled nothing but the pid
    k.processes[3] = bare;
    const taskmon::Stats b = fake_monitor().stats(3);
    EXPECT_EQ(b.pid, 3);
    EXPECT_FALSE(b.tgid || b.ppid || b.state || b.threads || b.comm || b.uid || b.user ||
                 b.system || b.minor_faults || b.voluntary_ctxsw || b.start_time || b.sample_time);
    EXPECT_FALSE(b.cpu_time().has_value());
}

TEST(StatsHost, CommIsNotTrustedToBeTerminated)
{
    FakeStatsKernel k;
    taskmon_stats r = full_record(5, "x");
    std::memset(r.comm, 'a', sizeof(r.comm)); // no NUL at all
    k.processes[5] = r;
    EXPECT_EQ(fake_monitor().stats(5).comm, std::string(TM_COMM_LEN, 'a'));
}

TEST(StatsHost, ThreadScopeSetsTheFlag)
{
    FakeStatsKernel k;
    k.processes[43] = full_record(43, "worker");
    static_cast<void>(fake_monitor().stats(43, taskmon::Scope::thread));
    ASSERT_EQ(k.single_requests.size(), 1U);
    EXPECT_EQ(k.single_requests[0].flags, TM_STATS_THREAD);
}

TEST(StatsHost, TargetIsAskedWithPidZeroAndComesBackWithItsPid)
{
    FakeStatsKernel k;
    k.processes[77] = full_record(77, "target");
    k.target = 77;
    const taskmon::Stats s = fake_monitor().stats();
    ASSERT_EQ(k.single_requests.size(), 1U);
    EXPECT_EQ(k.single_requests[0].pid, 0);
    EXPECT_EQ(s.pid, 77);
    EXPECT_EQ(s.comm, "target");
}

TEST(StatsHost, NoTargetIsNoTarget)
{
    const FakeStatsKernel k;
    const auto e =
        expect_throw<taskmon::NoTarget>([] { static_cast<void>(fake_monitor().stats()); });
    EXPECT_EQ(e.code(), std::errc::no_message_available);
}

TEST(StatsHost, ExitedTargetIsNoSuchProcessNamingIt)
{
    FakeStatsKernel k;
    k.target = 4242; // set, but gone: TM_STATS says ESRCH, TM_PID still names it
    const auto e =
        expect_throw<taskmon::NoSuchProcess>([] { static_cast<void>(fake_monitor().stats()); });
    EXPECT_EQ(e.pid(), 4242);
    EXPECT_THAT(std::string(e.what()), HasSubstr("monitored process (pid 4242) has exited"));
}

TEST(StatsHost, MissingPidIsNoSuchProcessNamingItWithoutTalkingOfTheTarget)
{
    const FakeStatsKernel k;
    const auto e = expect_throw<taskmon::NoSuchProcess>(
        [] { static_cast<void>(fake_monitor().stats(31337)); });
    EXPECT_EQ(e.pid(), 31337);
    EXPECT_EQ(e.code(), std::errc::no_such_process);
    EXPECT_EQ(e.device(), "/dev/zero");
    const std::string what = e.what();
    EXPECT_EQ(e.operation(), "TM_STATS");
    EXPECT_THAT(what, HasSubstr("TM_STATS on /dev/zero for pid 31337 failed: No such process"));
    EXPECT_THAT(what, HasSubstr("no process or thread 31337 visible"));
    EXPECT_THAT(what, Not(HasSubstr("target")));
}

TEST(StatsHost, NonPositivePidIsEinvalWithoutAskingTheKernel)
{
    const FakeStatsKernel k;
    for (const pid_t pid : {0, -1, -2147483647 - 1}) {
        const auto e = expect_throw<taskmon::InvalidArgument>(
            [pid] { static_cast<void>(fake_monitor().stats(pid)); });
        EXPECT_EQ(e.code(), std::errc::invalid_argument);
        EXPECT_EQ(e.operation(), "stats");
        EXPECT_EQ(e.pid(), pid);
        EXPECT_THAT(
            std::string(e.what()),
            HasSubstr("stats on /dev/zero refused by libtaskmon without asking the kernel"));
        EXPECT_THAT(std::string(e.what()),
                    HasSubstr("must be a positive process id, not " + std::to_string(pid)));
    }
    EXPECT_TRUE(k.single_requests.empty());
}

TEST(StatsHost, OldModuleIsNotSupportedWithAClearMessage)
{
    FakeStatsKernel k;
    k.stats_errno = ENOTTY;
    k.processes[1] = full_record(1, "init");
    const auto m = fake_monitor();
    for (const auto& call : std::vector<std::function<void()>>{
             [&m] { static_cast<void>(m.stats(1)); },
             [&m] { static_cast<void>(m.stats()); },
             [&m] {
                 static_cast<void>(m.stats(std::vector<pid_t>{1, 2}));
             },
         }) {
        const auto e = expect_throw<taskmon::NotSupported>(call);
        EXPECT_EQ(e.code().value(), ENOTTY);
        const std::string what = e.what();
        EXPECT_THAT(what, HasSubstr("does not understand TM_STATS"));
        EXPECT_THAT(what, HasSubstr("older than libtaskmon"));
        EXPECT_THAT(what, HasSubstr("lacks the per-process statistics requests"));
    }
}

TEST(StatsHost, DevNullIsNotSupported)
{
    // No fake: the real kernel answers ENOTTY, as an old module would.
    const taskmon::Monitor m("/dev/null");
    EXPECT_THROW(static_cast<void>(m.stats(1)), taskmon::NotSupported);
    EXPECT_THROW(static_cast<void>(m.stats(std::vector<pid_t>{1})), taskmon::NotSupported);
}

TEST(StatsHost, ClosedMonitorIsEbadf)
{
    auto m = fake_monitor();
    m.close();
    const auto e = expect_throw<taskmon::Error>([&m] { static_cast<void>(m.stats(1)); });
    EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
    const auto moved = std::move(m);
    const auto e2 = expect_throw<taskmon::Error>([&m] { static_cast<void>(m.stats()); });
    EXPECT_EQ(e2.code(), std::errc::bad_file_descriptor);
}

TEST(StatsHost, BatchHasOneResultPerPidInOrderEachWithItsStatus)
{
    FakeStatsKernel k;
    k.processes[10] = full_record(10, "ten");
    k.processes[30] = kthread_record(30);
    const auto results = fake_monitor().stats(std::vector<pid_t>{10, 20, 0, 30, -5, 10});

    ASSERT_EQ(k.batches.size(), 1U);
    ASSERT_EQ(k.batch_headers[0].count, 4U); // 0 and -5 are not sent
    EXPECT_EQ(k.batch_headers[0].size, sizeof(taskmon_stats));
    EXPECT_EQ(k.batch_headers[0].flags, 0U);
    EXPECT_EQ(k.batch_headers[0].reserved, 0U);
    for (const auto& rec : k.batches[0]) {
        EXPECT_EQ(rec.size, sizeof(taskmon_stats));
    }

    ASSERT_EQ(results.size(), 6U);
    const std::vector<pid_t> pids{10, 20, 0, 30, -5, 10};
    for (std::size_t i = 0; i < pids.size(); ++i) {
        EXPECT_EQ(results[i].pid, pids[i]);
    }
    EXPECT_TRUE(results[0].ok());
    EXPECT_EQ(results[0].stats.comm, "ten");
    EXPECT_EQ(results[0].value().pid, 10);

    EXPECT_FALSE(results[1].ok());
    EXPECT_EQ(results[1].code(), std::errc::no_such_process);
    try {
        static_cast<void>(results[1].value());
        ADD_FAILURE() << "value() of a failed pid did not throw";
    } catch (const taskmon::NoSuchProcess& e) {
        EXPECT_EQ(e.pid(), 20);
        EXPECT_THAT(std::string(e.what()), HasSubstr("pid 20"));
    }

    EXPECT_EQ(results[2].code(), std::errc::invalid_argument);
    EXPECT_THROW(static_cast<void>(results[2].value()), taskmon::InvalidArgument);
    EXPECT_TRUE(results[3].ok());
    EXPECT_FALSE(results[3].stats.rss_anon_bytes.has_value());
    EXPECT_EQ(results[4].code(), std::errc::invalid_argument);
    EXPECT_TRUE(results[5].ok());
}

TEST(StatsHost, BatchInThreadScopeSetsTheFlagEverywhere)
{
    FakeStatsKernel k;
    k.processes[10] = full_record(10, "ten");
    static_cast<void>(fake_monitor().stats(std::vector<pid_t>{10}, taskmon::Scope::thread));
    ASSERT_EQ(k.batches.size(), 1U);
    EXPECT_EQ(k.batch_headers[0].flags, TM_STATS_THREAD);
    EXPECT_EQ(k.batches[0][0].flags, TM_STATS_THREAD);
}

TEST(StatsHost, EmptyBatchMakesNoCall)
{
    const FakeStatsKernel k;
    EXPECT_TRUE(fake_monitor().stats(std::vector<pid_t>{}).empty());
    EXPECT_TRUE(fake_monitor().stats(nullptr, 0).empty());
    EXPECT_TRUE(k.batches.empty());
}

TEST(StatsHost, BatchAboveTheKernelBoundIsSentInChunks)
{
    FakeStatsKernel k;
    std::vector<pid_t> pids;
    for (pid_t pid = 1; pid <= TM_STATS_BATCH_MAX + 904; ++pid) {
        pids.push_back(pid);
        if (pid % 2 == 0) {
            k.processes[pid] = full_record(pid, "even");
        }
    }
    const auto results = fake_monitor().stats(pids);
    ASSERT_EQ(k.batch_headers.size(), 2U);
    EXPECT_EQ(k.batch_headers[0].count, static_cast<__u32>(TM_STATS_BATCH_MAX));
    EXPECT_EQ(k.batch_headers[1].count, 904U);
    ASSERT_EQ(results.size(), pids.size());
    for (std::size_t i = 0; i < pids.size(); ++i) {
        ASSERT_EQ(results[i].pid, pids[i]);
        ASSERT_EQ(results[i].ok(), pids[i] % 2 == 0) << pids[i];
        if (results[i].ok()) {
            ASSERT_EQ(results[i].stats.pid, pids[i]);
        }
    }
}

// ---- groups of fields (the request mask) ------------------------------------

using taskmon::Field;
using taskmon::Fields;

constexpr __u64 free_groups = TM_STATS_IDS | TM_STATS_PPID | TM_STATS_STATE | TM_STATS_CREDS |
                              TM_STATS_THREADS | TM_STATS_COMM | TM_STATS_VSIZE |
                              TM_STATS_START_TIME | TM_STATS_SAMPLE_TIME;

static_assert(Fields::all().bits() == TM_STATS_ALL);
static_assert((Field::comm | Field::creds).bits() == (TM_STATS_COMM | TM_STATS_CREDS));
static_assert(Fields::from_bits(TM_STATS__RESERVED | TM_STATS_CPU) == Fields(Field::cpu));
static_assert(Fields().empty() && !Fields(Field::ids).empty());
static_assert((Fields::all() & Field::rss) == Fields(Field::rss));
static_assert((Field::cpu | Field::rss).has(Field::rss) && !Fields(Field::cpu).has(Field::rss));

TEST(StatsFields, TheDefaultAsksEveryGroup)
{
    FakeStatsKernel k;
    k.processes[42] = full_record(42, "bash");
    k.target = 42;
    const auto m = fake_monitor();
    const taskmon::Stats one = m.stats(42);
    const taskmon::Stats target = m.stats();
    const auto batch = m.stats(std::vector<pid_t>{42, 42});

    ASSERT_EQ(k.single_requests.size(), 2U);
    EXPECT_EQ(k.single_requests[0].mask, TM_STATS_ALL);
    EXPECT_EQ(k.single_requests[1].mask, TM_STATS_ALL);
    ASSERT_EQ(k.batches.size(), 1U);
    for (const auto& rec : k.batches[0]) {
        EXPECT_EQ(rec.mask, TM_STATS_ALL);
    }
    for (const taskmon::Stats* s : {&one, &target, &batch[0].stats, &batch[1].stats}) {
        EXPECT_EQ(s->mask, TM_STATS_ALL);
        EXPECT_EQ(s->filled(), Fields::all());
        EXPECT_TRUE(s->user && s->minor_faults && s->voluntary_ctxsw && s->rss_anon_bytes);
    }
    // Fields::all() is the same request as no Fields at all.
    static_cast<void>(m.stats(42, Fields::all()));
    EXPECT_EQ(k.single_requests.back().mask, TM_STATS_ALL);
}

TEST(StatsFields, TheGroupsAskedForReachTheKernelAndTheOthersAreEmpty)
{
    FakeStatsKernel k;
    k.processes[42] = full_record(42, "bash");
    const taskmon::Stats s = fake_monitor().stats(42, Field::comm | Field::creds | Field::ppid);

    ASSERT_EQ(k.single_requests.size(), 1U);
    EXPECT_EQ(k.single_requests[0].mask, TM_STATS_COMM | TM_STATS_CREDS | TM_STATS_PPID);
    EXPECT_EQ(k.single_requests[0].pid, 42);
    EXPECT_EQ(k.single_requests[0].flags, 0U);

    // What was asked, and what the kernel fills at no cost.
    EXPECT_EQ(s.mask, free_groups);
    EXPECT_EQ(s.comm, "bash");
    EXPECT_EQ(s.uid, 1000U);
    EXPECT_EQ(s.egid, 101U);
    EXPECT_EQ(s.ppid, 1);
    EXPECT_EQ(s.start_time, std::chrono::nanoseconds(123'456'789));
    EXPECT_EQ(s.vsize_bytes, 1U << 24);
    // Neither the walk over the threads nor the per-CPU sums: not zeros, empty.
    EXPECT_FALSE(s.user || s.system || s.cpu_time());
    EXPECT_FALSE(s.minor_faults || s.major_faults);
    EXPECT_FALSE(s.voluntary_ctxsw || s.involuntary_ctxsw);
    EXPECT_FALSE(s.rss_anon_bytes || s.rss_file_bytes || s.rss_shmem_bytes || s.rss_bytes());
    EXPECT_FALSE(s.filled().has(Field::cpu));
    EXPECT_TRUE(s.filled().has(Field::comm));
}

TEST(StatsFields, OneGroupOfTheThreadWalkGetsAllThreeAndRssOnlyWhenAsked)
{
    FakeStatsKernel k;
    k.processes[42] = full_record(42, "bash");
    const auto m = fake_monitor();

    const taskmon::Stats faults = m.stats(42, Field::faults);
    EXPECT_EQ(k.single_requests.back().mask, TM_STATS_FAULTS);
    EXPECT_EQ(faults.minor_faults, 10U);
    EXPECT_EQ(faults.user, std::chrono::nanoseconds(1'500'000'000)); // the same walk
    EXPECT_EQ(faults.voluntary_ctxsw, 7U);
    EXPECT_FALSE(faults.rss_anon_bytes);

    const taskmon::Stats rss = m.stats(42, Field::rss);
    EXPECT_EQ(k.single_requests.back().mask, TM_STATS_RSS);
    EXPECT_EQ(rss.rss_bytes(), 40960U + 81920U + 4096U);
    EXPECT_FALSE(rss.user || rss.minor_faults || rss.voluntary_ctxsw);
}

TEST(StatsFields, NoGroupAsksForTheIdsOnly)
{
    FakeStatsKernel k;
    k.processes[42] = full_record(42, "bash");
    const taskmon::Stats s = fake_monitor().stats(42, Fields{});
    // Never 0, which would be every group.
    EXPECT_EQ(k.single_requests.back().mask, TM_STATS_IDS);
    EXPECT_EQ(s.tgid, 42);
    EXPECT_EQ(s.comm, "bash"); // free
    EXPECT_FALSE(s.user || s.rss_anon_bytes);
}

TEST(StatsFields, TheTargetAndThreadScopeTakeFieldsToo)
{
    FakeStatsKernel k;
    k.processes[42] = full_record(42, "bash");
    k.target = 42;
    const taskmon::Stats s = fake_monitor().stats(Field::cpu, taskmon::Scope::thread);
    ASSERT_EQ(k.single_requests.size(), 1U);
    EXPECT_EQ(k.single_requests[0].pid, 0);
    EXPECT_EQ(k.single_requests[0].mask, TM_STATS_CPU);
    EXPECT_EQ(k.single_requests[0].flags, TM_STATS_THREAD);
    EXPECT_EQ(s.pid, 42);
    EXPECT_TRUE(s.user.has_value());
    EXPECT_FALSE(s.rss_anon_bytes.has_value());
}

TEST(StatsFields, EveryRecordOfABatchCarriesTheMaskInEveryChunk)
{
    FakeStatsKernel k;
    std::vector<pid_t> pids;
    for (pid_t pid = 1; pid <= TM_STATS_BATCH_MAX + 10; ++pid) {
        pids.push_back(pid);
        k.processes[pid] = full_record(pid, "p");
    }
    const auto results = fake_monitor().stats(pids, Field::comm | Field::creds);
    ASSERT_EQ(k.batches.size(), 2U);
    for (const auto& batch : k.batches) {
        for (const auto& rec : batch) {
            ASSERT_EQ(rec.mask, TM_STATS_COMM | TM_STATS_CREDS);
        }
    }
    ASSERT_EQ(results.size(), pids.size());
    for (const auto& r : results) {
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(r.stats.comm, "p");
        ASSERT_TRUE(r.stats.uid.has_value());
        ASSERT_FALSE(r.stats.user.has_value());
        ASSERT_FALSE(r.stats.rss_anon_bytes.has_value());
    }
    // The pointer form, in thread scope.
    static_cast<void>(fake_monitor().stats(pids.data(), 3, Field::rss | Field::start_time,
                                           taskmon::Scope::thread));
    ASSERT_EQ(k.batches.size(), 3U);
    EXPECT_EQ(k.batches[2][0].mask, TM_STATS_RSS | TM_STATS_START_TIME);
    EXPECT_EQ(k.batch_headers[2].flags, TM_STATS_THREAD);
}

TEST(StatsHost, PrintsTheKnownFields)
{
    taskmon::Stats s;
    s.pid = 42;
    s.comm = "bash";
    s.user = std::chrono::milliseconds(1500);
    s.rss_anon_bytes = 4096;
    std::ostringstream out;
    out << s;
    EXPECT_EQ(out.str(), "pid 42 comm bash user 1.500000000 s rss_anon_bytes 4096");
}

} // namespace
