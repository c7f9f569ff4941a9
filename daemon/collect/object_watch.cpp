#include "collect/object_watch.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <iterator>
#include <vector>

#include "clock.hpp"
#include "collect/loader_hook.hpp"
#include "error.hpp"
#include "target/mapped_file.hpp"
#include "target/proc_maps.hpp"

namespace cotrace {

namespace {

// Continues a held target on every path out of the handler.
class continue_target {
public:
    continue_target(std::uint32_t pid, bool held) : pid_(pid), held_(held) {}
    ~continue_target() {
        if (held_) kill(static_cast<pid_t>(pid_), SIGCONT);
    }

private:
    std::uint32_t pid_;
    bool held_;
};

}  // namespace

object_watch::object_watch(std::uint32_t pid, bpf_collector& collector, target_symbols& symbols,
                           event_handler& next, bool held)
    : pid_(pid), collector_(collector), symbols_(symbols), next_(next), held_(held) {}

bool object_watch::attach_hook(const std::string& executable) {
    const std::string proc = "/proc/" + std::to_string(pid_);
    const auto hook = executable.empty() ? find_loader_hook(proc + "/exe", proc + "/root")
                                         : find_loader_hook(executable);
    if (!hook) {
        spdlog::info("process {} has no dynamic linker hook (static executable?): objects it loads later "
                     "are found by a rescan each second",
                     pid_);
        return false;
    }
    collector_.attach_loader_hook(hook->path, hook->offset);
    spdlog::debug("attached the dynamic linker's debug hook in {} at offset 0x{:x}", hook->path, hook->offset);
    hooked_ = true;
    return true;
}

std::size_t object_watch::rescan() {
    std::size_t added = 0;
    for (probe_object& o : find_new_probe_objects(pid_, examined_)) {
        const std::size_t links = collector_.attach({o});
        attached_ns_ = monotonic_ns();  // before saying so: from here on, nothing fires unseen
        if (links > 0) spdlog::info("attached {} probe links in {} (process {})", links, o.path, pid_);
        added += links;
    }
    return added;
}

void object_watch::detach_unmapped() {
    const auto maps = read_maps(pid_);
    if (!maps) return;  // going away: nothing to learn
    std::vector<std::pair<dev_t, ino_t>> mapped;
    for (const mapping& m : *maps) {
        struct stat st;
        if (!m.path.empty() && ::stat(mapped_file_path(pid_, m).c_str(), &st) == 0)
            mapped.emplace_back(st.st_dev, st.st_ino);
    }
    if (mapped.empty()) return;
    if (const std::size_t n = collector_.detach_unmapped(mapped)) {
        spdlog::info("detached the probes of {} object(s) process {} unloaded", n, pid_);
        // Loaded again, they are read and attached again.
        for (auto it = examined_.begin(); it != examined_.end();)
            it = std::find(mapped.begin(), mapped.end(), *it) == mapped.end() ? examined_.erase(it) : std::next(it);
    }
}

void object_watch::on_event(const cotrace_event& e) {
    if (e.kind == COTRACE_EV_objects_changed) {
        if (e.pid == pid_) objects_changed(e);
        return;  // the daemon's own business: not part of the traced stream
    }
    if (started_ns_ != 0 && e.kind < COTRACE_EV_COLLECTOR_FIRST) {
        spdlog::info("first event collected {:.3f} ms after attaching began",
                     static_cast<double>(e.ts_ns - started_ns_) / 1e6);
        started_ns_ = 0;
    }
    next_.on_event(e);
}

void object_watch::objects_changed(const cotrace_event& e) {
    const continue_target resume(pid_, held_);
    ++changes_;
    std::size_t added = 0;
    try {
        symbols_.refresh(pid_);
        detach_unmapped();
        added = rescan();
    } catch (const error& err) {
        spdlog::warn("process {}: the probes of a newly loaded object could not be attached: {}", pid_, err.what());
    }
    if (added == 0 || held_) return;
    cotrace_event gap{};
    gap.ts_ns = attached_ns_;
    gap.pid = pid_;
    gap.tid = e.tid;
    gap.kind = COTRACE_EV_objects_gap;
    gap.args[0] = e.ts_ns;
    spdlog::debug("probes of a new object attached {:.3f} ms after the loader's hook", (gap.ts_ns - e.ts_ns) / 1e6);
    next_.on_event(gap);
}

}  // namespace cotrace
