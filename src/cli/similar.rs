//! `earmark similar FILE`: the library's files most similar to an indexed file, to a time region
//! of it, or to any audio file outside the library.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use earmark::library::analyse::{Budget, analyse_file};
use earmark::library::model_id::hash_file;
use earmark::library::playlist::{PlaylistEntry, write_m3u};
use earmark::library::query::Candidate;
use earmark::search::region::{RegionHit, region_query, region_search};
use earmark::search::{ClipIndex, Filter};

use super::library_args::{LibraryArg, ModelArg};

/// Arguments of `earmark similar`.
#[derive(clap::Args, Debug)]
pub struct SimilarArgs {
    /// The query: a file of the library, or any audio file.
    file: PathBuf,
    /// Start of a region of the query, in seconds (region search over segments).
    #[arg(long, requires = "end")]
    start: Option<f32>,
    /// End of the region, in seconds.
    #[arg(long, requires = "start")]
    end: Option<f32>,
    /// Number of results.
    #[arg(short, default_value_t = 10)]
    k: usize,
    /// Only files under this folder.
    #[arg(long)]
    folder: Option<PathBuf>,
    /// Only files with this tag.
    #[arg(long)]
    tag: Option<String>,
    /// Shortest duration in seconds.
    #[arg(long)]
    min_duration: Option<f64>,
    /// Longest duration in seconds.
    #[arg(long)]
    max_duration: Option<f64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also write the results as an M3U playlist (best first).
    #[arg(long, value_name = "OUT.m3u")]
    m3u: Option<PathBuf>,
    #[command(flatten)]
    library: LibraryArg,
    #[command(flatten)]
    model: ModelArg,
}

/// Runs the query and prints the results.
pub fn run(args: &SimilarArgs) -> anyhow::Result<ExitCode> {
    let lib = args.library.open()?;
    let (model_id, dim) = args.model.model_id(&lib)?;
    let query_path = args
        .file
        .canonicalize()
        .with_context(|| format!("{}", args.file.display()))?;
    let mut filter = Filter {
        folder: match &args.folder {
            Some(f) => Some(f.canonicalize()?.to_string_lossy().into_owned()),
            None => None,
        },
        min_duration_s: args.min_duration,
        max_duration_s: args.max_duration,
        ..Filter::default()
    };
    if let Some(tag) = &args.tag {
        filter.only_ids = Some(
            lib.files_with_tag(tag, 0.0)?
                .into_iter()
                .collect::<HashSet<_>>(),
        );
    }
    let indexed = lib
        .file_by_path(&query_path.to_string_lossy())?
        .and_then(|(id, fp)| match lib.clip_vector(id, model_id) {
            Ok(Some(v)) => Some(Ok((id, fp, v))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
        .transpose()?;
    let (clip, segments) = match indexed {
        Some((id, fp, clip)) => {
            filter.exclude_fingerprint = Some(fp);
            (clip, lib.segments(id, model_id)?.unwrap_or_default())
        }
        None => {
            filter.exclude_fingerprint = Some(hash_file(&query_path)?);
            let active = args.model.load(&lib)?;
            analyse_file(&active.encoder, &active.identity, &query_path, Budget::Full)?
        }
    };
    if let (Some(start), Some(end)) = (args.start, args.end) {
        let q = region_query(&segments, start, end)?;
        let hits = region_search(&lib, model_id, &q, args.k, &filter)?;
        print_region(&hits, args.json);
        write_playlist(args, hits.iter().map(|h| &h.hit.candidate))?;
    } else {
        let index = ClipIndex::load(&lib, model_id, dim)?;
        let hits = index.top_k(&clip, args.k, &filter)?;
        for (rank, h) in hits.iter().enumerate() {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"rank": rank + 1, "score": h.score, "path": h.candidate.path})
                );
            } else {
                println!("{:>3}  {:.4}  {}", rank + 1, h.score, h.candidate.path);
            }
        }
        write_playlist(args, hits.iter().map(|h| &h.candidate))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `--m3u` when asked.
fn write_playlist<'a>(
    args: &SimilarArgs,
    hits: impl Iterator<Item = &'a Candidate>,
) -> anyhow::Result<()> {
    if let Some(out) = &args.m3u {
        let entries: Vec<PlaylistEntry> = hits
            .map(|c| PlaylistEntry::new(&c.path, Some(c.duration_s), None, None))
            .collect();
        write_m3u(out, &entries).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

fn print_region(hits: &[RegionHit], json: bool) {
    for (rank, h) in hits.iter().enumerate() {
        if json {
            println!(
                "{}",
                serde_json::json!({"rank": rank + 1, "score": h.hit.score,
                    "path": h.hit.candidate.path, "at_s": h.at_s})
            );
        } else {
            println!(
                "{:>3}  {:.4}  {:>8.2}s  {}",
                rank + 1,
                h.hit.score,
                h.at_s,
                h.hit.candidate.path
            );
        }
    }
}
