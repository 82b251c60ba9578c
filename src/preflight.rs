//! `drctl plan --preflight`: read-only AWS checks that a plan can work now.

use drctl_playbook::{Mode, Playbook};
use serde::Serialize;

/// One preflight result.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub step: Option<String>,
    pub check: String,
    pub status: FindingStatus,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    Ok,
    Warning,
    Failed,
}

impl Finding {
    pub fn is_failure(&self) -> bool {
        self.status == FindingStatus::Failed
    }
}

/// Runs every read-only check of the playbook's steps.
pub async fn run(playbook: &Playbook, mode: Mode) -> Vec<Finding> {
    let _ = (playbook, mode);
    vec![Finding {
        step: None,
        check: "preflight".to_string(),
        status: FindingStatus::Failed,
        message: "preflight checks are not implemented yet".to_string(),
    }]
}

/// Renders findings for people.
pub fn render(findings: &[Finding]) -> String {
    let mut text = String::from("\nPreflight:\n");
    for finding in findings {
        let marker = match finding.status {
            FindingStatus::Ok => "ok  ",
            FindingStatus::Warning => "warn",
            FindingStatus::Failed => "FAIL",
        };
        let step = finding.step.as_deref().map(|s| format!("[{s}] ")).unwrap_or_default();
        text.push_str(&format!("  {marker} {step}{}: {}\n", finding.check, finding.message));
    }
    text
}
