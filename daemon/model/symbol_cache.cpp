#include "model/symbol_cache.hpp"

namespace cotrace {

const symbol_cache::entry& symbol_cache::lookup(const key& k) {
    auto it = entries_.find(k);
    if (it != entries_.end()) return it->second;
    entry e;
    if (source_) {
        auto [pid, what, addr] = k;
        switch (what) {
            case kind::site: e.site = source_->site(pid, addr); break;
            case kind::function: e.name = source_->function(pid, addr); break;
            case kind::text: e.name = source_->text(pid, addr); break;
            case kind::frame_code: e.value = source_->frame_code(pid, addr); break;
        }
    }
    it = entries_.emplace(k, std::move(e)).first;
    if (listener_) listener_(k, it->second);
    return it->second;
}

const source_site& symbol_cache::site(std::uint32_t pid, std::uint64_t addr) {
    return lookup({pid, kind::site, addr}).site;
}
const std::string& symbol_cache::function(std::uint32_t pid, std::uint64_t addr) {
    return lookup({pid, kind::function, addr}).name;
}
const std::string& symbol_cache::text(std::uint32_t pid, std::uint64_t addr) {
    return lookup({pid, kind::text, addr}).name;
}
std::optional<std::uint64_t> symbol_cache::frame_code(std::uint32_t pid, std::uint64_t frame) {
    // Frames are not static data, but this is asked only for partial spans
    // (seen first mid-flight), and kept so a replay names them alike.
    const key k{pid, kind::frame_code, frame};
    if (source_) entries_.erase(k);
    return lookup(k).value;
}

}  // namespace cotrace
