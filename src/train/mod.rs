//! MATPAC self-supervised pretraining (spec §7, MATPAC++ §8) on the user's own audio.
//!
//! A student encoder sees the visible 30 % of a crop's patches; a predictor guesses the latents
//! that an EMA teacher computes from the masked 70 %, and DINO-style classification heads match
//! the teacher's sharpened, centred prototype distribution. Everything here is plain candle with
//! gradients; the trained student exports to the same weight format as the official encoders.
//!
//! - [`schedule`]: learning rate, temperatures, EMA decays.
//! - [`masking`], [`layers`], [`vit`], [`decoder`], [`cls_head`], [`losses`]: the model pieces.
//! - [`init`]: the initialisation of spec §7.6; [`preset`]: sizes and run options.
//! - [`state`]: the full training state (student, teacher, optimiser, centre) and one step;
//!   `graph`: that step's forward pass through candle's graph (MATPAC++, other devices).
//! - [`optim`]: fairseq's Adam with decoupled weight decay, gradient clipping.
//! - [`dataset`]: random crops from audio files; [`checkpoint`]: atomic save and exact resume.
//! - [`labelled`], [`finetune`], [`finetune_io`]: supervised fine-tuning on labelled files
//!   (sound types), its checkpoints, and the calibrated tag head it yields.
//! - [`fast`]: the update written out by hand for the CPU (explicit backward passes).
//! - [`trainer`]: the job (events, pause, resume, stop) and [`export`] of the student.

pub mod checkpoint;
pub mod cls_head;
pub mod dataset;
pub mod decoder;
pub mod export;
pub mod fast;
pub mod finetune;
pub mod finetune_io;
mod graph;
pub mod init;
pub mod labelled;
pub mod layers;
pub mod losses;
pub mod masking;
pub mod optim;
pub mod preset;
pub mod schedule;
pub mod state;
pub mod trainer;
pub mod vit;

pub use preset::{MCL_HEADS, TrainConfig, TrainPreset};
pub use schedule::Schedules;
pub use state::{StepStats, TrainState};
pub use trainer::{TrainEvent, TrainHandle};
