// Attach-time truth on stacks that mislead:
// - a thread in plain code whose live stack still holds, in a slot nothing
//   overwrote, the return address into a coroutine that returned before
//   attach (workloads/returned_coroutine.cpp). The thread is idle as far as
//   spans go; a request it begins after attach is the root of a complete
//   trace.
// - a thread whose innermost resume function belongs to a coroutine being
//   created, not run (workloads/creating_coroutine.cpp): the span the thread
//   is in is the creating coroutine's, further out.
// - a thread inside a coroutine's await_suspend after its suspend probe
//   fired (workloads/suspending_coroutine.cpp): the coroutine is no longer
//   what the thread runs once the await_suspend returns (it is suspended),
//   so the next request the thread begins is a complete root, not nested
//   under it.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "support/e2e.hpp"

namespace e2e {
namespace {

const std::string returned_coroutine_path = COTRACE_E2E_RETURNED_COROUTINE;
const std::string creating_coroutine_path = COTRACE_E2E_CREATING_COROUTINE;
const std::string suspending_coroutine_path = COTRACE_E2E_SUSPENDING_COROUTINE;
const std::string suspending_coroutine_optimised_path = COTRACE_E2E_SUSPENDING_COROUTINE_OPTIMISED;

class Attach : public test {};

// A FIFO in a fresh directory, with the test's end open for writing (opened
// read-write, so the workload's read-only open never waits for a writer).
class test_fifo {
public:
    test_fifo() {
        char dir[] = "/tmp/cotrace-e2e-fifo-XXXXXX";
        if (!mkdtemp(dir)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
        dir_ = dir;
        path_ = dir_ + "/requests";
        if (mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo: " + std::string(std::strerror(errno)));
        fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC);
        if (fd_ < 0) throw std::runtime_error("open " + path_ + ": " + std::strerror(errno));
    }
    ~test_fifo() {
        close_writer();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    const std::string& path() const { return path_; }
    bool send_byte() { return fd_ >= 0 && write(fd_, "r", 1) == 1; }
    void close_writer() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }

private:
    std::string dir_, path_;
    int fd_ = -1;
};

// Stops cotrace as Ctrl-C would and takes what it wrote.
session_output interrupt_and_collect(process& cotrace) {
    cotrace.signal(SIGINT);
    const auto st = cotrace.wait();
    EXPECT_TRUE(st.has_value()) << "cotrace did not exit after SIGINT: " << cotrace.describe();
    if (st) {
        EXPECT_TRUE(st->ok()) << cotrace.describe();
    }
    return collect_output(cotrace);
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST_F(Attach, AThreadInPlainCodeWithADeadCoroutineReturnAddressOnItsStackBeginsACompleteRootTrace) {
    test_fifo fifo;
    auto workload = process::spawn({returned_coroutine_path, fifo.path()});
    const auto ready = workload->out().wait_for(
        [](const std::string& l) { return starts_with(l, "returned_coroutine pid ") && contains(l, " ready"); });
    ASSERT_TRUE(ready.has_value()) << workload->describe();
    // The premise: what the census is up against really is on the stack.
    ASSERT_TRUE(ends_with(*ready, "dead return address on the stack: yes"))
        << "the workload's stack does not hold the dead return address, so this test proves nothing: "
        << workload->describe();

    auto cotrace = start_attach(workload->pid());
    ASSERT_TRUE(fifo.send_byte());
    ASSERT_TRUE(workload->out().wait_for([](const std::string& l) { return l == "returned_coroutine request 0 done"; }))
        << workload->describe();
    const session_output out = interrupt_and_collect(*cotrace);
    ASSERT_EQ(out.jsonl.traces.size(), 1u) << "one request was begun after attach: " << cotrace->describe();
    const json& t = out.jsonl.traces.front();
    const std::string what = render_trace(t);
    EXPECT_TRUE(t.at("complete").get<bool>()) << "begun in plain code after attach, yet incomplete: " << what;
    std::map<std::string, const json*> by_name;
    std::map<std::string, std::string> name_of_id;
    for (const json& s : t.at("spans")) {
        const std::string name = s.at("name");
        by_name[name] = &s;
        name_of_id[s.at("span_id")] = name;
        EXPECT_FALSE(s.at("partial").get<bool>()) << name << " is partial: " << what;
        EXPECT_EQ(s.at("status"), "ok") << what;
    }
    const std::string root = "later_request(int)";
    const std::string child = "lookup(int)";
    ASSERT_EQ(by_name.size(), 2u) << "the request and its lookup, nothing else: " << what;
    ASSERT_TRUE(by_name.count(root) && by_name.count(child)) << what;
    EXPECT_TRUE(by_name.at(root)->at("parent_id").is_null()) << "the request is not a root: " << what;
    EXPECT_EQ(name_of_id[by_name.at(child)->at("parent_id").get<std::string>()], root) << what;
    ASSERT_TRUE(out.jsonl.summary.has_value());
    EXPECT_EQ(counts_of(*out.jsonl.summary).incomplete, 0u);
    EXPECT_EQ(counts_of(*out.jsonl.summary).drops, 0u);

    fifo.close_writer();
    const auto ended = workload->wait();
    ASSERT_TRUE(ended.has_value()) << workload->describe();
    EXPECT_TRUE(ended->ok()) << "the workload did not finish on end of file: " << workload->describe();
}

TEST_F(Attach, AThreadStoppedWhileACoroutineCreatesAnotherIsInTheCreatorsSpan) {
    test_fifo fifo;
    auto workload = process::spawn({creating_coroutine_path, fifo.path()});
    ASSERT_TRUE(workload->out().wait_for([](const std::string& l) {
        return starts_with(l, "creating_coroutine pid ") && ends_with(l, " ready");
    })) << workload->describe();

    auto cotrace = start_attach(workload->pid());
    ASSERT_TRUE(fifo.send_byte());
    ASSERT_TRUE(workload->out().wait_for([](const std::string& l) { return l == "creating_coroutine scope done"; }))
        << workload->describe();
    // Stopped while the request is still open: what names the placeholder
    // is the census alone (the request never names its frame while traced).
    const session_output out = interrupt_and_collect(*cotrace);
    ASSERT_EQ(out.jsonl.traces.size(), 1u) << "one request was in flight: " << cotrace->describe();
    const json& t = out.jsonl.traces.front();
    const std::string what = render_trace(t);
    EXPECT_FALSE(t.at("complete").get<bool>()) << "begun before attach, yet complete: " << what;
    std::map<std::string, const json*> by_name;
    for (const json& s : t.at("spans")) by_name[s.at("name")] = &s;
    ASSERT_EQ(by_name.size(), 2u) << "the request and its scope, nothing else: " << what;
    ASSERT_TRUE(by_name.count("request()")) << "the thread was running request(), not creating its job: " << what;
    ASSERT_TRUE(by_name.count("after_creating")) << what;
    const json& root = *by_name.at("request()");
    EXPECT_TRUE(root.at("parent_id").is_null()) << what;
    EXPECT_TRUE(root.at("partial").get<bool>()) << "the request began before attach: " << what;
    EXPECT_EQ(by_name.at("after_creating")->at("parent_id"), root.at("span_id")) << what;
    EXPECT_EQ(counts_of(*out.jsonl.summary).drops, 0u);

    fifo.close_writer();
    const auto ended = workload->wait();
    ASSERT_TRUE(ended.has_value()) << workload->describe();
    EXPECT_TRUE(ended->ok()) << workload->describe();
}

// The value of a span's annotation `name`, if it has one.
std::optional<std::int64_t> annotation(const json& span, const std::string& name) {
    for (const json& e : span.at("events"))
        if (e.at("name") == name) return e.at("value").get<std::int64_t>();
    return std::nullopt;
}

void expect_no_request_nested_under_the_suspended_one(const std::string& workload_path) {
    test_fifo fifo;
    auto workload = process::spawn({workload_path, fifo.path()});
    ASSERT_TRUE(workload->out().wait_for([](const std::string& l) {
        return starts_with(l, "suspending_coroutine pid ") && ends_with(l, " ready");
    })) << workload->describe();

    auto cotrace = start_attach(workload->pid());
    ASSERT_TRUE(fifo.send_byte());
    ASSERT_TRUE(workload->out().wait_for([](const std::string& l) { return l == "suspending_coroutine requests done"; }))
        << workload->describe();
    const auto ended = workload->wait();
    ASSERT_TRUE(ended.has_value()) << workload->describe();
    EXPECT_TRUE(ended->ok()) << workload->describe();
    const auto st = cotrace->wait();  // it exits with its target
    ASSERT_TRUE(st.has_value()) << "cotrace did not exit with its target: " << cotrace->describe();
    EXPECT_TRUE(st->ok()) << cotrace->describe();

    const session_output out = collect_output(*cotrace);
    std::string all;
    for (const json& t : out.jsonl.traces) all += render_trace(t);
    std::map<std::int64_t, const json*> trace_of_request;
    for (const json& t : out.jsonl.traces) {
        // Request 0's callback runs in a context captured before attach: a
        // fragment of a request cotrace did not see begin, never a root.
        if (t.at("complete").get<bool>()) {
            EXPECT_EQ(t.at("spans")[0].at("name"), "request(int)") << "a complete fragment: " << all;
        }
        for (const json& s : t.at("spans")) {
            if (s.at("name") == "request(int)") {
                EXPECT_TRUE(s.at("parent_id").is_null()) << "a request nested under another: " << all;
            }
            if (const auto k = annotation(s, "request")) trace_of_request[*k] = &t;
        }
    }
    // Request 0 began before attach: what it does after is partial, and what
    // it annotates once the thread it runs on is unknown is not placed.
    ASSERT_TRUE(trace_of_request.count(1) && trace_of_request.count(2)) << all;
    // Begun from plain code once the thread had left the await_suspend: each
    // request, its child and the child's callback, complete.
    for (const std::int64_t k : {1, 2}) {
        const json& t = *trace_of_request.at(k);
        const std::string what = "request " + std::to_string(k) + ": " + render_trace(t);
        EXPECT_TRUE(t.at("complete").get<bool>()) << what;
        const json& spans = t.at("spans");
        ASSERT_EQ(spans.size(), 3u) << what;
        EXPECT_EQ(spans[0].at("name"), "request(int)") << what;
        EXPECT_EQ(spans[1].at("name"), "hand_off(int)") << what;
        EXPECT_EQ(spans[1].at("parent_id"), spans[0].at("span_id")) << what;
        EXPECT_EQ(spans[2].at("name"), "callback") << what;
        EXPECT_EQ(spans[2].at("parent_id"), spans[1].at("span_id")) << what;
    }
    EXPECT_EQ(counts_of(*out.jsonl.summary).drops, 0u);
}

TEST_F(Attach, AThreadStoppedInsideAnAwaitSuspendNestsNoLaterRequestUnderTheSuspendedCoroutine) {
    expect_no_request_nested_under_the_suspended_one(suspending_coroutine_path);
}

// Optimised: the await_suspend wrapper has no frame of its own; its DWARF
// inlined-call scope shows where the thread stands.
TEST_F(Attach, AThreadStoppedInsideAnInlinedAwaitSuspendNestsNoLaterRequestUnderTheSuspendedCoroutine) {
    expect_no_request_nested_under_the_suspended_one(suspending_coroutine_optimised_path);
}

}  // namespace
}  // namespace e2e
