//! The emulator's Python unit tests, run here so that `cargo test -p drctl-testkit` covers them.

use std::path::Path;
use std::process::Command;

#[test]
fn emulator_python_unit_tests_pass() {
    // The shared estate installs the virtualenv first.
    drctl_testkit::Estate::shared();
    let integration = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integration");
    let output = Command::new(integration.join(".venv/bin/python"))
        .args(["-m", "unittest", "discover", "-s", "tests", "-t", "."])
        .current_dir(&integration)
        .output()
        .expect("run the Python unit tests");
    assert!(
        output.status.success(),
        "Python unit tests failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
