//! Stage 1: walk `content/` and read every source file into memory as text.
//!
//! Nothing here interprets an article; it only finds files, decodes their bytes
//! (UTF-8, UTF-16 with BOM, or Windows-1252 as a fallback) and pairs articles
//! with their sidecars. Files are never modified.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use unicode_normalization::UnicodeNormalization;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::{Entity, Theme};

pub const ARTICLES_DIR: &str = "content/articles";
pub const EVENTS_DIR: &str = "content/events";
pub const THEMES_FILE: &str = "content/themes.toml";
pub const ENTITIES_FILE: &str = "content/entities.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleFormat {
    /// A raw clipping.
    Text,
    /// Markdown with optional TOML or YAML front matter.
    Markdown,
}

#[derive(Debug, Clone)]
pub struct SourceText {
    /// Relative to the dossier root, with `/` separators.
    pub path: String,
    /// Decoded, NFC, `\n` line endings.
    pub text: String,
}

/// Size and modification time of an article and its sidecar: if neither
/// changed, neither did the record (the preview server's cache relies on it).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    article: Option<(u64, std::time::SystemTime)>,
    sidecar: Option<(u64, std::time::SystemTime)>,
}

impl Stamp {
    fn of(article: &Path, sidecar: Option<&Path>) -> Stamp {
        Stamp {
            article: std::fs::metadata(article)
                .ok()
                .and_then(|m| Stamp::part(&m)),
            sidecar: sidecar.and_then(|p| Stamp::part(&std::fs::metadata(p).ok()?)),
        }
    }

    /// As [`Stamp::of`], with the article's metadata already at hand.
    fn with_article(article: std::fs::Metadata, sidecar: Option<&Path>) -> Stamp {
        Stamp {
            article: Stamp::part(&article),
            sidecar: sidecar.and_then(|p| Stamp::part(&std::fs::metadata(p).ok()?)),
        }
    }

    fn part(meta: &std::fs::Metadata) -> Option<(u64, std::time::SystemTime)> {
        Some((meta.len(), meta.modified().ok()?))
    }
}

/// A record normalized by an earlier build, with what that build said of it.
#[derive(Debug, Clone)]
pub struct CachedArticle {
    pub stamp: Stamp,
    /// As the last build made it (with the slug unique in its dossier).
    pub record: std::sync::Arc<crate::model::Record>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Records kept between builds, valid while the normalization settings and
/// taxonomies are those of `settings`; for `dossier serve`, the event files
/// as last read too (the cache on disk holds records only).
#[derive(Debug, Default)]
pub struct ArticleCache {
    pub settings: String,
    pub entries: std::collections::HashMap<String, CachedArticle>,
    /// Event files as last read, by path: one unchanged since (same size
    /// and modification time) is not read again. None: not kept (a
    /// one-shot build would only copy them).
    pub events: Option<std::collections::HashMap<PathBuf, CachedEvent>>,
    /// Set by a process that watches `content/` and reports every change
    /// (`dossier serve`): its builds keep [`ArticleCache::watched`].
    pub watching: bool,
    /// The files the last build found, and the paths reported changed
    /// since: with them, a build neither walks `content/` nor looks at a
    /// file nobody reported. None: the next build walks.
    pub watched: Option<Watched>,
}

impl ArticleCache {
    /// Paths (relative to the root) a watcher reported changed.
    pub fn saw_changes(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        if let Some(watched) = &mut self.watched {
            watched.changed.extend(paths);
        }
    }

    /// The watcher may have missed changes: the next build walks `content/`.
    pub fn lost_changes(&mut self) {
        self.watched = None;
    }
}

/// See [`ArticleCache::watched`].
#[derive(Debug, Clone, Default)]
pub struct Watched {
    /// As [`list_files`] gives them.
    articles: BTreeSet<PathBuf>,
    events: BTreeSet<PathBuf>,
    /// Relative to the root.
    changed: BTreeSet<PathBuf>,
}

impl Watched {
    /// Brings `files`, the last listing of `dir`, up to date by looking at
    /// the reported paths below it. None when a walk must tell (a folder
    /// or a link appeared, a folder went, or a path cannot be read).
    fn relist(
        changed: &BTreeSet<PathBuf>,
        root: &Path,
        dir: &Path,
        files: &mut BTreeSet<PathBuf>,
    ) -> Option<()> {
        for rel in changed {
            let path = root.join(rel);
            if dir.starts_with(&path) {
                return None; // the folder itself, or one above it
            }
            let Ok(below) = path.strip_prefix(dir) else {
                continue;
            };
            let hidden = below
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            if hidden {
                continue; // never listed (hidden files and folders are skipped)
            }
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    files.insert(path);
                }
                Ok(_) => return None,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    files.remove(&path);
                    if files
                        .range(path.clone()..)
                        .next()
                        .is_some_and(|f| f.starts_with(&path))
                    {
                        return None; // a folder removed
                    }
                }
                Err(_) => return None,
            }
        }
        Some(())
    }
}

/// An event file's text, with the size and modification time it had.
#[derive(Debug, Clone)]
pub struct CachedEvent {
    stamp: (u64, std::time::SystemTime),
    source: SourceText,
}

#[derive(Debug, Clone)]
pub struct SourceArticle {
    pub id: String,
    pub stamp: Stamp,
    pub format: ArticleFormat,
    pub source: SourceText,
    /// blake3 of the file's bytes, before decoding.
    pub hash: String,
    pub sidecar: Option<SourceText>,
}

#[derive(Debug, Default)]
pub struct Content {
    /// Sorted by id: the articles to normalize.
    pub articles: Vec<SourceArticle>,
    /// Articles unchanged since they were cached: not read again.
    pub reused: Vec<CachedArticle>,
    pub themes: Vec<Theme>,
    pub entities: Vec<Entity>,
    /// Sorted by path.
    pub events: Vec<SourceText>,
    /// The event files read or reused, for a cache that keeps them.
    pub read_events: Vec<(PathBuf, CachedEvent)>,
    /// What was found, for a cache that is watching.
    pub watched: Option<Watched>,
}

/// Reads everything under `ROOT/content`. Problems become diagnostics; the
/// files that could be read are still returned so `check` reports all at once.
pub fn load(root: &Path, diagnostics: &Diagnostics) -> Content {
    load_with_cache(root, diagnostics, None, None)
}

/// As [`load`], but articles whose files did not change since `cache` was
/// filled are returned as cached records instead of being read.
/// `watched`: what the cache's last build found and the changes reported
/// since (see [`ArticleCache::watched`]).
pub fn load_with_cache(
    root: &Path,
    diagnostics: &Diagnostics,
    cache: Option<&ArticleCache>,
    watched: Option<Watched>,
) -> Content {
    let articles_dir = root.join(ARTICLES_DIR);
    if !articles_dir.is_dir() {
        diagnostics.push(
            Diagnostic::error(ARTICLES_DIR, None, "no articles folder")
                .with_hint("create content/articles/ and put clippings (.txt) or markdown (.md) in it, or run `dossier init DIR`"),
        );
    }
    let events_dir = root.join(EVENTS_DIR);
    // With every change since the last build reported, only those paths
    // are looked at: no walk, no stat of 10,000 unchanged files.
    let mut changed = BTreeSet::new();
    let mut known = None;
    if let Some(mut w) = watched {
        changed = std::mem::take(&mut w.changed);
        if Watched::relist(&changed, root, &articles_dir, &mut w.articles)
            .and_then(|()| Watched::relist(&changed, root, &events_dir, &mut w.events))
            .is_some()
        {
            known = Some(w);
        }
    }
    let all_known = known.is_some();
    let unchanged = |path: &Path| {
        all_known
            && path
                .strip_prefix(root)
                .is_ok_and(|rel| !changed.contains(rel))
    };
    let listing = known.take().unwrap_or_else(|| Watched {
        articles: list_files(root, &articles_dir, diagnostics)
            .into_iter()
            .collect(),
        events: list_files(root, &events_dir, diagnostics)
            .into_iter()
            .collect(),
        changed: BTreeSet::new(),
    });
    let (article_files, event_files) = (&listing.articles, &listing.events);

    // id -> (the article file and its format, its sidecar)
    type Pair = (Option<(PathBuf, ArticleFormat)>, Option<PathBuf>);
    let mut by_id: BTreeMap<String, Pair> = BTreeMap::new();
    for file in article_files {
        let Some(stem) = file.file_stem().and_then(|s| s.to_str()) else {
            diagnostics.push(
                Diagnostic::warning(
                    relative(root, file),
                    None,
                    "file name is not valid UTF-8; skipped",
                )
                .with_hint("rename the file"),
            );
            continue;
        };
        let stem: String = stem.nfc().collect();
        let ext = file
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let entry = by_id.entry(stem.clone()).or_default();
        match ext.as_str() {
            "txt" | "md" | "markdown" => {
                let format = if ext == "txt" {
                    ArticleFormat::Text
                } else {
                    ArticleFormat::Markdown
                };
                if let Some((other, _)) = &entry.0 {
                    diagnostics.push(
                        Diagnostic::error(
                            relative(root, file),
                            None,
                            format!(
                                "article id {stem:?} is also used by {}",
                                relative(root, other)
                            ),
                        )
                        .with_hint(
                            "ids are file stems and must be unique: rename one of the files",
                        ),
                    );
                    continue;
                }
                entry.0 = Some((file.clone(), format));
            }
            "toml" => entry.1 = Some(file.clone()),
            _ => diagnostics.push(
                Diagnostic::warning(
                    relative(root, file),
                    None,
                    "not an article (.txt, .md) or sidecar (.toml); ignored",
                )
                .with_hint("articles are .txt clippings or .md markdown"),
            ),
        }
    }

    let pairs: Vec<_> = by_id.into_iter().collect();
    let loaded: Vec<Result<SourceArticle, CachedArticle>> = pairs
        .into_par_iter()
        .filter_map(|(id, (article, sidecar))| {
            let Some((path, format)) = article else {
                if let Some(sidecar) = sidecar {
                    diagnostics.push(
                        Diagnostic::warning(
                            relative(root, &sidecar),
                            None,
                            format!("sidecar without an article named {id}.txt or {id}.md"),
                        )
                        .with_hint(
                            "a sidecar ID.toml annotates the article ID.txt or ID.md beside it",
                        ),
                    );
                }
                return None;
            };
            // Made from this very file: `ID.md` and `ID.txt` share an id,
            // and the one left after a clash must not take the other's record.
            // (Compared as paths: no string is made for the 10,000 hits.)
            let hit = cache.and_then(|c| c.entries.get(&id)).filter(|hit| {
                path.strip_prefix(root)
                    .is_ok_and(|rel| rel == Path::new(&hit.record.source))
            });
            if let Some(hit) = hit
                && unchanged(&path)
                && sidecar.as_deref().is_none_or(&unchanged)
                && hit.stamp.sidecar.is_some() == sidecar.is_some()
            {
                return Some(Err(hit.clone()));
            }
            let (stamp, rel, bytes) = match hit {
                Some(hit) => {
                    let stamp = Stamp::of(&path, sidecar.as_deref());
                    if hit.stamp == stamp {
                        return Some(Err(hit.clone()));
                    }
                    // Only for what is read: a hit needs no path string.
                    let rel = relative(root, &path);
                    let bytes = read_bytes(&path, &rel, diagnostics)?;
                    (stamp, rel, bytes)
                }
                // Nothing cached: the stamp comes from the open file, one
                // lookup of its path fewer (100,000 of them in one folder).
                None => {
                    let rel = relative(root, &path);
                    let (bytes, meta) = read_with_metadata(&path, &rel, diagnostics)?;
                    (Stamp::with_article(meta, sidecar.as_deref()), rel, bytes)
                }
            };
            let hash = blake3::hash(&bytes).to_hex().to_string();
            let text = decode_owned(bytes, &rel, diagnostics)?;
            if text.trim().is_empty() {
                diagnostics.push(
                    Diagnostic::error(&rel, Some(1), "empty article")
                        .with_hint("paste the article's text into the file, or delete it"),
                );
                return None;
            }
            let sidecar = sidecar.and_then(|p| read_text(root, &p, diagnostics));
            Some(Ok(SourceArticle {
                id,
                stamp,
                format,
                source: SourceText { path: rel, text },
                hash,
                sidecar,
            }))
        })
        .collect();
    let mut articles = Vec::new();
    let mut reused = Vec::with_capacity(loaded.len());
    for item in loaded {
        match item {
            Ok(article) => articles.push(article),
            Err(cached) => reused.push(cached),
        }
    }

    let mut events: Vec<(SourceText, Option<(PathBuf, CachedEvent)>)> = event_files
        .par_iter()
        .filter(|p| {
            let is_md = matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("md" | "markdown")
            );
            if !is_md {
                diagnostics.push(
                    Diagnostic::warning(
                        relative(root, p),
                        None,
                        "not an event file (.md); ignored",
                    )
                    .with_hint("events are markdown files with front matter"),
                );
            }
            is_md
        })
        .filter_map(|p| {
            let Some(kept) = cache.and_then(|c| c.events.as_ref()) else {
                return Some((read_text(root, p, diagnostics)?, None));
            };
            let hit = kept.get(p);
            let reuse =
                |hit: &CachedEvent| Some((hit.source.clone(), Some((p.clone(), hit.clone()))));
            if let Some(hit) = hit
                && unchanged(p)
            {
                return reuse(hit);
            }
            let stamp = std::fs::metadata(p).ok().and_then(|m| Stamp::part(&m));
            if let (Some(stamp), Some(hit)) = (stamp, hit)
                && hit.stamp == stamp
            {
                return reuse(hit);
            }
            // Stamped before reading: a change in between reads it again next time.
            let source = read_text(root, p, diagnostics)?;
            let cached = stamp.map(|stamp| {
                let source = source.clone();
                (p.clone(), CachedEvent { stamp, source })
            });
            Some((source, cached))
        })
        .collect();
    events.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let (events, read_events): (Vec<SourceText>, Vec<_>) = events.into_iter().unzip();
    let read_events = read_events.into_iter().flatten().collect();

    Content {
        articles,
        reused,
        read_events,
        watched: cache.is_some_and(|c| c.watching).then_some(listing),
        themes: load_table(root, THEMES_FILE, "theme", diagnostics),
        entities: load_table(root, ENTITIES_FILE, "entity", diagnostics),
        events,
    }
}

fn load_table<T: serde::de::DeserializeOwned>(
    root: &Path,
    file: &str,
    key: &str,
    diagnostics: &Diagnostics,
) -> Vec<T> {
    let path = root.join(file);
    if !path.exists() {
        return Vec::new();
    }
    let Some(source) = read_text(root, &path, diagnostics) else {
        return Vec::new();
    };
    // `[[theme]]` / `[[entity]]` tables; parse into a map to keep the key generic.
    let parsed: Result<BTreeMap<String, Vec<T>>, _> = toml::from_str(&source.text);
    match parsed {
        Ok(mut map) => {
            let unknown: Vec<_> = map.keys().filter(|k| *k != key).cloned().collect();
            for k in unknown {
                diagnostics.push(
                    Diagnostic::warning(file, None, format!("unknown table [[{k}]]; ignored"))
                        .with_hint(format!("this file holds [[{key}]] tables")),
                );
            }
            map.remove(key).unwrap_or_default()
        }
        Err(e) => {
            let line = e
                .span()
                .map(|s| crate::diagnostics::line_of_offset(&source.text, s.start));
            diagnostics.push(
                Diagnostic::error(file, line, e.message().trim().to_string())
                    .with_hint(format!("each [[{key}]] needs slug and name; see README.md")),
            );
            Vec::new()
        }
    }
}

/// What normalization depends on besides the article: the config's
/// normalization settings and the two taxonomy files, as one string.
pub fn settings_of(root: &Path, config: &crate::config::Config) -> String {
    let mut h = blake3::Hasher::new();
    h.update(format!("{:?}", config.normalize).as_bytes());
    for file in [THEMES_FILE, ENTITIES_FILE] {
        h.update(&std::fs::read(root.join(file)).unwrap_or_default());
        h.update(b"\0");
    }
    h.finalize().to_hex().to_string()
}

/// Files below `dir`, sorted, skipping hidden ones. Symlinks are followed only
/// when they resolve inside the dossier root.
fn list_files(root: &Path, dir: &Path, diagnostics: &Diagnostics) -> Vec<PathBuf> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| relative(root, p))
                    .unwrap_or_else(|| relative(root, dir));
                diagnostics.push(
                    Diagnostic::error(path, None, format!("cannot read: {e}"))
                        .with_hint("check the folder's permissions"),
                );
                continue;
            }
        };
        let path = entry.path();
        if entry.path_is_symlink() {
            match path.canonicalize() {
                Ok(target) if target.starts_with(&canonical_root) && target.is_file() => {
                    files.push(path.to_path_buf())
                }
                _ => diagnostics.push(
                    Diagnostic::warning(relative(root, path), None, "symbolic link to a file outside the dossier (or a folder, or nothing); not followed")
                        .with_hint("copy the file into content/ instead of linking it"),
                ),
            }
        } else if entry.file_type().is_file() {
            files.push(path.to_path_buf());
        }
    }
    files
}

fn read_bytes(path: &Path, rel: &str, diagnostics: &Diagnostics) -> Option<Vec<u8>> {
    read_with_metadata(path, rel, diagnostics).map(|(bytes, _)| bytes)
}

/// The file's bytes and its metadata, from one open file.
fn read_with_metadata(
    path: &Path,
    rel: &str,
    diagnostics: &Diagnostics,
) -> Option<(Vec<u8>, std::fs::Metadata)> {
    use std::io::Read;
    let read = || -> std::io::Result<(Vec<u8>, std::fs::Metadata)> {
        let mut file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes)?;
        Ok((bytes, meta))
    };
    match read() {
        Ok(read) => Some(read),
        Err(e) => {
            diagnostics.push(
                Diagnostic::error(rel, None, format!("cannot read: {e}"))
                    .with_hint("check the file's permissions"),
            );
            None
        }
    }
}

pub fn read_text(root: &Path, path: &Path, diagnostics: &Diagnostics) -> Option<SourceText> {
    let rel = relative(root, path);
    let bytes = read_bytes(path, &rel, diagnostics)?;
    let text = decode_owned(bytes, &rel, diagnostics)?;
    Some(SourceText { path: rel, text })
}

/// Path relative to the root, `/`-separated, for diagnostics and records.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Bytes to clean text: BOMs and encodings handled, `\n` endings, NFC, and
/// invisible controls that could disguise text (bidi overrides, zero-width
/// spaces) removed. Binary files are refused.
pub fn decode(bytes: &[u8], rel: &str, diagnostics: &Diagnostics) -> Option<String> {
    decode_owned(bytes.to_vec(), rel, diagnostics)
}

/// As [`decode`]; clean UTF-8 (nearly every file) becomes the text without
/// a copy.
pub fn decode_owned(bytes: Vec<u8>, rel: &str, diagnostics: &Diagnostics) -> Option<String> {
    let raw: String = if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(&bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            diagnostics.push(
                Diagnostic::warning(
                    rel,
                    None,
                    format!("invalid {} sequences replaced by U+FFFD", encoding.name()),
                )
                .with_hint("re-save the file as UTF-8"),
            );
        }
        text.into_owned()
    } else if bytes.contains(&0) {
        let line = crate::diagnostics::line_of_offset(
            &String::from_utf8_lossy(&bytes),
            bytes.iter().position(|&b| b == 0).unwrap_or(0),
        );
        diagnostics.push(
            Diagnostic::error(rel, Some(line), "binary file (contains NUL bytes)")
                .with_hint("articles must be text: UTF-8 (or UTF-16 with a byte-order mark); remove the file or convert it"),
        );
        return None;
    } else {
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let line = crate::diagnostics::line_of_offset(
                    &String::from_utf8_lossy(&bytes[..valid]),
                    valid,
                );
                diagnostics.push(
                    Diagnostic::warning(rel, Some(line), "not UTF-8; decoded as Windows-1252")
                        .with_hint("re-save the file as UTF-8 to be sure every character is right"),
                );
                encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(&bytes)
                    .0
                    .into_owned()
            }
        }
    };
    Some(clean_text_owned(raw))
}

/// Line endings to `\n`, NFC, and invisible format characters removed.
pub fn clean_text(raw: &str) -> String {
    if is_clean(raw) {
        return raw.to_string();
    }
    tidy(raw)
}

/// As [`clean_text`], keeping the string when it is clean already.
fn clean_text_owned(raw: String) -> String {
    if is_clean(&raw) { raw } else { tidy(&raw) }
}

fn unwanted(c: char) -> bool {
    matches!(c,
        '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        || (c.is_control() && c != '\n' && c != '\t')
}

fn tidy(raw: &str) -> String {
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    unified.nfc().filter(|&c| !unwanted(c)).collect()
}

/// Whether [`tidy`] would change nothing. Most files are clean already:
/// their ASCII is checked a block at a time (no short cut, so it
/// vectorizes) and only their other characters are decoded. ASCII text and
/// newlines are NFC and wanted; leaving ASCII (combining class 0) out of
/// the NFC quick check only joins runs of marks, so it can say "no"
/// wrongly (then the slow path runs), never "yes".
fn is_clean(raw: &str) -> bool {
    let control = |b: u8| (b < b' ' && b != b'\n' && b != b'\t') || b == 0x7F;
    let ascii_ok = raw
        .as_bytes()
        .chunks(64)
        .all(|block| !block.iter().fold(false, |bad, &b| bad | control(b)));
    if !ascii_ok {
        return false;
    }
    let mut wanted = true;
    let non_ascii = non_ascii_chars(raw).inspect(|&c| wanted &= !unwanted(c));
    let nfc = unicode_normalization::is_nfc_quick(non_ascii);
    // The quick check reads every character when it answers yes.
    nfc == unicode_normalization::IsNormalized::Yes && wanted
}

/// The characters of `text` outside ASCII, found by skipping over ASCII bytes.
pub(crate) fn non_ascii_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    let mut rest = text;
    std::iter::from_fn(move || {
        let at = rest.bytes().position(|b| b >= 0x80)?;
        let c = rest[at..].chars().next()?;
        rest = &rest[at + c.len_utf8()..];
        Some(c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_ok(bytes: &[u8]) -> (String, Vec<Diagnostic>) {
        let d = Diagnostics::new();
        let text = decode(bytes, "a.txt", &d).unwrap();
        (text, d.into_sorted())
    }

    #[test]
    fn strips_utf8_bom_and_crlf() {
        let (text, diags) = decode_ok(b"\xEF\xBB\xBFdate 2022-05 Hej\r\nverden\r\n");
        assert_eq!(text, "date 2022-05 Hej\nverden\n");
        assert!(diags.is_empty());
    }

    #[test]
    fn decodes_utf16_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "Kärnvapen\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode_ok(&bytes).0, "Kärnvapen\n");
    }

    #[test]
    fn falls_back_to_windows_1252_with_a_warning() {
        let (text, diags) = decode_ok(b"Wei\xDFrussland \x93Zitat\x94");
        assert_eq!(text, "Weißrussland “Zitat”");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("Windows-1252"));
    }

    #[test]
    fn refuses_binary_with_nul() {
        let d = Diagnostics::new();
        assert!(decode(b"abc\0def", "a.txt", &d).is_none());
        assert!(d.has_errors());
    }

    proptest::proptest! {
        /// The quick check never keeps a text that tidying would change.
        #[test]
        fn clean_text_is_what_tidying_gives(
            text in "[a-z \n\t\r\u{7f}\u{1}äöå\u{301}\u{308}\u{200b}\u{202e}\u{ad}\u{fb01}ÅA]{0,40}"
        ) {
            proptest::prop_assert_eq!(clean_text(&text), tidy(&text));
            proptest::prop_assert_eq!(clean_text_owned(text.clone()), tidy(&text));
        }
    }

    #[test]
    fn normalizes_to_nfc_and_drops_invisible_controls() {
        let (text, _) = decode_ok("Ka\u{0308}rn\u{200B}vapen \u{202E}abc".as_bytes());
        assert_eq!(text, "Kärnvapen abc");
    }
}
