//! `earmark embed FILE... --model M [--mode precise|fast] [--layers] --out X`: encoder outputs to a
//! safetensors file.
//!
//! Each input becomes one tensor named by its path (a path given twice: ` #2` added), shaped
//! `[layers, steps, dim]` (`[1, 1, 3840]` by default: the pooled last layer). Inputs are
//! decoded, analysed and encoded as streams and the output is written as it is computed, so
//! memory does not grow with the length of the inputs. The header metadata records the options
//! and the model (`earmark.mode`, `earmark.freq`, `earmark.pooled`, `earmark.layers`,
//! `earmark.model`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use earmark::dsp::{LogMel, LogMelFrontEnd};
use earmark::engine::Engine;
use earmark::model::Precision;
use earmark::model::device::DeviceChoice;
use earmark::model::embed_stream::{ChunkStream, Geometry};
use earmark::model::{EmbedOptions, FreqLayout, Mode};

use super::embed_out::{RowScratch, TensorFile};

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
    /// Hear audio shorter than 1.2 s with silence after it up to 1.2 s, as a scan's tag heads
    /// do (without it, each input is encoded as it is, as the reference does).
    #[arg(long)]
    pub pad_short: bool,
    /// Ignored: kept so existing command lines still work (inputs are streamed; short inputs
    /// still share batches).
    #[arg(long, default_value_t = 16, hide = true)]
    pub group: usize,
    /// Device: auto, cpu, wgpu, cuda[:N], metal[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Precision of the encoder's matrix products on the CPU: f32, bf16 (AVX512-BF16), int8
    /// (AVX512-VNNI) or auto (the fastest this CPU runs within Earmark's accuracy bars).
    #[arg(long, default_value = "auto", value_name = "P")]
    pub precision: Precision,
}

/// Whether `path` holds a precomputed normalised log-mel rather than audio.
fn is_precomputed(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    ext == "safetensors" || ext == "npy"
}

/// Reads the normalised log-mel of an input: precomputed files directly, audio through the
/// decoder and front end (in memory; `earmark embed` itself streams).
pub fn load_input(path: &Path) -> anyhow::Result<LogMel> {
    if is_precomputed(path) {
        return Ok(earmark::model::mel_file::read_logmel(path)?);
    }
    let clip = earmark::audio::load_mono_16k(path)?;
    earmark::dsp::log_mel_normalised(&clip.samples)
        .with_context(|| format!("{}: cannot analyse", path.display()))
}

/// Makes `requested` the precision of the encoders loaded from now on; an explicit precision
/// this CPU cannot run is an error that says why.
pub fn use_precision(requested: Precision) -> anyhow::Result<Precision> {
    let used = earmark::model::lowp::resolve(requested)?;
    earmark::model::lowp::set_default(requested);
    Ok(used)
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

/// Feeds one input's normalised log-mel frames to `stream` (audio decoded and analysed block
/// by block); `between` runs after each block, to encode what is ready.
fn feed_input(
    stream: &mut ChunkStream<'_, Engine>,
    item: usize,
    path: &Path,
    pad_short: bool,
    between: &mut dyn FnMut(&mut ChunkStream<'_, Engine>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if is_precomputed(path) {
        let mel = earmark::model::mel_file::read_logmel(path)?;
        stream.push_mel(item, &mel)?;
        return between(stream);
    }
    let mut front = LogMelFrontEnd::new(true);
    let mut frames = Vec::new();
    let mut failure = None;
    let summary = earmark::audio::stream_mono_16k(path, |block| {
        frames.clear();
        front.push(block, &mut frames);
        let fed = stream
            .push_frames(item, &frames)
            .map_err(anyhow::Error::from)
            .and_then(|()| between(stream));
        fed.map_err(|e| {
            failure = Some(e);
            earmark::Error::Cancelled
        })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let summary = summary?;
    if pad_short && stream.frames(item) > 0 {
        frames.clear();
        let min = earmark::library::analyse::MIN_TAG_SAMPLES;
        front.pad_to(summary.output_samples, min, &mut frames);
        stream.push_frames(item, &frames)?;
        between(stream)?;
    }
    if stream.frames(item) == 0 {
        anyhow::bail!(
            "{}: cannot analyse: audio too short: {} samples at 16 kHz, at least 400 (25 ms) needed",
            path.display(),
            summary.output_samples
        );
    }
    Ok(())
}

/// What is being accumulated for one input.
enum Output {
    /// Running sums per layer slot (pooled output).
    Pooled(Vec<f64>),
    /// Rows on disk (unpooled output).
    Rows(RowScratch),
}

/// One input in flight.
struct Pending {
    name: String,
    item: usize,
    output: Output,
}

/// Runs `earmark embed`: each input is decoded, analysed and encoded as a stream, and its
/// tensor written to a temporary file as soon as it is complete.
pub fn run(args: &EmbedArgs) -> anyhow::Result<()> {
    use_precision(args.precision)?;
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
    let mut out = TensorFile::create(&args.out)?;
    let mut stream = ChunkStream::new(&encoder, &opts);
    let geo = stream.geometry();
    let layer_ids = stream.layer_ids();
    let nl = layer_ids.len();
    let mut in_flight: Vec<Pending> = Vec::new();
    for path in &args.files {
        let item = stream.open();
        let output = if opts.pool_time {
            Output::Pooled(vec![0.0; nl * geo.dim])
        } else {
            Output::Rows(RowScratch::new(nl, geo.dim)?)
        };
        in_flight.push(Pending {
            name: out.name_for(path),
            item,
            output,
        });
        let max_batch = opts.max_batch;
        let mut encode_ready = |stream: &mut ChunkStream<'_, Engine>| {
            if stream.pending_chunks() >= max_batch {
                encode(stream, &mut in_flight)?;
            }
            Ok(())
        };
        feed_input(&mut stream, item, path, args.pad_short, &mut encode_ready)
            .with_context(|| format!("embedding {}", path.display()))?;
        stream.finish(item)?;
        // Unpooled rows go to per-input scratch files: finish each input before the next.
        if !opts.pool_time {
            encode(&mut stream, &mut in_flight)?;
        }
        write_done(&mut stream, &mut in_flight, &mut out, opts.mode, geo, nl)?;
        eprintln!(
            "read {} / {} files",
            out.len() + in_flight.len(),
            args.files.len()
        );
    }
    encode(&mut stream, &mut in_flight)?;
    write_done(&mut stream, &mut in_flight, &mut out, opts.mode, geo, nl)?;
    eprintln!("embedded {} files", out.len());
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
    out.finish(meta)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// Encodes every waiting chunk into the outputs of the inputs in flight.
fn encode(stream: &mut ChunkStream<'_, Engine>, in_flight: &mut [Pending]) -> anyhow::Result<()> {
    let dim = stream.geometry().dim;
    stream.flush(&mut |o| {
        let Some(p) = in_flight.iter_mut().find(|p| p.item == o.item) else {
            return Ok(());
        };
        match &mut p.output {
            Output::Pooled(sums) => sums[o.slot * dim..(o.slot + 1) * dim]
                .iter_mut()
                .zip(o.vector)
                .for_each(|(s, &x)| *s += f64::from(x)),
            Output::Rows(rows) => rows
                .push(o.slot, o.vector)
                .map_err(|e| earmark::Error::Tensor(format!("cannot keep output rows: {e:#}")))?,
        }
        Ok(())
    })?;
    Ok(())
}

/// Writes the tensors of the inputs whose chunks are all encoded, in input order.
fn write_done(
    stream: &mut ChunkStream<'_, Engine>,
    in_flight: &mut Vec<Pending>,
    out: &mut TensorFile,
    mode: Mode,
    geo: Geometry,
    nl: usize,
) -> anyhow::Result<()> {
    while let Some(first) = in_flight.first() {
        if stream.has_pending(first.item) || !stream.is_finished(first.item) {
            return Ok(());
        }
        let p = in_flight.remove(0);
        let n_chunk = stream.chunks(p.item);
        let frames = stream.frames(p.item);
        if let Some(e) = stream.close(p.item) {
            return Err(e.into());
        }
        let steps = match mode {
            Mode::Precise => frames.div_ceil(geo.patch),
            Mode::Fast => n_chunk * geo.cols,
        } * (geo.units_full / geo.cols);
        match p.output {
            Output::Pooled(sums) => {
                let pooled: Vec<f32> = sums.iter().map(|s| (s / steps as f64) as f32).collect();
                out.write(&pooled)?;
                out.end_tensor(p.name, vec![nl, 1, geo.dim])?;
            }
            Output::Rows(rows) => {
                rows.append_to(out, steps, |s| match mode {
                    Mode::Precise => s,
                    // Step `unit · n_chunk + chunk` is the `chunk · units + unit`-th row.
                    Mode::Fast => (s % n_chunk) * geo.units_full + s / n_chunk,
                })?;
                out.end_tensor(p.name, vec![nl, steps, geo.dim])?;
            }
        }
    }
    Ok(())
}
