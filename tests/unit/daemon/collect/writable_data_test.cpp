// Where a semaphore can be raised: inside the writable data of an ELF file.
// Checked on this test program itself, against variables whose section the
// compiler decides: a counter in .data is writable; a constant in .rodata,
// a function in .text and a relocated constant pointer (RELRO) are not.

#include <gtest/gtest.h>
#include <link.h>

#include <cstdint>

#include "collect/writable_data.hpp"

namespace cotrace {
namespace {

volatile unsigned short counter_in_data = 1;
extern const unsigned short constant_in_rodata;
const unsigned short constant_in_rodata = 7;
int function_in_text() { return constant_in_rodata; }
// A pointer to a function: initialised by a relocation, so in RELRO.
int (*const pointer_in_relro)() = &function_in_text;

// This executable's load bias (link-time address = run-time address - bias).
std::uintptr_t load_bias() {
    std::uintptr_t bias = 0;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* out) {
            *static_cast<std::uintptr_t*>(out) = info->dlpi_addr;
            return 1;  // the first object is the executable
        },
        &bias);
    return bias;
}

std::uint64_t link_address(const volatile void* p) {
    return reinterpret_cast<std::uintptr_t>(p) - load_bias();
}

TEST(WritableData, ACounterInDataIsWritableAndAConstantCodeOrRelroIsNot) {
    const writable_data w = writable_data::of_file("/proc/self/exe");
    EXPECT_TRUE(w.contains(link_address(&counter_in_data), sizeof counter_in_data));
    EXPECT_FALSE(w.contains(link_address(&constant_in_rodata), sizeof constant_in_rodata));
    EXPECT_FALSE(w.contains(link_address(reinterpret_cast<const void*>(&function_in_text)), 2));
    EXPECT_FALSE(w.contains(link_address(&pointer_in_relro), sizeof pointer_in_relro));
    EXPECT_EQ(pointer_in_relro(), 7);
}

TEST(WritableData, RangesThatWouldWrapOrOverrunAreNotInside) {
    const writable_data w = writable_data::of_file("/proc/self/exe");
    EXPECT_FALSE(w.contains(UINT64_MAX - 1, 4));
    EXPECT_FALSE(w.contains(link_address(&counter_in_data), UINT64_MAX));
}

TEST(WritableData, AFileThatIsNotElfOrNotRegularHasNone) {
    EXPECT_FALSE(writable_data::of_file("/dev/null").contains(0, 1));
    EXPECT_FALSE(writable_data::of_file("/proc/self/status").contains(0, 1));
    EXPECT_FALSE(writable_data::of_file("/nonexistent/file").contains(0, 1));
}

}  // namespace
}  // namespace cotrace
