//! Custom widgets.

pub mod spectrogram;
pub mod timeline;
