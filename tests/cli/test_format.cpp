// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of the taskmon command's output formatting.
#include "format.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::chrono_literals;
using taskmon::Sample;
using namespace taskmon::cli;

TEST(FormatSeconds, MillisecondsWithUnitTruncated)
{
    EXPECT_EQ(format_seconds(36'181'999'999ns), "36.181 s");
    EXPECT_EQ(format_seconds(0ns), "0.000 s");
    EXPECT_EQ(format_seconds(1ms), "0.001 s");
    EXPECT_EQ(format_seconds(999'999ns), "0.000 s");
    EXPECT_EQ(format_seconds(3600s), "3600.000 s");
    EXPECT_EQ(format_seconds(-1500ms), "-1.500 s");
    EXPECT_EQ(format_seconds(-1ms), "-0.001 s");
}

TEST(FormatSeconds, Decimals)
{
    EXPECT_EQ(format_seconds(1'234'567'891ns, 0), "1 s");
    EXPECT_EQ(format_seconds(1'234'567'891ns, 1), "1.2 s");
    EXPECT_EQ(format_seconds(1'234'567'891ns, 9), "1.234567891 s");
    EXPECT_EQ(format_seconds(1'234'567'891ns, 12), "1.234567891 s"); // clamped
    EXPECT_EQ(format_seconds(1'234'567'891ns, -3), "1 s");           // clamped
}

TEST(Json, SecondsAndStrings)
{
    EXPECT_EQ(json_seconds(36'181'000'001ns), "36.181000001");
    EXPECT_EQ(json_seconds(0ns), "0.000000000");
    EXPECT_EQ(json_string("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
    EXPECT_EQ(json_string(""), "\"\"");
}

TEST(FormatGet, TextIsAlignedWithUnits)
{
    EXPECT_EQ(format_get(1234, Sample{36'181'000'000ns, 512'000'000ns}, false),
              "pid     1234\n"
              "user    36.181 s\n"
              "system  0.512 s\n"
              "total   36.693 s\n");
}

TEST(FormatGet, JsonIsOneObjectWithExactValues)
{
    EXPECT_EQ(format_get(1234, Sample{36'181'000'000ns, 512'000'001ns}, true),
              "{\"pid\": 1234, \"user_ns\": 36181000000, \"system_ns\": 512000001, "
              "\"total_ns\": 36693000001, \"user_s\": 36.181000000, \"system_s\": 0.512000001, "
              "\"total_s\": 36.693000001}\n");
}

TEST(FormatPidAndThread, TextAndJson)
{
    EXPECT_EQ(format_pid(42, false), "42\n");
    EXPECT_EQ(format_pid(42, true), "{\"pid\": 42}\n");
    EXPECT_EQ(format_set_pid(42, false), "now monitoring pid 42\n");
    EXPECT_EQ(format_set_pid(42, true), "{\"pid\": 42}\n");
    EXPECT_EQ(format_thread(true, false), "monitoring thread started\n");
    EXPECT_EQ(format_thread(false, false), "monitoring thread stopped\n");
    EXPECT_EQ(format_thread(true, true), "{\"thread\": \"started\"}\n");
    EXPECT_EQ(format_thread(false, true), "{\"thread\": \"stopped\"}\n");
}

TEST(WatchRow, PercentagesFromConsecutiveSamples)
{
    const Sample before{10s, 1s};
    const Sample after{10s + 900ms, 1s + 50ms};
    const WatchRow row = make_watch_row(2s, 7, after, 7, before, 1s);
    EXPECT_EQ(row.elapsed, 2s);
    EXPECT_EQ(row.pid, 7);
    EXPECT_EQ(row.sample, after);
    ASSERT_TRUE(row.cpu && row.user_cpu && row.system_cpu);
    EXPECT_NEAR(*row.user_cpu, 90.0, 1e-9);
    EXPECT_NEAR(*row.system_cpu, 5.0, 1e-9);
    EXPECT_NEAR(*row.cpu, 95.0, 1e-9);
}

TEST(WatchRow, NoPercentagesAcrossATargetChangeOrBackwardsTime)
{
    const Sample before{10s, 1s};
    const Sample after{11s, 1s};
    EXPECT_FALSE(make_watch_row(1s, 8, after, 7, before, 1s).cpu) << "pid changed";
    EXPECT_FALSE(make_watch_row(1s, 7, before, 7, after, 1s).cpu) << "time went backwards";
    EXPECT_FALSE(make_watch_row(1s, 7, after, 7, before, 0ns).cpu) << "no wall time";
}

TEST(WatchFormat, TextTable)
{
    EXPECT_EQ(format_watch_header(7, 500ms, false),
              "pid 7, a sample every 0.500 s\n"
              "     elapsed            user          system       cpu      user    system\n");
    WatchRow row = make_watch_row(1s, 7, Sample{36'181ms, 512ms}, 7, Sample{35'181ms, 502ms}, 1s);
    EXPECT_EQ(format_watch_row(row, false),
              "     1.000 s        36.181 s         0.512 s   101.0 %   100.0 %     1.0 %\n");
    row.cpu.reset();
    row.user_cpu.reset();
    row.system_cpu.reset();
    EXPECT_THAT(format_watch_row(row, false), ::testing::EndsWith("- %       - %       - %\n"));
    EXPECT_EQ(format_watch_header(7, 1s, true), "");
}

TEST(WatchFormat, JsonLine)
{
    const WatchRow row =
        make_watch_row(1s, 7, Sample{36'181ms, 512ms}, 7, Sample{35'681ms, 512ms}, 1s);
    EXPECT_EQ(format_watch_row(row, true),
              "{\"elapsed_s\": 1.000000000, \"pid\": 7, \"user_ns\": 36181000000, "
              "\"system_ns\": 512000000, \"user_s\": 36.181000000, \"system_s\": 0.512000000, "
              "\"cpu_percent\": 50.00, \"user_percent\": 50.00, \"system_percent\": 0.00}\n");
    const WatchRow none = make_watch_row(1s, 8, Sample{}, 7, Sample{}, 1s);
    EXPECT_THAT(format_watch_row(none, true), ::testing::HasSubstr("\"cpu_percent\": null"));
}

TEST(WatchFormat, SeveralPidsHaveAPidColumn)
{
    EXPECT_EQ(
        format_watch_pids_header({7, 42}, 100ms, false),
        "pids 7 42, a sample every 0.100 s\n"
        "     elapsed      pid            user          system       cpu      user    system\n");
    EXPECT_EQ(format_watch_pids_header({7}, 1s, false).rfind("pid 7, a sample every 1.000 s\n", 0),
              0U);
    const WatchRow row =
        make_watch_row(1s, 42, Sample{36'181ms, 512ms}, 42, Sample{35'181ms, 502ms}, 1s);
    EXPECT_EQ(
        format_watch_row(row, false, true),
        "     1.000 s       42        36.181 s         0.512 s   101.0 %   100.0 %     1.0 %\n");
    EXPECT_EQ(format_watch_row(row, true, true), format_watch_row(row, true));
    EXPECT_EQ(format_watch_pids_header({7}, 1s, true), "");
}

TEST(WatchFormat, ExitAndLostLines)
{
    EXPECT_EQ(format_watch_exit(2100ms, 4242, Sample{1830ms, 20ms}, false, false),
              "2.100 s  pid 4242 exited: user 1.830 s, system 0.020 s\n");
    EXPECT_THAT(format_watch_exit(2100ms, 4242, Sample{1830ms, 20ms}, true, false),
                ::testing::HasSubstr("(reaped before its exit was seen"));
    EXPECT_EQ(format_watch_exit(2100ms, 4242, Sample{1830ms, 20ms}, true, true),
              "{\"elapsed_s\": 2.100000000, \"pid\": 4242, \"exited\": true, \"reaped\": true, "
              "\"user_ns\": 1830000000, \"system_ns\": 20000000, \"user_s\": 1.830000000, "
              "\"system_s\": 0.020000000}\n");
    EXPECT_EQ(format_watch_lost(3s, 5, false),
              "3.000 s  5 samples lost: the output did not keep up\n");
    EXPECT_EQ(format_watch_lost(3s, 5, true), "{\"elapsed_s\": 3.000000000, \"lost\": 5}\n");
}

} // namespace
