// Background threads that must not take the core from the threads answering requests.
#pragma once

namespace gh {

// Puts the calling thread in Linux's SCHED_IDLE class: it runs when its core has nothing else
// to do, and a request thread that wakes up takes the core from it at once. (It is not
// starved outright: the scheduler still gives it a sliver, ~0.3 %, of a saturated core.)
// Falls back to nice 19 where SCHED_IDLE is refused. Returns true for SCHED_IDLE.
bool RunThisThreadAtIdlePriority();

}  // namespace gh
