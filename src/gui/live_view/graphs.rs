//! Drawing the Live tab's pictures: the scrolling spectrogram, the tags now (per head and the
//! personal tags) and their timeline over the last minute.

use eframe::egui::{self, Color32, Pos2, Rect, Sense};

use crate::gui::live_view::LivePanel;
use crate::gui::live_view::picture::LIVE_COLUMNS;
use crate::gui::live_view::timeline::{TIMELINE_S, seconds_to_samples};
use crate::gui::shared::view::ViewCtx;

/// Height of the spectrogram strip.
const SPECTROGRAM_HEIGHT: f32 = 170.0;
/// Height of the time labels under the spectrogram and the timeline.
const AXIS_HEIGHT: f32 = 14.0;
/// Height of one timeline row.
const ROW_HEIGHT: f32 = 16.0;
/// Width of the timeline's label column.
const LABEL_WIDTH: f32 = 130.0;

impl LivePanel {
    /// The newest seconds of the input as a scrolling spectrogram.
    pub(super) fn spectrogram_ui(&mut self, ui: &mut egui::Ui) {
        if self.picture.dirty() || self.texture.is_none() {
            let image = self.picture.image();
            match &mut self.texture {
                Some(t) => t.set(image, egui::TextureOptions::LINEAR),
                None => {
                    self.texture = Some(ui.ctx().load_texture(
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
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Live spectrogram")
        });
        let rect = Rect::from_min_max(
            outer.min,
            Pos2::new(outer.right(), outer.bottom() - AXIS_HEIGHT),
        );
        let painter = ui.painter_at(outer);
        if let Some(t) = &self.texture {
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

    /// The latest top tags of every source.
    pub(super) fn tags_ui(&self, ui: &mut egui::Ui, cx: &ViewCtx) {
        ui.strong("Tags now");
        if self.tags.is_empty() {
            let note = if self.active() {
                "Tags appear after the first two seconds.".to_string()
            } else if let Some(why) = cx.head_in_force().why_none() {
                format!("{why} Personal tags show here too.")
            } else {
                "Start listening to see tags.".to_string()
            };
            ui.weak(note);
            return;
        }
        for source in &self.tags {
            ui.small(&source.source);
            for tag in &source.tags {
                ui.horizontal(|ui| {
                    ui.add(
                        egui::ProgressBar::new(tag.score.clamp(0.0, 1.0))
                            .desired_width(140.0)
                            .text(format!("{:.2}", tag.score)),
                    );
                    let shown = ui.label(&tag.label);
                    if let Some(d) = crate::model::bundled::definition(&tag.label) {
                        shown.on_hover_text(d);
                    }
                });
            }
        }
    }

    /// The top tags of the last minute, one row per label.
    pub(super) fn timeline_ui(&self, ui: &mut egui::Ui) {
        ui.strong("Last minute");
        let rows = self.timeline.rows();
        if rows.is_empty() {
            ui.weak("The top tags of every update, over the last minute.");
            return;
        }
        let width = ui.available_width().max(LABEL_WIDTH + 40.0);
        let height = rows.len() as f32 * ROW_HEIGHT + AXIS_HEIGHT;
        let (rect, response) = ui.allocate_exact_size(egui::vec2(width, height), Sense::hover());
        response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Tag timeline"));
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
        let now = self.position;
        let hop_px = plot.width() * seconds_to_samples(0.5) as f32 / span;
        let accent = visuals.selection.bg_fill;
        for point in self.timeline.points() {
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
}
