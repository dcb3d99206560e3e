//! The window's frame: the tab bar, the status bar with the running job, the library side bar,
//! the inspector under the main area, the main area showing one tab, the first-start welcome, the
//! drop hint and the frame-time overlay.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::panels::{
    inspector, library, map, models, sidebar, similar, tags, training,
};
#[cfg(feature = "live")]
use crate::gui::panels::live;
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::format_eta;
use crate::gui::shared::state::{Panel, ThemeChoice};

/// Draws the whole window.
pub fn layout_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let top = egui::Panel::top("tabs").show(ui, |ui| tabs_ui(ui, app));
    app.record_rect("tabs", top.response.rect);
    let status = egui::Panel::bottom("status").show(ui, |ui| status_ui(ui, app));
    app.record_rect("status", status.response.rect);
    if app.shared.state.show_sidebar {
        let side = egui::Panel::left("sidebar")
            .resizable(true)
            .default_size(230.0)
            .show(ui, |ui| sidebar::ui(ui, app));
        app.record_rect("sidebar", side.response.rect);
    }
    let first_start =
        app.shared.rows_loaded && app.shared.snapshot.roots.is_empty() && app.shared.snapshot.rows.is_empty();
    if app.shared.state.show_inspector && !first_start {
        let insp = egui::Panel::bottom("inspector")
            .resizable(true)
            .default_size(300.0)
            .min_size(160.0)
            .show(ui, |ui| {
                // Keep the panel's height whatever the state shows (a resizable panel
                // otherwise shrinks to its content, e.g. while a file loads).
                ui.set_min_height(ui.max_rect().height());
                inspector::ui(ui, app);
            });
        app.record_rect("inspector", insp.response.rect);
    }
    let central = egui::CentralPanel::default().show(ui, |ui| {
        if first_start && app.shared.state.panel == Panel::Library {
            welcome_ui(ui, app);
            return;
        }
        match app.shared.state.panel {
            Panel::Library => library::ui(ui, app),
            Panel::Similar => similar::ui(ui, app),
            Panel::Map => map::ui(ui, app),
            Panel::Jobs => {
                let view = crate::gui::shared::view::ViewCtx::new(&app.shared);
                let commands = app.jobs_tab.ui(ui, &view);
                app.commands.extend(commands);
            }
            Panel::Models => models::ui(ui, app),
            Panel::Training => training_ui(ui, app),
            Panel::Tags => tags::ui(ui, app),
            #[cfg(feature = "live")]
            Panel::Live => live::ui(ui, app),
            #[cfg(not(feature = "live"))]
            Panel::Live => {
                ui.label("Live listening is not part of this build (built without `live`).");
            }
        }
    });
    app.record_rect(app.shared.state.panel.label(), central.response.rect);
    drop_hint_ui(ui, app);
    if app.shared.frames.overlay {
        overlay_ui(ui, app);
    }
}

fn tabs_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.horizontal(|ui| {
        ui.strong("Earmark");
        ui.separator();
        for panel in Panel::TABS {
            let label = match panel {
                Panel::Similar if !app.similar.hits().is_empty() => {
                    format!("Similar ({})", app.similar.hits().len())
                }
                Panel::Jobs if app.shared.jobs.current().is_some() => "Jobs (running)".to_string(),
                p => p.label().to_string(),
            };
            if ui
                .selectable_label(app.shared.state.panel == panel, label)
                .clicked()
            {
                app.push(Command::Show(panel));
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let (icon, next) = match app.shared.state.theme {
                ThemeChoice::Dark => ("Light theme", ThemeChoice::Light),
                ThemeChoice::Light => ("Dark theme", ThemeChoice::Dark),
                ThemeChoice::System => ("Dark theme", ThemeChoice::Dark),
            };
            if ui
                .small_button(icon)
                .on_hover_text("Colour theme")
                .clicked()
            {
                app.shared.state.theme = next;
            }
            ui.toggle_value(&mut app.shared.state.show_inspector, "Inspector");
            ui.toggle_value(&mut app.shared.state.show_sidebar, "Folders");
        });
    });
}

fn status_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.horizontal(|ui| {
        let current = app.shared
            .jobs
            .entries
            .iter()
            .enumerate()
            .find(|(_, j)| !j.state.finished());
        if let Some((i, job)) = current {
            let (fraction, text) = match &job.progress {
                Some(p) if p.total > 0 => (
                    p.done as f32 / p.total as f32,
                    format!(
                        "{} {}/{}{}",
                        job.name,
                        p.done,
                        p.total,
                        p.eta
                            .map(|e| format!(" · ETA {}", format_eta(e)))
                            .unwrap_or_default()
                    ),
                ),
                _ => (
                    0.0,
                    format!(
                        "{} — {}",
                        job.name,
                        job.note.clone().unwrap_or_else(|| "starting…".into())
                    ),
                ),
            };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(260.0)
                    .text(text),
            );
            if ui.button("Cancel").on_hover_text("Stop this job").clicked() {
                app.push(Command::CancelJob(i));
            }
        } else if let Some(last) = app.shared.jobs.entries.last() {
            let line = match &last.state {
                crate::gui::shared::job_list::JobState::Done(s) => format!("{}: {s}", last.name),
                crate::gui::shared::job_list::JobState::Cancelled => format!("{}: cancelled", last.name),
                crate::gui::shared::job_list::JobState::Failed(r) => format!("{} failed: {r}", last.name),
                _ => String::new(),
            };
            ui.label(line);
        } else {
            ui.weak("Ready");
        }
        if let Some(n) = app.shared.notices.last().cloned() {
            ui.separator();
            ui.colored_label(ui.visuals().warn_fg_color, n);
            if ui
                .small_button("Dismiss")
                .on_hover_text("Dismiss")
                .clicked()
            {
                app.shared.notices.pop();
            }
        }
    });
}

fn welcome_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.22);
        ui.heading("Welcome to Earmark");
        ui.add_space(6.0);
        ui.label("Add a folder of sounds: Earmark finds every audio file in it, listens to each");
        ui.label("and lets you browse, audition and find similar sounds.");
        ui.add_space(14.0);
        if ui
            .add(egui::Button::new(
                egui::RichText::new("Add a folder…").size(18.0),
            ))
            .clicked()
        {
            app.push(Command::AddFolderDialog);
        }
        ui.add_space(8.0);
        ui.weak("…or drop folders or files onto this window.");
        ui.add_space(14.0);
        ui.label(app.shared.model_line());
        if let Some(e) = &app.shared.library_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    });
}

fn drop_hint_ui(ui: &mut egui::Ui, _app: &mut EarmarkApp) {
    let hovering = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let rect = ui.ctx().content_rect();
    let painter = ui.ctx().layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop hint"),
    ));
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(170));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop to add to the library",
        egui::FontId::proportional(26.0),
        egui::Color32::WHITE,
    );
}

fn overlay_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let ui_t = app.shared.frames.ui_times();
    let cpu = app.shared.frames.cpu_times();
    egui::Area::new(egui::Id::unique("frame overlay"))
        .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-8.0, 32.0))
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.monospace(format!(
                    "UI   p50 {:.2} ms  p95 {:.2} ms  max {:.1} ms",
                    ui_t.p50_ms, ui_t.p95_ms, ui_t.max_ms
                ));
                ui.monospace(format!(
                    "CPU  p50 {:.2} ms  p95 {:.2} ms  max {:.1} ms  ({} frames)",
                    cpu.p50_ms, cpu.p95_ms, cpu.max_ms, cpu.count
                ));
            });
        });
}

/// The Training tab; its data folders start as the library's folders.
fn training_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    if app.training.form.roots.is_empty() && !app.training.running() {
        app.training.form.roots = app.shared.snapshot.present_roots();
    }
    match app.training.ui(ui) {
        Some(training::TrainingRequest::UseModel(p)) => app.push(Command::UseModel(p)),
        Some(training::TrainingRequest::PickFolder) => app.push(Command::TrainingFolderDialog),
        Some(training::TrainingRequest::PickEvalFolder) => app.push(Command::EvalFolderDialog),
        Some(training::TrainingRequest::PickInitModel) => app.push(Command::InitModelDialog),
        None => {}
    }
}
