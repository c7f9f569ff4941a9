// The probes as the collector finds them: `readelf -n` on the demos must show
// every probe of the contract (provider cotrace, the contract's argument
// count, a semaphore in .probes, one per probe): the pipeline demo every probe
// of the coroutine library, the Asio demo the rest. Binaries built with
// COTRACE_ENABLED=0 must have no probe notes and no semaphores at all.
//
// Paths come from CMake: COTRACE_TEST_READELF, COTRACE_TEST_PIPELINE,
// COTRACE_TEST_PIPELINE_UNTRACED, COTRACE_TEST_COMPILED_OUT, and when the Asio
// demo is built COTRACE_TEST_ASIO_ECHO and COTRACE_TEST_ASIO_ECHO_COMPILED_OUT.

#include <gtest/gtest.h>

#include <cotrace/detail/cotrace_probes.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <utility>
#include <vector>

namespace {

struct command_result {
    int status = -1;
    std::string out;
};

command_result run(const std::string& command) {
    command_result r;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
    const int raw = pclose(pipe);
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return r;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

command_result readelf(const char* options, const std::string& path) {
    return run(std::string(COTRACE_TEST_READELF) + " " + options + " " + quoted(path) + " 2>&1");
}

struct stapsdt_note {
    std::string provider;
    std::string name;
    unsigned long long semaphore = 0;
    std::size_t nargs = 0;
};

std::string after(const std::string& line, const std::string& key) {
    const auto pos = line.find(key);
    if (pos == std::string::npos) return {};
    std::string rest = line.substr(pos + key.size());
    const auto first = rest.find_first_not_of(' ');
    return first == std::string::npos ? std::string() : rest.substr(first);
}

// Parses the NT_STAPSDT notes of `readelf -n`.
std::vector<stapsdt_note> stapsdt_notes(const std::string& readelf_n) {
    std::vector<stapsdt_note> notes;
    std::istringstream in(readelf_n);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("Provider:") != std::string::npos) {
            notes.emplace_back();
            notes.back().provider = after(line, "Provider:");
        } else if (notes.empty()) {
            continue;
        } else if (line.find("Name:") != std::string::npos) {
            notes.back().name = after(line, "Name:");
        } else if (line.find("Semaphore:") != std::string::npos) {
            notes.back().semaphore = std::stoull(after(line, "Semaphore:"), nullptr, 16);
        } else if (line.find("Arguments:") != std::string::npos) {
            std::istringstream args(after(line, "Arguments:"));
            std::string arg;
            while (args >> arg) ++notes.back().nargs;
        }
    }
    return notes;
}

struct section {
    unsigned long long address = 0, size = 0;
};

// Sections of `readelf -SW` by name.
std::map<std::string, section> sections(const std::string& readelf_sw) {
    std::map<std::string, section> found;
    std::istringstream in(readelf_sw);
    std::string line;
    while (std::getline(in, line)) {
        const auto close = line.find(']');
        if (line.find('[') == std::string::npos || close == std::string::npos) continue;
        std::istringstream fields(line.substr(close + 1));
        std::string name, type, address, offset, size;
        if (!(fields >> name >> type >> address >> offset >> size)) continue;
        if (name.empty() || name[0] != '.') continue;
        try {
            found[name] = section{std::stoull(address, nullptr, 16), std::stoull(size, nullptr, 16)};
        } catch (const std::exception&) {
        }
    }
    return found;
}

const std::vector<std::pair<std::string, std::size_t>>& contract_probes() {
    static const std::vector<std::pair<std::string, std::size_t>> probes = {
#define COTRACE_TEST_PROBE_ENTRY(name, nargs) {#name, nargs},
        COTRACE_PROBE_LIST(COTRACE_TEST_PROBE_ENTRY)
#undef COTRACE_TEST_PROBE_ENTRY
    };
    return probes;
}

// Contract probes the pipeline demo cannot contain: async_begin comes only
// from the Asio integration (asio_tracking.hpp), checked in the Asio demo.
// Keep this list exact: the test fails when one of them shows up in pipeline.
const std::set<std::string> kNotInPipeline = {"async_begin"};
// The cross-process probes (propagation.hpp): only programs that make RPCs
// carry them, checked in the RPC examples.
const std::set<std::string> kCaller = {"remote_span"};
const std::set<std::string> kCallee = {"remote_enter", "remote_exit"};

TEST(ElfNotes, ParserReadsNotesAndSections) {
    const auto notes = stapsdt_notes(
        "  stapsdt              0x00000030\tNT_STAPSDT (SystemTap probe descriptors)\n"
        "    Provider: cotrace\n"
        "    Name: end\n"
        "    Location: 0x0000000000007f32, Base: 0x000000000003aba0, Semaphore: 0x0000000000047616\n"
        "    Arguments: 8@%rax 8@$2\n");
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0].provider, "cotrace");
    EXPECT_EQ(notes[0].name, "end");
    EXPECT_EQ(notes[0].semaphore, 0x47616u);
    EXPECT_EQ(notes[0].nargs, 2u);
    const auto secs =
        sections("  [29] .probes           PROGBITS        0000000000047608 046608 000014 00  WA  0   0  2\n");
    ASSERT_EQ(secs.count(".probes"), 1u);
    EXPECT_EQ(secs.at(".probes").address, 0x47608u);
    EXPECT_EQ(secs.at(".probes").size, 0x14u);
}

// Checks every cotrace probe note of the binary at `path` against the contract
// (known name, its argument count, a semaphore inside .probes, one semaphore
// per probe, none shared), that every probe in `required` is there, and that
// none in `absent` is.
void expect_probes(const std::string& path, const std::set<std::string>& required,
                   const std::set<std::string>& absent) {
    const command_result n = readelf("-n", path);
    ASSERT_EQ(n.status, 0) << n.out;
    const command_result s = readelf("-SW", path);
    ASSERT_EQ(s.status, 0) << s.out;
    const auto secs = sections(s.out);
    ASSERT_EQ(secs.count(".note.stapsdt"), 1u) << s.out;
    ASSERT_EQ(secs.count(".probes"), 1u) << s.out;
    const section probes = secs.at(".probes");

    std::map<std::string, std::size_t> nargs_of;
    for (const auto& [name, nargs] : contract_probes()) nargs_of[name] = nargs;
    for (const std::string& name : required) ASSERT_EQ(nargs_of.count(name), 1u) << "not a contract probe: " << name;
    for (const std::string& name : absent) ASSERT_EQ(nargs_of.count(name), 1u) << "not a contract probe: " << name;

    std::map<std::string, std::set<unsigned long long>> semaphores_of;
    for (const stapsdt_note& note : stapsdt_notes(n.out)) {
        if (note.provider != COTRACE_PROVIDER) continue;
        ASSERT_EQ(nargs_of.count(note.name), 1u) << path << ": probe not in the contract: " << note.name;
        EXPECT_EQ(note.nargs, nargs_of[note.name]) << path << ": " << note.name;
        EXPECT_NE(note.semaphore, 0u) << path << ": " << note.name;
        EXPECT_GE(note.semaphore, probes.address) << path << ": " << note.name;
        EXPECT_LT(note.semaphore, probes.address + probes.size) << path << ": " << note.name;
        semaphores_of[note.name].insert(note.semaphore);
    }
    std::set<unsigned long long> all_semaphores;
    for (const auto& [name, semaphores] : semaphores_of) {
        // One semaphore per probe in one binary: the kernel raises the one the notes name.
        EXPECT_EQ(semaphores.size(), 1u) << path << ": " << name;
        EXPECT_TRUE(all_semaphores.insert(*semaphores.begin()).second)
            << path << ": " << name << " shares its semaphore with another probe";
    }
    for (const std::string& name : required)
        EXPECT_EQ(semaphores_of.count(name), 1u) << "probe missing from " << path << ": cotrace:" << name;
    for (const std::string& name : absent)
        EXPECT_EQ(semaphores_of.count(name), 0u)
            << "cotrace:" << name << " is in " << path << " now: update the test's expectations";
}

std::set<std::string> all_contract_probes() {
    std::set<std::string> names;
    for (const auto& [name, nargs] : contract_probes()) names.insert(name);
    return names;
}

TEST(ElfNotes, TracedPipelineHasEveryProbeOfTheLibraryWithItsArgumentCountAndASemaphore) {
    std::set<std::string> required = all_contract_probes();
    std::set<std::string> absent = kNotInPipeline;
    absent.insert(kCaller.begin(), kCaller.end());
    absent.insert(kCallee.begin(), kCallee.end());
    for (const std::string& name : absent) required.erase(name);
    expect_probes(COTRACE_TEST_PIPELINE, required, absent);
}

#ifdef COTRACE_TEST_RPC_CLIENT
TEST(ElfNotes, TheRpcClientCarriesTheCallersProbeAndTheServerTheCalleesWithSemaphores) {
    expect_probes(COTRACE_TEST_RPC_CLIENT, kCaller, kCallee);
    expect_probes(COTRACE_TEST_RPC_SERVER, kCallee, kCaller);
}
#endif

#ifdef COTRACE_TEST_ASIO_ECHO  // the Asio demo is built (asio.hpp found)
TEST(ElfNotes, TracedAsioDemoHasTheProbesThePipelineLacks) {
    // Between them, the two demos carry every probe of the contract.
    expect_probes(COTRACE_TEST_ASIO_ECHO, kNotInPipeline, {});
}
#endif

void expect_untraced(const char* path) {
    const command_result s = readelf("-SW", path);
    ASSERT_EQ(s.status, 0) << s.out;
    const auto secs = sections(s.out);
    ASSERT_FALSE(secs.empty()) << s.out;
    EXPECT_EQ(secs.count(".note.stapsdt"), 0u) << path;
    EXPECT_EQ(secs.count(".probes"), 0u) << path;
    EXPECT_EQ(secs.count(".stapsdt.base"), 0u) << path;
    const command_result n = readelf("-n", path);
    ASSERT_EQ(n.status, 0) << n.out;
    EXPECT_EQ(n.out.find("Provider: cotrace"), std::string::npos) << path;
}

TEST(ElfNotes, UntracedPipelineHasNoProbeNotesAndNoSemaphores) { expect_untraced(COTRACE_TEST_PIPELINE_UNTRACED); }

TEST(ElfNotes, CompiledOutTestBinaryHasNoProbeNotesAndNoSemaphores) { expect_untraced(COTRACE_TEST_COMPILED_OUT); }

#ifdef COTRACE_TEST_ASIO_ECHO_COMPILED_OUT
TEST(ElfNotes, CompiledOutAsioDemoHasNoProbeNotesAndNoSemaphores) {
    expect_untraced(COTRACE_TEST_ASIO_ECHO_COMPILED_OUT);
}
#endif

}  // namespace
