//! Personal tags on a scanned library of generated sounds (five timbres, eight files each):
//! the review loop — answers become examples and the refit changes the predictions — through
//! the library API and through `earmark tag`, and M3U playlists of a tag and of a similarity
//! result that list exactly the right files.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::WavFormat;
use earmark::library::Library;
use earmark::library::examples::ExampleSource;
use earmark::personal::{self, ReviewOrder};
use earmark::tags::TagOptions;
use synth::{canon, earmark, scan_with_tiny_model, sound, tiny_model, write_stereo};

const KINDS: usize = 5;
const PER_KIND: usize = 8;
/// The kind the review-loop tag stands for: band-passed noise, which the tiny random-weight
/// model ranks imperfectly from two examples, so the answers have something to teach.
const TARGET: usize = 1;

/// Writes the library; returns `(kind, canonical path)` per file.
fn build(root: &Path) -> Vec<(usize, String)> {
    let mut files = Vec::new();
    for kind in 0..KINDS {
        let dir = root.join(format!("kind{kind}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..PER_KIND {
            let p = dir.join(format!("s{i}.wav"));
            let x = sound(kind, 500 + (kind * PER_KIND + i) as u64, 1.7, 44_100);
            write_stereo(&p, &x, WavFormat::S16);
            files.push((kind, canon(&p)));
        }
    }
    files
}

fn scanned() -> (tempfile::TempDir, PathBuf, Vec<(usize, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib");
    let files = build(&root);
    let lib = dir.path().join("index.sqlite");
    scan_with_tiny_model(&root, &lib);
    (dir, lib, files)
}

fn probabilities(lib: &mut Library, model: i64, tag: &str) -> HashMap<String, f64> {
    personal::review(
        lib,
        model,
        tag,
        usize::MAX,
        ReviewOrder::Likely,
        &TagOptions::default(),
    )
    .unwrap()
    .into_iter()
    .map(|r| (r.path, r.probability))
    .collect()
}

#[test]
fn review_answers_become_examples_and_change_predictions() {
    let (_dir, lib_path, files) = scanned();
    let mut lib = Library::open(&lib_path).unwrap();
    let (model, _) = lib.latest_model().unwrap().unwrap();
    let id = |lib: &Library, p: &str| lib.file_by_path(p).unwrap().unwrap().0;
    let kind_of: HashMap<String, usize> = files.iter().map(|(k, p)| (p.clone(), *k)).collect();
    let tag = "hiss";
    for (_, p) in files.iter().filter(|(k, _)| *k == TARGET).take(2) {
        let fid = id(&lib, p);
        lib.add_example(tag, fid, None, true, ExampleSource::Manual)
            .unwrap();
    }
    let first = personal::refit(&mut lib, model, tag, &TagOptions::default()).unwrap();
    assert_eq!((first.positives, first.negatives), (2, 0));
    assert_eq!(first.background, KINDS * PER_KIND - 2);
    let before = probabilities(&mut lib, model, tag);
    assert_eq!(
        before.len(),
        KINDS * PER_KIND - 2,
        "labelled files are not reviewed"
    );

    // Three rounds of answering truthfully the five most likely files, leaving the last two
    // files of each kind out of the answers to measure the ranking on.
    let held_out = |p: &str| p.ends_with("/s6.wav") || p.ends_with("/s7.wav");
    let mut answered = Vec::new();
    for _ in 0..3 {
        let items = personal::review(
            &mut lib,
            model,
            tag,
            usize::MAX,
            ReviewOrder::Likely,
            &TagOptions::default(),
        )
        .unwrap();
        let items: Vec<_> = items
            .into_iter()
            .filter(|i| !held_out(&i.path))
            .take(5)
            .collect();
        assert_eq!(items.len(), 5);
        for item in &items {
            assert!(
                !answered.contains(&item.path),
                "{} was reviewed twice",
                item.path
            );
            let yes = kind_of[&item.path] == TARGET;
            personal::answer(
                &mut lib,
                model,
                tag,
                &[item.file_id],
                yes,
                &TagOptions::default(),
            )
            .unwrap();
            answered.push(item.path.clone());
        }
    }
    let examples = lib.examples(Some(tag)).unwrap();
    assert_eq!(examples.len(), 2 + 15);
    assert_eq!(
        examples
            .iter()
            .filter(|e| e.source == ExampleSource::Review)
            .count(),
        15
    );
    let after = probabilities(&mut lib, model, tag);
    assert_eq!(after.len(), KINDS * PER_KIND - 17);
    let changed = after
        .iter()
        .map(|(p, a)| (a - before[p]).abs())
        .fold(0.0, f64::max);
    assert!(
        changed > 0.01,
        "the refit did not move any prediction ({changed})"
    );

    // Answers are honoured in the stored tags: accepted files carry the tag with score 1,
    // rejected ones not at all.
    let tagged: HashMap<String, f64> = lib
        .tagged_files(tag, 0.0)
        .unwrap()
        .into_iter()
        .map(|t| (t.path, t.score))
        .collect();
    for p in &answered {
        if kind_of[p] == TARGET {
            assert_eq!(tagged.get(p), Some(&1.0), "{p}");
        } else {
            assert!(!tagged.contains_key(p), "rejected {p} still tagged");
        }
    }
    // And the feedback helps: on the held-out files, noise ranks above the other kinds more
    // often than before (share of noise/other pairs in the right order).
    let separation = |probs: &HashMap<String, f64>| {
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        for (p, v) in probs.iter().filter(|(p, _)| held_out(p)) {
            if kind_of[p] == TARGET {
                pos.push(*v)
            } else {
                neg.push(*v)
            }
        }
        assert_eq!((pos.len(), neg.len()), (2, 2 * (KINDS - 1)));
        let wins: usize = pos
            .iter()
            .map(|a| neg.iter().filter(|b| a > *b).count())
            .sum();
        wins as f64 / (pos.len() * neg.len()) as f64
    };
    let (auc_before, auc_after) = (separation(&before), separation(&after));
    eprintln!("held-out noise ranked above others: before {auc_before:.3}, after {auc_after:.3}");
    assert!(auc_after > auc_before, "{auc_before} → {auc_after}");
}

#[test]
fn tag_cli_and_m3u_playlists() {
    let (dir, lib_path, files) = scanned();
    let libarg = lib_path.as_os_str();
    let model = tiny_model();
    let common: [&OsStr; 4] = [
        OsStr::new("--library"),
        libarg,
        OsStr::new("--model"),
        model.as_os_str(),
    ];
    let kind0: Vec<&String> = files
        .iter()
        .filter(|(k, _)| *k == 0)
        .map(|(_, p)| p)
        .collect();
    let kind1: Vec<&String> = files
        .iter()
        .filter(|(k, _)| *k == 1)
        .map(|(_, p)| p)
        .collect();
    let with = |head: &[&str], paths: &[&String]| -> String {
        let mut a: Vec<&OsStr> = head.iter().map(OsStr::new).collect();
        a.extend(paths.iter().map(OsStr::new));
        a.extend(common);
        earmark(&a)
    };
    let out = with(&["tag", "add", "warm"], &kind0[..3]);
    assert!(
        out.contains("3 positive example(s) of `warm` stored"),
        "{out}"
    );
    assert!(out.contains("file(s) carry it"), "{out}");
    let out = with(&["tag", "add", "warm", "--negative"], &kind1[..2]);
    assert!(out.contains("3 positive and 2 negative examples"), "{out}");
    let out = with(&["tag", "reject", "warm"], &kind1[2..3]);
    assert!(out.contains("3 positive and 3 negative examples"), "{out}");
    let out = with(&["tag", "accept", "warm"], &kind0[3..4]);
    assert!(out.contains("4 positive and 3 negative examples"), "{out}");
    // A region example is embedded with the model and counts as a positive.
    let mut region: Vec<&OsStr> = ["tag", "add", "warm", "--start", "0.2", "--end", "1.1"]
        .iter()
        .map(OsStr::new)
        .collect();
    region.push(OsStr::new(kind0[4]));
    region.extend(common);
    let out = earmark(&region);
    assert!(out.contains("5 positive and 3 negative examples"), "{out}");
    // A region past the end of the file is refused and leaves nothing behind.
    let mut outside: Vec<&OsStr> = ["tag", "add", "warm", "--start", "50", "--end", "60"]
        .iter()
        .map(OsStr::new)
        .collect();
    outside.push(OsStr::new(kind0[5]));
    outside.extend(common);
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(&outside)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("lies outside the file"), "{stderr}");
    assert!(
        stderr.contains("no example of `warm` was added"),
        "{stderr}"
    );

    let list = earmark(&[
        OsStr::new("tag"),
        OsStr::new("list"),
        OsStr::new("--json"),
        OsStr::new("--library"),
        libarg,
    ]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["label"], "warm");
    assert_eq!(
        (list[0]["positives"].as_u64(), list[0]["negatives"].as_u64()),
        (Some(5), Some(3))
    );

    let show = earmark(&[
        OsStr::new("tag"),
        OsStr::new("show"),
        OsStr::new(kind1[0]),
        OsStr::new("--json"),
        OsStr::new("--library"),
        libarg,
    ]);
    let show: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(show["examples"][0]["positive"], false);
    assert!(
        show["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["label"] != "warm")
    );

    let mut review: Vec<&OsStr> = ["tag", "review", "warm", "-n", "100", "--json"]
        .iter()
        .map(OsStr::new)
        .collect();
    review.extend(common);
    let review = earmark(&review);
    let reviewed: Vec<(String, f64)> = review
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["path"].as_str().unwrap().to_owned(),
                v["probability"].as_f64().unwrap(),
            )
        })
        .collect();
    // 40 files, 7 with whole-file examples and one with a region example.
    assert_eq!(reviewed.len(), 40 - 8);
    assert!(
        reviewed
            .iter()
            .all(|(p, _)| !kind0[..5].contains(&p) && !kind1[..3].contains(&p))
    );

    // The tag's playlist: whole-file positives first (score 1, by path), then every
    // unlabelled file the classifier puts at ≥ 0.5, best first.
    let m3u_path = dir.path().join("warm.m3u");
    earmark(&[
        OsStr::new("export"),
        OsStr::new("--format"),
        OsStr::new("m3u"),
        OsStr::new("--tag"),
        OsStr::new("warm"),
        OsStr::new("--out"),
        m3u_path.as_os_str(),
        OsStr::new("--library"),
        libarg,
    ]);
    let text = std::fs::read_to_string(&m3u_path).unwrap();
    assert!(text.starts_with("#EXTM3U\n"), "{text}");
    let listed: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("#EXTINF:2,")).count(),
        listed.len(),
        "every entry has its duration (1.7 s rounds to 2) and a title"
    );
    let mut positives: Vec<&str> = [kind0[0], kind0[1], kind0[2], kind0[3]]
        .iter()
        .map(|s| s.as_str())
        .collect();
    positives.sort_unstable();
    assert_eq!(listed[..4], positives[..]);
    let mut predicted: Vec<&(String, f64)> = reviewed.iter().filter(|(_, p)| *p >= 0.5).collect();
    predicted.sort_by(|a, b| b.1.total_cmp(&a.1));
    // The file with a region example is not reviewed; it is listed when the classifier says so.
    let mut rest: BTreeSet<&str> = listed[4..].iter().copied().collect();
    rest.remove(kind0[4].as_str());
    let want: BTreeSet<&str> = predicted.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(rest, want);
    assert_eq!(
        listed.len() - 4 - listed.contains(&kind0[4].as_str()) as usize,
        predicted.len()
    );

    // A similarity result as a playlist: the same files, in the same order, as printed.
    let sim_path = dir.path().join("similar.m3u");
    let mut sim: Vec<&OsStr> = vec![
        OsStr::new("similar"),
        OsStr::new(kind0[0]),
        OsStr::new("-k"),
        OsStr::new("6"),
        OsStr::new("--json"),
        OsStr::new("--m3u"),
        sim_path.as_os_str(),
    ];
    sim.extend(common);
    let printed: Vec<String> = earmark(&sim)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(printed.len(), 6);
    let text = std::fs::read_to_string(&sim_path).unwrap();
    let listed: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        listed,
        printed.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[test]
fn an_answer_taken_back_and_files_scanned_after_a_fit() {
    let (dir, lib_path, files) = scanned();
    let mut lib = Library::open(&lib_path).unwrap();
    let (model, _) = lib.latest_model().unwrap().unwrap();
    let id = |lib: &Library, p: &str| lib.file_by_path(p).unwrap().unwrap().0;
    let tag = "hiss";
    let targets: Vec<&String> = files
        .iter()
        .filter(|(k, _)| *k == TARGET)
        .map(|(_, p)| p)
        .collect();
    for p in &targets[..2] {
        let fid = id(&lib, p);
        lib.add_example(tag, fid, None, true, ExampleSource::Manual)
            .unwrap();
    }
    let opts = TagOptions::default();
    personal::refit(&mut lib, model, tag, &opts).unwrap();
    let fitted = lib.tagged_files(tag, 0.0).unwrap();

    // An answer taken back leaves the examples and the predictions as they were; a hand-given
    // example is never taken back as an answer.
    let answered = id(&lib, targets[2]);
    personal::answer(&mut lib, model, tag, &[answered], false, &opts).unwrap();
    assert_eq!(lib.examples(Some(tag)).unwrap().len(), 3);
    assert_ne!(lib.tagged_files(tag, 0.0).unwrap(), fitted);
    let manual = id(&lib, targets[0]);
    let (removed, report) =
        personal::unanswer(&mut lib, model, tag, &[answered, manual], &opts).unwrap();
    assert_eq!((removed, report.positives, report.negatives), (1, 2, 0));
    assert_eq!(lib.examples(Some(tag)).unwrap().len(), 2);
    assert_eq!(lib.tagged_files(tag, 0.0).unwrap(), fitted);

    // Files scanned after the fit: copies of the examples in a new folder get the tag from the
    // stored classifier, as its predictions say, without a refit; the earlier ones stay.
    let late = dir.path().join("lib/late");
    std::fs::create_dir_all(&late).unwrap();
    for (n, p) in targets[..2].iter().enumerate() {
        std::fs::copy(p, late.join(format!("copy{n}.wav"))).unwrap();
    }
    scan_with_tiny_model(&dir.path().join("lib"), &lib_path);
    let mut lib = Library::open(&lib_path).unwrap();
    let late_ids: Vec<i64> = (0..2)
        .map(|n| id(&lib, &canon(&late.join(format!("copy{n}.wav")))))
        .collect();
    let carries = |lib: &Library, fid: i64| {
        lib.tags_of_file(fid)
            .unwrap()
            .iter()
            .any(|(source, l, _)| source == earmark::library::examples::PERSONAL_SOURCE && l == tag)
    };
    assert!(late_ids.iter().all(|&f| !carries(&lib, f)), "not before");
    let (head, _) = lib.head(tag, model).unwrap().unwrap();
    let applied = personal::apply_fitted(&mut lib, model, &opts).unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].0, tag);
    for &f in &late_ids {
        let p = head.probability(&lib.clip_vector(f, model).unwrap().unwrap());
        eprintln!("copy {f}: p = {p:.3}");
        assert_eq!(carries(&lib, f), p >= personal::TAG_THRESHOLD, "{p}");
    }
    let now = lib.tagged_files(tag, 0.0).unwrap();
    assert_eq!(applied[0].1, now.len());
    for t in &fitted {
        assert!(now.contains(t), "{} kept its score", t.path);
    }
    let (_, stored_key) = lib.head(tag, model).unwrap().unwrap();
    assert_eq!(
        stored_key,
        lib.examples_key(tag).unwrap(),
        "no refit was needed"
    );
}
