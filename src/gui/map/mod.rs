//! The Map tab: the stored 2-D layout of the library (PCA then t-SNE, computed by the map job)
//! as a scatter plot, coloured by a chosen tag. Hover names a point, a click selects and plays
//! it, the wheel zooms around the pointer and a drag pans.
//!
//! [`MapPanel`] keeps the points and the colouring it read and the view (zoom, centre); the
//! drawing is in `view`. The reads run as tasks the command handler starts
//! ([`MapPanel::refresh`]); the map job itself is the handler's.

mod view;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use eframe::egui::{self, Vec2};

use crate::gui::shared::active_model::ActiveModel;
use crate::gui::shared::command::Command;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::library::Library;

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

/// The Map tab's state.
pub struct MapPanel {
    task: Option<Task<crate::Result<Vec<MapPoint>>>>,
    tag_task: Option<Task<crate::Result<HashSet<i64>>>>,
    /// The points, once read.
    points: Option<Vec<MapPoint>>,
    /// Files carrying the colouring tag.
    tagged: HashSet<i64>,
    /// The tag `tagged` was read for.
    coloured_by: Option<String>,
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

impl MapPanel {
    /// Re-read the map next time it is shown (after a scan or a map job).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Shows why the map cannot be computed.
    pub fn set_error(&mut self, why: String) {
        self.error = Some(why);
    }

    /// Whether the points or the colouring are out of date and no read of them is under way.
    fn wants_refresh(&self, cx: &ViewCtx) -> bool {
        let points = self.stale && self.task.is_none() && cx.model.active.is_some();
        let colour = self.coloured_by != cx.state.map_tag && self.tag_task.is_none();
        points || colour
    }

    /// Starts reading what is out of date: the points of the active model, and the files
    /// carrying the colouring tag.
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
        if self.coloured_by != cx.state.map_tag && self.tag_task.is_none() {
            self.coloured_by.clone_from(&cx.state.map_tag);
            self.tagged.clear();
            if let Some(tag) = cx.state.map_tag.clone() {
                let library = cx.library_path.clone();
                self.tag_task = Some(Task::on(&cx.service, "earmark-map-tag", ctx, move || {
                    let lib = Library::open(&library)?;
                    Ok(lib.files_with_tag(&tag, 0.0)?.into_iter().collect())
                }));
            }
        }
    }

    /// Takes finished reads.
    pub fn poll(&mut self, _cx: &ViewCtx) -> Vec<Command> {
        if let Some(r) = poll_slot(&mut self.task) {
            match r {
                Ok(p) => {
                    self.points = Some(p);
                    self.error = None;
                }
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        if let Some(Ok(ids)) = poll_slot(&mut self.tag_task) {
            self.tagged = ids;
        }
        Vec::new()
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
