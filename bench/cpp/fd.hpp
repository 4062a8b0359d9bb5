// SPDX-License-Identifier: GPL-2.0-only
//
// Fd: an owned file descriptor, closed when destroyed (move-only).
#ifndef TASKMON_BENCH_FD_HPP
#define TASKMON_BENCH_FD_HPP

#include <unistd.h>

#include <utility>

namespace taskmon::bench {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept
    {
        if (this != &other) {
            reset(std::exchange(other.fd_, -1));
        }
        return *this;
    }
    ~Fd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }

    void reset(int fd = -1) noexcept
    {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

} // namespace taskmon::bench

#endif // TASKMON_BENCH_FD_HPP
