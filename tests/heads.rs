//! Parity of the probe heads and the AudioSet head with the official code's fixtures, and the
//! vocabulary / top-k formatting of the labels.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion (as clippy.toml allows in tests)

mod common;

use candle_core::Device;
use common::*;
use earmark::model::{EmbedOptions, Encoder, FreqLayout, embed};
use earmark::tags::{Head, Vocabulary, format_label, top_k};

const PROB_TOL: f32 = 1e-5;

/// The fixture `.safetensors` probe files also hold the test vectors, which a head file must
/// not contain; the test writes a clean copy with only the probe tensors.
fn clean_probe_copy(file: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let w = load(file, "probe.weight");
    let b = load(file, "probe.bias");
    let out = dir.join(file);
    let tensors = vec![
        ("probe.weight".to_owned(), w.shape, w.data),
        ("probe.bias".to_owned(), b.shape, b.data),
    ];
    earmark::model::weights::write_safetensors(&out, &tensors, None).unwrap();
    out
}

#[test]
fn probe_heads_match_reference_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    for (stem, inputs, input_key) in [
        ("probe_tiny", 320, "input_emb_pooled"),
        ("probe_3840", 3840, "emb"),
    ] {
        let st = format!("{stem}.safetensors");
        let e = Head::load(&fixture(&st)).unwrap_err().to_string();
        assert!(e.contains(&format!("unexpected key `{input_key}`")), "{e}");
        for path in [
            fixture(&format!("{stem}.pth")),
            clean_probe_copy(&st, dir.path()),
        ] {
            let head = Head::load(&path).unwrap();
            assert!(matches!(head, Head::Probe(_)));
            assert_eq!((head.classes(), head.inputs()), (10, inputs));
            let x = load(&st, input_key);
            let want = load(&st, "probs");
            let case = path.display().to_string();
            assert_close(
                &case,
                &head.probabilities(&x.data).unwrap(),
                &want.data,
                PROB_TOL,
            );
        }
    }
}

#[test]
fn probe_on_encoder_output_gives_reference_top5() {
    let want_labels = [
        "class_6 (0.53)",
        "class_0 (0.29)",
        "class_2 (0.11)",
        "class_8 (0.06)",
        "class_7 (0.00)",
    ];
    let vocab = Vocabulary::load(&fixture("probe_tiny_labels.txt")).unwrap();
    let want = load("probe_tiny.safetensors", "probs");
    for model in TINY {
        let enc = Encoder::load(&fixture(model), &Device::Cpu).unwrap();
        let head = Head::load(&fixture("probe_tiny.pth")).unwrap();
        let e = embed(&enc, &logmel_norm("sig_7p5s"), &head.embed_options()).unwrap();
        let x = load("probe_tiny.safetensors", "input_emb_pooled");
        assert_close("probe input", &e.clip_vector(), &x.data, TOL);
        let probs = head.probabilities(&e.clip_vector()).unwrap();
        assert_close(model, &probs, &want.data, PROB_TOL);
        let labels: Vec<String> = top_k(&probs, 5)
            .iter()
            .map(|&(i, p)| format_label(&vocab.labels[i], p))
            .collect();
        assert_eq!(labels, want_labels);
    }
}

#[test]
fn audioset_head_matches_reference() {
    let vocab = Vocabulary::load(&fixture("audioset_test_mapping.csv")).unwrap();
    assert_eq!(vocab.len(), 527);
    let official = [
        (
            "sig_7p5s",
            [
                "Pulse (0.09)",
                "Ship (0.09)",
                "Tap (0.07)",
                "Sanding (0.06)",
                "Livestock, farm animals, working animals (0.06)",
            ],
        ),
        (
            "sig_13s",
            [
                "Ship (0.10)",
                "Pulse (0.09)",
                "Male singing (0.08)",
                "Civil defense siren (0.06)",
                "Sanding (0.06)",
            ],
        ),
    ];
    for model in TINY_AS {
        let enc = Encoder::load(&fixture(model), &Device::Cpu).unwrap();
        assert_eq!(enc.config().n_t, 992);
        let head = Head::load(&fixture(model)).unwrap();
        assert!(matches!(head, Head::AudioSet { .. }));
        assert_eq!((head.classes(), head.inputs()), (527, 64));
        for (sig, want_labels) in official {
            let mel = logmel_norm(sig);
            let case = |n: &str| format!("{model} {sig} {n}");
            let full = EmbedOptions {
                freq: FreqLayout::Mean,
                pool_time: false,
                all_layers: true,
                ..Default::default()
            };
            let e = embed(&enc, &mel, &full).unwrap();
            let layers = load("as_head_case.safetensors", &format!("{sig}.layers"));
            assert_eq!(layers.shape[2], e.steps);
            assert_close(&case("layers"), &e.data, &layers.data, TOL);
            let emb = load("as_head_case.safetensors", &format!("{sig}.emb"));
            assert_close(&case("emb"), e.last(), &emb.data, TOL);
            let pooled = embed(
                &enc,
                &mel,
                &EmbedOptions {
                    pool_time: true,
                    ..full
                },
            )
            .unwrap();
            let lp = load("as_head_case.safetensors", &format!("{sig}.layers_pooled"));
            assert_close(&case("layers_pooled"), &pooled.data, &lp.data, TOL);
            let clip = embed(&enc, &mel, &head.embed_options())
                .unwrap()
                .clip_vector();
            let ep = load("as_head_case.safetensors", &format!("{sig}.emb_pooled"));
            assert_close(&case("emb_pooled"), &clip, &ep.data, TOL);
            let probs = head.probabilities(&clip).unwrap();
            let want = load("as_head_case.safetensors", &format!("{sig}.probs"));
            assert_close(&case("probs"), &probs, &want.data, PROB_TOL);
            let top: Vec<(usize, f32)> = top_k(&probs, 5);
            let idx = load("as_head_case.safetensors", &format!("{sig}.top5_idx"));
            let got_idx: Vec<f32> = top.iter().map(|t| t.0 as f32).collect();
            assert_eq!(got_idx, idx.data, "{}", case("top5_idx"));
            let labels: Vec<String> = top
                .iter()
                .map(|&(i, p)| format_label(&vocab.labels[i], p))
                .collect();
            assert_eq!(labels, want_labels, "{}", case("labels"));
        }
    }
}

#[test]
fn head_files_are_checked() {
    // An encoder-only file is not a head.
    let e = Head::load(&fixture("tiny.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("probe.weight"), "{e}");
    // A probe applied to the wrong width is an error, not a panic.
    let head = Head::load(&fixture("probe_tiny.pth")).unwrap();
    assert!(head.probabilities(&[0.0; 3]).is_err());
}
