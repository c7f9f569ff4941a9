#include "sinks/dot_sink.hpp"

#include "error.hpp"
#include "sinks/text_format.hpp"

namespace cotrace {

std::string dot_sink::file_name(const trace& t) {
    std::string name = trace_id_text(t.id);
    if (t.segment != 0) name += "-segment" + std::to_string(t.segment);
    return name + ".dot";
}

void dot_sink::on_trace(const trace& t) {
    if (finished_ || t.spans.empty()) return;
    ++graphs_;
    if (out_) {
        write_dot_graph(*out_, t, limits_);
        return;
    }
    const std::string name = file_name(t);
    std::unique_ptr<std::ostream> file = open_(name);
    write_dot_graph(*file, t, limits_);
    file->flush();
    if (!*file) throw error("writing " + name + " failed (check the disk has room)");
}

void dot_sink::finish(const session_summary&) {
    if (finished_) return;
    finished_ = true;
    if (!out_) return;
    if (graphs_ == 0)
        *out_ << "digraph cotrace {\n  graph [fontname=\"sans-serif\", label=\"no traces\"];\n}\n";
    out_->flush();
}

}  // namespace cotrace
