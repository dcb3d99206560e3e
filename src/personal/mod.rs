//! Personal tags on the library, end to end: the user marks a few files (or regions of them) as
//! examples of a tag, Earmark fits a calibrated classifier on their embeddings, tags every
//! analysed file with it, and offers a review list whose answers become new examples.
//!
//! - [`examples`]: embedding region examples so a refit can use them;
//! - [`refit`](mod@refit): fitting a tag on its examples and storing its predictions;
//! - [`review`](mod@review): the review list and its answers.
//!
//! The classifier itself is [`crate::tags::classifier`] (plain numbers in, probabilities out);
//! the stored rows — examples, classifiers, predictions — are kept by the library
//! ([`crate::library::examples`]), which this module reads and writes only through its typed
//! functions. Everything a caller needs is re-exported here.
//!
//! ```no_run
//! # fn main() -> earmark::Result<()> {
//! use earmark::library::Library;
//! use earmark::personal::{ExampleSource, ReviewOrder, TagOptions, refit, review};
//! let mut lib = Library::open("library.db".as_ref())?;
//! # let (file_id, model_id) = (1, 1);
//! lib.add_example("warm", file_id, None, true, ExampleSource::Manual)?;
//! let report = refit(&mut lib, model_id, "warm", &TagOptions::default())?;
//! println!("{} files carry `warm`", report.tagged);
//! for item in review(&mut lib, model_id, "warm", 10, ReviewOrder::Uncertain, &TagOptions::default())? {
//!     println!("{:.2} {}", item.probability, item.path);
//! }
//! # Ok(()) }
//! ```

pub mod examples;
pub mod refit;
pub mod review;

pub use crate::library::examples::{
    Example, ExampleSource, PERSONAL_SOURCE, Region, TagCounts, TaggedFile, check_label,
};
pub use crate::tags::classifier::{TagClassifier, TagOptions};
pub use examples::{RegionFailure, embed_missing_regions};
pub use refit::{
    BACKGROUND_MAX, BACKGROUND_WEIGHT, RefitReport, TAG_THRESHOLD, apply_fitted, refit,
};
pub use review::{ReviewItem, ReviewOrder, answer, review, unanswer};
