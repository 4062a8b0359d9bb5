// SPDX-License-Identifier: GPL-2.0-only
//
// hello-ioctl: open /dev/hello (helloioctl.ko), issue HELLO, print the string.
//
//   hello-ioctl [-d PATH]
//
// getopt_long(3) parses; the help is generated from the same table.  Exit
// status: 0 success (also when the reader of the output went away), 1 runtime
// error (the message says what to do), 2 usage error.
#include <taskmon/taskmon.hpp>

#include <getopt.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

struct OptionSpec {
    char key;
    const char* name;
    const char* value; // the argument's name, or nullptr: a flag
    const char* help;
};

constexpr std::array<OptionSpec, 3> option_specs{{
    {'d', "device", "PATH", "device file (default /dev/hello)"},
    {'h', "help", nullptr, "show this help and exit"},
    {'V', "version", nullptr, "show the version and exit"},
}};

// getopt_long's tables, from option_specs.
constexpr const char* short_options = "+:d:hV";
constexpr std::array<option, 4> long_options{{
    {option_specs[0].name, required_argument, nullptr, option_specs[0].key},
    {option_specs[1].name, no_argument, nullptr, option_specs[1].key},
    {option_specs[2].name, no_argument, nullptr, option_specs[2].key},
    {nullptr, 0, nullptr, 0},
}};

void usage(std::ostream& out)
{
    out << "Usage: hello-ioctl [OPTIONS]\n"
           "Issue the HELLO ioctl on /dev/hello (helloioctl.ko) and print its answer.\n\n"
           "Options:\n";
    for (const auto& o : option_specs) {
        std::string left = std::string("  -") + o.key + ", --" + o.name;
        if (o.value != nullptr) {
            left += std::string(" ") + o.value;
        }
        left.resize(22, ' ');
        out << left << o.help << '\n';
    }
    out << "\nExit status: 0 success, 1 runtime error, 2 usage error.\n";
}

int usage_error(const std::string& message)
{
    std::cerr << "hello-ioctl: " << message << "\nTry 'hello-ioctl --help' for more information.\n";
    return exit_usage;
}

// What to do about @p e, in this program's terms.
std::string advice(const taskmon::Error& e)
{
    if (dynamic_cast<const taskmon::DeviceNotFound*>(&e) != nullptr) {
        return "load the module: 'sudo modprobe helloioctl' (installed package) or 'sudo insmod "
               "helloioctl.ko' (build tree), or check --device";
    }
    if (dynamic_cast<const taskmon::PermissionDenied*>(&e) != nullptr) {
        return "/dev/hello is root's: run it as root (sudo hello-ioctl)";
    }
    if (dynamic_cast<const taskmon::NotSupported*>(&e) != nullptr) {
        return "check --device: " + e.device().string() + " is not helloioctl's device";
    }
    return "";
}

// Writes @p text to standard output and returns the exit status.  A reader
// that went away (EPIPE, '| head -c 1') is not an error.
int print(const std::string& text)
{
    errno = 0;
    std::cout << text;
    std::cout.flush();
    if (!std::cout && errno != EPIPE) {
        std::cerr << "hello-ioctl: cannot write to standard output\n";
        return exit_failure;
    }
    return exit_ok;
}

} // namespace

int main(int argc, char* argv[])
{
    // A closed pipe is EPIPE from write(2), handled below, not a silent death.
    std::signal(SIGPIPE, SIG_IGN);
    std::string device = taskmon::Hello::default_path;
    opterr = 0; // the messages below name the program and the fix
    for (;;) {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): a single-threaded program
        const int key = getopt_long(argc, argv, short_options, long_options.data(), nullptr);
        if (key == -1) {
            break;
        }
        switch (key) {
        case 'd':
            device = optarg;
            if (device.empty()) {
                return usage_error("option --device needs a non-empty PATH, e.g. /dev/hello");
            }
            break;
        case 'h': {
            std::ostringstream text;
            usage(text);
            return print(text.str());
        }
        case 'V':
            return print(std::string("hello-ioctl ") + TASKMON_VERSION_STRING + " (libtaskmon " +
                         taskmon::version() + ")\n");
        case ':':
            return usage_error("option --device needs a PATH argument");
        default: {
            for (const auto& o : option_specs) {
                if (o.key == optopt) { // "--help=x"
                    return usage_error(std::string("option --") + o.name + " takes no argument");
                }
            }
            if (optopt != 0) {
                return usage_error(std::string("unknown option '-") + static_cast<char>(optopt) +
                                   "'");
            }
            // An unknown long option, just passed: "--name" or "--name=value".
            // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): argv
            const std::string_view text = argv[optind - 1];
            return usage_error("unknown option '" + std::string(text.substr(0, text.find('='))) +
                               "'");
        }
        }
    }
    if (optind < argc) {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): argv
        return usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    }

    try {
        const taskmon::Hello hello(device);
        return print(hello.message() + '\n');
    } catch (const taskmon::Error& e) {
        const std::string fix = advice(e);
        std::cerr << "hello-ioctl: " << e.what() << (fix.empty() ? "" : "; " + fix) << '\n';
        return exit_failure;
    } catch (const std::exception& e) {
        std::cerr << "hello-ioctl: " << e.what() << '\n';
        return exit_failure;
    }
}
