//! One function per command.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use drctl_playbook::{LoadOptions, Mode, Overrides};

use super::args::{
    Cli, Command, HistoryArgs, ModeArg, OutputFormat, PlanArgs, ProgressArg, ReportArgs, ReportFormatArg, ResumeArgs,
    RunArgs, TfstateCommand, ValidateArgs, VarArgs,
};
use crate::exit::{CliError, ExitStatus};
use crate::progress::ProgressStyle;
use crate::runner::{self, Invocation, RunOptions, RunResult};

pub async fn dispatch(cli: Cli) -> Result<ExitStatus, CliError> {
    let state_dir = cli.state_dir.clone();
    let time_scale = cli.time_scale;
    match cli.command {
        Command::Validate(args) => validate(args),
        Command::Plan(args) => plan(args, time_scale).await,
        Command::Run(args) => run(args, &state_dir, time_scale).await,
        Command::Resume(args) => resume(args, &state_dir).await,
        Command::Report(args) => report(args, &state_dir),
        Command::History(args) => history(args, &state_dir),
        Command::Schema => {
            let schema = drctl_playbook::json_schema();
            print_out(&format!("{}\n", serde_json::to_string_pretty(&schema).unwrap_or_default()));
            Ok(ExitStatus::Success)
        }
        Command::Tfstate(TfstateCommand::Versions(args)) => tfstate_versions(args).await,
    }
}

fn color() -> bool {
    ProgressStyle::Auto.color()
}

fn mode(arg: ModeArg) -> Mode {
    match arg {
        ModeArg::Drill => Mode::Drill,
        ModeArg::Incident => Mode::Incident,
    }
}

/// Builds the loader's overrides; `--var` and `--vars-file` errors name the flag or file.
fn overrides(vars: &VarArgs) -> Result<Overrides, Vec<String>> {
    let mut overrides = Overrides::new();
    let mut problems = Vec::new();
    for file in &vars.vars_files {
        if let Err(diagnostic) = overrides.add_file(file) {
            problems.push(diagnostic.render(color()));
        }
    }
    for flag in &vars.vars {
        if let Err(diagnostic) = overrides.add_flag(flag) {
            problems.push(diagnostic.render(color()));
        }
    }
    if problems.is_empty() { Ok(overrides) } else { Err(problems) }
}

fn validate(args: ValidateArgs) -> Result<ExitStatus, CliError> {
    let overrides = overrides(&args.vars).map_err(|problems| CliError::InvalidInput(problems.join("\n")))?;
    let mut invalid = 0;
    for file in &args.files {
        // Variables without defaults may be given only at run time, so
        // validate accepts them unset.
        let report = drctl_playbook::load_file(file, &LoadOptions { overrides: overrides.clone(), require_variable_values: false });
        if !report.diagnostics.is_empty() {
            eprintln!("{}", report.render(color()));
        }
        let errors = report.errors().count();
        let warnings = report.warnings().count();
        if errors > 0 {
            invalid += 1;
            eprintln!("{}: invalid ({errors} error{}, {warnings} warning{})", file.display(), plural(errors), plural(warnings));
        } else {
            println!("{}: valid ({warnings} warning{})", file.display(), plural(warnings));
        }
    }
    Ok(if invalid > 0 { ExitStatus::InvalidInput } else { ExitStatus::Success })
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

async fn plan(args: PlanArgs, time_scale: f64) -> Result<ExitStatus, CliError> {
    let invocation = Invocation {
        playbook_path: args.file.clone(),
        mode: mode(args.mode),
        vars: args.vars.vars.clone(),
        vars_files: args.vars.vars_files.clone(),
        time_scale,
    };
    let playbook = runner::load_playbook(&invocation, color())?;
    let plan = drctl_playbook::plan(&playbook);
    let findings = if args.preflight {
        Some(crate::preflight::run(&playbook, invocation.mode).await)
    } else {
        None
    };

    match args.output {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(&plan).map_err(|error| CliError::Internal(error.to_string()))?;
            if let (Some(findings), Some(object)) = (&findings, value.as_object_mut()) {
                object.insert("preflight".to_string(), serde_json::to_value(findings).unwrap_or_default());
            }
            print_out(&format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default()));
        }
        OutputFormat::Text => {
            print_out(&plan.render_text());
            if let Some(findings) = &findings {
                print_out(&crate::preflight::render(findings));
            }
        }
    }
    match findings {
        Some(findings) if findings.iter().any(|finding| finding.is_failure()) => Ok(ExitStatus::PreflightFailed),
        _ => Ok(ExitStatus::Success),
    }
}

fn progress_style(arg: ProgressArg) -> ProgressStyle {
    match arg {
        ProgressArg::Auto => ProgressStyle::Auto,
        ProgressArg::Bars => ProgressStyle::Bars,
        ProgressArg::Plain => ProgressStyle::Plain,
        ProgressArg::Quiet => ProgressStyle::Quiet,
    }
}

fn parse_time(text: &str, flag: &str) -> Result<DateTime<Utc>, CliError> {
    DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).map_err(|_| {
        CliError::InvalidInput(format!("invalid {flag} '{text}': write an RFC 3339 time such as 2026-12-04T09:30:00Z"))
    })
}

async fn run(args: RunArgs, state_dir: &Path, time_scale: f64) -> Result<ExitStatus, CliError> {
    let incident_start = args.incident_start.as_deref().map(|text| parse_time(text, "--incident-start")).transpose()?;
    let playbook_path = std::path::absolute(&args.file).unwrap_or(args.file.clone());
    let vars_files = args.vars.vars_files.iter().map(|file| std::path::absolute(file).unwrap_or(file.clone())).collect();
    let options = RunOptions {
        playbook: playbook_path.clone(),
        invocation: Invocation { playbook_path, mode: mode(args.mode), vars: args.vars.vars, vars_files, time_scale },
        dry_run: args.dry_run,
        incident_start,
        state_dir: state_dir.to_path_buf(),
        run_id: args.run_id,
        approve: args.gates.approve,
        yes: args.gates.yes,
        max_parallel: args.max_parallel,
        progress: progress_style(args.progress),
    };
    let result = runner::run(options).await?;
    Ok(finish(result))
}

async fn resume(args: ResumeArgs, state_dir: &Path) -> Result<ExitStatus, CliError> {
    let result =
        runner::resume(state_dir, &args.run_id, args.gates.approve, args.gates.yes, progress_style(args.progress)).await?;
    Ok(finish(result))
}

/// Prints where the journal and reports are, and what to do next.
fn finish(result: RunResult) -> ExitStatus {
    println!();
    println!("run id:   {}", result.run_id);
    println!("journal:  {}", result.run_dir.join("journal.jsonl").display());
    if let Some(paths) = &result.reports {
        println!("reports:  {}", paths.html.display());
        println!("          {}", paths.markdown.display());
        println!("          {}", paths.json.display());
        println!("          {}", paths.junit.display());
    }
    match result.exit {
        ExitStatus::AwaitingApproval => eprintln!(
            "The run stopped at an approval gate. Resume it with: drctl resume {} --approve STEP (or --yes)",
            result.run_id
        ),
        ExitStatus::Interrupted => eprintln!("The run was interrupted. Continue it with: drctl resume {}", result.run_id),
        ExitStatus::ObjectiveMissed => eprintln!("The run succeeded but missed its RTO or RPO target; see the report."),
        ExitStatus::RunFailed => eprintln!("The run failed; the report lists what failed and what is left to do by hand."),
        _ => {}
    }
    result.exit
}

fn report(args: ReportArgs, state_dir: &Path) -> Result<ExitStatus, CliError> {
    let format = match args.format {
        ReportFormatArg::Json => drctl_report::ReportFormat::Json,
        ReportFormatArg::Markdown => drctl_report::ReportFormat::Markdown,
        ReportFormatArg::Html => drctl_report::ReportFormat::Html,
        ReportFormatArg::Junit => drctl_report::ReportFormat::Junit,
    };
    let text = drctl_report::render_run(state_dir, &args.run_id, format).map_err(|error| CliError::Journal(error.to_string()))?;
    match args.output {
        Some(path) => std::fs::write(&path, text)
            .map_err(|error| CliError::Io(format!("failed to write {}: {error}", path.display())))?,
        None => print_out(&text),
    }
    Ok(ExitStatus::Success)
}

fn history(args: HistoryArgs, state_dir: &Path) -> Result<ExitStatus, CliError> {
    let entries =
        drctl_report::history(state_dir, args.playbook.as_deref()).map_err(|error| CliError::Journal(error.to_string()))?;
    let text = match args.output {
        OutputFormat::Json => drctl_report::history_json(&entries).map_err(|error| CliError::Internal(error.to_string()))?,
        OutputFormat::Text => drctl_report::render_history_table(&entries),
    };
    print_out(&text);
    Ok(ExitStatus::Success)
}

/// Writes to stdout and ends quietly when the reader has gone (`drctl ... | head`).
pub fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        std::process::exit(0);
    }
}

async fn tfstate_versions(args: super::args::TfstateVersionsArgs) -> Result<ExitStatus, CliError> {
    let aws = crate::aws::AwsClients::from_env(&args.region, true).await;
    let versions = crate::tfstate::list_versions(&aws.s3(&args.region), &args.bucket, &args.key, &args.region)
        .await
        .map_err(|error| CliError::Preflight(error.message))?;
    let text = match args.output {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&versions).unwrap_or_default()),
        OutputFormat::Text => crate::tfstate::render_versions_table(&versions),
    };
    print_out(&text);
    Ok(ExitStatus::Success)
}
