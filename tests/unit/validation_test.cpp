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

TEST(Validation, ControlCharactersAreC0DelAndC1) {
  EXPECT_FALSE(HasControlCharacter("Zoë Müller · 東京 😀"));
  for (std::string bad :
       {std::string("a\0b", 3), std::string("a\tb"), std::string("a\nb"), std::string("a\rb"),
        std::string("\x1b[2Jx"), std::string("a\x7f"), std::string("\xc2\x80"),
        std::string("a\xc2\x9b"
                    "31m"),
        std::string("\xc2\x9f")}) {
    EXPECT_TRUE(HasControlCharacter(bad)) << bad;
  }
  EXPECT_FALSE(HasControlCharacter("\xc2\xa0"));  // NO-BREAK SPACE follows C1
  EXPECT_FALSE(HasControlCharacter("\xc2\xbf"));  // ¿
}

// Every single-line name a person or a key can set, through the function its use case calls.
struct NameRule {
  const char* what;
  Result<std::string> (*check)(std::string_view);
  const char* code;
  const char* field;
};

class SingleLineNames : public testing::TestWithParam<NameRule> {};

TEST_P(SingleLineNames, RefuseControlCharactersSeparatorsAndInvalidUtf8) {
  const NameRule& rule = GetParam();
  for (std::string bad : {std::string("Evil\x1b]0;owned\x07Name"), std::string("Two\nLines"),
                          std::string("Car\rriage"), std::string("Tab\tbed"),
                          std::string("Del\x7f"
                                      "ete"),
                          std::string("C1 \xc2\x9b"
                                      "2J"),
                          std::string("Nul\0l", 5), std::string("Sep\xe2\x80\xa8x"),
                          std::string("Para\xe2\x80\xa9x"), std::string("Bad \xff utf8"),
                          std::string("Over\xc0\xaflong"), std::string("Surro\xed\xa0\x80gate")}) {
    auto r = rule.check(bad);
    ASSERT_FALSE(r.ok()) << rule.what << ": " << bad;
    EXPECT_EQ(r.error().code, rule.code) << rule.what;
    EXPECT_EQ(r.error().field, rule.field) << rule.what;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalid) << rule.what;
  }
  auto good = rule.check("  Zoë's Team · 東京 (2) 😀 ");
  ASSERT_TRUE(good.ok()) << rule.what;
  EXPECT_EQ(*good, "Zoë's Team · 東京 (2) 😀");  // trimmed
}

INSTANTIATE_TEST_SUITE_P(
    Validation, SingleLineNames,
    testing::Values(NameRule{"person", PersonName, "invalid_name", "name"},
                    NameRule{"workspace", WorkspaceName, "invalid_name", "name"},
                    NameRule{"project", ProjectName, "invalid_name", "name"},
                    NameRule{"role", RoleName, "invalid_name", "name"},
                    NameRule{"key", KeyName, "invalid_name", "name"},
                    NameRule{"service", ServiceName, "invalid_service", "service"}),
    [](const testing::TestParamInfo<NameRule>& info) { return std::string(info.param.what); });

TEST(Validation, NamesKeepTheirLengthLimitsInCodePoints) {
  EXPECT_TRUE(RoleName(std::string(50, 'r')).ok());
  EXPECT_FALSE(RoleName(std::string(51, 'r')).ok());
  std::string fifty_e_acute;
  for (int i = 0; i < 50; ++i) fifty_e_acute += "\xc3\xa9";
  EXPECT_TRUE(RoleName(fifty_e_acute).ok());
  EXPECT_FALSE(RoleName("   ").ok());
  EXPECT_TRUE(ServiceName("").ok());  // a key need not name a service
  EXPECT_FALSE(KeyName("").ok());
  EXPECT_FALSE(PersonName(std::string(201, 'p')).ok());
}

TEST(Validation, MultiLineTextAllowsLineFeedsOnly) {
  auto ok = MultiLineText("Reads logs.\nCannot export.\n", 500, "invalid_description",
                          "description", "m");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "Reads logs.\nCannot export.\n");
  for (std::string bad :
       {std::string("a\r\nb"), std::string("\x1b[31mred"), std::string("tab\there"),
        std::string("c1\xc2\x85"), std::string("\xff")}) {
    auto r = MultiLineText(bad, 500, "invalid_description", "description", "m");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid_description");
    EXPECT_EQ(r.error().field, "description");
  }
  EXPECT_FALSE(MultiLineText(std::string(501, 'x'), 500, "c", "f", "m").ok());
}

TEST(Validation, PrintableTextReplacesWhatATerminalWouldObey) {
  EXPECT_EQ(PrintableText("Mozilla/5.0 (X11; Linux) Zoë", 512), "Mozilla/5.0 (X11; Linux) Zoë");
  EXPECT_EQ(PrintableText("a\tb\x1b[2J\xc2\x9b"
                          "1m\x7f",
                          512),
            "a?b?[2J?1m?");
  EXPECT_EQ(PrintableText("bad \xff\xc3 utf8", 512), "bad ?? utf8");
  EXPECT_EQ(PrintableText("ab\xc3\xa9", 3), "ab");  // never half a character
  EXPECT_EQ(PrintableText(std::string(600, 'x'), 512).size(), 512u);
}

TEST(Validation, EmailsRefuseC1Controls) {
  EXPECT_FALSE(NormalizeEmail("al\xc2\x9bice@example.com").ok());
  EXPECT_FALSE(NormalizeEmail("alice\x1b@example.com").ok());
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
