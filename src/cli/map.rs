//! `earmark map`: compute the 2-D layout of the library (the map view) as a job and store it;
//! `--print` writes the stored points as CSV.

use std::process::ExitCode;

use earmark::jobs::{JobEvent, JobQueue};
use earmark::search::map::{MapOptions, compute_map};

use super::library_args::{LibraryArg, ModelArg};

/// Arguments of `earmark map`.
#[derive(clap::Args, Debug)]
pub struct MapArgs {
    #[command(flatten)]
    library: LibraryArg,
    #[command(flatten)]
    model: ModelArg,
    /// t-SNE perplexity.
    #[arg(long, default_value_t = 30.0)]
    perplexity: f32,
    /// t-SNE iterations.
    #[arg(long, default_value_t = 1000)]
    epochs: usize,
    /// After computing, print `path,x,y` for every point.
    #[arg(long)]
    print: bool,
}

/// Runs the map job and reports its end.
pub fn run(args: &MapArgs) -> anyhow::Result<ExitCode> {
    let mut lib = args.library.open()?;
    let (model_id, dim) = args.model.model_id(&lib)?;
    let opts = MapOptions {
        perplexity: args.perplexity,
        epochs: args.epochs,
        ..MapOptions::default()
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    let queue = JobQueue::new()?;
    let handle = queue.submit("map", move |ctx| {
        let n = compute_map(&mut lib, model_id, dim, &opts, ctx)?;
        let _ = tx.send(lib);
        Ok(format!("{n} files laid out"))
    })?;
    let mut code = ExitCode::SUCCESS;
    for event in handle.events.iter() {
        match event {
            JobEvent::Note(n) => eprintln!("{n}"),
            JobEvent::Done { summary } => eprintln!("{summary}"),
            JobEvent::Failed { reason } => {
                eprintln!("earmark: map failed: {reason}");
                code = ExitCode::FAILURE;
            }
            JobEvent::Cancelled => code = ExitCode::FAILURE,
            _ => {}
        }
    }
    if let (true, Ok(lib)) = (args.print, rx.try_recv()) {
        let paths: std::collections::HashMap<i64, String> = lib
            .all_known_files()?
            .into_iter()
            .map(|k| (k.id, k.path))
            .collect();
        println!("path,x,y");
        for (id, x, y) in lib.map_points(model_id)? {
            let path = paths.get(&id).map_or("", String::as_str);
            println!("\"{}\",{x},{y}", path.replace('"', "\"\""));
        }
    }
    Ok(code)
}
