//! The eframe application: owns the persisted UI state and the live handles (job queue, tasks,
//! textures, audio), drains job events and task results once per frame, draws the panels and
//! then carries out the commands they pushed (see [`super::actions`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eframe::egui;

use crate::audio::playback::Player;
use crate::config::Settings;
use crate::jobs::JobQueue;
use crate::library::Library;

use super::command::Command;
use super::dialogs::{DialogRequest, Dialogs, SystemDialogs};
use super::frame_stats::{FrameStats, Percentiles};
use super::job_list::{JobKind, JobList, JobNews, JobState};
use super::models::{ActiveModel, bundled_default};
use super::panels;
use super::rows::{RowView, Snapshot};
use super::state::{STORAGE_KEY, ThemeChoice, UiState};
use super::tasks::{Task, poll_slot};

/// Libraries up to this many rows are filtered and sorted on the spot; bigger ones by a task.
const SYNC_VIEW_ROWS: usize = 20_000;

/// How often rows are re-read while a scan runs.
const ROW_REFRESH: Duration = Duration::from_millis(700);

/// Frame-time figures of a benchmark run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BenchFigures {
    /// Time to build each frame's UI.
    pub ui: Percentiles,
    /// Whole-frame CPU time as eframe measured it.
    pub cpu: Percentiles,
    /// Time between frame starts (rendering and presenting included).
    pub interval: Percentiles,
    /// Wall time of the scan.
    pub scan_s: f64,
    /// Rows in the table at the end.
    pub rows: usize,
}

/// A benchmark run: scan these folders, then close the window and leave the figures.
#[derive(Debug, Clone, Default)]
pub struct BenchRun {
    /// Folders to add at start.
    pub roots: Vec<PathBuf>,
    /// Where the figures go.
    pub result: Arc<Mutex<Option<BenchFigures>>>,
}

/// How the window starts.
#[derive(Clone)]
pub struct AppOptions {
    /// The index file (overrides the remembered one).
    pub library: Option<PathBuf>,
    /// The model (overrides the settings).
    pub model: Option<PathBuf>,
    /// Settings to start from.
    pub settings: Settings,
    /// Where settings changes are saved (`None`: not saved).
    pub settings_dir: Option<PathBuf>,
    /// File dialogs.
    pub dialogs: Arc<dyn Dialogs>,
    /// Write the rectangles of the drawn panels here once the library is shown (window tests).
    pub layout_report: Option<PathBuf>,
    /// A benchmark run.
    pub bench: Option<BenchRun>,
    /// Select this file once the library is read (overrides the remembered selection).
    pub select: Option<String>,
    /// Look for a GPU to show in the Models panel.
    pub probe_gpu: bool,
    /// Where eframe keeps the window state (`None`: the platform's data directory).
    pub persistence_path: Option<PathBuf>,
    /// Folders listed in the Models panel (`None`: [`super::models::model_folders`]).
    pub model_folders: Option<Vec<(PathBuf, super::models::ModelSource)>>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            library: None,
            model: None,
            settings: Settings::default(),
            settings_dir: None,
            dialogs: Arc::new(SystemDialogs),
            layout_report: None,
            bench: None,
            select: None,
            probe_gpu: true,
            persistence_path: None,
            model_folders: None,
        }
    }
}

/// The active model: what is wanted, and what is known about it.
#[derive(Debug, Default)]
pub struct ModelSlot {
    /// The weight file in use (or being read).
    pub path: Option<PathBuf>,
    /// Reading its configuration and identity.
    pub task: Option<Task<crate::Result<ActiveModel>>>,
    /// Read.
    pub active: Option<ActiveModel>,
    /// Why it cannot be used.
    pub error: Option<String>,
}

/// The audio output, opened on first use.
#[derive(Debug, Default)]
pub enum PlayerSlot {
    /// Not opened yet.
    #[default]
    Closed,
    /// Open.
    Open(Player),
    /// Could not be opened; why.
    Failed(String),
}

/// Earmark's window.
pub struct EarmarkApp {
    /// Persisted UI state.
    pub state: UiState,
    /// Persisted settings (device, model, head).
    pub settings: Settings,
    pub(crate) opts: AppOptions,
    /// The index file in use.
    pub library_path: PathBuf,
    pub(crate) library_error: Option<String>,
    pub(crate) queue: Option<JobQueue>,
    /// Jobs of this session.
    pub jobs: JobList,
    /// The rows and facts last read from the index.
    pub snapshot: Snapshot,
    /// The rows shown, in order.
    pub view: RowView,
    /// The table's text filter.
    pub filter: String,
    pub(crate) view_dirty: bool,
    pub(crate) view_task: Option<Task<(u64, RowView)>>,
    pub(crate) view_generation: u64,
    pub(crate) rows_task: Option<Task<crate::Result<Snapshot>>>,
    pub(crate) rows_read_at: Instant,
    pub(crate) rows_stale: bool,
    /// Whether the index has been read at least once.
    pub rows_loaded: bool,
    /// The active model.
    pub model: ModelSlot,
    pub(crate) bundled: Option<PathBuf>,
    /// The selected file: (id, path).
    pub selected: Option<(i64, String)>,
    /// The inspector.
    pub inspector: panels::inspector::InspectorState,
    /// The similar panel.
    pub similar: panels::similar::SimilarState,
    /// The map panel.
    pub map: panels::map::MapState,
    /// The models panel.
    pub models: panels::models::ModelsState,
    /// The training panel.
    pub training: panels::training::TrainingState,
    /// The Live tab.
    #[cfg(feature = "live")]
    pub live: super::live::LiveState,
    /// Writing tags into the files.
    pub writeback: panels::writeback::WritebackState,
    /// Personal tags: the new-tag field and the review list.
    pub tags: panels::tags::TagsState,
    /// Audio output.
    pub player: PlayerSlot,
    pub(crate) player_file: Option<i64>,
    pub(crate) play_when_loaded: bool,
    /// Folders to scan once the model has been read.
    pub(crate) pending_roots: Vec<PathBuf>,
    pub(crate) dialog: Option<Task<(DialogRequest, Option<PathBuf>)>>,
    pub(crate) commands: Vec<Command>,
    /// Frame times.
    pub frames: FrameStats,
    /// Messages for the user, newest last.
    pub notices: Vec<String>,
    pub(crate) focus_filter: bool,
    pub(crate) frame_count: u64,
    pub(crate) layout: Vec<(String, egui::Rect)>,
    pub(crate) layout_written: bool,
    pub(crate) bench_started: Option<Instant>,
    pub(crate) applied_theme: Option<ThemeChoice>,
}

impl EarmarkApp {
    /// A window reading its remembered state from `cc`'s storage.
    pub fn new(cc: &eframe::CreationContext<'_>, opts: AppOptions) -> Self {
        let state = cc
            .storage
            .and_then(|s| eframe::get_value::<UiState>(s, STORAGE_KEY))
            .unwrap_or_default();
        Self::with_state(state, opts)
    }

    /// A window with this state.
    pub fn with_state(mut state: UiState, opts: AppOptions) -> Self {
        if let Some(lib) = &opts.library {
            state.library = Some(lib.clone());
        }
        if let Some(path) = &opts.select {
            state.last_selection = Some(path.clone());
        }
        let (library_path, library_error) = match state.library.clone() {
            Some(p) => (p, None),
            None => match Library::default_path() {
                Ok(p) => (p, None),
                Err(e) => (
                    PathBuf::from(crate::library::INDEX_FILE),
                    Some(e.to_string()),
                ),
            },
        };
        let (queue, queue_error) = match JobQueue::new() {
            Ok(q) => (Some(q), None),
            Err(e) => (None, Some(format!("background jobs cannot start: {e}"))),
        };
        let settings = opts.settings.clone();
        let mut app = EarmarkApp {
            state,
            settings,
            library_path,
            library_error,
            queue,
            jobs: JobList::default(),
            snapshot: Snapshot::default(),
            view: RowView::default(),
            filter: String::new(),
            view_dirty: true,
            view_task: None,
            view_generation: 0,
            rows_task: None,
            rows_read_at: Instant::now(),
            rows_stale: true,
            rows_loaded: false,
            model: ModelSlot::default(),
            bundled: bundled_default(opts.model_folders.as_deref()),
            selected: None,
            inspector: Default::default(),
            similar: Default::default(),
            map: Default::default(),
            models: Default::default(),
            training: Default::default(),
            #[cfg(feature = "live")]
            live: Default::default(),
            writeback: Default::default(),
            tags: Default::default(),
            player: PlayerSlot::Closed,
            player_file: None,
            play_when_loaded: false,
            pending_roots: Vec::new(),
            dialog: None,
            commands: Vec::new(),
            frames: FrameStats::default(),
            notices: queue_error.into_iter().collect(),
            focus_filter: false,
            frame_count: 0,
            layout: Vec::new(),
            layout_written: false,
            bench_started: None,
            applied_theme: None,
            opts,
        };
        app.training.restore(app.state.training.clone());
        if let Some(bench) = app.opts.bench.clone() {
            app.commands.push(Command::AddRoots(bench.roots));
            app.bench_started = Some(Instant::now());
        }
        app
    }

    /// Queues a command, as a panel would.
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// The model file the window should use.
    pub fn wanted_model(&self) -> Option<PathBuf> {
        self.opts
            .model
            .clone()
            .or_else(|| self.settings.model.clone())
            .or_else(|| self.snapshot.active_model.clone())
            .or_else(|| self.bundled.clone())
    }

    /// A line about the model for people.
    pub fn model_line(&self) -> String {
        match (&self.model.active, &self.model.error, &self.model.path) {
            (Some(m), _, _) => format!("Model: {}", m.name()),
            (None, Some(e), _) => e.clone(),
            (None, None, Some(_)) => "Reading the model…".into(),
            (None, None, None) => "No model: import one or train one (Models tab)".into(),
        }
    }

    /// Records where a panel was drawn (for the window test's layout report).
    pub fn record_rect(&mut self, name: &str, rect: egui::Rect) {
        self.layout.push((name.to_string(), rect));
    }

    /// Saves the settings when the window was started with a place for them.
    pub fn save_settings(&mut self) {
        if let Some(dir) = &self.opts.settings_dir
            && let Err(e) = self.settings.save_to(dir)
        {
            self.notices
                .push(format!("The settings could not be saved: {e}"));
        }
    }

    fn poll_background(&mut self, ctx: &egui::Context) {
        self.notices.extend(super::tasks::take_failures());
        for news in self.jobs.drain() {
            match news {
                JobNews::Progressed(JobKind::Scan) => self.rows_stale = true,
                JobNews::Ended(kind, end) => {
                    self.rows_stale = true;
                    self.rows_read_at = Instant::now() - ROW_REFRESH;
                    if kind == JobKind::Scan {
                        self.similar.index = None;
                        self.map.invalidate();
                        if self.model.active.is_none() {
                            self.model.path = None;
                        }
                    } else {
                        self.map.invalidate();
                    }
                    if let JobState::Failed(reason) = end {
                        self.notices.push(reason);
                    }
                }
                JobNews::Progressed(_) => {}
            }
        }
        if let Some(result) = poll_slot(&mut self.rows_task) {
            match result {
                Ok(s) => {
                    let old = std::mem::replace(&mut self.snapshot, s);
                    // Freeing 100,000 rows takes milliseconds: not on this thread.
                    if old.rows.len() > SYNC_VIEW_ROWS {
                        let _ = crate::jobs::spawn_named("earmark-free", move || drop(old));
                    }
                    self.rows_loaded = true;
                    self.view_dirty = true;
                    self.library_error = None;
                    if self.selected.is_none()
                        && let Some(last) = self.state.last_selection.clone()
                        && let Some(row) = self.snapshot.rows.iter().find(|r| r.path == last)
                    {
                        self.commands
                            .push(Command::Select(row.id, row.path.clone()));
                    }
                }
                Err(e) => self.library_error = Some(e.to_string()),
            }
        }
        let refresh_due = self.rows_read_at.elapsed() >= ROW_REFRESH;
        if self.rows_stale && self.rows_task.is_none() && refresh_due {
            self.rows_stale = false;
            self.rows_read_at = Instant::now();
            let path = self.library_path.clone();
            self.rows_task = Some(Task::spawn("earmark-rows", ctx, move || {
                super::rows::load(&path)
            }));
        }
        if self.rows_stale {
            ctx.request_repaint_after(ROW_REFRESH);
        }
        if let Some(result) = poll_slot(&mut self.model.task) {
            match result {
                Ok(m) => {
                    self.model.active = Some(m);
                    self.model.error = None;
                }
                Err(e) => self.model.error = Some(e.to_string()),
            }
        }
        if self.model.task.is_none() && !self.pending_roots.is_empty() {
            let roots = std::mem::take(&mut self.pending_roots);
            super::actions::submit_scan(self, roots);
        }
        let wanted = self.wanted_model();
        if wanted != self.model.path && self.model.task.is_none() {
            self.model.path = wanted.clone();
            self.model.active = None;
            self.model.error = None;
            self.similar.index = None;
            if let Some(path) = wanted {
                self.model.task = Some(Task::spawn("earmark-model", ctx, move || {
                    ActiveModel::describe(&path)
                }));
            }
        }
        if let Some((request, answer)) = poll_slot(&mut self.dialog) {
            super::actions::dialog_answered(self, request, answer);
        }
        panels::inspector::poll(self, ctx);
        panels::similar::poll(self);
        panels::map::poll(self);
        panels::writeback::poll(self);
        panels::models::poll(self);
        panels::tags::poll(self, ctx);
        if let Some((generation, view)) = poll_slot(&mut self.view_task)
            && generation == self.view_generation
        {
            let old = std::mem::replace(&mut self.view, view);
            let _ = crate::jobs::spawn_named("earmark-free", move || drop(old));
        }
        if self.view_dirty {
            self.view_dirty = false;
            let rows = Arc::clone(&self.snapshot.rows);
            let (filter, errors_only, sort) =
                (self.filter.clone(), self.state.errors_only, self.state.sort);
            let tags = self.snapshot.label_ids(&self.state.tag_filter);
            if rows.len() <= SYNC_VIEW_ROWS {
                self.view = RowView::build_tagged(&rows, &filter, &tags, errors_only, sort);
            } else {
                // Filtering and sorting a big library takes a few frames' time: a worker does
                // it while the table keeps showing the previous view.
                self.view_generation += 1;
                let generation = self.view_generation;
                self.view_task = Some(Task::spawn("earmark-view", ctx, move || {
                    (
                        generation,
                        RowView::build_tagged(&rows, &filter, &tags, errors_only, sort),
                    )
                }));
            }
        }
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        if self.applied_theme != Some(self.state.theme) {
            self.applied_theme = Some(self.state.theme);
            ctx.set_theme(match self.state.theme {
                ThemeChoice::System => egui::ThemePreference::System,
                ThemeChoice::Dark => egui::ThemePreference::Dark,
                ThemeChoice::Light => egui::ThemePreference::Light,
            });
        }
    }

    fn handle_input(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() {
            self.commands.push(Command::AddRoots(dropped));
        }
        let typing = ctx.egui_wants_keyboard_input();
        let (space, up, down, enter, find, overlay) = ctx.input_mut(|i| {
            let find = i.consume_key(egui::Modifiers::COMMAND, egui::Key::F);
            let overlay = i.consume_key(egui::Modifiers::NONE, egui::Key::F12);
            if typing {
                return (false, false, false, false, find, overlay);
            }
            (
                i.consume_key(egui::Modifiers::NONE, egui::Key::Space),
                i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp),
                i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown),
                i.consume_key(egui::Modifiers::NONE, egui::Key::Enter),
                find,
                overlay,
            )
        });
        if find {
            self.state.panel = super::state::Panel::Library;
            self.focus_filter = true;
        }
        if overlay {
            self.frames.overlay = !self.frames.overlay;
        }
        if space {
            self.commands.push(Command::PlayPause);
        }
        let step = i32::from(down) - i32::from(up);
        if step != 0 {
            self.commands
                .push(if self.state.panel == super::state::Panel::Similar {
                    Command::MoveResult(step)
                } else {
                    Command::MoveSelection(step)
                });
        }
        if enter {
            self.commands.push(Command::FindSimilar);
        }
    }

    fn finish_frame(&mut self, ctx: &egui::Context) {
        if let Some(path) = self.opts.layout_report.clone()
            && !self.layout_written
            && self.rows_loaded
            && !self.snapshot.rows.is_empty()
            && self.inspector.data.is_some()
            && self.frame_count > 5
        {
            self.layout_written = true;
            let ppp = ctx.pixels_per_point();
            let rects: serde_json::Map<String, serde_json::Value> = self
                .layout
                .iter()
                .map(|(n, r)| {
                    (
                        n.clone(),
                        serde_json::json!([
                            r.min.x * ppp,
                            r.min.y * ppp,
                            r.max.x * ppp,
                            r.max.y * ppp
                        ]),
                    )
                })
                .collect();
            if let Err(e) = std::fs::write(&path, serde_json::Value::Object(rects).to_string()) {
                self.notices.push(format!("{}: {e}", path.display()));
            }
        }
        if let (Some(bench), Some(started)) = (self.opts.bench.clone(), self.bench_started) {
            ctx.request_repaint();
            let scanned = self.jobs.entries.iter().any(|j| j.kind == JobKind::Scan)
                && !self.jobs.active(JobKind::Scan);
            if scanned && self.rows_task.is_none() && !self.rows_stale {
                if let Ok(mut slot) = bench.result.lock() {
                    *slot = Some(BenchFigures {
                        ui: self.frames.ui_times(),
                        cpu: self.frames.cpu_times(),
                        interval: self.frames.intervals(),
                        scan_s: started.elapsed().as_secs_f64(),
                        rows: self.snapshot.rows.len(),
                    });
                }
                self.bench_started = None;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }
}

impl eframe::App for EarmarkApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.frame_count += 1;
        self.layout.clear();
        self.apply_theme(&ctx);
        self.poll_background(&ctx);
        #[cfg(feature = "live")]
        super::live::poll(self, &ctx);
        self.handle_input(&ctx);
        panels::layout_ui(ui, self);
        let commands = std::mem::take(&mut self.commands);
        for command in commands {
            super::actions::run(self, &ctx, command);
        }
        self.finish_frame(&ctx);
        if self.jobs.current().is_some() || self.inspector.task.is_some() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        self.frames
            .record(started, started.elapsed(), frame.info().cpu_usage);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.state.training = self.training.form.clone();
        eframe::set_value(storage, STORAGE_KEY, &self.state);
    }
}
