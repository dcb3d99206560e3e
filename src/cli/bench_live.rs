//! `earmark bench live`: latency from a sound onset to the analysis update, CPU load while
//! listening, and dropped audio blocks, through the real capture path.
//!
//! By default the benchmark starts a private PulseAudio server with a null sink (its own
//! runtime directory, so the user's sound server is never touched), runs itself again inside
//! that environment, plays a file of silences and bursts into the sink with `paplay` and listens
//! to the sink's monitor. `--current-server` skips the private server and uses the default
//! input and output of the sound server this process sees.
//!
//! Latency is measured per onset, on this process's clock: from the moment the block holding
//! the onset's first sample left the device ring to the moment an embedding (and the tags) of a
//! window containing it was ready. The host's own buffering before the ring (reported by cpal)
//! is printed beside it.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use earmark::config::Settings;
use earmark::dsp::WIN_LENGTH;
use earmark::live::{DeviceState, LiveEvent, LiveSession};

use super::listen::{LiveSetup, live_config};

/// Arguments of `earmark bench live`.
#[derive(Debug, clap::Args)]
pub struct LiveBenchArgs {
    /// Encoder weights; default: the active model in the settings.
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
    /// A head to run every hop as well.
    #[arg(long)]
    pub head: Option<std::path::PathBuf>,
    /// Seconds between updates.
    #[arg(long, default_value_t = 0.5)]
    pub hop: f32,
    /// Seconds of audio per update.
    #[arg(long, default_value_t = 2.0)]
    pub window: f32,
    /// Number of sound onsets played.
    #[arg(long, default_value_t = 8)]
    pub onsets: usize,
    /// Where the encoder runs (auto, cpu, wgpu, …).
    #[arg(long, default_value = "cpu")]
    pub compute: String,
    /// Milliseconds per device block to ask the host for (0: the host's choice).
    #[arg(long, default_value_t = 20.0)]
    pub block_ms: f32,
    /// Use the sound server this process sees instead of starting a private one.
    #[arg(long)]
    pub current_server: bool,
}

/// Runs the benchmark.
pub fn run(args: &LiveBenchArgs) -> anyhow::Result<ExitCode> {
    if args.current_server {
        measure(args)
    } else {
        in_private_server()
    }
}

/// Starts a private PulseAudio null sink and runs this command again inside it.
fn in_private_server() -> anyhow::Result<ExitCode> {
    let dir = tempfile::Builder::new()
        .prefix("earmark-bench-pulse-")
        .tempdir()?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
    }
    let pulse = |args: &[&str]| {
        Command::new(args[0])
            .args(&args[1..])
            .env("XDG_RUNTIME_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    };
    let started = pulse(&[
        "pulseaudio",
        "--daemonize=yes",
        "--exit-idle-time=-1",
        "--disallow-exit",
        "-n",
        "--load=module-native-protocol-unix",
        "--load=module-null-sink sink_name=vsink rate=48000 channels=2",
    ])
    .context("cannot run `pulseaudio` (install pulseaudio, or pass --current-server)")?;
    anyhow::ensure!(started.success(), "pulseaudio did not start");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !pulse(&["pactl", "info"]).is_ok_and(|s| s.success()) {
        if Instant::now() > deadline {
            let _ = pulse(&["pulseaudio", "--kill"]);
            anyhow::bail!("the private pulseaudio server does not answer");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = pulse(&["pactl", "set-default-sink", "vsink"]);
    let _ = pulse(&["pactl", "set-default-source", "vsink.monitor"]);
    let mut child_args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    child_args.push("--current-server".into());
    let status = Command::new(std::env::current_exe()?)
        .args(child_args)
        .env("XDG_RUNTIME_DIR", dir.path())
        .env_remove("PULSE_SERVER")
        .status();
    let _ = pulse(&["pulseaudio", "--kill"]);
    let status = status?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Seconds of silence before each burst (longer than any window) and of each burst.
const GAP_S: f64 = 2.5;
const BURST_S: f64 = 1.0;
const RATE: u32 = 48_000;

/// Silence, then a noise burst with a harmonic tone, `onsets` times, at 48 kHz stereo.
fn write_onset_file(path: &Path, onsets: usize) -> anyhow::Result<()> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    let burst = (BURST_S * f64::from(RATE)) as usize;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for k in 0..onsets {
        // Gaps of different lengths put the onsets at different places between two hops.
        let gap = ((GAP_S + 0.137 * k as f64) * f64::from(RATE)) as usize;
        for _ in 0..gap * 2 {
            w.write_sample(0i16)?;
        }
        for i in 0..burst {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            let t = i as f64 / f64::from(RATE);
            let tone = (2.0 * std::f64::consts::PI * 440.0 * t).sin();
            let v = ((0.15 * noise + 0.25 * tone) * 32767.0) as i16;
            w.write_sample(v)?;
            w.write_sample(v)?;
        }
    }
    for _ in 0..(GAP_S * f64::from(RATE)) as usize * 2 {
        w.write_sample(0i16)?;
    }
    w.finalize()?;
    Ok(())
}

/// Process CPU time (user + system) from `/proc/self/stat`, in seconds.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the state; clock ticks
    // are USER_HZ, 100 on Linux.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Events recorded while listening.
#[derive(Default)]
struct Recording {
    /// (end sample, taken from the ring at).
    levels: Vec<(u64, Instant)>,
    /// (end sample, ready_at, done at, compute).
    updates: Vec<(u64, Instant, Instant, Duration)>,
    capturing: bool,
}

impl Recording {
    fn take(&mut self, event: LiveEvent) {
        match event {
            LiveEvent::Level { end_sample, at, .. } => self.levels.push((end_sample, at)),
            LiveEvent::Embedding {
                end_sample,
                ready_at,
                at,
                compute,
                ..
            } => self.updates.push((end_sample, ready_at, at, compute)),
            LiveEvent::Device(DeviceState::Capturing { device, format }) => {
                eprintln!("listening to {device} ({format})");
                self.capturing = true;
            }
            LiveEvent::Device(DeviceState::Lost { message }) => eprintln!("device lost: {message}"),
            LiveEvent::Error { message } => eprintln!("analysis error: {message}"),
            _ => {}
        }
    }
}

/// Stream positions of the onsets in `audio` (starting at `start`): the first sample above
/// −30 dBFS after a second without any.
fn find_onsets(start: u64, audio: &[f32]) -> Vec<u64> {
    let loud = 10f32.powf(-30.0 / 20.0);
    let mut onsets = Vec::new();
    let mut last_loud: Option<usize> = None;
    for (i, &x) in audio.iter().enumerate() {
        if x.abs() >= loud {
            if last_loud.is_none_or(|l| i - l >= 16_000) {
                onsets.push(start + i as u64);
            }
            last_loud = Some(i);
        }
    }
    onsets
}

fn measure(args: &LiveBenchArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load();
    let setup = LiveSetup {
        model: args.model.as_deref(),
        head: args.head.as_deref().map(|h| (h, None)),
        compute: Some(&args.compute),
    };
    let mut config = live_config(&setup, &settings)?;
    config.hop_s = args.hop;
    config.window_s = args.window;
    config.history_s =
        (GAP_S + 0.137 * args.onsets as f64 + BURST_S) as f32 * args.onsets as f32 + 30.0;
    config.event_capacity = 1 << 16;
    config.block_s = (args.block_ms > 0.0).then_some(args.block_ms / 1e3);
    let engine_name = config.engine.device_name();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("onsets.wav");
    write_onset_file(&file, args.onsets.max(1))?;

    let session = LiveSession::start(config)?;
    let mut rec = Recording::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(rec.capturing && rec.levels.len() > 20) {
        anyhow::ensure!(Instant::now() < deadline, "no audio from the input device");
        if let Ok(e) = session.events().recv_timeout(Duration::from_millis(50)) {
            rec.take(e);
        }
    }
    let (cpu0, wall0) = (process_cpu_seconds(), Instant::now());
    let mut player = Command::new("paplay")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run `paplay` (install pulseaudio-utils)")?;
    let length = (GAP_S + 0.137 * args.onsets as f64 + BURST_S) * args.onsets as f64 + GAP_S;
    let limit = Instant::now() + Duration::from_secs_f64(length + 30.0);
    let mut tail_until = None;
    loop {
        if let Ok(e) = session.events().recv_timeout(Duration::from_millis(20)) {
            rec.take(e);
        }
        let now = Instant::now();
        if tail_until.is_none() && player.try_wait()?.is_some() {
            tail_until = Some(now + Duration::from_secs(1));
        }
        if tail_until.is_some_and(|t| now > t) {
            break;
        }
        if now > limit {
            let _ = player.kill();
            break;
        }
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    while let Ok(e) = session.events().try_recv() {
        rec.take(e);
    }
    let stats = session.stats();
    let (start, audio) = session.recent_audio(f32::MAX);
    session.stop();

    let onsets = find_onsets(start, &audio);
    let mut latencies = Vec::new();
    for &onset in &onsets {
        let arrival = rec.levels.iter().find(|(end, _)| *end > onset);
        let update = rec
            .updates
            .iter()
            .find(|(end, ..)| *end >= onset + WIN_LENGTH as u64);
        if let (Some(&(_, arrived)), Some(&(_, ready, done, compute))) = (arrival, update) {
            latencies.push((
                done.saturating_duration_since(arrived),
                ready.saturating_duration_since(arrived),
                done.saturating_duration_since(ready),
                compute,
            ));
        }
    }
    report(
        args,
        &engine_name,
        onsets.len(),
        &latencies,
        &stats,
        cpu,
        wall,
    );
    Ok(ExitCode::SUCCESS)
}

type Latency = (Duration, Duration, Duration, Duration);

fn report(
    args: &LiveBenchArgs,
    engine: &str,
    onsets: usize,
    latencies: &[Latency],
    stats: &earmark::live::LiveStats,
    cpu: Option<f64>,
    wall: f64,
) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = |f: fn(&Latency) -> Duration| {
        latencies.iter().map(|l| ms(f(l))).sum::<f64>() / latencies.len().max(1) as f64
    };
    let max = |f: fn(&Latency) -> Duration| latencies.iter().map(|l| ms(f(l))).fold(0.0, f64::max);
    println!(
        "live: hop {} s, window {} s, encoder on {engine}, {onsets} onsets heard, {} measured",
        args.hop,
        args.window,
        latencies.len()
    );
    println!(
        "  onset → update latency: mean {:.0} ms, max {:.0} ms (goal ≤ 300 ms + hop = {:.0} ms)",
        mean(|l| l.0),
        max(|l| l.0),
        300.0 + f64::from(args.hop) * 1e3
    );
    println!(
        "    waiting for the hop: mean {:.0} ms, max {:.0} ms; analysis after the hop: mean {:.0} \
         ms, max {:.0} ms (encoder + heads: mean {:.0} ms)",
        mean(|l| l.1),
        max(|l| l.1),
        mean(|l| l.2),
        max(|l| l.2),
        mean(|l| l.3)
    );
    println!(
        "  host buffering before the ring (cpal): {:.1} ms",
        stats.buffer_latency_us as f64 / 1e3
    );
    match cpu {
        Some(c) => println!(
            "  CPU while listening: {:.1} % of one core ({c:.2} s CPU over {wall:.1} s)",
            100.0 * c / wall
        ),
        None => println!("  CPU while listening: not available on this system"),
    }
    println!(
        "  dropped audio blocks: {} ({} frames); skipped hops: {}; updates: {}; device losses: {}",
        stats.dropped_blocks, stats.dropped_frames, stats.skipped_hops, stats.hops, stats.losses
    );
    let goal_met = latencies.len() == onsets
        && onsets > 0
        && max(|l| l.0) <= 300.0 + f64::from(args.hop) * 1e3;
    println!(
        "  goals: latency {}, dropped blocks {}",
        if goal_met { "met" } else { "NOT met" },
        if stats.dropped_blocks == 0 {
            "met"
        } else {
            "NOT met"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_onset_is_the_first_loud_sample_after_a_second_without_one() {
        let mut x = vec![0.0f32; 40_000];
        x[20_000..21_000].iter_mut().for_each(|v| *v = 0.5);
        x[21_500] = 0.5; // only 500 samples after the burst: not an onset
        x[38_000] = 0.5;
        x[38_001] = 0.01; // quieter than the threshold: part of the same sound
        assert_eq!(find_onsets(100, &x), [20_100, 38_100]);
        // Leading quiet samples do not hide an onset.
        let mut y = vec![0.0f32; 20_000];
        y[17_000] = 0.01;
        y[17_001] = 0.2;
        assert_eq!(find_onsets(0, &y), [17_001]);
    }
}
