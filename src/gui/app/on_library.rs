//! The library's commands: adding folders and scanning them (a job), the selection (a click, a
//! keyboard move), the table's filter, tag filter, sorting and errors view, Ctrl+F, and
//! revealing a file in the file manager.

use std::path::{Path, PathBuf};

use eframe::egui;

use crate::engine::Engine;
use crate::gui::app::EarmarkApp;
use crate::gui::shared::job_list::JobKind;
use crate::gui::shared::state::{Panel, SortColumn};
use crate::jobs::JobEvent;
use crate::library::scan::{ScanOptions, scan};
use crate::library::walk::WalkOptions;
use crate::library::{ACTIVE_MODEL_KEY, Library};
use crate::model::device::DeviceChoice;

/// Shows the library and focuses its filter.
pub(super) fn focus_filter(app: &mut EarmarkApp) {
    app.shared.state.panel = Panel::Library;
    app.library.focus_filter();
}

/// Filters the table by `text`.
pub(super) fn set_filter(app: &mut EarmarkApp, text: String) {
    app.shared.filter = text;
    app.view_dirty = true;
}

/// Sorts the table.
pub(super) fn sort(app: &mut EarmarkApp, column: SortColumn, ascending: bool) {
    app.shared.state.sort = (column, ascending);
    app.view_dirty = true;
}

/// Shows only unreadable files, or every file.
pub(super) fn errors_only(app: &mut EarmarkApp, on: bool) {
    app.shared.state.errors_only = on;
    app.view_dirty = true;
}

/// Adds `label` to the tag filter, or removes it.
pub(super) fn toggle_tag_filter(app: &mut EarmarkApp, label: String) {
    let filter = &mut app.shared.state.tag_filter;
    match filter.iter().position(|l| *l == label) {
        Some(i) => {
            filter.remove(i);
        }
        None => filter.push(label),
    }
    app.view_dirty = true;
}

/// Scans every library folder that is present.
pub(super) fn rescan(app: &mut EarmarkApp) {
    let present = app.shared.snapshot.present_roots();
    if present.is_empty() {
        app.shared
            .notices
            .push("No library folder is present to scan.".into());
    } else {
        submit_scan(app, present);
    }
}

/// Adds folders (files stand for their folder) as library roots and scans them.
pub(super) fn add_roots(app: &mut EarmarkApp, paths: Vec<PathBuf>) {
    let mut roots: Vec<PathBuf> = Vec::new();
    for p in paths {
        let folder = if p.is_dir() {
            Some(p.clone())
        } else if p.is_file() {
            p.parent().map(Path::to_path_buf)
        } else {
            None
        };
        match folder {
            Some(f) if !roots.contains(&f) => roots.push(f),
            Some(_) => {}
            None => app
                .shared
                .notices
                .push(format!("{}: not found", p.display())),
        }
    }
    if roots.is_empty() {
        return;
    }
    if app.shared.model.task.is_some() {
        // The model is still being read: scan once it is known, so the files get analysed.
        app.pending_roots.extend(roots);
    } else {
        submit_scan(app, roots);
    }
}

/// Queues a scan of `roots` with the active model (or, without one, only finds the files).
pub(super) fn submit_scan(app: &mut EarmarkApp, roots: Vec<PathBuf>) {
    let Some(queue) = &app.shared.queue else {
        app.shared
            .notices
            .push("Background jobs are not available.".into());
        return;
    };
    let library = app.shared.library_path.clone();
    let model = app.shared.model.active.clone();
    let device = app.shared.settings.device.clone();
    let budget = app.shared.state.budget;
    let heads = super::handler::head_choices(&app.shared.settings);
    let names: Vec<String> = roots
        .iter()
        .map(|r| {
            r.file_name().map_or_else(
                || r.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let name = format!("Scan {}", names.join(", "));
    let submitted = queue.submit(&name, move |ctx| {
        let mut lib = Library::open(&library)?;
        let Some(model) = model else {
            let mut found = 0;
            for root in &roots {
                ctx.control.checkpoint()?;
                let (_, r) = lib.reconcile_root(root, WalkOptions::default())?;
                found += r.new.len();
            }
            return Ok(format!(
                "{found} new files found; no model to analyse them: import one or train one"
            ));
        };
        ctx.events
            .send(JobEvent::Note(format!("loading {}", model.name())));
        let choice: DeviceChoice = device.parse().unwrap_or_default();
        let engine = Engine::load(&model.path, choice)?;
        for notice in engine.take_notices() {
            ctx.events.send(JobEvent::Note(notice));
        }
        let abs = model
            .path
            .canonicalize()
            .unwrap_or_else(|_| model.path.clone());
        lib.set_setting(ACTIVE_MODEL_KEY, &abs.to_string_lossy())?;
        let opts = ScanOptions {
            roots,
            walk: WalkOptions::default(),
            budget: budget.resolve(engine.on_gpu()),
            max_batch: 8,
            heads,
        };
        Ok(scan(&mut lib, &engine, &model.identity, &opts, ctx)?.summary())
    });
    match submitted {
        Ok(handle) => app.shared.jobs.push(name, JobKind::Scan, handle),
        Err(e) => app.shared.notices.push(e.to_string()),
    }
}

/// Selects a file and loads it into the inspector; `play`: play it once loaded.
pub(super) fn select(app: &mut EarmarkApp, ctx: &egui::Context, id: i64, path: String, play: bool) {
    app.shared.state.last_selection = Some(path.clone());
    let same = app.shared.selected.as_ref().is_some_and(|s| s.0 == id);
    app.shared.selected = Some((id, path));
    app.shared.play_when_loaded = play;
    if same && app.inspector.shown() == Some(id) {
        if play {
            app.shared.play_when_loaded = false;
            super::on_inspector::start_playback(app, 0.0);
        }
        return;
    }
    super::on_inspector::load(app, ctx);
}

/// Moves the table selection by `step` rows (scrolling the table to it).
pub(super) fn move_selection(app: &mut EarmarkApp, ctx: &egui::Context, step: i32) {
    let view = &app.shared.view;
    if view.order.is_empty() {
        return;
    }
    let current = app
        .shared
        .selected
        .as_ref()
        .and_then(|(id, _)| view.position_of(*id));
    let next = match current {
        Some(i) => (i as i64 + i64::from(step)).clamp(0, view.order.len() as i64 - 1) as usize,
        None => 0,
    };
    let Some(row) = view.row(next) else {
        return;
    };
    let (id, path) = (row.id, row.path.clone());
    app.library.scroll_to(next);
    select(app, ctx, id, path, false);
}

/// Opens the folder of `path` in the file manager.
pub(super) fn reveal(app: &mut EarmarkApp, path: &str) {
    let folder = Path::new(path).parent().unwrap_or(Path::new(path));
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener).arg(folder).spawn() {
        // Reaped on a thread of its own, so the UI never waits for the file manager.
        Ok(mut child) => {
            let _ = crate::jobs::spawn_named("earmark-reveal", move || child.wait());
        }
        Err(e) => app
            .shared
            .notices
            .push(format!("Cannot open the file manager ({opener}): {e}")),
    }
}
