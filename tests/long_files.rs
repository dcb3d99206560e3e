//! Long files are analysed as streams: the pieces handed from the decoder to the encoder stay a
//! few chunks long whatever the file's length, and the streamed analysis equals the in-memory
//! one (whole log-mel → encoder → clip vector and segments) for files of several pieces, for
//! windowed files whose headers tell their length, and for those whose headers lie.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;

use std::path::Path;

use common::{WavFormat, wav_bytes, write_wav};
use earmark::dsp::{N_MELS, log_mel_normalised};
use earmark::engine::Engine;
use earmark::library::analyse::{
    Budget, PIECE_CHUNKS, Piece, analyse_file, prepare, prepare_streamed, summarise,
};
use earmark::library::model_id::{ModelIdentity, segment_projection};
use earmark::model::device::DeviceChoice;
use earmark::model::{EmbedOptions, embed};

/// The bundled model: wide enough (960-d) for segments to be reduced.
fn bundled() -> (Engine, ModelIdentity) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/earmark-default.safetensors");
    let engine = Engine::load(&path, DeviceChoice::Cpu).unwrap();
    let id = ModelIdentity::of_file(&path, engine.config()).unwrap();
    (engine, id)
}

/// A tone sweeping slowly with a little noise, so every second differs.
fn signal(secs: f64, rate: u32) -> Vec<f64> {
    let n = (secs * f64::from(rate)) as usize;
    let mut seed = 7u64;
    (0..n)
        .map(|i| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let t = i as f64 / f64::from(rate);
            let f = 200.0 + 30.0 * t;
            0.3 * (std::f64::consts::TAU * f * t).sin() + 0.02 * ((seed >> 40) as f64 / 8e6 - 1.0)
        })
        .collect()
}

/// The reference: the whole file in memory, encoded whole, summarised.
fn in_memory(engine: &Engine, id: &ModelIdentity, path: &Path) -> (Vec<f32>, Vec<f32>, usize) {
    let clip = earmark::audio::load_mono_16k(path).unwrap();
    let mel = log_mel_normalised(&clip.samples).unwrap();
    let cfg = engine.config();
    let times: Vec<f32> = (0..mel.frames.div_ceil(cfg.patch_size))
        .map(|c| (c * cfg.patch_size) as f32 * 0.01)
        .collect();
    let opts = EmbedOptions {
        pool_time: false,
        ..EmbedOptions::default()
    };
    let emb = embed(engine, &mel, &opts).unwrap();
    let projection = segment_projection(id.clip_dim, id.segment_dim);
    let (clip, segments) = summarise(&emb, &times, projection.as_deref(), id.segment_dim);
    let n = segments.len();
    (clip, segments.vectors, n)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_file_of_several_pieces_streams_to_the_in_memory_result() {
    let (engine, id) = bundled();
    let dir = tempfile::tempdir().unwrap();
    // 3.5 min at 22.05 kHz: resampled, and longer than two pieces (2 × 97 s).
    let path = dir.path().join("long.wav");
    write_wav(&path, 1, 22_050, WavFormat::S16, &signal(210.0, 22_050));
    let (clip, segments) = analyse_file(&engine, &id, &path, Budget::Full).unwrap();
    let (want_clip, want_segments, n) = in_memory(&engine, &id, &path);
    assert_eq!(segments.len(), n);
    assert_eq!(segments.dim, id.segment_dim);
    assert!(max_diff(&clip, &want_clip) < 1e-5, "clip");
    assert!(
        max_diff(&segments.vectors, &want_segments) < 1e-5,
        "segments"
    );
}

#[test]
fn pieces_stay_a_few_chunks_long_whatever_the_file_length() {
    let dir = tempfile::tempdir().unwrap();
    // Ten minutes at 16 kHz, written as a stream of samples (no decoding cost to speak of).
    let path = dir.path().join("ten_minutes.wav");
    write_wav(&path, 1, 16_000, WavFormat::S16, &signal(600.0, 16_000));
    let (n_t, patch) = (608, 16);
    for budget in [Budget::Full, Budget::CPU_DEFAULT] {
        let (mut largest, mut frames, mut pieces, mut columns) = (0, 0, 0, 0);
        let mut facts = None;
        let done = prepare_streamed(&path, budget, n_t, patch, &mut |piece| {
            match piece {
                Piece::Frames {
                    frames: f,
                    column_times,
                } => {
                    largest = largest.max(f.len());
                    frames += f.len() / N_MELS;
                    columns += column_times.len();
                    pieces += 1;
                }
                Piece::End(f) => facts = Some(f),
            }
            true
        })
        .unwrap();
        assert!(done);
        let facts = facts.unwrap();
        assert!((facts.meta.duration_s - 600.0).abs() < 0.01);
        assert!(
            largest <= PIECE_CHUNKS * n_t * N_MELS,
            "{budget:?}: {largest}"
        );
        assert_eq!(columns, frames.div_ceil(patch));
        match budget {
            Budget::Full => {
                assert_eq!(frames, earmark::dsp::frame_count(600 * 16_000));
                assert_eq!(pieces, frames.div_ceil(PIECE_CHUNKS * n_t));
                assert_eq!(facts.analysed, "full");
            }
            Budget::Windows { count, .. } => {
                assert_eq!((pieces, frames), (1, count * n_t));
                assert_eq!(facts.analysed, format!("windows:{count}"));
            }
        }
    }
}

#[test]
fn stopping_the_stream_stops_the_decode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("four_minutes.wav");
    write_wav(&path, 1, 16_000, WavFormat::S16, &signal(240.0, 16_000));
    let mut pieces = 0;
    let done = prepare_streamed(&path, Budget::Full, 608, 16, &mut |_| {
        pieces += 1;
        false
    })
    .unwrap();
    assert!(!done);
    assert_eq!(pieces, 1);
}

#[test]
fn windows_of_a_file_whose_header_lies_are_placed_by_its_true_length() {
    let dir = tempfile::tempdir().unwrap();
    let samples = signal(80.0, 16_000);
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|v| ((v * 32767.0).round() as i16).to_le_bytes())
        .collect();
    // The same audio: once with a true header, once claiming twice as much data (truncated).
    let honest = dir.path().join("honest.wav");
    std::fs::write(&honest, wav_bytes(1, 16_000, 16, 1, &data, None)).unwrap();
    let cut = dir.path().join("cut.wav");
    let claimed = Some(2 * data.len() as u32);
    std::fs::write(&cut, wav_bytes(1, 16_000, 16, 1, &data, claimed)).unwrap();
    let a = prepare(&honest, Budget::CPU_DEFAULT, 608, 16).unwrap();
    let b = prepare(&cut, Budget::CPU_DEFAULT, 608, 16).unwrap();
    assert_eq!(a.analysed, "windows:5");
    assert_eq!(a.mel, b.mel);
    assert_eq!(a.column_times, b.column_times);
    assert!(b.truncated && !a.truncated);
    // The last window ends within a patch of the end of the audio.
    let last = *a.column_times.last().unwrap() + 0.16;
    assert!((f64::from(last) - 80.0).abs() < 0.2, "{last}");
}

#[test]
fn a_scan_of_a_long_file_stores_the_streamed_analysis() {
    let (engine, id) = bundled();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    std::fs::create_dir(&root).unwrap();
    let path = root.join("long.wav");
    write_wav(&path, 1, 16_000, WavFormat::S16, &signal(130.0, 16_000));
    let mut lib = earmark::library::Library::open(&dir.path().join("lib.sqlite")).unwrap();
    let (tx, _rx) = crossbeam_channel::unbounded();
    let ctx = earmark::jobs::JobContext {
        events: earmark::jobs::EventSink::new(tx),
        control: std::sync::Arc::new(earmark::jobs::JobControl::new()),
    };
    let opts = earmark::library::scan::ScanOptions {
        roots: vec![root.clone()],
        walk: earmark::library::walk::WalkOptions::default(),
        budget: Budget::Full,
        max_batch: 4,
        heads: Vec::new(),
    };
    let report = earmark::library::scan::scan(&mut lib, &engine, &id, &opts, &ctx).unwrap();
    assert_eq!(report.analysed.len(), 1, "{report:?}");
    let (want_clip, want_segments, n) = in_memory(&engine, &id, &path);
    // 130 s: 13 000 frames, 813 columns, 136 segments.
    assert_eq!(n, 813usize.div_ceil(6));
    let model_id = lib.ensure_model(&id).unwrap();
    let (file_id, _) = lib.file_by_path(&report.analysed[0]).unwrap().unwrap();
    let clip = lib.clip_vector(file_id, model_id).unwrap().unwrap();
    let segments = lib.segments(file_id, model_id).unwrap().unwrap();
    assert_eq!(segments.len(), n);
    // Stored as f16.
    assert!(max_diff(&clip, &want_clip) < 1e-2);
    assert!(max_diff(&segments.vectors, &want_segments) < 1e-2);
}

#[test]
fn a_file_that_fails_mid_stream_is_reported_once_and_the_next_one_goes_on() {
    use earmark::library::analyse::FileFacts;
    use earmark::library::encoding::Analyser;
    let (engine, id) = bundled();
    let mut analyser = Analyser::new(&engine, &id, 4, false);
    let frames = |n: usize, v: f32| Piece::Frames {
        frames: vec![v; n * N_MELS],
        column_times: (0..n.div_ceil(16)).map(|c| c as f32 * 0.16).collect(),
    };
    let end = || {
        Piece::End(FileFacts {
            meta: Default::default(),
            analysed: "full".into(),
            truncated: false,
            tag_input: None,
        })
    };
    analyser.piece(1, Ok(frames(608, 0.1)));
    analyser.piece(1, Ok(frames(10, f32::NAN)));
    // Failed, but its decoder is not done with it: it is not complete yet.
    assert!(analyser.take_done().is_empty());
    analyser.piece(1, Ok(frames(608, 0.1)));
    analyser.piece(1, Ok(end()));
    analyser.piece(2, Ok(frames(700, 0.2)));
    analyser.piece(2, Ok(end()));
    analyser.flush().unwrap();
    let done = analyser.take_done();
    assert_eq!(done.iter().map(|d| d.0).collect::<Vec<_>>(), [1, 2]);
    let err = done[0].1.as_ref().err().unwrap();
    assert!(err.to_string().contains("non-finite"), "{err}");
    let good = done[1].1.as_ref().unwrap();
    assert_eq!(good.clip.len(), id.clip_dim);
    assert_eq!(good.segments.len(), 700usize.div_ceil(16).div_ceil(6));
    assert!(analyser.take_done().is_empty());
    assert!(!analyser.has_pending());
}
