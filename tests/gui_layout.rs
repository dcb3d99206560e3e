//! The window at the sizes of real small desktops (1024×700 and the default 1200×780), with a
//! small library loaded and a file selected: on every tab every control can be reached (scrolled
//! into view, it lies inside the window and inside the part of the window that holds it), the
//! inspector shows only on the tabs that list files, it collapses and expands (its own button,
//! the tab bar's toggle, Ctrl+I), and its spectrogram keeps a readable height however small the
//! inspector is dragged. A snapshot per tab and size shows that nothing is cut off.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/app.rs"]
mod app;
mod common;
#[path = "common/desktop.rs"]
mod desktop;
#[path = "common/synth.rs"]
mod synth;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::{
    H, Role, ScriptedDialogs, harness, has_label, has_text, job_running, select, spinning,
    tiny_options, wait_for,
};
use common::WavFormat;
use eframe::egui;
use egui_kittest::SnapshotOptions;
use egui_kittest::kittest::{AccessKitNode, By, NodeT, Queryable};

/// A node's identity across frames (egui keeps its widgets' ids).
type NodeId = String;

fn id_of(node: &AccessKitNode<'_>) -> NodeId {
    format!("{:?}", node.locate().0)
}

/// The two window sizes the issue names.
const SIZES: [[f32; 2]; 2] = [[1200.0, 780.0], [1024.0, 700.0]];
/// Every tab, in the tab bar's order.
const TABS: [&str; 8] = [
    "Library", "Similar", "Map", "Tags", "Jobs", "Models", "Training", "Live",
];
/// The tabs that show the inspector.
const WITH_INSPECTOR: [&str; 4] = ["Library", "Similar", "Map", "Tags"];
/// Least height of the spectrogram widget (waveform, picture, time axis): the widget's own
/// minimum, in points.
const MIN_PICTURE_HEIGHT: f32 = 160.0;

/// Roles a user acts on.
const CONTROLS: [Role; 9] = [
    Role::Button,
    Role::CheckBox,
    Role::ComboBox,
    Role::TextInput,
    Role::MultilineTextInput,
    Role::SpinButton,
    Role::Slider,
    Role::RadioButton,
    Role::Link,
];

/// Six short generated sounds in two folders.
fn small_library(dir: &Path) -> PathBuf {
    let root = dir.join("sounds");
    for i in 0..6 {
        let sub = root.join(["kicks", "pads"][i % 2]);
        std::fs::create_dir_all(&sub).unwrap();
        let x = synth::sound(i % 5, i as u64, 1.0 + (i % 3) as f64 * 0.5, 44_100);
        synth::write_stereo(&sub.join(format!("l{i:02}.wav")), &x, WavFormat::S16);
    }
    root
}

/// A window of the first size on a scanned small library, with l01.wav in the inspector.
fn scanned_window(name: &str) -> H {
    let dir = desktop::fixed_dir(name);
    let root = small_library(&dir);
    let dialogs = Arc::new(ScriptedDialogs::default());
    let mut h = harness(tiny_options(&dir, Arc::clone(&dialogs), true), SIZES[0]);
    wait_for(&mut h, "the welcome", 90, |h| has_label(h, "Add a folder…"));
    dialogs.answer(Some(root));
    h.get_by_label("Add a folder…").click();
    wait_for(&mut h, "the scan", 120, |h| {
        has_label(h, "6 files") && has_text(h, "6 analysed") && !job_running(h)
    });
    select(&mut h, "l01.wav", 90);
    h
}

/// The node of the tab `name` in the tab bar.
fn click_tab(h: &mut H, name: &str) {
    h.query_all(By::new().role(Role::Button))
        .find(|n| {
            n.accesskit_node()
                .label()
                .is_some_and(|l| l == name || l.starts_with(&format!("{name} (")))
        })
        .unwrap_or_else(|| panic!("no tab {name}"))
        .click();
    h.run_steps(4);
}

/// What the last frame drew for each widget: its rect, and the part of it that shows (clipped
/// by its panel, scroll area or table cell).
fn drawn(h: &H) -> HashMap<NodeId, (egui::Rect, egui::Rect)> {
    h.ctx.viewport(|vp| {
        vp.this_pass
            .widgets
            .layers()
            .flat_map(|(_, widgets)| widgets.iter())
            .filter(|w| w.visible)
            .map(|w| {
                (
                    format!("{:?}", w.id.accesskit_id()),
                    (w.rect, w.interact_rect),
                )
            })
            .collect()
    })
}

/// The controls shown: (id, role, label).
fn controls(h: &H) -> Vec<(NodeId, Role, String)> {
    h.query_all(By::new())
        .filter(|n| CONTROLS.contains(&n.accesskit_node().role()))
        .map(|n| {
            let a = n.accesskit_node();
            (id_of(&a), a.role(), app::text_of(&a).unwrap_or_default())
        })
        .collect()
}

/// Whether `inner` lies inside `outer` (half a point of rounding allowed).
fn inside(inner: egui::Rect, outer: egui::Rect) -> bool {
    outer.expand(0.5).contains_rect(inner)
}

/// Every control of what is shown can be reached: where it is not drawn whole inside the
/// window (cut by the window's edge, or by its panel, scroll area or table cell), it is
/// scrolled into view and then is. Returns the problems.
fn unreachable(h: &mut H, size: [f32; 2]) -> Vec<String> {
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
    let shown_whole = |h: &H, id: &NodeId| {
        let (rect, shown) = drawn(h).get(id).copied()?;
        Some(rect.is_positive() && inside(rect, window) && inside(rect, shown))
    };
    let mut problems = Vec::new();
    for (id, role, label) in controls(h) {
        match shown_whole(h, &id) {
            // Not a widget of this frame (e.g. a text run), or shown whole.
            None | Some(true) => continue,
            Some(false) => {}
        }
        if let Some(node) = h
            .query_all(By::new())
            .find(|n| id_of(&n.accesskit_node()) == id)
        {
            node.scroll_to_me();
        }
        h.run_steps(3);
        if shown_whole(h, &id) == Some(false) {
            let (rect, shown) = drawn(h)[&id];
            problems.push(format!("{role:?} \"{label}\" at {rect:?}, shown {shown:?}"));
        }
    }
    problems
}

/// The tab shows what it shows once its own reading is done (model list, catalog).
fn settle(h: &mut H) {
    wait_for(h, "the tab to settle", 30, |h| !spinning(h));
    h.run_steps(4);
}

fn picture_height(h: &H) -> f32 {
    h.get_by_role_and_label(Role::Canvas, "Spectrogram")
        .rect()
        .height()
}

#[test]
fn every_tab_fits_both_sizes_with_every_control_reachable() {
    let mut h = scanned_window("layout-tabs");
    let mut problems = Vec::new();
    for size in SIZES {
        h.set_size(egui::vec2(size[0], size[1]));
        h.run_steps(4);
        for tab in TABS {
            click_tab(&mut h, tab);
            settle(&mut h);
            // The inspector shows on the tabs that list files, and only there.
            let inspector = has_label(&h, "Hide inspector");
            assert_eq!(
                inspector,
                WITH_INSPECTOR.contains(&tab),
                "{tab} at {size:?}: inspector shown = {inspector}"
            );
            if inspector {
                let height = picture_height(&h);
                assert!(
                    height >= MIN_PICTURE_HEIGHT,
                    "{tab} at {size:?}: the spectrogram is {height} high"
                );
            }
            // The tab as it opens (before anything is scrolled into view).
            let name = format!(
                "layout_{}_{}x{}",
                tab.to_lowercase(),
                size[0] as u32,
                size[1] as u32
            );
            h.snapshot_options(&name, &SnapshotOptions::new().max_failed_pixels(600));
            for p in unreachable(&mut h, size) {
                problems.push(format!("{tab} at {}×{}: {p}", size[0], size[1]));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "controls out of reach:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_inspector_collapses_expands_and_keeps_a_readable_spectrogram() {
    let mut h = scanned_window("layout-inspector");
    for size in SIZES {
        h.set_size(egui::vec2(size[0], size[1]));
        click_tab(&mut h, "Library");
        h.run_steps(4);
        let table_row = |h: &H| h.get_by_label("l02.wav").rect();
        assert!(picture_height(&h) >= MIN_PICTURE_HEIGHT);

        // Its own button hides it: the list gets the height, a slim bar offers it back.
        h.get_by_label("Hide inspector").click();
        h.run_steps(4);
        assert!(
            h.query_by_role_and_label(Role::Canvas, "Spectrogram")
                .is_none()
        );
        assert!(has_label(&h, "Show inspector"));
        let _ = table_row(&h);
        // The bar's button shows it again.
        h.get_by_label("Show inspector").click();
        h.run_steps(4);
        assert!(has_label(&h, "Hide inspector"));
        assert!(picture_height(&h) >= MIN_PICTURE_HEIGHT);

        // Ctrl+I hides and shows it.
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::I);
        h.run_steps(4);
        assert!(has_label(&h, "Show inspector") && !has_label(&h, "Hide inspector"));
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::I);
        h.run_steps(4);
        assert!(has_label(&h, "Hide inspector"));

        // The tab bar's toggle too.
        h.get_by_role_and_label(Role::Button, "Inspector").click();
        h.run_steps(4);
        assert!(has_label(&h, "Show inspector"));
        h.get_by_role_and_label(Role::Button, "Inspector").click();
        h.run_steps(4);
        assert!(has_label(&h, "Hide inspector"));

        // Dragged as small as it goes, the inspector scrolls: the spectrogram keeps its
        // height and can be scrolled into view whole.
        let hide = h.get_by_label("Hide inspector").rect();
        let edge = egui::pos2(size[0] / 2.0, hide.top() - 7.0);
        app::drag(&mut h, edge, egui::pos2(edge.x, size[1] - 5.0));
        h.run_steps(4);
        let after = h.get_by_label("Hide inspector").rect();
        assert!(
            after.top() > hide.top() + 40.0,
            "the divider moved down: {hide:?} → {after:?}"
        );
        assert!(picture_height(&h) >= MIN_PICTURE_HEIGHT);
        h.get_by_role_and_label(Role::Canvas, "Spectrogram")
            .scroll_to_me();
        h.run_steps(4);
        let canvas = h.get_by_role_and_label(Role::Canvas, "Spectrogram").rect();
        assert!(
            canvas.bottom() <= size[1] && canvas.top() >= 0.0,
            "{canvas:?}"
        );
        // Dragged as large as it goes, the tab keeps room for its list.
        let hide = h.get_by_label("Hide inspector").rect();
        let edge = egui::pos2(size[0] / 2.0, hide.top() - 7.0);
        app::drag(&mut h, edge, egui::pos2(edge.x, 5.0));
        h.run_steps(4);
        let top = h.get_by_label("Hide inspector").rect().top();
        assert!(
            top >= 200.0,
            "the inspector took the tab's room: top at {top}"
        );
        assert!(table_row(&h).bottom() < top);
    }
}
