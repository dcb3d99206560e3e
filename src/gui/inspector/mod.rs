//! The inspector under the main area: the selected file's min/max/RMS waveform and the
//! spectrogram of its whole band (the model's band marked), playback
//! controls, stored, predicted and personal tags, the tag timeline, "Find similar" for the file
//! or the selected region, "Add tag…" and PNG export.
//!
//! [`InspectorPanel`] keeps the loaded file, its spectrogram texture, the visible range and the
//! selected region. The handler starts loads ([`InspectorPanel::load`]) and plays what is
//! loaded ([`InspectorPanel::playable`]); the drawing is in `view`.

mod band;
mod read;
mod view;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

use crate::audio::playback::PlayBuffer;
use crate::gui::shared::command::Command;
use crate::gui::shared::tasks::{Task, poll_slot};
use crate::gui::shared::view::ViewCtx;
use crate::gui::shared::widgets::new_tag::NewTagField;
use read::{InspectRequest, Inspected, inspect};

/// The inspector's state.
#[derive(Default)]
pub struct InspectorPanel {
    /// Loading a file.
    task: Option<Task<crate::Result<Inspected>>>,
    /// The file being loaded.
    loading: Option<i64>,
    /// The loaded file.
    data: Option<Inspected>,
    /// Why the selected file cannot be shown.
    error: Option<String>,
    /// The spectrogram on the GPU.
    texture: Option<egui::TextureHandle>,
    /// Visible time range (seconds).
    view: (f64, f64),
    /// Selected region (seconds).
    region: Option<(f64, f64)>,
    /// A seek asked for before playback started.
    pending_seek: Option<f64>,
    /// The last PNG written.
    exported: Option<PathBuf>,
    /// The "Add tag…" field.
    new_tag: NewTagField,
}

impl InspectorPanel {
    /// Starts loading the selected file.
    pub fn load(&mut self, ctx: &egui::Context, cx: &ViewCtx) {
        let Some((id, path)) = cx.selected.clone() else {
            return;
        };
        let head = cx.head_in_force().head();
        let req = InspectRequest {
            file_id: id,
            path: PathBuf::from(path),
            library: cx.library_path.clone(),
            model: cx.model.active.clone(),
            head,
        };
        self.loading = Some(id);
        self.error = None;
        self.task = Some(Task::on(&cx.service, "earmark-inspect", ctx, move || {
            inspect(&req)
        }));
    }

    /// Takes a finished load: the selection moved on meanwhile (load again), or the file is
    /// shown (and played, when that was asked for).
    pub fn poll(&mut self, ctx: &egui::Context, cx: &ViewCtx) -> Vec<Command> {
        let Some(result) = poll_slot(&mut self.task) else {
            return Vec::new();
        };
        if cx.selected.as_ref().map(|s| s.0) != self.loading {
            return vec![Command::InspectSelected];
        }
        self.loading = None;
        match result {
            Ok(data) => {
                let img = &data.band.image;
                self.texture = Some(ctx.load_texture(
                    "spectrogram",
                    egui::ColorImage::from_rgba_unmultiplied([img.width, img.height], &img.pixels),
                    egui::TextureOptions::LINEAR,
                ));
                self.view = (0.0, data.duration_s.max(1e-3));
                self.region = None;
                self.data = Some(data);
                if cx.play_when_loaded {
                    return vec![Command::PlayLoaded];
                }
            }
            Err(e) => {
                self.data = None;
                self.texture = None;
                self.error = Some(e.to_string());
            }
        }
        Vec::new()
    }

    /// Whether a file is being loaded.
    pub fn is_loading(&self) -> bool {
        self.task.is_some()
    }

    /// The id of the file shown, once loaded.
    pub fn shown(&self) -> Option<i64> {
        self.data.as_ref().map(|d| d.file_id)
    }

    /// What playback plays for the file shown: (its id, its samples).
    pub fn playable(&self) -> Option<(i64, Arc<PlayBuffer>)> {
        self.data.as_ref().map(|d| (d.file_id, Arc::clone(&d.play)))
    }

    /// The selected region (seconds).
    pub fn region(&self) -> Option<(f64, f64)> {
        self.region
    }

    /// Play from `seconds` once playback starts.
    pub fn seek_when_played(&mut self, seconds: f64) {
        self.pending_seek = Some(seconds);
    }

    /// Where playback should start (taken: asked for once).
    pub fn take_pending_seek(&mut self) -> Option<f64> {
        self.pending_seek.take()
    }

    /// A name for the exported picture: the file's name with `.png`.
    pub fn png_name(&self) -> String {
        self.data
            .as_ref()
            .and_then(|d| {
                d.path
                    .file_stem()
                    .map(|s| format!("{}.png", s.to_string_lossy()))
            })
            .unwrap_or_else(|| "spectrogram.png".into())
    }

    /// Writes the spectrogram picture to `path` as PNG; `Err` says why it could not.
    pub fn export_png(&mut self, path: &Path) -> Result<(), String> {
        let Some(Ok(img)) = self.data.as_ref().map(|d| &d.image) else {
            return Err("No spectrogram to export.".into());
        };
        write_png(path, img).map_err(|e| format!("{}: {e}", path.display()))?;
        self.exported = Some(path.to_path_buf());
        Ok(())
    }
}

/// Writes `img` to `path` through a temporary file, so a failed write leaves no half picture.
fn write_png(path: &Path, img: &crate::dsp::image::RgbaImage) -> std::io::Result<()> {
    let tmp = path.with_extension("png.partial");
    let file = std::fs::File::create(&tmp)?;
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(file),
        img.width as u32,
        img.height as u32,
    );
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&img.pixels))
        .map_err(std::io::Error::other)?;
    std::fs::rename(&tmp, path)
}
