//! Turning a run into a model the whole app uses (the student encoder in the official key layout
//! with its description in the header), and starting a run from an existing encoder.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Var};
use half::f16;

use super::preset::{TrainConfig, TrainPreset};
use super::state::TrainState;
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};
use crate::model::config::METADATA_KEY;
use crate::model::keys::{expected_encoder_keys, state_dict_prefix};
use crate::model::load::resolve_config;
use crate::model::{EncoderConfig, ModelDescription, WeightFile};

/// Storage precision of an exported model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats (exact).
    F32,
    /// 16-bit floats (half the size; the encoder computes in f32 after loading).
    F16,
}

/// Named tensors as `(name, shape, values)`.
pub type NamedTensors = Vec<(String, Vec<usize>, Vec<f32>)>;

/// The encoder tensors (official names) of the student in `state`, with the positional table.
pub fn student_encoder(state: &TrainState) -> Result<NamedTensors> {
    encoder_tensors_of(&state.cfg.preset.encoder, &state.params)
}

/// The tensors of an encoder of `cfg` in the official layout, taken from trainable variables
/// by official name, with the (fixed) positional table.
pub fn encoder_tensors_of(
    cfg: &EncoderConfig,
    params: &BTreeMap<String, Var>,
) -> Result<NamedTensors> {
    let mut out = Vec::new();
    for (name, shape) in expected_encoder_keys(cfg) {
        let values = if name == "pos_embed" {
            super::init::encoder_positions(cfg)
        } else {
            let var = params
                .get(&name)
                .ok_or_else(|| Error::Model(format!("the run has no tensor `{name}`")))?;
            var.as_tensor().flatten_all()?.to_vec1::<f32>()?
        };
        out.push((name, shape, values));
    }
    Ok(out)
}

/// Writes the student encoder of `state` to `path` (`.safetensors`) atomically, with its
/// description in the header so that every Earmark command loads it as it is.
pub fn export_model(state: &TrainState, path: &Path, precision: Precision) -> Result<()> {
    let tensors = student_encoder(state)?;
    let trained = format!(
        "preset {}, {} updates, batch {}",
        state.cfg.preset.name, state.step, state.cfg.batch_size
    );
    write_model(
        &tensors,
        &state.cfg.preset.encoder,
        &trained,
        path,
        precision,
    )
}

/// Writes encoder `tensors` (official names) of an encoder of `cfg` to `path` atomically, with
/// the description in the header and `trained` (how it was made) beside it.
pub fn write_model(
    tensors: &NamedTensors,
    cfg: &EncoderConfig,
    trained: &str,
    path: &Path,
    precision: Precision,
) -> Result<()> {
    let json = ModelDescription::new(cfg.clone()).to_json()?;
    let mut metadata = HashMap::new();
    metadata.insert(METADATA_KEY.to_string(), json);
    metadata.insert("earmark.trained".to_string(), trained.to_string());
    write_tensors(tensors, metadata, path, precision)
}

/// Writes named tensors and `metadata` to a `.safetensors` file atomically.
pub fn write_tensors(
    tensors: &NamedTensors,
    metadata: HashMap<String, String>,
    path: &Path,
    precision: Precision,
) -> Result<()> {
    let (dtype, width) = match precision {
        Precision::F32 => (safetensors::Dtype::F32, 4),
        Precision::F16 => (safetensors::Dtype::F16, 2),
    };
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| {
            let mut b = Vec::with_capacity(v.len() * width);
            for &x in v {
                match precision {
                    Precision::F32 => b.extend_from_slice(&x.to_le_bytes()),
                    Precision::F16 => b.extend_from_slice(&f16::from_f32(x).to_le_bytes()),
                }
            }
            b
        })
        .collect();
    write_atomic(path, |tmp| {
        let views = tensors
            .iter()
            .zip(&bytes)
            .map(|((name, shape, _), b)| {
                safetensors::tensor::TensorView::new(dtype, shape.clone(), b)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| Error::Model(format!("`{name}`: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::serialize_to_file(views, Some(metadata), tmp)
            .map_err(|e| Error::Model(format!("{}: {e}", tmp.display())))
    })
}

/// Predictor and head sizes that suit an encoder of width `cfg.embed_dim`.
pub fn preset_for_encoder(cfg: &EncoderConfig) -> TrainPreset {
    let base = match cfg.embed_dim {
        0..=256 => TrainPreset::tiny(),
        257..=512 => TrainPreset::small(),
        _ => TrainPreset::base(),
    };
    TrainPreset {
        name: "custom".into(),
        encoder: cfg.clone(),
        ..base
    }
}

/// A run that continues pretraining the encoder in `model` (official checkpoint or an Earmark
/// model): the student encoder starts from it, the teacher encoder is a copy of it, the
/// predictor and heads start fresh. `configure` receives the preset that fits the encoder.
pub fn state_from_model(
    model: &Path,
    device: &Device,
    configure: impl FnOnce(TrainPreset) -> TrainConfig,
) -> Result<TrainState> {
    let mut file = WeightFile::open(model)?;
    let enc_cfg = resolve_config(&file)?;
    let cfg = configure(preset_for_encoder(&enc_cfg));
    let mut state = TrainState::new(cfg, device)?;
    let prefix = state_dict_prefix(&file)?;
    for (name, shape) in expected_encoder_keys(&enc_cfg) {
        if name == "pos_embed" {
            continue;
        }
        let source = format!("{prefix}{name}");
        let t = file.tensor(&source, device)?;
        if t.dims() != shape.as_slice() {
            return Err(Error::Model(format!(
                "{}: `{source}` has shape {:?}, expected {shape:?}",
                model.display(),
                t.dims()
            )));
        }
        if let Some(rest) = name.strip_prefix("student_encoder") {
            state
                .teacher
                .insert(format!("teacher_encoder{rest}"), t.copy()?);
        }
        let var = state
            .params
            .get(&name)
            .ok_or_else(|| Error::Model(format!("the run has no tensor `{name}`")))?;
        var.set(&t)?;
    }
    Ok(state)
}
