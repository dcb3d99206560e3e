//! Tags from embeddings: the official heads ([`probe`]), class vocabularies ([`vocab`]), top-k,
//! and the classifier of a personal tag fitted on labelled embeddings ([`classifier`], solved by
//! [`logistic`]). Personal tags on the library (examples, refits, the review list) are
//! [`crate::personal`].
//!
//! ```no_run
//! # fn main() -> earmark::Result<()> {
//! use earmark::{model::{Encoder, embed}, tags::{Head, Vocabulary, top_k, format_label}};
//! # let mel = earmark::dsp::LogMel { data: vec![0.0; 80 * 100], frames: 100 };
//! let encoder = Encoder::load("enc.pt".as_ref(), &candle_core::Device::Cpu)?;
//! let head = Head::load("esc50.pth".as_ref())?;
//! let vocab = Vocabulary::load("esc50_mapping.json".as_ref())?;
//! let clip = embed(&encoder, &mel, &head.embed_options())?.clip_vector();
//! for (i, p) in top_k(&head.probabilities(&clip)?, 5) {
//!     println!("{}", format_label(&vocab.labels[i], p));
//! }
//! # Ok(()) }
//! ```

pub mod classifier;
pub mod logistic;
pub mod probe;
pub mod vocab;

pub use classifier::{TagClassifier, TagOptions, Training};
pub use probe::Head;
pub use vocab::Vocabulary;

/// The `k` largest probabilities as `(class, probability)`, highest first; ties keep the lower
/// class index first (as a stable descending sort does).
pub fn top_k(probs: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.into_iter().take(k).map(|i| (i, probs[i])).collect()
}

/// The reference's label format: `"<name> (<p with 2 decimals>)"`.
pub fn format_label(name: &str, p: f32) -> String {
    format!("{name} ({p:.2})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_formats() {
        let got = top_k(&[0.1, 0.5, 0.1, 0.3], 3);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1, 3, 0]);
        assert_eq!(format_label("dog", 0.526), "dog (0.53)");
    }
}
