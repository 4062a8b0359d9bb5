// SPDX-License-Identifier: GPL-2.0-only
//
// The process the single-pid benchmarks measure: a child of the bench that
// sleeps in pause() until the bench exits (then SIGKILL + waitpid, or the
// kernel's PR_SET_PDEATHSIG if the bench dies first).
#ifndef TASKMON_BENCH_CHILD_HPP
#define TASKMON_BENCH_CHILD_HPP

#include <sys/types.h>

namespace taskmon::bench {

class SleepingChild {
public:
    /** Forks the child; pid() is -1 (errno kept in error()) if fork failed. */
    SleepingChild();
    SleepingChild(const SleepingChild&) = delete;
    SleepingChild& operator=(const SleepingChild&) = delete;
    SleepingChild(SleepingChild&&) = delete;
    SleepingChild& operator=(SleepingChild&&) = delete;
    ~SleepingChild();

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] int error() const noexcept { return error_; }

private:
    pid_t pid_ = -1;
    int error_ = 0;
};

/**
 * The one sleeping child every benchmark of this run shares, forked at the
 * first call and killed when the program exits: the figures of all the
 * single-pid benchmarks are then of the same process.
 */
const SleepingChild& sleeping_child();

} // namespace taskmon::bench

#endif // TASKMON_BENCH_CHILD_HPP
