//! The library's error type: every failure is a value that names what failed and why.

use std::path::PathBuf;

/// Everything that can go wrong inside Earmark's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not audio Earmark can read (unknown container, corrupt header, …).
    #[error("{path}: unsupported or unrecognised audio format: {reason}")]
    UnsupportedFormat {
        /// The file concerned.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The container was recognised but its audio could not be decoded.
    #[error("{path}: cannot decode audio: {reason}")]
    Decode {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file decoded but holds no usable audio (no samples, or too few for one analysis frame).
    #[error("{path}: {reason}")]
    NoAudio {
        /// The file concerned.
        path: PathBuf,
        /// Why the audio is unusable.
        reason: String,
    },
    /// The file decoded but is too short for one analysis frame (a click, a 15 ms blip).
    #[error("{path}: too short to analyse ({duration_s:.3} s of audio)")]
    TooShort {
        /// The file concerned.
        path: PathBuf,
        /// How long the audio lasted, in seconds.
        duration_s: f64,
    },
    /// Resampling failed.
    #[error("resampling failed: {0}")]
    Resample(String),
    /// A model file (checkpoint, config, head, vocabulary) is missing, malformed or mismatched.
    #[error("model: {0}")]
    Model(String),
    /// A tensor operation failed inside the encoder.
    #[error("tensor: {0}")]
    Tensor(String),
    /// The GPU could not be used (no adapter, lost device, out of memory, oversized buffer).
    #[error("GPU: {0}")]
    Gpu(String),
    /// An argument was out of range or inconsistent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The library index (SQLite) failed or holds something unexpected.
    #[error("library: {0}")]
    Library(String),
    /// Sound cannot be played: no output device, or the device refused the stream.
    #[error("audio output: {0}")]
    AudioOutput(String),
    /// No audio input device exists, or none matches the name asked for.
    #[error("no input device: {0}")]
    NoInputDevice(String),
    /// The input device exists but cannot be used now (sound server gone, busy, disconnected).
    #[error("input device unavailable: {0}")]
    InputDevice(String),
    /// The input device offers no sample format or configuration Earmark can capture.
    #[error("input format not supported: {0}")]
    UnsupportedInputFormat(String),
    /// A download failed: the server refused or broke off the transfer, or the file that arrived
    /// is not the one expected (size, checksum, content). The previous file is kept.
    #[error("download: {0}")]
    Download(String),
    /// The operation was cancelled by the user.
    #[error("cancelled")]
    Cancelled,
    /// A bug: background work panicked; the message is the panic's.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
