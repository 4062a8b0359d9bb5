// SPDX-License-Identifier: GPL-2.0-only
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace taskmon::vmtest {

std::string env_or(const char* name, const char* fallback)
{
    const char* value = std::getenv(name); // NOLINT(concurrency-mt-unsafe): tests set no env
    return value != nullptr && *value != '\0' ? value : fallback;
}

namespace {

bool exists(const std::string& path)
{
    return ::access(path.c_str(), F_OK) == 0;
}

bool executable(const std::string& path)
{
    return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

std::string self_dir()
{
    std::string buf(4096, '\0');
    const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    if (n <= 0) {
        return {};
    }
    buf.resize(static_cast<std::size_t>(n));
    return buf.substr(0, buf.rfind('/'));
}

std::string find_program(const char* env_name, const char* relative, const char* absolute,
                         const char* name)
{
    if (std::string env = env_or(env_name, ""); !env.empty()) {
        return env; // trusted as given: a wrong path fails loudly later
    }
    if (const std::string dir = self_dir(); !dir.empty() && executable(dir + "/" + relative)) {
        return dir + "/" + relative;
    }
    if (executable(absolute)) {
        return absolute;
    }
    std::istringstream path(env_or("PATH", "/usr/local/bin:/usr/bin:/bin"));
    for (std::string dir; std::getline(path, dir, ':');) {
        if (executable(dir + "/" + name)) {
            return dir + "/" + name;
        }
    }
    return {};
}

[[noreturn]] void spin_forever()
{
    volatile unsigned long counter = 0;
    for (;;) {
        counter = counter + 1;
    }
}

extern "C" void* spin_thread_main(void* /*unused*/)
{
    spin_forever();
}

[[noreturn]] void child_main(Load load, pid_t parent)
{
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
        ::_exit(1); // the test died before prctl
    }
    switch (load) {
    case Load::spin:
        spin_forever();
    case Load::syscalls:
        for (;;) {
            ::syscall(SYS_getppid); // NOLINT(cppcoreguidelines-pro-type-vararg,hicpp-vararg)
        }
    case Load::spin_thread: {
        pthread_t thread{};
        if (::pthread_create(&thread, nullptr, spin_thread_main, nullptr) != 0) {
            ::_exit(2);
        }
        for (;;) {
            ::pause();
        }
    }
    case Load::sleep:
        ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::_exit(3);
}

pid_t spawn(Load load)
{
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        child_main(load, parent);
    }
    if (pid < 0) {
        ADD_FAILURE() << "fork: " << std::strerror(errno); // NOLINT(concurrency-mt-unsafe)
    }
    return pid;
}

std::string slurp_fd(int fd)
{
    std::string data;
    ::lseek(fd, 0, SEEK_SET);
    std::array<char, 4096> buf{};
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n <= 0) {
            break;
        }
        data.append(buf.data(), static_cast<std::size_t>(n));
    }
    return data;
}

int temp_fd()
{
    char tmpl[] = "/tmp/taskmon-vm-XXXXXX"; // NOLINT(modernize-avoid-c-arrays)
    const int fd = ::mkstemp(tmpl);
    if (fd >= 0) {
        ::unlink(tmpl);
    }
    return fd;
}

} // namespace

std::string monitor_device()
{
    return env_or("TASKMON_DEVICE", "/dev/taskmonitor");
}

std::string hello_device()
{
    return env_or("TASKMON_HELLO_DEVICE", "/dev/hello");
}

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

std::string pidhider_ko()
{
    return env_or("TASKMON_PIDHIDER_KO", "");
}

bool in_vm()
{
    return env_or("TASKMON_IN_VM", "0") == "1";
}

bool tools_required()
{
    return env_or("TASKMON_REQUIRE_TOOLS", "0") == "1";
}

void VmTest::SetUp()
{
    std::string missing;
    for (const std::string& dev : {monitor_device(), hello_device()}) {
        if (!exists(dev)) {
            missing += (missing.empty() ? "" : " and ") + dev;
        }
    }
    if (missing.empty()) {
        return;
    }
    const std::string msg =
        missing + " missing: load the modules first (sudo insmod helloioctl.ko taskmonitor.ko, "
                  "or sudo modprobe helloioctl taskmonitor)";
    if (in_vm()) {
        GTEST_FAIL() << "TASKMON_IN_VM=1 but " << msg;
    }
    GTEST_SKIP() << msg << " (set TASKMON_IN_VM=1 to make this a failure)";
}

void VmTest::require_request(const char* request, const std::function<void()>& probe)
{
    try {
        probe();
    } catch (const NotSupported& e) {
        if (monitor_device() != Monitor::default_path) {
            GTEST_SKIP() << "the emulated module has no " << request << ": " << e.what();
        }
        FAIL() << "the loaded module has no " << request << ": " << e.what();
    }
}

BusyChild::BusyChild(Load load) : pid_(spawn(load))
{}

BusyChild::~BusyChild()
{
    kill_and_reap();
}

void BusyChild::kill_and_reap()
{
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
}

std::optional<std::string> read_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream data;
    data << in.rdbuf();
    return data.str();
}

namespace {

// The fields of /proc/PID/stat after "(comm)": state(3) ppid(4) ... flags(9)
// ... utime(14) stime(15), so field N is at index N - 3.  Empty if the process
// is gone: its stat file then opens but reads as nothing.
std::vector<std::string> stat_fields(const std::string& pid)
{
    const auto stat = read_file("/proc/" + pid + "/stat");
    std::vector<std::string> fields;
    const auto comm_end = stat ? stat->rfind(')') : std::string::npos;
    if (comm_end == std::string::npos) {
        return fields;
    }
    std::istringstream rest(stat->substr(comm_end + 1));
    for (std::string f; rest >> f;) {
        fields.push_back(f);
    }
    return fields;
}

// include/linux/sched.h: set once the task has begun do_exit().
constexpr unsigned long pf_exiting = 0x4;

} // namespace

std::optional<std::chrono::nanoseconds> proc_cpu_time(pid_t pid)
{
    const auto fields = stat_fields(std::to_string(pid));
    if (fields.size() < 13) {
        return std::nullopt;
    }
    const auto ticks = std::stoull(fields[11]) + std::stoull(fields[12]);
    const auto hz = static_cast<unsigned long long>(::sysconf(_SC_CLK_TCK));
    return std::chrono::nanoseconds(static_cast<std::int64_t>(ticks * (1'000'000'000ULL / hz)));
}

pid_t bogus_pid()
{
    const auto text = read_file("/proc/sys/kernel/pid_max");
    return text ? static_cast<pid_t>(std::stol(*text)) : 4194304;
}

int count_kthreads()
{
    DIR* dir = ::opendir("/proc");
    if (dir == nullptr) {
        return -1;
    }
    int count = 0;
    while (const dirent* entry =
               ::readdir(dir)) { // NOLINT(concurrency-mt-unsafe): one DIR per call
        const std::string name = entry->d_name;
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const auto comm = read_file("/proc/" + name + "/comm");
        if (!comm || *comm != "taskmonitor\n") {
            continue;
        }
        // Gone meanwhile, or stopped and on its way out: kthread_stop()
        // returns before the thread has left /proc.
        const auto fields = stat_fields(name);
        if (fields.size() < 7 || (std::stoul(fields[6]) & pf_exiting) != 0) {
            continue;
        }
        if (fields[1] == "2") { // a child of kthreadd
            ++count;
        }
    }
    ::closedir(dir);
    return count;
}

int wait_for_kthreads(int expected, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int count = count_kthreads();
    while (count != expected && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        count = count_kthreads();
    }
    return count;
}

RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      std::chrono::seconds timeout)
{
    RunResult result;
    const int out_fd = temp_fd();
    const int err_fd = temp_fd();
    if (out_fd < 0 || err_fd < 0) {
        ADD_FAILURE() << "mkstemp: " << std::strerror(errno); // NOLINT(concurrency-mt-unsafe)
        return result;
    }
    std::vector<std::string> argv_storage{program};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(argv_storage.size() + 1);
    for (auto& arg : argv_storage) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        const int null =
            ::open("/dev/null", O_RDONLY); // NOLINT(cppcoreguidelines-pro-type-vararg,hicpp-vararg)
        ::dup2(null, STDIN_FILENO);
        ::execv(program.c_str(), argv.data());
        ::_exit(127);
    }
    if (pid < 0) {
        ADD_FAILURE() << "fork: " << std::strerror(errno); // NOLINT(concurrency-mt-unsafe)
        ::close(out_fd);
        ::close(err_fd);
        return result;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << program << " did not finish within " << timeout.count() << " s";
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = slurp_fd(out_fd);
    result.err = slurp_fd(err_fd);
    ::close(out_fd);
    ::close(err_fd);
    return result;
}

std::string cli_program()
{
    return find_program("TASKMON_CLI", TASKMON_VM_CLI_RELATIVE, TASKMON_VM_CLI_ABSOLUTE, "taskmon");
}

std::string hello_program()
{
    return find_program("TASKMON_HELLO_CLI", TASKMON_VM_HELLO_RELATIVE, TASKMON_VM_HELLO_ABSOLUTE,
                        "hello-ioctl");
}

void CliTest::SetUp()
{
    VmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
        return;
    }
    cli_ = cli_program();
    if (cli_.empty()) {
        if (in_vm()) {
            GTEST_FAIL() << "the taskmon binary was not found: set TASKMON_CLI";
        }
        GTEST_SKIP() << "the taskmon binary was not found: set TASKMON_CLI";
    }
}

RunResult CliTest::taskmon(std::vector<std::string> args) const
{
    args.insert(args.begin(), {"--device", monitor_device()});
    return run_program(cli_, args);
}

} // namespace taskmon::vmtest
