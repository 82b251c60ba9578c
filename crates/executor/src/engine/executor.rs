//! The coordinator: one task that owns the run, starts step tasks, applies
//! failure policies, cancellation and approval stops, and finishes the run.
//!
//! Step tasks run concurrently and write their own journal records; the
//! coordinator reads the journal's state to decide what may start next. It
//! wakes up when a step task ends, when cancellation changes, and on a
//! periodic tick that refreshes the RTO forecast while steps are running.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use tracing::{Instrument, error, info, info_span, warn};

use crate::action::{Action, ActionError, Approver, StepResolver};
use crate::cancel::{CancelHandle, CancelLevel};
use crate::clock::{RunClock, elapsed_between};
use crate::engine::journal_writer::{EventSink, Journal};
use crate::engine::rto::{forecast, new_warnings};
use crate::engine::shared::Shared;
use crate::engine::step::{StepResult, execute_step};
use crate::engine::undo::{UnwindEnd, unwind};
use crate::error::{ExecutorError, JournalError};
use crate::event::{Event, RunSummary};
use crate::faults::FaultPlan;
use crate::journal::record::{
    InterruptReason, ManualAction, Record, RtoLevel, RunHeader, RunOutcome, SkipCause,
};
use crate::journal::replay::replay;
use crate::journal::state::{RunState, StepStatus};
use crate::journal::store::JournalStore;
use crate::plan::{FailurePolicy, RunPlan, StepSpec};

/// Runs plans and resumes them from their journals.
pub struct Executor {
    resolver: Arc<dyn StepResolver>,
    approver: Arc<dyn Approver>,
    events: Option<UnboundedSender<Event>>,
    faults: FaultPlan,
    cancel: CancelHandle,
    forecast_interval: Duration,
}

/// The end of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    /// Outcome journalled in `run_finished`, or `None` when an abort stopped
    /// the run at once and left the journal resumable.
    pub outcome: Option<RunOutcome>,
    pub manual_actions: Vec<ManualAction>,
    /// The state rebuilt from every record, as [`replay`] would return it.
    pub state: RunState,
}

impl Executor {
    pub fn new(resolver: Arc<dyn StepResolver>, approver: Arc<dyn Approver>) -> Self {
        Executor {
            resolver,
            approver,
            events: None,
            faults: FaultPlan::default(),
            cancel: CancelHandle::new(),
            forecast_interval: Duration::from_secs(10),
        }
    }

    /// Sends [`Event`]s to `sender`.
    pub fn with_events(mut self, sender: UnboundedSender<Event>) -> Self {
        self.events = Some(sender);
        self
    }

    pub fn with_faults(mut self, faults: FaultPlan) -> Self {
        self.faults = faults;
        self
    }

    /// Sets how often the RTO forecast is refreshed while no step ends. Default 10 s.
    pub fn with_forecast_interval(mut self, interval: Duration) -> Self {
        self.forecast_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Returns the handle that cancels runs of this executor. A cancel stays
    /// in effect for later runs, so build a new `Executor` for each run.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Starts a new run, writing its journal to `store`, which must be empty.
    pub async fn run(&self, mut store: Box<dyn JournalStore>, plan: RunPlan) -> Result<RunReport, ExecutorError> {
        plan.validate()?;
        let existing = store.load()?;
        if !existing.entries.is_empty() {
            return Err(JournalError::AlreadyExists { path: store.location().into() }.into());
        }
        self.start(store, plan).await
    }

    /// Writes the header of a new run to an empty store and runs it.
    async fn start(&self, store: Box<dyn JournalStore>, plan: RunPlan) -> Result<RunReport, ExecutorError> {
        let clock = RunClock::starting_at(plan.started_at);
        let journal = Arc::new(Journal::new(store, None, clock, self.faults.crash_after));
        journal.append(Record::RunHeader(RunHeader {
            run_id: plan.run_id.clone(),
            playbook_hash: plan.playbook_hash.clone(),
            mode: plan.mode.clone(),
            dry_run: plan.dry_run,
            incident_time: plan.incident_time,
            started_at: plan.started_at,
            rto_target: plan.rto_target,
            rto_warning: plan.rto_warning,
            max_parallel: plan.max_parallel,
            header_meta: plan.header_meta.clone(),
            steps: plan.steps.clone(),
        }))?;
        self.drive(journal, plan, false).await
    }

    /// Continues a run from its journal in `store`.
    ///
    /// Rejects a journal whose playbook hash or step ids differ from `plan`.
    /// Steps that finished are not run again. A step that started but did
    /// not finish is entered again through `run` with its notes, so its
    /// action can adopt what the earlier attempt created. A torn last line
    /// is removed first. RTO is still measured from the journalled incident
    /// time. An empty journal (a crash before the header was written) starts
    /// the run from the beginning.
    pub async fn resume(&self, mut store: Box<dyn JournalStore>, plan: RunPlan) -> Result<RunReport, ExecutorError> {
        plan.validate()?;
        let parsed = store.load()?;
        if parsed.entries.is_empty() {
            // A crash before the header was fsynced: nothing ran yet.
            info!(run_id = %plan.run_id, "the journal is empty, so the run never started; starting it now");
            return self.start(store, plan).await;
        }
        let state = replay(&parsed.entries)?;

        let header = &state.header;
        if header.run_id != plan.run_id {
            return Err(ExecutorError::RunIdMismatch { journal_run_id: header.run_id.clone(), plan_run_id: plan.run_id });
        }
        let header_ids: Vec<&str> = header.steps.iter().map(|s| s.id.as_str()).collect();
        let plan_ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
        if header.playbook_hash != plan.playbook_hash || header_ids != plan_ids {
            return Err(ExecutorError::PlaybookChanged {
                run_id: plan.run_id,
                journal_hash: header.playbook_hash.clone(),
                plan_hash: plan.playbook_hash,
            });
        }
        if let Some(outcome) = &state.outcome
            && !outcome.is_resumable()
        {
            return Err(ExecutorError::AlreadyFinished { run_id: plan.run_id, outcome: format!("{outcome:?}") });
        }

        // The journal's header wins over the plan for run-level settings, so
        // the resumed run keeps its incident time and mode.
        let mut plan = plan;
        plan.incident_time = header.incident_time;
        plan.mode = header.mode.clone();
        plan.dry_run = header.dry_run;
        plan.rto_target = header.rto_target;
        plan.rto_warning = header.rto_warning;

        let clock = RunClock::starting_at(Utc::now().max(state.last_time));
        let journal = Arc::new(Journal::new(store, Some(state), clock, self.faults.crash_after));
        journal.append(Record::RunResumed)?;

        // After a cancel, the always-steps (cleanup) already ran, but the
        // resumed run goes on with the cancelled steps and may create more,
        // so each finished always-step runs again at the end.
        let reset: Vec<String> = journal.with_state(|state| {
            let work_left = plan.steps.iter().any(|spec| !spec.always && !state.steps[&spec.id].status.is_terminal());
            if !work_left {
                return Vec::new();
            }
            plan.steps
                .iter()
                .filter(|spec| spec.always && state.steps[&spec.id].status.is_terminal())
                .map(|spec| spec.id.clone())
                .collect()
        });
        for step in reset {
            journal.append(Record::StepReset { step })?;
        }
        self.drive(journal, plan, true).await
    }

    async fn drive(&self, journal: Arc<Journal>, plan: RunPlan, resumed: bool) -> Result<RunReport, ExecutorError> {
        let span = info_span!("run", run_id = %plan.run_id);
        let shared = Arc::new(Shared {
            run_id: plan.run_id.clone(),
            mode: plan.mode.clone(),
            dry_run: plan.dry_run,
            incident_time: plan.incident_time,
            journal,
            events: EventSink::new(self.events.clone()),
            resolver: self.resolver.clone(),
            approver: self.approver.clone(),
            faults: Arc::new(self.faults.clone()),
            cancel: self.cancel.clone(),
        });
        let mut coordinator = Coordinator::new(shared, plan, self.forecast_interval);
        let result = coordinator.run(resumed).instrument(span).await;
        if result.is_err() {
            // Never leave step tasks running after the coordinator gives up.
            coordinator.in_flight.abort_all();
            while coordinator.in_flight.join_next().await.is_some() {}
        }
        result
    }
}

/// Result of a step task: its step id and how it ended.
type StepTaskOutput = (String, Result<StepResult, JournalError>);

struct Coordinator {
    shared: Arc<Shared>,
    plan: RunPlan,
    specs: HashMap<String, StepSpec>,
    in_flight: JoinSet<StepTaskOutput>,
    running: HashSet<String>,
    /// Step id of each task, so a panicked task can be matched to its step.
    task_steps: HashMap<tokio::task::Id, String>,
    actions: HashMap<String, Arc<dyn Action>>,
    /// Set by the first cancel: only `always` steps start.
    cancelled: bool,
    /// Step whose approver was unavailable: nothing else starts.
    gate: Option<String>,
    /// Failed step with `abort` or `undo`: only `always` steps start.
    failure_stop: Option<String>,
    /// Failed step with `undo`, while the undo phase is still to run.
    unwind_pending: Option<String>,
    manual_actions: Vec<ManualAction>,
    raised: HashSet<RtoLevel>,
    forecast_interval: Duration,
}

impl Coordinator {
    fn new(shared: Arc<Shared>, plan: RunPlan, forecast_interval: Duration) -> Self {
        let specs = plan.steps.iter().map(|spec| (spec.id.clone(), spec.clone())).collect();
        Coordinator {
            shared,
            plan,
            specs,
            in_flight: JoinSet::new(),
            running: HashSet::new(),
            task_steps: HashMap::new(),
            actions: HashMap::new(),
            cancelled: false,
            gate: None,
            failure_stop: None,
            unwind_pending: None,
            manual_actions: Vec::new(),
            raised: HashSet::new(),
            forecast_interval,
        }
    }

    async fn run(&mut self, resumed: bool) -> Result<RunReport, ExecutorError> {
        let journal = self.shared.journal.clone();
        let started_at = journal.with_state(|state| state.header.started_at);
        info!(resumed, dry_run = self.plan.dry_run, mode = %self.plan.mode, "run started");
        self.shared.events.emit(Event::RunStarted {
            run_id: self.plan.run_id.clone(),
            mode: self.plan.mode.clone(),
            dry_run: self.plan.dry_run,
            resumed,
            incident_time: self.plan.incident_time,
            started_at,
            steps: self.plan.steps.iter().map(|spec| spec.id.clone()).collect(),
        });
        if resumed {
            self.restore_stops();
        }

        let cancel_changes = self.shared.cancel.signal(CancelLevel::Cancel);
        let mut ticker = tokio::time::interval(self.forecast_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

        loop {
            match self.shared.cancel.level() {
                CancelLevel::Abort => return self.abort().await,
                CancelLevel::Cancel if !self.cancelled => {
                    warn!("cancel requested: no new steps start except always-steps");
                    self.cancelled = true;
                    journal.append(Record::RunInterrupted { reason: InterruptReason::Cancel })?;
                    self.shared.events.emit(Event::RunInterrupted { reason: InterruptReason::Cancel });
                }
                _ => {}
            }

            self.schedule()?;
            self.update_forecast()?;

            if self.running.is_empty() {
                if self.unwind_pending.is_some() && !self.cancelled {
                    self.run_unwind().await?;
                    continue;
                }
                break;
            }

            tokio::select! {
                joined = self.in_flight.join_next_with_id() => {
                    if let Some(joined) = joined {
                        self.on_step_end(joined)?;
                    }
                }
                () = cancel_changes.cancelled(), if !self.cancelled => {}
                () = abort_requested(&self.shared.cancel) => {}
                _ = ticker.tick() => {}
            }
        }

        self.finish()
    }

    /// On resume, rebuilds the stops implied by the journal: failed steps
    /// with `abort`/`undo`, and an undo phase already under way.
    fn restore_stops(&mut self) {
        let failed: Vec<String> = self.shared.journal.with_state(|state| {
            state.steps.values().filter(|s| s.status == StepStatus::Failed).map(|s| s.id.clone()).collect()
        });
        let unwinding = self.shared.journal.with_state(|state| state.unwinding.clone());
        for id in failed {
            let spec = &self.specs[&id];
            if spec.always {
                continue;
            }
            match spec.on_failure {
                FailurePolicy::Continue => {}
                FailurePolicy::Abort => {
                    self.failure_stop.get_or_insert(id);
                }
                FailurePolicy::Undo => {
                    self.failure_stop.get_or_insert(id.clone());
                    if !self.plan.dry_run {
                        self.unwind_pending.get_or_insert(id);
                    }
                }
            }
        }
        if let Some(failed_step) = unwinding {
            self.failure_stop.get_or_insert(failed_step.clone());
            self.unwind_pending = Some(failed_step);
        }
    }

    /// Records skips that follow from failures and starts every ready step
    /// the parallel limit allows, repeating until nothing changes.
    fn schedule(&mut self) -> Result<(), ExecutorError> {
        loop {
            let mut changed = false;
            for spec in self.plan.steps.clone() {
                if self.running.contains(&spec.id) {
                    continue;
                }
                let decision = self.decide(&spec);
                match decision {
                    Decision::Wait => {}
                    Decision::Skip(cause, reason) => {
                        info!(step_id = %spec.id, reason = %reason, "step skipped");
                        self.shared.journal.append(Record::StepSkipped { step: spec.id.clone(), cause, reason: reason.clone() })?;
                        self.shared.events.emit(Event::StepSkipped { step_id: spec.id.clone(), cause, reason });
                        changed = true;
                    }
                    Decision::Start => {
                        if self.running.len() >= self.plan.max_parallel {
                            continue;
                        }
                        self.start(spec);
                        changed = true;
                    }
                }
            }
            if !changed {
                return Ok(());
            }
        }
    }

    fn decide(&self, spec: &StepSpec) -> Decision {
        let (status, needs) = self.shared.journal.with_state(|state| {
            let status = state.steps[&spec.id].status;
            let needs: Vec<(String, StepStatus, Option<SkipCause>)> = spec
                .needs
                .iter()
                .map(|need| {
                    let step = &state.steps[need];
                    (need.clone(), step.status, step.skip.as_ref().map(|(cause, _)| *cause))
                })
                .collect();
            (status, needs)
        });

        match status {
            StepStatus::Pending => {}
            // Started before a crash or cancel: enter it again unless the run is stopping for a person.
            StepStatus::Running => {
                return if self.cancelled || self.gate.is_some() { Decision::Wait } else { Decision::Start };
            }
            _ => return Decision::Wait,
        }

        if self.gate.is_some() {
            return Decision::Wait;
        }

        if spec.always {
            // Always-steps follow the undo phase, unless a cancel stopped it:
            // then they run now and a resume finishes the undo.
            if self.unwind_pending.is_some() && !self.cancelled {
                return Decision::Wait;
            }
            let settled = needs.iter().all(|(need, status, _)| {
                status.is_terminal()
                    || (self.cancelled && !self.running.contains(need) && !self.specs[need].always)
            });
            // A need skipped after a failure counts as finished, but its own
            // ancestors may still be running (creating what a cleanup step
            // would delete), so wait until none of them runs.
            if settled && self.ancestor_running(&spec.id) {
                return Decision::Wait;
            }
            return if settled { Decision::Start } else { Decision::Wait };
        }

        for (need, status, cause) in &needs {
            let failed = *status == StepStatus::Failed || cause.is_some_and(SkipCause::is_failure);
            if failed {
                let what = if *status == StepStatus::Failed { "failed" } else { "was skipped after a failure" };
                return Decision::Skip(SkipCause::DependencyFailed, format!("needs step `{need}`, which {what}"));
            }
        }
        if let Some(failed) = &self.failure_stop
            && !self.cancelled
        {
            let policy = self.specs[failed].on_failure;
            let policy = if policy == FailurePolicy::Undo { "undo" } else { "abort" };
            return Decision::Skip(
                SkipCause::RunAborted,
                format!("not started because step `{failed}` failed with on_failure: {policy}"),
            );
        }
        if self.cancelled {
            return Decision::Wait;
        }
        let ready = needs.iter().all(|(_, status, _)| matches!(status, StepStatus::Succeeded | StepStatus::Skipped));
        if ready { Decision::Start } else { Decision::Wait }
    }

    /// Whether any transitive dependency of `id` is running now.
    fn ancestor_running(&self, id: &str) -> bool {
        let mut stack: Vec<&str> = self.specs[id].needs.iter().map(String::as_str).collect();
        let mut seen = HashSet::new();
        while let Some(step) = stack.pop() {
            if !seen.insert(step) {
                continue;
            }
            if self.running.contains(step) {
                return true;
            }
            if let Some(spec) = self.specs.get(step) {
                stack.extend(spec.needs.iter().map(String::as_str));
            }
        }
        false
    }

    fn start(&mut self, spec: StepSpec) {
        let id = spec.id.clone();
        let span = info_span!("step", run_id = %self.plan.run_id, step_id = %id);
        let shared = self.shared.clone();
        self.running.insert(id.clone());
        let task_id = id.clone();
        let handle = self.in_flight.spawn(
            async move {
                let result = execute_step(shared, spec).await;
                (task_id, result)
            }
            .instrument(span),
        );
        self.task_steps.insert(handle.id(), id);
    }

    fn on_step_end(&mut self, joined: Result<(tokio::task::Id, StepTaskOutput), tokio::task::JoinError>) -> Result<(), ExecutorError> {
        let (id, result) = match joined {
            Ok((task_id, pair)) => {
                self.task_steps.remove(&task_id);
                pair
            }
            Err(join_error) => {
                // A panicking action is a bug in the action; fail its step
                // so the run goes on under the step's failure policy.
                let Some(id) = self.task_steps.get(&join_error.id()).cloned() else {
                    return Err(JournalError::Inconsistent(format!("an unknown step task ended: {join_error}")).into());
                };
                error!(step_id = %id, error = %join_error, "step task panicked");
                let error = ActionError::fatal(format!("the action panicked: {join_error}"));
                let (attempts, status) = self.shared.journal.with_state(|state| (state.steps[&id].attempts, state.steps[&id].status));
                if !status.is_terminal() {
                    self.shared.journal.append(Record::StepFailed { step: id.clone(), error: error.clone() })?;
                    self.shared.events.emit(Event::StepFailed { step_id: id.clone(), error, attempts });
                }
                (id, Ok(StepResult::Failed))
            }
        };
        self.running.remove(&id);

        if let Some(reason) = self.shared.journal.poisoned() {
            return Err(JournalError::Poisoned(reason).into());
        }
        match result? {
            StepResult::Succeeded(action) => {
                if let Some(action) = action {
                    self.actions.insert(id, action);
                }
            }
            StepResult::Failed => self.on_step_failed(&id),
            StepResult::Skipped | StepResult::Interrupted => {}
            StepResult::AwaitingApproval => {
                warn!(step_id = %id, "approver unavailable; the run stops at this gate and can be resumed");
                self.gate.get_or_insert(id);
            }
        }
        Ok(())
    }

    fn on_step_failed(&mut self, id: &str) {
        let spec = &self.specs[id];
        if spec.always {
            // An always-step's failure marks the run failed but applies no
            // failure policy, because always-steps run whatever happened.
            return;
        }
        match spec.on_failure {
            FailurePolicy::Continue => {}
            FailurePolicy::Abort => {
                warn!(step_id = %id, "step failed with on_failure: abort; no new steps start except always-steps");
                self.failure_stop.get_or_insert(id.to_string());
            }
            FailurePolicy::Undo => {
                warn!(step_id = %id, "step failed with on_failure: undo; succeeded steps will be undone");
                self.failure_stop.get_or_insert(id.to_string());
                if !self.plan.dry_run {
                    self.unwind_pending.get_or_insert(id.to_string());
                }
            }
        }
    }

    async fn run_unwind(&mut self) -> Result<(), ExecutorError> {
        let Some(failed_step) = self.unwind_pending.clone() else { return Ok(()) };
        let started = self.shared.journal.with_state(|state| state.unwinding.is_some());
        if !started {
            self.shared.journal.append(Record::UnwindStarted { failed_step })?;
        }

        let abort = self.shared.cancel.signal(CancelLevel::Abort);
        let end = tokio::select! {
            end = unwind(&self.shared, &self.plan.steps, &self.actions) => end?,
            () = abort.cancelled() => return Ok(()),
        };
        match end {
            UnwindEnd::Finished(manual) => {
                self.manual_actions = manual;
                self.unwind_pending = None;
            }
            // The loop then finds the cancel and finishes without the rest of the undo.
            UnwindEnd::Interrupted => {}
        }
        Ok(())
    }

    fn update_forecast(&mut self) -> Result<(), ExecutorError> {
        let now = self.shared.journal.clock().now();
        let (forecast, raised) = self.shared.journal.with_state(|state| {
            let raised: HashSet<RtoLevel> = state.rto_warnings.iter().map(|w| w.level).collect();
            (forecast(state, &self.plan.steps, now), raised)
        });
        self.raised.extend(raised);
        for warning in new_warnings(&forecast, &self.raised) {
            warn!(level = ?warning.level, projected_ms = warning.projected.as_millis() as u64, threshold_ms = warning.threshold.as_millis() as u64, "projected recovery time passes an RTO threshold");
            self.raised.insert(warning.level);
            self.shared.journal.append(Record::RtoWarning(warning.clone()))?;
            self.shared.events.emit(Event::RtoWarning(warning));
        }
        self.shared.events.emit(Event::RtoForecast(forecast));
        Ok(())
    }

    async fn abort(&mut self) -> Result<RunReport, ExecutorError> {
        warn!("abort requested: stopping every step now; the journal stays resumable");
        self.in_flight.abort_all();
        while self.in_flight.join_next().await.is_some() {}
        self.running.clear();
        self.shared.journal.append(Record::RunInterrupted { reason: InterruptReason::Abort })?;
        self.shared.events.emit(Event::RunInterrupted { reason: InterruptReason::Abort });
        let state = self.shared.journal.with_state(RunState::clone);
        Ok(RunReport { run_id: self.plan.run_id.clone(), outcome: None, manual_actions: Vec::new(), state })
    }

    fn finish(&mut self) -> Result<RunReport, ExecutorError> {
        let failed_steps: Vec<String> = self.shared.journal.with_state(|state| {
            state.steps.values().filter(|s| s.status == StepStatus::Failed).map(|s| s.id.clone()).collect()
        });
        let unwound = self.shared.journal.with_state(|state| state.unwinding.is_some());
        let outcome = if self.cancelled {
            RunOutcome::Cancelled
        } else if let Some(step) = &self.gate {
            RunOutcome::AwaitingApproval { step: step.clone() }
        } else if unwound {
            RunOutcome::RolledBack { failed_steps }
        } else if !failed_steps.is_empty() {
            RunOutcome::Failed { failed_steps }
        } else {
            RunOutcome::Succeeded
        };

        let entry = self.shared.journal.append(Record::RunFinished {
            outcome: outcome.clone(),
            manual_actions: self.manual_actions.clone(),
        })?;
        let state = self.shared.journal.with_state(RunState::clone);
        let summary = summarize(&state, entry.time);
        info!(outcome = ?outcome, manual_actions = self.manual_actions.len(), rto_met = summary.rto_met, "run finished");
        for action in &self.manual_actions {
            warn!(step_id = %action.step, "manual action required: {}", action.message);
        }
        self.shared.events.emit(Event::RunFinished {
            outcome: outcome.clone(),
            manual_actions: self.manual_actions.clone(),
            summary,
        });
        Ok(RunReport { run_id: self.plan.run_id.clone(), outcome: Some(outcome), manual_actions: self.manual_actions.clone(), state })
    }
}

enum Decision {
    Wait,
    Start,
    Skip(SkipCause, String),
}

async fn abort_requested(cancel: &CancelHandle) {
    cancel.signal(CancelLevel::Abort).cancelled().await
}

fn summarize(state: &RunState, finished_at: chrono::DateTime<Utc>) -> RunSummary {
    let count = |status: StepStatus| state.steps.values().filter(|s| s.status == status).count();
    // Recovery ends with the last non-always step; cleanup afterwards does not count.
    let recovery_end = super::rto::recovery_end(state, &state.header.steps).unwrap_or(finished_at);
    let recovery_time = elapsed_between(state.header.incident_time, recovery_end.min(finished_at));
    RunSummary {
        succeeded: count(StepStatus::Succeeded),
        failed: count(StepStatus::Failed),
        skipped: count(StepStatus::Skipped),
        unfinished: count(StepStatus::Pending) + count(StepStatus::Running),
        recovery_time,
        rto_target: state.header.rto_target,
        rto_met: recovery_time <= state.header.rto_target,
    }
}
