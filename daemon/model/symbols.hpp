#pragma once
// Turns addresses in a traced process into names. The assembler asks through
// this interface, so it needs neither ELF nor /proc: live targets, recordings
// and tests each provide their own.

#include <cstdint>
#include <optional>
#include <string>

#include "model/model.hpp"

namespace cotrace {

// A site as a symbol_source reads it: owning strings, interned by the
// symbol_cache into the source_site views traces carry.
struct resolved_site {
    std::string function;
    std::string file;
    std::uint32_t line = 0;
    bool known() const { return line != 0 || !file.empty() || !function.empty(); }
};

class symbol_source {
public:
    virtual ~symbol_source() = default;
    // The struct cotrace_site at addr.
    virtual resolved_site site(std::uint32_t pid, std::uint64_t addr) = 0;
    // The function containing code address addr (a coroutine's resume
    // function); "0x<addr>" when no known function contains it.
    virtual std::string function(std::uint32_t pid, std::uint64_t addr) = 0;
    // The NUL-terminated string at addr.
    virtual std::string text(std::uint32_t pid, std::uint64_t addr) = 0;
    // The first word of a coroutine frame that is still alive (for spans whose
    // beginning was not seen); nullopt when it cannot be read.
    virtual std::optional<std::uint64_t> frame_code(std::uint32_t pid, std::uint64_t frame) = 0;
};

}  // namespace cotrace
