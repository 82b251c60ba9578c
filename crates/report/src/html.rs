//! A self-contained HTML report for leadership: inline CSS and SVG, no
//! external assets and no script.

use std::fmt::Write;

use crate::format::{format_optional, format_seconds};
use crate::history::HistoryEntry;
use crate::junit::xml as escape;
use crate::model::{Report, RpoStatus, RtoStatus};
use crate::svg::{render_gantt, render_trend};

const STYLE: &str = r#"
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #1d2330; background: #fff; max-width: 1040px; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
h2 { font-size: 17px; margin: 28px 0 8px 0; border-bottom: 1px solid #d8dde6; padding-bottom: 4px; }
.sub { color: #5b6577; font-size: 13px; }
.verdict { display: flex; gap: 16px; margin: 16px 0; }
.tile { flex: 1; border-radius: 8px; padding: 14px 18px; color: #fff; }
.tile .what { font-size: 13px; text-transform: uppercase; letter-spacing: 0.05em; opacity: 0.9; }
.tile .result { font-size: 26px; font-weight: 700; margin: 2px 0; }
.tile .detail { font-size: 14px; }
.good { background: #1f7a3d; } .warn { background: #b86e00; } .bad { background: #b3261e; } .none { background: #5b6577; }
.banner { background: #fff4d6; border: 1px solid #e0b64c; padding: 10px 14px; border-radius: 6px; margin: 10px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
th { background: #f3f5f9; }
td.num { text-align: right; white-space: nowrap; }
.status-succeeded, .status-passed { color: #1f7a3d; font-weight: 600; }
.status-failed { color: #b3261e; font-weight: 600; }
.status-skipped, .status-pending, .status-unknown { color: #5b6577; }
.status-running { color: #b86e00; font-weight: 600; }
svg text { font-family: inherit; font-size: 11px; fill: #1d2330; }
svg .label { text-anchor: end; }
svg .tick { text-anchor: middle; fill: #5b6577; }
svg .note { fill: #5b6577; font-style: italic; }
svg .grid { stroke: #eef0f4; }
svg .bar { stroke: none; }
svg .bar.succeeded { fill: #4f8fd6; } svg .bar.failed { fill: #d9534f; } svg .bar.running { fill: #f0ad4e; } svg .bar.skipped { fill: #c4cad4; }
svg .bar.critical { stroke: #1d2330; stroke-width: 2; }
svg .bar.critical.succeeded { fill: #1f4e8c; }
svg .budget { stroke: #1d2330; stroke-dasharray: 2 2; }
svg .rto-warning { stroke: #b86e00; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .rto-target { stroke: #b3261e; stroke-width: 2; stroke-dasharray: 6 4; }
svg .recovered { stroke: #1f7a3d; stroke-width: 2; }
svg .rto-warning-label { fill: #b86e00; text-anchor: middle; } svg .rto-target-label { fill: #b3261e; text-anchor: middle; } svg .recovered-label { fill: #1f7a3d; text-anchor: end; }
svg .axis { stroke: #5b6577; } svg .target { stroke: #b3261e; stroke-width: 2; stroke-dasharray: 6 4; fill: none; }
svg .run { fill: #4f8fd6; } svg .run.missed { fill: #d9534f; } svg .run.warning { fill: #f0ad4e; } svg .run.dry { fill-opacity: 0.35; }
svg .run.current { stroke: #1d2330; stroke-width: 2; }
svg .unreached { fill: #b3261e; font-size: 14px; text-anchor: middle; } svg .date { text-anchor: middle; fill: #5b6577; } svg .legend { fill: #5b6577; }
.legend-box { font-size: 12px; color: #5b6577; margin-top: 4px; }
pre { background: #f3f5f9; padding: 8px; overflow-x: auto; font-size: 12px; }
"#;

/// Renders the HTML report. `history` contains earlier runs of the same
/// playbook for the trend chart; pass an empty slice to omit the chart.
pub fn render_html(report: &Report, history: &[HistoryEntry]) -> String {
    let mut out = String::new();
    let name = report.playbook.name.as_deref().unwrap_or("unnamed playbook");
    let _ = writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">");
    let _ = writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(out, "<title>{} - {} - drctl report</title>", escape(name), escape(&report.run.run_id));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");

    // Title and verdict first: this is what leadership reads.
    let _ = writeln!(out, "<h1>{}: {}</h1>", escape(name), escape(report.run.status.label()));
    let operator = report.operator.get("user").and_then(|v| v.as_str()).unwrap_or("unknown operator");
    let account = report.identity.get("account").and_then(|v| v.as_str()).unwrap_or("account unknown");
    let _ = writeln!(
        out,
        "<div class=\"sub\">Run {} &middot; {}{} &middot; started {} &middot; by {} ({}) &middot; playbook hash {}</div>",
        escape(&report.run.run_id),
        escape(&report.run.mode),
        if report.run.dry_run { " (dry run)" } else { "" },
        report.run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        escape(operator),
        escape(account),
        escape(&report.playbook.hash)
    );
    if let Some(description) = &report.playbook.description {
        let _ = writeln!(out, "<p>{}</p>", escape(description));
    }
    out.push_str(&verdict_tiles(report));
    if !report.run.complete {
        let _ = writeln!(
            out,
            "<div class=\"banner\"><strong>Incomplete/interrupted run.</strong> The journal has no run_finished record: the run crashed, was aborted or is still running. This report shows what the journal recorded up to {}.</div>",
            report.run.last_record_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    if report.run.time_scale != 1.0 {
        let _ = writeln!(
            out,
            "<div class=\"banner\">Times are simulated: this run used time scale {}, so each real second counts as {} simulated seconds.</div>",
            report.run.time_scale, report.run.time_scale
        );
    }

    // Timeline.
    let _ = writeln!(out, "<h2>Timeline</h2>");
    out.push_str(&render_gantt(report));
    let _ = writeln!(
        out,
        "<div class=\"legend-box\">Seconds after the incident. Outlined dark bars form the critical path ({}). Dotted ticks mark each step's budget; dashed lines mark the RTO warning and target.</div>",
        escape(&report.critical_path.actual.join(" \u{2192} "))
    );

    // Steps.
    let _ = writeln!(out, "<h2>Steps</h2>\n<table>\n<tr><th>Step</th><th>Kind</th><th>Status</th><th>Start</th><th>Duration</th><th>Budget</th><th>Expected</th><th>Attempts</th><th>Detail</th></tr>");
    for step in &report.steps {
        let detail = step
            .error
            .as_ref()
            .map(|e| format!("{}: {}", e.class, e.message))
            .or_else(|| step.skip.as_ref().map(|s| format!("{}: {}", s.cause.replace('_', " "), s.reason)))
            .unwrap_or_else(|| step.description.clone());
        let _ = writeln!(
            out,
            "<tr><td>{}{}</td><td>{}</td><td class=\"status-{}\">{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&step.id),
            if step.on_critical_path { " &#9733;" } else { "" },
            escape(step.kind.as_deref().unwrap_or("-")),
            escape(&step.status),
            escape(&step.status),
            if step.over_budget { " (over budget)" } else { "" },
            format_optional(step.start_offset_seconds),
            format_optional(step.duration_seconds),
            format_optional(step.budget_seconds),
            format_optional(step.expected_seconds),
            step.attempts,
            escape(&detail)
        );
    }
    let _ = writeln!(out, "</table>");

    // Checks.
    let _ = writeln!(out, "<h2>Checks</h2>");
    if report.checks.is_empty() {
        let _ = writeln!(out, "<p>No checks were recorded.</p>");
    } else {
        let _ = writeln!(out, "<table>\n<tr><th>Step</th><th>Check</th><th>Kind</th><th>Result</th><th>Expected</th><th>Observed</th></tr>");
        for check in &report.checks {
            let observed = match check.rpo_seconds {
                Some(rpo) => format!("{} (target {})", format_seconds(rpo), format_optional(check.target_seconds)),
                None => check.value.clone().unwrap_or_else(|| "-".to_string()),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"status-{}\">{}</td><td>{}</td><td>{}{}</td></tr>",
                escape(&check.step),
                escape(&check.name),
                escape(&check.kind),
                escape(&check.status),
                escape(&check.status),
                escape(check.expectation.as_deref().unwrap_or("-")),
                escape(&observed),
                check.message.as_deref().map(|m| format!("<br><span class=\"sub\">{}</span>", escape(m))).unwrap_or_default()
            );
        }
        let _ = writeln!(out, "</table>");
    }

    // Resources and manual actions.
    let _ = writeln!(out, "<h2>Resources and follow-up</h2>");
    if report.resources.is_empty() {
        let _ = writeln!(out, "<p>No resources were recorded.</p>");
    } else {
        let _ = writeln!(out, "<table>\n<tr><th>Type</th><th>Id</th><th>Region</th><th>Step</th><th>Events</th><th>Cleaned up</th></tr>");
        for resource in &report.resources {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"status-{}\">{}</td></tr>",
                escape(&resource.resource_type),
                escape(&resource.id),
                escape(&resource.region),
                escape(&resource.step),
                escape(&resource.events.join(", ")),
                if resource.left_over { "failed" } else { "succeeded" },
                if resource.cleaned_up { "yes" } else if resource.left_over { "no, left over" } else { "n/a" }
            );
        }
        let _ = writeln!(out, "</table>");
    }
    if report.manual_actions.is_empty() {
        let _ = writeln!(out, "<p>Nothing is left for the operator.</p>");
    } else {
        let _ = writeln!(out, "<p><strong>Left for the operator:</strong></p>\n<ul>");
        for action in &report.manual_actions {
            let _ = writeln!(out, "<li>{}</li>", escape(&action.message));
        }
        let _ = writeln!(out, "</ul>");
    }

    // Trend across drills.
    let _ = writeln!(out, "<h2>RTO across runs of this playbook</h2>");
    if history.iter().any(|entry| entry.error.is_none()) {
        out.push_str(&render_trend(history, &report.run.run_id));
    } else {
        let _ = writeln!(out, "<p>No earlier runs of this playbook were found.</p>");
    }

    // Evidence footer.
    let _ = writeln!(out, "<h2>Evidence</h2>\n<table>");
    let regions = format!(
        "{} primary, {} backup",
        report.regions.get("primary").and_then(|v| v.as_str()).unwrap_or("?"),
        report.regions.get("backup").and_then(|v| v.as_str()).unwrap_or("?")
    );
    let identity = report.identity.get("arn").and_then(|v| v.as_str()).unwrap_or("unknown (STS was unreachable)").to_string();
    let rows = [
        ("Incident time", report.run.incident_time.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        ("Finished", report.run.finished_at.map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "not recorded".to_string())),
        ("Identity", identity),
        ("Regions", regions),
        ("Playbook path", report.playbook.path.clone().unwrap_or_else(|| "-".to_string())),
        ("drctl version", report.drctl_version.clone().unwrap_or_else(|| "-".to_string())),
        ("Redacted values", if report.redacted.is_empty() { "none".to_string() } else { report.redacted.join(", ") }),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(label), escape(&value));
    }
    let _ = writeln!(out, "</table>");
    for warning in &report.warnings {
        let _ = writeln!(out, "<p class=\"sub\">Note: {}</p>", escape(warning));
    }
    let _ = writeln!(out, "</body>\n</html>");
    out
}

fn verdict_tiles(report: &Report) -> String {
    let rto = &report.rto;
    let (rto_class, rto_text) = match rto.status {
        RtoStatus::Met => ("good", "Met"),
        RtoStatus::Warning => ("warn", "Met, past warning"),
        RtoStatus::Missed => ("bad", "Missed"),
        RtoStatus::NotReached => ("bad", "Not reached"),
    };
    let rto_detail = match rto.achieved_seconds {
        Some(achieved) => format!("recovered in {} &middot; target {}", format_seconds(achieved), format_seconds(rto.target_seconds)),
        None => format!("recovery did not complete &middot; target {}", format_seconds(rto.target_seconds)),
    };
    let rpo = &report.rpo;
    let (rpo_class, rpo_text) = match rpo.status {
        RpoStatus::Met => ("good", "Met"),
        RpoStatus::Missed => ("bad", "Missed"),
        RpoStatus::NotMeasured => ("none", "Not measured"),
    };
    let rpo_detail = match rpo.measured_seconds {
        Some(measured) => format!("data loss window {} &middot; target {}", format_seconds(measured), format_optional(rpo.target_seconds)),
        None => format!("no RPO check recorded &middot; target {}", format_optional(rpo.target_seconds)),
    };
    format!(
        "<div class=\"verdict\">\n<div class=\"tile {rto_class}\"><div class=\"what\">Recovery time (RTO)</div><div class=\"result\">{rto_text}</div><div class=\"detail\">{rto_detail}</div></div>\n<div class=\"tile {rpo_class}\"><div class=\"what\">Recovery point (RPO)</div><div class=\"result\">{rpo_text}</div><div class=\"detail\">{rpo_detail}</div></div>\n</div>\n"
    )
}
