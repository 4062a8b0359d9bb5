// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon hidden` end to end, against the module and a real /proc, with
// the test-only hiding techniques of tests/hidden on a real process (as
// test_hidden.cpp does for find_hidden()): exit status 0 on an honest
// system, 1 with the right reason for a hidden process, more than 1 on an
// error; --json; --watch's changes and its status after SIGINT; a closed
// pipe; a libprocesshider-like readdir filter beside a fork/exit storm
// (issue #26), scan after scan.
//
// Environment: TASKMON_VM_HIDDEN_CLI_SCANS (default 200), the scans of each
// churn test.
#include "vm_util.hpp"

#include "../../cli/closed_pipe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <thread>
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

// A child that sleeps until destroyed (it dies with the test too), named
// @p comm: it execs sleep through a symlink of that name.
class NamedSleeper {
public:
    explicit NamedSleeper(const std::string& comm)
    {
        std::string tmpl = "/tmp/taskmon-named-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        }
        dir_ = tmpl;
        const std::string link = dir_ + "/" + comm;
        std::filesystem::create_symlink("/bin/sleep", link);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::execl(link.c_str(), comm.c_str(), "600", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        // Until the exec, the child is still called like this test.
        for (int i = 0; i < 500 && !comm_is(comm); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    NamedSleeper(const NamedSleeper&) = delete;
    NamedSleeper& operator=(const NamedSleeper&) = delete;
    NamedSleeper(NamedSleeper&&) = delete;
    NamedSleeper& operator=(NamedSleeper&&) = delete;
    ~NamedSleeper()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] bool comm_is(const std::string& comm) const
    {
        const auto text = read_file("/proc/" + std::to_string(pid_) + "/comm");
        return text && *text == comm + "\n";
    }

private:
    std::string dir_;
    pid_t pid_ = -1;
};

// taskmon-test-churn (tests/hidden/churn.c) with @p parents forking
// parents, in its own process group, until stop(): processes that start and
// exit all the time beside the scans.
class Churn {
public:
    explicit Churn(int parents)
    {
        std::array<int, 2> fds{};
        if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
            throw std::system_error(errno, std::generic_category(), "pipe2");
        }
        const std::string count = std::to_string(parents);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setpgid(0, 0);
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::dup2(fds[1], STDOUT_FILENO);
            ::execl(TASKMON_TEST_CHURN, "taskmon-test-churn", "0", count.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::setpgid(pid_, pid_); // as the child does: whichever runs first
        ::close(fds[1]);
        out_ = fds[0];
    }
    Churn(const Churn&) = delete;
    Churn& operator=(const Churn&) = delete;
    Churn(Churn&&) = delete;
    Churn& operator=(Churn&&) = delete;
    ~Churn()
    {
        if (pid_ > 0) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) {
            ::close(out_);
        }
    }
    // Ends the churn (SIGTERM to its group): the children it forked, or -1
    // if it did not end well.
    long stop()
    {
        ::kill(-pid_, SIGTERM);
        std::string text;
        std::array<char, 64> buf{};
        ssize_t n = 0;
        while ((n = ::read(out_, buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR)) {
            text.append(buf.data(), static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
        }
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? std::atol(text.c_str()) : -1;
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

// One taskmon process per scan: 0.7-0.9 s a scan under TCG beside the
// churn on a quiet host, 4 s on a loaded one.
int hidden_scans()
{
    return std::atoi(env_or("TASKMON_VM_HIDDEN_CLI_SCANS", "200").c_str());
}

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
    const std::string ko = pidhider_ko();
    TASKMON_REQUIRE_TOOL(!ko.empty(),
                         "TASKMON_PIDHIDER_KO is not set (tests/hidden/build-pidhider)");
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

// A libprocesshider-like filter (tests/hidden/preload/readdir-filter.c,
// by name: it opens /proc/PID/stat inside readdir()) preloaded into
// taskmon, beside a fork/exit storm: a process that exits between readdir's
// listing and the filter's open leaves ENOENT in errno although readdir()
// returned an entry.  Every scan finds exactly the hidden process, for
// readdir, and never fails (issue #26: "readdir of /proc: No such file or
// directory", status 8).
TEST_F(CliHidden, ANameFilterThatOpensStatBesideChurnIsReaddirInEveryScan)
{
    const std::string comm = "taskmon-hideme";
    const NamedSleeper victim(comm);
    ASSERT_TRUE(victim.comm_is(comm));
    const std::string line = R"(\{"pid": )" + std::to_string(victim.pid()) + R"(, "comm": ")" +
                             comm + R"(", "uid": 0, "start_time_ns": [0-9]+, )" +
                             R"("reasons": \["readdir"\], "detail": "[^"]*"\}
)";
    Churn churn(1);
    const int scans = hidden_scans();
    int right = 0;
    int errors = 0;
    std::vector<std::string> wrong;
    for (int i = 0; i < scans; ++i) {
        const RunResult r =
            hidden({"--json", "--settle", "0.1"},
                   {"LD_PRELOAD=" TASKMON_READDIR_FILTER, "TASKMON_TEST_HIDE_COMM=" + comm});
        if (r.status == 1 && r.err.empty() && ::testing::Matches(MatchesRegex(line))(r.out)) {
            ++right;
            continue;
        }
        errors += r.status > 1 ? 1 : 0;
        if (wrong.size() < 5) {
            wrong.push_back("scan " + std::to_string(i + 1) + ": " + describe(r));
        }
    }
    const long forks = churn.stop();
    std::cout << "readdir filter beside churn: " << right << " of " << scans << " scans right, "
              << errors << " errors, " << forks << " children forked" << std::endl;
    RecordProperty("right", right);
    RecordProperty("errors", errors);
    RecordProperty("forks", static_cast<int>(forks));
    EXPECT_EQ(right, scans) << errors << " of the wrong scans were errors";
    for (const auto& w : wrong) {
        ADD_FAILURE() << w;
    }
    EXPECT_GE(forks, scans) << "the churn did not churn";
    EXPECT_TRUE(victim.comm_is(comm)) << "the hidden process lived through the scans";
}

// The same storm, without the filter: nothing, in every scan.
TEST_F(CliHidden, ChurnWithoutAFilterIsStatus0InEveryScan)
{
    Churn churn(1);
    const int scans = hidden_scans();
    int right = 0;
    std::vector<std::string> wrong;
    for (int i = 0; i < scans; ++i) {
        const RunResult r = hidden({"--json", "--settle", "0.1"});
        if (r.status == 0 && r.out.empty() && r.err.empty()) {
            ++right;
        } else if (wrong.size() < 5) {
            wrong.push_back("scan " + std::to_string(i + 1) + ": " + describe(r));
        }
    }
    const long forks = churn.stop();
    std::cout << "churn without a filter: " << right << " of " << scans << " scans right, " << forks
              << " children forked" << std::endl;
    RecordProperty("right", right);
    RecordProperty("forks", static_cast<int>(forks));
    EXPECT_EQ(right, scans);
    for (const auto& w : wrong) {
        ADD_FAILURE() << w;
    }
    EXPECT_GE(forks, scans) << "the churn did not churn";
}

} // namespace
} // namespace taskmon::vmtest
