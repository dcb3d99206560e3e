//! How the Models tab looks: the active model and its device (with the GPU found), the installed
//! models with Use and Import, then the downloads (see `downloads`) and the tag head with the
//! heads of downloaded archives.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::ModelManager;
use super::official;
use crate::config::{BUNDLED_MODEL, STARTER_HEAD, STARTER_SOURCE};
use crate::gui::shared::active_model::{InstalledModel, ModelSource, format_size};
use crate::gui::shared::command::Command;
use crate::gui::shared::view::ViewCtx;
use crate::model::bundled::{HeadInForce, is_bundled_model};

/// Device choices offered.
const DEVICES: [(&str, &str); 3] = [
    ("auto", "Automatic (best GPU, else CPU)"),
    ("wgpu", "GPU through wgpu (Vulkan, Metal, DirectX 12)"),
    ("cpu", "CPU"),
];

impl ModelManager {
    pub(super) fn panel_ui(&mut self, ui: &mut egui::Ui, cx: &ViewCtx, out: &mut Vec<Command>) {
        ui.heading("Active model");
        match &cx.model.active {
            Some(m) => {
                ui.label(format!(
                    "{} — {}-d, {} blocks, {} heads, {}-frame chunks",
                    m.name(),
                    m.config.embed_dim,
                    m.config.depth,
                    m.config.num_heads,
                    m.config.n_t
                ));
                ui.small(m.path.display().to_string());
            }
            None => {
                ui.colored_label(ui.visuals().warn_fg_color, cx.model_line());
            }
        }
        self.device_ui(ui, cx, out);
        ui.separator();
        self.official_ui(ui, cx, out);
        ui.separator();
        ui.horizontal(|ui| {
            ui.heading("Installed models");
            if ui
                .button("Import checkpoint…")
                .on_hover_text(".safetensors or .pt")
                .clicked()
            {
                out.push(Command::ImportModelDialog);
            }
            if ui.button("Refresh").on_hover_text("List again").clicked() {
                self.forget_lists();
            }
        });
        if self.import_task.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Checking and copying the checkpoint…");
            });
        }
        note_ui(ui, self.import_note.as_ref());
        if self.list.is_none() {
            ui.spinner();
            self.catalog_ui(ui, out);
            return;
        }
        self.installed_ui(ui, cx, out);
        ui.separator();
        self.catalog_ui(ui, out);
        ui.separator();
        self.head_ui(ui, cx, out);
        self.downloaded_heads_ui(ui, cx, out);
    }

    /// What the bundled model is (when it is the one in use) and the official model's offer.
    fn official_ui(&self, ui: &mut egui::Ui, cx: &ViewCtx, out: &mut Vec<Command>) {
        ui.heading("The official model");
        let bundled = cx.model.path.as_deref().is_some_and(is_bundled_model);
        if bundled {
            official::bundled_intro_ui(ui);
        }
        let busy = self.download.is_some();
        out.extend(official::offer_ui(ui, self.catalog.as_ref(), busy));
    }

    /// The tag head in force, with the choice of the starter head or none.
    fn head_ui(&self, ui: &mut egui::Ui, cx: &ViewCtx, out: &mut Vec<Command>) {
        ui.heading("Tag head");
        let in_force = cx.head_in_force();
        match &in_force {
            HeadInForce::Chosen { head, .. } if head.is_file() => {
                ui.label(head.display().to_string());
            }
            HeadInForce::Chosen { head, .. } => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("Head file not found: {}", head.display()),
                );
            }
            HeadInForce::Starter { .. } => {
                let labels = crate::model::bundled::starter_labels();
                ui.label(format!(
                    "The starter tags of the bundled model: {} types of sound, each file's \
                     likeliest kept from a score of {:.2} (Tags tab).",
                    labels.len(),
                    cx.settings.limits_for(STARTER_SOURCE).threshold
                ));
                ui.collapsing("The starter labels", |ui| {
                    for (label, group, definition) in crate::model::bundled::starter_definitions() {
                        ui.label(format!("{label} ({group}): {definition}"));
                    }
                });
            }
            HeadInForce::Off | HeadInForce::NotForThisModel | HeadInForce::Unavailable(_) => {
                ui.weak(in_force.why_none().unwrap_or_default());
            }
        }
        ui.horizontal(|ui| {
            let starter_here = matches!(in_force, HeadInForce::Starter { .. });
            let bundled = cx.model.path.as_deref().is_some_and(is_bundled_model);
            if bundled
                && !starter_here
                && (cx.settings.head.is_some() || cx.settings.no_head)
                && ui
                    .button("Use the starter tags")
                    .on_hover_text("The bundled model's own head (with the bundled model only)")
                    .clicked()
            {
                out.push(Command::UseStarterHead);
            }
            if !matches!(in_force, HeadInForce::Off)
                && ui
                    .button("No tag head")
                    .on_hover_text("Turn predicted tags off")
                    .clicked()
            {
                out.push(Command::UseNoHead);
            }
        });
    }

    /// The installed models, each with its size, its shape and Use (or "active").
    fn installed_ui(&self, ui: &mut egui::Ui, cx: &ViewCtx, out: &mut Vec<Command>) {
        let Some(list) = &self.list else {
            return;
        };
        if list.is_empty() {
            ui.label("No model installed: import one or train one.");
        }
        let active = cx.model.path.as_ref();
        egui::Grid::new("models").striped(true).show(ui, |ui| {
            for m in &shown_models(list, active.map(PathBuf::as_path)) {
                let name = m
                    .path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                ui.label(name).on_hover_text(m.path.display().to_string());
                ui.label(match m.source {
                    ModelSource::Bundled => "bundled",
                    ModelSource::Installed => "installed",
                    ModelSource::Elsewhere => "elsewhere",
                });
                ui.label(format_size(m.size));
                match &m.config {
                    Ok(c) => {
                        ui.label(format!("{}-d · {} blocks", c.embed_dim, c.depth));
                        if active == Some(&m.path) {
                            ui.strong("active");
                        } else if ui.button("Use").clicked() {
                            out.push(Command::UseModel(m.path.clone()));
                        }
                    }
                    Err(e) => {
                        ui.colored_label(ui.visuals().warn_fg_color, "not an encoder")
                            .on_hover_text(e);
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
    }

    /// The probe heads of downloaded archives, each with a Use button.
    fn downloaded_heads_ui(&self, ui: &mut egui::Ui, cx: &ViewCtx, out: &mut Vec<Command>) {
        let Some(view) = &self.catalog else {
            return;
        };
        if view
            .heads
            .iter()
            .all(|(h, _)| h.file_name() == Some(STARTER_HEAD.as_ref()))
        {
            return;
        }
        egui::Grid::new("heads").striped(true).show(ui, |ui| {
            // The starter head (written beside the downloaded ones) has the section above.
            let downloaded = view
                .heads
                .iter()
                .filter(|(h, _)| h.file_name() != Some(STARTER_HEAD.as_ref()));
            for (head, labels) in downloaded {
                let group = head
                    .parent()
                    .and_then(|g| g.file_name())
                    .map_or_else(String::new, |g| g.to_string_lossy().into_owned());
                let task = head
                    .file_stem()
                    .map_or_else(String::new, |t| t.to_string_lossy().into_owned());
                ui.label(format!("{group} / {task}"))
                    .on_hover_text(head.display().to_string());
                ui.label(if labels.is_some() {
                    "class names"
                } else {
                    "numbered classes"
                });
                if cx.settings.head.as_ref() == Some(head) {
                    ui.strong("in use");
                } else if ui.button("Use head").clicked() {
                    out.push(Command::UseHead {
                        head: head.clone(),
                        labels: labels.clone(),
                    });
                }
                ui.end_row();
            }
        });
    }

    /// Where the encoder runs, and the GPU the probe found.
    fn device_ui(&self, ui: &mut egui::Ui, cx: &ViewCtx, out: &mut Vec<Command>) {
        let device = &cx.settings.device;
        let current = DEVICES
            .iter()
            .find(|(id, _)| id == device)
            .map_or(device.as_str(), |(_, label)| label)
            .to_string();
        let mut chosen = device.clone();
        ui.horizontal(|ui| {
            let name = ui.label("Encoder device:");
            egui::ComboBox::from_id_salt("device")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (id, label) in DEVICES {
                        ui.selectable_value(&mut chosen, id.to_string(), label);
                    }
                })
                .response
                .labelled_by(name.id);
        });
        if &chosen != device {
            out.push(Command::SetDevice(chosen));
        }
        precision_ui(ui, cx, out);
        if !cx.opts.probe_gpu {
            return;
        }
        match &self.gpu {
            Some(line) => {
                ui.label(line);
            }
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Looking for a GPU…");
                });
            }
        }
    }
}

/// The installed models to list: the bundled model once, though Earmark also writes a copy of
/// it into the data directory (the copy that is active is the one listed, shown as bundled).
fn shown_models<'a>(list: &'a [InstalledModel], active: Option<&Path>) -> Vec<InstalledModel> {
    let is_default = |m: &InstalledModel| m.path.file_name() == Some(BUNDLED_MODEL.as_ref());
    let copies: Vec<&'a InstalledModel> = list.iter().filter(|m| is_default(m)).collect();
    let kept = copies
        .iter()
        .find(|m| Some(m.path.as_path()) == active)
        .or(copies.first())
        .copied();
    let mut out = Vec::new();
    for m in list {
        if m.path.file_name() == Some(STARTER_HEAD.as_ref()) {
            // The bundled model's tag head, not an encoder: it is the Tag head section's.
            continue;
        }
        if !is_default(m) {
            out.push(m.clone());
            continue;
        }
        let same = kept.is_some_and(|k| k.size == m.size);
        if kept.is_some_and(|k| std::ptr::eq(k, m)) {
            let mut shown = m.clone();
            if copies.iter().any(|c| c.source == ModelSource::Bundled) {
                shown.source = ModelSource::Bundled;
            }
            out.push(shown);
        } else if !same {
            // A different file under the same name (an older default): listed too.
            out.push(m.clone());
        }
    }
    out
}

/// An outcome line: plain when it went well, in the error colour when not.
pub(super) fn note_ui(ui: &mut egui::Ui, note: Option<&Result<String, String>>) {
    match note {
        Some(Ok(n)) => {
            ui.label(n);
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
}

/// The precision of the encoder's CPU matrix products, with what `auto` means on this CPU.
fn precision_ui(ui: &mut egui::Ui, cx: &ViewCtx, out: &mut Vec<Command>) {
    use crate::model::lowp::{self, Precision};
    let current: Precision = cx.settings.precision.parse().unwrap_or_default();
    let label = |p: Precision| match p {
        Precision::Auto => format!("Automatic ({} on this CPU)", lowp::auto_choice()),
        Precision::F32 => "f32 (exact)".to_string(),
        Precision::Bf16 => "bf16".to_string(),
        Precision::Int8 => "int8".to_string(),
    };
    let mut chosen = current;
    ui.horizontal(|ui| {
        let name = ui.label("CPU precision:");
        egui::ComboBox::from_id_salt("precision")
            .selected_text(label(current))
            .show_ui(ui, |ui| {
                for p in Precision::ALL {
                    ui.add_enabled_ui(p.supported(), |ui| {
                        ui.selectable_value(&mut chosen, p, label(p))
                            .on_disabled_hover_text("This CPU lacks the instructions it needs.");
                    });
                }
            })
            .response
            .labelled_by(name.id)
            .on_hover_text(
                "Reduced precision encodes faster on CPUs with AVX-512 (bf16, VNNI). Automatic \
                 picks the fastest that keeps embeddings within 0.999 cosine of f32. Applies to \
                 work started from now on.",
            );
    });
    if chosen != current {
        out.push(Command::SetPrecision(chosen));
    }
}
