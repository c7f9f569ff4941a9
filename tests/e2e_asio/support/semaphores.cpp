#include "semaphores.hpp"

#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace e2e_asio {

std::vector<probe_note> cotrace_notes_of(const std::string& elf_path) {
    const completed r = run_to_completion({COTRACE_E2E_ASIO_READELF, "-n", "--wide", elf_path});
    if (!r.status.ok()) throw std::runtime_error("readelf -n " + elf_path + " failed: " + r.describe());
    std::vector<probe_note> out;
    std::string provider, name;
    for (const std::string& line : r.out) {
        const auto field = [&](const std::string& key) -> std::optional<std::string> {
            const auto at = line.find(key);
            if (at == std::string::npos) return std::nullopt;
            std::string v = line.substr(at + key.size());
            const auto end = v.find_first_of(", \t");
            return end == std::string::npos ? v : v.substr(0, end);
        };
        if (auto p = field("Provider: ")) provider = *p;
        if (auto n = field("Name: ")) name = *n;
        if (auto s = field("Semaphore: "); s && provider == "cotrace") out.push_back({name, std::stoull(*s, nullptr, 16)});
    }
    return out;
}

target_semaphores::target_semaphores(pid_t pid) : pid_(pid) {
    const std::string proc = "/proc/" + std::to_string(pid);
    for (const probe_note& n : cotrace_notes_of(proc + "/exe")) {
        if (n.semaphore == 0) continue;
        if (std::none_of(semaphores_.begin(), semaphores_.end(),
                         [&](const probe_note& x) { return x.semaphore == n.semaphore; }))
            semaphores_.push_back(n);
    }
    if (semaphores_.empty()) throw std::runtime_error("process " + std::to_string(pid) + " has no cotrace semaphores");
    struct stat st {};
    if (stat((proc + "/exe").c_str(), &st) != 0) throw std::runtime_error("cannot stat " + proc + "/exe");
    // The mapping of the executable at file offset 0 is where link-time address 0 is.
    std::ifstream maps(proc + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
        std::istringstream f(line);
        std::string range, perms, offset, dev;
        unsigned long long inode = 0;
        f >> range >> perms >> offset >> dev >> inode;
        if (inode != st.st_ino || std::stoull(offset, nullptr, 16) != 0) continue;
        load_base_ = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
        return;
    }
    throw std::runtime_error("no mapping of the executable at offset 0 in " + proc + "/maps");
}

std::vector<target_semaphores::value> target_semaphores::read() const {
    std::vector<value> out;
    for (const probe_note& s : semaphores_) {
        std::uint16_t v = 0;
        iovec local{&v, sizeof v};
        iovec remote{reinterpret_cast<void*>(load_base_ + s.semaphore), sizeof v};
        if (process_vm_readv(pid_, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(sizeof v))
            throw std::runtime_error("cannot read the semaphore of cotrace:" + s.probe + " in process " +
                                     std::to_string(pid_));
        out.push_back({s.probe, v});
    }
    return out;
}

bool target_semaphores::all_zero() const {
    const auto v = read();
    return std::all_of(v.begin(), v.end(), [](const value& x) { return x.count == 0; });
}

bool target_semaphores::all_nonzero() const {
    const auto v = read();
    return std::all_of(v.begin(), v.end(), [](const value& x) { return x.count != 0; });
}

bool target_semaphores::wait_all_zero(std::chrono::milliseconds timeout) const {
    const auto end = clock::now() + timeout;
    while (!all_zero()) {
        if (clock::now() >= end) return false;
        std::this_thread::sleep_for(5ms);  // polling a value nobody signals; not synchronisation with the test
    }
    return true;
}

std::string target_semaphores::describe() const {
    std::string s;
    try {
        for (const value& v : read()) s += v.probe + "=" + std::to_string(v.count) + " ";
    } catch (const std::exception& e) {
        s = e.what();
    }
    return s;
}

}  // namespace e2e_asio
