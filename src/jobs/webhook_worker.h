// Delivers notifications in the background: a pump (every 250 ms) fans the event bus out
// (Notifications::Dispatch: deliveries, in-app notifications, mail, digest lines) and queues
// the due webhook and Slack deliveries; `concurrency` threads attempt them, at most one attempt
// in flight per endpoint, so that a slow or dead endpoint (10 s timeout) holds one thread and
// never delays the others' deliveries.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jobs/periodic_thread.h"
#include "service/notifications.h"
#include "service/webhooks.h"

namespace gh {

class WebhookWorker {
 public:
  WebhookWorker(Webhooks& hooks, Notifications& notifications, int concurrency);
  ~WebhookWorker();

  void Start();
  void Stop();

 private:
  void Pump();
  void Run();

  Webhooks& hooks_;
  Notifications& notifications_;
  const int concurrency_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WebhookDelivery> queue_;   // guarded by mu_
  std::set<std::string> held_;          // delivery ids queued or in flight
  std::set<std::string> busy_;          // endpoints with an attempt in flight
  bool stop_ = false;
  std::vector<std::thread> threads_;
  PeriodicThread pump_;
  PeriodicThread purge_;  // the delivery log's and inbox's retention, hourly at idle priority
  PeriodicThread digests_;  // daily digests due (09:00 in each workspace's zone), every minute
};

}  // namespace gh
