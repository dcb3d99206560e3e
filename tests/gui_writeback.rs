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

use app::{harness, tiny_options, wait_until};
use common::{WavFormat, ffmpeg};
use earmark::gui::command::Command;
use earmark::gui::dialogs::ScriptedDialogs;
use earmark::gui::state::Panel;
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
    h.state_mut().writeback.journal_dir = Some(dir.join("journals"));
    wait_until(&mut h, "the library", 90, |a| a.snapshot.rows.len() == 3);
    h.state_mut().push(Command::Show(Panel::Tags));
    h.run_steps(4);
    h.get_by_label("Write tags into files");

    // Preview: the two files without a genre get "speech; rain"; rock.flac keeps "Rock".
    h.get_by_label("Preview").click();
    wait_until(&mut h, "the preview", 90, |a| {
        a.writeback.plan.is_some() || a.writeback.error.is_some()
    });
    assert_eq!(h.state().writeback.error, None);
    let plan = &h.state().writeback.plan.as_ref().unwrap().0;
    assert_eq!(plan.to_write(), 2, "{plan:?}");
    assert_eq!(plan.files.len(), 3);
    let after_preview: Vec<String> = files.iter().map(|f| hash(f)).collect();
    assert_eq!(after_preview, before, "a preview writes nothing");
    h.get_by_label("Write 2 files");
    h.snapshot_options(
        "tags_writeback",
        &SnapshotOptions::new().max_failed_pixels(4_000),
    );

    h.get_by_label("Write 2 files").click();
    wait_until(&mut h, "the write", 90, |a| {
        a.writeback.applied.is_some() || a.writeback.error.is_some()
    });
    assert_eq!(h.state().writeback.error, None);
    let report = h.state().writeback.applied.clone().unwrap();
    assert_eq!(report.written.len(), 2, "{report:?}");
    assert!(report.failed.is_empty());
    assert_eq!(genre(&files[0]).as_deref(), Some("speech; rain"));
    assert_eq!(genre(&files[1]).as_deref(), Some("speech; rain"));
    assert_eq!(genre(&files[2]).as_deref(), Some("Rock"));
    assert_ne!(hash(&files[0]), before[0]);
    assert_eq!(hash(&files[2]), before[2]);

    h.get_by_label("Undo last write").click();
    wait_until(&mut h, "the undo", 90, |a| {
        a.writeback.undone.is_some() || a.writeback.error.is_some()
    });
    assert_eq!(h.state().writeback.error, None);
    let undone = h.state().writeback.undone.clone().unwrap();
    assert_eq!(undone.restored.len(), 2, "{undone:?}");
    let after_undo: Vec<String> = files.iter().map(|f| hash(f)).collect();
    assert_eq!(after_undo, before, "undo restores every byte");

    // Nothing left to undo: said, not a crash.
    h.get_by_label("Undo last write").click();
    h.run_steps(4);
    assert_eq!(
        h.state().writeback.error.as_deref(),
        Some("No tag write to undo.")
    );
}
