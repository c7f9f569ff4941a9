// The USDT argument specs the daemon writes for the BPF side, in libbpf's
// layout (usdt.bpf.h): each form of x86-64 note argument.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "collect/usdt_spec.hpp"

namespace {

using cotrace::parse_usdt_arguments;

TEST(UsdtSpec, RegisterArgumentsNameTheirPtRegsOffsetAndWidth) {
    const auto spec = parse_usdt_arguments("8@%rbx 8@%rdx -4@%eax");
    ASSERT_TRUE(spec);
    ASSERT_EQ(spec->arg_cnt, 3);
    EXPECT_EQ(spec->args[0].arg_type, 1);
    EXPECT_EQ(spec->args[0].reg_off, 40);  // offsetof(struct pt_regs, bx)
    EXPECT_EQ(spec->args[0].arg_bitshift, 0);
    EXPECT_FALSE(spec->args[0].arg_signed);
    EXPECT_EQ(spec->args[1].reg_off, 96);  // dx
    EXPECT_EQ(spec->args[2].reg_off, 80);  // ax
    EXPECT_EQ(spec->args[2].arg_bitshift, 32);
    EXPECT_TRUE(spec->args[2].arg_signed);
}

TEST(UsdtSpec, MemoryAndConstantArgumentsKeepTheirOffsetOrValue) {
    const auto spec = parse_usdt_arguments("8@-24(%rbp) 8@(%rsp) 8@$42 -8@$-9");
    ASSERT_TRUE(spec);
    ASSERT_EQ(spec->arg_cnt, 4);
    EXPECT_EQ(spec->args[0].arg_type, 2);
    EXPECT_EQ(spec->args[0].reg_off, 32);  // bp
    EXPECT_EQ(static_cast<std::int64_t>(spec->args[0].val_off), -24);
    EXPECT_EQ(spec->args[1].arg_type, 2);
    EXPECT_EQ(spec->args[1].reg_off, 152);  // sp
    EXPECT_EQ(spec->args[1].val_off, 0u);
    EXPECT_EQ(spec->args[2].arg_type, 0);
    EXPECT_EQ(spec->args[2].val_off, 42u);
    EXPECT_EQ(static_cast<std::int64_t>(spec->args[3].val_off), -9);
}

TEST(UsdtSpec, AnUnknownRegisterOrFormIsRefused) {
    EXPECT_FALSE(parse_usdt_arguments("8@%xmm0"));
    EXPECT_FALSE(parse_usdt_arguments("8@foo+8(%rip)"));
    EXPECT_FALSE(parse_usdt_arguments("rax"));
    EXPECT_FALSE(parse_usdt_arguments("16@%rax"));
}

// Refused forms, each with the reason that names the operand and the fix.
std::string refusal(const std::string& arguments) {
    std::string why;
    EXPECT_FALSE(parse_usdt_arguments(arguments, &why)) << arguments;
    EXPECT_NE(why.find("argument "), std::string::npos) << why;
    return why;
}

TEST(UsdtSpec, AGlobalInMemoryIsRefusedNamingTheOperandAndTheFix) {
    const std::string why = refusal("8@%rax 8@cotrace_global(%rip) 8@$3");
    EXPECT_NE(why.find("argument 2 `8@cotrace_global(%rip)`"), std::string::npos) << why;
    EXPECT_NE(why.find("global"), std::string::npos) << why;
    EXPECT_NE(why.find("<cotrace/adapter.hpp>"), std::string::npos) << why;
    EXPECT_NE(refusal("8@sym+16(%rip)").find("RIP-relative"), std::string::npos);
    EXPECT_NE(refusal("8@64(%rip)").find("RIP-relative"), std::string::npos);
}

TEST(UsdtSpec, AThreadLocalIsRefusedNamingTheOperandAndTheFix) {
    const std::string why = refusal("8@%fs:cotrace_tls@tpoff");
    EXPECT_NE(why.find("argument 1 `8@%fs:cotrace_tls@tpoff`"), std::string::npos) << why;
    EXPECT_NE(why.find("thread-local"), std::string::npos) << why;
    EXPECT_NE(why.find("register"), std::string::npos) << why;
    EXPECT_NE(refusal("8@%fs:8").find("thread-local"), std::string::npos);
    EXPECT_NE(refusal("8@%fs:(%rax)").find("thread-local"), std::string::npos);
}

TEST(UsdtSpec, IndexedSymbolicAndAddressConstantOperandsAreRefusedWithTheirReasons) {
    EXPECT_NE(refusal("8@8(%rax,%rdx,8)").find("indexed"), std::string::npos);
    EXPECT_NE(refusal("8@(%rax,%rbx)").find("indexed"), std::string::npos);
    EXPECT_NE(refusal("8@table(%rax)").find("symbol"), std::string::npos);
    EXPECT_NE(refusal("8@$cotrace_site").find("address constant"), std::string::npos);
    EXPECT_NE(refusal("8@$sym+8").find("address constant"), std::string::npos);
    EXPECT_NE(refusal("8@%xmm0").find("integer register"), std::string::npos);
    EXPECT_NE(refusal("8@-8(%rbp)junk").find("form"), std::string::npos);
    EXPECT_NE(refusal("3@%rax").find("size"), std::string::npos);
}

TEST(UsdtSpec, MemoryAtAnyIntegerRegisterPlusAConstantIsRead) {
    // What GCC and Clang emit for a 64-bit value spilled to the stack or
    // reached through a pointer.
    const auto decimal = parse_usdt_arguments("8@16(%rsp) -8@-40(%r12) 8@(%rdi)");
    ASSERT_TRUE(decimal);
    ASSERT_EQ(decimal->arg_cnt, 3);
    EXPECT_EQ(decimal->args[0].arg_type, 2);
    EXPECT_EQ(decimal->args[0].reg_off, 152);
    EXPECT_EQ(decimal->args[0].val_off, 16u);
    EXPECT_EQ(decimal->args[1].reg_off, 24);  // r12
    EXPECT_TRUE(decimal->args[1].arg_signed);
    EXPECT_EQ(static_cast<std::int64_t>(decimal->args[1].val_off), -40);
    EXPECT_EQ(decimal->args[2].reg_off, 112);  // di
    EXPECT_EQ(decimal->args[2].val_off, 0u);
}

TEST(UsdtSpec, AnImmediateOfAllOnesIsTheProtocolsNoParent) {
    const auto spec = parse_usdt_arguments("8@$-1");
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->args[0].arg_type, 0);
    EXPECT_EQ(spec->args[0].val_off, ~std::uint64_t{0});
}

TEST(UsdtSpec, NoArgumentsIsAnEmptySpec) {
    const auto spec = parse_usdt_arguments("");
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->arg_cnt, 0);
}

}  // namespace
