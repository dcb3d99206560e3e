//! The Similar panel: ranked results of "Find similar" with score bars. A click or Up/Down
//! auditions a result; each row can be revealed in the file manager, and paths copied.

use std::sync::Arc;

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::search::{SimilarHit, SimilarRequest, SimilarResults, find_similar};
use crate::gui::shared::state::Panel;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::search::ClipIndex;

/// The panel's live state.
#[derive(Default)]
pub struct SimilarState {
    /// A query in flight.
    pub task: Option<Task<crate::Result<SimilarResults>>>,
    /// The last results.
    pub results: Option<SimilarResults>,
    /// Why the last query failed.
    pub error: Option<String>,
    /// The result being auditioned.
    pub current: Option<usize>,
    /// The clip index kept between queries: (model id, index).
    pub index: Option<(i64, Arc<ClipIndex>)>,
}

impl SimilarState {
    /// The hits shown.
    pub fn hits(&self) -> &[SimilarHit] {
        self.results.as_ref().map_or(&[], |r| r.hits.as_slice())
    }
}

/// Starts a query for the selection (or its region).
pub fn start(app: &mut EarmarkApp, ctx: &egui::Context) {
    let Some((file_id, path)) = app.shared.selected.clone() else {
        app.shared.notices.push("Select a file first.".into());
        return;
    };
    let Some(model) = app.shared.model.active.clone() else {
        app.similar.error = Some(app.shared.model_line());
        app.shared.state.panel = Panel::Similar;
        return;
    };
    let region = app
        .inspector
        .region
        .filter(|(a, b)| b > a)
        .map(|(a, b)| (a as f32, b as f32));
    let req = SimilarRequest {
        library: app.shared.library_path.clone(),
        model,
        file_id,
        path,
        region,
        index: app.similar.index.clone(),
    };
    app.similar.error = None;
    app.similar.task = Some(Task::spawn("earmark-similar", ctx, move || {
        find_similar(req)
    }));
    app.shared.state.panel = Panel::Similar;
}

/// Takes finished results.
pub fn poll(app: &mut EarmarkApp) {
    if let Some(result) = poll_slot(&mut app.similar.task) {
        match result {
            Ok(r) => {
                app.similar.index.clone_from(&r.index);
                app.similar.current = None;
                app.similar.results = Some(r);
            }
            Err(e) => app.similar.error = Some(e.to_string()),
        }
    }
}

/// Moves the audition cursor by `step` and plays that result.
pub fn move_result(app: &mut EarmarkApp, _ctx: &egui::Context, step: i32) {
    let n = app.similar.hits().len();
    if n == 0 {
        return;
    }
    let next = match app.similar.current {
        Some(i) => (i as i64 + i64::from(step)).clamp(0, n as i64 - 1) as usize,
        None => 0,
    };
    audition(app, next);
}

fn audition(app: &mut EarmarkApp, i: usize) {
    let Some(hit) = app.similar.hits().get(i).cloned() else {
        return;
    };
    app.similar.current = Some(i);
    if let Some(at) = hit.at_s {
        app.inspector.pending_seek = Some(f64::from(at));
    }
    app.push(Command::Audition(hit.file_id, hit.path));
}

/// Draws the panel.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    if app.similar.task.is_some() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Searching…");
        });
    }
    if let Some(e) = &app.similar.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let Some(results) = app.similar.results.as_ref() else {
        if app.similar.task.is_none() && app.similar.error.is_none() {
            ui.weak("Select a file and press Enter (or \"Find similar\") to list the sounds closest to it.");
        }
        return;
    };
    let query = std::path::Path::new(&results.query)
        .file_name()
        .map_or_else(
            || results.query.clone(),
            |n| n.to_string_lossy().into_owned(),
        );
    let heading = match results.region {
        Some((a, b)) => format!("Similar to {query}, {a:.2}–{b:.2} s"),
        None => format!("Similar to {query}"),
    };
    let hits = results.hits.clone();
    ui.horizontal(|ui| {
        ui.heading(heading);
        if ui
            .button("Copy paths")
            .on_hover_text("All result paths, one per line")
            .clicked()
        {
            app.push(Command::CopyPaths(
                hits.iter().map(|h| h.path.clone()).collect(),
            ));
        }
    });
    ui.weak("Click or Up/Down to audition.");
    if hits.is_empty() {
        ui.label("No other analysed file to compare with.");
        return;
    }
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            for (i, hit) in hits.iter().enumerate() {
                ui.horizontal(|ui| {
                    ui.monospace(format!("{:>3}", i + 1));
                    ui.add(
                        egui::ProgressBar::new(hit.score.clamp(0.0, 1.0))
                            .desired_width(120.0)
                            .text(format!("{:.3}", hit.score)),
                    );
                    let name = std::path::Path::new(&hit.path)
                        .file_name()
                        .map_or_else(|| hit.path.clone(), |n| n.to_string_lossy().into_owned());
                    let label = match hit.at_s {
                        Some(at) => format!("{name}  @ {at:.1} s"),
                        None => name,
                    };
                    if ui
                        .selectable_label(app.similar.current == Some(i), label)
                        .on_hover_text(&hit.path)
                        .clicked()
                    {
                        clicked = Some(i);
                    }
                    if ui.small_button("Reveal").clicked() {
                        app.push(Command::Reveal(hit.path.clone()));
                    }
                    if ui
                        .small_button("Copy")
                        .on_hover_text("Copy the path")
                        .clicked()
                    {
                        app.push(Command::CopyPaths(vec![hit.path.clone()]));
                    }
                });
            }
        });
    if let Some(i) = clicked {
        audition(app, i);
    }
}
