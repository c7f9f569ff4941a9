#include "record/recording.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "error.hpp"

namespace cotrace {

namespace {

constexpr char magic[8] = {'C', 'O', 'T', 'R', 'A', 'C', 'E', '\0'};
enum chunk_type : std::uint8_t { chunk_events = 1, chunk_symbol = 2, chunk_drops = 3, chunk_end = 4 };
constexpr std::size_t flush_at = 1u << 20;
constexpr std::uint32_t max_chunk = 64u << 20;  // larger lengths mean a damaged file
constexpr std::size_t read_step = 1u << 20;

// A cursor over bytes read from the file, failing softly at the end.
struct reader {
    const char* p;
    const char* end;
    bool ok = true;
    template <class T>
    T get() {
        T v{};
        if (static_cast<std::size_t>(end - p) < sizeof v) {
            ok = false;
            return v;
        }
        std::memcpy(&v, p, sizeof v);
        p += sizeof v;
        return v;
    }
    std::string get_string() {
        const auto n = get<std::uint32_t>();
        if (!ok || static_cast<std::size_t>(end - p) < n) {
            ok = false;
            return {};
        }
        std::string s(p, n);
        p += n;
        return s;
    }
};

bool read_exact(std::FILE* f, void* out, std::size_t n) { return std::fread(out, 1, n, f) == n; }

}  // namespace

recording_writer::recording_writer(const std::string& path, const recording_header& header) : path_(path) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_)
        throw error("cannot write recording " + path + ": " + std::strerror(errno) +
                    " (check the directory exists and is writable)");
    buffer_.reserve(flush_at + 4096);
    buffer_.insert(buffer_.end(), magic, magic + sizeof magic);
    put(header.format_version);
    put(header.protocol_version);
    put(static_cast<std::uint32_t>(sizeof(cotrace_event)));
    put(header.pid);
    put(header.clock_offset_ns);
    put(static_cast<std::uint32_t>(header.from_start ? 1 : 0));
    put(static_cast<std::uint32_t>(header.objects.size()));
    for (const auto& o : header.objects) put_string(o);
    flush_buffer();
}

recording_writer::~recording_writer() {
    if (file_) std::fclose(file_);
}

template <class T>
void recording_writer::put(const T& v) {
    const char* b = reinterpret_cast<const char*>(&v);
    buffer_.insert(buffer_.end(), b, b + sizeof v);
}

void recording_writer::put_string(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    buffer_.insert(buffer_.end(), s.begin(), s.end());
}

void recording_writer::end_events_chunk() {
    if (events_chunk_at_ == SIZE_MAX) return;
    const auto length = static_cast<std::uint32_t>(buffer_.size() - events_chunk_at_ - 5);
    std::memcpy(buffer_.data() + events_chunk_at_ + 1, &length, sizeof length);
    events_chunk_at_ = SIZE_MAX;
}

void recording_writer::flush_buffer() {
    end_events_chunk();
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
        failed_ = true;
    buffer_.clear();
}

void recording_writer::event(const cotrace_event& e) {
    if (events_chunk_at_ == SIZE_MAX) {
        events_chunk_at_ = buffer_.size();
        buffer_.push_back(static_cast<char>(chunk_events));
        put(std::uint32_t{0});  // length, patched when the chunk ends
    }
    put(e);
    ++events_;
    if (buffer_.size() >= flush_at) flush_buffer();
}

void recording_writer::symbol(const symbol_cache::key& k, const symbol_cache::entry& e) {
    end_events_chunk();
    const auto [pid, kind, addr] = k;
    const std::size_t at = buffer_.size();
    buffer_.push_back(static_cast<char>(chunk_symbol));
    put(std::uint32_t{0});
    put(static_cast<std::uint8_t>(kind));
    put(pid);
    put(addr);
    switch (kind) {
        case symbol_cache::kind::site:
            put_string(e.site.function);
            put_string(e.site.file);
            put(e.site.line);
            break;
        case symbol_cache::kind::function:
        case symbol_cache::kind::text:
            put_string(e.name);
            break;
        case symbol_cache::kind::frame_code:
            put(static_cast<std::uint8_t>(e.value.has_value()));
            put(e.value.value_or(0));
            break;
    }
    const auto length = static_cast<std::uint32_t>(buffer_.size() - at - 5);
    std::memcpy(buffer_.data() + at + 1, &length, sizeof length);
}

void recording_writer::drops(std::uint64_t total) {
    end_events_chunk();
    buffer_.push_back(static_cast<char>(chunk_drops));
    put(std::uint32_t{sizeof total});
    put(total);
}

void recording_writer::close() {
    if (!file_) return;
    end_events_chunk();
    buffer_.push_back(static_cast<char>(chunk_end));
    put(std::uint32_t{sizeof events_});
    put(events_);
    flush_buffer();
    const bool close_failed = std::fclose(file_) != 0;
    file_ = nullptr;
    if (failed_ || close_failed)
        throw error("writing recording " + path_ + " failed (disk full?); it holds a prefix of the session");
}

recording_header read_recording_header(std::FILE* f, const std::string& path) {
    char m[sizeof magic];
    if (!read_exact(f, m, sizeof m) || std::memcmp(m, magic, sizeof magic) != 0)
        throw error(path + " is not a cotrace recording (make one with --save FILE)");
    recording_header h;
    std::uint32_t record_size = 0, objects = 0, flags = 0;
    if (!read_exact(f, &h.format_version, 4) || !read_exact(f, &h.protocol_version, 4))
        throw error(path + " is truncated inside its header");
    // Version 0 was never written: a file claiming it is damaged or forged.
    if (h.format_version == 0 || h.protocol_version == 0)
        throw error(path + " claims format " + std::to_string(h.format_version) + ", protocol " +
                    std::to_string(h.protocol_version) +
                    ", which no cotrace writes (a damaged or foreign file; record it again with --save FILE)");
    if (h.format_version > recording_format_version || h.protocol_version > COTRACE_PROTOCOL_VERSION)
        throw error(path + " is a recording of format " + std::to_string(h.format_version) + ", protocol " +
                    std::to_string(h.protocol_version) + "; this cotrace reads format " +
                    std::to_string(recording_format_version) + ", protocol " +
                    std::to_string(COTRACE_PROTOCOL_VERSION) + " (use a newer cotrace)");
    if (!read_exact(f, &record_size, 4) || !read_exact(f, &h.pid, 4) || !read_exact(f, &h.clock_offset_ns, 8) ||
        !read_exact(f, &flags, 4) || !read_exact(f, &objects, 4))
        throw error(path + " is truncated inside its header");
    h.from_start = (flags & 1) != 0;
    if (record_size != sizeof(cotrace_event))
        throw error(path + " has " + std::to_string(record_size) + "-byte events; expected " +
                    std::to_string(sizeof(cotrace_event)) + " (a damaged or foreign file)");
    if (objects > 4096) throw error(path + " has a damaged header");
    for (std::uint32_t i = 0; i < objects; ++i) {
        std::uint32_t n = 0;
        if (!read_exact(f, &n, 4) || n > 4096) throw error(path + " is truncated inside its header");
        std::string s(n, '\0');
        if (!read_exact(f, s.data(), n)) throw error(path + " is truncated inside its header");
        h.objects.push_back(std::move(s));
    }
    return h;
}

replay_result replay_recording(std::FILE* f, recording_visitor& v) {
    replay_result result;
    std::vector<char> payload;
    for (;;) {
        std::uint8_t type = 0;
        std::uint32_t length = 0;
        if (!read_exact(f, &type, 1)) {
            result.truncated = true;  // no end chunk
            return result;
        }
        if (!read_exact(f, &length, 4) || length > max_chunk) {
            result.truncated = true;
            return result;
        }
        // Grown as bytes arrive, so a length the file does not back costs
        // what the file holds, not what it claims.
        std::size_t got = 0;
        while (got < length) {
            const std::size_t step = std::min<std::size_t>(length - got, read_step);
            payload.resize(got + step);
            const std::size_t n = std::fread(payload.data() + got, 1, step, f);
            got += n;
            if (n != step) break;
        }
        payload.resize(got);
        if (got != length) {
            // A cut events chunk still holds whole records up to the cut: replay them.
            if (type == chunk_events)
                for (std::size_t at = 0; at + sizeof(cotrace_event) <= got; at += sizeof(cotrace_event)) {
                    cotrace_event e;
                    std::memcpy(&e, payload.data() + at, sizeof e);
                    v.on_event(e);
                    ++result.events;
                }
            result.truncated = true;
            return result;
        }
        reader r{payload.data(), payload.data() + payload.size()};
        switch (type) {
            case chunk_events: {
                if (length % sizeof(cotrace_event) != 0) {
                    result.truncated = true;
                    return result;
                }
                for (std::size_t at = 0; at < length; at += sizeof(cotrace_event)) {
                    cotrace_event e;
                    std::memcpy(&e, payload.data() + at, sizeof e);
                    v.on_event(e);
                    ++result.events;
                }
                break;
            }
            case chunk_symbol: {
                const auto kind = static_cast<symbol_cache::kind>(r.get<std::uint8_t>());
                const auto pid = r.get<std::uint32_t>();
                const auto addr = r.get<std::uint64_t>();
                symbol_cache::entry e;
                switch (kind) {
                    case symbol_cache::kind::site:
                        e.site.function = r.get_string();
                        e.site.file = r.get_string();
                        e.site.line = r.get<std::uint32_t>();
                        break;
                    case symbol_cache::kind::function:
                    case symbol_cache::kind::text:
                        e.name = r.get_string();
                        break;
                    case symbol_cache::kind::frame_code: {
                        const bool known = r.get<std::uint8_t>() != 0;
                        const auto value = r.get<std::uint64_t>();
                        if (known) e.value = value;
                        break;
                    }
                    default:
                        r.ok = false;
                }
                if (!r.ok) {
                    result.truncated = true;
                    return result;
                }
                v.on_symbol({pid, kind, addr}, e);
                break;
            }
            case chunk_drops: {
                const auto total = r.get<std::uint64_t>();
                if (!r.ok) {
                    result.truncated = true;
                    return result;
                }
                v.on_drops(total);
                break;
            }
            case chunk_end:
                return result;
            default:
                break;  // a chunk type from a later minor revision: skip it
        }
    }
}

}  // namespace cotrace
