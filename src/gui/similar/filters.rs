//! The Similar tab's filter bar: which files may be results — under a folder (any folder of the
//! library, its subfolders included), carrying a tag, or within a duration range — as
//! `earmark similar --folder/--tag/--min-duration/--max-duration` has. A change runs the last
//! query again once the user has stopped dragging or typing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use eframe::egui;

use crate::gui::shared::rows::Row;
use crate::gui::shared::search::SimilarFilters;
use crate::gui::shared::view::ViewCtx;

/// The filters being chosen, and the folders to choose from.
#[derive(Debug, Default)]
pub struct FilterBar {
    /// The folder: (absolute path, as shown).
    folder: Option<(String, String)>,
    /// The tag.
    tag: Option<String>,
    /// Shortest duration in seconds (0: any).
    min_s: f64,
    /// Longest duration in seconds (0: any).
    max_s: f64,
    /// A choice changed and the results do not show it yet.
    pending: bool,
    /// The library's folders, for the rows they were read from.
    folders: Folders,
}

/// Every folder holding library files, and each of its parents up to its library root.
#[derive(Debug, Default)]
struct Folders {
    /// The rows they were read from.
    rows: Option<Arc<Vec<Row>>>,
    /// (as shown, absolute path), sorted by what is shown.
    list: Vec<(String, String)>,
}

impl Folders {
    fn update(&mut self, rows: &Arc<Vec<Row>>) {
        if self.rows.as_ref().is_some_and(|r| Arc::ptr_eq(r, rows)) {
            return;
        }
        self.rows = Some(Arc::clone(rows));
        self.list = folders_of(rows);
    }
}

/// (as shown, absolute path) of every folder holding `rows` and its parents up to the root,
/// sorted by what is shown.
pub(super) fn folders_of(rows: &[Row]) -> Vec<(String, String)> {
    let mut by_path: BTreeMap<String, String> = BTreeMap::new();
    for row in rows {
        let Some(mut dir) = Path::new(&row.path).parent() else {
            continue;
        };
        let mut shown = row.folder.as_str();
        loop {
            let key = dir.to_string_lossy().into_owned();
            if by_path.contains_key(&key) {
                break;
            }
            by_path.insert(key, shown.to_string());
            match (shown.rsplit_once('/'), dir.parent()) {
                (Some((up, _)), Some(parent)) => {
                    shown = up;
                    dir = parent;
                }
                _ => break,
            }
        }
    }
    let mut list: Vec<(String, String)> = by_path.into_iter().map(|(p, s)| (s, p)).collect();
    list.sort();
    list
}

/// `0` means no limit.
fn limit(v: f64) -> Option<f64> {
    (v > 0.0).then_some(v)
}

impl FilterBar {
    /// The filters chosen.
    pub fn filters(&self) -> SimilarFilters {
        SimilarFilters {
            folder: self.folder.as_ref().map(|(path, _)| path.clone()),
            tag: self.tag.clone(),
            min_duration_s: limit(self.min_s),
            max_duration_s: limit(self.max_s),
        }
    }

    /// Draws the bar; true when the results should be searched again with the new filters.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> bool {
        let before = self.filters();
        let mut editing = false;
        ui.horizontal_wrapped(|ui| {
            ui.label("Only:");
            let shown = self
                .folder
                .as_ref()
                .map_or("any folder", |(_, s)| s.as_str());
            let label = ui.label("Folder");
            egui::ComboBox::from_id_salt("similar-folder")
                .selected_text(shown)
                .truncate()
                .width(150.0)
                .show_ui(ui, |ui| {
                    // Read only while the list is open: a library of 100,000 files has many.
                    self.folders.update(&cx.snapshot.rows);
                    ui.selectable_value(&mut self.folder, None, "any folder");
                    for (shown, path) in &self.folders.list {
                        let choice = Some((path.clone(), shown.clone()));
                        ui.selectable_value(&mut self.folder, choice, shown)
                            .on_hover_text(path);
                    }
                })
                .response
                .labelled_by(label.id);
            let label = ui.label("Tag");
            egui::ComboBox::from_id_salt("similar-tag")
                .selected_text(self.tag.as_deref().unwrap_or("any tag"))
                .truncate()
                .width(120.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.tag, None, "any tag");
                    for (label, n) in cx.snapshot.labels.iter().zip(&cx.snapshot.label_counts) {
                        ui.selectable_value(
                            &mut self.tag,
                            Some(label.clone()),
                            format!("{label} ({n})"),
                        );
                    }
                })
                .response
                .labelled_by(label.id);
            let any = |v: f64, _: std::ops::RangeInclusive<usize>| {
                if v > 0.0 {
                    format!("{v:.1} s")
                } else {
                    "any".into()
                }
            };
            let from = ui.label("Duration from");
            let r = ui
                .add(
                    egui::DragValue::new(&mut self.min_s)
                        .range(0.0..=86_400.0)
                        .speed(0.1)
                        .custom_formatter(any),
                )
                .labelled_by(from.id)
                .on_hover_text("The shortest result, in seconds (0: any)");
            editing |= r.dragged() || r.has_focus();
            let to = ui.label("to");
            let r = ui
                .add(
                    egui::DragValue::new(&mut self.max_s)
                        .range(0.0..=86_400.0)
                        .speed(0.1)
                        .custom_formatter(any),
                )
                .labelled_by(to.id)
                .on_hover_text("The longest result, in seconds (0: any)");
            editing |= r.dragged() || r.has_focus();
            if before != SimilarFilters::default() && ui.small_button("Clear filters").clicked() {
                *self = FilterBar {
                    pending: true,
                    folders: std::mem::take(&mut self.folders),
                    ..FilterBar::default()
                };
            }
        });
        if self.filters() != before {
            self.pending = true;
        }
        if self.pending && !editing {
            self.pending = false;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::table::TableRow;

    fn row(id: i64, path: &str, root: &str) -> Row {
        crate::gui::shared::rows::make_row(TableRow {
            id,
            path: path.into(),
            root: root.into(),
            duration_s: Some(1.0),
            status: "indexed".into(),
            error: None,
            top_tags: String::new(),
            media: Default::default(),
        })
    }

    #[test]
    fn every_folder_and_its_parents_up_to_the_root_can_be_chosen() {
        let rows = vec![
            row(1, "/m/lib/drums/kicks/k1.wav", "/m/lib"),
            row(2, "/m/lib/drums/snares/s1.wav", "/m/lib"),
            row(3, "/m/lib/top.wav", "/m/lib"),
            row(4, "/n/lib/pad.wav", "/n/lib"),
        ];
        let list = folders_of(&rows);
        let shown: Vec<&str> = list.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            shown,
            [
                "lib",
                "lib",
                "lib/drums",
                "lib/drums/kicks",
                "lib/drums/snares"
            ],
            "{list:?}"
        );
        let drums = list.iter().find(|(s, _)| s == "lib/drums").unwrap();
        assert_eq!(drums.1, "/m/lib/drums");
        assert!(list.iter().any(|(_, p)| p == "/n/lib"));
        assert!(!list.iter().any(|(_, p)| p == "/m"), "nothing above a root");
    }
}
