//! The Similar tab: ranked results of "Find similar" with readable score bars, each result's
//! title, artist and album when its tags name them and its folder, and the command line's
//! filters (folder, tag, duration range). A click or Up/Down auditions a result; each row can be
//! revealed in the file manager, and paths copied.
//!
//! [`SimilarPanel`] keeps the query in flight, the last results and the request that gave them
//! (so a change of filters runs it again), the result being auditioned and the clip index kept
//! between queries (until the next scan or model change). The handler starts queries
//! ([`SimilarPanel::start`], [`SimilarPanel::refine`], [`SimilarPanel::show_search`]) and
//! auditions; the drawing is in `view`, the filter bar in `filters`.

mod filters;
mod view;

use std::sync::Arc;

use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::search::{
    SimilarFilters, SimilarHit, SimilarRequest, SimilarResults, find_similar,
};
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::search::ClipIndex;

pub use filters::FilterBar;

/// A search on its way.
pub type SearchTask = Task<crate::Result<SimilarResults>>;

/// The Similar tab's state.
#[derive(Default)]
pub struct SimilarPanel {
    /// A query in flight.
    task: Option<SearchTask>,
    /// The last results.
    results: Option<SimilarResults>,
    /// The file query the results answer (none for a query started elsewhere).
    last: Option<SimilarRequest>,
    /// Why the last query failed.
    error: Option<String>,
    /// The result being auditioned.
    current: Option<usize>,
    /// The clip index kept between queries: (model id, index).
    index: Option<(i64, Arc<ClipIndex>)>,
    /// The filters being chosen.
    bar: FilterBar,
}

impl SimilarPanel {
    /// The hits shown.
    pub fn hits(&self) -> &[SimilarHit] {
        self.results.as_ref().map_or(&[], |r| r.hits.as_slice())
    }

    /// Whether a query is under way.
    pub fn is_searching(&self) -> bool {
        self.task.is_some()
    }

    /// Why the last query failed.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The last results, once a query has ended.
    pub fn results(&self) -> Option<&SimilarResults> {
        self.results.as_ref()
    }

    /// The filters chosen in the tab.
    pub fn filters(&self) -> SimilarFilters {
        self.bar.filters()
    }

    /// The clip index kept from the last query, for the next one.
    pub fn index(&self) -> Option<(i64, Arc<ClipIndex>)> {
        self.index.clone()
    }

    /// The clip index is out of date (a scan ended, the model changed).
    pub fn forget_index(&mut self) {
        self.index = None;
    }

    /// Starts a query for the selected file, or for `region` (seconds) of it, with the tab's
    /// filters. `Err` says why there is nothing to search for; without a model the tab shows
    /// why.
    pub fn start(
        &mut self,
        ctx: &egui::Context,
        cx: &ViewCtx,
        region: Option<(f64, f64)>,
    ) -> Result<(), String> {
        let Some((file_id, path)) = cx.selected.clone() else {
            return Err("Select a file first.".into());
        };
        let Some(model) = cx.model.active.clone() else {
            self.error = Some(cx.model_line());
            return Ok(());
        };
        let req = SimilarRequest {
            library: cx.library_path.clone(),
            model,
            file_id,
            path,
            region: region
                .filter(|(a, b)| b > a)
                .map(|(a, b)| (a as f32, b as f32)),
            index: self.index(),
            filters: self.bar.filters(),
        };
        self.run(ctx, cx, req);
        Ok(())
    }

    /// Runs the last file query again with the tab's filters (they changed). Nothing happens
    /// when the results shown did not come from a file query.
    pub fn refine(&mut self, ctx: &egui::Context, cx: &ViewCtx) {
        let Some(mut req) = self.last.clone() else {
            return;
        };
        let Some(model) = cx.model.active.clone() else {
            self.error = Some(cx.model_line());
            return;
        };
        req.model = model;
        req.index = self.index();
        req.filters = self.bar.filters();
        self.run(ctx, cx, req);
    }

    fn run(&mut self, ctx: &egui::Context, cx: &ViewCtx, req: SimilarRequest) {
        self.last = Some(SimilarRequest {
            index: None,
            ..req.clone()
        });
        self.error = None;
        self.task = Some(Task::on(&cx.service, "earmark-similar", ctx, move || {
            find_similar(req)
        }));
    }

    /// Shows the results of `task` once it is done (a query started elsewhere, e.g. for what
    /// the Live tab heard; the tab's filters do not apply to it).
    pub fn show_search(&mut self, task: SearchTask) {
        self.last = None;
        self.error = None;
        self.task = Some(task);
    }

    /// Takes finished results.
    pub fn poll(&mut self, _cx: &ViewCtx) -> Vec<Command> {
        if let Some(result) = poll_slot(&mut self.task) {
            match result {
                Ok(r) => {
                    self.index.clone_from(&r.index);
                    self.current = None;
                    self.results = Some(r);
                }
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        Vec::new()
    }

    /// The result `step` rows from the one being auditioned (the first when none is).
    pub fn step(&self, step: i32) -> Option<usize> {
        let n = self.hits().len();
        if n == 0 {
            return None;
        }
        Some(match self.current {
            Some(i) => (i as i64 + i64::from(step)).clamp(0, n as i64 - 1) as usize,
            None => 0,
        })
    }

    /// Marks result `i` as auditioned and returns it.
    pub fn audition(&mut self, i: usize) -> Option<SimilarHit> {
        let hit = self.hits().get(i).cloned()?;
        self.current = Some(i);
        Some(hit)
    }
}
