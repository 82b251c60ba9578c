//! Diagnostics: located errors and warnings with a source excerpt.
//!
//! Rendering follows the compiler style that Rust users read every day:
//!
//! ```text
//! error: unknown step kind 'aurora.restor_pitr'
//!   --> drill.yaml:12:11
//!    |
//! 12 |     kind: aurora.restor_pitr
//!    |           ^^^^^^^^^^^^^^^^^^
//!    = help: did you mean 'aurora.restore_pitr'?
//! ```

use std::fmt::Write as _;

use serde::Serialize;

/// How bad a diagnostic is. Warnings never make validation fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found while loading a playbook or its variable overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier of the check, such as `unknown-kind`, for tests and JSON output.
    pub code: &'static str,
    /// The playbook path, the vars file path, or `--var` for a command-line override.
    pub file: String,
    /// 1-based line, when the problem has a position in `file`.
    pub line: Option<usize>,
    /// 1-based column in characters, when the problem has a position in `file`.
    pub col: Option<usize>,
    /// Number of characters the caret underlines (at least 1 when rendered).
    pub width: usize,
    /// What is wrong, naming the offending value.
    pub message: String,
    /// How to fix it, including "did you mean" suggestions and valid alternatives.
    pub help: Option<String>,
    /// The full source line at `line`, without its newline.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without a position, such as a bad `--var` flag.
    pub fn unlocated(
        severity: Severity,
        code: &'static str,
        file: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            file: file.into(),
            line: None,
            col: None,
            width: 0,
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic as text; `color` adds ANSI colors for a terminal.
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let (label, label_color) = match self.severity {
            Severity::Error => ("error", "1;31"),
            Severity::Warning => ("warning", "1;33"),
        };

        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {}",
            paint(label_color, label),
            paint("1", &self.message)
        );
        let gutter = self.line.map(|line| line.to_string().len()).unwrap_or(1);
        let pad = " ".repeat(gutter);
        let bar = paint("1;34", "|");
        match (self.line, self.col) {
            (Some(line), Some(col)) => {
                let _ = writeln!(
                    out,
                    "{pad}{} {}:{line}:{col}",
                    paint("1;34", "-->"),
                    self.file
                );
                if let Some(source) = &self.source_line {
                    let source = source.replace('\t', " ");
                    let caret_pad = " ".repeat(col.saturating_sub(1));
                    let carets = "^".repeat(self.width.max(1));
                    let _ = writeln!(out, "{pad} {bar}");
                    let _ = writeln!(out, "{} {bar} {source}", paint("1;34", &line.to_string()));
                    let _ = writeln!(
                        out,
                        "{pad} {bar} {caret_pad}{}",
                        paint(label_color, &carets)
                    );
                }
            }
            _ => {
                let _ = writeln!(out, "{pad}{} {}", paint("1;34", "-->"), self.file);
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} {} help: {help}", paint("1;34", "="));
        }
        out
    }
}

/// Suggests the closest candidate to `input` by Jaro-Winkler similarity, when
/// one is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(input, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// A help line with a suggestion (when one is close) and the valid values.
pub fn suggestion_help(input: &str, candidates: &[&str], what: &str) -> String {
    let list = if candidates.is_empty() {
        format!("there are no valid {what}")
    } else {
        format!(
            "valid {what}: {}",
            candidates
                .iter()
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match did_you_mean(input, candidates.iter().copied()) {
        Some(close) => format!("did you mean '{close}'? {list}"),
        None => list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_line_and_caret() {
        let diagnostic = Diagnostic {
            severity: Severity::Error,
            code: "unknown-kind",
            file: "drill.yaml".into(),
            line: Some(12),
            col: Some(11),
            width: 18,
            message: "unknown step kind 'aurora.restor_pitr'".into(),
            help: Some("did you mean 'aurora.restore_pitr'?".into()),
            source_line: Some("    kind: aurora.restor_pitr".into()),
        };
        let expected = "\
error: unknown step kind 'aurora.restor_pitr'
  --> drill.yaml:12:11
   |
12 |     kind: aurora.restor_pitr
   |           ^^^^^^^^^^^^^^^^^^
   = help: did you mean 'aurora.restore_pitr'?
";
        assert_eq!(diagnostic.render(false), expected);
    }

    #[test]
    fn render_without_position_names_the_origin() {
        let diagnostic = Diagnostic::unlocated(
            Severity::Error,
            "override",
            "--var",
            "unknown variable 'regoin'",
        )
        .with_help("did you mean 'region'?");
        assert_eq!(
            diagnostic.render(false),
            "error: unknown variable 'regoin'\n --> --var\n  = help: did you mean 'region'?\n"
        );
    }

    #[test]
    fn did_you_mean_picks_the_closest() {
        let kinds = [
            "aurora.restore_pitr",
            "aurora.restore_snapshot",
            "alb.repoint",
        ];
        assert_eq!(
            did_you_mean("aurora.restor_pitr", kinds),
            Some("aurora.restore_pitr")
        );
        assert_eq!(did_you_mean("zzz", kinds), None);
    }
}
