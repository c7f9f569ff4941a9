#include "collect/usdt_spec.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace cotrace {

namespace {

// Offsets in x86-64 struct pt_regs (arch/x86/include/asm/ptrace.h), which
// is the uprobe program's context; stable kernel ABI.
std::optional<std::int16_t> pt_regs_offset(std::string reg) {
    struct alias {
        const char* names[4];
        std::int16_t off;
    };
    static const alias table[] = {
        {{"r15", "r15d", "r15w", "r15b"}, 0},  {{"r14", "r14d", "r14w", "r14b"}, 8},
        {{"r13", "r13d", "r13w", "r13b"}, 16}, {{"r12", "r12d", "r12w", "r12b"}, 24},
        {{"rbp", "ebp", "bp", "bpl"}, 32},     {{"rbx", "ebx", "bx", "bl"}, 40},
        {{"r11", "r11d", "r11w", "r11b"}, 48}, {{"r10", "r10d", "r10w", "r10b"}, 56},
        {{"r9", "r9d", "r9w", "r9b"}, 64},     {{"r8", "r8d", "r8w", "r8b"}, 72},
        {{"rax", "eax", "ax", "al"}, 80},      {{"rcx", "ecx", "cx", "cl"}, 88},
        {{"rdx", "edx", "dx", "dl"}, 96},      {{"rsi", "esi", "si", "sil"}, 104},
        {{"rdi", "edi", "di", "dil"}, 112},    {{"rip", "eip", "ip", nullptr}, 128},
        {{"rsp", "esp", "sp", "spl"}, 152},
    };
    if (!reg.empty() && reg[0] == '%') reg.erase(0, 1);
    for (const alias& a : table)
        for (const char* n : a.names)
            if (n && reg == n) return a.off;
    return std::nullopt;
}

bool parse_one(const std::string& arg, usdt_arg_spec& out) {
    const auto at = arg.find('@');
    if (at == std::string::npos) return false;
    char* end = nullptr;
    const long size = std::strtol(arg.c_str(), &end, 10);
    if (end != arg.c_str() + at || size == 0 || std::labs(size) > 8) return false;
    out.arg_signed = size < 0;
    out.arg_bitshift = static_cast<std::int8_t>(64 - std::labs(size) * 8);
    const std::string loc = arg.substr(at + 1);
    if (loc.empty()) return false;
    if (loc[0] == '$') {  // constant
        out.arg_type = 0;
        out.val_off = static_cast<std::uint64_t>(std::strtoll(loc.c_str() + 1, nullptr, 10));
        return true;
    }
    if (loc[0] == '%') {  // register
        auto off = pt_regs_offset(loc);
        if (!off) return false;
        out.arg_type = 1;
        out.reg_off = *off;
        return true;
    }
    // [offset](%reg): memory at a register plus an offset
    const auto open = loc.find('(');
    const auto close = loc.find(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return false;
    const std::string disp = loc.substr(0, open);
    if (!disp.empty()) {
        char* dend = nullptr;
        const long long v = std::strtoll(disp.c_str(), &dend, 10);
        if (*dend != '\0') return false;  // e.g. symbol-relative forms
        out.val_off = static_cast<std::uint64_t>(v);
    }
    auto off = pt_regs_offset(loc.substr(open + 1, close - open - 1));
    if (!off) return false;
    out.arg_type = 2;
    out.reg_off = *off;
    return true;
}

}  // namespace

std::optional<usdt_spec> parse_usdt_arguments(const std::string& text) {
    usdt_spec spec;
    std::istringstream in(text);
    std::string arg;
    while (in >> arg) {
        if (spec.arg_cnt >= 12 || !parse_one(arg, spec.args[spec.arg_cnt])) return std::nullopt;
        ++spec.arg_cnt;
    }
    return spec;
}

}  // namespace cotrace
