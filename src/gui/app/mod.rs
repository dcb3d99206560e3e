//! The eframe application: owns the persisted UI state and the live handles (the background
//! service, tasks, textures, audio), drains job news and task results once per frame, draws the
//! panels and then carries out the commands they pushed (see [`crate::gui::app::handler`]).

pub mod handler;
pub mod layout;
mod on_dialog;
mod on_external;
mod on_inspector;
mod on_library;
#[cfg(feature = "live")]
pub mod on_live;
mod on_map;
mod on_models;
mod on_personal_tags;
mod on_similar;
mod on_training;
mod on_writeback;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;

use crate::jobs::Service;
use crate::library::Library;

use crate::gui::shared::active_model::{ActiveModel, bundled_default};
use crate::gui::shared::command::Command;
use crate::gui::shared::dialogs::{DialogAnswer, DialogRequest};
use crate::gui::shared::frame_stats::FrameStats;
use crate::gui::shared::job_list::{JobKind, JobList, JobNews, JobState};
pub use crate::gui::shared::options::{AppOptions, BenchFigures, BenchRun};
use crate::gui::shared::rows::{RowView, Snapshot};
use crate::gui::shared::state::{STORAGE_KEY, ThemeChoice, UiState};
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::{ModelSlot, PlayerSlot, Shared, ViewCtx};

/// Earmark's window.
pub struct EarmarkApp {
    /// What every feature reads; only the command handler changes it.
    pub shared: Shared,
    /// The library: table, tag filter and side bar.
    pub library: crate::gui::library::LibraryPanel,
    /// The inspector.
    pub inspector: crate::gui::inspector::InspectorPanel,
    /// The similar panel.
    pub similar: crate::gui::similar::SimilarPanel,
    /// The map panel.
    pub map: crate::gui::map::MapPanel,
    /// The Models tab.
    pub models: crate::gui::model_manager::ModelManager,
    /// The training panel.
    pub training: crate::gui::training::TrainingPanel,
    /// The Live tab.
    #[cfg(feature = "live")]
    pub live: crate::gui::live_view::LivePanel,
    /// Writing tags into the files.
    pub writeback: crate::gui::writeback::WritebackPanel,
    /// Personal tags: the new-tag field and the review list.
    pub tags: crate::gui::personal_tags::PersonalTagsPanel,
    /// The Jobs tab.
    pub jobs_tab: crate::gui::jobs::JobsPanel,
    /// Reading the table's rows and building its view.
    pub(crate) table: on_library::TableReads,
    /// Folders to scan once the model has been read.
    pub(crate) pending_roots: Vec<PathBuf>,
    pub(crate) dialog: Option<Task<(DialogRequest, DialogAnswer)>>,
    /// Earmark's own file picker (where the system has no dialog).
    pub(crate) picking: on_dialog::Picking,
    /// The watch on the index for changes by other processes.
    pub(crate) outside: on_external::Outside,
    pub(crate) commands: Vec<Command>,
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
        let service = Service::new();
        let settings = opts.settings.clone();
        // An unknown or unsupported remembered precision falls back to `auto` when engines load.
        crate::model::lowp::set_default(settings.precision.parse().unwrap_or_default());
        let mut app = EarmarkApp {
            shared: Shared {
                state,
                settings,
                library_path,
                library_error,
                service,
                jobs: JobList::default(),
                snapshot: Snapshot::default(),
                view: RowView::default(),
                filter: String::new(),
                rows_loaded: false,
                model: ModelSlot::default(),
                bundled: bundled_default(opts.model_folders.as_deref()),
                selected: None,
                player: PlayerSlot::Closed,
                player_file: None,
                play_when_loaded: false,
                frames: FrameStats::default(),
                notices: Default::default(),
                opts,
            },
            table: Default::default(),
            library: Default::default(),
            inspector: Default::default(),
            similar: Default::default(),
            map: Default::default(),
            models: Default::default(),
            training: Default::default(),
            #[cfg(feature = "live")]
            live: Default::default(),
            writeback: Default::default(),
            tags: Default::default(),
            jobs_tab: Default::default(),
            pending_roots: Vec::new(),
            dialog: None,
            picking: Default::default(),
            outside: Default::default(),
            commands: Vec::new(),
            frame_count: 0,
            layout: Vec::new(),
            layout_written: false,
            bench_started: None,
            applied_theme: None,
        };
        app.training.restore(app.shared.state.training.clone());
        if let Some(bench) = app.shared.opts.bench.clone() {
            app.commands.push(Command::AddRoots(bench.roots));
            app.bench_started = Some(Instant::now());
        }
        app
    }

    /// Queues a command, as a panel would.
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// Records where a panel was drawn (for the window test's layout report).
    pub fn record_rect(&mut self, name: &str, rect: egui::Rect) {
        self.layout.push((name.to_string(), rect));
    }

    /// Saves the settings when the window was started with a place for them.
    pub fn save_settings(&mut self) {
        if let Some(dir) = &self.shared.opts.settings_dir
            && let Err(e) = self.shared.settings.save_to(dir)
        {
            self.shared
                .notices
                .error(format!("The settings could not be saved: {e}"));
        }
    }

    /// Opens a dialog on the service's task lane; its answer comes back to
    /// [`handler::dialog_answered`] once the user has chosen (through Earmark's own picker
    /// where the system has no dialog). One dialog at a time.
    pub(crate) fn ask(&mut self, ctx: &egui::Context, request: DialogRequest) {
        if self.dialog.is_some() || on_dialog::ask_here(self, &request) {
            return;
        }
        let dialogs = std::sync::Arc::clone(&self.shared.opts.dialogs);
        self.dialog = Some(Task::on(
            &self.shared.service,
            "earmark-dialog",
            ctx,
            move || {
                let answer = dialogs.ask(&request);
                (request, answer)
            },
        ));
    }

    fn poll_background(&mut self, ctx: &egui::Context) {
        for news in self.shared.jobs.follow(&self.shared.service) {
            match news {
                JobNews::Progressed(JobKind::Scan) => self.table.scan_progressed(),
                JobNews::Ended(kind, JobState::Failed(reason)) if !kind.writes_library() => {
                    self.shared.notices.error(reason);
                }
                JobNews::Ended(kind, _) if !kind.writes_library() => {}
                JobNews::Ended(kind, end) => {
                    self.table.library_changed();
                    if kind == JobKind::Scan {
                        self.similar.forget_index();
                        self.map.invalidate();
                        on_map::after_scan(self, &end);
                        if self.shared.model.active.is_none() {
                            self.shared.model.path = None;
                        }
                    } else {
                        self.map.invalidate();
                    }
                    if let JobState::Failed(reason) = end {
                        self.shared.notices.error(reason);
                    }
                }
                JobNews::Progressed(_) => {}
                JobNews::TaskFailed(message) => self.shared.notices.error(message),
            }
        }
        on_library::poll_rows(self, ctx);
        if let Some(result) = poll_slot(&mut self.shared.model.task) {
            match result {
                Ok(m) => {
                    self.shared.model.active = Some(m);
                    self.shared.model.error = None;
                }
                Err(e) => self.shared.model.error = Some(e.to_string()),
            }
        }
        if self.shared.model.task.is_none() && !self.pending_roots.is_empty() {
            let roots = std::mem::take(&mut self.pending_roots);
            on_library::submit_scan(self, roots);
        }
        let wanted = self.shared.wanted_model();
        if wanted != self.shared.model.path && self.shared.model.task.is_none() {
            self.shared.model.path = wanted.clone();
            self.shared.model.active = None;
            self.shared.model.error = None;
            self.similar.forget_index();
            if let Some(path) = wanted {
                self.shared.model.task = Some(Task::on(
                    &self.shared.service,
                    "earmark-model",
                    ctx,
                    move || ActiveModel::describe(&path),
                ));
            }
        }
        if let Some((request, answer)) = poll_slot(&mut self.dialog) {
            on_dialog::answered(self, request, answer);
        }
        let polled = self.inspector.poll(ctx, &ViewCtx::new(&self.shared));
        self.commands.extend(polled);
        let polled = self.similar.poll(&ViewCtx::new(&self.shared));
        self.commands.extend(polled);
        let polled = self.map.poll(&ViewCtx::new(&self.shared));
        self.commands.extend(polled);
        let polled = self.writeback.poll(&ViewCtx::new(&self.shared));
        self.commands.extend(polled);
        on_models::poll(self);
        on_training::poll(self);
        let polled = self.tags.poll(&ViewCtx::new(&self.shared));
        self.commands.extend(polled);
        on_library::poll_view(self, ctx);
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        if self.applied_theme != Some(self.shared.state.theme) {
            self.applied_theme = Some(self.shared.state.theme);
            ctx.set_theme(match self.shared.state.theme {
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
            self.commands.push(Command::FocusFilter);
        }
        if overlay {
            self.shared.frames.overlay = !self.shared.frames.overlay;
        }
        if space {
            self.commands.push(Command::PlayPause);
        }
        let step = i32::from(down) - i32::from(up);
        if step != 0 {
            self.commands.push(
                if self.shared.state.panel == crate::gui::shared::state::Panel::Similar {
                    Command::MoveResult(step)
                } else {
                    Command::MoveSelection(step)
                },
            );
        }
        if enter {
            self.commands.push(Command::FindSimilar);
        }
    }

    fn finish_frame(&mut self, ctx: &egui::Context) {
        if let Some(path) = self.shared.opts.layout_report.clone()
            && !self.layout_written
            && self.shared.rows_loaded
            && !self.shared.snapshot.rows.is_empty()
            && self.inspector.shown().is_some()
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
                self.shared.notices.push(format!("{}: {e}", path.display()));
            }
        }
        if let (Some(bench), Some(started)) = (self.shared.opts.bench.clone(), self.bench_started) {
            ctx.request_repaint();
            let scanned = self
                .shared
                .jobs
                .entries
                .iter()
                .any(|j| j.kind == JobKind::Scan)
                && !self.shared.jobs.active(JobKind::Scan);
            if scanned && self.table.settled() {
                if let Ok(mut slot) = bench.result.lock() {
                    *slot = Some(BenchFigures {
                        ui: self.shared.frames.ui_times(),
                        cpu: self.shared.frames.cpu_times(),
                        interval: self.shared.frames.intervals(),
                        scan_s: started.elapsed().as_secs_f64(),
                        rows: self.shared.snapshot.rows.len(),
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
        on_external::poll(self, &ctx);
        #[cfg(feature = "live")]
        {
            let polled = self.live.poll(&ViewCtx::new(&self.shared), &ctx);
            self.commands.extend(polled);
        }
        self.handle_input(&ctx);
        layout::layout_ui(ui, self);
        on_dialog::ui(self, &ctx);
        let commands = std::mem::take(&mut self.commands);
        for command in commands {
            crate::gui::app::handler::run(self, &ctx, command);
        }
        self.finish_frame(&ctx);
        // A job submitted this frame reaches the job list on the next one.
        let jobs_busy = self.shared.jobs.busy() || self.shared.service.has_news();
        if jobs_busy || self.inspector.is_loading() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        self.shared
            .frames
            .record(started, started.elapsed(), frame.info().cpu_usage);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.shared.state.training = self.training.form.clone();
        eframe::set_value(storage, STORAGE_KEY, &self.shared.state);
    }
}
