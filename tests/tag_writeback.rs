//! Tag write-back end to end: MP3, FLAC, Ogg Vorbis, Opus, M4A, WAV (16- and 24-bit, one with a
//! RIFF INFO genre already) and AIFF files made with ffmpeg from a generated signal are scanned
//! and given tags; writing them into the files leaves the decoded audio bit-identical, reads
//! back with lofty and with ffprobe, keeps an existing genre unless asked, does not make a
//! rescan re-analyse anything, and undoes to the original bytes. A dry run changes no byte; a
//! read-only file, a file removed after the plan and a CAF file (not supported for writing
//! tags, said so) each fail alone with a clear reason.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{WavFormat, ffmpeg};
use earmark::jobs::JobControl;
use earmark::library::Library;
use earmark::writeback::formats::{FileTags, detect};
use earmark::writeback::{self, Field, FieldSpec, Policy, Selection, WritebackOptions};
use lofty::file::TaggedFileExt;
use lofty::tag::ItemKey;
use synth::{canon, scan_with_tiny_model, sound, tiny_model, write_stereo};

/// `(file name, ffmpeg arguments)` of the coded files.
const CODED: &[(&str, &[&str])] = &[
    ("a.mp3", &["-c:a", "libmp3lame", "-b:a", "128k"]),
    ("b.flac", &["-c:a", "flac"]),
    ("c.ogg", &["-c:a", "libvorbis", "-q:a", "3"]),
    ("d.opus", &["-c:a", "libopus", "-b:a", "64k"]),
    ("e.m4a", &["-c:a", "aac", "-b:a", "128k"]),
    ("f.wav", &["-c:a", "pcm_s16le"]),
    ("g.aiff", &["-c:a", "pcm_s16be"]),
    // ffmpeg writes the genre into the WAV's RIFF INFO list (`IGNR`), as sample tools do.
    (
        "rock24.wav",
        &["-c:a", "pcm_s24le", "-metadata", "genre=Rock"],
    ),
    ("rock.flac", &["-c:a", "flac", "-metadata", "genre=Rock"]),
];

const GENRE: &str = "speech; rain";
const MOOD: &str = "calm";
const ALL_TAGS: &str = "speech; calm; rain";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    coded: PathBuf,
    lib: PathBuf,
    journals: PathBuf,
}

impl Fixture {
    fn file(&self, name: &str) -> PathBuf {
        self.coded.join(name)
    }
    fn files(&self) -> Vec<PathBuf> {
        CODED.iter().map(|(n, _)| self.file(n)).collect()
    }
}

/// Generates the files, scans them with the tiny model and gives each file tags from two
/// sources: `test` (speech 0.9, rain 0.7, wind 0.2) and `personal` (calm 0.8).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let coded = root.join("coded");
    std::fs::create_dir_all(&coded).unwrap();
    std::fs::create_dir_all(root.join("plain")).unwrap();
    let master = dir.path().join("master.wav");
    write_stereo(&master, &sound(2, 7, 1.5, 44_100), WavFormat::S16);
    for (name, args) in CODED {
        ffmpeg(&master, &coded.join(name), args);
    }
    // A kind of file write-back does not handle: reported as such, left alone.
    ffmpeg(
        &master,
        &root.join("plain/w.caf"),
        &["-c:a", "pcm_s16le", "-f", "caf"],
    );
    let lib = dir.path().join("index.sqlite");
    scan_with_tiny_model(&root, &lib);
    let mut library = Library::open(&lib).unwrap();
    for f in library.all_known_files().unwrap() {
        let tags = |l: &[(&str, f32)]| -> Vec<(String, f32)> {
            l.iter().map(|(s, p)| ((*s).to_owned(), *p)).collect()
        };
        library
            .set_tags(
                f.id,
                "test",
                &tags(&[("speech", 0.9), ("rain", 0.7), ("wind", 0.2)]),
            )
            .unwrap();
        library
            .set_tags(f.id, "personal", &tags(&[("calm", 0.8)]))
            .unwrap();
    }
    Fixture {
        journals: dir.path().join("journals"),
        _dir: dir,
        root,
        coded,
        lib,
    }
}

fn hash(p: &Path) -> String {
    earmark::library::model_id::hash_file(p).unwrap()
}

/// Every interleaved sample at the source rate, decoded by Earmark's own decoder.
fn decode(p: &Path) -> Vec<f32> {
    let mut d = earmark::audio::AudioDecoder::open(p).unwrap();
    let mut out = Vec::new();
    while let Some(block) = d.next_block().unwrap() {
        out.extend_from_slice(block);
    }
    out
}

/// Tags ffprobe sees (container and streams), keys in lower case.
fn ffprobe_tags(p: &Path) -> BTreeMap<String, String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(p)
        .output()
        .expect("ffprobe must be installed (packaging/install-deps.sh test installs ffmpeg)");
    assert!(out.status.success(), "ffprobe failed on {}", p.display());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut tags = BTreeMap::new();
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    for t in std::iter::once(&v["format"]["tags"]).chain(streams.iter().map(|s| &s["tags"])) {
        if let Some(obj) = t.as_object() {
            for (k, val) in obj {
                tags.insert(k.to_lowercase(), val.as_str().unwrap_or("").to_owned());
            }
        }
    }
    tags
}

/// Genre and mood as lofty's format-neutral reader sees them, and the custom field.
fn lofty_fields(p: &Path) -> (Option<String>, Option<String>, Option<String>) {
    let tagged = lofty::read_from_path(p).unwrap();
    let tag = tagged.primary_tag().unwrap();
    // A WAV's genre may be only in its RIFF INFO list (lofty's primary WAV tag is the ID3v2 one).
    let genre = tag
        .get_string(ItemKey::Genre)
        .map(str::to_owned)
        .or_else(|| riff_info_genre(p));
    let mood = tag.get_string(ItemKey::Mood).map(str::to_owned);
    let mut f = std::fs::File::open(p).unwrap();
    let format = detect(&mut f).unwrap();
    let mut f = std::fs::File::open(p).unwrap();
    let custom = FileTags::read(&mut f, format)
        .unwrap()
        .get(&Field::Custom("EARMARK_TAGS".into()));
    (genre, mood, custom)
}

/// The entries of a WAV file's RIFF `LIST/INFO`, read with lofty.
fn riff_info(p: &Path) -> BTreeMap<String, String> {
    let mut f = std::fs::File::open(p).unwrap();
    let options = lofty::config::ParseOptions::new();
    let wav =
        <lofty::iff::wav::WavFile as lofty::file::AudioFile>::read_from(&mut f, options).unwrap();
    wav.riff_info()
        .map(|info| info.into_iter().cloned().collect())
        .unwrap_or_default()
}

/// The genre of a WAV file's RIFF `LIST/INFO` (`IGNR`).
fn riff_info_genre(p: &Path) -> Option<String> {
    if p.extension() != Some(OsStr::new("wav")) {
        return None;
    }
    riff_info(p).remove("IGNR")
}

fn earmark_cmd(args: &[&OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args(args)
        .output()
        .unwrap()
}

/// Fails the test, showing the command's errors, unless it succeeded.
fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `earmark` and fails the test, showing its errors, unless it succeeded.
fn earmark_ok(args: &[&OsStr]) -> std::process::Output {
    let out = earmark_cmd(args);
    assert_ok(&out);
    out
}

fn write_args<'a>(fx: &'a Fixture, extra: &'a [&'a str], paths: &'a [PathBuf]) -> Vec<&'a OsStr> {
    let mut a: Vec<&OsStr> = ["tag", "write", "--field", "genre=test", "--field"]
        .iter()
        .map(OsStr::new)
        .collect();
    a.extend(
        ["mood=personal", "--field", "EARMARK_TAGS=*:0.5:5", "--json"]
            .iter()
            .map(OsStr::new),
    );
    a.extend([
        OsStr::new("--library"),
        fx.lib.as_os_str(),
        OsStr::new("--journal-dir"),
        fx.journals.as_os_str(),
    ]);
    a.extend(extra.iter().map(OsStr::new));
    a.extend(paths.iter().map(|p| p.as_os_str()));
    a
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn rescan(fx: &Fixture) -> serde_json::Value {
    let out = earmark_cmd(&[
        OsStr::new("scan"),
        fx.root.as_os_str(),
        OsStr::new("--library"),
        fx.lib.as_os_str(),
        OsStr::new("--model"),
        tiny_model().as_os_str(),
        OsStr::new("--json"),
    ]);
    assert_ok(&out);
    json(&out)
}

/// A rescan finds nothing new or changed and analyses nothing.
fn assert_rescan_is_quiet(fx: &Fixture, when: &str) {
    let r = rescan(fx);
    assert_eq!(r["analysed"].as_array().unwrap().len(), 0, "{when}: {r}");
    for root in r["roots"].as_array().unwrap() {
        for key in ["new", "changed", "moved", "removed"] {
            assert!(
                root[key].as_array().unwrap().is_empty(),
                "{when}: {key}: {r}"
            );
        }
    }
}

#[test]
fn write_back_round_trips_in_every_format() {
    let fx = fixture();
    let files = fx.files();
    let before: Vec<String> = files.iter().map(|p| hash(p)).collect();
    let mtimes: Vec<_> = files
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    let samples: Vec<Vec<f32>> = files.iter().map(|p| decode(p)).collect();
    let sizes: Vec<u64> = files
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    let embeddings = Library::open(&fx.lib)
        .unwrap()
        .status()
        .unwrap()
        .clip_embeddings;
    let sel = [fx.coded.clone()];

    // Dry run: the diff is shown and no byte changes.
    let out = earmark_ok(&write_args(&fx, &["--dry-run"], &sel));
    let plan = json(&out)["plan"].clone();
    assert_eq!(
        plan["files"].as_array().unwrap().len(),
        files.len(),
        "{plan}"
    );
    for name in ["rock.flac", "rock24.wav"] {
        let rock = plan["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(name))
            .unwrap();
        assert_eq!(rock["changes"][0]["action"], "keep", "{rock}");
        assert_eq!(rock["changes"][0]["current"], "Rock");
    }
    let formats: Vec<&str> = plan["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format"].as_str().unwrap())
        .collect();
    assert!(
        formats.contains(&"wav") && formats.contains(&"aiff"),
        "{formats:?}"
    );
    for (i, p) in files.iter().enumerate() {
        assert_eq!(hash(p), before[i], "dry run changed {}", p.display());
        assert_eq!(std::fs::metadata(p).unwrap().modified().unwrap(), mtimes[i]);
    }
    assert!(!fx.journals.exists(), "a dry run wrote a journal");
    let text = earmark_cmd(&{
        let mut a = write_args(&fx, &["--dry-run"], &sel);
        a.retain(|s| *s != OsStr::new("--json"));
        a
    });
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("genre: (empty) → \"speech; rain\""), "{text}");
    assert!(text.contains("\"Rock\" kept"), "{text}");
    assert!(text.contains("dry run: nothing was written"), "{text}");

    // Without --field the command line fills the window's default field (not the genre), and
    // the CAF file is reported as not supported for writing tags.
    let out = earmark_cmd(&[
        OsStr::new("tag"),
        OsStr::new("write"),
        OsStr::new("--dry-run"),
        OsStr::new("--library"),
        fx.lib.as_os_str(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let default = &WritebackOptions::default().fields[0].field;
    assert_eq!(default.name(), writeback::fields::DEFAULT_FIELD);
    assert!(
        text.contains(&format!("  + {default}: (empty) → \"{ALL_TAGS}\"")),
        "{text}"
    );
    assert!(!text.contains("genre:"), "{text}");
    assert!(
        text.contains("w.caf: cannot be tagged: not supported for writing tags: CAF files"),
        "{text}"
    );
    assert!(
        !out.status.success(),
        "a file that cannot be tagged fails the run"
    );

    // Write.
    let out = earmark_ok(&write_args(&fx, &[], &sel));
    let report = json(&out)["report"].clone();
    assert_eq!(
        report["written"].as_array().unwrap().len(),
        files.len(),
        "{report}"
    );
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    let after: Vec<String> = files.iter().map(|p| hash(p)).collect();
    for (i, p) in files.iter().enumerate() {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert_ne!(after[i], before[i], "{name} was not written");
        assert_eq!(decode(p), samples[i], "{name}: decoded audio changed");
        let want_genre = if name.starts_with("rock") {
            "Rock"
        } else {
            GENRE
        };
        let (genre, mood, custom) = lofty_fields(p);
        assert_eq!(genre.as_deref(), Some(want_genre), "{name}: lofty genre");
        assert_eq!(mood.as_deref(), Some(MOOD), "{name}: lofty mood");
        assert_eq!(
            custom.as_deref(),
            Some(ALL_TAGS),
            "{name}: lofty EARMARK_TAGS"
        );
        let probe = ffprobe_tags(p);
        assert_eq!(
            probe.get("genre").map(String::as_str),
            Some(want_genre),
            "{name}: {probe:?}"
        );
        if name.ends_with(".wav") {
            // ffmpeg reads a WAV's RIFF INFO list (and its ID3v2 chunk only without one): the
            // genre and the labels are there too, as `IGNR` and `IKEY` (keywords).
            let info = riff_info(p);
            assert_eq!(
                info.get("IGNR").map(String::as_str),
                Some(want_genre),
                "{name}: {info:?}"
            );
            assert_eq!(
                info.get("IKEY").map(String::as_str),
                Some(ALL_TAGS),
                "{name}: {info:?}"
            );
            assert_eq!(
                probe.get("ikey").map(String::as_str),
                Some(ALL_TAGS),
                "{name}: {probe:?}"
            );
        } else {
            let mood = probe.get("mood").or_else(|| probe.get("tmoo"));
            assert_eq!(mood.map(String::as_str), Some(MOOD), "{name}: {probe:?}");
            assert_eq!(
                probe.get("earmark_tags").map(String::as_str),
                Some(ALL_TAGS),
                "{name}: {probe:?}"
            );
        }
        println!(
            "{name:<10} {} → {} bytes, audio identical, tags read back by lofty and ffprobe",
            sizes[i],
            std::fs::metadata(p).unwrap().len()
        );
    }
    assert_rescan_is_quiet(&fx, "after writing");
    let lib = Library::open(&fx.lib).unwrap();
    assert_eq!(lib.status().unwrap().clip_embeddings, embeddings);
    let row = lib
        .export_rows()
        .unwrap()
        .into_iter()
        .find(|r| r.path == canon(&fx.file("a.mp3")))
        .unwrap();
    assert_eq!(
        row.genre.as_deref(),
        Some(GENRE),
        "the index follows the new genre"
    );
    drop(lib);

    // Overwrite replaces the existing genre of rock.flac only.
    let rock_path = [fx.file("rock.flac")];
    let out = earmark_ok(&write_args(&fx, &["--overwrite"], &rock_path));
    assert_eq!(lofty_fields(&rock_path[0]).0.as_deref(), Some(GENRE));
    assert_eq!(json(&out)["report"]["written"].as_array().unwrap().len(), 1);

    // Undo the overwrite, then the first write: every file is back byte for byte.
    let undo = |extra: &[&str]| {
        let mut a: Vec<&OsStr> = ["tags", "undo", "--json"].iter().map(OsStr::new).collect();
        a.extend([
            OsStr::new("--library"),
            fx.lib.as_os_str(),
            OsStr::new("--journal-dir"),
            fx.journals.as_os_str(),
        ]);
        a.extend(extra.iter().map(OsStr::new));
        earmark_cmd(&a)
    };
    let out = undo(&["--last"]);
    assert_ok(&out);
    assert_eq!(
        hash(&rock_path[0]),
        after[files.len() - 1],
        "overwrite undone"
    );
    let out = undo(&["--last"]);
    assert_ok(&out);
    assert_eq!(
        json(&out)["restored"].as_array().unwrap().len(),
        files.len()
    );
    for (i, p) in files.iter().enumerate() {
        assert_eq!(
            hash(p),
            before[i],
            "{} not restored byte for byte",
            p.display()
        );
        assert_eq!(std::fs::metadata(p).unwrap().modified().unwrap(), mtimes[i]);
    }
    assert_rescan_is_quiet(&fx, "after undo");
    let out = undo(&["--last"]);
    assert!(!out.status.success(), "nothing is left to undo");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no write-back to undo"));

    // A file changed after the write-back is refused; the others are restored.
    earmark_ok(&write_args(&fx, &[], &sel));
    let changed = fx.file("b.flac");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes.push(0);
    std::fs::write(&changed, &bytes).unwrap();
    let out = undo(&[]);
    assert!(!out.status.success(), "a refused file must fail the undo");
    let r = json(&out);
    let refused = r["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{r}");
    assert!(refused[0][0].as_str().unwrap().ends_with("b.flac"));
    assert!(
        refused[0][1]
            .as_str()
            .unwrap()
            .contains("changed since the write-back"),
        "{r}"
    );
    assert_eq!(r["restored"].as_array().unwrap().len(), files.len() - 1);
    assert_eq!(hash(&fx.file("a.mp3")), before[0]);
}

fn api_options(id3v23: bool) -> WritebackOptions {
    WritebackOptions {
        fields: vec![
            FieldSpec::new(Field::Genre, vec!["test".into()], 0.5, 2),
            FieldSpec::new(Field::Mood, vec!["personal".into()], 0.5, 1),
        ],
        policy: Policy::Keep,
        id3v23,
        ..WritebackOptions::default()
    }
}

#[test]
fn read_only_removed_and_untaggable_files_fail_alone() {
    let fx = fixture();
    let mut lib = Library::open(&fx.lib).unwrap();
    let control = JobControl::new();
    let opts = api_options(false);
    // A file gone since the scan is a problem of the plan, named as such.
    let missing = fx.file("e.m4a");
    let kept = std::fs::read(&missing).unwrap();
    std::fs::remove_file(&missing).unwrap();
    let plan = writeback::plan::plan(&lib, &opts, &Selection::All, &mut |_| {}, &control).unwrap();
    let gone = plan
        .problems
        .iter()
        .find(|(p, _)| p.ends_with("e.m4a"))
        .unwrap();
    assert!(gone.1.contains("missing"), "{gone:?}");
    std::fs::write(&missing, kept).unwrap();
    let plan = writeback::plan::plan(&lib, &opts, &Selection::All, &mut |_| {}, &control).unwrap();
    assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
    assert!(plan.problems[0].0.ends_with("w.caf"));
    assert!(
        plan.problems[0]
            .1
            .starts_with("not supported for writing tags: CAF files"),
        "{:?}",
        plan.problems
    );

    let read_only = fx.file("a.mp3");
    let mut perms = std::fs::metadata(&read_only).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&read_only, perms).unwrap();
    let removed = fx.file("c.ogg");
    std::fs::remove_file(&removed).unwrap();
    let ro_hash = hash(&read_only);

    // A cancelled run stops before its first file and writes no journal.
    let cancelled = JobControl::new();
    cancelled.cancel();
    let stopped = writeback::apply::apply(
        &mut lib,
        &plan,
        &opts,
        &fx.journals,
        &mut |_| {},
        &cancelled,
    )
    .unwrap();
    assert!(stopped.cancelled && stopped.written.is_empty() && stopped.journal.is_none());
    assert!(!fx.journals.exists());

    let report =
        writeback::apply::apply(&mut lib, &plan, &opts, &fx.journals, &mut |_| {}, &control)
            .unwrap();
    let reason = |name: &str| {
        report
            .failed
            .iter()
            .find(|(p, _)| p.ends_with(name))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{name} did not fail: {report:?}"))
    };
    assert!(reason("a.mp3").contains("read-only"), "{}", reason("a.mp3"));
    assert!(reason("c.ogg").contains("gone"), "{}", reason("c.ogg"));
    assert_eq!(report.failed.len(), 2);
    assert_eq!(report.written.len(), CODED.len() - 2, "{report:?}");
    assert_eq!(hash(&read_only), ro_hash, "the read-only file was changed");
    assert!(!removed.exists(), "the removed file was recreated");
    for name in ["b.flac", "d.opus", "e.m4a", "f.wav", "g.aiff"] {
        assert_eq!(
            lofty_fields(&fx.file(name)).0.as_deref(),
            Some(GENRE),
            "{name}"
        );
    }
    // The journal holds exactly the written files, each with a small undo patch.
    let journal = report.journal.unwrap();
    let entries = writeback::journal::read(&journal).unwrap();
    assert_eq!(entries.len(), CODED.len() - 2);
    for e in &entries {
        let kept = e.patch.kept_bytes();
        println!("{}: undo keeps {kept} of {} bytes", e.path, e.before.size);
        assert!(kept < 64 * 1024, "{}: undo keeps {kept} bytes", e.path);
    }
}

#[test]
fn id3v23_is_written_on_request() {
    let fx = fixture();
    let mut lib = Library::open(&fx.lib).unwrap();
    let control = JobControl::new();
    let opts = api_options(true);
    let mp3 = fx.file("a.mp3");
    let original = hash(&mp3);
    let samples = decode(&mp3);
    let sel = Selection::Paths(vec![mp3.canonicalize().unwrap()]);
    let plan = writeback::plan::plan(&lib, &opts, &sel, &mut |_| {}, &control).unwrap();
    assert_eq!(plan.files.len(), 1);
    let report =
        writeback::apply::apply(&mut lib, &plan, &opts, &fx.journals, &mut |_| {}, &control)
            .unwrap();
    assert_eq!(report.written.len(), 1, "{report:?}");
    let bytes = std::fs::read(&mp3).unwrap();
    assert_eq!(&bytes[..4], b"ID3\x03", "an ID3v2.3 header");
    assert_eq!(decode(&mp3), samples);
    let probe = ffprobe_tags(&mp3);
    assert_eq!(
        probe.get("genre").map(String::as_str),
        Some(GENRE),
        "{probe:?}"
    );
    assert_eq!(
        probe.get("mood").map(String::as_str),
        Some(MOOD),
        "{probe:?}"
    );
    let undo = writeback::undo::undo(
        Some(&mut lib),
        &report.journal.unwrap(),
        &mut |_| {},
        &control,
    )
    .unwrap();
    assert_eq!(undo.restored.len(), 1);
    assert_eq!(hash(&mp3), original);
}

#[test]
fn plan_and_apply_run_as_a_job_with_progress_events() {
    let fx = fixture();
    let lib_path = fx.lib.clone();
    let journals = fx.journals.clone();
    let queue = earmark::jobs::JobQueue::new().unwrap();
    let handle = queue
        .submit("write tags", move |ctx| {
            let mut lib = Library::open(&lib_path)?;
            let opts = api_options(false);
            let mut progress = writeback::job_progress(ctx);
            let plan =
                writeback::plan::plan(&lib, &opts, &Selection::All, &mut progress, &ctx.control)?;
            let report = writeback::apply::apply(
                &mut lib,
                &plan,
                &opts,
                &journals,
                &mut progress,
                &ctx.control,
            )?;
            Ok(format!("{} written", report.written.len()))
        })
        .unwrap();
    let mut last_total = 0;
    let mut summary = String::new();
    for event in handle.events.iter() {
        match event {
            earmark::jobs::JobEvent::Progress(p) => last_total = p.total,
            earmark::jobs::JobEvent::Done { summary: s } => summary = s,
            earmark::jobs::JobEvent::Failed { reason } => panic!("{reason}"),
            _ => {}
        }
    }
    // Every coded file is written; the CAF file is planned but cannot be tagged.
    assert_eq!(summary, format!("{} written", CODED.len()));
    assert_eq!(
        last_total,
        CODED.len(),
        "the apply phase reports its own file count"
    );
}
