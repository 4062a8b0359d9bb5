// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of taskmon::Sample and taskmon::version().
#include "../project_version.hpp"

#include <taskmon/taskmon.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace {

using namespace std::chrono_literals;

static_assert(std::is_trivially_copyable_v<taskmon::Sample>);
static_assert(taskmon::Sample{1ns, 2ns}.total() == 3ns);

TEST(Sample, DefaultIsZero)
{
    const taskmon::Sample s;
    EXPECT_EQ(s.user, 0ns);
    EXPECT_EQ(s.system, 0ns);
    EXPECT_EQ(s.total(), 0ns);
}

TEST(Sample, TotalEqualityAndDifference)
{
    const taskmon::Sample a{36'181'000'000ns, 512'000'000ns};
    const taskmon::Sample b{36'181'000'000ns, 512'000'000ns};
    const taskmon::Sample c{36'181'000'001ns, 512'000'000ns};
    EXPECT_EQ(a.total(), 36'693'000'000ns);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_FALSE(a != b);
    const taskmon::Sample d = c - a;
    EXPECT_EQ(d.user, 1ns);
    EXPECT_EQ(d.system, 0ns);
}

TEST(Sample, AddsFieldByField)
{
    constexpr taskmon::Sample a{3ns, 5ns};
    constexpr taskmon::Sample b{10ns, 20ns};
    static_assert(a + b == taskmon::Sample{13ns, 25ns});
    static_assert((a + b) - b == a);
    taskmon::Sample sum;
    sum += a;
    sum += b;
    EXPECT_EQ(sum, (taskmon::Sample{13ns, 25ns}));
    sum -= a;
    EXPECT_EQ(sum, b);
}

TEST(Sample, CpuPercentIsTheShareOfOneCpu)
{
    const taskmon::Sample earlier{1s, 1s};
    // 0.75 s in user mode and 0.25 s in kernel mode over 2 s: 50 %.
    const taskmon::Sample later{1750ms, 1250ms};
    EXPECT_DOUBLE_EQ(taskmon::cpu_percent(earlier, later, 2s), 50.0);
    // Busy on two CPUs for 1 s: 200 %, as top shows it.
    EXPECT_DOUBLE_EQ(taskmon::cpu_percent(earlier, earlier + taskmon::Sample{2s, 0ns}, 1s), 200.0);
    static_assert(taskmon::cpu_percent(taskmon::Sample{}, taskmon::Sample{1ms, 0ns}, 1s) == 0.1);
    // No wall time: nothing to divide by.
    EXPECT_EQ(taskmon::cpu_percent(earlier, later, 0ns), 0.0);
    EXPECT_EQ(taskmon::cpu_percent(earlier, later, -1s), 0.0);
    // Samples swapped (or a new target): negative, for the caller to see.
    // NOLINTNEXTLINE(readability-suspicious-call-argument): swapped on purpose
    EXPECT_LT(taskmon::cpu_percent(later, earlier, 1s), 0.0);
}

TEST(Sample, StreamsExactSeconds)
{
    std::ostringstream out;
    out << taskmon::Sample{36'181'000'000ns, 512'000'001ns};
    EXPECT_EQ(out.str(), "user 36.181000000 s, system 0.512000001 s");

    std::ostringstream neg;
    neg << taskmon::Sample{-1ns, -1'500'000'000ns};
    EXPECT_EQ(neg.str(), "user -0.000000001 s, system -1.500000000 s");
}

TEST(Sample, StreamingLeavesTheFillCharacterAlone)
{
    std::ostringstream out;
    out.fill('*');
    out << taskmon::Sample{1ns, 2ns};
    EXPECT_EQ(out.fill(), '*');
}

TEST(Version, RuntimeAndHeadersAreTheProjectVersion)
{
    const std::string expected = project_version();
    EXPECT_EQ(taskmon::version(), expected);
    EXPECT_EQ(TASKMON_VERSION_STRING, expected);
    EXPECT_EQ(std::to_string(TASKMON_VERSION_MAJOR) + "." + std::to_string(TASKMON_VERSION_MINOR) +
                  "." + std::to_string(TASKMON_VERSION_PATCH),
              expected);
}

} // namespace
