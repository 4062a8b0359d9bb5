// SPDX-License-Identifier: GPL-2.0-only
//
// hello-ioctl: open /dev/hello (helloioctl.ko), issue HELLO, print the string.
//
//   hello-ioctl [--device PATH]
//
// Exit status: 0 success, 1 runtime error (the message says what to do),
// 2 usage error.
#include <taskmon/taskmon.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

void usage(std::ostream& out)
{
    out << "Usage: hello-ioctl [--device PATH]\n"
           "Issue the HELLO ioctl on /dev/hello (helloioctl.ko) and print its answer.\n"
           "  -d, --device PATH  device file (default "
        << taskmon::Hello::default_path
        << ")\n"
           "  -h, --help         show this help\n"
           "  -V, --version      show the version\n"
           "Exit status: 0 success, 1 runtime error, 2 usage error.\n";
}

} // namespace

int main(int argc, char* argv[])
{
    std::string device = taskmon::Hello::default_path;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg =
            argv[i]; // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
        if (arg == "-h" || arg == "--help") {
            usage(std::cout);
            return exit_ok;
        }
        if (arg == "-V" || arg == "--version") {
            std::cout << "hello-ioctl " << TASKMON_VERSION_STRING << " (libtaskmon "
                      << taskmon::version() << ")\n";
            return exit_ok;
        }
        if ((arg == "-d" || arg == "--device") && i + 1 < argc) {
            device = argv[++i]; // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
        } else if (arg.rfind("--device=", 0) == 0) {
            device = std::string(arg.substr(arg.find('=') + 1));
        } else {
            std::cerr << "hello-ioctl: unexpected argument '" << arg << "'\n";
            usage(std::cerr);
            return exit_usage;
        }
    }

    try {
        const taskmon::Hello hello(device);
        std::cout << hello.message() << '\n';
        std::cout.flush();
        if (!std::cout) {
            std::cerr << "hello-ioctl: cannot write to standard output\n";
            return exit_failure;
        }
    } catch (const std::exception& e) {
        std::cerr << "hello-ioctl: " << e.what() << '\n';
        return exit_failure;
    }
    return exit_ok;
}
