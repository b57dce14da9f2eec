// The shape of API keys: "sk_live_" / "sk_test_" / "pk_live_" / "pk_test_", 32 base62
// characters of 190 random bits, and a 6-character CRC-32 checksum, so that a mistyped key is
// refused without any lookup.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/model.h"

namespace gh {

struct KeyShape {
  KeyType type;
  KeyEnvironment environment;
};

// A new key of `type` and `environment`.
std::string NewApiKey(KeyType type, KeyEnvironment environment);

// The type and environment of a well-formed key whose checksum holds; nullopt otherwise.
std::optional<KeyShape> ParseApiKey(std::string_view key);

// What people see of a key: its prefix and the first characters ("sk_live_3GxQ…").
std::string KeyDisplayPrefix(std::string_view key);

}  // namespace gh
