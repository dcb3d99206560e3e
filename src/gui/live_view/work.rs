//! The Live tab's work off the UI thread: loading the model and the tags to start listening,
//! listing audio devices, "find similar" for the last seconds heard (the same path as an
//! outside query clip: analysed whole, then compared with the library's clip index) and
//! saving a snippet.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::audio::input::{InputDeviceInfo, list_input_devices};
use crate::audio::playback::output_devices;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::gui::shared::active_model::ActiveModel;
use crate::gui::shared::search::{SimilarResults, clip_search};
use crate::library::Library;
use crate::library::analyse::{Budget, analyse_file};
use crate::library::model_id::hash_file;
use crate::live::history::save_snippet;
use crate::live::{LiveConfig, LiveHead, LiveSession};
use crate::model::device::DeviceChoice;
use crate::search::{ClipIndex, Filter};
use crate::tags::classifier::TagClassifier;
use crate::tags::{Head, Vocabulary};

/// What starting to listen needs.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The active model.
    pub model: ActiveModel,
    /// Where the encoder runs (`auto`, `cpu`, …).
    pub compute: String,
    /// The input device (`None`: the system's default).
    pub input: Option<String>,
    /// The active head and its vocabulary, as the inspector uses them.
    pub head: Option<(PathBuf, Option<PathBuf>)>,
    /// The index file, for the personal tags.
    pub library: PathBuf,
}

/// A running session with what the tab needs beside it.
pub struct Started {
    /// The session.
    pub session: LiveSession,
    /// Its encoder (also used by "find similar").
    pub engine: Arc<Engine>,
    /// The model the encoder runs.
    pub model: ActiveModel,
    /// Personal tags fitted for this model: (tag, classifier).
    pub personal: Vec<(String, TagClassifier)>,
    /// Things the user should know (a head that does not fit the model, GPU fallbacks).
    pub notes: Vec<String>,
    /// Seconds between analyses and the smoothing time constant, for the personal tags.
    pub hop_and_smoothing_s: (f32, f32),
}

/// Loads the model, the head and the personal tags, and starts the session.
pub fn start(req: StartRequest) -> Result<Started> {
    let choice: DeviceChoice = req.compute.parse().unwrap_or_default();
    let engine = Arc::new(Engine::load(&req.model.path, choice)?);
    let mut notes = engine.take_notices();
    let cfg = engine.config();
    let concat = cfg.freq_patches() * cfg.embed_dim;
    let mut config = LiveConfig::new(Arc::clone(&engine));
    config.device = req.input.clone();
    if let Some((head_path, labels)) = &req.head {
        match live_head(head_path, labels.as_deref(), concat, cfg.embed_dim) {
            Ok(head) => config.heads.push(head),
            Err(e) => notes.push(format!("The tag head is not used: {e}")),
        }
    }
    let personal = match personal_tags(&req.library, &req.model, concat) {
        Ok(p) => p,
        Err(e) => {
            notes.push(format!("Personal tags are not shown: {e}"));
            Vec::new()
        }
    };
    let hop_and_smoothing_s = (config.hop_s, config.smoothing_s);
    let session = LiveSession::start(config)?;
    Ok(Started {
        session,
        engine,
        model: req.model,
        personal,
        notes,
        hop_and_smoothing_s,
    })
}

/// The head at `path` with its labels, checked against the encoder's widths.
fn live_head(path: &Path, labels: Option<&Path>, concat: usize, mean: usize) -> Result<LiveHead> {
    let head = Head::load(path)?;
    let want = match head {
        Head::Probe(_) | Head::MultiLabel(_) => concat,
        Head::AudioSet { .. } => mean,
    };
    if head.inputs() != want {
        return Err(Error::Model(format!(
            "{} takes {}-d embeddings, the model gives {want}-d",
            path.display(),
            head.inputs()
        )));
    }
    let vocab = Vocabulary::for_head(path, labels, head.classes())?;
    let name = path
        .file_stem()
        .map_or_else(|| "head".into(), |s| s.to_string_lossy().into_owned());
    Ok(LiveHead {
        name,
        head,
        labels: vocab.labels,
    })
}

/// Every personal tag with a classifier fitted for `model` on `dim`-d clip embeddings.
fn personal_tags(
    library: &Path,
    model: &ActiveModel,
    dim: usize,
) -> Result<Vec<(String, TagClassifier)>> {
    let lib = Library::open(library)?;
    let Some(model_id) = model.id_in(&lib)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for tag in lib.personal_tags()? {
        if let Some((classifier, _)) = lib.head(&tag.label, model_id)?
            && classifier.dim() == dim
        {
            out.push((tag.label, classifier));
        }
    }
    Ok(out)
}

/// The audio devices: inputs (with their formats) and output names.
#[derive(Debug, Clone)]
pub struct DeviceLists {
    /// Input devices, or why they cannot be listed.
    pub inputs: std::result::Result<Vec<InputDeviceInfo>, String>,
    /// Output device names.
    pub outputs: Vec<String>,
}

/// Lists the devices (ALSA probes each one: tens to hundreds of milliseconds).
pub fn device_lists() -> DeviceLists {
    let mut outputs: Vec<String> = Vec::new();
    // ALSA may describe several devices alike; playback opens the first of a name.
    for name in output_devices() {
        if !outputs.contains(&name) {
            outputs.push(name);
        }
    }
    DeviceLists {
        inputs: list_input_devices().map_err(|e| e.to_string()),
        outputs,
    }
}

/// A "find similar" query for audio heard live.
pub struct HeardQuery {
    /// The index file.
    pub library: PathBuf,
    /// The model the live encoder runs.
    pub model: ActiveModel,
    /// The live encoder.
    pub engine: Arc<Engine>,
    /// 16 kHz mono samples.
    pub samples: Vec<f32>,
    /// The clip index from an earlier query, when still valid: (model id, index).
    pub index: Option<(i64, Arc<ClipIndex>)>,
}

/// Finds the library's files closest to what was heard: the samples become a WAV file outside
/// the library that is analysed and searched like any outside query clip.
pub fn find_similar_heard(q: HeardQuery) -> Result<SimilarResults> {
    let seconds = q.samples.len() as f32 / crate::audio::MODEL_SAMPLE_RATE as f32;
    let lib = Library::open(&q.library)?;
    let model_id = q.model.id_in(&lib)?.ok_or_else(|| {
        Error::Model(format!(
            "the library has no analyses by {} yet: scan a folder first",
            q.model.name()
        ))
    })?;
    let dir = tempfile::Builder::new()
        .prefix("earmark-heard-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let clip_path = save_snippet(&q.samples, dir.path())?;
    let (clip, _segments) = analyse_file(&q.engine, &q.model.identity, &clip_path, Budget::Full)?;
    let filter = Filter {
        exclude_fingerprint: Some(hash_file(&clip_path)?),
        ..Filter::default()
    };
    clip_search(
        &lib,
        &q.model,
        model_id,
        q.index,
        &clip,
        &filter,
        format!("the last {seconds:.0} s heard"),
    )
}

/// Saves `samples` as a 16-bit WAV in `folder`; returns its path.
pub fn save_heard(samples: &[f32], folder: &Path) -> Result<PathBuf> {
    if !folder.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{}: the library folder is not there",
            folder.display()
        )));
    }
    save_snippet(samples, folder)
}
