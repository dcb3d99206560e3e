//! The old place of [`crate::gui::shared::active_model`], re-exported while the features move
//! over (issue #18): new code imports `crate::gui::shared::active_model`.

pub use crate::gui::shared::active_model::*;
