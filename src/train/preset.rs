//! Model sizes (presets) and the options of a training run.

use serde::{Deserialize, Serialize};

use super::cls_head::HeadConfig;
use super::decoder::DecoderConfig;
use super::schedule::Schedules;
use crate::error::{Error, Result};
use crate::model::EncoderConfig;

/// Prediction heads of a MATPAC++ run (winner-takes-all over five).
pub const MCL_HEADS: usize = 5;

/// The sizes of the three trained parts: encoder, predictor and classification head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPreset {
    /// Preset name (`tiny`, `small`, `base`, or `custom`).
    pub name: String,
    /// The encoder being pretrained.
    pub encoder: EncoderConfig,
    /// The predictor.
    pub decoder: DecoderConfig,
    /// The classification heads (student and teacher).
    pub head: HeadConfig,
}

impl TrainPreset {
    /// The official MATPAC sizes: ViT-B encoder, 512-wide 8-block predictor, 2048-hidden head
    /// with a 256 bottleneck and 2048 prototypes.
    pub fn base() -> Self {
        TrainPreset {
            name: "base".into(),
            encoder: EncoderConfig::vit_base(),
            decoder: DecoderConfig {
                dim: 512,
                depth: 8,
                num_heads: 16,
                mlp_hidden_dim: 2048,
                prediction_heads: 1,
            },
            head: HeadConfig {
                hidden: 2048,
                bottleneck: 256,
                outputs: 2048,
            },
        }
    }

    /// A 384-wide, 6-block encoder with a 256-wide, 4-block predictor.
    pub fn small() -> Self {
        TrainPreset {
            name: "small".into(),
            encoder: EncoderConfig::small(),
            decoder: DecoderConfig {
                dim: 256,
                depth: 4,
                num_heads: 8,
                mlp_hidden_dim: 1024,
                prediction_heads: 1,
            },
            head: HeadConfig {
                hidden: 1024,
                bottleneck: 256,
                outputs: 2048,
            },
        }
    }

    /// A 192-wide, 4-block encoder with a 128-wide, 2-block predictor: trains on a laptop CPU.
    pub fn tiny() -> Self {
        TrainPreset {
            name: "tiny".into(),
            encoder: EncoderConfig::tiny(),
            decoder: DecoderConfig {
                dim: 128,
                depth: 2,
                num_heads: 4,
                mlp_hidden_dim: 512,
                prediction_heads: 1,
            },
            head: HeadConfig {
                hidden: 512,
                bottleneck: 128,
                outputs: 1024,
            },
        }
    }

    /// Looks a preset up by name.
    pub fn named(name: &str) -> Result<Self> {
        match name {
            "tiny" => Ok(Self::tiny()),
            "small" => Ok(Self::small()),
            "base" | "vit-base" => Ok(Self::base()),
            other => Err(Error::InvalidInput(format!(
                "unknown training preset `{other}` (known: tiny, small, base)"
            ))),
        }
    }

    /// The same sizes with MATPAC++'s `heads` prediction heads.
    pub fn with_prediction_heads(mut self, heads: usize) -> Self {
        self.decoder.prediction_heads = heads.max(1);
        self
    }

    /// The same sizes with MATPAC++'s [`MCL_HEADS`] prediction heads when `mcl` is on, as they
    /// are otherwise.
    pub fn with_mcl(self, mcl: bool) -> Self {
        if mcl {
            self.with_prediction_heads(MCL_HEADS)
        } else {
            self
        }
    }
}

/// Everything that defines a run: sizes, optimiser, schedules, data and bookkeeping options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Model sizes.
    pub preset: TrainPreset,
    /// Crops per update.
    pub batch_size: usize,
    /// Fraction of patches hidden from the student (0.7).
    pub mask_ratio: f64,
    /// Decoupled weight decay (0.05).
    pub weight_decay: f64,
    /// Adam betas (0.9, 0.95).
    pub betas: (f64, f64),
    /// Adam epsilon (1e-6), added to the uncorrected `√v`.
    pub adam_eps: f64,
    /// Global gradient-norm limit (3.0).
    pub clip_norm: f64,
    /// Weights of the classification and prediction losses (0.5, 0.5).
    pub loss_weights: (f64, f64),
    /// Step-dependent hyper-parameters (their `total_steps` is the run length).
    pub schedules: Schedules,
    /// Seed of every random draw (initialisation, data order, crops, masks).
    pub seed: u64,
    /// Save a checkpoint every this many updates (0 = only at the end and on stop).
    pub checkpoint_every: u64,
    /// Evaluate the held-out crops every this many updates (0 = never).
    pub eval_every: u64,
    /// Checkpoints kept on disk (older ones are removed).
    pub keep_checkpoints: usize,
    /// Folders the training audio comes from (listed again on resume).
    #[serde(default)]
    pub roots: Vec<std::path::PathBuf>,
}

impl TrainConfig {
    /// The official optimiser and loss settings for `preset`, a run of `steps` updates at
    /// `batch_size` with peak learning rate `peak_lr`.
    pub fn new(preset: TrainPreset, steps: u64, batch_size: usize, peak_lr: f64) -> Self {
        TrainConfig {
            preset,
            batch_size,
            mask_ratio: 0.7,
            weight_decay: 0.05,
            betas: (0.9, 0.95),
            adam_eps: 1e-6,
            clip_norm: 3.0,
            loss_weights: (0.5, 0.5),
            schedules: Schedules::scaled(steps, peak_lr),
            seed: 1337,
            checkpoint_every: 100,
            eval_every: 50,
            keep_checkpoints: 3,
            roots: Vec::new(),
        }
    }

    /// Checks the options against each other.
    pub fn validate(&self) -> Result<()> {
        self.preset.encoder.validate()?;
        let bad = |why: String| Err(Error::InvalidInput(why));
        if self.batch_size == 0 {
            return bad("batch size must be at least 1".into());
        }
        if !(0.05..0.95).contains(&self.mask_ratio) {
            return bad(format!(
                "mask ratio {} is outside 0.05–0.95",
                self.mask_ratio
            ));
        }
        if self.schedules.total_steps == 0 {
            return bad("a run needs at least one step".into());
        }
        let d = &self.preset.decoder;
        if d.num_heads == 0 || !d.dim.is_multiple_of(d.num_heads) || !d.dim.is_multiple_of(4) {
            return bad(format!(
                "predictor width {} must be a multiple of 4 and of its {} heads",
                d.dim, d.num_heads
            ));
        }
        Ok(())
    }
}
