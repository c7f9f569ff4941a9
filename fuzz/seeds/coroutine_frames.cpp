// Seed of the frame_debug_info fuzzer: the smallest program whose GCC 12
// DWARF holds cotrace task frames (a resume index, an initial and a final
// suspend, two traced co_awaits in one statement each). fuzz/run.sh builds it
// and keeps only its debug sections.
#include <cotrace/sync_wait.hpp>
#include <cotrace/task.hpp>

cotrace::task<int> leaf(int x) { co_return x + 1; }

cotrace::task<int> middle(int x) {
    const int a = co_await leaf(x);
    const int b = co_await leaf(a);
    co_return a + b;
}

int main(int argc, char**) { return cotrace::sync_wait(middle(argc)); }
