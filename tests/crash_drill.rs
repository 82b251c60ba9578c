//! Crash matrix of the quarterly drill, through the real binary.
//!
//! A clean drill first gives the reference: its journal length, its outcome
//! and the resources it created and deleted. Then, for every journal record
//! N of that run, a drill runs with `DRCTL_FAULTS=crash-after:N` (the process
//! aborts right after record N is fsynced) and `drctl resume` finishes it.
//! A few more drills are killed with SIGKILL at points spread over a clean
//! run's duration. Every interrupted drill must end like the clean one: the
//! same outcome, the same resources (ids compared with the run id replaced),
//! each created by exactly one accepted Restore*/Create*/Copy* call, and
//! nothing tagged with its run id left in either region.
//!
//! The matrix runs on a private estate at 600 simulated seconds per real
//! second, four kill points at a time, each with its own tenant, state
//! directory and run id.

mod support;

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use drctl_testkit::{Estate, EstateOptions};
use support::cli::{Drctl, assert_no_panic, describe, duplicate_creates, journal_resources, leftovers};

/// Simulated seconds per real second of this binary's private estate.
const TIME_SCALE: f64 = 600.0;
/// Kill points that run at once; each is a drctl process polling the emulator.
const CONCURRENCY: usize = 4;
/// SIGKILL points, spread evenly over a clean run's duration.
const SIGKILL_POINTS: usize = 12;
/// Resumes allowed per kill point before it counts as failed.
const MAX_RESUMES: usize = 4;

const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;

fn estate() -> &'static Estate {
    static ESTATE: OnceLock<Estate> = OnceLock::new();
    ESTATE.get_or_init(|| {
        Estate::launch(&EstateOptions { time_scale: TIME_SCALE, seed: true, postgres: true })
            .unwrap_or_else(|error| panic!("the crash-matrix estate failed to start: {error}"))
    })
}

/// The two tests of this binary each keep four drills busy; one at a time.
static HEAVY: Mutex<()> = Mutex::new(());

/// What a drill left behind, with the run id replaced by `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Footprint {
    outcome: String,
    /// (type, id, region) of resources created or adopted.
    kept: BTreeSet<(String, String, String)>,
    /// (type, id, region) of resources deleted.
    deleted: BTreeSet<(String, String, String)>,
}

fn footprint(journal: &[serde_json::Value], run_id: &str) -> Footprint {
    let outcome = journal
        .iter()
        .rev()
        .find(|r| r["type"] == "run_finished")
        .map(|r| r["outcome"]["kind"].as_str().unwrap_or("?").to_string())
        .unwrap_or_else(|| "unfinished".to_string());
    let mut kept = BTreeSet::new();
    let mut deleted = BTreeSet::new();
    for (event, kind, id, region) in journal_resources(journal, run_id) {
        match event.as_str() {
            "created" | "adopted" => kept.insert((kind, id, region)),
            _ => deleted.insert((kind, id, region)),
        };
    }
    Footprint { outcome, kept, deleted }
}

struct Reference {
    records: usize,
    duration: Duration,
    footprint: Footprint,
}

/// Runs one clean drill on the private estate.
fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let estate = estate();
        let tenant = estate.tenant("clean");
        let drctl = Drctl::new(estate, &tenant);
        let run_id = format!("cl{}", std::process::id());
        let started = Instant::now();
        let output = drctl.run_owned(&drctl.drill_args(&run_id));
        let duration = started.elapsed();
        assert_no_panic(&output, "clean drill");
        assert!(matches!(output.status.code(), Some(0 | 8)), "the clean drill failed\n{}", describe(&output));
        let journal = drctl.journal(&run_id);
        let footprint = footprint(&journal, &run_id);
        assert!(!footprint.kept.is_empty(), "the clean drill recorded no resources");
        assert_eq!(footprint.kept, footprint.deleted, "the clean drill's cleanup did not delete what it created");
        let left = leftovers(&estate.tenant("clean-check"), &run_id);
        assert!(left.is_empty(), "the clean drill left resources behind: {left:#?}");
        eprintln!("clean drill: {} journal records in {duration:.1?}, outcome {}", journal.len(), footprint.outcome);
        Reference { records: journal.len(), duration, footprint }
    })
}

/// Finishes an interrupted drill and checks it against the reference.
/// `first` is the output of the interrupted process.
fn check_recovery(drctl: &Drctl, inspector_name: &str, run_id: &str, first: &Output) -> Result<(), String> {
    let reference = reference();
    if let Some(code) = first.status.code() {
        if code == 101 || String::from_utf8_lossy(&first.stderr).contains("panicked") {
            return Err(format!("the interrupted drill panicked\n{}", describe(first)));
        }
    }
    let finished_already = drctl.journal_exists(run_id)
        && drctl.journal(run_id).iter().any(|r| r["type"] == "run_finished");
    if !finished_already {
        let resumed = drctl.resume_until_finished(run_id, MAX_RESUMES);
        if resumed.status.code() == Some(101) || String::from_utf8_lossy(&resumed.stderr).contains("panicked") {
            return Err(format!("resume panicked\n{}", describe(&resumed)));
        }
        if !drctl.journal_exists(run_id) {
            // A crash before the journal was created leaves nothing to resume; the drill starts again.
            return Err(format!("no journal to resume\n{}", describe(&resumed)));
        }
    }

    let estate = estate();
    let footprint = footprint(&drctl.journal(run_id), run_id);
    let mut problems = Vec::new();
    if footprint != reference.footprint {
        problems.push(format!("footprint differs from the clean run:\n  got      {footprint:?}\n  expected {:?}", reference.footprint));
    }
    let tenant_requests = drctl.tenant_requests();
    let duplicates = duplicate_creates(&tenant_requests);
    if !duplicates.is_empty() {
        problems.push(format!("resources created more than once: {duplicates:?}"));
    }
    let left = leftovers(&estate.tenant(inspector_name), run_id);
    if !left.is_empty() {
        problems.push(format!("left behind: {left:?}"));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

/// Runs `points` on `CONCURRENCY` threads and returns the failures by point.
fn run_points<P: Sync>(points: &[P], run: impl Fn(&P) -> Result<(), String> + Sync) -> Vec<(usize, String)> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(point) = points.get(index) else { break };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(point)))
                        .unwrap_or_else(|panic| Err(format!("the check panicked: {:?}", panic.downcast_ref::<String>())));
                    if let Err(message) = result {
                        failures.lock().unwrap().push((index, message));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort_by_key(|(index, _)| *index);
    failures
}

#[test]
fn crash_after_every_journal_record() {
    let _heavy = HEAVY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let reference = reference();
    let points: Vec<usize> = (1..=reference.records).collect();
    let started = Instant::now();

    let crashed = AtomicUsize::new(0);
    let failures = run_points(&points, |&n| {
        let estate = estate();
        let tenant = estate.tenant(&format!("crash{n}"));
        let drctl = Drctl::new(estate, &tenant);
        let run_id = format!("c{n}x{}", std::process::id() % 100_000);
        let first = drctl
            .command()
            .args(drctl.drill_args(&run_id))
            .env("DRCTL_FAULTS", format!("crash-after:{n}"))
            .output()
            .expect("start drctl");
        let aborted = first.status.signal() == Some(SIGABRT);
        if aborted {
            crashed.fetch_add(1, Ordering::Relaxed);
        }
        let stderr = String::from_utf8_lossy(&first.stderr);
        if aborted && !stderr.contains(&format!("injected crash after journal record {n}")) {
            return Err(format!("crash-after:{n}: the process aborted, but not at the injected crash\n{}", describe(&first)));
        }
        check_recovery(&drctl, &format!("crash{n}-check"), &run_id, &first).map_err(|e| format!("crash-after:{n}: {e}"))
    });

    let passed = points.len() - failures.len();
    let crashed = crashed.into_inner();
    eprintln!(
        "crash-after points passed: {passed}/{} ({crashed} aborted at the injected crash) in {:.0?}",
        points.len(),
        started.elapsed()
    );
    // A run may write a few records fewer than the reference; its last points then finish without a crash.
    assert!(crashed + 3 >= points.len(), "only {crashed} of {} drills crashed; the fault was not applied", points.len());
    let report: Vec<String> = failures.iter().map(|(_, message)| message.clone()).collect();
    assert!(failures.is_empty(), "{} of {} crash points failed:\n{}", failures.len(), points.len(), report.join("\n\n"));
}

#[test]
fn sigkill_at_spread_times() {
    let _heavy = HEAVY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let reference = reference();
    // Kill points from 5 % to 95 % of a clean run's duration.
    let delays: Vec<Duration> = (0..SIGKILL_POINTS)
        .map(|i| reference.duration.mul_f64(0.05 + 0.9 * i as f64 / (SIGKILL_POINTS - 1) as f64))
        .collect();
    let started = Instant::now();

    let killed = AtomicUsize::new(0);
    let failures = run_points(&delays, |delay| {
        let estate = estate();
        let millis = delay.as_millis();
        let tenant = estate.tenant(&format!("kill{millis}"));
        let drctl = Drctl::new(estate, &tenant);
        let run_id = format!("k{millis}x{}", std::process::id() % 100_000);
        let mut child = drctl
            .command()
            .args(drctl.drill_args(&run_id))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start drctl");
        std::thread::sleep(*delay);
        // Child::kill sends SIGKILL; an error means the drill already ended.
        let _ = child.kill();
        let first = child.wait_with_output().expect("wait for drctl");
        if first.status.signal() == Some(SIGKILL) {
            killed.fetch_add(1, Ordering::Relaxed);
        }
        check_recovery(&drctl, &format!("kill{millis}-check"), &run_id, &first)
            .map_err(|e| format!("SIGKILL after {delay:.2?} (signal {:?}): {e}", first.status.signal()))
    });

    let passed = delays.len() - failures.len();
    let killed = killed.into_inner();
    eprintln!("SIGKILL points passed: {passed}/{} ({killed} killed before the drill ended) in {:.0?}", delays.len(), started.elapsed());
    assert!(killed * 2 >= delays.len(), "only {killed} of {} drills were still running when killed", delays.len());
    let report: Vec<String> = failures.iter().map(|(_, message)| message.clone()).collect();
    assert!(failures.is_empty(), "{} of {} SIGKILL points failed:\n{}", failures.len(), delays.len(), report.join("\n\n"));
}
