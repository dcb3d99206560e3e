//! Writing tags into files from the window (Tags tab): the panel starts with the command line's
//! default field (EARMARK_TAGS, not the genre) and fits the window at 1200×780 and 1024×700;
//! preview changes nothing on disk, "Write" puts the labels into FLAC, MP3, WAV and AIFF files
//! (the audio of each bit-identical) and keeps a value the user already had, a CAF file is
//! reported as not supported for writing tags (in the Jobs tab too, not as unreadable), and
//! "Undo last write" gives every file back byte for byte.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::{
    H, ScriptedDialogs, click_button, fresh_dir, harness, has_label, has_text, in_child_with_env,
    text_with, tiny_options, wait_for, wait_for_label,
};
use common::{WavFormat, ffmpeg};
use earmark::library::Library;
use earmark::writeback::formats::{FileTags, detect};
use earmark::writeback::{Field, fields::DEFAULT_FIELD};
use eframe::egui;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::Queryable;

fn hash(p: &Path) -> String {
    earmark::library::model_id::hash_file(p).unwrap()
}

/// The file's default write-back field, as Earmark reads it.
fn labels(p: &Path) -> Option<String> {
    let format = detect(std::fs::File::open(p).unwrap()).unwrap();
    FileTags::read(&mut std::fs::File::open(p).unwrap(), format)
        .unwrap()
        .get(&Field::Custom(DEFAULT_FIELD.into()))
}

/// Every interleaved sample, decoded by Earmark's decoder.
fn decode(p: &Path) -> Vec<f32> {
    let mut d = earmark::audio::AudioDecoder::open(p).unwrap();
    let mut out = Vec::new();
    while let Some(block) = d.next_block().unwrap() {
        out.extend_from_slice(block);
    }
    out
}

/// At `size`, each of the panel's `controls` can be scrolled into view and then lies wholly
/// inside the window (nothing cut on the right or below).
fn panel_fits(h: &mut H, size: [f32; 2], controls: &[&str]) {
    h.set_size(egui::vec2(size[0], size[1]));
    h.run_steps(3);
    for name in controls {
        h.get_by_label(name).scroll_to_me();
        h.run_steps(2);
        let r = h.get_by_label(name).rect();
        assert!(
            r.min.x >= 0.0 && r.min.y >= 0.0 && r.max.x <= size[0] && r.max.y <= size[1],
            "at {}×{}, \"{name}\" lies at {r:?}, outside the window",
            size[0],
            size[1]
        );
    }
}

#[test]
fn preview_write_and_undo_from_the_tags_tab() {
    // The undo journals go to the app's data directory: a fresh one, named by its variable.
    let data = std::env::temp_dir()
        .join("earmark-gui-tests")
        .join("writeback-data");
    if !in_child_with_env(
        "preview_write_and_undo_from_the_tags_tab",
        &[("EARMARK_DATA_DIR", &data)],
    ) {
        return;
    }
    fresh_dir("writeback-data");
    let dir = desktop::fixed_dir("writeback");
    let root = dir.join("music");
    std::fs::create_dir_all(&root).unwrap();
    let master = dir.join("master.wav");
    synth::write_stereo(&master, &synth::sound(2, 7, 1.5, 44_100), WavFormat::S16);
    let files: Vec<PathBuf> = [
        ("a.flac", &["-c:a", "flac"][..]),
        ("b.mp3", &["-c:a", "libmp3lame", "-b:a", "128k"][..]),
        ("c.wav", &["-c:a", "pcm_s16le"][..]),
        ("d.aiff", &["-c:a", "pcm_s24be"][..]),
        (
            "kick.flac",
            &["-c:a", "flac", "-metadata", "EARMARK_TAGS=kick"][..],
        ),
    ]
    .iter()
    .map(|(name, args)| {
        let out = root.join(name);
        ffmpeg(&master, &out, args);
        out
    })
    .collect();
    // A kind of file tags are not written into: reported as such, in the panel and in Jobs.
    ffmpeg(
        &master,
        &root.join("e.caf"),
        &["-c:a", "pcm_s16le", "-f", "caf"],
    );
    let lib_path = dir.join("library.sqlite");
    synth::scan_with_tiny_model(&root, &lib_path);
    {
        let mut lib = Library::open(&lib_path).unwrap();
        for f in lib.all_known_files().unwrap() {
            let tags = vec![
                ("speech".to_string(), 0.9f32),
                ("rain".to_string(), 0.7),
                ("wind".to_string(), 0.2),
            ];
            lib.set_tags(f.id, "test", &tags).unwrap();
        }
    }
    let before: Vec<String> = files.iter().map(|f| hash(f)).collect();
    let audio: Vec<Vec<f32>> = files.iter().map(|f| decode(f)).collect();

    let mut h = harness(
        tiny_options(&dir, Arc::new(ScriptedDialogs::default()), false),
        [1200.0, 780.0],
    );
    wait_for_label(&mut h, "6 of 6 files", 90);
    click_button(&mut h, "Tags");
    h.run_steps(1);
    h.get_by_label("Write tags into files");
    // The window's default field is the command line's: EARMARK_TAGS, not the genre.
    assert!(app::field_with(&h, DEFAULT_FIELD), "the default field");
    assert!(!app::field_with(&h, "genre"));

    // Preview: the four files without labels get "speech; rain"; kick.flac keeps "kick"; the
    // CAF file cannot be tagged.
    h.get_by_label("Preview").click();
    wait_for(&mut h, "the preview", 90, |h| has_text(h, "Preview: "));
    let preview = text_with(&h, "Preview: ");
    assert!(
        preview.starts_with("Preview: 4 files to write · 1 keep their values · "),
        "{preview}"
    );
    assert_eq!(
        app::count_label(&h, "speech; rain"),
        4,
        "the new labels of the four files"
    );
    let after_preview: Vec<String> = files.iter().map(|f| hash(f)).collect();
    assert_eq!(after_preview, before, "a preview writes nothing");
    assert!(preview.ends_with(" · 1 cannot be tagged"), "{preview}");
    click_button(&mut h, "Jobs");
    h.run_steps(1);
    h.get_by_label("1 file not tagged").click();
    h.run_steps(2);
    assert!(
        has_text(&h, "not supported for writing tags: CAF files"),
        "the Jobs tab's reason"
    );
    assert!(!has_text(&h, "could not be read"));
    click_button(&mut h, "Tags");
    h.run_steps(2);
    let controls = [
        "Write tags into files",
        "Add a field",
        "keep",
        "add missing labels",
        "replace",
        "ID3v2.3 (MP3, WAV, AIFF)",
        "the whole library",
        "Preview",
        "Write 4 files",
        "Undo last write",
        "kick.flac",
    ];
    panel_fits(&mut h, [1024.0, 700.0], &controls);
    panel_fits(&mut h, [1200.0, 780.0], &controls);
    h.get_by_label("Write 4 files").scroll_to_me();
    h.run_steps(2);
    h.snapshot_options(
        "tags_writeback_1200x780",
        &SnapshotOptions::new().max_failed_pixels(4_000),
    );

    h.get_by_label("Write 4 files").click();
    wait_for(&mut h, "the write", 90, |h| has_text(h, "Written: "));
    let written = text_with(&h, "Written: ");
    assert!(
        written.starts_with("Written: 4 files · unchanged ") && written.ends_with(" · failed 0"),
        "{written}"
    );
    // The undo journal is kept in the data directory.
    let journal = text_with(&h, "Undo journal: ");
    assert!(
        journal.starts_with(&format!("Undo journal: {}", data.display())),
        "{journal}"
    );
    for (i, f) in files.iter().enumerate().take(4) {
        assert_eq!(
            labels(f).as_deref(),
            Some("speech; rain"),
            "{}",
            f.display()
        );
        assert_ne!(hash(f), before[i], "{} written", f.display());
        assert_eq!(decode(f), audio[i], "{}: the audio changed", f.display());
    }
    assert_eq!(labels(&files[4]).as_deref(), Some("kick"));
    assert_eq!(hash(&files[4]), before[4]);

    h.get_by_label("Undo last write").scroll_to_me();
    h.run_steps(1);
    h.get_by_label("Undo last write").click();
    wait_for(&mut h, "the undo", 90, |h| has_text(h, "Undo: "));
    let undone = text_with(&h, "Undo: ");
    assert!(undone.starts_with("Undo: 4 restored · "), "{undone}");
    assert!(undone.ends_with(" · 0 refused"), "{undone}");
    let after_undo: Vec<String> = files.iter().map(|f| hash(f)).collect();
    assert_eq!(after_undo, before, "undo restores every byte");

    // Nothing left to undo: said, not a crash.
    h.get_by_label("Undo last write").scroll_to_me();
    h.run_steps(1);
    h.get_by_label("Undo last write").click();
    wait_for(&mut h, "the answer", 30, |h| {
        has_label(h, "No tag write to undo.")
    });
}
