#pragma once
// Where an ELF object's writable data lies (its PT_LOAD segments with PF_W,
// less the RELRO part the loader makes read-only),
// by link-time virtual address. A USDT semaphore is a counter the kernel
// raises in the target's memory while a probe is attached; outside writable
// data it cannot be raised, and the probe would look attached while the
// application never computes its arguments.

#include <cstdint>
#include <string>
#include <vector>

namespace cotrace {

class writable_data {
public:
    // Reads only the program headers (mmapped by libelf, never the whole
    // file); a file that cannot be read has no writable data.
    static writable_data of_file(const std::string& path);

    // True when [vaddr, vaddr + size) lies inside one writable segment and
    // outside RELRO.
    bool contains(std::uint64_t vaddr, std::uint64_t size) const;

private:
    struct range {
        std::uint64_t begin, end;  // end exclusive, begin <= end
    };
    std::vector<range> ranges_;     // PT_LOAD with PF_W
    std::vector<range> read_only_;  // PT_GNU_RELRO: made read-only after relocation
};

}  // namespace cotrace
