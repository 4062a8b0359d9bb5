// SPDX-License-Identifier: GPL-2.0-only
//
// The built taskmon and hello-ioctl programs, without a device: what they do
// when the reader of their output has gone away.
#include "closed_pipe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

namespace {

using taskmon::cli::test::ClosedPipeRun;
using taskmon::cli::test::run_into_closed_pipe;

class Programs : public ::testing::TestWithParam<const char*> {};

TEST_P(Programs, AClosedPipeEndsQuietlyWithStatus0)
{
    for (const char* option : {"--help", "--version"}) {
        const ClosedPipeRun r = run_into_closed_pipe(GetParam(), {option});
        ASSERT_TRUE(r.pipe_was_closed) << "the test's pipe still had a reader";
        EXPECT_EQ(r.signal, 0) << option << ": killed by signal " << r.signal;
        EXPECT_EQ(r.status, 0) << option << ": " << r.err;
        EXPECT_EQ(r.err, "") << option;
    }
}

// A closed standard output (no file at all) is an error, unlike a closed pipe.
TEST_P(Programs, AClosedStandardOutputIsAnError)
{
    const pid_t pid = fork();
    if (pid == 0) {
        ::close(STDOUT_FILENO);
        ::close(STDERR_FILENO); // nothing to check it by here: only the status
        execl(GetParam(), GetParam(), "--help", static_cast<char*>(nullptr));
        _exit(127);
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFEXITED(wstatus));
    EXPECT_EQ(WEXITSTATUS(wstatus), 1);
}

INSTANTIATE_TEST_SUITE_P(Cli, Programs,
                         ::testing::Values(TASKMON_CLI_BINARY, TASKMON_HELLO_BINARY));

} // namespace
