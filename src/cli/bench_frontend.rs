//! `earmark bench frontend`: decode + resample + log-mel throughput as × real time, one core.
//!
//! Without arguments it makes a 3-minute 44.1 kHz stereo test piece and encodes it to MP3, FLAC
//! and Ogg Vorbis with `ffmpeg`; with files, it measures those.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};
use earmark::audio::{self, AudioDecoder};
use earmark::dsp::LogMelFrontEnd;

/// Arguments of `earmark bench frontend`.
#[derive(clap::Args, Debug)]
pub struct FrontendBenchArgs {
    /// Files to measure (default: a generated 3-minute piece as MP3, FLAC and Ogg Vorbis).
    files: Vec<PathBuf>,
    /// Repetitions per file; the fastest is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
}

/// Runs the benchmark and prints a table.
pub fn run(args: &FrontendBenchArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let files = if args.files.is_empty() {
        generated_files(dir.path())?
    } else {
        args.files.clone()
    };
    println!(
        "front-end speed, one thread, best of {} runs",
        args.repeats.max(1)
    );
    println!(
        "{:<28} {:>9} {:>12} {:>14} {:>14}",
        "file", "audio s", "decode ×RT", "+resample ×RT", "+log-mel ×RT"
    );
    for file in &files {
        let mut best = [f64::MAX; 3];
        let mut seconds = 0.0;
        for _ in 0..args.repeats.max(1) {
            let (dur, times) = measure(file)?;
            seconds = dur;
            for (b, t) in best.iter_mut().zip(times) {
                *b = b.min(t);
            }
        }
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into());
        println!(
            "{:<28} {:>9.1} {:>12.0} {:>14.0} {:>14.0}",
            name,
            seconds,
            seconds / best[0],
            seconds / best[1],
            seconds / best[2]
        );
    }
    println!("goal: decode + resample + log-mel ≥ 200× real time on one core");
    Ok(ExitCode::SUCCESS)
}

/// Times decode only, decode + resample, and the full front end.
fn measure(file: &Path) -> anyhow::Result<(f64, [f64; 3])> {
    let started = Instant::now();
    let mut decoder = AudioDecoder::open(file)?;
    let rate = decoder.info().sample_rate;
    let channels = decoder.info().channels;
    let mut frames = 0usize;
    while let Some(block) = decoder.next_block()? {
        frames += block.len() / channels;
    }
    let decode = started.elapsed().as_secs_f64();

    let started = Instant::now();
    audio::stream_mono_16k(file, |_| Ok(()))?;
    let resample = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut front_end = LogMelFrontEnd::new(true);
    let mut out = Vec::new();
    audio::stream_mono_16k(file, |block| {
        out.clear();
        front_end.push(block, &mut out);
        Ok(())
    })?;
    let full = started.elapsed().as_secs_f64();
    Ok((frames as f64 / f64::from(rate), [decode, resample, full]))
}

/// Writes the 3-minute test piece as WAV and converts it with ffmpeg.
fn generated_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let wav = dir.join("piece.wav");
    write_test_piece(&wav, 180.0)?;
    let mut files = Vec::new();
    for (name, codec_args) in [
        ("piece.mp3", &["-c:a", "libmp3lame", "-b:a", "192k"][..]),
        ("piece.flac", &["-c:a", "flac"][..]),
        ("piece.ogg", &["-c:a", "libvorbis", "-q:a", "5"][..]),
    ] {
        let out = dir.join(name);
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
            .arg(&wav)
            .args(codec_args)
            .arg(&out)
            .status()
            .context(
                "the default benchmark needs ffmpeg to encode its test files (or pass files)",
            )?;
        if !status.success() {
            bail!("ffmpeg could not encode {name}");
        }
        files.push(out);
    }
    Ok(files)
}

/// A music-like stereo test piece: chords that change every half second, plus a little noise.
fn write_test_piece(path: &Path, seconds: f64) -> anyhow::Result<()> {
    let rate = 44_100u32;
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    let roots = [110.0, 146.83, 164.81, 196.0, 220.0, 130.81];
    let mut noise = 0x1234_5678u32;
    for i in 0..(seconds * f64::from(rate)) as usize {
        let t = i as f64 / f64::from(rate);
        let root = roots[(t * 2.0) as usize % roots.len()];
        let mut v = 0.0;
        for (k, ratio) in [1.0, 1.25, 1.5, 2.0, 3.0].iter().enumerate() {
            v += (2.0 * std::f64::consts::PI * root * ratio * t).sin() * 0.12 / (k as f64 + 1.0);
        }
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let n = (f64::from(noise) / f64::from(u32::MAX) - 0.5) * 0.02;
        let left = ((v + n) * 32767.0) as i16;
        let right = ((v * 0.8 - n) * 32767.0) as i16;
        writer.write_sample(left)?;
        writer.write_sample(right)?;
    }
    writer.finalize()?;
    Ok(())
}
