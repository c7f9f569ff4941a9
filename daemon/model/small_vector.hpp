#pragma once
// A vector of trivially copyable elements whose first N live inside it:
// most open traces hold one span, and its bookkeeping then costs no
// allocation of its own (one per live trace, at 32 bytes the smallest heap
// block, for 16 bytes of data). Not movable: the data pointer may point into
// the object itself (it lives in stable storage).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace cotrace {

template <class T, std::size_t N>
class small_vector {
    static_assert(std::is_trivially_copyable_v<T> && N > 0);

public:
    small_vector() = default;
    small_vector(const small_vector&) = delete;
    small_vector& operator=(const small_vector&) = delete;
    ~small_vector() { release_heap(); }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }

    void push_back(const T& v) {
        if (size_ == capacity_) reserve(capacity_ * 2);
        data_[size_++] = v;
    }
    // Value-initialised elements when it grows.
    void resize(std::size_t n) {
        if (n > capacity_) reserve(std::max(n, static_cast<std::size_t>(capacity_) * 2));
        for (std::size_t i = size_; i < n; ++i) data_[i] = T{};
        size_ = static_cast<std::uint32_t>(n);
    }
    void clear() { size_ = 0; }
    // Gives back heap storage it does not need (back inside when it fits).
    void shrink_to_fit() {
        if (data_ == inline_ || size_ == capacity_) return;
        if (size_ <= N) {
            std::copy_n(data_, size_, inline_);
            release_heap();
            data_ = inline_;
            capacity_ = N;
        } else {
            move_to(size_);
        }
    }

private:
    void reserve(std::size_t n) {
        if (n > capacity_) move_to(n);
    }
    void move_to(std::size_t n) {
        T* heap = new T[n];
        std::copy_n(data_, size_, heap);
        release_heap();
        data_ = heap;
        capacity_ = static_cast<std::uint32_t>(n);
    }
    void release_heap() {
        if (data_ != inline_) delete[] data_;
    }

    T* data_ = inline_;
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = N;
    T inline_[N];
};

}  // namespace cotrace
