#include "model/symbol_cache.hpp"

namespace cotrace {

symbol_cache::symbol_cache(symbol_source* source, std::size_t max_entries, std::size_t max_string_bytes)
    : source_(source), max_entries_(max_entries), max_string_bytes_(max_string_bytes) {}

std::string_view symbol_cache::intern(std::string_view s) {
    if (s.empty()) return {};
    if (auto it = string_index_.find(s); it != string_index_.end()) return *it;
    if (string_bytes_ + s.size() > max_string_bytes_) return {};
    string_bytes_ += s.size();
    const std::string_view stored = strings_.emplace_back(s);
    string_index_.insert(stored);
    return stored;
}

symbol_cache::interned symbol_cache::intern_entry(const entry& e) {
    interned out;
    out.site.function = intern(e.site.function);
    out.site.file = intern(e.site.file);
    out.site.line = e.site.line;
    out.name = intern(e.name);
    return out;
}

void symbol_cache::insert(const key& k, const entry& e) {
    if (std::get<1>(k) == kind::frame_code) {
        if (frame_codes_.size() >= max_entries_) frame_codes_.clear();  // never asked for: stale
        frame_codes_.insert_or_assign(k, e.value);
        return;
    }
    auto it = entries_.find(k);
    if (it != entries_.end()) {
        it->second = intern_entry(e);  // views handed out before stay valid: strings are never freed
        return;
    }
    if (entries_.size() >= max_entries_) return;
    entries_.emplace(k, intern_entry(e));
}

const symbol_cache::interned& symbol_cache::lookup_slow(const key& k) {
    recent& r = recent_[key_hash{}(k) % recent_size];
    auto it = entries_.find(k);
    if (it == entries_.end()) {
        if (entries_.size() >= max_entries_) return none_;
        entry e;
        if (source_) {
            auto [pid, what, addr] = k;
            switch (what) {
                case kind::site: e.site = source_->site(pid, addr); break;
                case kind::function: e.name = source_->function(pid, addr); break;
                case kind::text: e.name = source_->text(pid, addr); break;
                case kind::frame_code: break;
            }
        }
        it = entries_.emplace(k, intern_entry(e)).first;
        if (listener_) listener_(k, e);
    }
    r = {k, &it->second};
    return it->second;
}


std::optional<std::uint64_t> symbol_cache::frame_code(std::uint32_t pid, std::uint64_t frame) {
    // Frames are not static data: read afresh each time it is asked (only
    // for spans first seen mid-flight), passed to the listener so a replay
    // names them alike, and not kept.
    const key k{pid, kind::frame_code, frame};
    if (!source_) {
        auto it = frame_codes_.find(k);
        if (it == frame_codes_.end()) return std::nullopt;
        const std::optional<std::uint64_t> v = it->second;
        frame_codes_.erase(it);
        return v;
    }
    entry e;
    e.value = source_->frame_code(pid, frame);
    if (listener_) listener_(k, e);
    return e.value;
}

}  // namespace cotrace
