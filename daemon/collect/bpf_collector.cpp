#include "collect/bpf_collector.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "attach_cookie.h"
#include "clock.hpp"
#include "cotrace_bpf.skel.h"
#include "error.hpp"
#include "collect/uprobe_multi.hpp"
#include "collect/usdt_spec.hpp"
#include "collect/writable_data.hpp"

namespace cotrace {

namespace {

int libbpf_to_spdlog(enum libbpf_print_level level, const char* format, va_list args) {
    char* text = nullptr;
    if (vasprintf(&text, format, args) < 0) return 0;
    std::string line(text);
    std::free(text);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    if (level == LIBBPF_WARN)
        spdlog::debug("libbpf: {}", line);  // surfaced through our own errors instead
    else
        spdlog::trace("libbpf: {}", line);
    return 0;
}

[[noreturn]] void privilege_error(const std::string& what) {
    throw error(what +
                ": not enough privilege; run as root or grant CAP_BPF, CAP_PERFMON and "
                "CAP_SYS_PTRACE (e.g. sudo cotrace ...)");
}

// CAP_BPF (39) + CAP_PERFMON (38), or CAP_SYS_ADMIN (21), in the effective set.
bool has_bpf_capabilities() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return false;
    char line[256];
    unsigned long long caps = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "CapEff: %llx", &caps) == 1) break;
    std::fclose(f);
    const auto has = [&](int cap) { return (caps >> cap) & 1; };
    return has(21) || (has(39) && has(38));
}

// EPERM/EACCES from loading means "no privilege" only without the
// capabilities; with them, the verifier rejected a program.
[[noreturn]] void load_error(const std::string& what, int err) {
    if ((err == EPERM || err == EACCES) && !has_bpf_capabilities()) privilege_error(what);
    throw error(what + ": " + std::strerror(err) + " (run with -vv for the verifier's log)");
}

bool exists(const char* path) {
    struct stat st;
    return ::stat(path, &st) == 0;
}

bool process_alive(std::uint32_t pid) {
    return exists(("/proc/" + std::to_string(pid)).c_str());
}

// The event kind of probe `name` (cotrace_probes.h), which its sites'
// cookies carry; nullopt for a probe this protocol version lacks.
std::optional<std::uint16_t> probe_kind(const std::string& name) {
    static const std::pair<const char*, std::uint16_t> kinds[] = {
#define COTRACE_X_KIND(probe, nargs) {#probe, COTRACE_EV_##probe},
        COTRACE_PROBE_LIST(COTRACE_X_KIND)
#undef COTRACE_X_KIND
    };
    for (const auto& [probe, kind] : kinds)
        if (name == probe) return kind;
    return std::nullopt;
}

}  // namespace

std::string ring_size_problem(std::size_t bytes) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    if (bytes == 0 || (bytes & (bytes - 1)) != 0) return "must be a power of two (e.g. 16777216 for 16 MiB)";
    if (bytes < page) return "must be at least a page (" + std::to_string(page) + " bytes)";
    // The map's size is a 32-bit count: the largest power of two it holds.
    if (bytes > (std::size_t{1} << 31)) return "must be at most 2147483648 (2 GiB)";
    return {};
}

bpf_collector::bpf_collector(const collector_options& options, const std::vector<probe_object>& objects)
    : options_(options) {
    libbpf_set_print(libbpf_to_spdlog);
    skel_ = cotrace_bpf__open();
    if (!skel_) load_error("cannot open the BPF programs", errno);
    // From here on the destructor releases everything, whatever throws.
    try {
        skel_->rodata->targ_tgid = options_.pid;
        skel_->rodata->wakeup_bytes = options_.ring_bytes / 16;
        skel_->rodata->sample_every = options_.sample ? options_.sample : 1;
        if (const std::string problem = ring_size_problem(options_.ring_bytes); !problem.empty())
            throw error("--ring-size " + std::to_string(options_.ring_bytes) + ": " + problem, exit_usage);
        skel_->rodata->hold_on_load = options_.hold_on_load ? 1 : 0;
        if (int err = bpf_map__set_max_entries(skel_->maps.events, static_cast<__u32>(options_.ring_bytes)))
            throw error("cannot size the BPF ring buffer to " + std::to_string(options_.ring_bytes) +
                        " bytes: " + std::strerror(-err));
        bpf_program* prog;
        bpf_object__for_each_program(prog, skel_->obj) {
            bpf_program__set_expected_attach_type(prog, static_cast<bpf_attach_type>(bpf_trace_uprobe_multi));
        }
        if (int err = cotrace_bpf__load(skel_)) load_error("cannot load the BPF programs", -err);
        reader_ = std::make_unique<ring_reader>(bpf_map__fd(skel_->maps.events), options_.ring_bytes,
                                                options_.queue_events);
        if (attach(objects) == 0) {
            if (!process_alive(options_.pid))
                throw error("process " + std::to_string(options_.pid) + " exited while cotrace was attaching");
            throw error("no cotrace probe could be attached in process " + std::to_string(options_.pid) +
                        " (run with -v for details)");
        }
        // All at once: from here every probe reports.
        if (options_.start_collecting) start_collecting();
    } catch (...) {
        release();
        throw;
    }
}

bpf_collector::~bpf_collector() { release(); }

void bpf_collector::start_collecting() { __atomic_store_n(&skel_->bss->collecting, 1u, __ATOMIC_RELEASE); }

std::size_t bpf_collector::detach_unmapped(const std::vector<std::pair<dev_t, ino_t>>& mapped) {
    std::size_t detached = 0;
    if (stopped_) return detached;  // every link is closing already
    for (auto it = attached_.begin(); it != attached_.end();) {
        if (std::find(mapped.begin(), mapped.end(), *it) != mapped.end()) {
            ++it;
            continue;
        }
        if (const auto link = link_of_.find(*it); link != link_of_.end()) {
            links_.erase(std::remove(links_.begin(), links_.end(), link->second), links_.end());
            ::close(link->second);
            link_of_.erase(link);
        }
        it = attached_.erase(it);
        ++detached;
    }
    return detached;
}

void bpf_collector::attach_loader_hook(const std::string& path, std::uint64_t offset) {
    bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, "on_loader_debug_state");
    if (!prog) throw error("the BPF programs lack the loader hook (rebuild cotrace)");
    uprobe_multi_sites sites;
    sites.path = path;
    sites.offsets = {offset};
    sites.ref_ctr_offsets = {0};
    sites.cookies = {0};
    const int fd = attach_uprobe_multi(bpf_program__fd(prog), sites, options_.pid);
    if (fd < 0) throw error("cannot attach to the dynamic linker's debug hook in " + path + ": " + std::strerror(-fd));
    links_.push_back(fd);
}

void bpf_collector::begin_closing_links() noexcept {
    // Each link's close waits for the kernel to retire its uprobes (an RCU
    // grace period): close them all at once, not one after another.
    for (int fd : links_) {
        try {
            closer& c = closers_.emplace_back();
            c.thread = std::thread([&c, fd, since = stopped_at_] {
                ::close(fd);
                c.closed_ms = ms_since(since);
            });
        } catch (...) {
            if (!closers_.empty() && !closers_.back().thread.joinable()) closers_.pop_back();
            ::close(fd);
        }
    }
    links_.clear();
    link_of_.clear();
}

void bpf_collector::release() noexcept {
    // The reader first: it reads the ring's pages, which go with the skeleton.
    if (skel_ && skel_->bss) __atomic_store_n(&skel_->bss->collecting, 0u, __ATOMIC_RELEASE);
    reader_.reset();
    begin_closing_links();  // those not closing yet (no stop(), or attached since)
    std::string each;  // when each link's close returned: the kernel's part of the stop
    for (closer& c : closers_) {
        c.thread.join();
        each += (each.empty() ? "" : ", ") + fmt::format("{:.1f}", c.closed_ms);
    }
    if (stopped_)
        spdlog::debug("stopping: probes detached {:.1f} ms after the stop ({} links closed at {} ms)",
                      ms_since(stopped_at_), closers_.size(), each);
    closers_.clear();
    if (skel_) cotrace_bpf__destroy(skel_);
    skel_ = nullptr;
}

std::optional<std::uint32_t> bpf_collector::spec_id(const std::string& arguments, std::string& why) {
    auto it = spec_ids_.find(arguments);
    if (it != spec_ids_.end()) return it->second;
    const auto spec = parse_usdt_arguments(arguments, &why);
    const std::uint32_t id = static_cast<std::uint32_t>(spec_ids_.size());
    if (!spec || id >= bpf_map__max_entries(skel_->maps.__bpf_usdt_specs)) return std::nullopt;
    if (bpf_map__value_size(skel_->maps.__bpf_usdt_specs) != sizeof(usdt_spec))
        throw error("this libbpf's USDT spec layout differs from cotrace's (rebuild cotrace against it)");
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.__bpf_usdt_specs), &id, &*spec, BPF_ANY) != 0)
        return std::nullopt;
    spec_ids_.emplace(arguments, id);
    return id;
}

// A site's cookie (attach_cookie.h): its argument registers and constants
// when every argument is a full 64-bit register or a small constant, else
// the id of its spec.
std::optional<std::uint64_t> bpf_collector::site_cookie(const std::string& arguments, std::string& why) {
    if (const auto spec = parse_usdt_arguments(arguments, &why)) {
        bool direct = true;
        std::uint64_t cookie = COTRACE_COOKIE_DIRECT;
        for (int i = 0; direct && i < spec->arg_cnt && i < COTRACE_COOKIE_MAX_ARGS; ++i) {
            const usdt_arg_spec& a = spec->args[i];
            std::uint64_t byte = 0;
            if (a.arg_type == 0) {  // constant
                direct = a.val_off <= COTRACE_COOKIE_VALUE;
                byte = COTRACE_COOKIE_CONST | a.val_off;
            } else {  // a full register, read as is
                direct = a.arg_type == 1 && a.val_off == 0 && a.arg_bitshift == 0 && a.reg_off >= 0 &&
                         a.reg_off % 8 == 0 && a.reg_off / 8 + 1 < COTRACE_COOKIE_CONST;
                byte = static_cast<std::uint64_t>(a.reg_off / 8 + 1);
            }
            cookie |= byte << COTRACE_COOKIE_ARG_SHIFT(i);
        }
        if (direct) return cookie;
    }
    return spec_id(arguments, why);
}

std::size_t bpf_collector::attach(const std::vector<probe_object>& objects) {
    std::size_t added = 0;
    if (stopped_) return added;  // a library loaded while the session ends: too late to trace
    for (const probe_object& obj : objects) {
        // The same file may come under two names (the path `run` resolved,
        // /proc/PID/root/... from a rescan): know it by device and inode.
        struct stat st;
        if (::stat(obj.open_path.c_str(), &st) != 0) continue;
        const std::pair<dev_t, ino_t> identity{st.st_dev, st.st_ino};
        if (std::find(attached_.begin(), attached_.end(), identity) != attached_.end()) continue;
        auto elf = elf_object::open(obj.open_path);
        if (!elf) continue;
        const writable_data writable = writable_data::of_file(obj.open_path);
        // One uprobe_multi link for the whole object: every site of every
        // probe, each with its semaphore and a cookie naming its probe and
        // its arguments.
        uprobe_multi_sites sites;
        sites.path = obj.open_path;
        std::vector<std::string> unknown;
        for (const usdt_note& n : obj.probes) {
            const auto kind = probe_kind(n.name);
            if (!kind) {
                if (std::find(unknown.begin(), unknown.end(), n.name) == unknown.end()) {
                    spdlog::warn("{}: probe cotrace:{} is not in protocol version {}; ignored", obj.path, n.name,
                                 COTRACE_PROTOCOL_VERSION);
                    unknown.push_back(n.name);
                }
                continue;
            }
            const auto offset = elf->offset_of_vaddr(n.address);
            const auto semaphore = n.semaphore ? elf->offset_of_vaddr(n.semaphore) : std::optional<std::uint64_t>(0);
            if (n.semaphore && !writable.contains(n.semaphore, sizeof(std::uint16_t))) {
                spdlog::warn("{}: the semaphore of a cotrace:{} site at 0x{:x} is not in writable data "
                             "(0x{:x}); the kernel cannot raise it, so the site is not attached",
                             obj.path, n.name, n.address, n.semaphore);
                continue;
            }
            std::string why;
            const auto cookie = site_cookie(n.arguments, why);
            if (!why.empty()) {  // the site's own fault: say which operand, and the fix
                spdlog::error("{}: the cotrace:{} site at 0x{:x} is not traced: its {}", obj.path, n.name,
                              n.address, why);
                continue;
            }
            if (!offset || !semaphore || !cookie) {
                spdlog::warn("{}: a cotrace:{} site at 0x{:x} cannot be attached (arguments \"{}\"); skipped",
                             obj.path, n.name, n.address, n.arguments);
                continue;
            }
            sites.offsets.push_back(*offset);
            sites.ref_ctr_offsets.push_back(*semaphore);
            sites.cookies.push_back(*cookie | std::uint64_t{*kind} << COTRACE_COOKIE_KIND_SHIFT);
        }
        if (!sites.offsets.empty()) {
            const auto attaching = std::chrono::steady_clock::now();
            const int fd = attach_uprobe_multi(bpf_program__fd(skel_->progs.handle_probe), sites, options_.pid);
            if (fd < 0) {
                const int err = -fd;
                const std::string what = "cannot attach the cotrace probes in " + obj.path;
                if ((err == EPERM || err == EACCES) && !has_bpf_capabilities()) privilege_error(what);
                if (!process_alive(options_.pid))
                    throw error("process " + std::to_string(options_.pid) + " exited while cotrace was attaching");
                if (err == EINVAL || err == EOPNOTSUPP)
                    throw error(what + ": " + std::strerror(err) +
                                " (cotrace needs uprobe_multi links: Linux 6.6 or later)");
                throw error(what + ": " + std::strerror(err));
            }
            spdlog::debug("attached {} cotrace probe sites in {} with one link in {:.1f} ms", sites.offsets.size(),
                          obj.path, ms_since(attaching));
            links_.push_back(fd);
            link_of_[identity] = fd;
            ++added;
        }
        attached_.push_back(identity);
    }
    return added;
}

std::size_t bpf_collector::poll(int timeout_ms, event_handler& h, std::size_t budget) {
    event_queue& q = reader_->queue();
    if (!q.wait(std::chrono::milliseconds(timeout_ms))) return 0;
    return q.pop(budget, [&](const cotrace_event& e) { h.on_event(e); });
}

void bpf_collector::stop() {
    if (stopped_) return;
    stopped_ = true;
    stopped_at_ = std::chrono::steady_clock::now();
    // No probe writes from here on, so the reader's last pass finds an end,
    // and the links can go while it runs: nothing they bring is wanted now.
    __atomic_store_n(&skel_->bss->collecting, 0u, __ATOMIC_RELEASE);
    begin_closing_links();
    reader_->stop();
}

std::size_t bpf_collector::drain(event_handler& h, std::chrono::steady_clock::time_point deadline) {
    event_queue& q = reader_->queue();
    std::size_t delivered = 0;
    // A quiet session's tail is always delivered, however slowly the
    // machine runs: the deadline is for a flood's backlog.
    const bool flood = q.size() > quiet_tail_events;
    for (;;) {
        const std::size_t n = q.pop(256, [&](const cotrace_event& e) { h.on_event(e); });
        delivered += n;
        if (n == 0 || (flood && std::chrono::steady_clock::now() >= deadline)) break;
    }
    const std::size_t left = q.pop(static_cast<std::size_t>(-1), [](const cotrace_event&) {});
    if (left) spdlog::debug("{} events still queued at the end: counted as dropped", left);
    abandoned_ += left;
    return delivered;
}

std::uint64_t bpf_collector::dropped() const {
    std::uint64_t total = reader_->overflowed() + reader_->left_behind() + abandoned_;
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return total;
    std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(ncpu));
    const std::uint32_t key = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.drops), &key, per_cpu.data()) != 0) return total;
    for (auto v : per_cpu) total += v;
    return total;
}

}  // namespace cotrace
