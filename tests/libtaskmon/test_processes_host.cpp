// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of find_hidden()'s logic (src/processes_internal.hpp) on a fake
// /proc (a temporary folder of pid folders and stat files) and a fake
// kernel list, and of list_processes() on a device without TM_LIST.  What
// the real kernel, a real /proc and real hiding do is tested in the VM
// (vm/test_hidden.cpp).
#include "processes_internal.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using taskmon::HiddenReason;
using taskmon::ProcessEntry;
using taskmon::detail::HiddenScanHooks;
using taskmon::detail::KernelInfo;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr long tick_ns = 10'000'000; // USER_HZ 100

std::chrono::nanoseconds ticks(long long n)
{
    return std::chrono::nanoseconds(n * tick_ns);
}

std::uint32_t bit(HiddenReason r)
{
    return static_cast<std::uint32_t>(r);
}

// A fake /proc in a temporary folder, and a fake kernel.
class FakeProc : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string tmpl = "/tmp/taskmon-fake-proc-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        root_ = tmpl;
        hooks_.list = [this] { return kernel_; };
        hooks_.info = [this](pid_t pid) -> std::optional<KernelInfo> {
            ++info_calls_;
            const auto it = alive_.find(pid);
            if (it == alive_.end()) {
                return std::nullopt;
            }
            return KernelInfo{it->second, "comm" + std::to_string(pid), 1000};
        };
        hooks_.readdir = [this](const fs::path& dir) {
            auto pids = HiddenScanHooks::list_readdir(dir);
            pids.erase(std::remove_if(pids.begin(), pids.end(),
                                      [this](pid_t p) { return p == readdir_hides_; }),
                       pids.end());
            return pids;
        };
        hooks_.sleep = [this](std::chrono::milliseconds) {
            ++sleeps_;
            if (between_) {
                between_();
            }
        };
        hooks_.clock_ticks = 100;
    }
    void TearDown() override { fs::remove_all(root_); }

    // A process the kernel runs (and, unless told otherwise, /proc shows truthfully).
    void process(pid_t pid, long long start_ticks, bool in_proc = true)
    {
        kernel_.push_back({pid, ticks(start_ticks) + std::chrono::nanoseconds(1234)});
        alive_[pid] = kernel_.back().start_time;
        if (in_proc) {
            write_stat(pid, pid, start_ticks);
        }
    }
    void write_stat(pid_t dir, pid_t pid, long long start_ticks)
    {
        fs::create_directories(root_ / std::to_string(dir));
        std::ofstream(root_ / std::to_string(dir) / "stat")
            << pid << " (a (b) c) S 1 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 " << start_ticks
            << " 1000 100 18446744073709551615\n";
    }
    std::vector<taskmon::HiddenProcess> scan()
    {
        std::sort(kernel_.begin(), kernel_.end(),
                  [](const ProcessEntry& a, const ProcessEntry& b) { return a.pid < b.pid; });
        taskmon::HiddenScanOptions options;
        options.proc = root_;
        return taskmon::detail::find_hidden(hooks_, options);
    }

    fs::path root_;
    HiddenScanHooks hooks_;
    std::vector<ProcessEntry> kernel_;
    std::map<pid_t, std::chrono::nanoseconds> alive_;
    pid_t readdir_hides_ = 0;
    int sleeps_ = 0;
    int info_calls_ = 0;
    std::function<void()> between_;
};

TEST_F(FakeProc, TruthfulProcIsNothingAndNoSettle)
{
    process(1, 5);
    process(42, 700);
    fs::create_directories(root_ / "self"); // not a pid: ignored
    fs::create_directories(root_ / "43");   // a thread's /proc/TID: never asked about
    EXPECT_TRUE(scan().empty());
    EXPECT_EQ(sleeps_, 0) << "no candidate, no settle";
}

TEST_F(FakeProc, EachReasonIsFoundWithItsRecord)
{
    process(1, 5);
    process(10, 100, false); // not in the listing, no folder: getdents64 + open
    process(11, 110);        // its stat names another pid
    write_stat(11, 99, 110);
    process(12, 120); // start time differs
    write_stat(12, 12, 121);
    process(13, 130); // a folder without stat
    fs::remove(root_ / "13" / "stat");
    process(14, 140); // readdir in this process leaves it out
    readdir_hides_ = 14;

    const auto found = scan();
    ASSERT_EQ(found.size(), 5U);
    EXPECT_EQ(sleeps_, 1);
    EXPECT_EQ(found[0].pid, 10);
    EXPECT_EQ(found[0].reasons, bit(HiddenReason::getdents) | bit(HiddenReason::open));
    EXPECT_EQ(found[0].comm, "comm10");
    EXPECT_EQ(found[0].uid, 1000U);
    EXPECT_EQ(found[0].start_time, ticks(100) + std::chrono::nanoseconds(1234));
    EXPECT_EQ(found[1].pid, 11);
    EXPECT_EQ(found[1].reasons, bit(HiddenReason::stat));
    EXPECT_THAT(found[1].detail, HasSubstr("names pid 99"));
    EXPECT_EQ(found[2].pid, 12);
    EXPECT_EQ(found[2].reasons, bit(HiddenReason::stat));
    EXPECT_THAT(found[2].detail, HasSubstr("starttime 121"));
    EXPECT_EQ(found[3].pid, 13);
    EXPECT_EQ(found[3].reasons, bit(HiddenReason::open));
    EXPECT_EQ(found[4].pid, 14);
    EXPECT_EQ(found[4].reasons, bit(HiddenReason::readdir));
    EXPECT_TRUE(found[4].has(HiddenReason::readdir));
    EXPECT_FALSE(found[4].has(HiddenReason::getdents));

    std::ostringstream line;
    line << found[0];
    EXPECT_THAT(line.str(), HasSubstr("pid 10 comm comm10 uid 1000 start 1.000001234 s: "
                                      "getdents64 open"));
}

TEST_F(FakeProc, ExitedDuringTheSettleIsNotReported)
{
    process(1, 5);
    process(20, 200, false);
    between_ = [this] { alive_.erase(20); };
    EXPECT_TRUE(scan().empty());
}

TEST_F(FakeProc, ReusedPidIsNotReported)
{
    process(1, 5);
    process(21, 210);
    write_stat(21, 21, 999); // /proc shows a newer process of that pid
    between_ = [this] { alive_[21] = ticks(999); };
    EXPECT_TRUE(scan().empty());
}

TEST_F(FakeProc, ShownAfterTheSettleIsNotReported)
{
    process(1, 5);
    process(22, 220, false); // not yet in /proc at the first look
    between_ = [this] { write_stat(22, 22, 220); };
    EXPECT_TRUE(scan().empty());
}

TEST_F(FakeProc, ExitedDuringTheSecondLookIsNotReported)
{
    process(1, 5);
    process(23, 230, false);
    // Alive when the settle ends, gone after the second listing.
    hooks_.getdents = [this](const fs::path& dir) {
        if (sleeps_ > 0) {
            alive_.erase(23);
        }
        return HiddenScanHooks::list_getdents(dir);
    };
    EXPECT_TRUE(scan().empty());
}

TEST_F(FakeProc, HidepidInvisibleIsNotHidingUnlessWeSeeAll)
{
    process(1, 5);
    process(30, 300, false); // neither listed nor found: hidepid=2 for us
    hooks_.hidepid = 2;
    hooks_.sees_all = false;
    EXPECT_TRUE(scan().empty());
    hooks_.sees_all = true; // with CAP_SYS_PTRACE hidepid hides nothing
    EXPECT_THAT(scan(), ::testing::SizeIs(1));
    hooks_.sees_all = false;
    hooks_.hidepid = 1; // noaccess lists everything: a missing pid is hiding
    EXPECT_THAT(scan(), ::testing::SizeIs(1));
}

TEST_F(FakeProc, HidepidDoesNotExcuseAListedLie)
{
    // Openable but not listed: hidepid never does that.
    process(1, 5);
    process(31, 310);
    hooks_.getdents = [](const fs::path& dir) {
        auto pids = HiddenScanHooks::list_getdents(dir);
        pids.erase(std::remove(pids.begin(), pids.end(), 31), pids.end());
        return pids;
    };
    hooks_.hidepid = 2;
    hooks_.sees_all = false;
    const auto found = scan();
    ASSERT_EQ(found.size(), 1U);
    EXPECT_EQ(found[0].reasons, bit(HiddenReason::getdents));
}

TEST(ProcessesHost, GetdentsAndReaddirAgreeOnARealFolder)
{
    const auto a = HiddenScanHooks::list_getdents("/proc");
    const auto b = HiddenScanHooks::list_readdir("/proc");
    EXPECT_TRUE(std::binary_search(a.begin(), a.end(), ::getpid()));
    EXPECT_TRUE(std::binary_search(b.begin(), b.end(), ::getpid()));
    EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
    EXPECT_THROW((void)HiddenScanHooks::list_getdents("/nonexistent-taskmon"), std::system_error);
}

// A readdir() that returns entries with errno set, as a wrapper that opens
// /proc/PID/stat for each entry leaves it when the process exited
// meanwhile (issue #26): only a NULL return with errno set is an error.
TEST(ProcessesHost, ReaddirErrnoLeftBehindWithAnEntryIsNoError)
{
    std::string tmpl = "/tmp/taskmon-readdir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    const fs::path dir = tmpl;
    for (const char* name : {"1", "42", "self", "7"}) {
        fs::create_directory(dir / name);
    }
    int calls = 0;
    const auto clean_end = [&calls](DIR* d) -> dirent* {
        ++calls;
        dirent* e = ::readdir(d); // NOLINT(concurrency-mt-unsafe)
        if (e != nullptr) {
            errno = ENOENT; // a wrapper's failed open(), entry still returned
        }
        return e;
    };
    errno = EIO; // left over from before the scan: no error either
    EXPECT_THAT(taskmon::detail::list_readdir_with(dir, clean_end), ElementsAre(1, 7, 42));
    EXPECT_EQ(calls, 7) << "., .., 4 names and the end";
    // A NULL return with errno set is an error, whatever came before.
    const auto failing = [&calls](DIR* d) -> dirent* {
        if (++calls < 3) {
            errno = ENOENT;
            return ::readdir(d); // NOLINT(concurrency-mt-unsafe)
        }
        errno = EIO;
        return nullptr;
    };
    calls = 0;
    try {
        (void)taskmon::detail::list_readdir_with(dir, failing);
        ADD_FAILURE() << "a readdir() error was not reported";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EIO);
        EXPECT_THAT(e.what(), HasSubstr("readdir of " + dir.string()));
    }
    fs::remove_all(dir);
}

TEST(ProcessesHost, ParseHidepid)
{
    using taskmon::detail::parse_hidepid;
    EXPECT_EQ(parse_hidepid("rw"), 0);
    EXPECT_EQ(parse_hidepid("rw,hidepid=2"), 2);
    EXPECT_EQ(parse_hidepid("rw,hidepid=invisible,gid=5"), 2);
    EXPECT_EQ(parse_hidepid("rw,hidepid=noaccess"), 1);
    EXPECT_EQ(parse_hidepid("rw,hidepid=1"), 1);
    EXPECT_EQ(parse_hidepid("rw,hidepid=ptraceable"), 4);
    EXPECT_EQ(parse_hidepid("rw,hidepid=off"), 0);
}

TEST(ProcessesHost, ProcMountOptionsTakeTheTopmostProcMount)
{
    std::string tmpl = "/tmp/taskmon-mountinfo-XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(tmpl) << "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
                        << "30 22 0:30 / /proc/42 rw - tmpfs tmpfs rw\n"
                        << "31 22 0:31 / /proc rw - proc proc rw,hidepid=invisible\n";
    using taskmon::detail::proc_mount_options;
    EXPECT_EQ(proc_mount_options(tmpl, "/proc"), "rw,hidepid=invisible");
    EXPECT_EQ(proc_mount_options(tmpl, "/proc/42"), std::nullopt) << "tmpfs, not proc";
    EXPECT_EQ(proc_mount_options(tmpl, "/elsewhere"), std::nullopt);
    ::unlink(tmpl.c_str());
}

TEST(ProcessesHost, ReasonNames)
{
    EXPECT_STREQ(taskmon::to_string(HiddenReason::getdents), "getdents64");
    EXPECT_THAT(taskmon::reason_names(bit(HiddenReason::readdir) | bit(HiddenReason::stat)),
                ElementsAre("readdir", "stat"));
    EXPECT_TRUE(taskmon::reason_names(0).empty());
}

TEST(ProcessesHost, ListProcessesOnDevNullIsNotSupported)
{
    const taskmon::Monitor m("/dev/null");
    EXPECT_THROW((void)taskmon::list_processes(m), taskmon::NotSupported);
}

} // namespace
