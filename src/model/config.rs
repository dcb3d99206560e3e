//! Encoder hyper-parameters: named presets and the JSON description that travels with weights.
//!
//! # The model description file
//!
//! A weight file `NAME.safetensors` or `NAME.pt` may have a description `NAME.json` next to it;
//! a `.safetensors` file may instead carry the same JSON text in its header metadata under the key
//! [`METADATA_KEY`] (`earmark convert` writes it there). The JSON object is:
//!
//! ```json
//! { "format": "earmark-matpac", "version": 1,
//!   "encoder": { "embed_dim": 768, "depth": 12, "num_heads": 12, "mlp_hidden_dim": 3072,
//!                "n_t": 608, "patch_size": 16, "n_mels": 80, "layer_norm_eps": 1e-6 } }
//! ```
//!
//! `patch_size`, `n_mels` and `layer_norm_eps` may be left out (16, 80, 1e-6). When a file has no
//! description at all, [`EncoderConfig::infer`] recognises the official ViT-B checkpoints from their
//! tensor shapes (the head count cannot be read from shapes, so other sizes need a description).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Header metadata key under which a `.safetensors` file stores its [`ModelDescription`] JSON.
pub const METADATA_KEY: &str = "earmark.model";

/// The `format` tag of a [`ModelDescription`].
pub const FORMAT_TAG: &str = "earmark-matpac";

/// Largest value accepted for each size of an [`EncoderConfig`], in field order (far beyond any
/// real ViT: ViT-G has 1,664-d tokens, 48 blocks and a 8,192-wide MLP).
pub const MAX_SIZES: [(&str, usize); 7] = [
    ("embed_dim", 16_384),
    ("depth", 256),
    ("num_heads", 1024),
    ("mlp_hidden_dim", 65_536),
    ("n_t", 1 << 20),
    ("patch_size", 1024),
    ("n_mels", 1024),
];

/// Hyper-parameters of a MATPAC (ViT) encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// Token width `D` (768 for ViT-B).
    pub embed_dim: usize,
    /// Number of transformer blocks (12 for ViT-B).
    pub depth: usize,
    /// Attention heads per block (12 for ViT-B; head width `embed_dim / num_heads`).
    pub num_heads: usize,
    /// Hidden width of the MLP (3072 for ViT-B).
    pub mlp_hidden_dim: usize,
    /// Frames per encoder chunk (608, or 992 for the AudioSet fine-tuned checkpoints).
    pub n_t: usize,
    /// Square patch side in frames and mel bands.
    #[serde(default = "default_patch_size")]
    pub patch_size: usize,
    /// Mel bands of the input.
    #[serde(default = "default_n_mels")]
    pub n_mels: usize,
    /// Epsilon of every LayerNorm.
    #[serde(default = "default_ln_eps")]
    pub layer_norm_eps: f64,
}

fn default_patch_size() -> usize {
    16
}
fn default_n_mels() -> usize {
    crate::dsp::N_MELS
}
fn default_ln_eps() -> f64 {
    1e-6
}

impl EncoderConfig {
    /// The official MATPAC / MATPAC++ ViT-B encoder (768-d, 12 blocks, 12 heads, 608-frame chunks).
    pub fn vit_base() -> Self {
        EncoderConfig {
            embed_dim: 768,
            depth: 12,
            num_heads: 12,
            mlp_hidden_dim: 3072,
            n_t: 608,
            patch_size: 16,
            n_mels: 80,
            layer_norm_eps: 1e-6,
        }
    }

    /// The AudioSet fine-tuned ViT-B (992-frame chunks, 62 patch columns).
    pub fn vit_base_audioset() -> Self {
        EncoderConfig {
            n_t: 992,
            ..Self::vit_base()
        }
    }

    /// A small encoder for the bundled model (384-d, 6 blocks, 6 heads).
    pub fn small() -> Self {
        EncoderConfig {
            embed_dim: 384,
            depth: 6,
            num_heads: 6,
            mlp_hidden_dim: 1536,
            ..Self::vit_base()
        }
    }

    /// A very small encoder (192-d, 4 blocks, 3 heads) for quick experiments and tests.
    pub fn tiny() -> Self {
        EncoderConfig {
            embed_dim: 192,
            depth: 4,
            num_heads: 3,
            mlp_hidden_dim: 768,
            ..Self::vit_base()
        }
    }

    /// Looks a preset up by name: `vit-base`, `vit-base-audioset`, `small`, `tiny`.
    pub fn preset(name: &str) -> Result<Self> {
        match name {
            "vit-base" | "vit-b" => Ok(Self::vit_base()),
            "vit-base-audioset" | "vit-b-as" => Ok(Self::vit_base_audioset()),
            "small" => Ok(Self::small()),
            "tiny" => Ok(Self::tiny()),
            other => Err(Error::InvalidInput(format!(
                "unknown encoder preset `{other}` (known: vit-base, vit-base-audioset, small, tiny)"
            ))),
        }
    }

    /// Number of patch rows along frequency (`n_mels / patch_size`, 5 for MATPAC).
    pub fn freq_patches(&self) -> usize {
        self.n_mels / self.patch_size
    }

    /// Number of patch columns in a full chunk (`n_t / patch_size`).
    pub fn time_patches(&self) -> usize {
        self.n_t / self.patch_size
    }

    /// Width of one head.
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.num_heads.max(1)
    }

    /// Width of a frequency-concatenated time step (`freq_patches × embed_dim`, 3840 for ViT-B).
    pub fn concat_dim(&self) -> usize {
        self.freq_patches() * self.embed_dim
    }

    /// Checks that the numbers are consistent (divisibility, non-zero sizes) and within
    /// [`MAX_SIZES`] (a description from outside cannot make the loader list billions of keys or
    /// size buffers it cannot hold).
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::Model(format!("invalid encoder config: {why}")));
        if self.embed_dim == 0 || self.depth == 0 || self.num_heads == 0 || self.mlp_hidden_dim == 0
        {
            return bad("sizes must be non-zero".into());
        }
        let sizes = [
            ("embed_dim", self.embed_dim),
            ("depth", self.depth),
            ("num_heads", self.num_heads),
            ("mlp_hidden_dim", self.mlp_hidden_dim),
            ("n_t", self.n_t),
            ("patch_size", self.patch_size),
            ("n_mels", self.n_mels),
        ];
        for ((name, value), (_, max)) in sizes.iter().zip(MAX_SIZES) {
            if *value > max {
                return bad(format!("{name} {value} is larger than {max}"));
            }
        }
        if !self.embed_dim.is_multiple_of(self.num_heads) {
            return bad(format!(
                "embed_dim {} is not a multiple of num_heads {}",
                self.embed_dim, self.num_heads
            ));
        }
        if self.patch_size == 0 || !self.n_mels.is_multiple_of(self.patch_size) || self.n_mels == 0
        {
            return bad(format!(
                "n_mels {} is not a positive multiple of patch_size {}",
                self.n_mels, self.patch_size
            ));
        }
        if self.n_t == 0 || !self.n_t.is_multiple_of(self.patch_size) {
            return bad(format!(
                "n_t {} is not a positive multiple of patch_size {}",
                self.n_t, self.patch_size
            ));
        }
        if self.layer_norm_eps.is_nan() || self.layer_norm_eps <= 0.0 {
            return bad("layer_norm_eps must be positive".into());
        }
        Ok(())
    }

    /// Guesses the configuration of a checkpoint that comes without a description, from the shapes
    /// of `cls_token` (`[1, 1, D]`), `pos_embed` (`[1, 1 + 5·G, D]`), the first MLP (`[H, D]`) and
    /// the number of blocks. Only the official ViT-B layout (D 768, MLP 3072, 12 blocks) is
    /// recognised, because the number of heads is not visible in the shapes.
    pub fn infer(
        embed_dim: usize,
        depth: usize,
        mlp_hidden: usize,
        pos_rows: usize,
    ) -> Result<Self> {
        let base = Self::vit_base();
        if embed_dim != base.embed_dim || depth != base.depth || mlp_hidden != base.mlp_hidden_dim {
            return Err(Error::Model(format!(
                "checkpoint (dim {embed_dim}, {depth} blocks, MLP {mlp_hidden}) is not the official \
                 ViT-B and has no model description; write a .json description next to it"
            )));
        }
        let f = base.freq_patches();
        if pos_rows < 1 + f || !(pos_rows - 1).is_multiple_of(f) {
            return Err(Error::Model(format!(
                "pos_embed has {pos_rows} rows, expected 1 + {f}·G"
            )));
        }
        Ok(EncoderConfig {
            n_t: (pos_rows - 1) / f * base.patch_size,
            ..base
        })
    }
}

/// The description stored next to (or inside) a weight file; see the module docs for the format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDescription {
    /// Always [`FORMAT_TAG`].
    pub format: String,
    /// Format version, currently 1.
    pub version: u32,
    /// The encoder's hyper-parameters.
    pub encoder: EncoderConfig,
}

impl ModelDescription {
    /// Wraps a configuration in a version-1 description.
    pub fn new(encoder: EncoderConfig) -> Self {
        ModelDescription {
            format: FORMAT_TAG.to_owned(),
            version: 1,
            encoder,
        }
    }

    /// Parses and validates a description; `origin` names its source in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        let desc: ModelDescription = serde_json::from_str(text)
            .map_err(|e| Error::Model(format!("{origin}: not a model description: {e}")))?;
        if desc.format != FORMAT_TAG {
            return Err(Error::Model(format!(
                "{origin}: format is `{}`, expected `{FORMAT_TAG}`",
                desc.format
            )));
        }
        if desc.version != 1 {
            return Err(Error::Model(format!(
                "{origin}: unsupported description version {}",
                desc.version
            )));
        }
        desc.encoder
            .validate()
            .map_err(|e| Error::Model(format!("{origin}: {e}")))?;
        Ok(desc)
    }

    /// Serialises to pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Model(format!("description: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_sizes_are_refused_before_anything_is_sized_by_them() {
        let huge = EncoderConfig {
            depth: 1_000_000_000,
            ..EncoderConfig::tiny()
        };
        let err = huge.validate().unwrap_err().to_string();
        assert!(err.contains("depth 1000000000 is larger than 256"), "{err}");
        let wide = EncoderConfig {
            n_t: 1 << 40,
            ..EncoderConfig::tiny()
        };
        assert!(wide.validate().is_err());
    }

    #[test]
    fn presets_are_valid_and_official_sizes_hold() {
        for name in ["vit-base", "vit-base-audioset", "small", "tiny"] {
            EncoderConfig::preset(name).unwrap().validate().unwrap();
        }
        let b = EncoderConfig::vit_base();
        assert_eq!(
            (b.concat_dim(), b.time_patches(), b.head_dim()),
            (3840, 38, 64)
        );
        assert_eq!(EncoderConfig::vit_base_audioset().time_patches(), 62);
    }

    #[test]
    fn description_round_trips_and_defaults_apply() {
        let d = ModelDescription::new(EncoderConfig::vit_base());
        let back = ModelDescription::from_json(&d.to_json().unwrap(), "x").unwrap();
        assert_eq!(back, d);
        let short = r#"{"format":"earmark-matpac","version":1,"encoder":{"embed_dim":64,"depth":2,
            "num_heads":4,"mlp_hidden_dim":256,"n_t":608}}"#;
        let d = ModelDescription::from_json(short, "x").unwrap();
        assert_eq!((d.encoder.patch_size, d.encoder.n_mels), (16, 80));
        assert!(ModelDescription::from_json(&short.replace("608", "600"), "x").is_err());
    }

    #[test]
    fn infer_only_accepts_vit_base() {
        assert_eq!(EncoderConfig::infer(768, 12, 3072, 311).unwrap().n_t, 992);
        assert!(EncoderConfig::infer(64, 2, 256, 191).is_err());
    }
}
