#include "collect/ring_consumer.hpp"

#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "error.hpp"

namespace cotrace {

ring_consumer::ring_consumer(int map_fd, std::size_t ring_bytes)
    : map_fd_(map_fd), mask_(ring_bytes - 1), page_(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))) {
    consumer_page_ = ::mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (consumer_page_ == MAP_FAILED)
        throw error(std::string("cannot map the BPF ring buffer: ") + std::strerror(errno));
    producer_pages_ = ::mmap(nullptr, page_ + 2 * ring_bytes, PROT_READ, MAP_SHARED, map_fd,
                             static_cast<off_t>(page_));
    if (producer_pages_ == MAP_FAILED) {
        const int err = errno;
        ::munmap(consumer_page_, page_);
        throw error(std::string("cannot map the BPF ring buffer: ") + std::strerror(err));
    }
    consumer_pos_ = static_cast<std::uint64_t*>(consumer_page_);
    producer_pos_ = static_cast<const std::uint64_t*>(producer_pages_);
    data_ = static_cast<const unsigned char*>(producer_pages_) + page_;
}

ring_consumer::~ring_consumer() {
    ::munmap(producer_pages_, page_ + 2 * (mask_ + 1));
    ::munmap(consumer_page_, page_);
}

std::size_t ring_consumer::discard_all() {
    // One pass over what is there now: a record takes at least a header, so
    // the ring holds at most this many. A producer still writing cannot keep
    // this going.
    return consume((mask_ + 1) / ring_record::header_size, [](const void*, std::size_t) {});
}

void ring_consumer::wait(int timeout_ms) const {
    pollfd p{map_fd_, POLLIN, 0};
    ::poll(&p, 1, timeout_ms);  // EINTR or a timeout: the caller looks again either way
}

std::size_t ring_consumer::pending_bytes() const {
    const std::uint64_t cons = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE);
    const std::uint64_t prod = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
    return prod > cons ? static_cast<std::size_t>(prod - cons) : 0;
}

}  // namespace cotrace
