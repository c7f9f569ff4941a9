#include "collect/usdt_spec.hpp"

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace cotrace {

namespace {

// What to do about an operand in memory: the application's side of the fix.
constexpr const char* in_register_fix =
    "emit the probe through <cotrace/adapter.hpp> or cotrace's probe macros, which pass every argument "
    "in a register, or copy the value into a local variable before the probe";

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
    if (reg.empty() || reg[0] != '%') return std::nullopt;
    reg.erase(0, 1);
    for (const alias& a : table)
        for (const char* n : a.names)
            if (n && reg == n) return a.off;
    return std::nullopt;
}

// A whole decimal integer (with an optional sign), or nullopt.
std::optional<long long> whole_integer(const std::string& s) {
    if (s.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE) return std::nullopt;
    return v;
}

// Parses one operand, or returns why it cannot be read (and what to do).
std::string parse_one(const std::string& arg, usdt_arg_spec& out) {
    const auto at = arg.find('@');
    if (at == std::string::npos) return "has no size (`SIZE@LOCATION` expected); the note is malformed";
    const auto size = whole_integer(arg.substr(0, at));
    if (!size || (*size != 1 && *size != 2 && *size != 4 && *size != 8 && *size != -1 && *size != -2 &&
                  *size != -4 && *size != -8))
        return "has a size other than 1, 2, 4 or 8 bytes; every cotrace argument is a 64-bit integer (pass "
               "it as std::uint64_t)";
    const long long bytes = *size < 0 ? -*size : *size;
    out.arg_signed = *size < 0;
    out.arg_bitshift = static_cast<std::int8_t>(64 - bytes * 8);
    const std::string loc = arg.substr(at + 1);
    if (loc.empty()) return "has no location; the note is malformed";

    if (loc.rfind("%fs:", 0) == 0 || loc.rfind("%gs:", 0) == 0)
        return std::string("is a thread-local variable in memory (") + loc.substr(0, 3) +
               "-relative), which a probe cannot read: " + in_register_fix;
    if (loc[0] == '$') {  // an immediate
        const auto v = whole_integer(loc.substr(1));
        if (!v)
            return "is a link-time address constant (`$symbol`), which moves with the load address: " +
                   std::string(in_register_fix) + ", or build position-independent (-fPIE)";
        out.arg_type = 0;
        out.val_off = static_cast<std::uint64_t>(*v);
        return {};
    }
    if (loc[0] == '%') {  // a register
        auto off = pt_regs_offset(loc);
        if (!off) return "is not in an integer register (a vector or segment register): " + std::string(in_register_fix);
        out.arg_type = 1;
        out.reg_off = *off;
        return {};
    }
    // [displacement](%base[,%index,scale]): memory
    const auto open = loc.find('(');
    const auto close = loc.find(')');
    if (open == std::string::npos || close == std::string::npos || close < open || close + 1 != loc.size())
        return "is in a form cotrace does not know: " + std::string(in_register_fix);
    const std::string inside = loc.substr(open + 1, close - open - 1);
    const std::string disp = loc.substr(0, open);
    if (inside == "%rip" || inside == "%eip")
        return "is a global variable in memory (RIP-relative), which a probe cannot read: " +
               std::string(in_register_fix);
    if (inside.find(',') != std::string::npos)
        return "is memory at an indexed address (base, index and scale), which a probe cannot compute: " +
               std::string(in_register_fix);
    auto off = pt_regs_offset(inside);
    if (!off) return "is memory relative to a register cotrace does not know: " + std::string(in_register_fix);
    if (!disp.empty()) {
        const auto v = whole_integer(disp);
        if (!v) return "is memory at a symbol's address, which a probe cannot compute: " + std::string(in_register_fix);
        out.val_off = static_cast<std::uint64_t>(*v);
    }
    out.arg_type = 2;
    out.reg_off = *off;
    return {};
}

}  // namespace

std::optional<usdt_spec> parse_usdt_arguments(const std::string& text, std::string* why) {
    usdt_spec spec;
    std::istringstream in(text);
    std::string arg;
    while (in >> arg) {
        if (spec.arg_cnt >= 12) {
            if (why) *why = "more than 12 arguments; the note is malformed";
            return std::nullopt;
        }
        const std::string reason = parse_one(arg, spec.args[spec.arg_cnt]);
        if (!reason.empty()) {
            if (why) *why = "argument " + std::to_string(spec.arg_cnt + 1) + " `" + arg + "` " + reason;
            return std::nullopt;
        }
        ++spec.arg_cnt;
    }
    return spec;
}

}  // namespace cotrace
