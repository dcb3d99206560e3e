//! A score bar whose text stays legible in the light and the dark theme: the text is the
//! theme's strongest text colour, drawn over a fill and a track chosen so that both contrast
//! with it (WCAG contrast ≥ 4.5, checked by the tests for egui's two themes). egui's own
//! progress bar draws the selection stroke colour over the selection fill, pale on light blue
//! in the light theme.
//!
//! To screen readers and tests it is a progress indicator labelled with its text.

use eframe::egui::{self, Color32, Rect, Sense, Vec2, Visuals};

/// A horizontal bar filled to `fraction` with `text` on it.
pub struct ScoreBar {
    fraction: f32,
    text: String,
    width: f32,
}

impl ScoreBar {
    /// A bar filled to `fraction` (clamped to 0–1) saying `text`.
    pub fn new(fraction: f32, text: impl Into<String>) -> Self {
        ScoreBar {
            fraction: if fraction.is_finite() {
                fraction.clamp(0.0, 1.0)
            } else {
                0.0
            },
            text: text.into(),
            width: 96.0,
        }
    }

    /// Width in points.
    pub fn width(mut self, width: f32) -> Self {
        self.width = width;
        self
    }
}

/// The bar's colours for `visuals`: (track, fill, text).
pub fn colours(visuals: &Visuals) -> (Color32, Color32, Color32) {
    let text = visuals.strong_text_color();
    let track = visuals.extreme_bg_color;
    // The selection colour, pulled towards the track until the text reads on it.
    let mut fill = visuals.selection.bg_fill;
    for _ in 0..8 {
        if contrast(fill, text) >= 4.5 {
            break;
        }
        fill = mix(fill, track, 0.3);
    }
    (track, fill, text)
}

/// The WCAG contrast ratio of two opaque colours (1 = none, 21 = black on white).
pub fn contrast(a: Color32, b: Color32) -> f32 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Relative luminance (WCAG 2).
fn luminance(c: Color32) -> f32 {
    let lin = |v: u8| {
        let s = f32::from(v) / 255.0;
        if s <= 0.039_28 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b())
}

fn mix(a: Color32, b: Color32, t: f32) -> Color32 {
    let m = |x: u8, y: u8| (f32::from(x) * (1.0 - t) + f32::from(y) * t).round() as u8;
    Color32::from_rgb(m(a.r(), b.r()), m(a.g(), b.g()), m(a.b(), b.b()))
}

impl egui::Widget for ScoreBar {
    fn ui(self, ui: &mut egui::Ui) -> egui::Response {
        let height = ui.spacing().interact_size.y;
        let (rect, response) =
            ui.allocate_exact_size(Vec2::new(self.width, height), Sense::hover());
        let text = self.text;
        let fraction = self.fraction;
        response.widget_info(|| {
            let mut info = egui::WidgetInfo::labeled(egui::Role::ProgressIndicator, true, &text);
            info.value = Some((f64::from(fraction) * 100.0).round());
            info
        });
        if ui.is_rect_visible(rect) {
            let (track, fill, colour) = colours(ui.visuals());
            let radius = rect.height() / 2.0;
            let painter = ui.painter_at(rect);
            painter.rect_filled(rect, radius, track);
            let filled = Rect::from_min_size(rect.min, Vec2::new(rect.width() * fraction, height));
            if fraction > 0.0 {
                painter.rect_filled(filled, radius, fill);
            }
            let galley = ui.painter().layout_no_wrap(
                text,
                egui::TextStyle::Button.resolve(ui.style()),
                colour,
            );
            let at =
                rect.left_center() + Vec2::new(ui.spacing().item_spacing.x, -galley.size().y / 2.0);
            painter.galley(at, galley, colour);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_on_the_fill_and_the_track_in_both_themes() {
        for (name, visuals) in [("dark", Visuals::dark()), ("light", Visuals::light())] {
            let (track, fill, text) = colours(&visuals);
            assert!(
                contrast(fill, text) >= 4.5,
                "{name}: text on the fill {}",
                contrast(fill, text)
            );
            assert!(
                contrast(track, text) >= 4.5,
                "{name}: text on the track {}",
                contrast(track, text)
            );
            assert!(
                contrast(fill, track) >= 1.2,
                "{name}: the fill must show on the track"
            );
        }
        // egui's own progress bar text (the selection stroke on the selection fill) is what
        // the light theme made pale.
        let light = Visuals::light();
        let theirs = contrast(light.selection.bg_fill, light.selection.stroke.color);
        let (_, fill, text) = colours(&light);
        assert!(contrast(fill, text) > theirs + 3.0, "{theirs}");
        assert!((contrast(Color32::BLACK, Color32::WHITE) - 21.0).abs() < 0.01);
    }
}
