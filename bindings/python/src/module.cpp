// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon._ext: the pybind11 extension under the Python package taskmon.
//
// A thin, private layer over libtaskmon; the public API (taskmon.Monitor,
// taskmon.Hello, taskmon.Sample, the exceptions) is the Python package's.
// What this file adds to libtaskmon:
//
// - the GIL is released around every system call (open, ioctl, close), so
//   other Python threads run while one waits for the kernel;
// - a call on a closed object raises ValueError, as Python's files do;
// - close() may race with calls from other threads: a shared lock keeps the
//   descriptor open (and its number from being reused) until every call in
//   flight has returned, which libtaskmon itself leaves to its caller;
// - libtaskmon's exceptions become the OSError subclasses of
//   taskmon._errors, with errno, the device file, the complete message and,
//   for a missing process, its pid.
#include <taskmon/taskmon.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace {

// A call on a closed object; becomes ValueError with this message.
class ClosedError : public std::exception {
public:
    explicit ClosedError(const char* message) noexcept : message_(message) {}
    [[nodiscard]] const char* what() const noexcept override { return message_; }

private:
    const char* message_;
};

// Test hook (taskmon._ext._set_test_delay): a pause inside every guarded
// call, after the GIL is released and right before the system call.  It lets
// the tests prove that other Python threads run during a call, which a real
// ioctl is too short to show.  0 (the default) costs one relaxed load.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
std::atomic<std::int64_t> test_delay_ns{0};

void test_delay()
{
    const std::int64_t delay = test_delay_ns.load(std::memory_order_relaxed);
    if (delay > 0) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(delay));
    }
}

// A libtaskmon device (Monitor or Hello) that Python threads share.
template <class Device>
class Guarded {
public:
    Guarded(const std::filesystem::path& path, const char* closed_message)
        : device_(path), closed_message_(closed_message)
    {}

    // Runs f(device) without the GIL, under the shared lock; ValueError if closed.
    template <class F>
    auto call(F&& f)
    {
        const py::gil_scoped_release nogil;
        const std::shared_lock<std::shared_mutex> lock(mutex_);
        if (!device_) {
            throw ClosedError(closed_message_);
        }
        test_delay();
        return std::forward<F>(f)(device_);
    }

    // Waits for the calls in flight, then closes; idempotent.
    void close()
    {
        const py::gil_scoped_release nogil;
        const std::unique_lock<std::shared_mutex> lock(mutex_);
        test_delay();
        device_.close();
    }

    [[nodiscard]] bool closed()
    {
        const py::gil_scoped_release nogil;
        const std::shared_lock<std::shared_mutex> lock(mutex_);
        return !device_;
    }

private:
    Device device_;
    const char* closed_message_;
    std::shared_mutex mutex_;
};

using PyMonitor = Guarded<taskmon::Monitor>;
using PyHello = Guarded<taskmon::Hello>;

constexpr const char* closed_monitor = "I/O operation on closed monitor";
constexpr const char* closed_hello = "I/O operation on closed hello device";

// Opens a device without holding the GIL: open(2) may block (a FIFO does).
template <class T>
std::unique_ptr<T> open_device(const std::filesystem::path& path, const char* closed_message)
{
    const py::gil_scoped_release nogil;
    return std::make_unique<T>(path, closed_message);
}

// ---- exceptions -----------------------------------------------------------

// The classes of taskmon._errors, looked up once when the module loads and
// kept for the life of the process (never decref'd at exit).
struct ErrorClasses {
    py::handle error;
    py::handle device_not_found;
    py::handle permission_denied;
    py::handle not_supported;
    py::handle no_target;
    py::handle no_such_process;
    py::handle invalid_argument;
};

ErrorClasses& error_classes()
{
    static ErrorClasses classes; // filled in by load_error_classes()
    return classes;
}

void load_error_classes()
{
    const py::module_ errors = py::module_::import("taskmon._errors");
    const auto get = [&errors](const char* name) {
        return py::object(errors.attr(name)).release();
    };
    ErrorClasses& classes = error_classes();
    classes.error = get("Error");
    classes.device_not_found = get("DeviceNotFoundError");
    classes.permission_denied = get("PermissionDeniedError");
    classes.not_supported = get("NotSupportedError");
    classes.no_target = get("NoTargetError");
    classes.no_such_process = get("NoSuchProcessError");
    classes.invalid_argument = get("InvalidArgumentError");
}

// UTF-8 text from C++, never failing on bytes that are not UTF-8 (a device
// path can hold any bytes): those are replaced.
py::str text(const std::string& value)
{
    PyObject* str =
        PyUnicode_DecodeUTF8(value.data(), static_cast<Py_ssize_t>(value.size()), "replace");
    if (str == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::str>(str);
}

// The device file as Python names files: os.fsdecode() of its bytes.
py::object filename(const std::filesystem::path& device)
{
    if (device.empty()) {
        return py::none();
    }
    const std::string& native = device.native();
    PyObject* str =
        PyUnicode_DecodeFSDefaultAndSize(native.data(), static_cast<Py_ssize_t>(native.size()));
    if (str == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(str);
}

// The Python exception for a libtaskmon exception: cls(errno, message, filename, **kwargs).
py::object make_error(py::handle cls, const taskmon::Error& error,
                      const py::dict& kwargs = py::dict())
{
    return cls(error.errnum(), text(error.what()), filename(error.device()), **kwargs);
}

// Sets the Python error for a libtaskmon exception.
void set_error(py::handle cls, const taskmon::Error& error, const py::dict& kwargs = py::dict())
{
    try {
        const py::object exc = make_error(cls, error, kwargs);
        PyErr_SetObject(cls.ptr(), exc.ptr());
    } catch (py::error_already_set& failed) {
        failed.restore(); // building the exception failed: raise that instead
    }
}

// The keyword arguments of NoSuchProcessError: its pid, or None if unknown.
py::dict pid_kwargs(const taskmon::NoSuchProcess& e)
{
    py::dict kwargs;
    kwargs["pid"] = e.pid() > 0 ? py::object(py::int_(e.pid())) : py::object(py::none());
    return kwargs;
}

// The Python exception object (not raised) for one failed record of a batch.
py::object error_object(const std::exception_ptr& pending)
{
    const ErrorClasses& classes = error_classes();
    try {
        std::rethrow_exception(pending);
    } catch (const taskmon::NoSuchProcess& e) {
        return make_error(classes.no_such_process, e, pid_kwargs(e));
    } catch (const taskmon::DeviceNotFound& e) {
        return make_error(classes.device_not_found, e);
    } catch (const taskmon::PermissionDenied& e) {
        return make_error(classes.permission_denied, e);
    } catch (const taskmon::NotSupported& e) {
        return make_error(classes.not_supported, e);
    } catch (const taskmon::NoTarget& e) {
        return make_error(classes.no_target, e);
    } catch (const taskmon::Error& e) {
        return make_error(e.errnum() == EINVAL ? classes.invalid_argument : classes.error, e);
    }
}

// pybind11 wants exactly void(std::exception_ptr).
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void translate_exception(std::exception_ptr pending)
{
    if (!pending) {
        return;
    }
    const ErrorClasses& classes = error_classes();
    try {
        std::rethrow_exception(pending);
    } catch (const ClosedError& e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const taskmon::NoSuchProcess& e) {
        set_error(classes.no_such_process, e, pid_kwargs(e));
    } catch (const taskmon::DeviceNotFound& e) {
        set_error(classes.device_not_found, e);
    } catch (const taskmon::PermissionDenied& e) {
        set_error(classes.permission_denied, e);
    } catch (const taskmon::NotSupported& e) {
        set_error(classes.not_supported, e);
    } catch (const taskmon::NoTarget& e) {
        set_error(classes.no_target, e);
    } catch (const taskmon::Error& e) {
        set_error(e.errnum() == EINVAL ? classes.invalid_argument : classes.error, e);
    }
}

// A pid from Python: any int, however large.  Those outside pid_t are as
// invalid as 0 is and get the same error (EINVAL: InvalidArgumentError, a
// ValueError), not the TypeError of pybind11's overload resolution.
std::optional<pid_t> to_pid(const py::int_& value)
{
    int overflow = 0;
    const long long pid = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (pid == -1 && PyErr_Occurred() != nullptr) {
        throw py::error_already_set();
    }
    if (overflow != 0 || pid < std::numeric_limits<pid_t>::min() ||
        pid > std::numeric_limits<pid_t>::max()) {
        return std::nullopt;
    }
    return static_cast<pid_t>(pid);
}

// The error of a pid out of pid_t's range, worded as libtaskmon's for 0.
taskmon::Error pid_range_error(const std::filesystem::path& device, const char* request,
                               const char* what, const py::int_& pid)
{
    return {EINVAL,
            std::string(request) + " on " + device.string() + " failed: Invalid argument. " + what +
                " must be a positive process id (got " + std::string(py::repr(pid)) + ").",
            device};
}

// Runs f(monitor, pid) for a pid from Python (see to_pid()).
template <class F>
auto with_pid(PyMonitor& self, const py::int_& value, const char* request, const char* what, F&& f)
{
    const std::optional<pid_t> pid = to_pid(value);
    if (!pid) {
        const auto path = self.call([](auto& d) { return d.path(); });
        throw pid_range_error(path, request, what, value);
    }
    return self.call([&f, pid](taskmon::Monitor& d) { return std::forward<F>(f)(d, *pid); });
}

template <class T>
py::object optional_int(const std::optional<T>& value)
{
    return value ? py::object(py::int_(*value)) : py::object(py::none());
}

py::object optional_ns(const std::optional<std::chrono::nanoseconds>& value)
{
    return value ? py::object(py::int_(value->count())) : py::object(py::none());
}

// A Stats as the keyword arguments of taskmon.Stats (None: not filled).
py::dict stats_dict(const taskmon::Stats& s)
{
    py::dict d;
    d["pid"] = py::int_(s.pid);
    d["tgid"] = optional_int(s.tgid);
    d["ppid"] = optional_int(s.ppid);
    d["comm"] = s.comm ? py::object(text(*s.comm)) : py::object(py::none());
    d["threads"] = optional_int(s.threads);
    d["state"] = s.state ? py::object(text(std::string(1, *s.state))) : py::object(py::none());
    d["uid"] = optional_int(s.uid);
    d["euid"] = optional_int(s.euid);
    d["gid"] = optional_int(s.gid);
    d["egid"] = optional_int(s.egid);
    d["user_ns"] = optional_ns(s.user);
    d["system_ns"] = optional_ns(s.system);
    d["minor_faults"] = optional_int(s.minor_faults);
    d["major_faults"] = optional_int(s.major_faults);
    d["voluntary_ctxsw"] = optional_int(s.voluntary_ctxsw);
    d["involuntary_ctxsw"] = optional_int(s.involuntary_ctxsw);
    d["rss_anon_bytes"] = optional_int(s.rss_anon_bytes);
    d["rss_file_bytes"] = optional_int(s.rss_file_bytes);
    d["rss_shmem_bytes"] = optional_int(s.rss_shmem_bytes);
    d["vsize_bytes"] = optional_int(s.vsize_bytes);
    d["start_time_ns"] = optional_ns(s.start_time);
    d["sample_time_ns"] = optional_ns(s.sample_time);
    return d;
}

taskmon::Scope scope_of(bool threads)
{
    return threads ? taskmon::Scope::thread : taskmon::Scope::process;
}

// A Stats as the keyword arguments of taskmon.Stats.  A std::map, not a
// py::dict, so that pybind11's signature (and the stub) says Dict[str, object].
using StatsFields = std::map<std::string, py::object>;

StatsFields stats_fields(const taskmon::Stats& s)
{
    StatsFields fields;
    for (const auto& item : stats_dict(s)) {
        fields.emplace(item.first.cast<std::string>(),
                       py::reinterpret_borrow<py::object>(item.second));
    }
    return fields;
}

// stats_many: per pid, its fields, or the error object of that pid.
std::vector<py::object> stats_many(PyMonitor& self, const std::vector<py::int_>& pids, bool threads)
{
    std::vector<pid_t> asked;
    asked.reserve(pids.size());
    std::vector<bool> in_range(pids.size(), true);
    for (std::size_t i = 0; i < pids.size(); ++i) {
        const std::optional<pid_t> pid = to_pid(pids[i]);
        in_range[i] = pid.has_value();
        asked.push_back(pid.value_or(0)); // 0: EINVAL in its own result, never sent
    }
    const auto results = self.call(
        [&asked, threads](taskmon::Monitor& d) { return d.stats(asked, scope_of(threads)); });
    const auto path = self.call([](auto& d) { return d.path(); });
    std::vector<py::object> out;
    out.reserve(pids.size());
    for (std::size_t i = 0; i < pids.size(); ++i) {
        if (!in_range[i]) {
            out.push_back(make_error(error_classes().invalid_argument,
                                     pid_range_error(path, "TM_STATS", "A pid", pids[i])));
        } else if (results[i].ok()) {
            out.push_back(py::cast(stats_fields(results[i].stats)));
        } else {
            out.push_back(error_object(results[i].exception));
        }
    }
    return out;
}

} // namespace

PYBIND11_MODULE(_ext, m)
{
    m.doc() = "Private extension of the taskmon package: libtaskmon's Monitor and Hello.\n\n"
              "Use the taskmon package (taskmon.Monitor, taskmon.Hello) instead.";
    m.attr("__version__") = TASKMON_VERSION_STRING;
    m.attr("DEFAULT_MONITOR_PATH") = taskmon::Monitor::default_path;
    m.attr("DEFAULT_HELLO_PATH") = taskmon::Hello::default_path;

    load_error_classes();
    py::register_exception_translator(translate_exception);

    m.def(
        "library_version", []() { return std::string(taskmon::version()); },
        "The version of the libtaskmon shared library loaded at run time.");
    m.def(
        "_set_test_delay",
        [](double seconds) {
            test_delay_ns.store(static_cast<std::int64_t>(seconds * 1e9),
                                std::memory_order_relaxed);
        },
        py::arg("seconds"),
        "Tests only: pause this long inside every call, without the GIL (0 turns it off).");

    py::class_<PyMonitor>(m, "Monitor", "An open /dev/taskmonitor (libtaskmon's taskmon::Monitor).")
        .def(py::init([](const std::filesystem::path& path) {
                 return open_device<PyMonitor>(path, closed_monitor);
             }),
             py::arg("path"))
        .def("close", &PyMonitor::close, "Close the device; idempotent.")
        .def_property_readonly("closed", &PyMonitor::closed)
        .def(
            "fileno", [](PyMonitor& self) { return self.call([](auto& d) { return d.fd(); }); },
            "The file descriptor.")
        .def(
            "sample",
            [](PyMonitor& self) {
                const taskmon::Sample s = self.call([](auto& d) { return d.sample(); });
                return std::make_pair(s.user.count(), s.system.count());
            },
            "TM_GET: (user_ns, system_ns).")
        .def(
            "sample_text",
            [](PyMonitor& self) { return self.call([](auto& d) { return d.sample_text(); }); },
            "TM_GET_TEXT: 'pid N usr U sys S\\n'.")
        .def(
            "start", [](PyMonitor& self) { self.call([](auto& d) { d.start(); }); }, "TM_START.")
        .def(
            "stop", [](PyMonitor& self) { self.call([](auto& d) { d.stop(); }); }, "TM_STOP.")
        .def(
            "target", [](PyMonitor& self) { return self.call([](auto& d) { return d.target(); }); },
            "TM_PID, reading the target.")
        .def(
            "set_target",
            [](PyMonitor& self, const py::int_& pid) {
                with_pid(self, pid, "TM_PID", "A target pid",
                         [](taskmon::Monitor& d, pid_t p) { d.set_target(p); });
            },
            py::arg("pid"), "TM_PID, setting the target.")
        .def(
            "stats",
            [](PyMonitor& self, const py::int_& pid, bool threads) {
                return stats_fields(with_pid(self, pid, "TM_STATS", "A pid",
                                             [threads](taskmon::Monitor& d, pid_t p) {
                                                 return d.stats(p, scope_of(threads));
                                             }));
            },
            py::arg("pid"), py::arg("threads"), "TM_STATS: the statistics of pid, as a dict.")
        .def(
            "target_stats",
            [](PyMonitor& self, bool threads) {
                return stats_fields(
                    self.call([threads](auto& d) { return d.stats(scope_of(threads)); }));
            },
            py::arg("threads"), "TM_STATS with pid 0: the target's statistics, as a dict.")
        .def("stats_many", &stats_many, py::arg("pids"), py::arg("threads"),
             "TM_STATS_BATCH: a dict, or the error object, per pid.");

    py::class_<PyHello>(m, "Hello", "An open /dev/hello (libtaskmon's taskmon::Hello).")
        .def(py::init([](const std::filesystem::path& path) {
                 return open_device<PyHello>(path, closed_hello);
             }),
             py::arg("path"))
        .def("close", &PyHello::close, "Close the device; idempotent.")
        .def_property_readonly("closed", &PyHello::closed)
        .def(
            "fileno", [](PyHello& self) { return self.call([](auto& d) { return d.fd(); }); },
            "The file descriptor.")
        .def(
            "message", [](PyHello& self) { return self.call([](auto& d) { return d.message(); }); },
            "HELLO: the module's greeting.");
}
