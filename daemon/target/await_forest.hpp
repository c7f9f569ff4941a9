#pragma once
// From the frames a scan found to the await tree of each request: a task's
// parent is the frame its continuation names (the frame that co_awaits it)
// or, for a when_all branch, the frame waiting on its join. Links that point
// at no frame found are dropped; a link that would close a loop (memory
// changing under the scan, or a hostile process) is cut and counted; trees
// deeper than a bound are cut there and the rest counted.

#include <cstdint>
#include <functional>
#include <optional>

#include "model/stack_snapshot.hpp"
#include "target/coroutine_catalog.hpp"
#include "target/heap_scan.hpp"

namespace cotrace {

// The site at a target address, or nullopt when it is not one.
using site_resolver = std::function<std::optional<stack_site>(std::uint64_t address)>;

inline constexpr std::size_t max_await_depth = 512;

// A scan taken interval_ns before the one the forest is built from. A task
// frame found in both at the same address, of the same kind, at the same
// suspend point (the same resume index, through a suspend map) has waited
// there at least interval_ns, unless it resumed and came back to that point
// in between, which two scans cannot tell.
struct earlier_scan {
    const scan_result* scan = nullptr;
    std::uint64_t interval_ns = 0;
};

stack_snapshot build_await_forest(const scan_result& scan, const coroutine_catalog& catalog,
                                  const site_resolver& resolve_site, earlier_scan earlier = {});

}  // namespace cotrace
