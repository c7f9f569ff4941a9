// Names and addresses: readable coroutine names from GCC and Clang symbols,
// /proc/PID/maps parsing, and target_symbols resolving this very process
// (a coroutine frame's first word -> its function's name, a static
// cotrace_site -> file:line), which is what the daemon does to a target.

#include <gtest/gtest.h>

#include <unistd.h>

#include <coroutine>
#include <cstring>
#include <exception>
#include <string>

#include "cotrace_probes.h"
#include "target/function_name.hpp"
#include "target/proc_maps.hpp"
#include "target/target_symbols.hpp"

namespace {

using cotrace::readable_function_name;

// ---- readable_function_name ---------------------------------------------------

TEST(FunctionName, AGccActorSymbolNamesTheRampFunction) {
    EXPECT_EQ(readable_function_name("_Z4leafPZ4leafiE14_Z4leafi.Frame.actor"), "leaf(int)");
}

TEST(FunctionName, ASymbolWithADigitRunTooLongForAnyLengthIsNamedWithoutThrowing) {
    // A target chooses its symbol names: a length prefix that overflows
    // must not take the daemon down.
    const std::string hostile = "_Z4leafPZ4leafiE" + std::string(40, '9') + "_Z4leafi.Frame.actor";
    EXPECT_EQ(readable_function_name(hostile), "leaf(int)");
}

TEST(FunctionName, AGccColdActorPartIsNamedLikeTheActor) {
    EXPECT_EQ(readable_function_name("_Z4leafPZ4leafiE14_Z4leafi.Frame.actor.cold"), "leaf(int)");
    EXPECT_EQ(readable_function_name("_ZN12_GLOBAL__N_15parseEPZNS_5parseEiE31_ZN12_GLOBAL__N_15parseEi.Frame."
                                     "actor.cold"),
              "parse(int)");
}

TEST(FunctionName, AnonymousNamespacesAndLibstdcxxSpellingsAreDropped) {
    // Symbols of examples/pipeline.cpp (nm build/bin/pipeline | grep Frame.actor).
    EXPECT_EQ(readable_function_name("_ZN12_GLOBAL__N_114handle_requestEPZNS_14handle_requestERNS_8servicesEiE55_"
                                     "ZN12_GLOBAL__N_114handle_requestERNS_8servicesEi.Frame.actor"),
              "handle_request(services&, int)");
    EXPECT_EQ(readable_function_name("_ZN12_GLOBAL__N_15mergeEPZNS_5mergeEiNSt7__cxx1112basic_"
                                     "stringIcSt11char_traitsIcESaIcEEEidE85_ZN12_GLOBAL__N_15mergeEiNSt7__"
                                     "cxx1112basic_stringIcSt11char_traitsIcESaIcEEEid.Frame.actor"),
              "merge(int, std::string, int, double)");
    EXPECT_EQ(readable_function_name("_ZN12_GLOBAL__N_16renderEPZNS_6renderERNS_8servicesENS_5quoteEE55_ZN12_"
                                     "GLOBAL__N_16renderERNS_8servicesENS_5quoteE.Frame.actor"),
              "render(services&, quote)");
    // A named namespace stays; an anonymous one inside it goes.
    EXPECT_EQ(readable_function_name(
                  "_ZN4demo12_GLOBAL__N_16hiddenEPZNS0_6hiddenEiE37_ZN4demo12_GLOBAL__N_16hiddenEi.Frame.actor"),
              "demo::hidden(int)");
}

TEST(FunctionName, TemplateCoroutinesKeepTheirArgumentsButLoseTheReturnType) {
    EXPECT_EQ(readable_function_name("_ZN4demo5twiceEPZNS_5twiceIiEENS_4lazyET_E35_ZN4demo5twiceIiEENS_4lazyET_."
                                     "Frame.actor"),
              "demo::twice<int>(int)");
    EXPECT_EQ(readable_function_name("_ZN4demo6widget4statEPZNS0_4statIdEENS_4lazyET_NSt7__cxx1112basic_"
                                     "stringIcSt11char_traitsIcESaIcEEEE93_ZN4demo6widget4statIdEENS_4lazyET_"
                                     "NSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE.Frame.actor"),
              "demo::widget::stat<double>(double, std::string)");
    // A template argument that is itself a mangled name ("L_Z...") inside the ramp's name.
    EXPECT_EQ(readable_function_name("_ZN4demo4callEPZNS_4callIXadL_ZNS_6helperEiEEEENS_4lazyEiE52_ZN4demo4callIX"
                                     "adL_ZNS_6helperEiEEEENS_4lazyEi.Frame.actor"),
              "demo::call<&demo::helper>(int)");
}

TEST(FunctionName, MemberFunctionAndLambdaCoroutinesAreNamedAsWritten) {
    EXPECT_EQ(readable_function_name("_ZN4demo6widget6methodEPZNKS0_6methodEiE31_ZNK4demo6widget6methodEi.Frame.actor"),
              "demo::widget::method(int) const");
    EXPECT_EQ(readable_function_name("_ZZ4mainENUliE_clEPZZ4mainENKS_clEiE26_ZZ4mainENKUliE_clEi.Frame.actor"),
              "main::{lambda(int)#1}::operator()(int) const");
}

TEST(FunctionName, ClangResumeDestroyAndCleanupPartsAreNamedLikeTheFunction) {
    EXPECT_EQ(readable_function_name("_Z4leafi.resume"), "leaf(int)");
    EXPECT_EQ(readable_function_name("_Z4leafi.destroy"), "leaf(int)");
    EXPECT_EQ(readable_function_name("_Z4leafi.cleanup"), "leaf(int)");
    EXPECT_EQ(readable_function_name("_ZN2ns4leafEi.resume"), "ns::leaf(int)");
    EXPECT_EQ(readable_function_name("_ZN12_GLOBAL__N_14leafEi.resume"), "leaf(int)");
}

TEST(FunctionName, CotracesOwnWhenAllIsReducedToItsBareName) {
    EXPECT_EQ(readable_function_name(
                  "_ZN7cotrace8when_allEPZNS_8when_allIJNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEidEEENS_"
                  "4taskISt5tupleIJDpNSt11conditionalIX9is_void_vIT_EESt9monostateSA_E4typeEEEEEDpNS7_ISA_EEE177_"
                  "ZN7cotrace8when_allIJNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEidEEENS_4taskISt5tupleI"
                  "JDpNSt11conditionalIX9is_void_vIT_EESt9monostateSA_E4typeEEEEEDpNS7_ISA_EE.Frame.actor"),
              "when_all");
    EXPECT_EQ(readable_function_name("_ZN7cotrace8when_allIiEENS_4taskISt6vectorIiSaIiEEEES2_INS1_IT_EESaIS6_EE."
                                     "resume"),
              "when_all");
}

TEST(FunctionName, PlainSymbolsAreDemangledWithoutReturnTypeAndCloneSuffixes) {
    EXPECT_EQ(readable_function_name("_Z4leafi"), "leaf(int)");
    EXPECT_EQ(readable_function_name("_Z4leafi.cold"), "leaf(int)");
    EXPECT_EQ(readable_function_name("_Z4leafi.constprop.0"), "leaf(int)");
    EXPECT_EQ(readable_function_name("_ZN2ns4leafEi.isra.0"), "ns::leaf(int)");
    EXPECT_EQ(readable_function_name("main"), "main");
    EXPECT_EQ(readable_function_name("_ZN4demo5twiceIiEENS_4lazyET_"), "demo::twice<int>(int)");
    EXPECT_EQ(cotrace::demangle("not a mangled name"), "not a mangled name");
    EXPECT_EQ(cotrace::demangle("_ZN2ns1fEv"), "ns::f()");
}

// ---- /proc/PID/maps -------------------------------------------------------------

TEST(ProcMaps, ParseMapsReadsRangesOffsetsPermissionsAndPaths) {
    const std::string text =
        "55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 1234                       /usr/bin/pipeline\n"
        "55d0c0a02000-55d0c0a08000 r-xp 00002000 08:01 1234                       /usr/bin/pipeline\n"
        "7f1a2b000000-7f1a2b021000 rw-p 00000000 00:00 0 \n"
        "7f1a2c000000-7f1a2c100000 r-xp 00010000 08:01 99                         /opt/my libs/libx.so\n"
        "7f1a2d000000-7f1a2d001000 r-xp 00000000 08:01 98                         /opt/old.so (deleted)\n"
        "7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0                          [stack]\n"
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
        "not a maps line\n"
        "\n";
    const auto maps = cotrace::parse_maps(text);
    ASSERT_EQ(maps.size(), 7u);

    EXPECT_EQ(maps[0].start, 0x55d0c0a00000u);
    EXPECT_EQ(maps[0].end, 0x55d0c0a02000u);
    EXPECT_EQ(maps[0].offset, 0u);
    EXPECT_FALSE(maps[0].exec);
    EXPECT_EQ(maps[0].path, "/usr/bin/pipeline");

    EXPECT_EQ(maps[1].start, 0x55d0c0a02000u);
    EXPECT_EQ(maps[1].offset, 0x2000u);
    EXPECT_TRUE(maps[1].exec);
    EXPECT_EQ(maps[1].path, "/usr/bin/pipeline");

    EXPECT_EQ(maps[2].path, "") << "anonymous memory";
    EXPECT_FALSE(maps[2].exec);

    EXPECT_EQ(maps[3].path, "/opt/my libs/libx.so") << "paths may contain spaces";
    EXPECT_EQ(maps[3].offset, 0x10000u);

    // A deleted file must not be taken for whatever now has its name.
    EXPECT_NE(maps[4].path, "/opt/old.so");

    EXPECT_EQ(maps[5].path, "") << "[stack] is no file";
    EXPECT_EQ(maps[6].start, 0xffffffffff600000u);
    EXPECT_TRUE(maps[6].exec);
    EXPECT_EQ(maps[6].path, "");
}

TEST(ProcMaps, ReadMapsOfThisProcessFindsItsOwnExecutableAndNoneForAMissingProcess) {
    const auto maps = cotrace::read_maps(static_cast<std::uint32_t>(getpid()));
    ASSERT_TRUE(maps.has_value());
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ASSERT_GT(n, 0);
    const std::string self(exe, static_cast<std::size_t>(n));
    bool found = false;
    for (const auto& m : *maps) found = found || (m.exec && m.path == self);
    EXPECT_TRUE(found) << self;

    EXPECT_FALSE(cotrace::read_maps(0x7ffffff0u).has_value());
    EXPECT_EQ(cotrace::target_path(42, "/usr/lib/libx.so"), "/proc/42/root/usr/lib/libx.so");
}

// ---- target_symbols on this process -------------------------------------------

namespace demo {
struct lazy {
    struct promise_type {
        lazy get_return_object() { return lazy(std::coroutine_handle<promise_type>::from_promise(*this)); }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_value(int v) { value = v; }
        void unhandled_exception() { std::terminate(); }
        int value = 0;
    };
    explicit lazy(std::coroutine_handle<promise_type> handle) : h(handle) {}
    lazy(const lazy&) = delete;
    lazy& operator=(const lazy&) = delete;
    ~lazy() { h.destroy(); }
    std::coroutine_handle<promise_type> h;
};
template <class T>
lazy twice(T x) {
    co_return static_cast<int>(x * 2);
}
}  // namespace demo

// A site as COTRACE_SCOPE lays it out, in this binary's static data.
[[gnu::used]] const cotrace_site this_site{__FILE__, "this_scope", 4321, 7};
[[gnu::used]] const char annotation_name[] = "rows_seen";

TEST(TargetSymbols, ACoroutineFramesFirstWordIsNamedByTheSymbolTableOfThisProcess) {
    const auto pid = static_cast<std::uint32_t>(getpid());
    demo::lazy task = demo::twice(21L);
    std::uint64_t first_word = 0;
    std::memcpy(&first_word, task.h.address(), sizeof first_word);

    cotrace::target_symbols symbols;
    const auto code = symbols.frame_code(pid, reinterpret_cast<std::uint64_t>(task.h.address()));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, first_word);
    // (anonymous namespace)::demo::twice<long>(long) [clone .actor], as the user wrote it.
    EXPECT_EQ(symbols.function(pid, *code), "demo::twice<long>(long)");
    task.h.resume();
    EXPECT_EQ(task.h.promise().value, 42);

    EXPECT_FALSE(symbols.frame_code(pid, 0).has_value());
    EXPECT_EQ(symbols.function(pid, 0x10), "0x10") << "an address in no mapping";
}

TEST(TargetSymbols, ASiteAndAStringInStaticDataAreReadFromTheExecutable) {
    const auto pid = static_cast<std::uint32_t>(getpid());
    cotrace::target_symbols symbols;
    const cotrace::resolved_site s = symbols.site(pid, reinterpret_cast<std::uint64_t>(&this_site));
    EXPECT_EQ(s.file, __FILE__);
    EXPECT_EQ(s.function, "this_scope");
    EXPECT_EQ(s.line, 4321u);
    EXPECT_EQ(symbols.text(pid, reinterpret_cast<std::uint64_t>(annotation_name)), "rows_seen");
    EXPECT_FALSE(symbols.site(pid, 0).known());
}

}  // namespace
