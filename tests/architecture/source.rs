//! Reading the crate's source for tests/architecture.rs: comments stripped, the files each
//! file imports (as `/work/shared/tools/modcycles.py` resolves them), the cycles among them, and
//! what counts as SQL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module of the crate: its path below `src/` (`["gpu", "encoder"]`; `[]` is the root).
pub type Module = Vec<String>;

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The code without comments (doc comments included); strings and line breaks are kept, so
/// positions keep their line numbers.
pub fn strip_comments(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let at = |i: usize| b.get(i).copied();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '/' && at(i + 1) == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && at(i + 1) == Some('*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && at(i + 1) == Some('/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
            out.push(' ');
        } else if let Some(end) = raw_string_end(&b, i) {
            out.extend(&b[i..end]);
            i = end;
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != '"' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.extend(&b[start..i]);
        } else if c == '\'' && at(i + 1) == Some('\\') {
            // An escaped character literal: '\n', '\'', '\u{…}'.
            let start = i;
            i += 3;
            while i < b.len() && b[i] != '\'' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.extend(&b[start..i]);
        } else if c == '\'' && at(i + 2) == Some('\'') {
            out.extend(&b[i..i + 3]);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where the raw string literal (`r"…"`, `r#"…"#`, `br"…"`) starting at `i` ends, if one does.
fn raw_string_end(b: &[char], i: usize) -> Option<usize> {
    if b[i] != 'r' {
        return None;
    }
    let word_before = |j: usize| j > 0 && is_word(b[j - 1]);
    let prefixed = word_before(i) && matches!(b[i - 1], 'b' | 'c') && !word_before(i - 1);
    if word_before(i) && !prefixed {
        return None;
    }
    let mut j = i + 1;
    while b.get(j) == Some(&'#') {
        j += 1;
    }
    if b.get(j) != Some(&'"') {
        return None;
    }
    let hashes = j - i - 1;
    j += 1;
    while j < b.len() {
        if b[j] == '"'
            && b[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(b.len())
}

/// The code before the file's `#[cfg(test)] mod tests`.
fn without_tests(code: &str) -> &str {
    let mut from = 0;
    while let Some(k) = code[from..].find("#[cfg(test)]") {
        let at = from + k;
        let rest = code[at + "#[cfg(test)]".len()..].trim_start();
        if let Some(after) = rest.strip_prefix("mod")
            && after.starts_with(char::is_whitespace)
            && after.trim_start().starts_with("tests")
        {
            return &code[..at];
        }
        from = at + 1;
    }
    code
}

/// Whether `word` starts at byte `at` of `code` as a whole word (no word character before).
fn word_starts(code: &str, at: usize) -> bool {
    !code[..at].chars().next_back().is_some_and(is_word)
}

/// `crate::a::{b, c::{d, e}}` → `crate::a::b`, `crate::a::c::d`, `crate::a::c::e`.
fn expand(u: &str) -> Vec<String> {
    let u = u.trim();
    let Some(open) = u.find("::{").filter(|_| u.ends_with('}')) else {
        return vec![u.to_string()];
    };
    let (head, body) = (&u[..open], &u[open + 3..u.len() - 1]);
    let mut parts = vec![String::new()];
    let mut depth = 0;
    for ch in body.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(ch);
        }
    }
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(&format!("{head}::{}", p.trim())))
        .collect()
}

/// The paths a file's code names: its `use` trees (expanded) and every `crate::`, `super::` or
/// `self::` path.
fn named_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("use") {
        let rest = &code[at + 3..];
        let tree = rest.trim_start();
        if !word_starts(code, at) || tree.len() == rest.len() {
            continue;
        }
        let rooted = ["crate::", "super::", "self::"]
            .iter()
            .any(|r| tree.starts_with(r));
        if let (true, Some(end)) = (rooted, tree.find(';')) {
            out.extend(expand(&tree[..end]));
        }
    }
    for root in ["crate", "super", "self"] {
        for (at, _) in code.match_indices(root) {
            if !word_starts(code, at) {
                continue;
            }
            let mut end = at + root.len();
            while let Some(seg) = code[end..].strip_prefix("::") {
                let len: usize = seg
                    .chars()
                    .take_while(|&c| is_word(c))
                    .map(char::len_utf8)
                    .sum();
                if len == 0 {
                    break;
                }
                end += 2 + len;
            }
            if end > at + root.len() {
                out.push(code[at..end].to_string());
            }
        }
    }
    out
}

/// The files of the crate, by module, with their source.
pub struct Crate {
    /// Each file's path below `src/` and source, by module.
    pub files: BTreeMap<Module, (String, String)>,
}

impl Crate {
    /// Every `.rs` file under `root`.
    pub fn read(root: &Path) -> Crate {
        let mut sources = BTreeMap::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let rel = path.strip_prefix(root).unwrap();
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    sources.insert(rel, std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        Crate::from_sources(sources)
    }

    /// Files given as `(path below src/, source)`.
    pub fn from_sources(sources: BTreeMap<String, String>) -> Crate {
        let mut files = BTreeMap::new();
        for (rel, src) in sources {
            let mut module: Module = rel
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_string)
                .collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                module.clear();
            }
            files.insert(module, (rel, src));
        }
        Crate { files }
    }

    /// The deepest file a path names.
    fn resolve(&self, parts: &[String]) -> Option<Module> {
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].to_vec())
            .find(|m| self.files.contains_key(m))
    }

    /// Which files each file imports.
    pub fn imports(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut edges = BTreeMap::new();
        for (module, (rel, src)) in &self.files {
            let is_dir_mod = ["mod.rs", "lib.rs", "main.rs"]
                .iter()
                .any(|f| rel == f || rel.ends_with(&format!("/{f}")));
            let code = strip_comments(src);
            let mut targets = BTreeSet::new();
            for path in named_paths(without_tests(&code)) {
                let mut parts: Vec<String> = path
                    .split("::")
                    .filter(|s| !s.is_empty() && *s != "self")
                    .map(str::to_string)
                    .collect();
                if parts.is_empty() {
                    continue;
                }
                if parts[0] == "crate" {
                    parts.remove(0);
                } else if parts[0] == "super" {
                    let mut base = module.clone();
                    while parts.first().is_some_and(|p| p == "super") {
                        base.pop();
                        parts.remove(0);
                    }
                    base.extend(parts);
                    parts = base;
                } else {
                    let mut base = module.clone();
                    base.extend(parts);
                    parts = base;
                }
                let parts: Vec<String> = parts
                    .iter()
                    .map(|p| p.chars().filter(|&c| is_word(c)).collect())
                    .collect();
                let Some(target) = self.resolve(&parts) else {
                    continue;
                };
                let own_child =
                    is_dir_mod && target.len() > module.len() && target.starts_with(module);
                if target != *module && !target.is_empty() && !own_child {
                    targets.insert(target);
                }
            }
            edges.insert(module.clone(), targets);
        }
        edges
    }
}

/// The strongly connected components of more than one node (Tarjan), each sorted.
pub fn cycles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct Walk<'a, N> {
        edges: &'a BTreeMap<N, BTreeSet<N>>,
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on_stack: BTreeSet<N>,
        found: Vec<Vec<N>>,
    }
    impl<N: Ord + Clone> Walk<'_, N> {
        fn visit(&mut self, v: &N) {
            let n = self.index.len();
            self.index.insert(v.clone(), n);
            self.low.insert(v.clone(), n);
            self.stack.push(v.clone());
            self.on_stack.insert(v.clone());
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v.clone(), low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v.clone(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(&w);
                    let done = w == *v;
                    component.push(w);
                    if done {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found.sort_by_key(|c| std::cmp::Reverse(c.len()));
    walk.found
}
/// Why a file's code counts as SQL: one line per finding, with its line number.
pub fn sql_findings(src: &str) -> Vec<String> {
    let code = strip_comments(src);
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    for (at, _) in code.match_indices("rusqlite") {
        if word_starts(&code, at) {
            found.push(format!("line {}: names rusqlite", line_of(at)));
        }
    }
    for call in [
        ".execute(",
        ".execute_batch(",
        ".prepare(",
        ".prepare_cached(",
        ".query_row(",
        ".query_map(",
    ] {
        for (at, _) in code.match_indices(call) {
            found.push(format!("line {}: calls {call}", line_of(at)));
        }
    }
    // Statements: upper-case SQL words in order, a few words apart at most.
    let mut words: Vec<(usize, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in code.char_indices().chain([(code.len(), ' ')]) {
        if is_word(c) {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            words.push((s, &code[s..i]));
        }
    }
    for (i, &(at, w)) in words.iter().enumerate() {
        let (second, within) = match w {
            "SELECT" => ("FROM", 60),
            "INSERT" => ("INTO", 3),
            "UPDATE" => ("SET", 3),
            "DELETE" => ("FROM", 1),
            _ => continue,
        };
        if words[i + 1..]
            .iter()
            .take(within)
            .any(|&(_, x)| x == second)
        {
            found.push(format!("line {}: {w} … {second}", line_of(at)));
        }
    }
    found
}
