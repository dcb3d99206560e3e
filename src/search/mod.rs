//! Similarity search over the library's embeddings.
//!
//! - [`index`]: exact cosine top-k over clip vectors held in memory as f16 (the stored values),
//!   with filters and exclusion of the query and its exact duplicates;
//! - [`region`]: search by a time region of a file, over segment embeddings;
//! - [`map`]: the 2-D layout of the library for the map view (PCA, then t-SNE).

pub mod index;
pub mod map;
pub mod region;

pub use index::{ClipIndex, Filter, Hit};
