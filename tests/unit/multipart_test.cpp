#include "http/multipart.h"

#include <gtest/gtest.h>

namespace gh::http {

TEST(Multipart, BoundaryFromContentType) {
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=\"a b\""), "a b");
  EXPECT_FALSE(MultipartBoundary("application/json"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data"));
}

TEST(Multipart, ParsesPartsWithBinaryData) {
  std::string data("\x89PNG\r\n\x1a\n\0\xff", 10);
  std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\n"
      "Content-Type: image/png\r\n\r\n" +
      data + "\r\n--XyZ--\r\n";
  auto parts = ParseMultipart(body, "XyZ");
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "note");
  EXPECT_EQ((*parts)[0].data, "hello");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "logo.png");
  EXPECT_EQ((*parts)[1].content_type, "image/png");
  EXPECT_EQ((*parts)[1].data, data);
}

TEST(Multipart, RejectsMalformedBodies) {
  EXPECT_FALSE(ParseMultipart("", "b"));
  EXPECT_FALSE(ParseMultipart("--b\r\nno headers end", "b"));
  EXPECT_FALSE(ParseMultipart("--b\r\nContent-Disposition: form-data; name=x\r\n\r\nunterminated", "b"));
  EXPECT_FALSE(ParseMultipart("--b\r\nbroken header\r\n\r\nx\r\n--b--", "b"));
}

}  // namespace gh::http
