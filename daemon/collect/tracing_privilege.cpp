#include "collect/tracing_privilege.hpp"

#include <sys/stat.h>

#include <cstdio>

#include "error.hpp"

namespace cotrace {

namespace {

constexpr int cap_sys_admin = 21;
constexpr int cap_perfmon = 38;
constexpr int cap_bpf = 39;

unsigned long long effective_capabilities() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long caps = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "CapEff: %llx", &caps) == 1) break;
    std::fclose(f);
    return caps;
}

bool has(unsigned long long caps, int cap) { return (caps >> cap) & 1; }

bool exists(const char* path) {
    struct stat st;
    return ::stat(path, &st) == 0;
}

}  // namespace

bool has_bpf_capabilities() {
    const auto caps = effective_capabilities();
    return has(caps, cap_sys_admin) || (has(caps, cap_bpf) && has(caps, cap_perfmon));
}

void check_tracing_privilege() {
    if (!exists("/sys/kernel/btf/vmlinux"))
        throw error("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing); use a kernel built "
                    "with CONFIG_DEBUG_INFO_BTF=y");
    if (!exists("/sys/bus/event_source/devices/uprobe"))
        throw error("this kernel has no uprobe support (/sys/bus/event_source/devices/uprobe is "
                    "missing); use a kernel built with CONFIG_UPROBE_EVENTS=y");
    const auto caps = effective_capabilities();
    std::string missing;
    if (!has(caps, cap_sys_admin)) {
        if (!has(caps, cap_bpf)) missing += " CAP_BPF";
        if (!has(caps, cap_perfmon)) missing += " CAP_PERFMON";
    }
    // CAP_SYS_PTRACE is needed only for processes of other users: the
    // kernel says so itself when reading the target fails.
    if (!missing.empty())
        throw error("tracing needs more privilege (missing" + missing +
                    "); run as root or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE (e.g. sudo cotrace ...)");
}

}  // namespace cotrace
