//! What a live session reports: events over a bounded channel, the device state and counters.

use std::time::{Duration, Instant};

use crate::dsp::N_MELS;

use super::scores::TagScore;

/// Where the input device stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    /// Looking for the device (at start, and between reconnection attempts).
    Connecting,
    /// Capturing from `device` in `format`.
    Capturing {
        /// The device's name.
        device: String,
        /// Rate, channels and sample format, e.g. `48000 Hz, 2 channels, f32`.
        format: String,
    },
    /// The device went away or stopped delivering audio; reconnection is being tried.
    Lost {
        /// What happened, for the user.
        message: String,
    },
    /// No usable device: none exists, the named one is missing, or its format is unsupported;
    /// retried until one appears.
    Unavailable {
        /// Why, for the user.
        message: String,
    },
    /// The session was stopped.
    Stopped,
}

/// One event of a live session.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// The device state changed (capture started or resumed, device lost, none available).
    Device(DeviceState),
    /// The input level of the samples up to `end_sample`.
    Level {
        /// Stream position just past the block measured.
        end_sample: u64,
        /// When the block was taken from the device ring.
        at: Instant,
        /// RMS level in dBFS.
        rms_dbfs: f32,
        /// Peak level in dBFS.
        peak_dbfs: f32,
    },
    /// New columns for a scrolling spectrogram: normalised log-mel frames (10 ms each),
    /// oldest first, band 0 the lowest.
    Spectrogram {
        /// The columns.
        columns: Vec<[f32; N_MELS]>,
    },
    /// The clip embedding of the window `start_sample..end_sample`.
    Embedding {
        /// Stream position of the window's first sample.
        start_sample: u64,
        /// Stream position just past the window's last sample.
        end_sample: u64,
        /// The embedding (precise, frequency-concatenated, time-pooled last layer).
        embedding: Vec<f32>,
        /// When the last sample of the window left the device ring.
        ready_at: Instant,
        /// When the analysis finished.
        at: Instant,
        /// Encoder and heads time.
        compute: Duration,
    },
    /// The smoothed top tags of one head for the window ending at `end_sample`.
    Tags {
        /// Stream position just past the window's last sample.
        end_sample: u64,
        /// Index of the head in the configuration.
        head: usize,
        /// The head's name.
        head_name: String,
        /// The top tags, highest smoothed score first.
        tags: Vec<TagScore>,
    },
    /// Analysis failed for one window (the session goes on).
    Error {
        /// What went wrong.
        message: String,
    },
}

/// Counters of a live session.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveStats {
    /// 16 kHz samples analysed (the stream position).
    pub samples: u64,
    /// Device frames received, all connections together.
    pub device_frames: u64,
    /// Device blocks dropped because the ring was full.
    pub dropped_blocks: u64,
    /// Device frames in those blocks.
    pub dropped_frames: u64,
    /// Windows analysed.
    pub hops: u64,
    /// Windows replaced before the encoder took them (the encoder was slower than the hop).
    pub skipped_hops: u64,
    /// Events dropped because the channel was full.
    pub dropped_events: u64,
    /// Times the device was lost.
    pub losses: u64,
    /// Times capture started (the first start and every resumption).
    pub starts: u64,
    /// Latest device buffering latency reported by the host, in microseconds.
    pub buffer_latency_us: u64,
}
