//! State shared by the coordinator and its step tasks.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::action::{Approver, StepResolver};
use crate::cancel::CancelHandle;
use crate::engine::journal_writer::{EventSink, Journal};
use crate::faults::FaultPlan;

pub(crate) struct Shared {
    pub(crate) run_id: String,
    pub(crate) mode: String,
    pub(crate) dry_run: bool,
    pub(crate) incident_time: DateTime<Utc>,
    pub(crate) journal: Arc<Journal>,
    pub(crate) events: EventSink,
    pub(crate) resolver: Arc<dyn StepResolver>,
    pub(crate) approver: Arc<dyn Approver>,
    pub(crate) faults: Arc<FaultPlan>,
    pub(crate) cancel: CancelHandle,
}
