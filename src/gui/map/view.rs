//! Drawing the Map tab: its tool bar (compute, colour by folder / top tag / a tag, show all),
//! the legend, and the scatter plot with hover names, wheel zoom around the pointer, drag to
//! pan and click to audition.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Vec2};

use super::{Colouring, MapPanel, MapPoint, PALETTE};
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::JobKind;
use crate::gui::shared::state::MapColour;
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
            let mut mode = cx.state.map_colour.clone();
            let label = ui.label("Colour by");
            egui::ComboBox::from_id_salt("map-colour")
                .selected_text(mode_name(&mode))
                .truncate()
                .width(140.0)
                .show_ui(ui, |ui| {
                    for choice in [MapColour::Folder, MapColour::TopTag] {
                        let name = mode_name(&choice);
                        ui.selectable_value(&mut mode, choice, name);
                    }
                    for label in &cx.snapshot.labels {
                        let choice = MapColour::Tag(label.clone());
                        let name = mode_name(&choice);
                        ui.selectable_value(&mut mode, choice, name);
                    }
                })
                .response
                .labelled_by(label.id);
            if mode != cx.state.map_colour {
                commands.push(Command::ColourMapBy(mode));
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
            ui.label(if cx.jobs.active(JobKind::Map) {
                "Laying the library out…"
            } else {
                "No map yet: it is computed after each scan, or press \"Compute map\"."
            });
        } else {
            self.update_colouring(cx, &points);
            legend_ui(ui, &self.colouring);
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
        let colours: Vec<Color32> = self
            .colouring
            .groups
            .iter()
            .map(|g| g.colour.map_or(grey, |c| PALETTE[c]))
            .collect();
        // Larger dots for smaller libraries.
        let radius = match points.len() {
            0..200 => 5.0,
            200..5000 => 3.5,
            _ => 2.5,
        };
        // The grey points first, so the coloured ones stay visible on top.
        let mut order: Vec<usize> = (0..points.len()).collect();
        let group = |i: usize| self.colouring.of_point.get(i).copied();
        order.sort_by_key(|&i| group(i).is_none_or(|g| self.colouring.groups[g].colour.is_some()));
        for i in order {
            let p = &points[i];
            let at = to_screen(p.pos, rect, side, self.zoom, self.centre);
            if !rect.contains(at) {
                continue;
            }
            let colour = group(i)
                .and_then(|g| colours.get(g))
                .copied()
                .unwrap_or(grey);
            painter.circle_filled(at, radius, colour);
            if selected == Some(p.file_id) {
                let ring = egui::Stroke::new(2.0, ui.visuals().strong_text_color());
                painter.circle_stroke(at, radius + 3.0, ring);
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

/// The name of a colouring choice.
fn mode_name(mode: &MapColour) -> String {
    match mode {
        MapColour::Folder => "Folder".into(),
        MapColour::TopTag => "Top tag".into(),
        MapColour::Tag(tag) => format!("Tag: {tag}"),
    }
}

/// The legend: a swatch and "name (count)" per group, wrapped over as many lines as needed.
fn legend_ui(ui: &mut egui::Ui, colouring: &Colouring) {
    let grey = ui.visuals().weak_text_color();
    ui.horizontal_wrapped(|ui| {
        for g in &colouring.groups {
            let (rect, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
            let colour = g.colour.map_or(grey, |c| PALETTE[c]);
            ui.painter().circle_filled(rect.center(), 4.5, colour);
            let files = if g.count == 1 { "file" } else { "files" };
            ui.label(format!("{} ({})", g.name, g.count))
                .on_hover_text(format!("{} {files}", g.count));
            ui.add_space(6.0);
        }
    });
}

fn to_screen(pos: [f32; 2], rect: Rect, side: f32, zoom: f32, centre: Vec2) -> Pos2 {
    rect.center() + (Vec2::new(pos[0], 1.0 - pos[1]) - centre) * side * zoom
}

fn to_map(p: Pos2, rect: Rect, side: f32, zoom: f32, centre: Vec2) -> Vec2 {
    (p - rect.center()) / (side * zoom) + centre
}
