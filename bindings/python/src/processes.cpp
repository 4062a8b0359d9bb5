// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon._ext: the conversions behind Monitor.processes() and
// Monitor.hidden() (processes.hpp).
#include "processes.hpp"
#include "text.hpp"

#include <algorithm>
#include <chrono>
#include <string>

namespace py = pybind11;

namespace taskmon_python {

ProcessTuples process_tuples(const std::vector<taskmon::ProcessEntry>& entries)
{
    ProcessTuples out;
    out.reserve(entries.size());
    for (const taskmon::ProcessEntry& e : entries) {
        out.emplace_back(e.pid, e.start_time.count());
    }
    return out;
}

std::vector<py::object> hidden_tuples(const std::vector<taskmon::HiddenProcess>& found)
{
    std::vector<py::object> out;
    out.reserve(found.size());
    for (const taskmon::HiddenProcess& h : found) {
        py::list reasons;
        for (const std::string& name : taskmon::reason_names(h.reasons)) {
            reasons.append(text(name));
        }
        const py::object uid = h.uid ? py::object(py::int_(*h.uid)) : py::object(py::none());
        out.push_back(py::make_tuple(h.pid, text(h.comm), h.start_time.count(), reasons, uid,
                                     text(h.detail)));
    }
    return out;
}

taskmon::HiddenScanOptions scan_options(const std::filesystem::path& proc, std::int64_t settle_ns)
{
    taskmon::HiddenScanOptions options;
    options.proc = proc;
    options.settle = std::chrono::ceil<std::chrono::milliseconds>(
        std::chrono::nanoseconds(std::max<std::int64_t>(settle_ns, 0)));
    return options;
}

void raise_proc_error(const std::system_error& error, const std::filesystem::path& proc)
{
    const std::string& native = proc.native();
    PyObject* filename =
        PyUnicode_DecodeFSDefaultAndSize(native.data(), static_cast<Py_ssize_t>(native.size()));
    if (filename == nullptr) {
        throw py::error_already_set();
    }
    py::dict kwargs;
    kwargs["operation"] = "find_hidden";
    const py::object cls = py::module_::import("taskmon._errors").attr("Error");
    const py::object exc = cls(error.code().value(), text(error.what()),
                               py::reinterpret_steal<py::object>(filename), **kwargs);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    throw py::error_already_set();
}

} // namespace taskmon_python
