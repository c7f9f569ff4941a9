#pragma once
// Where a suspended GCC coroutine frame waits, from what the compiler keeps
// anyway: no store of the library's at any co_await.
//
// GCC 12 writes the frame's _Coro_resume_index before every suspension, and
// keeps each co_await's awaiter in a frame field of its own until that
// co_await resumes (the awaiter of a traced co_await holds its site). Both
// are named in the binary's DWARF: the frame is a structure type
// `<ramp>.Frame` whose members are the resume index, `Is_<depth>_<block>`
// (the initial suspend), `Aw<n>_<depth>_<block>` (a co_await, n counted in
// the order the awaits were parsed; `Yd<n>_…` a co_yield, on the same count,
// whose awaiter is not traced, so a frame with one is not mapped) and
// `Fs_<depth>_<block>` (the final
// suspend). GCC 12 numbers the resume indices 2, 4, 6, ... in the order it
// expands the suspend points: the initial suspend, each statement's awaits
// (a statement is a block of its own; inside it an await's operand first,
// in parse order), the final suspend: that is (block, n) order, checked
// against -fdump-tree-gimple for nested, chained, looped and lambda awaits.
// n restarts at 0 after a coroutine lambda's final suspend, so a block
// whose n are not consecutive (a lambda inside the statement) makes the
// whole frame unknown, as does anything else this rule does not describe:
// no map is better than a wrong site.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace cotrace {

struct suspend_point {
    enum class kind : std::uint8_t { initial, at_await, final } what = kind::at_await;
    std::uint32_t site_offset = 0;  // at_await: frame start -> the awaiter's `site`
};

struct frame_suspend_map {
    std::uint32_t resume_index_offset = 0;  // a 16-bit field
    std::uint32_t frame_size = 0;
    std::vector<suspend_point> points;      // resume index 2 + 2 * i

    // The point a resume index names, or nullptr (odd: being destroyed; out of range).
    const suspend_point* at(std::uint16_t resume_index) const {
        if (resume_index < 2 || resume_index % 2 != 0) return nullptr;
        const std::size_t i = resume_index / 2 - 1;
        return i < points.size() ? &points[i] : nullptr;
    }
};

// One member of a frame structure type as DWARF describes it.
struct frame_field {
    std::string name;
    std::uint32_t offset = 0, size = 0;
    std::optional<std::uint32_t> site_member;  // the member `site` of a cotrace traced awaiter type
};

// The map of a frame of `frame_size` bytes with these members, or nullopt
// when they do not follow GCC 12's rule above exactly.
std::optional<frame_suspend_map> suspend_map_of(const std::vector<frame_field>& fields, std::uint32_t frame_size);

// A Clang frame (`<ramp>.coro_frame_ty`, clang >= 15 describes it) whose
// `__promise` is a cotrace task promise. Clang keeps no handle to the frame
// in it to check it by, and its suspend index numbers suspend points in an
// order of LLVM's, not the source's: the chain is known, not the site.
struct clang_task_frame {
    std::uint32_t promise_offset = 0, promise_size = 0;
};

struct frame_debug_info {
    std::unordered_map<std::string, frame_suspend_map> gcc;  // by frame type name (`_Z4leafi.Frame`)
    std::unordered_map<std::string, clang_task_frame> clang;  // by frame type name (`_Z4leafi.coro_frame_ty`)
};

// The frame types of the object at `path`: GCC 12's with a suspend map, and
// Clang's of cotrace tasks. A name two compile units describe differently is
// left out. Empty without DWARF.
frame_debug_info read_frame_debug_info(const std::string& path);

// The frame type named in a GCC actor's symbol
// (`_Z4leafPZ4leafiE14_Z4leafi.Frame.actor` -> `_Z4leafi.Frame`), or "".
std::string frame_type_of_actor(const std::string& actor_symbol);
// The frame type of a Clang resume function (`_Z4leafi.resume` -> `_Z4leafi.coro_frame_ty`), or "".
std::string frame_type_of_resume(const std::string& resume_symbol);

}  // namespace cotrace
