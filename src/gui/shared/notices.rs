//! The messages for the user shown in the status bar ([`Notices`]): a message goes away by
//! itself after [`NOTICE_LIFETIME`]; an error the user must act on stays until dismissed.

use std::time::{Duration, Instant};

/// How long a message (not an error) stays shown.
pub const NOTICE_LIFETIME: Duration = Duration::from_secs(8);

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What it says.
    pub text: String,
    /// When it goes away by itself (`None`: it stays until dismissed).
    pub expires: Option<Instant>,
}

impl Notice {
    /// Whether it stays until the user dismisses it.
    pub fn is_error(&self) -> bool {
        self.expires.is_none()
    }
}

/// The messages for the user, newest last.
#[derive(Debug, Default)]
pub struct Notices {
    shown: Vec<Notice>,
}

impl Notices {
    /// Shows a message that goes away by itself after [`NOTICE_LIFETIME`].
    pub fn push(&mut self, text: String) {
        self.push_at(text, Instant::now());
    }

    /// Shows an error the user must act on: it stays until dismissed.
    pub fn error(&mut self, text: impl Into<String>) {
        self.add(text.into(), None);
    }

    /// [`push`](Self::push) as of `now`.
    pub fn push_at(&mut self, text: impl Into<String>, now: Instant) {
        self.add(text.into(), Some(now + NOTICE_LIFETIME));
    }

    fn add(&mut self, text: String, expires: Option<Instant>) {
        // The same text again replaces the older one (and keeps it an error if it was one).
        let was_error = match self.shown.iter().position(|n| n.text == text) {
            Some(i) => self.shown.remove(i).is_error(),
            None => false,
        };
        let expires = if was_error { None } else { expires };
        self.shown.push(Notice { text, expires });
    }

    /// The newest message's text.
    pub fn last(&self) -> Option<&String> {
        self.shown.last().map(|n| &n.text)
    }

    /// The newest message.
    pub fn newest(&self) -> Option<&Notice> {
        self.shown.last()
    }

    /// Dismisses the newest message; returns it.
    pub fn pop(&mut self) -> Option<String> {
        self.shown.pop().map(|n| n.text)
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// How many messages there are.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    /// Every message, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Notice> {
        self.shown.iter()
    }

    /// Removes the messages whose time is up at `now`; returns how long until the next one
    /// goes (`None`: none will go by itself).
    pub fn expire(&mut self, now: Instant) -> Option<Duration> {
        self.shown.retain(|n| n.expires.is_none_or(|at| at > now));
        self.shown
            .iter()
            .filter_map(|n| n.expires)
            .min()
            .map(|at| at.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_go_by_themselves_and_errors_stay() {
        let t0 = Instant::now();
        let mut n = Notices::default();
        n.error("The settings could not be saved: disk full");
        n.push_at("Saved spectrogram.png", t0);
        assert_eq!(n.last().map(String::as_str), Some("Saved spectrogram.png"));
        assert_eq!(n.expire(t0), Some(NOTICE_LIFETIME));
        let later = t0 + NOTICE_LIFETIME - Duration::from_secs(1);
        assert_eq!(n.expire(later), Some(Duration::from_secs(1)));
        assert_eq!(n.len(), 2);
        assert_eq!(n.expire(t0 + NOTICE_LIFETIME), None);
        assert_eq!(
            n.last().map(String::as_str),
            Some("The settings could not be saved: disk full"),
            "the error is still shown"
        );
        assert_eq!(n.expire(t0 + NOTICE_LIFETIME * 100), None);
        assert!(n.newest().is_some_and(Notice::is_error));
        assert!(n.pop().is_some() && n.is_empty());
    }

    #[test]
    fn a_repeated_message_is_shown_once() {
        let t0 = Instant::now();
        let mut n = Notices::default();
        n.push_at("a", t0);
        n.push_at("b", t0);
        n.push_at("a", t0 + Duration::from_secs(5));
        assert_eq!(
            n.iter().map(|x| x.text.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        // The repeat runs its own time.
        n.expire(t0 + NOTICE_LIFETIME);
        assert_eq!(n.last().map(String::as_str), Some("a"));
        assert_eq!(n.len(), 1);
        n.error("c");
        n.push_at("c", t0);
        assert!(
            n.newest().is_some_and(Notice::is_error),
            "an error stays one"
        );
    }
}
