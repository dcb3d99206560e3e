//! The `earmark` binary: with no subcommand it opens the desktop window; subcommands run the same
//! work headless (see `earmark --help`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
