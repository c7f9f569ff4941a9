#pragma once
// Tracing plain (synchronous) code:
//   COTRACE_SCOPE("parse");           // a span from here to the end of the block
//   cotrace::annotate("rows", n);     // a point event in the current span
// Names must be string literals (the collector reads them from the binary).
// A scope must not contain a co_await: it belongs to one thread.

#include <cstdint>
#include <exception>
#include <source_location>

#include "detail/probe.hpp"

namespace cotrace {
namespace detail {

#if COTRACE_ENABLED
class scope_guard {
public:
    explicit scope_guard(const cotrace_site* site) noexcept {
        if (COTRACE_DETAIL_ACTIVE(end)) uncaught_ = std::uncaught_exceptions();
        COTRACE_DETAIL_PROBE(scope_begin, this, site);
    }
    ~scope_guard() {
        int status = COTRACE_STATUS_OK;
        if (COTRACE_DETAIL_ACTIVE(end) && std::uncaught_exceptions() > uncaught_)
            status = COTRACE_STATUS_EXCEPTION;  // left by an exception
        COTRACE_DETAIL_PROBE(end, this, status);
    }
    scope_guard(const scope_guard&) = delete;
    scope_guard& operator=(const scope_guard&) = delete;

private:
    int uncaught_ = 0;
};
#endif

}  // namespace detail

// A point event in the current span: name (a string literal) and a value.
inline void annotate(const char* name, std::int64_t value,
                     const void* site = __builtin_source_location()) noexcept {
    COTRACE_DETAIL_PROBE(event, name, value, site);
#if !COTRACE_ENABLED
    (void)name, (void)value, (void)site;
#endif
}

}  // namespace cotrace

#define COTRACE_DETAIL_SCOPE_CAT(a, b) COTRACE_DETAIL_SCOPE_CAT_(a, b)
#define COTRACE_DETAIL_SCOPE_CAT_(a, b) a##b

#if COTRACE_ENABLED
#define COTRACE_SCOPE(name)                                                                   \
    static constexpr ::cotrace_site COTRACE_DETAIL_SCOPE_CAT(cotrace_scope_site_, __LINE__){  \
        __FILE__, name, __LINE__, 0};                                                         \
    ::cotrace::detail::scope_guard COTRACE_DETAIL_SCOPE_CAT(cotrace_scope_, __LINE__) {       \
        &COTRACE_DETAIL_SCOPE_CAT(cotrace_scope_site_, __LINE__)                              \
    }
#else
#define COTRACE_SCOPE(name) static_assert(true, name)
#endif
