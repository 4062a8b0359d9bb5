// SPDX-License-Identifier: GPL-2.0-only
#include "exit_codes.hpp"

#include "options.hpp"

#include <taskmon/taskmon.hpp>

namespace taskmon::cli {

int exit_code_for(const std::exception& error) noexcept
{
    if (dynamic_cast<const UsageError*>(&error) != nullptr) {
        return exit_usage;
    }
    if (dynamic_cast<const NoSuchProcess*>(&error) != nullptr) {
        return exit_no_such_process;
    }
    if (dynamic_cast<const NoTarget*>(&error) != nullptr) {
        return exit_no_target;
    }
    if (dynamic_cast<const DeviceNotFound*>(&error) != nullptr) {
        return exit_device_not_found;
    }
    if (dynamic_cast<const PermissionDenied*>(&error) != nullptr) {
        return exit_permission_denied;
    }
    if (dynamic_cast<const NotSupported*>(&error) != nullptr) {
        return exit_not_supported;
    }
    return exit_failure;
}

} // namespace taskmon::cli
