//! "Write tags into files": the window's face on [`crate::writeback`]. The user picks the
//! fields (genre, mood or a field of their own), where their labels come from, a threshold and
//! a top-N, what happens to values already there, and which files; "Preview" computes the plan
//! (the dry run) as a job and lists every change, "Write" carries it out as a job (atomic,
//! journalled), and "Undo last write" restores the files of the newest journal byte for byte.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::job_list::JobKind;
use crate::jobs::{JobContext, JobEvent};
use crate::library::Library;
use crate::writeback::{
    self, Field, FieldSpec, Plan, Policy, Selection, WritebackOptions, apply::ApplyReport,
    undo::UndoReport,
};

/// Rows of the preview shown at most (the counts cover every file).
const PREVIEW_ROWS: usize = 500;

/// One field the user wants filled.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRow {
    /// `genre`, `mood` or a custom name.
    pub name: String,
    /// Comma-separated tag sources; empty: every source.
    pub sources: String,
    /// Lowest score written.
    pub threshold: f32,
    /// Most labels written.
    pub top: usize,
}

/// A job's answer, handed from the worker to the window.
type Slot<T> = Arc<Mutex<Option<crate::Result<T>>>>;

/// The write-back section's state.
#[derive(Debug)]
pub struct WritebackState {
    /// The fields to fill.
    pub fields: Vec<FieldRow>,
    /// What happens to values already there.
    pub policy: Policy,
    /// ID3v2.3 instead of 2.4 for MP3.
    pub id3v23: bool,
    /// Only the selected file (else the whole library).
    pub only_selected: bool,
    /// The latest preview, and the options it was made with.
    pub plan: Option<(Plan, WritebackOptions, Selection)>,
    /// What the last write did.
    pub applied: Option<ApplyReport>,
    /// What the last undo did.
    pub undone: Option<UndoReport>,
    /// The last error, for people.
    pub error: Option<String>,
    /// Where undo journals go (`None`: `writeback/` in the data directory).
    pub journal_dir: Option<PathBuf>,
    plan_slot: Option<Slot<(Plan, WritebackOptions, Selection)>>,
    apply_slot: Option<Slot<ApplyReport>>,
    undo_slot: Option<Slot<UndoReport>>,
}

impl Default for WritebackState {
    fn default() -> Self {
        WritebackState {
            fields: vec![FieldRow {
                name: "genre".into(),
                sources: String::new(),
                threshold: 0.5,
                top: 2,
            }],
            policy: Policy::Keep,
            id3v23: false,
            only_selected: false,
            plan: None,
            applied: None,
            undone: None,
            error: None,
            journal_dir: None,
            plan_slot: None,
            apply_slot: None,
            undo_slot: None,
        }
    }
}

impl WritebackState {
    /// The options the rows describe, or why they are unusable.
    pub fn options(&self) -> crate::Result<WritebackOptions> {
        let fields = self
            .fields
            .iter()
            .map(|r| {
                let sources = r
                    .sources
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && *s != "*")
                    .map(str::to_owned)
                    .collect();
                Ok(FieldSpec::new(
                    Field::parse(&r.name)?,
                    sources,
                    r.threshold,
                    r.top.max(1),
                ))
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(WritebackOptions {
            fields,
            policy: self.policy,
            id3v23: self.id3v23,
            ..WritebackOptions::default()
        })
    }

    /// Whether a preview, write or undo is under way.
    pub fn busy(&self) -> bool {
        self.plan_slot.is_some() || self.apply_slot.is_some() || self.undo_slot.is_some()
    }

    /// Where the undo journals are.
    pub fn journals(&self) -> crate::Result<PathBuf> {
        self.journal_dir
            .clone()
            .map_or_else(writeback::journal::default_dir, Ok)
    }
}

/// Runs `work` as a job whose answer lands in the returned slot.
fn submit<T: Send + 'static>(
    app: &mut EarmarkApp,
    name: &str,
    work: impl FnOnce(&JobContext, &mut Library) -> crate::Result<(T, String)> + Send + 'static,
) -> Option<Slot<T>> {
    let Some(queue) = &app.queue else {
        app.writeback.error = Some("Background jobs are not running.".into());
        return None;
    };
    let slot: Slot<T> = Arc::new(Mutex::new(None));
    let out = Arc::clone(&slot);
    let library = app.library_path.clone();
    let handle = queue.submit(name, move |ctx| {
        let result = Library::open(&library).and_then(|mut lib| work(ctx, &mut lib));
        let (answer, summary) = match result {
            Ok((value, summary)) => (Ok(value), Ok(summary)),
            Err(e) => {
                let text = e.to_string();
                (Err(e), Err(crate::Error::InvalidInput(text)))
            }
        };
        if let Ok(mut guard) = out.lock() {
            *guard = Some(answer);
        }
        summary
    });
    match handle {
        Ok(h) => {
            app.jobs.push(name.into(), JobKind::Writeback, h);
            Some(slot)
        }
        Err(e) => {
            app.writeback.error = Some(e.to_string());
            None
        }
    }
}

/// Reports per-file failures to the Jobs panel.
fn report_failures(ctx: &JobContext, failures: &[(String, String)]) {
    for (item, reason) in failures {
        ctx.events.send(JobEvent::ItemFailed {
            item: item.clone(),
            reason: reason.clone(),
        });
    }
}

fn start_preview(app: &mut EarmarkApp) {
    let opts = match app.writeback.options() {
        Ok(o) => o,
        Err(e) => {
            app.writeback.error = Some(e.to_string());
            return;
        }
    };
    let selection = match (&app.selected, app.writeback.only_selected) {
        (Some((_, path)), true) => Selection::Paths(vec![PathBuf::from(path)]),
        (None, true) => {
            app.writeback.error = Some("Select a file first, or choose the whole library.".into());
            return;
        }
        _ => Selection::All,
    };
    app.writeback.error = None;
    app.writeback.plan_slot = submit(app, "Preview tag writing", move |ctx, lib| {
        let plan = writeback::plan::plan(
            lib,
            &opts,
            &selection,
            &mut writeback::job_progress(ctx),
            &ctx.control,
        )?;
        report_failures(ctx, &plan.problems);
        let summary = format!("{} files would be written", plan.to_write());
        Ok(((plan, opts, selection), summary))
    });
}

fn start_apply(app: &mut EarmarkApp) {
    let Some((plan, opts, _)) = app.writeback.plan.take() else {
        return;
    };
    let journals = match app.writeback.journals() {
        Ok(d) => d,
        Err(e) => {
            app.writeback.error = Some(e.to_string());
            return;
        }
    };
    app.writeback.applied = None;
    app.writeback.apply_slot = submit(app, "Write tags into files", move |ctx, lib| {
        let report = writeback::apply::apply(
            lib,
            &plan,
            &opts,
            &journals,
            &mut writeback::job_progress(ctx),
            &ctx.control,
        )?;
        report_failures(ctx, &report.failed);
        let summary = format!(
            "{} written, {} failed",
            report.written.len(),
            report.failed.len()
        );
        Ok((report, summary))
    });
}

fn start_undo(app: &mut EarmarkApp) {
    let last = app
        .writeback
        .journals()
        .and_then(|d| writeback::journal::last_pending(&d));
    let journal = match last {
        Ok(Some(j)) => j,
        Ok(None) => {
            app.writeback.error = Some("No tag write to undo.".into());
            return;
        }
        Err(e) => {
            app.writeback.error = Some(e.to_string());
            return;
        }
    };
    app.writeback.undone = None;
    app.writeback.undo_slot = submit(app, "Undo tag writing", move |ctx, lib| {
        let report = writeback::undo::undo(
            Some(lib),
            &journal,
            &mut writeback::job_progress(ctx),
            &ctx.control,
        )?;
        report_failures(ctx, &report.refused);
        let summary = format!(
            "{} restored, {} refused",
            report.restored.len(),
            report.refused.len()
        );
        Ok((report, summary))
    });
}

/// Takes the answers of finished jobs.
pub fn poll(app: &mut EarmarkApp) {
    fn take<T>(slot: &mut Option<Slot<T>>) -> Option<crate::Result<T>> {
        let answer = slot.as_ref()?.lock().ok()?.take()?;
        *slot = None;
        Some(answer)
    }
    let wb = &mut app.writeback;
    if let Some(r) = take(&mut wb.plan_slot) {
        match r {
            Ok(p) => wb.plan = Some(p),
            Err(e) => wb.error = Some(e.to_string()),
        }
    }
    let mut rows_changed = false;
    if let Some(r) = take(&mut wb.apply_slot) {
        match r {
            Ok(report) => {
                rows_changed = true;
                wb.applied = Some(report);
            }
            Err(e) => wb.error = Some(e.to_string()),
        }
    }
    if let Some(r) = take(&mut wb.undo_slot) {
        match r {
            Ok(report) => {
                rows_changed = true;
                wb.undone = Some(report);
            }
            Err(e) => wb.error = Some(e.to_string()),
        }
    }
    if rows_changed {
        app.rows_stale = true;
    }
}

/// Draws the section.
pub fn ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    ui.heading("Write tags into files");
    ui.weak(
        "Genre, mood or a field of your own, in MP3 (ID3v2), FLAC, Ogg Vorbis, Opus and M4A. \
         Nothing is written before you preview; every write can be undone.",
    );
    fields_ui(ui, app);
    ui.horizontal(|ui| {
        let wb = &mut app.writeback;
        ui.label("Values already there:");
        ui.selectable_value(&mut wb.policy, Policy::Keep, "keep")
            .on_hover_text("Never change a field that has a value");
        ui.selectable_value(&mut wb.policy, Policy::Merge, "add missing labels");
        ui.selectable_value(&mut wb.policy, Policy::Overwrite, "replace");
        ui.separator();
        ui.checkbox(&mut wb.id3v23, "ID3v2.3 for MP3");
    });
    ui.horizontal(|ui| {
        let selected = app.selected.as_ref().map(|(_, p)| p.clone());
        let wb = &mut app.writeback;
        ui.label("Files:");
        ui.selectable_value(&mut wb.only_selected, false, "the whole library");
        let label = selected.map_or("the selected file".to_string(), |p| {
            format!("only {}", file_name(&p))
        });
        ui.selectable_value(&mut wb.only_selected, true, label);
    });
    let busy = app.writeback.busy();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!busy, egui::Button::new("Preview"))
            .on_hover_text("Show what would change, without touching any file")
            .clicked()
        {
            start_preview(app);
        }
        let n = app
            .writeback
            .plan
            .as_ref()
            .map_or(0, |(p, ..)| p.to_write());
        if ui
            .add_enabled(
                !busy && n > 0,
                egui::Button::new(format!("Write {n} files")),
            )
            .clicked()
        {
            start_apply(app);
        }
        if ui
            .add_enabled(!busy, egui::Button::new("Undo last write"))
            .on_hover_text("Restore the files of the newest write exactly as they were")
            .clicked()
        {
            start_undo(app);
        }
        if busy {
            ui.spinner();
        }
    });
    results_ui(ui, &app.writeback);
}

fn fields_ui(ui: &mut egui::Ui, app: &mut EarmarkApp) {
    let wb = &mut app.writeback;
    let mut remove = None;
    egui::Grid::new("writeback-fields")
        .num_columns(5)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            ui.weak("field");
            ui.weak("from sources (empty: all)");
            ui.weak("threshold");
            ui.weak("at most");
            ui.end_row();
            for (i, row) in wb.fields.iter_mut().enumerate() {
                ui.add(egui::TextEdit::singleline(&mut row.name).desired_width(110.0));
                ui.add(
                    egui::TextEdit::singleline(&mut row.sources)
                        .hint_text("personal, a head's name")
                        .desired_width(180.0),
                );
                ui.add(egui::Slider::new(&mut row.threshold, 0.0..=1.0).fixed_decimals(2));
                ui.add(
                    egui::DragValue::new(&mut row.top)
                        .range(1..=10)
                        .suffix(" labels"),
                );
                if ui.small_button("Remove").clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
    if let Some(i) = remove {
        wb.fields.remove(i);
        wb.plan = None;
    }
    if ui.small_button("Add a field").clicked() {
        wb.fields.push(FieldRow {
            name: "mood".into(),
            sources: String::new(),
            threshold: 0.5,
            top: 2,
        });
    }
}

fn results_ui(ui: &mut egui::Ui, wb: &WritebackState) {
    if let Some(e) = &wb.error {
        ui.colored_label(ui.visuals().warn_fg_color, e);
    }
    if let Some(r) = &wb.applied {
        ui.label(format!(
            "Written: {} files · unchanged {} · failed {}{}",
            r.written.len(),
            r.unchanged,
            r.failed.len(),
            if r.cancelled { " · cancelled" } else { "" }
        ));
        if let Some(j) = &r.journal {
            ui.weak(format!("Undo journal: {}", j.display()));
        }
        problems_ui(ui, &r.failed);
    }
    if let Some(r) = &wb.undone {
        ui.label(format!(
            "Undo: {} restored · {} already original · {} refused",
            r.restored.len(),
            r.already.len(),
            r.refused.len()
        ));
        problems_ui(ui, &r.refused);
    }
    let Some((plan, ..)) = &wb.plan else {
        return;
    };
    ui.label(format!(
        "Preview: {} files to write · {} keep their values · {} without labels above the threshold · {} cannot be tagged",
        plan.to_write(),
        plan.files.len() - plan.to_write(),
        plan.without_labels,
        plan.problems.len()
    ));
    problems_ui(ui, &plan.problems);
    egui::ScrollArea::vertical()
        .id_salt("writeback-preview")
        .max_height(260.0)
        .show(ui, |ui| {
            egui::Grid::new("writeback-plan")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for head in ["file", "field", "now", "after", ""] {
                        ui.weak(head);
                    }
                    ui.end_row();
                    for file in plan.files.iter().take(PREVIEW_ROWS) {
                        for c in &file.changes {
                            ui.label(file_name(&file.path)).on_hover_text(&file.path);
                            ui.label(c.field.name());
                            ui.label(c.current.as_deref().unwrap_or("(empty)"));
                            ui.label(c.new.as_deref().unwrap_or("(empty)"));
                            ui.weak(format!("{:?}", c.action).to_lowercase());
                            ui.end_row();
                        }
                    }
                });
            if plan.files.len() > PREVIEW_ROWS {
                ui.weak(format!(
                    "… and {} more files",
                    plan.files.len() - PREVIEW_ROWS
                ));
            }
        });
}

fn problems_ui(ui: &mut egui::Ui, problems: &[(String, String)]) {
    if problems.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("{} files with a problem", problems.len()))
        .id_salt(problems.as_ptr())
        .show(ui, |ui| {
            for (path, why) in problems.iter().take(PREVIEW_ROWS) {
                ui.label(format!("{}: {why}", file_name(path)))
                    .on_hover_text(path);
            }
        });
}

fn file_name(path: &str) -> &str {
    std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}
