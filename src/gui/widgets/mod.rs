//! Custom widgets.

pub mod spectrogram;
