#include "collect/uprobe_multi.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cotrace {

namespace {

// The BPF_LINK_CREATE part of union bpf_attr with its uprobe_multi member
// (include/uapi/linux/bpf.h, Linux 6.6): the installed uapi headers predate it.
struct link_create_uprobe_multi {
    std::uint32_t prog_fd;
    std::uint32_t target_fd;
    std::uint32_t attach_type;
    std::uint32_t flags;
    std::uint64_t path;
    std::uint64_t offsets;
    std::uint64_t ref_ctr_offsets;
    std::uint64_t cookies;
    std::uint32_t cnt;
    std::uint32_t multi_flags;
    std::uint32_t pid;
    std::uint32_t pad;
};

constexpr int bpf_link_create_cmd = 28;  // BPF_LINK_CREATE

}  // namespace

int attach_uprobe_multi(int prog_fd, const uprobe_multi_sites& sites, std::uint32_t pid) {
    // The kernel reads a full union bpf_attr: pass one, zeroed past our part.
    alignas(8) unsigned char attr[160];
    std::memset(attr, 0, sizeof attr);
    link_create_uprobe_multi a{};
    a.prog_fd = static_cast<std::uint32_t>(prog_fd);
    a.attach_type = bpf_trace_uprobe_multi;
    a.path = reinterpret_cast<std::uint64_t>(sites.path.c_str());
    a.offsets = reinterpret_cast<std::uint64_t>(sites.offsets.data());
    a.ref_ctr_offsets = reinterpret_cast<std::uint64_t>(sites.ref_ctr_offsets.data());
    a.cookies = reinterpret_cast<std::uint64_t>(sites.cookies.data());
    a.cnt = static_cast<std::uint32_t>(sites.offsets.size());
    a.pid = pid;
    std::memcpy(attr, &a, sizeof a);
    const long fd = syscall(SYS_bpf, bpf_link_create_cmd, attr, sizeof attr);
    return fd < 0 ? -errno : static_cast<int>(fd);
}

}  // namespace cotrace
