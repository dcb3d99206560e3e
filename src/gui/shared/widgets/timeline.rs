//! The tag timeline under the spectrogram: one row per top label of the file, each ~1 s segment a
//! cell coloured by its score, on the spectrogram's time axis (same left margin, same visible
//! range, so zooming the spectrogram zooms the timeline). Hovering a cell shows its score.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, Vec2};

use crate::library::head_tags::SegmentTags;
use crate::library::tagging::SEGMENT_SECONDS;

/// Height of one label row.
pub const ROW_HEIGHT: f32 = 14.0;

/// The timeline of one file.
pub struct Timeline<'a> {
    /// The stored scores.
    pub tags: &'a SegmentTags,
    /// The head they come from.
    pub source: &'a str,
    /// Visible time range (seconds), as the spectrogram shows it.
    pub view: (f64, f64),
    /// Width of the label gutter (the spectrogram's frequency axis).
    pub gutter: f32,
    /// The file's length in seconds (0 when unknown).
    pub duration: f64,
}

/// Where cell `i` ends. A timeline of one cell scores the whole clip at once (a clip shorter
/// than a segment, or than what tag heads hear: see [`crate::library::analyse::MIN_TAG_SECONDS`]),
/// so its cell spans the file; otherwise a segment ends where the next begins.
fn cell_end(tags: &SegmentTags, i: usize, duration: f64) -> f64 {
    if tags.count() == 1 && duration > 0.0 {
        duration
    } else {
        f64::from(tags.end_of(i, SEGMENT_SECONDS))
    }
}

/// The cell under time `t` (seconds) in `tags` of a file `duration` s long: the segment index.
pub fn segment_at(tags: &SegmentTags, t: f64, duration: f64) -> Option<usize> {
    (0..tags.count()).find(|&i| t >= f64::from(tags.starts[i]) && t < cell_end(tags, i, duration))
}

/// What hovering `row` at time `t` says.
pub fn hover_text(tags: &SegmentTags, row: usize, t: f64, duration: f64) -> Option<String> {
    let label = tags.labels.get(row)?;
    let i = segment_at(tags, t, duration)?;
    Some(format!(
        "{label}: {:.3} at {:.2}–{:.2} s",
        tags.row(row)[i],
        tags.starts[i],
        cell_end(tags, i, duration)
    ))
}

/// Cell colour: the faint background blended towards the accent by the score relative to the
/// highest score of the timeline (softmax heads give small absolute values).
fn cell_colour(bg: Color32, accent: Color32, score: f32, max: f32) -> Color32 {
    let k = if max > 0.0 {
        (score / max).clamp(0.0, 1.0).sqrt()
    } else {
        0.0
    };
    bg.lerp_to_gamma(accent, k)
}

impl Timeline<'_> {
    /// Total height for `tags`.
    pub fn height(tags: &SegmentTags) -> f32 {
        tags.labels.len() as f32 * ROW_HEIGHT + 2.0
    }

    /// Draws the rows; returns the hover text when the pointer is over a cell.
    pub fn ui(self, ui: &mut egui::Ui) -> Option<String> {
        let size = Vec2::new(ui.available_width(), Self::height(self.tags));
        let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
        response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Tag timeline"));
        let plot = Rect::from_min_max(Pos2::new(rect.left() + self.gutter, rect.top()), rect.max);
        let (v0, v1) = self.view;
        let span = (v1 - v0).max(1e-9);
        let x_of = |t: f64| plot.left() + ((t - v0) / span) as f32 * plot.width();
        let painter = ui.painter_at(rect);
        let visuals = ui.visuals();
        let (bg, accent) = (visuals.extreme_bg_color, visuals.selection.bg_fill);
        painter.rect_filled(plot, 0.0, bg);
        let max = self.tags.scores.iter().copied().fold(0.0, f32::max);
        let font = egui::FontId::proportional(10.0);
        for (row, label) in self.tags.labels.iter().enumerate() {
            let top = rect.top() + row as f32 * ROW_HEIGHT;
            for (i, &score) in self.tags.row(row).iter().enumerate() {
                let (a, b) = (
                    x_of(f64::from(self.tags.starts[i])),
                    x_of(cell_end(self.tags, i, self.duration)),
                );
                if b < plot.left() || a > plot.right() {
                    continue;
                }
                let cell = Rect::from_min_max(
                    Pos2::new(a.max(plot.left()), top + 1.0),
                    Pos2::new(b.min(plot.right()), top + ROW_HEIGHT - 1.0),
                );
                painter.rect_filled(cell, 0.0, cell_colour(bg, accent, score, max));
            }
            let name: String = label.chars().take(7).collect();
            painter.text(
                Pos2::new(rect.left() + 2.0, top + ROW_HEIGHT / 2.0),
                egui::Align2::LEFT_CENTER,
                name,
                font.clone(),
                visuals.weak_text_color(),
            );
        }
        painter.rect_stroke(
            plot,
            0.0,
            Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
            egui::StrokeKind::Inside,
        );
        let hover = response.hover_pos().and_then(|p| {
            let row = ((p.y - rect.top()) / ROW_HEIGHT).floor();
            if row < 0.0 {
                return None;
            }
            if p.x < plot.left() {
                return self.tags.labels.get(row as usize).cloned();
            }
            let t = v0 + f64::from((p.x - plot.left()) / plot.width()) * span;
            hover_text(self.tags, row as usize, t, self.duration)
        });
        if let Some(text) = &hover {
            response.on_hover_text_at_pointer(format!("{text} ({})", self.source));
        }
        hover
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hover_names_the_cell_under_the_pointer() {
        let tags = SegmentTags {
            starts: vec![0.0, 0.96, 1.92],
            labels: vec!["Music".into(), "Speech".into()],
            scores: vec![0.1, 0.2, 0.3, 0.6, 0.5, 0.4],
        };
        assert_eq!(segment_at(&tags, 1.0, 2.5), Some(1));
        assert_eq!(segment_at(&tags, 2.5, 2.5), Some(2));
        assert_eq!(segment_at(&tags, 3.0, 2.5), None);
        assert_eq!(
            hover_text(&tags, 1, 0.5, 2.5).as_deref(),
            Some("Speech: 0.600 at 0.00–0.96 s")
        );
        assert_eq!(hover_text(&tags, 2, 0.5, 2.5), None);
        // One cell: the whole clip, however long the file.
        let whole = SegmentTags {
            starts: vec![0.0],
            labels: vec!["kick".into()],
            scores: vec![0.9],
        };
        assert_eq!(segment_at(&whole, 0.99, 1.0), Some(0));
        assert_eq!(segment_at(&whole, 1.0, 1.0), None);
        assert_eq!(
            hover_text(&whole, 0, 0.2, 0.3).as_deref(),
            Some("kick: 0.900 at 0.00–0.30 s")
        );
        let (bg, acc) = (Color32::BLACK, Color32::WHITE);
        assert_eq!(cell_colour(bg, acc, 0.6, 0.6), acc);
        assert_eq!(cell_colour(bg, acc, 0.0, 0.6), bg);
    }
}
