#include "target/function_name.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace cotrace {

std::string demangle(const std::string& mangled) {
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> out(
        abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status), &std::free);
    return status == 0 && out ? std::string(out.get()) : mangled;
}

namespace {

// Drops " [clone .actor]", " [clone .cold]" and the like.
std::string strip_clone_suffixes(std::string s) {
    for (auto pos = s.find(" [clone "); pos != std::string::npos; pos = s.find(" [clone ")) {
        auto close = s.find(']', pos);
        s.erase(pos, close == std::string::npos ? std::string::npos : close - pos + 1);
    }
    return s;
}

// "ret<T> ns::f<A, B>(args) const" -> "ns::f<A, B>(args) const": the return
// type is what precedes the last space at nesting depth 0 before the
// parameter list.
std::string strip_return_type(const std::string& s) {
    int depth = 0;
    std::size_t last_space = std::string::npos;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '<' || c == '[') ++depth;
        if (c == '>' || c == ']') --depth;
        if (c == '(' && depth == 0) {
            // "(anonymous namespace)" is part of a name, not a parameter list.
            if (s.compare(i, 21, "(anonymous namespace)") == 0) {
                i += 20;
                continue;
            }
            break;
        }
        if (c == ' ' && depth == 0) last_space = i;
    }
    return last_space == std::string::npos ? s : s.substr(last_space + 1);
}

// "cotrace::when_all<int, int>(cotrace::task<int>, ...)" -> "when_all"
std::string bare_library_name(const std::string& s) {
    std::string name = s.substr(std::string("cotrace::").size());
    const auto cut = name.find_first_of("<(");
    return cut == std::string::npos ? name : name.substr(0, cut);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
}

// Spellings that only add noise to a name read in a terminal.
void shorten_spellings(std::string& s) {
    replace_all(s, "(anonymous namespace)::", "");
    replace_all(s, "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
                "std::string");
    replace_all(s, "std::__cxx11::", "std::");
}

}  // namespace

std::string readable_function_name(const std::string& symbol) {
    std::string name = symbol;
    // GCC: the actor's frame type embeds the ramp function's mangled name,
    // "..._Z4leafi.Frame.actor"; the ramp is what the user wrote.
    const auto frame = name.find(".Frame.");
    if (frame != std::string::npos) {
        auto start = name.rfind("_Z", frame);
        // The embedded name is length-prefixed: walk back to the last "_Z"
        // whose prefix digits span exactly to ".Frame".
        for (auto pos = start; pos != std::string::npos && pos > 0; pos = name.rfind("_Z", pos - 1)) {
            auto digits_end = pos;
            auto digits_begin = pos;
            while (digits_begin > 0 && std::isdigit(static_cast<unsigned char>(name[digits_begin - 1])))
                --digits_begin;
            // (More digits than any length: not a prefix, and too many for stoul.)
            if (digits_begin == digits_end || digits_end - digits_begin > 6) continue;
            const auto len = std::stoul(name.substr(digits_begin, digits_end - digits_begin));
            if (pos + len == frame + 6) {  // "<ramp>.Frame"
                start = pos;
                break;
            }
        }
        if (start != std::string::npos) name = demangle(name.substr(start, frame - start));
    } else {
        // Clang: "_Z4leafi.resume" (also ".destroy", ".cleanup").
        for (const char* suffix : {".resume", ".destroy", ".cleanup"}) {
            const std::string sfx = suffix;
            if (name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
                name.erase(name.size() - sfx.size());
                break;
            }
        }
        name = demangle(name);
    }
    name = strip_return_type(strip_clone_suffixes(name));
    shorten_spellings(name);
    if (name.rfind("cotrace::", 0) == 0) name = bare_library_name(name);
    return name;
}

}  // namespace cotrace
