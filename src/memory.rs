//! Stage 6 for the preview: the site held in memory, as `hugo server`
//! keeps it. `dossier serve` builds into a [`Site`] and answers requests
//! from it, so a rebuild after one new article pays for no file creation,
//! kernel copy or output state: on this machine class writing the ~76 MB
//! one new article changes (`data/records.json`, the lists naming it, the
//! search terms it touches) into tmpfs cost more than everything else in
//! the rebuild. `dossier serve --render-to-disk` writes the output folder
//! instead, through [`crate::write`].
//!
//! A build fills a new map beside the published one and replaces it in one
//! step when it succeeds: requests see the old site or the new one, never a
//! mix, and a failed build leaves the old one served.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;

use crate::render::Sink;
use crate::write::safe_relative;

/// One file of the site.
#[derive(Clone)]
struct File {
    bytes: Content,
    /// What it was rendered from (see [`Sink::put_keyed`]).
    key: Option<Arc<str>>,
    /// The digest its writer gave (streamed exports), to tell it unchanged
    /// without comparing 50 MB.
    digest: Option<String>,
}

/// A file's bytes: whole, or the parts it was handed over as (see
/// [`Sink::put_parts`]), shared with what made them.
#[derive(Clone)]
pub struct Content(Arc<[Bytes]>);

impl From<Vec<u8>> for Content {
    fn from(bytes: Vec<u8>) -> Content {
        Content::whole(Bytes::from(bytes))
    }
}

impl Content {
    fn whole(bytes: Bytes) -> Content {
        Content(Arc::from([bytes]))
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Bytes] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes in one piece: a copy unless there is one part.
    pub fn to_bytes(&self) -> Bytes {
        match &*self.0 {
            [one] => one.clone(),
            parts => Bytes::from(parts.concat()),
        }
    }

    fn equals(&self, bytes: &[u8]) -> bool {
        match &*self.0 {
            [one] => one == bytes,
            _ => self.len() == bytes.len() && self.to_bytes() == bytes,
        }
    }
}

#[derive(Clone, Default)]
struct Files {
    /// Paths and keys are shared between the builds that keep a file: a
    /// rebuild puts ~12,000 files, nearly all kept, and copies no string.
    files: BTreeMap<Arc<str>, File>,
    /// Keys of groups of files written as one (see [`Sink::reuse_group`]).
    groups: BTreeMap<String, String>,
}

/// A built site in memory: what the preview serves.
#[derive(Default)]
pub struct Site {
    published: RwLock<Arc<Files>>,
}

/// What a request path names in the site.
pub enum Found {
    File(Content),
    /// A folder: its `index.html` is served at the path with a final slash.
    Folder,
    Missing,
}

impl Site {
    pub fn new() -> Site {
        Site::default()
    }

    fn current(&self) -> Arc<Files> {
        self.published
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The file at `rel` (a path relative to the site's root, parts joined
    /// by `/`, "" for the root), or whether it is a folder.
    pub fn find(&self, rel: &str) -> Found {
        let files = self.current();
        if let Some(file) = files.files.get(rel) {
            return Found::File(file.bytes.clone());
        }
        let folder = match rel {
            "" => String::new(),
            _ => format!("{rel}/"),
        };
        let has_files_below = files
            .files
            .range::<str, _>((Bound::Included(folder.as_str()), Bound::Unbounded))
            .next()
            .is_some_and(|(path, _)| path.starts_with(&folder));
        match has_files_below {
            true => Found::Folder,
            false => Found::Missing,
        }
    }

    /// Every file's path and bytes, in path order (for tests and checks
    /// that compare the preview with a build).
    pub fn files(&self) -> Vec<(String, Bytes)> {
        self.current()
            .files
            .iter()
            .map(|(path, file)| (path.to_string(), file.bytes.to_bytes()))
            .collect()
    }

    /// Starts a build. The site stays as it is until [`Staging::commit`].
    pub fn begin(&self) -> Staging<'_> {
        let old = self.current();
        Staging {
            site: self,
            new: Mutex::new(Files::default()),
            old,
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
        }
    }
}

/// A build of a [`Site`] in progress: the files put so far, and the site
/// before it to reuse files from. Dropped without a commit, it changes
/// nothing.
pub struct Staging<'a> {
    site: &'a Site,
    old: Arc<Files>,
    new: Mutex<Files>,
    written: AtomicUsize,
    unchanged: AtomicUsize,
}

impl Staging<'_> {
    pub fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    pub fn unchanged(&self) -> usize {
        self.unchanged.load(Ordering::Relaxed)
    }

    /// Publishes the new site: files not put by this build are gone.
    pub fn commit(self) {
        let new = self.new.into_inner().unwrap_or_else(|p| p.into_inner());
        *self
            .site
            .published
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
    }

    fn insert(&self, path: Arc<str>, file: File, unchanged: bool) {
        let counter = match unchanged {
            true => &self.unchanged,
            false => &self.written,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.new
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .files
            .insert(path, file);
    }

    /// Puts `bytes`, copied only when they differ from the previous
    /// build's and are not handed over: an unchanged file keeps the bytes
    /// and path it has (most of a rebuild's puts).
    fn put_file(&self, path: &str, bytes: Given, key: Option<&str>) -> io::Result<()> {
        safe_relative(path)?;
        let old = self.old.files.get_key_value(path);
        let (path, file, unchanged) = match old {
            Some((old_path, old)) if old.bytes.equals(bytes.as_slice()) => {
                let file = File {
                    bytes: old.bytes.clone(),
                    key: match (key, &old.key) {
                        (Some(new), Some(old)) if **old == *new => Some(old.clone()),
                        (key, _) => key.map(Arc::from),
                    },
                    digest: None,
                };
                (old_path.clone(), file, true)
            }
            _ => {
                let bytes = match bytes {
                    Given::Owned(owned) => Bytes::from(owned),
                    Given::Borrowed(bytes) => Bytes::copy_from_slice(bytes),
                };
                let file = File {
                    bytes: Content::whole(bytes),
                    key: key.map(Arc::from),
                    digest: None,
                };
                (Arc::from(path), file, false)
            }
        };
        self.insert(path, file, unchanged);
        Ok(())
    }
}

/// A file's bytes as [`Sink`] was given them.
enum Given<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Given<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Given::Borrowed(bytes) => bytes,
            Given::Owned(bytes) => bytes,
        }
    }
}

impl Sink for Staging<'_> {
    fn put(&self, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.put_file(path, Given::Borrowed(bytes), None)
    }

    fn put_keyed(&self, path: &str, bytes: &[u8], key: &str) -> io::Result<()> {
        self.put_file(path, Given::Borrowed(bytes), Some(key))
    }

    fn put_owned(&self, path: &str, bytes: Vec<u8>, key: Option<&str>) -> io::Result<()> {
        self.put_file(path, Given::Owned(bytes), key)
    }

    fn put_stream(
        &self,
        path: &str,
        digests: bool,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<Option<String>>,
    ) -> io::Result<()> {
        safe_relative(path)?;
        let old = self.old.files.get(path);
        // The size of the last one, so the buffer grows once.
        let mut bytes = Vec::with_capacity(old.map_or(0, |f| f.bytes.len()));
        let digest = write(&mut bytes)?;
        let digest = digest.filter(|_| digests);
        let unchanged = old.is_some_and(|old| match (&digest, &old.digest) {
            (Some(new), Some(old)) => new == old,
            _ => old.bytes.equals(&bytes),
        });
        let file = File {
            bytes: Content::whole(Bytes::from(bytes)),
            key: None,
            digest,
        };
        self.insert(Arc::from(path), file, unchanged);
        Ok(())
    }

    fn keeps_parts(&self) -> bool {
        true
    }

    fn put_parts(&self, path: &str, parts: Vec<Bytes>, digest: String) -> io::Result<()> {
        safe_relative(path)?;
        let unchanged = self
            .old
            .files
            .get(path)
            .is_some_and(|old| old.digest.as_ref() == Some(&digest));
        let file = File {
            bytes: Content(Arc::from(parts)),
            key: None,
            digest: Some(digest),
        };
        self.insert(Arc::from(path), file, unchanged);
        Ok(())
    }

    fn reuse(&self, path: &str, key: &str) -> io::Result<bool> {
        safe_relative(path)?;
        match self.old.files.get_key_value(path) {
            Some((path, old)) if old.key.as_deref() == Some(key) => {
                self.insert(path.clone(), old.clone(), true);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn reuse_group(&self, group: &str, key: &str) -> io::Result<Option<usize>> {
        if self.old.groups.get(group).map(String::as_str) != Some(key) {
            return Ok(None);
        }
        let below: Vec<(&Arc<str>, &File)> = self
            .old
            .files
            .range::<str, _>((Bound::Included(group), Bound::Unbounded))
            .take_while(|(path, _)| path.starts_with(group))
            .collect();
        let mut new = self.new.lock().unwrap_or_else(|p| p.into_inner());
        for (path, file) in &below {
            new.files.insert(Arc::clone(path), (*file).clone());
        }
        new.groups.insert(group.to_string(), key.to_string());
        self.unchanged.fetch_add(below.len(), Ordering::Relaxed);
        Ok(Some(below.len()))
    }

    fn group_done(&self, group: &str, key: &str) -> io::Result<()> {
        self.new
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .groups
            .insert(group.to_string(), key.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(site: &Site) -> Vec<String> {
        site.files().into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn a_build_is_seen_whole_once_committed_and_not_before() {
        let site = Site::new();
        let build = site.begin();
        build.put("index.html", b"one").unwrap();
        build.put("articles/a/index.html", b"a").unwrap();
        assert!(matches!(site.find("index.html"), Found::Missing));
        build.commit();
        assert!(matches!(site.find("index.html"), Found::File(b) if b.to_bytes() == "one"));
        assert!(matches!(site.find("articles"), Found::Folder));
        assert!(matches!(site.find(""), Found::Folder));
        assert!(matches!(site.find("articles/b"), Found::Missing));
        // "art" is a prefix of a path, not a folder.
        assert!(matches!(site.find("art"), Found::Missing));

        // A second build that fails (dropped) changes nothing; one that
        // commits drops what it did not put.
        let failed = site.begin();
        failed.put("index.html", b"two").unwrap();
        drop(failed);
        assert!(matches!(site.find("index.html"), Found::File(b) if b.to_bytes() == "one"));
        let next = site.begin();
        next.put("index.html", b"one").unwrap();
        next.put("new.html", b"n").unwrap();
        assert_eq!((next.written(), next.unchanged()), (1, 1));
        next.commit();
        assert_eq!(paths(&site), ["index.html", "new.html"]);
    }

    #[test]
    fn keyed_pages_and_groups_are_reused_by_their_keys() {
        let site = Site::new();
        let first = site.begin();
        first.put_keyed("a.html", b"A", "k1").unwrap();
        first.put("search/1.json", b"1").unwrap();
        first.put("search/2.json", b"2").unwrap();
        first.group_done("search/", "g1").unwrap();
        first.commit();

        let second = site.begin();
        assert!(!second.reuse("a.html", "k2").unwrap(), "another key");
        assert!(second.reuse("a.html", "k1").unwrap());
        assert_eq!(second.reuse_group("search/", "g2").unwrap(), None);
        assert_eq!(second.reuse_group("search/", "g1").unwrap(), Some(2));
        assert_eq!(second.unchanged(), 3);
        second.commit();
        assert_eq!(paths(&site), ["a.html", "search/1.json", "search/2.json"]);
        // The reused page keeps its key, the group its own.
        let third = site.begin();
        assert!(third.reuse("a.html", "k1").unwrap());
        assert_eq!(third.reuse_group("search/", "g1").unwrap(), Some(2));
    }

    #[test]
    fn streams_are_told_unchanged_by_their_digest_or_bytes() {
        let site = Site::new();
        let stream = |build: &Staging, text: &'static str, digest: Option<&'static str>| {
            build
                .put_stream("data/r.json", digest.is_some(), &mut |out| {
                    out.write_all(text.as_bytes())?;
                    Ok(digest.map(str::to_string))
                })
                .unwrap();
        };
        let first = site.begin();
        stream(&first, "[1]", Some("d1"));
        first.commit();
        let second = site.begin();
        stream(&second, "[1]", Some("d1"));
        assert_eq!((second.written(), second.unchanged()), (0, 1));
        stream(&second, "[2]", None);
        assert_eq!(second.written(), 1);
        second.commit();
        assert!(matches!(site.find("data/r.json"), Found::File(b) if b.to_bytes() == "[2]"));
    }

    #[test]
    fn parts_are_one_file_told_unchanged_by_digest() {
        let site = Site::new();
        let parts = || vec![Bytes::from_static(b"[\n"), Bytes::from_static(b"1\n]\n")];
        let first = site.begin();
        first
            .put_parts("data/r.json", parts(), "t1".into())
            .unwrap();
        first.commit();
        assert!(matches!(site.find("data/r.json"), Found::File(b) if b.to_bytes() == "[\n1\n]\n"));
        let second = site.begin();
        second
            .put_parts("data/r.json", parts(), "t1".into())
            .unwrap();
        assert_eq!(second.unchanged(), 1);
        // A whole file with those bytes is the same file.
        second.put("data/r.json", b"[\n1\n]\n").unwrap();
        assert_eq!(second.unchanged(), 2);
    }

    #[test]
    fn unchanged_files_keep_their_bytes_and_changed_ones_are_taken_whole() {
        let site = Site::new();
        let first = site.begin();
        first.put("a.html", b"A").unwrap();
        first.put_owned("b.html", b"B".to_vec(), Some("k")).unwrap();
        first.commit();
        let kept = match site.find("a.html") {
            Found::File(content) => content.to_bytes(),
            _ => panic!("a.html is missing"),
        };

        let second = site.begin();
        second.put_owned("a.html", b"A".to_vec(), None).unwrap();
        second
            .put_owned("b.html", b"B2".to_vec(), Some("k2"))
            .unwrap();
        assert_eq!((second.written(), second.unchanged()), (1, 1));
        second.commit();
        match site.find("a.html") {
            // The same allocation: nothing was copied for an unchanged file.
            Found::File(content) => assert_eq!(content.to_bytes().as_ptr(), kept.as_ptr()),
            _ => panic!("a.html is missing"),
        }
        assert!(matches!(site.find("b.html"), Found::File(b) if b.to_bytes() == "B2"));
        let third = site.begin();
        assert!(
            third.reuse("b.html", "k2").unwrap(),
            "an owned put keeps its key"
        );
    }

    #[test]
    fn refuses_paths_leaving_the_site() {
        let site = Site::new();
        let build = site.begin();
        for bad in ["", "../x", "/etc/passwd", "a/../../x"] {
            assert!(build.put(bad, b"x").is_err(), "{bad}");
        }
    }
}
