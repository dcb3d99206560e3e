//! The MATPAC encoder: a ViT-Base over 16×16 log-mel patches (spec §3).
//!
//! The struct tree mirrors the checkpoint keys (`patch_embed.proj`, `cls_token`, `pos_embed`,
//! `student_encoder.blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}`,
//! `student_encoder.norm`), so weights are taken with `vb.pp(...)` in the same shape.
//!
//! Tokens are frequency-major (sequence index `f·t + c` for frequency row `f`, time column `c`);
//! a chunk of `t < G` columns takes, per frequency row, the first `t` columns of the positional
//! table. The blocks are [`Block`]s (pre-norm, LayerNorm eps 1e-6, qkv bias, softmax scale
//! `head_dim^-½`, exact-erf GELU); only the last layer's output passes the final LayerNorm.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::block::{Block, BlockParts};
use super::config::EncoderConfig;
use super::layers::{Linear, Norm, Ops};
use super::lowp::{self, Precision};
use crate::error::{Error, Result};

/// Everything the encoder computes for one input, for diagnostics and parity tests.
#[derive(Debug, Clone)]
pub struct EncoderTrace {
    /// Patch-embedding output before positions, `[B, 5t, D]`.
    pub patch_tokens: Tensor,
    /// Encoder input: CLS (+ position row 0) then patch tokens + positions, `[B, 1 + 5t, D]`.
    pub tokens_in: Tensor,
    /// Internals of every block.
    pub blocks: Vec<BlockParts>,
    /// Per-layer outputs (the last after the final LayerNorm).
    pub layers: Vec<Tensor>,
}

/// The MATPAC encoder.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub(super) cfg: EncoderConfig,
    pub(super) patch: Linear,
    pub(super) cls_token: Tensor,
    pub(super) pos_embed: Tensor,
    pub(super) blocks: Vec<Block>,
    pub(super) norm: Norm,
    pub(super) device: Device,
    pub(super) precision: Precision,
}

impl Encoder {
    /// Builds the encoder from a var builder holding the checkpoint names at its root.
    pub fn new(cfg: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let d = cfg.embed_dim;
        let p = cfg.patch_size;
        let pe = vb.pp("patch_embed").pp("proj");
        let patch = Linear::from_parts(
            &pe.get((d, 1, p, p), "weight")?.reshape((d, p * p))?,
            pe.get(d, "bias")?,
        )?;
        let rows = 1 + cfg.freq_patches() * cfg.time_patches();
        let se = vb.pp("student_encoder");
        let blocks = (0..cfg.depth)
            .map(|i| {
                Block::new(
                    &se.pp("blocks").pp(i),
                    d,
                    cfg.num_heads,
                    cfg.mlp_hidden_dim,
                    cfg.layer_norm_eps,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Encoder {
            cfg: cfg.clone(),
            patch,
            cls_token: vb.get((1, 1, d), "cls_token")?,
            pos_embed: vb.get((1, rows, d), "pos_embed")?,
            blocks,
            norm: Norm::new(&se.pp("norm"), d, cfg.layer_norm_eps)?,
            device: vb.device().clone(),
            precision: Precision::F32,
        })
    }

    /// Chooses between the fused CPU epilogues (default on the CPU) and candle's separate
    /// bias / GELU / add operations (what other devices use) — for benchmarks and diagnosis.
    pub fn set_fused_ops(&mut self, on: bool) {
        let ops = if on {
            Ops::for_inference(&self.device)
        } else {
            Ops::Candle
        };
        self.patch.ops = ops;
        self.norm.ops = ops;
        for b in &mut self.blocks {
            b.set_ops(ops);
        }
    }

    /// Runs the CPU matrix products in `requested` precision (`auto`: the fastest that keeps
    /// Earmark's accuracy bars on this CPU) and returns the precision now in use. Other devices
    /// stay in f32. An explicit precision this CPU lacks is an error and changes nothing.
    pub fn set_precision(&mut self, requested: Precision) -> Result<Precision> {
        let precision = if self.device.is_cpu() {
            lowp::resolve(requested)?
        } else {
            Precision::F32
        };
        if precision != self.precision {
            self.patch.set_precision(precision)?;
            for b in &mut self.blocks {
                for l in b.linears_mut() {
                    l.set_precision(precision)?;
                }
            }
            self.precision = precision;
        }
        Ok(precision)
    }

    /// The precision of the CPU matrix products (never `auto`).
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The encoder's hyper-parameters.
    pub fn config(&self) -> &EncoderConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Patch embedding of a batch of normalised log-mel chunks `[B, n_mels, 16·t]` → `[B, 5t, D]`.
    pub fn embed_patches(&self, x: &Tensor) -> Result<Tensor> {
        let (b, mels, frames) = x.dims3()?;
        let p = self.cfg.patch_size;
        let (f, t) = (mels / p, frames / p);
        if mels != self.cfg.n_mels || frames % p != 0 || t == 0 || t > self.cfg.time_patches() {
            return Err(Error::InvalidInput(format!(
                "encoder input must be [B, {}, 16·t] with 1 ≤ t ≤ {}, got [{b}, {mels}, {frames}]",
                self.cfg.n_mels,
                self.cfg.time_patches()
            )));
        }
        let patches = x
            .reshape((b, f, p, t, p))?
            .permute((0, 1, 3, 2, 4))?
            .reshape((b * f * t, p * p))?;
        Ok(self
            .patch
            .forward(&patches)?
            .reshape((b, f * t, self.cfg.embed_dim))?)
    }

    /// Positional rows for a chunk of `t` columns: per frequency row the first `t` columns, `[5t, D]`.
    pub(super) fn positions(&self, t: usize) -> Result<Tensor> {
        let f = self.cfg.freq_patches();
        let g = self.cfg.time_patches();
        let d = self.cfg.embed_dim;
        Ok(self
            .pos_embed
            .narrow(1, 1, f * g)?
            .reshape((f, g, d))?
            .narrow(1, 0, t)?
            .reshape((f * t, d))?)
    }

    /// Adds positions and prepends the CLS token: `[B, 5t, D]` → `[B, 1 + 5t, D]`.
    pub fn tokens_in(&self, patch_tokens: &Tensor) -> Result<Tensor> {
        let (b, n, d) = patch_tokens.dims3()?;
        let t = n / self.cfg.freq_patches();
        let x = patch_tokens.broadcast_add(&self.positions(t)?)?;
        let cls = (&self.cls_token + self.pos_embed.narrow(1, 0, 1)?)?.broadcast_as((b, 1, d))?;
        Ok(Tensor::cat(&[&cls, &x], 1)?)
    }

    /// Encodes a batch of chunks `[B, n_mels, 16·t]`. Returns the per-layer outputs
    /// `[B, 1 + 5t, D]` of every block (`all_layers`) or of the last one only; the last output has
    /// passed the final LayerNorm.
    pub fn forward(&self, x: &Tensor, all_layers: bool) -> Result<Vec<Tensor>> {
        let mut h = self.tokens_in(&self.embed_patches(x)?)?;
        let mut layers = Vec::with_capacity(if all_layers { self.blocks.len() } else { 1 });
        let last = self.blocks.len() - 1;
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(&h)?;
            if i == last {
                layers.push(self.norm.forward(&h)?);
            } else if all_layers {
                layers.push(h.clone());
            }
        }
        Ok(layers)
    }

    /// Like [`Encoder::forward`] with all layers, keeping every intermediate value.
    pub fn trace(&self, x: &Tensor) -> Result<EncoderTrace> {
        let patch_tokens = self.embed_patches(x)?;
        let tokens_in = self.tokens_in(&patch_tokens)?;
        let mut h = tokens_in.clone();
        let mut blocks = Vec::new();
        let mut layers = Vec::new();
        for block in &self.blocks {
            let parts = block.forward_parts(&h)?;
            h = parts.out.clone();
            layers.push(h.clone());
            blocks.push(parts);
        }
        if let Some(last) = layers.last_mut() {
            *last = self.norm.forward(last)?;
        }
        Ok(EncoderTrace {
            patch_tokens,
            tokens_in,
            blocks,
            layers,
        })
    }

    /// Builds an encoder with random weights (normal, std 0.02; LayerNorm 1/0) and the fixed
    /// sin-cos positions — for benchmarks and shape tests.
    pub fn random(cfg: &EncoderConfig, seed: u64, device: &Device) -> Result<Self> {
        let mut map = std::collections::HashMap::new();
        let mut rng = super::pos::SplitMix(seed);
        for (name, shape) in super::keys::expected_encoder_keys(cfg) {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = if name == "pos_embed" {
                super::pos::sincos_pos_embed(cfg)
            } else if name.contains("norm") && name.ends_with("weight") {
                vec![1.0; n]
            } else if name.contains("norm") {
                vec![0.0; n]
            } else {
                (0..n).map(|_| rng.normal() * 0.02).collect()
            };
            map.insert(name, Tensor::from_vec(values, shape, device)?);
        }
        Encoder::new(cfg, VarBuilder::from_tensors(map, DType::F32, device))
    }
}
