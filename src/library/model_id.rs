//! Naming a model in the index: its identity is a hash of its weight file and its configuration,
//! so two copies of one checkpoint share their analyses and a retrained file never mixes with
//! its predecessor's. Also the fixed reduction that makes segment embeddings small.

use std::io::Read;
use std::path::Path;

use rusqlite::params;

use super::Library;
use super::db::sql;
use crate::error::{Error, Result};
use crate::model::EncoderConfig;

/// Most values stored per segment: 240 one-second segments of a 4-minute track then take
/// 240 × 384 × 2 bytes = 180 KB as f16.
pub const SEGMENT_MAX_DIM: usize = 384;

/// What the index records about a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelIdentity {
    /// `weights-hash:config-hash`, unique per model.
    pub identity: String,
    /// Human name (the weight file's stem, or a label for generated models).
    pub name: String,
    /// Hash of the configuration JSON.
    pub config_hash: String,
    /// The configuration as JSON.
    pub config_json: String,
    /// Clip embedding width.
    pub clip_dim: usize,
    /// Segment embedding width after reduction.
    pub segment_dim: usize,
}

/// Hex xxh3-128 of a byte stream, read in 1 MiB blocks.
pub fn hash_reader(mut r: impl Read) -> std::io::Result<String> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:032x}", h.digest128()))
}

/// Hex xxh3-128 of a file's content.
pub fn hash_file(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    hash_reader(f).map_err(|e| Error::io(path, e))
}

impl ModelIdentity {
    /// The identity of the weights in `path` under `cfg`.
    pub fn of_file(path: &Path, cfg: &EncoderConfig) -> Result<Self> {
        let weights = hash_file(path)?;
        let name = path
            .file_stem()
            .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned());
        Self::new(&weights, &name, cfg)
    }

    /// An identity from an explicit weights hash (generated models: label plus seed).
    pub fn new(weights_hash: &str, name: &str, cfg: &EncoderConfig) -> Result<Self> {
        let config_json =
            serde_json::to_string(cfg).map_err(|e| Error::Model(format!("config to JSON: {e}")))?;
        let config_hash = format!(
            "{:032x}",
            xxhash_rust::xxh3::xxh3_128(config_json.as_bytes())
        );
        let clip_dim = cfg.concat_dim();
        Ok(ModelIdentity {
            identity: format!("{weights_hash}:{config_hash}"),
            name: name.to_owned(),
            config_hash,
            config_json,
            clip_dim,
            segment_dim: clip_dim.min(SEGMENT_MAX_DIM),
        })
    }
}

impl Library {
    /// The id of model `m`, registered if new.
    pub fn ensure_model(&self, m: &ModelIdentity) -> Result<i64> {
        let what = "registering a model";
        self.conn
            .execute(
                "INSERT INTO models(identity, name, config_hash, config_json, clip_dim, segment_dim)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(identity) DO NOTHING",
                params![
                    m.identity,
                    m.name,
                    m.config_hash,
                    m.config_json,
                    m.clip_dim as i64,
                    m.segment_dim as i64
                ],
            )
            .map_err(sql(what))?;
        self.conn
            .query_row(
                "SELECT id FROM models WHERE identity = ?1",
                [&m.identity],
                |r| r.get(0),
            )
            .map_err(sql(what))
    }

    /// The id of the model with this identity, if the library has it (nothing is registered).
    pub fn model_id_of(&self, identity: &str) -> Result<Option<i64>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT id FROM models WHERE identity = ?1",
                [identity],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("looking the model up"))
    }

    /// The most recently registered model that has clip embeddings, as `(id, name)`.
    pub fn latest_model(&self) -> Result<Option<(i64, String)>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT m.id, m.name FROM models m WHERE EXISTS
                 (SELECT 1 FROM clip_embeddings c WHERE c.model_id = m.id)
                 ORDER BY m.id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql("finding the latest model"))
    }
}

/// A fixed random projection from `from` to `to` dimensions (Gaussian entries scaled by
/// `1/√to`, seeded by the sizes), which keeps cosine similarities close (Johnson–Lindenstrauss).
/// `None` when no reduction is needed.
pub fn segment_projection(from: usize, to: usize) -> Option<Vec<f32>> {
    if from <= to {
        return None;
    }
    let mut rng = crate::model::pos::SplitMix(0x5e67_0000 ^ ((from as u64) << 20) ^ to as u64);
    let scale = 1.0 / (to as f32).sqrt();
    Some((0..from * to).map(|_| rng.normal() * scale).collect())
}

/// Projects `v` (length `from`) through `matrix` (`from × to`, row-major) into `out` (`to`).
pub fn project(v: &[f32], matrix: &[f32], out: &mut [f32]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    let to = out.len();
    for (x, row) in v.iter().zip(matrix.chunks_exact(to)) {
        for (o, w) in out.iter_mut().zip(row) {
            *o += x * w;
        }
    }
}
