// The USDT argument specs the daemon writes for the BPF side, in libbpf's
// layout (usdt.bpf.h): each form of x86-64 note argument.

#include <gtest/gtest.h>

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

TEST(UsdtSpec, NoArgumentsIsAnEmptySpec) {
    const auto spec = parse_usdt_arguments("");
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->arg_cnt, 0);
}

}  // namespace
