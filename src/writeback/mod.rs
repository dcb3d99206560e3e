//! Writing the library's tags into the audio files themselves, safely: a plan first (what each
//! chosen field holds now and what it would hold), then atomic writes logged in an undo journal,
//! and an undo that restores every file byte for byte.
//!
//! - [`fields`]: which tag fields exist ([`Field`]), where their labels come from ([`FieldSpec`])
//!   and what to do with a field that already has a value ([`Policy`]);
//! - [`formats`]: reading and setting those fields in ID3v2 (MP3; an ID3v2 chunk in WAV and
//!   AIFF, and RIFF INFO for a WAV's genre), Vorbis comments (FLAC, Ogg Vorbis, Opus) and MP4
//!   atoms (M4A) with `lofty`;
//! - [`iff`]: the check that writing a WAV or AIFF tag left every other chunk as it was;
//! - [`plan`]: the per-file diff, computed without touching anything (the dry run);
//! - [`apply`]: carrying a plan out, file by file, each write atomic and journalled first;
//! - [`patch`]: the bytes that turn a written file back into its original;
//! - [`journal`]: the undo journals in the data directory;
//! - [`replace`]: replacing a file atomically (stage beside it with its owner and permissions,
//!   sync, rename), and removing the temporaries a killed run left;
//! - [`in_place`]: rewriting a file through its own inode where a rename would break its hard
//!   links or its owner, recoverable from the journal at any point;
//! - [`undo`]: restoring the files of a journal;
//! - [`index`]: keeping the library's size, time and fingerprint of a rewritten file current,
//!   so a rescan does not analyse its (unchanged) audio again.
//!
//! ```no_run
//! # fn main() -> earmark::Result<()> {
//! use earmark::jobs::JobControl;
//! use earmark::writeback::{self, Field, FieldSpec, Selection, WritebackOptions};
//! let mut lib = earmark::library::Library::open("library.sqlite".as_ref())?;
//! let opts = WritebackOptions {
//!     fields: vec![FieldSpec::new(Field::Genre, vec!["personal".into()], 0.5, 2)],
//!     ..WritebackOptions::default()
//! };
//! let control = JobControl::new();
//! let plan = writeback::plan::plan(&lib, &opts, &Selection::All, &mut |_| {}, &control)?;
//! let report = writeback::apply::apply(&mut lib, &plan, &opts, "journals".as_ref(), &mut |_| {}, &control)?;
//! println!("{} written", report.written.len());
//! # Ok(()) }
//! ```

pub mod apply;
pub mod fields;
pub mod formats;
pub mod iff;
pub mod in_place;
pub mod index;
pub mod journal;
pub mod patch;
pub mod plan;
pub mod replace;
pub mod undo;

use std::path::PathBuf;

pub use fields::{Field, FieldSpec, Policy};
pub use formats::TagFormat;
pub use plan::{Action, FieldChange, FilePlan, Plan};

/// Default most bytes of an original file an undo journal may keep for one file. Tag edits need
/// a few kilobytes; a file whose undo would need more is not written.
pub const DEFAULT_MAX_UNDO_BYTES: u64 = 32 << 20;

/// What to write and how.
#[derive(Debug, Clone, PartialEq)]
pub struct WritebackOptions {
    /// The fields to fill, each with its tag sources, threshold and top-N.
    pub fields: Vec<FieldSpec>,
    /// What happens to a field that already holds a value.
    pub policy: Policy,
    /// Write ID3v2.3 instead of ID3v2.4 into MP3 files.
    pub id3v23: bool,
    /// Most bytes of one original file the journal may keep to undo its write.
    pub max_undo_bytes: u64,
}

impl Default for WritebackOptions {
    fn default() -> Self {
        WritebackOptions {
            fields: vec![FieldSpec::default_field()],
            policy: Policy::Keep,
            id3v23: false,
            max_undo_bytes: DEFAULT_MAX_UNDO_BYTES,
        }
    }
}

/// Which library files a plan covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Every analysed file of the library.
    All,
    /// These files, and the library's files under these folders (absolute, canonical paths).
    Paths(Vec<PathBuf>),
}

/// A progress callback that forwards to a job's event sink, for running write-back on the job
/// queue (pass `&ctx.control` as the cancel flag).
pub fn job_progress(ctx: &crate::jobs::JobContext) -> impl FnMut(&crate::jobs::Progress) + '_ {
    move |p| ctx.events.progress(p.clone())
}
