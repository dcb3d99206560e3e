//! `earmark generate`: the manual pages and completions the packages ship come from the live
//! command definition (every visible subcommand gets a page; the hidden packaging command none),
//! and `--version` keeps naming the build's features and devices.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::process::Command;

fn earmark(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "earmark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn visible_subcommands() -> Vec<String> {
    // The "Commands:" block of `earmark --help`: two-space indent, name, description.
    let help = earmark(&["--help"]);
    let block = help.split("Commands:").nth(1).unwrap();
    block
        .lines()
        .skip(1) // the rest of the "Commands:" line
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect()
}

#[test]
fn manual_pages_cover_every_visible_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let printed = earmark(&["generate", "man", dir.path().to_str().unwrap()]);
    let subcommands = visible_subcommands();
    assert!(subcommands.len() >= 5, "help lists {subcommands:?}");
    assert!(!subcommands.contains(&"generate".to_string()));

    let top = std::fs::read_to_string(dir.path().join("earmark.1")).unwrap();
    let version = earmark(&["--version"]);
    assert!(
        top.contains(&format!(".TH earmark 1  \"{}\"", version.trim())),
        "{top}"
    );
    for sub in &subcommands {
        let page = dir.path().join(format!("earmark-{sub}.1"));
        let text = std::fs::read_to_string(&page)
            .unwrap_or_else(|e| panic!("no page for `earmark {sub}` ({e})"));
        assert!(text.contains(&format!(".TH earmark-{sub} 1")), "{text}");
        assert!(text.contains(version.trim()), "{sub}: {text}");
        // The synopsis shows the command as typed, and the top page links the sub-page.
        assert!(text.contains(&format!("earmark {sub}")), "{text}");
        assert!(
            top.contains(&format!("earmark\\-{sub}(1)")),
            "earmark.1 lacks {sub}"
        );
        assert!(printed.contains(page.to_str().unwrap()));
    }
    assert!(!dir.path().join("earmark-generate.1").exists());
}

#[test]
fn completions_name_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let subcommands = visible_subcommands();
    for (shell, file) in [
        ("bash", "earmark.bash"),
        ("zsh", "_earmark"),
        ("fish", "earmark.fish"),
    ] {
        let printed = earmark(&[
            "generate",
            "completions",
            shell,
            dir.path().to_str().unwrap(),
        ]);
        let path = dir.path().join(file);
        assert_eq!(printed.trim(), path.to_str().unwrap());
        let script = std::fs::read_to_string(&path).unwrap();
        for sub in &subcommands {
            assert!(script.contains(sub.as_str()), "{shell} script lacks {sub}");
        }
    }
}

#[test]
fn unknown_shell_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(["generate", "completions", "tcsh"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn version_names_features_and_devices() {
    let version = earmark(&["--version"]);
    let line = version.trim();
    assert!(
        line.starts_with(&format!(
            "earmark {} (features: ",
            env!("CARGO_PKG_VERSION")
        )),
        "{line}"
    );
    assert!(line.contains("; devices: cpu"), "{line}");
    assert!(line.ends_with(')'), "{line}");
    assert_eq!(line.contains("gui"), cfg!(feature = "gui"), "{line}");
}
