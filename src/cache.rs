//! The article cache on disk, `ROOT/.dossier-cache/` (git-ignored): the
//! records of the last build, so that `dossier build` re-reads and
//! re-normalizes only the articles whose files changed since.
//!
//! Records are spread over [`SHARDS`] files by a hash of their id, one
//! JSON object a line after a header naming the program and the
//! normalization settings they were made with; a build rewrites only the
//! shards whose articles changed. Anything unreadable, from another
//! program or other settings is ignored: the cache can only save work,
//! never change what is built (the output is a function of the content).
//! The program is named down to its binary's size and modification time,
//! so a cache copied from elsewhere (it is git-ignored) is never trusted.
//!
//! Beside the records (`articles/`), the same folder keeps where the quotes
//! stood (`quotes.bin`) and the search index's analyses (`search/`), each
//! file a header line and postcard bytes: both are functions of keys the
//! files hold, checked before use, so they too only save work.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostic;
use crate::load::{ArticleCache, CachedArticle, Stamp};
use crate::memo;
use crate::model::Record;

pub const CACHE_DIR: &str = ".dossier-cache";

/// Shard files: a new article rewrites about 1/SHARDS of the cache.
const SHARDS: usize = 64;

/// The cache format's version: part of every shard's header.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize, PartialEq)]
struct Header {
    format: u32,
    program: String,
    settings: String,
}

/// One article's line.
#[derive(Serialize, Deserialize)]
struct Line {
    id: String,
    stamp: Stamp,
    /// `Record` does not serialize these two.
    fingerprint: String,
    declared_slug: String,
    record: Record,
    diagnostics: Vec<Diagnostic>,
}

/// What was read from disk (id -> the stamp its line has), to tell which
/// shards a build changed. A shard from another program or settings was
/// not read: its articles count as changed.
#[derive(Debug, Default)]
pub struct OnDisk {
    stamps: HashMap<String, Stamp>,
}

fn shard_of(id: &str) -> usize {
    blake3::hash(id.as_bytes()).as_bytes()[0] as usize % SHARDS
}

fn shard_path(root: &Path, shard: usize) -> PathBuf {
    root.join(CACHE_DIR)
        .join("articles")
        .join(format!("{shard:02x}.jsonl"))
}

/// The cache the last build left, for these settings (as
/// [`crate::load::settings_of`] gives them); empty when there is none.
pub fn read(root: &Path, settings: &str) -> (ArticleCache, OnDisk) {
    let want = Header {
        format: FORMAT,
        program: memo::program(),
        settings: settings.to_string(),
    };
    let shards: Vec<Vec<Line>> = (0..SHARDS)
        .into_par_iter()
        .map(|shard| read_shard(&shard_path(root, shard), &want).unwrap_or_default())
        .collect();
    let mut cache = ArticleCache {
        settings: settings.to_string(),
        entries: HashMap::new(),
        ..ArticleCache::default()
    };
    let mut on_disk = OnDisk::default();
    for line in shards.into_iter().flatten() {
        let mut record = line.record;
        record.fingerprint = line.fingerprint;
        record.declared_slug = line.declared_slug;
        on_disk.stamps.insert(line.id.clone(), line.stamp.clone());
        cache.entries.insert(
            line.id,
            CachedArticle {
                stamp: line.stamp,
                record: Arc::new(record),
                diagnostics: line.diagnostics,
            },
        );
    }
    (cache, on_disk)
}

/// A shard's lines, if its header is `want`'s; None for a missing,
/// foreign or damaged shard (a damaged line drops the shard).
fn read_shard(path: &Path, want: &Header) -> Option<Vec<Line>> {
    let file = fs::File::open(path).ok()?;
    let mut lines = io::BufReader::new(file).lines();
    let header: Header = serde_json::from_str(&lines.next()?.ok()?).ok()?;
    if header != *want {
        return None;
    }
    lines
        .map(|line| serde_json::from_str(&line.ok()?).ok())
        .collect()
}

/// Writes the shards whose articles differ from what `on_disk` read, each
/// into a new file renamed over the old one (a killed build leaves either).
pub fn write(root: &Path, cache: &ArticleCache, on_disk: &OnDisk) -> io::Result<()> {
    let mut dirty: HashSet<usize> = HashSet::new();
    for (id, entry) in &cache.entries {
        if on_disk.stamps.get(id) != Some(&entry.stamp) {
            dirty.insert(shard_of(id));
        }
    }
    for id in on_disk.stamps.keys() {
        if !cache.entries.contains_key(id) {
            dirty.insert(shard_of(id));
        }
    }
    if dirty.is_empty() {
        return Ok(());
    }
    let mut by_shard: Vec<Vec<(&String, &CachedArticle)>> = vec![Vec::new(); SHARDS];
    for (id, entry) in &cache.entries {
        by_shard[shard_of(id)].push((id, entry));
    }
    let dir = root.join(CACHE_DIR).join("articles");
    fs::create_dir_all(&dir)?;
    for entry in fs::read_dir(&dir)?.flatten() {
        if is_leftover(&entry.file_name().to_string_lossy()) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let header = Header {
        format: FORMAT,
        program: memo::program(),
        settings: cache.settings.clone(),
    };
    let results: Vec<io::Result<()>> = by_shard
        .par_iter_mut()
        .enumerate()
        .filter(|(shard, _)| dirty.contains(shard))
        .map(|(shard, entries)| {
            entries.sort_by(|a, b| a.0.cmp(b.0));
            write_shard(&shard_path(root, shard), &header, entries)
        })
        .collect();
    results.into_iter().collect()
}

fn write_shard(
    path: &Path,
    header: &Header,
    entries: &[(&String, &CachedArticle)],
) -> io::Result<()> {
    write_headed(path, header, |out| {
        for (id, entry) in entries {
            let line = LineRef {
                id,
                stamp: &entry.stamp,
                fingerprint: &entry.record.fingerprint,
                declared_slug: &entry.record.declared_slug,
                record: &entry.record,
                diagnostics: &entry.diagnostics,
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// Writes `header`'s line, then what `body` writes, into `path`: through a
/// new file beside it, renamed over the old one (a killed build leaves
/// either, and a leftover `NAME.PID.new` that [`is_leftover`] finds).
fn write_headed(
    path: &Path,
    header: &Header,
    body: impl FnOnce(&mut io::BufWriter<fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!("{name}.{}.new", std::process::id()));
    let written = (|| {
        let mut out = io::BufWriter::new(fs::File::create(&temp)?);
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
        body(&mut out)?;
        out.flush()
    })();
    match written {
        Ok(()) => fs::rename(&temp, path),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// A new file another (killed) build left: not this process's (another
/// build, if one runs now, only fails to keep its file: the cache is never
/// needed).
fn is_leftover(name: &str) -> bool {
    name.ends_with(".new") && !name.ends_with(&format!(".{}.new", std::process::id()))
}

// ---- where quotes stand -------------------------------------------------------

/// `.dossier-cache/quotes.bin`: a header line and, in postcard, where each
/// quote of the last build stood (see [`crate::annotate::Locations`]).
const QUOTES_FILE: &str = "quotes.bin";

/// Where the last build found its quotes; nothing when it left no file this
/// program can read.
pub fn read_locations(root: &Path) -> crate::annotate::Locations {
    let program = memo::program();
    let found = read_headed(&root.join(CACHE_DIR).join(QUOTES_FILE), |h| {
        h.format == FORMAT && h.program == program
    })
    .and_then(|bytes| {
        postcard::from_bytes::<Vec<(memo::Key, crate::annotate::Located)>>(&bytes).ok()
    });
    crate::annotate::Locations {
        found: found.unwrap_or_default().into_iter().collect(),
        ..Default::default()
    }
}

/// Writes where this build's quotes stand, unless that is what was read.
pub fn write_locations(root: &Path, locations: &crate::annotate::Locations) -> io::Result<()> {
    let now = locations.now.lock().unwrap_or_else(|p| p.into_inner());
    if *now == locations.found {
        return Ok(());
    }
    let mut all: Vec<(&memo::Key, &crate::annotate::Located)> = now.iter().collect();
    all.sort_by_key(|(key, _)| **key);
    let bytes = postcard::to_stdvec(&all).map_err(io::Error::other)?;
    let dir = root.join(CACHE_DIR);
    fs::create_dir_all(&dir)?;
    let header = program_header("");
    write_headed(&dir.join(QUOTES_FILE), &header, |out| out.write_all(&bytes))
}

// ---- the search index's analyses ------------------------------------------------

/// `.dossier-cache/search/`: the vocabulary (`vocabulary.bin`) and a file
/// a run of documents (`RUN.bin`, named by the run's key), each a header
/// line (the program; for a run, the generation that wrote it as the
/// settings) and the bytes [`crate::search::Stored`] makes of them.
fn search_dir(root: &Path) -> PathBuf {
    root.join(CACHE_DIR).join("search")
}

const VOCABULARY_FILE: &str = "vocabulary.bin";

/// A header line and the rest of a file, if the header is `want`'s.
fn read_headed(path: &Path, mut want: impl FnMut(&Header) -> bool) -> Option<Vec<u8>> {
    let mut bytes = fs::read(path).ok()?;
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let header: Header = serde_json::from_slice(&bytes[..end]).ok()?;
    want(&header).then(|| bytes.split_off(end + 1))
}

/// The analyses the last build kept; a fresh vocabulary when there are none
/// this program can use.
pub fn read_search(root: &Path) -> crate::search::Stored {
    let dir = search_dir(root);
    let program = memo::program();
    let ours = |h: &Header| h.format == FORMAT && h.program == program;
    let Some(vocabulary) = read_headed(&dir.join(VOCABULARY_FILE), ours) else {
        return writing_runs(crate::search::Stored::fresh(), &dir);
    };
    let runs: Vec<(memo::Key, PathBuf)> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((run_key(entry.file_name().to_str()?)?, entry.path())))
        .collect();
    let runs: Vec<(memo::Key, String, Vec<u8>)> = runs
        .into_par_iter()
        .filter_map(|(key, path)| {
            let mut generation = String::new();
            let bytes = read_headed(&path, |h| {
                generation = h.settings.clone();
                ours(h)
            })?;
            Some((key, generation, bytes))
        })
        .collect();
    let stored = crate::search::Stored::read(&vocabulary, runs);
    writing_runs(stored.unwrap_or_else(crate::search::Stored::fresh), &dir)
}

/// `stored`, writing the runs it is handed into `dir` (a run that cannot be
/// written is analysed again by the next build).
fn writing_runs(mut stored: crate::search::Stored, dir: &Path) -> crate::search::Stored {
    let (dir, header) = (dir.to_path_buf(), program_header(&stored.generation));
    let write = move |key: &memo::Key, bytes: &[u8]| {
        let _ = fs::create_dir_all(&dir).and_then(|()| {
            let path = dir.join(format!("{}.bin", hex(key)));
            write_headed(&path, &header, |out| out.write_all(bytes))
        });
    };
    stored.keep_runs_with(Box::new(write));
    stored
}

fn program_header(settings: &str) -> Header {
    Header {
        format: FORMAT,
        program: memo::program(),
        settings: settings.to_string(),
    }
}

fn hex(key: &memo::Key) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// The run key a file `HEX.bin` is named by.
fn run_key(name: &str) -> Option<memo::Key> {
    let hex = name.strip_suffix(".bin")?;
    if hex.len() != 32 {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

/// After a build that made its search index: writes the vocabulary, which
/// lists the build's generation from now on (the new runs' files were
/// written as they were made, under it), and removes the runs the build no
/// longer has.
pub fn write_search(root: &Path, stored: &crate::search::Stored) -> io::Result<()> {
    let dir = search_dir(root);
    let Some(kept) = stored.kept() else {
        return Ok(()); // the index was not made again: what is there holds
    };
    let Some(kept) = kept else {
        // Too many words no document has: the next build starts afresh.
        return match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    };
    fs::create_dir_all(&dir)?;
    let header = program_header("");
    write_headed(&dir.join(VOCABULARY_FILE), &header, |out| {
        out.write_all(&kept.vocabulary)
    })?;
    let runs: HashSet<&memo::Key> = kept.runs.iter().collect();
    for entry in fs::read_dir(&dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let gone = match run_key(&name) {
            Some(key) => !runs.contains(&key),
            None => is_leftover(&name),
        };
        if gone {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// [`Line`], borrowed: what is written.
#[derive(Serialize)]
struct LineRef<'a> {
    id: &'a str,
    stamp: &'a Stamp,
    fingerprint: &'a str,
    declared_slug: &'a str,
    record: &'a Record,
    diagnostics: &'a [Diagnostic],
}
