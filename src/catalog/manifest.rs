//! The model catalog (`models/catalog.toml`): the official release files with their address,
//! kind, the configuration each needs and its vocabulary.
//!
//! The catalog is compiled into Earmark; [`CATALOG_ENV`] or an explicit path replaces it (tests
//! point it at a loopback server). Parsing checks everything a download relies on: unique names,
//! safe file names, http(s) addresses, 64-digit SHA-256 values, vocabularies that exist and
//! encoder settings that are valid.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::embed::{EmbedOptions, FreqLayout, Mode};
use crate::model::{EncoderConfig, ModelDescription};

/// The catalog compiled into Earmark.
pub const BUILTIN_CATALOG: &str = include_str!("../../models/catalog.toml");

/// Environment variable naming a catalog file that replaces the compiled-in one.
pub const CATALOG_ENV: &str = "EARMARK_CATALOG";

/// What a catalog file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EntryKind {
    /// An encoder checkpoint.
    #[serde(rename = "encoder")]
    Encoder,
    /// An encoder checkpoint that also holds a classification head (the AudioSet model).
    #[serde(rename = "encoder+head")]
    EncoderWithHead,
    /// A zip of linear probe heads, one per downstream task.
    #[serde(rename = "probe-archive")]
    ProbeArchive,
    /// A class-mapping file (class names of a head).
    #[serde(rename = "vocabulary")]
    Vocabulary,
}

impl EntryKind {
    /// Short name for people (as written in the catalog).
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Encoder => "encoder",
            EntryKind::EncoderWithHead => "encoder+head",
            EntryKind::ProbeArchive => "probe archive",
            EntryKind::Vocabulary => "vocabulary",
        }
    }
}

/// The encoder's sizes: a preset name or explicit numbers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum EncoderSpec {
    /// A preset of [`EncoderConfig::preset`] (`vit-base`, `small`, `tiny`).
    Preset(String),
    /// Explicit sizes.
    Explicit(EncoderConfig),
}

/// Time pooling of the embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// The mean over time (the reference's default).
    TimeMean,
    /// One embedding per time step.
    None,
}

/// Chunking mode as written in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModeName {
    /// Precise chunking (the paper's results).
    Precise,
    /// Fast chunking (padded, interleaved).
    Fast,
}

/// The configuration a checkpoint needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Encoder sizes.
    pub encoder: EncoderSpec,
    /// Frames per encoder chunk (608, or 992 for the AudioSet fine-tuned checkpoints).
    pub n_t: usize,
    /// Whether a time step concatenates its frequency tokens (3840-d for ViT-B).
    pub concat_freq: bool,
    /// Time pooling.
    pub pooling: Pooling,
    /// Chunking mode.
    pub mode: ModeName,
}

impl RunConfig {
    /// The full encoder configuration (the preset or sizes, with this `n_t`).
    pub fn encoder_config(&self) -> Result<EncoderConfig> {
        let base = match &self.encoder {
            EncoderSpec::Preset(name) => EncoderConfig::preset(name)?,
            EncoderSpec::Explicit(cfg) => cfg.clone(),
        };
        let cfg = EncoderConfig {
            n_t: self.n_t,
            ..base
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// The model description written next to a downloaded checkpoint.
    pub fn description(&self) -> Result<ModelDescription> {
        Ok(ModelDescription::new(self.encoder_config()?))
    }

    /// The embedding options this configuration stands for. An encoder+head checkpoint whose
    /// frequency tokens are not concatenated feeds its head the frequency mean.
    pub fn embed_options(&self, kind: EntryKind) -> EmbedOptions {
        let freq = match (self.concat_freq, kind) {
            (true, _) => FreqLayout::Concat,
            (false, EntryKind::EncoderWithHead) => FreqLayout::Mean,
            (false, _) => FreqLayout::Tokens,
        };
        EmbedOptions {
            mode: match self.mode {
                ModeName::Precise => Mode::Precise,
                ModeName::Fast => Mode::Fast,
            },
            freq,
            pool_time: self.pooling == Pooling::TimeMean,
            ..EmbedOptions::default()
        }
    }

    /// One line for people: "n_t 608 · concatenated · time mean · precise".
    pub fn summary(&self) -> String {
        format!(
            "n_t {} · {} · {} · {}",
            self.n_t,
            if self.concat_freq {
                "frequencies concatenated"
            } else {
                "frequency tokens"
            },
            match self.pooling {
                Pooling::TimeMean => "time mean",
                Pooling::None => "per time step",
            },
            match self.mode {
                ModeName::Precise => "precise",
                ModeName::Fast => "fast",
            }
        )
    }
}

/// One downloadable file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// The name `earmark models download` takes.
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
    /// The file name it is saved under.
    pub file: String,
    /// Where it is downloaded from.
    pub url: String,
    /// For people.
    pub description: String,
    /// Expected size in bytes, when known.
    #[serde(default)]
    pub size: Option<u64>,
    /// Expected SHA-256 (64 hex digits), when known.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Vocabulary entries downloaded with this one.
    #[serde(default)]
    pub vocabularies: Vec<String>,
    /// (Vocabulary entries) the probe task whose path contains this text.
    #[serde(default)]
    pub task: Option<String>,
    /// (Vocabulary entries) the number of classes.
    #[serde(default)]
    pub classes: Option<usize>,
    /// The configuration a checkpoint needs (checkpoints and probe archives).
    #[serde(default)]
    pub config: Option<RunConfig>,
}

/// The parsed catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Format version (1).
    pub format: u32,
    /// The files, in catalog order.
    #[serde(rename = "entry", default)]
    pub entries: Vec<CatalogEntry>,
}

impl Catalog {
    /// Parses and checks catalog text; `origin` names its source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let catalog: Catalog = toml::from_str(text)
            .map_err(|e| Error::InvalidInput(format!("{origin}: not a model catalog: {e}")))?;
        catalog
            .check()
            .map_err(|why| Error::InvalidInput(format!("{origin}: {why}")))?;
        Ok(catalog)
    }

    /// The compiled-in catalog.
    pub fn builtin() -> Result<Self> {
        Self::parse(BUILTIN_CATALOG, "built-in catalog")
    }

    /// Reads a catalog file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The catalog in force: `path` when given, else the file [`CATALOG_ENV`] names, else the
    /// compiled-in one.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        if let Some(p) = path {
            return Self::from_file(p);
        }
        match std::env::var_os(CATALOG_ENV) {
            Some(p) if !p.is_empty() => Self::from_file(Path::new(&p)),
            _ => Self::builtin(),
        }
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The entry called `name`, or an error listing the known names.
    pub fn require(&self, name: &str) -> Result<&CatalogEntry> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
            Error::InvalidInput(format!(
                "no catalog entry `{name}` (known: {})",
                known.join(", ")
            ))
        })
    }

    /// The vocabulary entries of `entry`, in the order it lists them.
    pub fn vocabularies_of(&self, entry: &CatalogEntry) -> Vec<&CatalogEntry> {
        entry
            .vocabularies
            .iter()
            .filter_map(|n| self.get(n))
            .collect()
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.format != 1 {
            return Err(format!("unsupported catalog format {}", self.format));
        }
        for (i, e) in self.entries.iter().enumerate() {
            let what = format!("entry `{}`", e.name);
            if e.name.is_empty() || self.entries[..i].iter().any(|o| o.name == e.name) {
                return Err(format!("{what}: names must be non-empty and unique"));
            }
            check_file_name(&e.file).map_err(|w| format!("{what}: {w}"))?;
            if !(e.url.starts_with("https://") || e.url.starts_with("http://")) {
                return Err(format!("{what}: url must start with https:// or http://"));
            }
            if let Some(h) = &e.sha256
                && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(format!("{what}: sha256 must be 64 hexadecimal digits"));
            }
            for v in &e.vocabularies {
                match self.get(v) {
                    Some(o) if o.kind == EntryKind::Vocabulary => {}
                    _ => return Err(format!("{what}: `{v}` is not a vocabulary entry")),
                }
            }
            let needs_config = matches!(
                e.kind,
                EntryKind::Encoder | EntryKind::EncoderWithHead | EntryKind::ProbeArchive
            );
            match (&e.config, needs_config) {
                (None, true) => return Err(format!("{what}: a checkpoint needs [entry.config]")),
                (Some(c), _) => {
                    c.encoder_config().map_err(|err| format!("{what}: {err}"))?;
                }
                (None, false) => {}
            }
        }
        Ok(())
    }
}

/// A file name that stays inside the folder it is written to.
fn check_file_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "file `{name}` must be a plain file name (letters, digits, . _ - +)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_lists_every_official_file() {
        let c = Catalog::builtin().unwrap();
        let count = |k| c.entries.iter().filter(|e| e.kind == k).count();
        assert_eq!(count(EntryKind::Encoder), 4);
        assert_eq!(count(EntryKind::EncoderWithHead), 1);
        assert_eq!(count(EntryKind::ProbeArchive), 1);
        assert_eq!(count(EntryKind::Vocabulary), 8);
        let head = c.require("matpac-plus-audioset-head").unwrap();
        let cfg = head.config.as_ref().unwrap();
        assert_eq!(cfg.encoder_config().unwrap().n_t, 992);
        assert_eq!(
            cfg.embed_options(head.kind),
            EmbedOptions::for_audioset_head()
        );
        let probes = c.require("probes").unwrap();
        assert_eq!(
            probes.config.as_ref().unwrap().embed_options(probes.kind),
            EmbedOptions::for_probe()
        );
        // Every task the reference wrapper knows has its vocabulary, with the same class count,
        // listed in the wrapper's matching order.
        let tasks: Vec<(&str, usize)> = c
            .vocabularies_of(probes)
            .iter()
            .map(|v| (v.task.as_deref().unwrap(), v.classes.unwrap()))
            .collect();
        let official: Vec<(&str, usize)> = crate::tags::vocab::OFFICIAL_TASKS
            .iter()
            .map(|(t, n, _)| (*t, *n))
            .collect();
        assert_eq!(tasks, official);
        assert!(
            c.require("nope")
                .unwrap_err()
                .to_string()
                .contains("matpac-plus")
        );
    }

    #[test]
    fn bad_catalogs_are_refused_with_the_reason() {
        let good = r#"format = 1
[[entry]]
name = "a"
kind = "vocabulary"
file = "a.json"
url = "http://127.0.0.1/a.json"
description = "x"
"#;
        Catalog::parse(good, "t").unwrap();
        for (bad, why) in [
            (
                good.replace("a.json\"\nurl", "../a.json\"\nurl"),
                "plain file name",
            ),
            (good.replace("http://", "ftp://"), "https://"),
            (
                good.replace("description", "sha256 = \"12\"\ndescription"),
                "64 hex",
            ),
            (
                good.replace("\"vocabulary\"", "\"encoder\""),
                "needs [entry.config]",
            ),
            (
                good.replace("description", "vocabularies = [\"b\"]\ndescription"),
                "not a vocabulary",
            ),
            (good.replace("format = 1", "format = 2"), "format 2"),
        ] {
            let e = Catalog::parse(&bad, "t").unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }
}
