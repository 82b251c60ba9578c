//! Inline SVG charts for the HTML report: the step timeline (Gantt) and
//! the RTO trend across drills. Both are plain SVG with no script.

use std::fmt::Write;

use crate::format::format_seconds;
use crate::history::HistoryEntry;
use crate::junit::xml as escape;
use crate::model::Report;

const LABEL_WIDTH: f64 = 210.0;
const CHART_WIDTH: f64 = 760.0;
const ROW_HEIGHT: f64 = 24.0;
const AXIS_HEIGHT: f64 = 28.0;
/// Room below the rows for one label line per vertical marker.
const FOOTER_HEIGHT: f64 = 46.0;

/// Renders the step timeline in simulated seconds after the incident, with
/// the RTO warning and target lines and the critical path outlined.
pub fn render_gantt(report: &Report) -> String {
    let steps: Vec<_> = report.steps.iter().collect();
    let ends = steps.iter().filter_map(|s| Some(s.start_offset_seconds? + s.duration_seconds.unwrap_or(0.0)));
    let latest = ends.fold(report.run.last_record_offset_seconds, f64::max);
    let span = (latest.max(report.rto.target_seconds) * 1.05).max(1.0);
    let x = |seconds: f64| LABEL_WIDTH + (seconds.max(0.0) / span) * CHART_WIDTH;
    let height = AXIS_HEIGHT + ROW_HEIGHT * steps.len() as f64 + FOOTER_HEIGHT;
    let width = LABEL_WIDTH + CHART_WIDTH + 20.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"gantt\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"Step timeline\">"
    );

    // Axis with about eight ticks at a round step.
    let tick = nice_tick(span / 8.0);
    let mut value = 0.0;
    while value <= span {
        let position = x(value);
        let _ = writeln!(svg, "<line x1=\"{position:.1}\" y1=\"{AXIS_HEIGHT}\" x2=\"{position:.1}\" y2=\"{:.1}\" class=\"grid\"/>", height - FOOTER_HEIGHT);
        let _ = writeln!(svg, "<text x=\"{position:.1}\" y=\"18\" class=\"tick\">{}</text>", escape(&format_seconds(value)));
        value += tick;
    }

    // One bar per step.
    for (row, step) in steps.iter().enumerate() {
        let y = AXIS_HEIGHT + ROW_HEIGHT * row as f64;
        let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\">{}</text>", LABEL_WIDTH - 8.0, y + 16.0, escape(&step.id));
        let Some(start) = step.start_offset_seconds else {
            let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" class=\"note\">{}</text>", LABEL_WIDTH + 4.0, y + 16.0, escape(&step.status));
            continue;
        };
        let duration = step.duration_seconds.unwrap_or_else(|| (latest - start).max(0.0));
        let width = (x(start + duration) - x(start)).max(2.0);
        let critical = if step.on_critical_path { " critical" } else { "" };
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\" rx=\"3\" class=\"bar {}{critical}\"><title>{}</title></rect>",
            x(start),
            y + 4.0,
            ROW_HEIGHT - 8.0,
            escape(&step.status),
            escape(&format!("{}: {} from {} for {}", step.id, step.status, format_seconds(start), format_seconds(duration)))
        );
        if let Some(budget) = step.budget_seconds {
            let _ = writeln!(svg, "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" class=\"budget\"/>", x(start + budget), y + 2.0, x(start + budget), y + ROW_HEIGHT - 2.0);
        }
    }

    // Thresholds and the recovery point.
    let bottom = height - FOOTER_HEIGHT;
    let mut line = |seconds: f64, class: &str, label: String, offset: f64| {
        let position = x(seconds);
        let _ = writeln!(svg, "<line x1=\"{position:.1}\" y1=\"{AXIS_HEIGHT}\" x2=\"{position:.1}\" y2=\"{bottom:.1}\" class=\"{class}\"/>");
        let _ = writeln!(svg, "<text x=\"{position:.1}\" y=\"{:.1}\" class=\"{class}-label\">{}</text>", bottom + offset, escape(&label));
    };
    line(report.rto.warning_seconds, "rto-warning", format!("RTO warning {}", format_seconds(report.rto.warning_seconds)), 12.0);
    line(report.rto.target_seconds, "rto-target", format!("RTO target {}", format_seconds(report.rto.target_seconds)), 24.0);
    if let Some(achieved) = report.rto.achieved_seconds {
        line(achieved, "recovered", format!("recovered {}", format_seconds(achieved)), 36.0);
    }
    svg.push_str("</svg>\n");
    svg
}

/// Renders the achieved RTO of each past run of the playbook against its
/// target. Runs that did not reach recovery are drawn on the axis as crosses.
pub fn render_trend(entries: &[HistoryEntry], current_run: &str) -> String {
    let runs: Vec<&HistoryEntry> = entries.iter().filter(|entry| entry.error.is_none()).collect();
    let (width, height, left, bottom_pad, top) = (640.0, 190.0, 60.0, 36.0, 12.0);
    let plot_height = height - bottom_pad - top;
    let max_value = runs
        .iter()
        .flat_map(|entry| [entry.rto_seconds.unwrap_or(0.0), entry.rto_target_seconds.unwrap_or(0.0)])
        .fold(1.0_f64, f64::max)
        * 1.15;
    let y = |seconds: f64| top + plot_height - (seconds / max_value) * plot_height;
    let slot = (width - left - 10.0) / runs.len().max(1) as f64;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"trend\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"RTO per run\">"
    );
    let _ = writeln!(svg, "<line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" class=\"axis\"/>", y(0.0), width - 10.0, y(0.0));
    let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\">0</text>", left - 6.0, y(0.0));
    let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\">{}</text>", left - 6.0, y(max_value / 1.15) + 4.0, escape(&format_seconds(max_value / 1.15)));

    let mut target_points = Vec::new();
    for (index, entry) in runs.iter().enumerate() {
        let center = left + slot * (index as f64 + 0.5);
        if let Some(target) = entry.rto_target_seconds {
            target_points.push(format!("{center:.1},{:.1}", y(target)));
        }
        let current = if entry.run_id == current_run { " current" } else { "" };
        let dry = if entry.dry_run { " dry" } else { "" };
        let title = escape(&format!(
            "{} {}: RTO {}{}",
            entry.started_at.map(|at| at.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            entry.run_id,
            entry.rto_seconds.map(format_seconds).unwrap_or_else(|| "not reached".to_string()),
            if entry.dry_run { " (dry run)" } else { "" }
        ));
        match entry.rto_seconds {
            Some(rto) => {
                let bar_width = (slot * 0.6).min(40.0);
                let _ = writeln!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_width:.1}\" height=\"{:.1}\" class=\"run {}{current}{dry}\"><title>{title}</title></rect>",
                    center - bar_width / 2.0,
                    y(rto),
                    (y(0.0) - y(rto)).max(1.0),
                    escape(&entry.rto_status)
                );
            }
            None => {
                let _ = writeln!(
                    svg,
                    "<text x=\"{center:.1}\" y=\"{:.1}\" class=\"unreached{current}\">\u{2715}<title>{title}</title></text>",
                    y(0.0) - 4.0
                );
            }
        }
        let _ = writeln!(svg, "<text x=\"{center:.1}\" y=\"{:.1}\" class=\"date\">{}</text>", height - 20.0, entry.started_at.map(|at| at.format("%m-%d").to_string()).unwrap_or_default());
    }
    if target_points.len() > 1 {
        let _ = writeln!(svg, "<polyline points=\"{}\" class=\"target\"/>", target_points.join(" "));
    } else if let Some(point) = target_points.first() {
        let py = point.split(',').nth(1).unwrap_or("0");
        let _ = writeln!(svg, "<line x1=\"{left}\" y1=\"{py}\" x2=\"{:.1}\" y2=\"{py}\" class=\"target\"/>", width - 10.0);
    }
    let _ = writeln!(svg, "<text x=\"{left}\" y=\"{:.1}\" class=\"legend\">bars: RTO achieved; line: RTO target; \u{2715}: not reached</text>", height - 4.0);
    svg.push_str("</svg>\n");
    svg
}

/// Returns the smallest round tick interval (from 1 s to 1 day) of at least
/// `raw` seconds, or whole days above that.
fn nice_tick(raw: f64) -> f64 {
    let candidates = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0];
    candidates.iter().copied().find(|candidate| *candidate >= raw).unwrap_or_else(|| (raw / 86400.0).ceil() * 86400.0)
}
