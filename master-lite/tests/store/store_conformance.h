#pragma once

// The Store conformance suite (DESIGN.md "Store": SQLite and etcd pass the same tests). A backend
// runs it with:
//   struct MyFactory { static StorePtr make(const std::string& dir, const Options&); };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Types<MyFactory>);
// `dir` is an empty temporary directory; calling make() again with the same dir reopens the
// same data (restart).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "skiff/master/store/store.h"

namespace skiff::master::store::testing {

// Collects a watch's events, delivered on the store's watch thread.
struct WatchRecorder {
  std::mutex mu;
  std::vector<Event> events;
  WatchHandler handler() {
    return [this](const EventPtr& e) {
      std::lock_guard l(mu);
      events.push_back(*e);
    };
  }
  std::vector<Event> take() {
    std::lock_guard l(mu);
    return events;
  }
  // The events once there are at least `n` (or after 5 s): an etcd store delivers a watch's
  // replay and live events from its watch thread, so they may trail the call that caused them.
  std::vector<Event> waitFor(std::size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      {
        std::lock_guard l(mu);
        if (events.size() >= n || std::chrono::steady_clock::now() > deadline) return events;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
};

template <typename Factory>
class StoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    // A backend that needs an outside program (etcd) says why it cannot run.
    if constexpr (requires { Factory::unavailable(); }) {
      if (std::string why = Factory::unavailable(); !why.empty()) GTEST_SKIP() << why;
    }
    char tmpl[] = "/tmp/skiff-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = Factory::make(dir_, options_);
    ASSERT_TRUE(store_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    store_ = Factory::make(dir_, options_);
    ASSERT_TRUE(store_);
  }

  using Recorder = WatchRecorder;

  // The transaction of the commit() tests: pod /t/pods/p created and quota /t/quotas/q updated to
  // used=1, expected at `quota_revision`.
  static std::vector<TxnOp> podWithQuota(std::int64_t quota_revision) {
    return {{TxnOp::Kind::Create, "/t/pods/p", "pod", 0},
            {TxnOp::Kind::Update, "/t/quotas/q", "used=1", quota_revision}};
  }

  std::string dir_;
  Options options_;
  StorePtr store_;
};

TYPED_TEST_SUITE_P(StoreConformance);

TYPED_TEST_P(StoreConformance, CreateGetAndRevisions) {
  auto& s = *this->store_;
  std::int64_t r0 = s.currentRevision();
  auto a = s.create("/registry/pods/default/a", "A");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->mod_revision, r0 + 1);
  EXPECT_EQ(a->create_revision, r0 + 1);
  auto dup = s.create("/registry/pods/default/a", "A2");
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().is(ErrorCode::AlreadyExists));
  auto g = s.get("/registry/pods/default/a");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->value, "A");
  auto missing = s.get("/registry/pods/default/zz");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(ErrorCode::NotFound));
  EXPECT_EQ(s.currentRevision(), r0 + 1);
}

TYPED_TEST_P(StoreConformance, UpdateChecksExpectedRevision) {
  auto& s = *this->store_;
  auto a = s.create("/k/a", "1");
  ASSERT_TRUE(a);
  auto u = s.update("/k/a", "2", a->mod_revision);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->create_revision, a->create_revision);
  EXPECT_GT(u->mod_revision, a->mod_revision);
  auto stale = s.update("/k/a", "3", a->mod_revision);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().is(ErrorCode::Conflict));
  EXPECT_EQ(s.get("/k/a")->value, "2");
  auto any = s.update("/k/a", "4", 0);
  ASSERT_TRUE(any);
  auto nf = s.update("/k/none", "x", 0);
  ASSERT_FALSE(nf);
  EXPECT_TRUE(nf.error().is(ErrorCode::NotFound));
}

TYPED_TEST_P(StoreConformance, RemoveReturnsLastValue) {
  auto& s = *this->store_;
  auto a = s.create("/k/a", "1");
  ASSERT_TRUE(a);
  auto stale = s.remove("/k/a", a->mod_revision + 100);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().is(ErrorCode::Conflict));
  auto d = s.remove("/k/a", 0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, "1");
  EXPECT_EQ(d->mod_revision, s.currentRevision());
  EXPECT_TRUE(s.get("/k/a").error().is(ErrorCode::NotFound));
  EXPECT_TRUE(s.remove("/k/a", 0).error().is(ErrorCode::NotFound));
  // A re-created key starts a new life.
  auto again = s.create("/k/a", "new");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->create_revision, again->mod_revision);
}

TYPED_TEST_P(StoreConformance, ListByPrefixWithPaging) {
  auto& s = *this->store_;
  for (const char* k : {"/r/pods/ns1/a", "/r/pods/ns1/b", "/r/pods/ns1/c", "/r/pods/ns2/a",
                        "/r/podsx/ns1/a", "/r/svc/ns1/a"}) {
    ASSERT_TRUE(s.create(k, k));
  }
  auto all = s.list("/r/pods/");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->items.size(), 4u);
  EXPECT_FALSE(all->more);
  EXPECT_EQ(all->revision, s.currentRevision());
  auto ns1 = s.list("/r/pods/ns1/");
  ASSERT_EQ(ns1->items.size(), 3u);
  auto p1 = s.list("/r/pods/", "", 2);
  ASSERT_EQ(p1->items.size(), 2u);
  EXPECT_TRUE(p1->more);
  auto p2 = s.list("/r/pods/", p1->items.back().key, 2);
  ASSERT_EQ(p2->items.size(), 2u);
  EXPECT_FALSE(p2->more);
  EXPECT_EQ(p2->items[0].key, "/r/pods/ns1/c");
  EXPECT_EQ(p2->items[1].key, "/r/pods/ns2/a");
  // Pages in the middle report that more follow.
  auto q1 = s.list("/r/pods/", "", 1);
  auto q2 = s.list("/r/pods/", q1->items.back().key, 1);
  ASSERT_EQ(q2->items.size(), 1u);
  EXPECT_EQ(q2->items[0].key, "/r/pods/ns1/b");
  EXPECT_TRUE(q2->more);
}

TYPED_TEST_P(StoreConformance, WatchReplaysThenDeliversLive) {
  auto& s = *this->store_;
  auto a = s.create("/w/a", "1");
  ASSERT_TRUE(s.update("/w/a", "2", 0));
  ASSERT_TRUE(s.create("/other/x", "x"));
  typename TestFixture::Recorder rec;
  auto w = s.watch("/w/", a->mod_revision - 1, rec.handler());
  ASSERT_TRUE(w) << w.error().message();
  ASSERT_TRUE(s.remove("/w/a", 0));
  auto ev = rec.waitFor(3);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, EventType::Put);
  EXPECT_EQ(ev[0].kv.value, "1");
  EXPECT_FALSE(ev[0].prev_value.has_value());
  EXPECT_EQ(ev[1].kv.value, "2");
  EXPECT_EQ(ev[1].prev_value.value_or(""), "1");
  EXPECT_EQ(ev[2].type, EventType::Delete);
  EXPECT_EQ(ev[2].kv.value, "2");
  EXPECT_LT(ev[0].kv.mod_revision, ev[1].kv.mod_revision);
  EXPECT_LT(ev[1].kv.mod_revision, ev[2].kv.mod_revision);
  (*w)->stop();
  ASSERT_TRUE(s.create("/w/b", "b"));
  EXPECT_EQ(rec.take().size(), 3u);
}

TYPED_TEST_P(StoreConformance, WatchFromCompactedRevisionIsGone) {
  auto& s = *this->store_;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.create("/c/" + std::to_string(i), "v"));
  std::int64_t rev = s.currentRevision();
  ASSERT_TRUE(s.compact(rev - 2));
  EXPECT_EQ(s.compactedRevision(), rev - 2);
  typename TestFixture::Recorder rec;
  auto gone = s.watch("/c/", rev - 4, rec.handler());
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(ErrorCode::Gone));
  auto okw = s.watch("/c/", rev - 2, rec.handler());
  ASSERT_TRUE(okw);
  EXPECT_EQ(rec.waitFor(2).size(), 2u);
  // Current values survive compaction.
  EXPECT_EQ(s.list("/c/")->items.size(), 5u);
}

TYPED_TEST_P(StoreConformance, AcknowledgedWritesSurviveReopen) {
  ASSERT_TRUE(this->store_->create("/p/a", "1"));
  ASSERT_TRUE(this->store_->update("/p/a", "2", 0));
  std::int64_t rev = this->store_->currentRevision();
  this->reopen();
  auto& s = *this->store_;
  EXPECT_EQ(s.currentRevision(), rev);
  EXPECT_EQ(s.get("/p/a")->value, "2");
  auto b = s.create("/p/b", "x");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->mod_revision, rev + 1);
  typename TestFixture::Recorder rec;
  auto w = s.watch("/p/", rev - 1, rec.handler());
  ASSERT_TRUE(w);
  EXPECT_EQ(rec.waitFor(2).size(), 2u);
}

TYPED_TEST_P(StoreConformance, ConcurrentWritersGetDistinctRevisions) {
  auto& s = *this->store_;
  typename TestFixture::Recorder rec;
  auto w = s.watch("/cc/", s.currentRevision(), rec.handler());
  ASSERT_TRUE(w);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (!s.create("/cc/" + std::to_string(t) + "-" + std::to_string(i), "v")) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto ev = rec.waitFor(100);
  ASSERT_EQ(ev.size(), 100u);
  for (std::size_t i = 1; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i].kv.mod_revision, ev[i - 1].kv.mod_revision + 1);
  }
}

// commit(): every op or none, one event per op in op order, revisions that never go back.
TYPED_TEST_P(StoreConformance, CommitWritesEveryOpTogether) {
  auto& s = *this->store_;
  auto q = s.create("/t/quotas/q", "used=0");
  ASSERT_TRUE(q);
  typename TestFixture::Recorder rec;
  auto w = s.watch("/t/", s.currentRevision(), rec.handler());
  ASSERT_TRUE(w);
  std::int64_t before = s.currentRevision();
  auto c = s.commit(TestFixture::podWithQuota(q->mod_revision));
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->size(), 2u);
  const KeyValue& pod = (*c)[0];
  const KeyValue& quota = (*c)[1];
  EXPECT_EQ(pod.key, "/t/pods/p");
  EXPECT_EQ(pod.create_revision, pod.mod_revision);
  EXPECT_GT(pod.mod_revision, before);
  EXPECT_EQ(quota.create_revision, q->create_revision);
  EXPECT_GE(quota.mod_revision, pod.mod_revision);
  EXPECT_EQ(quota.mod_revision, s.currentRevision());
  EXPECT_EQ(s.get("/t/pods/p")->value, "pod");
  auto now = s.get("/t/quotas/q");
  EXPECT_EQ(now->value, "used=1");
  EXPECT_EQ(now->mod_revision, quota.mod_revision);
  auto ev = rec.waitFor(2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kv.key, "/t/pods/p");
  EXPECT_FALSE(ev[0].prev_value.has_value());
  EXPECT_EQ(ev[1].kv.key, "/t/quotas/q");
  EXPECT_EQ(ev[1].kv.value, "used=1");
  EXPECT_EQ(ev[1].prev_value.value_or(""), "used=0");
  EXPECT_EQ(ev[1].kv.mod_revision, quota.mod_revision);
  // A watch resumed from before the commit replays both ops.
  typename TestFixture::Recorder replay;
  auto w2 = s.watch("/t/", before, replay.handler());
  ASSERT_TRUE(w2) << w2.error().message();
  EXPECT_EQ(replay.waitFor(2).size(), 2u);
  // The next write comes after the whole transaction.
  auto after = s.create("/t/pods/p2", "pod2");
  ASSERT_TRUE(after);
  EXPECT_GT(after->mod_revision, quota.mod_revision);
}

TYPED_TEST_P(StoreConformance, CommitWithAFailedPreconditionWritesNothing) {
  auto& s = *this->store_;
  auto q = s.create("/t/quotas/q", "used=0");
  ASSERT_TRUE(q);
  ASSERT_TRUE(s.update("/t/quotas/q", "used=5", 0));  // q's revision is now stale
  typename TestFixture::Recorder rec;
  auto w = s.watch("/t/", s.currentRevision(), rec.handler());
  ASSERT_TRUE(w);
  std::int64_t before = s.currentRevision();
  auto stale = s.commit(TestFixture::podWithQuota(q->mod_revision));
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().is(ErrorCode::Conflict)) << stale.error().message();
  auto exists = s.commit({{TxnOp::Kind::Create, "/t/pods/x", "x", 0},
                          {TxnOp::Kind::Create, "/t/quotas/q", "again", 0}});
  ASSERT_FALSE(exists);
  EXPECT_TRUE(exists.error().is(ErrorCode::AlreadyExists)) << exists.error().message();
  auto missing = s.commit({{TxnOp::Kind::Create, "/t/pods/y", "y", 0},
                           {TxnOp::Kind::Update, "/t/quotas/none", "v", 0}});
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(ErrorCode::NotFound)) << missing.error().message();
  auto twice = s.commit(
      {{TxnOp::Kind::Create, "/t/pods/z", "z", 0}, {TxnOp::Kind::Update, "/t/pods/z", "z2", 0}});
  ASSERT_FALSE(twice);
  EXPECT_TRUE(twice.error().is(ErrorCode::Invalid));
  EXPECT_FALSE(s.commit({}));
  for (const char* k : {"/t/pods/p", "/t/pods/x", "/t/pods/y", "/t/pods/z"}) {
    EXPECT_TRUE(s.get(k).error().is(ErrorCode::NotFound)) << k;
  }
  EXPECT_EQ(s.get("/t/quotas/q")->value, "used=5");
  EXPECT_EQ(s.currentRevision(), before);
  // Nothing was delivered: the next event a watcher gets is the next write's.
  ASSERT_TRUE(s.create("/t/pods/after", "a"));
  auto ev = rec.waitFor(1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kv.key, "/t/pods/after");
}

// Concurrent commits against one key: exactly one per revision of it wins (the quota's lock).
TYPED_TEST_P(StoreConformance, ConcurrentCommitsOnOneKeySerialise) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.create("/t/quotas/q", "0"));
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        for (;;) {
          auto cur = s.get("/t/quotas/q");
          if (!cur) return;
          std::string next = std::to_string(std::stoi(cur->value) + 1);
          auto c = s.commit({{TxnOp::Kind::Create,
                              "/t/pods/" + std::to_string(t) + "-" + std::to_string(i), "p", 0},
                             {TxnOp::Kind::Update, "/t/quotas/q", next, cur->mod_revision}});
          if (c) {
            ++won;
            break;
          }
          if (!c.error().is(ErrorCode::Conflict)) return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won.load(), 40);
  EXPECT_EQ(s.get("/t/quotas/q")->value, "40");
  EXPECT_EQ(s.list("/t/pods/")->items.size(), 40u);
}

REGISTER_TYPED_TEST_SUITE_P(StoreConformance, CreateGetAndRevisions, UpdateChecksExpectedRevision,
                            RemoveReturnsLastValue, ListByPrefixWithPaging,
                            WatchReplaysThenDeliversLive, WatchFromCompactedRevisionIsGone,
                            AcknowledgedWritesSurviveReopen, ConcurrentWritersGetDistinctRevisions,
                            CommitWritesEveryOpTogether, CommitWithAFailedPreconditionWritesNothing,
                            ConcurrentCommitsOnOneKeySerialise);

}  // namespace skiff::master::store::testing
