// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of the output a terminal and a script can trust: names a
// process chose (escape sequences, invalid UTF-8, newlines) printed as '?'
// in text and as valid UTF-8 JSON with the raw bytes recoverable; --raw
// tables; watch --json's wall-clock time.  `stats` runs end to end against
// the fake module of tests/libtaskmon/fake_stats_kernel.hpp.
#include "exit_codes.hpp"
#include "fake_stats_kernel.hpp"
#include "format.hpp"
#include "hidden.hpp"
#include "options.hpp"
#include "run_capture.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace {

using namespace std::chrono_literals;
using namespace taskmon::cli;
using namespace taskmon::cli::test;
using taskmon::fake::FakeStatsKernel;
using ::testing::HasSubstr;
using ::testing::Not;

// Red, an invalid UTF-8 byte, a newline: 14 bytes, a comm fits 15.
const std::string hostile = "\x1b[31mx\xff\ny\x9b";

// No byte a terminal acts on: no C0/C1 control, DEL, and valid UTF-8.
bool terminal_safe(const std::string& text)
{
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\n') || u == 0x7f) {
            return false;
        }
    }
    return valid_utf8(text) && text.find("\xc2\x9b") == std::string::npos;
}

TEST(SafeText, ControlsAndInvalidUtf8BecomeQuestionMarks)
{
    EXPECT_EQ(safe_text("bash"), "bash");
    EXPECT_EQ(safe_text(hostile), "?[31mx??y?");
    EXPECT_EQ(safe_text("a\tb\rc\x7f"), "a?b?c?");
    EXPECT_EQ(safe_text("\xc2\x9b"), "?");              // C1 CSI, well-formed UTF-8
    EXPECT_EQ(safe_text("caf\xc3\xa9"), "caf\xc3\xa9"); // printable UTF-8 kept
    EXPECT_EQ(safe_text("\xe2\x80\xae"), "?");          // U+202E RIGHT-TO-LEFT OVERRIDE
    EXPECT_EQ(safe_text("\xc0\xaf"), "??");             // overlong '/'
    EXPECT_EQ(safe_text("\xed\xa0\x80"), "???");        // a surrogate
    EXPECT_EQ(safe_text("\xe2\x82"), "??");             // truncated sequence
    EXPECT_EQ(text_width("caf\xc3\xa9"), 4U);
}

TEST(SafeJson, InvalidUtf8IsReplacedAndTheBytesKeptInHex)
{
    EXPECT_TRUE(valid_utf8("caf\xc3\xa9"));
    EXPECT_FALSE(valid_utf8("\xff"));
    EXPECT_EQ(utf8("a\xff"
                   "b"),
              "a\xef\xbf\xbd"
              "b");
    EXPECT_EQ(hex_bytes("a\xff\n"), "61ff0a");
    EXPECT_EQ(json_string("a\xff"), "\"a\xef\xbf\xbd\"");
    EXPECT_EQ(json_bytes_member("comm", "bash"), "\"comm\": \"bash\"");
    EXPECT_EQ(json_bytes_member("comm", "\x1b\n"), "\"comm\": \"\\u001b\\n\"");
    EXPECT_EQ(json_bytes_member("comm", "x\xff"),
              "\"comm\": \"x\xef\xbf\xbd\", \"comm_hex\": \"78ff\"");
}

TEST(SafeJson, Rfc3339)
{
    EXPECT_EQ(rfc3339(0ns), "1970-01-01T00:00:00.000000000Z");
    EXPECT_EQ(rfc3339(1'796'621'445'123'456'789ns), "2026-12-07T05:30:45.123456789Z");
}

taskmon::Stats hostile_stats()
{
    taskmon::Stats s;
    s.pid = 42;
    s.comm = hostile;
    s.state = 'S';
    s.user = 1500ms;
    s.system = 250ms;
    s.rss_anon_bytes = 4096;
    s.rss_file_bytes = 8192;
    s.rss_shmem_bytes = 0;
    s.vsize_bytes = 1048576;
    return s;
}

TEST(SafeStats, TextPrintsTheNameSafelyOnOneLine)
{
    const std::string line = format_stats(hostile_stats(), false);
    EXPECT_THAT(line, HasSubstr("?[31mx??y?\n"));
    EXPECT_TRUE(terminal_safe(line)) << line;
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(SafeStats, JsonIsValidUtf8WithTheRawBytes)
{
    const std::string json = format_stats(hostile_stats(), true);
    EXPECT_TRUE(valid_utf8(json));
    EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 1);
    EXPECT_THAT(json, HasSubstr("\"comm\": \"\\u001b[31mx\xef\xbf\xbd\\ny\xef\xbf\xbd\", "
                                "\"comm_hex\": \"1b5b33316d78ff0a799b\""));
}

TEST(SafeStats, RawHasPlainNumbers)
{
    const std::string line = format_stats(hostile_stats(), false, true);
    EXPECT_THAT(line, HasSubstr(" 1.500000000 "));
    EXPECT_THAT(line, HasSubstr(" 12288 "));
    EXPECT_THAT(line, HasSubstr(" 1048576 "));
    EXPECT_THAT(line, Not(HasSubstr(" s ")));
    EXPECT_THAT(line, Not(HasSubstr("KiB")));
}

TEST(SafeStats, EndToEndAgainstTheFakeModule)
{
    FakeStatsKernel k;
    taskmon_stats rec = taskmon::fake::full_record(77, "x");
    std::memset(rec.comm, 0, sizeof rec.comm);
    std::memcpy(rec.comm, hostile.data(), hostile.size());
    k.processes[77] = rec;
    Result r = run({"--device", "/dev/zero", "stats", "77"});
    EXPECT_EQ(r.status, exit_ok) << r.err;
    EXPECT_TRUE(terminal_safe(r.out)) << r.out;
    EXPECT_THAT(r.out, HasSubstr("?[31mx??y?"));
    r = run({"--json", "--device", "/dev/zero", "stats", "77"});
    EXPECT_TRUE(valid_utf8(r.out));
    EXPECT_THAT(r.out, HasSubstr("\"comm_hex\": \"1b5b33316d78ff0a799b\""));
    r = run({"--raw", "--device", "/dev/zero", "stats", "77"});
    EXPECT_THAT(r.out, HasSubstr(" 1.500000000 ")) << r.out;
}

TEST(SafeHidden, TextAndJson)
{
    taskmon::HiddenProcess p;
    p.pid = 9;
    p.comm = hostile;
    p.start_time = 12'340'000'000ns;
    p.reasons = static_cast<std::uint32_t>(taskmon::HiddenReason::getdents);
    p.detail = "path \x1b]0;x\x07";
    const std::string text = format_hidden(p, false);
    EXPECT_TRUE(terminal_safe(text)) << text;
    EXPECT_THAT(text, HasSubstr("comm ?[31mx??y? "));
    EXPECT_THAT(format_hidden(p, false, nullptr, {}, true), HasSubstr("start 12.340000000:"));
    const std::string json = format_hidden(p, true);
    EXPECT_TRUE(valid_utf8(json));
    EXPECT_THAT(json, HasSubstr("\"comm_hex\": \"1b5b33316d78ff0a799b\""));
}

TEST(RawOption, IsGlobal)
{
    EXPECT_TRUE(parse_args({"--raw", "stats", "1"}).raw);
    EXPECT_TRUE(parse_args({"watch", "-r"}).raw);
    EXPECT_TRUE(parse_args({"ps", "--raw"}).raw);
    EXPECT_FALSE(parse_args({"ps"}).raw);
}

TEST(RawWatch, RowsWithoutUnits)
{
    WatchRow row;
    row.elapsed = 1s;
    row.pid = 5;
    row.sample = taskmon::Sample{2500ms, 500ms};
    row.cpu = 12.5;
    const std::string text = format_watch_row(row, false, false, true);
    EXPECT_THAT(text, HasSubstr("1.000000000"));
    EXPECT_THAT(text, HasSubstr("12.50"));
    EXPECT_THAT(text, Not(HasSubstr("%")));
    EXPECT_THAT(text, Not(HasSubstr(" s")));
    EXPECT_EQ(format_get(5, taskmon::Sample{2500ms, 500ms}, false, true),
              "pid     5\nuser    2.500000000\nsystem  0.500000000\ntotal   3.000000000\n");
}

TEST(WatchJson, CarriesTheWallClockTime)
{
    WatchRow row;
    row.pid = 5;
    row.wall_time = 1'796'621'445'123'456'789ns;
    const std::string json = format_watch_row(row, true);
    EXPECT_THAT(json, HasSubstr("\"elapsed_s\": 0.000000000")); // the old keys stay
    EXPECT_THAT(json, HasSubstr("\"time\": \"2026-12-07T05:30:45.123456789Z\", "
                                "\"time_unix_ns\": 1796621445123456789}"));
    EXPECT_THAT(format_watch_exit(1s, 5, {}, false, true, false, row.wall_time),
                HasSubstr("\"time_unix_ns\": 1796621445123456789}"));
}

} // namespace
