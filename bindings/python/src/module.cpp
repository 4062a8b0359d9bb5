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
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>

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

// Sets the Python error for a libtaskmon exception: cls(errno, message, filename, **kwargs).
void set_error(py::handle cls, const taskmon::Error& error, const py::dict& kwargs = py::dict())
{
    try {
        const py::object exc =
            cls(error.errnum(), text(error.what()), filename(error.device()), **kwargs);
        PyErr_SetObject(cls.ptr(), exc.ptr());
    } catch (py::error_already_set& failed) {
        failed.restore(); // building the exception failed: raise that instead
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
        py::dict kwargs;
        kwargs["pid"] = e.pid() > 0 ? py::object(py::int_(e.pid())) : py::object(py::none());
        set_error(classes.no_such_process, e, kwargs);
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

// A pid from Python: any int.  Those outside pid_t are as invalid as 0 is,
// and get the same error (libtaskmon's message, EINVAL), not a TypeError.
void set_target(taskmon::Monitor& monitor, long long pid)
{
    if (pid < std::numeric_limits<pid_t>::min() || pid > std::numeric_limits<pid_t>::max()) {
        const std::string device = monitor.path().string();
        throw taskmon::Error(EINVAL,
                             "TM_PID on " + device +
                                 " failed: Invalid argument. A target pid must be a positive "
                                 "process id (got " +
                                 std::to_string(pid) + ").",
                             monitor.path());
    }
    monitor.set_target(static_cast<pid_t>(pid));
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
            [](PyMonitor& self, long long pid) {
                self.call([pid](taskmon::Monitor& d) { set_target(d, pid); });
            },
            py::arg("pid"), "TM_PID, setting the target.");

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
