//! The panels of the window that are not yet feature modules of their own.

#[cfg(feature = "live")]
pub mod audio_devices;
pub mod inspector;
pub mod jobs;
pub mod library;
#[cfg(feature = "live")]
pub mod live;
pub mod map;
pub mod models;
pub mod sidebar;
pub mod similar;
pub mod tag_filter;
pub mod tags;
pub mod training;
pub mod training_form;
pub mod writeback;
