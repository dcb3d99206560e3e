//! Carrying out commands: starting jobs and tasks, moving the selection, playback, dialogs,
//! the clipboard and the file manager. Nothing here waits for work to finish.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

use crate::engine::Engine;
use crate::jobs::JobEvent;
use crate::library::scan::{ScanOptions, scan};
use crate::library::tagging::{HeadChoice, retag, source_name};
use crate::library::walk::WalkOptions;
use crate::library::{ACTIVE_MODEL_KEY, Library};
use crate::model::device::DeviceChoice;

use crate::gui::app::{EarmarkApp, PlayerSlot};
use crate::gui::shared::command::Command;
use crate::gui::shared::dialogs::DialogRequest;
use crate::gui::shared::job_list::JobKind;
use crate::gui::shared::state::Panel;
use crate::gui::shared::tasks::Task;

/// Carries out one command.
pub fn run(app: &mut EarmarkApp, ctx: &egui::Context, command: Command) {
    match command {
        Command::AddFolderDialog => ask(app, ctx, DialogRequest::AddFolder),
        Command::ImportModelDialog => ask(app, ctx, DialogRequest::ImportModel),
        Command::TrainingFolderDialog => ask(app, ctx, DialogRequest::TrainingFolder),
        Command::EvalFolderDialog => ask(app, ctx, DialogRequest::EvalFolder),
        Command::InitModelDialog => ask(app, ctx, DialogRequest::InitModel),
        Command::ExportPngDialog => {
            let name = app
                .inspector
                .data
                .as_ref()
                .and_then(|d| {
                    d.path
                        .file_stem()
                        .map(|s| format!("{}.png", s.to_string_lossy()))
                })
                .unwrap_or_else(|| "spectrogram.png".into());
            ask(app, ctx, DialogRequest::SavePng(name));
        }
        Command::AddRoots(paths) => add_roots(app, paths),
        Command::Rescan => {
            let present = app.shared.snapshot.present_roots();
            if present.is_empty() {
                app.shared.notices
                    .push("No library folder is present to scan.".into());
            } else {
                submit_scan(app, present);
            }
        }
        Command::Select(id, path) => select(app, ctx, id, path, false),
        Command::Audition(id, path) => select(app, ctx, id, path, true),
        Command::MoveSelection(step) => move_selection(app, ctx, step),
        Command::MoveResult(step) => crate::gui::panels::similar::move_result(app, ctx, step),
        Command::FindSimilar => crate::gui::panels::similar::start(app, ctx),
        Command::PlayPause => play_pause(app),
        Command::Seek(s) => {
            if let PlayerSlot::Open(p) = &app.shared.player
                && app.shared.player_file == app.shared.selected.as_ref().map(|s| s.0)
            {
                p.seek(s);
            } else {
                app.inspector.pending_seek = Some(s);
            }
        }
        Command::Show(panel) => app.shared.state.panel = panel,
        Command::CancelJob(i) => {
            if let Some(j) = app.shared.jobs.entries.get(i) {
                j.handle.control.cancel();
            }
        }
        Command::TogglePauseJob(i) => {
            if let Some(j) = app.shared.jobs.entries.get(i) {
                if j.handle.control.is_paused() {
                    j.handle.control.resume();
                } else {
                    j.handle.control.pause();
                }
            }
        }
        Command::ComputeMap => crate::gui::panels::map::submit(app),
        Command::UseModel(path) => {
            // The user's choice replaces a model given on the command line.
            app.shared.opts.model = None;
            app.shared.settings.model = Some(path);
            app.save_settings();
        }
        Command::UseHead { head, labels } => {
            app.shared.settings.head = Some(head);
            app.shared.settings.head_labels = labels;
            app.save_settings();
        }
        Command::SetDevice(device) => {
            app.shared.settings.device = device;
            app.save_settings();
        }
        Command::Reveal(path) => reveal(app, &path),
        Command::CopyPaths(paths) => ctx.copy_text(paths.join("\n")),
        Command::AddTag(label, file_id, region) => {
            crate::gui::personal::submit_add(app, label, file_id, region);
        }
        Command::ReviewAnswer(label, file_id, accepted) => {
            crate::gui::personal::submit_answer(app, label, file_id, accepted);
        }
        Command::RetagLibrary => submit_retag(app),
        Command::ToggleTagFilter(label) => {
            let filter = &mut app.shared.state.tag_filter;
            match filter.iter().position(|l| *l == label) {
                Some(i) => {
                    filter.remove(i);
                }
                None => filter.push(label),
            }
            app.view_dirty = true;
        }
    }
}

fn ask(app: &mut EarmarkApp, ctx: &egui::Context, request: DialogRequest) {
    if app.dialog.is_some() {
        return;
    }
    let dialogs = Arc::clone(&app.shared.opts.dialogs);
    app.dialog = Some(Task::on(&app.shared.service, "earmark-dialog", ctx, move || {
        let answer = dialogs.ask(&request);
        (request, answer)
    }));
}

/// The user answered a dialog.
pub fn dialog_answered(app: &mut EarmarkApp, request: DialogRequest, answer: Option<PathBuf>) {
    let Some(path) = answer else {
        return;
    };
    match request {
        DialogRequest::AddFolder => add_roots(app, vec![path]),
        DialogRequest::ImportModel => crate::gui::panels::models::import(app, path),
        DialogRequest::SavePng(_) => crate::gui::panels::inspector::export_png(app, &path),
        DialogRequest::EvalFolder => app.training.form.eval_folder = Some(path),
        DialogRequest::InitModel => app.training.form.init = Some(path),
        DialogRequest::TrainingFolder => {
            if !app.training.form.roots.contains(&path) {
                app.training.form.roots.push(path);
            }
        }
    }
}

/// Adds folders (files stand for their folder) as library roots and scans them.
fn add_roots(app: &mut EarmarkApp, paths: Vec<PathBuf>) {
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
            None => app.shared.notices.push(format!("{}: not found", p.display())),
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
pub fn submit_scan(app: &mut EarmarkApp, roots: Vec<PathBuf>) {
    let Some(queue) = &app.shared.queue else {
        app.shared.notices
            .push("Background jobs are not available.".into());
        return;
    };
    let library = app.shared.library_path.clone();
    let model = app.shared.model.active.clone();
    let device = app.shared.settings.device.clone();
    let budget = app.shared.state.budget;
    let heads = head_choices(&app.shared.settings);
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

/// Queues a job that applies the tag head's limits to the library again.
fn submit_retag(app: &mut EarmarkApp) {
    let Some(choice) = head_choices(&app.shared.settings).pop() else {
        app.shared.notices.push("No tag head chosen.".into());
        return;
    };
    let library = app.shared.library_path.clone();
    let model = app.shared.model.active.clone();
    let budget = app.shared.state.budget;
    let name = format!("Retag with {}", source_name(&choice.path));
    let submitted = app.shared.service.submit(JobKind::Retag, &name, move |ctx| {
        let mut lib = Library::open(&library)?;
        let model_id = model
            .as_ref()
            .map(|m| m.id_in(&lib))
            .transpose()?
            .flatten()
            .ok_or_else(|| {
                crate::Error::Model("the library has no analyses by this model".into())
            })?;
        let on_gpu = choice.device != DeviceChoice::Cpu;
        let n = retag(&mut lib, model_id, &choice, budget.resolve(on_gpu), ctx)?;
        Ok(format!("{n} files tagged by {}", source_name(&choice.path)))
    });
    if let Err(e) = submitted {
        app.shared.notices.push(e.to_string());
    }
}

/// The heads the settings choose for tagging the library (the one tag head, with its limits).
pub fn head_choices(settings: &crate::config::Settings) -> Vec<HeadChoice> {
    let device = settings.device.parse().unwrap_or_default();
    settings
        .head
        .iter()
        .map(|path| HeadChoice {
            path: path.clone(),
            labels: settings.head_labels.clone(),
            limits: settings
                .head_limits
                .get(&source_name(path))
                .copied()
                .unwrap_or_default(),
            device,
        })
        .collect()
}

fn select(app: &mut EarmarkApp, ctx: &egui::Context, id: i64, path: String, play: bool) {
    app.shared.state.last_selection = Some(path.clone());
    let same = app.shared.selected.as_ref().is_some_and(|s| s.0 == id);
    app.shared.selected = Some((id, path));
    app.shared.play_when_loaded = play;
    if same && app.inspector.data.as_ref().is_some_and(|d| d.file_id == id) {
        if play {
            app.shared.play_when_loaded = false;
            start_playback(app, 0.0);
        }
        return;
    }
    crate::gui::panels::inspector::load(app, ctx);
}

fn move_selection(app: &mut EarmarkApp, ctx: &egui::Context, step: i32) {
    let view = &app.shared.view;
    if view.order.is_empty() {
        return;
    }
    let current = app.shared
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
    app.inspector.scroll_table_to = Some(next);
    select(app, ctx, id, path, false);
}

/// Opens the output device if needed; `None` (with the reason in the slot) when there is none.
fn player(app: &mut EarmarkApp) -> Option<&crate::audio::playback::Player> {
    if matches!(app.shared.player, PlayerSlot::Closed) {
        use crate::audio::playback::Player;
        let wanted = app.shared.settings.output_device.clone();
        app.shared.player = match Player::open(wanted.as_deref()) {
            Ok(p) => PlayerSlot::Open(p),
            // The chosen output is gone (unplugged, renamed): the system's default plays.
            Err(e) if wanted.is_some() => match Player::open(None) {
                Ok(p) => {
                    app.shared.notices
                        .push(format!("{e}; playing through the default output"));
                    PlayerSlot::Open(p)
                }
                Err(e) => PlayerSlot::Failed(e.to_string()),
            },
            Err(e) => PlayerSlot::Failed(e.to_string()),
        };
    }
    match &app.shared.player {
        PlayerSlot::Open(p) => Some(p),
        _ => None,
    }
}

/// Plays the inspected file from `from_s` seconds.
pub fn start_playback(app: &mut EarmarkApp, from_s: f64) {
    let Some(data) = app.inspector.data.as_ref() else {
        return;
    };
    let (id, buffer) = (data.file_id, Arc::clone(&data.play));
    let loaded = app.shared.player_file;
    let Some(p) = player(app) else {
        return;
    };
    if loaded != Some(id) {
        p.load(buffer);
    }
    p.seek(from_s);
    p.play();
    app.shared.player_file = Some(id);
}

fn play_pause(app: &mut EarmarkApp) {
    let inspected = app.inspector.data.as_ref().map(|d| d.file_id);
    if inspected.is_none() {
        return;
    }
    if let PlayerSlot::Open(p) = &app.shared.player
        && app.shared.player_file == inspected
    {
        if p.is_playing() {
            p.pause();
        } else {
            p.play();
        }
        return;
    }
    let from = app.inspector.region.map_or(0.0, |(a, _)| a);
    start_playback(app, from);
}

fn reveal(app: &mut EarmarkApp, path: &str) {
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
        Err(e) => app.shared
            .notices
            .push(format!("Cannot open the file manager ({opener}): {e}")),
    }
}

/// Leaves the Similar panel after a query (so Enter shows the results).
pub fn show_results(app: &mut EarmarkApp) {
    app.shared.state.panel = Panel::Similar;
}
