// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of taskmon::Stream without the kernel module: the checks
// libtaskmon makes before asking the kernel (InvalidArgument), the errors of
// a missing device and of one without TM_SUBSCRIBE (/dev/zero answers every
// ioctl with ENOTTY, as a module older than streams would), a closed
// Monitor, and StreamRecord itself.  The VM suite (vm/test_stream.cpp) reads
// real streams.
#include <taskmon/taskmon.hpp>

// The uapi header in place (the test targets have no include path to it),
// and the fake taskmonitor that answers TM_SUBSCRIBE for the record-size tests.
#include "fake_stats_kernel.hpp"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

static_assert(!std::is_copy_constructible_v<taskmon::Stream>);
static_assert(!std::is_copy_assignable_v<taskmon::Stream>);
static_assert(std::is_nothrow_move_constructible_v<taskmon::Stream>);
static_assert(std::is_nothrow_move_assignable_v<taskmon::Stream>);
static_assert(std::is_nothrow_destructible_v<taskmon::Stream>);
static_assert(std::is_base_of_v<taskmon::DeviceHandle, taskmon::Stream>);
static_assert(sizeof(taskmon_record) == 48, "the uapi record this library parses");

// The InvalidArgument a Stream(/dev/zero, ...) throws, checked by libtaskmon.
taskmon::InvalidArgument refused(const std::vector<pid_t>& pids,
                                 std::chrono::nanoseconds period = 1s, std::uint32_t ring = 0)
{
    try {
        const taskmon::Stream stream("/dev/zero", pids, period, ring);
    } catch (const taskmon::InvalidArgument& e) {
        return e;
    }
    ADD_FAILURE() << "no InvalidArgument";
    return {EINVAL, "none"};
}

TEST(StreamHost, NoPidsAreRefusedWithoutAskingTheKernel)
{
    const auto e = refused({});
    EXPECT_EQ(e.errnum(), EINVAL);
    EXPECT_EQ(e.operation(), "stream");
    EXPECT_THAT(e.what(), HasSubstr("no pid to follow"));
    EXPECT_THAT(e.what(), HasSubstr("without asking the kernel"));
    EXPECT_THROW(taskmon::Stream("/dev/zero", nullptr, 1), taskmon::InvalidArgument);
}

TEST(StreamHost, TooManyPidsAreRefused)
{
    const std::vector<pid_t> pids(taskmon::Stream::max_pids + 1, 1);
    EXPECT_THAT(refused(pids).what(), HasSubstr("1025 pids"));
}

TEST(StreamHost, NegativePidsAreRefusedNamingThem)
{
    const auto e = refused({1, -5});
    EXPECT_EQ(e.pid(), -5);
    EXPECT_THAT(e.what(), HasSubstr("not -5"));
}

TEST(StreamHost, PeriodsOutOfBoundsAreRefused)
{
    EXPECT_THAT(refused({1}, 9ms).what(), HasSubstr("from 10 ms to 1 hour"));
    EXPECT_THAT(refused({1}, 3601s).what(), HasSubstr("from 10 ms to 1 hour"));
    EXPECT_THAT(refused({1}, -1s).what(), HasSubstr("from 10 ms to 1 hour"));
}

TEST(StreamHost, RingsOutOfBoundsAreRefused)
{
    EXPECT_THAT(refused({1}, 1s, taskmon::Stream::max_ring + 1).what(),
                HasSubstr("at most 65536 records"));
}

TEST(StreamHost, ADeviceWithoutStreamsIsNotSupported)
{
    try {
        const taskmon::Stream stream("/dev/zero", {::getpid()}, 10ms);
        FAIL() << "/dev/zero subscribed";
    } catch (const taskmon::NotSupported& e) {
        EXPECT_EQ(e.errnum(), ENOTTY);
        EXPECT_EQ(e.operation(), "TM_SUBSCRIBE");
        EXPECT_EQ(e.device(), "/dev/zero");
        EXPECT_THAT(e.what(), HasSubstr("does not understand TM_SUBSCRIBE"));
    }
}

TEST(StreamHost, AMissingDeviceIsDeviceNotFound)
{
    EXPECT_THROW(taskmon::Stream("/nonexistent/taskmonitor", {0}), taskmon::DeviceNotFound);
}

TEST(StreamHost, AStreamOfAMonitorUsesItsPathAndNeedsItOpen)
{
    taskmon::Monitor monitor("/dev/zero");
    EXPECT_THROW(taskmon::Stream(monitor, {::getpid()}), taskmon::NotSupported);
    monitor.close();
    try {
        const taskmon::Stream stream(monitor, {::getpid()});
        FAIL() << "a closed Monitor made a Stream";
    } catch (const taskmon::Error& e) {
        EXPECT_EQ(e.errnum(), EBADF);
        EXPECT_THAT(e.what(), HasSubstr("taskmon::Monitor is closed"));
    }
}

TEST(StreamHost, BoundsMatchTheUapi)
{
    EXPECT_EQ(taskmon::Stream::min_period.count(), TM_STREAM_PERIOD_MIN_NS);
    EXPECT_EQ(taskmon::Stream::max_period.count(), TM_STREAM_PERIOD_MAX_NS);
    EXPECT_EQ(taskmon::Stream::default_period.count(), TM_STREAM_PERIOD_DEFAULT_NS);
    EXPECT_EQ(taskmon::Stream::max_pids, TM_STREAM_PIDS_MAX);
    EXPECT_EQ(taskmon::Stream::max_ring, TM_STREAM_RING_MAX);
}

TEST(StreamHost, RecordFlagsAndPrinting)
{
    taskmon::StreamRecord r;
    r.seq = 7;
    r.timestamp = 5s;
    r.pid = 42;
    r.user = 1500ms;
    r.system = 250ms;
    EXPECT_FALSE(r.exited());
    EXPECT_EQ(r.sample(), (taskmon::Sample{1500ms, 250ms}));
    std::ostringstream plain;
    plain << r;
    EXPECT_EQ(plain.str(), "seq 7 t 5000000000 pid 42 usr 1500000000 sys 250000000");

    r.lost = 3;
    r.flags = taskmon::StreamRecord::exit_flag | taskmon::StreamRecord::reaped_flag;
    EXPECT_TRUE(r.exited());
    EXPECT_TRUE(r.reaped());
    std::ostringstream last;
    last << r;
    EXPECT_THAT(last.str(), HasSubstr(" lost 3 exited reaped"));
    EXPECT_FALSE(r.gap());

    r.flags = taskmon::StreamRecord::gap_flag;
    EXPECT_TRUE(r.gap());
    EXPECT_FALSE(r.exited());
    std::ostringstream gap;
    gap << r;
    EXPECT_THAT(gap.str(), HasSubstr(" lost 3 gap"));
}

// ---- the record size (TM_SUBSCRIBE's record_size, ABI 1.0) --------------------

TEST(StreamHost, SubscribesWithTheRecordSizeItKnowsAndReadsThatSize)
{
    taskmon::fake::FakeStatsKernel k;
    k.subscribe_record_size = TM_RECORD_SIZE_VER0; // the module fills all 48 bytes
    taskmon::Stream stream("/dev/zero", {::getpid()}, 10ms, 8);
    ASSERT_EQ(k.subscribe_requests.size(), 1U);
    EXPECT_EQ(k.subscribe_requests[0].record_size, sizeof(taskmon_record));
    EXPECT_EQ(k.subscribe_requests[0].count, 1U);
    EXPECT_EQ(k.subscribe_requests[0].period_ns, 10'000'000U);
    EXPECT_EQ(k.subscribe_requests[0].ring, 8U);
    // /dev/zero hands out a zeroed record of the size subscribed with.
    const auto record = stream.try_next();
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->seq, 0U);
    EXPECT_FALSE(stream.ended());
}

TEST(StreamHost, ARecordSizeOutsideTheAbiIsAClearError)
{
    for (const long size : {0L, 40L, 52L, 56L, 4096L}) {
        taskmon::fake::FakeStatsKernel k;
        k.subscribe_record_size = size;
        try {
            const taskmon::Stream stream("/dev/zero", {::getpid()});
            ADD_FAILURE() << "record_size " << size << " accepted";
        } catch (const taskmon::Error& e) {
            EXPECT_EQ(e.errnum(), EPROTO) << size;
            EXPECT_EQ(e.operation(), "TM_SUBSCRIBE");
            EXPECT_THAT(e.what(), HasSubstr("fills " + std::to_string(size) + " bytes"));
            EXPECT_THAT(e.what(), HasSubstr("load the module of the same taskmon release"));
        }
    }
}

} // namespace
