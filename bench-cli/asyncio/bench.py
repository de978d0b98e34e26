"""The asyncio peer of bench-cli: the reference study's four scenarios on asyncio.

bench-cli (`--runtime asyncio`) carries this file in its binary and runs it as
`python3 -c <this file> --tasks N --repeat K --scenario NAME[,NAME...]`. It prints one JSON
object on standard output, which bench-cli reads into the same records as its Rust runtimes.

The code follows bench-cli's Rust scenarios (src/scenarios/) step by step:

- a WorkScheduler like the reference's: a dict from index to task, `loop.create_task`,
  `Task.cancel()` as cancel, a done callback that removes the entry;
- the work is `await asyncio.sleep(1000)`; it counts its own first poll, and in a `finally`
  the end of its coroutine (and whether it had finished), as the Rust works do;
- `let_works_start` yields (`asyncio.sleep(0)`) until every spawned work has taken its first
  poll, and counts the yields; `catch_up` yields until every cancelled coroutine has ended;
- shutdown does what `asyncio.run` does on its way out (cancel every task left and run them to
  their end, shut down async generators and the default executor, close the loop), then drops
  the scheduler and runs `gc.collect()`, which asyncio needs to free the reference cycles a
  cancelled task leaves (exception, traceback, frame).

Heap figures come from tracemalloc, on for the whole script (which slows allocations, so the
times include its cost): bytes above the scenario's start, at the same moments as the Rust
runtimes. What asyncio cannot tell is left out and shown as "–" by bench-cli: task objects freed
or live, timer entries, polls, and allocation calls (tracemalloc counts bytes, not calls).
"""

import argparse
import asyncio
from array import array
import gc
import json
import sys
import time
import tracemalloc

WORK_SLEEP = 1000.0
WARM_UP_TASKS = 1024
# Yields without a single new first poll (or dropped coroutine) that mean a bug, not a wait.
YIELDS_WITHOUT_PROGRESS = 1_000_000
SCENARIOS = ("cancel-each", "cancel-batch", "no-cancel", "baseline")


# What the works count themselves (bench-cli's work.rs), in a typed array: an int above 256
# kept in an attribute would be a heap object of its own, alive after shutdown.
COUNTS = array("q", bytes(8 * 3))
FIRST_POLLS, DROPPED, UNFINISHED = 0, 1, 2


def reset_counts():
    for slot in range(len(COUNTS)):
        COUNTS[slot] = 0


async def work():
    """Sleep 1000 seconds; count the first poll and the end of the coroutine."""
    COUNTS[FIRST_POLLS] += 1
    finished = False
    try:
        await asyncio.sleep(WORK_SLEEP)
        finished = True
    finally:
        COUNTS[DROPPED] += 1
        if not finished:
            COUNTS[UNFINISHED] += 1


class WorkScheduler:
    """The reference's WorkScheduler: index -> task, cancel, a done callback that removes."""

    def __init__(self, loop):
        self._loop = loop
        self._tasks = {}
        self._next_index = 0
        self.spawned = 0

    def register(self, work_fn):
        index = self._next_index
        self._next_index += 1
        task = self._loop.create_task(work_fn())
        self._tasks[index] = task
        task.add_done_callback(lambda _task: self._tasks.pop(index, None))
        self.spawned += 1
        return index

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
# A moment is two slots, (futures dropped, heap bytes above start), at:
AFTER_CANCEL, AT_END, AFTER_TICK, AFTER_SHUTDOWN = 10, 12, 14, 16
HAS_AFTER_CANCEL, PEAK = 18, 19
SLOTS = 20


# The heap over time (bench-cli's sampling.rs): at every k-th work, k = N / 200 (at least 1),
# and at each moment, a row (seconds since the start, heap bytes above the start, live futures,
# moment) into a typed array allocated before the run, as the readings are.
SAMPLES_PER_RUN = 200
SAMPLE_SLACK = 64
SAMPLE_WIDTH = 4
# Which moment a sample is: 0 none, then:
MOMENT_CODES = {AFTER_CANCEL: 1, AT_END: 2, AFTER_TICK: 3, AFTER_SHUTDOWN: 4}
# Slots of `sampling`: samples taken, k, the start in perf_counter_ns, the capacity in rows.
TAKEN, EVERY, T0, CAPACITY = 0, 1, 2, 3


def new_samples(tasks):
    every = max(tasks // SAMPLES_PER_RUN, 1)
    capacity = min(tasks // every, SAMPLES_PER_RUN) + SAMPLE_SLACK
    sampling = array("q", [0, every, 0, capacity])
    return sampling, array("d", bytes(8 * SAMPLE_WIDTH * capacity))


def sample(sampling, samples, readings, spawned, heap_bytes, dropped, code):
    taken = sampling[TAKEN]
    if taken < sampling[CAPACITY]:
        row = taken * SAMPLE_WIDTH
        samples[row] = (time.perf_counter_ns() - sampling[T0]) / 1e9
        samples[row + 1] = heap_bytes
        samples[row + 2] = spawned - dropped
        samples[row + 3] = code
        sampling[TAKEN] = taken + 1


def sample_now(sampling, samples, readings, spawned):
    heap = tracemalloc.get_traced_memory()[0] - readings[START]
    sample(sampling, samples, readings, spawned, heap, COUNTS[DROPPED], 0)


def sample_moment(sampling, samples, readings, spawned, slot):
    sample(sampling, samples, readings, spawned, readings[slot + 1], readings[slot],
           MOMENT_CODES[slot])


def open_ledger(readings):
    """Opens the ledger: the peak pulled down to now, the start remembered."""
    tracemalloc.reset_peak()
    readings[START] = tracemalloc.get_traced_memory()[0]


def take_moment(readings, slot):
    readings[slot] = COUNTS[DROPPED]
    readings[slot + 1] = tracemalloc.get_traced_memory()[0] - readings[START]


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


async def cancel_each(scheduler, tasks, readings, sampling, samples):
    for i in range(tasks):
        index = scheduler.register(work)
        note_start(readings, await let_works_start(scheduler))
        if scheduler.unregister(index):
            readings[CANCELS_REQUESTED] += 1
        take_moment(readings, AFTER_CANCEL)
        if i % sampling[EVERY] == 0:
            sample_now(sampling, samples, readings, scheduler.spawned)
    readings[HAS_AFTER_CANCEL] = 1


async def cancel_batch(scheduler, tasks, readings, sampling, samples):
    for i in range(tasks):
        scheduler.register(work)
        if i % sampling[EVERY] == 0:
            sample_now(sampling, samples, readings, scheduler.spawned)
    note_start(readings, await let_works_start(scheduler))
    sample_now(sampling, samples, readings, scheduler.spawned)
    readings[CANCELS_REQUESTED] = len(scheduler)
    scheduler.stop()
    take_moment(readings, AFTER_CANCEL)
    readings[HAS_AFTER_CANCEL] = 1


async def no_cancel(scheduler, tasks, readings, sampling, samples):
    for i in range(tasks):
        scheduler.register(work)
        if i % sampling[EVERY] == 0:
            sample_now(sampling, samples, readings, scheduler.spawned)
    note_start(readings, await let_works_start(scheduler))
    sample_now(sampling, samples, readings, scheduler.spawned)


async def baseline(scheduler, tasks, readings, sampling, samples):
    note_start(readings, await let_works_start(scheduler))


BODIES = {
    "cancel-each": cancel_each,
    "cancel-batch": cancel_batch,
    "no-cancel": no_cancel,
    "baseline": baseline,
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


def measure(name, tasks, keep_samples=False):
    """Runs scenario `name` once with `tasks` works on a fresh loop and measures it."""
    body = BODIES[name]
    readings = array("q", bytes(8 * SLOTS))
    times = array("q", bytes(8 * 4))
    sampling, samples = new_samples(tasks)
    gc.collect()
    reset_counts()
    open_ledger(readings)
    sampling[T0] = time.perf_counter_ns()
    loop = asyncio.new_event_loop()
    scheduler = WorkScheduler(loop)
    sample_now(sampling, samples, readings, 0)

    times[0] = time.perf_counter_ns()
    loop.run_until_complete(body(scheduler, tasks, readings, sampling, samples))
    times[1] = time.perf_counter_ns()
    take_moment(readings, AT_END)
    spawned = scheduler.spawned
    if readings[HAS_AFTER_CANCEL]:
        sample_moment(sampling, samples, readings, spawned, AFTER_CANCEL)
    sample_moment(sampling, samples, readings, spawned, AT_END)
    readings[SPAWNED] = scheduler.spawned
    readings[POLLED] = COUNTS[FIRST_POLLS]
    readings[CANCELLED] = COUNTS[UNFINISHED]
    readings[FUTURES_DROPPED] = COUNTS[DROPPED]
    readings[REGISTERED] = len(scheduler)

    loop.run_until_complete(catch_up(readings))
    take_moment(readings, AFTER_TICK)
    sample_moment(sampling, samples, readings, spawned, AFTER_TICK)

    times[2] = time.perf_counter_ns()
    shut_down(loop)
    loop = None
    scheduler = None
    gc.collect()
    times[3] = time.perf_counter_ns()
    take_moment(readings, AFTER_SHUTDOWN)
    sample_moment(sampling, samples, readings, spawned, AFTER_SHUTDOWN)
    readings[PEAK] = tracemalloc.get_traced_memory()[1] - readings[START]
    result = record(readings, times)
    if keep_samples:
        taken = sampling[TAKEN] * SAMPLE_WIDTH
        result["samples"] = [
            list(samples[row:row + SAMPLE_WIDTH]) for row in range(0, taken, SAMPLE_WIDTH)
        ]
    return result


def moment(readings, slot):
    return {"futures_dropped": readings[slot], "heap_bytes": readings[slot + 1]}


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
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--scenario", default=",".join(SCENARIOS))
    args = parser.parse_args()
    names = args.scenario.split(",")
    for name in names:
        if name not in BODIES:
            parser.error(f"no such scenario: {name}")

    tracemalloc.start()
    # The warm-up, as bench-cli's: one-time costs outside the measured runs.
    for name in names:
        measure(name, min(args.tasks, WARM_UP_TASKS))
    scenarios = []
    for name in names:
        # Every run is sampled alike; the first one's samples are reported.
        runs = [measure(name, args.tasks, keep_samples=(run == 0)) for run in range(args.repeat)]
        scenarios.append({"name": name, "runs": runs})
    tracemalloc.stop()

    json.dump({"python": sys.version.split()[0], "scenarios": scenarios}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
