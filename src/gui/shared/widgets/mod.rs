//! Custom widgets.

pub mod new_tag;
pub mod spectrogram;
pub mod timeline;
