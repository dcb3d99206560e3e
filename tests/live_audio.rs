#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Live listening through the real device path: a private PulseAudio server with a null sink,
//! a known file played into the sink with `paplay`, its monitor captured through cpal.
//!
//! The sound server must not be the user's, and cpal finds it through `XDG_RUNTIME_DIR`, which
//! a test cannot change for itself; so the entry test runs the checks in a child process of this
//! test binary with a fresh runtime directory, and the child starts and stops its own server.
#![cfg(feature = "live")]

mod common;
#[path = "common/pulse.rs"]
mod pulse;
#[path = "common/synth.rs"]
mod synth;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{WavFormat, fixture, write_wav};
use earmark::engine::Engine;
use earmark::live::{DeviceState, LiveConfig, LiveEvent, LiveHead, LiveSession};
use earmark::model::{EmbedOptions, Encoder, embed};
use earmark::tags::{Head, Vocabulary};
use pulse::{PulseServer, run_in_private_runtime_dir, wait_with_limit};
use synth::{sound, tiny_model};

/// Plays `file` into the null sink, draining the session's events meanwhile, and waits for the
/// end (at most `limit`).
fn play(file: &Path, session: &LiveSession, seen: &mut Seen, limit: Duration) {
    let mut child = pulse::paplay(file);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("paplay did not finish within {limit:?}");
        }
        seen.until(session, Duration::from_millis(50), |_| false);
    };
    assert!(status.success(), "paplay failed: {status}");
}

/// A 10 s, 48 kHz stereo file of five distinct 2 s sounds.
fn known_file(path: &Path) {
    let rate = 48_000;
    let mono: Vec<f64> = (0..5).flat_map(|k| sound(k, 3, 2.0, rate)).collect();
    let inter: Vec<f64> = mono.iter().flat_map(|&v| [v, v]).collect();
    write_wav(path, 2, rate, WavFormat::S16, &inter);
}

/// Events gathered from a session.
#[derive(Default)]
struct Seen {
    states: Vec<DeviceState>,
    /// (start, end, embedding) of every window.
    windows: Vec<(u64, u64, Vec<f32>)>,
    tags: usize,
    levels: usize,
}

impl Seen {
    /// Drains events until `done` holds or `limit` passes; returns whether `done` held.
    fn until(
        &mut self,
        session: &LiveSession,
        limit: Duration,
        done: impl Fn(&Seen) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if done(self) {
                return true;
            }
            match session.events().recv_timeout(Duration::from_millis(50)) {
                Ok(LiveEvent::Device(s)) => {
                    eprintln!("device: {s:?}");
                    self.states.push(s);
                }
                Ok(LiveEvent::Embedding {
                    start_sample,
                    end_sample,
                    embedding,
                    ..
                }) => self.windows.push((start_sample, end_sample, embedding)),
                Ok(LiveEvent::Tags { .. }) => self.tags += 1,
                Ok(LiveEvent::Level { .. }) => self.levels += 1,
                Ok(LiveEvent::Error { message }) => panic!("analysis error: {message}"),
                Ok(LiveEvent::Spectrogram { .. }) | Err(_) => {}
            }
        }
        done(self)
    }

    fn capturing(&self) -> usize {
        self.states
            .iter()
            .filter(|s| matches!(s, DeviceState::Capturing { .. }))
            .count()
    }
}

/// The lag of `reference` inside `captured` with the highest normalised correlation.
fn best_lag(captured: &[f32], reference: &[f32]) -> (usize, f32) {
    use realfft::RealFftPlanner;
    let n = (captured.len() + reference.len()).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spectrum = |x: &[f32]| {
        let mut buf: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        buf.resize(n, 0.0);
        let mut out = fwd.make_output_vec();
        fwd.process(&mut buf, &mut out).unwrap();
        out
    };
    let (c, r) = (spectrum(captured), spectrum(reference));
    let mut prod: Vec<_> = c.iter().zip(&r).map(|(a, b)| a * b.conj()).collect();
    let mut corr = inv.make_output_vec();
    inv.process(&mut prod, &mut corr).unwrap();
    let energy_r: f64 = reference.iter().map(|&v| f64::from(v).powi(2)).sum();
    let mut best = (0, 0f32);
    let mut energy_c: f64 = captured[..reference.len()]
        .iter()
        .map(|&v| f64::from(v).powi(2))
        .sum();
    for lag in 0..=captured.len() - reference.len() {
        if lag > 0 {
            energy_c += f64::from(captured[lag + reference.len() - 1]).powi(2)
                - f64::from(captured[lag - 1]).powi(2);
        }
        let score = corr[lag] / n as f64 / (energy_r * energy_c.max(1e-12)).sqrt();
        if score as f32 > best.1 {
            best = (lag, score as f32);
        }
    }
    best
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum();
    (dot / (na * nb).sqrt()) as f32
}

#[test]
fn live_capture_matches_offline_and_survives_server_loss() {
    run_in_private_runtime_dir(
        "private_server_capture_alignment_and_reconnection",
        Duration::from_secs(240),
    );
}

#[test]
#[ignore = "runs inside live_capture_matches_offline_and_survives_server_loss's private server"]
fn private_server_capture_alignment_and_reconnection() {
    if !pulse::in_private_child() {
        return;
    }
    let server = PulseServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known.wav");
    known_file(&file);
    let encoder = Encoder::load(&tiny_model(), &candle_core::Device::Cpu).unwrap();
    let engine = Arc::new(Engine::from_encoder(encoder));
    let mut config = LiveConfig::new(Arc::clone(&engine));
    config.heads = vec![LiveHead {
        name: "probe_tiny".into(),
        head: Head::load(&fixture("probe_tiny.pth")).unwrap(),
        labels: Vocabulary::load(&fixture("probe_tiny_labels.txt"))
            .unwrap()
            .labels,
    }];
    let session = LiveSession::start(config).unwrap();
    let mut seen = Seen::default();

    // Capture starts and audio (the monitor's silence) flows.
    assert!(
        seen.until(&session, Duration::from_secs(20), |s| s.capturing() >= 1
            && s.levels > 10),
        "no capture: states {:?}",
        seen.states
    );
    let t0 = Instant::now();
    let f0 = session.stats().device_frames;
    play(&file, &session, &mut seen, Duration::from_secs(40));
    eprintln!(
        "device frames per second while playing: {:.1}",
        (session.stats().device_frames - f0) as f64 / t0.elapsed().as_secs_f64()
    );
    let played_until = session.stats().samples;
    assert!(seen.until(&session, Duration::from_secs(15), |s| {
        s.windows
            .last()
            .is_some_and(|w| w.1 > played_until + 16_000)
    }));

    // Align the captured audio with the file, then compare every window inside the file.
    let reference = earmark::audio::load_mono_16k(&file).unwrap().samples;
    let (history_start, captured) = session.recent_audio(60.0);
    let (lag, corr) = best_lag(&captured, &reference);
    assert!(
        corr > 0.8,
        "the file was not found in the capture (correlation {corr})"
    );
    eprintln!(
        "alignment: file starts at stream sample {} (correlation {corr:.4})",
        history_start + lag as u64
    );
    let opts = EmbedOptions::for_probe();
    let offline_at = |s: usize, e: usize| {
        let mel = earmark::dsp::log_mel_normalised(&reference[s..e]).unwrap();
        embed(engine.as_ref(), &mel, &opts).unwrap().clip_vector()
    };
    // Each window is aligned on its own (a glitch in the sound server shifts what follows it);
    // a window whose samples do not match the file closely is not "aligned" and is left out.
    let (mut aligned, mut other_cosines, mut unaligned) = (Vec::new(), Vec::new(), 0);
    for (start, end, live) in &seen.windows {
        let (Some(s), Some(e)) = (
            start.checked_sub(history_start).map(|v| v as usize),
            end.checked_sub(history_start).map(|v| v as usize),
        ) else {
            continue;
        };
        let window = &captured[s..e];
        if s < lag || s - lag + window.len() > reference.len() {
            continue; // not wholly inside the file
        }
        let guess = s - lag;
        let (from, to) = (
            guess.saturating_sub(800),
            (guess + window.len() + 800).min(reference.len()),
        );
        let (local, c) = best_lag(&reference[from..to], window);
        // The server may shift the stream by a fraction of a 16 kHz sample (a whole number of
        // 48 kHz frames), which lowers the correlation of bright sounds but not their spectra.
        if c < 0.5 {
            unaligned += 1;
            continue;
        }
        let fs = from + local;
        let offline = offline_at(fs, fs + window.len());
        aligned.push(cosine(live, &offline));
        // The same window 2 s later in the file holds another of the five sounds.
        if fs + window.len() + 32_000 <= reference.len() {
            let other = offline_at(fs + 32_000, fs + window.len() + 32_000);
            other_cosines.push(cosine(live, &other));
        }
    }
    eprintln!("aligned windows: cosine with the offline window {aligned:?}");
    eprintln!("the same against the window 2 s later: {other_cosines:?}; {unaligned} not aligned");
    assert!(
        aligned.len() >= 12,
        "only {} aligned windows",
        aligned.len()
    );
    assert_eq!(unaligned, 0, "windows whose audio is not in the file");
    for c in &aligned {
        assert!(*c >= 0.95, "live vs offline cosine {c}");
    }
    // The comparison tells sounds apart: other windows of the file are much further away.
    let mean_other = other_cosines.iter().sum::<f32>() / other_cosines.len().max(1) as f32;
    assert!(mean_other < 0.9, "mean cosine to other sounds {mean_other}");
    assert!(
        seen.tags >= aligned.len(),
        "tags were not reported every hop"
    );

    // Stop the sound server mid-stream: a clear "lost" state, no crash.
    let losses_before = session.stats().losses;
    server.kill();
    assert!(
        seen.until(&session, Duration::from_secs(20), |s| s
            .states
            .iter()
            .any(|st| matches!(st, DeviceState::Lost { .. }))),
        "no DeviceLost after the server stopped: {:?}",
        seen.states
    );
    assert_eq!(session.stats().losses, losses_before + 1);
    let lost = seen
        .states
        .iter()
        .find_map(|st| match st {
            DeviceState::Lost { message } => Some(message.clone()),
            _ => None,
        })
        .unwrap();
    eprintln!("lost: {lost}");
    assert!(!lost.is_empty());

    // Bring it back: capture resumes and new audio arrives.
    let server = PulseServer::start();
    assert!(
        seen.until(&session, Duration::from_secs(30), |s| s.capturing() >= 2),
        "capture did not resume: {:?}",
        seen.states
    );
    let resumed_at = session.stats().samples;
    let windows_before = seen.windows.len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while session.stats().samples < resumed_at + 32_000 {
        assert!(Instant::now() < deadline, "no new audio after resuming");
        seen.until(&session, Duration::from_millis(100), |_| false);
    }
    play(&file, &session, &mut seen, Duration::from_secs(40));
    assert!(
        seen.until(&session, Duration::from_secs(15), |s| s.windows.len()
            > windows_before + 4),
        "no analysis after resuming"
    );
    let stats = session.stats();
    eprintln!("stats: {stats:?}");
    assert_eq!(stats.dropped_blocks, 0);
    assert_eq!(stats.dropped_events, 0, "events were drained all along");
    stop_within(session, Duration::from_secs(10));

    // The command line, headless: the devices, then tags every hop as JSON lines.
    let out = earmark_with_limit(&["listen", "--list-devices"], Duration::from_secs(30));
    assert!(out.contains("[alsa:pulse]"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with('*') && l.ends_with("[alsa:default]")),
        "the default input is marked: {out}"
    );
    let tiny = tiny_model();
    let head = fixture("probe_tiny.pth");
    let labels = fixture("probe_tiny_labels.txt");
    let out = earmark_with_limit(
        &[
            "listen",
            "--device",
            "pulse",
            "--model",
            tiny.to_str().unwrap(),
            "--head",
            head.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
            "--seconds",
            "7",
            "--json",
            "--top",
            "3",
        ],
        Duration::from_secs(60),
    );
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l["type"] == "device"
            && l["state"] == "capturing"
            && l["device"] == "PulseAudio Sound Server"),
        "{out}"
    );
    let tags: Vec<_> = lines.iter().filter(|l| l["type"] == "tags").collect();
    assert!(
        tags.len() >= 3,
        "expected an update every 0.5 s after the first 2 s: {out}"
    );
    for t in &tags {
        let list = t["tags"].as_array().unwrap();
        assert_eq!(list.len(), 3);
        assert!(list[0]["label"].as_str().unwrap().starts_with("class_"));
        assert!(list[0]["score"].as_f64().unwrap() >= list[1]["score"].as_f64().unwrap());
    }
    drop(server);
}

/// `earmark listen --list-devices` prints the devices and nothing else: what ALSA's plugins and
/// the JACK client say while the devices are opened ("ALSA lib pcm_oss.c: Cannot open device
/// /dev/dsp", "jack server is not running") stays off the terminal.
#[test]
fn listing_devices_prints_no_alsa_or_jack_chatter() {
    let out = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(["listen", "--list-devices"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    for noise in [
        "ALSA lib",
        "jack server",
        "Cannot connect to server",
        "JackShm",
    ] {
        assert!(!stderr.contains(noise), "{noise} on stderr:\n{stderr}");
        assert!(!stdout.contains(noise), "{noise} on stdout:\n{stdout}");
    }
    assert!(
        !stdout.trim().is_empty(),
        "a device list or \"no input devices\""
    );
}

/// Runs the `earmark` binary, asserting success within `limit`; returns stdout.
fn earmark_with_limit(args: &[&str], limit: Duration) -> String {
    let child = Command::new(pulse::private_binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, out, err) = wait_with_limit(child, limit);
    assert_eq!(code, Some(0), "earmark {args:?} failed: {err}\n{out}");
    out
}

/// Stops a session, failing if that takes longer than `limit`.
fn stop_within(session: LiveSession, limit: Duration) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        session.stop();
        let _ = tx.send(());
    });
    assert!(rx.recv_timeout(limit).is_ok(), "stopping the session hung");
}
