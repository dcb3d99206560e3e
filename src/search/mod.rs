//! Similarity search over the library's embeddings.
//!
//! - [`index`]: cosine top-k over clip vectors held in memory (an 8-bit first pass, then the
//!   exact f16 stored values), with filters and exclusion of the query and its exact duplicates;
//! - [`codes`]: the 8-bit codes and their integer dot product;
//! - [`region`]: search by a time region of a file, over segment embeddings;
//! - [`calibrate`]: readable scores, placed in the query's score distribution over the library;
//! - [`map`]: the 2-D layout of the library for the map view (PCA, then t-SNE).

pub mod calibrate;
pub mod codes;
pub mod index;
pub mod map;
pub mod region;

pub use calibrate::ScoreScale;
pub use index::{ClipIndex, Filter, Hit};
