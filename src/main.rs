//! The `earmark` binary: command-line front end; with no subcommand it opens the desktop window.

fn main() {
    println!("earmark");
}
