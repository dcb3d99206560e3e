//! `earmark info FILE...`: what each file is, and with `--decode`, whether all of it decodes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use earmark::audio::{self, AudioDecoder, AudioInfo, StreamSummary};

use super::output::peak_rss_mib;

/// Arguments of `earmark info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// Audio files to describe.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also decode every file completely (to 16 kHz mono, streamed) and report what was found.
    #[arg(long)]
    decode: bool,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    json: bool,
}

/// Describes each file; a file that fails is reported and the others go on.
pub fn run(args: &InfoArgs) -> anyhow::Result<ExitCode> {
    let mut failures = 0;
    for path in &args.files {
        let described = AudioDecoder::open(path).map(|d| d.info().clone());
        let result = described.and_then(|info| {
            let decoded = if args.decode {
                let started = Instant::now();
                let mut peak = 0.0f32;
                let summary = audio::stream_mono_16k(path, |block| {
                    peak = block.iter().fold(peak, |p, v| p.max(v.abs()));
                    Ok(())
                })?;
                Some((summary, peak, started.elapsed().as_secs_f64()))
            } else {
                None
            };
            Ok((info, decoded))
        });
        match result {
            Ok((info, decoded)) => {
                if args.json {
                    println!("{}", json_line(path, &info, decoded.as_ref()));
                } else {
                    print_text(path, &info, decoded.as_ref());
                }
            }
            Err(err) => {
                failures += 1;
                if args.json {
                    let mut obj = serde_json::json!({"error": err.to_string()});
                    put_path(&mut obj, path);
                    println!("{obj}");
                } else {
                    eprintln!("error: {err}");
                }
            }
        }
    }
    if let (true, false, Some(mib)) = (args.decode, args.json, peak_rss_mib()) {
        println!("peak memory: {mib:.1} MiB");
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

type Decoded = (StreamSummary, f32, f64);

fn print_text(path: &Path, info: &AudioInfo, decoded: Option<&Decoded>) {
    println!("{}", path.display());
    println!("  container:   {}", info.container);
    println!("  codec:       {}", info.codec);
    println!("  channels:    {}", info.channels);
    println!("  sample rate: {} Hz", info.sample_rate);
    match info.duration_s() {
        Some(d) => println!("  duration:    {}", format_duration(d)),
        None => println!("  duration:    unknown (not in the headers)"),
    }
    for (label, value) in [
        ("title", &info.title),
        ("artist", &info.artist),
        ("album", &info.album),
        ("genre", &info.genre),
    ] {
        if let Some(v) = value {
            println!("  {label:<12} {v}");
        }
    }
    if let Some((summary, peak, seconds)) = decoded {
        let dur = summary.source_frames as f64 / f64::from(info.sample_rate.max(1));
        println!(
            "  decoded:     {} ({} samples at 16 kHz, peak {:.1} dBFS, {:.0}× real time)",
            format_duration(dur),
            summary.output_samples,
            20.0 * f64::from(peak.max(1e-10)).log10(),
            dur / seconds.max(1e-9)
        );
        if summary.truncated {
            println!("  warning:     the file ends early (truncated); the readable part was used");
        }
        if summary.skipped_packets > 0 {
            println!(
                "  warning:     {} damaged packets skipped",
                summary.skipped_packets
            );
        }
        if summary.non_finite_samples > 0 {
            println!(
                "  warning:     {} NaN/infinite samples replaced by silence",
                summary.non_finite_samples
            );
        }
    }
}

fn json_line(path: &Path, info: &AudioInfo, decoded: Option<&Decoded>) -> String {
    let mut obj = serde_json::json!({
        "container": info.container,
        "codec": info.codec,
        "channels": info.channels,
        "sample_rate": info.sample_rate,
        "duration_s": info.duration_s(),
        "title": info.title,
        "artist": info.artist,
        "album": info.album,
        "genre": info.genre,
    });
    put_path(&mut obj, path);
    if let Some((summary, peak, _)) = decoded {
        obj["decoded"] = serde_json::json!({
            "source_frames": summary.source_frames,
            "samples_16k": summary.output_samples,
            "peak": peak,
            "truncated": summary.truncated,
            "skipped_packets": summary.skipped_packets,
            "non_finite_samples": summary.non_finite_samples,
            "peak_rss_mib": peak_rss_mib(),
        });
    }
    obj.to_string()
}

/// Sets `path` (as text; bytes that are not UTF-8 become U+FFFD) and, for a name that is not
/// UTF-8, `path_bytes`: the exact bytes of the path.
fn put_path(obj: &mut serde_json::Value, path: &Path) {
    obj["path"] = path.to_string_lossy().into();
    if path.to_str().is_none() {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            obj["path_bytes"] = path.as_os_str().as_bytes().into();
        }
    }
}

/// `h:mm:ss.mmm` or `m:ss.mmm`.
fn format_duration(seconds: f64) -> String {
    let total_ms = (seconds * 1000.0).round() as u64;
    let (h, rem) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, ms) = (rem / 1000, rem % 1000);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{ms:03}")
    } else {
        format!("{m}:{s:02}.{ms:03}")
    }
}
