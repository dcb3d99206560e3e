//! The inspector's picture of a file: a min/max/RMS waveform strip over the spectrogram of the
//! file's whole band (a GPU texture, mel-spaced from 0 Hz to the file's Nyquist frequency), with
//! a Hz axis (as many labels as fit without overlapping), the model's band marked, a time axis,
//! the playhead and the selected region.
//!
//! Mouse: the wheel zooms around the pointer (Shift or a horizontal wheel scrolls), a click
//! moves the playhead, a drag selects a region, a right-drag pans, a double click shows all.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, TextureHandle, Vec2};

use super::waveform::{self, WaveBucket};

/// Width of the frequency axis (the timeline under the spectrogram uses the same margin).
pub const HZ_AXIS: f32 = 44.0;
/// Height of the time axis.
const TIME_AXIS: f32 = 16.0;
/// Height of the waveform strip.
const WAVE_HEIGHT: f32 = 48.0;
/// Least height of the spectrogram itself: below it the picture says nothing.
pub const MIN_SPECTROGRAM_HEIGHT: f32 = 96.0;
/// Least height of the whole widget (waveform, spectrogram, time axis).
pub const MIN_HEIGHT: f32 = WAVE_HEIGHT + 2.0 + MIN_SPECTROGRAM_HEIGHT + TIME_AXIS;
/// Least distance between two Hz labels (their text is 10 points high).
const LABEL_GAP: f32 = 14.0;
/// The Hz labels the axis may show, lowest first.
const HZ_TICKS: [(f32, &str); 10] = [
    (50.0, "50"),
    (100.0, "100"),
    (200.0, "200"),
    (500.0, "500"),
    (1000.0, "1k"),
    (2000.0, "2k"),
    (4000.0, "4k"),
    (8000.0, "8k"),
    (16000.0, "16k"),
    (32000.0, "32k"),
];
/// Shortest visible span in seconds.
const MIN_SPAN_S: f64 = 0.05;

/// What the user did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpectrogramAction {
    /// Clicked at this time (seconds).
    Seek(f64),
}

/// The frequencies the picture spans (mel-spaced rows from 0 Hz up), and the model's band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrequencyAxis {
    /// The top row's frequency: the file's Nyquist frequency.
    pub top_hz: f32,
    /// The highest frequency the model hears, marked on the picture when below the top.
    pub model_top_hz: Option<f32>,
}

/// The mel value of `hz` (HTK formula).
pub fn mel(hz: f32) -> f32 {
    2595.0 * (1.0 + hz.max(0.0) / 700.0).log10()
}

impl FrequencyAxis {
    /// Height fraction (0 = bottom, 1 = top) of `hz`.
    pub fn fraction(&self, hz: f32) -> f32 {
        mel(hz) / mel(self.top_hz).max(1e-6)
    }

    /// The frequency at height fraction `f`.
    pub fn hz_at(&self, f: f32) -> f32 {
        let m = f * mel(self.top_hz);
        700.0 * (10f32.powf(m / 2595.0) - 1.0)
    }

    /// The Hz labels that fit in a spectrogram `height` points high: (label, distance from the
    /// bottom), lowest first, none nearer than [`LABEL_GAP`] to another or to the edges.
    pub fn labels(&self, height: f32) -> Vec<(&'static str, f32)> {
        let mut out: Vec<(&'static str, f32)> = Vec::new();
        for (hz, label) in HZ_TICKS {
            let y = self.fraction(hz) * height;
            let clear_of_last = out.last().is_none_or(|(_, last)| y - last >= LABEL_GAP);
            if hz < self.top_hz
                && y >= LABEL_GAP / 2.0
                && y <= height - LABEL_GAP / 2.0
                && clear_of_last
            {
                out.push((label, y));
            }
        }
        out
    }
}

/// The widget's inputs and the view state it changes.
pub struct Spectrogram<'a> {
    /// The spectrogram texture (the whole file).
    pub texture: Option<&'a TextureHandle>,
    /// Seconds the texture's width covers (its last column may reach past the end).
    pub texture_span_s: f64,
    /// The frequencies the texture's rows span.
    pub axis: FrequencyAxis,
    /// Waveform min/max/RMS per bucket over the whole file.
    pub wave: &'a [WaveBucket],
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

impl Spectrogram<'_> {
    /// Draws the widget in all the space left and handles the mouse.
    pub fn ui(self, ui: &mut egui::Ui) -> Option<SpectrogramAction> {
        // Exactly the space left: asking for more would grow a resizable panel frame by frame.
        let size = ui.available_size().max(Vec2::ZERO);
        if size.x < HZ_AXIS + 20.0 || size.y < MIN_HEIGHT - 1.0 {
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
                // The wheel zoomed the picture: it does not also scroll what holds it.
                ui.input_mut(|i| i.smooth_scroll_delta = Vec2::ZERO);
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
        waveform::paint(&painter, visuals, wave, self.wave, duration, (v0, v1));
        // Spectrogram texture, cropped to the view.
        if let Some(tex) = self.texture {
            let covered = self.texture_span_s.max(1e-6);
            let uv = Rect::from_min_max(
                Pos2::new((v0 / covered) as f32, 0.0),
                Pos2::new((v1 / covered) as f32, 1.0),
            );
            painter.image(tex.id(), spec, uv, Color32::WHITE);
        }
        // Frequency axis.
        let text = visuals.text_color();
        let font = egui::FontId::proportional(10.0);
        for (label, up) in self.axis.labels(spec.height()) {
            let y = spec.bottom() - up;
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
        // The model's band: what the model hears ends at this line.
        if let Some(model_top) = self.axis.model_top_hz
            && model_top < self.axis.top_hz * 0.98
        {
            let y = spec.bottom() - self.axis.fraction(model_top) * spec.height();
            let colour = Color32::from_rgb(90, 200, 230);
            painter.extend(egui::Shape::dashed_line(
                &[Pos2::new(spec.left(), y), Pos2::new(spec.right(), y)],
                Stroke::new(1.0, colour),
                6.0,
                4.0,
            ));
            painter.text(
                Pos2::new(spec.right() - 4.0, y - 2.0),
                egui::Align2::RIGHT_BOTTOM,
                format!("model band \u{2264} {}", khz(model_top)),
                font.clone(),
                colour,
            );
        }
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

/// "8 kHz", "7.5 kHz", "800 Hz".
fn khz(hz: f32) -> String {
    if hz >= 1000.0 {
        let k = hz / 1000.0;
        if (k - k.round()).abs() < 0.05 {
            format!("{:.0} kHz", k)
        } else {
            format!("{k:.1} kHz")
        }
    } else {
        format!("{hz:.0} Hz")
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
    }

    #[test]
    fn the_axis_spans_the_whole_band_and_labels_never_overlap() {
        let axis = FrequencyAxis {
            top_hz: 22_050.0,
            model_top_hz: Some(8000.0),
        };
        assert_eq!(axis.fraction(0.0), 0.0);
        assert!((axis.fraction(22_050.0) - 1.0).abs() < 1e-6);
        assert!((axis.hz_at(axis.fraction(8000.0)) - 8000.0).abs() < 1.0);
        // 8 kHz sits well below the top of a 44.1 kHz file's band.
        assert!(axis.fraction(8000.0) < 0.8);
        for height in [20.0, 40.0, 60.0, MIN_SPECTROGRAM_HEIGHT, 200.0, 600.0] {
            let labels = axis.labels(height);
            assert!(
                labels.windows(2).all(|w| w[1].1 - w[0].1 >= LABEL_GAP),
                "{height}: {labels:?}"
            );
            assert!(labels.iter().all(|(_, y)| *y >= 0.0 && *y <= height));
        }
        // Fewer labels when short, and a readable few at the least height.
        assert!(axis.labels(40.0).len() < axis.labels(400.0).len());
        assert!(axis.labels(MIN_SPECTROGRAM_HEIGHT).len() >= 4);
        let tall: Vec<&str> = axis.labels(600.0).iter().map(|l| l.0).collect();
        assert!(tall.contains(&"16k") && tall.contains(&"1k"), "{tall:?}");
        // A 16 kHz file's band ends at 8 kHz: no label at or above its top.
        let narrow = FrequencyAxis {
            top_hz: 8000.0,
            model_top_hz: Some(8000.0),
        };
        assert!(
            narrow
                .labels(600.0)
                .iter()
                .all(|(l, _)| *l != "8k" && *l != "16k")
        );
        assert_eq!(khz(8000.0), "8 kHz");
        assert_eq!(khz(7600.0), "7.6 kHz");
        assert_eq!(khz(800.0), "800 Hz");
    }
}
