//! The window's frame: the tab bar, the status bar with the running job, the library side bar,
//! the inspector under the main area on the tabs that list files (collapsible: the tab bar's
//! toggle, Ctrl+I, or its own Hide button; hidden, a slim bar brings it back), the main area
//! showing one tab in a scroll area (nothing out of reach in a small window), the first-start
//! welcome, the drop hint and the frame-time overlay.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::{JobState, format_eta};
use crate::gui::shared::state::{Panel, ThemeChoice};
use crate::gui::shared::view::ViewCtx;

/// Draws the whole window.
pub fn layout_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let hits = app.similar.hits().len();
    let top = egui::Panel::top("tabs").show(ui, |ui| tabs_ui(ui, &ViewCtx::new(&app.shared), hits));
    app.record_rect("tabs", top.response.rect);
    app.commands.extend(top.inner);
    let status =
        egui::Panel::bottom("status").show(ui, |ui| status_ui(ui, &ViewCtx::new(&app.shared)));
    app.record_rect("status", status.response.rect);
    app.commands.extend(status.inner);
    if app.shared.state.show_sidebar {
        let side = egui::Panel::left("sidebar")
            .resizable(true)
            .default_size(230.0)
            .show(ui, |ui| {
                app.library.sidebar_ui(ui, &ViewCtx::new(&app.shared))
            });
        app.record_rect("sidebar", side.response.rect);
        app.commands.extend(side.inner);
    }
    let first_start = app.shared.rows_loaded
        && app.shared.snapshot.roots.is_empty()
        && app.shared.snapshot.rows.is_empty();
    let panel = app.shared.state.panel;
    let inspector_here = has_inspector(panel) && !first_start;
    if inspector_here && toggle_shortcut(ui.ctx()) {
        app.commands
            .push(Command::ShowInspector(!app.shared.state.show_inspector));
    }
    if inspector_here {
        inspector_slot(ui, app);
    }
    let central = egui::CentralPanel::default().show(ui, |ui| {
        if first_start && panel == Panel::Library {
            let commands = welcome_ui(ui, &ViewCtx::new(&app.shared));
            app.commands.extend(commands);
            return;
        }
        // Whatever a tab holds stays reachable in a small window: its area scrolls both ways
        // when the tab needs more room than the window gives it.
        egui::ScrollArea::both()
            .id_salt(("tab", panel.label()))
            .auto_shrink(false)
            .show(ui, |ui| tab_ui(ui, app, panel));
    });
    app.record_rect(app.shared.state.panel.label(), central.response.rect);
    drop_hint_ui(ui);
    if app.shared.frames.overlay {
        overlay_ui(ui, app);
    }
}

/// The tabs that show the inspector: those that list files. Jobs, Models, Training and Live
/// have no selected file to show and need the height themselves.
pub fn has_inspector(panel: Panel) -> bool {
    matches!(
        panel,
        Panel::Library | Panel::Similar | Panel::Map | Panel::Tags
    )
}

/// The shortcut that shows and hides the inspector (taken: asked for once).
pub const INSPECTOR_SHORTCUT: &str = "Ctrl+I";

fn toggle_shortcut(ctx: &egui::Context) -> bool {
    ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::I))
}

/// Least height the tab's own area keeps when the inspector is dragged large.
const MIN_CENTRAL_HEIGHT: f32 = 200.0;
/// Least height of the inspector: its header row and a strip of the picture (the rest scrolls
/// inside it: the spectrogram itself never gets shorter than it can be read).
const MIN_INSPECTOR_HEIGHT: f32 = 140.0;

/// The inspector under the tab's area, or, when hidden, a slim bar that brings it back.
fn inspector_slot(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    if !app.shared.state.show_inspector {
        let bar = egui::Panel::bottom("inspector-bar")
            .show(ui, |ui| collapsed_bar_ui(ui, &ViewCtx::new(&app.shared)));
        app.record_rect("inspector", bar.response.rect);
        app.commands.extend(bar.inner);
        return;
    }
    let room = ui.available_rect_before_wrap().height();
    let max = (room - MIN_CENTRAL_HEIGHT).max(MIN_INSPECTOR_HEIGHT);
    let insp = egui::Panel::bottom("inspector")
        .resizable(true)
        .default_size((room * 0.42).clamp(MIN_INSPECTOR_HEIGHT, 340.0).min(max))
        .size_range(MIN_INSPECTOR_HEIGHT..=max)
        .show(ui, |ui| {
            // Keep the panel's height whatever the state shows (a resizable panel
            // otherwise shrinks to its content, e.g. while a file loads).
            ui.set_min_height(ui.max_rect().height());
            app.inspector.ui(ui, &ViewCtx::new(&app.shared))
        });
    app.record_rect("inspector", insp.response.rect);
    app.commands.extend(insp.inner);
}

/// The hidden inspector: the file it would show and the control that shows it again.
fn collapsed_bar_ui(ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        if ui
            .small_button("Show inspector")
            .on_hover_text(format!(
                "Show the selected file's picture, tags and playback ({INSPECTOR_SHORTCUT})"
            ))
            .clicked()
        {
            commands.push(Command::ShowInspector(true));
        }
        if let Some((_, path)) = &cx.selected {
            let name = std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
            ui.weak(name);
        }
    });
    commands
}

/// The tab shown in the main area.
fn tab_ui(ui: &mut egui::Ui, app: &mut EarmarkApp, panel: Panel) {
    match panel {
        Panel::Library => {
            let commands = app.library.ui(ui, &ViewCtx::new(&app.shared));
            app.commands.extend(commands);
        }
        Panel::Similar => {
            let commands = app.similar.ui(ui, &ViewCtx::new(&app.shared));
            app.commands.extend(commands);
        }
        Panel::Map => {
            let commands = app.map.ui(ui, &ViewCtx::new(&app.shared));
            app.commands.extend(commands);
        }
        Panel::Jobs => {
            let commands = app.jobs_tab.ui(ui, &ViewCtx::new(&app.shared));
            app.commands.extend(commands);
        }
        Panel::Models => super::on_models::ui(ui, app),
        Panel::Training => super::on_training::ui(ui, app),
        Panel::Tags => super::on_personal_tags::tab_ui(ui, app),
        #[cfg(feature = "live")]
        Panel::Live => super::on_live::tab_ui(ui, app),
        #[cfg(not(feature = "live"))]
        Panel::Live => {
            ui.label("Live listening is not part of this build (built without `live`).");
        }
    }
}

/// The tab bar: the tabs (Similar with its number of results, Jobs while one runs), the
/// colour theme and the Inspector / Folders toggles.
fn tabs_ui(ui: &mut egui::Ui, cx: &ViewCtx, similar_hits: usize) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        ui.strong("Earmark");
        ui.separator();
        for panel in Panel::TABS {
            let label = match panel {
                Panel::Similar if similar_hits > 0 => format!("Similar ({similar_hits})"),
                Panel::Jobs if cx.jobs.current().is_some() => "Jobs (running)".to_string(),
                p => p.label().to_string(),
            };
            if ui
                .selectable_label(cx.state.panel == panel, label)
                .clicked()
            {
                commands.push(Command::Show(panel));
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let (icon, next) = match cx.state.theme {
                ThemeChoice::Dark => ("Light theme", ThemeChoice::Light),
                ThemeChoice::Light => ("Dark theme", ThemeChoice::Dark),
                ThemeChoice::System => ("Dark theme", ThemeChoice::Dark),
            };
            if ui
                .small_button(icon)
                .on_hover_text("Colour theme")
                .clicked()
            {
                commands.push(Command::SetTheme(next));
            }
            let mut inspector = cx.state.show_inspector;
            // Always there, so the choice can be made from any tab; it shows on the tabs
            // that list files.
            let hint = if has_inspector(cx.state.panel) {
                format!(
                    "Show or hide the selected file's picture under the list ({INSPECTOR_SHORTCUT})"
                )
            } else {
                "Show or hide the inspector on the Library, Similar, Map and Tags tabs (this tab \
                 has none)"
                    .to_string()
            };
            let toggle = ui
                .add(egui::Button::selectable(inspector, "Inspector"))
                .on_hover_text(hint);
            if toggle.clicked() {
                inspector = !inspector;
                commands.push(Command::ShowInspector(inspector));
            }
            let mut sidebar = cx.state.show_sidebar;
            if ui.toggle_value(&mut sidebar, "Folders").changed() {
                commands.push(Command::ShowSidebar(sidebar));
            }
        });
    });
    commands
}

/// The status bar: the running job with its progress and Cancel, else the last job's end, and
/// the newest message for the user with Dismiss.
fn status_ui(ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        let current = cx
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
                commands.push(Command::CancelJob(i));
            }
        } else if let Some(last) = cx.jobs.entries.last() {
            let line = match &last.state {
                JobState::Done(s) => format!("{}: {s}", last.name),
                JobState::Cancelled => format!("{}: cancelled", last.name),
                JobState::Failed(r) => format!("{} failed: {r}", last.name),
                _ => String::new(),
            };
            ui.label(line);
        } else {
            ui.weak("Ready");
        }
        if let Some(n) = cx.notices.last() {
            ui.separator();
            ui.colored_label(ui.visuals().warn_fg_color, n);
            if ui
                .small_button("Dismiss")
                .on_hover_text("Dismiss")
                .clicked()
            {
                commands.push(Command::DismissNotice);
            }
        }
    });
    commands
}

/// The first start (no folder, no file): what Earmark does and the button that adds a folder.
fn welcome_ui(ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
    let mut commands = Vec::new();
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
            commands.push(Command::AddFolderDialog);
        }
        ui.add_space(8.0);
        ui.weak("…or drop folders or files onto this window.");
        ui.add_space(14.0);
        ui.label(cx.model_line());
        let bundled = cx.wanted_model();
        if bundled
            .as_deref()
            .is_some_and(crate::model::bundled::is_bundled_model)
        {
            // What the bundled model is, and the way to the official weights.
            ui.add_space(8.0);
            crate::gui::model_manager::official::bundled_intro_ui(ui);
            commands.extend(crate::gui::model_manager::official::offer_ui(
                ui, None, false,
            ));
        }
        if let Some(e) = &cx.library_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    });
    commands
}

fn drop_hint_ui(ui: &mut egui::Ui) {
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
