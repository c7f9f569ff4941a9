#pragma once
// Attaching a BPF program to many USDT sites with one uprobe_multi link
// (Linux >= 6.6). libbpf 1.1 attaches USDT probes one uprobe per site, and
// the kernel registers and unregisters each one with its own RCU grace
// period: ~100 ms a site, seconds for a real binary on attach and again on
// exit. One link per object registers all its sites (and semaphores) in a
// batch, and retires them with one grace period when it closes.

#include <cstdint>
#include <string>
#include <vector>

namespace cotrace {

struct uprobe_multi_sites {
    std::string path;                          // the ELF file, as the kernel should open it
    std::vector<std::uint64_t> offsets;        // file offsets of the probe instructions
    std::vector<std::uint64_t> ref_ctr_offsets;  // file offsets of their semaphores (0: none)
    std::vector<std::uint64_t> cookies;        // per site, read back with bpf_get_attach_cookie()
};

// The link's file descriptor, or -errno.
int attach_uprobe_multi(int prog_fd, const uprobe_multi_sites& sites, std::uint32_t pid);

// The expected attach type programs must be loaded with to be linked so.
constexpr std::uint32_t bpf_trace_uprobe_multi = 48;  // enum bpf_attach_type, newer than our uapi headers

}  // namespace cotrace
