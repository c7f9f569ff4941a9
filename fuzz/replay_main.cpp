// Runs a fuzzer's LLVMFuzzerTestOneInput on every file of the directories
// (or files) given, without libFuzzer: the corpus in fuzz/corpus/NAME
// replayed as a ctest in every build, so an input that once crashed keeps
// being tried under the normal and the ASan/UBSan builds.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
int replay_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", p.c_str());
        return 1;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    std::size_t replayed = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::directory_iterator(arg)) {
                if (!entry.is_regular_file()) continue;
                if (replay_file(entry.path()) != 0) return 1;
                ++replayed;
            }
        } else {
            if (replay_file(arg) != 0) return 1;
            ++replayed;
        }
    }
    if (replayed == 0) {
        std::fprintf(stderr, "no inputs to replay (give corpus directories or files)\n");
        return 1;
    }
    std::printf("replayed %zu inputs\n", replayed);
    return 0;
}
