#include "handlers.hpp"

namespace server {

namespace {
cotrace::task<int> validate_fields(int id) { co_return id % 97; }
}  // namespace

cotrace::task<int> check_request(int id) {
    const int fields = co_await validate_fields(id);
    co_return fields + 1;
}

}  // namespace server
