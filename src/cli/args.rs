//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Declarative disaster-recovery playbooks for AWS Aurora PostgreSQL, ALB and Terraform state.
#[derive(Debug, Parser)]
#[command(name = "drctl", version, about, max_term_width = 100)]
pub struct Cli {
    /// Directory holding run journals, reports and locks.
    #[arg(long, global = true, env = "DRCTL_STATE_DIR", default_value = ".drctl")]
    pub state_dir: PathBuf,

    /// Format of log lines on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log level filter for stderr, as in RUST_LOG (for example `info` or `drctl=debug`).
    #[arg(long, global = true, env = "DRCTL_LOG", default_value = "warn")]
    pub log: String,

    /// Divide every playbook duration by this factor. Only for the local
    /// emulated estate, whose simulated time runs this much faster.
    #[arg(long, global = true, env = "DRCTL_TIME_SCALE", default_value_t = 1.0, hide = true)]
    pub time_scale: f64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check playbooks and report every error with its location.
    Validate(ValidateArgs),
    /// Show the steps, their order, budgets, critical path and effects, without AWS calls.
    Plan(PlanArgs),
    /// Run a playbook.
    Run(RunArgs),
    /// Continue an interrupted run from its journal.
    Resume(ResumeArgs),
    /// Render the report of a run.
    Report(ReportArgs),
    /// List past runs with RTO, RPO and verdict.
    History(HistoryArgs),
    /// Print the JSON Schema of the playbook format.
    Schema,
    /// Inspect Terraform state versions in S3.
    #[command(subcommand)]
    Tfstate(TfstateCommand),
}

#[derive(Debug, Args)]
pub struct VarArgs {
    /// Set a variable: `--var name=value` (repeatable). Parsed by the variable's declared type.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Read variables from a YAML or JSON file (repeatable; `--var` wins).
    #[arg(long = "vars-file", value_name = "FILE")]
    pub vars_files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Playbook files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    pub file: PathBuf,

    #[command(flatten)]
    pub vars: VarArgs,

    /// Mode whose approvals and conditions to show.
    #[arg(long, value_enum, default_value_t = ModeArg::Drill)]
    pub mode: ModeArg,

    /// Also check with read-only AWS calls that the plan can work now.
    #[arg(long)]
    pub preflight: bool,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub file: PathBuf,

    #[command(flatten)]
    pub vars: VarArgs,

    #[arg(long, value_enum, default_value_t = ModeArg::Drill)]
    pub mode: ModeArg,

    /// Walk the plan with read-only calls and print what each step would do.
    #[arg(long)]
    pub dry_run: bool,

    /// When the incident began (RFC 3339). RTO is measured from it. Defaults to now.
    #[arg(long, value_name = "TIME")]
    pub incident_start: Option<String>,

    /// Run id to use instead of a generated one.
    #[arg(long)]
    pub run_id: Option<String>,

    #[command(flatten)]
    pub gates: GateArgs,

    /// Maximum number of steps running at once.
    #[arg(long, default_value_t = 8)]
    pub max_parallel: usize,

    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Approve the gate of this step without a prompt (repeatable).
    #[arg(long, value_name = "STEP")]
    pub approve: Vec<String>,

    /// Approve every gate without a prompt.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    pub run_id: String,

    #[command(flatten)]
    pub gates: GateArgs,

    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    pub run_id: String,

    #[arg(long, value_enum, default_value_t = ReportFormatArg::Markdown)]
    pub format: ReportFormatArg,

    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Playbook name to filter by.
    pub playbook: Option<String>,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum TfstateCommand {
    /// List the versions of a state object with time, size, serial, lineage and resource count.
    Versions(TfstateVersionsArgs),
}

#[derive(Debug, Args)]
pub struct TfstateVersionsArgs {
    #[arg(long)]
    pub bucket: String,
    #[arg(long)]
    pub key: String,
    #[arg(long, env = "AWS_REGION")]
    pub region: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Drill,
    Incident,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormatArg {
    Json,
    Markdown,
    Html,
    Junit,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProgressArg {
    Auto,
    Bars,
    Plain,
    Quiet,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}
