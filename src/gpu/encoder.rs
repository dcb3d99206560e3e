//! The MATPAC encoder forward pass as wgpu compute dispatches.
//!
//! Same arithmetic as the candle encoder (spec §3): patch embedding as a product with the
//! `[D, 256]` kernel, CLS and fixed positions, pre-norm blocks (LayerNorm, fused q|k|v, per-head
//! softmax attention, exact-erf GELU MLP, residual adds) and the final LayerNorm on the last
//! layer. Weights are uploaded once; a call encodes a batch of chunks in one submission.

use candle_core::{Device, Tensor};

use super::context::GpuContext;
use super::kernels::{AssembleParams, Kernels, MatmulParams, RowParams};
use crate::dsp::N_MELS as N_FREQ_BINS;
use crate::model::EncoderConfig;
use crate::model::chunk::ChunkEncoder;
use crate::model::host::{HostLinear, HostNorm, HostWeights};
use crate::{Error, Result};

struct GpuLinear {
    weight: wgpu::Buffer,
    bias: wgpu::Buffer,
    out_features: usize,
    in_features: usize,
}

struct GpuNorm {
    weight: wgpu::Buffer,
    bias: wgpu::Buffer,
    eps: f32,
}

struct GpuBlock {
    norm1: GpuNorm,
    qkv: GpuLinear,
    proj: GpuLinear,
    norm2: GpuNorm,
    fc1: GpuLinear,
    fc2: GpuLinear,
}

/// An encoder whose weights live on a wgpu device.
pub struct GpuEncoder {
    ctx: GpuContext,
    kernels: Kernels,
    cfg: EncoderConfig,
    patch: GpuLinear,
    cls: wgpu::Buffer,
    pos: wgpu::Buffer,
    blocks: Vec<GpuBlock>,
    norm: GpuNorm,
    dummy: wgpu::Buffer,
    /// Scale applied to q·kᵀ (1 when the query rows already carry it).
    score_scale: f32,
}

impl GpuEncoder {
    /// Uploads `weights` to the device of `ctx` and compiles the kernels.
    pub fn new(ctx: GpuContext, weights: &HostWeights) -> Result<Self> {
        let linear = |name: &str, l: &HostLinear| -> Result<GpuLinear> {
            Ok(GpuLinear {
                weight: ctx.upload(name, &l.weight)?,
                bias: ctx.upload(name, &l.bias)?,
                out_features: l.out_features,
                in_features: l.in_features,
            })
        };
        let norm = |name: &str, n: &HostNorm| -> Result<GpuNorm> {
            Ok(GpuNorm {
                weight: ctx.upload(name, &n.weight)?,
                bias: ctx.upload(name, &n.bias)?,
                eps: n.eps,
            })
        };
        let blocks = weights
            .blocks
            .iter()
            .map(|b| {
                Ok(GpuBlock {
                    norm1: norm("norm1", &b.norm1)?,
                    qkv: linear("qkv", &b.qkv)?,
                    proj: linear("proj", &b.proj)?,
                    norm2: norm("norm2", &b.norm2)?,
                    fc1: linear("fc1", &b.fc1)?,
                    fc2: linear("fc2", &b.fc2)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let kernels = Kernels::new(&ctx.device);
        Ok(GpuEncoder {
            patch: linear("patch", &weights.patch)?,
            cls: ctx.upload("cls", &weights.cls_token)?,
            pos: ctx.upload("pos", &weights.pos_embed)?,
            norm: norm("norm", &weights.norm)?,
            dummy: ctx.upload("dummy", &[0.0])?,
            blocks,
            kernels,
            score_scale: if weights.query_prescaled {
                1.0
            } else {
                (weights.config.head_dim() as f32).powf(-0.5)
            },
            cfg: weights.config.clone(),
            ctx,
        })
    }

    /// The device this encoder runs on.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// The encoder configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.cfg
    }

    /// Encodes `x` `[B, 80, F]` (F a multiple of 16, at most `n_t`): per-layer outputs
    /// `[B, 1 + 5t, D]` (all layers, or only the last), as CPU tensors like the candle encoder's.
    pub fn forward(&self, x: &Tensor, all_layers: bool) -> Result<Vec<Tensor>> {
        let (batch, mels, frames) = x.dims3()?;
        let p = self.cfg.patch_size;
        if mels != N_FREQ_BINS || frames % p != 0 || frames > self.cfg.n_t || frames == 0 {
            return Err(Error::InvalidInput(format!(
                "GPU encoder input [{batch}, {mels}, {frames}]: need [B, 80, multiple of {p} ≤ {}]",
                self.cfg.n_t
            )));
        }
        let host: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let patches = im2col(&host, batch, frames, p);
        let freq = mels / p;
        let t = frames / p;
        let d = self.cfg.embed_dim;
        let seq = 1 + freq * t;
        let rows = batch * seq;
        let layers = self.cfg.depth;
        let kept = if all_layers { layers } else { 1 };
        let heads = self.cfg.num_heads;
        let hidden = self.blocks.first().map_or(0, |b| b.fc1.out_features);

        let ctx = &self.ctx;
        let patch_in = ctx.upload("patches", &patches)?;
        let patch_out = ctx.scratch("patch tokens", batch * freq * t * d)?;
        let xa = ctx.scratch("stream a", rows * d)?;
        let xb = ctx.scratch("stream b", rows * d)?;
        let h = ctx.scratch("normed", rows * d)?;
        let qkv = ctx.scratch("qkv", rows * 3 * d)?;
        let scores = ctx.scratch("scores", batch * heads * seq * seq)?;
        let attn = ctx.scratch("attention", rows * d)?;
        let mlp = ctx.scratch("mlp", rows * hidden.max(1))?;
        let out = ctx.scratch("layers", kept * rows * d)?;

        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("encode"),
            });
        self.linear(
            &mut enc,
            &self.patch,
            &patch_in,
            &patch_out,
            batch * freq * t,
            1,
            None,
        )?;
        let grid_t = self.cfg.time_patches();
        self.kernels.assemble(
            ctx,
            &mut enc,
            &AssembleParams::new(batch, t, grid_t, d, freq),
            [&patch_out, &self.pos, &self.cls, &xa],
        );
        let head_dim = d / heads;
        for (i, block) in self.blocks.iter().enumerate() {
            self.layer_norm(&mut enc, &block.norm1, &xa, &h, rows, d);
            self.linear(&mut enc, &block.qkv, &h, &qkv, rows, 1, None)?;
            // The residual stream stays in `xa`: proj writes xa + … into xb, fc2 writes xb + …
            // back into xa. scores[b, h, i, j] = q_i · k_j / sqrt(head_dim)
            let qk = MatmulParams {
                m: seq as u32,
                n: seq as u32,
                k: head_dim as u32,
                z2_count: heads as u32,
                a_off: 0,
                a_z1: (seq * 3 * d) as u32,
                a_z2: head_dim as u32,
                a_m: (3 * d) as u32,
                a_k: 1,
                b_off: d as u32,
                b_z1: (seq * 3 * d) as u32,
                b_z2: head_dim as u32,
                b_n: (3 * d) as u32,
                b_k: 1,
                c_z1: (heads * seq * seq) as u32,
                c_z2: (seq * seq) as u32,
                c_m: seq as u32,
                c_n: 1,
                flags: 0,
                alpha: self.score_scale,
                ..Default::default()
            };
            let groups = (batch * heads) as u32;
            self.kernels.matmul(
                ctx,
                &mut enc,
                &qk,
                [&qkv, &qkv, &self.dummy, &self.dummy, &scores],
                groups,
            );
            self.kernels.softmax(
                ctx,
                &mut enc,
                &RowParams::new(batch * heads * seq, seq, 0.0),
                &scores,
            );
            // attn[b, i, h·hd + e] = Σ_j p_ij · v_j[e]
            let pv = MatmulParams {
                m: seq as u32,
                n: head_dim as u32,
                k: seq as u32,
                z2_count: heads as u32,
                a_off: 0,
                a_z1: (heads * seq * seq) as u32,
                a_z2: (seq * seq) as u32,
                a_m: seq as u32,
                a_k: 1,
                b_off: (2 * d) as u32,
                b_z1: (seq * 3 * d) as u32,
                b_z2: head_dim as u32,
                b_n: 1,
                b_k: (3 * d) as u32,
                c_z1: (seq * d) as u32,
                c_z2: head_dim as u32,
                c_m: d as u32,
                c_n: 1,
                flags: 0,
                alpha: 1.0,
                ..Default::default()
            };
            self.kernels.matmul(
                ctx,
                &mut enc,
                &pv,
                [&scores, &qkv, &self.dummy, &self.dummy, &attn],
                groups,
            );
            self.linear(&mut enc, &block.proj, &attn, &xb, rows, 1 | 4, Some(&xa))?;
            self.layer_norm(&mut enc, &block.norm2, &xb, &h, rows, d);
            self.linear(&mut enc, &block.fc1, &h, &mlp, rows, 1 | 2, None)?;
            self.linear(&mut enc, &block.fc2, &mlp, &xa, rows, 1 | 4, Some(&xb))?;
            let last = i + 1 == layers;
            let slot = if all_layers {
                Some(i)
            } else if last {
                Some(0)
            } else {
                None
            };
            if let Some(slot) = slot {
                let offset = (slot * rows * d * 4) as u64;
                if last {
                    self.layer_norm(&mut enc, &self.norm, &xa, &xb, rows, d);
                    enc.copy_buffer_to_buffer(&xb, 0, &out, offset, (rows * d * 4) as u64);
                } else {
                    enc.copy_buffer_to_buffer(&xa, 0, &out, offset, (rows * d * 4) as u64);
                }
            }
        }
        let values = ctx.submit_and_read(enc, &out, kept * rows * d)?;
        let device = Device::Cpu;
        values
            .chunks_exact(rows * d)
            .map(|layer| Ok(Tensor::from_vec(layer.to_vec(), (batch, seq, d), &device)?))
            .collect()
    }

    /// `dst = src · Wᵀ (+ b)(GELU)(+ residual)` over `rows` rows.
    #[allow(clippy::too_many_arguments)]
    fn linear(
        &self,
        enc: &mut wgpu::CommandEncoder,
        l: &GpuLinear,
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
        rows: usize,
        flags: u32,
        residual: Option<&wgpu::Buffer>,
    ) -> Result<()> {
        let (n, k) = (l.out_features, l.in_features);
        let p = MatmulParams {
            m: rows as u32,
            n: n as u32,
            k: k as u32,
            z2_count: 1,
            a_m: k as u32,
            a_k: 1,
            b_n: k as u32,
            b_k: 1,
            c_m: n as u32,
            c_n: 1,
            flags,
            alpha: 1.0,
            ..Default::default()
        };
        let res = residual.unwrap_or(&self.dummy);
        self.kernels
            .matmul(&self.ctx, enc, &p, [src, &l.weight, &l.bias, res, dst], 1);
        Ok(())
    }

    fn layer_norm(
        &self,
        enc: &mut wgpu::CommandEncoder,
        n: &GpuNorm,
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
        rows: usize,
        cols: usize,
    ) {
        self.kernels.layer_norm(
            &self.ctx,
            enc,
            &RowParams::new(rows, cols, n.eps),
            [src, &n.weight, &n.bias, dst],
        );
    }
}

impl ChunkEncoder for GpuEncoder {
    fn config(&self) -> &EncoderConfig {
        GpuEncoder::config(self)
    }

    fn input_device(&self) -> &Device {
        &Device::Cpu
    }

    fn forward_chunks(&self, x: &Tensor, all_layers: bool) -> Result<Vec<Tensor>> {
        self.forward(x, all_layers)
    }
}

/// Rearranges `[B, 80, F]` into patch rows `[B · 5 · t, p²]`, frequency-major, with the
/// in-patch index `p · (frequency offset) + (time offset)` (spec §3.1).
fn im2col(x: &[f32], batch: usize, frames: usize, p: usize) -> Vec<f32> {
    let freq = N_FREQ_BINS / p;
    let t = frames / p;
    let mut out = vec![0.0; batch * freq * t * p * p];
    for b in 0..batch {
        for f in 0..freq {
            for c in 0..t {
                let row = ((b * freq + f) * t + c) * p * p;
                for fo in 0..p {
                    let src = (b * N_FREQ_BINS + f * p + fo) * frames + c * p;
                    out[row + fo * p..row + fo * p + p].copy_from_slice(&x[src..src + p]);
                }
            }
        }
    }
    out
}
