#pragma once
// USDT argument specs ("8@%rax", "-4@-8(%rbp)", "8@$5") in the layout
// libbpf's usdt.bpf.h reads them from its __bpf_usdt_specs map. The daemon
// fills that map itself because it attaches probes with one uprobe_multi
// link per probe (see uprobe_multi.hpp) instead of libbpf's per-site uprobes.

#include <cstdint>
#include <optional>
#include <string>

namespace cotrace {

// Mirrors struct __bpf_usdt_arg_spec / __bpf_usdt_spec in <bpf/usdt.bpf.h>.
struct usdt_arg_spec {
    std::uint64_t val_off = 0;
    std::int32_t arg_type = 0;  // 0 const, 1 register, 2 memory at register + val_off
    std::int16_t reg_off = 0;   // offsetof(struct pt_regs, reg)
    bool arg_signed = false;
    std::int8_t arg_bitshift = 0;
};
struct usdt_spec {
    usdt_arg_spec args[12];
    std::uint64_t usdt_cookie = 0;
    std::int16_t arg_cnt = 0;
};
static_assert(sizeof(usdt_arg_spec) == 16 && sizeof(usdt_spec) == 208, "must match <bpf/usdt.bpf.h>");

// Parses a note's argument string (x86-64); nullopt if a form is unknown.
std::optional<usdt_spec> parse_usdt_arguments(const std::string& text);

}  // namespace cotrace
