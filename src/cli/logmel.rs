//! `earmark logmel FILE --out X`: the MATPAC log-mel spectrogram of a file, saved as
//! `.npy` or `.safetensors`, both streamed to disk: memory does not grow with the file's length.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use earmark::audio;
use earmark::dsp::{LogMelFrontEnd, N_MELS};

use super::output::peak_rss_mib;

/// Arguments of `earmark logmel`.
#[derive(clap::Args, Debug)]
pub struct LogmelArgs {
    /// The audio file.
    file: PathBuf,
    /// Output path; `.npy` (shape [80, T]) or `.safetensors` (tensor `logmel`, [80, T]).
    #[arg(long, short)]
    out: PathBuf,
    /// Save `ln(mel + ε)` before the MATPAC normalisation.
    #[arg(long)]
    raw: bool,
}

/// Decodes, computes and saves the log-mel.
pub fn run(args: &LogmelArgs) -> anyhow::Result<ExitCode> {
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    let frames = match ext {
        "npy" => write_npy_streamed(&args.file, &args.out, !args.raw)?,
        "safetensors" => write_safetensors(&args.file, &args.out, !args.raw)?,
        _ => bail!(
            "{}: unknown output format (use .npy or .safetensors)",
            args.out.display()
        ),
    };
    let mem = peak_rss_mib().map_or(String::new(), |m| format!(", peak memory {m:.1} MiB"));
    eprintln!(
        "{}: {frames} frames × {N_MELS} bands → {}{mem}",
        args.file.display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn too_short(file: &Path, samples: u64) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: audio too short for one 25 ms frame ({samples} samples at 16 kHz)",
        file.display()
    )
}

/// Streams frames into a Fortran-ordered `.npy` of shape `[80, T]` (frame-major on disk), then
/// writes the final `T` into the header. Memory stays bounded whatever the file length.
fn write_npy_streamed(file: &Path, out: &Path, normalise: bool) -> anyhow::Result<usize> {
    let tmp = out.with_extension("npy.partial");
    let mut writer = BufWriter::new(
        File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?,
    );
    writer.write_all(&npy_header(0))?;
    let mut front_end = LogMelFrontEnd::new(normalise);
    let mut frames = Vec::new();
    let mut count = 0usize;
    let mut io_result = Ok(());
    let summary = audio::stream_mono_16k(file, |block| {
        frames.clear();
        front_end.push(block, &mut frames);
        count += frames.len() / N_MELS;
        for v in &frames {
            if let Err(e) = writer.write_all(&v.to_le_bytes()) {
                io_result = Err(e);
                return Err(earmark::Error::Cancelled);
            }
        }
        Ok(())
    });
    io_result.with_context(|| format!("cannot write {}", tmp.display()))?;
    let summary = summary?;
    if count == 0 {
        drop(writer);
        let _ = std::fs::remove_file(&tmp);
        return Err(too_short(file, summary.output_samples));
    }
    writer.seek(SeekFrom::Start(0))?;
    writer.write_all(&npy_header(count))?;
    writer.flush()?;
    drop(writer);
    std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(count)
}

/// A version-1 `.npy` header for a Fortran-ordered little-endian f32 array `[80, frames]`,
/// padded to a fixed 128 bytes so it can be rewritten once the frame count is known.
fn npy_header(frames: usize) -> Vec<u8> {
    let dict =
        format!("{{'descr': '<f4', 'fortran_order': True, 'shape': ({N_MELS}, {frames}), }}");
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    let total = 128;
    let pad = total - 10 - dict.len() - 1;
    header.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header.extend(std::iter::repeat_n(b' ', pad));
    header.push(b'\n');
    header
}

/// Frames per block when the frame-major scratch file is turned band-major (1.3 MB).
const BLOCK_FRAMES: usize = 4096;

/// Streams frames to a scratch file beside `out`, then writes the safetensors file (header
/// first, which needs the frame count) and turns the frames band-major block by block.
/// Memory stays bounded whatever the file length.
fn write_safetensors(file: &Path, out: &Path, normalise: bool) -> anyhow::Result<usize> {
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = tempfile::tempfile_in(dir)
        .with_context(|| format!("cannot write beside {}", out.display()))?;
    let mut writer = BufWriter::new(scratch);
    let mut front_end = LogMelFrontEnd::new(normalise);
    let (mut frames, mut count, mut io_result) = (Vec::new(), 0usize, Ok(()));
    let summary = audio::stream_mono_16k(file, |block| {
        frames.clear();
        front_end.push(block, &mut frames);
        count += frames.len() / N_MELS;
        let bytes: Vec<u8> = frames.iter().flat_map(|v| v.to_le_bytes()).collect();
        writer.write_all(&bytes).map_err(|e| {
            io_result = Err(e);
            earmark::Error::Cancelled
        })
    });
    io_result.context("cannot write the scratch file")?;
    let summary = summary?;
    if count == 0 {
        return Err(too_short(file, summary.output_samples));
    }
    let mut scratch = writer.into_inner().map_err(|e| e.into_error())?;
    scratch.seek(SeekFrom::Start(0))?;
    let partial = out.with_extension("safetensors.partial");
    let written = assemble(std::io::BufReader::new(scratch), count, &partial)
        .and_then(|()| Ok(std::fs::rename(&partial, out)?));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("cannot write {}", out.display()))?;
    Ok(count)
}

/// Writes tensor `logmel` `[80, frames]` to `out` from `frames` frame-major values.
fn assemble(mut scratch: impl Read, frames: usize, out: &Path) -> anyhow::Result<()> {
    let data_len = 4 * N_MELS * frames;
    let header = serde_json::json!({
        "logmel": {"dtype": "F32", "shape": [N_MELS, frames], "data_offsets": [0, data_len]}
    });
    let mut text = header.to_string().into_bytes();
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut w = File::create(out)?;
    w.write_all(&(text.len() as u64).to_le_bytes())?;
    w.write_all(&text)?;
    let base = (8 + text.len()) as u64;
    w.set_len(base + data_len as u64)?;
    let mut block = vec![0u8; BLOCK_FRAMES * N_MELS * 4];
    let mut band = Vec::with_capacity(BLOCK_FRAMES * 4);
    let mut t0 = 0;
    while t0 < frames {
        let k = BLOCK_FRAMES.min(frames - t0);
        scratch.read_exact(&mut block[..k * N_MELS * 4])?;
        for b in 0..N_MELS {
            band.clear();
            for t in 0..k {
                let at = (t * N_MELS + b) * 4;
                band.extend_from_slice(&block[at..at + 4]);
            }
            w.seek(SeekFrom::Start(base + ((b * frames + t0) * 4) as u64))?;
            w.write_all(&band)?;
        }
        t0 += k;
    }
    w.sync_all()?;
    Ok(())
}
