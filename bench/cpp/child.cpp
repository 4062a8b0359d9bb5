// SPDX-License-Identifier: GPL-2.0-only
#include "child.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace taskmon::bench {

namespace {

// fork(): the child sleeps until killed; the parent gets its pid (or -1).
pid_t spawn()
{
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(1); // the bench died before prctl()
        }
        for (;;) {
            ::pause();
        }
    }
    return pid;
}

} // namespace

SleepingChild::SleepingChild() : pid_(spawn()), error_(pid_ < 0 ? errno : 0)
{}

SleepingChild::~SleepingChild()
{
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
}

const SleepingChild& sleeping_child()
{
    static const SleepingChild child;
    return child;
}

} // namespace taskmon::bench
