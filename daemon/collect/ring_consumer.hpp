#pragma once
// Reads a BPF ring buffer map by hand, through its mmapped pages: the
// consumer position (ours, read-write), the producer position and the data
// (the kernel's, read-only, the data mapped twice so a record that wraps is
// contiguous). libbpf 1.1's ring_buffer__consume has no record budget: it
// keeps consuming while the producer keeps writing, so a fast target could
// hold the daemon there forever. Here every call takes at most `budget`
// records, and the consumer position is published once per call, not per
// record, so the producer's reservations bounce its cache line less.

#include <cstddef>
#include <cstdint>
#include <functional>

namespace cotrace {

class ring_consumer {
public:
    // map_fd: a BPF_MAP_TYPE_RINGBUF map of ring_bytes (a power of two).
    // Throws cotrace::error when it cannot be mapped.
    ring_consumer(int map_fd, std::size_t ring_bytes);
    ~ring_consumer();
    ring_consumer(const ring_consumer&) = delete;
    ring_consumer& operator=(const ring_consumer&) = delete;

    // Hands up to `budget` committed records to `on_record` (data, size), in
    // order; stops early at a record the producer has not committed yet.
    // Returns how many records were taken.
    template <typename F>
    std::size_t consume(std::size_t budget, F&& on_record);

    // Skips the committed records there now without reading them; returns how many.
    std::size_t discard_all();

    // Waits up to timeout_ms until the ring holds data (poll on the map).
    // Returns at once when it already does.
    void wait(int timeout_ms) const;

    // Bytes written by the producer and not consumed yet.
    std::size_t pending_bytes() const;

private:
    int map_fd_;
    std::size_t mask_;
    std::size_t page_;
    void* consumer_page_ = nullptr;
    void* producer_pages_ = nullptr;  // producer position page, then the data twice
    std::uint64_t* consumer_pos_;
    const std::uint64_t* producer_pos_;
    const unsigned char* data_;
};

namespace ring_record {
// The kernel's record header (struct bpf_ringbuf_hdr): length with two flag
// bits, then the page offset; records are 8-byte aligned.
inline constexpr std::uint32_t busy_bit = 1u << 31;
inline constexpr std::uint32_t discard_bit = 1u << 30;
inline constexpr std::size_t header_size = 8;
inline std::size_t total_size(std::uint32_t len) {
    return (static_cast<std::size_t>(len & ~(busy_bit | discard_bit)) + header_size + 7) & ~std::size_t{7};
}
}  // namespace ring_record

template <typename F>
std::size_t ring_consumer::consume(std::size_t budget, F&& on_record) {
    std::uint64_t cons = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE);
    const std::uint64_t prod = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
    std::size_t taken = 0;
    while (cons < prod && taken < budget) {
        const unsigned char* at = data_ + (cons & mask_);
        const std::uint32_t len = __atomic_load_n(reinterpret_cast<const std::uint32_t*>(at), __ATOMIC_ACQUIRE);
        if (len & ring_record::busy_bit) break;  // reserved, not yet submitted
        const std::size_t total = ring_record::total_size(len);
        // The kernel wrote this length; still, never step outside the ring.
        if (total > mask_ + 1 || prod - cons < total) break;
        if (!(len & ring_record::discard_bit))
            on_record(at + ring_record::header_size, static_cast<std::size_t>(len & ~(ring_record::busy_bit | ring_record::discard_bit)));
        cons += total;
        ++taken;
    }
    if (taken) __atomic_store_n(consumer_pos_, cons, __ATOMIC_RELEASE);
    return taken;
}

}  // namespace cotrace
