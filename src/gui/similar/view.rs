//! Drawing the Similar tab: the filter bar, the heading with what the scores mean, and one
//! row per result — rank, score bar, the title (or file name), a line with artist, album,
//! folder and duration, Reveal and Copy.

use std::path::Path;

use eframe::egui;

use super::SimilarPanel;
use crate::gui::shared::command::Command;
use crate::gui::shared::rows::{Row, format_duration};
use crate::gui::shared::search::{SimilarFilters, SimilarHit, SimilarResults};
use crate::gui::shared::view::ViewCtx;
use crate::gui::shared::widgets::score_bar::ScoreBar;

/// Room kept right of a result's name for its Reveal and Copy buttons.
const BUTTONS_WIDTH: f32 = 124.0;

impl SimilarPanel {
    /// Draws the tab; what the user asked for comes back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.bar.ui(ui, cx) && self.last.is_some() {
            commands.push(Command::RefineSimilar);
        }
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
        heading_ui(ui, results, self.last.is_none(), &mut commands);
        let hits = &results.hits;
        if hits.is_empty() {
            ui.label(if results.filters.is_empty() {
                "No other analysed file to compare with."
            } else {
                "No file passes these filters."
            });
            return commands;
        }
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| {
                // Read once: a row wider than this would widen the next one.
                let right = ui.max_rect().right();
                for (i, hit) in hits.iter().enumerate() {
                    let row = row_of(cx, hit);
                    let line = Line {
                        i,
                        hit,
                        row,
                        current: self.current == Some(i),
                    };
                    ui.horizontal(|ui| {
                        hit_ui(ui, right, &line, results.typical, &mut commands);
                    });
                }
            });
        commands
    }
}

/// The heading, Copy paths, what the filters kept and what the scores mean.
fn heading_ui(
    ui: &mut egui::Ui,
    results: &SimilarResults,
    elsewhere: bool,
    commands: &mut Vec<Command>,
) {
    let query = file_name(&results.query);
    let heading = match results.region {
        Some((a, b)) => format!("Similar to {query}, {a:.2}–{b:.2} s"),
        None => format!("Similar to {query}"),
    };
    ui.horizontal_wrapped(|ui| {
        ui.heading(heading);
        if ui
            .button("Copy paths")
            .on_hover_text("All result paths, one per line")
            .clicked()
        {
            commands.push(Command::CopyPaths(
                results.hits.iter().map(|h| h.path.clone()).collect(),
            ));
        }
    });
    if !results.filters.is_empty() {
        ui.weak(format!("Only {}.", describe(&results.filters)));
    } else if elsewhere {
        ui.weak("The filters apply to searches for a file of the library.");
    }
    ui.weak(
        "Click or Up/Down to audition. Match: 0 % is as close as a typical file of this \
         library, 100 % the same sound.",
    )
    .on_hover_text(scale_help(results.typical));
}

/// The filters in words, e.g. "under drums/kicks, tagged kick, 0.5–2.0 s".
pub(super) fn describe(f: &SimilarFilters) -> String {
    let mut parts = Vec::new();
    if let Some(folder) = &f.folder {
        parts.push(format!("under {}", file_name(folder)));
    }
    if let Some(tag) = &f.tag {
        parts.push(format!("tagged {tag}"));
    }
    match (f.min_duration_s, f.max_duration_s) {
        (Some(a), Some(b)) => parts.push(format!("{a:.1}–{b:.1} s long")),
        (Some(a), None) => parts.push(format!("at least {a:.1} s long")),
        (None, Some(b)) => parts.push(format!("at most {b:.1} s long")),
        (None, None) => {}
    }
    parts.join(", ")
}

/// What the match scores mean, with this query's typical cosine.
fn scale_help(typical: Option<f32>) -> String {
    match typical {
        Some(t) => format!(
            "Match places each result among every file of the library compared with this query: \
             0 % is the typical (median) file, cosine similarity {t:.3} for this query; 100 % is \
             an identical sound (cosine 1). Raw cosine similarities of one model bunch closely \
             together, so they say little on their own."
        ),
        None => "The library is too small to say what is typical: the match is the cosine \
                 similarity itself."
            .into(),
    }
}

/// The library row of `hit` (rows are sorted by path).
fn row_of<'a>(cx: &'a ViewCtx, hit: &SimilarHit) -> Option<&'a Row> {
    let rows = cx.snapshot.rows.as_slice();
    let at = rows
        .binary_search_by(|r| r.path.as_str().cmp(&hit.path))
        .ok()?;
    rows.get(at).filter(|r| r.id == hit.file_id)
}

/// One result as shown.
struct Line<'a> {
    /// Its rank, from 0.
    i: usize,
    hit: &'a SimilarHit,
    /// Its library row, when the window has read it.
    row: Option<&'a Row>,
    /// Whether it is being auditioned.
    current: bool,
}

/// One result: rank, score bar, title (click to audition) over artist · album · folder ·
/// duration, then Reveal and Copy (right-aligned at `right`).
fn hit_ui(
    ui: &mut egui::Ui,
    right: f32,
    line: &Line,
    typical: Option<f32>,
    commands: &mut Vec<Command>,
) {
    let Line {
        i,
        hit,
        row,
        current,
    } = *line;
    ui.monospace(format!("{:>3}", i + 1));
    let percent = (hit.matched * 100.0).round();
    ui.add(ScoreBar::new(hit.matched, format!("{percent:.0} %")).width(80.0))
        .on_hover_text(format!(
            "Match {percent:.0} %: closer to the query than {:.1} % of the library's files \
             (cosine similarity {:.3}).\n\n{}",
            hit.closer_than * 100.0,
            hit.score,
            scale_help(typical)
        ));
    let (title, details) = describe_hit(hit, row);
    let room = (right - ui.cursor().left() - BUTTONS_WIDTH).max(120.0);
    ui.vertical(|ui| {
        // A fixed width, so that every row's buttons line up.
        ui.set_width(room);
        if ui
            .add(egui::Button::selectable(current, title).truncate())
            .on_hover_text(&hit.path)
            .clicked()
        {
            commands.push(Command::AuditionResult(i));
        }
        ui.add(egui::Label::new(egui::RichText::new(details).weak().small()).truncate());
    });
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

/// A result's name line (its title, else its file name; where the match is after a region
/// search) and its details line (artist · album · folder · duration, and the file name when
/// the title is shown).
pub(super) fn describe_hit(hit: &SimilarHit, row: Option<&Row>) -> (String, String) {
    let name = file_name(&hit.path);
    let media = row.map(|r| &r.media);
    let title = media
        .and_then(|m| m.title.clone())
        .filter(|t| !t.trim().is_empty());
    let mut first = title.clone().unwrap_or_else(|| name.clone());
    if let Some(at) = hit.at_s {
        first = format!("{first}  @ {at:.1} s");
    }
    let mut details: Vec<String> = Vec::new();
    if let Some(m) = media {
        details.extend(
            m.artist
                .iter()
                .chain(&m.album)
                .filter(|s| !s.trim().is_empty())
                .cloned(),
        );
    }
    match row {
        Some(r) => details.push(r.folder.clone()),
        None => details.extend(
            Path::new(&hit.path)
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
        ),
    }
    if let Some(d) = row.and_then(|r| r.duration_s) {
        details.push(format_duration(d));
    }
    if title.is_some() {
        details.push(name);
    }
    (first, details.join(" · "))
}

pub(super) fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::table::{MediaFacts, TableRow};
    use crate::search::ScoreScale;

    #[test]
    fn a_result_names_its_title_artist_album_folder_and_duration() {
        let row = crate::gui::shared::rows::make_row(TableRow {
            id: 7,
            path: "/m/music/coast/night.flac".into(),
            root: "/m/music".into(),
            duration_s: Some(201.5),
            status: "indexed".into(),
            error: None,
            top_tags: String::new(),
            media: MediaFacts {
                title: Some("Night Drive".into()),
                artist: Some("Sol Ray".into()),
                album: Some("Coastline".into()),
                ..MediaFacts::default()
            },
        });
        let scale = ScoreScale::default();
        let hit = SimilarHit::new(7, row.path.clone(), 0.9, &scale);
        let (name, details) = describe_hit(&hit, Some(&row));
        assert_eq!(name, "Night Drive");
        assert_eq!(
            details,
            "Sol Ray · Coastline · music/coast · 3:21.5 · night.flac"
        );
        let untagged = SimilarHit {
            at_s: Some(2.0),
            ..SimilarHit::new(8, "/m/kicks/k1.wav".into(), 0.5, &scale)
        };
        let (name, details) = describe_hit(&untagged, None);
        assert_eq!(
            (name.as_str(), details.as_str()),
            ("k1.wav  @ 2.0 s", "kicks")
        );
        let filters = SimilarFilters {
            folder: Some("/m/kicks".into()),
            tag: Some("kick".into()),
            min_duration_s: Some(0.5),
            max_duration_s: None,
        };
        assert_eq!(
            describe(&filters),
            "under kicks, tagged kick, at least 0.5 s long"
        );
    }
}
