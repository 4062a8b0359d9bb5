// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon._ext: C++ strings as Python text, shared by module.cpp and
// processes.cpp.
#ifndef TASKMON_PYTHON_TEXT_HPP
#define TASKMON_PYTHON_TEXT_HPP

#include <pybind11/pybind11.h>

#include <string>

namespace taskmon_python {

/**
 * UTF-8 text from C++, never failing on bytes that are not UTF-8 (a device
 * path or a process's comm can hold any bytes): those are replaced.
 */
inline pybind11::str text(const std::string& value)
{
    PyObject* str =
        PyUnicode_DecodeUTF8(value.data(), static_cast<Py_ssize_t>(value.size()), "replace");
    if (str == nullptr) {
        throw pybind11::error_already_set();
    }
    return pybind11::reinterpret_steal<pybind11::str>(str);
}

} // namespace taskmon_python

#endif // TASKMON_PYTHON_TEXT_HPP
