//! Tags in the desktop app, driven and read through the window (egui_kittest): a scan with a probe head
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

use app::{
    H, Role, ScriptedDialogs, bars_after, count_label, drag, drop_files, harness, has_label,
    has_text, inspected, job_running, nodes, select, spectrogram_x, spinning, text_with, texts,
    tiny_options, wait_for, wait_for_text, wait_inspected,
};
use common::WavFormat;
use earmark::library::Library;
use earmark::library::examples::PERSONAL_SOURCE;
use eframe::egui;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::{NodeT, Queryable};

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

/// A shown file name ("s05.wav").
fn is_file_name(t: &str) -> bool {
    t.len() == 7 && t.starts_with('s') && t.ends_with(".wav")
}

/// The file names the library table shows.
fn shown_names(h: &H) -> BTreeSet<String> {
    texts(h).into_iter().filter(|t| is_file_name(t)).collect()
}

/// The library's file ids by file name.
fn ids(lib: &Library) -> BTreeMap<String, i64> {
    lib.all_known_files()
        .unwrap()
        .into_iter()
        .map(|f| {
            let name = Path::new(&f.path).file_name().unwrap().to_string_lossy();
            (name.into_owned(), f.id)
        })
        .collect()
}

/// The personal tag's stored predictions: file id → score.
fn predictions(lib: &Path, label: &str) -> BTreeMap<i64, f64> {
    let lib = Library::open(lib).unwrap();
    ids(&lib)
        .into_values()
        .filter_map(|id| {
            let tags = lib.tags_of_file(id).unwrap();
            let score = tags
                .iter()
                .find(|(source, l, _)| source == PERSONAL_SOURCE && l == label)?
                .2;
            Some((id, score))
        })
        .collect()
}

/// The Tags tab's review list as shown: (probability, file name) per row, in order.
fn review(h: &H) -> Vec<(f64, String)> {
    let all = nodes(h);
    let mut out = Vec::new();
    for (i, (role, text)) in all.iter().enumerate() {
        if *role != Role::Button || text != "Accept" {
            continue;
        }
        let mut rest = all[i + 1..].iter();
        let bar = rest.find(|(r, _)| *r == Role::ProgressIndicator).unwrap();
        let name = rest.find(|(_, t)| !t.is_empty()).unwrap();
        out.push((bar.1.parse().unwrap(), name.1.clone()));
    }
    out
}

/// Turns the mouse wheel by `delta` points over `pos`, and lets the smooth scrolling settle.
fn wheel(h: &mut H, pos: egui::Pos2, delta: f32) {
    h.hover_at(pos);
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, delta),
        phase: egui::TouchPhase::Move,
        modifiers: egui::Modifiers::NONE,
        source: egui::MouseWheelSource::Wheel,
    });
    h.run_steps(60);
}

/// The tag timeline's tooltip after hovering `pos`.
fn timeline_tooltip(h: &mut H, pos: egui::Pos2) -> String {
    h.hover_at(pos);
    h.run_steps(2);
    wait_for_text(h, " (probe_tiny)", 20);
    text_with(h, " (probe_tiny)")
}

#[test]
fn tag_filter_timeline_personal_tags_and_head_limits() {
    let dir = desktop::fixed_dir("tags");
    let root = sounds(&dir);
    let lib_path = dir.join("library.sqlite");
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(
        tiny_options(&dir, Arc::clone(&dialogs), true),
        [1280.0, 800.0],
    );
    wait_for(&mut h, "the empty library and the model", 120, |h| {
        has_label(h, "Add a folder…") && has_label(h, "Model: tiny")
    });

    // Scan with the probe head: every file gets tags and a timeline.
    dialogs.answer(Some(root.clone()));
    h.get_by_label("Add a folder…").click();
    wait_for(&mut h, "the scan and its tags", 120, |h| {
        has_label(h, "12 files")
            && has_label(h, "12 analysed · 0 waiting")
            && has_label(h, "12 of 12 files")
            && !job_running(h)
            // Every row's "Top tags" cell names the head's labels.
            && texts(h).iter().filter(|t| t.starts_with("class_")).count() >= 12
    });
    let lib = Library::open(&lib_path).unwrap();
    assert!(lib.files_untagged_by("probe_tiny").unwrap().is_empty());
    let id_of = ids(&lib);
    let name_of: BTreeMap<i64, String> = id_of.iter().map(|(n, i)| (*i, n.clone())).collect();

    // The tag filter: the rarest label narrows the table to exactly its files.
    h.get_by_label("Tag filter").click();
    h.run_steps(2);
    let listed: Vec<(String, usize)> = nodes(&h)
        .into_iter()
        .filter(|(r, _)| *r == Role::CheckBox)
        .map(|(_, t)| {
            let (label, count) = t.rsplit_once(" (").unwrap();
            (
                label.to_string(),
                count.trim_end_matches(')').parse().unwrap(),
            )
        })
        .collect();
    let (label, count) = listed.iter().min_by_key(|(_, c)| *c).cloned().unwrap();
    assert!(
        count < 12,
        "the rarest label is not on every file: {listed:?}"
    );
    let expected: BTreeSet<String> = lib
        .files_with_tag(&label, 0.0)
        .unwrap()
        .into_iter()
        .map(|id| name_of[&id].clone())
        .collect();
    assert_eq!(expected.len(), count);
    h.get_by_label(&format!("{label} ({count})")).click();
    h.run_steps(3);
    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    h.get_by_label("Tag filter (1)");
    assert_eq!(shown_names(&h), expected);
    h.get_by_label(&format!("{count} of 12 files"));
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
    assert_eq!(shown_names(&h), chirps);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(2);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert_eq!(shown_names(&h), expected, "the text filter is empty again");
    h.get_by_label(&format!("{label} ×")).click();
    h.run_steps(3);
    h.get_by_label("12 of 12 files");
    h.get_by_label("Tag filter");

    // The timeline of the selected file: one row per top label, one cell per segment.
    select(&mut h, "s05.wav", 120);
    let id = id_of["s05.wav"];
    let model_id = lib.latest_model().unwrap().unwrap().0;
    let segments = lib.segments(id, model_id).unwrap().unwrap();
    assert!(segments.starts.len() >= 4, "a 4 s file has ≥ 4 segments");
    let (source, stored) = lib.segment_tags(id, Some("probe_tiny")).unwrap().unwrap();
    assert_eq!(source, "probe_tiny");
    // The inspector scrolls: bring the timeline into view first.
    h.get_by_role_and_label(Role::Canvas, "Tag timeline")
        .scroll_to_me();
    h.run_steps(4);
    let rect = h.get_by_role_and_label(Role::Canvas, "Tag timeline").rect();
    let plot_left = rect.min.x + 44.0;
    let middle = egui::pos2((plot_left + rect.max.x) / 2.0, rect.min.y + 5.0);
    // Hover over the first row, in the middle of the plot: the score of that cell is named,
    // with the head it comes from.
    let hover = timeline_tooltip(&mut h, middle);
    assert!(
        hover.starts_with(&format!("{}: 0.", stored.labels[0])),
        "{hover}"
    );
    // The last cell starts where the last stored segment starts.
    let last = *segments.starts.last().unwrap();
    // (At 3.9 s on the shared time axis: the inspector's scroll bar lies over the last pixels.)
    let end = spectrogram_x(&h, 3.9, 4.0).x;
    let hover = timeline_tooltip(&mut h, egui::pos2(end, rect.min.y + 5.0));
    assert!(hover.contains(&format!(" at {last:.2}–")), "{hover}");
    // Zoomed (the wheel over the spectrogram halves the view: e^(-0.003 ·
    // 231.05) = 0.5), the middle of the plot is in the cell of 2.88–3.84 s.
    // (At 3.9 s, clear of the inspector's scroll bar: the view becomes 1.95–3.95 s, middle 2.95 s.)
    let right = spectrogram_x(&h, 3.9, 4.0);
    wheel(&mut h, right, std::f32::consts::LN_2 / 0.003);
    let hover = timeline_tooltip(&mut h, middle);
    assert!(hover.ends_with("at 2.88–3.84 s (probe_tiny)"), "{hover}");
    // Back to the whole file.
    wheel(&mut h, right, -400.0);
    h.hover_at(egui::pos2(rect.max.x - 300.0, rect.max.y + 200.0));
    snapshot(&mut h, "tags_timeline");

    // A personal tag on three files, through "Add tag…": a region of the first, the others whole.
    for (n, name) in ["s02.wav", "s05.wav", "s08.wav"].into_iter().enumerate() {
        select(&mut h, name, 120);
        if n == 0 {
            let (from, to) = (spectrogram_x(&h, 0.5, 4.0), spectrogram_x(&h, 2.5, 4.0));
            drag(&mut h, from, to);
            h.get_by_label("Region 0.50–2.50 s");
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
        // The tag job ends and the inspector shows the tag on the file: a whole file is an
        // example (1.00); a file with a tagged region gets the tag's prediction.
        wait_for(&mut h, "the tag job", 120, |h| {
            let bars = bars_after(h, "Your tags:");
            !job_running(h)
                && inspected(h).is_some_and(|(shown, _)| shown == name)
                && if n == 0 {
                    bars.len() == 1 && bars[0].starts_with("bright ")
                } else {
                    bars == ["bright 1.00"]
                }
        });
        let examples = Library::open(&lib_path)
            .unwrap()
            .examples(Some("bright"))
            .unwrap();
        assert_eq!(examples.len(), n + 1, "{:?}", texts(&h));
    }
    let examples = Library::open(&lib_path)
        .unwrap()
        .examples(Some("bright"))
        .unwrap();
    assert!(examples.iter().all(|e| e.positive));
    let region = examples.iter().find(|e| e.region.is_some()).unwrap();
    let r = region.region.unwrap();
    assert!(
        (r.start_s - 0.5).abs() < 0.005 && (r.end_s - 2.5).abs() < 0.005,
        "the region shown is the region kept: {r:?}"
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
    h.get_by_label_contains("bright 1.00");
    // The new tag joins the library's tags in the table's filter.
    h.get_by_label("Tag filter").click();
    h.run_steps(2);
    assert!(has_text(&h, "bright ("), "{:?}", texts(&h));
    h.key_press(egui::Key::Escape);
    h.run_steps(2);

    // New limits for the head, applied to the library: one tag per file, timelines kept.
    let timeline_before = lib.segment_tags(id, Some("probe_tiny")).unwrap();
    if !has_label(&h, "Head probe_tiny: keep tags from") {
        h.get_by_role_and_label(Role::Button, "Tags").click();
        h.run_steps(3);
    }
    h.get_by_label("Head probe_tiny: keep tags from");
    let spin = |h: &H, i: usize| {
        h.query_all_by_role(Role::SpinButton)
            .nth(i)
            .unwrap()
            .accesskit_node()
            .id()
    };
    let (threshold, top) = (spin(&h, 0), spin(&h, 1));
    h.get_by(|n| n.id() == threshold).set_value_accesskit(0.0);
    h.run_steps(2);
    h.get_by(|n| n.id() == top).set_value_accesskit(1.0);
    h.run_steps(2);
    h.get_by_label("Apply to library").click();
    h.run_steps(2);
    let one_tag_each = || {
        let lib = Library::open(&lib_path).unwrap();
        ids(&lib).values().all(|&id| {
            lib.tags_of_file(id)
                .unwrap()
                .iter()
                .filter(|t| t.0 == "probe_tiny")
                .count()
                == 1
        })
    };
    wait_for(&mut h, "the retag job", 120, |h| {
        !job_running(h) && one_tag_each()
    });
    let lib = Library::open(&lib_path).unwrap();
    for (name, id) in ids(&lib) {
        let n = lib
            .tags_of_file(id)
            .unwrap()
            .iter()
            .filter(|t| t.0 == "probe_tiny")
            .count();
        assert_eq!(n, 1, "{name}");
    }
    assert_eq!(
        lib.segment_tags(id, Some("probe_tiny")).unwrap(),
        timeline_before
    );
}

/// Adds `label` to the whole file `name` through the inspector's "Add tag…" and waits for the
/// tag job.
fn add_tag(h: &mut H, name: &str, label: &str) {
    select(h, name, 120);
    h.get_by_label("Add tag…").click();
    h.run_steps(3);
    h.event(egui::Event::Text(label.into()));
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    wait_for(h, "the tag job", 120, |h| {
        !job_running(h)
            && inspected(h).is_some_and(|(shown, _)| shown == name)
            && bars_after(h, "Your tags:") == [format!("{label} 1.00")]
    });
}

#[test]
fn review_answers_are_stable_undoable_and_new_files_get_the_tag() {
    let dir = desktop::fixed_dir("tags-review");
    let root = sounds(&dir);
    let lib_path = dir.join("library.sqlite");
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(
        tiny_options(&dir, Arc::clone(&dialogs), false),
        [1280.0, 800.0],
    );
    wait_for(&mut h, "the empty library and the model", 120, |h| {
        has_label(h, "Add a folder…") && has_label(h, "Model: tiny")
    });
    dialogs.answer(Some(root.clone()));
    h.get_by_label("Add a folder…").click();
    wait_for(&mut h, "the scan", 120, |h| {
        has_label(h, "12 files") && has_label(h, "12 analysed · 0 waiting") && !job_running(h)
    });
    let lib = Library::open(&lib_path).unwrap();
    let id_of = ids(&lib);
    let name_of: BTreeMap<i64, String> = id_of.iter().map(|(n, i)| (*i, n.clone())).collect();
    let model_id = lib.latest_model().unwrap().unwrap().0;
    for name in ["s02.wav", "s05.wav", "s08.wav"] {
        add_tag(&mut h, name, "bright");
    }
    let examples = Library::open(&lib_path)
        .unwrap()
        .examples(Some("bright"))
        .unwrap();
    assert_eq!(examples.len(), 3);

    // The review list: likely files without an answer, best first.
    h.get_by_role_and_label(Role::Button, "Tags").click();
    h.run_steps(2);
    let review_row: Vec<String> = {
        let all = texts(&h);
        let at = all.iter().position(|t| t == "Review:").unwrap();
        all[at + 1..]
            .iter()
            .take_while(|t| *t == "bright")
            .cloned()
            .collect()
    };
    assert_eq!(review_row, ["bright"], "one personal tag");
    h.get_by_label("bright").click();
    wait_for(&mut h, "the review list", 120, |h| {
        has_text(h, "Most likely `bright` among files without an answer") && !spinning(h)
    });
    let labelled: BTreeSet<String> = examples
        .iter()
        .map(|e| name_of[&e.file_id].clone())
        .collect();
    let items = review(&h);
    assert_eq!(items.len(), 9, "every analysed file without an answer");
    assert!(
        items.iter().all(|(_, n)| !labelled.contains(n)),
        "{items:?}"
    );
    assert!(items.windows(2).all(|w| w[0].0 >= w[1].0), "{items:?}");

    // The highlighted (likeliest) row is loaded in the inspector without a click, and Space
    // plays it (or says plainly that there is no output device).
    let names = |items: &[(f64, String)]| items.iter().map(|i| i.1.clone()).collect::<Vec<_>>();
    let all_names = names(&items);
    wait_inspected(&mut h, &items[0].1, 120);
    snapshot(&mut h, "tags_review");
    h.key_press(egui::Key::Space);
    wait_for(&mut h, "playback of the highlighted file", 60, |h| {
        has_label(h, "Pause") || has_text(h, "No sound:")
    });
    if has_label(&h, "Pause") {
        h.key_press(egui::Key::Space);
        h.run_steps(2);
    }
    assert!(
        h.get_by_role_and_label(Role::Button, "Undo answer")
            .accesskit_node()
            .is_disabled(),
        "nothing to undo yet"
    );

    // Accept the highlighted file with the keyboard: it becomes an example, the tag is refitted
    // and its predictions change. The other rows keep their order and the highlight moves to
    // the row that took the answered one's place (loaded in the inspector at once).
    let before = predictions(&lib_path, "bright");
    let accepted = id_of[&items[0].1];
    let fitted = |h: &mut H, rows: usize| {
        wait_for(
            h,
            &format!("the answer to be fitted ({rows} rows)"),
            120,
            |h| !job_running(h) && !spinning(h) && count_label(h, "Accept") == rows,
        );
    };
    let examples_now = || {
        Library::open(&lib_path)
            .unwrap()
            .examples(Some("bright"))
            .unwrap()
    };
    h.key_press(egui::Key::A);
    h.run_steps(2);
    fitted(&mut h, 8);
    let examples = examples_now();
    assert_eq!(examples.len(), 4);
    assert!(examples.iter().any(|e| e.file_id == accepted && e.positive));
    let after = predictions(&lib_path, "bright");
    assert_eq!(after.get(&accepted), Some(&1.0));
    assert_ne!(before, after, "accepting a file changes the predictions");
    assert_eq!(
        names(&review(&h)),
        all_names[1..],
        "the rows keep their order"
    );
    wait_inspected(&mut h, &items[1].1, 120);

    // R rejects the newly highlighted row — the one that took the accepted one's place.
    let rejected = id_of[&items[1].1];
    h.key_press(egui::Key::R);
    h.run_steps(2);
    fitted(&mut h, 7);
    assert!(
        examples_now()
            .iter()
            .any(|e| e.file_id == rejected && !e.positive)
    );
    assert_eq!(names(&review(&h)), all_names[2..]);
    h.get_by_label(&format!("Last answer: Reject {}", items[1].1));

    // Ctrl+Z takes the rejection back: the file returns to its place, highlighted and inspected.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    fitted(&mut h, 8);
    let examples = examples_now();
    assert_eq!(examples.len(), 4);
    assert!(examples.iter().all(|e| e.file_id != rejected));
    assert_eq!(names(&review(&h)), all_names[1..]);
    wait_inspected(&mut h, &items[1].1, 120);
    h.get_by_label(&format!("Last answer: Accept {}", items[0].1));

    // "Undo answer" takes the acceptance back: the list and the predictions are as before.
    h.get_by_role_and_label(Role::Button, "Undo answer").click();
    h.run_steps(2);
    fitted(&mut h, 9);
    assert_eq!(examples_now().len(), 3);
    assert_eq!(names(&review(&h)), all_names);
    assert_eq!(predictions(&lib_path, "bright"), before);
    wait_inspected(&mut h, &items[0].1, 120);
    assert!(
        h.get_by_role_and_label(Role::Button, "Undo answer")
            .accesskit_node()
            .is_disabled()
    );

    // Accept it again for what follows.
    h.key_press(egui::Key::A);
    h.run_steps(2);
    fitted(&mut h, 8);
    let fitted_predictions = predictions(&lib_path, "bright");
    assert_eq!(fitted_predictions.get(&accepted), Some(&1.0));

    // Files scanned after the tag was fitted get it, without a refit: copies of three of its
    // examples in a new folder carry it like their originals, through a job after the scan.
    let late = dir.join("late");
    std::fs::create_dir_all(&late).unwrap();
    let originals = ["s05.wav", "s08.wav", items[0].1.as_str()];
    for (n, name) in originals.iter().enumerate() {
        let from = lib
            .all_known_files()
            .unwrap()
            .into_iter()
            .find(|f| f.path.ends_with(&format!("/{name}")))
            .unwrap()
            .path;
        std::fs::copy(&from, late.join(format!("late{n}.wav"))).unwrap();
    }
    drop_files(&mut h, std::slice::from_ref(&late));
    wait_for(&mut h, "the late scan", 120, |h| has_label(h, "15 files"));
    if !has_text(&h, "Personal tags") {
        h.get_by_role_and_label(Role::Button, "Tags").click();
    }
    wait_for(&mut h, "the personal tags applied", 120, |h| {
        !job_running(h) && has_text(h, "`bright` on ")
    });
    let lib = Library::open(&lib_path).unwrap();
    let (head, _) = lib.head("bright", model_id).unwrap().unwrap();
    let now = predictions(&lib_path, "bright");
    let late_ids: Vec<i64> = ids(&lib)
        .into_iter()
        .filter(|(n, _)| n.starts_with("late"))
        .map(|(_, id)| id)
        .collect();
    assert_eq!(late_ids.len(), 3);
    for id in &late_ids {
        let p = head.probability(&lib.clip_vector(*id, model_id).unwrap().unwrap());
        eprintln!("late file {id}: p(bright) = {p:.3}");
        assert_eq!(now.contains_key(id), p >= 0.5, "file {id}: {p}");
        if let Some(score) = now.get(id) {
            assert!((score - p).abs() < 1e-9);
        }
    }
    assert!(
        late_ids.iter().any(|id| now.contains_key(id)),
        "a copy of an example carries the tag: {now:?}"
    );
    for (id, score) in &fitted_predictions {
        assert_eq!(now.get(id), Some(score), "earlier predictions stay");
    }
}
