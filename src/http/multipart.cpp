#include "http/multipart.h"

#include <algorithm>
#include <cctype>

namespace gh::http {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of `key` in a header such as `form-data; name="file"; filename="a.png"`.
std::string ParamOf(std::string_view header, std::string_view key) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    std::string_view part = TrimView(header.substr(pos, semi == std::string_view::npos
                                                            ? std::string_view::npos
                                                            : semi - pos));
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && Lower(TrimView(part.substr(0, eq))) == key) {
      std::string_view v = TrimView(part.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return "";
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (Lower(TrimView(content_type.substr(0, semi))) != "multipart/form-data") return std::nullopt;
  if (semi == std::string_view::npos) return std::nullopt;
  std::string b = ParamOf(content_type.substr(semi + 1), "boundary");
  if (b.empty() || b.size() > 70) return std::nullopt;
  return b;
}

std::optional<std::vector<FormPart>> ParseMultipart(std::string_view body,
                                                    std::string_view boundary) {
  std::string delim = "--" + std::string(boundary);
  std::vector<FormPart> parts;
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += delim.size();
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return std::nullopt;
    pos += 2;
    size_t header_end = body.find("\r\n\r\n", pos);
    if (header_end == std::string_view::npos) return std::nullopt;
    FormPart part;
    std::string_view headers = body.substr(pos, header_end - pos);
    size_t hpos = 0;
    while (hpos <= headers.size()) {
      size_t eol = headers.find("\r\n", hpos);
      std::string_view line = headers.substr(hpos, eol == std::string_view::npos ? std::string_view::npos : eol - hpos);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      std::string name = Lower(TrimView(line.substr(0, colon)));
      std::string_view value = TrimView(line.substr(colon + 1));
      if (name == "content-disposition") {
        if (Lower(value.substr(0, value.find(';'))) != "form-data") return std::nullopt;
        part.name = ParamOf(value, "name");
        part.filename = ParamOf(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
      if (eol == std::string_view::npos) break;
      hpos = eol + 2;
    }
    size_t data_start = header_end + 4;
    size_t next = body.find("\r\n" + delim, data_start);
    if (next == std::string_view::npos) return std::nullopt;
    part.data = std::string(body.substr(data_start, next - data_start));
    parts.push_back(std::move(part));
    if (parts.size() > 16) return std::nullopt;
    pos = next + 2 + delim.size();
  }
}

}  // namespace gh::http
