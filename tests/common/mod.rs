//! Helpers shared by the integration tests: running the `dossier` binary on a
//! temporary copy of the example dossier and reading what it built.

#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use scraper::{Html, Selector};
use serde_json::Value;
use tempfile::TempDir;

/// The repository: its `content/` and `dossier.toml` are the example dossier.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dossier"))
}

/// What a run of the binary gave.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Fails the test unless the run succeeded; never panicked in any case.
    pub fn assert_ok(&self) -> &Self {
        assert!(self.success(), "expected success, got {self}");
        self.assert_no_panic()
    }

    /// Fails the test unless the run exited with 1 (and did not panic).
    pub fn assert_fails(&self) -> &Self {
        assert_eq!(self.code, Some(1), "expected exit 1, got {self}");
        self.assert_no_panic()
    }

    pub fn assert_no_panic(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked: {self}"
        );
        self
    }

    /// Fails the test unless stderr contains `needle`.
    pub fn assert_stderr(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {self}"
        );
        self
    }

    /// Lines of stderr that are diagnostics of the given level ("error" / "warning").
    pub fn diagnostics(&self, level: &str) -> Vec<&str> {
        let tag = format!(": {level}: ");
        self.stderr.lines().filter(|l| l.contains(&tag)).collect()
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `dossier ARGS` in `cwd`.
pub fn run_in(cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run the dossier binary");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A dossier in a temporary folder: `tmp/dossier` is the root, so tests can
/// also point at the root's parent.
pub struct Dossier {
    pub tmp: TempDir,
    pub root: PathBuf,
}

impl Dossier {
    /// A copy of the example dossier (`content/` and `dossier.toml`).
    pub fn example() -> Dossier {
        let d = Dossier::empty();
        copy_dir(&repo().join("content"), &d.root.join("content"));
        fs::copy(repo().join("dossier.toml"), d.root.join("dossier.toml"))
            .expect("copy dossier.toml");
        d
    }

    /// An empty root folder.
    pub fn empty() -> Dossier {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("dossier");
        fs::create_dir_all(&root).expect("create root");
        Dossier { tmp, root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent");
        }
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }

    /// Replaces exactly one occurrence of `from` in the file `rel`.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} must occur once in {rel}"
        );
        self.write(rel, text.replacen(from, to, 1));
    }

    /// A fresh output folder beside the root (not inside it).
    pub fn out(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `dossier --root ROOT ARGS`, run from the temporary folder.
    pub fn run(&self, args: &[&str]) -> Output {
        let root = self.root.to_str().expect("UTF-8 temp path");
        let mut all = vec!["--root", root];
        all.extend_from_slice(args);
        run_in(self.tmp.path(), &all)
    }

    pub fn check(&self) -> Output {
        self.run(&["check"])
    }

    /// `build --output OUT [EXTRA]`.
    pub fn build(&self, out: &Path, extra: &[&str]) -> Output {
        let out = out.to_str().expect("UTF-8 temp path");
        let mut args = vec!["build", "--output", out];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Builds into `tmp/NAME`, asserting success; returns the output folder.
    pub fn build_ok(&self, name: &str, extra: &[&str]) -> PathBuf {
        let out = self.out(name);
        self.build(&out, extra).assert_ok();
        out
    }
}

/// The example dossier, built with the default base URL.
pub fn example_site() -> (Dossier, PathBuf) {
    let d = Dossier::example();
    let out = d.build_ok("site", &[]);
    (d, out)
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Every file below `dir`, by `/`-separated relative path (symlinks skipped).
pub fn site_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    collect(dir, dir, &mut files);
    files
}

fn collect(base: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            continue; // never followed: a link may lead out of the folder
        } else if kind.is_dir() {
            collect(base, &path, files);
        } else {
            let rel = path.strip_prefix(base).expect("below base");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.insert(rel, fs::read(&path).expect("read file"));
        }
    }
}

/// Relative paths of every entry (files and folders) below `dir`.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(base).unwrap().display().to_string());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(base, &path, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// `data/records.json` of a built site, as a map id -> record.
pub fn records(out: &Path) -> BTreeMap<String, Value> {
    let all = read_json(&out.join("data/records.json"));
    all.as_array()
        .expect("records.json is an array")
        .iter()
        .map(|r| (r["id"].as_str().expect("record id").to_string(), r.clone()))
        .collect()
}

/// `data/events.json` of a built site.
pub fn events(out: &Path) -> Vec<Value> {
    read_json(&out.join("data/events.json"))
        .as_array()
        .expect("events.json is an array")
        .clone()
}

pub fn read_html(path: &Path) -> Html {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    Html::parse_document(&text)
}

pub fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css:?}: {e:?}"))
}

/// Text of an element with whitespace collapsed.
pub fn text_of(element: scraper::ElementRef<'_>) -> String {
    collapse(&element.text().collect::<String>())
}

pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Folds text the way quotes are compared: whitespace collapsed, typographic
/// quotes and dashes made plain, ellipses spelled out, lowercased.
pub fn fold(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' | '\'' | '“' | '”' | '„' | '‟' | '«' | '»' | '‹' | '›' | '‘' | '’' | '‚' | '‛' => {
                out.push('"')
            }
            '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => out.push('-'),
            '…' => out.push_str("..."),
            c => out.extend(c.to_lowercase()),
        }
    }
    collapse(&out)
}

/// Id of the seed article whose id starts with `prefix` ("000").
pub fn seed(prefix: &str) -> &'static str {
    match prefix {
        "000" => "000_8efa8f5a46d18ba7",
        "001" => "001_9b10334a7624b0a2",
        "002" => "002_a3637277b07c1ceb",
        "003" => "003_6ef21ff47a01b82f",
        "004" => "004_fdb09750b2c18041",
        _ => panic!("no seed {prefix}"),
    }
}

/// The page of an article (slug = slugified id).
pub fn article_page(out: &Path, id: &str) -> PathBuf {
    out.join("articles")
        .join(id.replace('_', "-"))
        .join("index.html")
}

/// 1-based line number of the only line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{needle:?} must be on exactly one line");
    lines[0]
}
