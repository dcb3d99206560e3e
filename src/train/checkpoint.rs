//! Training checkpoints: every tensor of the state (student, teacher, Adam moments, centre) in
//! one safetensors file, with the options, step, random states and data position as JSON
//! metadata. Written to a temporary file, synced and renamed, so a crash or kill during the
//! write leaves the previous checkpoint intact; resuming continues the run exactly.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::cls_head::Centre;
use super::optim::Moments;
use super::preset::TrainConfig;
use super::state::TrainState;
use crate::error::{Error, Result};
use crate::model::WeightFile;
use crate::model::pos::SplitMix;

/// Metadata key of the checkpoint description.
pub const CHECKPOINT_KEY: &str = "earmark.train";

/// The non-tensor part of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Format version.
    pub version: u32,
    /// The run's options.
    pub config: TrainConfig,
    /// Updates done.
    pub step: u64,
    /// Adam's update count.
    pub adam_t: u64,
    /// Mask-noise generator state.
    pub rng: u64,
    /// Centre momentum.
    pub centre_momentum: f32,
    /// The data stream's position (owned by the dataset; stored verbatim).
    pub data: serde_json::Value,
}

fn model_err(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {why}", path.display()))
}

/// The file name of the checkpoint after `step` updates.
pub fn checkpoint_name(step: u64) -> String {
    format!("checkpoint-{step:07}.safetensors")
}

/// Writes `state` (and the data position `data`) to `path` atomically.
pub fn save(path: &Path, state: &TrainState, data: serde_json::Value) -> Result<()> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    let mut push = |name: String, t: &Tensor| -> Result<()> {
        tensors.push((name, t.dims().to_vec(), t.flatten_all()?.to_vec1::<f32>()?));
        Ok(())
    };
    for (k, v) in &state.params {
        push(format!("param/{k}"), v.as_tensor())?;
    }
    for (k, t) in &state.teacher {
        push(format!("teacher/{k}"), t)?;
    }
    for (k, m) in &state.adam.moments {
        let shape = vec![m.m.len()];
        tensors.push((format!("adam_m/{k}"), shape.clone(), m.m.clone()));
        tensors.push((format!("adam_v/{k}"), shape, m.v.clone()));
    }
    let c = &state.centre;
    tensors.push(("centre/value".into(), vec![c.value.len()], c.value.clone()));
    if let Some(p) = &c.pending {
        tensors.push(("centre/pending".into(), vec![p.len()], p.clone()));
    }
    let meta = CheckpointMeta {
        version: 1,
        config: state.cfg.clone(),
        step: state.step,
        adam_t: state.adam.t,
        rng: state.rng.0,
        centre_momentum: c.momentum,
        data,
    };
    let json = serde_json::to_string(&meta).map_err(|e| model_err(path, e))?;
    let mut metadata = HashMap::new();
    metadata.insert(CHECKPOINT_KEY.to_string(), json);
    crate::atomic_file::write_atomic(path, |tmp| {
        crate::model::weights::write_safetensors(tmp, &tensors, Some(metadata))
    })
}

/// Reads a checkpoint back: the state and the data position.
pub fn load(path: &Path, device: &Device) -> Result<(TrainState, serde_json::Value)> {
    let mut file = WeightFile::open(path)?;
    let json = file
        .metadata()
        .get(CHECKPOINT_KEY)
        .ok_or_else(|| model_err(path, "not an Earmark training checkpoint"))?
        .clone();
    let meta: CheckpointMeta = serde_json::from_str(&json).map_err(|e| model_err(path, e))?;
    let mut params = BTreeMap::new();
    let mut teacher = BTreeMap::new();
    let mut moments: BTreeMap<String, Moments> = BTreeMap::new();
    let mut centre = Centre::new(meta.config.preset.head.outputs);
    centre.momentum = meta.centre_momentum;
    for name in file.tensor_names() {
        let (shape, values) = file.read_f32(&name)?;
        if let Some(k) = name.strip_prefix("param/") {
            let t = Tensor::from_vec(values, shape, device)?;
            params.insert(k.to_string(), Var::from_tensor(&t)?);
        } else if let Some(k) = name.strip_prefix("teacher/") {
            teacher.insert(k.to_string(), Tensor::from_vec(values, shape, device)?);
        } else if let Some(k) = name.strip_prefix("adam_m/") {
            moments.entry(k.to_string()).or_insert_with(empty).m = values;
        } else if let Some(k) = name.strip_prefix("adam_v/") {
            moments.entry(k.to_string()).or_insert_with(empty).v = values;
        } else if name == "centre/value" {
            centre.value = values;
        } else if name == "centre/pending" {
            centre.pending = Some(values);
        } else {
            return Err(model_err(path, format!("unexpected tensor `{name}`")));
        }
    }
    let mut state = TrainState::from_parts(meta.config, params, teacher, device)?;
    state.check_complete().map_err(|e| model_err(path, e))?;
    state.adam.moments = moments;
    state.adam.t = meta.adam_t;
    state.centre = centre;
    state.step = meta.step;
    state.rng = SplitMix(meta.rng);
    Ok((state, meta.data))
}

fn empty() -> Moments {
    Moments {
        m: Vec::new(),
        v: Vec::new(),
    }
}

/// The checkpoints in `dir`, oldest first (by step in the file name); temporary files of an
/// interrupted write are not checkpoints.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    list_named(dir, "checkpoint-")
}

/// The files `<prefix>….safetensors` in `dir`, oldest first (their names carry the step with
/// leading zeros): the checkpoints of a run whose files start with `prefix`.
pub fn list_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".safetensors"))
        })
        .collect();
    found.sort();
    found
}

/// The newest checkpoint in `dir`.
pub fn latest(dir: &Path) -> Option<PathBuf> {
    list(dir).pop()
}

/// Removes all but the newest `keep` checkpoints of `dir`.
pub fn prune(dir: &Path, keep: usize) {
    prune_named(dir, "checkpoint-", keep);
}

/// Removes all but the newest `keep` files of [`list_named`]`(dir, prefix)`.
pub fn prune_named(dir: &Path, prefix: &str, keep: usize) {
    let found = list_named(dir, prefix);
    let n = found.len().saturating_sub(keep.max(1));
    for old in &found[..n] {
        let _ = std::fs::remove_file(old);
    }
}

/// Appends one JSON line to `path` (the run's log), flushing it.
pub fn append_log(path: &Path, line: &impl Serialize) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let text = serde_json::to_string(line).map_err(|e| model_err(path, e))?;
    writeln!(f, "{text}").map_err(|e| Error::io(path, e))
}
