// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon._ext: the device files that taskmon.Process shares.
//
// taskmon.Process(pid).cpu_times() must cost little more than the one
// request it makes (issue 16: at least 20 times cheaper than psutil's), so
// it neither opens the device per call nor builds a whole taskmon.Stats:
//
// - one read-only taskmon::Monitor per device path, opened by the first call
//   and kept, shared by every Process of the interpreter and every thread
//   (the requests are stateless); closed by close_shared() (taskmon's
//   close_shared(), also run at exit), and forgotten in a forked child,
//   which opens its own (pthread_atfork: any fork, Python's or C's);
// - lean entries written against the C API (METH_FASTCALL, no pybind11
//   dispatch) that return exactly what Process's methods return.
#ifndef TASKMON_PYTHON_SHARED_HPP
#define TASKMON_PYTHON_SHARED_HPP

#include <taskmon/taskmon.hpp>

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace taskmon_python {

/** The test hook of every call into the kernel (module.cpp, _ext._set_test_delay). */
void test_delay();

/** The kept read-only Monitors, one per device path (the path's bytes). */
class SharedDevices {
public:
    /** The registry of this process (a forked child gets a fresh one). */
    static SharedDevices& instance() noexcept;

    /**
     * f(monitor) on the Monitor of @p path, opened first if need be; the
     * caller has released the GIL.  Throws what opening or f throws.
     */
    template <class F>
    auto call(const std::string& path, F&& f)
    {
        for (;;) {
            {
                const std::shared_lock<std::shared_mutex> lock(mutex_);
                if (const taskmon::Monitor* monitor = find(path)) {
                    test_delay();
                    return std::forward<F>(f)(*monitor);
                }
            }
            open(path); // then look again: close_all() may run in between
        }
    }

    /** Closes every kept Monitor after the calls in flight; the next call reopens. */
    void close_all();

    /** In a forked child: closes the inherited descriptors, starts a new registry. */
    static void forget_after_fork() noexcept;

private:
    [[nodiscard]] const taskmon::Monitor* find(const std::string& path) const noexcept;
    void open(const std::string& path);

    // Shared: a request in flight; exclusive: opening or closing a Monitor.
    std::shared_mutex mutex_;
    std::vector<std::pair<std::string, std::unique_ptr<taskmon::Monitor>>> devices_;
};

/** Adds the shared-device functions to the extension (_ext._shared_*). */
void def_shared(pybind11::module_& m);

/** Sets the Python exception of a pending C++ one (module.cpp's translator). */
void set_python_error(std::exception_ptr pending);

} // namespace taskmon_python

#endif // TASKMON_PYTHON_SHARED_HPP
