//! Cancelling and pausing a running job. Workers call [`JobControl::checkpoint`] between items:
//! it waits while the job is paused and returns [`Error::Cancelled`] once it is cancelled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use crate::error::{Error, Result};

/// Shared between the one who started a job and the threads doing it.
#[derive(Debug, Default)]
pub struct JobControl {
    cancelled: AtomicBool,
    paused: Mutex<bool>,
    wake: Condvar,
}

impl JobControl {
    /// A control that is neither paused nor cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the job to stop at its next checkpoint (also ends a pause).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.wake.notify_all();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Holds the job at its next checkpoint until [`resume`](Self::resume).
    pub fn pause(&self) {
        *self.paused.lock().unwrap_or_else(PoisonError::into_inner) = true;
    }

    /// Lets a paused job go on.
    pub fn resume(&self) {
        *self.paused.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.wake.notify_all();
    }

    /// Whether the job is paused.
    pub fn is_paused(&self) -> bool {
        *self.paused.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits while paused; errors with [`Error::Cancelled`] when cancelled.
    pub fn checkpoint(&self) -> Result<()> {
        let mut paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
        while *paused && !self.is_cancelled() {
            paused = self
                .wake
                .wait(paused)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn pause_holds_until_resume_and_cancel_ends_it() {
        let c = Arc::new(JobControl::new());
        assert!(c.checkpoint().is_ok());
        c.pause();
        let c2 = Arc::clone(&c);
        let waiter = std::thread::spawn(move || c2.checkpoint());
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "a paused checkpoint must wait");
        c.resume();
        assert!(waiter.join().unwrap().is_ok());
        c.pause();
        let c3 = Arc::clone(&c);
        let waiter = std::thread::spawn(move || c3.checkpoint());
        c.cancel();
        assert!(matches!(waiter.join().unwrap(), Err(Error::Cancelled)));
    }
}
