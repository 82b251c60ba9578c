//! Cancellation of a run, in two levels.

use tokio::sync::watch;

/// How far cancellation has gone. Ordered: each level includes the previous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CancelLevel {
    None,
    /// Start no new steps except `always` steps; running steps see the
    /// cancellation; the run then records `RunFinished` with `Cancelled`.
    Cancel,
    /// Stop everything at once; the journal is left resumable.
    Abort,
}

/// Requests cancellation of a run. Clones control the same run.
#[derive(Debug, Clone)]
pub struct CancelHandle {
    sender: watch::Sender<CancelLevel>,
}

impl Default for CancelHandle {
    fn default() -> Self {
        CancelHandle { sender: watch::Sender::new(CancelLevel::None) }
    }
}

impl CancelHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// First call: cancel. A second call escalates to [`abort`](Self::abort),
    /// so a caller can map every Ctrl-C to `cancel`.
    pub fn cancel(&self) {
        self.sender.send_modify(|level| {
            *level = match *level {
                CancelLevel::None => CancelLevel::Cancel,
                CancelLevel::Cancel | CancelLevel::Abort => CancelLevel::Abort,
            }
        });
    }

    /// Stops the run at once, leaving the journal resumable.
    pub fn abort(&self) {
        self.sender.send_replace(CancelLevel::Abort);
    }

    pub fn level(&self) -> CancelLevel {
        *self.sender.borrow()
    }

    /// Returns a signal that fires once the level reaches `threshold`.
    pub fn signal(&self, threshold: CancelLevel) -> CancelSignal {
        CancelSignal { receiver: self.sender.subscribe(), threshold }
    }
}

/// The cancellation seen by one step. Ordinary steps see the first cancel;
/// `always` steps, which must still run after a cancel, see only an abort.
#[derive(Debug, Clone)]
pub struct CancelSignal {
    receiver: watch::Receiver<CancelLevel>,
    threshold: CancelLevel,
}

impl CancelSignal {
    pub fn is_cancelled(&self) -> bool {
        *self.receiver.borrow() >= self.threshold
    }

    /// Completes when the signal fires. Never completes if the handle is
    /// dropped without cancelling.
    pub async fn cancelled(&self) {
        let mut receiver = self.receiver.clone();
        let threshold = self.threshold;
        if receiver.wait_for(|level| *level >= threshold).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
