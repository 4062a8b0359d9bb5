// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon exits` end to end, against the module: a line for a child that
// exits (its pid, status and name) and one killed by a signal, a hostile
// name printed safely and recoverably, --json lines that Python's json
// module parses, SIGTERM ending the command with status 0, and a closed
// standard output ending it quietly.  Under vm.emulated (no
// TM_SUBSCRIBE_EXITS) these tests skip.
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace taskmon::vmtest {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Red, invalid UTF-8 (0xff), a newline, a C1 CSI byte alone: 10 bytes.
constexpr const char* hostile = "\x1b[31mx\xff\ny\x9b";
constexpr const char* hostile_safe = "?[31mx??y?";
constexpr const char* hostile_hex = "1b5b33316d78ff0a799b";

// Forks a child named @p name that exits with @p code (or, with a
// signal, is killed by it); reaps it.  Its pid.
pid_t child_exiting(const std::string& name, int code, int sig = 0)
{
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
        if (sig != 0) {
            ::signal(sig, SIG_DFL);
            ::raise(sig);
        }
        ::_exit(code);
    }
    ::waitpid(pid, nullptr, 0);
    return pid;
}

std::string read_all(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The line of @p text about pid @p pid (its "pid" member in JSON, its
// second column in text); empty if none.
std::string line_of(const std::string& text, pid_t pid, bool json)
{
    const std::string key =
        json ? "\"pid\": " + std::to_string(pid) + "," : " " + std::to_string(pid) + " ";
    for (const auto& line : lines(text)) {
        if (line.find(key) != std::string::npos) {
            return line;
        }
    }
    return {};
}

// `taskmon --device DEV exits ARGS` in the background, its output in files.
// `taskmon --device DEV exits ARGS` in the background, its output in files.
class ExitsCommand {
public:
    ExitsCommand(const std::string& cli, const std::vector<std::string>& args)
        : pid_(start(cli, args))
    {}
    ExitsCommand(const ExitsCommand&) = delete;
    ExitsCommand& operator=(const ExitsCommand&) = delete;
    ExitsCommand(ExitsCommand&&) = delete;
    ExitsCommand& operator=(ExitsCommand&&) = delete;
    ~ExitsCommand()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::unlink(out_path_.c_str());
        ::unlink(err_path_.c_str());
    }

    [[nodiscard]] std::string out() const { return read_all(out_path_); }
    [[nodiscard]] std::string err() const { return read_all(err_path_); }
    [[nodiscard]] const std::string& out_path() const { return out_path_; }

    // Waits until the command prints a line about a process named
    // "tm-marker" (it then surely subscribed), forking such processes.
    [[nodiscard]] bool subscribed() const
    {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline) {
            child_exiting("tm-marker", 0);
            std::this_thread::sleep_for(100ms);
            if (out().find("tm-marker") != std::string::npos) {
                return true;
            }
        }
        return false;
    }

    // Waits until the output has a line about each of @p pids.
    [[nodiscard]] bool printed(const std::vector<pid_t>& pids, bool json) const
    {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < deadline) {
            const std::string text = out();
            bool all = true;
            for (const pid_t pid : pids) {
                all = all && !line_of(text, pid, json).empty();
            }
            if (all) {
                return true;
            }
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }

    // SIGTERM, then its exit status (128 + signal if a signal ended it).
    int stop()
    {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    // Forks the command, its output into the two files; its pid.
    pid_t start(const std::string& cli, const std::vector<std::string>& args)
    {
        std::vector<std::string> argv_storage{cli, "--device", monitor_device(), "exits"};
        argv_storage.insert(argv_storage.end(), args.begin(), args.end());
        std::vector<char*> argv;
        argv.reserve(argv_storage.size() + 1);
        for (auto& arg : argv_storage) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);
        const int out = ::mkstemp(out_path_.data());
        const int err = ::mkstemp(err_path_.data());
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::dup2(out, STDOUT_FILENO);
            ::dup2(err, STDERR_FILENO);
            ::execv(cli.c_str(), argv.data());
            ::_exit(127);
        }
        ::close(out);
        ::close(err);
        return pid;
    }

    std::string out_path_ = "/tmp/taskmon-exits-out.XXXXXX";
    std::string err_path_ = "/tmp/taskmon-exits-err.XXXXXX";
    pid_t pid_;
};

class CliExits : public CliTest {
protected:
    void SetUp() override
    {
        CliTest::SetUp();
        if (IsSkipped() || HasFailure()) {
            return;
        }
        require_request("TM_SUBSCRIBE_EXITS", [] { const Exits probe(monitor_device(), 1); });
    }
};

TEST_F(CliExits, AChildsExitIsALineAndAHostileNameIsSafe)
{
    ExitsCommand command(cli(), {});
    ASSERT_TRUE(command.subscribed()) << command.out() << command.err();
    const pid_t exited = child_exiting(hostile, 7);
    const pid_t killed = child_exiting("tm-cli-kill", 0, SIGKILL);
    ASSERT_TRUE(command.printed({exited, killed}, false)) << command.out();
    EXPECT_EQ(command.stop(), 0) << "SIGTERM is a normal end";
    EXPECT_EQ(command.err(), "");
    const std::string text = command.out();
    EXPECT_THAT(lines(text).at(0), ::testing::MatchesRegex(" *TIME +PID +PPID +USER .*COMM"));
    const std::string e = line_of(text, exited, false);
    EXPECT_THAT(e, HasSubstr(" " + std::to_string(::getpid()) + " root "));
    EXPECT_THAT(e, HasSubstr(" exit 7 "));
    EXPECT_THAT(e, ::testing::EndsWith(std::string(" ") + hostile_safe))
        << "the newline forged no line";
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
    EXPECT_EQ(text.find('\xff'), std::string::npos);
    EXPECT_THAT(line_of(text, killed, false), HasSubstr(" signal SIGKILL "));
    EXPECT_THAT(line_of(text, killed, false), ::testing::EndsWith(" tm-cli-kill"));
}

TEST_F(CliExits, JsonLinesParseAndKeepTheNamesBytes)
{
    ExitsCommand command(cli(), {"--json"});
    ASSERT_TRUE(command.subscribed()) << command.out() << command.err();
    const pid_t exited = child_exiting(hostile, 3);
    const pid_t killed = child_exiting("tm-cli-term", 0, SIGTERM);
    ASSERT_TRUE(command.printed({exited, killed}, true)) << command.out();
    EXPECT_EQ(command.stop(), 0);
    const std::string e = line_of(command.out(), exited, true);
    EXPECT_THAT(e, HasSubstr("\"ppid\": " + std::to_string(::getpid()) + ", \"uid\": 0, "));
    EXPECT_THAT(e, HasSubstr(R"("exited": true, "exit_code": 3, "signaled": false)"));
    EXPECT_THAT(e, HasSubstr(std::string(R"("comm_hex": ")") + hostile_hex + "\""));
    EXPECT_THAT(e,
                ::testing::MatchesRegex(
                    R"(\{"time": "20[0-9-]{8}T[0-9:]{8}\.[0-9]{9}Z", "time_unix_ns": [0-9]+, .*)"));
    EXPECT_THAT(line_of(command.out(), killed, true),
                HasSubstr(R"("signaled": true, "term_signal": 15, "signal": "SIGTERM")"));
    // Every line is a JSON object, whatever the names' bytes.
    const RunResult parse =
        run_program("/usr/bin/python3",
                    {"-c",
                     "import json, sys\n"
                     "n = 0\n"
                     "for line in open(sys.argv[1], encoding='utf-8', errors='strict'):\n"
                     "    r = json.loads(line)\n"
                     "    assert isinstance(r['pid'], int) and isinstance(r['comm'], str), r\n"
                     "    n += 1\n"
                     "assert n >= 3, n\n",
                     command.out_path()});
    EXPECT_EQ(parse.status, 0) << parse.err;
}

TEST_F(CliExits, AClosedOutputEndsItQuietly)
{
    // head exits after the header line; its own exit is the record whose
    // line meets the closed pipe.
    const RunResult r = run_program(
        "/bin/bash",
        {"-c", R"("$0" --device "$1" exits | head -n 1; echo "status ${PIPESTATUS[0]}" >&2)", cli(),
         monitor_device()},
        std::chrono::seconds(60));
    EXPECT_EQ(r.status, 0);
    EXPECT_THAT(r.out, ::testing::StartsWith("TIME"));
    EXPECT_EQ(lines(r.out).size(), 1U) << r.out;
    EXPECT_EQ(r.err, "status 0\n") << "no message: a closed output is a normal end";
}

} // namespace
} // namespace taskmon::vmtest
