#pragma once
// The live event source: owns the BPF skeleton, the USDT links and the ring
// buffer. Lifecycle as libbpf wants it, with one release path: open → set
// read-only knobs → load → attach → poll → (destructor) detach and destroy.
// Destroying it detaches every probe, so the target's semaphores drop back
// to zero; if the daemon is killed the kernel does the same.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <utility>
#include <vector>

#include "cotrace_probes.h"
#include "collect/probe_discovery.hpp"
#include "collect/ring_reader.hpp"

struct cotrace_bpf;

namespace cotrace {

class event_handler {
public:
    virtual ~event_handler() = default;
    virtual void on_event(const cotrace_event& e) = 0;
};

struct collector_options {
    std::uint32_t pid = 0;
    std::size_t ring_bytes = 16u << 20;
    std::uint32_t sample = 1;  // keep one root trace in N
    // Events the user-space queue holds between the ring reader and the
    // assembler: 64 bytes each, so the default is 16 MiB, as much as the ring.
    std::size_t queue_events = 1u << 18;
    // false: probes stay quiet until start_collecting() (attach: once every
    // thread of the target is stopped, so its state at that moment is known).
    bool start_collecting = true;
    // The loader hook stops the target until continued (`run` only).
    bool hold_on_load = false;
};

// Why `bytes` cannot be a BPF ring buffer's size (a power of two, at least a
// page, at most what the kernel's 32-bit map size allows), or "" if it can.
std::string ring_size_problem(std::size_t bytes);

class bpf_collector {
public:
    // Loads the programs and attaches every cotrace probe of `objects` in
    // process `pid`. Throws cotrace::error naming the fix on failure.
    bpf_collector(const collector_options& options, const std::vector<probe_object>& objects);
    ~bpf_collector();
    bpf_collector(const bpf_collector&) = delete;
    bpf_collector& operator=(const bpf_collector&) = delete;

    // Attaches the probes of objects not attached yet (e.g. a library loaded
    // later). Returns how many links were added.
    std::size_t attach(const std::vector<probe_object>& objects);
    // Detaches the probes of attached files no longer in `mapped` (device,
    // inode) (dlclose); returns how many files. Mapped again later, they are
    // attached again.
    std::size_t detach_unmapped(const std::vector<std::pair<dev_t, ino_t>>& mapped);
    // Attaches the dynamic linker's debug hook (collect/loader_hook.hpp):
    // from now on each change to the target's objects is an
    // COTRACE_EV_objects_changed event. Throws cotrace::error on failure.
    void attach_loader_hook(const std::string& path, std::uint64_t offset);
    // From here every probe reports.
    void start_collecting();

    // Waits up to timeout_ms for events, then hands at most `budget` of them
    // to h: a caller that checks its stop conditions between calls sees them
    // however fast the target writes. Returns the number delivered.
    std::size_t poll(int timeout_ms, event_handler& h, std::size_t budget = 4096);
    // Ends collection: the probes stop writing, their links start closing
    // on threads of their own (the kernel retires uprobes after an RCU grace
    // period, tens of milliseconds under load, which so passes while the
    // rest is drained and written), and the reader takes what the ring holds
    // in one bounded pass and counts the rest as dropped. From here on
    // attach() and detach_unmapped() do nothing.
    void stop();
    // After stop(): delivers what is queued: all of it when it is no more
    // than quiet_tail_events, else until `deadline`; what is still queued
    // then is counted as dropped. Returns the number delivered.
    std::size_t drain(event_handler& h, std::chrono::steady_clock::time_point deadline);
    // Events lost since load: the ring was full (counted in BPF), the queue
    // was full, or they were not taken before the session ended.
    std::uint64_t dropped() const;
    std::size_t links() const { return links_.size(); }

private:
    void release() noexcept;  // the one release path: reader, links, skeleton
    void begin_closing_links() noexcept;  // each link closed on a thread, joined in release()
    // nullopt when the site cannot be attached; `why` says so when its arguments are the cause.
    std::optional<std::uint32_t> spec_id(const std::string& arguments, std::string& why);
    std::optional<std::uint64_t> site_cookie(const std::string& arguments, std::string& why);

    collector_options options_;
    cotrace_bpf* skel_ = nullptr;
    std::unique_ptr<ring_reader> reader_;
    std::vector<int> links_;  // uprobe_multi link fds: one per object, and the loader hook's
    std::map<std::string, std::uint32_t> spec_ids_;  // USDT argument string -> id in __bpf_usdt_specs
    std::vector<std::pair<dev_t, ino_t>> attached_;  // files whose probes are attached
    std::uint64_t abandoned_ = 0;  // queued at the end of drain(), never delivered
    std::map<std::pair<dev_t, ino_t>, int> link_of_;  // each one's link, by file
    bool stopped_ = false;
    struct closer {
        std::thread thread;
        double closed_ms = 0;  // when its close returned, after the stop
    };
    std::deque<closer> closers_;  // closing the links since stop(); a deque keeps each in place
    std::chrono::steady_clock::time_point stopped_at_;
};

}  // namespace cotrace
