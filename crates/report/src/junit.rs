//! JUnit XML: one test case per step and per check, so CI systems show a
//! drill like a test run.
//!
//! The element and attribute set is the common subset that Jenkins, GitLab
//! and GitHub test reporters read: `testsuites > testsuite > testcase`
//! with `failure`, `error` and `skipped` children. `tests/data/junit.xsd`
//! in this crate describes it.

use std::fmt::Write;

use crate::model::Report;

/// Renders the report as a JUnit XML document.
pub fn render_junit(report: &Report) -> String {
    let suite_name = report.playbook.name.as_deref().unwrap_or("drctl-run");
    let class_base = format!("drctl.{}", suite_name);
    let mut cases = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0usize, 0usize, 0usize, 0usize);

    for step in &report.steps {
        tests += 1;
        let time = step.duration_seconds.unwrap_or(0.0);
        let _ = write!(cases, "    <testcase name=\"{}\" classname=\"{}.steps\" time=\"{:.3}\"", xml(&step.id), xml(&class_base), time);
        let body = match step.status.as_str() {
            "succeeded" => None,
            "failed" => {
                failures += 1;
                let (class, message) = step.error.as_ref().map(|e| (e.class.as_str(), e.message.as_str())).unwrap_or(("fatal", "step failed"));
                Some(format!("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", xml(message), xml(class), xml(message)))
            }
            "skipped" => {
                skipped += 1;
                let reason = step.skip.as_ref().map(|s| format!("{}: {}", s.cause, s.reason)).unwrap_or_else(|| "skipped".to_string());
                Some(format!("      <skipped message=\"{}\"/>\n", xml(&reason)))
            }
            "running" => {
                errors += 1;
                let message = "the step started but the journal records no end: the run was interrupted";
                Some(format!("      <error message=\"{}\" type=\"interrupted\"/>\n", xml(message)))
            }
            _ => {
                skipped += 1;
                Some("      <skipped message=\"not started\"/>\n".to_string())
            }
        };
        let out = format!("{}\n", step_system_out(step));
        match body {
            None => {
                let _ = writeln!(cases, ">\n{out}    </testcase>");
            }
            Some(body) => {
                let _ = writeln!(cases, ">\n{body}{out}    </testcase>");
            }
        }
    }

    for check in &report.checks {
        tests += 1;
        let time = check.duration_ms.unwrap_or(0.0) / 1000.0;
        let _ = write!(
            cases,
            "    <testcase name=\"{}\" classname=\"{}.checks.{}\" time=\"{:.3}\"",
            xml(&check.name),
            xml(&class_base),
            xml(&check.step),
            time
        );
        let description = format!(
            "expected {}, got {}{}",
            check.expectation.as_deref().unwrap_or("-"),
            check.value.as_deref().or(check.rpo_seconds.map(|_| "")).unwrap_or("-"),
            check.message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
        );
        let description = match (check.rpo_seconds, check.target_seconds) {
            (Some(rpo), Some(target)) => format!("RPO {rpo} s, target {target} s"),
            _ => description,
        };
        match check.status.as_str() {
            "passed" => {
                let _ = writeln!(cases, "/>");
            }
            "failed" => {
                failures += 1;
                let _ = writeln!(
                    cases,
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                    xml(&description),
                    xml(&check.kind),
                    xml(&description)
                );
            }
            _ => {
                skipped += 1;
                let _ = writeln!(cases, ">\n      <skipped message=\"the check recorded no passed field\"/>\n    </testcase>");
            }
        }
    }

    let total_time = report.rto.achieved_seconds.unwrap_or_else(|| report.steps.iter().filter_map(|s| s.duration_seconds).sum());
    let mut out = String::new();
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        out,
        "<testsuites name=\"drctl\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total_time:.3}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total_time:.3}\" timestamp=\"{}\" id=\"{}\">",
        xml(suite_name),
        report.run.started_at.format("%Y-%m-%dT%H:%M:%S"),
        xml(&report.run.run_id)
    );
    let _ = writeln!(out, "    <properties>");
    for (name, value) in [
        ("run_id", report.run.run_id.clone()),
        ("mode", report.run.mode.clone()),
        ("dry_run", report.run.dry_run.to_string()),
        ("status", report.run.status.label().to_string()),
        ("verdict", report.verdict.headline.clone()),
        ("playbook_hash", report.playbook.hash.clone()),
    ] {
        let _ = writeln!(out, "      <property name=\"{}\" value=\"{}\"/>", xml(name), xml(&value));
    }
    let _ = writeln!(out, "    </properties>");
    out.push_str(&cases);
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}

fn step_system_out(step: &crate::model::StepReport) -> String {
    let mut text = format!("status: {}; attempts: {}", step.status, step.attempts);
    if let Some(budget) = step.budget_seconds {
        let _ = write!(text, "; budget: {budget} s");
    }
    if step.over_budget {
        text.push_str("; over budget");
    }
    for attempt in &step.failed_attempts {
        let _ = write!(text, "; attempt {} failed ({}): {}", attempt.attempt, attempt.error.class, attempt.error.message);
    }
    format!("      <system-out>{}</system-out>", xml(&text))
}

/// Escapes text for an XML attribute or element, dropping characters XML 1.0 forbids.
pub(crate) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
