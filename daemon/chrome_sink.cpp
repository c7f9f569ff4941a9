#include "chrome_sink.hpp"
