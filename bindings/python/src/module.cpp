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
//   taskmon._errors, with errno, the device file, the complete message, the
//   operation that failed and the pid concerned.
#include "processes.hpp"
#include "shared.hpp"
#include "text.hpp"

#include <taskmon/taskmon.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace {

using taskmon_python::text;

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

} // namespace

void taskmon_python::test_delay()
{
    const std::int64_t delay = test_delay_ns.load(std::memory_order_relaxed);
    if (delay > 0) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(delay));
    }
}

namespace {

using taskmon_python::test_delay;

// A libtaskmon device (Monitor or Hello) that Python threads share.
template <class Device>
class Guarded {
public:
    template <class... Args>
    Guarded(const char* closed_message, Args&&... args)
        : device_(std::forward<Args>(args)...), closed_message_(closed_message)
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
template <class T, class... Args>
std::unique_ptr<T> open_device(const char* closed_message, Args&&... args)
{
    const py::gil_scoped_release nogil;
    return std::make_unique<T>(closed_message, std::forward<Args>(args)...);
}

// ---- streams ---------------------------------------------------------------

constexpr const char* closed_stream = "I/O operation on closed stream";

// A record as the positional arguments of taskmon.Record's _from_ext():
// (seq, timestamp_ns, pid, flags, user_ns, system_ns, lost).
using RecordTuple = std::tuple<std::uint64_t, std::int64_t, pid_t, std::uint32_t, std::int64_t,
                               std::int64_t, std::uint64_t>;

RecordTuple record_tuple(const taskmon::StreamRecord& r)
{
    return {r.seq, r.timestamp.count(), r.pid, r.flags, r.user.count(), r.system.count(), r.lost};
}

// An exit record as the positional arguments of taskmon.ExitRecord's
// _from_ext(): (seq, lost, pid, ppid, uid, status, start_time_ns,
// exit_time_ns, user_ns, system_ns, children_user_ns, children_system_ns,
// max_rss_bytes, minor_faults, major_faults, voluntary_ctxsw,
// involuntary_ctxsw, comm).
py::object record_object(const taskmon::ExitRecord& r)
{
    return py::make_tuple(r.seq, r.lost, r.pid, r.ppid, r.uid, r.status, r.start_time.count(),
                          r.exit_time.count(), r.user.count(), r.system.count(),
                          r.children_user.count(), r.children_system.count(), r.max_rss_bytes,
                          r.minor_faults, r.major_faults, r.voluntary_ctxsw, r.involuntary_ctxsw,
                          taskmon_python::text(r.comm));
}

py::object record_object(const taskmon::StreamRecord& r)
{
    return py::cast(record_tuple(r));
}

// Whether a subscription ended: a Stream's does, Exits never.
bool ended_of(const taskmon::Stream& s) noexcept
{
    return s.ended();
}
bool ended_of(const taskmon::Exits& /*unused*/) noexcept
{
    return false;
}

// A libtaskmon Stream or Exits that Python threads share.  Unlike Guarded,
// a call may wait for a long time (up to a period, an hour at most, or
// until some process exits), so close() from another thread first wakes
// the waiters (an eventfd they poll too), then waits for them to leave and
// closes.
template <class Subscription>
class PySubscription {
public:
    using Record = typename decltype(std::declval<Subscription&>().try_next())::value_type;

    template <class... Args>
    explicit PySubscription(Args&&... args)
        : stream_(std::forward<Args>(args)...), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
    {
        if (wake_ < 0) {
            throw std::system_error(errno, std::generic_category(), "eventfd");
        }
    }
    PySubscription(const PySubscription&) = delete;
    PySubscription& operator=(const PySubscription&) = delete;
    PySubscription(PySubscription&&) = delete;
    PySubscription& operator=(PySubscription&&) = delete;
    ~PySubscription() { static_cast<void>(::close(wake_)); }

    // The next record, waiting at most @p timeout seconds (None: for ever)
    // without the GIL; None at the end of the stream; TimeoutError; signals
    // (KeyboardInterrupt) are handled while waiting.
    py::object next(std::optional<double> timeout)
    {
        using clock = std::chrono::steady_clock;
        const auto deadline =
            timeout ? clock::now() + std::chrono::duration_cast<clock::duration>(
                                         std::chrono::duration<double>(*timeout < 0 ? 0 : *timeout))
                    : clock::time_point::max();
        for (;;) {
            const Wait result = wait_once(timeout ? std::optional(deadline) : std::nullopt);
            if (result.record) {
                return record_object(*result.record);
            }
            if (result.ended) {
                return py::none();
            }
            if (result.interrupted && PyErr_CheckSignals() != 0) {
                throw py::error_already_set();
            }
            if (timeout && clock::now() >= deadline) {
                PyErr_SetString(PyExc_TimeoutError, "no record within the timeout");
                throw py::error_already_set();
            }
        }
    }

    // The next record if one waits, else None at once.
    py::object try_next()
    {
        std::optional<Record> record;
        {
            const py::gil_scoped_release nogil;
            const std::shared_lock<std::shared_mutex> lock(mutex_);
            check_open();
            test_delay();
            record = stream_.try_next();
        }
        return record ? record_object(*record) : py::none();
    }

    // Wakes the waiting threads, waits for every call in flight, closes.
    void close()
    {
        closing_.store(true);
        const std::uint64_t one = 1;
        static_cast<void>(::write(wake_, &one, sizeof(one)));
        const py::gil_scoped_release nogil;
        const std::unique_lock<std::shared_mutex> lock(mutex_);
        stream_.close();
    }

    [[nodiscard]] bool closed()
    {
        const py::gil_scoped_release nogil;
        const std::shared_lock<std::shared_mutex> lock(mutex_);
        return !stream_;
    }

    int fileno()
    {
        const std::shared_lock<std::shared_mutex> lock(mutex_);
        check_open();
        return stream_.fd();
    }

    // Neither asks the kernel: readable closed or not.
    [[nodiscard]] bool ended() const noexcept { return ended_of(stream_); }
    [[nodiscard]] std::uint64_t lost() const noexcept { return stream_.lost(); }

private:
    struct Wait {
        std::optional<Record> record;
        bool ended = false;
        bool interrupted = false;
    };

    void check_open() const
    {
        if (closing_.load() || !stream_) {
            throw ClosedError(closed_stream);
        }
    }

    // One record, or one wait for the stream or the wake-up: without the GIL.
    template <class TimePoint>
    Wait wait_once(std::optional<TimePoint> deadline)
    {
        const py::gil_scoped_release nogil;
        const std::shared_lock<std::shared_mutex> lock(mutex_);
        check_open();
        test_delay();
        Wait result;
        result.record = stream_.try_next();
        if (result.record || ended_of(stream_)) {
            result.ended = !result.record;
            return result;
        }
        int ms = -1;
        if (deadline) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                *deadline - std::chrono::steady_clock::now());
            ms = left.count() < 0 ? 0
                                  : static_cast<int>(std::min<std::int64_t>(left.count(), 60000));
        }
        std::array<pollfd, 2> fds{{{stream_.fd(), POLLIN, 0}, {wake_, POLLIN, 0}}};
        if (::poll(fds.data(), fds.size(), ms) < 0) {
            if (errno != EINTR) {
                throw std::system_error(errno, std::generic_category(), "poll");
            }
            result.interrupted = true;
        }
        return result;
    }

    Subscription stream_;
    int wake_;
    std::atomic<bool> closing_{false};
    std::shared_mutex mutex_;
};

using PyStream = PySubscription<taskmon::Stream>;
using PyExits = PySubscription<taskmon::Exits>;

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

template <class T>
bool is_a(const taskmon::Error& e)
{
    return dynamic_cast<const T*>(&e) != nullptr;
}

// The Python class of a libtaskmon exception: the one mapping, C++ class to
// Python class.
py::handle error_class(const taskmon::Error& e)
{
    const ErrorClasses& c = error_classes();
    const std::array<std::pair<bool (*)(const taskmon::Error&), py::handle>, 6> classes{{
        {is_a<taskmon::NoSuchProcess>, c.no_such_process},
        {is_a<taskmon::DeviceNotFound>, c.device_not_found},
        {is_a<taskmon::PermissionDenied>, c.permission_denied},
        {is_a<taskmon::NotSupported>, c.not_supported},
        {is_a<taskmon::NoTarget>, c.no_target},
        {is_a<taskmon::InvalidArgument>, c.invalid_argument},
    }};
    for (const auto& [matches, cls] : classes) {
        if (matches(e)) {
            return cls;
        }
    }
    return c.error;
}

// The Python exception for a libtaskmon exception:
// cls(errno, message, filename, operation=..., pid=...).
py::object make_error(const taskmon::Error& error)
{
    py::dict kwargs;
    const std::string operation = error.operation();
    kwargs["operation"] = operation.empty() ? py::object(py::none()) : py::object(text(operation));
    kwargs["pid"] = error.pid() != 0 ? py::object(py::int_(error.pid())) : py::object(py::none());
    return error_class(error)(error.errnum(), text(error.what()), filename(error.device()),
                              **kwargs);
}

// The Python exception object (not raised) for one failed record of a batch.
py::object error_object(const std::exception_ptr& pending)
{
    try {
        std::rethrow_exception(pending);
    } catch (const taskmon::Error& e) {
        return make_error(e);
    }
}

// pybind11 wants exactly void(std::exception_ptr).
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void translate_exception(std::exception_ptr pending)
{
    if (!pending) {
        return;
    }
    try {
        std::rethrow_exception(pending);
    } catch (const ClosedError& e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const taskmon::Error& e) {
        try {
            const py::object exc = make_error(e);
            PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
        } catch (py::error_already_set& failed) {
            failed.restore(); // building the exception failed: raise that instead
        }
    }
}

} // namespace

void taskmon_python::set_python_error(std::exception_ptr pending)
{
    try {
        translate_exception(std::move(pending));
    } catch (const std::exception& e) { // not a libtaskmon error: say what it was
        PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "taskmon._ext: unknown C++ exception");
    }
    if (PyErr_Occurred() == nullptr) {
        PyErr_SetString(PyExc_RuntimeError, "taskmon._ext: unknown C++ exception");
    }
}

namespace {

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

// taskmon.Fields's value (checked by the package) as the library's Fields.
taskmon::Fields fields_of(std::uint64_t bits)
{
    return taskmon::Fields::from_bits(bits);
}

// A Stats as the keyword arguments of taskmon.Stats: the dict itself (a
// std::map would make pybind11's signature say Dict[str, object], but costs
// a conversion each way; tests/python/test_stubs.py maps "dict" to that).
py::dict stats_fields(const taskmon::Stats& s)
{
    return stats_dict(s);
}

// stats_many: per pid, its fields, or the error object of that pid.
std::vector<py::object> stats_many(PyMonitor& self, const std::vector<pid_t>& pids, bool threads,
                                   std::uint64_t fields)
{
    const auto results = self.call([&pids, threads, fields](taskmon::Monitor& d) {
        return d.stats(pids, fields_of(fields), scope_of(threads));
    });
    std::vector<py::object> out;
    out.reserve(pids.size());
    for (const taskmon::StatsResult& result : results) {
        out.push_back(result.ok() ? py::object(stats_fields(result.stats))
                                  : error_object(result.exception));
    }
    return out;
}

} // namespace

PYBIND11_MODULE(_ext, m)
{
    m.doc() =
        "Private extension of the taskmon package: libtaskmon's Monitor, Stream and Hello.\n\n"
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
        .def(py::init([](const std::filesystem::path& path, bool steer) {
                 return open_device<PyMonitor>(
                     closed_monitor, path, steer ? taskmon::Access::steer : taskmon::Access::read);
             }),
             py::arg("path"), py::arg("steer"))
        .def("close", &PyMonitor::close, "Close the device; idempotent.")
        .def_property_readonly("closed", &PyMonitor::closed)
        .def_property_readonly(
            "steer",
            [](PyMonitor& self) {
                return self.call([](auto& d) { return d.access() == taskmon::Access::steer; });
            },
            "True if opened for steering (read-write).")
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
            [](PyMonitor& self, pid_t pid) { self.call([pid](auto& d) { d.set_target(pid); }); },
            py::arg("pid"), "TM_PID, setting the target.")
        .def(
            "stats",
            [](PyMonitor& self, pid_t pid, bool threads, std::uint64_t fields) {
                return stats_fields(self.call([pid, threads, fields](auto& d) {
                    return d.stats(pid, fields_of(fields), scope_of(threads));
                }));
            },
            py::arg("pid"), py::arg("threads"), py::arg("fields"),
            "TM_STATS: the statistics of pid (the groups of fields, TM_STATS_* bits), as a dict.")
        .def(
            "target_stats",
            [](PyMonitor& self, bool threads, std::uint64_t fields) {
                return stats_fields(self.call([threads, fields](auto& d) {
                    return d.stats(fields_of(fields), scope_of(threads));
                }));
            },
            py::arg("threads"), py::arg("fields"),
            "TM_STATS with pid 0: the target's statistics, as a dict.")
        .def("stats_many", &stats_many, py::arg("pids"), py::arg("threads"), py::arg("fields"),
             "TM_STATS_BATCH: a dict, or the error object, per pid.");
    py::class_<PyMonitor> monitor_class(py::object(m.attr("Monitor")));
    taskmon_python::def_processes(monitor_class); // processes(), hidden(): processes.hpp

    // taskmon.Process's shared devices (shared.hpp); the full figures here,
    // as a dict like Monitor.stats().
    taskmon_python::def_shared(m);
    m.def(
        "_shared_stats",
        [](const py::bytes& path, pid_t pid, std::uint64_t fields) {
            const std::string device = path;
            std::optional<taskmon::Stats> s;
            {
                const py::gil_scoped_release nogil;
                s = taskmon_python::SharedDevices::instance().call(
                    device, [pid, fields](const taskmon::Monitor& d) {
                        return d.stats(pid, fields_of(fields));
                    });
            }
            return stats_fields(*s);
        },
        py::arg("path"), py::arg("pid"), py::arg("fields"),
        "TM_STATS on the shared device, of the groups of fields (TM_STATS_* bits), as a dict.");

    py::class_<PyStream>(m, "Stream",
                         "A subscription of its own read-only file (libtaskmon's taskmon::Stream).")
        .def(py::init([](const std::filesystem::path& path, const std::vector<pid_t>& pids,
                         std::int64_t period_ns, std::uint32_t ring) {
                 const py::gil_scoped_release nogil;
                 return std::make_unique<PyStream>(path, pids, std::chrono::nanoseconds(period_ns),
                                                   ring);
             }),
             py::arg("path"), py::arg("pids"), py::arg("period_ns"), py::arg("ring"))
        .def("next", &PyStream::next, py::arg("timeout"),
             "The next record tuple, waiting (without the GIL); None at the end.")
        .def("try_next", &PyStream::try_next, "The next record tuple if one waits, else None.")
        .def("close", &PyStream::close, "Wake the waiting threads, then close; idempotent.")
        .def_property_readonly("closed", &PyStream::closed)
        .def_property_readonly("ended", &PyStream::ended)
        .def_property_readonly("lost", &PyStream::lost)
        .def("fileno", &PyStream::fileno, "The file descriptor (non-blocking).");

    py::class_<PyExits>(m, "Exits",
                        "An exit subscription of its own read-only file (libtaskmon's "
                        "taskmon::Exits).")
        .def(py::init([](const std::filesystem::path& path, std::uint32_t ring) {
                 const py::gil_scoped_release nogil;
                 return std::make_unique<PyExits>(path, ring);
             }),
             py::arg("path"), py::arg("ring"))
        .def("next", &PyExits::next, py::arg("timeout"),
             "The next exit record tuple, waiting (without the GIL).")
        .def("try_next", &PyExits::try_next, "The next exit record tuple if one waits, else None.")
        .def("close", &PyExits::close, "Wake the waiting threads, then close; idempotent.")
        .def_property_readonly("closed", &PyExits::closed)
        .def_property_readonly("lost", &PyExits::lost)
        .def("fileno", &PyExits::fileno, "The file descriptor (non-blocking).");

    py::class_<PyHello>(m, "Hello", "An open /dev/hello (libtaskmon's taskmon::Hello).")
        .def(py::init([](const std::filesystem::path& path) {
                 return open_device<PyHello>(closed_hello, path);
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
