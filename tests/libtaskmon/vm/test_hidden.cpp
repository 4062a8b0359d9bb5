// SPDX-License-Identifier: GPL-2.0-only
//
// list_processes() and find_hidden() against the real module and a real
// /proc, with each hiding technique of tests/hidden used on a real process:
// an LD_PRELOAD readdir filter, a mount over /proc/PID (tmpfs, and another
// process's folder bound there), and the pidhider module filtering
// getdents64.  Each must be found with its reason and nothing else; heavy
// churn, hidepid=2 as a non-root user and child pid namespaces report
// nothing.  Scans run in taskmon-hidden-scan (tests/hidden/scan.cpp), a
// separate process, so that the preload and the uid change stay there.
//
// Environment: TASKMON_PIDHIDER_KO (pidhider.ko, built by
// tests/hidden/build-pidhider; without it the module test skips, or fails
// with TASKMON_IN_VM=1), TASKMON_VM_CHURN_SECONDS (default 20).
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

namespace vm = taskmon::vmtest;
using ::testing::HasSubstr;

// One line of taskmon-hidden-scan: "PID REASONS COMM # ...".
struct Found {
    pid_t pid;
    std::string reasons;
};

struct Scan {
    int status;
    std::vector<Found> found;
    std::string out;
    std::string err;
};

Scan scan(std::vector<std::string> args, std::vector<std::string> env = {},
          std::chrono::seconds timeout = std::chrono::seconds(120))
{
    std::vector<std::string> argv = std::move(env);
    argv.emplace_back(TASKMON_HIDDEN_SCAN);
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = vm::run_program("/usr/bin/env", argv, timeout);
    Scan s{r.status, {}, r.out, r.err};
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        Found f{};
        if (fields >> f.pid >> f.reasons) {
            s.found.push_back(f);
        }
    }
    return s;
}

std::string describe(const Scan& s)
{
    return "status " + std::to_string(s.status) + "\nstdout:\n" + s.out + "stderr:\n" + s.err;
}

// The scan found exactly @p pid, for exactly @p reasons.
void expect_only(const Scan& s, pid_t pid, const std::string& reasons)
{
    EXPECT_EQ(s.status, 1) << describe(s);
    ASSERT_EQ(s.found.size(), 1U) << describe(s);
    EXPECT_EQ(s.found[0].pid, pid) << describe(s);
    EXPECT_EQ(s.found[0].reasons, reasons) << describe(s);
}

void expect_none(const Scan& s)
{
    EXPECT_EQ(s.status, 0) << describe(s);
    EXPECT_TRUE(s.found.empty()) << describe(s);
}

int run_shell(const std::string& cmd)
{
    const int st = std::system(cmd.c_str()); // NOLINT(concurrency-mt-unsafe): one at a time
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

class Hidden : public vm::VmTest {};

TEST_F(Hidden, ListProcessesIsProcsListWithItsStartTimes)
{
    const taskmon::Monitor monitor(vm::monitor_device());
    std::thread waiter([] { std::this_thread::sleep_for(std::chrono::seconds(1)); });
    const auto list = taskmon::list_processes(monitor);
    ASSERT_FALSE(list.empty());
    EXPECT_TRUE(std::is_sorted(list.begin(), list.end(),
                               [](const auto& a, const auto& b) { return a.pid < b.pid; }));
    EXPECT_EQ(list.front().pid, 1);
    std::set<pid_t> pids;
    for (const auto& e : list) {
        pids.insert(e.pid);
    }
    EXPECT_EQ(pids.size(), list.size()) << "no pid twice";
    EXPECT_EQ(pids.count(::getpid()), 1U);
    // This process's own threads are not processes.
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        const pid_t tid = std::stoi(entry.path().filename().string());
        EXPECT_EQ(pids.count(tid), tid == ::getpid() ? 1U : 0U) << tid;
    }
    waiter.join();
    const long tick_ns = 1'000'000'000L / ::sysconf(_SC_CLK_TCK);
    const auto own =
        std::find_if(list.begin(), list.end(), [](const auto& e) { return e.pid == ::getpid(); });
    const auto stat = vm::read_file("/proc/self/stat");
    ASSERT_TRUE(stat);
    std::istringstream rest(stat->substr(stat->rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 22; ++i) {
        rest >> field;
    }
    EXPECT_EQ(own->start_time.count() / tick_ns, std::stoll(field));
}

TEST_F(Hidden, NothingOnAnHonestSystem)
{
    expect_none(scan({}));
}

TEST_F(Hidden, ReaddirFilterInTheListerIsReaddir)
{
    const vm::BusyChild victim(vm::Load::sleep);
    const std::string pid = std::to_string(victim.pid());
    expect_only(scan({}, {"LD_PRELOAD=" TASKMON_READDIR_FILTER, "TASKMON_TEST_HIDE_PIDS=" + pid}),
                victim.pid(), "readdir");
}

TEST_F(Hidden, TmpfsOverProcPidIsOpen)
{
    const vm::BusyChild victim(vm::Load::sleep);
    const std::string dir = "/proc/" + std::to_string(victim.pid());
    ASSERT_EQ(::mount("none", dir.c_str(), "tmpfs", 0, "size=4k"), 0)
        << std::generic_category().message(errno);
    const auto s = scan({});
    ::umount2(dir.c_str(), MNT_DETACH);
    expect_only(s, victim.pid(), "open");
}

TEST_F(Hidden, AnotherProcessBoundOverProcPidIsStat)
{
    const vm::BusyChild victim(vm::Load::sleep);
    const vm::BusyChild decoy(vm::Load::sleep);
    const std::string dir = "/proc/" + std::to_string(victim.pid());
    const std::string other = "/proc/" + std::to_string(decoy.pid());
    ASSERT_EQ(::mount(other.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr), 0)
        << std::generic_category().message(errno);
    const auto s = scan({});
    ::umount2(dir.c_str(), MNT_DETACH);
    expect_only(s, victim.pid(), "stat");
    EXPECT_THAT(s.out, HasSubstr("names pid " + std::to_string(decoy.pid())));
}

TEST_F(Hidden, KernelModuleFilteringGetdentsIsGetdents)
{
    const std::string ko = vm::pidhider_ko();
    TASKMON_REQUIRE_TOOL(!ko.empty(),
                         "TASKMON_PIDHIDER_KO is not set (tests/hidden/build-pidhider)");
    const vm::BusyChild victim(vm::Load::sleep);
    const std::string pid = std::to_string(victim.pid());
    ASSERT_EQ(run_shell("insmod " + ko + " pid=" + pid), 0);
    const auto s = scan({});
    // What ls sees: the rootkit works.
    const int ls = run_shell("ls /proc | grep -qx " + pid);
    ASSERT_EQ(run_shell("rmmod pidhider"), 0);
    EXPECT_NE(ls, 0) << "pidhider did not hide " << pid << " from ls";
    expect_only(s, victim.pid(), "getdents64");
    // Unloaded: nothing any more.
    expect_none(scan({}));
}

TEST_F(Hidden, ChildPidNamespaceIsHandled)
{
    // A process in a child pid namespace is one of ours, shown by our /proc.
    const pid_t child = ::fork();
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::execl("/usr/bin/unshare", "unshare", "--pid", "--fork", "--mount-proc", "sleep", "60",
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const auto outside = scan({});
    // A scan inside a child pid namespace, with its own /proc: only its processes.
    const auto inside = vm::run_program("/usr/bin/unshare",
                                        {"--pid", "--fork", "--mount-proc", TASKMON_HIDDEN_SCAN},
                                        std::chrono::seconds(60));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    expect_none(outside);
    EXPECT_EQ(inside.status, 0) << inside.out << inside.err;
    // The host's /proc seen from inside numbers processes differently: refused.
    const auto wrong = vm::run_program("/usr/bin/unshare", {"--pid", "--fork", TASKMON_HIDDEN_SCAN},
                                       std::chrono::seconds(60));
    EXPECT_EQ(wrong.status, 2) << wrong.out << wrong.err;
    EXPECT_THAT(wrong.err, HasSubstr("not the procfs of this pid namespace"));
}

TEST_F(Hidden, HidepidInvisibleAsANonRootUserIsNothing)
{
    const std::string dir = "/tmp/taskmon-hidepid-proc";
    ::mkdir(dir.c_str(), 0755);
    ASSERT_EQ(::mount("proc", dir.c_str(), "proc", 0, "hidepid=2"), 0)
        << std::generic_category().message(errno);
    const vm::BusyChild root_owned(vm::Load::sleep); // invisible to uid 65534 there
    const auto s = scan({"--proc", dir, "--uid", "65534"});
    // As root, through the same mount: hidepid hides nothing from root.
    const auto as_root = scan({"--proc", dir});
    ::umount2(dir.c_str(), MNT_DETACH);
    expect_none(s);
    expect_none(as_root);
}

// taskmon-test-churn (tests/hidden/churn.c): 4 parents forking children
// that start a thread, fork a grandchild and exit, for @p seconds; a
// separate program, so that nothing forks from this multi-threaded process
// but to exec.
void churn(int seconds, std::atomic<bool>& stop, std::atomic<long>& forks)
{
    const auto r = vm::run_program(TASKMON_TEST_CHURN, {std::to_string(seconds), "4"},
                                   std::chrono::seconds(seconds + 120));
    forks = std::atol(r.out.c_str());
    stop = true;
}

TEST_F(Hidden, ChurnReportsNothing)
{
    const int seconds = std::atoi(vm::env_or("TASKMON_VM_CHURN_SECONDS", "20").c_str());
    std::atomic<bool> stop{false};
    std::atomic<long> forks{0};
    std::thread churner(churn, seconds, std::ref(stop), std::ref(forks));
    int scans = 0;
    std::vector<Scan> bad;
    while (!stop) {
        auto s = scan({"--settle", "100"});
        ++scans;
        if (s.status != 0) {
            bad.push_back(std::move(s));
        }
    }
    churner.join();
    EXPECT_GE(scans, 2);
    // Under TCG a fork costs ~10-30 ms (the host forks ~2500 a second; the
    // sanitizer kernel is slower still): 20 s made 1118 children on 6.1,
    // 2542 on 6.12 and 257 on the sanitizer kernel, each with a thread and
    // a grandchild.  Only a churn that did not run fails here.
    EXPECT_GE(forks.load(), 100) << "the churn did not churn";
    std::cout << "churn: " << forks.load() << " children (and as many grandchildren and threads), "
              << scans << " scans" << std::endl;
    for (const auto& s : bad) {
        ADD_FAILURE() << describe(s);
    }
    RecordProperty("scans", scans);
}

} // namespace
