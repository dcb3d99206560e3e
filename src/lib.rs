//! Earmark: listen to sound the way a trained ear does.
//!
//! Earmark runs the MATPAC self-supervised audio encoder locally and turns it into tagging,
//! similarity search, live listening and training on one's own collection. This crate holds all
//! the logic; the `earmark` binary is a thin command-line and GUI shell over it.
//!
//! Data flows as plain values from one module to the next:
//! file ─[`audio`]→ 16 kHz mono [`audio::AudioClip`] ─[`dsp`]→ normalised [`dsp::LogMel`]
//! ─[`model`]→ embeddings ─[`tags`]→ labels.

pub mod atomic_file;
pub mod audio;
pub mod calendar;
pub mod catalog;
pub mod config;
pub mod dsp;
pub mod engine;
pub mod error;
pub mod eval;
pub mod gpu;
#[cfg(feature = "gui")]
pub mod gui;
pub mod jobs;
pub mod library;
pub mod live;
pub mod model;
pub mod personal;
pub mod search;
pub mod stderr_filter;
pub mod tags;
pub mod train;
pub mod wording;
pub mod writeback;

pub use error::{Error, Result};
