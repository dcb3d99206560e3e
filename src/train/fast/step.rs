//! One MATPAC forward and backward pass (spec §7.2) on the CPU with explicit gradients: the
//! same functions as `TrainState`'s candle graph (patch embedding, student on the visible
//! patches, EMA teacher on the masked ones, predictor, both losses, both heads), computed on
//! borrowed tensor storage, returning the student's gradients by checkpoint name.

use std::collections::BTreeMap;

use candle_core::{Tensor, Var};

use super::block::{Linear, Seq, Stack};
use super::head::{Head, classification_loss, prediction_loss};
use super::params::{Grads, Locked, Weights};
use super::pool::Buf;
use crate::error::{Error, Result};
use crate::train::cls_head::Centre;
use crate::train::masking::Masking;
use crate::train::preset::TrainConfig;

/// What the step reads besides the tensors.
pub struct StepInput<'a> {
    /// The run's options.
    pub cfg: &'a TrainConfig,
    /// Trainable tensors.
    pub params: &'a BTreeMap<String, Var>,
    /// EMA teacher tensors.
    pub teacher: &'a BTreeMap<String, Tensor>,
    /// The encoder's position table `[1 + N, D]`.
    pub pos: &'a [f32],
    /// The predictor's position table `[1 + N, Dd]`.
    pub dec_pos: &'a [f32],
    /// Teacher temperature of this update.
    pub teacher_temp: f64,
}

/// What the forward and backward passes yield.
pub struct StepOutput {
    /// Gradients of the optimised loss by parameter name.
    pub grads: BTreeMap<String, Vec<f32>>,
    /// `Σℓ_pred`.
    pub pred_sum: f64,
    /// `Σℓ_cls`.
    pub cls_sum: f64,
    /// Masked tokens (the loss's divisor).
    pub count: usize,
    /// The optimised loss.
    pub loss: f64,
    /// Teacher probabilities `[count, outputs]`.
    pub probs: Vec<f32>,
    /// Seconds of the forward pass.
    pub forward_s: f64,
}

/// Rows `idx` of each sample (`b` samples of `n` rows of width `d`) → `[b·idx.len(), d]`,
/// after `first` (one row per sample) when given.
fn gather(x: &[f32], n: usize, d: usize, idx: &[&[u32]], first: Option<&[f32]>) -> Buf {
    let extra = usize::from(first.is_some());
    let k = idx.first().map_or(0, |r| r.len());
    let mut out = Buf::zeros(idx.len() * (k + extra) * d);
    let mut rows_out = out.chunks_mut(d);
    for (bi, rows) in idx.iter().enumerate() {
        if let Some(f) = first
            && let Some(o) = rows_out.next()
        {
            o.copy_from_slice(f);
        }
        for (&r, o) in rows.iter().zip(rows_out.by_ref()) {
            let start = (bi * n + r as usize) * d;
            o.copy_from_slice(&x[start..start + d]);
        }
    }
    out
}

/// Runs the update's forward and backward passes.
pub fn forward_backward(
    inp: &StepInput,
    crops: &Tensor,
    masking: &Masking,
    centre: &mut Centre,
) -> Result<StepOutput> {
    let t0 = std::time::Instant::now();
    let cfg = inp.cfg;
    let e = &cfg.preset.encoder;
    let dc = &cfg.preset.decoder;
    let (b, mels, frames) = crops.dims3()?;
    if mels != e.n_mels || frames != e.n_t {
        return Err(Error::InvalidInput(format!(
            "training crops must be [B, {}, {}], got [{b}, {mels}, {frames}]",
            e.n_mels, e.n_t
        )));
    }
    let crops = crops.flatten_all()?.to_vec1::<f32>()?;
    let locked = Locked::new(
        inp.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_tensor()))
            .chain(inp.teacher.iter().map(|(k, t)| (k.as_str(), t))),
    );
    let w: Weights = locked.weights()?;
    let (d, dd, eps) = (e.embed_dim, dc.dim, e.layer_norm_eps);
    let (p, f, g) = (e.patch_size, e.freq_patches(), e.time_patches());
    let n = f * g;
    let pp = p * p;
    let (k, m) = (masking.n_keep, masking.n_masked());
    if masking.len() != n || masking.ids_shuffle.len() != b {
        return Err(Error::InvalidInput("masking does not fit the batch".into()));
    }
    let patch = Linear::new(&w, "patch_embed.proj", pp, d)?;
    let cls_token = w.get("cls_token", d)?;
    let student = Stack::new(
        &w,
        "student_encoder.blocks",
        "student_encoder.norm",
        e.depth,
        d,
        e.num_heads,
        e.mlp_hidden_dim,
        eps,
    )?;
    let teacher = Stack::new(
        &w,
        "teacher_encoder.blocks",
        "teacher_encoder.norm",
        e.depth,
        d,
        e.num_heads,
        e.mlp_hidden_dim,
        eps,
    )?;
    let embed = Linear::new(&w, "decoder.decoder_embed", d, dd)?;
    let mask_token = w.get("decoder.mask_token", dd)?;
    let decoder = Stack::new(
        &w,
        "decoder.decoder_blocks",
        "decoder.decoder_norm",
        dc.depth,
        dd,
        dc.num_heads,
        dc.mlp_hidden_dim,
        eps,
    )?;
    let pred_layer = Linear::new(&w, "decoder.decoder_pred", dd, d)?;
    let s_head = Head::new(&w, "student_head", d, &cfg.preset.head)?;
    let t_head = Head::new(&w, "teacher_head", d, &cfg.preset.head)?;

    // Patch tokens with positions, [B·N, D].
    let mut patches = Buf::zeros(b * n * pp);
    for (idx, row) in patches.chunks_mut(pp).enumerate() {
        let (bi, j) = (idx / n, idx % n);
        let (fi, gi) = (j / g, j % g);
        for pi in 0..p {
            let src = (bi * mels + fi * p + pi) * frames + gi * p;
            row[pi * p..(pi + 1) * p].copy_from_slice(&crops[src..src + p]);
        }
    }
    let mut tokens = patch.forward(&patches, false);
    for (idx, row) in tokens.chunks_mut(d).enumerate() {
        let j = idx % n;
        for (v, &q) in row.iter_mut().zip(&inp.pos[(1 + j) * d..(2 + j) * d]) {
            *v += q;
        }
    }
    let cls: Vec<f32> = cls_token
        .iter()
        .zip(&inp.pos[..d])
        .map(|(a, q)| a + q)
        .collect();
    let (visible, masked) = (masking.visible(), masking.masked());

    // Student on CLS + visible patches, teacher on CLS + masked patches.
    let xs = gather(&tokens, n, d, &visible, Some(&cls));
    let s_seq = Seq { b, n: 1 + k, d };
    let (z_v, s_cache) = student.forward(xs, s_seq);
    let xt = gather(&tokens, n, d, &masked, Some(&cls));
    drop(tokens);
    let zt = teacher.infer(&xt, Seq { b, n: 1 + m, d });
    drop(xt);
    let z_m = Buf::collect(
        b * m * d,
        zt.chunks(d * (1 + m)).flat_map(|s| s[d..].iter().copied()),
    );
    drop(zt);

    // Predictor: project, fill the masked places, restore order, add positions.
    let y = embed.forward(&z_v, false);
    let mut h0 = Buf::zeros(b * (1 + n) * dd);
    for (bi, seq) in h0.chunks_mut((1 + n) * dd).enumerate() {
        let ys = &y[bi * (1 + k) * dd..(bi + 1) * (1 + k) * dd];
        for (j, row) in seq.chunks_mut(dd).enumerate() {
            let src = if j == 0 {
                &ys[..dd]
            } else {
                let r = masking.ids_restore[bi][j - 1] as usize;
                if r < k {
                    &ys[(1 + r) * dd..(2 + r) * dd]
                } else {
                    mask_token
                }
            };
            for ((v, &a), &q) in row.iter_mut().zip(src).zip(&inp.dec_pos[j * dd..]) {
                *v = a + q;
            }
        }
    }
    let d_seq = Seq { b, n: 1 + n, d: dd };
    let (hd, d_cache) = decoder.forward(h0, d_seq);
    let masked_plus1: Vec<Vec<u32>> = masked
        .iter()
        .map(|r| r.iter().map(|&i| i + 1).collect())
        .collect();
    let mp1: Vec<&[u32]> = masked_plus1.iter().map(Vec::as_slice).collect();
    let hm = gather(&hd, 1 + n, dd, &mp1, None);
    drop(hd);
    let pred = pred_layer.forward(&hm, false);

    // Losses.
    let count = b * m;
    let (wc, wp) = cfg.loss_weights;
    let (pred_sum, mut dpred) = prediction_loss(&pred, &z_m, d, (wp / count as f64) as f32);
    let (s_logits, h_cache) = s_head.forward(&pred);
    let t_logits = t_head.infer(&z_m);
    let probs = centre.teacher_probs_host(&t_logits, inp.teacher_temp)?;
    drop(t_logits);
    let outputs = cfg.preset.head.outputs;
    let scale = (wc / count as f64) as f32;
    let (cls_sum, dlogits) = classification_loss(&s_logits, &probs, outputs, scale);
    let loss = (wc * cls_sum + wp * pred_sum) / count as f64;
    let forward_s = t0.elapsed().as_secs_f64();
    if !loss.is_finite() {
        return Ok(StepOutput {
            grads: BTreeMap::new(),
            pred_sum,
            cls_sum,
            count,
            loss,
            probs,
            forward_s,
        });
    }

    // Backward.
    let mut grads = Grads::default();
    let dhead = s_head.backward(&dlogits, &pred, h_cache, &mut grads);
    for (a, &x) in dpred.iter_mut().zip(dhead.iter()) {
        *a += x;
    }
    let dhm = pred_layer
        .backward(&dpred, &hm, &mut grads, true)
        .unwrap_or_default();
    let mut dhd = Buf::zeros(b * (1 + n) * dd);
    for (bi, rows) in masked.iter().enumerate() {
        for (i, &r) in rows.iter().enumerate() {
            let dst = (bi * (1 + n) + 1 + r as usize) * dd;
            let src = (bi * m + i) * dd;
            dhd[dst..dst + dd].copy_from_slice(&dhm[src..src + dd]);
        }
    }
    let dh0 = decoder.backward(&dhd, d_cache, d_seq, &mut grads);
    drop(dhd);
    let mut dy = Buf::zeros(b * (1 + k) * dd);
    let mut dmask = vec![0.0f32; dd];
    for (bi, seq) in dh0.chunks((1 + n) * dd).enumerate() {
        let dys = &mut dy[bi * (1 + k) * dd..(bi + 1) * (1 + k) * dd];
        for (j, row) in seq.chunks(dd).enumerate() {
            let dst: &mut [f32] = if j == 0 {
                &mut dys[..dd]
            } else {
                let r = masking.ids_restore[bi][j - 1] as usize;
                if r < k {
                    &mut dys[(1 + r) * dd..(2 + r) * dd]
                } else {
                    &mut dmask
                }
            };
            for (a, &x) in dst.iter_mut().zip(row) {
                *a += x;
            }
        }
    }
    grads.put("decoder.mask_token", dmask);
    let dz_v = embed
        .backward(&dy, &z_v, &mut grads, true)
        .unwrap_or_default();
    let dxs = student.backward(&dz_v, s_cache, s_seq, &mut grads);
    let mut dcls = vec![0.0f32; d];
    let mut dvis = Vec::with_capacity(b * k * d);
    for seq in dxs.chunks((1 + k) * d) {
        for (a, &x) in dcls.iter_mut().zip(&seq[..d]) {
            *a += x;
        }
        dvis.extend_from_slice(&seq[d..]);
    }
    grads.put("cls_token", dcls);
    let vis_patches = gather(&patches, n, pp, &visible, None);
    patch.backward(&dvis, &vis_patches, &mut grads, false);
    Ok(StepOutput {
        grads: grads.map,
        pred_sum,
        cls_sum,
        count,
        loss,
        probs,
        forward_s,
    })
}
