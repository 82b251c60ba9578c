//! Writes the reports of the journal fixtures under `tests/data` into a
//! state directory, for checks outside cargo (headless Chromium, xmllint).
//!
//! Usage: `cargo run -p drctl-report --example write_fixture_reports -- STATE_DIR`
//! prints one run directory per line.

use std::path::PathBuf;
use std::process::ExitCode;

const FIXTURES: &[(&str, &str)] = &[
    ("complete-run.jsonl", "drill-20260301-0902"),
    ("crashed-run.jsonl", "drill-20260301-crash"),
    ("passed-run.jsonl", "drill-20260601-0902"),
    ("resumed-run.jsonl", "drill-20260301-resumed"),
];

fn main() -> ExitCode {
    let Some(state_dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("error: missing STATE_DIR; usage: write_fixture_reports STATE_DIR");
        return ExitCode::from(2);
    };
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");

    // Install every journal first, so each HTML trend includes all runs.
    let mut run_dirs = Vec::new();
    for (fixture, run_id) in FIXTURES {
        let run_dir = state_dir.join("runs").join(run_id);
        let copied = std::fs::create_dir_all(&run_dir).and_then(|()| std::fs::copy(data.join(fixture), run_dir.join("journal.jsonl")));
        if let Err(error) = copied {
            eprintln!("error: failed to install {fixture} into {}: {error}", run_dir.display());
            return ExitCode::FAILURE;
        }
        run_dirs.push(run_dir);
    }
    for run_dir in run_dirs {
        if let Err(error) = drctl_report::write_reports(&run_dir) {
            eprintln!("error: failed to write the reports of {}: {error}", run_dir.display());
            return ExitCode::FAILURE;
        }
        println!("{}", run_dir.display());
    }
    ExitCode::SUCCESS
}
