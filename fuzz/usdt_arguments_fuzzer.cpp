// libFuzzer: the USDT argument parser on arbitrary note argument strings.
// A note's strings come from the traced binary: any text must parse or be
// refused, never crash or hit undefined behaviour, and a spec it accepts must
// be one the BPF side can read.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "collect/usdt_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto spec = cotrace::parse_usdt_arguments(text);
    if (!spec) return 0;
    if (spec->arg_cnt < 0 || spec->arg_cnt > 12) std::abort();
    for (int i = 0; i < spec->arg_cnt; ++i) {
        const cotrace::usdt_arg_spec& a = spec->args[i];
        if (a.arg_type < 0 || a.arg_type > 2) std::abort();
        if (a.arg_bitshift < 0 || a.arg_bitshift > 56 || a.arg_bitshift % 8 != 0) std::abort();
        if (a.arg_type != 0 && (a.reg_off < 0 || a.reg_off > 160 || a.reg_off % 8 != 0)) std::abort();
    }
    return 0;
}
