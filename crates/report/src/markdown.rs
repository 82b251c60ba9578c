//! One-screen Markdown summary for a ticket or a chat message.

use std::fmt::Write;

use crate::format::{format_optional, format_seconds};
use crate::model::{Report, RtoStatus, RpoStatus};

/// Renders the summary: a title, the verdict line, RTO and RPO, a compact step table,
/// failed checks, and what is left for the operator.
/// The title says FAIL on a missed RTO or RPO, a failed step or check, or
/// an incomplete run, and PASS otherwise.
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let name = report.playbook.name.as_deref().unwrap_or("unnamed playbook");
    let dry = if report.run.dry_run { ", dry run" } else { "" };
    let _ = writeln!(out, "## {} {}: {}", verdict_icon(report), escape(name), report.run.status.label());
    let _ = writeln!(out);
    let _ = writeln!(out, "**{}**", escape(&report.verdict.headline));
    let _ = writeln!(out);
    let _ = writeln!(out, "Run `{}` ({}{dry}), started {}.", report.run.run_id, report.run.mode, report.run.started_at.format("%Y-%m-%d %H:%M:%S UTC"));
    if report.run.time_scale != 1.0 {
        let _ = writeln!(out, "Times are simulated (time scale {}).", report.run.time_scale);
    }
    if !report.run.complete {
        let _ = writeln!(out, "**Incomplete/interrupted:** the journal has no run_finished record.");
    }
    let _ = writeln!(out);

    let rto = &report.rto;
    let _ = writeln!(
        out,
        "- RTO: {} (achieved {}, target {}, warning {})",
        rto.status.label(),
        format_optional(rto.achieved_seconds),
        format_seconds(rto.target_seconds),
        format_seconds(rto.warning_seconds)
    );
    let rpo = &report.rpo;
    let _ = writeln!(out, "- RPO: {} (measured {}, target {})", rpo.status.label(), format_optional(rpo.measured_seconds), format_optional(rpo.target_seconds));
    let _ = writeln!(out);

    let _ = writeln!(out, "| Step | Status | Duration | Budget | Attempts |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for step in &report.steps {
        let mut status = step.status.clone();
        if step.over_budget {
            status.push_str(", over budget");
        }
        let marker = if step.on_critical_path { " *" } else { "" };
        let _ = writeln!(
            out,
            "| {}{marker} | {} | {} | {} | {} |",
            escape(&step.id),
            status,
            format_optional(step.duration_seconds),
            format_optional(step.budget_seconds),
            step.attempts
        );
    }
    let _ = writeln!(out, "\n\\* on the critical path");

    let failed: Vec<_> = report.checks.iter().filter(|check| check.status == "failed").collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\n### Failed checks\n");
        for check in failed {
            let _ = writeln!(
                out,
                "- {} / {}: expected {}, got {}{}",
                escape(&check.step),
                escape(&check.name),
                escape(check.expectation.as_deref().unwrap_or("-")),
                escape(check.value.as_deref().unwrap_or("-")),
                check.message.as_deref().map(|m| format!(" ({})", escape(m))).unwrap_or_default()
            );
        }
    }

    let errors: Vec<_> = report.steps.iter().filter_map(|s| s.error.as_ref().map(|e| (s, e))).collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "\n### Step errors\n");
        for (step, error) in errors {
            let _ = writeln!(out, "- {} ({}): {}", escape(&step.id), error.class, escape(&error.message));
        }
    }

    if !report.manual_actions.is_empty() {
        let _ = writeln!(out, "\n### Left for the operator\n");
        for action in &report.manual_actions {
            let _ = writeln!(out, "- {}", escape(&action.message));
        }
    }
    out
}

fn verdict_icon(report: &Report) -> &'static str {
    let rto_ok = matches!(report.verdict.rto, RtoStatus::Met | RtoStatus::Warning);
    let rpo_ok = !matches!(report.verdict.rpo, RpoStatus::Missed);
    let checks_ok = report.checks.iter().all(|check| check.status != "failed");
    let steps_ok = report.run.failed_steps.is_empty();
    if rto_ok && rpo_ok && checks_ok && steps_ok && report.run.complete { "PASS" } else { "FAIL" }
}

/// Escapes characters that would break a table cell or start markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            // An underscore inside a word does not start emphasis in
            // CommonMark, and ids are full of them, so it is left alone.
            '|' | '*' | '`' | '<' | '>' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(character);
            }
            '\n' | '\r' => out.push(' '),
            other => out.push(other),
        }
    }
    out
}
