// elf_object on the demo binary (examples/pipeline.cpp), checked against
// binutils' nm as an independent oracle: its cotrace USDT notes and their
// semaphores, function symbols by address, and static data (sites) by
// virtual address. Paths come from CMake: COTRACE_TEST_NM, COTRACE_TEST_PIPELINE.

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <tuple>

#include "cotrace_probes.h"
#include "target/elf_object.hpp"
#include "error.hpp"
#include "target/function_name.hpp"
#include "collect/probe_discovery.hpp"

namespace {

// name -> address, from `nm` (defined symbols only).
std::map<std::string, std::uint64_t> nm_symbols(const std::string& path) {
    std::map<std::string, std::uint64_t> out;
    const std::string command = std::string(COTRACE_TEST_NM) + " --defined-only '" + path + "' 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return out;
    std::string text;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, n);
    pclose(pipe);
    std::istringstream lines(text);
    std::string address, type, name;
    while (lines >> address >> type >> name) out[name] = std::stoull(address, nullptr, 16);
    return out;
}

const std::map<std::string, std::uint64_t>& pipeline_symbols() {
    static const auto symbols = nm_symbols(COTRACE_TEST_PIPELINE);
    return symbols;
}

// The one symbol whose name contains `part` and ends with `suffix`.
std::string symbol_like(const std::string& part, const std::string& suffix) {
    std::string found;
    for (const auto& [name, address] : pipeline_symbols())
        if (name.find(part) != std::string::npos && name.size() >= suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            EXPECT_TRUE(found.empty()) << "two symbols like " << part << ": " << found << ", " << name;
            found = name;
        }
    return found;
}

const cotrace::elf_object& pipeline() {
    static const auto obj = cotrace::elf_object::open(COTRACE_TEST_PIPELINE);
    if (!obj) throw std::runtime_error("cannot open " COTRACE_TEST_PIPELINE);
    return *obj;
}

std::size_t count_args(const std::string& arguments) {
    std::istringstream in(arguments);
    std::size_t n = 0;
    for (std::string a; in >> a;) ++n;
    return n;
}

TEST(ElfObject, TheDemosCotraceProbesHaveTheContractsArgumentsAndOneSemaphoreEach) {
    ASSERT_FALSE(pipeline_symbols().empty()) << "nm found no symbols in " COTRACE_TEST_PIPELINE;
    const cotrace::elf_object& elf = pipeline();
    EXPECT_EQ(elf.path(), COTRACE_TEST_PIPELINE);

    const std::map<std::string, std::size_t> contract{
#define X(name, nargs) {#name, nargs},
        COTRACE_PROBE_LIST(X)
#undef X
    };
    std::map<std::string, std::set<std::uint64_t>> semaphores;  // per probe name
    for (const cotrace::usdt_note& n : elf.notes()) {
        if (n.provider != COTRACE_PROVIDER) continue;
        ASSERT_TRUE(contract.count(n.name)) << "unknown probe " << n.name;
        EXPECT_NE(n.address, 0u) << n.name;
        EXPECT_NE(n.semaphore, 0u) << n.name;
        EXPECT_EQ(count_args(n.arguments), contract.at(n.name)) << n.name << ": " << n.arguments;
        semaphores[n.name].insert(n.semaphore);
    }
    // What the demo exercises (examples/pipeline.cpp): tasks, sync_wait,
    // when_all, spawn, scopes, annotations, contexts.
    for (const char* used : {"suspend", "resume", "end", "span_begin", "link", "scope_begin", "event",
                             "context_capture", "context_enter", "context_exit"})
        EXPECT_TRUE(semaphores.count(used)) << "no " << used << " probe in the demo";
    std::set<std::uint64_t> distinct;
    for (const auto& [name, addresses] : semaphores) {
        ASSERT_EQ(addresses.size(), 1u) << "probe " << name << ": one semaphore for all its sites";
        // The semaphore the notes name is the variable the library declares.
        const auto it = pipeline_symbols().find("cotrace_" + name + "_semaphore");
        ASSERT_NE(it, pipeline_symbols().end()) << name;
        EXPECT_EQ(*addresses.begin(), it->second) << name;
        distinct.insert(*addresses.begin());
    }
    EXPECT_EQ(distinct.size(), semaphores.size()) << "each probe has a semaphore of its own";
}

TEST(ElfObject, SymbolAtAnActorsAddressNamesTheActor) {
    const std::string actor = symbol_like("handle_request", ".Frame.actor");
    ASSERT_FALSE(actor.empty());
    const std::uint64_t address = pipeline_symbols().at(actor);
    const cotrace::elf_object& elf = pipeline();
    EXPECT_EQ(elf.symbol_at(address), actor);
    EXPECT_EQ(elf.symbol_at(address + 1), actor) << "inside the function";
    ASSERT_TRUE(elf.symbol_at(address).has_value());
    EXPECT_EQ(cotrace::readable_function_name(*elf.symbol_at(address)), "handle_request(services&, int)");

    // Optimised builds split a cold part off (".Frame.actor.cold"): it is a function of its own.
    const std::string cold = symbol_like("handle_request", ".Frame.actor.cold");
    if (!cold.empty()) {
        EXPECT_EQ(elf.symbol_at(pipeline_symbols().at(cold)), cold);
        EXPECT_EQ(cotrace::readable_function_name(cold), "handle_request(services&, int)");
    }

    EXPECT_FALSE(elf.symbol_at(0).has_value());
    EXPECT_FALSE(elf.symbol_at(~std::uint64_t{0}).has_value());
}

TEST(ElfObject, EveryCoroutineOfTheDemoHasAReadableName) {
    const std::set<std::string> expected{
        "parse(int)",
        "lookup_user(services&, int)",
        "lookup_stock(services&, int)",
        "lookup_price(services&, int)",
        "merge(int, std::string, int, double)",
        "render(services&, quote)",
        "render_error(services&, int)",
        "audit(int)",
        "handle_request(services&, int)",
        "when_all",
    };
    const cotrace::elf_object& elf = pipeline();
    std::set<std::string> names;
    for (const auto& [name, address] : pipeline_symbols()) {
        if (name.size() < 12 || name.compare(name.size() - 12, 12, ".Frame.actor") != 0) continue;
        const auto symbol = elf.symbol_at(address);
        ASSERT_TRUE(symbol.has_value()) << name;
        const std::string readable = cotrace::readable_function_name(*symbol);
        EXPECT_EQ(readable.find("Frame"), std::string::npos) << readable;
        EXPECT_EQ(readable.find("[clone"), std::string::npos) << readable;
        EXPECT_EQ(readable.find("anonymous"), std::string::npos) << readable;
        names.insert(readable);
    }
    for (const auto& name : expected) EXPECT_TRUE(names.count(name)) << name;
}

TEST(ElfObject, AScopeSiteInStaticDataReadsBackAsFileFunctionAndLine) {
    // COTRACE_SCOPE("validate") on line 60 and ("write_audit_record") on line 102 of pipeline.cpp.
    const cotrace::elf_object& elf = pipeline();
    for (const auto& [suffix, scope, line] : {std::tuple{"cotrace_scope_site_60", "validate", 60u},
                                              std::tuple{"cotrace_scope_site_102", "write_audit_record", 102u}}) {
        const std::string symbol = symbol_like(suffix, suffix);
        ASSERT_FALSE(symbol.empty()) << suffix;
        cotrace_site site{};
        ASSERT_TRUE(elf.read(pipeline_symbols().at(symbol), &site, sizeof site)) << symbol;
        EXPECT_EQ(site.line, line);
        const auto file = elf.read_string(reinterpret_cast<std::uint64_t>(site.file));
        ASSERT_TRUE(file.has_value());
        EXPECT_GE(file->size(), 12u);
        EXPECT_EQ(file->substr(file->size() - 12), "pipeline.cpp") << *file;
        EXPECT_EQ(elf.read_string(reinterpret_cast<std::uint64_t>(site.function)), scope);
    }
    char byte;
    EXPECT_FALSE(elf.read(~std::uint64_t{0} - 16, &byte, 1)) << "no segment there";
}

TEST(ElfObject, FileOffsetsMapToVirtualAddressesThroughTheLoadSegments) {
    const cotrace::elf_object& elf = pipeline();
    const std::string actor = symbol_like("handle_request", ".Frame.actor");
    const std::uint64_t address = pipeline_symbols().at(actor);
    // The demo is linked by GNU ld: code sits at the same offset in the file as
    // its link-time address, or a page-aligned distance from it.
    bool found = false;
    for (std::uint64_t delta = 0; delta <= 0x400000 && !found; delta += 0x1000)
        if (address >= delta && elf.vaddr_of_offset(address - delta) == address) found = true;
    EXPECT_TRUE(found);
    EXPECT_FALSE(elf.vaddr_of_offset(~std::uint64_t{0} / 2).has_value());
}

TEST(ElfObject, AFileThatIsNotElfOrDoesNotExistOpensAsNothing) {
    EXPECT_EQ(cotrace::elf_object::open(__FILE__), nullptr);
    EXPECT_EQ(cotrace::elf_object::open("/nonexistent/cotrace-test"), nullptr);
    EXPECT_THROW(cotrace::probe_object_of_file(__FILE__), cotrace::error);
}

TEST(ProbeDiscovery, TheDemoFileListsOnlyItsCotraceProbes) {
    const cotrace::probe_object obj = cotrace::probe_object_of_file(COTRACE_TEST_PIPELINE);
    EXPECT_EQ(obj.path, COTRACE_TEST_PIPELINE);
    std::size_t expected = 0;
    for (const auto& n : pipeline().notes()) expected += n.provider == COTRACE_PROVIDER;
    EXPECT_EQ(obj.probes.size(), expected);
    for (const auto& n : obj.probes) EXPECT_EQ(n.provider, COTRACE_PROVIDER);
}

}  // namespace
