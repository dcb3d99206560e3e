//! Stored vectors: clip vectors, tag vectors and segment embeddings as f16 blobs (segment start
//! times as f32), and the queries that read one file's vectors back.

use rusqlite::OptionalExtension;

use super::Library;
use super::db::sql;
use crate::error::Result;

/// Segment embeddings of one file: `starts[i]` seconds, vector `i` at `vectors[i·dim..]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segments {
    /// Start time of each segment in seconds.
    pub starts: Vec<f32>,
    /// Values per segment.
    pub dim: usize,
    /// All vectors, segment-major.
    pub vectors: Vec<f32>,
}

impl Segments {
    /// Number of segments.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Segment `i`'s vector.
    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// One segment at 0 s: a clip shorter than one tag window is scored whole in its timeline,
    /// from its tag vector, as its clip tags are.
    pub fn single(vector: Vec<f32>) -> Self {
        Segments {
            starts: vec![0.0],
            dim: vector.len(),
            vectors: vector,
        }
    }
}

/// Which per-file vector of `clip_embeddings` to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipColumn {
    /// The clip vector: what search, the map and personal tags compare.
    Clip,
    /// What tag heads score: the clip vector, or a short clip's with silence after it.
    Tag,
}

impl ClipColumn {
    /// The SQL expression of the vector in a row of `clip_embeddings` (no other table of a
    /// query that joins it may have these column names).
    pub(crate) fn sql(self) -> &'static str {
        match self {
            ClipColumn::Clip => "vector",
            ClipColumn::Tag => "coalesce(tag_vector, vector)",
        }
    }

    /// What reading it is called in errors.
    pub(crate) fn reading(self) -> &'static str {
        match self {
            ClipColumn::Clip => "reading a clip embedding",
            ClipColumn::Tag => "reading a tag vector",
        }
    }
}

/// Encodes f32 values as little-endian f16 bytes.
pub fn f16_blob(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect()
}

/// Decodes little-endian f16 bytes into f32 values.
pub fn f16_values(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}

pub(crate) fn f32_blob(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(crate) fn f32_values(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Library {
    /// The clip vector of `file_id` under `model_id`, if analysed.
    pub fn clip_vector(&self, file_id: i64, model_id: i64) -> Result<Option<Vec<f32>>> {
        self.stored_vector(file_id, model_id, ClipColumn::Clip)
    }

    /// What tag heads score `file_id` from under `model_id`, if analysed: the clip vector, or
    /// for a short clip the vector of the clip heard with silence after it.
    pub fn tag_vector(&self, file_id: i64, model_id: i64) -> Result<Option<Vec<f32>>> {
        self.stored_vector(file_id, model_id, ClipColumn::Tag)
    }

    /// Whether `file_id`'s tag vector under `model_id` is a short clip's own (the clip heard
    /// with silence after it) rather than its clip vector.
    pub fn is_short_clip(&self, file_id: i64, model_id: i64) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT tag_vector IS NOT NULL FROM clip_embeddings
                 WHERE file_id = ?1 AND model_id = ?2",
                [file_id, model_id],
                |r| r.get::<_, bool>(0),
            )
            .optional()
            .map_err(sql("reading a tag vector"))
            .map(|short| short.unwrap_or(false))
    }

    fn stored_vector(
        &self,
        file_id: i64,
        model_id: i64,
        column: ClipColumn,
    ) -> Result<Option<Vec<f32>>> {
        let query = format!(
            "SELECT {} FROM clip_embeddings WHERE file_id = ?1 AND model_id = ?2",
            column.sql()
        );
        self.conn
            .query_row(&query, [file_id, model_id], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(sql(column.reading()))
            .map(|b| b.map(|b| f16_values(&b)))
    }

    /// The segment embeddings of `file_id` under `model_id`, if analysed.
    pub fn segments(&self, file_id: i64, model_id: i64) -> Result<Option<Segments>> {
        let row = self
            .conn
            .query_row(
                "SELECT starts, vectors FROM segment_embeddings WHERE file_id = ?1 AND model_id = ?2",
                [file_id, model_id],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()
            .map_err(sql("reading segment embeddings"))?;
        Ok(row.map(|(s, v)| {
            let starts = f32_values(&s);
            let vectors = f16_values(&v);
            let dim = if starts.is_empty() {
                0
            } else {
                vectors.len() / starts.len()
            };
            Segments {
                starts,
                dim,
                vectors,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_blobs_round_trip_within_half_precision() {
        let v = [0.0f32, 1.0, -0.333, 1234.5, 1e-3];
        let back = f16_values(&f16_blob(&v));
        for (a, b) in v.iter().zip(&back) {
            assert!((a - b).abs() <= a.abs() * 1e-3 + 1e-6, "{a} vs {b}");
        }
    }
}
