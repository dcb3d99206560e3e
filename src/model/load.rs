//! Loading an [`Encoder`] from a weight file: configuration lookup, strict key checks, upload.
//!
//! The configuration comes, in this order, from `NAME.json` next to the weights, from the
//! safetensors metadata key [`super::config::METADATA_KEY`], or — for the official ViT-B release
//! files, which carry none — from the tensor shapes ([`EncoderConfig::infer`]). The `n_t` of the
//! AudioSet fine-tuned checkpoints (992) is thus read from the size of their `pos_embed` instead of
//! from path substrings as the reference does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use super::config::{EncoderConfig, METADATA_KEY, ModelDescription};
use super::encoder::Encoder;
use super::keys;
use super::weights::WeightFile;
use crate::error::{Error, Result};

/// Path of the description file that belongs to a weight file (`x.pt` → `x.json`).
pub fn description_path(weights: &Path) -> PathBuf {
    weights.with_extension("json")
}

/// Finds the configuration of an opened weight file (see the module docs for the order).
pub fn resolve_config(file: &WeightFile) -> Result<EncoderConfig> {
    let side = description_path(file.path());
    if side.is_file() {
        let text = std::fs::read_to_string(&side).map_err(|e| Error::io(&side, e))?;
        return Ok(ModelDescription::from_json(&text, &side.display().to_string())?.encoder);
    }
    if let Some(text) = file.metadata().get(METADATA_KEY) {
        let origin = format!("{} (metadata)", file.path().display());
        return Ok(ModelDescription::from_json(text, &origin)?.encoder);
    }
    let prefix = keys::state_dict_prefix(file)?;
    let shape = |n: &str| file.shape(&format!("{prefix}{n}")).map(<[usize]>::to_vec);
    let missing = |n: &str| {
        Error::Model(format!(
            "{}: missing key `{prefix}{n}`",
            file.path().display()
        ))
    };
    let cls = shape("cls_token").ok_or_else(|| missing("cls_token"))?;
    let pos = shape("pos_embed").ok_or_else(|| missing("pos_embed"))?;
    let fc1 = shape("student_encoder.blocks.0.mlp.fc1.weight")
        .ok_or_else(|| missing("student_encoder.blocks.0.mlp.fc1.weight"))?;
    let depth = (0..)
        .take_while(|i| shape(&format!("student_encoder.blocks.{i}.norm1.weight")).is_some())
        .count();
    let (Some(&d), Some(&rows), Some(&hidden)) = (cls.last(), pos.get(1), fc1.first()) else {
        return Err(Error::Model(format!(
            "{}: malformed encoder shapes",
            file.path().display()
        )));
    };
    EncoderConfig::infer(d, depth, hidden, rows)
        .map_err(|e| Error::Model(format!("{}: {e}", file.path().display())))
}

/// Reads, checks and uploads the encoder tensors of `file` under configuration `cfg`.
pub fn encoder_from_file(
    file: &mut WeightFile,
    cfg: &EncoderConfig,
    device: &Device,
) -> Result<Encoder> {
    cfg.validate()?;
    let prefix = keys::state_dict_prefix(file)?;
    keys::check_encoder_keys(file, cfg, &prefix)?;
    let mut map = HashMap::new();
    for (name, _) in keys::expected_encoder_keys(cfg) {
        let t = file.tensor(&format!("{prefix}{name}"), device)?;
        map.insert(name, t);
    }
    Encoder::new(cfg, VarBuilder::from_tensors(map, DType::F32, device))
}

impl Encoder {
    /// Loads an encoder from a `.pt` or `.safetensors` file, finding its configuration as the
    /// module docs describe.
    pub fn load(path: &Path, device: &Device) -> Result<Encoder> {
        let mut file = WeightFile::open(path)?;
        let cfg = resolve_config(&file)?;
        encoder_from_file(&mut file, &cfg, device)
    }

    /// Loads an encoder with an explicit configuration (any description file is ignored).
    pub fn load_with_config(path: &Path, cfg: &EncoderConfig, device: &Device) -> Result<Encoder> {
        let mut file = WeightFile::open(path)?;
        encoder_from_file(&mut file, cfg, device)
    }
}

/// Converts a checkpoint to safetensors: the checked encoder tensors (and any head tensors) as
/// `f32`, with the model description in the header metadata. Training-only entries are dropped.
pub fn convert(src: &Path, dst: &Path, cfg: Option<&EncoderConfig>) -> Result<EncoderConfig> {
    let mut file = WeightFile::open(src)?;
    let cfg = match cfg {
        Some(c) => c.clone(),
        None => resolve_config(&file)?,
    };
    cfg.validate()?;
    let prefix = keys::state_dict_prefix(&file)?;
    keys::check_encoder_keys(&file, &cfg, &prefix)?;
    let mut names: Vec<String> = keys::expected_encoder_keys(&cfg)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for n in file.tensor_names() {
        if let Some(local) = n.strip_prefix(prefix.as_str())
            && keys::HEAD_PREFIXES.iter().any(|p| local.starts_with(p))
            && file.is_float(&n)
        {
            names.push(local.to_owned());
        }
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let (shape, values) = file.read_f32(&format!("{prefix}{name}"))?;
        out.push((name, shape, values));
    }
    let mut meta = HashMap::new();
    meta.insert(
        METADATA_KEY.to_owned(),
        ModelDescription::new(cfg.clone()).to_json()?,
    );
    super::weights::write_safetensors(dst, &out, Some(meta))?;
    Ok(cfg)
}
