//! The map's commands: computing the map (a job) and reading it for the Map tab.

use eframe::egui;

use crate::gui::app::EarmarkApp;
use crate::gui::shared::job_list::JobKind;
use crate::gui::shared::view::ViewCtx;
use crate::library::Library;
use crate::search::map::{MapOptions, compute_map};

/// Reads the map's points and colouring again where they are out of date.
pub(super) fn refresh(app: &mut EarmarkApp, ctx: &egui::Context) {
    app.map.refresh(ctx, &ViewCtx::new(&app.shared));
}

/// Submits the map job for the active model.
pub(super) fn compute(app: &mut EarmarkApp) {
    let Some(model) = app.shared.model.active.clone() else {
        app.map.set_error(app.shared.model_line());
        return;
    };
    let library = app.shared.library_path.clone();
    let submitted = app.shared.service.submit(JobKind::Map, "Map", move |ctx| {
        let mut lib = Library::open(&library)?;
        let model_id = model.id_in(&lib)?.ok_or_else(|| {
            crate::Error::Model("the library has no analyses by this model yet: scan first".into())
        })?;
        let n = compute_map(
            &mut lib,
            model_id,
            model.identity.clip_dim,
            &MapOptions::default(),
            ctx,
        )?;
        Ok(format!("{n} files laid out"))
    });
    if let Err(e) = submitted {
        app.shared.notices.push(e.to_string());
    }
}
