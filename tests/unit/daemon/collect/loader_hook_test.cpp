// The dynamic linker's debug hook found from an executable (the demo binary),
// and files that have none: never a crash, never a blocking read.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "collect/loader_hook.hpp"
#include "target/mapped_file.hpp"

namespace {

std::string temp_path(const std::string& name) {
    return ::testing::TempDir() + "/cotrace-loader-hook-" + std::to_string(getpid()) + "-" + name;
}

TEST(LoaderHook, IsFoundInTheLinkerTheExecutableNamesAtAReturnInstruction) {
    const auto hook = cotrace::find_loader_hook(COTRACE_TEST_PIPELINE);
    ASSERT_TRUE(hook.has_value());
    EXPECT_NE(hook->path.find("ld-linux"), std::string::npos) << hook->path;
    // glibc's _dl_debug_state is an empty function: its first instruction
    // returns (possibly after an endbr64).
    std::ifstream f(hook->path, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(hook->offset));
    unsigned char code[5] = {};
    f.read(reinterpret_cast<char*>(code), sizeof code);
    ASSERT_TRUE(f.good());
    const bool ret = code[0] == 0xc3 || (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa && code[4] == 0xc3);
    EXPECT_TRUE(ret) << "no return instruction at offset 0x" << std::hex << hook->offset << " of " << hook->path;
}

TEST(LoaderHook, IsLookedForUnderTheGivenRoot) {
    const auto hook = cotrace::find_loader_hook(COTRACE_TEST_PIPELINE, "/proc/self/root");
    ASSERT_TRUE(hook.has_value());
    EXPECT_EQ(hook->path.rfind("/proc/self/root/", 0), 0u) << hook->path;
}

TEST(LoaderHook, IsAbsentForAFileThatIsNotElfAMissingFileAndAFifo) {
    const std::string text = temp_path("text");
    std::ofstream(text) << "#!/bin/sh\necho not elf\n";
    EXPECT_FALSE(cotrace::find_loader_hook(text).has_value());
    std::remove(text.c_str());
    EXPECT_FALSE(cotrace::find_loader_hook("/nonexistent/cotrace/binary").has_value());
    const std::string fifo = temp_path("fifo");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_FALSE(cotrace::find_loader_hook(fifo).has_value());  // returns at once: nobody writes to it
    std::remove(fifo.c_str());
}

TEST(LoaderHook, IsAbsentForALinkerWithoutTheHook) {
    // The linker is looked up under a root where it does not exist.
    EXPECT_FALSE(cotrace::find_loader_hook(COTRACE_TEST_PIPELINE, "/nonexistent").has_value());
}

TEST(MappedFile, NamesADeletedFileWithoutTheKernelsMark) {
    cotrace::mapping m;
    m.path = "/opt/app/server (deleted)";
    EXPECT_EQ(cotrace::mapped_file_name(m), "/opt/app/server");
    m.path = "/opt/app/server";
    EXPECT_EQ(cotrace::mapped_file_name(m), "/opt/app/server");
}

TEST(MappedFile, OpensALiveMappingByItsNameWhenItIsStillTheSameFile) {
    std::ifstream maps("/proc/self/maps");
    std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
    for (const cotrace::mapping& m : cotrace::parse_maps(text)) {
        if (!m.exec || m.path.empty()) continue;
        EXPECT_EQ(cotrace::mapped_file_path(static_cast<std::uint32_t>(getpid()), m),
                  "/proc/" + std::to_string(getpid()) + "/root" + m.path);
        return;
    }
    FAIL() << "no executable file mapping in /proc/self/maps";
}

}  // namespace
