//! The one place background work runs: [`run_caught`] turns a panic inside the work into a
//! value, so a bug in one job or task ends that job or task with "internal error: <message>"
//! and the thread that ran it goes on with the next.
//!
//! The panic itself is still printed by the process's panic hook (the default one prints the
//! message and where it happened to stderr), which is where a bug report finds it.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::Error;

/// Background work that panicked, with the panic's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// What the panic said (`panic!("…")`, an `expect` message, an index out of bounds…).
    pub message: String,
}

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "internal error: {}", self.message)
    }
}

impl From<Panicked> for Error {
    fn from(p: Panicked) -> Self {
        Error::Internal(p.message)
    }
}

/// Runs `work`, catching a panic in it.
///
/// The work is treated as unwind safe: whatever it shared with others is either behind locks
/// that Earmark recovers from poisoning (`PoisonError::into_inner`) or owned by the work and
/// dropped with it.
pub fn run_caught<T>(work: impl FnOnce() -> T) -> Result<T, Panicked> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| Panicked {
        message: panic_message(payload.as_ref()),
    })
}

/// The message a panic carried: its `&str` or `String` payload (what `panic!`, `expect` and
/// the standard library's own panics carry), or a placeholder for any other payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_values_with_their_message() {
        assert_eq!(run_caught(|| 7), Ok(7));
        let p = run_caught(|| panic!("static text")).unwrap_err();
        assert_eq!(p.message, "static text");
        let n = 3;
        let p = run_caught(|| panic!("formatted {n}")).unwrap_err();
        assert_eq!(p.to_string(), "internal error: formatted 3");
        let p = run_caught(|| std::panic::panic_any(42_u8)).unwrap_err();
        assert_eq!(p.message, "a panic without a message");
        let v: Vec<u8> = Vec::new();
        let p = run_caught(|| v[1]).unwrap_err();
        assert!(p.message.contains("index out of bounds"), "{}", p.message);
        let e: Error = p.into();
        assert!(
            e.to_string()
                .starts_with("internal error: index out of bounds")
        );
    }
}
