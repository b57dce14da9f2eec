#include "jobs/webhook_worker.h"

#include "core/log.h"

namespace gh {

WebhookWorker::WebhookWorker(Webhooks& hooks, Notifications& notifications, int concurrency)
    : hooks_(hooks),
      notifications_(notifications),
      concurrency_(concurrency),
      pump_("notification dispatch", std::chrono::milliseconds(250), [this] { Pump(); }),
      purge_(
          "webhook log retention", std::chrono::hours(1),
          [this] {
            hooks_.PurgeLog();
            notifications_.Purge();
          },
          PeriodicThread::First::kAfterPeriod, PeriodicThread::Priority::kIdle),
      digests_("daily digests", std::chrono::minutes(1),
               [this] { notifications_.SendDigests(false); }, PeriodicThread::First::kAfterPeriod,
               PeriodicThread::Priority::kIdle) {}

WebhookWorker::~WebhookWorker() { Stop(); }

void WebhookWorker::Start() {
  for (int i = 0; i < concurrency_; ++i) threads_.emplace_back([this] { Run(); });
  pump_.Start();
  purge_.Start();
  digests_.Start();
}

void WebhookWorker::Stop() {
  digests_.Stop();
  purge_.Stop();
  pump_.Stop();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void WebhookWorker::Pump() {
  // The deliveries already due go out even when the bus cannot be read this time.
  PeriodicThread::RunLogged("notification dispatch", [this] { notifications_.Dispatch(); });
  auto due = hooks_.Due(4 * concurrency_);
  std::lock_guard lock(mu_);
  for (auto& d : due) {
    if (held_.insert(d.id).second) queue_.push_back(std::move(d));
  }
  cv_.notify_all();
}

void WebhookWorker::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    auto next = queue_.end();
    cv_.wait(lock, [&] {
      if (stop_) return true;
      // The oldest queued delivery whose endpoint has nothing in flight.
      for (next = queue_.begin(); next != queue_.end(); ++next) {
        if (!busy_.count(next->endpoint_id)) return true;
      }
      return false;
    });
    if (stop_) return;
    WebhookDelivery d = std::move(*next);
    queue_.erase(next);
    busy_.insert(d.endpoint_id);
    lock.unlock();
    PeriodicThread::RunLogged("webhook delivery", [&] { hooks_.Deliver(d); });
    lock.lock();
    busy_.erase(d.endpoint_id);
    held_.erase(d.id);
    cv_.notify_all();
    // A drained queue is refilled at once rather than at the next tick: under a backlog the
    // pump's period would otherwise cap throughput (batch / period).
    if (queue_.empty()) pump_.Wake();
  }
}

}  // namespace gh
