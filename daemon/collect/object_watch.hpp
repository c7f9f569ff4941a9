#pragma once
// Keeps the probes and the names in step with the objects the target maps.
// Sits in front of the rest of the daemon on the event path: an
// COTRACE_EV_objects_changed event (the dynamic linker's debug hook ran,
// collect/loader_hook.hpp) makes it read the mappings at once, open the new
// objects (so their names stay readable after the process is gone) and
// attach their probes. Every other event passes through unchanged.
//
// When the target is held at the hook (`run`), it is continued once that is
// done: no probe of a new object can fire unseen. When it is not (attach),
// probes of a new object may fire between the hook and the attachment; an
// COTRACE_EV_objects_gap event then marks that window, so the traces it may
// touch are marked incomplete instead of assembled from a subset.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "collect/bpf_collector.hpp"
#include "target/target_symbols.hpp"

namespace cotrace {

class object_watch : public event_handler {
public:
    // held: the hook stops the target (collector_options::hold_on_load).
    object_watch(std::uint32_t pid, bpf_collector& collector, target_symbols& symbols, event_handler& next,
                 bool held);

    // Attaches the dynamic linker's hook for `executable` (run: the path
    // before exec; empty: the target's own, through /proc/PID/exe). False
    // when there is none (a static executable): then changes are found by
    // rescan() only.
    bool attach_hook(const std::string& executable = {});
    bool hooked() const { return hooked_; }

    // Files already read for probes (by the first discovery): not read again.
    std::set<std::pair<dev_t, ino_t>>& examined() { return examined_; }

    // Attaches what is mapped now and not attached yet; returns the links added.
    std::size_t rescan();

    // Logs (-v) how long after start_ns (CLOCK_MONOTONIC) the first probe
    // event came: the time from `cotrace attach` to the first event collected.
    void time_first_event_from(std::uint64_t start_ns) { started_ns_ = start_ns; }

    void on_event(const cotrace_event& e) override;
    std::size_t changes() const { return changes_; }

private:
    void objects_changed(const cotrace_event& e);
    void detach_unmapped();

    std::uint32_t pid_;
    bpf_collector& collector_;
    target_symbols& symbols_;
    event_handler& next_;
    bool held_;
    bool hooked_ = false;
    std::size_t changes_ = 0;
    std::uint64_t started_ns_ = 0;
    std::uint64_t attached_ns_ = 0;  // when the last new object's probes were attached  // 0: not timed, or timed already
    std::set<std::pair<dev_t, ino_t>> examined_;
};

}  // namespace cotrace
