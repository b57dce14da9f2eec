// A strict multipart/form-data reader (RFC 7578) for uploads held in memory.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gh::http {

struct FormPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string data;
};

// The boundary parameter of a multipart/form-data Content-Type, or nullopt.
std::optional<std::string> MultipartBoundary(std::string_view content_type);

// Splits `body` into parts; nullopt when it is not well-formed.
std::optional<std::vector<FormPart>> ParseMultipart(std::string_view body,
                                                    std::string_view boundary);

}  // namespace gh::http
