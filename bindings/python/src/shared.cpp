// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon._ext: the device files that taskmon.Process shares, and its lean
// entries (see shared.hpp).
#include "shared.hpp"

#include <pthread.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <new>
#include <optional>
#include <string>
#include <system_error>

namespace py = pybind11;

namespace taskmon_python {

namespace {

// Leaked on purpose: a forked child may inherit the mutex locked by a thread
// that does not exist there, so it starts a new registry rather than
// destroy (or wait for) the old one.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
SharedDevices* registry = new SharedDevices;

} // namespace

SharedDevices& SharedDevices::instance() noexcept
{
    return *registry;
}

const taskmon::Monitor* SharedDevices::find(const std::string& path) const noexcept
{
    for (const auto& [kept, monitor] : devices_) {
        if (kept == path) {
            return monitor.get();
        }
    }
    return nullptr;
}

void SharedDevices::open(const std::string& path)
{
    const std::unique_lock<std::shared_mutex> lock(mutex_);
    if (find(path) == nullptr) {
        devices_.emplace_back(path, std::make_unique<taskmon::Monitor>(path));
    }
}

void SharedDevices::close_all()
{
    const std::unique_lock<std::shared_mutex> lock(mutex_);
    devices_.clear();
}

void SharedDevices::forget_after_fork() noexcept
{
    // Only this thread exists in the child: nothing else touches the old
    // registry, whose mutex may be held by a parent's thread forever.
    for (auto& [path, monitor] : registry->devices_) {
        monitor->close();
    }
    registry = new (std::nothrow) SharedDevices;
    if (registry == nullptr) {
        std::terminate();
    }
}

namespace {

// The result types of Process.cpu_times() and memory_info()
// (taskmon._process.pcputimes, pmem: tuple subclasses), set once at import.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
PyTypeObject* cpu_times_type = nullptr;
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
PyTypeObject* memory_info_type = nullptr;

// Arguments (path: bytes, pid: int[, start: int | None]); false with a
// Python error set if they are not that.
bool parse(PyObject* const* args, Py_ssize_t nargs, Py_ssize_t want, const char* name,
           std::string& path, pid_t& pid, std::optional<std::int64_t>& start)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, want, nargs);
        return false;
    }
    if (!PyBytes_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "%s(): the device path must be bytes", name);
        return false;
    }
    path.assign(PyBytes_AS_STRING(args[0]), static_cast<std::size_t>(PyBytes_GET_SIZE(args[0])));
    const long value = PyLong_AsLong(args[1]);
    if (value == -1 && PyErr_Occurred() != nullptr) {
        return false;
    }
    if (value < INT_MIN || value > INT_MAX) {
        PyErr_Format(PyExc_OverflowError, "%s(): pid %ld does not fit a pid_t", name, value);
        return false;
    }
    pid = static_cast<pid_t>(value);
    if (want > 2 && args[2] != Py_None) {
        const long long ns = PyLong_AsLongLong(args[2]);
        if (ns == -1 && PyErr_Occurred() != nullptr) {
            return false;
        }
        start = ns;
    }
    return true;
}

// TM_STATS of pid, for the groups of fields, on the shared device of path,
// without the GIL; nullopt with the Python exception set if it failed.
std::optional<taskmon::Stats> read_stats(const std::string& path, pid_t pid, taskmon::Fields fields)
{
    std::optional<taskmon::Stats> stats;
    std::exception_ptr failed;
    PyThreadState* const saved = PyEval_SaveThread();
    try {
        stats = SharedDevices::instance().call(
            path, [pid, fields](const taskmon::Monitor& m) { return m.stats(pid, fields); });
    } catch (...) {
        failed = std::current_exception();
    }
    PyEval_RestoreThread(saved);
    if (failed) {
        set_python_error(failed);
        return std::nullopt;
    }
    return stats;
}

// False when pid now names another process than the one that started at
// start (either unknown: true).
bool same_process(const taskmon::Stats& s, const std::optional<std::int64_t>& start)
{
    return !start || !s.start_time || s.start_time->count() == *start;
}

// type(a, b, c): a tuple subclass (a NamedTuple) made as tuple.__new__ makes
// it, without a Python frame; steals the references.
PyObject* make_tuple(PyTypeObject* type, std::initializer_list<PyObject*> items)
{
    PyObject* result = type->tp_alloc(type, static_cast<Py_ssize_t>(items.size()));
    Py_ssize_t i = 0;
    for (PyObject* item : items) {
        if (result == nullptr || item == nullptr) {
            Py_XDECREF(item);
        } else {
            PyTuple_SET_ITEM(result, i, item);
        }
        ++i;
    }
    for (PyObject* item : items) {
        if (item == nullptr && result != nullptr) {
            Py_DECREF(result);
            return nullptr;
        }
    }
    return result;
}

PyObject* not_reported(const char* what)
{
    PyErr_Format(PyExc_NotImplementedError, "the loaded taskmonitor module does not report %s()",
                 what);
    return nullptr;
}

PyObject* types_missing()
{
    PyErr_SetString(PyExc_RuntimeError, "taskmon._ext: _shared_set_types() was not called");
    return nullptr;
}

// _shared_start(path, pid) -> start_time_ns or None (not reported).
PyObject* shared_start(PyObject* /*module*/, PyObject* const* args, Py_ssize_t nargs)
{
    std::string path;
    pid_t pid = 0;
    std::optional<std::int64_t> start;
    if (!parse(args, nargs, 2, "_shared_start", path, pid, start)) {
        return nullptr;
    }
    // The start time costs the kernel nothing: no walk, no per-CPU sums.
    const auto s = read_stats(path, pid, taskmon::Field::start_time);
    if (!s) {
        return nullptr;
    }
    if (!s->start_time) {
        Py_RETURN_NONE;
    }
    return PyLong_FromLongLong(s->start_time->count());
}

// The common part of _shared_cpu_times() and _shared_memory_info(): the
// arguments (path, pid, start), TM_STATS of pid, and the start-time check.
// Without stats, done is what the entry returns: nullptr with a Python
// error set, or a new reference to None if pid now names another process.
std::optional<taskmon::Stats> read_same_process(PyObject* const* args, Py_ssize_t nargs,
                                                const char* name, PyTypeObject* result_type,
                                                taskmon::Fields fields, PyObject*& done)
{
    std::string path;
    pid_t pid = 0;
    std::optional<std::int64_t> start;
    done = nullptr;
    if (!parse(args, nargs, 3, name, path, pid, start)) {
        return std::nullopt;
    }
    if (result_type == nullptr) {
        types_missing();
        return std::nullopt;
    }
    auto s = read_stats(path, pid, fields | taskmon::Field::start_time);
    if (s && !same_process(*s, start)) {
        Py_INCREF(Py_None);
        done = Py_None;
        return std::nullopt;
    }
    return s;
}

// _shared_cpu_times(path, pid, start) -> pcputimes(user, system) in
// seconds, or None if pid names another process than the one started at start.
PyObject* shared_cpu_times(PyObject* /*module*/, PyObject* const* args, Py_ssize_t nargs)
{
    PyObject* done = nullptr;
    const auto s = read_same_process(args, nargs, "_shared_cpu_times", cpu_times_type,
                                     taskmon::Field::cpu, done);
    if (!s) {
        return done;
    }
    if (!s->user || !s->system) {
        return not_reported("cpu_times");
    }
    return make_tuple(cpu_times_type,
                      {PyFloat_FromDouble(static_cast<double>(s->user->count()) / 1e9),
                       PyFloat_FromDouble(static_cast<double>(s->system->count()) / 1e9)});
}

// _shared_memory_info(path, pid, start) -> pmem(rss, vms, shared) in bytes
// (all 0 for a kernel thread, as psutil), or None as _shared_cpu_times.
PyObject* shared_memory_info(PyObject* /*module*/, PyObject* const* args, Py_ssize_t nargs)
{
    PyObject* done = nullptr;
    const auto s = read_same_process(args, nargs, "_shared_memory_info", memory_info_type,
                                     taskmon::Field::rss | taskmon::Field::vsize, done);
    if (!s) {
        return done;
    }
    std::uint64_t rss = 0;
    std::uint64_t vms = 0;
    std::uint64_t shared = 0;
    if (s->rss_anon_bytes && s->vsize_bytes) {
        shared = s->rss_file_bytes.value_or(0) + s->rss_shmem_bytes.value_or(0);
        rss = *s->rss_anon_bytes + shared;
        vms = *s->vsize_bytes;
    }
    return make_tuple(memory_info_type,
                      {PyLong_FromUnsignedLongLong(rss), PyLong_FromUnsignedLongLong(vms),
                       PyLong_FromUnsignedLongLong(shared)});
}

// NOLINTNEXTLINE(cppcoreguidelines-avoid-c-arrays,modernize-avoid-c-arrays)
PyMethodDef methods[] = {
    {"_shared_start", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(shared_start)),
     METH_FASTCALL,
     "_shared_start(path: bytes, pid: int) -> Optional[int]\n\n"
     "TM_STATS on the shared device (the start time only): the start time (ns since boot), or "
     "None."},
    {"_shared_cpu_times",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(shared_cpu_times)), METH_FASTCALL,
     "_shared_cpu_times(path: bytes, pid: int, start: Optional[int]) -> "
     "Optional[Tuple[float, float]]\n\n"
     "TM_STATS on the shared device: pcputimes, or None if the pid was reused."},
    {"_shared_memory_info",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(shared_memory_info)), METH_FASTCALL,
     "_shared_memory_info(path: bytes, pid: int, start: Optional[int]) -> "
     "Optional[Tuple[int, int, int]]\n\n"
     "TM_STATS on the shared device: pmem, or None if the pid was reused."},
    {nullptr, nullptr, 0, nullptr},
};

PyTypeObject* tuple_type(const py::object& cls, std::size_t fields)
{
    if (!PyType_Check(cls.ptr()) ||
        PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(cls.ptr()), &PyTuple_Type) == 0 ||
        py::len(cls.attr("_fields")) != fields) {
        throw py::type_error("_shared_set_types(): a NamedTuple class of the right size");
    }
    cls.inc_ref(); // kept for the life of the process
    return reinterpret_cast<PyTypeObject*>(cls.ptr());
}

} // namespace

void def_shared(py::module_& m)
{
    if (PyModule_AddFunctions(m.ptr(), methods) != 0) {
        throw py::error_already_set();
    }
    m.def(
        "_shared_set_types",
        [](const py::object& cpu_times, const py::object& memory_info) {
            cpu_times_type = tuple_type(cpu_times, 2);
            memory_info_type = tuple_type(memory_info, 3);
        },
        py::arg("cpu_times"), py::arg("memory_info"),
        "The result types of _shared_cpu_times() and _shared_memory_info().");
    m.def(
        "_shared_close",
        []() {
            const py::gil_scoped_release nogil;
            SharedDevices::instance().close_all();
        },
        "Close the shared devices, after the calls in flight; the next call reopens.");
    const int err = ::pthread_atfork(nullptr, nullptr, [] { SharedDevices::forget_after_fork(); });
    if (err != 0) {
        throw std::system_error(err, std::generic_category(), "pthread_atfork");
    }
}

} // namespace taskmon_python
