// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon ps` end to end, against the module: every process of the kernel
// listed, a process whose name is hostile (an escape sequence, invalid
// UTF-8, a newline) printed safely and recoverably, the selections, columns,
// sorting, --no-headers, --raw and --json, and a process hidden from /proc
// (a readdir filter preloaded into taskmon; the pidhider module) listed and
// marked.
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace taskmon::vmtest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Red, invalid UTF-8 (0xff), a newline, a C1 CSI byte alone: 14 bytes.
const std::string hostile = "\x1b[31mx\xff\ny\x9b";
const std::string hostile_safe = "?[31mx??y?";
const std::string hostile_hex = "1b5b33316d78ff0a799b";

// A child that names itself @p comm (PR_SET_NAME) and sleeps until killed.
class NamedChild {
public:
    explicit NamedChild(const std::string& comm)
    {
        int ready[2];
        if (::pipe(ready) != 0) {
            throw std::system_error(errno, std::generic_category(), "pipe");
        }
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::prctl(PR_SET_NAME, comm.c_str());
            ::close(ready[0]);
            const char byte = 1;
            static_cast<void>(::write(ready[1], &byte, 1));
            for (;;) {
                ::pause();
            }
        }
        ::close(ready[1]);
        char byte = 0;
        static_cast<void>(::read(ready[0], &byte, 1));
        ::close(ready[0]);
    }
    NamedChild(const NamedChild&) = delete;
    NamedChild& operator=(const NamedChild&) = delete;
    NamedChild(NamedChild&&) = delete;
    NamedChild& operator=(NamedChild&&) = delete;
    ~NamedChild()
    {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    [[nodiscard]] pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

std::string describe(const RunResult& r)
{
    return "status " + std::to_string(r.status) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

// The line of @p pid in a table whose first column is the pid; empty if none.
std::string line_of(const std::string& out, pid_t pid)
{
    const std::regex first("^ *" + std::to_string(pid) + "( |$).*");
    for (const auto& l : lines(out)) {
        if (std::regex_match(l, first)) {
            return l;
        }
    }
    return {};
}

bool terminal_safe(const std::string& text)
{
    return std::none_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && u != '\n') || u == 0x7f || u >= 0x80;
    });
}

class CliPs : public CliTest {
protected:
    // taskmon ps needs TM_LIST and TM_STATS_BATCH: the real module (the
    // emulated one of vm.emulated has neither).
    void SetUp() override
    {
        CliTest::SetUp();
        if (IsSkipped() || HasFailure()) {
            return;
        }
        require_request("TM_LIST",
                        [] { static_cast<void>(list_processes(Monitor(monitor_device()))); });
        if (IsSkipped() || HasFailure()) {
            return;
        }
        require_request("TM_STATS", [] {
            static_cast<void>(Monitor(monitor_device()).stats(std::vector<pid_t>{::getpid()}));
        });
    }

    [[nodiscard]] RunResult ps(std::vector<std::string> args,
                               std::vector<std::string> env = {}) const
    {
        std::vector<std::string> argv = std::move(env);
        argv.insert(argv.end(), {cli(), "--device", monitor_device(), "ps"});
        argv.insert(argv.end(), args.begin(), args.end());
        return run_program("/usr/bin/env", argv, std::chrono::seconds(120));
    }
};

TEST_F(CliPs, ListsEveryProcessOfTheKernelWithAHeader)
{
    const BusyChild child(Load::sleep);
    const RunResult r = ps({});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.err, "");
    const auto l = lines(r.out);
    ASSERT_GE(l.size(), 3U);
    EXPECT_THAT(
        l[0], ::testing::MatchesRegex(" *PID +PPID USER +S NLWP +RSS +VSZ +TIME HIDDEN +COMMAND"));
    EXPECT_THAT(line_of(r.out, 1), HasSubstr(" root "));
    EXPECT_THAT(line_of(r.out, child.pid()), ::testing::EndsWith(" sleep"));
    EXPECT_THAT(line_of(r.out, child.pid()), ::testing::ContainsRegex(" - +sleep$"));
    // As many processes as the kernel's list holds (give or take churn).
    const auto listed = list_processes(Monitor(monitor_device(), Access::read)).size();
    EXPECT_NEAR(static_cast<double>(l.size() - 1), static_cast<double>(listed), 5.0);
}

TEST_F(CliPs, HostileNameIsSafeInTextAndRecoverableInJson)
{
    const NamedChild child(hostile);
    const std::string pid = std::to_string(child.pid());
    const RunResult r = ps({"-p", pid});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(terminal_safe(r.out)) << r.out;
    ASSERT_EQ(lines(r.out).size(), 2U) << r.out; // the newline forged no line
    EXPECT_THAT(lines(r.out)[1], ::testing::EndsWith(" " + hostile_safe));

    const RunResult j = ps({"--json", "-p", pid, "-o", "pid,comm"});
    ASSERT_EQ(j.status, 0) << describe(j);
    EXPECT_EQ(j.out, "{\"pid\": " + pid +
                         ", \"comm\": \"\\u001b[31mx\xef\xbf\xbd\\ny\xef\xbf\xbd\", "
                         "\"comm_hex\": \"" +
                         hostile_hex + "\"}\n");

    // -C matches the raw bytes, and stats prints the name as safely.
    const RunResult c = ps({"-C", hostile, "-o", "pid", "--no-headers"});
    EXPECT_EQ(c.out, pid + "\n") << describe(c);
    const RunResult s = taskmon({"stats", pid});
    EXPECT_TRUE(terminal_safe(s.out)) << s.out;
    EXPECT_THAT(s.out, HasSubstr(hostile_safe + "\n"));
    const RunResult sj = taskmon({"--json", "stats", pid});
    EXPECT_THAT(sj.out, HasSubstr("\"comm_hex\": \"" + hostile_hex + "\""));
}

TEST_F(CliPs, SelectionsAreAUnion)
{
    const BusyChild a(Load::sleep);
    const NamedChild b("tm-ps-test");
    const RunResult r = ps({"-p", std::to_string(a.pid()), "-C", "tm-ps-test", "-o", "pid,comm",
                            "--no-headers", "--sort", "pid"});
    ASSERT_EQ(r.status, 0) << describe(r);
    const auto l = lines(r.out);
    ASSERT_EQ(l.size(), 2U) << r.out;
    EXPECT_THAT(r.out, HasSubstr(std::to_string(a.pid()) + " sleep"));
    EXPECT_THAT(r.out, HasSubstr(std::to_string(b.pid()) + " tm-ps-test"));

    const RunResult u = ps({"-u", "root", "-o", "user", "--no-headers"});
    ASSERT_EQ(u.status, 0) << describe(u);
    for (const auto& l2 : lines(u.out)) {
        EXPECT_EQ(l2, "root");
    }
    EXPECT_EQ(ps({"-u", "0", "-o", "user", "--no-headers"}).out, u.out);

    const RunResult none = ps({"-C", "no-such-comm"});
    EXPECT_EQ(none.status, 1) << describe(none);
    EXPECT_EQ(lines(none.out).size(), 1U); // the header alone
    const RunResult bad = ps({"-u", "no-such-user-xyz"});
    EXPECT_EQ(bad.status, 2) << describe(bad);
    EXPECT_THAT(bad.err, HasSubstr("user 'no-such-user-xyz' does not exist"));
}

namespace {

// VmRSS of /proc/PID/status in bytes, or -1.
double proc_rss(pid_t pid)
{
    const auto status = read_file("/proc/" + std::to_string(pid) + "/status");
    std::smatch m;
    if (!status || !std::regex_search(*status, m, std::regex("VmRSS:\\s+([0-9]+) kB"))) {
        return -1;
    }
    return std::stod(m[1]) * 1024;
}

// Wait (up to 5 s) until @p pid's resident memory stops changing: a child
// just started is still mapping its program and libraries.
void wait_rss_settled(pid_t pid)
{
    double last = proc_rss(pid);
    for (int i = 0; i < 25; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        const double now = proc_rss(pid);
        if (now == last && now > 0) {
            return;
        }
        last = now;
    }
}

} // namespace

TEST_F(CliPs, ColumnsRawAndSort)
{
    const BusyChild child(Load::sleep);
    wait_rss_settled(child.pid());
    const RunResult r = ps({"--raw", "--no-headers", "-o",
                            "pid,ppid,uid,nlwp,rss,vsz,time,etimes,"
                            "minflt,majflt,%cpu,%mem,comm",
                            "--sort=-rss"});
    ASSERT_EQ(r.status, 0) << describe(r);
    const auto l = lines(r.out);
    ASSERT_GE(l.size(), 2U);
    long previous = -1;
    for (const auto& line : l) {
        std::istringstream in(line);
        std::string pid, ppid, uid, nlwp, rss, vsz, time, etimes, minflt, majflt, cpu, mem;
        in >> pid >> ppid >> uid >> nlwp >> rss >> vsz >> time >> etimes >> minflt >> majflt >>
            cpu >> mem;
        if (rss == "-") {
            continue; // a kernel thread: no memory, sorted first
        }
        EXPECT_THAT(rss, ::testing::MatchesRegex("[0-9]+")) << line;
        EXPECT_THAT(vsz, ::testing::MatchesRegex("[0-9]+")) << line;
        EXPECT_THAT(time, ::testing::MatchesRegex("[0-9]+\\.[0-9]{9}")) << line;
        const long value = std::stol(rss);
        if (previous >= 0) {
            EXPECT_LE(value, previous) << "--sort=-rss: descending\n" << r.out;
        }
        previous = value;
    }
    const std::string mine = line_of(r.out, child.pid());
    EXPECT_THAT(mine, ::testing::MatchesRegex(" *[0-9]+ +[0-9]+ +0 +1 +[0-9]+ +[0-9]+ +[0-9.]+ +"
                                              "[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ sleep"))
        << mine;

    // The rss of the child, in bytes: /proc's VmRSS in KiB, times 1024.
    const double proc = proc_rss(child.pid());
    ASSERT_GT(proc, 0);
    std::istringstream in(mine);
    std::string pid, ppid, uid, nlwp, rss;
    in >> pid >> ppid >> uid >> nlwp >> rss;
    EXPECT_NEAR(std::stod(rss), proc, 64 * 1024) << mine;
}

TEST_F(CliPs, JsonIsOneObjectPerProcess)
{
    const BusyChild child(Load::sleep);
    const RunResult r = ps({"--json"});
    ASSERT_EQ(r.status, 0) << describe(r);
    const std::regex object(
        R"re(\{"pid": ([0-9]+), "ppid": [0-9]+, "user": "[^"]*", "s": "."(?:, "s_hex": "[0-9a-f]+")?, "nlwp": [0-9]+, "rss": (?:[0-9]+|null), "vsz": (?:[0-9]+|null), "time": [0-9]+\.[0-9]{9}, "hidden": \[[^\]]*\], "comm": "(?:[^"\\]|\\.)*"(?:, "comm_hex": "[0-9a-f]*")?\})re");
    bool found = false;
    for (const auto& l : lines(r.out)) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(l, m, object)) << l;
        found = found || m[1] == std::to_string(child.pid());
    }
    EXPECT_TRUE(found) << r.out;
}

TEST_F(CliPs, ReaddirHiddenProcessIsListedAndMarked)
{
    const BusyChild victim(Load::sleep);
    const RunResult r =
        ps({"-o", "pid,hidden,comm"}, {"LD_PRELOAD=" TASKMON_READDIR_FILTER,
                                       "TASKMON_TEST_HIDE_PIDS=" + std::to_string(victim.pid())});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_THAT(line_of(r.out, victim.pid()), ::testing::MatchesRegex(" *[0-9]+ readdir +sleep"))
        << r.out;
    EXPECT_THAT(line_of(r.out, 1), Not(HasSubstr("readdir")));
    const RunResult j = ps({"--json", "-p", std::to_string(victim.pid()), "-o", "pid,hidden"},
                           {"LD_PRELOAD=" TASKMON_READDIR_FILTER,
                            "TASKMON_TEST_HIDE_PIDS=" + std::to_string(victim.pid())});
    EXPECT_EQ(j.out,
              "{\"pid\": " + std::to_string(victim.pid()) + ", \"hidden\": [\"readdir\"]}\n");
}

TEST_F(CliPs, GetdentsHiddenProcessIsListedAndMarked)
{
    const std::string ko = pidhider_ko();
    TASKMON_REQUIRE_TOOL(!ko.empty(),
                         "TASKMON_PIDHIDER_KO is not set (tests/hidden/build-pidhider)");
    const BusyChild victim(Load::sleep);
    const std::string load = "insmod " + ko + " pid=" + std::to_string(victim.pid());
    ASSERT_EQ(std::system(load.c_str()), 0); // NOLINT(concurrency-mt-unsafe): one at a time
    const RunResult r = ps({"-o", "pid,hidden,comm"});
    ASSERT_EQ(std::system("rmmod pidhider"), 0); // NOLINT(concurrency-mt-unsafe)
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_THAT(line_of(r.out, victim.pid()), ::testing::MatchesRegex(" *[0-9]+ getdents64 +sleep"))
        << r.out;
}

// Not ps, but issue 21's too: watch --json lines carry the sample's
// wall-clock time, and --raw rows have no units.
TEST_F(CliPs, WatchJsonLinesCarryTheWallClockTime)
{
    const BusyChild child(Load::sleep);
    const auto now_ns = []() {
        timespec ts{};
        ::clock_gettime(CLOCK_REALTIME, &ts);
        return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
    };
    const long long before = now_ns();
    const RunResult r = taskmon(
        {"--json", "watch", std::to_string(child.pid()), "--interval", "0.1", "--count", "2"});
    const long long after = now_ns();
    ASSERT_EQ(r.status, 0) << describe(r);
    const auto l = lines(r.out);
    ASSERT_EQ(l.size(), 2U) << r.out;
    static const std::regex time(
        R"re(, "time": "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z", "time_unix_ns": ([0-9]+)\}$)re");
    long long previous = 0;
    for (const auto& line : l) {
        EXPECT_THAT(line, HasSubstr("\"elapsed_s\": ")); // the old keys stay
        std::smatch m;
        ASSERT_TRUE(std::regex_search(line, m, time)) << line;
        const long long t = std::stoll(m[1]);
        EXPECT_GE(t, before - 1'000'000'000LL) << line;
        EXPECT_LE(t, after + 1'000'000'000LL) << line;
        EXPECT_GT(t, previous) << line;
        previous = t;
    }
    const RunResult raw =
        taskmon({"--raw", "watch", std::to_string(child.pid()), "-i", "0.1", "-n", "1"});
    ASSERT_EQ(raw.status, 0) << describe(raw);
    ASSERT_EQ(lines(raw.out).size(), 3U) << raw.out;
    EXPECT_THAT(lines(raw.out)[2],
                ::testing::MatchesRegex(" *[0-9]+\\.[0-9]{9} +[0-9]+ +[0-9]+\\.[0-9]{9} +"
                                        "[0-9]+\\.[0-9]{9} +[0-9.]+ +[0-9.]+ +[0-9.]+"))
        << raw.out;
}

} // namespace
} // namespace taskmon::vmtest
