//! Shared helpers: fixture journals, an executor run with fake actions,
//! golden-file comparison and a small JSON Schema checker.

#![allow(dead_code)]

pub mod drill;
pub mod schema;

use std::path::{Path, PathBuf};

/// Environment variable that makes golden comparisons rewrite the files.
pub const UPDATE_GOLDEN_ENV: &str = "UPDATE_GOLDEN";

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies `tests/data/<fixture>` to `<state_dir>/runs/<run_id>/journal.jsonl`
/// and returns the run directory.
pub fn install_fixture(state_dir: &Path, fixture: &str, run_id: &str) -> PathBuf {
    let run_dir = state_dir.join("runs").join(run_id);
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::copy(crate_dir().join("tests/data").join(fixture), run_dir.join("journal.jsonl")).unwrap();
    run_dir
}

/// Replaces wall-clock times and run ids, which differ between fixtures and
/// runs, with placeholders. Durations and offsets stay: the fixtures have
/// fixed times and the executor runs on tokio's paused clock, so they are
/// deterministic and the goldens pin the RTO arithmetic.
pub fn redact(text: &str, run_ids: &[&str]) -> String {
    let iso = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?").unwrap();
    let human = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?( UTC)?").unwrap();
    let short_date = regex::Regex::new(r#"class="date">\d{2}-\d{2}<"#).unwrap();
    let mut text = iso.replace_all(text, "<TIME>").into_owned();
    text = human.replace_all(&text, "<TIME>").into_owned();
    text = short_date.replace_all(&text, r#"class="date"><DATE><"#).into_owned();
    for run_id in run_ids {
        text = text.replace(run_id, "<RUN_ID>");
    }
    text
}

/// Compares `actual` with `tests/golden/<name>`, or rewrites the file when
/// `UPDATE_GOLDEN=1`.
pub fn assert_golden(name: &str, actual: &str) {
    let path = crate_dir().join("tests/golden").join(name);
    if std::env::var(UPDATE_GOLDEN_ENV).is_ok_and(|value| value == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read golden file {}: {error}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    if expected != actual {
        let line = expected.lines().zip(actual.lines()).position(|(e, a)| e != a).unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output at line {}:\n  golden: {:?}\n  actual: {:?}\nRun with UPDATE_GOLDEN=1 to accept the new output.",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}
