//! The Live tab: listen to an input device and see the level, a scrolling spectrogram, the top
//! tags of the active head and of the personal tags, and their timeline over the last minute;
//! search the library for what was just heard, or save it as a snippet into a library folder.
//! The input and output devices are chosen here too ([`super::audio_devices`]).
//!
//! Everything heavy runs elsewhere: the session has its own threads, the model loads and the
//! searches run on workers ([`crate::gui::live`]); this module only draws and pushes requests.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke};

use crate::gui::app::EarmarkApp;
use crate::gui::live::picture::{LIVE_COLUMNS, LevelMeter, METER_FLOOR_DBFS};
use crate::gui::live::timeline::{TIMELINE_S, seconds_to_samples};
use crate::gui::live::{self, SECONDS_CHOICES};
use crate::live::DeviceState;

/// Height of the spectrogram strip.
const SPECTROGRAM_HEIGHT: f32 = 170.0;
/// Height of the time labels under the spectrogram and the timeline.
const AXIS_HEIGHT: f32 = 14.0;
/// Height of one timeline row.
const ROW_HEIGHT: f32 = 16.0;
/// Width of the timeline's label column.
const LABEL_WIDTH: f32 = 130.0;

/// Draws the tab.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    if app.live.devices.is_none() {
        app.live.refresh_devices(ui.ctx());
    }
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| contents_ui(ui, app));
}

fn contents_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    controls_ui(ui, app);
    status_ui(ui, app);
    super::audio_devices::ui(ui, app);
    ui.separator();
    meter_ui(ui, app);
    spectrogram_ui(ui, app);
    ui.add_space(4.0);
    ui.columns(2, |cols| {
        tags_ui(&mut cols[0], app);
        timeline_ui(&mut cols[1], app);
    });
    ui.separator();
    heard_ui(ui, app);
}

fn controls_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.horizontal(|ui| {
        let (text, hint) = if app.live.active() {
            ("Stop listening", "Stop capturing from the input (Ctrl+L)")
        } else {
            (
                "Start listening",
                "Capture from the input device and tag what it hears (Ctrl+L)",
            )
        };
        if ui.button(text).on_hover_text(hint).clicked() {
            live::toggle(app, ui.ctx());
        }
        if app.live.starting() {
            ui.spinner();
            ui.label("Loading the model…");
        } else if let Some(name) = app.live.model_name() {
            ui.weak(format!("Model: {name} · {:.0} s heard", app.live.heard_s()));
        } else {
            ui.weak("Ctrl+L starts and stops listening from any tab.");
        }
    });
}

/// The device state in words, and whether it is a problem.
pub fn state_line(state: &DeviceState) -> (String, bool) {
    match state {
        DeviceState::Connecting => ("Opening the input device…".into(), false),
        DeviceState::Capturing { device, format } => {
            (format!("Listening to {device} ({format})"), false)
        }
        DeviceState::Lost { message } => (
            format!("Input lost: {message}. Listening resumes when it comes back."),
            true,
        ),
        DeviceState::Unavailable { message } => {
            (format!("Cannot capture: {message}. Trying again…"), true)
        }
        DeviceState::Stopped => ("Stopped.".into(), false),
    }
}

fn status_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    if let Some(e) = &app.live.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    if let Some(state) = &app.live.device {
        let (line, problem) = state_line(state);
        if problem {
            ui.colored_label(ui.visuals().error_fg_color, line);
        } else {
            ui.label(line);
        }
    }
    if let Some(e) = &app.live.analysis_error {
        ui.colored_label(ui.visuals().warn_fg_color, format!("Analysis: {e}"));
    }
}

fn meter_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let level = app.live.level;
    ui.horizontal(|ui| {
        ui.label("Input level");
        let (rect, _) = ui.allocate_exact_size(egui::vec2(320.0, 14.0), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        let x_of = |db: f32| rect.left() + LevelMeter::fraction(db) * rect.width();
        let colour = if level.peak_dbfs > -1.0 {
            Color32::from_rgb(230, 80, 60)
        } else {
            Color32::from_rgb(80, 200, 120)
        };
        let bar = Rect::from_min_max(rect.min, Pos2::new(x_of(level.rms_dbfs), rect.bottom()));
        painter.rect_filled(bar, 2.0, colour);
        let px = x_of(level.peak_dbfs);
        painter.line_segment(
            [Pos2::new(px, rect.top()), Pos2::new(px, rect.bottom())],
            Stroke::new(2.0, ui.visuals().strong_text_color()),
        );
        if level.readings == 0 || level.rms_dbfs <= METER_FLOOR_DBFS {
            ui.weak("silence");
        } else {
            ui.monospace(format!(
                "{:>6.1} dBFS (peak {:.1})",
                level.rms_dbfs, level.peak_dbfs
            ));
        }
    });
}

fn spectrogram_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    if app.live.picture.dirty() || app.live.texture.is_none() {
        let image = app.live.picture.image();
        match &mut app.live.texture {
            Some(t) => t.set(image, egui::TextureOptions::LINEAR),
            None => {
                app.live.texture = Some(ui.ctx().load_texture(
                    "live spectrogram",
                    image,
                    egui::TextureOptions::LINEAR,
                ));
            }
        }
    }
    let width = ui.available_width().max(50.0);
    let (outer, response) = ui.allocate_exact_size(
        egui::vec2(width, SPECTROGRAM_HEIGHT + AXIS_HEIGHT),
        Sense::hover(),
    );
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Live spectrogram"));
    let rect = Rect::from_min_max(
        outer.min,
        Pos2::new(outer.right(), outer.bottom() - AXIS_HEIGHT),
    );
    let painter = ui.painter_at(outer);
    if let Some(t) = &app.live.texture {
        let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
        painter.image(t.id(), rect, uv, Color32::WHITE);
    }
    let seconds = LIVE_COLUMNS as f32 / crate::live::analysis::FRAMES_PER_SECOND;
    for (x, label, align) in [
        (
            rect.left(),
            format!("−{seconds:.0} s"),
            egui::Align2::LEFT_TOP,
        ),
        (rect.right(), "now".to_string(), egui::Align2::RIGHT_TOP),
    ] {
        painter.text(
            Pos2::new(x, rect.bottom() + 1.0),
            align,
            label,
            egui::FontId::proportional(10.0),
            ui.visuals().weak_text_color(),
        );
    }
}

fn tags_ui(ui: &mut egui::Ui, app: &EarmarkApp) {
    ui.strong("Tags now");
    if app.live.tags.is_empty() {
        let note = if app.live.active() {
            "Tags appear after the first two seconds."
        } else if app.settings.head.is_none() {
            "Choose a tag head in Models (or add personal tags) to see tags here."
        } else {
            "Start listening to see tags."
        };
        ui.weak(note);
        return;
    }
    for source in &app.live.tags {
        ui.small(&source.source);
        for tag in &source.tags {
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new(tag.score.clamp(0.0, 1.0))
                        .desired_width(140.0)
                        .text(format!("{:.2}", tag.score)),
                );
                ui.label(&tag.label);
            });
        }
    }
}

fn timeline_ui(ui: &mut egui::Ui, app: &EarmarkApp) {
    ui.strong("Last minute");
    let rows = app.live.timeline.rows();
    if rows.is_empty() {
        ui.weak("The top tags of every update, over the last minute.");
        return;
    }
    let width = ui.available_width().max(LABEL_WIDTH + 40.0);
    let height = rows.len() as f32 * ROW_HEIGHT + AXIS_HEIGHT;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, height), Sense::hover());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Tag timeline"));
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let plot = Rect::from_min_max(
        Pos2::new(rect.left() + LABEL_WIDTH, rect.top()),
        Pos2::new(rect.right(), rect.bottom() - AXIS_HEIGHT),
    );
    painter.rect_filled(plot, 0.0, visuals.extreme_bg_color);
    let font = egui::FontId::proportional(11.0);
    for (i, label) in rows.iter().enumerate() {
        let y = plot.top() + (i as f32 + 0.5) * ROW_HEIGHT;
        painter.text(
            Pos2::new(rect.left(), y),
            egui::Align2::LEFT_CENTER,
            label,
            font.clone(),
            visuals.text_color(),
        );
    }
    let span = seconds_to_samples(TIMELINE_S) as f32;
    let now = app.live.position;
    let hop_px = plot.width() * seconds_to_samples(0.5) as f32 / span;
    let accent = visuals.selection.bg_fill;
    for point in app.live.timeline.points() {
        let age = now.saturating_sub(point.end_sample) as f32;
        let x = plot.right() - age / span * plot.width();
        for tag in &point.tags {
            let Some(row) = rows.iter().position(|r| *r == tag.label) else {
                continue;
            };
            let y = plot.top() + row as f32 * ROW_HEIGHT;
            let cell = Rect::from_min_max(
                Pos2::new((x - hop_px).max(plot.left()), y + 1.0),
                Pos2::new(x, y + ROW_HEIGHT - 1.0),
            );
            let alpha = (tag.score.clamp(0.0, 1.0) * 255.0) as u8;
            painter.rect_filled(cell, 0.0, accent.gamma_multiply_u8(alpha));
        }
    }
    for (x, label, align) in [
        (plot.left(), "−60 s", egui::Align2::LEFT_TOP),
        (plot.right(), "now", egui::Align2::RIGHT_TOP),
    ] {
        painter.text(
            Pos2::new(x, plot.bottom() + 1.0),
            align,
            label,
            egui::FontId::proportional(10.0),
            visuals.weak_text_color(),
        );
    }
}

fn heard_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let listening = app.live.active() && !app.live.starting();
    ui.horizontal(|ui| {
        ui.label("Last");
        for s in SECONDS_CHOICES {
            ui.selectable_value(&mut app.live.seconds, s, format!("{s:.0} s"));
        }
        if ui
            .add_enabled(listening, egui::Button::new("Find similar in my library"))
            .on_hover_text("Search the library for the last seconds heard (results in Similar)")
            .clicked()
        {
            live::find_similar(app, ui.ctx());
        }
    });
    let roots = app.snapshot.present_roots();
    if app
        .live
        .snippet_folder
        .as_ref()
        .is_none_or(|f| !roots.contains(f))
    {
        app.live.snippet_folder = roots.first().cloned();
    }
    ui.horizontal(|ui| {
        let shown = app.live.snippet_folder.as_ref().map_or_else(
            || "No library folder".to_string(),
            |f| f.display().to_string(),
        );
        egui::ComboBox::from_label("Snippet folder")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for root in &roots {
                    ui.selectable_value(
                        &mut app.live.snippet_folder,
                        Some(root.clone()),
                        root.display().to_string(),
                    );
                }
            });
        let can_save = listening && app.live.snippet_folder.is_some() && !app.live.saving();
        if ui
            .add_enabled(can_save, egui::Button::new("Save snippet"))
            .on_hover_text("Save the last seconds heard as a WAV file in the folder and scan it")
            .clicked()
        {
            live::save_snippet(app, ui.ctx());
        }
        match &app.live.saved {
            Some(Ok(p)) => {
                ui.label(format!("Saved {}", p.display()));
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    });
    if roots.is_empty() {
        ui.weak("Add a library folder to save snippets into.");
    }
}
