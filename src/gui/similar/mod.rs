//! The Similar tab: ranked results of "Find similar" with score bars. A click or Up/Down
//! auditions a result; each row can be revealed in the file manager, and paths copied.
//!
//! [`SimilarPanel`] keeps the query in flight, the last results, the result being auditioned
//! and the clip index kept between queries (until the next scan or model change). The handler
//! starts queries ([`SimilarPanel::start`], [`SimilarPanel::show_search`]) and auditions.

use std::path::Path;
use std::sync::Arc;

use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::search::{SimilarHit, SimilarRequest, SimilarResults, find_similar};
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::search::ClipIndex;

/// A search on its way.
pub type SearchTask = Task<crate::Result<SimilarResults>>;

/// The Similar tab's state.
#[derive(Default)]
pub struct SimilarPanel {
    /// A query in flight.
    task: Option<SearchTask>,
    /// The last results.
    results: Option<SimilarResults>,
    /// Why the last query failed.
    error: Option<String>,
    /// The result being auditioned.
    current: Option<usize>,
    /// The clip index kept between queries: (model id, index).
    index: Option<(i64, Arc<ClipIndex>)>,
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

    /// The clip index kept from the last query, for the next one.
    pub fn index(&self) -> Option<(i64, Arc<ClipIndex>)> {
        self.index.clone()
    }

    /// The clip index is out of date (a scan ended, the model changed).
    pub fn forget_index(&mut self) {
        self.index = None;
    }

    /// Starts a query for the selected file, or for `region` (seconds) of it. `Err` says why
    /// there is nothing to search for; without a model the tab shows why.
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
        };
        self.show_search(Task::on(&cx.service, "earmark-similar", ctx, move || {
            find_similar(req)
        }));
        Ok(())
    }

    /// Shows the results of `task` once it is done (a query started elsewhere, e.g. for what
    /// the Live tab heard).
    pub fn show_search(&mut self, task: SearchTask) {
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

    /// Draws the tab; what the user asked for comes back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, _cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.task.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Searching…");
            });
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(results) = self.results.as_ref() else {
            if self.task.is_none() && self.error.is_none() {
                ui.weak("Select a file and press Enter (or \"Find similar\") to list the sounds closest to it.");
            }
            return commands;
        };
        let query = file_name(&results.query);
        let heading = match results.region {
            Some((a, b)) => format!("Similar to {query}, {a:.2}–{b:.2} s"),
            None => format!("Similar to {query}"),
        };
        let hits = &results.hits;
        ui.horizontal(|ui| {
            ui.heading(heading);
            if ui
                .button("Copy paths")
                .on_hover_text("All result paths, one per line")
                .clicked()
            {
                commands.push(Command::CopyPaths(
                    hits.iter().map(|h| h.path.clone()).collect(),
                ));
            }
        });
        ui.weak("Click or Up/Down to audition.");
        if hits.is_empty() {
            ui.label("No other analysed file to compare with.");
            return commands;
        }
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| {
                for (i, hit) in hits.iter().enumerate() {
                    ui.horizontal(|ui| {
                        hit_ui(ui, i, hit, self.current == Some(i), &mut commands);
                    });
                }
            });
        commands
    }
}

/// One result row: rank, score bar, name (click to audition), Reveal and Copy.
fn hit_ui(
    ui: &mut egui::Ui,
    i: usize,
    hit: &SimilarHit,
    current: bool,
    commands: &mut Vec<Command>,
) {
    ui.monospace(format!("{:>3}", i + 1));
    ui.add(
        egui::ProgressBar::new(hit.score.clamp(0.0, 1.0))
            .desired_width(120.0)
            .text(format!("{:.3}", hit.score)),
    );
    let name = file_name(&hit.path);
    let label = match hit.at_s {
        Some(at) => format!("{name}  @ {at:.1} s"),
        None => name,
    };
    if ui
        .selectable_label(current, label)
        .on_hover_text(&hit.path)
        .clicked()
    {
        commands.push(Command::AuditionResult(i));
    }
    if ui.small_button("Reveal").clicked() {
        commands.push(Command::Reveal(hit.path.clone()));
    }
    if ui
        .small_button("Copy")
        .on_hover_text("Copy the path")
        .clicked()
    {
        commands.push(Command::CopyPaths(vec![hit.path.clone()]));
    }
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}
