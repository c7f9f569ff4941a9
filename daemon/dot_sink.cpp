#include "dot_sink.hpp"
