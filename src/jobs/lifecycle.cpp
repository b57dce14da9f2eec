#include "jobs/lifecycle.h"

namespace gh {

void Lifecycle::StartAll() {
  while (started_ < jobs_.size()) {
    jobs_[started_].start();
    ++started_;
  }
}

void Lifecycle::StopAll() {
  while (started_ > 0) {
    --started_;
    jobs_[started_].stop();
  }
}

std::vector<std::string> Lifecycle::Names() const {
  std::vector<std::string> out;
  for (const auto& j : jobs_) out.push_back(j.name);
  return out;
}

}  // namespace gh
