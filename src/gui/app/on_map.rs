//! The map's commands: computing the map (a job, on request or after each scan) and reading it
//! for the Map tab.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::job_list::{JobKind, JobState};
use crate::gui::shared::view::ViewCtx;
use crate::library::Library;
use crate::search::map::{MapOptions, compute_map, update_map};

/// Reads the map's points again where they are out of date.
pub(super) fn refresh(app: &mut EarmarkApp, ctx: &egui::Context) {
    app.map.refresh(ctx, &ViewCtx::new(&app.shared));
}

/// Submits the map job for the active model (the user asked: it lays the library out again).
pub(super) fn compute(app: &mut EarmarkApp) {
    submit(app, true);
}

/// A scan ended: when it finished, the map job lays out the library again if files were
/// analysed or removed since the stored map (queued behind other jobs, like any job).
pub(crate) fn after_scan(app: &mut EarmarkApp, end: &JobState) {
    if matches!(end, JobState::Done(_)) && !app.shared.jobs.active(JobKind::Map) {
        submit(app, false);
    }
}

fn submit(app: &mut EarmarkApp, asked: bool) {
    let Some(model) = app.shared.model.active.clone() else {
        if asked {
            app.map.set_error(app.shared.model_line());
        }
        return;
    };
    let library = app.shared.library_path.clone();
    let submitted = app.shared.service.submit(JobKind::Map, "Map", move |ctx| {
        let mut lib = Library::open(&library)?;
        let Some(model_id) = model.id_in(&lib)? else {
            return if asked {
                Err(crate::Error::Model(
                    "the library has no analyses by this model yet: scan first".into(),
                ))
            } else {
                Ok("no analysed file to lay out".into())
            };
        };
        let dim = model.identity.clip_dim;
        let opts = MapOptions::default();
        let laid_out = if asked {
            Some(compute_map(&mut lib, model_id, dim, &opts, ctx)?)
        } else {
            update_map(&mut lib, model_id, dim, &opts, ctx)?
        };
        Ok(match laid_out {
            Some(1) => "1 file laid out".into(),
            Some(n) => format!("{n} files laid out"),
            None => "the map is up to date".into(),
        })
    });
    if let Err(e) = submitted {
        app.shared.notices.error(e.to_string());
    }
}
