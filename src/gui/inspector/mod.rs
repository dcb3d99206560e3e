//! The inspector: the selected file's waveform and spectrogram, playback controls, stored and
//! predicted tags, "Find similar" for the file or the selected region, and PNG export.

use std::path::{Path, PathBuf};

use eframe::egui;

use crate::gui::app::handler::start_playback;
use crate::gui::app::EarmarkApp;
use crate::gui::shared::view::PlayerSlot;
use crate::gui::shared::command::Command;
use crate::gui::inspect::{InspectRequest, Inspected, inspect};
use crate::gui::rows::format_duration;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::widgets::spectrogram::{HZ_AXIS, Spectrogram, SpectrogramAction};
use crate::gui::shared::widgets::timeline::Timeline;

/// The inspector's live state.
#[derive(Default)]
pub struct InspectorState {
    /// Loading a file.
    pub task: Option<Task<crate::Result<Inspected>>>,
    /// The file being loaded.
    pub loading: Option<i64>,
    /// The loaded file.
    pub data: Option<Inspected>,
    /// Why the selected file cannot be shown.
    pub error: Option<String>,
    /// The spectrogram on the GPU.
    pub texture: Option<egui::TextureHandle>,
    /// Visible time range (seconds).
    pub view: (f64, f64),
    /// Selected region (seconds).
    pub region: Option<(f64, f64)>,
    /// A seek asked for before playback started.
    pub pending_seek: Option<f64>,
    /// Scroll the table to this position (keyboard moves).
    pub scroll_table_to: Option<usize>,
    /// The last PNG written.
    pub exported: Option<PathBuf>,
    /// What the tag timeline showed under the pointer last frame.
    pub timeline_hover: Option<String>,
}

/// Starts loading the selected file.
pub fn load(app: &mut EarmarkApp, ctx: &egui::Context) {
    let Some((id, path)) = app.shared.selected.clone() else {
        return;
    };
    let head = app.shared
        .settings
        .head
        .clone()
        .map(|h| (h, app.shared.settings.head_labels.clone()));
    let req = InspectRequest {
        file_id: id,
        path: PathBuf::from(path),
        library: app.shared.library_path.clone(),
        model: app.shared.model.active.clone(),
        head,
    };
    app.inspector.loading = Some(id);
    app.inspector.error = None;
    app.inspector.task = Some(Task::spawn("earmark-inspect", ctx, move || inspect(&req)));
}

/// Takes a finished load.
pub fn poll(app: &mut EarmarkApp, ctx: &egui::Context) {
    let Some(result) = poll_slot(&mut app.inspector.task) else {
        return;
    };
    let wanted = app.shared.selected.as_ref().map(|s| s.0);
    if wanted != app.inspector.loading {
        // The selection moved on while loading: load the new one.
        load(app, ctx);
        return;
    }
    app.inspector.loading = None;
    match result {
        Ok(data) => {
            app.inspector.texture = data.image.as_ref().ok().map(|img| {
                ctx.load_texture(
                    "spectrogram",
                    egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.pixels),
                    egui::TextureOptions::LINEAR,
                )
            });
            app.inspector.view = (0.0, data.duration_s.max(1e-3));
            app.inspector.region = None;
            app.inspector.data = Some(data);
            if app.shared.play_when_loaded {
                app.shared.play_when_loaded = false;
                let from = app.inspector.pending_seek.take().unwrap_or(0.0);
                start_playback(app, from);
            }
        }
        Err(e) => {
            app.inspector.data = None;
            app.inspector.texture = None;
            app.inspector.error = Some(e.to_string());
        }
    }
}

/// Writes the spectrogram picture to `path` as PNG.
pub fn export_png(app: &mut EarmarkApp, path: &Path) {
    let Some(Ok(img)) = app.inspector.data.as_ref().map(|d| &d.image) else {
        app.shared.notices.push("No spectrogram to export.".into());
        return;
    };
    match write_png(path, img) {
        Ok(()) => app.inspector.exported = Some(path.to_path_buf()),
        Err(e) => app.shared.notices.push(format!("{}: {e}", path.display())),
    }
}

fn write_png(path: &Path, img: &crate::dsp::image::RgbaImage) -> std::io::Result<()> {
    let tmp = path.with_extension("png.partial");
    let file = std::fs::File::create(&tmp)?;
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(file),
        img.width as u32,
        img.height as u32,
    );
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&img.pixels))
        .map_err(std::io::Error::other)?;
    std::fs::rename(&tmp, path)
}

/// Draws the inspector.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let Some((id, path)) = app.shared.selected.clone() else {
        ui.add_space(ui.max_rect().height() * 0.4);
        ui.vertical_centered(|ui| {
            ui.weak("Select a file to see and hear it. Up/Down move, Space plays, Enter finds similar sounds.");
        });
        return;
    };
    if let Some(e) = &app.inspector.error {
        ui.heading(file_name(&path));
        ui.colored_label(
            ui.visuals().error_fg_color,
            format!("This file cannot be shown: {e}"),
        );
        return;
    }
    let Some(data) = app.inspector.data.as_ref().filter(|d| d.file_id == id) else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("Loading {}…", file_name(&path)));
        });
        return;
    };
    let file_id = data.file_id;
    let duration = data.duration_s;
    let facts = format!(
        "{} · {} Hz · {} ch · {}",
        format_duration(data.duration_s),
        data.sample_rate,
        data.channels,
        data.codec
    );
    let image_problem = data.image.as_ref().err().cloned();
    let stored = data.stored_tags.clone();
    let personal = data.personal_tags.clone();
    let predicted = data.predicted.clone();
    let playing_this = app.shared.player_file == Some(file_id);
    let (playing, position) = match &app.shared.player {
        PlayerSlot::Open(p) if playing_this => (p.is_playing(), Some(p.position_s())),
        _ => (false, None),
    };
    ui.horizontal(|ui| {
        ui.heading(file_name(&path));
        ui.weak(facts);
    });
    ui.horizontal(|ui| {
        let label = if playing { "Pause" } else { "Play" };
        if ui.button(label).on_hover_text("Space").clicked() {
            app.push(Command::PlayPause);
        }
        if let Some(p) = position {
            ui.monospace(format!(
                "{} / {}",
                format_duration(p),
                format_duration(duration)
            ));
        }
        let similar = if app.inspector.region.is_some() {
            "Find similar to region"
        } else {
            "Find similar"
        };
        if ui.button(similar).on_hover_text("Enter").clicked() {
            app.push(Command::FindSimilar);
        }
        if ui.button("Export PNG…").clicked() {
            app.push(Command::ExportPngDialog);
        }
        if ui
            .button("Reveal")
            .on_hover_text("Open the folder in the file manager")
            .clicked()
        {
            app.push(Command::Reveal(path.clone()));
        }
        if let Some((a, b)) = app.inspector.region {
            ui.weak(format!("Region {a:.2}–{b:.2} s"));
        }
        if app.tags.adding.is_none() {
            crate::gui::panels::tags::add_tag_ui(ui, app, file_id);
        }
    });
    if app.tags.adding.is_some() {
        crate::gui::panels::tags::add_tag_ui(ui, app, file_id);
    }
    if let PlayerSlot::Failed(reason) = &app.shared.player {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("No sound: {reason}. Playback is off; everything else works."),
        );
    }
    tags_ui(ui, &stored, predicted.as_ref());
    personal_ui(ui, &personal);
    if let Some(p) = &app.inspector.exported {
        ui.weak(format!("Saved {}", p.display()));
    }
    if let Some(why) = image_problem {
        ui.weak(format!("No spectrogram: {why}"));
    }
    if playing {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(30));
    }
    let peaks = app
        .inspector
        .data
        .as_mut()
        .map(|d| std::mem::take(&mut d.peaks))
        .unwrap_or_default();
    let timeline = app.inspector.data.as_mut().and_then(|d| d.timeline.take());
    let timeline_height = timeline.as_ref().map_or(0.0, |(_, t)| {
        Timeline::height(t) + ui.spacing().item_spacing.y
    });
    let widget = Spectrogram {
        texture: app.inspector.texture.as_ref(),
        peaks: &peaks,
        duration_s: duration,
        view: &mut app.inspector.view,
        region: &mut app.inspector.region,
        playhead: position,
    };
    let spectrogram_size = egui::vec2(
        ui.available_width(),
        (ui.available_height() - timeline_height).max(0.0),
    );
    let action = ui.allocate_ui(spectrogram_size, |ui| widget.ui(ui)).inner;
    app.inspector.timeline_hover = timeline.as_ref().and_then(|(source, tags)| {
        Timeline {
            tags,
            source,
            view: app.inspector.view,
            gutter: HZ_AXIS,
        }
        .ui(ui)
    });
    if let Some(d) = app.inspector.data.as_mut() {
        d.peaks = peaks;
        d.timeline = timeline;
    }
    if let Some(SpectrogramAction::Seek(t)) = action {
        app.push(Command::Seek(t));
    }
}

type TagList = Vec<(String, f32)>;

fn tags_ui(ui: &mut egui::Ui, stored: &TagList, predicted: Option<&Result<TagList, String>>) {
    ui.horizontal_wrapped(|ui| {
        if !stored.is_empty() {
            ui.label("Tags:");
            for (label, score) in stored {
                ui.label(
                    egui::RichText::new(format!("{label} {score:.2}"))
                        .background_color(ui.visuals().faint_bg_color),
                );
            }
        }
        match predicted {
            Some(Ok(tags)) => {
                ui.label("Predicted:");
                for (label, p) in tags {
                    ui.add(
                        egui::ProgressBar::new(*p)
                            .desired_width(90.0)
                            .text(format!("{label} {p:.2}")),
                    );
                }
            }
            Some(Err(why)) => {
                ui.weak(format!("No predicted tags: {why}"));
            }
            None if stored.is_empty() => {
                ui.weak("No tags yet: choose a tag head in Models.");
            }
            None => {}
        }
    });
}

/// The file's personal tags: examples carry 1.00, predictions their probability.
fn personal_ui(ui: &mut egui::Ui, personal: &TagList) {
    if personal.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Your tags:");
        for (label, p) in personal {
            ui.add(
                egui::ProgressBar::new(*p)
                    .desired_width(90.0)
                    .fill(ui.visuals().selection.bg_fill)
                    .text(format!("{label} {p:.2}")),
            );
        }
    });
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}
