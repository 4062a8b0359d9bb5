// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file export.hpp
 * @brief TASKMON_API marks what libtaskmon exports; everything else is hidden.
 */
#ifndef TASKMON_EXPORT_HPP
#define TASKMON_EXPORT_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

// libtaskmon is built with -fvisibility=hidden (and a linker version script):
// only declarations marked TASKMON_API are part of the shared library's ABI.
// TASKMON_LOCAL keeps a member of an exported class out of the ABI (for
// private helpers only the library itself calls).
#if defined(__GNUC__) || defined(__clang__)
#define TASKMON_API __attribute__((visibility("default")))
#define TASKMON_LOCAL __attribute__((visibility("hidden")))
#else
#define TASKMON_API
#define TASKMON_LOCAL
#endif

#endif // TASKMON_EXPORT_HPP
