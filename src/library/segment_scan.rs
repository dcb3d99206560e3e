//! Every analysed file's segment embeddings under one model, read in a single pass: what a
//! search by time region compares its query with. Files a filter rejects are skipped before
//! their blobs are decoded.

use rusqlite::params;

use super::Library;
use super::db::sql;
use super::query::Candidate;
use super::store::{Segments, f16_values, f32_values};
use crate::error::Result;

impl Library {
    /// Calls `each(file, segments)` for every live, analysed file with segment embeddings
    /// under `model_id` that `wanted` accepts (in no particular order). `segments.dim` is the
    /// number of values per segment (0 when a file has no segments).
    pub fn for_each_segments(
        &self,
        model_id: i64,
        mut wanted: impl FnMut(&Candidate) -> bool,
        mut each: impl FnMut(Candidate, Segments),
    ) -> Result<()> {
        let what = "reading segment embeddings";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.id, f.path, f.fingerprint, coalesce(f.duration_s, 0), s.starts, s.vectors
                 FROM segment_embeddings s JOIN files f ON f.id = s.file_id
                 WHERE s.model_id = ?1 AND f.status = 'indexed' AND f.removed_at IS NULL",
            )
            .map_err(sql(what))?;
        let mut rows = stmt.query(params![model_id]).map_err(sql(what))?;
        while let Some(r) = rows.next().map_err(sql(what))? {
            let c = Candidate {
                file_id: r.get(0).map_err(sql(what))?,
                path: r.get(1).map_err(sql(what))?,
                fingerprint: r.get(2).map_err(sql(what))?,
                duration_s: r.get(3).map_err(sql(what))?,
            };
            if !wanted(&c) {
                continue;
            }
            let starts = f32_values(&r.get::<_, Vec<u8>>(4).map_err(sql(what))?);
            let vectors = f16_values(&r.get::<_, Vec<u8>>(5).map_err(sql(what))?);
            let dim = if starts.is_empty() {
                0
            } else {
                vectors.len() / starts.len()
            };
            each(
                c,
                Segments {
                    starts,
                    dim,
                    vectors,
                },
            );
        }
        Ok(())
    }
}
