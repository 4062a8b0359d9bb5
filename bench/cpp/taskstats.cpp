// SPDX-License-Identifier: GPL-2.0-only
//
// taskstats/netlink: what a program that wants a process's accounting
// without /proc asks the kernel: TASKSTATS_CMD_GET by pid over generic
// netlink, as the kernel's tools/accounting/getdelays.c does (the family id
// is resolved once, each iteration sends the request, receives the answer
// and finds TASKSTATS_TYPE_STATS in it).  The kernel allows it to
// CAP_NET_ADMIN only (GENL_ADMIN_PERM) and only with CONFIG_TASKSTATS; the
// benchmark says which is missing.
//
// The netlink macros of <linux/netlink.h> cast in C style, which this build
// refuses (-Wold-style-cast): the few lengths they compute are written below.
#include "child.hpp"
#include "device.hpp"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace taskmon::bench {
namespace {

constexpr std::size_t nl_align(std::size_t len)
{
    return (len + NLMSG_ALIGNTO - 1) & ~std::size_t{NLMSG_ALIGNTO - 1};
}

constexpr std::size_t nlmsg_header = nl_align(sizeof(nlmsghdr));
constexpr std::size_t genl_header = nl_align(sizeof(genlmsghdr));
constexpr std::size_t attr_header = nl_align(sizeof(nlattr));

// A netlink message (or answer); its bytes come first in a struct aligned
// for std::size_t, so they are 4-byte aligned as netlink wants.
struct Message {
    std::array<char, 4096> bytes{};
    std::size_t len = 0;
};

// Builds "nlmsghdr + genlmsghdr + one attribute" into @p msg.
void build_request(Message& msg, std::uint16_t family, std::uint8_t cmd, std::uint16_t attr_type,
                   const void* data, std::size_t data_len)
{
    nlattr attr{};
    attr.nla_type = attr_type;
    attr.nla_len = static_cast<std::uint16_t>(attr_header + data_len);
    nlmsghdr header{};
    header.nlmsg_len =
        static_cast<std::uint32_t>(nlmsg_header + genl_header + nl_align(attr.nla_len));
    header.nlmsg_type = family;
    header.nlmsg_flags = NLM_F_REQUEST;
    genlmsghdr genl{};
    genl.cmd = cmd;
    genl.version = 1;
    msg.bytes.fill(0);
    char* p = msg.bytes.data();
    std::memcpy(p, &header, sizeof(header));
    std::memcpy(p + nlmsg_header, &genl, sizeof(genl));
    std::memcpy(p + nlmsg_header + genl_header, &attr, sizeof(attr));
    std::memcpy(p + nlmsg_header + genl_header + attr_header, data, data_len);
    msg.len = header.nlmsg_len;
}

// Sends @p request and receives one answer into @p answer: 0, or an errno
// (the socket's, or the kernel's NLMSG_ERROR).
int transact(int fd, const Message& request, Message& answer)
{
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd, request.bytes.data(), request.len, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof(kernel)) != static_cast<ssize_t>(request.len)) {
        return errno;
    }
    const ssize_t len = ::recv(fd, answer.bytes.data(), answer.bytes.size(), 0);
    if (len < 0) {
        return errno;
    }
    answer.len = static_cast<std::size_t>(len);
    nlmsghdr header{};
    if (answer.len < nlmsg_header) {
        return EPROTO;
    }
    std::memcpy(&header, answer.bytes.data(), sizeof(header));
    if (header.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr err{};
        std::memcpy(&err, answer.bytes.data() + nlmsg_header,
                    std::min(sizeof(err), answer.len - nlmsg_header));
        return err.error < 0 ? -err.error : EPROTO;
    }
    answer.len = std::min<std::size_t>(answer.len, header.nlmsg_len);
    return 0;
}

// The attribute of type @p type in [begin, end): its payload and length, or nullptr.
const char* find_attr(const char* begin, const char* end, std::uint16_t type, std::size_t& len)
{
    while (begin + attr_header <= end) {
        nlattr attr{};
        std::memcpy(&attr, begin, sizeof(attr));
        if (attr.nla_len < attr_header || begin + attr.nla_len > end) {
            return nullptr;
        }
        if ((attr.nla_type & NLA_TYPE_MASK) == type) {
            len = attr.nla_len - attr_header;
            return begin + attr_header;
        }
        begin += nl_align(attr.nla_len);
    }
    return nullptr;
}

// The payload of a generic netlink answer: its attributes.
const char* payload(const Message& answer)
{
    return answer.bytes.data() + nlmsg_header + genl_header;
}

const char* payload_end(const Message& answer)
{
    return answer.bytes.data() + answer.len;
}

// The TASKSTATS family's id (CTRL_CMD_GETFAMILY); 0 with @p error set on failure.
std::uint16_t resolve_family(int fd, int& error)
{
    Message request;
    Message answer;
    build_request(request, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME,
                  TASKSTATS_GENL_NAME, sizeof(TASKSTATS_GENL_NAME));
    error = transact(fd, request, answer);
    if (error != 0) {
        return 0;
    }
    std::size_t len = 0;
    const char* id = find_attr(payload(answer), payload_end(answer), CTRL_ATTR_FAMILY_ID, len);
    if (id == nullptr || len < sizeof(std::uint16_t)) {
        error = EPROTO;
        return 0;
    }
    std::uint16_t family = 0;
    std::memcpy(&family, id, sizeof(family));
    return family;
}

void taskstats_netlink(benchmark::State& state)
{
    const pid_t pid = sleeping_child().pid();
    if (pid < 0) {
        skip(state, errno_text("fork of the sleeping child", sleeping_child().error()));
        return;
    }
    const Fd fd{::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC)};
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0) {
        skip(state, errno_text("generic netlink socket", errno));
        return;
    }
    int error = 0;
    const std::uint16_t family = resolve_family(fd.get(), error);
    if (family == 0) {
        skip(state, error == ENOENT
                        ? std::string("no TASKSTATS generic netlink family (kernel without "
                                      "CONFIG_TASKSTATS)")
                        : errno_text("CTRL_CMD_GETFAMILY TASKSTATS", error));
        return;
    }
    // The request is the same every time: built once, as the pid does not change.
    Message request;
    const auto nl_pid = static_cast<std::uint32_t>(pid);
    build_request(request, family, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_PID, &nl_pid,
                  sizeof(nl_pid));
    Message answer;
    taskstats stats{};
    for (auto _ : state) {
        error = transact(fd.get(), request, answer);
        if (error != 0) {
            skip(state, errno_text("TASKSTATS_CMD_GET", error) +
                            (error == EPERM ? " (needs CAP_NET_ADMIN)" : ""));
            break;
        }
        std::size_t aggr_len = 0;
        const char* aggr =
            find_attr(payload(answer), payload_end(answer), TASKSTATS_TYPE_AGGR_PID, aggr_len);
        std::size_t stats_len = 0;
        const char* found = aggr == nullptr
                                ? nullptr
                                : find_attr(aggr, aggr + aggr_len, TASKSTATS_TYPE_STATS, stats_len);
        if (found == nullptr) {
            skip(state, "no TASKSTATS_TYPE_STATS in the answer");
            break;
        }
        // The kernel's struct may be older or newer than this header's.
        std::memcpy(&stats, found, std::min(stats_len, sizeof(stats)));
        benchmark::DoNotOptimize(stats.ac_utime);
        benchmark::DoNotOptimize(stats.ac_stime);
    }
}

} // namespace

// NOLINTNEXTLINE(cert-err58-cpp): registration at static initialisation is how gbench works
BENCHMARK(taskstats_netlink)->Name("taskstats/netlink");

} // namespace taskmon::bench
