//! Files of a fine-tuning run: the encoder it starts from, its checkpoints (exact resume), and
//! what it produces — the encoder as an Earmark model and its classifier as a calibrated
//! multi-label tag head with the vocabulary beside it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::export::{NamedTensors, Precision, write_tensors};
use super::finetune::{FineTune, FineTuneConfig};
use super::optim::Moments;
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};
use crate::model::config::METADATA_KEY;
use crate::model::keys::{expected_encoder_keys, state_dict_prefix};
use crate::model::load::resolve_config;
use crate::model::pos::SplitMix;
use crate::model::{EncoderConfig, ModelDescription, WeightFile};

/// Metadata key of a fine-tuning checkpoint's run state.
const RUN_KEY: &str = "earmark.finetune";

/// The encoder of a model file (official checkpoint or Earmark model): its sizes and tensors
/// by official name (`pos_embed` left out: it is fixed).
pub fn encoder_tensors(
    model: &Path,
    device: &Device,
) -> Result<(EncoderConfig, HashMap<String, Tensor>)> {
    let mut file = WeightFile::open(model)?;
    let cfg = resolve_config(&file)?;
    let prefix = state_dict_prefix(&file)?;
    let mut out = HashMap::new();
    for (name, _) in expected_encoder_keys(&cfg) {
        if name == "pos_embed" {
            continue;
        }
        let t = file.tensor(&format!("{prefix}{name}"), device)?;
        out.insert(name, t);
    }
    Ok((cfg, out))
}

#[derive(Serialize, Deserialize)]
struct RunState {
    cfg: FineTuneConfig,
    labels: Vec<String>,
    step: u64,
    adam_t: u64,
    rng: u64,
}

/// File names of a fine-tuning run's checkpoints start with this.
const CHECKPOINT_PREFIX: &str = "finetune-";

/// Checkpoint file name of update `step`.
pub fn checkpoint_name(step: u64) -> String {
    format!("{CHECKPOINT_PREFIX}{step:07}.safetensors")
}

/// The newest checkpoint in `dir`.
pub fn latest_checkpoint(dir: &Path) -> Option<PathBuf> {
    super::checkpoint::list_named(dir, CHECKPOINT_PREFIX).pop()
}

/// Removes all but the newest `keep` checkpoints of `dir`.
pub fn prune_checkpoints(dir: &Path, keep: usize) {
    super::checkpoint::prune_named(dir, CHECKPOINT_PREFIX, keep);
}

/// Saves the whole run (variables, moments, step, random state) atomically.
pub fn save_checkpoint(run: &FineTune, path: &Path) -> Result<()> {
    let mut tensors: NamedTensors = Vec::new();
    for (name, var) in &run.params {
        let values = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        tensors.push((format!("param/{name}"), var.dims().to_vec(), values));
        if let Some(m) = run.adam.moments.get(name) {
            tensors.push((format!("adam.m/{name}"), vec![m.m.len()], m.m.clone()));
            tensors.push((format!("adam.v/{name}"), vec![m.v.len()], m.v.clone()));
        }
    }
    let state = RunState {
        cfg: run.cfg.clone(),
        labels: run.labels.clone(),
        step: run.step,
        adam_t: run.adam.t,
        rng: run.rng.0,
    };
    let mut metadata = HashMap::new();
    metadata.insert(
        METADATA_KEY.to_string(),
        ModelDescription::new(run.encoder.clone()).to_json()?,
    );
    metadata.insert(
        RUN_KEY.to_string(),
        serde_json::to_string(&state).map_err(|e| Error::Model(e.to_string()))?,
    );
    write_tensors(&tensors, metadata, path, Precision::F32)
}

/// Loads a run saved by [`save_checkpoint`]; it continues exactly where it stopped.
pub fn load_checkpoint(path: &Path, device: &Device) -> Result<FineTune> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |why: String| Error::Model(format!("{}: {why}", path.display()));
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let state: RunState = serde_json::from_str(
        meta.get(RUN_KEY)
            .ok_or_else(|| bad("not a fine-tuning checkpoint".into()))?,
    )
    .map_err(|e| bad(e.to_string()))?;
    let encoder = ModelDescription::from_json(
        meta.get(METADATA_KEY)
            .ok_or_else(|| bad("no encoder description".into()))?,
        &path.display().to_string(),
    )?
    .encoder;
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let mut params = BTreeMap::new();
    let mut moments: BTreeMap<String, (Vec<f32>, Vec<f32>)> = BTreeMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(bad(format!("`{name}` is not f32")));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(p) = name.strip_prefix("param/") {
            let t = Tensor::from_vec(values, view.shape(), device)?;
            params.insert(p.to_string(), Var::from_tensor(&t)?);
        } else if let Some(p) = name.strip_prefix("adam.m/") {
            moments.entry(p.to_string()).or_default().0 = values;
        } else if let Some(p) = name.strip_prefix("adam.v/") {
            moments.entry(p.to_string()).or_default().1 = values;
        }
    }
    let mut run = FineTune::from_parts(state.cfg, encoder, state.labels, params, device)?;
    run.step = state.step;
    run.adam.t = state.adam_t;
    run.rng = SplitMix(state.rng);
    for (name, (m, v)) in moments {
        run.adam.moments.insert(name, Moments { m, v });
    }
    Ok(run)
}

/// Platt scaling of one label's cosine logits: `(a, c)` of `p = σ(a·z + c)`, fitted by Newton's
/// method with both classes weighted equally (0.5 is the balanced decision boundary) and Platt's
/// smoothed targets.
pub fn platt(z: &[f64], positive: &[bool]) -> (f64, f64) {
    let n_pos = positive.iter().filter(|&&p| p).count().max(1) as f64;
    let n_neg = positive.iter().filter(|&&p| !p).count().max(1) as f64;
    // Platt's smoothed targets keep the fit finite when the classes are separable.
    let (y_pos, y_neg) = ((n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0));
    let rows: Vec<(f64, f64, f64)> = z
        .iter()
        .zip(positive)
        .map(|(&zi, &pi)| {
            if pi {
                (zi, y_pos, 0.5 / n_pos)
            } else {
                (zi, y_neg, 0.5 / n_neg)
            }
        })
        .collect();
    let objective = |a: f64, c: f64| -> f64 {
        rows.iter()
            .map(|&(zi, y, w)| {
                let t = a * zi + c;
                w * (t.max(0.0) + (-t.abs()).exp().ln_1p() - y * t)
            })
            .sum()
    };
    let (mut a, mut c) = (1.0f64, 0.0f64);
    let mut f = objective(a, c);
    for _ in 0..100 {
        let (mut ga, mut gc, mut haa, mut hac, mut hcc) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for &(zi, y, w) in &rows {
            let p = 1.0 / (1.0 + (-(a * zi + c)).exp());
            let r = w * (p - y);
            let s = w * p * (1.0 - p);
            ga += r * zi;
            gc += r;
            haa += s * zi * zi;
            hac += s * zi;
            hcc += s;
        }
        let det = haa * hcc - hac * hac;
        if det.abs() < 1e-300 {
            break;
        }
        let da = (hcc * ga - hac * gc) / det;
        let dc = (haa * gc - hac * ga) / det;
        // Damped Newton: halve the step until the objective does not rise.
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..40 {
            let (na, nc) = (a - t * da, c - t * dc);
            let nf = objective(na, nc);
            if nf <= f {
                (a, c, f) = (na, nc, nf);
                improved = true;
                break;
            }
            t *= 0.5;
        }
        if !improved || (t * da).abs() < 1e-10 && (t * dc).abs() < 1e-10 {
            break;
        }
    }
    (a.max(1e-3), c)
}

/// Writes the run's classifier as a multi-label tag head (`tags.weight`, `tags.bias`: applied
/// to the unit-length clip embedding, then a sigmoid per label), calibrated per label on the
/// cosine logits `logits` of labelled files, and `<stem>.vocab.txt` beside it.
pub fn export_head(run: &FineTune, logits: &[Vec<f32>], labels: &[u32], path: &Path) -> Result<()> {
    let rows = run.classifier_rows()?;
    let width = rows.first().map_or(0, Vec::len);
    let mut weight = Vec::with_capacity(rows.len() * width);
    let mut bias = Vec::with_capacity(rows.len());
    for (l, row) in rows.iter().enumerate() {
        let z: Vec<f64> = logits.iter().map(|r| f64::from(r[l])).collect();
        let positive: Vec<bool> = labels.iter().map(|&y| y as usize == l).collect();
        let (a, c) = if positive.iter().any(|&p| p) {
            platt(&z, &positive)
        } else {
            (1.0, -10.0)
        };
        weight.extend(row.iter().map(|&w| (f64::from(w) * a) as f32));
        bias.push(c as f32);
    }
    let tensors: NamedTensors = vec![
        ("tags.weight".into(), vec![rows.len(), width], weight),
        ("tags.bias".into(), vec![rows.len()], bias),
    ];
    let mut metadata = HashMap::new();
    metadata.insert(
        "earmark.head".to_string(),
        "multi-label: sigmoid(tags.weight · e/|e| + tags.bias)".to_string(),
    );
    write_tensors(&tensors, metadata, path, Precision::F32)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let vocab = path.with_file_name(format!("{stem}.vocab.txt"));
    let text: String = run.labels.iter().map(|l| format!("{l}\n")).collect();
    write_atomic(&vocab, |tmp| {
        std::fs::write(tmp, &text).map_err(|e| Error::io(tmp, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_scaling_puts_the_balanced_boundary_between_the_classes() {
        // Positives around z = 8, negatives around z = 2, ten times as many negatives.
        let mut z = Vec::new();
        let mut pos = Vec::new();
        for i in 0..10 {
            z.push(8.0 + (i as f64 - 4.5) * 0.3);
            pos.push(true);
        }
        for i in 0..100 {
            z.push(2.0 + ((i % 10) as f64 - 4.5) * 0.3);
            pos.push(false);
        }
        let (a, c) = platt(&z, &pos);
        let p = |x: f64| 1.0 / (1.0 + (-(a * x + c)).exp());
        assert!(p(8.0) > 0.9 && p(2.0) < 0.1, "a {a} c {c}");
        let boundary = -c / a;
        assert!((boundary - 5.0).abs() < 1.0, "boundary {boundary}");
    }
}
