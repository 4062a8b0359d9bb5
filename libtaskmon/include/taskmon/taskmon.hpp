// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file taskmon.hpp
 * @brief libtaskmon: C++17 access to the taskmon kernel modules.
 *
 * Include only this header; the others under <taskmon/> refuse to be
 * included directly.  Link with the CMake target taskmon::taskmon
 * (find_package(taskmon)) or with `pkg-config --cflags --libs taskmon`.
 *
 * - taskmon::Monitor: /dev/taskmonitor (taskmonitor.ko), opened for taskmon::Access::read or steer
 * - taskmon::DeviceHandle: what Monitor and Hello share (close(), fd(), path())
 * - taskmon::Hello:   /dev/hello (helloioctl.ko)
 * - taskmon::Sample:  a CPU-time sample
 * - taskmon::Stats, taskmon::StatsResult, taskmon::Scope: per-process statistics
 * - taskmon::list_processes(), taskmon::find_hidden(): the kernel's process list, hidden processes
 * - taskmon::Stream, taskmon::StreamRecord: streams of samples (docs/streaming.md)
 * - taskmon::Exits, taskmon::ExitRecord: a record of every exit (docs/exits.md)
 * - taskmon::Error and subclasses: every failure (error.hpp)
 * - taskmon::version(), TASKMON_VERSION_STRING
 *
 * The raw kernel interface (ioctl numbers and structures) is installed as
 * <taskmon/uapi/taskmon.h>; it is not needed to use this library.
 */
#ifndef TASKMON_TASKMON_HPP
#define TASKMON_TASKMON_HPP

#define TASKMON_TASKMON_HPP_INSIDE
// clang-format off
#include <taskmon/export.hpp>
#include <taskmon/version.hpp>
#include <taskmon/error.hpp>
#include <taskmon/sample.hpp>
#include <taskmon/stats.hpp>
#include <taskmon/device_handle.hpp>
#include <taskmon/monitor.hpp>
#include <taskmon/hello.hpp>
#include <taskmon/processes.hpp>
#include <taskmon/stream.hpp>
#include <taskmon/exits.hpp>
// clang-format on
#undef TASKMON_TASKMON_HPP_INSIDE

#endif // TASKMON_TASKMON_HPP
