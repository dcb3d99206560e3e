//! Stage timings of the encoder's forward pass, for `earmark bench encoder --profile`.
//!
//! The stages run one after the other exactly as in [`Encoder::forward`]; only timestamps are
//! added between them.

use std::time::Instant;

use candle_core::Tensor;

use super::block::Block;
use super::encoder::Encoder;
use super::layers::Epilogue;
use crate::error::Result;

/// Accumulated stage timings.
#[derive(Debug, Default)]
struct Profile {
    stages: Vec<(&'static str, f64)>,
}

impl Profile {
    fn add(&mut self, name: &'static str, since: std::time::Instant) {
        let dt = since.elapsed().as_secs_f64();
        match self.stages.iter_mut().find(|s| s.0 == name) {
            Some(s) => s.1 += dt,
            None => self.stages.push((name, dt)),
        }
    }
}

impl Block {
    /// Runs the block like [`Block::forward`], timing its stages.
    fn forward_profiled(&self, x: &Tensor, prof: &mut Profile) -> Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let rows = x.reshape((b * n, d))?;
        let t = Instant::now();
        let h = self.norm1.forward(x)?;
        prof.add("LayerNorm", t);
        let t = Instant::now();
        let qkv = self.qkv.forward(&h.reshape((b * n, d))?)?;
        prof.add("qkv linear (+bias)", t);
        let t = Instant::now();
        let o = self.attend(&qkv, b, n)?;
        prof.add("attention (q·kᵀ, softmax, A·v)", t);
        let t = Instant::now();
        let x = self.proj.apply(&o, Epilogue::BiasResidual(&rows))?;
        prof.add("proj linear (+bias+residual)", t);
        let t = Instant::now();
        let h = self.norm2.forward(&x)?;
        prof.add("LayerNorm", t);
        let t = Instant::now();
        let m = self.fc1.apply(&h, Epilogue::BiasGelu)?;
        prof.add("fc1 linear (+bias+GELU)", t);
        let t = Instant::now();
        let out = self
            .fc2
            .apply(&m, Epilogue::BiasResidual(&x))?
            .reshape((b, n, d))?;
        prof.add("fc2 linear (+bias+residual)", t);
        Ok(out)
    }
}

impl Encoder {
    /// Times the stages of one forward pass (all layers), summed over the blocks, in seconds.
    /// Diagnostic only: the stages run one after the other exactly as in [`Encoder::forward`].
    pub fn profile(&self, x: &Tensor) -> Result<Vec<(&'static str, f64)>> {
        let mut prof = Profile::default();
        let t = Instant::now();
        let mut h = self.tokens_in(&self.embed_patches(x)?)?;
        prof.add("patch embedding + positions", t);
        for block in &self.blocks {
            h = block.forward_profiled(&h, &mut prof)?;
        }
        let t = Instant::now();
        let out = self.norm.forward(&h)?;
        std::hint::black_box(&out);
        prof.add("final LayerNorm", t);
        Ok(prof.stages)
    }
}
