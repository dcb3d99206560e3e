//! Drawing the Map tab: its tool bar (compute, colour by a tag, show all) and the scatter
//! plot with hover names, wheel zoom around the pointer, drag to pan and click to audition.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Vec2};

use super::{MapPanel, MapPoint};
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::JobKind;
use crate::gui::shared::view::ViewCtx;

/// Points within this many pixels of the pointer count as hovered.
const PICK_RADIUS: f32 = 7.0;

impl MapPanel {
    /// Draws the tab; what the user asked for comes back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.wants_refresh(cx) {
            commands.push(Command::RefreshMap);
        }
        ui.horizontal(|ui| {
            let busy = cx.jobs.active(JobKind::Map);
            if ui
                .add_enabled(
                    !busy && cx.model.active.is_some(),
                    egui::Button::new("Compute map"),
                )
                .on_hover_text("Lay the library out so that similar sounds sit together")
                .clicked()
            {
                commands.push(Command::ComputeMap);
            }
            let mut tag = cx.state.map_tag.clone();
            let current = tag.clone().unwrap_or_else(|| "no tag".into());
            egui::ComboBox::from_label("Colour by")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut tag, None, "no tag");
                    for label in &cx.snapshot.labels {
                        ui.selectable_value(&mut tag, Some(label.clone()), label);
                    }
                });
            if tag != cx.state.map_tag {
                commands.push(Command::ColourMapBy(tag));
            }
            if ui.button("Show all").clicked() {
                self.zoom = 1.0;
                self.centre = Vec2::splat(0.5);
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(points) = self.points.take() else {
            if cx.model.active.is_none() {
                ui.label(cx.model_line());
            } else {
                ui.spinner();
            }
            return commands;
        };
        if points.is_empty() {
            ui.label("No map yet: press \"Compute map\" once the library is analysed.");
        } else {
            commands.extend(self.scatter_ui(ui, cx, &points));
        }
        self.points = Some(points);
        commands
    }

    fn scatter_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, points: &[MapPoint]) -> Vec<Command> {
        let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Map"));
        let side = rect.width().min(rect.height()).max(1.0);
        if response.hovered() {
            let (scroll, hover) = ui.input(|i| (i.smooth_scroll_delta.y, i.pointer.hover_pos()));
            if scroll != 0.0 {
                let before = hover.map(|p| to_map(p, rect, side, self.zoom, self.centre));
                self.zoom = (self.zoom * (scroll * 0.003).exp()).clamp(0.5, 200.0);
                if let (Some(p), Some(b)) = (hover, before) {
                    let after = to_map(p, rect, side, self.zoom, self.centre);
                    self.centre += b - after;
                }
            }
        }
        if response.dragged() {
            self.centre -= response.drag_delta() / (side * self.zoom);
        }
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
        let hover = response.hover_pos();
        let mut nearest: Option<(f32, usize)> = None;
        let selected = cx.selected.as_ref().map(|s| s.0);
        let grey = ui.visuals().weak_text_color();
        for (i, p) in points.iter().enumerate() {
            let at = to_screen(p.pos, rect, side, self.zoom, self.centre);
            if !rect.contains(at) {
                continue;
            }
            let colour = if self.tagged.contains(&p.file_id) {
                Color32::from_rgb(255, 150, 40)
            } else if self.coloured_by.is_some() {
                grey
            } else {
                Color32::from_rgb(90, 160, 255)
            };
            painter.circle_filled(at, 3.0, colour);
            if selected == Some(p.file_id) {
                painter.circle_stroke(at, 6.0, egui::Stroke::new(2.0, Color32::WHITE));
            }
            if let Some(h) = hover {
                let d = h.distance(at);
                if d < PICK_RADIUS && nearest.is_none_or(|(best, _)| d < best) {
                    nearest = Some((d, i));
                }
            }
        }
        let Some((_, i)) = nearest else {
            return Vec::new();
        };
        let p = &points[i];
        let name = std::path::Path::new(&p.path)
            .file_name()
            .map_or_else(|| p.path.clone(), |n| n.to_string_lossy().into_owned());
        let at = to_screen(p.pos, rect, side, self.zoom, self.centre);
        painter.text(
            at + Vec2::new(8.0, -8.0),
            egui::Align2::LEFT_BOTTOM,
            name,
            egui::FontId::proportional(13.0),
            ui.visuals().strong_text_color(),
        );
        if response.clicked() {
            return vec![Command::Audition(p.file_id, p.path.clone())];
        }
        Vec::new()
    }
}

fn to_screen(pos: [f32; 2], rect: Rect, side: f32, zoom: f32, centre: Vec2) -> Pos2 {
    rect.center() + (Vec2::new(pos[0], 1.0 - pos[1]) - centre) * side * zoom
}

fn to_map(p: Pos2, rect: Rect, side: f32, zoom: f32, centre: Vec2) -> Vec2 {
    (p - rect.center()) / (side * zoom) + centre
}
