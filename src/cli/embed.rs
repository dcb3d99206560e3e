//! `earmark embed FILE... --model M [--mode precise|fast] [--layers] --out X`: encoder outputs to a
//! safetensors file.
//!
//! Each input becomes one tensor named by its path, shaped `[layers, steps, dim]`
//! (`[1, 1, 3840]` by default: the pooled last layer). The header metadata records the options
//! and the model (`earmark.mode`, `earmark.freq`, `earmark.pooled`, `earmark.layers`,
//! `earmark.model`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use earmark::dsp::LogMel;
use earmark::engine::Engine;
use earmark::model::device::DeviceChoice;
use earmark::model::{EmbedOptions, FreqLayout, Mode, embed_batch};

/// Inference mode on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ModeArg {
    /// Zero-pad to 16 frames, shorter last chunk (the paper's extraction).
    Precise,
    /// Zero-pad to whole 608-frame chunks, interleaved chunk order (as the reference).
    Fast,
}

/// Frequency handling on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FreqArg {
    /// Concatenate the 5 frequency tokens per time step (3840-d).
    Concat,
    /// Keep every token (768-d, 5 per time step).
    Tokens,
    /// Average the frequency tokens (768-d).
    Mean,
}

/// Arguments of `earmark embed`.
#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// Audio files (or precomputed normalised log-mels as .safetensors / .npy).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Encoder weights (.pt or .safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Chunking mode.
    #[arg(long, value_enum, default_value = "precise")]
    pub mode: ModeArg,
    /// Output every layer instead of the last only.
    #[arg(long)]
    pub layers: bool,
    /// Keep the time axis instead of averaging it.
    #[arg(long)]
    pub no_pool: bool,
    /// Frequency handling.
    #[arg(long, value_enum, default_value = "concat")]
    pub freq: FreqArg,
    /// Output safetensors file.
    #[arg(long)]
    pub out: PathBuf,
    /// Most 6-second chunks encoded together.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Files decoded and held in memory at once.
    #[arg(long, default_value_t = 16)]
    pub group: usize,
    /// Device: auto, cpu, wgpu, cuda[:N], metal[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Reads the normalised log-mel of an input: precomputed files directly, audio through the
/// decoder and front end.
pub fn load_input(path: &Path) -> anyhow::Result<LogMel> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "safetensors" || ext == "npy" {
        return Ok(earmark::model::mel_file::read_logmel(path)?);
    }
    audio_logmel(path)
}

/// Decodes audio (any supported format, to 16 kHz mono) and computes its normalised log-mel.
fn audio_logmel(path: &Path) -> anyhow::Result<LogMel> {
    let clip = earmark::audio::load_mono_16k(path)?;
    earmark::dsp::log_mel_normalised(&clip.samples)
        .with_context(|| format!("{}: cannot analyse", path.display()))
}

/// Loads the encoder on the chosen device (with the CPU as fallback); GPU notices go to stderr.
pub fn load_encoder(model: &Path, device_name: &str) -> anyhow::Result<Engine> {
    let choice: DeviceChoice = device_name.parse()?;
    let engine =
        Engine::load(model, choice).with_context(|| format!("loading {}", model.display()))?;
    for notice in engine.take_notices() {
        eprintln!("notice: {notice}");
    }
    Ok(engine)
}

/// Runs `earmark embed`.
pub fn run(args: &EmbedArgs) -> anyhow::Result<()> {
    let encoder = load_encoder(&args.model, &args.device)?;
    let opts = EmbedOptions {
        mode: match args.mode {
            ModeArg::Precise => Mode::Precise,
            ModeArg::Fast => Mode::Fast,
        },
        freq: match args.freq {
            FreqArg::Concat => FreqLayout::Concat,
            FreqArg::Tokens => FreqLayout::Tokens,
            FreqArg::Mean => FreqLayout::Mean,
        },
        pool_time: !args.no_pool,
        all_layers: args.layers,
        max_batch: args.batch.max(1),
    };
    let mut tensors = Vec::with_capacity(args.files.len());
    let mut layer_ids = Vec::new();
    for group in args.files.chunks(args.group.max(1)) {
        let mels = group
            .iter()
            .map(|p| load_input(p))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let refs: Vec<&LogMel> = mels.iter().collect();
        for (path, e) in group.iter().zip(embed_batch(&encoder, &refs, &opts)?) {
            layer_ids.clone_from(&e.layer_ids);
            let shape = vec![e.num_layers(), e.steps, e.dim];
            tensors.push((path.display().to_string(), shape, e.data));
        }
        eprintln!("embedded {} / {} files", tensors.len(), args.files.len());
    }
    let mut meta = HashMap::new();
    meta.insert(
        "earmark.mode".into(),
        format!("{:?}", opts.mode).to_lowercase(),
    );
    meta.insert(
        "earmark.freq".into(),
        format!("{:?}", opts.freq).to_lowercase(),
    );
    meta.insert("earmark.pooled".into(), opts.pool_time.to_string());
    let ids: Vec<String> = layer_ids.iter().map(usize::to_string).collect();
    meta.insert("earmark.layers".into(), ids.join(","));
    meta.insert("earmark.model".into(), args.model.display().to_string());
    earmark::model::weights::write_safetensors(&args.out, &tensors, Some(meta))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
