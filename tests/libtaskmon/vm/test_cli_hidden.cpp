// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon hidden` end to end, against the module and a real /proc, with
// the test-only hiding techniques of tests/hidden on a real process (as
// test_hidden.cpp does for find_hidden()): exit status 0 on an honest
// system, 1 with the right reason for a hidden process, more than 1 on an
// error; --json; --watch's changes and its status after SIGINT; a closed
// pipe.
#include "vm_util.hpp"

#include "../../cli/closed_pipe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace taskmon::vmtest {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// The /proc directory of a process.
std::string proc_dir(pid_t pid)
{
    return "/proc/" + std::to_string(pid);
}

// A tmpfs over /proc/PID while it lives.
class TmpfsOver {
public:
    explicit TmpfsOver(std::string dir)
        : dir_(std::move(dir)), mounted_(::mount("none", dir_.c_str(), "tmpfs", 0, "size=4k") == 0)
    {}
    TmpfsOver(const TmpfsOver&) = delete;
    TmpfsOver& operator=(const TmpfsOver&) = delete;
    TmpfsOver(TmpfsOver&&) = delete;
    TmpfsOver& operator=(TmpfsOver&&) = delete;
    ~TmpfsOver()
    {
        if (mounted_) {
            ::umount2(dir_.c_str(), MNT_DETACH);
        }
    }
    [[nodiscard]] bool mounted() const { return mounted_; }

private:
    std::string dir_;
    bool mounted_;
};

class CliHidden : public CliTest {
protected:
    [[nodiscard]] RunResult hidden(std::vector<std::string> args,
                                   std::vector<std::string> env = {}) const
    {
        std::vector<std::string> argv = std::move(env);
        argv.insert(argv.end(), {cli(), "--device", monitor_device(), "hidden"});
        argv.insert(argv.end(), args.begin(), args.end());
        return run_program("/usr/bin/env", argv, std::chrono::seconds(120));
    }
};

std::string describe(const RunResult& r)
{
    return "status " + std::to_string(r.status) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

// The one line of a process hidden for @p reasons.
void expect_one(const RunResult& r, pid_t pid, const std::string& reasons)
{
    EXPECT_EQ(r.status, 1) << describe(r);
    EXPECT_EQ(r.err, "") << describe(r);
    EXPECT_THAT(r.out, MatchesRegex("pid " + std::to_string(pid) +
                                    " comm sleep uid 0 start [0-9]+\\.[0-9]{3} s: " + reasons +
                                    " \\([^\n]*\\)\n"))
        << describe(r);
}

TEST_F(CliHidden, NothingOnAnHonestSystemIsStatus0AndNoOutput)
{
    for (const auto& args : std::vector<std::vector<std::string>>{{}, {"--json"}}) {
        const RunResult r = hidden(args);
        EXPECT_EQ(r.status, 0) << describe(r);
        EXPECT_EQ(r.out, "") << describe(r);
        EXPECT_EQ(r.err, "") << describe(r);
    }
}

TEST_F(CliHidden, TmpfsOverProcPidIsStatus1AndOpen)
{
    const BusyChild victim(Load::sleep);
    const TmpfsOver mount(proc_dir(victim.pid()));
    ASSERT_TRUE(mount.mounted()) << std::generic_category().message(errno);
    expect_one(hidden({}), victim.pid(), "open");
    const RunResult j = hidden({"--json", "--settle", "0.1"});
    EXPECT_EQ(j.status, 1) << describe(j);
    EXPECT_THAT(j.out, MatchesRegex(R"(\{"pid": )" + std::to_string(victim.pid()) +
                                    R"(, "comm": "sleep", "uid": 0, "start_time_ns": [0-9]+, )"
                                    R"("reasons": \["open"\], "detail": "[^"]*"\}
)")) << describe(j);
}

TEST_F(CliHidden, AnotherProcessBoundOverProcPidIsStat)
{
    const BusyChild victim(Load::sleep);
    const BusyChild decoy(Load::sleep);
    ASSERT_EQ(::mount(proc_dir(decoy.pid()).c_str(), proc_dir(victim.pid()).c_str(), nullptr,
                      MS_BIND, nullptr),
              0)
        << std::generic_category().message(errno);
    const RunResult r = hidden({});
    ::umount2(proc_dir(victim.pid()).c_str(), MNT_DETACH);
    expect_one(r, victim.pid(), "stat");
    EXPECT_THAT(r.out, HasSubstr("names pid " + std::to_string(decoy.pid())));
}

TEST_F(CliHidden, ReaddirFilterPreloadedIntoTaskmonIsReaddir)
{
    const BusyChild victim(Load::sleep);
    expect_one(hidden({}, {"LD_PRELOAD=" TASKMON_READDIR_FILTER,
                           "TASKMON_TEST_HIDE_PIDS=" + std::to_string(victim.pid())}),
               victim.pid(), "readdir");
}

TEST_F(CliHidden, KernelModuleFilteringGetdentsIsGetdents64)
{
    const std::string ko = env_or("TASKMON_PIDHIDER_KO", "");
    if (ko.empty()) {
        if (in_vm()) {
            FAIL() << "TASKMON_PIDHIDER_KO is not set (tests/hidden/build-pidhider)";
        }
        GTEST_SKIP() << "TASKMON_PIDHIDER_KO is not set";
    }
    const BusyChild victim(Load::sleep);
    const std::string load = "insmod " + ko + " pid=" + std::to_string(victim.pid());
    ASSERT_EQ(std::system(load.c_str()), 0); // NOLINT(concurrency-mt-unsafe): one at a time
    const RunResult r = hidden({});
    ASSERT_EQ(std::system("rmmod pidhider"), 0); // NOLINT(concurrency-mt-unsafe)
    expect_one(r, victim.pid(), "getdents64");
}

TEST_F(CliHidden, ErrorsAreAboveOne)
{
    const RunResult r = hidden({"--proc", "/nonexistent/proc"});
    EXPECT_EQ(r.status, 8) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("cannot read /nonexistent/proc/self"));
    const RunResult e = run_program(cli(), {"--device", "/nonexistent/taskmonitor", "hidden"});
    EXPECT_EQ(e.status, 5) << describe(e);
}

TEST_F(CliHidden, WatchPrintsChangesAndEndsOnSigintWithTheLastStatus)
{
    const BusyChild victim(Load::sleep);
    // taskmon in the background; the shell hides the victim for a while,
    // then interrupts taskmon and prints its status last.
    const std::string script =
        "\"$0\" --device \"$1\" hidden --watch 0.2 --settle 0 & t=$!; sleep 1.5; "
        "mount -t tmpfs -o size=4k none /proc/$2; sleep 2.5; umount -l /proc/$2; sleep 2.5; "
        "kill -INT $t; wait $t; echo status $?";
    const RunResult r = run_program(
        "/bin/sh", {"-c", script, cli(), monitor_device(), std::to_string(victim.pid())},
        std::chrono::seconds(120));
    const std::string pid = std::to_string(victim.pid());
    EXPECT_THAT(r.out, ContainsRegex("(^|\n)[0-9]+\\.[0-9]{3} s appeared pid " + pid +
                                     " comm sleep uid 0 start [0-9.]+ s: open"))
        << describe(r);
    EXPECT_THAT(r.out, ContainsRegex("\n[0-9]+\\.[0-9]{3} s disappeared pid " + pid + " "))
        << describe(r);
    EXPECT_THAT(r.out, HasSubstr("\nstatus 0\n")) << describe(r);
    EXPECT_EQ(r.err, "") << describe(r);
}

TEST_F(CliHidden, WatchWithSomethingHiddenEndsWithStatus1AndJson)
{
    const BusyChild victim(Load::sleep);
    const TmpfsOver mount(proc_dir(victim.pid()));
    ASSERT_TRUE(mount.mounted());
    const std::string script = "\"$0\" --json --device \"$1\" hidden -w 0.5 -s 0 & t=$!; "
                               "sleep 2; kill -TERM $t; wait $t; echo status $?";
    const RunResult r =
        run_program("/bin/sh", {"-c", script, cli(), monitor_device()}, std::chrono::seconds(120));
    EXPECT_THAT(r.out, ContainsRegex(R"(^\{"elapsed_s": [0-9]+\.[0-9]{9}, "event": "appeared", )"
                                     R"("pid": )" +
                                     std::to_string(victim.pid()) + ", "))
        << describe(r);
    EXPECT_THAT(r.out, HasSubstr("\nstatus 1\n")) << describe(r);
    EXPECT_EQ(r.out.find("disappeared"), std::string::npos) << describe(r);
}

TEST_F(CliHidden, AClosedPipeEndsQuietlyWithStatus0)
{
    const BusyChild victim(Load::sleep);
    const TmpfsOver mount(proc_dir(victim.pid()));
    ASSERT_TRUE(mount.mounted());
    const auto r = cli::test::run_into_closed_pipe(
        cli(), {"--device", monitor_device(), "hidden", "--watch", "0.2", "--settle", "0"});
    ASSERT_TRUE(r.pipe_was_closed);
    EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal;
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
}

} // namespace
} // namespace taskmon::vmtest
