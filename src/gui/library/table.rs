//! The library table: a virtualised table (only visible rows are laid out) with a text filter
//! (Ctrl+F), sorting by any column, and an errors view that shows each file's reason.

use std::sync::Arc;

use eframe::egui;
use egui_extras::{Column, TableBuilder};

use crate::gui::app::EarmarkApp;
use crate::gui::shared::command::Command;
use crate::gui::rows::format_duration;
use crate::gui::shared::state::SortColumn;

/// Id of the filter field (focused by Ctrl+F).
pub const FILTER_ID: &str = "library filter";
const ROW_HEIGHT: f32 = 20.0;

/// Draws the table and its tool bar.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.horizontal(|ui| {
        let edit = egui::TextEdit::singleline(&mut app.shared.filter)
            .id(egui::Id::unique(FILTER_ID))
            .hint_text("Filter by name, folder or tag (Ctrl+F)")
            .desired_width(280.0);
        let response = ui.add(edit).on_hover_text("Filter");
        if app.shared.focus_filter {
            app.shared.focus_filter = false;
            response.request_focus();
        }
        if response.changed() {
            app.view_dirty = true;
        }
        crate::gui::panels::tag_filter::ui(ui, app);
        let errors = app.shared.snapshot.counts.errors;
        if ui
            .selectable_label(app.shared.state.errors_only, format!("Errors ({errors})"))
            .on_hover_text("Only files that could not be read, with the reason")
            .clicked()
        {
            app.shared.state.errors_only = !app.shared.state.errors_only;
            app.view_dirty = true;
        }
        ui.weak(format!(
            "{} of {} files",
            app.shared.view.order.len(),
            app.shared.snapshot.rows.len()
        ));
    });
    ui.separator();
    if !app.shared.rows_loaded {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Reading the library…");
        });
        return;
    }
    table_ui(ui, app);
}

fn header_button(ui: &mut egui::Ui, app: &mut EarmarkApp, label: &str, column: SortColumn) {
    let (current, ascending) = app.shared.state.sort;
    let arrow = match (current == column, ascending) {
        (true, true) => " ^",
        (true, false) => " v",
        _ => "",
    };
    if ui.button(format!("{label}{arrow}")).clicked() {
        app.shared.state.sort = if current == column {
            (column, !ascending)
        } else {
            (column, true)
        };
        app.view_dirty = true;
    }
}

fn table_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let rows = Arc::clone(&app.shared.view.rows);
    let order = std::mem::take(&mut app.shared.view.order);
    let selected = app.shared.selected.as_ref().map(|s| s.0);
    let scroll_to = app.inspector.scroll_table_to.take();
    let errors_view = app.shared.state.errors_only;
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
    if let Some(i) = scroll_to {
        builder = builder.scroll_to_row(i, None);
    }
    builder
        .header(ROW_HEIGHT + 4.0, |mut header| {
            header.col(|ui| header_button(ui, app, "Name", SortColumn::Name));
            header.col(|ui| header_button(ui, app, "Folder", SortColumn::Folder));
            header.col(|ui| header_button(ui, app, "Duration", SortColumn::Duration));
            header.col(|ui| header_button(ui, app, "Top tags", SortColumn::Tags));
            let status = if errors_view { "Reason" } else { "Status" };
            header.col(|ui| header_button(ui, app, status, SortColumn::Status));
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
    app.shared.view.order = order;
    if let Some((id, path)) = clicked {
        app.push(Command::Select(id, path));
    }
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
