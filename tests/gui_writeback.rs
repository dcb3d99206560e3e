//! Writing tags into files from the window (Tags tab): preview changes nothing on disk, "Write"
//! puts the labels into FLAC and MP3 files and keeps a genre the user already had, and "Undo
//! last write" gives every file back byte for byte.
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
    ScriptedDialogs, click_button, fresh_dir, harness, has_label, has_text, in_child_with_env,
    text_with, tiny_options, wait_for, wait_for_label,
};
use common::{WavFormat, ffmpeg};
use earmark::library::Library;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::Queryable;
use lofty::file::TaggedFileExt;
use lofty::tag::ItemKey;

fn hash(p: &Path) -> String {
    earmark::library::model_id::hash_file(p).unwrap()
}

fn genre(p: &Path) -> Option<String> {
    let file = lofty::read_from_path(p).unwrap();
    file.primary_tag()
        .and_then(|t| t.get_string(ItemKey::Genre))
        .map(str::to_owned)
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
        (
            "rock.flac",
            &["-c:a", "flac", "-metadata", "genre=Rock"][..],
        ),
    ]
    .iter()
    .map(|(name, args)| {
        let out = root.join(name);
        ffmpeg(&master, &out, args);
        out
    })
    .collect();
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

    let mut h = harness(
        tiny_options(&dir, Arc::new(ScriptedDialogs::default()), false),
        [1280.0, 900.0],
    );
    wait_for_label(&mut h, "3 of 3 files", 90);
    click_button(&mut h, "Tags");
    h.run_steps(1);
    h.get_by_label("Write tags into files");

    // Preview: the two files without a genre get "speech; rain"; rock.flac keeps "Rock".
    h.get_by_label("Preview").click();
    wait_for(&mut h, "the preview", 90, |h| has_text(h, "Preview: "));
    let preview = text_with(&h, "Preview: ");
    assert!(
        preview.starts_with("Preview: 2 files to write · 1 keep their values · "),
        "{preview}"
    );
    assert_eq!(
        app::count_label(&h, "speech; rain"),
        2,
        "the new genre of the two files"
    );
    let after_preview: Vec<String> = files.iter().map(|f| hash(f)).collect();
    assert_eq!(after_preview, before, "a preview writes nothing");
    h.get_by_label("Write 2 files");
    h.snapshot_options(
        "tags_writeback",
        &SnapshotOptions::new().max_failed_pixels(4_000),
    );

    h.get_by_label("Write 2 files").click();
    wait_for(&mut h, "the write", 90, |h| has_text(h, "Written: "));
    let written = text_with(&h, "Written: ");
    assert!(
        written.starts_with("Written: 2 files · unchanged ") && written.ends_with(" · failed 0"),
        "{written}"
    );
    // The undo journal is kept in the data directory.
    let journal = text_with(&h, "Undo journal: ");
    assert!(
        journal.starts_with(&format!("Undo journal: {}", data.display())),
        "{journal}"
    );
    assert_eq!(genre(&files[0]).as_deref(), Some("speech; rain"));
    assert_eq!(genre(&files[1]).as_deref(), Some("speech; rain"));
    assert_eq!(genre(&files[2]).as_deref(), Some("Rock"));
    assert_ne!(hash(&files[0]), before[0]);
    assert_eq!(hash(&files[2]), before[2]);

    h.get_by_label("Undo last write").click();
    wait_for(&mut h, "the undo", 90, |h| has_text(h, "Undo: "));
    let undone = text_with(&h, "Undo: ");
    assert!(undone.starts_with("Undo: 2 restored · "), "{undone}");
    assert!(undone.ends_with(" · 0 refused"), "{undone}");
    let after_undo: Vec<String> = files.iter().map(|f| hash(f)).collect();
    assert_eq!(after_undo, before, "undo restores every byte");

    // Nothing left to undo: said, not a crash.
    h.get_by_label("Undo last write").click();
    wait_for(&mut h, "the answer", 30, |h| {
        has_label(h, "No tag write to undo.")
    });
}
