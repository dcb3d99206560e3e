//! The encoder commands end to end through the `earmark` binary, on the fixture model and the
//! fixture log-mels.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;

use std::process::Command;

use common::*;

fn earmark(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}

#[test]
fn convert_embed_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("tiny.safetensors");
    let (ok, _, err) = earmark(&[
        "models",
        "convert",
        &s(&fixture("tiny_state_dict.pt")),
        &s(&st),
    ]);
    assert!(ok, "{err}");

    let out = dir.path().join("emb.safetensors");
    let mel = s(&fixture("sig_7p5s.safetensors"));
    let (st_s, out_s) = (s(&st), s(&out));
    let pooled = |extra: &[&str]| -> Vec<f32> {
        let mut args = vec!["embed", &mel, "--model", &st_s, "--out", &out_s];
        args.extend_from_slice(extra);
        let (ok, _, err) = earmark(&args);
        assert!(ok, "{err}");
        let bytes = std::fs::read(&out).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let t = file.tensor(&mel).unwrap();
        assert_eq!(t.shape(), [1, 1, 320]);
        t.data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let want = load("sig_7p5s.safetensors", "precise.emb_pooled");
    // f32 is the reference implementation's arithmetic; the default (`auto`) may run reduced
    // precision and stays within cosine 0.999 of it.
    assert_close(
        "cli embed",
        &pooled(&["--precision", "f32"]),
        &want.data,
        TOL,
    );
    let auto = pooled(&[]);
    let dot: f64 = auto
        .iter()
        .zip(&want.data)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let cosine = dot / (norm(&auto) * norm(&want.data));
    assert!(
        cosine >= 0.999,
        "default precision: cosine {cosine} to the reference"
    );

    let (ok, _, err) = earmark(&[
        "embed",
        &mel,
        "--model",
        &s(&st),
        "--out",
        &s(&out),
        "--mode",
        "fast",
        "--layers",
        "--no-pool",
    ]);
    assert!(ok, "{err}");
    let bytes = std::fs::read(&out).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor(&mel).unwrap().shape(), [2, 76, 320]);

    let head = s(&fixture("probe_tiny.pth"));
    let predict = |extra: &[&str]| -> String {
        let mut args = vec!["predict", &mel, "--model", &st_s, "--head", &head];
        args.extend_from_slice(extra);
        let (ok, stdout, err) = earmark(&args);
        assert!(ok, "{err}");
        stdout
    };
    let exact = predict(&["--precision", "f32"]);
    let lines: Vec<&str> = exact.lines().collect();
    assert_eq!(
        lines,
        [
            "class_6 (0.53)",
            "class_0 (0.29)",
            "class_2 (0.11)",
            "class_8 (0.06)",
            "class_7 (0.00)"
        ]
    );
    // The default precision names the same labels in the same order, scores within 0.01.
    let parse = |out: &str| -> Vec<(String, f64)> {
        out.lines()
            .map(|l| {
                let (label, score) = l.split_once(" (").unwrap();
                (
                    label.to_string(),
                    score.trim_end_matches(')').parse().unwrap(),
                )
            })
            .collect()
    };
    let (want, got) = (parse(&exact), parse(&predict(&[])));
    assert_eq!(want.len(), got.len());
    for ((wl, ws), (gl, gs)) in want.iter().zip(&got) {
        assert_eq!(wl, gl);
        assert!((ws - gs).abs() <= 0.01 + 1e-9, "{wl}: {ws} vs {gs}");
    }
    let (ok, _, err) = earmark(&["predict", &mel, "--model", &st_s, "--precision", "fp8"]);
    assert!(!ok && err.contains("f32, bf16, int8 or auto"), "{err}");
}

#[test]
fn bad_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pt");
    std::fs::write(&bad, b"PK\x03\x04 definitely not a zip").unwrap();
    let mel = s(&fixture("sig_1p3s.safetensors"));
    let (ok, _, err) = earmark(&["embed", &mel, "--model", &s(&bad), "--out", "x.safetensors"]);
    assert!(!ok);
    assert!(err.contains("bad.pt"), "{err}");
}
