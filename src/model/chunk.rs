//! What the inference code needs from an encoder, whatever runs it: candle on the CPU, CUDA or
//! Metal ([`super::Encoder`]), the wgpu engine, or [`crate::engine::Engine`] which picks one.

use candle_core::{Device, Tensor};

use super::config::EncoderConfig;
use crate::error::Result;

/// An encoder that turns batches of log-mel chunks into per-layer token outputs.
pub trait ChunkEncoder {
    /// The hyper-parameters (grid, width, depth).
    fn config(&self) -> &EncoderConfig;

    /// The candle device input tensors should be built on.
    fn input_device(&self) -> &Device;

    /// Encodes `x` `[B, 80, F]` (F a multiple of 16, at most `n_t`) into per-layer outputs
    /// `[B, 1 + 5t, D]`: every layer, or only the last (after the final LayerNorm).
    fn forward_chunks(&self, x: &Tensor, all_layers: bool) -> Result<Vec<Tensor>>;
}

impl ChunkEncoder for super::Encoder {
    fn config(&self) -> &EncoderConfig {
        super::Encoder::config(self)
    }

    fn input_device(&self) -> &Device {
        self.device()
    }

    fn forward_chunks(&self, x: &Tensor, all_layers: bool) -> Result<Vec<Tensor>> {
        self.forward(x, all_layers)
    }
}
