#pragma once
// The coroutines a process can run, read from the ELF objects it maps: each
// coroutine function's resume and destroy functions (GCC `.actor` and
// `.destroy`, Clang `.resume` and `.destroy`) at their run-time addresses,
// with the frame layout records of its object (probes/cotrace_layout.h) and,
// from its DWARF, the suspend map of its frame (frame_suspend_map.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include "target/heap_scan.hpp"
#include "target/proc_maps.hpp"

namespace cotrace {

struct coroutine_catalog {
    std::vector<coroutine_kind> kinds;
    std::vector<std::string> names;  // per kind, as a user writes the function
    std::uint64_t layout_records = 0;
    std::uint64_t suspend_maps = 0;  // kinds whose suspend points DWARF gives
};

coroutine_catalog read_coroutine_catalog(std::uint32_t pid, const std::vector<mapping>& maps);

}  // namespace cotrace
