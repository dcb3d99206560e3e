//! The inspector's picture of a file: a waveform overview strip over the log-mel spectrogram
//! (a GPU texture), with a Hz axis, a time axis, the playhead and the selected region.
//!
//! Mouse: the wheel zooms around the pointer (Shift or a horizontal wheel scrolls), a click
//! moves the playhead, a drag selects a region, a right-drag pans, a double click shows all.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, TextureHandle, Vec2};

use crate::dsp::band_centres_hz;

/// Width of the frequency axis (the timeline under the spectrogram uses the same margin).
pub const HZ_AXIS: f32 = 44.0;
/// Height of the time axis.
const TIME_AXIS: f32 = 16.0;
/// Height of the waveform strip.
const WAVE_HEIGHT: f32 = 44.0;
/// Shortest visible span in seconds.
const MIN_SPAN_S: f64 = 0.05;

/// What the user did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpectrogramAction {
    /// Clicked at this time (seconds).
    Seek(f64),
}

/// The widget's inputs and the view state it changes.
pub struct Spectrogram<'a> {
    /// The spectrogram texture (the whole file).
    pub texture: Option<&'a TextureHandle>,
    /// Waveform min/max per bucket over the whole file.
    pub peaks: &'a [(f32, f32)],
    /// Length of the file in seconds.
    pub duration_s: f64,
    /// Visible time range (seconds), changed by zoom and scroll.
    pub view: &'a mut (f64, f64),
    /// Selected region (seconds), changed by dragging.
    pub region: &'a mut Option<(f64, f64)>,
    /// Where playback is, if playing this file.
    pub playhead: Option<f64>,
}

/// Ticks about `px_per_unit` apart: a "nice" step for a span.
fn nice_step(span: f64, max_ticks: f64) -> f64 {
    let raw = span / max_ticks.max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// Fractional band index (0 = lowest) of frequency `hz`, by the band centres.
fn band_of(hz: f32, centres: &[f32]) -> f32 {
    match centres.iter().position(|&c| c >= hz) {
        Some(0) | None => 0.0,
        Some(i) => (i - 1) as f32 + (hz - centres[i - 1]) / (centres[i] - centres[i - 1]),
    }
}

impl Spectrogram<'_> {
    /// Draws the widget in all the space left and handles the mouse.
    pub fn ui(self, ui: &mut egui::Ui) -> Option<SpectrogramAction> {
        // Exactly the space left: asking for more would grow a resizable panel frame by frame.
        let size = ui.available_size().max(Vec2::ZERO);
        if size.x < HZ_AXIS + 20.0 || size.y < TIME_AXIS + WAVE_HEIGHT + 10.0 {
            ui.weak("Make the inspector larger to see the spectrogram.");
            return None;
        }
        let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Spectrogram"));
        let plot = Rect::from_min_max(
            Pos2::new(rect.left() + HZ_AXIS, rect.top()),
            Pos2::new(rect.right(), rect.bottom() - TIME_AXIS),
        );
        let wave = Rect::from_min_max(plot.min, Pos2::new(plot.right(), plot.top() + WAVE_HEIGHT));
        let spec = Rect::from_min_max(Pos2::new(plot.left(), wave.bottom() + 2.0), plot.max);
        let duration = self.duration_s.max(1e-6);
        let (v0, v1) = *self.view;
        let span = (v1 - v0).max(1e-9);
        let x_of = |t: f64| plot.left() + ((t - v0) / span) as f32 * plot.width();
        let t_of = |x: f32| v0 + f64::from((x - plot.left()) / plot.width()) * span;
        let mut action = None;

        // Zoom and scroll.
        if response.hovered() {
            let (scroll, shift, hover) = ui.input(|i| {
                (
                    i.smooth_scroll_delta,
                    i.modifiers.shift,
                    i.pointer.hover_pos(),
                )
            });
            if scroll != Vec2::ZERO {
                let (mut a, mut b) = (v0, v1);
                let pan = if shift { scroll.y } else { scroll.x };
                if pan != 0.0 {
                    let dt = -f64::from(pan / plot.width()) * span;
                    a += dt;
                    b += dt;
                }
                if !shift && scroll.y != 0.0 {
                    let at = hover.map_or((a + b) / 2.0, |p| t_of(p.x));
                    let factor = f64::from((-scroll.y * 0.003).exp());
                    a = at - (at - a) * factor;
                    b = at + (b - at) * factor;
                }
                *self.view = clamp_view(a, b, duration);
            }
        }
        if response.double_clicked() {
            *self.view = (0.0, duration);
        } else if response.clicked()
            && let Some(p) = response.interact_pointer_pos()
        {
            action = Some(SpectrogramAction::Seek(t_of(p.x).clamp(0.0, duration)));
            *self.region = None;
        }
        if response.dragged_by(egui::PointerButton::Primary)
            && let (Some(p), Some(origin)) = (
                response.interact_pointer_pos(),
                ui.input(|i| i.pointer.press_origin()),
            )
        {
            let (a, b) = (
                t_of(origin.x).clamp(0.0, duration),
                t_of(p.x).clamp(0.0, duration),
            );
            *self.region = Some((a.min(b), a.max(b)));
        }
        if response.dragged_by(egui::PointerButton::Secondary) {
            let dt = -f64::from(response.drag_delta().x / plot.width()) * span;
            *self.view = clamp_view(v0 + dt, v1 + dt, duration);
        }

        let painter = ui.painter_at(rect);
        let visuals = ui.visuals();
        painter.rect_filled(plot, 0.0, visuals.extreme_bg_color);
        // Waveform overview.
        if !self.peaks.is_empty() {
            let n = self.peaks.len() as f64;
            let mid = wave.center().y;
            let half = wave.height() / 2.0 - 1.0;
            let colour = visuals.widgets.active.fg_stroke.color;
            let mut x = wave.left();
            while x < wave.right() {
                let (t0, t1) = (t_of(x), t_of(x + 1.0));
                let i0 = ((t0 / duration) * n).floor().max(0.0) as usize;
                let i1 = (((t1 / duration) * n).ceil() as usize).min(self.peaks.len());
                if i0 < i1 {
                    let (lo, hi) = self.peaks[i0..i1]
                        .iter()
                        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &(a, b)| {
                            (l.min(a), h.max(b))
                        });
                    painter.line_segment(
                        [
                            Pos2::new(x, mid - hi.clamp(-1.0, 1.0) * half),
                            Pos2::new(x, mid - lo.clamp(-1.0, 1.0) * half + 0.5),
                        ],
                        Stroke::new(1.0, colour),
                    );
                }
                x += 1.0;
            }
        }
        // Spectrogram texture, cropped to the view.
        if let Some(tex) = self.texture {
            let uv = Rect::from_min_max(
                Pos2::new((v0 / duration) as f32, 0.0),
                Pos2::new((v1 / duration) as f32, 1.0),
            );
            painter.image(tex.id(), spec, uv, Color32::WHITE);
        }
        // Frequency axis.
        let centres = band_centres_hz();
        let text = visuals.text_color();
        let font = egui::FontId::proportional(10.0);
        for (hz, label) in [
            (100.0, "100"),
            (250.0, "250"),
            (500.0, "500"),
            (1000.0, "1k"),
            (2000.0, "2k"),
            (4000.0, "4k"),
            (7500.0, "7.5k"),
        ] {
            let band = band_of(hz, &centres);
            let y = spec.bottom() - (band + 0.5) / centres.len() as f32 * spec.height();
            painter.line_segment(
                [Pos2::new(spec.left() - 4.0, y), Pos2::new(spec.left(), y)],
                Stroke::new(1.0, text),
            );
            painter.text(
                Pos2::new(spec.left() - 6.0, y),
                egui::Align2::RIGHT_CENTER,
                label,
                font.clone(),
                text,
            );
        }
        painter.text(
            Pos2::new(rect.left() + 2.0, spec.top()),
            egui::Align2::LEFT_TOP,
            "Hz",
            font.clone(),
            text,
        );
        // Time axis.
        let step = nice_step(span, f64::from(plot.width() / 70.0));
        let mut t = (v0 / step).ceil() * step;
        while t <= v1 {
            let x = x_of(t);
            painter.line_segment(
                [
                    Pos2::new(x, plot.bottom()),
                    Pos2::new(x, plot.bottom() + 4.0),
                ],
                Stroke::new(1.0, text),
            );
            let label = if step < 1.0 {
                format!("{t:.2}s")
            } else {
                format!("{t:.0}s")
            };
            painter.text(
                Pos2::new(x, plot.bottom() + 4.0),
                egui::Align2::CENTER_TOP,
                label,
                font.clone(),
                text,
            );
            t += step;
        }
        // Region and playhead.
        if let Some((a, b)) = *self.region {
            let r = Rect::from_x_y_ranges(x_of(a)..=x_of(b).max(x_of(a) + 1.0), plot.y_range());
            painter.rect_filled(r, 0.0, Color32::from_rgba_unmultiplied(90, 160, 255, 60));
            painter.rect_stroke(
                r,
                0.0,
                Stroke::new(1.0, Color32::from_rgb(90, 160, 255)),
                egui::StrokeKind::Inside,
            );
        }
        if let Some(p) = self.playhead
            && p >= v0
            && p <= v1
        {
            let x = x_of(p);
            painter.line_segment(
                [Pos2::new(x, plot.top()), Pos2::new(x, plot.bottom())],
                Stroke::new(2.0, Color32::from_rgb(80, 230, 120)),
            );
        }
        action
    }
}

/// A view of at least [`MIN_SPAN_S`] kept inside the file.
pub fn clamp_view(a: f64, b: f64, duration: f64) -> (f64, f64) {
    let span = (b - a).clamp(MIN_SPAN_S.min(duration), duration);
    let start = a.clamp(0.0, (duration - span).max(0.0));
    (start, start + span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_stay_inside_the_file_and_ticks_are_round() {
        assert_eq!(clamp_view(-1.0, 2.0, 10.0), (0.0, 3.0));
        assert_eq!(clamp_view(9.0, 12.0, 10.0), (7.0, 10.0));
        assert_eq!(clamp_view(-5.0, 50.0, 10.0), (0.0, 10.0));
        assert_eq!(nice_step(10.0, 8.0), 2.0);
        assert_eq!(nice_step(1.0, 8.0), 0.2);
        assert_eq!(nice_step(300.0, 4.0), 100.0);
        let c = [100.0, 200.0, 400.0];
        assert_eq!(band_of(150.0, &c), 0.5);
        assert_eq!(band_of(300.0, &c), 1.5);
    }
}
