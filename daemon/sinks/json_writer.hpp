#pragma once
// A streaming JSON writer for the hot output path: jsonl writes every trace
// of a session, and building a DOM per trace (nlohmann::json) cost more than
// assembling it. Writes straight into a std::string; commas are automatic.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cotrace {

class json_writer {
public:
    explicit json_writer(std::string& out) : out_(out) {}

    json_writer& begin_object() { return open('{'); }
    json_writer& end_object() { return close('}'); }
    json_writer& begin_array() { return open('['); }
    json_writer& end_array() { return close(']'); }
    json_writer& key(std::string_view k);

    json_writer& value(std::string_view s);
    json_writer& value(const char* s) { return value(std::string_view(s)); }
    json_writer& value(const std::string& s) { return value(std::string_view(s)); }
    json_writer& value(bool b);
    json_writer& value(std::uint64_t n);
    json_writer& value(std::int64_t n);
    json_writer& value(std::uint32_t n) { return value(static_cast<std::uint64_t>(n)); }
    json_writer& null();

    // key(k).value(v)
    template <class T>
    json_writer& field(std::string_view k, const T& v) {
        return key(k).value(v);
    }

private:
    json_writer& open(char c);
    json_writer& close(char c);
    void separate();

    std::string& out_;
    std::vector<bool> first_{true};  // per open container: nothing written in it yet
    bool after_key_ = false;
};

}  // namespace cotrace
