// SPDX-License-Identifier: GPL-2.0-only
//
// Runs a program whose standard output is a pipe nobody reads any more, as
// in `taskmon watch | head -1` once head has exited: shared by the host tests
// (tests/cli) and the VM tests (tests/libtaskmon/vm/test_cli.cpp).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <string>
#include <vector>

namespace taskmon::cli::test {

struct ClosedPipeRun {
    /** A write to the pipe failed with EPIPE before the program started. */
    bool pipe_was_closed = false;
    /** Exit status, or -1 if the program was killed by a signal. */
    int status = -1;
    /** The signal that killed it, or 0. */
    int signal = 0;
    std::string err;
};

/**
 * Runs @p program with @p args, standard output the write end of a pipe whose
 * read end is closed before the program starts, SIGPIPE at its default
 * action (death) as a shell gives it, standard error captured.
 */
inline ClosedPipeRun run_into_closed_pipe(const std::string& program,
                                          const std::vector<std::string>& args)
{
    ClosedPipeRun result;
    std::array<int, 2> out{};
    std::array<int, 2> err{};
    if (pipe2(out.data(), O_CLOEXEC) != 0 || pipe2(err.data(), O_CLOEXEC) != 0) {
        result.err = "pipe2 failed";
        return result;
    }
    ::close(out[0]); // no reader, from now on

    // The proof: with SIGPIPE ignored for a moment, writing fails with EPIPE.
    struct sigaction ignore {};
    struct sigaction old {};
    ignore.sa_handler = SIG_IGN; // NOLINT(cppcoreguidelines-pro-type-union-access)
    sigaction(SIGPIPE, &ignore, &old);
    errno = 0;
    result.pipe_was_closed = ::write(out[1], "x", 1) == -1 && errno == EPIPE;
    sigaction(SIGPIPE, &old, nullptr);

    std::vector<std::string> argv_storage{program};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(argv_storage.size() + 1);
    for (auto& arg : argv_storage) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);

    const pid_t pid = fork();
    if (pid == 0) {
        std::signal(SIGPIPE, SIG_DFL);
        if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0) {
            _exit(126);
        }
        execv(program.c_str(), argv.data());
        _exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    std::array<char, 4096> buffer{};
    for (;;) {
        const ssize_t n = ::read(err[0], buffer.data(), buffer.size());
        if (n == 0 || (n < 0 && errno != EINTR)) {
            break;
        }
        if (n > 0) {
            result.err.append(buffer.data(), static_cast<std::size_t>(n));
        }
    }
    ::close(err[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(wstatus)) {
        result.status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        result.signal = WTERMSIG(wstatus);
    }
    return result;
}

} // namespace taskmon::cli::test
