#include "http/connection_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace gh::http {
namespace {

using Phase = ConnectionPhase;

// A connection that only remembers it was told to close.
struct FakeConnection final : ConnectionTable::Slot {
  explicit FakeConnection(std::string n) : name(std::move(n)) {}
  std::string name;
  bool closed = false;

 protected:
  void Evict() override { closed = true; }
};

struct Fixture {
  explicit Fixture(size_t capacity) : table(capacity) {}
  FakeConnection& Open(const std::string& name) {
    conns.push_back(std::make_unique<FakeConnection>(name));
    EXPECT_TRUE(table.Admit(*conns.back())) << name;
    return *conns.back();
  }
  std::vector<std::string> Closed() const {
    std::vector<std::string> out;
    for (const auto& c : conns) {
      if (c->closed) out.push_back(c->name);
    }
    return out;
  }
  ConnectionTable table;
  std::vector<std::unique_ptr<FakeConnection>> conns;
};

TEST(ConnectionTable, AdmitsUpToCapacityWithoutClosingAnything) {
  Fixture f(3);
  f.Open("a");
  f.Open("b");
  f.Open("c");
  EXPECT_EQ(f.table.size(), 3u);
  EXPECT_TRUE(f.Closed().empty());
  EXPECT_EQ(f.table.evictions(), 0u);
}

TEST(ConnectionTable, ClosesSilentConnectionsBeforeIdleKeepAliveOnes) {
  Fixture f(3);
  auto& served = f.Open("served");
  ASSERT_TRUE(f.table.Enter(served, Phase::kBusy));
  ASSERT_TRUE(f.table.Enter(served, Phase::kAwaitingNextRequest));  // idle the longest
  f.Open("silent1");
  f.Open("silent2");
  f.Open("new1");  // over capacity: the oldest silent one goes
  EXPECT_EQ(f.Closed(), std::vector<std::string>{"silent1"});
  f.Open("new2");
  EXPECT_EQ(f.Closed(), (std::vector<std::string>{"silent1", "silent2"}));
  f.Open("new3");  // only new1 and new2 had not sent a request: new1 is older
  EXPECT_EQ(f.Closed(), (std::vector<std::string>{"silent1", "silent2", "new1"}));
}

TEST(ConnectionTable, ThenKeepAliveConnectionsByIdleTimeThenBodiesNeverBusyOnes) {
  Fixture f(3);
  auto& body = f.Open("body");
  auto& idle_long = f.Open("idle_long");
  auto& idle_short = f.Open("idle_short");
  ASSERT_TRUE(f.table.Enter(body, Phase::kReadingBody));
  ASSERT_TRUE(f.table.Enter(idle_long, Phase::kAwaitingNextRequest));
  ASSERT_TRUE(f.table.Enter(idle_short, Phase::kAwaitingNextRequest));
  auto& busy = f.Open("busy");  // the newcomer is never its own victim
  EXPECT_EQ(f.Closed(), std::vector<std::string>{"idle_long"});
  ASSERT_TRUE(f.table.Enter(busy, Phase::kBusy));
  f.Open("x");
  EXPECT_EQ(f.Closed(), (std::vector<std::string>{"idle_long", "idle_short"}));
  ASSERT_TRUE(f.table.Enter(*f.conns.back(), Phase::kBusy));  // x
  f.Open("y");
  EXPECT_EQ(f.Closed(), (std::vector<std::string>{"body", "idle_long", "idle_short"}));
}

TEST(ConnectionTable, RefusesTheNewcomerWhenEveryConnectionIsBusy) {
  ConnectionTable table(2);
  FakeConnection a("a"), b("b"), c("c");
  ASSERT_TRUE(table.Admit(a));
  ASSERT_TRUE(table.Admit(b));
  ASSERT_TRUE(table.Enter(a, Phase::kBusy));
  ASSERT_TRUE(table.Enter(b, Phase::kBusy));
  EXPECT_FALSE(table.Admit(c));
  EXPECT_FALSE(a.closed || b.closed || c.closed);
  EXPECT_EQ(table.size(), 2u);
  table.Remove(c);  // harmless for a connection never admitted
  EXPECT_EQ(table.size(), 2u);
}

TEST(ConnectionTable, AnEvictedConnectionMayNotStartARequest) {
  Fixture f(1);
  auto& first = f.Open("first");
  f.Open("second");
  ASSERT_TRUE(first.closed);
  // Its request arrived before the close did: the coroutine learns it must stop.
  EXPECT_FALSE(f.table.Enter(first, Phase::kBusy));
  EXPECT_EQ(f.table.size(), 2u);  // counted until its coroutine ends
  f.table.Remove(first);
  f.table.Remove(first);
  EXPECT_EQ(f.table.size(), 1u);
  f.Open("third");  // evicts second; capacity counts live connections only
  EXPECT_EQ(f.Closed(), (std::vector<std::string>{"first", "second"}));
}

TEST(ConnectionTable, DescriptorExhaustionLowersTheCapAndMakesRoom) {
  Fixture f(1000);
  for (int i = 0; i < 100; ++i) f.Open("c" + std::to_string(i));
  size_t evicted = f.table.ShrinkAfterDescriptorExhaustion();
  EXPECT_EQ(evicted, 8u);  // a margin of max(8, 1/32)
  EXPECT_EQ(f.table.capacity(), 92u);
  EXPECT_EQ(f.Closed().front(), "c0");  // the oldest first
  // From now on every newcomer evicts one.
  f.Open("late");
  EXPECT_EQ(f.Closed().size(), 9u);
}

TEST(ConnectionTable, DescriptorExhaustionNeverShrinksBelowAFloor) {
  Fixture f(1000);
  for (int i = 0; i < 5; ++i) f.Open("c" + std::to_string(i));
  EXPECT_EQ(f.table.ShrinkAfterDescriptorExhaustion(), 0u);
  EXPECT_EQ(f.table.capacity(), 8u);
}

TEST(ConnectionTable, DefaultCapLeavesAReserveOfDescriptors) {
  EXPECT_EQ(DefaultMaxConnections(1024, 20), 1024u - 20 - 64);
  EXPECT_EQ(DefaultMaxConnections(256, 20), 256u - 20 - 64);
  EXPECT_EQ(DefaultMaxConnections(65536, 30), 65536u - 30 - 64);
  EXPECT_EQ(DefaultMaxConnections(64, 20), 16u);  // a quarter when the reserve leaves less
  EXPECT_EQ(DefaultMaxConnections(1, 20), 1u);
  EXPECT_GT(DescriptorLimit(), 0u);
  EXPECT_GE(DescriptorsOpen(), 3u);
}

}  // namespace
}  // namespace gh::http
