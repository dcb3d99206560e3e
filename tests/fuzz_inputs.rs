//! The fuzz targets (`tests/common/fuzz_targets.rs`) run briefly in the test suite: each gets a
//! few thousand inputs mutated from valid seeds (audio of every supported container, pickles,
//! safetensors, model descriptions, `.pt` and probe archives) by a seeded generator, so a run is
//! repeatable, and must neither panic nor take long on any. Inputs that once failed are kept under
//! `tests/fixtures/fuzz/<target>/` and replayed.
//!
//! `EARMARK_FUZZ_ITERS=N` sets the inputs per target (default 4000; the decoder's are shared out
//! between its six containers), `EARMARK_FUZZ_SECS=S` stops each target after S seconds and
//! `EARMARK_FUZZ_SEED` seeds the generator, to fuzz for longer:
//! `EARMARK_FUZZ_ITERS=100000000 EARMARK_FUZZ_SECS=180 cargo test --test fuzz_inputs fuzz_pickle -- --nocapture`.
//! A failing input is written to `target/fuzz-failures/` and named in the failure.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/fuzz_targets.rs"]
mod fuzz_targets;
#[path = "common/hostile.rs"]
mod hostile;
#[allow(dead_code)] // each test file uses part of the writer
#[path = "common/pt_writer.rs"]
mod pt_writer;

use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::fixture;

/// Longest any single input may take (a generous "does not hang" bound).
const SLOW: Duration = Duration::from_secs(10);

/// xorshift64*: small, seeded, repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Values that often reach edge cases when written over a length or count.
const INTERESTING: [u64; 10] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// Applies one to four random mutations to `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut d = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = d.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                d[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                d[i] = rng.next() as u8;
            }
            2 if len > 0 => {
                // An interesting value over 1, 2, 4 or 8 bytes.
                let w = [1, 2, 4, 8][rng.below(4)].min(len);
                let i = rng.below(len - w + 1);
                let v = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                d[i..i + w].copy_from_slice(&v[..w]);
            }
            3 if len > 0 => d.truncate(rng.below(len)),
            4 if len > 0 => {
                // Delete a run.
                let i = rng.below(len);
                let n = rng.below((len - i).min(64)) + 1;
                d.drain(i..i + n);
            }
            5 if len > 0 => {
                // Duplicate a run somewhere.
                let i = rng.below(len);
                let n = rng.below((len - i).min(256)) + 1;
                let run = d[i..i + n].to_vec();
                let at = rng.below(len + 1);
                d.splice(at..at, run);
            }
            6 => {
                let at = rng.below(len + 1);
                let n = rng.below(32) + 1;
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                d.splice(at..at, junk);
            }
            7 if len > 1 => {
                // Swap two bytes.
                let (i, j) = (rng.below(len), rng.below(len));
                d.swap(i, j);
            }
            _ => {
                let at = rng.below(len + 1);
                d.insert(at, INTERESTING[rng.below(INTERESTING.len())] as u8);
            }
        }
    }
    d
}

fn iterations() -> usize {
    std::env::var("EARMARK_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000)
}

/// `EARMARK_FUZZ_SECS`: stop each target after this long, however many inputs are left.
fn time_limit() -> Option<Duration> {
    std::env::var("EARMARK_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs_f64)
}

fn seed_value() -> u64 {
    std::env::var("EARMARK_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_1500)
}

/// Runs `target` on every regression input of `name`, then on mutated seeds; returns a line per
/// input that panicked or took longer than [`SLOW`], naming where it was saved.
fn fuzz(name: &str, seeds: &[Vec<u8>], iters: usize, target: impl Fn(&[u8])) -> Vec<String> {
    assert!(!seeds.is_empty());
    let mut failures = Vec::new();
    let mut run = |input: &[u8], label: &str| {
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| target(input)));
        let took = start.elapsed();
        if result.is_err() || took > SLOW {
            let saved = save_failure(name, input);
            let why = if result.is_err() { "panicked" } else { "slow" };
            failures.push(format!("{label} {why} after {took:?}: {}", saved.display()));
        }
    };
    for (path, input) in regression_inputs(name) {
        run(&input, &path.display().to_string());
    }
    let mut rng = Rng(seed_value() ^ name.len() as u64 ^ 0x9E37_79B9_7F4A_7C15);
    // Mutants that did not fail become seeds too, so mutations stack up over a run.
    let mut pool: Vec<Vec<u8>> = seeds.to_vec();
    let start = Instant::now();
    let mut done = 0;
    for i in 0..iters {
        if time_limit().is_some_and(|t| start.elapsed() > t) {
            break;
        }
        done += 1;
        let base = &pool[rng.below(pool.len())];
        let input = mutate(base, &mut rng);
        run(&input, &format!("{name} input {i}"));
        if pool.len() < 256 + seeds.len() && rng.below(8) == 0 {
            pool.push(input);
        }
    }
    eprintln!(
        "fuzz {name}: {done} inputs in {:.1} s, {} failures",
        start.elapsed().as_secs_f64(),
        failures.len()
    );
    failures
}

fn assert_none(failures: &[String]) {
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn save_failure(name: &str, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{name}-{hash:016x}.bin"));
    std::fs::write(&path, input).unwrap();
    path
}

/// Kept inputs that once failed: `tests/fixtures/fuzz/<target>/*`.
fn regression_inputs(name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

fn seed_file(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz/seeds")
            .join(name),
    )
    .unwrap()
}

/// The `data.pkl` program of a `.pt` archive.
fn pickle_of(path: &Path) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let name = zip
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .find(|n| n.ends_with("data.pkl"))
        .unwrap();
    let mut out = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// Fuzzes the decoder with the seed of each of `containers`, sharing the iterations out.
fn fuzz_decoder_with(containers: &[&str]) {
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for ext in containers {
        let seeds = vec![seed_file(&format!("tone.{ext}"))];
        let iters = iterations() / fuzz_targets::AUDIO_EXTENSIONS.len();
        failures.extend(fuzz(&format!("decode-{ext}"), &seeds, iters, |d| {
            fuzz_targets::decode(d, ext, scratch.path());
        }));
    }
    assert_none(&failures);
}

#[test]
fn fuzz_decoder() {
    // Each container keeps its extension (the probe's hint).
    fuzz_decoder_with(&["mp3", "flac", "ogg", "m4a", "opus"]);
}

/// WAV headers whose channel count times bytes per sample overflows 16 bits make symphonia's
/// RIFF reader panic in builds with overflow checks (tests, debug); the decoder contains such
/// panics and reports the file as unreadable. `tests/fixtures/fuzz/decode-wav/` keeps one.
#[test]
fn fuzz_decoder_wav() {
    fuzz_decoder_with(&["wav"]);
}

#[test]
fn fuzz_pickle() {
    let seeds = vec![
        pickle_of(&fixture("tiny_state_dict.pt")),
        pickle_of(&fixture("probe_tiny.pth")),
        hostile::shared_dicts(8),
        hostile::rememoised_list(40),
        hostile::long_repeated_key(12, 6),
        hostile::dup_flood(64),
        b"\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00b}(X\x01\x00\x00\x00cG@\x04\x00\x00\x00\x00\x00\x00uu.".to_vec(),
    ];
    assert_none(&fuzz("pickle", &seeds, iterations(), fuzz_targets::pickle));
}

/// A small safetensors file with its description in the metadata, and a `.pt` of the same.
fn weight_seeds(dir: &Path) -> Vec<Vec<u8>> {
    let st = dir.join("w.safetensors");
    let cfg = earmark::model::EncoderConfig {
        embed_dim: 8,
        depth: 1,
        num_heads: 2,
        mlp_hidden_dim: 16,
        n_t: 32,
        patch_size: 16,
        n_mels: 80,
        layer_norm_eps: 1e-6,
    };
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = vec![
        ("cls_token".into(), vec![1, 1, 8], vec![0.5; 8]),
        ("pos_embed".into(), vec![1, 11, 8], vec![0.25; 88]),
        ("probe.weight".into(), vec![3, 8], vec![1.0; 24]),
    ];
    let mut meta = std::collections::HashMap::new();
    meta.insert(
        earmark::model::config::METADATA_KEY.to_owned(),
        earmark::model::ModelDescription::new(cfg)
            .to_json()
            .unwrap(),
    );
    earmark::model::weights::write_safetensors(&st, &tensors, Some(meta)).unwrap();
    let pt = dir.join("w.pt");
    pt_writer::write_pt(
        &pt,
        &[
            (
                "probe.weight".into(),
                pt_writer::Val::F32 {
                    shape: vec![2, 3],
                    data: vec![1.0; 6],
                },
            ),
            ("step".into(), pt_writer::Val::Int(7)),
        ],
    );
    vec![
        std::fs::read(&st).unwrap(),
        std::fs::read(&pt).unwrap(),
        std::fs::read(fixture("probe_tiny.safetensors")).unwrap(),
        std::fs::read(fixture("tiny.json")).unwrap(),
    ]
}

#[test]
fn fuzz_weights_and_config() {
    let scratch = tempfile::tempdir().unwrap();
    let seeds = weight_seeds(scratch.path());
    assert_none(&fuzz("weights", &seeds, iterations(), |d| {
        fuzz_targets::weights(d, scratch.path())
    }));
}

/// A probe archive as the release lays it out (stored), and one deflated.
fn archive_seeds() -> Vec<Vec<u8>> {
    let probe = std::fs::read(fixture("probe_tiny.pth")).unwrap();
    let build = |method| {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in [
            (
                "Weights_probes_matpac/matpac++_music/esc50/esc50.pth",
                &probe[..],
            ),
            ("Weights_probes_matpac/README.txt", b"heads"),
            ("../escape/x.pth", b"junk"),
        ] {
            zip.start_file(name, opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        buf.into_inner()
    };
    vec![
        build(zip::CompressionMethod::Stored),
        build(zip::CompressionMethod::Deflated),
    ]
}

#[test]
fn fuzz_archive() {
    let scratch = tempfile::tempdir().unwrap();
    assert_none(&fuzz("archive", &archive_seeds(), iterations(), |d| {
        fuzz_targets::archive(d, scratch.path());
    }));
}
