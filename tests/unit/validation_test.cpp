#include "core/validation.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/time.h"

namespace gh::validation {

TEST(Validation, EmailIsTrimmedAndLowerCased) {
  auto e = NormalizeEmail("  Alice@Example.COM ");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, "alice@example.com");
}

TEST(Validation, MalformedEmailsAreRefused) {
  for (const char* bad : {"", "alice", "@example.com", "alice@", "alice@example", "a@b@c.com",
                          "alice @example.com", "alice@example..com", "alice@.example.com",
                          "alice@example.com."}) {
    auto e = NormalizeEmail(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.error().code, "invalid_email");
    EXPECT_EQ(e.error().field, "email");
  }
}

TEST(Validation, PasswordNeedsTwelveToOneThousandTwentyFourCharacters) {
  EXPECT_FALSE(CheckPassword("elevenchars").ok());
  EXPECT_TRUE(CheckPassword("twelve chars").ok());
  EXPECT_TRUE(CheckPassword(std::string(1024, 'x')).ok());
  EXPECT_FALSE(CheckPassword(std::string(1025, 'x')).ok());
  // Twelve code points of two bytes each count as twelve characters.
  std::string umlauts;
  for (int i = 0; i < 12; ++i) umlauts += "\xc3\xa4";
  EXPECT_TRUE(CheckPassword(umlauts).ok());
}

TEST(Validation, WorkspaceNameNeedsTwoCharactersAfterTrimming) {
  EXPECT_FALSE(WorkspaceName(" a ").ok());
  EXPECT_EQ(WorkspaceName(" a ").error().code, "invalid_name");
  auto n = WorkspaceName("  Acme Corp  ");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, "Acme Corp");
}

TEST(Validation, Utf8) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));          // euro sign
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));      // emoji
  EXPECT_FALSE(IsValidUtf8("\xc3"));                 // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));             // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));         // surrogate
  EXPECT_FALSE(IsValidUtf8(std::string("a\0b", 3)));  // NUL
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(Validation, TimezonesComeFromTheTzDatabase) {
  EXPECT_TRUE(IsIanaTimezone("Europe/Berlin"));
  EXPECT_TRUE(IsIanaTimezone("Asia/Singapore"));
  EXPECT_TRUE(IsIanaTimezone("UTC"));
  EXPECT_FALSE(IsIanaTimezone("Mars/Olympus_Mons"));
  EXPECT_FALSE(IsIanaTimezone("../../etc/passwd"));
  EXPECT_FALSE(IsIanaTimezone("/etc/passwd"));
  EXPECT_FALSE(IsIanaTimezone("Europe"));  // a directory
  EXPECT_FALSE(IsIanaTimezone("posix/Europe/Berlin"));
  EXPECT_FALSE(IsIanaTimezone(""));
}

TEST(Validation, LanguageTagsAndThemes) {
  EXPECT_TRUE(IsLanguageTag("en"));
  EXPECT_TRUE(IsLanguageTag("pt-BR"));
  EXPECT_TRUE(IsLanguageTag("zh-Hant-TW"));
  EXPECT_FALSE(IsLanguageTag("e"));
  EXPECT_FALSE(IsLanguageTag("english!"));
  EXPECT_FALSE(IsLanguageTag("en-"));
  EXPECT_TRUE(IsTheme("dark"));
  EXPECT_FALSE(IsTheme("blue"));
}

TEST(Time, AppendRfc3339WritesWhatFormatRfc3339Returns) {
  // Day and year edges, 2000-02-29, 2100-02-28T23:59:59, the first and last four-digit years.
  std::vector<UnixTime> times{0, -1, 1, 86399, 86400, 951782400, 4107542399, 1767225600};
  for (UnixTime t : {-30610224000, -30610224001, -62167219200, 253402300799, 253402300800}) {
    times.push_back(t);
  }
  for (UnixTime t = -2000000000; t < 4000000000; t += 7777777) times.push_back(t);
  for (UnixTime t : times) {
    std::string out = "x";
    AppendRfc3339(out, t);
    EXPECT_EQ(out, "x" + FormatRfc3339(t)) << t;
  }
}

TEST(Time, Rfc3339RoundTrips) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  auto t = ParseRfc3339("2026-01-30T14:32:15Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2026-01-30T14:32:15Z");
  EXPECT_EQ(ParseRfc3339("2026-01-30T16:32:15+02:00"), t);
  EXPECT_EQ(ParseRfc3339("2026-01-30T14:32:15.123Z"), t);
  EXPECT_FALSE(ParseRfc3339("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-01-30 14:32:15"));
  EXPECT_FALSE(ParseRfc3339("yesterday"));
}

TEST(Time, HttpDate) { EXPECT_EQ(FormatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT"); }

TEST(Validation, HtmlEscapeNeutralisesMarkupAndQuotes) {
  EXPECT_EQ(HtmlEscape(R"(<a href="x" onclick='y'>Tom & Jerry</a>)"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("Zoë Müller"), "Zoë Müller");  // UTF-8 passes through
  EXPECT_EQ(HtmlEscape(""), "");
}

}  // namespace gh::validation
