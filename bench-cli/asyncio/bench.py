"""The asyncio peer of bench-cli: the reference study's four scenarios on asyncio.

bench-cli (`--runtime asyncio`) carries this file in its binary and runs it as
`python3 -c <this file> --tasks N --repeat K --warmup W --probe P --scenario NAME[,NAME...]`.
It prints one JSON object on standard output, which bench-cli reads into the same records as
its Rust runtimes. It needs Python 3.9 or later.

The code has the study's own shape, so that its figures can be held against the study's, and
follows bench-cli's Rust scenarios (src/scenarios/) step by step:

- the study's `Work`: a function with its `args` and `kwargs`, numbered by a class-level
  counter, run as `work.run()`;
- the study's WorkScheduler: a dict from the work's index to its task, `loop.create_task`,
  `Task.cancel()` as cancel, a done callback (a lambda) that removes the entry;
- the work's function is `asyncio.sleep` with the argument 1000; `run()` counts the work's
  first poll, and in a `finally` the end of its coroutine (and whether it had finished), as the
  Rust works do;
- `let_works_start` yields (`asyncio.sleep(0)`) until every spawned work has taken its first
  poll, and counts the yields; `catch_up` yields until every cancelled coroutine has ended;
- the moment `at_end` (and the body's time) is taken inside the body's coroutine, right as it
  returns, as `block_on` returns on the Rust side: before the loop's next turn, which would
  already run the steps that `cancel()` scheduled;
- shutdown does what `asyncio.run` does on its way out (cancel every task left and run them to
  their end, shut down async generators and the default executor, close the loop), then drops
  the scheduler, sets `Work`'s counter back to 0, and runs `gc.collect()`, which asyncio needs
  to free the reference cycles a cancelled task leaves (exception, traceback, frame).

Heap figures come from tracemalloc, on for the whole script (which slows allocations, so the
times include its cost): bytes above the scenario's start, at the same moments as the Rust
runtimes. What asyncio cannot tell is left out and shown as "–" by bench-cli: task objects freed
or live, timer entries, polls, and allocation calls (tracemalloc counts bytes, not calls).
"""

import sys

if sys.version_info < (3, 9):
    sys.exit("bench-cli's asyncio runner needs Python 3.9 or later, this is "
             + sys.version.split()[0])

import argparse
import asyncio
from array import array
import gc
import json
import time
import tracemalloc
import weakref

WORK_SLEEP = 1000.0
TIMEOUT = 0.001
CYCLE_PAYLOAD = 64
# Yields without a single new first poll (or dropped coroutine) that mean a bug, not a wait.
YIELDS_WITHOUT_PROGRESS = 1_000_000
SCENARIOS = ("cancel-each", "cancel-batch", "no-cancel", "baseline")
# The loop of the run being measured, for the moments' count of its timer handles.
LOOP = None


# What the works count themselves (bench-cli's work.rs), in a typed array: an int above 256
# kept in an attribute would be a heap object of its own, alive after shutdown.
COUNTS = array("q", bytes(8 * 4))
FIRST_POLLS, DROPPED, UNFINISHED, TIMED_OUT = 0, 1, 2, 3

# The registry of the `husk` scenario: tasks kept by something outside them (as a waker keeps
# a Rust task's cell), a list that never fires.
PARKED = []


def reset_counts():
    for slot in range(len(COUNTS)):
        COUNTS[slot] = 0


class Work:
    """The study's unit of work: a function and its arguments, numbered in order."""

    index = 0  # the class-level counter: the next work's index

    def __init__(self, func, *args, **kwargs):
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.index = Work.index
        Work.index += 1

    async def run(self):
        # The study's `run` is the one line `return await self.func(...)`; around it, the
        # counts the Rust works keep too (first poll; end of the coroutine, and whether it had
        # finished), without a coroutine of their own, so the frames are the study's.
        COUNTS[FIRST_POLLS] += 1
        finished = False
        try:
            result = await self.func(*self.args, **self.kwargs)
            finished = True
            return result
        finally:
            COUNTS[DROPPED] += 1
            if not finished:
                COUNTS[UNFINISHED] += 1


def new_work():
    """The study's work: `asyncio.sleep(1000)`."""
    return Work(asyncio.sleep, WORK_SLEEP)


async def park_then_sleep(seconds):
    """`husk`: the registry keeps this task (asyncio's analogue of a parked waker), then sleep."""
    PARKED.append(asyncio.current_task())
    await asyncio.sleep(seconds)


async def sleep_in_timeout(seconds):
    """`timeout`: sleep inside a 1 ms timeout; count the timeout when it fires."""
    try:
        await asyncio.wait_for(asyncio.sleep(seconds), TIMEOUT)
    except asyncio.TimeoutError:
        COUNTS[TIMED_OUT] += 1


class Node:
    """A node of a two-node cycle: a payload and an edge to the other node."""

    def __init__(self):
        self.payload = bytes(CYCLE_PAYLOAD)
        self.other = None


async def cycle_then_sleep(seconds, weak):
    """`cycle`: two nodes pointing at each other (weakly back, with `weak`), held across the
    sleep. When the coroutine ends, only the garbage collector can free a strong cycle."""
    first, second = Node(), Node()
    first.other = second
    second.other = weakref.ref(first) if weak else first
    await asyncio.sleep(seconds)


class WorkScheduler:
    """The study's WorkScheduler: index -> task, cancel, a done callback that removes."""

    def __init__(self, loop):
        self._loop = loop
        self._tasks = {}
        self.spawned = 0

    def register(self, work):
        task = self._loop.create_task(work.run())
        self._tasks[work.index] = task
        task.add_done_callback(lambda _task: self._tasks.pop(work.index, None))
        self.spawned += 1
        return work.index

    def unregister(self, index):
        task = self._tasks.pop(index, None)
        if task is None:
            return False
        task.cancel()
        return True

    def stop(self):
        tasks, self._tasks = self._tasks, {}
        for task in tasks.values():
            task.cancel()

    def __len__(self):
        return len(self._tasks)


# The readings of one run live in preallocated typed arrays: storing a number into one
# allocates nothing, so the bookkeeping does not show up in the heap figures it records (a dict
# or an int object made after the start would, and would still be alive after shutdown).
# Slots of `readings`:
START = 0  # tracemalloc's current bytes when the ledger opened
CANCELS_REQUESTED, START_TOTAL, START_MOST, CATCH_UP = 1, 2, 3, 4
SPAWNED, POLLED, CANCELLED, FUTURES_DROPPED, REGISTERED = 5, 6, 7, 8, 9
# A moment is three slots, (futures dropped, heap bytes above start, timer handles), at:
AFTER_CANCEL, AT_END, AFTER_TICK, AFTER_RELEASE, AFTER_SHUTDOWN = 10, 13, 16, 19, 22
HAS_AFTER_CANCEL, HAS_AFTER_RELEASE, PEAK = 25, 26, 27
# The collector at shutdown: gc.get_count() before (3 slots), after (3), what collect() found.
GC_BEFORE, GC_AFTER, GC_COLLECTED = 28, 31, 34
SLOTS = 35


# The heap over time (bench-cli's sampling.rs): at every k-th work, k = N / 200 (at least 1),
# and at each moment, a row (seconds since the start, heap bytes above the start, live futures,
# moment) into a typed array allocated before the run, as the readings are. The current run's
# arrays are module-level, as LOOP is, so that every body can sample without another argument.
SAMPLES_PER_RUN = 200
SAMPLE_SLACK = 64
SAMPLE_WIDTH = 4
# Which moment a sample is: 0 none, then:
MOMENT_CODES = {AFTER_CANCEL: 1, AT_END: 2, AFTER_TICK: 3, AFTER_SHUTDOWN: 4, AFTER_RELEASE: 5}
# Slots of SAMPLING: samples taken, k, the start in perf_counter_ns, the capacity in rows.
TAKEN, EVERY, T0, CAPACITY = 0, 1, 2, 3
SAMPLING = array("q", [0, 1, 0, 0])
SAMPLES = array("d")


def new_samples(tasks):
    """Allocates the run's sample buffer (before its ledger opens)."""
    global SAMPLES
    every = max(tasks // SAMPLES_PER_RUN, 1)
    capacity = -(-tasks // every) + SAMPLE_SLACK
    SAMPLING[TAKEN], SAMPLING[EVERY], SAMPLING[T0], SAMPLING[CAPACITY] = 0, every, 0, capacity
    SAMPLES = array("d", bytes(8 * SAMPLE_WIDTH * capacity))


def sample(heap_bytes, futures, code):
    taken = SAMPLING[TAKEN]
    if taken < SAMPLING[CAPACITY]:
        row = taken * SAMPLE_WIDTH
        SAMPLES[row] = (time.perf_counter_ns() - SAMPLING[T0]) / 1e9
        SAMPLES[row + 1] = heap_bytes
        SAMPLES[row + 2] = futures
        SAMPLES[row + 3] = code
        SAMPLING[TAKEN] = taken + 1


def sample_now(readings, scheduler):
    heap = tracemalloc.get_traced_memory()[0] - readings[START]
    sample(heap, scheduler.spawned - COUNTS[DROPPED], 0)


def sample_kth(index, readings, scheduler):
    if index % SAMPLING[EVERY] == 0:
        sample_now(readings, scheduler)


def sample_moment(readings, spawned, slot):
    sample(readings[slot + 1], spawned - readings[slot], MOMENT_CODES[slot])


def samples_taken():
    taken = SAMPLING[TAKEN] * SAMPLE_WIDTH
    return [list(SAMPLES[row:row + SAMPLE_WIDTH]) for row in range(0, taken, SAMPLE_WIDTH)]


def open_ledger(readings):
    """Opens the ledger: the peak pulled down to now, the start remembered."""
    tracemalloc.reset_peak()
    readings[START] = tracemalloc.get_traced_memory()[0]


def take_moment(readings, slot):
    readings[slot + 1] = tracemalloc.get_traced_memory()[0] - readings[START]
    readings[slot] = COUNTS[DROPPED]
    # The loop's heap of timer handles, cancelled ones included until the loop purges them
    # (a private attribute of asyncio's loops; -1 where there is none).
    scheduled = getattr(LOOP, "_scheduled", None)
    readings[slot + 2] = -1 if scheduled is None else len(scheduled)


def note_start(readings, yields):
    readings[START_TOTAL] += yields
    if yields > readings[START_MOST]:
        readings[START_MOST] = yields


async def let_works_start(scheduler):
    """Yields until every spawned work has taken its first poll; returns the yields."""
    target = scheduler.spawned
    yields = 0
    last_started, last_progress = COUNTS[FIRST_POLLS], 0
    while True:
        await asyncio.sleep(0)
        yields += 1
        started = COUNTS[FIRST_POLLS]
        if started >= target:
            return yields
        if started > last_started:
            last_started, last_progress = started, yields
        elif yields - last_progress >= YIELDS_WITHOUT_PROGRESS:
            raise RuntimeError(f"{started} of {target} works polled after {yields} yields")


async def catch_up(readings):
    """Yields until every cancelled work's coroutine has ended; notes the yields."""
    cancels_requested = readings[CANCELS_REQUESTED]
    yields = 0
    last_dropped, last_progress = COUNTS[DROPPED], 0
    while True:
        await asyncio.sleep(0)
        yields += 1
        dropped = COUNTS[DROPPED]
        if dropped >= cancels_requested:
            readings[CATCH_UP] = yields
            return
        if dropped > last_dropped:
            last_dropped, last_progress = dropped, yields
        elif yields - last_progress >= YIELDS_WITHOUT_PROGRESS:
            raise RuntimeError(f"{dropped} of {cancels_requested} cancelled works ended")


async def cancel_each(scheduler, tasks, readings):
    for i in range(tasks):
        index = scheduler.register(new_work())
        note_start(readings, await let_works_start(scheduler))
        if scheduler.unregister(index):
            readings[CANCELS_REQUESTED] += 1
        take_moment(readings, AFTER_CANCEL)
        sample_kth(i, readings, scheduler)
    readings[HAS_AFTER_CANCEL] = 1


async def cancel_batch(scheduler, tasks, readings):
    for i in range(tasks):
        scheduler.register(new_work())
        sample_kth(i, readings, scheduler)
    note_start(readings, await let_works_start(scheduler))
    sample_now(readings, scheduler)
    readings[CANCELS_REQUESTED] = len(scheduler)
    scheduler.stop()
    take_moment(readings, AFTER_CANCEL)
    readings[HAS_AFTER_CANCEL] = 1


async def no_cancel(scheduler, tasks, readings):
    for i in range(tasks):
        scheduler.register(new_work())
        sample_kth(i, readings, scheduler)
    note_start(readings, await let_works_start(scheduler))
    sample_now(readings, scheduler)


async def baseline(scheduler, tasks, readings):
    note_start(readings, await let_works_start(scheduler))


async def husk(scheduler, tasks, readings):
    for i in range(tasks):
        scheduler.register(Work(park_then_sleep, WORK_SLEEP))
        sample_kth(i, readings, scheduler)
    note_start(readings, await let_works_start(scheduler))
    readings[CANCELS_REQUESTED] = len(scheduler)
    scheduler.stop()
    take_moment(readings, AFTER_CANCEL)
    readings[HAS_AFTER_CANCEL] = 1


async def detach(scheduler, tasks, readings):
    # No reference kept, no done callback: the task is the loop's alone.
    for i in range(tasks):
        scheduler._loop.create_task(new_work().run())
        scheduler.spawned += 1
        sample_kth(i, readings, scheduler)
    note_start(readings, await let_works_start(scheduler))


async def timeout(scheduler, tasks, readings):
    for i in range(tasks):
        scheduler.register(Work(sleep_in_timeout, WORK_SLEEP))
        sample_kth(i, readings, scheduler)
    note_start(readings, await let_works_start(scheduler))
    while COUNTS[TIMED_OUT] < tasks:
        await asyncio.sleep(TIMEOUT)
    await asyncio.sleep(0)


async def cycle_body(scheduler, tasks, readings, weak):
    for i in range(tasks):
        scheduler.register(Work(cycle_then_sleep, WORK_SLEEP, weak=weak))
        sample_kth(i, readings, scheduler)
    note_start(readings, await let_works_start(scheduler))
    readings[CANCELS_REQUESTED] = len(scheduler)
    scheduler.stop()
    take_moment(readings, AFTER_CANCEL)
    readings[HAS_AFTER_CANCEL] = 1


async def cycle(scheduler, tasks, readings):
    await cycle_body(scheduler, tasks, readings, False)


async def cycle_weak(scheduler, tasks, readings):
    await cycle_body(scheduler, tasks, readings, True)


BODIES = {
    "cancel-each": cancel_each,
    "cancel-batch": cancel_batch,
    "no-cancel": no_cancel,
    "baseline": baseline,
    "husk": husk,
    "detach": detach,
    "timeout": timeout,
    "cycle": cycle,
    "cycle-weak": cycle_weak,
}


def shut_down(loop):
    """What asyncio.run does on its way out."""
    to_cancel = asyncio.all_tasks(loop)
    for task in to_cancel:
        task.cancel()
    if to_cancel:
        loop.run_until_complete(asyncio.gather(*to_cancel, return_exceptions=True))
    del to_cancel
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


async def run_body(body, scheduler, tasks, readings, times):
    """The body, timed, and the moment `at_end` taken as it returns: before the loop's next
    turn, as `block_on` returns on the Rust side (that turn would run the cancelled tasks)."""
    times[0] = time.perf_counter_ns()
    await body(scheduler, tasks, readings)
    times[1] = time.perf_counter_ns()
    take_moment(readings, AT_END)
    readings[SPAWNED] = scheduler.spawned
    if readings[HAS_AFTER_CANCEL]:
        sample_moment(readings, scheduler.spawned, AFTER_CANCEL)
    sample_moment(readings, scheduler.spawned, AT_END)
    readings[POLLED] = COUNTS[FIRST_POLLS]
    readings[CANCELLED] = COUNTS[UNFINISHED]
    readings[FUTURES_DROPPED] = COUNTS[DROPPED]
    readings[REGISTERED] = len(scheduler)


def measure(name, tasks, keep_samples=False):
    """Runs scenario `name` once with `tasks` works on a fresh loop and measures it; with
    `keep_samples`, its heap over time comes with it."""
    body = BODIES[name]
    readings = array("q", bytes(8 * SLOTS))
    times = array("q", bytes(8 * 4))
    new_samples(tasks)
    global LOOP
    gc.collect()
    reset_counts()
    Work.index = 0
    open_ledger(readings)
    SAMPLING[T0] = time.perf_counter_ns()
    loop = asyncio.new_event_loop()
    LOOP = loop
    scheduler = WorkScheduler(loop)
    sample_now(readings, scheduler)

    loop.run_until_complete(run_body(body, scheduler, tasks, readings, times))

    loop.run_until_complete(catch_up(readings))
    take_moment(readings, AFTER_TICK)
    sample_moment(readings, readings[SPAWNED], AFTER_TICK)
    if PARKED:
        # The registry lets go of the tasks it kept: the husks.
        PARKED.clear()
        take_moment(readings, AFTER_RELEASE)
        readings[HAS_AFTER_RELEASE] = 1
        sample_moment(readings, readings[SPAWNED], AFTER_RELEASE)

    times[2] = time.perf_counter_ns()
    shut_down(loop)
    loop = None
    LOOP = None
    scheduler = None
    # The scheduler is gone, and its numbering with it: an index above 256 is an int object
    # of its own, which would otherwise stay alive in the class attribute.
    Work.index = 0
    # The study's GC figures: the generations' counts before and after a full collection, and
    # what it found (cancelled tasks leave cycles: exception, traceback, frame).
    readings[GC_BEFORE], readings[GC_BEFORE + 1], readings[GC_BEFORE + 2] = gc.get_count()
    readings[GC_COLLECTED] = gc.collect()
    readings[GC_AFTER], readings[GC_AFTER + 1], readings[GC_AFTER + 2] = gc.get_count()
    # The tuples gc.get_count() returned went to the interpreter's free list, which
    # tracemalloc still counts; a full collection empties the free lists (as the one above did
    # before them).
    gc.collect()
    times[3] = time.perf_counter_ns()
    take_moment(readings, AFTER_SHUTDOWN)
    sample_moment(readings, readings[SPAWNED], AFTER_SHUTDOWN)
    readings[PEAK] = tracemalloc.get_traced_memory()[1] - readings[START]
    result = record(readings, times)
    if keep_samples:
        result["samples"] = samples_taken()
    return result


def moment(readings, slot):
    timers = readings[slot + 2]
    return {
        "futures_dropped": readings[slot],
        "heap_bytes": readings[slot + 1],
        "timers_live": None if timers < 0 else timers,
    }


def record(readings, times):
    """One run's figures, in bench-cli's field names."""
    spawned, peak = readings[SPAWNED], readings[PEAK]
    return {
        "body_s": (times[1] - times[0]) / 1e9,
        "shutdown_s": (times[3] - times[2]) / 1e9,
        "accounting": {
            "heap": {
                "at_end_bytes": readings[AT_END + 1],
                "peak_bytes": peak,
                "after_shutdown_bytes": readings[AFTER_SHUTDOWN + 1],
                "peak_bytes_per_task": peak / spawned if spawned else None,
            },
            "moments": {
                "after_cancel": (
                    moment(readings, AFTER_CANCEL) if readings[HAS_AFTER_CANCEL] else None
                ),
                "at_end": moment(readings, AT_END),
                "after_tick": moment(readings, AFTER_TICK),
                "after_release": (
                    moment(readings, AFTER_RELEASE) if readings[HAS_AFTER_RELEASE] else None
                ),
                "after_shutdown": moment(readings, AFTER_SHUTDOWN),
            },
            "tasks": {
                "spawned": spawned,
                "polled": readings[POLLED],
                "cancels_requested": readings[CANCELS_REQUESTED],
                "cancelled": readings[CANCELLED],
                "futures_dropped": readings[FUTURES_DROPPED],
                "registered_at_end": readings[REGISTERED],
            },
            "yields": {
                "start_total": readings[START_TOTAL],
                "start_most": readings[START_MOST],
                "catch_up": readings[CATCH_UP],
            },
            "gc": {
                "threshold": list(gc.get_threshold()),
                "count_before": list(readings[GC_BEFORE:GC_BEFORE + 3]),
                "count_after": list(readings[GC_AFTER:GC_AFTER + 3]),
                "collected": readings[GC_COLLECTED],
            },
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--probe", type=int, default=1025)
    parser.add_argument("--scenario", default=",".join(SCENARIOS))
    parser.add_argument("--gc-threshold", default="700,10,10")
    args = parser.parse_args()
    threshold = [int(part) for part in args.gc_threshold.split(",")]
    if len(threshold) != 3:
        parser.error("--gc-threshold takes three numbers")
    gc.set_threshold(*threshold)
    names = args.scenario.split(",")
    for name in names:
        if name not in BODIES:
            parser.error(f"no such scenario: {name}")

    tracemalloc.start()
    # The probe and the warm-up, as bench-cli's: one-time costs outside the measured runs.
    for name in names:
        measure(name, min(args.tasks, args.probe))
    for _ in range(args.warmup):
        for name in names:
            measure(name, args.tasks)
    # The fixed cost: a loop and a scheduler with no task at all.
    fixed_bytes = measure("baseline", 0)["accounting"]["heap"]["peak_bytes"]
    scenarios = []
    for name in names:
        # Every run is sampled alike; the first one's samples are reported.
        runs = [measure(name, args.tasks, keep_samples=(run == 0)) for run in range(args.repeat)]
        scenarios.append({"name": name, "runs": runs})
    tracemalloc.stop()

    report = {"python": sys.version.split()[0], "fixed_bytes": fixed_bytes,
              "scenarios": scenarios}
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
