//! "Find similar" on a worker thread: the selected file's stored clip vector against the
//! library's clip index (loaded once per model and kept until the next scan), or — for a
//! selected region — the mean of its segment embeddings against every stored segment. The
//! results pass the tab's filters (folder, tag, duration range, as `earmark similar` has) and
//! carry readable scores placed in the query's score distribution over the whole library.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::library::Library;
use crate::search::calibrate::SAMPLE;
use crate::search::region::{region_query, region_search};
use crate::search::{ClipIndex, Filter, ScoreScale};

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
    /// Which files may be results.
    pub filters: SimilarFilters,
}

/// The Similar tab's filters: which files may be results (the query's score distribution is
/// always the whole library's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimilarFilters {
    /// Only files under this folder (an absolute path).
    pub folder: Option<String>,
    /// Only files carrying this tag.
    pub tag: Option<String>,
    /// Shortest duration in seconds.
    pub min_duration_s: Option<f64>,
    /// Longest duration in seconds.
    pub max_duration_s: Option<f64>,
}

impl SimilarFilters {
    /// Whether every file may be a result.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The search filter for these choices, leaving out files with the query's `fingerprint`.
    pub fn to_filter(&self, lib: &Library, fingerprint: Option<String>) -> Result<Filter> {
        let only_ids = match &self.tag {
            Some(tag) => Some(lib.files_with_tag(tag, 0.0)?.into_iter().collect()),
            None => None,
        };
        Ok(Filter {
            folder: self.folder.clone(),
            only_ids,
            min_duration_s: self.min_duration_s,
            max_duration_s: self.max_duration_s,
            exclude_fingerprint: fingerprint,
        })
    }
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
    /// The score on a readable 0–1 scale: 0 as close as a typical file of the library is to
    /// the query, 1 an identical sound ([`ScoreScale::matched`]).
    pub matched: f32,
    /// The share (0–1) of the library's files less similar to the query.
    pub closer_than: f32,
    /// Where in the file the best segment starts (region search).
    pub at_s: Option<f32>,
}

impl SimilarHit {
    /// A hit for file `file_id` at `path` with cosine `score`, placed on `scale`.
    pub fn new(file_id: i64, path: String, score: f32, scale: &ScoreScale) -> Self {
        SimilarHit {
            file_id,
            path,
            score,
            matched: scale.matched(score),
            closer_than: scale.closer_than(score) as f32,
            at_s: None,
        }
    }
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
    /// The median cosine of the library's files against the query (what "0 %" means), when
    /// the library has enough files to say.
    pub typical: Option<f32>,
    /// The filters the results passed.
    pub filters: SimilarFilters,
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
    let filter = req.filters.to_filter(&lib, Some(fingerprint))?;
    if let Some((start, end)) = req.region {
        let segments = lib
            .segments(req.file_id, model_id)?
            .ok_or_else(|| Error::Model("this file is not analysed yet".into()))?;
        let q = region_query(&segments, start, end)?;
        // Every file's best segment, to place the results among them; then the filters.
        let all = region_search(&lib, model_id, &q, usize::MAX, &unfiltered(&filter))?;
        let scale = ScoreScale::new(all.iter().map(|h| h.hit.score).collect());
        let hits = all
            .into_iter()
            .filter(|h| filter.accepts(&h.hit.candidate))
            .take(RESULTS)
            .map(|h| SimilarHit {
                at_s: Some(h.at_s),
                ..SimilarHit::new(
                    h.hit.candidate.file_id,
                    h.hit.candidate.path,
                    h.hit.score,
                    &scale,
                )
            })
            .collect();
        return Ok(SimilarResults {
            query: req.path,
            region: req.region,
            hits,
            typical: scale.typical(),
            filters: req.filters,
            index: req.index,
        });
    }
    let clip = lib
        .clip_vector(req.file_id, model_id)?
        .ok_or_else(|| Error::Model("this file is not analysed yet".into()))?;
    let mut results = clip_search(
        &lib, &req.model, model_id, req.index, &clip, &filter, req.path,
    )?;
    results.filters = req.filters;
    Ok(results)
}

/// `filter` without its choices: only the query's exact duplicates left out.
fn unfiltered(filter: &Filter) -> Filter {
    Filter {
        exclude_fingerprint: filter.exclude_fingerprint.clone(),
        ..Filter::default()
    }
}

/// The library's clip vectors closest to `clip` that pass `filter`: the cached index when it
/// belongs to `model_id`, else a fresh one (returned with the results for the next query). The
/// scores are placed among an even sample of the whole library's (only the query's exact
/// duplicates left out).
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
    let scale = ScoreScale::new(index.score_sample(clip, &unfiltered(filter), SAMPLE)?);
    let hits = index
        .top_k(clip, RESULTS, filter)?
        .into_iter()
        .map(|h| SimilarHit::new(h.candidate.file_id, h.candidate.path, h.score, &scale))
        .collect();
    Ok(SimilarResults {
        query,
        region: None,
        hits,
        typical: scale.typical(),
        filters: SimilarFilters::default(),
        index: Some((model_id, index)),
    })
}
