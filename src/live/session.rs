//! A running live session: the capture thread (device, reconnection, front end) and the encoder
//! thread (embedding, heads, timeline), and the handle the GUI and the CLI hold.
//!
//! Device trouble never ends a session. When the host reports an error, or the device delivers
//! nothing for [`LiveConfig::stall_timeout`], the session reports [`DeviceState::Lost`], drops
//! the stream and tries to reopen the device (the named one, or whatever is the default input)
//! every [`LiveConfig::reconnect_interval`] until it succeeds or the session is stopped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::LiveConfig;
use super::analysis::{InputAnalyser, WindowAnalyser, WindowJob};
use super::event::{DeviceState, LiveEvent, LiveStats};
use super::history::{SampleHistory, save_snippet};
use super::scores::{Timeline, TimelineEntry};
use crate::Result;
use crate::audio::MODEL_SAMPLE_RATE;
use crate::audio::input::{Capture, CaptureCounters};
use crate::jobs::spawn_named;
use crate::model::chunk::ChunkEncoder;

/// How often the capture thread looks into the device ring.
const POLL: Duration = Duration::from_millis(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
struct Counters {
    samples: AtomicU64,
    device_frames: AtomicU64,
    dropped_blocks: AtomicU64,
    dropped_frames: AtomicU64,
    hops: AtomicU64,
    skipped_hops: AtomicU64,
    dropped_events: AtomicU64,
    losses: AtomicU64,
    starts: AtomicU64,
    buffer_latency_us: AtomicU64,
}

/// The window waiting for the encoder; `reset` asks it to forget its smoothing state.
#[derive(Default)]
struct Slot {
    job: Option<WindowJob>,
    reset: bool,
}

struct Shared {
    stop: AtomicBool,
    history: Mutex<SampleHistory>,
    timeline: Mutex<Timeline>,
    state: Mutex<DeviceState>,
    counters: Counters,
    slot: Mutex<Slot>,
    slot_ready: Condvar,
    events: Sender<LiveEvent>,
}

impl Shared {
    fn emit(&self, event: LiveEvent) {
        if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
            self.counters.dropped_events.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn set_state(&self, state: DeviceState) {
        let mut current = lock(&self.state);
        if *current != state {
            *current = state.clone();
            drop(current);
            self.emit(LiveEvent::Device(state));
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Sleeps up to `d`, waking early when the session stops.
    fn nap(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stopping() {
            let now = Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(20)));
        }
    }
}

/// A live session and the handle to it: [`LiveSession::start`] starts listening; events arrive
/// on [`LiveSession::events`] until [`LiveSession::stop`] (or drop).
pub struct LiveSession {
    shared: Arc<Shared>,
    events: Receiver<LiveEvent>,
    threads: Vec<JoinHandle<()>>,
}

impl LiveSession {
    /// Checks `config` and starts the capture and encoder threads. A missing or busy device is
    /// not an error here: the session reports it as a [`DeviceState`] and keeps trying.
    pub fn start(config: LiveConfig) -> Result<LiveSession> {
        let window_frames = config.window_frames()?;
        let hop_frames = config.hop_frames()?;
        let cfg = config.engine.config();
        let dims = (cfg.freq_patches() * cfg.embed_dim, cfg.embed_dim);
        let analyser = WindowAnalyser::new(
            dims,
            config.heads.clone(),
            config.hop_s,
            config.smoothing_s,
            config.top,
        )?;
        let (tx, rx) = crossbeam_channel::bounded(config.event_capacity.max(16));
        let history_len = (config.history_s.max(1.0) * MODEL_SAMPLE_RATE as f32) as usize;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            history: Mutex::new(SampleHistory::new(history_len)),
            timeline: Mutex::new(Timeline::new(config.timeline_len)),
            state: Mutex::new(DeviceState::Connecting),
            counters: Counters::default(),
            slot: Mutex::new(Slot::default()),
            slot_ready: Condvar::new(),
            events: tx,
        });
        let encoder_shared = Arc::clone(&shared);
        let engine = Arc::clone(&config.engine);
        let encoder = spawn_named("earmark-live-encoder", move || {
            encoder_loop(&encoder_shared, engine.as_ref(), analyser);
        })?;
        let capture_shared = Arc::clone(&shared);
        let capture = spawn_named("earmark-live-capture", move || {
            capture_loop(&capture_shared, &config, window_frames, hop_frames);
        });
        let capture = match capture {
            Ok(c) => c,
            Err(e) => {
                shared.stop.store(true, Ordering::Release);
                shared.slot_ready.notify_all();
                let _ = encoder.join();
                return Err(e);
            }
        };
        Ok(LiveSession {
            shared,
            events: rx,
            threads: vec![capture, encoder],
        })
    }

    /// The event channel (level, spectrogram columns, embeddings, tags, device state, errors).
    pub fn events(&self) -> &Receiver<LiveEvent> {
        &self.events
    }

    /// The device state now.
    pub fn state(&self) -> DeviceState {
        lock(&self.shared.state).clone()
    }

    /// The counters now.
    pub fn stats(&self) -> LiveStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LiveStats {
            samples: get(&c.samples),
            device_frames: get(&c.device_frames),
            dropped_blocks: get(&c.dropped_blocks),
            dropped_frames: get(&c.dropped_frames),
            hops: get(&c.hops),
            skipped_hops: get(&c.skipped_hops),
            dropped_events: get(&c.dropped_events),
            losses: get(&c.losses),
            starts: get(&c.starts),
            buffer_latency_us: get(&c.buffer_latency_us),
        }
    }

    /// The last `seconds` of audio heard (16 kHz mono; less at the start of a session).
    pub fn last_seconds(&self, seconds: f32) -> Vec<f32> {
        self.recent_audio(seconds).1
    }

    /// The last `seconds` of audio heard with the stream position of its first sample.
    pub fn recent_audio(&self, seconds: f32) -> (u64, Vec<f32>) {
        let n = (seconds.max(0.0) * MODEL_SAMPLE_RATE as f32) as usize;
        lock(&self.shared.history).last(n)
    }

    /// Saves the last `seconds` heard as a WAV file in `folder`; returns its path.
    pub fn save_snippet(&self, seconds: f32, folder: &Path) -> Result<PathBuf> {
        save_snippet(&self.last_seconds(seconds), folder)
    }

    /// The tag timeline, oldest first.
    pub fn timeline(&self) -> Vec<TimelineEntry> {
        lock(&self.shared.timeline).entries()
    }

    /// Stops listening and waits for both threads to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.slot_ready.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Opens the device again and again until the session stops; pumps audio while it is open.
fn capture_loop(shared: &Shared, config: &LiveConfig, window_frames: usize, hop_frames: usize) {
    let mut base = CaptureCounters::default();
    while !shared.stopping() {
        match Capture::open(config.device.as_deref(), config.ring_s, config.block_s) {
            Ok(mut capture) => {
                shared.counters.starts.fetch_add(1, Ordering::Relaxed);
                shared.set_state(DeviceState::Capturing {
                    device: capture.device_name().to_string(),
                    format: capture.format().to_string(),
                });
                let ended = pump(
                    shared,
                    &mut capture,
                    base,
                    config,
                    window_frames,
                    hop_frames,
                );
                base = add(base, capture.counters());
                if let Some(message) = ended {
                    shared.counters.losses.fetch_add(1, Ordering::Relaxed);
                    lock(&shared.slot).reset = true;
                    shared.set_state(DeviceState::Lost { message });
                }
                close(capture);
            }
            Err(e) => {
                let message = e.to_string();
                let lost = matches!(*lock(&shared.state), DeviceState::Lost { .. });
                // Keep saying "lost" while waiting for a lost device to come back.
                if !lost {
                    shared.set_state(DeviceState::Unavailable { message });
                }
            }
        }
        shared.nap(config.reconnect_interval);
    }
    shared.set_state(DeviceState::Stopped);
}

/// How long closing a stream may take before it is left to finish on its own.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Closes a capture without letting a stuck host hold the session: a stream whose server died
/// can block in its own shutdown forever (ALSA's PulseAudio plugin waits on a dead socket), so
/// the stream is dropped on a thread of its own and waited for at most [`CLOSE_WAIT`].
fn close(capture: Capture) {
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let closer = spawn_named("earmark-live-close", move || {
        drop(capture);
        let _ = done_tx.send(());
    });
    if closer.is_ok() {
        let _ = done_rx.recv_timeout(CLOSE_WAIT);
    }
}

fn add(a: CaptureCounters, b: CaptureCounters) -> CaptureCounters {
    CaptureCounters {
        frames: a.frames + b.frames,
        callbacks: a.callbacks + b.callbacks,
        dropped_blocks: a.dropped_blocks + b.dropped_blocks,
        dropped_frames: a.dropped_frames + b.dropped_frames,
        buffer_latency_us: b.buffer_latency_us,
    }
}

/// Moves audio from the device to the analysis until the session stops (`None`) or the device
/// is lost (`Some(why)`).
fn pump(
    shared: &Shared,
    capture: &mut Capture,
    base: CaptureCounters,
    config: &LiveConfig,
    window_frames: usize,
    hop_frames: usize,
) -> Option<String> {
    let format = capture.format().clone();
    let position = shared.counters.samples.load(Ordering::Relaxed);
    let mut analyser = match InputAnalyser::new(
        format.sample_rate,
        usize::from(format.channels),
        window_frames,
        hop_frames,
        position,
    ) {
        Ok(a) => a,
        Err(e) => return Some(e.to_string()),
    };
    let mut block = Vec::new();
    let mut last_audio = Instant::now();
    loop {
        if shared.stopping() {
            return None;
        }
        block.clear();
        let got = capture.read_into(&mut block);
        let now = Instant::now();
        publish_counters(shared, base, capture.counters());
        if got > 0 {
            last_audio = now;
            if let Err(e) = feed(shared, &mut analyser, &block, now) {
                shared.emit(LiveEvent::Error {
                    message: e.to_string(),
                });
            }
        } else if let Some(why) = capture.failure() {
            return Some(format!("{}: {why}", capture.device_name()));
        } else if now - last_audio > config.stall_timeout {
            return Some(format!(
                "{}: no audio for {:.1} s (device disconnected or sound server stopped)",
                capture.device_name(),
                config.stall_timeout.as_secs_f32()
            ));
        } else {
            std::thread::sleep(POLL);
        }
    }
}

fn publish_counters(shared: &Shared, base: CaptureCounters, now: CaptureCounters) {
    let total = add(base, now);
    let c = &shared.counters;
    c.device_frames.store(total.frames, Ordering::Relaxed);
    c.dropped_blocks
        .store(total.dropped_blocks, Ordering::Relaxed);
    c.dropped_frames
        .store(total.dropped_frames, Ordering::Relaxed);
    c.buffer_latency_us
        .store(total.buffer_latency_us, Ordering::Relaxed);
}

fn feed(shared: &Shared, analyser: &mut InputAnalyser, block: &[f32], at: Instant) -> Result<()> {
    let out = analyser.push(block, at)?;
    let mono = analyser.mono();
    if mono.is_empty() {
        return Ok(());
    }
    lock(&shared.history).extend(mono);
    let end_sample = analyser.position();
    shared.counters.samples.store(end_sample, Ordering::Relaxed);
    if let Some(level) = out.level {
        shared.emit(LiveEvent::Level {
            end_sample,
            at,
            rms_dbfs: level.rms_dbfs,
            peak_dbfs: level.peak_dbfs,
        });
    }
    if !out.columns.is_empty() {
        shared.emit(LiveEvent::Spectrogram {
            columns: out.columns,
        });
    }
    if let Some(job) = out.job {
        let mut slot = lock(&shared.slot);
        if slot.job.replace(job).is_some() {
            shared.counters.skipped_hops.fetch_add(1, Ordering::Relaxed);
        }
        drop(slot);
        shared.slot_ready.notify_one();
    }
    Ok(())
}

/// Takes windows from the slot and analyses them until the session stops.
fn encoder_loop<E: ChunkEncoder + ?Sized>(
    shared: &Shared,
    encoder: &E,
    mut analyser: WindowAnalyser,
) {
    loop {
        let job = {
            let mut slot = lock(&shared.slot);
            loop {
                if shared.stopping() {
                    return;
                }
                if std::mem::take(&mut slot.reset) {
                    analyser.reset();
                }
                if let Some(job) = slot.job.take() {
                    break job;
                }
                slot = shared
                    .slot_ready
                    .wait_timeout(slot, Duration::from_millis(100))
                    .map_or_else(|e| e.into_inner().0, |(g, _)| g);
            }
        };
        match analyser.analyse(encoder, &job.mel) {
            Ok(result) => {
                shared.counters.hops.fetch_add(1, Ordering::Relaxed);
                shared.emit(LiveEvent::Embedding {
                    start_sample: job.start_sample,
                    end_sample: job.end_sample,
                    embedding: result.embedding,
                    ready_at: job.ready_at,
                    at: Instant::now(),
                    compute: result.compute,
                });
                let names = analyser.head_names();
                for (head, tags) in result.tags.into_iter().enumerate() {
                    lock(&shared.timeline).push(TimelineEntry {
                        end_sample: job.end_sample,
                        head,
                        tags: tags.clone(),
                    });
                    shared.emit(LiveEvent::Tags {
                        end_sample: job.end_sample,
                        head,
                        head_name: names.get(head).cloned().unwrap_or_default(),
                        tags,
                    });
                }
            }
            Err(e) => shared.emit(LiveEvent::Error {
                message: format!("analysis failed: {e}"),
            }),
        }
    }
}
