//! Loading checkpoints: conversion between formats, strict key checks, hostile files, and a
//! full-size ViT-B checkpoint.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;
#[path = "common/pt_writer.rs"]
mod pt_writer;

use std::path::{Path, PathBuf};

use candle_core::Device;
use common::*;
use earmark::model::{EmbedOptions, Encoder, EncoderConfig, FreqLayout, Mode, WeightFile, embed};
use pt_writer::{Pickle, Val, write_archive, write_pt};

/// The tiny fixture weights as writer values, with edits applied.
fn tiny_items(edit: impl Fn(&mut Vec<(String, Val)>)) -> Vec<(String, Val)> {
    let mut items: Vec<(String, Val)> = all_tensors("tiny.safetensors")
        .into_iter()
        .map(|(n, shape, data)| (n, Val::F32 { shape, data }))
        .collect();
    edit(&mut items);
    items
}

/// Writes a tiny checkpoint (with its model description) and tries to load it.
fn load_tiny(dir: &Path, name: &str, items: &[(String, Val)]) -> earmark::Result<Encoder> {
    let path = dir.join(format!("{name}.pt"));
    write_pt(&path, items);
    std::fs::copy(fixture("tiny.json"), path.with_extension("json")).unwrap();
    Encoder::load(&path, &Device::Cpu)
}

fn error_of(r: earmark::Result<Encoder>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn pooled(enc: &Encoder) -> Vec<f32> {
    embed(enc, &logmel_norm("sig_7p5s"), &EmbedOptions::default())
        .unwrap()
        .clip_vector()
}

#[test]
fn written_pt_loads_like_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let enc = load_tiny(dir.path(), "ok", &tiny_items(|_| {})).unwrap();
    let want = load("sig_7p5s.safetensors", "precise.emb_pooled");
    assert_close("rewritten .pt", &pooled(&enc), &want.data, TOL);
}

#[test]
fn convert_pt_to_safetensors_keeps_values_and_config() {
    let dir = tempfile::tempdir().unwrap();
    for (src, heads) in [("tiny_state_dict.pt", 0), ("tiny_as_state_dict.pt", 4)] {
        let dst = dir.path().join(format!("{src}.safetensors"));
        let cfg = earmark::model::load::convert(&fixture(src), &dst, None).unwrap();
        let file = WeightFile::open(&dst).unwrap();
        let n_enc = earmark::model::keys::expected_encoder_keys(&cfg).len();
        assert_eq!(file.tensor_names().len(), n_enc + heads, "{src}");
        // The description travels in the metadata: no sidecar needed.
        let enc = Encoder::load(&dst, &Device::Cpu).unwrap();
        assert_eq!(enc.config(), &cfg);
        let orig = Encoder::load(&fixture(src), &Device::Cpu).unwrap();
        assert_close(src, &pooled(&enc), &pooled(&orig), 0.0);
    }
}

#[test]
fn wrong_shape_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let items = tiny_items(|items| {
        for (n, v) in items.iter_mut() {
            if n == "student_encoder.blocks.1.mlp.fc1.weight"
                && let Val::F32 { shape, .. } = v
            {
                *shape = vec![64, 256];
            }
        }
    });
    let e = error_of(load_tiny(dir.path(), "shape", &items));
    assert!(
        e.contains("student_encoder.blocks.1.mlp.fc1.weight") && e.contains("[256, 64]"),
        "{e}"
    );
    // The same in a safetensors file.
    let st = dir.path().join("shape.safetensors");
    let mut t = all_tensors("tiny.safetensors");
    for (n, s, _) in t.iter_mut() {
        if n == "pos_embed" {
            *s = vec![1, 64, 191];
        }
    }
    earmark::model::weights::write_safetensors(&st, &t, None).unwrap();
    std::fs::copy(fixture("tiny.json"), st.with_extension("json")).unwrap();
    let e = error_of(Encoder::load(&st, &Device::Cpu));
    assert!(
        e.contains("`pos_embed`") && e.contains("[1, 64, 191]"),
        "{e}"
    );
}

#[test]
fn missing_key_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let items = tiny_items(|items| items.retain(|(n, _)| n != "student_encoder.norm.bias"));
    let e = error_of(load_tiny(dir.path(), "missing", &items));
    assert!(e.contains("missing key `student_encoder.norm.bias`"), "{e}");
    let items = tiny_items(|items| items.retain(|(n, _)| n != "pos_embed"));
    let e = error_of(load_tiny(dir.path(), "missing_pos", &items));
    assert!(e.contains("missing key `pos_embed`"), "{e}");
}

#[test]
fn unknown_keys_are_errors_and_training_keys_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let items = tiny_items(|items| {
        items.push((
            "surprise.weight".into(),
            Val::F32 {
                shape: vec![2],
                data: vec![1.0, 2.0],
            },
        ))
    });
    let e = error_of(load_tiny(dir.path(), "extra", &items));
    assert!(e.contains("unexpected key `surprise.weight`"), "{e}");

    // Release files may carry training-only entries, including nested dicts and integers.
    let items = tiny_items(|items| {
        items.push((
            "decoder.mask_token".into(),
            Val::F32 {
                shape: vec![1, 1, 8],
                data: vec![0.5; 8],
            },
        ));
        items.push((
            "cls_head_loss.center".into(),
            Val::F32 {
                shape: vec![1, 1, 4],
                data: vec![0.0; 4],
            },
        ));
        let teacher = vec![
            (
                "norm.weight".to_owned(),
                Val::F32 {
                    shape: vec![2],
                    data: vec![1.0; 2],
                },
            ),
            ("step".to_owned(), Val::Int(7)),
        ];
        items.push(("_ema".into(), Val::Dict(teacher)));
    });
    let enc = load_tiny(dir.path(), "training", &items).unwrap();
    let want = load("sig_7p5s.safetensors", "precise.emb_pooled");
    assert_close("with training keys", &pooled(&enc), &want.data, TOL);
}

#[test]
fn nested_state_dict_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let items = vec![
        ("model".to_owned(), Val::Dict(tiny_items(|_| {}))),
        ("epoch".to_owned(), Val::Int(3)),
    ];
    let enc = load_tiny(dir.path(), "nested", &items).unwrap();
    let want = load("sig_7p5s.safetensors", "precise.emb_pooled");
    assert_close("nested", &pooled(&enc), &want.data, TOL);
}

#[test]
fn integer_tensors_are_seen_not_skipped() {
    // `head_norm.num_batches_tracked` (int64) must be listed — a loader that drops integer
    // tensors silently would hide a missing key.
    let file = WeightFile::open(&fixture("tiny_as_state_dict.pt")).unwrap();
    assert!(
        file.tensor_names()
            .contains(&"head_norm.num_batches_tracked".to_owned())
    );
    assert!(!file.is_float("head_norm.num_batches_tracked"));
    // An encoder tensor stored as integers is an error naming it.
    let dir = tempfile::tempdir().unwrap();
    let items = tiny_items(|items| {
        for (n, v) in items.iter_mut() {
            if n == "cls_token" {
                *v = Val::I64 {
                    shape: vec![1, 1, 64],
                    data: vec![1; 64],
                };
            }
        }
    });
    let e = error_of(load_tiny(dir.path(), "int", &items));
    assert!(
        e.contains("`cls_token`") && e.contains("floating-point"),
        "{e}"
    );
}

#[test]
fn truncated_and_garbage_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("tiny_state_dict.pt")).unwrap();
    for (name, data) in [
        ("truncated.pt", bytes[..bytes.len() * 6 / 10].to_vec()),
        ("tail_cut.pt", bytes[..bytes.len() - 30].to_vec()),
        ("garbage.pt", b"not a checkpoint at all".to_vec()),
        (
            "legacy.pt",
            b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.".to_vec(),
        ),
        ("empty.pt", Vec::new()),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        let e = error_of(Encoder::load(&p, &Device::Cpu));
        assert!(
            e.contains(name),
            "{name}: error does not name the file: {e}"
        );
    }
    let st = std::fs::read(fixture("tiny.safetensors")).unwrap();
    let p = dir.path().join("cut.safetensors");
    std::fs::write(&p, &st[..st.len() / 2]).unwrap();
    let e = error_of(Encoder::load(&p, &Device::Cpu));
    assert!(e.contains("cut.safetensors"), "{e}");
}

#[test]
fn pickle_naming_os_system_is_refused_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let mut p = Pickle::default();
    p.out.extend_from_slice(b"\x80\x02");
    p.global("os", "system");
    p.out.push(b'(');
    p.string(&format!("touch {}", marker.display()));
    p.out.extend_from_slice(b"tR.");
    let path = dir.path().join("evil.pt");
    write_archive(&path, &p.out, &[]);
    let e = error_of(Encoder::load(&path, &Device::Cpu));
    assert!(e.contains("os.system") && e.contains("evil.pt"), "{e}");
    assert!(!marker.exists(), "the pickle's command ran");
    // The same global hidden inside a tensor entry, and via builtins.eval.
    for (module, name) in [
        ("os", "system"),
        ("builtins", "eval"),
        ("subprocess", "Popen"),
    ] {
        let mut p = Pickle::default();
        p.out.extend_from_slice(b"\x80\x02}(");
        p.string("cls_token");
        p.global(module, name);
        p.out.push(b'(');
        p.string("echo hi");
        p.out.extend_from_slice(b"tRu.");
        write_archive(&path, &p.out, &[]);
        let e = error_of(Encoder::load(&path, &Device::Cpu));
        assert!(e.contains(&format!("{module}.{name}")), "{e}");
    }
}

#[test]
fn lying_sizes_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    // A tensor claiming 2^40 elements backed by a 16-byte record: refused before reading.
    let huge = 1usize << 40;
    let items = tiny_items(|items| {
        for (n, v) in items.iter_mut() {
            if n == "student_encoder.norm.bias" {
                *v = Val::Raw {
                    shape: vec![huge],
                    stride: vec![1],
                    storage_numel: huge as u64,
                    bytes: vec![0; 16],
                };
            }
        }
    });
    let e = error_of(load_tiny(dir.path(), "huge", &items));
    assert!(e.contains("student_encoder.norm.bias"), "{e}");
    // Read directly (no shape check in front): refused by the size checks, nothing allocated.
    let raw = dir.path().join("raw.pt");
    let huge_val = Val::Raw {
        shape: vec![huge, huge],
        stride: vec![huge, 1],
        storage_numel: u64::MAX >> 1,
        bytes: vec![0; 16],
    };
    write_pt(&raw, &[("x".to_owned(), huge_val)]);
    let mut file = WeightFile::open(&raw).unwrap();
    let e = file.read_f32("x").unwrap_err().to_string();
    assert!(e.contains("`x`") && e.contains("raw.pt"), "{e}");
    // Right shape, but the storage record is shorter than the view needs.
    let items = tiny_items(|items| {
        for (n, v) in items.iter_mut() {
            if n == "student_encoder.norm.bias" {
                *v = Val::Raw {
                    shape: vec![64],
                    stride: vec![1],
                    storage_numel: 64,
                    bytes: vec![0; 100],
                };
            }
        }
    });
    let e = error_of(load_tiny(dir.path(), "short", &items));
    assert!(
        e.contains("student_encoder.norm.bias") && e.contains("bytes"),
        "{e}"
    );
    // A view reaching past its declared storage.
    let items = tiny_items(|items| {
        for (n, v) in items.iter_mut() {
            if n == "student_encoder.norm.bias" {
                *v = Val::Raw {
                    shape: vec![64],
                    stride: vec![4],
                    storage_numel: 64,
                    bytes: vec![0; 1024],
                };
            }
        }
    });
    let e = error_of(load_tiny(dir.path(), "stride", &items));
    assert!(
        e.contains("student_encoder.norm.bias") && e.contains("storage"),
        "{e}"
    );
    // Deeply nested containers (a classic stack-exhaustion pickle).
    let mut p = Pickle::default();
    p.out.extend_from_slice(b"\x80\x02");
    p.out.extend(std::iter::repeat_n(b']', 100_000));
    p.out.extend(std::iter::repeat_n(b'a', 99_999));
    p.out.push(b'.');
    let path = dir.path().join("deep.pt");
    write_archive(&path, &p.out, &[]);
    let e = error_of(Encoder::load(&path, &Device::Cpu));
    assert!(e.contains("nested"), "{e}");
}

/// Deterministic small values for a large synthetic checkpoint.
fn pseudo(n: usize, seed: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) % 2001) as f32 / 1000.0 - 1.0)
                * scale
        })
        .collect()
}

fn vit_b_items(cfg: &EncoderConfig) -> Vec<(String, Val)> {
    earmark::model::keys::expected_encoder_keys(cfg)
        .into_iter()
        .enumerate()
        .map(|(i, (name, shape))| {
            let n: usize = shape.iter().product();
            let data = if name == "pos_embed" {
                earmark::model::pos::sincos_pos_embed(cfg)
            } else if name.contains("norm") && name.ends_with("weight") {
                vec![1.0; n]
            } else {
                pseudo(n, i, 0.02)
            };
            (name, Val::F32 { shape, data })
        })
        .collect()
}

#[test]
fn vit_b_checkpoint_loads_and_gives_official_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EncoderConfig::vit_base();
    let path: PathBuf = dir.path().join("matpac_vit_b.pt");
    write_pt(&path, &vit_b_items(&cfg));
    // No description file: the official ViT-B layout is recognised from the shapes.
    let enc = Encoder::load(&path, &Device::Cpu).unwrap();
    assert_eq!(enc.config(), &cfg);
    let mel = logmel_norm("sig_7p5s"); // 748 frames: 2 chunks in both modes
    let all = |mode, pool| EmbedOptions {
        mode,
        freq: FreqLayout::Concat,
        pool_time: pool,
        all_layers: true,
        max_batch: 8,
    };
    let e = embed(&enc, &mel, &all(Mode::Precise, false)).unwrap();
    assert_eq!((e.num_layers(), e.steps, e.dim), (12, 47, 3840));
    assert!(e.data.iter().all(|v| v.is_finite()));
    let p = embed(&enc, &mel, &all(Mode::Precise, true)).unwrap();
    assert_eq!((p.num_layers(), p.steps, p.dim), (12, 1, 3840));
    assert_close(
        "ViT-B pooled vs mean of steps",
        &p.clip_vector(),
        &e.clip_vector(),
        1e-4,
    );
    let f = embed(&enc, &mel, &all(Mode::Fast, false)).unwrap();
    assert_eq!((f.num_layers(), f.steps, f.dim), (12, 76, 3840));
    let t = embed(
        &enc,
        &mel,
        &EmbedOptions {
            freq: FreqLayout::Tokens,
            ..all(Mode::Precise, false)
        },
    )
    .unwrap();
    assert_eq!((t.steps, t.dim), (235, 768));
    let c = embed(&enc, &mel, &EmbedOptions::default())
        .unwrap()
        .clip_vector();
    assert_eq!(c.len(), 3840);

    // Converted to safetensors it gives the same numbers.
    let st = dir.path().join("matpac_vit_b.safetensors");
    earmark::model::load::convert(&path, &st, None).unwrap();
    let enc2 = Encoder::load(&st, &Device::Cpu).unwrap();
    let c2 = embed(&enc2, &mel, &EmbedOptions::default())
        .unwrap()
        .clip_vector();
    assert_close("ViT-B .pt vs .safetensors", &c2, &c, 0.0);
}

#[test]
fn audioset_vit_b_layout_is_recognised_by_its_positions() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EncoderConfig::vit_base_audioset();
    // Only the shapes matter here: a safetensors header is enough to infer the configuration.
    let t: Vec<_> = earmark::model::keys::expected_encoder_keys(&cfg)
        .into_iter()
        .map(|(n, s)| {
            let len = s.iter().product();
            (n, s, vec![0.0f32; len])
        })
        .collect();
    let path = dir.path().join("as.safetensors");
    earmark::model::weights::write_safetensors(&path, &t, None).unwrap();
    let file = WeightFile::open(&path).unwrap();
    assert_eq!(earmark::model::load::resolve_config(&file).unwrap(), cfg);
}
