//! A small fake playbook run through the real executor and file journal,
//! for the crash tests: each step "creates" a resource as a marker file,
//! so a test can check that no resource is ever created twice.
//!
//! Usage: `executor-harness --state-dir DIR --markers DIR [--resume] [--undo] [--step-delay-ms N]`
//! with faults read from `DRCTL_FAULTS`. Exit codes: 0 the run finished or
//! was cancelled (the outcome is printed as JSON), 2 invalid usage or an
//! executor error, 3 the run had already finished.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use drctl_executor::{
    Action, ActionError, ApprovalDecision, Approver, Executor, ExecutorError, FailurePolicy, FaultPlan, FileStore,
    Outputs, Prepared, ResourceEvent, ResourceRecord, RetryPolicy, RunPlan, StepContext, StepResolver, StepSpec,
};

const RUN_ID: &str = "crash-run";

struct Options {
    state_dir: PathBuf,
    markers: PathBuf,
    resume: bool,
    undo: bool,
    step_delay: Duration,
}

fn parse_options() -> Result<Options, String> {
    let mut state_dir = None;
    let mut markers = None;
    let mut resume = false;
    let mut undo = false;
    let mut step_delay = Duration::ZERO;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--state-dir" => state_dir = args.next().map(PathBuf::from),
            "--markers" => markers = args.next().map(PathBuf::from),
            "--resume" => resume = true,
            "--undo" => undo = true,
            "--step-delay-ms" => {
                let value = args.next().ok_or("--step-delay-ms needs a value")?;
                let millis: u64 = value.parse().map_err(|_| format!("invalid --step-delay-ms `{value}`: expected milliseconds"))?;
                step_delay = Duration::from_millis(millis);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Options {
        state_dir: state_dir.ok_or("missing --state-dir DIR")?,
        markers: markers.ok_or("missing --markers DIR")?,
        resume,
        undo,
        step_delay,
    })
}

/// snapshot -> copy -> restore -> check, a parallel `dns` branch after
/// snapshot, and an always-step `report` at the end.
fn build_plan(undo: bool) -> RunPlan {
    let step = |id: &str, needs: &[&str]| StepSpec {
        id: id.to_string(),
        needs: needs.iter().map(|n| n.to_string()).collect(),
        timeout: Duration::from_secs(60),
        budget: None,
        expected: Some(Duration::from_secs(1)),
        retry: RetryPolicy { attempts: 2, initial: Duration::from_millis(1), max: Duration::from_millis(5), multiplier: 2.0, jitter: true },
        on_failure: FailurePolicy::Abort,
        always: false,
        approval: false,
        description: format!("fake {id}"),
    };
    let mut check = step("check", &["restore"]);
    if undo {
        check.on_failure = FailurePolicy::Undo;
    }
    let mut report = step("report", &["check", "dns"]);
    report.always = true;
    let now = Utc::now();
    RunPlan {
        run_id: RUN_ID.to_string(),
        mode: "drill".to_string(),
        dry_run: false,
        started_at: now,
        incident_time: now,
        rto_target: Duration::from_secs(3600),
        rto_warning: Duration::from_secs(1800),
        max_parallel: 2,
        playbook_hash: if undo { "harness-undo" } else { "harness" }.to_string(),
        header_meta: serde_json::json!({"harness": true}),
        steps: vec![
            step("snapshot", &[]),
            step("copy", &["snapshot"]),
            step("dns", &["snapshot"]),
            step("restore", &["copy"]),
            check,
            report,
        ],
    }
}

struct MarkerResolver {
    markers: PathBuf,
    delay: Duration,
}

#[async_trait]
impl StepResolver for MarkerResolver {
    async fn prepare(&self, step: &StepSpec, _outputs: &HashMap<String, Outputs>) -> Result<Prepared, ActionError> {
        Ok(Prepared::Run(Box::new(MarkerAction { id: step.id.clone(), markers: self.markers.clone(), delay: self.delay })))
    }
}

/// Creates `<markers>/<step>.resource` once, adopting it after a crash,
/// and appends `create`, `adopt` or `undo` to `<markers>/<step>.log`.
struct MarkerAction {
    id: String,
    markers: PathBuf,
    delay: Duration,
}

impl MarkerAction {
    fn resource_path(&self) -> PathBuf {
        self.markers.join(format!("{}.resource", self.id))
    }

    fn log(&self, line: &str) -> Result<(), ActionError> {
        append_line(&self.markers.join(format!("{}.log", self.id)), line)
    }

    fn resource(&self, event: ResourceEvent) -> ResourceRecord {
        ResourceRecord {
            resource_type: "marker".to_string(),
            id: self.id.clone(),
            region: "local".to_string(),
            arn: None,
            event,
        }
    }
}

#[async_trait]
impl Action for MarkerAction {
    fn describe(&self) -> String {
        format!("create marker {}", self.resource_path().display())
    }

    async fn dry_run(&self, _cx: &StepContext) -> Result<Vec<String>, ActionError> {
        Ok(vec![self.describe()])
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        tokio::time::sleep(self.delay).await;
        let path = self.resource_path();
        let notes = cx.notes();

        // Adopt what an earlier attempt created. The intent note means a
        // creation may have happened, and the file proves it did.
        let adopted = notes.contains_key("intent") && path.exists();
        if adopted {
            self.log("adopt")?;
            cx.record_resource(self.resource(ResourceEvent::Adopted)).await?;
        } else {
            cx.record_note("intent", serde_json::json!(path.display().to_string())).await?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|error| ActionError::fatal(format!("failed to create {}: {error} (created twice?)", path.display())))?;
            file.write_all(self.id.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| ActionError::fatal(e.to_string()))?;
            self.log("create")?;
            cx.record_resource(self.resource(ResourceEvent::Created)).await?;
            cx.record_note("created", serde_json::json!(true)).await?;
        }

        let mut outputs = Outputs::new();
        outputs.insert("marker".to_string(), serde_json::json!(path.display().to_string()));
        Ok(outputs)
    }

    async fn undo(&self, cx: &StepContext, _outputs: &Outputs) -> Result<(), ActionError> {
        let path = self.resource_path();
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(ActionError::fatal(format!("failed to remove {}: {error}", path.display()))),
        }
        self.log("undo")?;
        cx.record_resource(self.resource(ResourceEvent::Deleted)).await
    }
}

fn append_line(path: &Path, line: &str) -> Result<(), ActionError> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| ActionError::fatal(format!("failed to open {}: {error}", path.display())))?;
    file.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| ActionError::fatal(format!("failed to write {}: {error}", path.display())))
}

struct NoApprover;

#[async_trait]
impl Approver for NoApprover {
    async fn approve(&self, _step: &StepSpec, _description: &str) -> ApprovalDecision {
        ApprovalDecision::Unavailable
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("executor-harness: {message}");
            return ExitCode::from(2);
        }
    };
    let faults = match FaultPlan::from_env() {
        Ok(faults) => faults,
        Err(error) => {
            eprintln!("executor-harness: {error}");
            return ExitCode::from(2);
        }
    };

    let resolver = Arc::new(MarkerResolver { markers: options.markers.clone(), delay: options.step_delay });
    let executor = Executor::new(resolver, Arc::new(NoApprover)).with_faults(faults);
    let plan = build_plan(options.undo);
    let result = if options.resume {
        match FileStore::open(&options.state_dir, RUN_ID) {
            Ok(store) => executor.resume(Box::new(store), plan).await,
            Err(error) => Err(error.into()),
        }
    } else {
        match FileStore::create(&options.state_dir, RUN_ID) {
            Ok(store) => executor.run(Box::new(store), plan).await,
            Err(error) => Err(error.into()),
        }
    };

    match result {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report.outcome).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(error @ ExecutorError::AlreadyFinished { .. }) => {
            eprintln!("executor-harness: {error}");
            ExitCode::from(3)
        }
        Err(error) => {
            eprintln!("executor-harness: {error}");
            ExitCode::from(2)
        }
    }
}
