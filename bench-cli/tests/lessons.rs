//! The lessons, at a small N, with the exact counts each must give on ours (and what the peers
//! can show): when a cancelled task's memory does *not* come back at the next tick.

mod common;

use common::{number, report, scenario, signed};
use serde_json::Value;

const N: u64 = 200;

fn record<'a>(report: &'a Value, name: &str, runtime: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name && r["runtime"] == runtime)
        .unwrap_or_else(|| panic!("no {name} on {runtime}"))
}

/// The executor's fixed cost: the baseline's heap while it runs.
fn fixed(report: &Value) -> i64 {
    signed(report, "heap/fixed_bytes")
}

#[test]
fn husk_the_tick_drops_every_future_but_the_wakers_hold_every_cell_until_released() {
    let r = scenario("husk", 1000);
    assert_eq!(number(&r, "tasks/spawned"), 1000);
    let tick = &r["moments"]["after_tick"];
    assert_eq!(number(tick, "futures_dropped"), 1000);
    assert_eq!(number(tick, "tasks_freed"), 0);
    assert_eq!(number(tick, "husks"), 1000);
    assert_eq!(number(tick, "live_tasks"), 1000);
    assert_eq!(
        number(tick, "timers_live"),
        0,
        "the sleeps went with the futures"
    );
    let cell = number(tick, "husk_bytes") / 1000;
    assert!(
        cell >= 48 && number(tick, "husk_bytes") % 1000 == 0,
        "{cell} B a husk"
    );
    // The registry lets go: every cell freed, the heap back to the executor's fixed cost.
    let release = &r["moments"]["after_release"];
    assert_eq!(number(release, "tasks_freed"), 1000);
    assert_eq!(number(release, "husks"), 0);
    assert_eq!(number(release, "husk_bytes"), 0);
    assert_eq!(signed(release, "heap_bytes"), fixed(&r));
    assert_eq!(r["verdict"]["heap_back_to_start"], true);
    // The same on every run.
    assert_eq!(
        common::without_times(&r),
        common::without_times(&scenario("husk", 1000))
    );
}

#[test]
fn detach_nothing_is_freed_until_shutdown() {
    let r = scenario("detach", N);
    assert_eq!(
        number(&r, "tasks/registered_at_end"),
        0,
        "no scheduler entry"
    );
    assert_eq!(number(&r, "tasks/cancels_requested"), 0);
    let end = &r["moments"]["at_end"];
    assert_eq!(number(end, "futures_dropped"), 0);
    assert_eq!(number(end, "live_tasks"), N);
    assert_eq!(number(&r["moments"]["after_tick"], "futures_dropped"), 0);
    let shutdown = &r["moments"]["after_shutdown"];
    assert_eq!(number(shutdown, "futures_dropped"), N);
    assert_eq!(number(shutdown, "tasks_freed"), N);
    assert_eq!(signed(&r, "heap/after_shutdown_bytes"), 0);
}

#[test]
fn timeout_lets_go_of_every_timer_entry_with_its_loser() {
    let r = scenario("timeout", N);
    let end = &r["moments"]["at_end"];
    assert_eq!(number(end, "timers_live"), 0);
    assert_eq!(number(end, "futures_dropped"), N, "every work returned");
    assert_eq!(number(end, "tasks_freed"), N);
    assert_eq!(
        number(&r, "tasks/cancelled"),
        0,
        "nothing was cancelled: they finished"
    );
    assert_eq!(r["verdict"]["heap_back_to_start"], true);
}

#[test]
fn cycle_the_bytes_never_come_back_and_the_report_says_that_is_the_lesson() {
    let r = scenario("cycle", N);
    let tick = &r["moments"]["after_tick"];
    assert_eq!(number(tick, "futures_dropped"), N);
    assert_eq!(
        number(tick, "tasks_freed"),
        N,
        "the cells are freed at the tick"
    );
    // Two nodes a work, each an `Rc` box of two counts, a flagged edge and a 64-byte payload.
    let per_work = signed(&r, "verdict/bytes_not_returned") / N as i64;
    assert_eq!(
        per_work * N as i64,
        signed(&r, "verdict/bytes_not_returned")
    );
    assert!(per_work >= 2 * 64, "{per_work}");
    assert_eq!(signed(&r, "heap/after_shutdown_bytes"), per_work * N as i64);
    assert_eq!(r["verdict"]["heap_back_to_start"], false);
    assert_eq!(r["verdict"]["leak_is_the_lesson"], true);
    // Its weak variant gives every byte back.
    let weak = scenario("cycle-weak", N);
    assert_eq!(signed(&weak, "verdict/bytes_not_returned"), 0);
    assert_eq!(weak["verdict"]["leak_is_the_lesson"], false);
}

#[test]
fn cancel_now_drops_and_frees_inside_stop_on_ours_and_is_na_for_the_peers() {
    let r = report(&["-s", "test2,husk,detach", "-n", "300", "--cancel", "now"]);
    assert_eq!(r["cancel"], "now");
    let batch = record(&r, "cancel-batch", "ours");
    let after = &batch["moments"]["after_cancel"];
    assert_eq!(number(after, "futures_dropped"), 300);
    assert_eq!(number(after, "tasks_freed"), 300);
    assert_eq!(
        signed(after, "heap_bytes"),
        fixed(batch),
        "back inside stop()"
    );
    // With wakers parked, the future goes inside stop(), the cells stay: husks at once.
    let husk = &record(&r, "husk", "ours")["moments"]["after_cancel"];
    assert_eq!(number(husk, "futures_dropped"), 300);
    assert_eq!(number(husk, "husks"), 300);

    let next = report(&["-s", "test2", "-n", "300"]);
    let after = &record(&next, "cancel-batch", "ours")["moments"]["after_cancel"];
    assert_eq!(
        number(after, "futures_dropped"),
        0,
        "the study's semantics: next tick"
    );

    #[cfg(feature = "peers")]
    {
        let r = report(&[
            "-s",
            "test2,detach",
            "-n",
            "50",
            "--cancel",
            "now",
            "--runtime",
            "ours,tokio",
        ]);
        assert_eq!(
            r["not_applicable"],
            serde_json::json!(["cancel-batch/tokio"])
        );
        let runtimes: Vec<(&str, &str)> = r["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["name"].as_str().unwrap(), r["runtime"].as_str().unwrap()))
            .collect();
        assert_eq!(
            runtimes,
            [
                ("cancel-batch", "ours"),
                ("detach", "ours"),
                ("detach", "tokio")
            ],
            "detach cancels nothing: it runs on every runtime"
        );
        let text = common::run(&[
            "-s",
            "test2",
            "-n",
            "50",
            "--cancel",
            "now",
            "--runtime",
            "ours,tokio",
        ]);
        let text = String::from_utf8(text.stdout).unwrap();
        assert!(text.contains("n/a"), "{text}");
    }
}

#[cfg(feature = "peers")]
#[test]
fn the_peers_wakers_hold_their_tasks_too() {
    let r = report(&[
        "-s",
        "husk,cycle",
        "-n",
        "300",
        "--runtime",
        "ours,tokio,smol",
    ]);
    // tokio: letting go of the parked wakers gives the tasks back, as on ours.
    let husk = record(&r, "husk", "tokio");
    let tick = &husk["moments"]["after_tick"];
    let release = &husk["moments"]["after_release"];
    assert!(
        signed(release, "heap_bytes") < signed(tick, "heap_bytes") - 300 * 64,
        "tokio: {tick} → {release}"
    );
    // smol: async-io's reactor also keeps a waker per timer until it next turns, on its helper
    // thread, at a time of its own, and that thread's allocations count in the same heap
    // between the two moments: what comes back at the release is not a figure a test can
    // bound (a loaded machine saw 5,360 B come back where the registry alone held 8,192).
    // What is certain is that every byte is back at shutdown.
    let husk = record(&r, "husk", "smol");
    assert_eq!(signed(husk, "heap/after_shutdown_bytes"), 0);
    for runtime in ["tokio", "smol"] {
        let husk = record(&r, "husk", runtime);
        let tick = &husk["moments"]["after_tick"];
        assert_eq!(number(tick, "futures_dropped"), 300, "{runtime}");
        assert!(tick["husks"].is_null(), "{runtime} does not say");
        let cycle = record(&r, "cycle", runtime);
        assert_eq!(cycle["verdict"]["leak_is_the_lesson"], true, "{runtime}");
        assert!(cycle["gc"].is_null());
    }
}

#[test]
fn asyncio_reports_the_collectors_figures_and_frees_the_cycle() {
    if !common::python3_runs() {
        return;
    }
    let r = report(&[
        "-s",
        "cycle,husk,timeout",
        "-n",
        "150",
        "--runtime",
        "ours,asyncio",
        "--gc-threshold",
        "700,0,0",
    ]);
    let cycle = record(&r, "cycle", "asyncio");
    let gc = &cycle["gc"];
    assert_eq!(gc["threshold"], serde_json::json!([700, 0, 0]));
    assert_eq!(
        number(gc, "collected"),
        300,
        "two nodes a work, found by the collector"
    );
    assert_eq!(gc["count_before"].as_array().unwrap().len(), 3);
    assert_eq!(gc["count_after"], serde_json::json!([0, 0, 0]));
    // The collector freed the nodes (what little stays is asyncio's own grown tables).
    assert_eq!(cycle["verdict"]["leak_is_the_lesson"], false);
    assert!(
        signed(cycle, "verdict/bytes_not_returned")
            < signed(&cycle["moments"]["after_tick"], "heap_bytes") / 4,
        "{cycle}"
    );
    assert!(
        record(&r, "cycle", "ours")["gc"].is_null(),
        "ours has no collector"
    );
    let husk = record(&r, "husk", "asyncio");
    let (tick, release) = (
        signed(&husk["moments"]["after_tick"], "heap_bytes"),
        signed(&husk["moments"]["after_release"], "heap_bytes"),
    );
    assert!(
        release < tick,
        "the registry held the tasks: {tick} → {release}"
    );
    assert!(
        record(&r, "timeout", "asyncio")["moments"]["at_end"]["timers_live"].is_u64(),
        "asyncio's timer handles are counted"
    );
    let text = String::from_utf8(
        common::run(&["-s", "cycle", "-n", "20", "--runtime", "ours,asyncio"]).stdout,
    )
    .unwrap();
    assert!(text.contains("no GC"), "{text}");
}
