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
        safetensors::Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        d => panic!("unexpected dtype {d:?}"),
    };
    Ref {
        shape: view.shape().to_vec(),
        data,
    }
}

/// Reads an F64 (or I64) tensor at full precision.
pub fn load_f64(file: &str, name: &str) -> Vec<f64> {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor(name).unwrap();
    view.data()
        .chunks_exact(8)
        .map(|c| match view.dtype() {
            safetensors::Dtype::F64 => f64::from_le_bytes(c.try_into().unwrap()),
            safetensors::Dtype::I64 => i64::from_le_bytes(c.try_into().unwrap()) as f64,
            d => panic!("{name}: unexpected dtype {d:?}"),
        })
        .collect()
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

/// Reads one f32 tensor (values, shape) from a fixture safetensors file.
pub fn read_f32(file: &str, name: &str) -> (Vec<f32>, Vec<usize>) {
    let r = load(file, name);
    (r.data, r.shape)
}

/// Largest absolute difference between two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Sample encodings `write_wav` can produce.
#[derive(Clone, Copy, Debug)]
pub enum WavFormat {
    U8,
    S16,
    S24,
    S32,
    F32,
    F64,
}

/// Writes a canonical RIFF/WAVE file from interleaved samples in [-1, 1].
pub fn write_wav(path: &std::path::Path, channels: u16, rate: u32, format: WavFormat, x: &[f64]) {
    let (bits, tag): (u16, u16) = match format {
        WavFormat::U8 => (8, 1),
        WavFormat::S16 => (16, 1),
        WavFormat::S24 => (24, 1),
        WavFormat::S32 => (32, 1),
        WavFormat::F32 => (32, 3),
        WavFormat::F64 => (64, 3),
    };
    let mut data = Vec::new();
    for &v in x {
        let c = v.clamp(-1.0, 1.0);
        match format {
            WavFormat::U8 => data.push(((c * 127.0).round() + 128.0) as u8),
            WavFormat::S16 => data.extend_from_slice(&((c * 32767.0).round() as i16).to_le_bytes()),
            WavFormat::S24 => {
                data.extend_from_slice(&((c * 8_388_607.0).round() as i32).to_le_bytes()[..3])
            }
            WavFormat::S32 => {
                data.extend_from_slice(&((c * 2_147_483_647.0).round() as i32).to_le_bytes())
            }
            WavFormat::F32 => data.extend_from_slice(&(v as f32).to_le_bytes()),
            WavFormat::F64 => data.extend_from_slice(&v.to_le_bytes()),
        }
    }
    std::fs::write(path, wav_bytes(channels, rate, bits, tag, &data, None)).unwrap();
}

/// RIFF/WAVE bytes around raw sample data; `claimed_data_len` overrides the data chunk's size.
pub fn wav_bytes(
    channels: u16,
    rate: u32,
    bits: u16,
    format_tag: u16,
    data: &[u8],
    claimed_data_len: Option<u32>,
) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let data_len = claimed_data_len.unwrap_or(data.len() as u32);
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&format_tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// Runs ffmpeg to convert `input` into `output` with extra codec arguments; panics with
/// ffmpeg's message when it fails (the test environment must have ffmpeg: `.ci/run` installs it).
pub fn ffmpeg(input: &std::path::Path, output: &std::path::Path, args: &[&str]) {
    let result = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(input)
        .args(args)
        .arg(output)
        .output()
        .expect("ffmpeg must be installed for this test (scripts/setup-system installs it)");
    assert!(
        result.status.success(),
        "ffmpeg failed for {}: {}",
        output.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// The first `frames` frames of a fixture signal's normalised log-mel as an encoder input
/// `[1, 80, frames]`, zero-padded (in normalised units) past the signal's end.
pub fn first_chunk(sig: &str, frames: usize) -> candle_core::Tensor {
    let mel = logmel_norm(sig);
    let mut buf = vec![0f32; 80 * frames];
    for band in 0..80 {
        let n = mel.frames.min(frames);
        buf[band * frames..band * frames + n].copy_from_slice(&mel.data[band * mel.frames..][..n]);
    }
    candle_core::Tensor::from_vec(buf, (1, 80, frames), &candle_core::Device::Cpu).unwrap()
}

/// Embedding options with every layer kept.
pub fn embed_opts(
    mode: earmark::model::Mode,
    freq: earmark::model::FreqLayout,
    pool_time: bool,
) -> earmark::model::EmbedOptions {
    earmark::model::EmbedOptions {
        mode,
        freq,
        pool_time,
        all_layers: true,
        max_batch: 8,
    }
}
