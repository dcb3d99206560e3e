//! The library's audio measures against references: EBU R128 integrated loudness and true peak
//! equal `ffmpeg -af ebur128=peak=true` (0.1 LU, 0.2 dB) on generated signals of several rates
//! and channel counts and on real clips of the repository's fixtures; the tempo of generated
//! click tracks (plain, accented, in noise, a drum pattern) is within 2 % of the true BPM.
//!
//! ffmpeg's figures are committed in `tests/fixtures/measures/ffmpeg_ebur128.tsv` (the command
//! and ffmpeg version are in its header) so the comparison runs without ffmpeg; when `ffmpeg` is
//! on PATH the figures are also measured live. `EARMARK_WRITE_MEASURE_FIXTURES=1` rewrites the
//! fixture from the live figures.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

use std::collections::BTreeMap;
use std::f64::consts::TAU;
use std::path::{Path, PathBuf};
use std::process::Command;

use earmark::audio::AudioDecoder;
use earmark::dsp::loudness::{Loudness, LoudnessMeter};
use earmark::dsp::tempo::{TempoEstimator, estimate};

/// Integrated loudness tolerance against ffmpeg, LU.
const LOUDNESS_TOLERANCE: f64 = 0.1;
/// True peak tolerance against ffmpeg, dB (ffmpeg prints it to 0.1 dB).
const PEAK_TOLERANCE: f64 = 0.2;

fn fixture_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/measures/ffmpeg_ebur128.tsv")
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);
impl Rng {
    fn signed(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        2.0 * (((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64) - 1.0
    }
}

fn db(x: f64) -> f64 {
    10f64.powf(x / 20.0)
}

/// Interleaved audio with its layout.
struct Signal {
    name: &'static str,
    channels: usize,
    rate: u32,
    samples: Vec<f32>,
}

/// `channels` channels from `f(channel, t)` over `seconds`.
fn make(
    name: &'static str,
    channels: usize,
    rate: u32,
    seconds: f64,
    mut f: impl FnMut(usize, f64) -> f64,
) -> Signal {
    let n = (seconds * f64::from(rate)) as usize;
    let mut samples = Vec::with_capacity(n * channels);
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        for ch in 0..channels {
            samples.push(f(ch, t) as f32);
        }
    }
    Signal {
        name,
        channels,
        rate,
        samples,
    }
}

/// The generated signals measured by both ffmpeg and Earmark.
fn generated() -> Vec<Signal> {
    let mut rng = Rng(19);
    let mut noise = move || rng.signed();
    let mut lp = [0.0f64; 6];
    vec![
        make("sine_997hz_-20dbfs_48k_stereo", 2, 48_000, 10.0, |_, t| {
            db(-20.0) * (TAU * 997.0 * t).sin()
        }),
        make("two_tones_44k1_mono", 1, 44_100, 8.0, |_, t| {
            db(-12.0) * (TAU * 100.0 * t).sin() + db(-18.0) * (TAU * 5000.0 * t).sin()
        }),
        make(
            "noise_loud_then_quiet_22k05_stereo",
            2,
            22_050,
            8.0,
            |ch, t| {
                // Low-passed noise: 4 s at −12 dBFS then 4 s at −45 dBFS (the relative gate
                // drops the quiet half).
                lp[ch] = 0.7 * lp[ch] + 0.3 * noise();
                let level = if t < 4.0 { -12.0 } else { -45.0 };
                db(level) * 2.0 * lp[ch]
            },
        ),
        make("sweep_96k_stereo", 2, 96_000, 5.0, |ch, t| {
            let phase = TAU * 20.0 * 5.0 / (1000f64).ln() * ((1000f64).ln() * t / 5.0).exp();
            db(if ch == 0 { -6.0 } else { -14.0 }) * phase.sin()
        }),
        make("intersample_peak_48k_mono", 1, 48_000, 4.0, |_, t| {
            // fs/4 at 45°: every sample at ±0.707 of the true peak (0 dBTP vs −3 dBFS).
            (TAU * 12_000.0 * t + std::f64::consts::FRAC_PI_4).sin()
        }),
        make("surround_5_1_48k", 6, 48_000, 6.0, |ch, t| {
            // L R C LFE Ls Rs: LFE does not count, the surrounds weigh +1.5 dB.
            let freq = [300.0, 450.0, 600.0, 60.0, 900.0, 1200.0][ch];
            db([-20.0, -22.0, -24.0, -10.0, -26.0, -28.0][ch]) * (TAU * freq * t).sin()
        }),
        make("decaying_hits_16k_mono", 1, 16_000, 7.0, |_, t| {
            let since = t % 0.5;
            db(-3.0) * (-since * 12.0).exp() * (TAU * 180.0 * t).sin()
        }),
        make("quiet_sine_32k_mono", 1, 32_000, 5.0, |_, t| {
            db(-55.0) * (TAU * 440.0 * t).sin()
        }),
    ]
}

/// Real clips from the repository's fixtures, decoded at their own rate and channels.
const CLIPS: [&str; 5] = [
    "tests/fixtures/matpac/sig_13s.wav",
    "tests/fixtures/matpac/sig_7p5s.wav",
    "tests/fixtures/matpac/sig_1p3s.wav",
    "tests/fixtures/fuzz/seeds/tone.flac",
    "tests/fixtures/fuzz/seeds/tone.opus",
];

fn measure_signal(s: &Signal) -> Loudness {
    let mut meter = LoudnessMeter::new(s.channels, s.rate).unwrap();
    for block in s.samples.chunks(4096 * s.channels + 1) {
        meter.push(block);
    }
    meter.finish()
}

fn measure_clip(path: &Path) -> Loudness {
    let mut decoder = AudioDecoder::open(path).unwrap();
    let info = decoder.info().clone();
    let mut meter = LoudnessMeter::new(info.channels, info.sample_rate).unwrap();
    while let Some(block) = decoder.next_block().unwrap() {
        meter.push(block);
    }
    meter.finish()
}

/// ffmpeg's figures: integrated LUFS (−70 means "nothing above the gate") and true peak dBFS.
#[derive(Debug, Clone, Copy)]
struct Figures {
    integrated: f64,
    peak: f64,
}

fn read_fixture() -> BTreeMap<String, Figures> {
    let text = std::fs::read_to_string(fixture_file()).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "{l}");
            let figures = Figures {
                integrated: cols[1].parse().unwrap(),
                peak: cols[2].parse().unwrap(),
            };
            (cols[0].to_string(), figures)
        })
        .collect()
}

/// Signals whose true peak is known exactly and on which ffmpeg's is off (ffmpeg 5.1 reads
/// +0.6 dBTP for the sine at a quarter of the rate): their true peak is compared with the truth.
const EXACT_PEAKS: [(&str, f64); 1] = [("intersample_peak_48k_mono", 0.0)];

/// Compares Earmark's figures with ffmpeg's: a line for the report, and whether they agree.
fn compare(name: &str, ours: Loudness, theirs: Figures) -> (String, bool) {
    let exact = EXACT_PEAKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, p)| p);
    let integrated_ok = if theirs.integrated <= -70.0 {
        ours.integrated_lufs.is_none()
    } else {
        ours.integrated_lufs
            .is_some_and(|i| (i - theirs.integrated).abs() <= LOUDNESS_TOLERANCE)
    };
    let peak_ok = ours
        .true_peak_dbtp
        .is_some_and(|p| (p - exact.unwrap_or(theirs.peak)).abs() <= PEAK_TOLERANCE);
    let show = |v: Option<f64>, digits: usize| v.map_or("none".into(), |v| format!("{v:.digits$}"));
    let line = format!(
        "{name}: I {} LUFS (ffmpeg {:.3}), TP {} dBTP (ffmpeg {:.1}{}){}",
        show(ours.integrated_lufs, 3),
        theirs.integrated,
        show(ours.true_peak_dbtp, 2),
        theirs.peak,
        exact.map_or(String::new(), |p| format!(", exact {p:.1}")),
        if integrated_ok && peak_ok {
            ""
        } else {
            "  <-- differs"
        }
    );
    (line, integrated_ok && peak_ok)
}

/// Prints the report lines and fails when any pair differs.
fn assert_all_agree(results: &[(String, bool)]) {
    let report: Vec<&str> = results.iter().map(|(l, _)| l.as_str()).collect();
    println!("{}", report.join("\n"));
    assert!(results.iter().all(|(_, ok)| *ok), "{}", report.join("\n"));
}

#[test]
fn loudness_and_true_peak_equal_ffmpegs_committed_figures() {
    let fixture = read_fixture();
    let mut lines = Vec::new();
    for s in generated() {
        let theirs = fixture
            .get(s.name)
            .copied()
            .unwrap_or_else(|| panic!("{}: no figures", s.name));
        lines.push(compare(s.name, measure_signal(&s), theirs));
    }
    for clip in CLIPS {
        let theirs = fixture
            .get(clip)
            .copied()
            .unwrap_or_else(|| panic!("{clip}: no figures"));
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(clip);
        lines.push(compare(clip, measure_clip(&path), theirs));
    }
    assert_eq!(lines.len(), fixture.len(), "every fixture line is used");
    assert_all_agree(&lines);
}

/// ffmpeg's figures for `path`, or `None` when ffmpeg cannot be run.
fn ffmpeg_figures(path: &Path, dir: &Path) -> Option<Figures> {
    let meta = dir.join("meta.txt");
    let filter = format!(
        "ebur128=peak=true:metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={}",
        meta.display()
    );
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-nostats", "-hide_banner", "-i"])
        .arg(path)
        .args(["-af", &filter, "-f", "null", "-"])
        .output()
        .ok()?;
    assert!(out.status.success(), "ffmpeg failed on {}", path.display());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak = stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Peak:"))
        .filter_map(|l| l.trim().trim_end_matches("dBFS").trim().parse::<f64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no Peak: in ffmpeg's summary: {stderr}"));
    let meta = std::fs::read_to_string(&meta).unwrap_or_default();
    // The last per-frame value is the integrated loudness of the whole input, to 0.001 LU;
    // a clip too short for a frame has only the summary's figure.
    let integrated = meta
        .lines()
        .filter_map(|l| l.strip_prefix("lavfi.r128.I="))
        .filter_map(|v| v.parse::<f64>().ok())
        .next_back()
        .or_else(|| {
            stderr
                .lines()
                .filter_map(|l| l.trim().strip_prefix("I:"))
                .filter_map(|l| l.trim().trim_end_matches("LUFS").trim().parse::<f64>().ok())
                .next_back()
        })
        .unwrap_or_else(|| panic!("no integrated loudness from ffmpeg: {stderr}"));
    Some(Figures { integrated, peak })
}

fn write_f32_wav(path: &Path, s: &Signal) {
    let spec = hound::WavSpec {
        channels: s.channels as u16,
        sample_rate: s.rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &x in &s.samples {
        w.write_sample(x).unwrap();
    }
    w.finalize().unwrap();
}

fn ffmpeg_version() -> Option<String> {
    let out = Command::new("ffmpeg").arg("-version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().next()?.to_string())
}

#[test]
fn loudness_equals_ffmpeg_measured_live_when_ffmpeg_is_installed() {
    let Some(version) = ffmpeg_version() else {
        eprintln!("ffmpeg is not on PATH: only the committed figures were compared");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut live: Vec<(String, Figures)> = Vec::new();
    let mut lines = Vec::new();
    for s in generated() {
        let wav = dir.path().join(format!("{}.wav", s.name));
        write_f32_wav(&wav, &s);
        let theirs = ffmpeg_figures(&wav, dir.path()).unwrap();
        lines.push(compare(s.name, measure_signal(&s), theirs));
        live.push((s.name.to_string(), theirs));
    }
    for clip in CLIPS {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(clip);
        let theirs = ffmpeg_figures(&path, dir.path()).unwrap();
        lines.push(compare(clip, measure_clip(&path), theirs));
        live.push((clip.to_string(), theirs));
    }
    println!("{version}");
    if std::env::var_os("EARMARK_WRITE_MEASURE_FIXTURES").is_some() {
        let mut text = format!(
            "# ffmpeg's EBU R128 figures for tests/audio_measures.rs, from {version}.\n\
             # Per input: ffmpeg -nostdin -nostats -hide_banner -i INPUT -af \
             'ebur128=peak=true:metadata=1,ametadata=mode=print:key=lavfi.r128.I:file=META' -f null -\n\
             # integrated_lufs: the last lavfi.r128.I in META (0.001 LU; -70 = all gated);\n\
             # true_peak_dbfs: the summary's \"Peak:\" line (0.1 dB).\n\
             # Generated inputs are the signals of generated() written as 32-bit float WAV; the\n\
             # others are repository fixtures. Rewrite with EARMARK_WRITE_MEASURE_FIXTURES=1 cargo \
             test --test audio_measures live.\n\
             # name\tintegrated_lufs\ttrue_peak_dbfs\n"
        );
        for (name, f) in &live {
            text.push_str(&format!("{name}\t{:.3}\t{:.1}\n", f.integrated, f.peak));
        }
        std::fs::create_dir_all(fixture_file().parent().unwrap()).unwrap();
        std::fs::write(fixture_file(), text).unwrap();
    } else {
        // The committed figures are ffmpeg's: a different ffmpeg may round differently.
        let fixture = read_fixture();
        for (name, f) in &live {
            let c = fixture[name.as_str()];
            assert!(
                (c.integrated - f.integrated).abs() <= 0.05,
                "{name}: fixture {c:?}, live {f:?}"
            );
            assert!(
                (c.peak - f.peak).abs() <= 0.15,
                "{name}: fixture {c:?}, live {f:?}"
            );
        }
    }
    assert_all_agree(&lines);
}

#[test]
fn silence_and_a_too_short_clip_have_no_integrated_loudness() {
    let silent = make("silence", 2, 44_100, 3.0, |_, _| 0.0);
    assert_eq!(measure_signal(&silent), Loudness::default());
    let blip = make("blip", 1, 48_000, 0.3, |_, t| 0.5 * (TAU * 440.0 * t).sin());
    let l = measure_signal(&blip);
    assert_eq!(l.integrated_lufs, None);
    assert!(
        l.true_peak_dbtp
            .is_some_and(|p| (p - 20.0 * 0.5f64.log10()).abs() < 0.2)
    );
}

/// A percussive hit: a decaying tone plus a little noise, `length` seconds.
fn hit(out: &mut [f32], at: usize, rate: u32, freq: f64, gain: f64, decay: f64, rng: &mut Rng) {
    let n = ((0.06 * f64::from(rate)) as usize).min(out.len().saturating_sub(at));
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        let env = gain * (-t * decay).exp();
        out[at + i] += (env * (0.8 * (TAU * freq * t).sin() + 0.2 * rng.signed())) as f32;
    }
}

/// Kinds of generated beat.
#[derive(Debug, Clone, Copy)]
enum Beat {
    /// Identical clicks on every beat.
    Clicks,
    /// The first of every four clicks louder and higher (a metronome's bar accent).
    Accented,
    /// Clicks under white noise 6 dB louder (RMS) than the clicks' average.
    Noisy,
    /// Clicks played by hand: each up to 10 ms early or late.
    Jittered,
    /// Kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on every eighth.
    Drums,
}

/// 30 s of `beat` at `bpm` and `rate`, mono.
fn beat_track(beat: Beat, bpm: f64, rate: u32) -> Vec<f32> {
    let seconds = 30.0;
    let n = (seconds * f64::from(rate)) as usize;
    let mut out = vec![0.0f32; n];
    let mut rng = Rng(bpm.to_bits());
    let period = 60.0 / bpm * f64::from(rate);
    let mut k = 0usize;
    while (k as f64 * period) < n as f64 {
        let jitter = match beat {
            Beat::Jittered => 0.010 * f64::from(rate) * rng.signed(),
            _ => 0.0,
        };
        let at = (k as f64 * period + jitter).round().max(0.0) as usize;
        match beat {
            Beat::Clicks | Beat::Noisy | Beat::Jittered => {
                hit(&mut out, at, rate, 2000.0, 0.6, 300.0, &mut rng)
            }
            Beat::Accented if k.is_multiple_of(4) => {
                hit(&mut out, at, rate, 3000.0, 0.9, 300.0, &mut rng)
            }
            Beat::Accented => hit(&mut out, at, rate, 2000.0, 0.4, 300.0, &mut rng),
            Beat::Drums => {
                let (freq, gain) = if k.is_multiple_of(2) {
                    (60.0, 0.8)
                } else {
                    (250.0, 0.6)
                };
                hit(&mut out, at, rate, freq, gain, 25.0, &mut rng);
                hit(&mut out, at, rate, 8000.0, 0.15, 120.0, &mut rng);
                let off = (at as f64 + period / 2.0).round() as usize;
                if off < n {
                    hit(&mut out, off, rate, 8000.0, 0.15, 120.0, &mut rng);
                }
            }
        }
        k += 1;
    }
    if let Beat::Noisy = beat {
        let rms = (out.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n as f64).sqrt();
        let gain = rms * db(6.0) * 3f64.sqrt(); // uniform noise: RMS = amplitude / √3
        for x in &mut out {
            *x += (gain * rng.signed()) as f32;
        }
    }
    out
}

/// Runs the estimator on each case in blocks, returns "kind bpm: ours" lines and the worst error.
fn tempo_cases(cases: &[(Beat, f64, u32)]) -> (Vec<String>, f64) {
    let mut lines = Vec::new();
    let mut worst = 0.0f64;
    for &(beat, bpm, rate) in cases {
        let audio = beat_track(beat, bpm, rate);
        let mut estimator = TempoEstimator::new(rate);
        for block in audio.chunks(4096) {
            estimator.push(block);
        }
        let got = estimator.finish();
        let error = got.map_or(f64::INFINITY, |g| (g / bpm - 1.0).abs());
        worst = worst.max(error);
        lines.push(format!(
            "{beat:?} {bpm} BPM at {rate} Hz: {}",
            got.map_or("none".to_string(), |g| format!(
                "{g:.2} ({:+.2} %)",
                100.0 * (g / bpm - 1.0)
            ))
        ));
    }
    (lines, worst)
}

const TEMPI: [f64; 9] = [62.0, 75.0, 90.0, 104.0, 120.0, 128.0, 140.0, 163.0, 190.0];

#[test]
fn tempo_of_click_tracks_is_within_two_percent() {
    let cases: Vec<_> = TEMPI
        .iter()
        .enumerate()
        .map(|(i, &bpm)| (Beat::Clicks, bpm, [44_100, 48_000, 16_000][i % 3]))
        .collect();
    let (lines, worst) = tempo_cases(&cases);
    println!("{}", lines.join("\n"));
    assert!(worst <= 0.02, "{}", lines.join("\n"));
}

#[test]
fn tempo_of_accented_noisy_and_hand_played_click_tracks_is_within_two_percent() {
    let mut cases: Vec<_> = TEMPI
        .iter()
        .map(|&bpm| (Beat::Accented, bpm, 22_050))
        .collect();
    cases.extend(TEMPI.iter().map(|&bpm| (Beat::Noisy, bpm, 22_050)));
    cases.extend(TEMPI.iter().map(|&bpm| (Beat::Jittered, bpm, 16_000)));
    let (lines, worst) = tempo_cases(&cases);
    println!("{}", lines.join("\n"));
    assert!(worst <= 0.02, "{}", lines.join("\n"));
}

#[test]
fn tempo_of_a_drum_pattern_is_the_quarter_note() {
    let cases: Vec<_> = [72.0, 96.0, 110.0, 125.0, 150.0, 178.0]
        .iter()
        .map(|&bpm| (Beat::Drums, bpm, 44_100))
        .collect();
    let (lines, worst) = tempo_cases(&cases);
    println!("{}", lines.join("\n"));
    assert!(worst <= 0.02, "{}", lines.join("\n"));
}

#[test]
fn noise_and_a_steady_tone_have_no_tempo() {
    let mut rng = Rng(7);
    let noise: Vec<f32> = (0..22_050 * 30)
        .map(|_| (0.3 * rng.signed()) as f32)
        .collect();
    assert_eq!(estimate(&noise, 22_050), None);
    let tone: Vec<f32> = (0..22_050 * 30)
        .map(|i| (0.3 * (TAU * 220.0 * i as f64 / 22_050.0).sin()) as f32)
        .collect();
    assert_eq!(estimate(&tone, 22_050), None);
}

/// Peak resident memory of this process in KiB (Linux), for the figures below.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Streams an hour of 44.1 kHz stereo (made block by block, never held whole) through both
/// meters and prints the time and the peak memory: a figure, not an assertion on speed. Run
/// with `cargo test --test audio_measures -- --ignored --nocapture an_hour`.
#[test]
#[ignore = "an hour of audio: prints figures, run by hand"]
fn an_hour_streams_through_both_meters_in_bounded_memory() {
    let rate = 44_100u32;
    let block = 4096usize;
    let mut loudness = LoudnessMeter::new(2, rate).unwrap();
    let mut tempo = TempoEstimator::new(rate);
    let before = peak_rss_kib();
    let started = std::time::Instant::now();
    let beat = 60.0 / 123.0 * f64::from(rate);
    let total = 3600 * rate as usize;
    let (mut stereo, mut mono) = (vec![0.0f32; 2 * block], vec![0.0f32; block]);
    let mut rng = Rng(3);
    let mut n = 0usize;
    while n < total {
        let len = block.min(total - n);
        for i in 0..len {
            let t = (n + i) as f64;
            let since = t % beat / f64::from(rate);
            let x = 0.5 * (-since * 30.0).exp() * (TAU * 100.0 * since).sin() + 0.02 * rng.signed();
            mono[i] = x as f32;
            stereo[2 * i] = x as f32;
            stereo[2 * i + 1] = (0.8 * x) as f32;
        }
        loudness.push(&stereo[..2 * len]);
        tempo.push(&mono[..len]);
        n += len;
    }
    let l = loudness.finish();
    let bpm = tempo.finish();
    println!(
        "1 h of 44.1 kHz stereo: {:.1} s, peak RSS {:?} KiB before, {:?} KiB after; I {:?} LUFS, \
         TP {:?} dBTP, tempo {bpm:?} BPM",
        started.elapsed().as_secs_f64(),
        before,
        peak_rss_kib(),
        l.integrated_lufs,
        l.true_peak_dbtp
    );
    assert!(bpm.is_some_and(|b| (b / 123.0 - 1.0).abs() < 0.02));
}
