//! Helpers shared by the integration tests: fixture paths, reading reference tensors, comparing.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion (as clippy.toml allows in tests)
#![allow(dead_code)]

use std::path::PathBuf;

use earmark::dsp::LogMel;

/// Path of a file in `tests/fixtures/matpac/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/matpac")
        .join(name)
}

/// A reference tensor as f32 values with its shape (read with the `safetensors` crate directly).
pub struct Ref {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Reads tensor `name` from fixture file `file` (F32 as is, I64 converted).
pub fn load(file: &str, name: &str) -> Ref {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = st
        .tensor(name)
        .unwrap_or_else(|_| panic!("{file}: no tensor {name}"));
    let data = match view.dtype() {
        safetensors::Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        safetensors::Dtype::I64 => view
            .data()
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        d => panic!("unexpected dtype {d:?}"),
    };
    Ref {
        shape: view.shape().to_vec(),
        data,
    }
}

/// The normalised log-mel `logmel_norm [1, 80, T]` of a signal fixture.
pub fn logmel_norm(sig: &str) -> LogMel {
    let r = load(&format!("{sig}.safetensors"), "logmel_norm");
    assert_eq!(r.shape[..2], [1, 80]);
    LogMel {
        frames: r.shape[2],
        data: r.data,
    }
}

/// Asserts `got` equals `want` within `tol` (max abs), naming the case and the worst index.
/// With `EARMARK_PARITY_REPORT` set, prints every comparison's error.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) -> f32 {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs reference {}",
        got.len(),
        want.len()
    );
    let (mut worst, mut at) = (0f32, 0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let e = (g - w).abs();
        if e > worst || e.is_nan() {
            worst = e;
            at = i;
        }
    }
    if std::env::var_os("EARMARK_PARITY_REPORT").is_some() {
        eprintln!("parity {what}: max abs error {worst:e}");
    }
    assert!(
        worst <= tol,
        "{what}: max abs error {worst:e} at {at} (got {}, want {})",
        got[at],
        want[at]
    );
    worst
}

/// Flattens a candle tensor to f32 values.
pub fn values(t: &candle_core::Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// Both weight formats of the tiny 608-frame model.
pub const TINY: [&str; 2] = ["tiny_state_dict.pt", "tiny.safetensors"];
/// Both weight formats of the tiny AudioSet-head model.
pub const TINY_AS: [&str; 2] = ["tiny_as_state_dict.pt", "tiny_as.safetensors"];
/// The three test signals.
pub const SIGNALS: [&str; 3] = ["sig_1p3s", "sig_7p5s", "sig_13s"];
/// Tolerance for encoder outputs (max abs).
pub const TOL: f32 = 1e-4;

/// Every float32 tensor of a safetensors fixture as `(name, shape, values)`, sorted by name.
pub fn all_tensors(file: &str) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_owned).collect();
    names.sort();
    names
        .into_iter()
        .filter(|n| st.tensor(n).unwrap().dtype() == safetensors::Dtype::F32)
        .map(|n| {
            let r = load(file, &n);
            (n, r.shape, r.data)
        })
        .collect()
}
