//! Loading one file for the inspector, on a worker thread: decode once into a playable buffer
//! (source rate, up to two channels) and 16 kHz mono, then the spectrogram of the file's whole
//! band (fed while decoding), the model's log-mel picture (for export), the min/max/RMS
//! waveform, the tags stored in the index and the tags a head predicts from the stored
//! embedding.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::audio::playback::PlayBuffer;
use crate::audio::{AudioDecoder, MODEL_SAMPLE_RATE, MonoResampler};
use crate::dsp::image::{RgbaImage, spectrogram_rgba};
use crate::error::{Error, Result};
use crate::gui::shared::widgets::waveform::{WaveBucket, overview};
use crate::library::Library;
use crate::library::examples::PERSONAL_SOURCE;
use crate::library::head_tags::SegmentTags;
use crate::tags::{Head, Vocabulary, top_k};

use super::band::{BandImage, BandSpectrogram};
use crate::gui::shared::active_model::ActiveModel;

/// Longest audio kept at its source rate for playback; longer files play from 16 kHz mono.
const MAX_SOURCE_PLAY_S: f64 = 20.0 * 60.0;
/// Widest spectrogram texture (GPUs allow at least 8192).
pub use super::band::MAX_COLUMNS as MAX_IMAGE_WIDTH;
/// Waveform overview resolution.
const PEAK_BUCKETS: usize = 4096;
/// Predicted tags shown.
const TOP_TAGS: usize = 5;

/// What the inspector needs to load a file.
#[derive(Debug, Clone)]
pub struct InspectRequest {
    /// File id in the index.
    pub file_id: i64,
    /// The file.
    pub path: PathBuf,
    /// The index (for tags and embeddings).
    pub library: PathBuf,
    /// The active model, when there is one.
    pub model: Option<ActiveModel>,
    /// A head and its vocabulary, when chosen.
    pub head: Option<(PathBuf, Option<PathBuf>)>,
}

/// A file's tag timeline and the head it comes from.
pub type TimelineData = (String, SegmentTags);

/// A loaded file.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// File id.
    pub file_id: i64,
    /// The file.
    pub path: PathBuf,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Source rate.
    pub sample_rate: u32,
    /// Source channels.
    pub channels: usize,
    /// Codec name.
    pub codec: String,
    /// The model's log-mel picture (what "Export PNG…" writes), or why there is none (too
    /// short).
    pub image: std::result::Result<RgbaImage, String>,
    /// The spectrogram of the file's whole band, with the model's band marked.
    pub band: BandImage,
    /// Min/max/RMS per overview bucket of the 16 kHz mono signal.
    pub wave: Vec<WaveBucket>,
    /// What playback plays.
    pub play: Arc<PlayBuffer>,
    /// Tags the official heads stored in the index, best first.
    pub stored_tags: Vec<(String, f32)>,
    /// Personal tags the file carries (examples and predictions), best first.
    pub personal_tags: Vec<(String, f32)>,
    /// The per-segment timeline of the chosen head (or of any head that stored one).
    pub timeline: Option<TimelineData>,
    /// Tags the head predicts, or why it cannot.
    pub predicted: Option<std::result::Result<Vec<(String, f32)>, String>>,
}

/// Loads `req.path` (see the module docs).
pub fn inspect(req: &InspectRequest) -> Result<Inspected> {
    let mut decoder = AudioDecoder::open(&req.path)?;
    let info = decoder.info().clone();
    let keep_source = info.duration_s().is_none_or(|d| d <= MAX_SOURCE_PLAY_S);
    let play_channels = info.channels.clamp(1, 2);
    let mut resampler = MonoResampler::new(info.sample_rate, info.channels, MODEL_SAMPLE_RATE)?;
    let mut mono = Vec::new();
    let mut source = Vec::new();
    let mut band = BandSpectrogram::new(info.sample_rate, info.channels, info.frames);
    while let Some(block) = decoder.next_block()? {
        band.push(block);
        if keep_source {
            for frame in block.chunks_exact(info.channels.max(1)) {
                source.extend_from_slice(&frame[..play_channels]);
            }
        }
        resampler.process_interleaved(block, &mut mono)?;
    }
    resampler.finish(&mut mono)?;
    if mono.is_empty() {
        return Err(Error::NoAudio {
            path: req.path.clone(),
            reason: "no samples".into(),
        });
    }
    let play = if keep_source {
        PlayBuffer {
            samples: source,
            channels: play_channels,
            sample_rate: info.sample_rate,
        }
    } else {
        PlayBuffer {
            samples: mono.clone(),
            channels: 1,
            sample_rate: MODEL_SAMPLE_RATE,
        }
    };
    let image = crate::dsp::log_mel(&mono)
        .map(|mel| spectrogram_rgba(&mel, MAX_IMAGE_WIDTH))
        .map_err(|e| e.to_string());
    let mut band = band.finish();
    band.axis.model_top_hz = Some(crate::dsp::F_MAX);
    let (stored_tags, predicted) = tags(req);
    let (personal_tags, timeline) = personal_and_timeline(req);
    Ok(Inspected {
        file_id: req.file_id,
        path: req.path.clone(),
        duration_s: mono.len() as f64 / f64::from(MODEL_SAMPLE_RATE),
        sample_rate: info.sample_rate,
        channels: info.channels,
        codec: info.codec.clone(),
        image,
        band,
        wave: overview(&mono, PEAK_BUCKETS),
        play: Arc::new(play),
        stored_tags,
        personal_tags,
        timeline,
        predicted,
    })
}

type Tags = Vec<(String, f32)>;

fn tags(req: &InspectRequest) -> (Tags, Option<std::result::Result<Tags, String>>) {
    let Ok(lib) = Library::open(&req.library) else {
        return (Vec::new(), None);
    };
    let stored = stored_tags(&lib, req.file_id).unwrap_or_default();
    let predicted = req.head.as_ref().map(|(head, labels)| {
        predict(
            &lib,
            req.file_id,
            req.model.as_ref(),
            head,
            labels.as_deref(),
        )
        .map_err(|e| e.to_string())
    });
    (stored, predicted)
}

fn stored_tags(lib: &Library, file_id: i64) -> Result<Tags> {
    lib.strongest_tags(file_id, PERSONAL_SOURCE, 10)
}

/// The file's personal tags and its tag timeline (the chosen head's, else any stored one).
fn personal_and_timeline(req: &InspectRequest) -> (Tags, Option<TimelineData>) {
    let Ok(lib) = Library::open(&req.library) else {
        return (Vec::new(), None);
    };
    let personal = lib
        .tags_of_file(req.file_id)
        .map(|tags| {
            tags.into_iter()
                .filter(|(source, _, _)| source == PERSONAL_SOURCE)
                .map(|(_, label, score)| (label, score as f32))
                .collect()
        })
        .unwrap_or_default();
    let chosen = req
        .head
        .as_ref()
        .map(|(path, _)| crate::library::tagging::source_name(path));
    let timeline = chosen
        .and_then(|s| lib.segment_tags(req.file_id, Some(&s)).ok().flatten())
        .filter(|(_, t)| t.count() > 0)
        .or_else(|| lib.segment_tags(req.file_id, None).ok().flatten());
    (personal, timeline)
}

/// The head's top tags for the file's stored tag vector (its clip embedding, or a short clip's
/// with silence after it).
fn predict(
    lib: &Library,
    file_id: i64,
    model: Option<&ActiveModel>,
    head: &Path,
    labels: Option<&Path>,
) -> Result<Tags> {
    let model = model.ok_or_else(|| Error::Model("no model: import one or train one".into()))?;
    let model_id = model.id_in(lib)?.ok_or_else(|| {
        Error::Model(format!(
            "the library has no analyses by {} yet",
            model.name()
        ))
    })?;
    let clip = lib
        .tag_vector(file_id, model_id)?
        .ok_or_else(|| Error::Model("this file is not analysed yet".into()))?;
    let source = crate::library::tagging::source_name(head);
    let head_path = head;
    let head = Head::load(head_path)?;
    if matches!(head, Head::AudioSet { .. }) {
        // Its own encoder pass ran during the scan: the prediction is what it stored.
        let mut tags: Tags = lib
            .tags_of_file(file_id)?
            .into_iter()
            .filter(|(s, _, _)| *s == source)
            .map(|(_, label, p)| (label, p as f32))
            .collect();
        if tags.is_empty() {
            return Err(Error::Model(format!(
                "{source} has not tagged this file yet: rescan to run its encoder pass"
            )));
        }
        tags.truncate(TOP_TAGS);
        return Ok(tags);
    }
    if head.inputs() != clip.len() {
        return Err(Error::Model(format!(
            "the head takes {}-d embeddings, {} gives {}-d",
            head.inputs(),
            model.name(),
            clip.len()
        )));
    }
    let vocab = Vocabulary::for_head(head_path, labels, head.classes())?;
    Ok(top_k(&head.probabilities(&clip)?, TOP_TAGS)
        .into_iter()
        .map(|(i, p)| (vocab.labels[i].clone(), p))
        .collect())
}
