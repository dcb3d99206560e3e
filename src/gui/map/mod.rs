//! The Map panel: the stored 2-D layout of the library (PCA then t-SNE, computed by the map
//! job) as a scatter plot, coloured by a chosen tag. Hover names a point, a click selects and
//! plays it, the wheel zooms around the pointer and a drag pans.

use std::collections::{HashMap, HashSet};

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Vec2};

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::shared::job_list::JobKind;
use crate::gui::models::ActiveModel;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::library::Library;
use crate::search::map::{MapOptions, compute_map};

/// Points within this many pixels of the pointer count as hovered.
const PICK_RADIUS: f32 = 7.0;

/// A point of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// File id.
    pub file_id: i64,
    /// Position, both axes scaled to 0–1.
    pub pos: [f32; 2],
    /// The file.
    pub path: String,
}

/// The panel's live state.
pub struct MapState {
    task: Option<Task<crate::Result<Vec<MapPoint>>>>,
    tag_task: Option<Task<crate::Result<HashSet<i64>>>>,
    /// The points, once read.
    pub points: Option<Vec<MapPoint>>,
    /// Files carrying the colouring tag.
    pub tagged: HashSet<i64>,
    coloured_by: Option<String>,
    /// Why the map cannot be shown.
    pub error: Option<String>,
    /// Zoom (1 = all) and the centre of the view in map units.
    zoom: f32,
    centre: Vec2,
    stale: bool,
}

impl Default for MapState {
    fn default() -> Self {
        MapState {
            task: None,
            tag_task: None,
            points: None,
            tagged: HashSet::new(),
            coloured_by: None,
            error: None,
            zoom: 1.0,
            centre: Vec2::splat(0.5),
            stale: true,
        }
    }
}

impl MapState {
    /// Re-read the map next time it is shown (after a scan or a map job).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }
}

fn read_points(library: &std::path::Path, model: &ActiveModel) -> crate::Result<Vec<MapPoint>> {
    let lib = Library::open(library)?;
    let Some(model_id) = model.id_in(&lib)? else {
        return Ok(Vec::new());
    };
    let raw = lib.map_points(model_id)?;
    let paths: HashMap<i64, String> = lib
        .all_known_files()?
        .into_iter()
        .map(|k| (k.id, k.path))
        .collect();
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for &(_, x, y) in &raw {
        lo = [lo[0].min(x), lo[1].min(y)];
        hi = [hi[0].max(x), hi[1].max(y)];
    }
    let scale = |v: f32, k: usize| {
        let span = hi[k] - lo[k];
        if span > 0.0 {
            0.05 + 0.9 * (v - lo[k]) / span
        } else {
            0.5
        }
    };
    Ok(raw
        .into_iter()
        .filter_map(|(id, x, y)| {
            paths.get(&id).map(|p| MapPoint {
                file_id: id,
                pos: [scale(x, 0), scale(y, 1)],
                path: p.clone(),
            })
        })
        .collect())
}

/// Queues the map job for the active model.
pub fn submit(app: &mut EarmarkApp) {
    let (Some(queue), Some(model)) = (&app.shared.queue, app.shared.model.active.clone()) else {
        app.map.error = Some(app.shared.model_line());
        return;
    };
    let library = app.shared.library_path.clone();
    let handle = queue.submit("Map", move |ctx| {
        let mut lib = Library::open(&library)?;
        let model_id = model.id_in(&lib)?.ok_or_else(|| {
            crate::Error::Model("the library has no analyses by this model yet: scan first".into())
        })?;
        let n = compute_map(
            &mut lib,
            model_id,
            model.identity.clip_dim,
            &MapOptions::default(),
            ctx,
        )?;
        Ok(format!("{n} files laid out"))
    });
    match handle {
        Ok(h) => app.shared.jobs.push("Map".into(), JobKind::Map, h),
        Err(e) => app.shared.notices.push(e.to_string()),
    }
}

/// Takes finished reads.
pub fn poll(app: &mut EarmarkApp) {
    if let Some(r) = poll_slot(&mut app.map.task) {
        match r {
            Ok(p) => {
                app.map.points = Some(p);
                app.map.error = None;
            }
            Err(e) => app.map.error = Some(e.to_string()),
        }
    }
    if let Some(Ok(ids)) = poll_slot(&mut app.map.tag_task) {
        app.map.tagged = ids;
    }
}

fn refresh(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.map.stale
        && app.map.task.is_none()
        && let Some(model) = app.shared.model.active.clone()
    {
        app.map.stale = false;
        let library = app.shared.library_path.clone();
        app.map.task = Some(Task::spawn("earmark-map-read", ctx, move || {
            read_points(&library, &model)
        }));
    }
    if app.map.coloured_by != app.shared.state.map_tag && app.map.tag_task.is_none() {
        app.map.coloured_by.clone_from(&app.shared.state.map_tag);
        app.map.tagged.clear();
        if let Some(tag) = app.shared.state.map_tag.clone() {
            let library = app.shared.library_path.clone();
            app.map.tag_task = Some(Task::spawn("earmark-map-tag", ctx, move || {
                let lib = Library::open(&library)?;
                Ok(lib.files_with_tag(&tag, 0.0)?.into_iter().collect())
            }));
        }
    }
}

/// Draws the panel.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    refresh(app, ui.ctx());
    ui.horizontal(|ui| {
        let busy = app.shared.jobs.active(JobKind::Map);
        if ui
            .add_enabled(
                !busy && app.shared.model.active.is_some(),
                egui::Button::new("Compute map"),
            )
            .on_hover_text("Lay the library out so that similar sounds sit together")
            .clicked()
        {
            app.push(Command::ComputeMap);
        }
        let current = app.shared.state.map_tag.clone().unwrap_or_else(|| "no tag".into());
        egui::ComboBox::from_label("Colour by")
            .selected_text(current)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut app.shared.state.map_tag, None, "no tag");
                for label in &app.shared.snapshot.labels {
                    ui.selectable_value(&mut app.shared.state.map_tag, Some(label.clone()), label);
                }
            });
        if ui.button("Show all").clicked() {
            app.map.zoom = 1.0;
            app.map.centre = Vec2::splat(0.5);
        }
    });
    if let Some(e) = &app.map.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let Some(points) = app.map.points.take() else {
        if app.shared.model.active.is_none() {
            ui.label(app.shared.model_line());
        } else {
            ui.spinner();
        }
        return;
    };
    if points.is_empty() {
        ui.label("No map yet: press \"Compute map\" once the library is analysed.");
    } else {
        scatter_ui(ui, app, &points);
    }
    app.map.points = Some(points);
}

fn scatter_ui(ui: &mut egui::Ui, app: &mut EarmarkApp, points: &[MapPoint]) {
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Map"));
    let side = rect.width().min(rect.height()).max(1.0);
    let map = &mut app.map;
    if response.hovered() {
        let (scroll, hover) = ui.input(|i| (i.smooth_scroll_delta.y, i.pointer.hover_pos()));
        if scroll != 0.0 {
            let before = hover.map(|p| to_map(p, rect, side, map.zoom, map.centre));
            map.zoom = (map.zoom * (scroll * 0.003).exp()).clamp(0.5, 200.0);
            if let (Some(p), Some(b)) = (hover, before) {
                let after = to_map(p, rect, side, map.zoom, map.centre);
                map.centre += b - after;
            }
        }
    }
    if response.dragged() {
        map.centre -= response.drag_delta() / (side * map.zoom);
    }
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
    let hover = response.hover_pos();
    let mut nearest: Option<(f32, usize)> = None;
    let selected = app.shared.selected.as_ref().map(|s| s.0);
    let grey = ui.visuals().weak_text_color();
    for (i, p) in points.iter().enumerate() {
        let at = to_screen(p.pos, rect, side, map.zoom, map.centre);
        if !rect.contains(at) {
            continue;
        }
        let colour = if map.tagged.contains(&p.file_id) {
            Color32::from_rgb(255, 150, 40)
        } else if map.coloured_by.is_some() {
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
    if let Some((_, i)) = nearest {
        let p = &points[i];
        let name = std::path::Path::new(&p.path)
            .file_name()
            .map_or_else(|| p.path.clone(), |n| n.to_string_lossy().into_owned());
        let at = to_screen(p.pos, rect, side, map.zoom, map.centre);
        painter.text(
            at + Vec2::new(8.0, -8.0),
            egui::Align2::LEFT_BOTTOM,
            name,
            egui::FontId::proportional(13.0),
            ui.visuals().strong_text_color(),
        );
        if response.clicked() {
            app.push(Command::Audition(p.file_id, p.path.clone()));
        }
    }
}

fn to_screen(pos: [f32; 2], rect: Rect, side: f32, zoom: f32, centre: Vec2) -> Pos2 {
    rect.center() + (Vec2::new(pos[0], 1.0 - pos[1]) - centre) * side * zoom
}

fn to_map(p: Pos2, rect: Rect, side: f32, zoom: f32, centre: Vec2) -> Vec2 {
    (p - rect.center()) / (side * zoom) + centre
}
