//! `earmark logmel FILE --out X`: the MATPAC log-mel spectrogram of a file, saved as
//! `.npy` (streamed to disk, any file length) or `.safetensors` (built in memory).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use earmark::audio;
use earmark::dsp::{LogMel, LogMelFrontEnd, N_MELS};

use super::output::peak_rss_mib;

/// Arguments of `earmark logmel`.
#[derive(clap::Args, Debug)]
pub struct LogmelArgs {
    /// The audio file.
    file: PathBuf,
    /// Output path; `.npy` (shape [80, T], streamed) or `.safetensors` (tensor `logmel`, [80, T]).
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

fn write_safetensors(file: &Path, out: &Path, normalise: bool) -> anyhow::Result<usize> {
    let clip = audio::load_mono_16k(file)?;
    let lm: LogMel = LogMelFrontEnd::new(normalise)
        .compute(&clip.samples)
        .map_err(|_| too_short(file, clip.samples.len() as u64))?;
    let bytes: Vec<u8> = lm.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(
        safetensors::Dtype::F32,
        vec![N_MELS, lm.frames],
        &bytes,
    )?;
    let tmp = out.with_extension("safetensors.partial");
    safetensors::serialize_to_file([("logmel", view)], None, &tmp)?;
    std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(lm.frames)
}
