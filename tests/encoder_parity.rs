//! Parity of the encoder and the inference modes with the official code's golden fixtures,
//! from both the `.pt` and the `.safetensors` weights, fed the stored `logmel_norm`.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion (as clippy.toml allows in tests)

mod common;

use candle_core::{Device, Tensor};
use common::*;
use earmark::model::{EmbedOptions, Encoder, FreqLayout, Mode, embed, embed_batch};

fn encoder(file: &str) -> Encoder {
    Encoder::load(&fixture(file), &Device::Cpu).unwrap()
}

/// The first chunk of a signal as the encoder sees it: up to 608 frames, zero-padded to 16.
fn chunk0(sig: &str) -> Tensor {
    let frames = logmel_norm(sig).frames.div_ceil(16).min(38) * 16;
    first_chunk(sig, frames)
}

#[test]
fn chunk_internals_match_reference() {
    for model in TINY {
        let enc = encoder(model);
        for sig in SIGNALS {
            let f = format!("{sig}.safetensors");
            let tr = enc.trace(&chunk0(sig)).unwrap();
            let case = |n: &str| format!("{model} {sig} {n}");
            let check = |n: &str, t: &Tensor| {
                let r = load(&f, n);
                assert_eq!(t.dims(), r.shape.as_slice(), "{}", case(n));
                assert_close(&case(n), &values(t), &r.data, TOL);
            };
            check("chunk0.patch_tokens", &tr.patch_tokens);
            check("chunk0.tokens_in", &tr.tokens_in);
            check("chunk0.block0.norm1_out", &tr.blocks[0].norm1_out);
            check("chunk0.block0.attn_out", &tr.blocks[0].attn_out);
            check("chunk0.block0.mlp_out", &tr.blocks[0].mlp_out);
            check("chunk0.block0_out", &tr.blocks[0].out);
            check("chunk0.block1_out", &tr.blocks[1].out);
            let layers = Tensor::stack(&tr.layers, 1).unwrap();
            check("chunk0.layer_tokens", &layers);
        }
    }
}

#[test]
fn plain_forward_equals_traced_forward() {
    let enc = encoder(TINY[1]);
    let x = chunk0("sig_7p5s");
    let plain = enc.forward(&x, true).unwrap();
    let traced = enc.trace(&x).unwrap();
    for (a, b) in plain.iter().zip(&traced.layers) {
        assert_close("forward vs trace", &values(a), &values(b), 1e-5);
    }
}

fn opts(mode: Mode, freq: FreqLayout, pool: bool) -> EmbedOptions {
    embed_opts(mode, freq, pool)
}

/// Compares layers (all) and emb (last) of one mode against `<prefix>.layers|emb[_pooled]`.
fn check_mode(enc: &Encoder, model: &str, sig: &str, prefix: &str, o: &EmbedOptions) {
    let mel = logmel_norm(sig);
    let f = format!("{sig}.safetensors");
    let e = embed(enc, &mel, o).unwrap();
    let suffix = if o.pool_time { "_pooled" } else { "" };
    let layers = load(&f, &format!("{prefix}.layers{suffix}"));
    let emb = load(&f, &format!("{prefix}.emb{suffix}"));
    let case = format!("{model} {sig} {prefix} pooled={}", o.pool_time);
    // layers: [1, L, (T',) dim]
    assert_eq!(layers.shape[1], e.num_layers(), "{case}: layer count");
    assert_eq!(*layers.shape.last().unwrap(), e.dim, "{case}: dim");
    if !o.pool_time {
        assert_eq!(layers.shape[2], e.steps, "{case}: steps");
    }
    assert_close(&format!("{case} layers"), &e.data, &layers.data, TOL);
    assert_close(&format!("{case} emb"), e.last(), &emb.data, TOL);
    if o.pool_time {
        assert_close(
            &format!("{case} clip_vector"),
            &e.clip_vector(),
            &emb.data,
            TOL,
        );
    }
}

#[test]
fn precise_and_fast_modes_match_reference() {
    for model in TINY {
        let enc = encoder(model);
        for sig in SIGNALS {
            for pool in [false, true] {
                check_mode(
                    &enc,
                    model,
                    sig,
                    "precise",
                    &opts(Mode::Precise, FreqLayout::Concat, pool),
                );
                check_mode(
                    &enc,
                    model,
                    sig,
                    "fast",
                    &opts(Mode::Fast, FreqLayout::Concat, pool),
                );
            }
        }
    }
}

#[test]
fn concat_freq_off_matches_reference() {
    for model in TINY {
        let enc = encoder(model);
        for pool in [false, true] {
            let o = opts(Mode::Precise, FreqLayout::Tokens, pool);
            check_mode(&enc, model, "sig_7p5s", "precise_noconcat", &o);
        }
    }
}

#[test]
fn unpooled_clip_vector_equals_pooled_output() {
    let enc = encoder(TINY[0]);
    let mel = logmel_norm("sig_13s");
    for mode in [Mode::Precise, Mode::Fast] {
        let full = embed(&enc, &mel, &opts(mode, FreqLayout::Concat, false)).unwrap();
        let pooled = embed(&enc, &mel, &opts(mode, FreqLayout::Concat, true)).unwrap();
        assert_close("clip vector", &full.clip_vector(), pooled.last(), 1e-5);
    }
}

#[test]
fn batching_many_inputs_changes_nothing() {
    let enc = encoder(TINY[1]);
    let mels: Vec<_> = SIGNALS.iter().map(|s| logmel_norm(s)).collect();
    let refs: Vec<_> = mels.iter().collect();
    for mode in [Mode::Precise, Mode::Fast] {
        for pool in [false, true] {
            let single: Vec<_> = mels
                .iter()
                .map(|m| embed(&enc, m, &opts(mode, FreqLayout::Concat, pool)).unwrap())
                .collect();
            for max_batch in [1, 2, 8] {
                let o = EmbedOptions {
                    max_batch,
                    ..opts(mode, FreqLayout::Concat, pool)
                };
                let batched = embed_batch(&enc, &refs, &o).unwrap();
                for (a, b) in batched.iter().zip(&single) {
                    assert_eq!((a.steps, a.dim), (b.steps, b.dim));
                    assert_close("batched vs single", &a.data, &b.data, 1e-5);
                }
            }
        }
    }
}

#[test]
fn last_layer_only_matches_all_layers() {
    let enc = encoder(TINY[0]);
    let mel = logmel_norm("sig_7p5s");
    let all = embed(&enc, &mel, &opts(Mode::Precise, FreqLayout::Concat, false)).unwrap();
    let last = embed(
        &enc,
        &mel,
        &EmbedOptions {
            pool_time: false,
            ..EmbedOptions::default()
        },
    )
    .unwrap();
    assert_eq!(last.layer_ids, [1]);
    assert_close("last only", last.last(), all.last(), 0.0);
}

#[test]
fn bad_inputs_are_errors() {
    let enc = encoder(TINY[0]);
    let empty = earmark::dsp::LogMel {
        data: vec![],
        frames: 0,
    };
    assert!(embed(&enc, &empty, &EmbedOptions::default()).is_err());
    let wrong = earmark::dsp::LogMel {
        data: vec![0.0; 79],
        frames: 1,
    };
    assert!(embed(&enc, &wrong, &EmbedOptions::default()).is_err());
    let nan = earmark::dsp::LogMel {
        data: vec![f32::NAN; 80],
        frames: 1,
    };
    assert!(embed(&enc, &nan, &EmbedOptions::default()).is_err());
}

#[test]
fn sincos_table_matches_checkpoint_positions() {
    let cfg = Encoder::load(&fixture(TINY[0]), &Device::Cpu)
        .unwrap()
        .config()
        .clone();
    let table = earmark::model::pos::sincos_pos_embed(&cfg);
    let want = load("preprocessing.safetensors", "pos_embed_608");
    assert_close("sin-cos table", &table, &want.data, 1e-6);
}

#[test]
fn candle_ops_path_matches_reference_too() {
    // The path other devices take (separate bias / GELU / add ops), checked on the CPU.
    for model in TINY {
        let mut enc = encoder(model);
        enc.set_fused_ops(false);
        for sig in ["sig_1p3s", "sig_13s"] {
            check_mode(
                &enc,
                model,
                sig,
                "precise",
                &opts(Mode::Precise, FreqLayout::Concat, false),
            );
            check_mode(
                &enc,
                model,
                sig,
                "fast",
                &opts(Mode::Fast, FreqLayout::Concat, true),
            );
        }
    }
}

#[test]
fn logmel_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mel = logmel_norm("sig_1p3s");
    // .npy (version 1.0, float32, C order, [80, T])
    let header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': (80, {}), }}",
        mel.frames
    );
    let mut h = header.into_bytes();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(h.len() as u16).to_le_bytes());
    npy.extend_from_slice(&h);
    npy.extend(mel.data.iter().flat_map(|v| v.to_le_bytes()));
    let p = dir.path().join("mel.npy");
    std::fs::write(&p, npy).unwrap();
    assert_eq!(earmark::model::mel_file::read_logmel(&p).unwrap(), mel);
    // The fixture's own safetensors file (tensor `logmel_norm`).
    let got = earmark::model::mel_file::read_logmel(&fixture("sig_1p3s.safetensors")).unwrap();
    assert_eq!(got, mel);
    std::fs::write(&p, b"\x93NUMPY\x01\x00garbage").unwrap();
    assert!(earmark::model::mel_file::read_logmel(&p).is_err());
}
