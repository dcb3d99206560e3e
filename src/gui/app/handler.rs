//! Carrying out commands: starting jobs and tasks, moving the selection, playback, dialogs,
//! the clipboard and the file manager. Nothing here waits for work to finish.

use std::path::PathBuf;

use eframe::egui;

use crate::library::Library;
use crate::library::tagging::{retag, source_name};
use crate::model::device::DeviceChoice;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::shared::dialogs::DialogRequest;
use crate::gui::shared::job_list::JobKind;

/// Carries out one command.
pub fn run(app: &mut EarmarkApp, ctx: &egui::Context, command: Command) {
    match command {
        Command::AddFolderDialog => app.ask(ctx, DialogRequest::AddFolder),
        Command::ImportModelDialog => app.ask(ctx, DialogRequest::ImportModel),
        Command::TrainingFolderDialog => app.ask(ctx, DialogRequest::TrainingFolder),
        Command::EvalFolderDialog => app.ask(ctx, DialogRequest::EvalFolder),
        Command::InitModelDialog => app.ask(ctx, DialogRequest::InitModel),
        Command::ExportPngDialog => super::on_inspector::export_dialog(app, ctx),
        Command::AddRoots(paths) => super::on_library::add_roots(app, paths),
        Command::Rescan => super::on_library::rescan(app),
        Command::Select(id, path) => super::on_library::select(app, ctx, id, path, false),
        Command::Audition(id, path) => super::on_library::select(app, ctx, id, path, true),
        Command::MoveSelection(step) => super::on_library::move_selection(app, ctx, step),
        Command::MoveResult(step) => super::on_similar::move_result(app, ctx, step),
        Command::FindSimilar => super::on_similar::find(app, ctx),
        Command::PlayPause => super::on_inspector::play_pause(app),
        Command::Seek(s) => super::on_inspector::seek(app, s),
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
        Command::ComputeMap => super::on_map::compute(app),
        Command::UseModel(path) => {
            // The user's choice replaces a model given on the command line.
            app.shared.opts.model = None;
            app.shared.settings.model = Some(path);
            app.save_settings();
        }
        Command::UseHead { head, labels } => {
            app.shared.settings.head = Some(head);
            app.shared.settings.head_labels = labels;
            app.shared.settings.no_head = false;
            app.save_settings();
        }
        Command::UseNoHead | Command::UseStarterHead => {
            app.shared.settings.no_head = matches!(command, Command::UseNoHead);
            app.shared.settings.head = None;
            app.shared.settings.head_labels = None;
            app.save_settings();
        }
        Command::SetDevice(device) => {
            app.shared.settings.device = device;
            app.save_settings();
        }
        Command::SetPrecision(precision) => {
            crate::model::lowp::set_default(precision);
            app.shared.settings.precision = precision.to_string();
            app.save_settings();
        }
        Command::Reveal(path) => super::on_library::reveal(app, &path),
        Command::CopyPaths(paths) => ctx.copy_text(paths.join("\n")),
        Command::AddTag(label, file_id, region) => {
            super::on_personal_tags::add(app, label, file_id, region);
        }
        Command::ReviewAnswer(label, file_id, accepted) => {
            super::on_personal_tags::answer(app, label, file_id, accepted);
        }
        Command::UndoReviewAnswer => super::on_personal_tags::undo(app),
        Command::ApplyPersonalTags => super::on_personal_tags::apply(app),
        Command::RetagLibrary => submit_retag(app),
        Command::ToggleTagFilter(label) => super::on_library::toggle_tag_filter(app, label),
        Command::Notify(message) => app.shared.notices.push(message),
        Command::WritebackPreview => super::on_writeback::preview(app),
        Command::WritebackApply => super::on_writeback::apply(app),
        Command::WritebackUndo => super::on_writeback::undo(app),
        Command::SetReviewTag(label) => super::on_personal_tags::set_review_tag(app, label),
        Command::SetHeadLimits(head, limits) => {
            super::on_personal_tags::set_head_limits(app, head, limits);
        }
        Command::ReadReviewList => super::on_personal_tags::read_review(app, ctx),
        #[cfg(feature = "live")]
        Command::ToggleListening => super::on_live::toggle(app, ctx),
        #[cfg(feature = "live")]
        Command::SetInputDevice(device) => super::on_live::set_input_device(app, ctx, device),
        #[cfg(feature = "live")]
        Command::SetOutputDevice(device) => super::on_live::set_output_device(app, device),
        #[cfg(feature = "live")]
        Command::ListAudioDevices => super::on_live::list_devices(app, ctx),
        #[cfg(feature = "live")]
        Command::FindSimilarHeard => super::on_live::find_similar(app, ctx),
        #[cfg(feature = "live")]
        Command::SaveSnippet => super::on_live::save_snippet(app, ctx),
        #[cfg(not(feature = "live"))]
        Command::ToggleListening
        | Command::SetInputDevice(_)
        | Command::SetOutputDevice(_)
        | Command::ListAudioDevices
        | Command::FindSimilarHeard
        | Command::SaveSnippet => {}
        Command::SetTheme(theme) => app.shared.state.theme = theme,
        Command::ShowInspector(on) => app.shared.state.show_inspector = on,
        Command::ShowSidebar(on) => app.shared.state.show_sidebar = on,
        Command::DismissNotice => drop(app.shared.notices.pop()),
        Command::FocusFilter => super::on_library::focus_filter(app),
        Command::SetFilter(text) => super::on_library::set_filter(app, text),
        Command::SortTable(column, ascending) => super::on_library::sort(app, column, ascending),
        Command::ShowErrorsOnly(on) => super::on_library::errors_only(app, on),
        Command::ShowColumn(column, on) => super::on_library::show_column(app, column, on),
        Command::RefreshMap => super::on_map::refresh(app, ctx),
        Command::ColourMapBy(colour) => app.shared.state.map_colour = colour,
        Command::AuditionResult(i) => super::on_similar::audition(app, ctx, i),
        Command::RefineSimilar => super::on_similar::refine(app, ctx),
        Command::InspectSelected => super::on_inspector::load(app, ctx),
        Command::PlayLoaded => super::on_inspector::play_loaded(app),
        Command::StartTraining => super::on_training::start(app, false),
        Command::ResumeTraining => super::on_training::start(app, true),
        Command::PauseTraining => super::on_training::pause(app),
        Command::StopTraining => super::on_training::stop(app),
        Command::EvaluateCheckpoint(ck) => super::on_training::evaluate(app, ctx, ck),
        Command::CompareTrainedModel => super::on_training::compare(app, ctx),
        Command::ReadModels => super::on_models::read(app, ctx),
        Command::ProbeGpu => super::on_models::probe_gpu(app, ctx),
        Command::DownloadModel(name) => super::on_models::download(app, ctx, &name),
        Command::CancelDownload => super::on_models::cancel_download(app),
        Command::ImportModel(path) => super::on_models::import(app, ctx, path),
    }
}

/// The user answered a dialog.
pub fn dialog_answered(app: &mut EarmarkApp, request: DialogRequest, answer: Option<PathBuf>) {
    let Some(path) = answer else {
        return;
    };
    match request {
        DialogRequest::AddFolder => super::on_library::add_roots(app, vec![path]),
        DialogRequest::ImportModel => super::on_models::import_chosen(app, path),
        DialogRequest::SavePng(_) => super::on_inspector::export_png(app, &path),
        DialogRequest::EvalFolder => super::on_training::eval_folder_chosen(app, path),
        DialogRequest::InitModel => super::on_training::init_model_chosen(app, path),
        DialogRequest::TrainingFolder => super::on_training::folder_chosen(app, path),
    }
}

/// Queues a job that applies the tag head's limits to the library again.
fn submit_retag(app: &mut EarmarkApp) {
    let Some(choice) = app.shared.head_choices().pop() else {
        app.shared.notices.push("No tag head chosen.".into());
        return;
    };
    let library = app.shared.library_path.clone();
    let model = app.shared.model.active.clone();
    let budget = app.shared.state.budget;
    let name = format!("Retag with {}", source_name(&choice.path));
    let submitted = app
        .shared
        .service
        .submit(JobKind::Retag, &name, move |ctx| {
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
