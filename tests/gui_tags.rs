//! Tags in the desktop app through its real state (egui_kittest): a scan with a probe head
//! stores tags → the tag filter narrows the table to exactly the files carrying the tag → the
//! selected file's tag timeline shows under the spectrogram and hovering names a score → a
//! personal tag added to three files → the review list offers other files → accepting one
//! changes the tag's predictions. Snapshots `tests/snapshots/tags_*.png`.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::{H, harness, tiny_options, wait_until};
use common::WavFormat;
use earmark::gui::EarmarkApp;
use earmark::gui::command::Command;
use earmark::gui::dialogs::ScriptedDialogs;
use earmark::gui::job_list::JobKind;
use earmark::library::Library;
use earmark::library::examples::PERSONAL_SOURCE;
use earmark::library::tagging::TagLimits;
use eframe::egui;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::Queryable;

fn snapshot(h: &mut H, name: &str) {
    h.run_steps(4);
    h.snapshot_options(name, &SnapshotOptions::new().max_failed_pixels(0));
}

/// 12 generated sounds of 2 to 4 s in three folders.
fn sounds(dir: &Path) -> PathBuf {
    let root = dir.join("sounds");
    for i in 0..12 {
        let sub = root.join(["chords", "noise", "chirps"][i % 3]);
        std::fs::create_dir_all(&sub).unwrap();
        let x = synth::sound(i % 5, i as u64, 2.0 + (i % 3) as f64, 44_100);
        synth::write_stereo(&sub.join(format!("s{i:02}.wav")), &x, WavFormat::S16);
    }
    root
}

fn shown_names(app: &EarmarkApp) -> BTreeSet<String> {
    (0..app.view.order.len())
        .map(|i| app.view.row(i).unwrap().name.clone())
        .collect()
}

fn select(h: &mut H, name: &str) {
    h.get_by_label(name).click();
    let owned = name.to_string();
    wait_until(h, name, 120, move |a| {
        a.inspector.task.is_none()
            && a.inspector
                .data
                .as_ref()
                .is_some_and(|d| d.path.ends_with(&owned))
    });
}

/// The tag job ended and the inspected file shows `label` among its personal tags.
fn tagged_shown(a: &EarmarkApp, label: &str) -> bool {
    !a.tags.waiting
        && !a.jobs.active(JobKind::Tags)
        && a.inspector.task.is_none()
        && a.snapshot.personal_tags.iter().any(|t| t == label)
        && a.inspector
            .data
            .as_ref()
            .is_some_and(|d| d.personal_tags.iter().any(|(l, _)| l == label))
}

/// The personal tag's stored predictions: file id → score.
fn predictions(lib: &Path, label: &str) -> BTreeMap<i64, f64> {
    let conn = rusqlite::Connection::open(lib).unwrap();
    let mut stmt = conn
        .prepare("SELECT file_id, score FROM tags WHERE source = ?1 AND label = ?2")
        .unwrap();
    stmt.query_map([PERSONAL_SOURCE, label], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn tag_filter_timeline_personal_tags_and_review() {
    let dir = desktop::fixed_dir("tags");
    let root = sounds(&dir);
    let lib_path = dir.join("library.sqlite");
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(
        tiny_options(&dir, Arc::clone(&dialogs), true),
        [1280.0, 800.0],
    );
    wait_until(&mut h, "the empty library", 120, |a| {
        a.rows_loaded && a.model.active.is_some()
    });

    // Scan with the probe head: every file gets tags and a timeline.
    dialogs.answer(Some(root.clone()));
    h.get_by_label("Add a folder…").click();
    wait_until(&mut h, "the scan and its tags", 120, |a| {
        a.snapshot.counts.indexed == 12
            && !a.jobs.active(JobKind::Scan)
            && a.snapshot.counts.pending == 0
            && a.snapshot.rows.iter().all(|r| !r.labels.is_empty())
    });
    let lib = Library::open(&lib_path).unwrap();
    assert!(lib.files_untagged_by("probe_tiny").unwrap().is_empty());

    // The tag filter: the rarest label narrows the table to exactly its files.
    let (label, count) = {
        let s = &h.state().snapshot;
        let i = (0..s.labels.len())
            .min_by_key(|&i| s.label_counts[i])
            .unwrap();
        (s.labels[i].clone(), s.label_counts[i])
    };
    assert!(count < 12, "the rarest label is not on every file");
    let expected: BTreeSet<String> = lib
        .files_with_tag(&label, 0.0)
        .unwrap()
        .into_iter()
        .map(|id| {
            let row = h.state().snapshot.rows.iter().find(|r| r.id == id).unwrap();
            row.name.clone()
        })
        .collect();
    assert_eq!(expected.len(), count);
    h.get_by_label("Tag filter").click();
    h.run_steps(2);
    h.get_by_label(&format!("{label} ({count})")).click();
    h.run_steps(3);
    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    assert_eq!(h.state().state.tag_filter, std::slice::from_ref(&label));
    assert_eq!(shown_names(h.state()), expected);
    h.get_by_label(&format!("{label} ×"));
    snapshot(&mut h, "tags_filter");
    // Combined with the text filter.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    h.event(egui::Event::Text("chirps".into()));
    h.run_steps(3);
    let chirps: BTreeSet<String> = expected
        .iter()
        .filter(|n| {
            let i: usize = n[1..3].parse().unwrap();
            i % 3 == 2
        })
        .cloned()
        .collect();
    assert_eq!(shown_names(h.state()), chirps);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(2);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().filter, "");
    h.get_by_label(&format!("{label} ×")).click();
    h.run_steps(3);
    assert_eq!(h.state().view.order.len(), 12);

    // The timeline of the selected file: one row per top label, one cell per segment.
    select(&mut h, "s05.wav");
    let (source, timeline) = h
        .state()
        .inspector
        .data
        .as_ref()
        .unwrap()
        .timeline
        .clone()
        .unwrap();
    assert_eq!(source, "probe_tiny");
    let (id, _) = lib
        .file_by_path(&synth::canon(&root.join("chirps/s05.wav")))
        .unwrap()
        .unwrap();
    let model_id = lib.latest_model().unwrap().unwrap().0;
    let segments = lib.segments(id, model_id).unwrap().unwrap();
    assert_eq!(timeline.count(), segments.len());
    assert!(timeline.count() >= 4, "a 4 s file has ≥ 4 segments");
    let node = h.get_by_label("Tag timeline");
    let rect = node.rect();
    // Hover over the first row, in the middle of the plot: the score of that cell is named.
    h.hover_at(egui::pos2(
        (rect.min.x + 44.0 + rect.max.x) / 2.0,
        rect.min.y + 5.0,
    ));
    h.run_steps(3);
    let hover = h.state().inspector.timeline_hover.clone().unwrap();
    assert!(
        hover.starts_with(&format!("{}: 0.", timeline.labels[0])),
        "{hover}"
    );
    // Zoomed to 2–4 s, the middle of the plot is 3 s: the cell of 2.88–3.84 s.
    h.state_mut().inspector.view = (2.0, 4.0);
    h.hover_at(egui::pos2(
        (rect.min.x + 44.0 + rect.max.x) / 2.0,
        rect.min.y + 5.0,
    ));
    h.run_steps(3);
    let hover = h.state().inspector.timeline_hover.clone().unwrap();
    assert!(hover.ends_with("at 2.88–3.84 s"), "{hover}");
    h.state_mut().inspector.view = (0.0, 4.0);
    h.hover_at(egui::pos2(rect.max.x - 300.0, rect.max.y + 200.0));
    snapshot(&mut h, "tags_timeline");

    // A personal tag on three files, through "Add tag…": a region of the first, the others whole.
    for (n, name) in ["s02.wav", "s05.wav", "s08.wav"].into_iter().enumerate() {
        select(&mut h, name);
        if n == 0 {
            h.state_mut().inspector.region = Some((0.5, 2.5));
            h.run_steps(2);
        }
        h.get_by_label("Add tag…").click();
        h.run_steps(3);
        if n == 0 {
            h.get_by_label("Tag region 0.50–2.50 s:");
        }
        h.event(egui::Event::Text("bright".into()));
        h.run_steps(2);
        h.key_press(egui::Key::Enter);
        h.run_steps(2);
        wait_until(&mut h, "the tag job", 120, |a| {
            !a.tags.waiting
                && !a.jobs.active(JobKind::Tags)
                && a.inspector.task.is_none()
                && a.snapshot.personal_tags.iter().any(|t| t == "bright")
        });
        let examples = Library::open(&lib_path)
            .unwrap()
            .examples(Some("bright"))
            .unwrap();
        assert_eq!(examples.len(), n + 1, "{:?}", h.state().notices);
    }
    wait_until(&mut h, "the chip", 120, |a| tagged_shown(a, "bright"));
    let examples = Library::open(&lib_path)
        .unwrap()
        .examples(Some("bright"))
        .unwrap();
    assert!(examples.iter().all(|e| e.positive));
    let region = examples.iter().find(|e| e.region.is_some()).unwrap();
    assert_eq!(
        region.region.map(|r| (r.start_s, r.end_s)),
        Some((0.5, 2.5))
    );
    let region_vector = Library::open(&lib_path)
        .unwrap()
        .region_vector(region.id, model_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        region_vector.len(),
        320,
        "the region was embedded by the tiny model"
    );
    assert_eq!(h.state().snapshot.personal_tags, ["bright"]);
    assert!(h.state().snapshot.labels.contains(&"bright".to_string()));
    let personal = &h.state().inspector.data.as_ref().unwrap().personal_tags;
    assert_eq!(personal, &[("bright".to_string(), 1.0)]);
    h.get_by_label_contains("bright 1.00");

    // The review list: likely files without an answer, best first.
    h.get_by_label("Tags").click();
    h.run_steps(2);
    h.get_by_label("bright").click();
    wait_until(&mut h, "the review list", 120, |a| {
        a.tags.items.is_some() && a.tags.review.is_none()
    });
    let labelled: BTreeSet<i64> = examples.iter().map(|e| e.file_id).collect();
    let items = h
        .state()
        .tags
        .open_items()
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(items.len(), 9, "every analysed file without an answer");
    assert!(items.iter().all(|i| !labelled.contains(&i.file_id)));
    assert!(
        items
            .windows(2)
            .all(|w| w[0].probability >= w[1].probability)
    );
    snapshot(&mut h, "tags_review");

    // Accept the highlighted (likeliest) file with the keyboard: it becomes an example, the tag
    // is refitted and its predictions change.
    let before = predictions(&lib_path, "bright");
    let accepted = items[0].file_id;
    h.key_press(egui::Key::A);
    h.run_steps(2);
    wait_until(&mut h, "the answer to be fitted", 120, |a| {
        !a.tags.waiting
            && !a.jobs.active(JobKind::Tags)
            && a.tags.review.is_none()
            && a.tags
                .items
                .as_ref()
                .is_some_and(|(_, items)| items.len() == 8)
    });
    let examples = Library::open(&lib_path)
        .unwrap()
        .examples(Some("bright"))
        .unwrap();
    assert_eq!(examples.len(), 4);
    assert!(examples.iter().any(|e| e.file_id == accepted && e.positive));
    let after = predictions(&lib_path, "bright");
    assert_eq!(after.get(&accepted), Some(&1.0));
    assert_ne!(before, after, "accepting a file changes the predictions");
    let left = h.state().tags.open_items();
    assert_eq!(left.len(), 8);
    assert!(left.iter().all(|i| i.file_id != accepted));

    // New limits for the head, applied to the library: one tag per file, timelines kept.
    let timeline_before = lib.segment_tags(id, Some("probe_tiny")).unwrap();
    h.state_mut().settings.head_limits.insert(
        "probe_tiny".into(),
        TagLimits {
            threshold: 0.0,
            top_n: 1,
        },
    );
    h.state_mut().push(Command::RetagLibrary);
    h.run_steps(2);
    wait_until(&mut h, "the retag job", 120, |a| {
        !a.jobs.active(JobKind::Tags)
    });
    let lib = Library::open(&lib_path).unwrap();
    for r in h.state().snapshot.rows.iter() {
        let n = lib
            .tags_of_file(r.id)
            .unwrap()
            .iter()
            .filter(|t| t.0 == "probe_tiny")
            .count();
        assert_eq!(n, 1, "{}", r.name);
    }
    assert_eq!(
        lib.segment_tags(id, Some("probe_tiny")).unwrap(),
        timeline_before
    );
}
