//! The library table and its tool bar: a virtualised table (only visible rows are laid out)
//! with a text filter (Ctrl+F), the tag filter, sorting by any column, and an errors view that
//! shows each file's reason.

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use super::{FILTER_ID, LibraryPanel};
use crate::gui::shared::command::Command;
use crate::gui::shared::rows::format_duration;
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
            let errors = cx.snapshot.counts.errors;
            if ui
                .selectable_label(cx.state.errors_only, format!("Errors ({errors})"))
                .on_hover_text("Only files that could not be read, with the reason")
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
        let mut clicked = None;
        let mut builder = TableBuilder::new(ui)
            .id_salt("library table")
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::initial(220.0).at_least(80.0).clip(true))
            .column(Column::initial(180.0).at_least(60.0).clip(true))
            .column(Column::initial(70.0).at_least(50.0))
            .column(Column::initial(180.0).at_least(60.0).clip(true))
            .column(Column::remainder().at_least(60.0).clip(true));
        if let Some(i) = self.scroll_to.take() {
            builder = builder.scroll_to_row(i, None);
        }
        builder
            .header(ROW_HEIGHT + 4.0, |mut header| {
                let mut sort_by = |ui: &mut egui::Ui, label: &str, column: SortColumn| {
                    if let Some(c) = header_button(ui, sort, label, column) {
                        commands.push(c);
                    }
                };
                header.col(|ui| sort_by(ui, "Name", SortColumn::Name));
                header.col(|ui| sort_by(ui, "Folder", SortColumn::Folder));
                header.col(|ui| sort_by(ui, "Duration", SortColumn::Duration));
                header.col(|ui| sort_by(ui, "Top tags", SortColumn::Tags));
                let status = if errors_view { "Reason" } else { "Status" };
                header.col(|ui| sort_by(ui, status, SortColumn::Status));
            })
            .body(|body| {
                body.rows(ROW_HEIGHT, order.len(), |mut row| {
                    let r = &rows[order[row.index()]];
                    row.set_selected(selected == Some(r.id));
                    row.col(|ui| cell(ui, r.name.as_str()));
                    row.col(|ui| cell(ui, r.folder.as_str()));
                    row.col(|ui| cell(ui, r.duration_s.map(format_duration).unwrap_or_default()));
                    row.col(|ui| cell(ui, r.tags.as_str()));
                    row.col(|ui| status_cell(ui, &r.status, r.error.as_deref(), errors_view));
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

/// A column header: a click sorts by the column, again reverses the order.
fn header_button(
    ui: &mut egui::Ui,
    (current, ascending): (SortColumn, bool),
    label: &str,
    column: SortColumn,
) -> Option<Command> {
    let arrow = match (current == column, ascending) {
        (true, true) => " ^",
        (true, false) => " v",
        _ => "",
    };
    ui.button(format!("{label}{arrow}")).clicked().then(|| {
        let ascending = if current == column { !ascending } else { true };
        Command::SortTable(column, ascending)
    })
}

/// A table cell's text: not selectable, so a click selects the row.
fn cell(ui: &mut egui::Ui, text: impl Into<egui::WidgetText>) {
    ui.add(egui::Label::new(text).selectable(false).truncate());
}

fn status_cell(ui: &mut egui::Ui, status: &str, error: Option<&str>, errors_view: bool) {
    match (status, error) {
        ("error", Some(reason)) if errors_view => {
            ui.colored_label(ui.visuals().error_fg_color, reason)
                .on_hover_text(reason);
        }
        ("error", reason) => {
            let text = egui::RichText::new("unreadable").color(ui.visuals().error_fg_color);
            ui.add(egui::Label::new(text).selectable(false))
                .on_hover_text(reason.unwrap_or("no reason recorded"));
        }
        ("pending", _) => cell(ui, egui::RichText::new("waiting").weak()),
        (_, Some(note)) => {
            ui.add(egui::Label::new("analysed *").selectable(false))
                .on_hover_text(note);
        }
        _ => cell(ui, "analysed"),
    }
}
