// The recorded Bird API answers under tests/testdata/bird/, and instants for the tests.
#pragma once

#include <cstdint>
#include <string>

#include "bird/rfc3339.h"

namespace bird_exporter::testing {

// The whole of tests/testdata/bird/`name`; throws std::runtime_error when it cannot be opened.
std::string ReadFixture(const std::string& name);

// The Unix epoch plus `ms` milliseconds.
SystemTime AtMillis(std::int64_t ms);

}  // namespace bird_exporter::testing
