//! The Live tab's state and its handling, apart from drawing (`panels::live`): starting and
//! stopping a [`LiveSession`] (on a worker, the session runs its own threads), draining its
//! events once per frame into the level meter, the scrolling spectrogram, the tags and the
//! timeline, and the "find similar" and "save snippet" requests.
//!
//! - [`picture`]: the scrolling spectrogram and the level meter;
//! - [`timeline`]: the last minute of tags;
//! - [`work`]: what runs on worker threads.

pub mod picture;
pub mod timeline;
pub mod work;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;

use crate::engine::Engine;
use crate::gui::app::EarmarkApp;
use crate::gui::command::Command;
use crate::gui::models::ActiveModel;
use crate::gui::state::Panel;
use crate::gui::tasks::{Task, poll_slot};
use crate::live::scores::ScoreSmoother;
use crate::live::{DeviceState, LiveEvent, LiveSession, TagScore};
use crate::tags::personal::TagClassifier;

use picture::{LevelMeter, ScrollingSpectrogram};
use timeline::{TagTimeline, TimelinePoint};
use work::{DeviceLists, HeardQuery, StartRequest, Started};

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
    engine: Arc<Engine>,
    model: ActiveModel,
    personal: PersonalTags,
}

/// The Live tab's state.
pub struct LiveState {
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

impl Default for LiveState {
    fn default() -> Self {
        LiveState {
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

impl LiveState {
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
    pub fn refresh_devices(&mut self, ctx: &egui::Context) {
        if self.devices_task.is_none() {
            self.devices_task = Some(Task::spawn(
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
            LiveEvent::Device(state) => self.device = Some(state),
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
            LiveEvent::Error { message } => self.analysis_error = Some(message),
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
            None => self.tags.push(SourceTags { source, tags }),
        }
    }
}

/// Starts listening with the active model, or stops.
pub fn toggle(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.live.active() {
        stop(app);
    } else {
        start(app, ctx);
    }
}

/// Starts listening (the model loads on a worker).
pub fn start(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.live.active() {
        return;
    }
    let Some(model) = app.model.active.clone() else {
        app.live.error = Some(format!("Cannot listen: {}", app.model_line()));
        return;
    };
    let req = StartRequest {
        model,
        compute: app.settings.device.clone(),
        input: app.settings.input_device.clone(),
        head: app
            .settings
            .head
            .clone()
            .map(|h| (h, app.settings.head_labels.clone())),
        library: app.library_path.clone(),
    };
    app.live.error = None;
    app.live.device = Some(DeviceState::Connecting);
    app.live.clear_readings();
    app.live.starting = Some(Task::spawn("earmark-live-start", ctx, move || {
        work::start(req)
    }));
}

/// Stops listening; the session's threads are joined on a worker.
pub fn stop(app: &mut EarmarkApp) {
    app.live.starting = None;
    if let Some(running) = app.live.running.take() {
        let _ = crate::jobs::spawn_named("earmark-live-stop", move || running.session.stop());
    }
    app.live.device = None;
}

/// Restarts a running session (after the input device changed).
pub fn restart(app: &mut EarmarkApp, ctx: &egui::Context) {
    if app.live.running.is_some() {
        stop(app);
        start(app, ctx);
    }
}

/// Takes finished work and the session's events; called once per frame whatever tab shows.
pub fn poll(app: &mut EarmarkApp, ctx: &egui::Context) {
    shortcut(app, ctx);
    if let Some(lists) = poll_slot(&mut app.live.devices_task) {
        app.live.devices = Some(lists);
    }
    if let Some(result) = poll_slot(&mut app.live.starting) {
        match result {
            Ok(started) => {
                app.notices.extend(started.notes);
                app.live.running = Some(Running {
                    session: started.session,
                    engine: started.engine,
                    model: started.model,
                    personal: PersonalTags {
                        classifiers: started.personal,
                        smoother: ScoreSmoother::new(0.5, 1.0),
                    },
                });
            }
            Err(e) => {
                app.live.device = None;
                app.live.error = Some(format!("Cannot listen: {e}"));
            }
        }
    }
    if let Some(result) = poll_slot(&mut app.live.save_task) {
        match result {
            Ok(path) => {
                if let Some(folder) = path.parent() {
                    app.push(Command::AddRoots(vec![folder.to_path_buf()]));
                }
                app.live.saved = Some(Ok(path));
            }
            Err(e) => app.live.saved = Some(Err(e.to_string())),
        }
    }
    let mut events = Vec::new();
    if let Some(running) = &app.live.running {
        while events.len() < EVENTS_PER_FRAME {
            match running.session.events().try_recv() {
                Ok(e) => events.push(e),
                Err(_) => break,
            }
        }
    }
    for e in events {
        app.live.take_event(e);
    }
    if app.live.active() {
        ctx.request_repaint_after(Duration::from_millis(30));
    }
}

/// Ctrl+L starts or stops listening from any tab.
fn shortcut(app: &mut EarmarkApp, ctx: &egui::Context) {
    if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::L)) {
        toggle(app, ctx);
    }
}

/// "Find similar in my library" for the last [`LiveState::seconds`] heard; the results show in
/// the Similar tab.
pub fn find_similar(app: &mut EarmarkApp, ctx: &egui::Context) {
    let Some(running) = &app.live.running else {
        app.notices
            .push("Start listening first: find similar uses what was heard.".into());
        return;
    };
    let samples = running.session.last_seconds(app.live.seconds);
    if samples.len() < crate::audio::MODEL_SAMPLE_RATE as usize / 2 {
        app.notices
            .push("Not enough heard yet: listen for a moment, then search.".into());
        return;
    }
    let query = HeardQuery {
        library: app.library_path.clone(),
        model: running.model.clone(),
        engine: Arc::clone(&running.engine),
        samples,
        index: app.similar.index.clone(),
    };
    app.similar.error = None;
    app.similar.task = Some(Task::spawn("earmark-similar-heard", ctx, move || {
        work::find_similar_heard(query)
    }));
    app.state.panel = Panel::Similar;
}

/// Saves the last [`LiveState::seconds`] heard as a WAV into the chosen library folder; the
/// folder is scanned once the file is written.
pub fn save_snippet(app: &mut EarmarkApp, ctx: &egui::Context) {
    let Some(running) = &app.live.running else {
        return;
    };
    let Some(folder) = app.live.snippet_folder.clone() else {
        app.live.saved = Some(Err("Choose a library folder for snippets first.".into()));
        return;
    };
    let samples = running.session.last_seconds(app.live.seconds);
    app.live.saved = None;
    app.live.save_task = Some(Task::spawn("earmark-live-snippet", ctx, move || {
        work::save_heard(&samples, &folder)
    }));
}
