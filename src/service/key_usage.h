// The usage writer: moves what verifications counted in memory (uses per key and month,
// last_used_at, first uses from new addresses with their api_key.new_ip events, refusals for a
// limit as rate_limit.exceeded notifications) to the store in batches, off the request path.
#pragma once

#include <mutex>

#include "service/context.h"
#include "service/key_index.h"
#include "store/store.h"

namespace gh {

class KeyUsageWriter {
 public:
  KeyUsageWriter(Store& store, KeyIndex& index, const Clock& clock = Clock::System())
      : store_(store), index_(index), clock_(clock) {}

  // Writes batched usage and first-use addresses. Called every second by the bookkeeping
  // thread; `everything` (at shutdown) also writes usage not yet due.
  void Flush(bool everything = false);

 private:
  // rate_limit.exceeded, at most once per key and hour across processes.
  void RaiseLimitHits(const std::vector<LimitHit>& hits);

  Store& store_;
  KeyIndex& index_;
  const Clock& clock_;
  std::mutex flush_mu_;
  static constexpr UnixTime kUsageFlushSeconds = 10;
  static constexpr size_t kFlushBatch = 1000;  // rows per transaction of a flush
  UnixTime last_usage_flush_ = 0;  // by the flusher thread only
};

}  // namespace gh
