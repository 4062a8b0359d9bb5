// SPDX-License-Identifier: GPL-2.0-only
//
// Consumer of an installed libtaskmon: compiles against the installed
// headers (the umbrella and the uapi header) and links the shared library;
// checks that exceptions thrown inside libtaskmon.so are caught by type here.
#include <taskmon/taskmon.hpp>
#include <taskmon/uapi/taskmon.h>

#include <cstring>
#include <iostream>
#include <sstream>

static_assert(TM_GET != TM_GET_TEXT, "uapi header usable");
static_assert(sizeof(struct task_sample) == 16, "uapi struct layout");

int main()
{
    int failures = 0;
    const auto check = [&failures](bool ok, const char* what) {
        if (!ok) {
            std::cerr << "consumer: FAILED: " << what << '\n';
            ++failures;
        }
    };

    check(std::strcmp(taskmon::version(), TASKMON_VERSION_STRING) == 0,
          "runtime version == header version");
#ifdef EXPECTED_VERSION
    check(std::strcmp(taskmon::version(), EXPECTED_VERSION) == 0,
          "runtime version == CMake package version");
#endif

    try {
        const taskmon::Monitor monitor("/nonexistent/taskmonitor");
        check(false, "opening a missing device throws");
    } catch (const taskmon::DeviceNotFound& e) {
        check(e.code() == std::errc::no_such_file_or_directory, "DeviceNotFound carries ENOENT");
        check(std::strstr(e.what(), "not loaded") != nullptr,
              "message says the module is not loaded");
        check(e.operation() == "open", "Error::operation() exported");
    }

    try {
        taskmon::Monitor monitor("/dev/null", taskmon::Access::steer);
        check(monitor.access() == taskmon::Access::steer, "Monitor::access() exported");
        monitor.set_target(0);
        check(false, "set_target(0) throws");
    } catch (const taskmon::InvalidArgument& e) { // typeinfo across the library boundary
        check(e.pid() == 0 && e.operation() == "set_target", "InvalidArgument exported");
    }

    try {
        const taskmon::Monitor monitor("/dev/null");
        static_cast<void>(monitor.sample());
        check(false, "TM_GET on /dev/null throws");
    } catch (const taskmon::Error& e) { // caught through the base class
        check(e.errnum() == ENOTTY, "ENOTTY from /dev/null");
        check(dynamic_cast<const taskmon::NotSupported*>(&e) != nullptr,
              "dynamic type NotSupported");
    }

    std::ostringstream out;
    out << taskmon::Sample{std::chrono::milliseconds(1500), std::chrono::nanoseconds(1)};
    check(out.str() == "user 1.500000000 s, system 0.000000001 s", "operator<< exported");
    const taskmon::Sample one_second{std::chrono::seconds(1), std::chrono::seconds(0)};
    check(taskmon::cpu_percent(taskmon::Sample{}, one_second + one_second,
                               std::chrono::seconds(4)) == 50.0,
          "cpu_percent()");

    if (failures == 0) {
        std::cout << "consumer OK, libtaskmon " << taskmon::version() << '\n';
    }
    return failures == 0 ? 0 : 1;
}
