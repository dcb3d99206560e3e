//! The Map tab: the stored 2-D layout of the library (PCA then t-SNE, computed by the map job
//! on request and after each scan) as a scatter plot, coloured from the start — by folder, by
//! each file's best tag, or by whether it carries a chosen tag — with a legend. Hover names a
//! point, a click selects and plays it, the wheel zooms around the pointer and a drag pans.
//!
//! [`MapPanel`] keeps the points it read, their colouring (worked out from the library's rows
//! when the points, the rows or the choice change, not per frame) and the view (zoom, centre);
//! the colouring is in `colours`, the drawing in `view`. Reading the points is a task the
//! command handler starts ([`MapPanel::refresh`]); the map job itself is the handler's.

mod colours;
mod view;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use eframe::egui::{self, Vec2};

use crate::gui::shared::active_model::ActiveModel;
use crate::gui::shared::command::Command;
use crate::gui::shared::rows::Row;
use crate::gui::shared::state::MapColour;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::library::Library;

pub use colours::{Colouring, Group, PALETTE, colour};

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

/// What a colouring was worked out from: the rows, the choice, and the points read.
#[derive(Clone)]
struct ColourKey {
    rows: Arc<Vec<Row>>,
    mode: MapColour,
    points: u64,
}

impl ColourKey {
    fn matches(&self, rows: &Arc<Vec<Row>>, mode: &MapColour, points: u64) -> bool {
        Arc::ptr_eq(&self.rows, rows) && self.mode == *mode && self.points == points
    }
}

/// The Map tab's state.
pub struct MapPanel {
    task: Option<Task<crate::Result<Vec<MapPoint>>>>,
    /// The points, once read.
    points: Option<Vec<MapPoint>>,
    /// How many times points were read (what a colouring belongs to).
    generation: u64,
    /// What the colouring was worked out from (none yet).
    colour_key: Option<ColourKey>,
    /// The points' colouring.
    colouring: Colouring,
    /// Why the map cannot be shown.
    error: Option<String>,
    /// Zoom (1 = all).
    zoom: f32,
    /// The centre of the view in map units.
    centre: Vec2,
    /// The points must be read again.
    stale: bool,
}

impl Default for MapPanel {
    fn default() -> Self {
        MapPanel {
            task: None,
            points: None,
            generation: 0,
            colour_key: None,
            colouring: Colouring::default(),
            error: None,
            zoom: 1.0,
            centre: Vec2::splat(0.5),
            stale: true,
        }
    }
}

impl MapPanel {
    /// Re-read the map next time it is shown (after a scan or a map job).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Shows why the map cannot be computed.
    pub fn set_error(&mut self, why: String) {
        self.error = Some(why);
    }

    /// Whether the points are out of date and no read of them is under way.
    fn wants_refresh(&self, cx: &ViewCtx) -> bool {
        self.stale && self.task.is_none() && cx.model.active.is_some()
    }

    /// Starts reading the points of the active model when they are out of date.
    pub fn refresh(&mut self, ctx: &egui::Context, cx: &ViewCtx) {
        if self.stale
            && self.task.is_none()
            && let Some(model) = cx.model.active.clone()
        {
            self.stale = false;
            let library = cx.library_path.clone();
            self.task = Some(Task::on(&cx.service, "earmark-map-read", ctx, move || {
                read_points(&library, &model)
            }));
        }
    }

    /// Takes finished reads.
    pub fn poll(&mut self, _cx: &ViewCtx) -> Vec<Command> {
        if let Some(r) = poll_slot(&mut self.task) {
            match r {
                Ok(p) => {
                    self.points = Some(p);
                    self.generation += 1;
                    self.error = None;
                }
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        Vec::new()
    }

    /// Works the points' colouring out again for the rows and choice of `cx`, when one of
    /// them (or the points) changed since.
    fn update_colouring(&mut self, cx: &ViewCtx, points: &[MapPoint]) {
        let rows = &cx.snapshot.rows;
        let mode = &cx.state.map_colour;
        let fresh = self
            .colour_key
            .as_ref()
            .is_some_and(|k| k.matches(rows, mode, self.generation));
        if !fresh {
            self.colouring = colour(points, rows, &cx.snapshot.labels, mode);
            self.colour_key = Some(ColourKey {
                rows: Arc::clone(rows),
                mode: mode.clone(),
                points: self.generation,
            });
        }
    }
}

/// The stored map of `model`, both axes scaled into 0.05–0.95.
fn read_points(library: &Path, model: &ActiveModel) -> crate::Result<Vec<MapPoint>> {
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
