#pragma once
// What `cotrace stacks` found in a process at one moment: every request's
// await tree (root -> ... -> the leaf that waits), read out of memory with no
// tracer attached, so no timestamps: how long a span has been suspended is
// known only as a lower bound from two scans (--interval), and otherwise says
// so (nullopt) rather than guessing.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cotrace {

struct stack_site {
    std::string file, function;
    std::uint32_t line = 0;
};

enum class stack_state {
    suspended,       // waits at `site`
    not_started,     // a lazy task never resumed yet (or running its first steps)
    done,            // at its final suspend, its frame not destroyed yet (a finished when_all branch)
    layout_unknown,  // another library's coroutine: only its name is known
};

const char* stack_state_name(stack_state s);

struct stack_span {
    std::string name;
    stack_state state = stack_state::suspended;
    std::uint64_t frame = 0;
    std::shared_ptr<const stack_site> site;    // where it waits, when it does at a known site (shared by its spans)
    // A lower bound, with two scans: at the same suspend point in both, so
    // suspended for at least the interval between them. nullopt: not known.
    std::optional<std::uint64_t> suspended_at_least_ns;
    std::vector<stack_span> children;           // the spans it waits for
    std::uint64_t cut_children = 0;             // deeper than the depth bound: counted, not shown
};

struct stack_request {
    stack_span root;
};

struct stack_other {
    std::string name;
    std::uint64_t count = 0;
};

struct stack_snapshot {
    std::uint32_t pid = 0;
    std::vector<stack_request> requests;
    std::vector<stack_other> others;  // coroutines of unknown layout that await no task of ours
    std::uint64_t frames = 0;         // every frame found
    std::uint64_t bytes_scanned = 0, bytes_unreadable = 0;
    std::uint64_t bytes_skipped = 0;  // sparse reservations too large to walk (not scanned)
    std::uint64_t coroutine_kinds = 0, layout_records = 0;
    std::uint64_t cycles_cut = 0;  // awaiter links that closed a loop (a frame changing under the scan)
    bool truncated = false;
    std::uint64_t scan_ns = 0;  // the scan alone
    std::optional<std::uint64_t> interval_ns;  // two scans this far apart (--interval)
};

}  // namespace cotrace
