#pragma once
// Which inlined functions a code address of an object lies in, from the
// object's DWARF (libdw): the DW_TAG_inlined_subroutine scopes around it,
// named by their linkage (mangled) names. Optimised code keeps no frame for
// a function inlined into another; this is how the census still sees that a
// resume function was inside cotrace's await_suspend wrapper. Inlined
// members of templates carry no linkage name in GCC's DWARF, so they are
// named by their declaration's scopes: "ns::type<args>::function<args>".
//
// The file is untrusted: opened only when it is a regular file, without
// blocking, and every walk of its DIEs is bounded.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cotrace {

class inlined_code {
public:
    // Null when the file cannot be opened or has no DWARF.
    static std::unique_ptr<inlined_code> open(const std::string& path);
    ~inlined_code();
    inlined_code(const inlined_code&) = delete;
    inlined_code& operator=(const inlined_code&) = delete;

    // The qualified names of the functions whose inlined calls contain vaddr
    // (a link-time address) and whose own name begins with `named` (every
    // one for ""), outermost first; empty where none or unknown. (Naming a
    // function's scopes walks its compilation unit: the filter keeps that
    // to the calls asked about.)
    std::vector<std::string> at(std::uint64_t vaddr, std::string_view named = {}) const;

private:
    inlined_code(int fd, void* dwarf) : fd_(fd), dwarf_(dwarf) {}
    int fd_;
    void* dwarf_;  // Dwarf* (libdw's header stays in the .cpp)
};

}  // namespace cotrace
