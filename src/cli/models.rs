//! `earmark models convert X.pt Y.safetensors` and `earmark models inspect FILE`.

use std::path::PathBuf;

use earmark::model::{EncoderConfig, WeightFile, load};

/// Arguments of `earmark models`.
#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// `earmark models` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Convert a checkpoint (.pt or .safetensors) to safetensors with its description embedded;
    /// training-only entries are dropped, head tensors kept.
    Convert {
        /// Source checkpoint.
        src: PathBuf,
        /// Destination .safetensors file.
        dst: PathBuf,
        /// Configuration preset (vit-base, vit-base-audioset, small, tiny) when the source has no
        /// description and is not the official ViT-B.
        #[arg(long)]
        preset: Option<String>,
    },
    /// Print a weight file's format, configuration and tensors.
    Inspect {
        /// Weight file.
        file: PathBuf,
    },
}

/// Runs `earmark models`.
pub fn run(args: &ModelsArgs) -> anyhow::Result<()> {
    match &args.command {
        ModelsCommand::Convert { src, dst, preset } => {
            let cfg = preset.as_deref().map(EncoderConfig::preset).transpose()?;
            let cfg = load::convert(src, dst, cfg.as_ref())?;
            println!(
                "wrote {} ({}-d, {} blocks, {} heads, n_t {})",
                dst.display(),
                cfg.embed_dim,
                cfg.depth,
                cfg.num_heads,
                cfg.n_t
            );
        }
        ModelsCommand::Inspect { file } => {
            let f = WeightFile::open(file)?;
            println!("{}: {:?}", file.display(), f.format());
            match load::resolve_config(&f) {
                Ok(c) => println!("encoder: {c:?}"),
                Err(e) => println!("encoder: {e}"),
            }
            for name in f.tensor_names() {
                println!("  {name} {:?}", f.shape(&name).unwrap_or_default());
            }
            for name in f.non_tensor_names() {
                println!("  {name} (not a tensor)");
            }
        }
    }
    Ok(())
}
