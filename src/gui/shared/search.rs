//! "Find similar" on a worker thread: the selected file's stored clip vector against the
//! library's clip index (loaded once per model and kept until the next scan), or — for a
//! selected region — the mean of its segment embeddings against every stored segment.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::library::Library;
use crate::search::region::{region_query, region_search};
use crate::search::{ClipIndex, Filter};

use crate::gui::shared::active_model::ActiveModel;

/// Results per query.
pub const RESULTS: usize = 50;

/// A query.
#[derive(Debug, Clone)]
pub struct SimilarRequest {
    /// The index file.
    pub library: PathBuf,
    /// The model whose embeddings are compared.
    pub model: ActiveModel,
    /// The query file's id and path.
    pub file_id: i64,
    /// Its path (shown above the results).
    pub path: String,
    /// A region of the query in seconds, for region search.
    pub region: Option<(f32, f32)>,
    /// The clip index from an earlier query, when still valid.
    pub index: Option<(i64, Arc<ClipIndex>)>,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarHit {
    /// File id.
    pub file_id: i64,
    /// Path.
    pub path: String,
    /// Cosine similarity.
    pub score: f32,
    /// Where in the file the best segment starts (region search).
    pub at_s: Option<f32>,
}

/// The answer to a query.
#[derive(Debug, Clone)]
pub struct SimilarResults {
    /// The query file's path.
    pub query: String,
    /// The region searched, if any.
    pub region: Option<(f32, f32)>,
    /// Best first.
    pub hits: Vec<SimilarHit>,
    /// The clip index used, to keep for the next query: (model id, index).
    pub index: Option<(i64, Arc<ClipIndex>)>,
}

/// Runs `req`.
pub fn find_similar(req: SimilarRequest) -> Result<SimilarResults> {
    let lib = Library::open(&req.library)?;
    let model_id = req.model.id_in(&lib)?.ok_or_else(|| {
        Error::Model(format!(
            "the library has no analyses by {} yet: scan a folder first",
            req.model.name()
        ))
    })?;
    let fingerprint = lib
        .fingerprint_of(req.file_id)?
        .ok_or_else(|| Error::Library("reading the query file: it is not in the library".into()))?;
    let filter = Filter {
        exclude_fingerprint: Some(fingerprint),
        ..Filter::default()
    };
    if let Some((start, end)) = req.region {
        let segments = lib
            .segments(req.file_id, model_id)?
            .ok_or_else(|| Error::Model("this file is not analysed yet".into()))?;
        let q = region_query(&segments, start, end)?;
        let hits = region_search(&lib, model_id, &q, RESULTS, &filter)?
            .into_iter()
            .map(|h| SimilarHit {
                file_id: h.hit.candidate.file_id,
                path: h.hit.candidate.path,
                score: h.hit.score,
                at_s: Some(h.at_s),
            })
            .collect();
        return Ok(SimilarResults {
            query: req.path,
            region: req.region,
            hits,
            index: req.index,
        });
    }
    let clip = lib
        .clip_vector(req.file_id, model_id)?
        .ok_or_else(|| Error::Model("this file is not analysed yet".into()))?;
    clip_search(
        &lib, &req.model, model_id, req.index, &clip, &filter, req.path,
    )
}

/// The library's clip vectors closest to `clip`: the cached index when it belongs to
/// `model_id`, else a fresh one (returned with the results for the next query).
pub fn clip_search(
    lib: &Library,
    model: &ActiveModel,
    model_id: i64,
    cached: Option<(i64, Arc<ClipIndex>)>,
    clip: &[f32],
    filter: &Filter,
    query: String,
) -> Result<SimilarResults> {
    let index = match cached {
        Some((id, index)) if id == model_id => index,
        _ => Arc::new(ClipIndex::load(lib, model_id, model.identity.clip_dim)?),
    };
    let hits = index
        .top_k(clip, RESULTS, filter)?
        .into_iter()
        .map(|h| SimilarHit {
            file_id: h.candidate.file_id,
            path: h.candidate.path,
            score: h.score,
            at_s: None,
        })
        .collect();
    Ok(SimilarResults {
        query,
        region: None,
        hits,
        index: Some((model_id, index)),
    })
}
