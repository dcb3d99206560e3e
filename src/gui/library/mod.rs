//! The library: the table of every file (a virtualised table with a text filter, Ctrl+F,
//! sorting by any column, an errors view with each file's reason), its tag filter, and the side
//! bar with the folders, counts and the model in use.
//!
//! [`LibraryPanel`] keeps only what is its own: the keyboard focus request, where the table
//! scrolls to, and the tag menu's search text. The rows, the filtered view, the filter and the
//! sorting are shared state the handler changes in answer to the commands this feature returns
//! (`SetFilter`, `SortTable`, `ShowErrorsOnly`, `ToggleTagFilter`, `Select`, …).
//!
//! The tool bar and the table (the central tab) are drawn in `table`; the side bar and the
//! tag filter here.

mod columns;
mod table;

use eframe::egui;

use crate::gui::shared::command::Command;
use crate::gui::shared::state::Panel;
use crate::gui::shared::view::ViewCtx;
use crate::wording::count;

/// Id of the filter field (focused by Ctrl+F).
pub const FILTER_ID: &str = "library filter";

/// Most labels listed at once in the tag menu (the search field narrows longer lists).
const MENU_ROWS: usize = 200;

/// The library's own state.
#[derive(Debug, Default)]
pub struct LibraryPanel {
    /// Move the keyboard focus to the filter on the next frame.
    focus_filter: bool,
    /// Scroll the table to this position on the next frame (keyboard moves).
    scroll_to: Option<usize>,
    /// The search text of the tag filter menu.
    tag_search: String,
}

impl LibraryPanel {
    /// Puts the keyboard focus in the filter on the next frame.
    pub fn focus_filter(&mut self) {
        self.focus_filter = true;
    }

    /// Scrolls the table to the row shown at `position` on the next frame.
    pub fn scroll_to(&mut self, position: usize) {
        self.scroll_to = Some(position);
    }

    /// Draws the side bar; what the user asked for comes back as commands.
    pub fn sidebar_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.heading("Library");
        ui.horizontal(|ui| {
            if ui.button("Add folder…").clicked() {
                commands.push(Command::AddFolderDialog);
            }
            let can_rescan = cx.snapshot.roots.iter().any(|r| r.present);
            if ui
                .add_enabled(can_rescan, egui::Button::new("Rescan"))
                .on_hover_text("Look for new, changed and removed files")
                .clicked()
            {
                commands.push(Command::Rescan);
            }
        });
        ui.weak("Drop folders or files here to add them.");
        ui.separator();
        for root in &cx.snapshot.roots {
            if root.present {
                ui.label(root.path.clone()).on_hover_text(&root.path);
            } else {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("Missing: {}", root.path),
                );
                ui.small("Folder not found: reconnect the drive or move it back, then rescan.");
            }
        }
        ui.separator();
        let c = &cx.snapshot.counts;
        ui.label(count(c.files, "file"));
        ui.label(format!("{} analysed · {} waiting", c.indexed, c.pending));
        let problems = [
            (c.errors, format!("{} could not be read", c.errors)),
            (c.too_short, format!("{} too short to analyse", c.too_short)),
        ];
        for (count, label) in problems {
            if count > 0
                && ui
                    .link(egui::RichText::new(label).color(ui.visuals().warn_fg_color))
                    .on_hover_text("Show them with the reasons")
                    .clicked()
            {
                commands.push(Command::ShowErrorsOnly(true));
                commands.push(Command::Show(Panel::Library));
            }
        }
        ui.label(format!("{:.1} min of sound", c.duration_s / 60.0));
        ui.separator();
        let line = cx.model_line();
        if cx.model.active.is_some() {
            ui.label(line);
        } else {
            ui.colored_label(ui.visuals().warn_fg_color, line);
        }
        if let Some(e) = &cx.library_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.small(format!("Index: {}", cx.library_path.display()));
        commands
    }

    /// The tag filter: a menu of every tag in the library with the number of files carrying
    /// it (checked tags narrow the table to files carrying all of them, together with the text
    /// filter), and the chosen tags as removable chips.
    fn tag_filter_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
        let chosen = &cx.state.tag_filter;
        let title = if chosen.is_empty() {
            "Tag filter".to_string()
        } else {
            format!("Tag filter ({})", chosen.len())
        };
        ui.menu_button(title, |ui| self.tag_menu_ui(ui, cx, commands))
            .response
            .on_hover_text("Show only files carrying the checked tags");
        for label in chosen {
            if ui
                .small_button(format!("{label} ×"))
                .on_hover_text("Remove this tag from the filter")
                .clicked()
            {
                commands.push(Command::ToggleTagFilter(label.clone()));
            }
        }
    }

    fn tag_menu_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
        if cx.snapshot.labels.is_empty() {
            ui.weak(no_tags_line(cx));
            return;
        }
        ui.add(
            egui::TextEdit::singleline(&mut self.tag_search)
                .hint_text("find a tag")
                .desired_width(180.0),
        )
        .on_hover_text("Find a tag");
        let needle = self.tag_search.trim().to_lowercase();
        egui::ScrollArea::vertical()
            .max_height(320.0)
            .show(ui, |ui| {
                let listed = cx
                    .snapshot
                    .labels
                    .iter()
                    .zip(&cx.snapshot.label_counts)
                    .filter(|(l, _)| needle.is_empty() || l.to_lowercase().contains(&needle))
                    .take(MENU_ROWS);
                let mut toggled = None;
                for (label, count) in listed {
                    let mut on = cx.state.tag_filter.contains(label);
                    let check = ui.checkbox(&mut on, format!("{label} ({count})"));
                    let check = match crate::model::bundled::definition(label) {
                        Some(d) => check.on_hover_text(d),
                        None => check,
                    };
                    if check.clicked() {
                        toggled = Some(label.clone());
                    }
                }
                if let Some(label) = toggled {
                    commands.push(Command::ToggleTagFilter(label));
                }
            });
    }
}

/// Why the library has no tags yet, and where they will come from.
fn no_tags_line(cx: &ViewCtx) -> String {
    let in_force = cx.head_in_force();
    match in_force.why_none() {
        None if in_force.is_starter() => "No tags yet: the bundled model's starter tags are \
             given to each file as it is analysed (Rescan tags files analysed before). You can \
             also add personal tags."
            .into(),
        None => "No tags yet: the tag head tags each file as it is analysed (Rescan tags files \
                 analysed before). You can also add personal tags."
            .into(),
        Some(why) => format!("No tags yet. {why} You can also add personal tags."),
    }
}
