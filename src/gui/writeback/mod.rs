//! "Write tags into files", the write-back feature of the Tags tab: the window's face on
//! [`crate::writeback`]. The user picks the fields (by default the command line's default,
//! `EARMARK_TAGS`; genre, mood or a field of their own), where
//! their labels come from, a threshold and a top-N, what happens to values already there, and
//! which files; "Preview" computes the plan (the dry run) as a job and lists every change,
//! "Write" carries it out as a job (atomic, journalled), and "Undo last write" restores the files
//! of the newest journal byte for byte.
//!
//! [`WritebackPanel::ui`] (in `view`) only edits the panel's own choices and asks for the jobs
//! with commands; the app's handler starts them with [`WritebackPanel::start_preview`],
//! [`WritebackPanel::start_apply`] and [`WritebackPanel::start_undo`] as jobs of the background
//! service (listed in the Jobs tab); [`WritebackPanel::poll`] takes the jobs' answers.

mod view;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::gui::shared::command::Command;
use crate::gui::shared::view::ViewCtx;
use crate::jobs::{JobContext, JobEvent, JobKind};
use crate::library::Library;
use crate::wording::count;
use crate::writeback::{
    self, Field, FieldSpec, Plan, Policy, Selection, WritebackOptions, apply::ApplyReport,
    undo::UndoReport,
};

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
pub struct WritebackPanel {
    /// The fields to fill.
    fields: Vec<FieldRow>,
    /// What happens to values already there.
    policy: Policy,
    /// ID3v2.3 instead of 2.4 for MP3.
    id3v23: bool,
    /// Only the selected file (else the whole library).
    only_selected: bool,
    /// The latest preview, and the options it was made with.
    plan: Option<(Plan, WritebackOptions, Selection)>,
    /// What the last write did.
    applied: Option<ApplyReport>,
    /// What the last undo did.
    undone: Option<UndoReport>,
    /// The last error, for people.
    error: Option<String>,
    plan_slot: Option<Slot<(Plan, WritebackOptions, Selection)>>,
    apply_slot: Option<Slot<ApplyReport>>,
    undo_slot: Option<Slot<UndoReport>>,
}

impl FieldRow {
    /// The row of a field spec.
    pub fn of(spec: &FieldSpec) -> Self {
        FieldRow {
            name: spec.field.name().to_owned(),
            sources: spec.sources.join(", "),
            threshold: spec.threshold,
            top: spec.top,
        }
    }
}

impl Default for WritebackPanel {
    fn default() -> Self {
        WritebackPanel {
            // The same default field as the command line's (`writeback::fields::DEFAULT_FIELD`).
            fields: vec![FieldRow::of(&FieldSpec::default_field())],
            policy: Policy::Keep,
            id3v23: false,
            only_selected: false,
            plan: None,
            applied: None,
            undone: None,
            error: None,
            plan_slot: None,
            apply_slot: None,
            undo_slot: None,
        }
    }
}

impl WritebackPanel {
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

    /// Runs `work` as a write-back job of the service (the Jobs tab lists it) whose answer
    /// lands in the returned slot; `None` (with the reason shown) when it cannot start.
    fn submit<T: Send + 'static>(
        &mut self,
        cx: &ViewCtx,
        name: &str,
        work: impl FnOnce(&JobContext, &mut Library) -> crate::Result<(T, String)> + Send + 'static,
    ) -> Option<Slot<T>> {
        let slot: Slot<T> = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        let library = cx.library_path.clone();
        let submitted = cx.service.submit(JobKind::Writeback, name, move |ctx| {
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
        match submitted {
            Ok(_) => Some(slot),
            Err(e) => {
                self.error = Some(e.to_string());
                None
            }
        }
    }

    /// Starts the preview (the dry run) of the chosen fields on the chosen files.
    pub fn start_preview(&mut self, cx: &ViewCtx) {
        let opts = match self.options() {
            Ok(o) => o,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        let selection = match (&cx.selected, self.only_selected) {
            (Some((_, path)), true) => Selection::Paths(vec![PathBuf::from(path)]),
            (None, true) => {
                self.error = Some("Select a file first, or choose the whole library.".into());
                return;
            }
            _ => Selection::All,
        };
        self.error = None;
        let slot = self.submit(cx, "Preview tag writing", move |ctx, lib| {
            let plan = writeback::plan::plan(
                lib,
                &opts,
                &selection,
                &mut writeback::job_progress(ctx),
                &ctx.control,
            )?;
            report_failures(ctx, &plan.problems);
            let summary = format!("{} would be written", count(plan.to_write(), "file"));
            Ok(((plan, opts, selection), summary))
        });
        self.plan_slot = slot;
    }

    /// Writes the previewed plan into the files.
    pub fn start_apply(&mut self, cx: &ViewCtx) {
        let Some((plan, opts, _)) = self.plan.take() else {
            return;
        };
        let journals = match writeback::journal::default_dir() {
            Ok(d) => d,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        self.applied = None;
        let slot = self.submit(cx, "Write tags into files", move |ctx, lib| {
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
                count(report.written.len(), "file"),
                report.failed.len()
            );
            Ok((report, summary))
        });
        self.apply_slot = slot;
    }

    /// Restores the files of the newest write that was not undone yet.
    pub fn start_undo(&mut self, cx: &ViewCtx) {
        // The undo journals are kept in `writeback/` in the data directory.
        let last =
            writeback::journal::default_dir().and_then(|d| writeback::journal::last_pending(&d));
        let journal = match last {
            Ok(Some(j)) => j,
            Ok(None) => {
                self.error = Some("No tag write to undo.".into());
                return;
            }
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        self.undone = None;
        let slot = self.submit(cx, "Undo tag writing", move |ctx, lib| {
            let report = writeback::undo::undo(
                Some(lib),
                &journal,
                &mut writeback::job_progress(ctx),
                &ctx.control,
            )?;
            report_failures(ctx, &report.refused);
            let summary = format!(
                "{} restored, {} refused",
                count(report.restored.len(), "file"),
                report.refused.len()
            );
            Ok((report, summary))
        });
        self.undo_slot = slot;
    }

    /// Takes the answers of finished jobs. The table is read again when any job ends (the
    /// app does that for every job), so nothing is asked for here.
    pub fn poll(&mut self, _cx: &ViewCtx) -> Vec<Command> {
        if let Some(r) = take(&mut self.plan_slot) {
            match r {
                Ok(p) => self.plan = Some(p),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        if let Some(r) = take(&mut self.apply_slot) {
            match r {
                Ok(report) => self.applied = Some(report),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        if let Some(r) = take(&mut self.undo_slot) {
            match r {
                Ok(report) => self.undone = Some(report),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        Vec::new()
    }
}

/// The answer in `slot`, once there (the slot is emptied).
fn take<T>(slot: &mut Option<Slot<T>>) -> Option<crate::Result<T>> {
    let answer = slot.as_ref()?.lock().ok()?.take()?;
    *slot = None;
    Some(answer)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_starts_with_the_command_lines_default_field() {
        let opts = WritebackPanel::default().options().unwrap();
        assert_eq!(opts, WritebackOptions::default());
        assert_eq!(
            opts.fields[0].field,
            Field::Custom(writeback::fields::DEFAULT_FIELD.into())
        );
        assert_ne!(opts.fields[0].field, Field::Genre);
        assert_eq!(
            (count(1, "file"), count(2, "file")),
            ("1 file".to_owned(), "2 files".to_owned())
        );
    }
}
