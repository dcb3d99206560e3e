//! Helpers shared by the integration tests: fixture paths and safetensors reading.
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Reads one f32 tensor (values, shape) from a safetensors file.
pub fn read_f32(file: &str, name: &str) -> (Vec<f32>, Vec<usize>) {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor(name).unwrap();
    assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name} is not f32");
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (values, view.shape().to_vec())
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
