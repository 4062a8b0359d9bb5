// SPDX-License-Identifier: GPL-2.0-only
//
// Helpers of taskmon-vm-tests: device preconditions, busy child processes,
// running the built programs, and counting the module's kthread.
#ifndef TASKMON_TESTS_VM_UTIL_HPP
#define TASKMON_TESTS_VM_UTIL_HPP

#include <sys/types.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace taskmon::vmtest {

/** /dev/taskmonitor, or $TASKMON_DEVICE. */
std::string monitor_device();
/** /dev/hello, or $TASKMON_HELLO_DEVICE. */
std::string hello_device();
/** $NAME, or FALLBACK when it is unset or empty. */
std::string env_or(const char* name, const char* fallback);
/** True when $TASKMON_IN_VM is "1": missing devices or programs are failures, not skips. */
bool in_vm();

/** @p text split into its lines, without their newlines. */
std::vector<std::string> lines(const std::string& text);

/**
 * pidhider.ko's path, $TASKMON_PIDHIDER_KO (tests/hidden/build-pidhider),
 * or "" when it is not set: TASKMON_REQUIRE_TOOL(!ko.empty(), ...) decides.
 */
std::string pidhider_ko();
/**
 * True when $TASKMON_REQUIRE_TOOLS is "1" (scripts/test and CI set it): a
 * missing tool, program or test-only module is a failure there, a skip
 * elsewhere (TASKMON_REQUIRE_TOOL below).
 */
bool tools_required();

/**
 * Base fixture: skips the test (or, with TASKMON_IN_VM=1, fails it) when
 * /dev/taskmonitor or /dev/hello is missing.
 */
class VmTest : public ::testing::Test {
protected:
    void SetUp() override;
    /**
     * For a SetUp() that needs the ioctl @p request: runs @p probe, a call
     * that uses it, and fails the test if it throws NotSupported (the loaded
     * module lacks the request), or skips it against an emulated device
     * ($TASKMON_DEVICE).
     */
    static void require_request(const char* request, const std::function<void()>& probe);
};

/** What a forked child does until it is killed. */
enum class Load {
    spin,        // a user-mode busy loop
    syscalls,    // a loop of getppid(2): mostly kernel time
    spin_thread, // main thread sleeps in pause(); a second thread spins
    sleep,       // no load: execs sleep(1), so its comm is "sleep"
};

/**
 * A child process doing @p load until destroyed (SIGKILL + waitpid).
 * It also dies with the test (PR_SET_PDEATHSIG).
 */
class BusyChild {
public:
    explicit BusyChild(Load load = Load::spin);
    BusyChild(const BusyChild&) = delete;
    BusyChild& operator=(const BusyChild&) = delete;
    BusyChild(BusyChild&&) = delete;
    BusyChild& operator=(BusyChild&&) = delete;
    ~BusyChild();

    [[nodiscard]] pid_t pid() const { return pid_; }
    /** SIGKILL and reap; afterwards the pid no longer exists. */
    void kill_and_reap();

private:
    pid_t pid_ = -1;
};

/** CPU time (utime + stime) of @p pid from /proc/PID/stat, in ns (clock-tick resolution). */
std::optional<std::chrono::nanoseconds> proc_cpu_time(pid_t pid);

/** A pid no process has: /proc/sys/kernel/pid_max (pids are below it). */
pid_t bogus_pid();

/** Processes whose comm is "taskmonitor" and whose parent is kthreadd (pid 2). */
int count_kthreads();

/**
 * Polls count_kthreads() until it equals @p expected or @p timeout passes;
 * returns the last count.
 */
int wait_for_kthreads(int expected, std::chrono::milliseconds timeout = std::chrono::seconds(3));

/** The result of running a program. */
struct RunResult {
    int status = -1; // exit status, or 128 + signal
    std::string out;
    std::string err;
};

/**
 * Runs @p program with @p args, capturing stdout and stderr; kills it after
 * @p timeout (status then 128 + SIGKILL).
 */
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      std::chrono::seconds timeout = std::chrono::seconds(30));

/**
 * The built `taskmon` (or `hello-ioctl`) binary: $TASKMON_CLI
 * ($TASKMON_HELLO_CLI), else the build tree's, found relative to this test
 * binary, else the absolute build-tree path, else one on $PATH.  Empty if
 * none exists.
 */
std::string cli_program();
std::string hello_program();

/**
 * A test of the `taskmon` command: VmTest's checks, then the binary
 * (cli_program()), whose absence fails the test in the VM and skips it
 * elsewhere.  taskmon() runs it on monitor_device().
 */
class CliTest : public VmTest {
protected:
    void SetUp() override;

    /** `taskmon --device DEV ARGS...`. */
    [[nodiscard]] RunResult taskmon(std::vector<std::string> args) const;

    /** The binary's path. */
    [[nodiscard]] const std::string& cli() const { return cli_; }

private:
    std::string cli_;
};

/** Reads a whole small file (e.g. under /proc or /sys); nullopt if it cannot. */
std::optional<std::string> read_file(const std::string& path);

} // namespace taskmon::vmtest

/**
 * A test that needs something outside this binary (a program, a test-only
 * module): unless @p present, skips the test saying @p what is missing, or
 * fails it under TASKMON_REQUIRE_TOOLS=1.  The shell (tm_require_tool in
 * tests/lib.sh) and Python (tests/pylib/required.py) have the same rule.
 */
#define TASKMON_REQUIRE_TOOL(present, what)                                                        \
    do {                                                                                           \
        if (!(present)) {                                                                          \
            if (::taskmon::vmtest::tools_required()) {                                             \
                GTEST_FAIL() << what << " (TASKMON_REQUIRE_TOOLS=1: it must be there)";            \
            }                                                                                      \
            GTEST_SKIP() << what;                                                                  \
        }                                                                                          \
    } while (false)

#endif // TASKMON_TESTS_VM_UTIL_HPP
