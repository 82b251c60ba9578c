//! What every action gets from the run: AWS clients, run identity, safety rules and timing hints.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use drctl_executor::ActionError;

use super::ownership::{self, Protected};
use crate::aws::{AwsClients, Poller};

/// The mode a run executes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A rehearsal: drctl mutates only what this run created.
    Drill,
    /// A real recovery: destructive steps need approval.
    Incident,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Drill => "drill",
            Mode::Incident => "incident",
        }
    }
}

/// The environment an action runs in. Cheap to clone.
#[derive(Clone)]
pub struct ActionEnv {
    pub aws: Arc<AwsClients>,
    pub run_id: String,
    pub playbook: String,
    pub step_id: String,
    pub mode: Mode,
    pub incident_time: DateTime<Utc>,
    /// The step's expected duration, already divided by the time scale.
    pub expected: Option<Duration>,
    /// Real seconds × `time_scale` = simulated seconds; 1 against real AWS.
    pub time_scale: f64,
    pub protected: Arc<Vec<Protected>>,
    /// The playbook's RPO target, used when a check sets none.
    pub rpo_target: Option<Duration>,
}

impl ActionEnv {
    /// The polling schedule for a wait: explicit from the playbook, or derived from
    /// the expected duration.
    pub fn poller(&self, explicit: Option<&drctl_playbook::kinds::PollPolicy>) -> Poller {
        match explicit {
            Some(policy) => Poller::explicit(
                policy.initial.as_std().div_f64(self.time_scale.max(1.0)),
                policy.max.as_std().div_f64(self.time_scale.max(1.0)),
            ),
            None => Poller::for_expected(self.expected, self.time_scale),
        }
    }

    /// Tags that mark a resource as created by this run of this step.
    pub fn ownership_tags(&self) -> Vec<(String, String)> {
        ownership::tags(&self.run_id, &self.playbook, &self.step_id)
    }

    /// Returns whether `tags` show that this run created the resource.
    pub fn created_by_this_run(&self, tags: &[(String, String)]) -> bool {
        ownership::created_by_run(tags, &self.run_id)
    }

    /// Refuses to change an existing resource that the playbook protects, or, in
    /// drill mode, one this run did not create. Call it before any modify call.
    pub fn check_may_modify(
        &self,
        resource_type: &str,
        id: &str,
        region: &str,
        tags: &[(String, String)],
    ) -> Result<(), ActionError> {
        if let Some(rule) = self.protected.iter().find(|rule| rule.matches(resource_type, id)) {
            if self.mode == Mode::Drill {
                return Err(ActionError::fatal(format!(
                    "refusing to modify {resource_type} {id} in {region}: it is protected by the playbook ({rule}) and this is a drill"
                )));
            }
        }
        if self.mode == Mode::Drill && !self.created_by_this_run(tags) {
            return Err(ActionError::fatal(format!(
                "refusing to modify {resource_type} {id} in {region}: a drill changes only resources it created, and its tags do not name run {}",
                self.run_id
            )));
        }
        Ok(())
    }

    /// Refuses to delete anything that this run did not create (by ownership
    /// tags), or that the playbook protects, in any mode.
    pub fn check_may_delete(
        &self,
        resource_type: &str,
        id: &str,
        region: &str,
        tags: &[(String, String)],
    ) -> Result<(), ActionError> {
        if let Some(rule) = self.protected.iter().find(|rule| rule.matches(resource_type, id)) {
            return Err(ActionError::fatal(format!(
                "refusing to delete {resource_type} {id} in {region}: it is protected by the playbook ({rule})"
            )));
        }
        if !self.created_by_this_run(tags) {
            return Err(ActionError::fatal(format!(
                "refusing to delete {resource_type} {id} in {region}: its tags do not show that run {} created it; delete it by hand if it must go",
                self.run_id
            )));
        }
        Ok(())
    }

    /// An environment for unit tests, with clients built from `aws`.
    pub fn for_tests(aws: Arc<AwsClients>, mode: Mode) -> ActionEnv {
        ActionEnv {
            aws,
            run_id: "test-run".to_string(),
            playbook: "test-playbook".to_string(),
            step_id: "test-step".to_string(),
            mode,
            incident_time: Utc::now(),
            expected: None,
            time_scale: 1.0,
            protected: Arc::new(Vec::new()),
            rpo_target: None,
        }
    }
}
