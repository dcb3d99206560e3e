//! Custom widgets.

pub mod new_tag;
pub mod path_picker;
pub mod score_bar;
pub mod spectrogram;
pub mod timeline;
pub mod waveform;
