//! The library table's tag filter: a menu of every tag in the library with the number of files
//! carrying it (checked tags narrow the table to files carrying all of them, together with the
//! text filter), and the chosen tags as removable chips.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;

/// Most labels listed at once in the menu (the search field narrows longer lists).
const MENU_ROWS: usize = 200;

/// Draws the filter button and the chips of the chosen tags.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let chosen = app.shared.state.tag_filter.clone();
    let title = if chosen.is_empty() {
        "Tag filter".to_string()
    } else {
        format!("Tag filter ({})", chosen.len())
    };
    ui.menu_button(title, |ui| menu_ui(ui, app, &chosen))
        .response
        .on_hover_text("Show only files carrying the checked tags");
    for label in chosen {
        if ui
            .small_button(format!("{label} ×"))
            .on_hover_text("Remove this tag from the filter")
            .clicked()
        {
            app.push(Command::ToggleTagFilter(label));
        }
    }
}

fn menu_ui(ui: &mut egui::Ui, app: &mut EarmarkApp, chosen: &[String]) {
    if app.shared.snapshot.labels.is_empty() {
        ui.weak("No tags yet: choose a tag head in Models and rescan, or add personal tags.");
        return;
    }
    ui.add(
        egui::TextEdit::singleline(&mut app.tags.filter_search)
            .hint_text("find a tag")
            .desired_width(180.0),
    )
    .on_hover_text("Find a tag");
    let needle = app.tags.filter_search.trim().to_lowercase();
    egui::ScrollArea::vertical()
        .max_height(320.0)
        .show(ui, |ui| {
            let listed = app.shared
                .snapshot
                .labels
                .iter()
                .zip(&app.shared.snapshot.label_counts)
                .filter(|(l, _)| needle.is_empty() || l.to_lowercase().contains(&needle))
                .take(MENU_ROWS);
            let mut toggled = None;
            for (label, count) in listed {
                let mut on = chosen.contains(label);
                if ui.checkbox(&mut on, format!("{label} ({count})")).clicked() {
                    toggled = Some(label.clone());
                }
            }
            if let Some(label) = toggled {
                app.push(Command::ToggleTagFilter(label));
            }
        });
}
