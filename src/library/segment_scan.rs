//! Every analysed file's segment embeddings under one model, read in a single pass: what a
//! search by time region compares its query with. Files a filter rejects are skipped before
//! their blobs are decoded.

use rusqlite::params;

use super::Library;
use super::db::sql;
use super::query::Candidate;
use super::vectors::{Segments, f16_values, f32_values};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::FileMeta;
    use crate::library::model_id::ModelIdentity;
    use crate::model::EncoderConfig;

    #[test]
    fn every_analysed_live_file_the_filter_wants_comes_with_its_segments() {
        let mut lib = Library::in_memory().unwrap();
        let root = lib.ensure_root("/lib").unwrap();
        let cfg = EncoderConfig::vit_base();
        let model = lib
            .ensure_model(&ModelIdentity::new("w", "m", &cfg).unwrap())
            .unwrap();
        let segments = Segments {
            starts: vec![0.0, 2.5],
            dim: 2,
            vectors: vec![1.0, 0.0, 0.0, 0.5],
        };
        let mut analysed = |path: &str| {
            let id = lib.insert_pending(root, path, 1, 0, path).unwrap();
            let meta = FileMeta {
                duration_s: 4.0,
                ..FileMeta::default()
            };
            lib.store_analysis(id, model, &meta, "full", &[1.0, 0.0], None, &segments, None)
                .unwrap();
            id
        };
        let a = analysed("/lib/a.wav");
        let skipped = analysed("/lib/skipped.wav");
        let gone = analysed("/lib/gone.wav");
        lib.bury_file(gone).unwrap();
        lib.insert_pending(root, "/lib/pending.wav", 1, 0, "p")
            .unwrap();

        let mut asked = Vec::new();
        let mut seen = Vec::new();
        lib.for_each_segments(
            model,
            |c| {
                asked.push(c.file_id);
                c.file_id != skipped
            },
            |c, s| seen.push((c, s)),
        )
        .unwrap();
        asked.sort_unstable();
        assert_eq!(
            asked,
            vec![a, skipped],
            "pending and removed files are not read"
        );
        assert_eq!(seen.len(), 1);
        let (c, s) = &seen[0];
        assert_eq!(
            (c.file_id, c.path.as_str(), c.duration_s),
            (a, "/lib/a.wav", 4.0)
        );
        assert_eq!(s, &segments, "starts, width and vectors as stored");
        assert!(
            lib.for_each_segments(model + 1, |_| true, |_, _| panic!())
                .is_ok()
        );
    }
}
