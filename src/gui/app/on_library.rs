//! The library's commands: adding folders and scanning them (a job), the selection (a click, a
//! keyboard move), the table's filter, tag filter, sorting and errors view, Ctrl+F, and
//! revealing a file in the file manager; and keeping the table's rows and view fresh
//! ([`TableReads`], polled by the app once per frame).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;

use crate::engine::Engine;
use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::JobKind;
use crate::gui::shared::rows::{RowView, Snapshot, load};
use crate::gui::shared::state::{Panel, SortColumn};
use crate::gui::shared::tasks::{Task, poll_slot};
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
    app.table.rebuild_view();
}

/// Sorts the table.
pub(super) fn sort(app: &mut EarmarkApp, column: SortColumn, ascending: bool) {
    app.shared.state.sort = (column, ascending);
    app.table.rebuild_view();
}

/// Shows only unreadable files, or every file.
pub(super) fn errors_only(app: &mut EarmarkApp, on: bool) {
    app.shared.state.errors_only = on;
    app.table.rebuild_view();
}

/// Shows or hides a column of the table (a column sorted by is shown by its header; hiding it
/// sorts by name again).
pub(super) fn show_column(app: &mut EarmarkApp, column: SortColumn, on: bool) {
    let hidden = &mut app.shared.state.hidden_columns;
    hidden.retain(|&c| c != column);
    if !on {
        hidden.push(column);
        if app.shared.state.sort.0 == column {
            app.shared.state.sort = (SortColumn::Name, true);
            app.table.rebuild_view();
        }
    }
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
    app.table.rebuild_view();
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

/// Submits a scan of `roots` with the active model (or, without one, only finds the files).
pub(super) fn submit_scan(app: &mut EarmarkApp, roots: Vec<PathBuf>) {
    let library = app.shared.library_path.clone();
    let model = app.shared.model.active.clone();
    let device = app.shared.settings.device.clone();
    let budget = app.shared.state.budget;
    let heads = app.shared.head_choices();
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
    let submitted = app.shared.service.submit(JobKind::Scan, &name, move |ctx| {
        let mut lib = Library::open(&library)?;
        let Some(model) = model else {
            let mut found = 0;
            for root in &roots {
                ctx.checkpoint()?;
                let (_, r) = lib.reconcile_root(root, WalkOptions::default())?;
                found += r.new.len();
            }
            return Ok(format!(
                "{found} new files found; no model to analyse them: import one or train one"
            ));
        };
        ctx.note(format!("loading {}", model.name()));
        let choice: DeviceChoice = device.parse().unwrap_or_default();
        let engine = Engine::load(&model.path, choice)?;
        for notice in engine.take_notices() {
            ctx.note(notice);
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
    if let Err(e) = submitted {
        app.shared.notices.push(e.to_string());
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
        // Reaped on the service's task lane, so the UI never waits for the file manager; nobody
        // polls the result (a failure to reap is of no interest).
        Ok(mut child) => drop(app.shared.service.task(
            "earmark-reveal",
            move || child.wait(),
            || {},
        )),
        Err(e) => app
            .shared
            .notices
            .push(format!("Cannot open the file manager ({opener}): {e}")),
    }
}

/// Libraries up to this many rows are filtered and sorted on the spot; bigger ones by a task.
const SYNC_VIEW_ROWS: usize = 20_000;

/// How often rows are re-read while a scan runs.
pub(super) const ROW_REFRESH: Duration = Duration::from_millis(700);

/// Keeping the table's data fresh: the rows are read from the index again after a job changed
/// it (at most every [`ROW_REFRESH`] while a scan runs), and the filtered, sorted view is built
/// again when the rows, the filter or the sorting change — on the service's task lane for a big
/// library, so the table keeps showing the previous view meanwhile.
pub(crate) struct TableReads {
    /// The view must be built again.
    view_dirty: bool,
    /// Building a big library's view: (its generation, the view).
    view_task: Option<Task<(u64, RowView)>>,
    /// The generation of the newest view asked for (older ones are dropped).
    view_generation: u64,
    /// Reading the rows.
    rows_task: Option<Task<crate::Result<Snapshot>>>,
    /// When the rows were last asked for.
    rows_read_at: Instant,
    /// The rows must be read again.
    rows_stale: bool,
}

impl Default for TableReads {
    fn default() -> Self {
        TableReads {
            view_dirty: true,
            view_task: None,
            view_generation: 0,
            rows_task: None,
            rows_read_at: Instant::now(),
            rows_stale: true,
        }
    }
}

impl TableReads {
    /// The filter or the sorting changed: build the view again.
    pub(super) fn rebuild_view(&mut self) {
        self.view_dirty = true;
    }

    /// A scan made progress: read the rows again when the refresh is due.
    pub(super) fn scan_progressed(&mut self) {
        self.rows_stale = true;
    }

    /// A job that writes the library ended: read the rows again now.
    pub(super) fn library_changed(&mut self) {
        self.rows_stale = true;
        self.rows_read_at = Instant::now() - ROW_REFRESH;
    }

    /// The rows shown are the index's latest (nothing read or to read).
    pub(super) fn settled(&self) -> bool {
        self.rows_task.is_none() && !self.rows_stale
    }
}

/// Takes the rows read from the index (selecting the last selection once they arrive) and
/// starts the next read when one is due.
pub(super) fn poll_rows(app: &mut EarmarkApp, ctx: &egui::Context) {
    if let Some(result) = poll_slot(&mut app.table.rows_task) {
        match result {
            Ok(s) => {
                let old = std::mem::replace(&mut app.shared.snapshot, s);
                // Freeing 100,000 rows takes milliseconds: not on this thread.
                if old.rows.len() > SYNC_VIEW_ROWS {
                    app.shared.service.release(old);
                }
                app.shared.rows_loaded = true;
                app.table.view_dirty = true;
                app.shared.library_error = None;
                if app.shared.selected.is_none()
                    && let Some(last) = app.shared.state.last_selection.clone()
                    && let Some(row) = app.shared.snapshot.rows.iter().find(|r| r.path == last)
                {
                    app.commands.push(Command::Select(row.id, row.path.clone()));
                }
            }
            Err(e) => app.shared.library_error = Some(e.to_string()),
        }
    }
    let table = &mut app.table;
    let refresh_due = table.rows_read_at.elapsed() >= ROW_REFRESH;
    if table.rows_stale && table.rows_task.is_none() && refresh_due {
        table.rows_stale = false;
        table.rows_read_at = Instant::now();
        let path = app.shared.library_path.clone();
        table.rows_task = Some(Task::on(
            &app.shared.service,
            "earmark-rows",
            ctx,
            move || load(&path),
        ));
    }
    if table.rows_stale {
        ctx.request_repaint_after(ROW_REFRESH);
    }
}

/// Takes a view built by a task (the newest asked for) and builds the view again when the rows,
/// the filter or the sorting changed.
pub(super) fn poll_view(app: &mut EarmarkApp, ctx: &egui::Context) {
    let table = &mut app.table;
    if let Some((generation, view)) = poll_slot(&mut table.view_task)
        && generation == table.view_generation
    {
        let old = std::mem::replace(&mut app.shared.view, view);
        app.shared.service.release(old);
    }
    if !std::mem::take(&mut table.view_dirty) {
        return;
    }
    let shared = &app.shared;
    let rows = Arc::clone(&shared.snapshot.rows);
    let (filter, errors_only, sort) = (
        shared.filter.clone(),
        shared.state.errors_only,
        shared.state.sort,
    );
    let tags = shared.snapshot.label_ids(&shared.state.tag_filter);
    if rows.len() <= SYNC_VIEW_ROWS {
        app.shared.view = RowView::build_tagged(&rows, &filter, &tags, errors_only, sort);
    } else {
        // Filtering and sorting a big library takes a few frames' time: a worker does it
        // while the table keeps showing the previous view.
        table.view_generation += 1;
        let generation = table.view_generation;
        table.view_task = Some(Task::on(&shared.service, "earmark-view", ctx, move || {
            (
                generation,
                RowView::build_tagged(&rows, &filter, &tags, errors_only, sort),
            )
        }));
    }
}
