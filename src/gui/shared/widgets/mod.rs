//! Custom widgets.

pub mod new_tag;
pub mod path_picker;
pub mod spectrogram;
pub mod timeline;
