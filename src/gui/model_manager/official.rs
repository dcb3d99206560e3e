//! What the bundled model is, in plain words, and the one download that brings the official
//! weights: the MATPAC++ general-audio encoder and the probe heads made for it (two catalog
//! entries fetched one after the other by one job). Shown in the Models tab and, while the
//! bundled model is in use, on the first start.

use eframe::egui;

use super::catalog::{CatalogView, OFFICIAL, OFFICIAL_PARTS, OFFICIAL_SIZE};
use crate::catalog::EntryStatus;
use crate::gui::shared::command::Command;

/// The plain words about the bundled model.
pub fn bundled_intro_ui(ui: &mut egui::Ui) {
    let labels = crate::model::bundled::starter_labels().len();
    ui.label(format!(
        "Earmark's bundled model is a small encoder trained by Earmark on free audio from \
         Debian packages. It works offline and names {labels} types of sound from the first \
         scan (drums, instrument families, voice, music, common effects, noise): its starter \
         tags."
    ));
}

/// The offer of the official model: what it adds, its size, and one Download button (or where
/// it stands). `view`: the catalog when read (`None`: not read yet, the button still works).
pub fn offer_ui(ui: &mut egui::Ui, view: Option<&CatalogView>, busy: bool) -> Option<Command> {
    let statuses: Vec<Option<&EntryStatus>> = OFFICIAL_PARTS
        .iter()
        .map(|part| {
            let view = view?;
            let catalog = view.catalog.as_ref().ok()?;
            let i = catalog.entries.iter().position(|e| e.name == *part)?;
            view.statuses.get(i)
        })
        .collect();
    if view.is_some_and(|v| v.catalog.is_ok()) && statuses.iter().any(Option::is_none) {
        // Another catalog without these entries: nothing to offer.
        return None;
    }
    let installed = statuses
        .iter()
        .all(|s| matches!(s, Some(EntryStatus::Installed)));
    let partial = statuses
        .iter()
        .any(|s| matches!(s, Some(EntryStatus::Partial { .. })));
    ui.label(
        "The official MATPAC++ model hears much more: a ViT-B encoder self-supervised on \
         AudioSet, with probe heads for 11 tasks (instruments, genres, moods, and the 200 \
         FSD50K and 50 ESC-50 sound classes) to choose as tag heads.",
    );
    let mut command = None;
    // A scope, not a row: the welcome screen centres the button, the Models tab does not.
    ui.scope(|ui| {
        if installed {
            ui.label("MATPAC++ and its probe heads are installed: Use it in Installed models.");
            return;
        }
        let text = if partial {
            format!("Resume MATPAC++ with its probe heads ({OFFICIAL_SIZE})")
        } else {
            format!("Download MATPAC++ with its probe heads ({OFFICIAL_SIZE})")
        };
        if ui
            .add_enabled(!busy, egui::Button::new(text))
            .on_hover_text(
                "matpac-plus (the encoder) and probes (the heads with their class names), from \
                 the MATPAC release on GitHub; needs a network connection",
            )
            .clicked()
        {
            command = Some(Command::DownloadModel(OFFICIAL.into()));
        }
    });
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::catalog::parts;

    #[test]
    fn the_official_download_is_the_encoder_then_its_heads() {
        assert_eq!(parts(OFFICIAL), ["matpac-plus", "probes"]);
        assert_eq!(parts("matpac"), ["matpac"]);
        let catalog = crate::catalog::Catalog::load(None).unwrap();
        for part in OFFICIAL_PARTS {
            assert!(catalog.entries.iter().any(|e| e.name == part), "{part}");
        }
    }
}
