// PII masking, CSV encoding and audit cursors/filters: the pure parts of the audit log.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/csv.h"
#include "core/pii.h"
#include "core/time.h"
#include "service/audit.h"
#include "service/audit_export.h"

namespace gh {
namespace {

TEST(Pii, EmailsKeepTheirFirstLetterAndDomain) {
  EXPECT_EQ(MaskEmail("bob@acme.com"), "b***@acme.com");
  EXPECT_EQ(MaskEmail("b@acme.com"), "b***@acme.com");
  EXPECT_EQ(MaskEmail(""), "");
  EXPECT_EQ(MaskEmail("not an email"), "not an email");
}

TEST(Pii, IpAddressesKeepTheirNetwork) {
  EXPECT_EQ(MaskIp("203.0.113.42"), "203.0.113.x");
  EXPECT_EQ(MaskIp("2001:db8:85a3::7"), "2001:db8:85a3:x");
  EXPECT_EQ(MaskIp(""), "");
  EXPECT_EQ(MaskIp("localhost"), "localhost");
}

TEST(Pii, FreeTextHasEveryEmailAndIpv4Masked) {
  EXPECT_EQ(MaskPiiInText("Invited carol.smith@acme.com from 203.0.113.42, cc dan@x.org"),
            "Invited c***@acme.com from 203.0.113.x, cc d***@x.org");
  EXPECT_EQ(MaskPiiInText("version 1.2.3.4.5 and 300.1.1.1 stay"), "version 1.2.3.4.5 and 300.1.1.1 stay");
  EXPECT_EQ(MaskPiiInText("@handle and a@b"), "@handle and a@b");  // no domain with a dot
}

TEST(Pii, Ipv6AddressesAndRangesInTextAreMasked) {
  EXPECT_EQ(MaskPiiInText("from 2001:db8:85a3::7 and [2001:db8:1:2:3:4:5:6]"),
            "from 2001:db8:85a3:x and [2001:db8:1:x]");
  EXPECT_EQ(MaskPiiInText("allow 2001:db8::/32, 203.0.113.0/24"), "allow 2001:db8:0:x/32, 203.0.113.x/24");
  EXPECT_EQ(MaskPiiInText("at 12:30:45, mac aa:bb:cc:dd:ee:ff"), "at 12:30:45, mac aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(MaskPiiInText("seen at ::ffff:198.51.100.7."), "seen at 198.51.100.x.");
}

TEST(Pii, NonAsciiEmailsAreMaskedWhole) {
  EXPECT_EQ(MaskPiiInText("cc józef@przykład.pl"), "cc j***@przykład.pl");
  EXPECT_EQ(MaskPiiInText("cc élodie@exemple.fr"), "cc é***@exemple.fr");
  EXPECT_EQ(MaskEmail("ñ@x.es"), "ñ***@x.es");
}

TEST(Pii, RedactedEventMasksTargetIdAndReducesTheUserAgent) {
  AuditEvent e;
  e.target_id = "bob@acme.com";
  e.user_agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/120.0.0.0 Safari/537.36";
  RedactAuditEvent(e);
  EXPECT_EQ(e.target_id, "b***@acme.com");
  EXPECT_EQ(e.user_agent, "Chrome on Mac");
}

TEST(Pii, RedactedEventMasksActorIpNamesAndDetails) {
  AuditEvent e;
  e.actor_email = "alice@acme.com";
  e.actor_name = "Alice";
  e.ip = "198.51.100.7";
  e.target_name = "bob@acme.com";
  e.details_json = R"({"email":"bob@acme.com","nested":[{"ip":"10.1.2.3"}],"n":3})";
  RedactAuditEvent(e);
  EXPECT_EQ(e.actor_email, "a***@acme.com");
  EXPECT_EQ(e.actor_name, "Alice");
  EXPECT_EQ(e.ip, "198.51.100.x");
  EXPECT_EQ(e.target_name, "b***@acme.com");
  EXPECT_EQ(e.details_json, R"({"email":"b***@acme.com","n":3,"nested":[{"ip":"10.1.2.x"}]})");
}

std::string Field(std::string_view v) {
  std::string out;
  AppendCsvField(out, v);
  return out;
}

TEST(Csv, FieldsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(Field("plain"), "plain");
  EXPECT_EQ(Field(""), "");
  EXPECT_EQ(Field("a,b"), "\"a,b\"");
  EXPECT_EQ(Field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(Field("two\r\nlines"), "\"two\r\nlines\"");
  EXPECT_EQ(Field("\""), "\"\"\"\"");
  EXPECT_EQ(Field("{\"a\":\"b\",\"c\":1}"), "\"{\"\"a\"\":\"\"b\"\",\"\"c\"\":1}\"");
  EXPECT_EQ(Field("line\nbreak"), "\"line\nbreak\"");
}

TEST(AuditJsonLines, EachLineIsTheEventsJsonDumped) {
  AuditEvent plain;
  plain.id = "evt_1";
  plain.occurred_at = 1767225600;
  plain.action = "member.invited";
  plain.actor_type = ActorType::kUser;
  plain.actor_id = "usr_1";
  plain.actor_name = "Ada";
  plain.actor_email = "ada@example.com";
  plain.target_type = "member";
  plain.target_id = "usr_2";
  plain.target_name = "Bob";
  plain.project_id = "prj_1";
  plain.ip = "203.0.113.9";
  plain.user_agent = "curl/8";
  plain.details_json = R"({"role":"admin"})";
  std::vector<AuditEvent> events{plain, AuditEvent{}};
  auto with = [&](auto change) {
    AuditEvent e = plain;
    change(e);
    events.push_back(e);
  };
  with([](AuditEvent& e) { e.actor_name = "Quote \" back\\slash /slash\t\n\r\b\f\x01\x1f\x7f"; });
  with([](AuditEvent& e) { e.target_name = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \"q\""; });
  with([](AuditEvent& e) {
    e.details_json = R"({ "b" : [1, 2.5, "x\u0001"], "a": {"z": null, "y": true} })";
  });
  with([](AuditEvent& e) { e.details_json = "not json"; });
  with([](AuditEvent& e) { e.details_json = "{}"; });
  with([](AuditEvent& e) { e.details_json = R"({"name":"caf\u00e9","ok":false})"; });
  with([](AuditEvent& e) {
    e.actor_email = e.actor_id = e.target_type = e.project_id = e.ip = e.user_agent = "";
  });
  with([](AuditEvent& e) { e.occurred_at = -62167219300; });
  for (const auto& e : events) {
    std::string line = "prefix";
    AppendAuditJsonLine(line, e);
    EXPECT_EQ(line, "prefix" + AuditEventToJson(e).dump() + "\n");
  }
  AuditEvent invalid = plain;
  invalid.actor_name = "bad \xff utf-8";
  std::string line;
  EXPECT_THROW(AppendAuditJsonLine(line, invalid), nlohmann::json::exception);
}

TEST(Csv, AuditRowTimesAreFieldsLikeAnyOther) {
  for (UnixTime t : {UnixTime{0}, UnixTime{1767225600}, UnixTime{-62167219300}}) {
    AuditEvent e;
    e.id = "evt_1";
    e.occurred_at = t;
    std::string row;
    AppendAuditCsvRow(row, e);
    EXPECT_EQ(row.substr(0, row.find(",,")), "evt_1," + Field(FormatRfc3339(t))) << t;
  }
  AuditEvent e;
  e.occurred_at = -62167219300;  // a year before 0 starts with '-': quoted as a formula
  std::string row;
  AppendAuditCsvRow(row, e);
  EXPECT_EQ(row.substr(0, 3), ",\"'");
}

TEST(Csv, FormulaCellsGetALeadingQuoteInsideQuotes) {
  EXPECT_EQ(Field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(Field("+1"), "\"'+1\"");
  EXPECT_EQ(Field("-2"), "\"'-2\"");
  EXPECT_EQ(Field("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(Field("a=b"), "a=b");
}

TEST(Csv, AuditRowsHaveOneFieldPerHeaderColumn) {
  AuditEvent e;
  e.id = "evt_1";
  e.occurred_at = 1767225600;
  e.action = "member.invited";
  e.target_name = "=cmd|' /C calc'!A0";
  e.details_json = R"({"a":"b,c"})";
  std::string row;
  AppendAuditCsvRow(row, e);
  EXPECT_TRUE(row.starts_with("evt_1,2026-01-01T00:00:00Z,member.invited,system,,,,")) << row;
  EXPECT_NE(row.find(",\"'=cmd|' /C calc'!A0\","), std::string::npos);
  EXPECT_TRUE(row.ends_with(",\"{\"\"a\"\":\"\"b,c\"\"}\"\r\n")) << row;
}

TEST(AuditCursor, RoundTripsAndRejectsOtherSpellings) {
  AuditKey k{1767225600, 42};
  std::string c = AuditLog::EncodeCursor(k);
  auto back = AuditLog::DecodeCursor(c);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->occurred_at, k.occurred_at);
  EXPECT_EQ(back->seq, 42);
  EXPECT_FALSE(AuditLog::DecodeCursor("garbage").has_value());
  EXPECT_FALSE(AuditLog::DecodeCursor("").has_value());
}

TEST(AuditFilter, ParsesEachFilterAndNamesTheBadField) {
  AuditFilterInput in;
  in.actor = "usr_abc";
  in.action = "member.*";
  in.project_id = "prj_1";
  in.target = "anything";
  in.from = "2026-01-01T00:00:00Z";
  in.to = "2026-02-01T00:00:00Z";
  auto f = AuditLog::ParseFilter("ws_1", in);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->action_prefix, "member.");
  EXPECT_EQ(f->action, "");
  EXPECT_EQ(*f->from, 1767225600);

  auto bad = [](AuditFilterInput i) { return AuditLog::ParseFilter("ws_1", i).error().field; };
  EXPECT_EQ(bad({.actor = "not an id"}), "actor");
  EXPECT_EQ(bad({.action = "Member.Invited"}), "action");
  EXPECT_EQ(bad({.action = "member"}), "action");
  EXPECT_EQ(bad({.action = "*"}), "action");
  EXPECT_EQ(bad({.project_id = "x y"}), "project_id");
  EXPECT_EQ(bad({.from = "yesterday"}), "from");
  EXPECT_EQ(bad({.to = "2026-13-01T00:00:00Z"}), "to");
  EXPECT_EQ(bad({.from = "2026-02-01T00:00:00Z", .to = "2026-01-01T00:00:00Z"}), "to");
}

TEST(AuditAction, NamesAreNounDotVerb) {
  EXPECT_TRUE(AuditLog::IsActionName("report.exported"));
  EXPECT_TRUE(AuditLog::IsActionName("routing_rules.updated"));
  EXPECT_FALSE(AuditLog::IsActionName("report"));
  EXPECT_FALSE(AuditLog::IsActionName("report.exported.twice"));
  EXPECT_FALSE(AuditLog::IsActionName("Report.exported"));
  EXPECT_FALSE(AuditLog::IsActionName(".exported"));
  EXPECT_FALSE(AuditLog::IsActionName("report."));
}

}  // namespace
}  // namespace gh
