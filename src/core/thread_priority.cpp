#include "core/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

namespace gh {

void LowerThisThreadPriority() {
  // PRIO_PROCESS with a thread id sets that thread only (Linux keeps nice values per thread).
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
}

}  // namespace gh
