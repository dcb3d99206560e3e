//! The Live tab (feature `live`): listen to an input device and see the level, a scrolling
//! spectrogram, the top tags of the active head and of the personal tags, and their timeline
//! over the last minute; search the library for what was just heard, or save it as a snippet
//! into a library folder; choose the input and output devices.
//!
//! [`LivePanel`] holds a running [`LiveSession`] (the session keeps its real-time threads; the
//! model loads on the service's task lane) and drains its events once per frame
//! ([`LivePanel::poll`]) into the level meter, the scrolling spectrogram, the tags and the
//! timeline. Drawing returns commands; the app's handler starts and stops listening, starts the
//! searches and saves snippets through the methods of `control`.
//!
//! - `view`, `graphs`: drawing the tab (with the audio device pickers);
//! - [`picture`]: the scrolling spectrogram and the level meter;
//! - [`timeline`]: the last minute of tags;
//! - [`work`]: what runs on worker threads; `control`: the requests carried out.

mod control;
mod graphs;
pub mod picture;
mod report;
pub mod timeline;
mod view;
pub mod work;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use crate::engine::Engine;
use crate::gui::shared::active_model::ActiveModel;
use crate::gui::shared::tasks::Task;
use crate::gui::shared::view::ViewCtx;
use crate::live::scores::ScoreSmoother;
use crate::live::{DeviceState, LiveEvent, LiveSession, TagScore};
use crate::tags::classifier::TagClassifier;

use picture::{LevelMeter, ScrollingSpectrogram};
use timeline::{TagTimeline, TimelinePoint};
use work::{DeviceLists, Started};

pub use view::state_line;

/// Lengths offered for "find similar" and snippets, in seconds.
pub const SECONDS_CHOICES: [f32; 3] = [2.0, 4.0, 6.0];

/// The source name of personal tags in the timeline.
pub const PERSONAL: &str = "personal tags";

/// Tags shown per source.
const TOP_TAGS: usize = 5;

/// Events taken from the session per frame at most (the rest wait for the next frame).
const EVENTS_PER_FRAME: usize = 4096;

/// The latest tags of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceTags {
    /// The head's name, or [`PERSONAL`].
    pub source: String,
    /// The top tags, highest first.
    pub tags: Vec<TagScore>,
}

/// Personal tags run on every live embedding.
struct PersonalTags {
    classifiers: Vec<(String, TagClassifier)>,
    smoother: ScoreSmoother,
}

/// A running session and what belongs to it.
struct Running {
    session: LiveSession,
    /// The session's listening job (`None`: the service could not take it; a notice said so).
    report: Option<report::LiveReport>,
    engine: Arc<Engine>,
    model: ActiveModel,
    personal: PersonalTags,
}

/// The Live tab's state.
pub struct LivePanel {
    starting: Option<Task<crate::Result<Started>>>,
    running: Option<Running>,
    /// Where the input stands (`None`: not listening).
    pub device: Option<DeviceState>,
    /// Why listening could not start.
    pub error: Option<String>,
    /// The input level.
    pub level: LevelMeter,
    level_at: Option<Instant>,
    /// The scrolling spectrogram.
    pub picture: ScrollingSpectrogram,
    /// Its texture.
    pub texture: Option<egui::TextureHandle>,
    /// The latest tags of each source.
    pub tags: Vec<SourceTags>,
    /// Hops analysed since listening started.
    pub hops: u64,
    /// The last minute of tags.
    pub timeline: TagTimeline,
    /// Stream position of the newest audio (16 kHz samples since listening started).
    pub position: u64,
    /// Seconds used by "find similar" and "save snippet".
    pub seconds: f32,
    /// The library folder snippets go into.
    pub snippet_folder: Option<PathBuf>,
    save_task: Option<Task<crate::Result<PathBuf>>>,
    /// The last snippet saved, or why it was not.
    pub saved: Option<Result<PathBuf, String>>,
    devices_task: Option<Task<DeviceLists>>,
    /// The audio devices, once listed.
    pub devices: Option<DeviceLists>,
    /// Analysis errors reported by the session (the latest).
    pub analysis_error: Option<String>,
}

impl Default for LivePanel {
    fn default() -> Self {
        LivePanel {
            starting: None,
            running: None,
            device: None,
            error: None,
            level: LevelMeter::default(),
            level_at: None,
            picture: ScrollingSpectrogram::default(),
            texture: None,
            tags: Vec::new(),
            hops: 0,
            timeline: TagTimeline::default(),
            position: 0,
            seconds: SECONDS_CHOICES[1],
            snippet_folder: None,
            save_task: None,
            saved: None,
            devices_task: None,
            devices: None,
            analysis_error: None,
        }
    }
}

impl LivePanel {
    /// Whether a session runs (or is starting).
    pub fn active(&self) -> bool {
        self.running.is_some() || self.starting.is_some()
    }

    /// Whether the model is being loaded to start listening.
    pub fn starting(&self) -> bool {
        self.starting.is_some()
    }

    /// Whether a snippet is being written.
    pub fn saving(&self) -> bool {
        self.save_task.is_some()
    }

    /// The model the session runs, while listening.
    pub fn model_name(&self) -> Option<&str> {
        self.running.as_ref().map(|r| r.model.name())
    }

    /// Seconds of audio heard since listening started.
    pub fn heard_s(&self) -> f32 {
        self.position as f32 / crate::audio::MODEL_SAMPLE_RATE as f32
    }

    /// Asks for the device lists (again).
    pub fn refresh_devices(&mut self, cx: &ViewCtx, ctx: &egui::Context) {
        if self.devices_task.is_none() {
            self.devices_task = Some(Task::on(
                &cx.service,
                "earmark-audio-devices",
                ctx,
                work::device_lists,
            ));
        }
    }

    fn clear_readings(&mut self) {
        self.level = LevelMeter::default();
        self.level_at = None;
        self.picture = ScrollingSpectrogram::default();
        self.tags.clear();
        self.hops = 0;
        self.timeline.clear();
        self.position = 0;
        self.analysis_error = None;
    }

    fn take_event(&mut self, event: LiveEvent) {
        match event {
            LiveEvent::Device(state) => {
                if let Some(report) = self.running.as_ref().and_then(|r| r.report.as_ref()) {
                    report.device(&state);
                }
                self.device = Some(state);
            }
            LiveEvent::Level {
                end_sample,
                at,
                rms_dbfs,
                peak_dbfs,
            } => {
                let dt = self.level_at.map_or(0.0, |t| (at - t).as_secs_f32());
                self.level_at = Some(at);
                self.level.update(rms_dbfs, peak_dbfs, dt);
                self.position = self.position.max(end_sample);
            }
            LiveEvent::Spectrogram { columns } => self.picture.push(&columns),
            LiveEvent::Embedding {
                end_sample,
                embedding,
                ..
            } => {
                self.hops += 1;
                self.personal_tags(end_sample, &embedding);
            }
            LiveEvent::Tags {
                end_sample,
                head_name,
                tags,
                ..
            } => self.set_tags(end_sample, head_name, tags),
            LiveEvent::Error { message } => {
                if let Some(report) = self.running.as_ref().and_then(|r| r.report.as_ref()) {
                    report.problem(&message);
                }
                self.analysis_error = Some(message);
            }
        }
    }

    fn personal_tags(&mut self, end_sample: u64, embedding: &[f32]) {
        let Some(running) = self.running.as_mut() else {
            return;
        };
        let p = &mut running.personal;
        if p.classifiers.is_empty() {
            return;
        }
        let probs: Vec<f32> = p
            .classifiers
            .iter()
            .map(|(_, c)| c.probability(embedding) as f32)
            .collect();
        let smoothed = p.smoother.update(&probs);
        let tags = crate::tags::top_k(smoothed, TOP_TAGS)
            .into_iter()
            .map(|(class, score)| TagScore {
                class,
                label: p.classifiers[class].0.clone(),
                score,
                raw: probs[class],
            })
            .collect();
        self.set_tags(end_sample, PERSONAL.to_string(), tags);
    }

    fn set_tags(&mut self, end_sample: u64, source: String, tags: Vec<TagScore>) {
        self.timeline.push(TimelinePoint {
            end_sample,
            source: source.clone(),
            tags: tags.clone(),
        });
        match self.tags.iter_mut().find(|t| t.source == source) {
            Some(slot) => slot.tags = tags,
            None => {
                self.tags.push(SourceTags { source, tags });
                // The heads first, the personal tags last.
                self.tags.sort_by_key(|t| t.source == PERSONAL);
            }
        }
    }
}
