// SPDX-License-Identifier: GPL-2.0-only
#include "top_tui.hpp"

#include "exit_codes.hpp"
#include "format.hpp"
#include "stop_signals.hpp"

#include <curses.h>

#include <algorithm>
#include <chrono>
#include <clocale>
#include <string>
#include <vector>

namespace taskmon::cli {

namespace {

// endwin() on every way out, exceptions included.
class Screen {
public:
    Screen()
    {
        std::setlocale(LC_ALL, ""); // NOLINT(concurrency-mt-unsafe): before any thread
        if (initscr() == nullptr) {
            throw std::runtime_error("cannot start the terminal mode: use -b for batch mode");
        }
        cbreak();
        noecho();
        keypad(stdscr, TRUE);
        curs_set(0);
        timeout(100); // getch() waits at most 0.1 s: exit records are drained meanwhile
    }
    Screen(const Screen&) = delete;
    Screen& operator=(const Screen&) = delete;
    Screen(Screen&&) = delete;
    Screen& operator=(Screen&&) = delete;
    ~Screen() { endwin(); }
};

// The first @p width terminal columns of @p text (safe text: one column a
// code point).
std::string cut(const std::string& text, int width)
{
    std::size_t i = 0;
    for (int columns = 0; i < text.size() && columns < width; ++columns) {
        ++i;
        while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) {
            ++i;
        }
    }
    return text.substr(0, i);
}

void put(int y, const std::string& text)
{
    if (y < LINES) {
        mvaddstr(y, 0, cut(text, COLS).c_str());
    }
}

void draw(const std::optional<TopInterval>& iv, TopSort sort, const Options& opts)
{
    erase(); // no clear(): redrawing what changed does not flicker
    if (!iv) {
        put(0, "taskmon top - first sample taken, the first interval follows (q quits)");
        refresh();
        return;
    }
    int y = 0;
    for (const auto& line : top_header(*iv, sort)) {
        put(y++, line);
    }
    put(y++, "Keys: q quit, P %CPU, M RSS, T TIME+, N PID, < > move the sort column [" +
                 std::to_string(COLS) + "x" + std::to_string(LINES) + "]");
    attron(A_REVERSE);
    std::string titles = top_titles();
    if (static_cast<int>(titles.size()) < COLS) {
        titles.resize(static_cast<std::size_t>(COLS), ' ');
    }
    put(y++, titles);
    attroff(A_REVERSE);
    for (const auto& row : iv->rows) {
        if (y >= LINES) {
            break;
        }
        put(y++, top_line(row, opts.raw));
    }
    refresh();
}

} // namespace

int run_tui(const Options& opts, const std::function<std::optional<TopInterval>()>& sample,
            const std::function<void()>& poll)
{
    const Screen screen;
    TopSort sort = TopSort::cpu;
    std::optional<TopInterval> last; // the first sample is taken: no interval yet
    draw(last, sort, opts);
    Clock::time_point deadline = Clock::now() + opts.interval;
    std::uint64_t shown = 0;
    for (;;) {
        if (stop_requested()) {
            return exit_ok;
        }
        const int key = getch();
        bool redraw = false;
        const auto& order = top_sort_order();
        const auto at = std::find(order.begin(), order.end(), sort) - order.begin();
        switch (key) {
        case 'q':
        case 'Q':
            return exit_ok;
        case 'P':
            sort = TopSort::cpu;
            redraw = true;
            break;
        case 'M':
            sort = TopSort::memory;
            redraw = true;
            break;
        case 'T':
            sort = TopSort::time;
            redraw = true;
            break;
        case 'N':
            sort = TopSort::pid;
            redraw = true;
            break;
        case '<':
            sort = order[static_cast<std::size_t>(std::max<std::ptrdiff_t>(at - 1, 0))];
            redraw = true;
            break;
        case '>':
            sort = order[static_cast<std::size_t>(
                std::min<std::ptrdiff_t>(at + 1, static_cast<std::ptrdiff_t>(order.size()) - 1))];
            redraw = true;
            break;
        case KEY_RESIZE: // ncurses has already updated LINES and COLS
        case 12:         // Ctrl-L
            redraw = true;
            break;
        default:
            break;
        }
        if (Clock::now() >= deadline) {
            if (opts.count && shown >= *opts.count) {
                return exit_ok;
            }
            last = sample();
            ++shown;
            redraw = true;
            deadline += opts.interval;
            if (deadline < Clock::now()) {
                deadline = Clock::now() + opts.interval;
            }
        } else {
            poll();
        }
        if (key != ERR && redraw) {
            // What the user asked for is repainted whole (after a resize
            // the old screen is gone anyway); the updates of each interval
            // only write what changed, so that they do not flicker.
            clearok(curscr, TRUE);
        }
        if (redraw) {
            if (last) {
                sort_top(last->rows, sort);
            }
            draw(last, sort, opts);
        }
    }
}

} // namespace taskmon::cli
