//! Live listening: capture from an input device, a scrolling log-mel, and every hop the encoder
//! and heads on the last window, with smoothed tags, a tag timeline and the last seconds heard.
//!
//! ```text
//! cpal callback ─ring─▶ capture thread: 16 kHz mono ─▶ level, log-mel columns, history
//!                                        └─ every hop: the last window ─▶ encoder thread
//! encoder thread: embedding ─▶ heads ─▶ smoothed tags, timeline ─▶ events
//! ```
//! The capture thread never waits for the encoder: it hands over the newest window and a window
//! not yet taken when the next is due is replaced (counted as a skipped hop), so a slow model
//! costs update rate, never audio.
//!
//! - [`level`], [`scores`], [`history`], [`analysis`]: the device-free parts, tested alone;
//! - [`session`] (feature `live`): [`LiveSession`] with the threads, device loss and reconnection.

pub mod analysis;
pub mod event;
pub mod history;
pub mod level;
pub mod scores;
#[cfg(feature = "live")]
pub mod session;

use std::sync::Arc;
use std::time::Duration;

pub use analysis::{LiveHead, WindowResult};
pub use event::{DeviceState, LiveEvent, LiveStats};
pub use scores::{TagScore, TimelineEntry};
#[cfg(feature = "live")]
pub use session::LiveSession;

use crate::engine::Engine;
use crate::{Error, Result};

/// How a live session listens and analyses.
#[derive(Clone)]
pub struct LiveConfig {
    /// Input device name (`None`: the system's default input).
    pub device: Option<String>,
    /// The active model.
    pub engine: Arc<Engine>,
    /// Heads run on every window's embedding.
    pub heads: Vec<LiveHead>,
    /// Seconds between analyses.
    pub hop_s: f32,
    /// Seconds of audio each analysis sees (at most one encoder chunk: 6.08 s for MATPAC).
    pub window_s: f32,
    /// Time constant of the score smoothing in seconds (0: none).
    pub smoothing_s: f32,
    /// Tags kept per head and hop.
    pub top: usize,
    /// Seconds of audio kept for "find similar" and snippets.
    pub history_s: f32,
    /// Timeline entries kept (per session, all heads together).
    pub timeline_len: usize,
    /// Seconds of audio the device ring holds.
    pub ring_s: f32,
    /// Seconds per device block to ask the host for (`None`: the host's default). 20 ms keeps
    /// ALSA's PulseAudio plugin from polling in a busy loop (measured: 9 % of a core instead of
    /// 40 %) for 20 ms of added latency.
    pub block_s: Option<f32>,
    /// Wait between attempts to reopen a lost or missing device.
    pub reconnect_interval: Duration,
    /// A device that delivers nothing for this long counts as lost.
    pub stall_timeout: Duration,
    /// Capacity of the event channel; events beyond it are dropped and counted.
    pub event_capacity: usize,
}

impl LiveConfig {
    /// The defaults (hop 0.5 s, window 2 s, smoothing 1 s, top 5, 60 s of history) for `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        LiveConfig {
            device: None,
            engine,
            heads: Vec::new(),
            hop_s: 0.5,
            window_s: 2.0,
            smoothing_s: 1.0,
            top: 5,
            history_s: 60.0,
            timeline_len: 2000,
            ring_s: 2.0,
            block_s: Some(0.02),
            reconnect_interval: Duration::from_millis(500),
            stall_timeout: Duration::from_secs(3),
            event_capacity: 1024,
        }
    }

    /// Log-mel frames per window, checked against the encoder's chunk length.
    pub fn window_frames(&self) -> Result<usize> {
        let n_t = self.engine.config().n_t;
        let max_s = n_t as f32 / analysis::FRAMES_PER_SECOND;
        if !(self.window_s >= 0.2 && self.window_s <= max_s + 1e-4) {
            return Err(Error::InvalidInput(format!(
                "window {} s: it must be between 0.2 s and {max_s:.2} s (one encoder chunk)",
                self.window_s
            )));
        }
        Ok(((self.window_s * analysis::FRAMES_PER_SECOND).round() as usize).min(n_t))
    }

    /// Log-mel frames per hop.
    pub fn hop_frames(&self) -> Result<usize> {
        if !(self.hop_s >= 0.01 && self.hop_s <= 60.0) {
            return Err(Error::InvalidInput(format!(
                "hop {} s: it must be between 0.01 s and 60 s",
                self.hop_s
            )));
        }
        Ok(((self.hop_s * analysis::FRAMES_PER_SECOND).round() as usize).max(1))
    }
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("device", &self.device)
            .field("engine", &self.engine.device_name())
            .field("heads", &self.heads.len())
            .field("hop_s", &self.hop_s)
            .field("window_s", &self.window_s)
            .finish_non_exhaustive()
    }
}
