#include "core/image.h"

#include <gtest/gtest.h>

#include <string>

namespace gh {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out += static_cast<char>(b);
  return out;
}

std::string Png(uint32_t w, uint32_t h) {
  std::string b = std::string("\x89PNG\r\n\x1a\n", 8) + Bytes({0, 0, 0, 13}) + "IHDR";
  for (uint32_t v : {w, h})
    b += Bytes({int(v >> 24), int(v >> 16 & 255), int(v >> 8 & 255), int(v & 255)});
  return b + std::string(17, '\0');
}

// SOI, an APP0 segment, maybe an EXIF-like APP1 of `app1` bytes, then a frame header.
std::string Jpeg(uint32_t w, uint32_t h, int sof = 0xC0, size_t app1 = 0) {
  std::string b = Bytes({0xFF, 0xD8, 0xFF, 0xE0, 0, 16}) + "JFIF" + std::string(10, '\0');
  if (app1) {
    b += Bytes({0xFF, 0xE1, int((app1 + 2) >> 8), int((app1 + 2) & 255)}) + std::string(app1, 'x');
  }
  b += Bytes({0xFF, 0xFF, sof, 0, 17, 8, int(h >> 8), int(h & 255), int(w >> 8), int(w & 255), 3});
  return b + std::string(9, '\0') + Bytes({0xFF, 0xD9});
}

std::string Webp(const char* fourcc, std::string data) {
  return "RIFF" + Bytes({0x24, 0, 0, 0}) + "WEBP" + fourcc + Bytes({int(data.size()), 0, 0, 0}) +
         data + std::string(16, '\0');
}

TEST(ImageSize, PngIhdr) {
  auto s = DeclaredImageSize(Png(640, 480));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->width, 640u);
  EXPECT_EQ(s->height, 480u);
  // The attack from the issue: a tiny file declaring 60000×60000.
  s = DeclaredImageSize(Png(60000, 60000));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->width, 60000u);
  EXPECT_FALSE(DeclaredImageSize(Png(0, 10)));
  EXPECT_FALSE(DeclaredImageSize(Png(10, 10).substr(0, 20)));  // truncated
  std::string no_ihdr = Png(10, 10);
  no_ihdr.replace(12, 4, "IDAT");
  EXPECT_FALSE(DeclaredImageSize(no_ihdr));
}

TEST(ImageSize, JpegFrameHeaderAfterOtherSegments) {
  for (int sof : {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xCF}) {
    auto s = DeclaredImageSize(Jpeg(1024, 768, sof, 5000));
    ASSERT_TRUE(s) << sof;
    EXPECT_EQ(s->width, 1024u);
    EXPECT_EQ(s->height, 768u);
  }
  auto big = DeclaredImageSize(Jpeg(65535, 65535));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->height, 65535u);
  // DHT (C4) is not a frame header: no frame follows, so nothing is declared.
  EXPECT_FALSE(DeclaredImageSize(Jpeg(10, 10, 0xC4)));
  EXPECT_FALSE(DeclaredImageSize(Jpeg(10, 0)));  // height deferred to DNL: refused
  EXPECT_FALSE(DeclaredImageSize(Bytes({0xFF, 0xD8, 0xFF, 0xE0, 0, 16}) + "JFIF"));
  EXPECT_FALSE(DeclaredImageSize(Bytes({0xFF, 0xD8, 0xFF, 0xDA, 0, 2})));  // scan first
  EXPECT_FALSE(DeclaredImageSize(Bytes({0xFF, 0xD8, 0xFF, 0xE0, 0, 1})));  // bad length
  EXPECT_FALSE(DeclaredImageSize(Bytes({0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF, 0})));
}

TEST(ImageSize, WebpLossyLosslessAndExtended) {
  auto lossy = DeclaredImageSize(
      Webp("VP8 ", Bytes({0, 0, 0, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01})));  // 640×480
  ASSERT_TRUE(lossy);
  EXPECT_EQ(lossy->width, 640u);
  EXPECT_EQ(lossy->height, 480u);
  EXPECT_FALSE(DeclaredImageSize(Webp("VP8 ", Bytes({0, 0, 0, 1, 2, 3, 0x80, 2, 0xE0, 1}))));
  // Lossless: 14 bits of width-1, then 14 of height-1: 16384×16384 here.
  auto lossless = DeclaredImageSize(Webp("VP8L", Bytes({0x2F, 0xFF, 0xFF, 0xFF, 0x0F})));
  ASSERT_TRUE(lossless);
  EXPECT_EQ(lossless->width, 16384u);
  EXPECT_EQ(lossless->height, 16384u);
  // Extended: 24-bit canvas width-1 and height-1 after flags and 3 reserved bytes.
  auto extended =
      DeclaredImageSize(Webp("VP8X", Bytes({0x10, 0, 0, 0, 0x5F, 0xEA, 0x00, 0x5F, 0xEA, 0x00})));
  ASSERT_TRUE(extended);
  EXPECT_EQ(extended->width, 60000u);
  EXPECT_EQ(extended->height, 60000u);
  EXPECT_FALSE(DeclaredImageSize(Webp("ALPH", std::string(10, '\0'))));
  EXPECT_FALSE(DeclaredImageSize(std::string("RIFF\x24\0\0\0WEBPVP8X", 16)));  // truncated
}

TEST(ImageSize, OtherBytesHaveNone) {
  EXPECT_FALSE(DeclaredImageSize(""));
  EXPECT_FALSE(DeclaredImageSize("GIF89a\x01\x00\x01\x00"));
  EXPECT_FALSE(DeclaredImageSize(std::string(100, '\xFF')));
}

}  // namespace
}  // namespace gh
