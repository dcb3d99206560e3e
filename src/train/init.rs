//! The initial values of a training run (spec §7.5–7.6) and the names of every tensor.
//!
//! Linear layers: Xavier-uniform, zero bias. LayerNorm: 1 / 0. Patch projection: Xavier on its
//! `[D, p²]` view, bias `U(−1/p, 1/p)`. CLS and mask tokens: `N(0, 0.02²)`. The teacher encoder
//! is an independent random encoder; the teacher head's MLP starts from `N(0, 0.02²)` while the
//! student's starts from Xavier, and both last layers start identical (`v ~ U(±1/√bottleneck)`,
//! `g = 1`). Positional tables are fixed 2-D sin-cos.

use std::collections::BTreeMap;

use super::preset::TrainPreset;
use crate::model::EncoderConfig;
use crate::model::pos::{SplitMix, sincos_pos_embed};

/// A named tensor's initial values.
pub type Values = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// How one tensor starts.
#[derive(Debug, Clone, Copy)]
enum Init {
    Xavier { fan_in: usize, fan_out: usize },
    Uniform(f32),
    Normal(f32),
    Const(f32),
}

fn draw(rng: &mut SplitMix, init: Init, n: usize) -> Vec<f32> {
    match init {
        Init::Xavier { fan_in, fan_out } => {
            let bound = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
            (0..n)
                .map(|_| (rng.uniform() * 2.0 - 1.0) * bound)
                .collect()
        }
        Init::Uniform(bound) => (0..n)
            .map(|_| (rng.uniform() * 2.0 - 1.0) * bound)
            .collect(),
        Init::Normal(std) => (0..n).map(|_| rng.normal() * std).collect(),
        Init::Const(c) => vec![c; n],
    }
}

fn put(map: &mut Values, rng: &mut SplitMix, name: String, shape: Vec<usize>, init: Init) {
    let n = shape.iter().product();
    map.insert(name, (shape, draw(rng, init, n)));
}

fn linear(map: &mut Values, rng: &mut SplitMix, prefix: &str, inp: usize, out: usize, w: Init) {
    put(map, rng, format!("{prefix}.weight"), vec![out, inp], w);
    put(
        map,
        rng,
        format!("{prefix}.bias"),
        vec![out],
        Init::Const(0.0),
    );
}

fn xavier(inp: usize, out: usize) -> Init {
    Init::Xavier {
        fan_in: inp,
        fan_out: out,
    }
}

fn norm(map: &mut Values, rng: &mut SplitMix, prefix: &str, dim: usize) {
    put(
        map,
        rng,
        format!("{prefix}.weight"),
        vec![dim],
        Init::Const(1.0),
    );
    put(
        map,
        rng,
        format!("{prefix}.bias"),
        vec![dim],
        Init::Const(0.0),
    );
}

/// Xavier-initialised blocks `prefix.N.*`.
fn blocks(map: &mut Values, rng: &mut SplitMix, prefix: &str, depth: usize, d: usize, h: usize) {
    for i in 0..depth {
        let p = format!("{prefix}.{i}");
        norm(map, rng, &format!("{p}.norm1"), d);
        linear(
            map,
            rng,
            &format!("{p}.attn.qkv"),
            d,
            3 * d,
            xavier(d, 3 * d),
        );
        linear(map, rng, &format!("{p}.attn.proj"), d, d, xavier(d, d));
        norm(map, rng, &format!("{p}.norm2"), d);
        linear(map, rng, &format!("{p}.mlp.fc1"), d, h, xavier(d, h));
        linear(map, rng, &format!("{p}.mlp.fc2"), h, d, xavier(h, d));
    }
}

fn head(map: &mut Values, rng: &mut SplitMix, prefix: &str, p: &TrainPreset, mlp: Option<f32>) {
    let (d, c) = (p.encoder.embed_dim, &p.head);
    let w = |i, o| mlp.map_or(xavier(i, o), Init::Normal);
    linear(
        map,
        rng,
        &format!("{prefix}.mlp.0"),
        d,
        c.hidden,
        w(d, c.hidden),
    );
    linear(
        map,
        rng,
        &format!("{prefix}.mlp.2"),
        c.hidden,
        c.hidden,
        w(c.hidden, c.hidden),
    );
    linear(
        map,
        rng,
        &format!("{prefix}.mlp.4"),
        c.hidden,
        c.bottleneck,
        w(c.hidden, c.bottleneck),
    );
}

/// The initial trainable tensors (student encoder, predictor, student head) and the teacher's
/// tensors (teacher encoder, teacher head), drawn from `seed`.
pub fn initial_values(preset: &TrainPreset, seed: u64) -> (Values, Values) {
    let mut rng = SplitMix(seed);
    let mut student = Values::new();
    let mut teacher = Values::new();
    let e = &preset.encoder;
    let (d, p) = (e.embed_dim, e.patch_size);
    put(
        &mut student,
        &mut rng,
        "cls_token".into(),
        vec![1, 1, d],
        Init::Normal(0.02),
    );
    put(
        &mut student,
        &mut rng,
        "patch_embed.proj.weight".into(),
        vec![d, 1, p, p],
        xavier(p * p, d),
    );
    put(
        &mut student,
        &mut rng,
        "patch_embed.proj.bias".into(),
        vec![d],
        Init::Uniform(1.0 / p as f32),
    );
    let h = e.mlp_hidden_dim;
    blocks(
        &mut student,
        &mut rng,
        "student_encoder.blocks",
        e.depth,
        d,
        h,
    );
    norm(&mut student, &mut rng, "student_encoder.norm", d);
    blocks(
        &mut teacher,
        &mut rng,
        "teacher_encoder.blocks",
        e.depth,
        d,
        h,
    );
    norm(&mut teacher, &mut rng, "teacher_encoder.norm", d);

    let dc = &preset.decoder;
    linear(
        &mut student,
        &mut rng,
        "decoder.decoder_embed",
        d,
        dc.dim,
        xavier(d, dc.dim),
    );
    put(
        &mut student,
        &mut rng,
        "decoder.mask_token".into(),
        vec![1, 1, dc.dim],
        Init::Normal(0.02),
    );
    blocks(
        &mut student,
        &mut rng,
        "decoder.decoder_blocks",
        dc.depth,
        dc.dim,
        dc.mlp_hidden_dim,
    );
    norm(&mut student, &mut rng, "decoder.decoder_norm", dc.dim);
    if dc.prediction_heads <= 1 {
        linear(
            &mut student,
            &mut rng,
            "decoder.decoder_pred",
            dc.dim,
            d,
            xavier(dc.dim, d),
        );
    } else {
        for i in 0..dc.prediction_heads {
            let name = format!("decoder.decoder_pred.{i}");
            linear(&mut student, &mut rng, &name, dc.dim, d, xavier(dc.dim, d));
        }
    }

    head(&mut student, &mut rng, "student_head", preset, None);
    head(&mut teacher, &mut rng, "teacher_head", preset, Some(0.02));
    let c = &preset.head;
    let v = draw(
        &mut rng,
        Init::Uniform(1.0 / (c.bottleneck as f32).sqrt()),
        c.outputs * c.bottleneck,
    );
    for (map, prefix) in [
        (&mut student, "student_head"),
        (&mut teacher, "teacher_head"),
    ] {
        map.insert(
            format!("{prefix}.last_layer.weight_v"),
            (vec![c.outputs, c.bottleneck], v.clone()),
        );
        map.insert(
            format!("{prefix}.last_layer.weight_g"),
            (vec![c.outputs, 1], vec![1.0; c.outputs]),
        );
    }
    (student, teacher)
}

/// The encoder's fixed positional table `[1 + F·G, D]` (flattened).
pub fn encoder_positions(cfg: &EncoderConfig) -> Vec<f32> {
    sincos_pos_embed(cfg)
}

/// The predictor's fixed positional table: the same grid at the predictor's width.
pub fn decoder_positions(cfg: &EncoderConfig, decoder_dim: usize) -> Vec<f32> {
    sincos_pos_embed(&EncoderConfig {
        embed_dim: decoder_dim,
        ..cfg.clone()
    })
}
