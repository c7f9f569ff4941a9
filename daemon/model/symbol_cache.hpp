#pragma once
// Resolves each address once per process (DESIGN.md §3: never per event) and
// remembers every answer, so a recording can carry the table and be read
// later without the process.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "model/symbols.hpp"

namespace cotrace {

class symbol_cache {
public:
    enum class kind : std::uint8_t { site = 1, function = 2, text = 3, frame_code = 4 };
    using key = std::tuple<std::uint32_t, kind, std::uint64_t>;
    struct entry {
        source_site site;  // for kind::site
        std::string name;  // for kind::function and kind::text
        std::optional<std::uint64_t> value;  // for kind::frame_code
    };
    // Called with each newly resolved entry (a recording writes them out).
    using listener = std::function<void(const key&, const entry&)>;

    explicit symbol_cache(symbol_source* source = nullptr) : source_(source) {}

    const source_site& site(std::uint32_t pid, std::uint64_t addr);
    const std::string& function(std::uint32_t pid, std::uint64_t addr);
    const std::string& text(std::uint32_t pid, std::uint64_t addr);
    std::optional<std::uint64_t> frame_code(std::uint32_t pid, std::uint64_t frame);

    // Pre-loads an entry (from a recording).
    void insert(const key& k, entry e) { entries_.insert_or_assign(k, std::move(e)); }
    void set_listener(listener l) { listener_ = std::move(l); }
    const std::map<key, entry>& entries() const { return entries_; }

private:
    const entry& lookup(const key& k);

    symbol_source* source_;
    listener listener_;
    std::map<key, entry> entries_;
};

}  // namespace cotrace
