// Background threads that must not take the core from the threads answering requests.
#pragma once

namespace gh {

// Lowers the calling thread's priority to nice 19, the lowest normal priority (best effort:
// errors are ignored). On Linux the nice value is per thread. A nice-19 thread still gets a
// small share of a saturated core (never starved) and all of an idle one.
void LowerThisThreadPriority();

}  // namespace gh
