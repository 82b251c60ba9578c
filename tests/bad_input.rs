//! Bad input never makes drctl panic: corrupt journals given to `resume` and
//! `report`, a Terraform state version that is not JSON, and a few hundred
//! mutated playbooks given to `validate` and `plan`.
//!
//! The loader's own property tests (`crates/playbook/tests/no_panic.rs`,
//! proptest, 300 cases each) cover the library. These tests cover the
//! binary, so they also catch a panic in the CLI glue or the runner.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::cli::{Drctl, assert_no_panic, describe, playbook};

const EXIT_JOURNAL: i32 = 6;

// ---------------------------------------------------------------- journals

/// One way to damage a journal, and what `resume` must then do.
struct Damage {
    name: &'static str,
    apply: fn(&[String]) -> String,
    /// Exit codes `resume` may return.
    resume_exit: &'static [i32],
}

fn lines_to_text(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn set_seq(line: &str, seq: u64) -> String {
    let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
    value["seq"] = seq.into();
    serde_json::to_string(&value).unwrap()
}

const DAMAGES: &[Damage] = &[
    Damage {
        name: "garbage line in the middle",
        apply: |lines| {
            let mut lines = lines.to_vec();
            lines.insert(3, "this is not a journal record {\"seq\":".to_string());
            lines_to_text(&lines)
        },
        resume_exit: &[EXIT_JOURNAL],
    },
    Damage {
        name: "missing header",
        apply: |lines| lines_to_text(&lines[1..]),
        resume_exit: &[EXIT_JOURNAL],
    },
    Damage {
        name: "wrong sequence number",
        apply: |lines| {
            let mut lines = lines.to_vec();
            lines[4] = set_seq(&lines[4], 40);
            lines_to_text(&lines)
        },
        resume_exit: &[EXIT_JOURNAL],
    },
    Damage {
        name: "duplicated record",
        apply: |lines| {
            let mut lines = lines.to_vec();
            lines.insert(5, lines[4].clone());
            lines_to_text(&lines)
        },
        resume_exit: &[EXIT_JOURNAL],
    },
    Damage {
        name: "unknown record type",
        apply: |lines| {
            let mut lines = lines.to_vec();
            let mut value: serde_json::Value = serde_json::from_str(&lines[4]).unwrap();
            value["type"] = "step_exploded".into();
            lines[4] = serde_json::to_string(&value).unwrap();
            lines_to_text(&lines)
        },
        resume_exit: &[EXIT_JOURNAL],
    },
    Damage {
        name: "header that is not a run header",
        apply: |lines| {
            let mut lines = lines.to_vec();
            lines[0] = r#"{"seq":1,"time":"2026-01-01T00:00:00Z","type":"run_resumed"}"#.to_string();
            lines_to_text(&lines)
        },
        resume_exit: &[EXIT_JOURNAL],
    },
    Damage {
        name: "empty file",
        apply: |_| String::new(),
        resume_exit: &[EXIT_JOURNAL],
    },
    Damage {
        name: "binary garbage",
        apply: |_| String::from_utf8_lossy(&[0xff, 0xfe, 0x00, 0x80, b'\n', 0xc3]).into_owned(),
        resume_exit: &[EXIT_JOURNAL],
    },
    // A crash during a write leaves a torn last line; replay ignores it by
    // design, so the run resumes and finishes.
    Damage {
        name: "torn last line",
        apply: |lines| {
            let mut text = lines_to_text(lines);
            text.push_str(r#"{"seq":99,"time":"2026-12-04T21:0"#);
            text
        },
        resume_exit: &[0, 8],
    },
];

/// Runs the drill until it crashes after journal record 12 and returns the journal lines.
fn crashed_drill_journal(drctl: &Drctl, run_id: &str) -> Vec<String> {
    let output = drctl
        .command()
        .args(drctl.drill_args(run_id))
        .env("DRCTL_FAULTS", "crash-after:12")
        .output()
        .expect("start drctl");
    let path = drctl.run_dir(run_id).join("journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("no journal at {}: {e}\n{}", path.display(), describe(&output)));
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines.len() >= 8, "the crashed drill wrote only {} records\n{}", lines.len(), describe(&output));
    lines
}

#[test]
fn corrupt_journals_are_rejected_without_panic() {
    let (estate, tenant) = support::tenant("journals");
    let source = Drctl::new(estate, &tenant);
    let run_id = support::unique_run_id("jr");
    let lines = crashed_drill_journal(&source, &run_id);

    for damage in DAMAGES {
        let drctl = Drctl::new(estate, &estate.tenant(&format!("journal {}", damage.name)));
        let run_dir = drctl.run_dir(&run_id);
        std::fs::create_dir_all(&run_dir).unwrap();
        std::fs::write(run_dir.join("journal.jsonl"), (damage.apply)(&lines)).unwrap();

        let report = drctl.run(&["report", &run_id, "--format", "json"]);
        assert_no_panic(&report, &format!("report of a journal with {}", damage.name));
        let report_ok = if damage.resume_exit.contains(&EXIT_JOURNAL) { vec![EXIT_JOURNAL] } else { vec![0] };
        assert!(
            report_ok.contains(&report.status.code().unwrap_or(-1)),
            "report of a journal with {}: expected exit {report_ok:?}\n{}",
            damage.name,
            describe(&report)
        );

        let resume = drctl.run(&["resume", &run_id, "--progress", "plain"]);
        assert_no_panic(&resume, &format!("resume of a journal with {}", damage.name));
        assert!(
            damage.resume_exit.contains(&resume.status.code().unwrap_or(-1)),
            "resume of a journal with {}: expected exit {:?}\n{}",
            damage.name,
            damage.resume_exit,
            describe(&resume)
        );
        if damage.resume_exit.contains(&EXIT_JOURNAL) {
            let stderr = String::from_utf8_lossy(&resume.stderr);
            assert!(stderr.contains("journal"), "resume of a journal with {}: the message does not mention the journal\n{}", damage.name, describe(&resume));
        }
    }

    // The torn-line resume finished the drill and its cleanup.
    let left = support::cli::leftovers(&estate.tenant("journals-check"), &run_id);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

#[test]
fn resume_of_unknown_run_is_rejected() {
    let (estate, tenant) = support::tenant("unknownrun");
    let drctl = Drctl::new(estate, &tenant);
    for command in [vec!["resume", "r-does-not-exist"], vec!["report", "r-does-not-exist"]] {
        let output = drctl.run(&command);
        assert_no_panic(&output, &command.join(" "));
        assert_eq!(output.status.code(), Some(EXIT_JOURNAL), "{}\n{}", command.join(" "), describe(&output));
        assert!(String::from_utf8_lossy(&output.stderr).contains("r-does-not-exist"), "the message does not name the run\n{}", describe(&output));
    }
    // A run id that tries to leave the state directory.
    let output = drctl.run(&["resume", "../../etc"]);
    assert_no_panic(&output, "resume ../../etc");
    assert!(matches!(output.status.code(), Some(2 | 6)), "{}", describe(&output));
}

// ---------------------------------------------------------------- tfstate

/// Creates a versioned bucket holding three versions of one state object: a
/// valid state, bytes that are not JSON, and a valid newer state. Returns the
/// bucket, the key, the id of the bad version, and a time between the bad
/// version and the newest one.
fn bucket_with_bad_version(tenant: &drctl_testkit::Tenant) -> (String, String, String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let clients = support::clients(tenant, false).await;
        let s3 = clients.s3("eu-west-2");
        let bucket = format!("drctl-bad-tfstate-{}", std::process::id());
        let key = "bad/terraform.tfstate".to_string();
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                    .build(),
            )
            .send()
            .await
            .expect("CreateBucket");
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("PutBucketVersioning");
        let state = |serial: u64| {
            serde_json::json!({
                "version": 4, "terraform_version": "1.9.8", "serial": serial,
                "lineage": "5b1c2d3e-0000-4000-8000-000000000bad", "outputs": {}, "resources": [], "check_results": null
            })
            .to_string()
        };
        let put = |body: String| {
            s3.put_object().bucket(&bucket).key(&key).body(body.into_bytes().into()).send()
        };
        put(state(1)).await.expect("PutObject of the first state");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let bad = put("{\"version\": 4, \"serial\": 2, \"resources\": [ this is not JSON".to_string())
            .await
            .expect("PutObject of the bad state");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        put(state(3)).await.expect("PutObject of the newest state");
        (bucket, key, bad.version_id().unwrap_or_default().to_string(), before)
    })
}

#[test]
fn malformed_tfstate_is_an_error_not_a_panic() {
    let (estate, tenant) = support::tenant("badstate");
    let drctl = Drctl::new(estate, &tenant);
    let (bucket, key, bad_version, before) = bucket_with_bad_version(&estate.tenant("badstate-setup"));

    for format in ["text", "json"] {
        let output = drctl.run(&["tfstate", "versions", "--bucket", &bucket, "--key", &key, "--region", "eu-west-2", "--output", format]);
        assert_no_panic(&output, "tfstate versions");
        assert_ne!(output.status.code(), Some(10), "tfstate versions reported an internal error\n{}", describe(&output));
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(text.contains(&bad_version), "tfstate versions does not mention the bad version {bad_version}\n{}", describe(&output));
    }

    let output = drctl.run(&[
        "run",
        &playbook("tfstate-rollback.yaml"),
        "--mode",
        "incident",
        "--yes",
        "--progress",
        "plain",
        "--var",
        &format!("bucket={bucket}"),
        "--var",
        &format!("key={key}"),
        "--var",
        &format!("before={before}"),
    ]);
    assert_no_panic(&output, "tfstate rollback to a bad version");
    assert_eq!(output.status.code(), Some(1), "rolling back to a version that is not JSON should fail\n{}", describe(&output));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(text.contains(&bad_version), "the error does not name the bad version {bad_version}\n{}", describe(&output));
    let writes: Vec<_> = tenant
        .mutating_requests()
        .into_iter()
        .filter(|r| matches!(r.operation.as_deref(), Some("PutObject" | "CopyObject" | "DeleteObject")))
        .map(|r| (r.operation, r.params))
        .collect();
    assert!(writes.is_empty(), "the failed rollback wrote the state: {writes:#?}");
}

// ---------------------------------------------------------------- playbooks

/// A small xorshift generator, so the mutations are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that have broken YAML and expression parsers elsewhere.
const HOSTILE_VALUES: &[&str] = &[
    "", "-1", "0", "99999999999999999999999", "1e400", "[]", "{}", "~", "null", "\"${{\"", "${{ }}",
    "\"${{ steps.nope.outputs.x }}\"", "\"${{ vars.source_cluster + 1 }}\"", "\"${{ run.id == }}\"", "!!binary aGVsbG8=",
    "&anchor", "*anchor", "? key", "'unterminated", "\"\\u0000\"", "é", "\t", "0x10", "10h99m", "-5m", "[[[[", "}}}",
    "\"${{ 1 / 0 }}\"", "\"${{ vars.restore_margin - vars.restore_margin - 1d }}\"", "9223372036854775808",
];

fn mutate(source: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = source.lines().map(str::to_string).collect();
    let edits = 1 + rng.below(3);
    for _ in 0..edits {
        if lines.is_empty() {
            break;
        }
        let at = rng.below(lines.len());
        match rng.below(8) {
            0 => {
                lines.remove(at);
            }
            1 => {
                let copy = lines[at].clone();
                lines.insert(at, copy);
            }
            2 => {
                let other = rng.below(lines.len());
                lines.swap(at, other);
            }
            3 => {
                let cut: String = lines[at].chars().take(rng.below(lines[at].chars().count() + 1)).collect();
                lines[at] = cut;
                lines.truncate(at + 1);
            }
            4 => {
                let line = &lines[at];
                let position = line.char_indices().nth(rng.below(line.chars().count() + 1)).map_or(line.len(), |(i, _)| i);
                let junk = HOSTILE_VALUES[rng.below(HOSTILE_VALUES.len())];
                lines[at].insert_str(position, junk);
            }
            5 => {
                if let Some(colon) = lines[at].find(": ") {
                    let value = HOSTILE_VALUES[rng.below(HOSTILE_VALUES.len())];
                    lines[at] = format!("{}: {value}", &lines[at][..colon]);
                }
            }
            6 => {
                if rng.below(2) == 0 {
                    lines[at].insert_str(0, "  ");
                } else if let Some(rest) = lines[at].strip_prefix("  ") {
                    lines[at] = rest.to_string();
                }
            }
            _ => {
                // Rename a key to another key of the file.
                let donor = lines[rng.below(lines.len())].clone();
                if let (Some(colon), Some(donor_colon)) = (lines[at].find(':'), donor.find(':')) {
                    let indent = lines[at].len() - lines[at].trim_start().len();
                    let key = donor[..donor_colon].trim().trim_start_matches("- ");
                    lines[at] = format!("{}{key}{}", &lines[at][..indent], &lines[at][colon..]);
                }
            }
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Runs `command` and kills it after `limit`, so a parser that loops forever
/// fails the test instead of hanging it. Stdout and stderr go to files, so a
/// long diagnostic cannot block the child on a full pipe.
fn output_within(mut command: Command, limit: Duration) -> Output {
    let mut stdout = tempfile::tempfile().expect("create a file for stdout");
    let mut stderr = tempfile::tempfile().expect("create a file for stderr");
    let mut child = command
        .stdout(stdout.try_clone().unwrap())
        .stderr(stderr.try_clone().unwrap())
        .spawn()
        .expect("start drctl");
    let started = Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for drctl") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |file: &mut std::fs::File| {
        use std::io::{Read, Seek};
        let mut bytes = Vec::new();
        file.seek(std::io::SeekFrom::Start(0)).unwrap();
        file.read_to_end(&mut bytes).unwrap();
        bytes
    };
    let mut output = Output { status, stdout: read(&mut stdout), stderr: read(&mut stderr) };
    if killed {
        output.stderr.extend_from_slice(format!("\n[killed by the test after {limit:?}]").as_bytes());
    }
    output
}

const MUTANTS_PER_PLAYBOOK: usize = 80;

#[test]
fn mutated_playbooks_never_panic() {
    // No AWS call is made, so the tenant only provides the environment.
    let (estate, tenant) = support::tenant("fuzz");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let shipped = ["quarterly-restore-drill.yaml", "incident-recovery.yaml", "nightly-snapshot-copy.yaml", "tfstate-rollback.yaml"];
    let mut rng = Rng(0x5eed_d7c7_1234_5678);
    let mut counts = [0usize; 2];
    let started = Instant::now();

    for name in shipped {
        let source = std::fs::read_to_string(playbook(name)).unwrap();
        for index in 0..MUTANTS_PER_PLAYBOOK {
            let text = mutate(&source, &mut rng);
            let path = dir.path().join(format!("{index:03}-{name}"));
            std::fs::write(&path, &text).unwrap();
            let file = path.display().to_string();

            let mut command = drctl.command();
            command.args(["validate", &file]);
            let output = output_within(command, Duration::from_secs(20));
            check_mutant(&output, "validate", &path, &text);
            counts[usize::from(output.status.code() == Some(2))] += 1;

            // Plan exercises the planner and the renderers as well.
            if index % 4 == 0 {
                let mut command = drctl.command();
                command.args(["plan", &file, "--output", if index % 8 == 0 { "json" } else { "text" }]);
                let output = output_within(command, Duration::from_secs(20));
                check_mutant(&output, "plan", &path, &text);
            }
        }
    }
    eprintln!(
        "mutated playbooks: {} valid, {} rejected with exit 2, in {:.1?}",
        counts[0],
        counts[1],
        started.elapsed()
    );
    assert!(counts[1] > MUTANTS_PER_PLAYBOOK, "too few mutants were invalid ({}); the mutations are too gentle", counts[1]);
}

/// Hostile documents: deep nesting, an alias bomb, invalid UTF-8, a huge line.
#[test]
fn hostile_playbook_documents_never_panic() {
    let (estate, tenant) = support::tenant("hostile");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for level in 1..10 {
        let previous = (b'a' + level - 1) as char;
        let name = (b'a' + level) as char;
        bomb.push_str(&format!("{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"));
    }
    let documents: Vec<(&str, Vec<u8>)> = vec![
        ("deep flow nesting", "[".repeat(100_000).into_bytes()),
        ("alias bomb", bomb.into_bytes()),
        ("invalid UTF-8", vec![b'v', b'e', b'r', 0xff, 0xfe, b':', b' ', 0xc3, b'\n']),
        ("huge line", format!("version: 1\nname: {}\n", "x".repeat(5_000_000)).into_bytes()),
        ("empty", Vec::new()),
        ("only a comment", b"# nothing here\n".to_vec()),
        ("NUL bytes", b"version: 1\0\nname: \0\n".to_vec()),
    ];
    for (name, bytes) in documents {
        let path = dir.path().join(format!("{}.yaml", name.replace(' ', "-")));
        std::fs::write(&path, &bytes).unwrap();
        let mut command = drctl.command();
        command.args(["validate", &path.display().to_string()]);
        let output = output_within(command, Duration::from_secs(30));
        assert_no_panic(&output, name);
        assert_eq!(output.status.code(), Some(2), "{name}: expected exit 2\n{}", describe(&output));
    }
}

/// Regression: 4,000 block mappings nested by indentation (an 8 MB file)
/// overflow the stack while saphyr builds the tree, before the loader's
/// 64-level depth check sees it; flow nesting stops at saphyr's recursion limit.
#[test]
fn deep_block_nesting_is_rejected() {
    let (estate, tenant) = support::tenant("deepblock");
    let drctl = Drctl::new(estate, &tenant);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep-block.yaml");
    let text: String = (0..5_000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    std::fs::write(&path, text).unwrap();
    let mut command = drctl.command();
    command.args(["validate", &path.display().to_string()]);
    let output = output_within(command, Duration::from_secs(30));
    assert_no_panic(&output, "deep block nesting");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

fn check_mutant(output: &Output, command: &str, path: &Path, text: &str) {
    let what = format!("{command} of mutant {}", path.display());
    let shown: String = text.chars().take(3000).collect();
    assert_no_panic(output, &format!("{what}\n--- playbook\n{shown}"));
    assert!(
        matches!(output.status.code(), Some(0 | 2)),
        "{what}: expected exit 0 or 2\n{}\n--- playbook\n{shown}",
        describe(output)
    );
}
