//! Approval gates: flags for non-interactive runs, a prompt on a terminal.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};

use async_trait::async_trait;
use drctl_executor::{ApprovalDecision, Approver, StepSpec};

/// Grants steps named with `--approve`, every step with `--yes`, and otherwise
/// asks on the terminal. Without a terminal the answer is `Unavailable`, which
/// stops the run at the gate so it can be resumed with a flag.
pub struct GateApprover {
    approved: HashSet<String>,
    approve_all: bool,
    interactive: bool,
    /// Serializes prompts when parallel steps reach gates together.
    prompt_lock: tokio::sync::Mutex<()>,
}

impl GateApprover {
    pub fn new(approved: impl IntoIterator<Item = String>, approve_all: bool) -> Self {
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        GateApprover { approved: approved.into_iter().collect(), approve_all, interactive, prompt_lock: tokio::sync::Mutex::new(()) }
    }
}

#[async_trait]
impl Approver for GateApprover {
    async fn approve(&self, step: &StepSpec, description: &str) -> ApprovalDecision {
        if self.approved.contains(&step.id) {
            return ApprovalDecision::Granted { by: format!("--approve {}", step.id) };
        }
        if self.approve_all {
            return ApprovalDecision::Granted { by: "--yes".to_string() };
        }
        if !self.interactive {
            return ApprovalDecision::Unavailable;
        }

        let _guard = self.prompt_lock.lock().await;
        let step_id = step.id.clone();
        let description = description.to_string();
        let answer = tokio::task::spawn_blocking(move || prompt(&step_id, &description)).await;
        match answer {
            Ok(Ok(true)) => ApprovalDecision::Granted { by: format!("terminal prompt ({})", operator()) },
            Ok(Ok(false)) => ApprovalDecision::Denied,
            _ => ApprovalDecision::Unavailable,
        }
    }
}

/// Asks the operator to type the step id, so a stray Enter cannot approve a destructive step.
fn prompt(step_id: &str, description: &str) -> std::io::Result<bool> {
    let mut stderr = std::io::stderr().lock();
    writeln!(stderr)?;
    writeln!(stderr, "Approval needed for step '{step_id}':")?;
    writeln!(stderr, "  {description}")?;
    write!(stderr, "Type the step id to approve, anything else to deny: ")?;
    stderr.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == step_id)
}

pub fn operator() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".to_string())
}
