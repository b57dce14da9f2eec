// Closed sets (a key's type, an audit actor's type, a mail's status, …) are enum classes inside
// the program and text only at its edges: store rows and JSON. Each enum has one constexpr
// table of its names, one entry per enumerator in declaration order (static_assert'ed with
// InEnumeratorOrder), and one ToString / Parse… pair over it: ToString indexes the table,
// Parse… searches it (a handful of short names: a linear search beats hashing). The names are
// the wire and storage format, so a name never changes once written.
//
// nlohmann::json would silently write an enum as its number; JSON_DISABLE_ENUM_SERIALIZATION
// (set for every target through gh_core) makes that a compile error, so each edge says
// ToString.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace gh {

template <typename E>
struct EnumName {
  E value;
  std::string_view name;
};

template <typename E, size_t N>
constexpr bool InEnumeratorOrder(const EnumName<E> (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (static_cast<size_t>(names[i].value) != i) return false;
  }
  return true;
}

template <typename E, size_t N>
constexpr std::string_view NameOf(const EnumName<E> (&names)[N], E e) {
  return names[static_cast<size_t>(e)].name;
}

template <typename E, size_t N>
constexpr std::optional<E> ParseName(const EnumName<E> (&names)[N], std::string_view text) {
  for (const auto& n : names) {
    if (n.name == text) return n.value;
  }
  return std::nullopt;
}

}  // namespace gh
