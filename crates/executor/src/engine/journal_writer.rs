//! The executor's side of the journal: numbering, checking and writing records.

use std::sync::Mutex;

use tokio::sync::mpsc::UnboundedSender;

use crate::clock::RunClock;
use crate::error::JournalError;
use crate::event::Event;
use crate::journal::record::{JournalEntry, Record};
use crate::journal::state::RunState;
use crate::journal::store::JournalStore;

/// Writes records in order and keeps the [`RunState`] they produce.
///
/// Each record is first applied to a copy of the state, so a record that
/// breaks the state machine is rejected before it reaches storage. Then it
/// is written and fsynced, and only then does the live state change. After a
/// storage error the journal is poisoned and rejects every later record,
/// because the executor must not act on steps it can no longer log.
///
/// NOTE: appends run on the calling async task and block it for the fsync.
/// Records are small and a run has few of them, so this was preferred over
/// moving writes to a blocking thread and losing their order.
pub(crate) struct Journal {
    inner: Mutex<Inner>,
    clock: RunClock,
    crash_after: Option<u64>,
}

struct Inner {
    store: Box<dyn JournalStore>,
    state: Option<RunState>,
    poisoned: Option<String>,
}

impl Journal {
    pub(crate) fn new(store: Box<dyn JournalStore>, state: Option<RunState>, clock: RunClock, crash_after: Option<u64>) -> Self {
        Journal { inner: Mutex::new(Inner { store, state, poisoned: None }), clock, crash_after }
    }

    pub(crate) fn clock(&self) -> RunClock {
        self.clock
    }

    pub(crate) fn append(&self, record: Record) -> Result<JournalEntry, JournalError> {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(reason) = &inner.poisoned {
            return Err(JournalError::Poisoned(reason.clone()));
        }

        let seq = inner.state.as_ref().map_or(1, |state| state.last_seq + 1);
        let entry = JournalEntry { seq, time: self.clock.now(), record };

        // Check first, so an impossible record never reaches storage.
        let next_state = match &inner.state {
            None => RunState::from_header(&entry).map_err(JournalError::Inconsistent)?,
            Some(state) => {
                let mut next = state.clone();
                next.apply(&entry).map_err(JournalError::Inconsistent)?;
                next
            }
        };

        let line = serde_json::to_string(&entry)?;
        if let Err(error) = inner.store.append(&line) {
            inner.poisoned = Some(error.to_string());
            return Err(error);
        }
        inner.state = Some(next_state);

        if self.crash_after == Some(seq) {
            // Fault injection: die right after record `seq` is durable, with
            // no destructors and no further writes, like a kill.
            eprintln!("drctl-executor: injected crash after journal record {seq}");
            std::process::abort();
        }
        Ok(entry)
    }

    /// Runs `read` on the current state. Panics if called before the header
    /// is written, which the executor never does.
    pub(crate) fn with_state<R>(&self, read: impl FnOnce(&RunState) -> R) -> R {
        let inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        read(inner.state.as_ref().expect("journal header written before state is read"))
    }

    pub(crate) fn poisoned(&self) -> Option<String> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).poisoned.clone()
    }
}

/// Destination of events. It sends on an unbounded channel, which never
/// blocks, and ignores a closed receiver, so a slow or gone reporter cannot
/// stall a recovery.
#[derive(Clone, Default)]
pub(crate) struct EventSink {
    sender: Option<UnboundedSender<Event>>,
}

impl EventSink {
    pub(crate) fn new(sender: Option<UnboundedSender<Event>>) -> Self {
        EventSink { sender }
    }

    pub(crate) fn emit(&self, event: Event) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(event);
        }
    }
}
