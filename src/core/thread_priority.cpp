#include "core/thread_priority.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace gh {

bool RunThisThreadAtIdlePriority() {
  sched_param param{};
  param.sched_priority = 0;
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) == 0) return true;
  // PRIO_PROCESS with a thread id sets that thread only (Linux keeps nice values per thread).
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  return false;
}

}  // namespace gh
