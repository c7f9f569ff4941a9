#include "stats_sink.hpp"
