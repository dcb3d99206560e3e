//! Region examples of a personal tag: their embeddings, computed with the model so that a refit
//! can use them. The examples themselves (whole files or regions, positive or negative) are rows
//! of the library ([`crate::library::examples`]).

use std::path::Path;

use crate::engine::Engine;
use crate::error::Result;
use crate::library::Library;
use crate::library::region::region_embedding;

/// A region example whose embedding could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionFailure {
    /// The example's id.
    pub example_id: i64,
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Computes, with `engine`, the embeddings of the region examples of `label` (all tags with
/// `None`) that `model_id` lacks. Returns the examples that failed.
pub fn embed_missing_regions(
    lib: &Library,
    engine: &Engine,
    model_id: i64,
    label: Option<&str>,
) -> Result<Vec<RegionFailure>> {
    let mut failed = Vec::new();
    for e in lib.examples(label)? {
        let Some(region) = e.region else { continue };
        if lib.region_vector(e.id, model_id)?.is_some() {
            continue;
        }
        match region_embedding(engine, Path::new(&e.path), region.start_s, region.end_s) {
            Ok(v) => lib.set_region_vector(e.id, model_id, &v)?,
            Err(err) => failed.push(RegionFailure {
                example_id: e.id,
                path: e.path.clone(),
                reason: err.to_string(),
            }),
        }
    }
    Ok(failed)
}
