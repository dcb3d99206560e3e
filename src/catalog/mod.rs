//! The official model files and how they get here: the catalog ([`manifest`], from
//! `models/catalog.toml`), HTTP downloads that resume and can be cancelled ([`fetch`]), checks
//! before anything replaces a file ([`verify`]), installation by kind ([`install`]), the probe
//! archive ([`archive`]) and the model files already on disk ([`installed`]).
//!
//! ```no_run
//! # fn main() -> earmark::Result<()> {
//! use std::sync::atomic::AtomicBool;
//! use earmark::catalog::{Catalog, Fetcher, FetchOptions, Installer};
//! let catalog = Catalog::load(None)?;
//! let dir = earmark::config::models_dir().expect("a data directory");
//! let installer = Installer::new(&catalog, dir, Fetcher::new(FetchOptions::default()));
//! let report = installer.install("matpac", &AtomicBool::new(false), &mut |p| {
//!     eprintln!("{}", earmark::catalog::describe_transfer(p));
//! })?;
//! println!("installed {}", report.path.display());
//! # Ok(()) }
//! ```

pub mod archive;
pub mod fetch;
pub mod install;
pub mod installed;
pub mod manifest;
pub mod verify;

use crate::jobs::format_duration;

pub use fetch::{FetchOptions, Fetcher, TransferProgress};
pub use install::{EntryStatus, InstallReport, Installer, entry_path, head_vocabulary, status};
pub use manifest::{Catalog, CatalogEntry, EntryKind, RunConfig};

/// "12.3 MB of 341.6 MB · 5.2 MB/s · 1 m 05 s left" (parts that are not known yet are left out).
pub fn describe_transfer(p: &TransferProgress) -> String {
    use installed::format_size;
    let mut s = match p.total {
        Some(t) => format!("{}: {} of {}", p.file, format_size(p.done), format_size(t)),
        None => format!("{}: {}", p.file, format_size(p.done)),
    };
    if p.bytes_per_sec > 0.0 {
        s.push_str(&format!(" · {}/s", format_size(p.bytes_per_sec as u64)));
    }
    if let Some(eta) = p.eta {
        s.push_str(&format!(" · {} left", format_duration(eta)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn transfer_lines_read_well() {
        let p = TransferProgress {
            file: "m.pt".into(),
            done: 12_300_000,
            total: Some(341_600_000),
            bytes_per_sec: 5_200_000.0,
            eta: Some(Duration::from_secs(65)),
        };
        assert_eq!(
            describe_transfer(&p),
            "m.pt: 12.3 MB of 341.6 MB · 5.2 MB/s · 1 m 05 s left"
        );
        let unknown = TransferProgress {
            total: None,
            bytes_per_sec: 0.0,
            eta: None,
            ..p
        };
        assert_eq!(describe_transfer(&unknown), "m.pt: 12.3 MB");
    }
}
