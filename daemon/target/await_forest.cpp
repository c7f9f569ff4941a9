#include "target/await_forest.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace cotrace {

namespace {

constexpr std::uint32_t no_parent = ~std::uint32_t{0};

struct forest {
    const scan_result& scan;
    const coroutine_catalog& catalog;
    const site_resolver& resolve;
    std::vector<std::uint32_t> parent;
    std::vector<std::vector<std::uint32_t>> children;
    std::unordered_map<std::uint64_t, std::shared_ptr<const stack_site>> sites;  // resolved once per address

    earlier_scan earlier;

    // Waited at least the interval: at the same suspend point in both scans.
    bool same_point_before(const scanned_frame& f) const {
        if (!earlier.scan || !f.task || f.done || f.kind >= catalog.kinds.size() || !catalog.kinds[f.kind].suspends)
            return false;
        const std::vector<scanned_frame>& before = earlier.scan->frames;
        auto it = std::lower_bound(before.begin(), before.end(), f.address,
                                   [](const scanned_frame& b, std::uint64_t a) { return b.address < a; });
        if (it == before.end() || it->address != f.address) return false;
        return it->task && !it->done && it->kind == f.kind && it->resume_index == f.resume_index &&
               it->where == f.where && it->where != scanned_frame::wait::unknown && it->site == f.site;
    }

    stack_span span_of(std::uint32_t i) {
        const scanned_frame& f = scan.frames[i];
        stack_span s;
        s.name = f.kind < catalog.names.size() ? catalog.names[f.kind] : "?";
        s.frame = f.address;
        if (!f.task)
            s.state = stack_state::layout_unknown;
        else if (f.done)
            s.state = stack_state::done;
        else if (f.where == scanned_frame::wait::not_started)
            s.state = stack_state::not_started;
        else if (f.where != scanned_frame::wait::at_site || f.site == 0)
            s.state = stack_state::suspended;  // at a site not known
        else {
            s.state = stack_state::suspended;
            auto it = sites.find(f.site);
            if (it == sites.end()) {
                auto resolved = resolve(f.site);
                it = sites.emplace(f.site, resolved ? std::make_shared<const stack_site>(std::move(*resolved)) : nullptr)
                         .first;
            }
            s.site = it->second;
        }
        if (same_point_before(f)) s.suspended_at_least_ns = earlier.interval_ns;
        return s;
    }

    // Depth-first, bounded: deeper children are counted, not built.
    void build(std::uint32_t i, stack_span& out, std::size_t depth) {
        out = span_of(i);
        if (depth + 1 >= max_await_depth) {
            out.cut_children = children[i].size();
            return;
        }
        out.children.resize(children[i].size());
        for (std::size_t c = 0; c < children[i].size(); ++c) build(children[i][c], out.children[c], depth + 1);
    }
};

}  // namespace

const char* stack_state_name(stack_state s) {
    switch (s) {
        case stack_state::suspended: return "suspended";
        case stack_state::not_started: return "not started";
        case stack_state::done: return "done";
        case stack_state::layout_unknown: return "layout unknown";
    }
    return "?";
}

stack_snapshot build_await_forest(const scan_result& scan, const coroutine_catalog& catalog,
                                  const site_resolver& resolve_site, earlier_scan earlier) {
    stack_snapshot out;
    if (earlier.scan) out.interval_ns = earlier.interval_ns;
    out.frames = scan.frames.size();
    out.bytes_scanned = scan.bytes_scanned;
    out.bytes_unreadable = scan.bytes_unreadable;
    out.truncated = scan.truncated;
    out.coroutine_kinds = catalog.kinds.size();
    out.layout_records = catalog.layout_records;

    const std::size_t n = scan.frames.size();
    forest f{scan, catalog, resolve_site, std::vector<std::uint32_t>(n, no_parent), {}, {}, earlier};
    const auto index_of = [&](std::uint64_t address) -> std::uint32_t {
        if (address == 0) return no_parent;
        auto it = std::lower_bound(scan.frames.begin(), scan.frames.end(), address,
                                   [](const scanned_frame& fr, std::uint64_t a) { return fr.address < a; });
        if (it == scan.frames.end() || it->address != address) return no_parent;
        return static_cast<std::uint32_t>(it - scan.frames.begin());
    };
    for (std::uint32_t i = 0; i < n; ++i) {
        const scanned_frame& fr = scan.frames[i];
        if (!fr.task) continue;
        std::uint32_t p = index_of(fr.continuation);
        if (p == no_parent) p = index_of(fr.join_waiter);
        if (p != i) f.parent[i] = p;
    }
    // Cut loops: walk up from each frame, colouring the path; meeting the
    // path again means a loop, broken at the link that closed it.
    std::vector<std::uint8_t> colour(n, 0);  // 0 unseen, 1 on the current path, 2 finished
    std::vector<std::uint32_t> path;
    for (std::uint32_t i = 0; i < n; ++i) {
        path.clear();
        std::uint32_t at = i;
        while (at != no_parent && colour[at] == 0) {
            colour[at] = 1;
            path.push_back(at);
            const std::uint32_t up = f.parent[at];
            if (up != no_parent && colour[up] == 1) {
                f.parent[at] = no_parent;
                ++out.cycles_cut;
                break;
            }
            at = up;
        }
        for (std::uint32_t p : path) colour[p] = 2;
    }
    f.children.resize(n);
    for (std::uint32_t i = 0; i < n; ++i)
        if (f.parent[i] != no_parent) f.children[f.parent[i]].push_back(i);

    std::map<std::string, std::uint64_t> others;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (f.parent[i] != no_parent) continue;
        const scanned_frame& fr = scan.frames[i];
        if (!fr.task && f.children[i].empty()) {
            ++others[i < n && fr.kind < catalog.names.size() ? catalog.names[fr.kind] : "?"];
            continue;
        }
        stack_request r;
        f.build(i, r.root, 0);
        out.requests.push_back(std::move(r));
    }
    for (auto& [name, count] : others) out.others.push_back({name, count});
    return out;
}

}  // namespace cotrace
