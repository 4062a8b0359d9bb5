// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon._ext: the kernel's list of processes and the hidden ones
// (libtaskmon's list_processes() and find_hidden(), docs/hidden.md), as two
// methods of _ext.Monitor.  module.cpp adds them with def_processes(); the
// Python records (taskmon.ProcessEntry, taskmon.HiddenProcess) are made in
// taskmon/_hidden.py from the plain tuples returned here.
#ifndef TASKMON_PYTHON_PROCESSES_HPP
#define TASKMON_PYTHON_PROCESSES_HPP

#include <taskmon/taskmon.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdint>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace taskmon_python {

/** (pid, start_time_ns) per process. */
using ProcessTuples = std::vector<std::pair<pid_t, std::int64_t>>;

[[nodiscard]] ProcessTuples process_tuples(const std::vector<taskmon::ProcessEntry>& entries);

/**
 * Per hidden process, the tuple (pid, comm, start_time_ns, reasons, uid,
 * detail): reasons a list of names ("getdents64", ...), uid an int or None.
 */
[[nodiscard]] std::vector<pybind11::object>
hidden_tuples(const std::vector<taskmon::HiddenProcess>& found);

/** The scan's options; the settle rounded up to whole milliseconds. */
[[nodiscard]] taskmon::HiddenScanOptions scan_options(const std::filesystem::path& proc,
                                                      std::int64_t settle_ns);

/**
 * Raises (as pybind11::error_already_set) the taskmon.Error (an OSError, with
 * errno, the message, @p proc as filename and operation "find_hidden") of a
 * failure to read the procfs.
 */
[[noreturn]] void raise_proc_error(const std::system_error& error,
                                   const std::filesystem::path& proc);

/**
 * Adds processes() and hidden() to the pybind11 class of module.cpp's
 * guarded Monitor, whose call(f) runs f(monitor) without the GIL and under
 * the lock that keeps close() from other threads waiting.
 */
template <class Class>
void def_processes(Class& cls)
{
    namespace py = pybind11;
    using Guarded = typename Class::type;
    cls.def(
           "processes",
           [](Guarded& self) {
               return process_tuples(
                   self.call([](const taskmon::Monitor& d) { return taskmon::list_processes(d); }));
           },
           "TM_LIST: (pid, start_time_ns) of every process, ascending pid.")
        .def(
            "hidden",
            [](Guarded& self, const std::filesystem::path& proc, std::int64_t settle_ns) {
                const taskmon::HiddenScanOptions options = scan_options(proc, settle_ns);
                std::vector<taskmon::HiddenProcess> found;
                try {
                    found = self.call([&options](const taskmon::Monitor& d) {
                        return taskmon::find_hidden(d, options);
                    });
                } catch (const taskmon::Error&) {
                    throw; // the device's: module.cpp's translator
                } catch (const std::system_error& e) {
                    raise_proc_error(e, proc); // reading the procfs
                }
                return hidden_tuples(found);
            },
            py::arg("proc"), py::arg("settle_ns"),
            "find_hidden(): (pid, comm, start_time_ns, reasons, uid, detail) per hidden process.");
}

} // namespace taskmon_python

#endif // TASKMON_PYTHON_PROCESSES_HPP
