#include "pipeline_shape.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "paths.hpp"

namespace e2e {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class source_file {
public:
    explicit source_file(const std::string& path) : path_(path) {
        std::ifstream f(path);
        if (!f) throw std::runtime_error("cannot read " + path);
        std::string line;
        while (std::getline(f, line)) lines_.push_back(line);
    }
    // 1-based line of the nth line containing text.
    int line_of(const std::string& text, int nth = 1) const {
        for (std::size_t i = 0; i < lines_.size(); ++i)
            if (lines_[i].find(text) != std::string::npos && --nth == 0) return static_cast<int>(i) + 1;
        throw std::runtime_error(path_ + " has no line containing \"" + text + "\"");
    }
    // Lines with a co_await in the function whose definition line contains
    // `header`, up to its closing brace in column 0.
    std::vector<int> awaits_in(const std::string& header) const {
        std::vector<int> out;
        for (std::size_t i = static_cast<std::size_t>(line_of(header)); i < lines_.size(); ++i) {
            if (lines_[i] == "}") return out;
            const std::string code = lines_[i].substr(0, lines_[i].find("//"));  // not in comments
            if (code.find("co_await") != std::string::npos) out.push_back(static_cast<int>(i) + 1);
        }
        throw std::runtime_error(path_ + ": no end of the function \"" + header + "\"");
    }

private:
    std::string path_;
    std::vector<std::string> lines_;
};

pipeline_source scan() {
    const source_file p(paths::pipeline_source), w(paths::when_all_source);
    pipeline_source s;
    s.pipeline_file = "/examples/pipeline.cpp";
    s.when_all_file = "/include/cotrace/when_all.hpp";
    s.sync_wait = p.line_of("cotrace::sync_wait(handle_request(");
    // handle_request's co_awaits, in source order: parse, when_all, merge,
    // render, render_error, the legacy call. The line of a co_await is the
    // line its `co_await` keyword is on.
    const std::vector<int> root = p.awaits_in("> handle_request(services& s, int id) {");
    if (root.size() != 6)
        throw std::runtime_error(std::string(paths::pipeline_source) + ": expected 6 co_awaits in handle_request, found " +
                                 std::to_string(root.size()) + "; update tests/e2e/support/pipeline_shape.cpp");
    s.await_parse = root[0];
    s.await_when_all = root[1];
    s.await_merge = root[2];
    s.await_render = root[3];
    s.await_render_error = root[4];
    s.await_legacy = root[5];
    s.lookup_user = p.awaits_in("> lookup_user(services& s, int id) {");
    s.lookup_stock = p.awaits_in("> lookup_stock(services& s, int id) {");
    s.lookup_price = p.awaits_in("> lookup_price(services& s, int id) {");
    s.render = p.awaits_in("> render(services& s, quote q) {");
    s.render_error = p.awaits_in("> render_error(services& s, int id) {");
    s.parse = p.awaits_in("> parse(int id) {");
    s.merge = p.awaits_in("> merge(int id, std::string user, int stock, double price) {");
    s.audit = p.awaits_in("> audit(int id) {");
    // The first when_all_awaiter co_await is the variadic when_all(task<Ts>...).
    s.when_all_inner = w.line_of("co_await detail::when_all_awaiter");
    s.scope_validate = p.line_of("COTRACE_SCOPE(\"validate\")");
    s.scope_record_metrics = p.line_of("COTRACE_SCOPE(\"record_metrics\")");
    s.scope_write_audit_record = p.line_of("COTRACE_SCOPE(\"write_audit_record\")");
    return s;
}

const char* const root_name = "handle_request(services&, int)";
const char* const parse_name = "parse(int)";
const char* const when_all_name = "when_all";
const char* const user_name = "lookup_user(services&, int)";
const char* const stock_name = "lookup_stock(services&, int)";
const char* const price_name = "lookup_price(services&, int)";
const char* const merge_name = "merge(int, std::string, int, double)";
const char* const render_name = "render(services&, quote)";
const char* const render_error_name = "render_error(services&, int)";
const char* const audit_name = "audit(int)";

// Which span each named span of the pipeline hangs under.
const std::map<std::string, std::string>& expected_parents() {
    static const std::map<std::string, std::string> m{
        {parse_name, root_name},         {"validate", parse_name},       {when_all_name, root_name},
        {user_name, when_all_name},      {stock_name, when_all_name},    {price_name, when_all_name},
        {merge_name, root_name},         {render_name, root_name},       {render_error_name, root_name},
        {"record_metrics", root_name},   {audit_name, root_name},        {"write_audit_record", audit_name},
    };
    return m;
}

struct expected_suspend {
    std::string file_suffix;
    int line;
};
struct expected_event {
    std::string name;
    long long value;
};
struct expected_span {
    std::string name;
    int parent = -1;  // index into the expected list
    std::string status = "ok";
    std::vector<expected_suspend> suspends;
    std::vector<expected_event> events;
    std::optional<std::pair<std::string, int>> site;  // file suffix, line
    int tids = 0;  // >0: exactly this many threads; 0: not checked here
};

std::vector<expected_span> expected_for(int id) {
    const pipeline_source& src = pipeline_source::get();
    const bool fails = request_fails(id);
    auto at = [&](const std::vector<int>& lines) {
        std::vector<expected_suspend> v;
        for (int l : lines) v.push_back({src.pipeline_file, l});
        return v;
    };
    auto in_pipeline = [&](int line) { return std::make_optional(std::make_pair(src.pipeline_file, line)); };
    std::vector<expected_span> e;
    // 0: the root
    std::vector<int> root_awaits = {src.await_parse, src.await_when_all};
    if (fails) {
        root_awaits.push_back(src.await_render_error);
    } else {
        root_awaits.push_back(src.await_merge);
        root_awaits.push_back(src.await_render);
    }
    root_awaits.push_back(src.await_legacy);
    e.push_back({root_name, -1, "ok", at(root_awaits), {}, in_pipeline(src.sync_wait), 0});
    e.push_back({parse_name, 0, "ok", at(src.parse), {}, in_pipeline(src.await_parse), 1});                 // 1
    e.push_back({"validate", 1, "ok", {}, {}, in_pipeline(src.scope_validate), 1});                          // 2
    e.push_back({when_all_name, 0, fails ? "exception" : "ok", {{src.when_all_file, src.when_all_inner}}, {},
                 in_pipeline(src.await_when_all), 0});                                                       // 3
    e.push_back({user_name, 3, "ok", at(src.lookup_user), {}, std::nullopt, 0});                             // 4
    e.push_back({stock_name, 3, fails ? "exception" : "ok", at(src.lookup_stock), {}, std::nullopt, 0});     // 5
    e.push_back({price_name, 3, "ok", at(src.lookup_price), {}, std::nullopt, 0});                           // 6
    if (fails) {
        e.push_back({render_error_name, 0, "ok", at(src.render_error), {}, in_pipeline(src.await_render_error), 0});
    } else {
        e.push_back({merge_name, 0, "ok", at(src.merge), {}, in_pipeline(src.await_merge), 0});
        e.push_back({render_name, 0, "ok", at(src.render), {{"bytes", expected_page_bytes(id)}},
                     in_pipeline(src.await_render), 0});
    }
    e.push_back({"record_metrics", 0, "ok", {}, {{"request", id}}, in_pipeline(src.scope_record_metrics), 1});
    const int audit = static_cast<int>(e.size());
    e.push_back({audit_name, 0, "ok", at(src.audit), {}, std::nullopt, 1});
    e.push_back({"write_audit_record", audit, "ok", {}, {{"request", id}}, in_pipeline(src.scope_write_audit_record),
                 1});
    return e;
}

std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

// span_id -> index in the trace's spans.
std::map<std::string, std::size_t> index_spans(const json& trace, std::vector<std::string>& problems) {
    std::map<std::string, std::size_t> idx;
    const json& spans = trace.at("spans");
    for (std::size_t i = 0; i < spans.size(); ++i)
        if (!idx.emplace(str(spans[i].at("span_id")), i).second)
            problems.push_back("span_id " + str(spans[i].at("span_id")) + " appears twice");
    return idx;
}

// Parents must be null or an earlier span of this trace.
void check_parent_references(const json& trace, const std::map<std::string, std::size_t>& idx,
                             std::vector<std::string>& problems) {
    const json& spans = trace.at("spans");
    for (std::size_t i = 0; i < spans.size(); ++i) {
        const json& p = spans[i].at("parent_id");
        if (p.is_null()) continue;
        auto it = idx.find(str(p));
        if (it == idx.end())
            problems.push_back("span " + std::to_string(i) + " (" + str(spans[i].at("name")) + ") has parent_id " +
                               str(p) + ", which is no span of this trace");
        else if (it->second >= i)
            problems.push_back("span " + std::to_string(i) + " (" + str(spans[i].at("name")) +
                               ") has a parent that begins after it");
    }
}

std::string list_lines(const json& suspends) {
    std::string s = "[";
    for (const json& su : suspends) {
        const std::string file = str(su.at("file"));
        s += (s.size() > 1 ? ", " : "") + file.substr(file.rfind('/') + 1) + ":" + str(su.at("line"));
    }
    return s + "]";
}

std::string list_expected(const std::vector<expected_suspend>& v) {
    std::string s = "[";
    for (const auto& e : v) s += (s.size() > 1 ? ", " : "") + e.file_suffix.substr(e.file_suffix.rfind('/') + 1) + ":" + std::to_string(e.line);
    return s + "]";
}

}  // namespace

const pipeline_source& pipeline_source::get() {
    static const pipeline_source s = scan();
    return s;
}

long long expected_page_bytes(int id) {
    const std::string page = "user" + std::to_string(id) + ": " + std::to_string(id * 10) + " at " +
                             std::to_string(9.5 + id);
    return static_cast<long long>(page.size());
}

std::optional<int> request_id_of(const json& trace) {
    for (const json& s : trace.at("spans"))
        for (const json& ev : s.at("events"))
            if (ev.at("name") == "request") return ev.at("value").get<int>();
    return std::nullopt;
}

std::vector<std::string> check_complete_trace(const json& trace, pid_t pid) {
    std::vector<std::string> problems;
    auto bad = [&](const std::string& what) { problems.push_back(what); };
    if (!trace.at("complete").get<bool>()) bad("complete is false");
    if (!trace.at("spans").empty() && trace.at("spans")[0].at("name") != root_name)
        bad("marked complete, but its root is " + str(trace.at("spans")[0].at("name")) + ", not " + root_name +
            ": a fragment of a request whose beginning cotrace did not see");
    if (pid != 0 && trace.at("pid").get<long long>() != pid)
        bad("pid " + str(trace.at("pid")) + ", expected " + std::to_string(pid));
    const auto id = request_id_of(trace);
    if (!id) {
        bad("no \"request\" event: cannot tell which request this is");
        return problems;
    }
    const std::vector<expected_span> want = expected_for(*id);
    const json& spans = trace.at("spans");
    const auto idx = index_spans(trace, problems);
    check_parent_references(trace, idx, problems);
    if (spans.size() != want.size())
        bad(std::to_string(spans.size()) + " spans, expected " + std::to_string(want.size()) + " for request " +
            std::to_string(*id) + (request_fails(*id) ? " (a failing one)" : ""));
    const std::size_t n = std::min<std::size_t>(spans.size(), want.size());
    for (std::size_t i = 0; i < n; ++i) {
        const json& s = spans[i];
        const expected_span& w = want[i];
        const std::string where = "span " + std::to_string(i) + " (expected " + w.name + "): ";
        if (s.at("name") != w.name) bad(where + "name is \"" + str(s.at("name")) + "\"");
        // parent
        const json& p = s.at("parent_id");
        if (w.parent < 0) {
            if (!p.is_null()) bad(where + "parent_id is " + str(p) + ", expected null (root)");
        } else if (p.is_null() || str(p) != str(spans[static_cast<std::size_t>(w.parent)].at("span_id"))) {
            bad(where + "parent_id is " + str(p) + ", expected the span_id of " + want[w.parent].name + " (" +
                str(spans[static_cast<std::size_t>(w.parent)].at("span_id")) + ")");
        }
        if (s.at("partial") != false) bad(where + "partial is " + str(s.at("partial")));
        if (s.at("status") != w.status) bad(where + "status is " + str(s.at("status")) + ", expected " + w.status);
        if (s.at("end_ns").is_null()) {
            bad(where + "end_ns is null");
        } else if (s.at("end_ns").get<std::uint64_t>() < s.at("start_ns").get<std::uint64_t>()) {
            bad(where + "ends before it starts");
        }
        // suspends: file and line of each co_await, in order
        const json& su = s.at("suspends");
        bool same = su.size() == w.suspends.size();
        for (std::size_t k = 0; same && k < su.size(); ++k)
            same = ends_with(str(su[k].at("file")), w.suspends[k].file_suffix) &&
                   su[k].at("line").get<int>() == w.suspends[k].line;
        if (!same) bad(where + "suspends at " + list_lines(su) + ", expected " + list_expected(w.suspends));
        for (const json& x : su) {
            if (x.at("end_ns").is_null()) {
                bad(where + "its suspend at line " + str(x.at("line")) + " never ended (no resume seen)");
            } else if (x.at("start_ns").get<std::uint64_t>() > x.at("end_ns").get<std::uint64_t>() ||
                       x.at("start_ns").get<std::uint64_t>() < s.at("start_ns").get<std::uint64_t>() ||
                       (!s.at("end_ns").is_null() &&
                        x.at("end_ns").get<std::uint64_t>() > s.at("end_ns").get<std::uint64_t>())) {
                bad(where + "a suspend is not within its span's time");
            }
        }
        // events
        const json& ev = s.at("events");
        bool same_events = ev.size() == w.events.size();
        for (std::size_t k = 0; same_events && k < ev.size(); ++k)
            same_events = ev[k].at("name") == w.events[k].name && ev[k].at("value").get<long long>() == w.events[k].value;
        if (!same_events) {
            std::string want_ev;
            for (const auto& e : w.events) want_ev += e.name + "=" + std::to_string(e.value) + " ";
            bad(where + "events " + ev.dump() + ", expected " + (want_ev.empty() ? "none" : want_ev));
        }
        // site: where it was started
        if (w.site) {
            const json& site = s.at("site");
            if (!ends_with(str(site.at("file")), w.site->first) || site.at("line").get<int>() != w.site->second)
                bad(where + "site " + str(site.at("file")) + ":" + str(site.at("line")) + ", expected …" +
                    w.site->first + ":" + std::to_string(w.site->second));
        }
        // threads
        if (w.tids > 0 && s.at("tids").size() != static_cast<std::size_t>(w.tids))
            bad(where + "ran on threads " + s.at("tids").dump() + ", expected " + std::to_string(w.tids));
        if (s.at("tids").empty()) bad(where + "ran on no thread");
        // times: children begin after their parent
        if (w.parent >= 0 && static_cast<std::size_t>(w.parent) < spans.size() &&
            s.at("start_ns").get<std::uint64_t>() <
                spans[static_cast<std::size_t>(w.parent)].at("start_ns").get<std::uint64_t>())
            bad(where + "begins before its parent");
        if (s.at("start_ns").get<std::uint64_t>() < trace.at("start_ns").get<std::uint64_t>() ||
            (!s.at("end_ns").is_null() &&
             s.at("end_ns").get<std::uint64_t>() > trace.at("end_ns").get<std::uint64_t>()))
            bad(where + "is not within the trace's time");
    }
    if (!problems.empty() && spans.size() != want.size()) return problems;

    // Threads: the lookups begin inline on the client thread (the root's
    // first), hop to the pool, and finish there.
    if (spans.size() == want.size()) {
        const json& root_tids = spans[0].at("tids");
        if (!root_tids.empty()) {
            const auto client = root_tids[0];
            for (std::size_t i : {std::size_t{1}, std::size_t{2}})
                if (!spans[i].at("tids").empty() && spans[i].at("tids")[0] != client)
                    bad(str(spans[i].at("name")) + " did not run on the client thread " + client.dump());
            for (std::size_t i : {std::size_t{4}, std::size_t{5}, std::size_t{6}}) {
                const json& t = spans[i].at("tids");
                if (t.size() < 2) bad(str(spans[i].at("name")) + " ran on " + t.dump() + ": no hop to the pool");
                if (!t.empty() && t[0] != client)
                    bad(str(spans[i].at("name")) + " did not begin on the client thread " + client.dump());
                if (!t.empty() && t.back() == client)
                    bad(str(spans[i].at("name")) + " finished on the client thread " + client.dump());
            }
            const std::size_t metrics = want.size() - 3;
            if (spans[metrics].at("tids") == json::array({client}))
                bad("record_metrics ran on the client thread, not the legacy one");
            const std::size_t audit = want.size() - 2;
            if (spans[audit + 1].at("tids") != spans[audit].at("tids"))
                bad("write_audit_record did not run on audit's thread");
        }
    }

    // Links: one join and one wake from the same lookup to when_all, one spawn
    // and one wake from the root to audit, and a wake of itself by every span
    // that hops to the pool (each lookup, and render or render_error).
    const json& links = trace.at("links");
    int joins = 0, spawns = 0, join_wakes = 0, audit_wakes = 0;
    std::size_t joiner = 0, join_waker = 0;
    std::map<std::size_t, int> hops;
    for (const json& l : links) {
        const auto from = idx.find(str(l.at("from"))), to = idx.find(str(l.at("to")));
        const std::string kind = str(l.at("kind"));
        if (from == idx.end() || to == idx.end()) {
            bad("link " + l.dump() + " names a span that is not in this trace");
            continue;
        }
        const std::string to_name = str(spans[to->second].at("name"));
        if (kind == "join" && to->second == 3 && from->second >= 4 && from->second <= 6) {
            ++joins;
            joiner = from->second;
        } else if (kind == "wake" && to->second == 3 && from->second >= 4 && from->second <= 6) {
            ++join_wakes;
            join_waker = from->second;
        } else if (kind == "spawn" && from->second == 0 && to->second == want.size() - 2) {
            ++spawns;
        } else if (kind == "wake" && from->second == 0 && to->second == want.size() - 2) {
            ++audit_wakes;
        } else if (kind == "wake" && from->second == to->second &&
                   ((to->second >= 4 && to->second <= 6) || to_name.rfind("render", 0) == 0)) {
            ++hops[to->second];
        } else {
            bad("unexpected link " + l.dump() + " (" + str(spans[from->second].at("name")) + " -> " +
                str(spans[to->second].at("name")) + ")");
        }
    }
    if (joins != 1) bad(std::to_string(joins) + " join links from a lookup to when_all, expected 1");
    if (spawns != 1) bad(std::to_string(spawns) + " spawn links from the root to audit, expected 1");
    if (join_wakes != 1 || join_waker != joiner)
        bad(std::to_string(join_wakes) + " wake links to when_all, expected 1, from the joining lookup");
    if (audit_wakes != 1) bad(std::to_string(audit_wakes) + " wake links from the root to audit, expected 1");
    std::size_t renders = 0;
    for (std::size_t i = 0; i < spans.size(); ++i)
        if (str(spans[i].at("name")).rfind("render", 0) == 0) {
            ++renders;
            if (hops[i] != 1) bad(str(spans[i].at("name")) + " woke itself for its hop " + std::to_string(hops[i]) + " times, expected 1");
        }
    for (std::size_t i : {std::size_t{4}, std::size_t{5}, std::size_t{6}})
        if (hops[i] != 1)
            bad(str(spans[i].at("name")) + " woke itself for its hop " + std::to_string(hops[i]) + " times, expected 1");
    if (renders != 1) bad(std::to_string(renders) + " render spans, expected 1");
    if (!problems.empty())
        problems.insert(problems.begin(), "request " + std::to_string(*id) + ":");
    return problems;
}

std::vector<std::string> check_incomplete_trace(const json& trace, pid_t pid) {
    std::vector<std::string> problems;
    auto bad = [&](const std::string& what) { problems.push_back(what); };
    if (pid != 0 && trace.at("pid").get<long long>() != pid)
        bad("pid " + str(trace.at("pid")) + ", expected " + std::to_string(pid));
    const json& spans = trace.at("spans");
    if (spans.empty()) return {"a trace with no span"};
    const auto idx = index_spans(trace, problems);
    check_parent_references(trace, idx, problems);
    bool partial = false, running = false;
    for (const json& s : spans) {
        partial = partial || s.at("partial").get<bool>();
        running = running || s.at("status") == "running";
        if (s.at("status") == "running" && !s.at("end_ns").is_null()) bad(str(s.at("name")) + " running with an end_ns");
    }
    if (!partial && !running) bad("incomplete, but no span is partial or still running");
    // Known names must hang under the span the pipeline puts them under.
    const auto& parents = expected_parents();
    std::set<std::string> known{root_name};
    for (const auto& [child, parent] : parents) known.insert(child);
    for (std::size_t i = 0; i < spans.size(); ++i) {
        const json& s = spans[i];
        const std::string name = str(s.at("name"));
        if (!s.at("partial").get<bool>() && !known.count(name))
            bad("span " + std::to_string(i) + " has an unknown name \"" + name + "\"");
        const json& p = s.at("parent_id");
        if (p.is_null()) {
            if (name != root_name && !s.at("partial").get<bool>() && i != 0)
                bad("span " + std::to_string(i) + " (" + name + ") has no parent but is not the trace's root");
            continue;
        }
        auto it = idx.find(str(p));
        if (it == idx.end()) continue;  // reported above
        const std::string parent_name = str(spans[it->second].at("name"));
        auto want = parents.find(name);
        if (name == root_name) {
            bad("span " + std::to_string(i) + " (" + name + ") has a parent (" + parent_name + ")");
        } else if (want != parents.end() && known.count(parent_name) && want->second != parent_name) {
            bad("span " + std::to_string(i) + " (" + name + ") is under " + parent_name + ", expected under " +
                want->second);
        }
    }
    // One request per trace.
    std::set<long long> ids;
    for (const json& s : spans)
        for (const json& ev : s.at("events"))
            if (ev.at("name") == "request") ids.insert(ev.at("value").get<long long>());
    if (ids.size() > 1) bad("events of several requests in one trace: " + json(ids).dump());
    if (ids.size() == 1)
        for (const json& s : spans)
            for (const json& ev : s.at("events"))
                if (ev.at("name") == "bytes" && ev.at("value").get<long long>() != expected_page_bytes(static_cast<int>(*ids.begin())))
                    bad("render's bytes " + str(ev.at("value")) + " is not request " + std::to_string(*ids.begin()) + "'s");
    return problems;
}

std::vector<std::string> check_trace(const json& trace, pid_t pid) {
    return trace.at("complete").get<bool>() ? check_complete_trace(trace, pid) : check_incomplete_trace(trace, pid);
}

std::string render_trace(const json& trace) {
    std::ostringstream o;
    o << "trace " << str(trace.value("trace_id", json("?"))) << " complete=" << trace.value("complete", json()).dump()
      << "\n";
    std::map<std::string, int> depth;
    std::size_t shown = 0;
    constexpr std::size_t max_spans = 40;
    for (const json& s : trace.at("spans")) {
        if (shown++ == max_spans) {
            o << "  ... " << trace.at("spans").size() - max_spans << " more spans\n";
            break;
        }
        int d = 0;
        if (!s.at("parent_id").is_null()) {
            auto it = depth.find(str(s.at("parent_id")));
            d = it == depth.end() ? 1 : it->second + 1;
        }
        depth[str(s.at("span_id"))] = d;
        o << "  " << std::string(static_cast<std::size_t>(d) * 2, ' ') << str(s.at("name")) << " [" << str(s.at("span_id"))
          << (s.at("parent_id").is_null() ? "" : " < " + str(s.at("parent_id"))) << "] " << str(s.at("status"))
          << (s.at("partial").get<bool>() ? " partial" : "") << " site " << str(s.at("site").at("line"))
          << " tids " << s.at("tids").dump() << " suspends " << list_lines(s.at("suspends"));
        for (const json& ev : s.at("events")) o << " " << str(ev.at("name")) << "=" << str(ev.at("value"));
        o << "\n";
    }
    std::size_t links = 0;
    for (const json& l : trace.at("links"))
        if (links++ < 20) o << "  link " << l.dump() << "\n";
    if (links > 20) o << "  ... " << links - 20 << " more links\n";
    return o.str();
}

std::vector<std::string> check_traces(const std::vector<json>& traces, pid_t pid, std::size_t limit) {
    std::vector<std::string> out;
    std::map<std::string, std::size_t> tally;  // problem line -> traces with it
    std::size_t wrong = 0;
    for (const json& t : traces) {
        const auto problems = check_trace(t, pid);
        if (problems.empty()) continue;
        ++wrong;
        std::set<std::string> distinct;
        for (const auto& p : problems)
            if (p.rfind("request ", 0) != 0) distinct.insert(p);
        for (const auto& p : distinct) ++tally[p];
        if (out.size() >= limit) continue;
        std::string msg;
        constexpr std::size_t max_lines = 16;
        for (std::size_t i = 0; i < problems.size() && i < max_lines; ++i) msg += "  " + problems[i] + "\n";
        if (problems.size() > max_lines)
            msg += "  ... and " + std::to_string(problems.size() - max_lines) + " more problems\n";
        out.push_back(msg + render_trace(t));
    }
    if (wrong > 0) {
        // The same mistake in every trace shows once, with its count.
        std::vector<std::pair<std::size_t, std::string>> common;
        for (const auto& [p, n] : tally) common.emplace_back(n, p);
        std::sort(common.begin(), common.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        std::string msg = std::to_string(wrong) + " of " + std::to_string(traces.size()) +
                          " traces are not what the pipeline builds; most frequent problems:\n";
        for (std::size_t i = 0; i < common.size() && i < 10; ++i)
            msg += "  in " + std::to_string(common[i].first) + " traces: " + common[i].second + "\n";
        out.push_back(msg);
    }
    return out;
}

}  // namespace e2e
