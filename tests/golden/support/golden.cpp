#include "support/golden.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

extern char** environ;

namespace golden {

const std::vector<std::string>& recordings() {
    // pipeline -n 6 -q --threads 2, and the same with --fail-every 3
    // (requests 2 and 5 fail their stock lookup).
    static const std::vector<std::string> names{"pipeline-6", "pipeline-6-fail3"};
    return names;
}

const std::vector<std::string>& formats() {
    static const std::vector<std::string> names{"jsonl", "tree", "dot", "stats", "chrome"};
    return names;
}

fs::path recording(const std::string& name) { return golden_dir / "data" / (name + ".cotrace"); }

fs::path expected(const std::string& name, const std::string& ext) {
    return golden_dir / "expected" / (name + "." + ext);
}

std::string outcome::describe() const {
    std::ostringstream s;
    if (signal)
        s << "killed by signal " << signal;
    else
        s << "exit " << exit_code;
    s << "\n--- stderr ---\n" << err.substr(0, 4000);
    if (err.size() > 4000) s << "\n[...]";
    return s.str();
}

namespace {

std::string slurp_fd(int fd) {
    std::string out;
    if (lseek(fd, 0, SEEK_SET) != 0) return out;
    char buf[65536];
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

int anonymous_file() {
    char name[] = "/tmp/cotrace-golden-out-XXXXXX";
    const int fd = mkstemp(name);
    if (fd >= 0) unlink(name);
    return fd;
}

}  // namespace

outcome run(const std::vector<std::string>& argv) {
    outcome o;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // The environment, with NO_COLOR=1 and no COLUMNS: no terminal colours
    // and no width limit whatever the output.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "NO_COLOR=", 9) != 0 && std::strncmp(*e, "COLUMNS=", 8) != 0)
            env_strings.emplace_back(*e);
    env_strings.emplace_back("NO_COLOR=1");
    std::vector<char*> env;
    for (auto& e : env_strings) env.push_back(e.data());
    env.push_back(nullptr);

    const int out_fd = anonymous_file(), err_fd = anonymous_file();
    const int null_fd = open("/dev/null", O_RDONLY);
    if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
        o.err = std::string("cannot create capture files: ") + std::strerror(errno);
        return o;
    }
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(null_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execve(args[0], args.data(), env.data());
        dprintf(2, "cannot execute %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    int status = 0;
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    o.out = slurp_fd(out_fd);
    o.err = slurp_fd(err_fd);
    close(out_fd);
    close(err_fd);
    close(null_fd);
    if (pid < 0) {
        o.err = std::string("fork: ") + std::strerror(errno);
    } else if (WIFSIGNALED(status)) {
        o.signal = WTERMSIG(status);
    } else if (WIFEXITED(status)) {
        o.exit_code = WEXITSTATUS(status);
    }
    return o;
}

outcome cotrace_cmd(std::vector<std::string> args) {
    args.insert(args.begin(), cotrace);
    return run(args);
}

temp_dir::temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "cotrace-golden-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream s(text);
    std::string line;
    while (std::getline(s, line)) out.push_back(line);
    return out;
}

testing::AssertionResult same_bytes(const fs::path& expected_file, const fs::path& actual_file) {
    if (!fs::exists(expected_file))
        return testing::AssertionFailure()
               << expected_file << " is missing: run tests/golden/update.sh (see its top)";
    if (!fs::exists(actual_file)) return testing::AssertionFailure() << actual_file << " was not written";
    if (read_file(expected_file) == read_file(actual_file)) return testing::AssertionSuccess();
    const outcome d = run({"/usr/bin/diff", "-u", expected_file.string(), actual_file.string()});
    const auto diff = lines_of(d.out);
    std::ostringstream msg;
    msg << actual_file.filename() << " differs from " << expected_file << " (diff -u expected actual";
    if (diff.size() > 120) msg << ", first 120 of " << diff.size() << " lines";
    msg << "):\n";
    for (std::size_t i = 0; i < diff.size() && i < 120; ++i) msg << diff[i].substr(0, 400) << "\n";
    msg << "If the change is intended, regenerate with tests/golden/update.sh and review `git diff "
           "tests/golden`.";
    return testing::AssertionFailure() << msg.str();
}

testing::AssertionResult same_text(const std::string& expected_text, const std::string& actual,
                                   const std::string& what) {
    if (expected_text == actual) return testing::AssertionSuccess();
    return testing::AssertionFailure() << what << " differs:\n--- expected ---\n"
                                       << expected_text << "--- actual ---\n"
                                       << actual;
}

bool trace_line::has_span_matching(const std::string& glob) const {
    for (const json& s : doc.at("spans"))
        if (fnmatch(glob.c_str(), s.at("name").get<std::string>().c_str(), 0) == 0) return true;
    return false;
}

int trace_line::request_id() const {
    for (const json& s : doc.at("spans"))
        for (const json& a : s.at("events"))
            if (a.at("name") == "request") return a.at("value").get<int>();
    return -1;
}

std::vector<std::string> trace_line::shape() const {
    std::map<std::string, std::string> names;
    for (const json& s : doc.at("spans")) names[s.at("span_id")] = s.at("name");
    std::vector<std::string> out;
    for (const json& s : doc.at("spans")) {
        const json& parent = s.at("parent_id");
        const std::string p = parent.is_null() ? "" : names[parent.get<std::string>()];
        out.push_back(p + " > " + s.at("name").get<std::string>());
    }
    std::sort(out.begin(), out.end());
    return out;
}

jsonl_output parse_jsonl(const std::string& text) {
    jsonl_output out;
    for (const std::string& line : lines_of(text)) {
        trace_line t;
        t.raw = line;
        t.doc = json::parse(line);  // throws (and fails the test) on a malformed line
        if (t.doc.at("type") == "summary") {
            EXPECT_TRUE(out.summary.empty()) << "two summary lines";
            out.summary = line;
        } else {
            EXPECT_EQ(t.doc.at("type"), "trace") << line.substr(0, 200);
            EXPECT_TRUE(out.summary.empty()) << "a trace after the summary";
            out.traces.push_back(std::move(t));
        }
    }
    return out;
}

std::string jsonl_output::with_only(const std::vector<trace_line>& kept) const {
    std::string text;
    for (const trace_line& t : kept) text += t.raw + "\n";
    return text + summary + "\n";
}

std::uint64_t hex_id(const json& v) { return std::stoull(v.get<std::string>(), nullptr, 16); }

}  // namespace golden
