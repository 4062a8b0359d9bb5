// SPDX-License-Identifier: GPL-2.0-only
//
// taskmon-vm-tests: libtaskmon, taskmon and hello-ioctl against the loaded
// modules.  See README.md beside this file.  GoogleTest flags apply, e.g.
// --gtest_output=xml:report.xml for a JUnit XML report.
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <gtest/gtest.h>

#include <iostream>

int main(int argc, char* argv[])
{
    ::testing::InitGoogleTest(&argc, argv);
    namespace vm = taskmon::vmtest;

    std::cout << "taskmon-vm-tests " << TASKMON_VERSION_STRING << ": device "
              << vm::monitor_device() << ", hello " << vm::hello_device() << ", taskmon '"
              << vm::cli_program() << "', hello-ioctl '" << vm::hello_program()
              << "', TASKMON_IN_VM=" << (vm::in_vm() ? "1" : "0") << std::endl;

    // Leave the monitoring thread as it was found.
    const int kthreads_before = vm::count_kthreads();
    const int status = RUN_ALL_TESTS();
    try {
        if (::access(vm::monitor_device().c_str(), F_OK) == 0) {
            taskmon::Monitor monitor(vm::monitor_device(), taskmon::Access::steer);
            if (kthreads_before > 0) {
                monitor.start();
            } else if (kthreads_before == 0) {
                monitor.stop();
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "taskmon-vm-tests: restoring the thread state failed: " << e.what() << '\n';
    }
    return status;
}
