#pragma once
// A hash map from 64-bit keys (span ids, frame addresses, tokens) to small
// values, stored in one flat array: open addressing with linear probing and
// backward-shift deletion. The assembler inserts and erases a few entries per
// span; a node-based map would allocate for each of them.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace cotrace {

template <class V>
class u64_map {
public:
    std::size_t size() const { return size_ + (has_zero_ ? 1 : 0); }
    bool empty() const { return size() == 0; }

    V* find(std::uint64_t k) {
        if (k == 0) return has_zero_ ? &zero_value_ : nullptr;
        if (slots_.empty()) return nullptr;
        for (std::size_t i = home(k);; i = (i + 1) & mask_) {
            slot& s = slots_[i];
            if (s.key == k) return &s.value;
            if (s.key == 0) return nullptr;
        }
    }
    const V* find(std::uint64_t k) const { return const_cast<u64_map*>(this)->find(k); }
    bool contains(std::uint64_t k) const { return find(k) != nullptr; }

    // The value for k, value-initialised when it was not there.
    V& operator[](std::uint64_t k) {
        if (k == 0) {
            if (!has_zero_) zero_value_ = V{};
            has_zero_ = true;
            return zero_value_;
        }
        if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
        for (std::size_t i = home(k);; i = (i + 1) & mask_) {
            slot& s = slots_[i];
            if (s.key == k) return s.value;
            if (s.key == 0) {
                s.key = k;
                s.value = V{};
                ++size_;
                return s.value;
            }
        }
    }

    bool erase(std::uint64_t k) {
        if (k == 0) {
            const bool had = has_zero_;
            has_zero_ = false;
            return had;
        }
        if (slots_.empty()) return false;
        std::size_t i = home(k);
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].key == k) break;
            if (slots_[i].key == 0) return false;
        }
        // Shift later members of the probe run back into the hole.
        for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
            if (slots_[j].key == 0) break;
            const std::size_t h = home(slots_[j].key);
            // Move j into i when its home is not in the cyclic range (i, j].
            if (((j - h) & mask_) >= ((j - i) & mask_)) {
                slots_[i] = std::move(slots_[j]);
                i = j;
            }
        }
        slots_[i].key = 0;
        --size_;
        // Give memory back after a burst.
        if (slots_.size() > 64 && size_ * 8 < slots_.size()) rehash(slots_.size() / 2);
        return true;
    }

    void clear() {
        slots_.clear();
        slots_.shrink_to_fit();
        mask_ = 0;
        size_ = 0;
        has_zero_ = false;
    }

    template <class F>
    void for_each(F&& f) {
        if (has_zero_) f(std::uint64_t{0}, zero_value_);
        for (slot& s : slots_)
            if (s.key != 0) f(s.key, s.value);
    }

private:
    struct slot {
        std::uint64_t key = 0;  // 0: empty (key 0 itself lives in zero_value_)
        V value{};
    };

    std::size_t home(std::uint64_t k) const {
        return static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
    }

    void rehash(std::size_t capacity) {
        std::vector<slot> old = std::move(slots_);
        slots_.assign(capacity, slot{});
        mask_ = capacity - 1;
        size_ = 0;
        for (slot& s : old)
            if (s.key != 0) {
                for (std::size_t i = home(s.key);; i = (i + 1) & mask_)
                    if (slots_[i].key == 0) {
                        slots_[i] = std::move(s);
                        ++size_;
                        break;
                    }
            }
    }

    std::vector<slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
    bool has_zero_ = false;
    V zero_value_{};
};

}  // namespace cotrace
