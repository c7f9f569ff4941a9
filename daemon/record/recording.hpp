#pragma once
// Recordings (`--save FILE`, read by `cotrace report FILE`): the raw event
// stream plus what is needed to interpret it without the process. Replaying
// one through the assembler gives exactly what the live session printed.
//
// Format, version 1 (all integers little-endian):
//   header   "COTRACE\0" magic, u32 format version, u32 protocol version,
//            u32 event record size, u32 pid, i64 clock offset (ns, monotonic
//            -> Unix epoch), u32 flags (bit 0: traced from the process's
//            start, as by `run`), u32 object count, then per object a string
//            (u32 length + bytes): the paths of the objects with probes
//   chunks   u8 type, u32 payload length, payload:
//     1 events   payload = N struct cotrace_event records, as the BPF side wrote them
//     2 symbol   u8 kind (symbol_cache::kind), u32 pid, u64 address, then
//                site: string function, string file, u32 line
//                function | text: string
//                frame_code: u8 known, u64 value
//     3 drops    u64 running total of events the ring buffer dropped
//     4 end      u64 events written (a clean end; absent when cut short)
// Chunks appear in the order the live session saw them: a symbol resolved
// while assembling an event precedes that event, so a replay that applies
// chunks in order asks its cache exactly what the live session asked.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "cotrace_probes.h"
#include "model/symbol_cache.hpp"

namespace cotrace {

constexpr std::uint32_t recording_format_version = 1;

struct recording_header {
    std::uint32_t format_version = recording_format_version;
    std::uint32_t protocol_version = COTRACE_PROTOCOL_VERSION;
    std::uint32_t pid = 0;
    std::int64_t clock_offset_ns = 0;
    bool from_start = false;  // traced from the process's start (`run`)
    std::vector<std::string> objects;
};

class recording_writer {
public:
    // Throws cotrace::error when the file cannot be created.
    recording_writer(const std::string& path, const recording_header& header);
    ~recording_writer();
    recording_writer(const recording_writer&) = delete;
    recording_writer& operator=(const recording_writer&) = delete;

    void event(const cotrace_event& e);
    void symbol(const symbol_cache::key& k, const symbol_cache::entry& e);
    void drops(std::uint64_t total);
    // Pushes what is buffered to the file (so a killed session leaves a
    // usable prefix).
    void flush() { flush_buffer(); }
    // Writes the end chunk and flushes; throws cotrace::error on a write error.
    void close();

private:
    void end_events_chunk();
    void flush_buffer();
    template <class T>
    void put(const T& v);
    void put_string(const std::string& s);

    std::string path_;
    std::FILE* file_ = nullptr;
    std::vector<char> buffer_;
    std::size_t events_chunk_at_ = SIZE_MAX;  // offset in buffer_ of the open events chunk
    std::uint64_t events_ = 0;
    bool failed_ = false;
};

// What a replay hands on, in file order.
class recording_visitor {
public:
    virtual ~recording_visitor() = default;
    virtual void on_event(const cotrace_event& e) = 0;
    virtual void on_symbol(const symbol_cache::key& k, const symbol_cache::entry& e) = 0;
    virtual void on_drops(std::uint64_t total) = 0;
};

struct replay_result {
    std::uint64_t events = 0;
    bool truncated = false;  // ended without an end chunk (or mid-chunk): the valid prefix was replayed
};

// Reads the header; throws cotrace::error for a file that is not a
// recording, is from a newer format, or is cut inside the header.
recording_header read_recording_header(std::FILE* f, const std::string& path);
// Replays every chunk after the header. A damaged or truncated tail stops
// the replay (result.truncated); a chunk of unknown type is skipped.
replay_result replay_recording(std::FILE* f, recording_visitor& v);

}  // namespace cotrace
