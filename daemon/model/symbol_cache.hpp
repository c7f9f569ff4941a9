#pragma once
// Resolves each address once per process (DESIGN.md §3: never per event) and
// interns every answer: names and sites are handed out as views into strings
// stored once, valid as long as the cache lives, so traces refer to them
// without copying. New answers go to a listener, so a recording can carry
// the table and be read later without the process.
//
// Bounded, whatever the target does: past max_entries addresses or
// max_string_bytes of text, an address not yet known resolves to nothing
// (and is not asked of the source). Frame codes (the first word of a live
// frame) are not static data: they are passed on, never kept.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "model/symbols.hpp"

namespace cotrace {

class symbol_cache {
public:
    enum class kind : std::uint8_t { site = 1, function = 2, text = 3, frame_code = 4 };
    using key = std::tuple<std::uint32_t, kind, std::uint64_t>;
    // One answer as a symbol_source gave it (what recordings store).
    struct entry {
        resolved_site site;  // for kind::site
        std::string name;    // for kind::function and kind::text
        std::optional<std::uint64_t> value;  // for kind::frame_code
    };
    // Called with each newly resolved entry (a recording writes them out).
    using listener = std::function<void(const key&, const entry&)>;

    static constexpr std::size_t default_max_entries = 1u << 17;
    static constexpr std::size_t default_max_string_bytes = 16u << 20;

    explicit symbol_cache(symbol_source* source = nullptr, std::size_t max_entries = default_max_entries,
                          std::size_t max_string_bytes = default_max_string_bytes);
    symbol_cache(const symbol_cache&) = delete;
    symbol_cache& operator=(const symbol_cache&) = delete;

    // Inline: most answers come from the memory of recent ones.
    const source_site& site(std::uint32_t pid, std::uint64_t addr) { return lookup({pid, kind::site, addr}).site; }
    std::string_view function(std::uint32_t pid, std::uint64_t addr) {
        return lookup({pid, kind::function, addr}).name;
    }
    std::string_view text(std::uint32_t pid, std::uint64_t addr) { return lookup({pid, kind::text, addr}).name; }
    std::optional<std::uint64_t> frame_code(std::uint32_t pid, std::uint64_t frame);
    // A view of s that lives as long as the cache (empty past the bound).
    std::string_view intern(std::string_view s);

    // Pre-loads an entry (from a recording).
    void insert(const key& k, const entry& e);
    void set_listener(listener l) { listener_ = std::move(l); }
    std::size_t size() const { return entries_.size(); }
    std::size_t string_bytes() const { return string_bytes_; }

private:
    struct interned {
        source_site site;
        std::string_view name;
    };
    struct key_hash {
        std::size_t operator()(const key& k) const {
            const auto [pid, what, addr] = k;
            std::uint64_t h = addr * 0x9E3779B97F4A7C15ull;
            h ^= (std::uint64_t{pid} << 8 | static_cast<std::uint8_t>(what)) * 0xC2B2AE3D27D4EB4Full;
            return static_cast<std::size_t>(h ^ (h >> 29));
        }
    };
    // A direct-mapped memory of recent answers in front of the table: most
    // events name one of a few hot sites.
    struct recent {
        key k{0, kind::site, 0};
        const interned* value = nullptr;
    };
    static constexpr std::size_t recent_size = 512;

    const interned& lookup(const key& k) {
        const recent& r = recent_[key_hash{}(k) % recent_size];
        if (r.value && r.k == k) [[likely]]
            return *r.value;
        return lookup_slow(k);
    }
    const interned& lookup_slow(const key& k);
    interned intern_entry(const entry& e);

    symbol_source* source_;
    listener listener_;
    std::size_t max_entries_;
    std::size_t max_string_bytes_;
    std::unordered_map<key, interned, key_hash> entries_;
    // Frame codes from a recording, each kept until the event that asks for it.
    std::unordered_map<key, std::optional<std::uint64_t>, key_hash> frame_codes_;
    std::deque<std::string> strings_;
    std::unordered_set<std::string_view> string_index_;
    std::size_t string_bytes_ = 0;
    recent recent_[recent_size];
    const interned none_{};
};

}  // namespace cotrace
