//! Behaviour of the executor on the paused tokio clock, driven by fake actions.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use drctl_executor::{
    ActionError, ApprovalDecision, Approver, ErrorClass, Event, Executor, ExecutorError, FailurePolicy, FaultPlan,
    FileStore, JournalError, JournalStore, ManualActionKind, MemoryStore, Record, RtoLevel, RunOutcome, SkipCause,
    StepStatus, UndoStatus, parse_journal, read_journal, replay,
};
use support::{Fakes, Resolver, Script, TableApprover, drain, plan, step};
use tokio::time::Instant;

fn executor(fakes: &Arc<Fakes>) -> Executor {
    Executor::new(Arc::new(Resolver(fakes.clone())), Arc::new(TableApprover::default()))
}

fn executor_with(fakes: &Arc<Fakes>, approver: Arc<dyn Approver>) -> Executor {
    Executor::new(Arc::new(Resolver(fakes.clone())), approver)
}

fn store() -> (MemoryStore, Box<dyn JournalStore>) {
    let store = MemoryStore::new();
    (store.clone(), Box::new(store))
}

fn records(store: &MemoryStore) -> Vec<Record> {
    parse_journal(&store.text()).unwrap().entries.into_iter().map(|entry| entry.record).collect()
}

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test(start_paused = true)]
async fn parallel_limit_is_respected() {
    let fakes = Fakes::new();
    for id in ["a", "b", "c", "d"] {
        fakes.script(id, Script { duration: seconds(10), ..Script::default() });
    }
    let mut plan = plan(vec![step("a", &[]), step("b", &[]), step("c", &[]), step("d", &[])]);
    plan.max_parallel = 2;

    let start = Instant::now();
    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan).await.unwrap();

    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(fakes.max_running.load(Ordering::SeqCst), 2);
    assert_eq!(start.elapsed(), seconds(20));
}

#[tokio::test(start_paused = true)]
async fn independent_steps_run_in_parallel() {
    let fakes = Fakes::new();
    for id in ["a", "b", "c"] {
        fakes.script(id, Script { duration: seconds(10), ..Script::default() });
    }
    let start = Instant::now();
    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan(vec![step("a", &[]), step("b", &[]), step("c", &["a", "b"])])).await.unwrap();

    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(fakes.max_running.load(Ordering::SeqCst), 2);
    assert_eq!(start.elapsed(), seconds(20), "c starts only after a and b");
    let log = fakes.log();
    let c_start = log.iter().position(|e| e == "run:c").unwrap();
    assert!(log.iter().position(|e| e == "end:a").unwrap() < c_start);
    assert!(log.iter().position(|e| e == "end:b").unwrap() < c_start);
}

#[tokio::test(start_paused = true)]
async fn skip_reasons_are_journalled() {
    let fakes = Fakes::new();
    fakes.script("b", Script { skip: Some("source region healthy".into()), ..Script::default() });
    fakes.script("d", Script { errors: vec![ActionError::fatal("boom")], ..Script::default() });
    let mut d = step("d", &[]);
    d.on_failure = FailurePolicy::Continue;
    let steps = vec![step("a", &[]), step("b", &["a"]), step("c", &["b"]), d, step("e", &["d"]), step("f", &["e"])];

    let (memory, journal) = store();
    let report = executor(&fakes).run(journal, plan(steps)).await.unwrap();

    let state = &report.state;
    assert_eq!(state.steps["b"].status, StepStatus::Skipped);
    assert_eq!(state.steps["b"].skip, Some((SkipCause::Condition, "source region healthy".to_string())));
    assert_eq!(state.steps["c"].status, StepStatus::Succeeded, "a condition skip does not skip dependents");
    assert_eq!(state.steps["e"].skip, Some((SkipCause::DependencyFailed, "needs step `d`, which failed".to_string())));
    assert_eq!(
        state.steps["f"].skip,
        Some((SkipCause::DependencyFailed, "needs step `e`, which was skipped after a failure".to_string()))
    );
    assert_eq!(report.outcome, Some(RunOutcome::Failed { failed_steps: vec!["d".into()] }));
    assert_eq!(replay(&parse_journal(&memory.text()).unwrap().entries).unwrap(), report.state);
}

#[tokio::test(start_paused = true)]
async fn timeout_fails_the_step() {
    let fakes = Fakes::new();
    fakes.script("slow", Script { duration: seconds(3600), ..Script::default() });
    let mut slow = step("slow", &[]);
    slow.timeout = seconds(60);
    slow.retry.attempts = 3;

    let start = Instant::now();
    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan(vec![slow, step("after", &["slow"])])).await.unwrap();

    let slow = &report.state.steps["slow"];
    assert_eq!(slow.status, StepStatus::Failed);
    assert_eq!(slow.error.as_ref().unwrap().class, ErrorClass::Timeout);
    assert_eq!(slow.attempts, 1, "a timeout is not retried");
    assert_eq!(slow.duration(), Some(seconds(60)));
    assert_eq!(start.elapsed(), seconds(60));
    assert_eq!(report.state.steps["after"].status, StepStatus::Skipped);
}

#[tokio::test(start_paused = true)]
async fn timeout_covers_every_attempt() {
    let fakes = Fakes::new();
    let busy = (0..10).map(|_| ActionError::transitional("cluster is modifying")).collect();
    fakes.script("a", Script { duration: seconds(20), errors: busy, ..Script::default() });
    let mut a = step("a", &[]);
    a.timeout = seconds(90);
    a.retry.attempts = 10;
    a.retry.jitter = false;
    a.retry.initial = seconds(5);
    a.retry.max = seconds(5);

    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan(vec![a])).await.unwrap();

    let a = &report.state.steps["a"];
    assert_eq!(a.error.as_ref().unwrap().class, ErrorClass::Timeout);
    // Attempts take 20 s plus a 5 s delay: the fourth attempt is cut at 90 s.
    assert_eq!(a.attempts, 4);
    assert_eq!(a.duration(), Some(seconds(90)));
}

#[tokio::test(start_paused = true)]
async fn injected_timeout_fault_times_out() {
    let fakes = Fakes::new();
    let mut a = step("a", &[]);
    a.timeout = seconds(30);
    let (_, journal) = store();
    let report = executor(&fakes)
        .with_faults(FaultPlan::parse("timeout:a").unwrap())
        .run(journal, plan(vec![a]))
        .await
        .unwrap();

    assert_eq!(report.state.steps["a"].error.as_ref().unwrap().class, ErrorClass::Timeout);
    assert_eq!(fakes.count("run:a"), 0, "the fault replaces the action");
}

#[tokio::test(start_paused = true)]
async fn retryable_errors_are_retried() {
    let fakes = Fakes::new();
    let errors = vec![ActionError::retryable("Throttling"), ActionError::transitional("InvalidDBClusterStateFault")];
    fakes.script("a", Script { errors, ..Script::default() });
    let mut a = step("a", &[]);
    a.retry.attempts = 3;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (memory, journal) = store();
    let report = executor(&fakes).with_events(tx).run(journal, plan(vec![a])).await.unwrap();

    let a = &report.state.steps["a"];
    assert_eq!(a.status, StepStatus::Succeeded);
    assert_eq!(a.attempts, 3);
    assert_eq!(a.failed_attempts.len(), 2);
    assert!(a.failed_attempts.iter().all(|f| f.retry_in.is_some()));
    // Delays grow from 1 s by 2, and jitter adds at most the delay itself.
    let first = a.failed_attempts[0].retry_in.unwrap();
    let second = a.failed_attempts[1].retry_in.unwrap();
    assert!(first >= seconds(1), "{first:?}");
    assert!(first <= seconds(2), "{first:?}");
    assert!(second >= seconds(2), "{second:?}");
    assert!(second <= seconds(4), "{second:?}");

    let retries = drain(&mut rx).into_iter().filter(|e| matches!(e, Event::StepRetrying { .. })).count();
    assert_eq!(retries, 2);
    let attempt_failed = records(&memory).iter().filter(|r| matches!(r, Record::AttemptFailed { .. })).count();
    assert_eq!(attempt_failed, 2);
}

#[tokio::test(start_paused = true)]
async fn fatal_errors_are_not_retried() {
    let fakes = Fakes::new();
    fakes.script("a", Script { errors: vec![ActionError::fatal("AccessDenied")], ..Script::default() });
    let mut a = step("a", &[]);
    a.retry.attempts = 5;

    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan(vec![a])).await.unwrap();

    let a = &report.state.steps["a"];
    assert_eq!(a.status, StepStatus::Failed);
    assert_eq!(a.attempts, 1);
    assert_eq!(a.error, Some(ActionError::fatal("AccessDenied")));
    assert_eq!(fakes.count("run:a"), 1);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_attempt_limit() {
    let fakes = Fakes::new();
    let errors = (0..5).map(|i| ActionError::retryable(format!("503 #{i}"))).collect();
    fakes.script("a", Script { errors, ..Script::default() });
    let mut a = step("a", &[]);
    a.retry.attempts = 2;

    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan(vec![a])).await.unwrap();

    let a = &report.state.steps["a"];
    assert_eq!(a.status, StepStatus::Failed);
    assert_eq!(a.attempts, 2);
    assert_eq!(a.error, Some(ActionError::retryable("503 #1")));
    assert!(a.failed_attempts[1].retry_in.is_none());
}

#[tokio::test(start_paused = true)]
async fn abort_policy_stops_new_steps() {
    let fakes = Fakes::new();
    fakes.script("a", Script { duration: seconds(1), errors: vec![ActionError::fatal("boom")], ..Script::default() });
    fakes.script("b", Script { duration: seconds(30), ..Script::default() });
    let mut cleanup = step("cleanup", &["b", "c"]);
    cleanup.always = true;
    let mut plan = plan(vec![step("a", &[]), step("b", &[]), step("c", &[]), cleanup]);
    plan.max_parallel = 2;

    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan).await.unwrap();

    let steps = &report.state.steps;
    assert_eq!(steps["a"].status, StepStatus::Failed);
    assert_eq!(steps["b"].status, StepStatus::Succeeded, "running steps finish");
    assert_eq!(steps["c"].status, StepStatus::Skipped);
    assert_eq!(steps["c"].skip.as_ref().unwrap().0, SkipCause::RunAborted);
    assert_eq!(steps["cleanup"].status, StepStatus::Succeeded, "always-steps run after a failure");
    assert_eq!(report.outcome, Some(RunOutcome::Failed { failed_steps: vec!["a".into()] }));
}

#[tokio::test(start_paused = true)]
async fn always_step_waits_for_running_ancestors() {
    // restore -> verify -> cleanup(always); copy fails while restore still runs.
    // verify is skipped at once, but cleanup must not start (and delete what
    // restore is creating) until restore has finished.
    let fakes = Fakes::new();
    fakes.script("restore", Script { duration: seconds(30), ..Script::default() });
    fakes.script("copy", Script { duration: seconds(1), errors: vec![ActionError::fatal("boom")], ..Script::default() });
    let mut cleanup = step("cleanup", &["verify"]);
    cleanup.always = true;
    let plan = plan(vec![step("restore", &[]), step("copy", &[]), step("verify", &["restore", "copy"]), cleanup]);

    let (memory, journal) = store();
    let report = executor(&fakes).run(journal, plan).await.unwrap();

    assert_eq!(report.state.steps["restore"].status, StepStatus::Succeeded);
    assert_eq!(report.state.steps["cleanup"].status, StepStatus::Succeeded);
    let order: Vec<String> = records(&memory)
        .into_iter()
        .filter_map(|record| match record {
            Record::StepSucceeded { step } if step == "restore" => Some("restore done".to_string()),
            Record::StepStarted { step, .. } if step == "cleanup" => Some("cleanup started".to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec!["restore done", "cleanup started"]);
}

#[tokio::test(start_paused = true)]
async fn cleanup_time_does_not_count_against_rto() {
    // Recovery takes 20 s of a 30 s RTO; the always-step cleanup takes 60 s more.
    let fakes = Fakes::new();
    fakes.script("restore", Script { duration: seconds(20), ..Script::default() });
    fakes.script("cleanup", Script { duration: seconds(60), ..Script::default() });
    let mut restore = step("restore", &[]);
    restore.expected = Some(seconds(20));
    let mut cleanup = step("cleanup", &["restore"]);
    cleanup.always = true;
    let mut plan = plan(vec![restore, cleanup]);
    plan.rto_target = seconds(30);
    plan.rto_warning = seconds(25);

    let (memory, journal) = store();
    let report = executor(&fakes).with_forecast_interval(seconds(1)).run(journal, plan).await.unwrap();

    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    let warnings = records(&memory).into_iter().filter(|record| matches!(record, Record::RtoWarning(_))).count();
    assert_eq!(warnings, 0, "cleanup after the recovery must not raise RTO warnings");
    let finished = records(&memory).into_iter().rev().find_map(|record| match record {
        Record::RunFinished { .. } => Some(()),
        _ => None,
    });
    assert!(finished.is_some());
}

#[tokio::test(start_paused = true)]
async fn continue_policy_runs_independent_branches() {
    let fakes = Fakes::new();
    fakes.script("a", Script { errors: vec![ActionError::fatal("boom")], ..Script::default() });
    let mut a = step("a", &[]);
    a.on_failure = FailurePolicy::Continue;
    let mut plan = plan(vec![a, step("b", &["a"]), step("c", &[]), step("d", &["c"])]);
    plan.max_parallel = 1;

    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan).await.unwrap();

    let steps = &report.state.steps;
    assert_eq!(steps["b"].skip.as_ref().unwrap().0, SkipCause::DependencyFailed);
    assert_eq!(steps["c"].status, StepStatus::Succeeded);
    assert_eq!(steps["d"].status, StepStatus::Succeeded);
    assert_eq!(report.outcome, Some(RunOutcome::Failed { failed_steps: vec!["a".into()] }));
}

#[tokio::test(start_paused = true)]
async fn undo_policy_unwinds_in_reverse() {
    let fakes = Fakes::new();
    fakes.script("x", Script { duration: seconds(5), ..Script::default() });
    fakes.script("a", Script { duration: seconds(1), ..Script::default() });
    fakes.script("b", Script { duration: seconds(10), ..Script::default() });
    fakes.script("c", Script { errors: vec![ActionError::fatal("restore test failed")], ..Script::default() });
    let mut c = step("c", &["b"]);
    c.on_failure = FailurePolicy::Undo;
    let mut notify = step("notify", &["c"]);
    notify.always = true;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (memory, journal) = store();
    let report = executor(&fakes)
        .with_events(tx)
        .run(journal, plan(vec![step("a", &[]), step("x", &[]), step("b", &["a"]), c, notify]))
        .await
        .unwrap();

    let undos: Vec<String> = fakes.log().into_iter().filter(|e| e.starts_with("undo:")).collect();
    // Success order is a (1 s), x (5 s), b (11 s); undo reverses it.
    assert_eq!(undos, vec!["undo:b", "undo:x", "undo:a"]);
    assert_eq!(report.outcome, Some(RunOutcome::RolledBack { failed_steps: vec!["c".into()] }));
    assert!(report.manual_actions.is_empty());
    for id in ["a", "b", "x"] {
        assert_eq!(report.state.steps[id].undo, UndoStatus::Succeeded, "{id}");
    }
    assert_eq!(report.state.steps["notify"].undo, UndoStatus::NotStarted, "always-steps are not undone");

    // The always-step runs after the undo phase.
    let log = fakes.log();
    assert!(log.iter().position(|e| e == "undo:a").unwrap() < log.iter().position(|e| e == "run:notify").unwrap());
    assert!(records(&memory).iter().any(|r| matches!(r, Record::UnwindStarted { failed_step } if failed_step == "c")));
    let undo_events = drain(&mut rx).into_iter().filter(|e| matches!(e, Event::UndoSucceeded { .. })).count();
    assert_eq!(undo_events, 3);
}

#[tokio::test(start_paused = true)]
async fn failing_undo_becomes_manual_action() {
    let fakes = Fakes::new();
    let mut c = step("c", &["b"]);
    c.on_failure = FailurePolicy::Undo;
    let steps = vec![step("a", &[]), step("b", &["a"]), step("other", &[]), c];
    let mut plan = plan(steps);
    plan.max_parallel = 1;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (memory, journal) = store();
    let report = executor(&fakes)
        .with_events(tx)
        .with_faults(FaultPlan::parse("fail:c,fail-undo:b").unwrap())
        .run(journal, plan)
        .await
        .unwrap();

    assert_eq!(fakes.count("undo:a"), 0, "a is not undone under a live dependent");
    assert_eq!(fakes.count("undo:other"), 1, "other branches still unwind");
    assert!(matches!(report.state.steps["b"].undo, UndoStatus::Failed { .. }));
    assert_eq!(report.state.steps["a"].undo, UndoStatus::NotStarted);

    let kinds: Vec<(String, ManualActionKind)> = report.manual_actions.iter().map(|m| (m.step.clone(), m.kind)).collect();
    assert_eq!(kinds, vec![("b".into(), ManualActionKind::UndoFailed), ("a".into(), ManualActionKind::UndoBlocked)]);
    assert!(report.manual_actions[0].message.contains("fail-undo:b"), "{}", report.manual_actions[0].message);

    let finished = drain(&mut rx).into_iter().find_map(|e| match e {
        Event::RunFinished { manual_actions, .. } => Some(manual_actions),
        _ => None,
    });
    assert_eq!(finished.unwrap(), report.manual_actions);
    let journalled = records(&memory).into_iter().find_map(|r| match r {
        Record::RunFinished { manual_actions, .. } => Some(manual_actions),
        _ => None,
    });
    assert_eq!(journalled.unwrap(), report.manual_actions);
}

#[tokio::test(start_paused = true)]
async fn always_steps_run_after_cancel() {
    let fakes = Fakes::new();
    fakes.script("a", Script { hang: true, ..Script::default() });
    fakes.script("cleanup", Script { duration: seconds(5), ..Script::default() });
    let mut cleanup = step("cleanup", &["b"]);
    cleanup.always = true;

    let executor = executor(&fakes);
    let cancel = executor.cancel_handle();
    tokio::spawn(async move {
        tokio::time::sleep(seconds(30)).await;
        cancel.cancel();
    });
    let (memory, journal) = store();
    let report = executor.run(journal, plan(vec![step("a", &[]), step("b", &["a"]), cleanup])).await.unwrap();

    assert_eq!(report.outcome, Some(RunOutcome::Cancelled));
    let steps = &report.state.steps;
    assert_eq!(steps["a"].status, StepStatus::Running, "a cancelled step stays resumable");
    assert_eq!(steps["b"].status, StepStatus::Pending);
    assert_eq!(steps["cleanup"].status, StepStatus::Succeeded);
    assert!(fakes.saw_cancel.lock().unwrap()["a"]);
    assert!(!fakes.saw_cancel.lock().unwrap()["cleanup"], "always-steps see only an abort");
    assert!(records(&memory).iter().any(|r| matches!(r, Record::RunInterrupted { .. })));

    // A cancelled run can be resumed and finishes the rest.
    fakes.script("a", Script::default());
    let resumed = executor_with(&fakes, Arc::new(TableApprover::default()))
        .resume(Box::new(memory.clone()), plan(vec![step("a", &[]), step("b", &["a"]), {
            let mut cleanup = step("cleanup", &["b"]);
            cleanup.always = true;
            cleanup
        }]))
        .await
        .unwrap();
    assert_eq!(resumed.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(
        fakes.count("run:cleanup"),
        2,
        "the resumed run did more work after the cleanup, so the cleanup runs again at its end"
    );
    let log = fakes.log();
    let last_b = log.iter().rposition(|entry| entry == "run:b").unwrap();
    let last_cleanup = log.iter().rposition(|entry| entry == "run:cleanup").unwrap();
    assert!(last_cleanup > last_b, "cleanup must run after the resumed work: {log:?}");
    assert!(records(&memory).iter().any(|r| matches!(r, Record::StepReset { step } if step == "cleanup")));
}

#[tokio::test(start_paused = true)]
async fn abort_stops_at_once_and_stays_resumable() {
    let fakes = Fakes::new();
    fakes.script("a", Script { duration: seconds(3600), ..Script::default() });
    let executor = executor(&fakes);
    let cancel = executor.cancel_handle();
    tokio::spawn(async move {
        tokio::time::sleep(seconds(10)).await;
        cancel.cancel();
        cancel.cancel();
    });
    let (memory, journal) = store();
    let start = Instant::now();
    let report = executor.run(journal, plan(vec![step("a", &[])])).await.unwrap();

    assert_eq!(report.outcome, None);
    assert_eq!(start.elapsed(), seconds(10));
    assert_eq!(report.state.steps["a"].status, StepStatus::Running);
    assert!(!records(&memory).iter().any(|r| matches!(r, Record::RunFinished { .. })));
}

#[tokio::test(start_paused = true)]
async fn approval_granted_is_journalled() {
    let fakes = Fakes::new();
    let mut a = step("a", &[]);
    a.approval = true;
    let approver = TableApprover::with("a", ApprovalDecision::Granted { by: "alice".into() });
    let (_, journal) = store();
    let report = executor_with(&fakes, approver.clone()).run(journal, plan(vec![a])).await.unwrap();

    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(report.state.steps["a"].approval, Some(ApprovalDecision::Granted { by: "alice".into() }));
    assert_eq!(*approver.requested.lock().unwrap(), vec!["a".to_string()]);
}

#[tokio::test(start_paused = true)]
async fn approval_denied_fails_the_step() {
    let fakes = Fakes::new();
    let mut a = step("a", &[]);
    a.approval = true;
    let (_, journal) = store();
    let report = executor_with(&fakes, TableApprover::with("a", ApprovalDecision::Denied))
        .run(journal, plan(vec![a, step("b", &["a"])]))
        .await
        .unwrap();

    assert_eq!(report.state.steps["a"].status, StepStatus::Failed);
    assert_eq!(report.state.steps["a"].error, Some(ActionError::fatal("approval denied")));
    assert_eq!(fakes.count("run:a"), 0);
    assert_eq!(report.state.steps["b"].status, StepStatus::Skipped);
}

#[tokio::test(start_paused = true)]
async fn approval_unavailable_stops_at_gate() {
    let fakes = Fakes::new();
    let mut gated = step("gated", &["a"]);
    gated.approval = true;
    let mut notify = step("notify", &["gated"]);
    notify.always = true;
    let steps = vec![step("a", &[]), gated, step("after", &["gated"]), notify];

    let (memory, journal) = store();
    let report = executor_with(&fakes, Arc::new(TableApprover::default())).run(journal, plan(steps.clone())).await.unwrap();

    assert_eq!(report.outcome, Some(RunOutcome::AwaitingApproval { step: "gated".into() }));
    assert_eq!(report.state.steps["gated"].status, StepStatus::Pending);
    assert_eq!(report.state.steps["notify"].status, StepStatus::Pending, "always-steps wait for the resumed run");

    let approver = TableApprover::with("gated", ApprovalDecision::Granted { by: "bob".into() });
    let resumed = executor_with(&fakes, approver).resume(Box::new(memory), plan(steps)).await.unwrap();
    assert_eq!(resumed.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(fakes.count("run:a"), 1);
    assert_eq!(fakes.count("run:gated"), 1);
    assert_eq!(resumed.state.steps["gated"].approval, Some(ApprovalDecision::Granted { by: "bob".into() }));
}

#[tokio::test(start_paused = true)]
async fn rto_warning_is_raised_mid_run() {
    let fakes = Fakes::new();
    fakes.script("a", Script { duration: seconds(30 * 60), ..Script::default() });
    let mut a = step("a", &[]);
    a.expected = Some(seconds(5 * 60));
    let mut b = step("b", &["a"]);
    b.expected = Some(seconds(5 * 60));
    let mut plan = plan(vec![a, b]);
    plan.rto_warning = seconds(12 * 60);
    plan.rto_target = seconds(20 * 60);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (memory, journal) = store();
    let report = executor(&fakes).with_events(tx).with_forecast_interval(seconds(60)).run(journal, plan).await.unwrap();

    // Projection while a runs: t + max(5 min - t, 0) + 5 min. It passes
    // 12 min at t = 7 min and 20 min at t = 15 min; checks run every minute.
    let entries = parse_journal(&memory.text()).unwrap().entries;
    let a_done = entries.iter().find(|e| matches!(&e.record, Record::StepSucceeded { step } if step == "a")).unwrap();
    let warnings: Vec<_> = entries
        .iter()
        .filter_map(|e| match &e.record {
            Record::RtoWarning(w) => Some((e.seq, e.time, w.level)),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 2);
    assert_eq!(warnings[0].2, RtoLevel::Warning);
    assert_eq!(warnings[0].1 - support::t0(), chrono::Duration::minutes(8));
    assert_eq!(warnings[1].2, RtoLevel::Breach);
    assert_eq!(warnings[1].1 - support::t0(), chrono::Duration::minutes(16));
    assert!(warnings.iter().all(|(seq, _, _)| *seq < a_done.seq), "raised before step a finished");

    let events = drain(&mut rx);
    assert!(events.iter().any(|e| matches!(e, Event::RtoForecast(f) if f.projected > seconds(12 * 60))));
    assert_eq!(events.iter().filter(|e| matches!(e, Event::RtoWarning(_))).count(), 2);
    let Some(Event::RunFinished { summary, .. }) = events.last() else { panic!("last event is not run_finished") };
    assert!(!summary.rto_met);
    assert_eq!(summary.recovery_time, seconds(30 * 60));
    assert_eq!(report.state.rto_warnings.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn dry_run_calls_dry_run_only() {
    let fakes = Fakes::new();
    let mut b = step("b", &["a"]);
    b.approval = true;
    b.on_failure = FailurePolicy::Undo;
    let mut plan = plan(vec![step("a", &[]), b]);
    plan.dry_run = true;

    let (_, journal) = store();
    let report = executor(&fakes).run(journal, plan).await.unwrap();

    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(fakes.log(), vec!["dry:a", "dry:b"]);
    assert_eq!(report.state.steps["a"].outputs.as_ref().unwrap()["dry_run"], serde_json::json!(["would run a"]));
    assert_eq!(report.state.steps["b"].approval, None, "a dry run asks nobody");
}

#[tokio::test(start_paused = true)]
async fn resume_reenters_started_step_with_notes() {
    let fakes = Fakes::new();
    fakes.script("b", Script { duration: seconds(3600), ..Script::default() });
    let steps = vec![step("a", &[]), step("b", &["a"]), step("c", &["b"])];

    let executor1 = executor(&fakes);
    let cancel = executor1.cancel_handle();
    tokio::spawn(async move {
        tokio::time::sleep(seconds(60)).await;
        cancel.abort();
    });
    let (memory, journal) = store();
    let first = executor1.run(journal, plan(steps.clone())).await.unwrap();
    assert_eq!(first.outcome, None);
    assert_eq!(first.state.steps["b"].status, StepStatus::Running);

    fakes.script("b", Script::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let report = executor(&fakes).with_events(tx).resume(Box::new(memory.clone()), plan(steps)).await.unwrap();

    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(fakes.count("run:a"), 1, "completed steps are not repeated");
    assert_eq!(fakes.count("run:b"), 2);
    assert_eq!(fakes.count("run:c"), 1);
    let seen = fakes.seen_notes.lock().unwrap()["b"].clone();
    assert_eq!(seen[0], Vec::<String>::new());
    assert_eq!(seen[1], vec!["intent-1".to_string()], "the re-entered step sees the earlier attempt's notes");
    assert_eq!(report.state.steps["b"].attempts, 2);
    assert!(drain(&mut rx).iter().any(|e| matches!(e, Event::StepStarted { step_id, resumed: true, attempt: 2, .. } if step_id == "b")));
    assert_eq!(report.state.resumed_at.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn resume_rejects_changed_playbook() {
    let fakes = Fakes::new();
    let (memory, journal) = store();
    let cancel_executor = executor(&fakes);
    cancel_executor.cancel_handle().cancel();
    cancel_executor.run(journal, plan(vec![step("a", &[])])).await.unwrap();

    let mut changed = plan(vec![step("a", &[])]);
    changed.playbook_hash = "hash-2".into();
    let error = executor(&fakes).resume(Box::new(memory), changed).await.unwrap_err();
    assert!(matches!(error, ExecutorError::PlaybookChanged { .. }), "{error}");
    assert!(error.to_string().contains("hash-1"), "{error}");
    assert!(error.to_string().contains("hash-2"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn resume_rejects_finished_run() {
    let fakes = Fakes::new();
    let (memory, journal) = store();
    executor(&fakes).run(journal, plan(vec![step("a", &[])])).await.unwrap();
    let error = executor(&fakes).resume(Box::new(memory), plan(vec![step("a", &[])])).await.unwrap_err();
    assert!(matches!(error, ExecutorError::AlreadyFinished { .. }), "{error}");
}

#[tokio::test(start_paused = true)]
async fn resume_tolerates_torn_last_line() {
    let fakes = Fakes::new();
    fakes.script("b", Script { duration: seconds(3600), ..Script::default() });
    let steps = vec![step("a", &[]), step("b", &["a"])];
    let executor1 = executor(&fakes);
    let cancel = executor1.cancel_handle();
    tokio::spawn(async move {
        tokio::time::sleep(seconds(60)).await;
        cancel.abort();
    });
    let (memory, journal) = store();
    executor1.run(journal, plan(steps.clone())).await.unwrap();

    // A crash during a write leaves half a line without its newline.
    let text = memory.text();
    let torn = format!("{text}{{\"seq\":99,\"time\":\"2026-03-");
    memory.set_text(torn);

    fakes.script("b", Script::default());
    let report = executor(&fakes).resume(Box::new(memory.clone()), plan(steps)).await.unwrap();
    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    let parsed = parse_journal(&memory.text()).unwrap();
    assert!(!parsed.torn_tail, "the torn line was truncated before appending");
    assert_eq!(replay(&parsed.entries).unwrap().outcome, Some(RunOutcome::Succeeded));
}

#[tokio::test(start_paused = true)]
async fn corrupt_journal_names_the_line() {
    let fakes = Fakes::new();
    let (memory, journal) = store();
    executor(&fakes).run(journal, plan(vec![step("a", &[]), step("b", &["a"])])).await.unwrap();
    let lines: Vec<String> = memory.text().lines().map(str::to_string).collect();
    let join = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();

    // Bad JSON in the middle.
    let mut bad_json = lines.clone();
    bad_json[2] = "{not json".into();
    let error = parse_journal(&join(&bad_json)).unwrap_err();
    assert_eq!(error.line, 3);

    // A sequence gap.
    let mut gap = lines.clone();
    gap.remove(3);
    let entries = parse_journal(&join(&gap)).unwrap().entries;
    let error = replay(&entries).unwrap_err();
    assert_eq!(error.line, 4);
    assert!(error.reason.contains("expected 4"), "{}", error.reason);

    // Succeeded before started: renumber a journal whose step_started is dropped.
    let mut entries = parse_journal(&memory.text()).unwrap().entries;
    let started = entries.iter().position(|e| matches!(e.record, Record::StepStarted { .. })).unwrap();
    entries.remove(started);
    for (index, entry) in entries.iter_mut().enumerate() {
        entry.seq = index as u64 + 1;
    }
    let error = replay(&entries).unwrap_err();
    assert_eq!(error.line, started + 1);
    assert!(error.reason.contains("impossible while the step is Pending"), "{}", error.reason);

    // The executor refuses to resume it.
    let store = MemoryStore::from_text(join(&bad_json));
    let error = executor(&fakes).resume(Box::new(store), plan(vec![step("a", &[]), step("b", &["a"])])).await.unwrap_err();
    assert!(matches!(error, ExecutorError::Journal(JournalError::Corrupt { ref corrupt, .. }) if corrupt.line == 3), "{error}");
}

#[tokio::test(start_paused = true)]
async fn invalid_plan_lists_every_problem() {
    let fakes = Fakes::new();
    let mut plan = plan(vec![step("a", &["b"]), step("b", &["a"]), step("c", &["zz"]), step("c", &[])]);
    plan.max_parallel = 0;
    let (_, journal) = store();
    let error = executor(&fakes).run(journal, plan).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("max_parallel is 0"), "{message}");
    assert!(message.contains("`c` is used more than once"), "{message}");
    assert!(message.contains("unknown step `zz`"), "{message}");

    let cyclic = support::plan(vec![step("a", &["b"]), step("b", &["a"])]);
    let message = cyclic.validate().unwrap_err().to_string();
    assert!(message.contains("cycle: a -> b -> a"), "{message}");
}

#[tokio::test(start_paused = true)]
async fn file_store_locks_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let first = FileStore::create(dir.path(), "run-1").unwrap();
    let error = FileStore::open(dir.path(), "run-1").unwrap_err();
    assert!(matches!(error, JournalError::Locked { .. }), "{error}");
    assert!(error.to_string().contains(&format!("pid {}", std::process::id())), "{error}");
    drop(first);

    let fakes = Fakes::new();
    let store = FileStore::create(dir.path(), "run-1").unwrap();
    let path = store.path().to_path_buf();
    executor(&fakes).run(Box::new(store), plan(vec![step("a", &[])])).await.unwrap();
    let entries = read_journal(&path).unwrap();
    assert_eq!(replay(&entries).unwrap().outcome, Some(RunOutcome::Succeeded));

    let error = FileStore::create(dir.path(), "run-1").unwrap_err();
    assert!(matches!(error, JournalError::AlreadyExists { .. }), "{error}");
    let error = FileStore::create(dir.path(), "../escape").unwrap_err();
    assert!(matches!(error, JournalError::InvalidRunId { .. }), "{error}");
}

#[tokio::test(start_paused = true)]
async fn events_cover_the_run() {
    let fakes = Fakes::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (_, journal) = store();
    executor(&fakes).with_events(tx).run(journal, plan(vec![step("a", &[])])).await.unwrap();
    let events = drain(&mut rx);

    assert!(matches!(events.first(), Some(Event::RunStarted { resumed: false, .. })));
    assert!(events.iter().any(|e| matches!(e, Event::StepStarted { step_id, attempt: 1, .. } if step_id == "a")));
    assert!(events.iter().any(|e| matches!(e, Event::StepProgress { percent: Some(p), .. } if *p == 50.0)));
    assert!(events.iter().any(|e| matches!(e, Event::StepSucceeded { step_id, .. } if step_id == "a")));
    let Some(Event::RunFinished { outcome, summary, .. }) = events.last() else { panic!("last event is not run_finished") };
    assert_eq!(*outcome, RunOutcome::Succeeded);
    assert_eq!(summary.succeeded, 1);
    assert!(summary.rto_met);
}

#[tokio::test(start_paused = true)]
async fn panicking_action_fails_its_step() {
    let fakes = Fakes::new();
    fakes.script("a", Script { panic: true, ..Script::default() });
    let mut a = step("a", &[]);
    a.on_failure = FailurePolicy::Continue;
    let (memory, journal) = store();
    let report = executor(&fakes).run(journal, plan(vec![a, step("b", &[]), step("c", &["a"])])).await.unwrap();

    let a = &report.state.steps["a"];
    assert_eq!(a.status, StepStatus::Failed);
    assert!(a.error.as_ref().unwrap().message.contains("panicked"), "{:?}", a.error);
    assert_eq!(report.state.steps["b"].status, StepStatus::Succeeded);
    assert_eq!(report.state.steps["c"].status, StepStatus::Skipped);
    assert_eq!(replay(&parse_journal(&memory.text()).unwrap().entries).unwrap(), report.state);
}

#[tokio::test(start_paused = true)]
async fn resume_after_output_records_success_only() {
    let fakes = Fakes::new();
    let steps = vec![step("a", &[]), step("b", &["a"])];
    let (memory, journal) = store();
    executor(&fakes).run(journal, plan(steps.clone())).await.unwrap();

    // Cut the journal right after a's output record, as a crash would.
    let entries = parse_journal(&memory.text()).unwrap().entries;
    let output = entries.iter().position(|e| matches!(&e.record, Record::Output { step, .. } if step == "a")).unwrap();
    let cut: String = memory.text().lines().take(output + 1).map(|l| format!("{l}\n")).collect();
    let store = MemoryStore::from_text(cut);

    let report = executor(&fakes).resume(Box::new(store), plan(steps)).await.unwrap();
    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(fakes.count("run:a"), 1, "a finished before the crash and is not run again");
    assert_eq!(fakes.count("run:b"), 2);
}

#[tokio::test(start_paused = true)]
async fn resume_of_empty_journal_starts_run() {
    let fakes = Fakes::new();
    let report = executor(&fakes).resume(Box::new(MemoryStore::new()), plan(vec![step("a", &[])])).await.unwrap();
    assert_eq!(report.outcome, Some(RunOutcome::Succeeded));
    assert_eq!(fakes.count("run:a"), 1);
}
