#pragma once
// USDT argument specs ("8@%rax", "-4@-8(%rbp)", "8@$5") in the layout
// libbpf's usdt.bpf.h reads them from its __bpf_usdt_specs map. The daemon
// fills that map itself because it attaches probes with one uprobe_multi
// link per probe (see uprobe_multi.hpp) instead of libbpf's per-site uprobes.
//
// Accepted x86-64 operand forms (probes/PROTOCOL.md, "Operand forms"): an
// immediate ($-1), an integer register (%rdi, %eax, ...), and memory at an
// integer register plus a constant (-24(%rbp), (%rsp)), each 1, 2, 4 or 8
// bytes wide, signed or not. Everything else is refused with the reason and
// the fix: what lives in memory the uprobe cannot address from its
// registers (a global, `sym(%rip)`; a thread-local, `%fs:sym@tpoff`), an
// indexed address, a link-time address constant.

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

// Parses a note's argument string (x86-64); nullopt if an operand's form
// cannot be read, with `why` (when given) set to one sentence naming the
// operand, the reason and the fix, e.g. "argument 2 `8@g(%rip)` is a global
// variable in memory (RIP-relative), which a probe cannot read: ...".
std::optional<usdt_spec> parse_usdt_arguments(const std::string& text, std::string* why = nullptr);

}  // namespace cotrace
