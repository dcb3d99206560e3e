//! `earmark listen`: live tags (or an embedding summary) from an input device, every hop, as
//! text or JSON lines; device changes go to stderr (text) or into the JSON stream.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use earmark::audio::input::list_input_devices;
use earmark::config::Settings;
use earmark::live::{DeviceState, LiveConfig, LiveEvent, LiveHead, LiveSession, TagScore};
use earmark::model::lowp::Precision;
use earmark::tags::Head;
use serde_json::json;

use super::embed::{load_encoder, use_precision};
use super::predict::head_vocabulary;

/// Arguments of `earmark listen`.
#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// Input device (a name from --list-devices, or a unique part of one); default: the one in
    /// the settings, else the system's default input.
    #[arg(long)]
    pub device: Option<String>,
    /// List the input devices and exit.
    #[arg(long)]
    pub list_devices: bool,
    /// Save --device in the settings as the input to use from now on.
    #[arg(long, requires = "device")]
    pub remember: bool,
    /// Encoder weights (.pt or .safetensors); default: the active model in the settings.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// A head (probe or AudioSet head) to tag with; without one, an embedding summary is printed.
    #[arg(long)]
    pub head: Option<PathBuf>,
    /// The head's vocabulary (official mapping .json/.csv, or one label per line).
    #[arg(long, requires = "head")]
    pub labels: Option<PathBuf>,
    /// Seconds between updates.
    #[arg(long, default_value_t = 0.5)]
    pub hop: f32,
    /// Seconds of audio each update analyses (0.2 to 6.08).
    #[arg(long, default_value_t = 2.0)]
    pub window: f32,
    /// Time constant of the score smoothing in seconds (0: none).
    #[arg(long, default_value_t = 1.0)]
    pub smoothing: f32,
    /// Tags printed per update.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Where the encoder runs: auto, cpu, wgpu, cuda[:N], metal[:N]; default: the settings'.
    #[arg(long)]
    pub compute: Option<String>,
    /// Precision of the encoder's matrix products on the CPU (f32, bf16, int8 or auto);
    /// default: the settings' (Models → CPU precision), else auto.
    #[arg(long, value_name = "P")]
    pub precision: Option<Precision>,
    /// Milliseconds per device block to ask the host for (0: the host's choice).
    #[arg(long, default_value_t = 20.0)]
    pub block_ms: f32,
}

/// What a live run needs besides the device: the model, its heads and the timing.
pub struct LiveSetup<'a> {
    /// Encoder weights; `None` takes the settings' active model.
    pub model: Option<&'a Path>,
    /// Optional head and its vocabulary.
    pub head: Option<(&'a Path, Option<&'a Path>)>,
    /// Compute device name; `None` takes the settings'.
    pub compute: Option<&'a str>,
}

/// Loads the model and head into a [`LiveConfig`] with the defaults.
pub fn live_config(setup: &LiveSetup<'_>, settings: &Settings) -> anyhow::Result<LiveConfig> {
    let model = setup
        .model
        .map(Path::to_path_buf)
        .or_else(|| settings.model.clone())
        .map_or_else(earmark::model::bundled::bundled_model_path, Ok)?;
    let compute = setup.compute.unwrap_or(&settings.device);
    let engine = Arc::new(load_encoder(&model, compute)?);
    let mut config = LiveConfig::new(engine);
    // Without --head: the head in force (the chosen one, else the bundled model's starter head).
    let in_force = earmark::model::bundled::head_in_force(settings, Some(&model)).head();
    let default = in_force.as_ref().map(|(h, l)| (h.as_path(), l.as_deref()));
    if let Some((head_path, labels)) = setup.head.or(default) {
        let head =
            Head::load(head_path).with_context(|| format!("loading {}", head_path.display()))?;
        let vocab = head_vocabulary(head_path, labels, head.classes())?;
        let name = head_path
            .file_stem()
            .map_or_else(|| "head".into(), |s| s.to_string_lossy().into_owned());
        config.heads.push(LiveHead {
            name,
            head,
            labels: vocab.labels,
        });
    }
    Ok(config)
}

/// Runs `earmark listen`.
pub fn run(args: &ListenArgs) -> anyhow::Result<ExitCode> {
    if args.list_devices {
        return list(args.json);
    }
    let mut settings = Settings::load();
    if args.remember {
        settings.input_device.clone_from(&args.device);
        settings.save()?;
    }
    match args.precision {
        Some(p) => {
            use_precision(p)?;
        }
        // The window's choice; one this CPU cannot run falls back to auto when the engine loads,
        // with a notice on stderr.
        None => earmark::model::lowp::set_default(settings.precision.parse().unwrap_or_default()),
    }
    let setup = LiveSetup {
        model: args.model.as_deref(),
        head: args.head.as_deref().map(|h| (h, args.labels.as_deref())),
        compute: args.compute.as_deref(),
    };
    let mut config = live_config(&setup, &settings)?;
    let has_head = !config.heads.is_empty();
    config.device = args.device.clone().or(settings.input_device.clone());
    config.hop_s = args.hop;
    config.window_s = args.window;
    config.smoothing_s = args.smoothing;
    config.top = args.top.max(1);
    config.block_s = (args.block_ms > 0.0).then_some(args.block_ms / 1e3);
    let dim = {
        let c = config.engine.config();
        c.freq_patches() * c.embed_dim
    };
    let session = LiveSession::start(config)?;
    let mut printer = Printer {
        json: args.json,
        level_dbfs: f32::NEG_INFINITY,
        previous: None,
        dim,
        has_head,
    };
    let started = Instant::now();
    let limit = args.seconds.map(Duration::from_secs_f64);
    let mut last_problem = None;
    while limit.is_none_or(|l| started.elapsed() < l) {
        let Ok(event) = session.events().recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        if let LiveEvent::Device(
            DeviceState::Lost { message } | DeviceState::Unavailable { message },
        ) = &event
        {
            last_problem = Some(message.clone());
        }
        printer.print(&event)?;
    }
    let stats = session.stats();
    session.stop();
    if !args.json {
        eprintln!(
            "listened {:.1} s: {} updates, {} skipped (encoder slower than the hop), {} dropped \
             audio blocks, {} device losses",
            started.elapsed().as_secs_f64(),
            stats.hops,
            stats.skipped_hops,
            stats.dropped_blocks,
            stats.losses
        );
    }
    if stats.samples == 0 {
        anyhow::bail!(
            "no audio was captured{}",
            last_problem.map_or_else(String::new, |p| format!(": {p}"))
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let devices = list_input_devices()?;
    if json {
        for d in &devices {
            let (format, problem) = match &d.format {
                Ok(f) => (Some(f.to_string()), None),
                Err(e) => (None, Some(e.clone())),
            };
            println!(
                "{}",
                json!({"name": d.name, "id": d.id, "default": d.is_default,
                       "format": format, "unavailable": problem})
            );
        }
    } else if devices.is_empty() {
        println!("no input devices");
    } else {
        for d in &devices {
            let mark = if d.is_default { "*" } else { " " };
            let format = match &d.format {
                Ok(f) => f.to_string(),
                Err(e) => format!("unavailable: {e}"),
            };
            println!("{mark} {}  ({format})  [{}]", d.name, d.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Turns events into output lines.
struct Printer {
    json: bool,
    level_dbfs: f32,
    previous: Option<Vec<f32>>,
    dim: usize,
    /// Text mode prints the tags when there is a head, else the embedding summary.
    has_head: bool,
}

fn seconds(sample: u64) -> f64 {
    sample as f64 / f64::from(earmark::audio::MODEL_SAMPLE_RATE)
}

impl Printer {
    fn print(&mut self, event: &LiveEvent) -> anyhow::Result<()> {
        match event {
            LiveEvent::Device(state) => self.device(state),
            LiveEvent::Level { rms_dbfs, .. } => self.level_dbfs = *rms_dbfs,
            LiveEvent::Embedding {
                start_sample,
                end_sample,
                embedding,
                compute,
                ..
            } => {
                let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
                let change = self.previous.as_ref().map(|p| 1.0 - cosine(p, embedding));
                self.previous = Some(embedding.clone());
                if self.json {
                    println!(
                        "{}",
                        json!({"type": "embedding", "time_s": seconds(*end_sample),
                               "window_s": [seconds(*start_sample), seconds(*end_sample)],
                               "level_dbfs": self.level_dbfs, "dim": embedding.len(),
                               "norm": norm, "change": change,
                               "compute_ms": compute.as_secs_f64() * 1e3})
                    );
                } else if !self.has_head {
                    println!(
                        "{:8.2} s  {:6.1} dBFS  embedding {}-d  norm {norm:.3}  change {}",
                        seconds(*end_sample),
                        self.level_dbfs,
                        self.dim,
                        change.map_or_else(|| "-".into(), |c| format!("{c:.4}"))
                    );
                }
            }
            LiveEvent::Tags {
                end_sample,
                head_name,
                tags,
                ..
            } => self.tags(*end_sample, head_name, tags),
            LiveEvent::Error { message } => {
                if self.json {
                    println!("{}", json!({"type": "error", "message": message}));
                } else {
                    eprintln!("error: {message}");
                }
            }
            LiveEvent::Spectrogram { .. } => {}
        }
        Ok(())
    }

    fn device(&self, state: &DeviceState) {
        let (name, text, extra) = match state {
            DeviceState::Connecting => ("connecting", "looking for the input device".into(), None),
            DeviceState::Capturing { device, format } => (
                "capturing",
                format!("listening to {device} ({format})"),
                Some(json!({"device": device, "format": format})),
            ),
            DeviceState::Lost { message } => (
                "lost",
                format!("device lost: {message}; waiting for it to come back"),
                Some(json!({"message": message})),
            ),
            DeviceState::Unavailable { message } => (
                "unavailable",
                format!("{message}; retrying"),
                Some(json!({"message": message})),
            ),
            DeviceState::Stopped => ("stopped", "stopped".into(), None),
        };
        if self.json {
            let mut line = json!({"type": "device", "state": name});
            if let (Some(obj), Some(serde_json::Value::Object(more))) =
                (line.as_object_mut(), extra)
            {
                obj.extend(more);
            }
            println!("{line}");
        } else {
            eprintln!("{text}");
        }
    }

    fn tags(&self, end_sample: u64, head: &str, tags: &[TagScore]) {
        if self.json {
            let list: Vec<_> = tags
                .iter()
                .map(|t| json!({"label": t.label, "score": t.score, "raw": t.raw}))
                .collect();
            println!(
                "{}",
                json!({"type": "tags", "time_s": seconds(end_sample), "head": head,
                       "level_dbfs": self.level_dbfs, "tags": list})
            );
        } else {
            let text: Vec<String> = tags
                .iter()
                .map(|t| earmark::tags::format_label(&t.label, t.score))
                .collect();
            println!(
                "{:8.2} s  {:6.1} dBFS  {}",
                seconds(end_sample),
                self.level_dbfs,
                text.join("  ")
            );
        }
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
