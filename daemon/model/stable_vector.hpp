#pragma once
// A growable array whose elements never move: storage comes in chunks of
// 2^chunk_bits elements, so a reference stays valid while more are added,
// and indexing is two loads (a deque's costs a division and more branches,
// on the assembler's path for every event).

#include <cstddef>
#include <memory>
#include <vector>

namespace cotrace {

template <class T, unsigned chunk_bits = 6>
class stable_vector {
public:
    static constexpr std::size_t chunk_size = std::size_t{1} << chunk_bits;

    T& operator[](std::size_t i) { return chunks_[i >> chunk_bits][i & (chunk_size - 1)]; }
    const T& operator[](std::size_t i) const { return chunks_[i >> chunk_bits][i & (chunk_size - 1)]; }
    std::size_t size() const { return size_; }

    // A value-initialised element at the end.
    T& emplace_back() {
        if (size_ == chunks_.size() * chunk_size) chunks_.push_back(std::make_unique<T[]>(chunk_size));
        return (*this)[size_++];
    }

private:
    std::vector<std::unique_ptr<T[]>> chunks_;
    std::size_t size_ = 0;
};

}  // namespace cotrace
