#include "target/heap_scan.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace cotrace {

namespace {

constexpr std::uint32_t max_layout_offset = 1u << 16;  // no promise is 64 KiB

struct code_index {
    std::unordered_map<std::uint64_t, std::uint32_t> by_resume, by_destroy;
    std::uint64_t low = ~std::uint64_t{0}, high = 0;  // bounds of every pointer, a cheap first test
    // Per kind, the bytes of a frame read to check and read it: its largest
    // field offset + the field's size (a kind with a large frame does not
    // make every other kind's frames read that much).
    std::vector<std::uint32_t> window;

    explicit code_index(const std::vector<coroutine_kind>& kinds) : window(kinds.size(), 16) {
        for (std::uint32_t i = 0; i < kinds.size(); ++i) {
            const coroutine_kind& k = kinds[i];
            if (k.resume == 0 || k.destroy == 0) continue;
            by_resume.emplace(k.resume, i);
            by_destroy.emplace(k.destroy, i);
            low = std::min({low, k.resume, k.destroy});
            high = std::max({high, k.resume, k.destroy});
            std::uint32_t& w = window[i];
            for (const cotrace_frame_layout& l : k.layouts) {
                if (!valid_layout(l)) continue;
                w = std::max({w, l.self_handle_offset + 8, l.promise_offset + l.continuation_offset + 8,
                              l.promise_offset + l.join_offset + 8});
            }
            if (k.clang_task) w = std::max(w, k.clang_task->promise_offset + k.clang_task->promise_size);
            if (k.suspends) {
                w = std::max(w, k.suspends->resume_index_offset + 2);
                for (const suspend_point& p : k.suspends->points)
                    if (p.what == suspend_point::kind::at_await) w = std::max(w, p.site_offset + 8);
            }
        }
    }
};

std::uint64_t word_at(const unsigned char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// The frame's words [0, window) as read from the chunk when they lie in it,
// else from the target.
bool frame_window(memory_reader& memory, std::uint64_t address, const unsigned char* chunk,
                  std::uint64_t chunk_start, std::size_t chunk_size, std::uint32_t window,
                  std::vector<unsigned char>& out) {
    out.resize(window);
    const std::uint64_t at = address - chunk_start;
    if (at <= chunk_size && window <= chunk_size - at) {
        std::memcpy(out.data(), chunk + at, window);
        return true;
    }
    return memory.read(address, out.data(), window);
}

// The suspend point its resume index names, when the map covers the window read.
void read_wait(const coroutine_kind& kind, const std::vector<unsigned char>& w, scanned_frame& f) {
    if (!kind.suspends || kind.suspends->resume_index_offset + 2 > w.size()) return;
    std::memcpy(&f.resume_index, w.data() + kind.suspends->resume_index_offset, sizeof f.resume_index);
    const suspend_point* p = kind.suspends->at(f.resume_index);
    if (!p) return;
    if (p->what == suspend_point::kind::initial) {
        f.where = scanned_frame::wait::not_started;
    } else if (p->what == suspend_point::kind::at_await && p->site_offset + 8 <= w.size()) {
        f.where = scanned_frame::wait::at_site;
        f.site = word_at(w.data() + p->site_offset);
    }
}

// The layout a frame is read through: the record whose self handle holds
// the frame's address (GCC), or, for a Clang task frame that is not at its
// final suspend, the record of the promise DWARF places.
const cotrace_frame_layout* layout_of(const coroutine_kind& kind, const std::vector<unsigned char>& w,
                                      const scanned_frame& f) {
    for (const cotrace_frame_layout& l : kind.layouts) {
        if (!valid_layout(l) || l.self_handle_offset + 8 > w.size()) continue;
        if (word_at(w.data() + l.self_handle_offset) == f.address) return &l;
    }
    if (!kind.clang_task || f.done) return nullptr;
    for (const cotrace_frame_layout& l : kind.layouts)
        if (valid_layout(l) && l.promise_offset == kind.clang_task->promise_offset &&
            l.promise_size == kind.clang_task->promise_size && l.promise_offset + l.promise_size <= w.size())
            return &l;
    return nullptr;
}

void read_task_fields(memory_reader& memory, const coroutine_kind& kind, const std::vector<unsigned char>& w,
                      scanned_frame& f) {
    if (const cotrace_frame_layout* found = layout_of(kind, w, f)) {
        const cotrace_frame_layout& l = *found;
        const unsigned char* promise = w.data() + l.promise_offset;
        f.task = true;
        f.continuation = word_at(promise + l.continuation_offset);
        f.join = word_at(promise + l.join_offset);
        if (!kind.clang_task) read_wait(kind, w, f);
        std::uint64_t waiter = 0;
        if (f.join != 0 && f.join + l.join_waiter_offset >= f.join &&
            memory.read(f.join + l.join_waiter_offset, &waiter, sizeof waiter))
            f.join_waiter = waiter;
    }
}

}  // namespace

bool valid_layout(const cotrace_frame_layout& l) {
    const auto small_aligned = [](std::uint32_t off) { return off < max_layout_offset && off % 8 == 0; };
    return l.magic == COTRACE_LAYOUT_MAGIC && l.version == COTRACE_LAYOUT_VERSION &&
           l.size == sizeof(cotrace_frame_layout) && l.promise_offset >= 16 && small_aligned(l.promise_offset) &&
           l.promise_size < max_layout_offset && small_aligned(l.self_handle_offset) &&
           l.self_handle_offset >= l.promise_offset + l.promise_size && small_aligned(l.continuation_offset) &&
           small_aligned(l.join_offset) && small_aligned(l.join_waiter_offset) &&
           l.continuation_offset + 8 <= l.promise_size && l.join_offset + 8 <= l.promise_size;
}

scan_result scan_for_frames(memory_reader& memory, const std::vector<memory_region>& regions,
                            const std::vector<coroutine_kind>& kinds, const scan_limits& limits) {
    scan_result result;
    const code_index index(kinds);
    if (index.by_resume.empty()) return result;
    const std::size_t chunk_bytes = std::max<std::size_t>(limits.chunk_bytes & ~std::size_t{7}, 64);
    std::vector<unsigned char> chunk(chunk_bytes + 8);  // + the word after the chunk's last
    std::vector<unsigned char> window;

    for (const memory_region& region : regions) {
        const std::uint64_t start = (region.start + 7) & ~std::uint64_t{7};
        if (region.end <= start) continue;
        for (std::uint64_t at = start; at < region.end - 8 && at >= start; at += chunk_bytes) {
            // A chunk, and the next word when the region has it, so a pair
            // across two chunks is seen.
            const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_bytes, region.end - at));
            const std::size_t with_next = size + (region.end - at > size ? 8 : 0);
            std::size_t readable = with_next;
            if (!memory.read(at, chunk.data(), with_next)) {
                readable = size;
                if (with_next == size || !memory.read(at, chunk.data(), size)) {
                    result.bytes_unreadable += size;
                    continue;
                }
            }
            result.bytes_scanned += size;
            for (std::size_t off = 0; off + 16 <= readable && off < size; off += 8) {
                const std::uint64_t w0 = word_at(chunk.data() + off);
                const std::uint64_t w1 = word_at(chunk.data() + off + 8);
                if (w1 < index.low || w1 > index.high) continue;
                std::uint32_t kind = 0;
                bool done = false;
                if (w0 == 0) {
                    const auto d = index.by_destroy.find(w1);
                    if (d == index.by_destroy.end()) continue;
                    kind = d->second;
                    done = true;
                } else {
                    if (w0 < index.low || w0 > index.high) continue;
                    const auto r = index.by_resume.find(w0);
                    if (r == index.by_resume.end() || kinds[r->second].destroy != w1) continue;
                    kind = r->second;
                }
                scanned_frame f;
                f.address = at + off;
                f.kind = kind;
                f.done = done;
                if (frame_window(memory, f.address, chunk.data(), at, readable, index.window[kind], window))
                    read_task_fields(memory, kinds[kind], window, f);
                // A (0, destroy) pair is a finished task's frame only with
                // its own handle where its layout says: else it is anything.
                if (done && !f.task) continue;
                if (result.frames.size() >= limits.max_frames) {
                    result.truncated = true;
                    return result;
                }
                result.frames.push_back(f);
            }
        }
    }
    std::sort(result.frames.begin(), result.frames.end(),
              [](const scanned_frame& a, const scanned_frame& b) { return a.address < b.address; });
    return result;
}

}  // namespace cotrace
