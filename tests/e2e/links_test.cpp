// What cotrace leaves in the kernel while it traces: one uprobe_multi link
// per object that carries probes (all its sites, of every probe, in one
// link), so that ending a session retires as few links as possible; a
// library unloaded while traced takes its link with it, and nothing remains
// once the session is over.
//
// The links are read from the daemon's own file descriptors
// (/proc/PID/fdinfo of each anon_inode:bpf_link: link_type, link_id, and
// for uprobe_multi links the path of the object), so other tracers on the
// machine do not count; that a link is gone is asked of the kernel by its id.

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/e2e.hpp"

namespace e2e {
namespace {

const std::string server_path = COTRACE_E2E_SERVER;
const std::string plugin_path = COTRACE_E2E_SERVER_PLUGIN;

class Links : public test {};

struct bpf_link_fd {
    std::string type;  // "uprobe_multi", ...
    std::uint32_t id = 0;
    std::string path;  // uprobe_multi: the object its sites are in
};

// The BPF links process `pid` holds open.
std::vector<bpf_link_fd> links_held_by(pid_t pid) {
    std::vector<bpf_link_fd> links;
    const std::filesystem::path proc = "/proc/" + std::to_string(pid);
    std::error_code ec;
    for (const auto& fd : std::filesystem::directory_iterator(proc / "fd", ec)) {
        std::error_code ignored;
        if (std::filesystem::read_symlink(fd.path(), ignored) != "anon_inode:bpf_link") continue;
        std::ifstream info(proc / "fdinfo" / fd.path().filename());
        bpf_link_fd link;
        for (std::string line; std::getline(info, line);) {
            const auto tab = line.find(":\t");
            if (tab == std::string::npos) continue;
            const std::string key = line.substr(0, tab), value = line.substr(tab + 2);
            if (key == "link_type") link.type = value;
            if (key == "link_id") link.id = static_cast<std::uint32_t>(std::stoul(value));
            if (key == "path") link.path = value;
        }
        links.push_back(link);
    }
    return links;
}

std::string describe(const std::vector<bpf_link_fd>& links) {
    std::string s;
    for (const bpf_link_fd& l : links)
        s += "  link " + std::to_string(l.id) + " " + l.type + " " + (l.path.empty() ? "(no path)" : l.path) + "\n";
    return s.empty() ? "  (no links)\n" : s;
}

// Whether the kernel still has a BPF link of this id (held by anyone).
bool link_exists(std::uint32_t id) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.link_id = id;
    const long fd = syscall(SYS_bpf, BPF_LINK_GET_FD_BY_ID, &attr, sizeof attr);
    if (fd >= 0) ::close(static_cast<int>(fd));
    return fd >= 0 || errno != ENOENT;
}

// The uprobe_multi links, by object path.
std::map<std::string, std::vector<std::uint32_t>> uprobe_multi_by_path(const std::vector<bpf_link_fd>& links) {
    std::map<std::string, std::vector<std::uint32_t>> by_path;
    for (const bpf_link_fd& l : links)
        if (l.type == "uprobe_multi") by_path[l.path].push_back(l.id);
    return by_path;
}

// The real path of the mapped object of `pid` whose file name contains `part`.
std::string mapped_object(pid_t pid, const std::string& part) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    for (std::string line; std::getline(maps, line);) {
        const auto slash = line.find('/');
        if (slash == std::string::npos) continue;
        const std::string path = line.substr(slash);
        if (std::filesystem::path(path).filename().string().find(part) != std::string::npos)
            return std::filesystem::canonical(path).string();
    }
    return {};
}

// An idle server (until SIGUSR1) that loads the plugin on SIGUSR2 and
// unloads it (dlclose) once 5 requests were accepted.
std::unique_ptr<process> start_server_for_links() {
    auto p = process::spawn({server_path, "--wait-for-start", "--plugin", plugin_path, "--unload-after", "5",
                             "--interval-us", "100"});
    const std::string ready = "server pid " + std::to_string(p->pid()) + " ready";
    if (!p->out().wait_for([&](const std::string& l) { return l == ready; }))
        throw std::runtime_error("the server did not print \"" + ready + "\": " + p->describe());
    return p;
}

bool plugin_attached(const std::string& line) {
    return contains(line, "probe links in ") && contains(line, "libserver_plugin.so");
}
bool plugin_detached(const std::string& line) { return contains(line, "detached the probes of 1 object"); }

TEST_F(Links, EachObjectWithProbesGetsOneUprobeMultiLinkAUnloadedPluginTakesItsLinkAndNoneOutlivesTheSession) {
    auto server = start_server_for_links();
    const std::string executable = std::filesystem::canonical(server_path).string();
    const std::string library = mapped_object(server->pid(), "libserver_handlers");
    ASSERT_FALSE(library.empty()) << "the server does not map libserver_handlers: " << server->describe();

    auto cotrace = start_attach(server->pid());
    const auto attached = links_held_by(cotrace->pid());
    auto by_path = uprobe_multi_by_path(attached);
    // The executable and the library, one link each with all their sites;
    // any other link (the dynamic linker's hook) is alone on its object too.
    EXPECT_EQ(by_path[executable].size(), 1u) << describe(attached);
    EXPECT_EQ(by_path[library].size(), 1u) << describe(attached);
    for (const auto& [path, ids] : by_path) EXPECT_EQ(ids.size(), 1u) << path << "\n" << describe(attached);
    EXPECT_LE(attached.size(), 3u) << "more links than objects with probes and the loader's hook:\n"
                                   << describe(attached);

    // A plugin loaded while traced: one link more, on the plugin.
    server->signal(SIGUSR2);
    ASSERT_TRUE(server->out().wait_for([](const std::string& l) { return l == "plugin loaded"; }))
        << server->describe();
    ASSERT_TRUE(cotrace->err().wait_for(plugin_attached)) << cotrace->describe();
    const std::string plugin = std::filesystem::canonical(plugin_path).string();
    const auto with_plugin = links_held_by(cotrace->pid());
    const auto plugin_links = uprobe_multi_by_path(with_plugin)[plugin];
    ASSERT_EQ(plugin_links.size(), 1u) << describe(with_plugin);
    EXPECT_EQ(with_plugin.size(), attached.size() + 1) << describe(with_plugin);

    // Unloaded (after 5 requests): its link is closed, the others stay.
    server->signal(SIGUSR1);
    ASSERT_TRUE(server->out().wait_for([](const std::string& l) { return l == "plugin unloaded"; }))
        << server->describe();
    ASSERT_TRUE(cotrace->err().wait_for(plugin_detached)) << cotrace->describe();
    const auto unloaded = links_held_by(cotrace->pid());
    EXPECT_EQ(uprobe_multi_by_path(unloaded).count(plugin), 0u) << describe(unloaded);
    EXPECT_EQ(unloaded.size(), attached.size()) << describe(unloaded);
    EXPECT_FALSE(link_exists(plugin_links.front())) << "the plugin's link " << plugin_links.front()
                                                    << " outlived its detach";

    // The session's end: every link is gone from the kernel.
    cotrace->signal(SIGINT);
    const auto st = cotrace->wait();
    ASSERT_TRUE(st.has_value()) << "cotrace did not exit after SIGINT: " << cotrace->describe();
    EXPECT_TRUE(st->ok()) << st->describe() << "\n" << cotrace->describe();
    for (const bpf_link_fd& l : attached)
        EXPECT_FALSE(link_exists(l.id)) << "link " << l.id << " (" << l.type << " " << l.path
                                        << ") outlived the session";
    EXPECT_TRUE(server->running()) << server->describe();
    server->signal(SIGTERM);
    EXPECT_TRUE(server->wait().has_value()) << server->describe();
}

}  // namespace
}  // namespace e2e
