//! Runs a PyTorch reference script beside an Earmark benchmark, so that both sides of a speed
//! comparison come from one run on one machine.
//!
//! The scripts live in the project's shared folder (`shared/perf/…`); they print one line per
//! case of `key=value` fields (`preset=tiny batch=8 threads=2 s/update=0.173`), which
//! [`parse_cases`] reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One printed case: its `key=value` fields, plus a leading bare word under the key `mode`.
pub type Case = HashMap<String, String>;

/// Finds `shared/perf/<name>` in the current folder or one of its ancestors, or beside them
/// (`../shared/perf/<name>` from a checkout next to the shared folder).
pub fn find_script(name: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().find_map(|dir| {
        let candidate = dir.join("shared").join("perf").join(name);
        candidate.is_file().then_some(candidate)
    })
}

/// Runs `python script args…` and returns its cases, or a message that says why there are none
/// (no interpreter, no torch, a failing script), for the caller to print instead of figures.
pub fn run_script(
    python: &Path,
    script: Option<&Path>,
    default_name: &str,
    args: &[String],
) -> Result<Vec<Case>, String> {
    let script = match script
        .map(Path::to_path_buf)
        .or_else(|| find_script(default_name))
    {
        Some(s) => s,
        None => {
            return Err(format!(
                "PyTorch reference not run: shared/perf/{default_name} not found here or above; \
                 give it with --torch-script"
            ));
        }
    };
    let has_torch = Command::new(python)
        .args(["-c", "import torch"])
        .output()
        .map_err(|e| {
            format!(
                "PyTorch reference not run: cannot start {}: {e}",
                python.display()
            )
        })?;
    if !has_torch.status.success() {
        return Err(format!(
            "PyTorch reference not run: {} has no torch module (install it with `{} -m pip install torch`)",
            python.display(),
            python.display()
        ));
    }
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .map_err(|e| format!("PyTorch reference not run: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("no message");
        return Err(format!("PyTorch reference failed ({}): {last}", out.status));
    }
    Ok(parse_cases(&String::from_utf8_lossy(&out.stdout)))
}

/// Reads the lines of `key=value` fields; lines without any are skipped (headers, comments).
pub fn parse_cases(text: &str) -> Vec<Case> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let mut case = Case::new();
            for (i, word) in line.split_whitespace().enumerate() {
                match word.split_once('=') {
                    Some((k, v)) => {
                        case.insert(k.to_owned(), v.to_owned());
                    }
                    None if i == 0 => {
                        case.insert("mode".to_owned(), word.to_owned());
                    }
                    None => {}
                }
            }
            case.keys().any(|k| k != "mode").then_some(case)
        })
        .collect()
}

/// The number under `value_key` of the first case whose fields include every `(key, value)`.
pub fn lookup(cases: &[Case], want: &[(&str, String)], value_key: &str) -> Option<f64> {
    cases
        .iter()
        .find(|c| want.iter().all(|(k, v)| c.get(*k) == Some(v)))
        .and_then(|c| c.get(value_key))
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_scripts_line_formats() {
        let text = "torch 2.5.1 mkldnn=True\n\
                    f32 threads=2 batch=8 s/chunk=0.2980\n\
                    bf16 threads=2 batch=8 s/chunk=0.1270\n\
                    # torch 2.5, f32\n\
                    preset=tiny batch=8 threads=2 s/update=0.173\n";
        let cases = parse_cases(text);
        let vit = |mode: &str| {
            lookup(
                &cases,
                &[
                    ("mode", mode.into()),
                    ("threads", "2".into()),
                    ("batch", "8".into()),
                ],
                "s/chunk",
            )
        };
        assert_eq!(vit("bf16"), Some(0.127));
        assert_eq!(vit("f32"), Some(0.298));
        let train = lookup(
            &cases,
            &[("preset", "tiny".into()), ("batch", "8".into())],
            "s/update",
        );
        assert_eq!(train, Some(0.173));
        assert_eq!(vit("int8"), None);
    }

    #[test]
    fn an_interpreter_without_torch_is_named() {
        let dir = std::env::temp_dir().join(format!("earmark-notorch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let script = dir.join("ref.py");
        std::fs::write(&script, "print('f32 threads=1 batch=1 s/chunk=1')\n").ok();
        // `sh -c 'exit 1'` stands in for a Python that fails `import torch`.
        let fake = dir.join("python");
        std::fs::write(&fake, "#!/bin/sh\nexit 1\n").ok();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).ok();
        }
        let err = run_script(&fake, Some(&script), "ref.py", &[]).err();
        assert!(err.is_some_and(|e| e.contains("has no torch module")));
        let missing = run_script(&dir.join("nope"), Some(&script), "ref.py", &[]).err();
        assert!(missing.is_some_and(|e| e.contains("cannot start")));
        std::fs::remove_dir_all(&dir).ok();
    }
}
