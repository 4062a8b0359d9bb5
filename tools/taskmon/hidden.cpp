// SPDX-License-Identifier: GPL-2.0-only
#include "hidden.hpp"

#include "commands.hpp"
#include "exit_codes.hpp"
#include "format.hpp"
#include "output.hpp"
#include "stop_signals.hpp"

#include <map>
#include <ostream>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace taskmon::cli {

namespace {

constexpr std::chrono::seconds max_settle{3600};

const char* event_name(HiddenEvent event)
{
    switch (event) {
    case HiddenEvent::appeared:
        return "appeared";
    case HiddenEvent::disappeared:
        return "disappeared";
    case HiddenEvent::changed:
        return "changed";
    }
    return "?";
}

using Key = std::pair<pid_t, std::chrono::nanoseconds::rep>; // a process: pid and start time
using Found = std::map<Key, HiddenProcess>;

Found by_key(std::vector<HiddenProcess> list)
{
    Found found;
    for (auto& p : list) {
        const Key key{p.pid, p.start_time.count()};
        found.emplace(key, std::move(p));
    }
    return found;
}

// The lines of the changes from @p before to @p now, in pid order.
std::string changes(const Found& before, const Found& now, bool json,
                    std::chrono::nanoseconds elapsed, bool raw)
{
    std::string text;
    auto old_it = before.begin();
    auto new_it = now.begin();
    const auto line = [&](const HiddenProcess& p, HiddenEvent event) {
        text += format_hidden(p, json, &event, elapsed, raw);
    };
    while (old_it != before.end() || new_it != now.end()) {
        if (new_it == now.end() || (old_it != before.end() && old_it->first < new_it->first)) {
            line(old_it->second, HiddenEvent::disappeared);
            ++old_it;
        } else if (old_it == before.end() || new_it->first < old_it->first) {
            line(new_it->second, HiddenEvent::appeared);
            ++new_it;
        } else {
            if (old_it->second.reasons != new_it->second.reasons) {
                line(new_it->second, HiddenEvent::changed);
            }
            ++old_it;
            ++new_it;
        }
    }
    return text;
}

int status_of(const Found& found)
{
    return found.empty() ? exit_ok : exit_hidden_found;
}

int scan(const Monitor& monitor, const Options& opts, std::ostream& out)
{
    HiddenScanOptions options;
    options.proc = opts.proc;
    options.settle = opts.settle;
    if (!opts.watch) {
        const auto found = find_hidden(monitor, options);
        std::string text;
        for (const auto& p : found) {
            text += format_hidden(p, opts.json, nullptr, {}, opts.raw);
        }
        write_output(out, text);
        return found.empty() ? exit_ok : exit_hidden_found;
    }

    const StopSignals signals;
    const Clock::time_point begin = Clock::now();
    Clock::time_point deadline = begin;
    Found previous;
    for (;;) {
        Found now = by_key(find_hidden(monitor, options));
        write_output(out, changes(previous, now, opts.json, Clock::now() - begin, opts.raw));
        previous = std::move(now);
        deadline += *opts.watch;
        if (const auto t = Clock::now(); deadline < t) { // a scan longer than the interval
            deadline = t;
        }
        if (!sleep_until(deadline)) {
            return status_of(previous); // Ctrl-C or SIGTERM: the last check's status
        }
    }
}

} // namespace

std::chrono::milliseconds parse_settle(const std::string& text)
{
    const auto bad = [&text]() {
        return UsageError("invalid settle '" + text +
                          "': give seconds as a decimal number from 0 to 3600, e.g. 0.2");
    };
    std::string_view rest(text);
    if (!rest.empty() && rest.back() == 's') {
        rest.remove_suffix(1);
    }
    const auto dot = rest.find('.');
    const std::string_view whole = rest.substr(0, dot);
    const std::string_view frac =
        dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
    const auto digits = [](std::string_view s) {
        return s.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if ((whole.empty() && frac.empty()) || !digits(whole) || !digits(frac) || frac.size() > 9 ||
        whole.size() > 4) {
        throw bad();
    }
    std::int64_t ns = 0;
    for (const char c : whole) {
        ns = ns * 10 + (c - '0');
    }
    ns *= 1'000'000'000;
    std::int64_t scale = 1'000'000'000;
    for (const char c : frac) {
        scale /= 10;
        ns += (c - '0') * scale;
    }
    const auto settle = std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds(ns));
    if (settle > max_settle) {
        throw bad();
    }
    return settle;
}

bool apply_hidden_option(Options& opts, int key, const char* value)
{
    switch (key) {
    case 'w':
        opts.watch = parse_interval(value);
        return true;
    case 's':
        opts.settle = parse_settle(value);
        return true;
    case 'p':
        opts.proc = value;
        if (opts.proc.empty()) {
            throw UsageError("option --proc needs a non-empty PATH, e.g. /proc");
        }
        return true;
    default:
        return false;
    }
}

std::string format_hidden(const HiddenProcess& p, bool json, const HiddenEvent* event,
                          std::chrono::nanoseconds elapsed, bool raw)
{
    const auto names = reason_names(p.reasons);
    std::string reasons;
    for (const auto& name : names) {
        if (json) {
            reasons += (reasons.empty() ? "" : ", ") + json_string(name);
        } else {
            reasons += (reasons.empty() ? "" : ",") + name;
        }
    }
    if (json) {
        std::string text = "{";
        if (event != nullptr) {
            text += "\"elapsed_s\": " + json_seconds(elapsed) +
                    ", \"event\": " + json_string(event_name(*event)) + ", ";
        }
        text += "\"pid\": " + std::to_string(p.pid) + ", " + json_bytes_member("comm", p.comm) +
                ", \"uid\": " + (p.uid ? std::to_string(*p.uid) : std::string("null")) +
                ", \"start_time_ns\": " + std::to_string(p.start_time.count()) +
                ", \"reasons\": [" + reasons + "], " + json_bytes_member("detail", p.detail) +
                "}\n";
        return text;
    }
    std::string text;
    if (event != nullptr) {
        text =
            (raw ? raw_seconds(elapsed) : format_seconds(elapsed)) + " " + event_name(*event) + " ";
    }
    text += "pid " + std::to_string(p.pid) + " comm " +
            (p.comm.empty() ? std::string("-") : safe_text(p.comm)) + " uid " +
            (p.uid ? std::to_string(*p.uid) : std::string("-")) + " start " +
            (raw ? raw_seconds(p.start_time) : format_seconds(p.start_time)) + ": " + reasons;
    if (!p.detail.empty()) {
        text += " (" + safe_text(p.detail) + ")";
    }
    return text + "\n";
}

int run_hidden(const Options& opts, std::ostream& out, std::ostream& err)
{
    try {
        const Monitor monitor(opts.device, Access::read);
        return scan(monitor, opts, out);
    } catch (const OutputClosed&) {
        throw;
    } catch (const std::exception& e) {
        if (exit_code_for(e) != exit_failure) {
            throw; // its own status (>1) and advice, as from the other commands
        }
        err << "taskmon: " << e.what() << '\n';
        const auto* error = dynamic_cast<const Error*>(&e);
        const auto* system = dynamic_cast<const std::system_error*>(&e);
        if (error != nullptr) {
            if (const std::string fix = advice(*error, opts); !fix.empty()) {
                err << "taskmon: " << fix << '\n';
            }
        } else if (system != nullptr && system->code().value() == EXDEV) {
            err << "taskmon: --proc must be the proc file system of this pid namespace (in a "
                   "container: its own /proc)\n";
        }
        return exit_hidden_failed;
    }
}

} // namespace taskmon::cli
