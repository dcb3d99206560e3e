//! The library table and its tool bar: a virtualised table (only visible rows are laid out)
//! with a text filter (Ctrl+F), the tag filter, the Columns menu, sorting by any column, and an
//! errors view that shows each file's reason.

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::{FILTER_ID, LibraryPanel, columns};
use crate::gui::shared::command::Command;
use crate::gui::shared::rows::Row;
use crate::gui::shared::state::SortColumn;
use crate::gui::shared::view::ViewCtx;

const ROW_HEIGHT: f32 = 20.0;

impl LibraryPanel {
    /// Draws the tool bar and the table; what the user asked for comes back as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.horizontal(|ui| {
            let mut filter = cx.filter.clone();
            let edit = egui::TextEdit::singleline(&mut filter)
                .id(egui::Id::unique(FILTER_ID))
                .hint_text("Filter by name, folder or tag (Ctrl+F)")
                .desired_width(280.0);
            let response = ui.add(edit).on_hover_text("Filter");
            if std::mem::take(&mut self.focus_filter) {
                response.request_focus();
            }
            if response.changed() {
                commands.push(Command::SetFilter(filter));
            }
            self.tag_filter_ui(ui, cx, &mut commands);
            columns_menu(ui, cx, &mut commands);
            let c = &cx.snapshot.counts;
            let label = if c.too_short == 0 {
                format!("Errors ({})", c.errors)
            } else {
                format!("Errors ({}) · {} too short", c.errors, c.too_short)
            };
            if ui
                .selectable_label(cx.state.errors_only, label)
                .on_hover_text(
                    "Only the files that were not analysed — unreadable, or too short for the \
                     model to hear — with the reason",
                )
                .clicked()
            {
                commands.push(Command::ShowErrorsOnly(!cx.state.errors_only));
            }
            ui.weak(format!(
                "{} of {} files",
                cx.view.order.len(),
                cx.snapshot.rows.len()
            ));
        });
        ui.separator();
        if !cx.rows_loaded {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the library…");
            });
            return commands;
        }
        self.table_ui(ui, cx, &mut commands);
        commands
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
        let (rows, order) = (&cx.view.rows, &cx.view.order);
        let selected = cx.selected.as_ref().map(|s| s.0);
        let errors_view = cx.state.errors_only;
        let sort = cx.state.sort;
        // The errors view gives the reason the room: a file not analysed has no measures.
        let shown = if errors_view {
            vec![SortColumn::Name, SortColumn::Folder, SortColumn::Status]
        } else {
            columns::shown(&cx.state.hidden_columns)
        };
        let mut clicked = None;
        // The columns start at widths that fit the space there is (the user may widen them).
        let status_least = if errors_view { 200.0 } else { 70.0 };
        // Number columns keep room for their short headers; text columns share what is left.
        const NUMBER_WIDTH: f32 = 48.0;
        let fixed = |c: SortColumn| columns::numeric(c) || c == SortColumn::Status;
        let numbers = shown.iter().filter(|&&c| columns::numeric(c)).count() as f32;
        let wanted: f32 = shown
            .iter()
            .filter(|&&c| !fixed(c))
            .map(|&c| columns::width(c))
            .sum();
        // Each column also takes the spacing and its resize grip.
        let gaps = (ui.spacing().item_spacing.x + 4.0) * (shown.len() as f32 + 1.0);
        // The visible width (inside a sideways-scrolling area the available width is unbounded).
        let visible = (ui.clip_rect().right() - ui.cursor().left()).min(ui.available_width());
        let room = (visible - status_least - gaps - numbers * NUMBER_WIDTH).max(1.0);
        let scale = (room / wanted.max(1.0)).clamp(0.2, 1.0);
        let mut builder = TableBuilder::new(ui)
            // Columns re-fit when the shown columns or the room change (a resized window).
            .id_salt(("library table", shown.len(), (visible / 50.0) as i32))
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
        for &column in &shown {
            builder = builder.column(if column == SortColumn::Status {
                Column::remainder().at_least(status_least).clip(true)
            } else {
                let width = if columns::numeric(column) {
                    NUMBER_WIDTH
                } else {
                    (columns::width(column) * scale).max(36.0)
                };
                Column::initial(width).at_least(36.0).clip(true)
            });
        }
        if let Some(i) = self.scroll_to.take() {
            builder = builder.scroll_to_row(i, None);
        }
        builder
            .header(ROW_HEIGHT + 4.0, |mut header| {
                for &column in &shown {
                    header.col(|ui| {
                        let (label, about) = columns::header(column);
                        let label = match column {
                            SortColumn::Status if errors_view => "Reason",
                            _ => label,
                        };
                        if let Some(c) = header_button(ui, sort, label, about, column) {
                            commands.push(c);
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, order.len(), |mut row| {
                    let r = &rows[order[row.index()]];
                    row.set_selected(selected == Some(r.id));
                    for &column in &shown {
                        row.col(|ui| match column {
                            SortColumn::Status => status_cell(ui, r, errors_view),
                            c if columns::numeric(c) => {
                                ui.with_layout(
                                    egui::Layout::right_to_left(egui::Align::Center),
                                    |ui| cell(ui, columns::text(r, c)),
                                );
                            }
                            SortColumn::Tags => tags_cell(ui, &r.tags),
                            c => cell(ui, columns::text(r, c)),
                        });
                    }
                    if row.response().clicked() {
                        clicked = Some((r.id, r.path.clone()));
                    }
                });
            });
        if let Some((id, path)) = clicked {
            commands.push(Command::Select(id, path));
        }
    }
}

/// The Columns menu: a check box per column that may be hidden.
fn columns_menu(ui: &mut egui::Ui, cx: &ViewCtx, commands: &mut Vec<Command>) {
    ui.menu_button("Columns", |ui| {
        for column in columns::ALL.into_iter().filter(|&c| columns::can_hide(c)) {
            let (label, about) = columns::header(column);
            let mut on = !cx.state.hidden_columns.contains(&column);
            if ui.checkbox(&mut on, format!("{label} — {about}")).clicked() {
                commands.push(Command::ShowColumn(column, on));
            }
        }
    })
    .response
    .on_hover_text("Choose the table's columns");
}

/// A column header: a click sorts by the column, again reverses the order; hovering says what
/// the column holds.
fn header_button(
    ui: &mut egui::Ui,
    (current, ascending): (SortColumn, bool),
    label: &str,
    about: &str,
    column: SortColumn,
) -> Option<Command> {
    let arrow = match (current == column, ascending) {
        (true, true) => " ^",
        (true, false) => " v",
        _ => "",
    };
    // The label is cut at the column's edge (the whole name is in the tooltip).
    ui.add(egui::Button::new(format!("{label}{arrow}")).truncate())
        .on_hover_text(about)
        .clicked()
        .then(|| {
            let ascending = if current == column { !ascending } else { true };
            Command::SortTable(column, ascending)
        })
}

/// A table cell's text: not selectable, so a click selects the row; cut at the column's edge.
fn cell(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) {
    ui.add(egui::Label::new(text).selectable(false).truncate());
}

/// The top tags; hovering shows what each starter tag means.
fn tags_cell(ui: &mut egui::Ui, tags: &str) {
    let response = ui.add(egui::Label::new(tags).selectable(false).truncate());
    let defined: Vec<(&str, &str)> = tags
        .split(',')
        .map(str::trim)
        .filter_map(|t| crate::model::bundled::definition(t).map(|d| (t, d)))
        .collect();
    if !defined.is_empty() {
        response.on_hover_ui(|ui| {
            for (tag, definition) in defined {
                ui.label(format!("{tag}: {definition}"));
            }
        });
    }
}

/// The status, or in the errors view the reason: the reason first (the path is in the Name
/// and Folder columns), with one tooltip that holds the whole reason and the path.
fn status_cell(ui: &mut egui::Ui, r: &Row, errors_view: bool) {
    let status = columns::status(r);
    let reason = r.error.as_deref();
    match r.status.as_str() {
        "error" | "too_short" => {
            let colour = if r.status == "error" {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().warn_fg_color
            };
            let shown = match reason {
                Some(reason) if errors_view && r.status == "error" => reason.to_string(),
                _ => status,
            };
            let about = format!("{}\n{}", reason.unwrap_or("no reason recorded"), r.path);
            // Cut with "…" at the column's edge; the one tooltip is ours, not egui's own.
            let text = egui::RichText::new(shown).color(colour);
            let label = egui::Label::new(text)
                .selectable(false)
                .truncate()
                .show_tooltip_when_elided(false);
            ui.add(label).on_hover_text(about);
        }
        "pending" => cell(ui, egui::RichText::new(status).weak()),
        _ => match reason {
            Some(note) => {
                ui.add(egui::Label::new("analysed *").selectable(false))
                    .on_hover_text(note);
            }
            None => cell(ui, status),
        },
    }
}
