//! Custom widgets.

pub mod new_tag;
pub mod score_bar;
pub mod path_picker;
pub mod spectrogram;
pub mod timeline;
pub mod waveform;
