//! Stage 6: the output folder, replaced atomically.
//!
//! The output folder has a spare beside it, holding the generation before.
//! A build brings the spare up to date (only files whose bytes differ are
//! touched; a file equal to the live one is hard-linked from it, so it keeps
//! its mtime), then exchanges spare and live in one
//! `renameat2(RENAME_EXCHANGE)`: a failed or killed build leaves the previous
//! site whole, and an unchanged rebuild writes nothing. Wiping and recreating
//! a 10,000-page tree costs seconds on this class of disk; this costs a
//! manifest lookup a page.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostic;
use crate::render::Sink;

/// Refuses output folders whose replacement would destroy something else:
/// the dossier itself, its content, `/`, the home folder, or a parent of the root.
pub fn check_output(root: &Path, output: &Path) -> Result<(), Diagnostic> {
    let absolute = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        // Resolve what exists, keep the rest lexically normalized.
        let mut existing = p.clone();
        let mut tail = Vec::new();
        while !existing.exists() {
            match (
                existing.file_name().map(|n| n.to_os_string()),
                existing.parent(),
            ) {
                (Some(name), Some(parent)) => {
                    tail.push(name);
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut resolved = existing.canonicalize().unwrap_or(existing);
        for name in tail.into_iter().rev() {
            resolved.push(name);
        }
        normalize_lexically(&resolved)
    };
    let given = output;
    let root = absolute(root);
    let output = absolute(output);
    let refuse = |why: &str| {
        Err(Diagnostic::error(
            output.display().to_string(),
            None,
            format!("refusing to use this output folder: {why}"),
        )
        .with_hint("choose a folder of its own, e.g. --output public (the default)"))
    };
    if output.parent().is_none() {
        return refuse("it is the file system root");
    }
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from)
        && normalize_lexically(&home) == output
    {
        return refuse("it is the home folder");
    }
    if root.starts_with(&output) {
        return refuse("it is the dossier root or a parent of it");
    }
    for protected in ["content", "templates", "static", ".git"] {
        if output.starts_with(root.join(protected)) {
            return refuse(&format!("it is inside the dossier's {protected}/"));
        }
    }
    // The output, or the nearest of its ancestors that exists, must be a
    // folder: below a file, creating the output fails with a bare OS error.
    if let Some(file) = file_in_the_way(given) {
        return refuse(&format!(
            "{} is a file, not a folder: choose another --output",
            file.display()
        ));
    }
    // An existing folder that does not look like a site we built.
    if output.is_dir()
        && !output.join(MARKER).exists()
        && fs::read_dir(&output)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        return refuse(
            "it is a non-empty folder that dossier did not build (no .dossier-site marker)",
        );
    }
    Ok(())
}

/// The output itself, or the nearest of its ancestors that exists (following
/// symbolic links), when that is not a folder; as the path was given.
fn file_in_the_way(output: &Path) -> Option<&Path> {
    output
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists())
        .filter(|a| !a.is_dir())
}

/// Written into every built site so a later build knows the folder is ours.
pub const MARKER: &str = ".dossier-site";

fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Content hashes of one generation's files, by path.
type Manifest = BTreeMap<String, String>;

/// One generation of the output: its files' hashes, and the keys of the
/// inputs its pages were rendered from (a page whose key is unchanged is
/// kept without rendering it).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Generation {
    manifest: Manifest,
    keys: BTreeMap<String, String>,
}

/// What the last build left: the generations it knows of (the site it
/// made, and the one before it). Each folder's marker file holds the token
/// of the generation in it; a folder whose marker names none (a build was
/// killed while changing it, or the state is older) is not trusted. The
/// state is written once a build, before the swap: a build killed on
/// either side of the swap leaves two folders that each name what they hold.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// Which build wrote it (process, time, count): first in the file, so
    /// that a process can tell its own state by reading a few bytes.
    #[serde(default)]
    written_by: String,
    generations: Vec<Generation>,
}

/// The state a build of this process wrote, kept for its next build
/// (`dossier serve`): used instead of reading and parsing the state file
/// (40 MB at 100,000 articles) while that file is still the one written,
/// as its first bytes tell.
pub struct WrittenState {
    state: State,
}

impl WrittenState {
    fn is_in(&self, state_file: &Path) -> bool {
        use std::io::Read;
        let want = format!("{{\"written_by\":{}", json_string(&self.state.written_by));
        let mut head = vec![0; want.len()];
        File::open(state_file)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| head == want.as_bytes())
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A name for the state a build writes, unique to it.
fn build_name() -> String {
    static BUILDS: AtomicUsize = AtomicUsize::new(0);
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let count = BUILDS.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{count}", std::process::id(), time.as_nanos())
}

/// A generation's name, written into its marker file: a digest of its
/// manifest, so equal sites have equal markers.
fn token(manifest: &Manifest) -> String {
    // Hashed at once: four small updates an entry were 2-3 % of a rebuild.
    let mut all = Vec::with_capacity(manifest.len() * 80);
    for (path, hash) in manifest {
        all.extend_from_slice(path.as_bytes());
        all.push(b'\0');
        all.extend_from_slice(hash.as_bytes());
        all.push(b'\n');
    }
    blake3::hash(&all).to_hex()[..32].to_string()
}

/// The digest a file is known by, from the digests of its parts, for a
/// file whose bytes tell where each part begins (JSON lines: an element a
/// line): then a function of the bytes alone. A writer that keeps its
/// parts' digests (`data/records.json`, a line a record) so spares hashing
/// 50 MB again. Marked `t`: never equal to a plain hash of other bytes.
pub fn digest_of_parts<'a>(parts: impl IntoIterator<Item = &'a [u8; 32]>) -> String {
    let mut all = Vec::new();
    for part in parts {
        all.extend_from_slice(part);
    }
    format!("t{}", &blake3::hash(&all).to_hex()[..31])
}

/// An output being updated. Two generations live beside each other: the live
/// site and a spare holding the site before it. A build brings the spare up
/// to date by touching only the files that differ from it, then exchanges
/// the two folders in one atomic rename. So a failed or killed build never
/// shows a half-new site, and an unchanged build writes nothing.
pub struct Staging {
    output: PathBuf,
    spare: PathBuf,
    state_file: PathBuf,
    live: Option<Manifest>,
    /// What the spare folder holds now (updated by every put).
    spare_manifest: Mutex<Manifest>,
    /// Paths put by this build.
    seen: Mutex<BTreeSet<String>>,
    /// Render keys of the live pages, and of this build's.
    keys: BTreeMap<String, String>,
    new_keys: Mutex<BTreeMap<String, String>>,
    _lock: File,
    written: AtomicUsize,
    unchanged: AtomicUsize,
}

impl Staging {
    /// Starts a build of `output`. Holds a lock so two builds of the same
    /// output cannot interleave.
    pub fn begin(output: &Path) -> io::Result<Staging> {
        Staging::begin_after(output, None)
    }

    /// As [`Staging::begin`], after a build of this process that wrote
    /// `written`.
    pub fn begin_after(output: &Path, written: Option<WrittenState>) -> io::Result<Staging> {
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "public".into());
        let parent = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)?;
        let lock = File::create(parent.join(format!(".{name}.dossier-lock")))?;
        lock.lock()?;

        let spare = parent.join(format!(".{name}.dossier-spare"));
        let state_file = parent.join(format!(".{name}.dossier-state.json"));
        let state: State = match written {
            Some(w) if w.is_in(&state_file) => w.state,
            _ => fs::read(&state_file)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default(),
        };
        // Which generation each folder's marker names, if any.
        let tokens: Vec<String> = state
            .generations
            .iter()
            .map(|g| token(&g.manifest))
            .collect();
        let named_in = |folder: &Path| {
            let marker = fs::read_to_string(folder.join(MARKER)).ok()?;
            tokens.iter().position(|t| *t == marker)
        };
        let live_at = named_in(output);
        let spare_at = named_in(&spare).filter(|_| spare.is_dir());
        // Taken, not copied (100,000-entry maps), but for one generation
        // both folders hold (an unchanged rebuild makes them equal).
        let mut generations: Vec<Option<Generation>> =
            state.generations.into_iter().map(Some).collect();
        let live_generation = live_at.and_then(|i| match spare_at == Some(i) {
            true => generations[i].clone(),
            false => generations[i].take(),
        });
        let (live, keys) = match live_generation {
            Some(g) => (Some(g.manifest), g.keys),
            None => (None, BTreeMap::new()),
        };
        let spare_manifest = match spare_at.and_then(|i| generations[i].take()) {
            Some(g) => g.manifest,
            None => {
                // Unknown contents (first build, or a killed one): start empty.
                if spare.exists() {
                    fs::remove_dir_all(&spare)?;
                }
                fs::create_dir_all(&spare)?;
                Manifest::new()
            }
        };
        // From here until commit or abort the spare is being changed: it
        // names no generation.
        match fs::remove_file(spare.join(MARKER)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(Staging {
            output: output.to_path_buf(),
            spare,
            state_file,
            live,
            spare_manifest: Mutex::new(spare_manifest),
            seen: Mutex::new(BTreeSet::new()),
            keys,
            new_keys: Mutex::new(BTreeMap::new()),
            _lock: lock,
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
        })
    }

    pub fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    pub fn unchanged(&self) -> usize {
        self.unchanged.load(Ordering::Relaxed)
    }

    /// Removes what the new site no longer has, then swaps the spare in.
    pub fn commit(self) -> io::Result<()> {
        self.commit_remembering().map(|_| ())
    }

    /// As [`Staging::commit`], giving back the state written, for
    /// [`Staging::begin_after`].
    pub fn commit_remembering(self) -> io::Result<WrittenState> {
        let seen = self.seen.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut spare = self
            .spare_manifest
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        let stale: Vec<String> = spare
            .keys()
            .filter(|p| !seen.contains(*p))
            .cloned()
            .collect();
        for path in &stale {
            let file = self.spare.join(path);
            match fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            spare.remove(path);
            remove_empty_parents(&self.spare, &file);
        }
        fs::write(self.spare.join(MARKER), token(&spare))?;
        let new_keys = self
            .new_keys
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        // The site made and, as the spare-to-be, the live one. Its keys are
        // left out: only the live generation's are ever used, and should
        // the swap not happen the next build renders every page again.
        let mut generations = vec![Generation {
            manifest: spare,
            keys: new_keys,
        }];
        if let Some(live) = self.live.filter(|_| self.output.exists()) {
            generations.push(Generation {
                manifest: live,
                keys: BTreeMap::new(),
            });
        }
        let state = State {
            written_by: build_name(),
            generations,
        };
        write_state(&self.state_file, &state)?;
        if self.output.exists() {
            exchange(&self.spare, &self.output)?;
        } else {
            fs::rename(&self.spare, &self.output)?;
        }
        Ok(WrittenState { state })
    }

    /// Leaves the live site alone; records what the spare now holds.
    pub fn abort(self) {
        let spare = self
            .spare_manifest
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        let mut generations = Vec::new();
        if let Some(live) = self.live {
            generations.push(Generation {
                manifest: live,
                keys: self.keys,
            });
        }
        let spare_token = token(&spare);
        generations.push(Generation {
            manifest: spare,
            keys: BTreeMap::new(),
        });
        let state = State {
            written_by: build_name(),
            generations,
        };
        if write_state(&self.state_file, &state).is_ok() {
            let _ = fs::write(self.spare.join(MARKER), spare_token);
        }
    }

    /// Puts `bytes` at `rel`, or, with `bytes` None, the live site's file
    /// (whose content hash is `known`).
    fn place(&self, rel: &str, bytes: Option<&[u8]>, known: Option<&str>) -> io::Result<()> {
        let hash = match (bytes, known) {
            (_, Some(hash)) => hash.to_string(),
            (Some(bytes), None) => blake3::hash(bytes).to_hex()[..32].to_string(),
            (None, None) => return Err(io::Error::other("nothing to place")),
        };
        let bytes = bytes.unwrap_or_default();
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rel.to_string());
        let in_spare = self
            .spare_manifest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(rel)
            == Some(&hash);
        let in_live = match &self.live {
            Some(live) => live.get(rel) == Some(&hash),
            // No manifest (a site from an older build): compare the bytes.
            None => fs::read(self.output.join(rel)).is_ok_and(|old| old == bytes),
        };
        let target = self.spare.join(rel);
        if in_spare {
            if !in_live {
                // Content came back to what the spare had: mark it changed.
                File::options()
                    .write(true)
                    .open(&target)?
                    .set_modified(std::time::SystemTime::now())?;
            }
            self.unchanged
                .fetch_add(in_live as usize, Ordering::Relaxed);
            self.written.fetch_add(!in_live as usize, Ordering::Relaxed);
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let live_file = self.output.join(rel);
        let write_new =
            |path: &Path| -> io::Result<()> { File::create_new(path)?.write_all(bytes) };
        // Usually the spare has no such file (a new page, or a first build):
        // then it goes straight into place, as nothing can share it. This
        // saves a temporary name and a rename a file.
        let direct = if in_live {
            fs::hard_link(&live_file, &target)
        } else {
            write_new(&target)
        };
        match direct {
            Ok(()) => {
                let counter = if in_live {
                    &self.unchanged
                } else {
                    &self.written
                };
                counter.fetch_add(1, Ordering::Relaxed);
                self.spare_manifest
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(rel.to_string(), hash);
                return Ok(());
            }
            // An older file is there (or linking failed): replace it below.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists || in_live => {}
            Err(e) => return Err(e),
        }
        // Files may be shared (hard links) between generations: never write
        // into one; put a new file in its place.
        let temp = temp_beside(&target);
        let _ = fs::remove_file(&temp);
        if in_live && fs::hard_link(&live_file, &temp).is_ok() {
            self.unchanged.fetch_add(1, Ordering::Relaxed);
        } else {
            write_new(&temp)?;
            self.written.fetch_add(1, Ordering::Relaxed);
        }
        fs::rename(&temp, &target)?;
        self.spare_manifest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rel.to_string(), hash);
        Ok(())
    }
}

impl Staging {
    /// As [`Staging::place`] for a file written as it is made: into a new
    /// file beside its place, hashed on the way unless the writer gives its
    /// digest; then kept, or dropped for the copy the spare or the live
    /// site already has.
    fn place_stream(
        &self,
        rel: &str,
        digests: bool,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<Option<String>>,
    ) -> io::Result<()> {
        let target = self.spare.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let temp = temp_beside(&target);
        let _ = fs::remove_file(&temp);
        let written = (|| {
            let mut out = Hashing {
                inner: std::io::BufWriter::new(File::create_new(&temp)?),
                hasher: (!digests).then(blake3::Hasher::new),
            };
            let given = write(&mut out)?;
            out.inner.flush()?;
            match (given, out.hasher) {
                (Some(digest), _) => Ok(digest),
                (None, Some(hasher)) => Ok(hasher.finalize().to_hex()[..32].to_string()),
                (None, None) => Err(io::Error::other("a stream promised its digest")),
            }
        })();
        let hash = match written {
            Ok(hash) => hash,
            Err(e) => {
                let _ = fs::remove_file(&temp);
                return Err(e);
            }
        };
        let known = |manifest: Option<&Manifest>| manifest.and_then(|m| m.get(rel)) == Some(&hash);
        let in_spare = known(Some(
            &*self
                .spare_manifest
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        ));
        if in_spare || known(self.live.as_ref()) {
            // Bytes the output has already: that file is kept (its mtime too).
            let _ = fs::remove_file(&temp);
            return self.place(rel, None, Some(&hash));
        }
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rel.to_string());
        fs::rename(&temp, &target)?;
        self.written.fetch_add(1, Ordering::Relaxed);
        self.spare_manifest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rel.to_string(), hash);
        Ok(())
    }
}

/// A writer that hashes what passes through it, unless told the digest.
struct Hashing<W: Write> {
    inner: W,
    hasher: Option<blake3::Hasher>,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The temporary name a new file gets beside `target` before it replaces it.
fn temp_beside(target: &Path) -> PathBuf {
    target.with_file_name(format!(
        ".{}.dossier-new",
        target
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ))
}

fn write_state(path: &Path, state: &State) -> io::Result<()> {
    let temp = path.with_extension("json.new");
    fs::write(&temp, serde_json::to_vec(state).map_err(io::Error::other)?)?;
    fs::rename(&temp, path)
}

/// Removes folders left empty by a removed page, up to (not including) `top`.
fn remove_empty_parents(top: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == top || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Rejects paths that would leave the output folder.
pub(crate) fn safe_relative(path: &str) -> io::Result<&Path> {
    let p = Path::new(path);
    if path.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsafe output path {path:?}"),
        ));
    }
    Ok(p)
}

impl Sink for Staging {
    fn put(&self, path: &str, bytes: &[u8]) -> io::Result<()> {
        safe_relative(path)?;
        self.place(path, Some(bytes), None)
    }

    fn put_stream(
        &self,
        path: &str,
        digests: bool,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<Option<String>>,
    ) -> io::Result<()> {
        safe_relative(path)?;
        self.place_stream(path, digests, write)
    }

    fn put_keyed(&self, path: &str, bytes: &[u8], key: &str) -> io::Result<()> {
        self.put(path, bytes)?;
        let mut keys = self.new_keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.insert(path.to_string(), key.to_string());
        Ok(())
    }

    fn reuse_group(&self, group: &str, key: &str) -> io::Result<Option<usize>> {
        let (Some(live), Some(old_key)) = (&self.live, self.keys.get(group)) else {
            return Ok(None);
        };
        if old_key != key {
            return Ok(None);
        }
        let files: Vec<(&String, &String)> = live
            .range(group.to_string()..)
            .take_while(|(path, _)| path.starts_with(group))
            .collect();
        for (path, hash) in &files {
            self.place(path, None, Some(hash))?;
        }
        // The files' own keys (the search index's fragment files have
        // them) carry over too, for the build after this one.
        let mut keys = self.new_keys.lock().unwrap_or_else(|p| p.into_inner());
        for (path, _) in &files {
            if let Some(old) = self.keys.get(path.as_str()) {
                keys.insert(path.to_string(), old.clone());
            }
        }
        keys.insert(group.to_string(), key.to_string());
        Ok(Some(files.len()))
    }

    fn group_done(&self, group: &str, key: &str) -> io::Result<()> {
        let mut keys = self.new_keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.insert(group.to_string(), key.to_string());
        Ok(())
    }

    fn reuse(&self, path: &str, key: &str) -> io::Result<bool> {
        safe_relative(path)?;
        let hash = match (&self.live, self.keys.get(path)) {
            (Some(live), Some(old_key)) if old_key == key => match live.get(path) {
                Some(hash) => hash,
                None => return Ok(false),
            },
            _ => return Ok(false),
        };
        self.place(path, None, Some(hash))?;
        let mut keys = self.new_keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.insert(path.to_string(), key.to_string());
        Ok(true)
    }
}

/// A sink that keeps nothing: `check` renders every page to prove it can.
pub struct Discard;

impl Sink for Discard {
    fn put(&self, path: &str, _bytes: &[u8]) -> io::Result<()> {
        safe_relative(path).map(|_| ())
    }

    fn put_stream(
        &self,
        path: &str,
        _digests: bool,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<Option<String>>,
    ) -> io::Result<()> {
        safe_relative(path)?;
        write(&mut io::sink()).map(|_| ())
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them
    // relative to the working directory, as std's rename does.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    // Filesystems without RENAME_EXCHANGE: two renames, a brief gap.
    if matches!(err.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
        return exchange_by_renames(a, b);
    }
    Err(err)
}

#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    exchange_by_renames(a, b)
}

fn exchange_by_renames(new: &Path, live: &Path) -> io::Result<()> {
    let aside = new.with_extension("old");
    fs::rename(live, &aside)?;
    fs::rename(new, live)?;
    fs::rename(&aside, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_dangerous_outputs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("dossier");
        fs::create_dir_all(root.join("content")).unwrap();
        for bad in [
            root.clone(),
            root.join("content"),
            root.join("content/x"),
            tmp.path().to_path_buf(),
            PathBuf::from("/"),
        ] {
            assert!(check_output(&root, &bad).is_err(), "{}", bad.display());
        }
        assert!(check_output(&root, &root.join("public")).is_ok());
        assert!(check_output(&root, &root.join("x/../public")).is_ok());
        assert!(check_output(&root, &root.join("public/../content")).is_err());
    }

    #[test]
    fn refuses_an_output_that_is_or_is_below_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("dossier");
        fs::create_dir_all(&root).unwrap();
        let file = tmp.path().join("notes.txt");
        fs::write(&file, b"x").unwrap();
        let message = |out: &Path| check_output(&root, out).unwrap_err().to_string();
        let expected = format!(
            "{} is a file, not a folder: choose another --output",
            file.display()
        );
        for out in [
            file.clone(),
            file.join("site"),
            file.join("a/b/site"),
            file.join("../site/x"),
        ] {
            let got = message(&out);
            assert!(got.contains(&expected), "{}: {got}", out.display());
        }
        assert_eq!(file_in_the_way(&tmp.path().join("site/x")), None);
        assert_eq!(file_in_the_way(Path::new("relative/site")), None);
        assert_eq!(file_in_the_way(&file.join("site")), Some(file.as_path()));
    }

    #[test]
    fn refuses_foreign_non_empty_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("site");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join("thesis.docx"), b"precious").unwrap();
        assert!(check_output(&tmp.path().join("root"), &out).is_err());
    }

    #[test]
    fn swaps_atomically_and_keeps_unchanged_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let s = Staging::begin(&out).unwrap();
        s.put("a/index.html", b"one").unwrap();
        s.put("b.txt", b"same").unwrap();
        s.commit().unwrap();
        let before = fs::metadata(out.join("b.txt")).unwrap().modified().unwrap();

        std::thread::sleep(std::time::Duration::from_millis(20));
        let s = Staging::begin(&out).unwrap();
        s.put("a/index.html", b"two").unwrap();
        s.put("b.txt", b"same").unwrap();
        assert_eq!((s.written(), s.unchanged()), (1, 1));
        // Until commit, the live site is the old one.
        assert_eq!(fs::read(out.join("a/index.html")).unwrap(), b"one");
        s.commit().unwrap();
        assert_eq!(fs::read(out.join("a/index.html")).unwrap(), b"two");
        assert_eq!(
            fs::metadata(out.join("b.txt")).unwrap().modified().unwrap(),
            before
        );
        let mut leftovers: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        leftovers.sort();
        assert_eq!(
            leftovers,
            [
                ".public.dossier-lock",
                ".public.dossier-spare",
                ".public.dossier-state.json",
                "public"
            ]
        );
    }

    #[test]
    fn streamed_files_are_kept_when_their_bytes_are_and_leave_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let stream = |s: &Staging, path: &str, parts: &[&str]| {
            s.put_stream(path, false, &mut |w| {
                parts.iter().try_for_each(|p| w.write_all(p.as_bytes()))?;
                Ok(None)
            })
            .unwrap()
        };
        let s = Staging::begin(&out).unwrap();
        stream(&s, "data/big.json", &["[\n", "1", "]\n"]);
        stream(&s, "data/other.json", &["x"]);
        assert_eq!((s.written(), s.unchanged()), (2, 0));
        s.commit().unwrap();
        assert_eq!(fs::read(out.join("data/big.json")).unwrap(), b"[\n1]\n");
        let before = fs::metadata(out.join("data/big.json"))
            .unwrap()
            .modified()
            .unwrap();

        std::thread::sleep(std::time::Duration::from_millis(20));
        for round in 0..2 {
            // Round 0: the spare is empty; round 1: it holds the first site.
            let s = Staging::begin(&out).unwrap();
            stream(&s, "data/big.json", &["[\n1", "]\n"]);
            stream(&s, "data/other.json", &["y", &round.to_string()]);
            assert_eq!((s.written(), s.unchanged()), (1, 1), "round {round}");
            s.commit().unwrap();
            assert_eq!(
                fs::metadata(out.join("data/big.json"))
                    .unwrap()
                    .modified()
                    .unwrap(),
                before
            );
            assert_eq!(
                fs::read_to_string(out.join("data/other.json")).unwrap(),
                format!("y{round}")
            );
        }
        let spare = tmp.path().join(".public.dossier-spare/data");
        for dir in [out.join("data"), spare] {
            for entry in fs::read_dir(dir).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(!name.ends_with(".dossier-new"), "left {name}");
            }
        }
    }

    #[test]
    fn a_group_kept_whole_keeps_its_files_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let s = Staging::begin(&out).unwrap();
        s.put_keyed("index/a.json", b"a", "key-a").unwrap();
        s.group_done("index/", "group-1").unwrap();
        s.commit().unwrap();
        // The whole group kept by its key…
        let s = Staging::begin(&out).unwrap();
        assert_eq!(s.reuse_group("index/", "group-1").unwrap(), Some(1));
        s.commit().unwrap();
        // …and the build after that can still keep the file by its own key.
        let s = Staging::begin(&out).unwrap();
        assert_eq!(s.reuse_group("index/", "group-2").unwrap(), None);
        assert!(s.reuse("index/a.json", "key-a").unwrap());
        assert!(!s.reuse("index/a.json", "key-b").unwrap());
        s.commit().unwrap();
        assert_eq!(fs::read(out.join("index/a.json")).unwrap(), b"a");
    }

    /// One build of `pages` into `out`: (files written, files unchanged).
    fn build_pages(out: &Path, pages: &[(&str, &str)]) -> (usize, usize) {
        let s = Staging::begin(out).unwrap();
        for (p, b) in pages {
            s.put(p, b.as_bytes()).unwrap();
        }
        let counts = (s.written(), s.unchanged());
        s.commit().unwrap();
        counts
    }

    /// Killed on either side of the swap: each folder's marker names the
    /// generation it holds, so the next build takes no file for another.
    #[test]
    fn a_build_killed_next_to_its_swap_is_followed_by_a_correct_one() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let spare = tmp.path().join(".public.dossier-spare");
        let build = |pages: &[(&str, &str)]| build_pages(&out, pages);
        let read = |name: &str| fs::read_to_string(out.join(name)).unwrap();
        build(&[("a.html", "old"), ("b.html", "b")]);
        build(&[("a.html", "new"), ("b.html", "b")]);
        // Killed after the state was written, before the swap: the folders
        // as they were, under the state naming both.
        exchange(&spare, &out).unwrap();
        assert_eq!(read("a.html"), "old");
        build(&[("a.html", "new"), ("b.html", "b")]);
        assert_eq!(read("a.html"), "new");
        exchange(&spare, &out).unwrap();
        // Back to the old content, and on to the new: each written or
        // linked from the folder that really holds it.
        build(&[("a.html", "old"), ("b.html", "b")]);
        assert_eq!(read("a.html"), "old");
        build(&[("a.html", "new"), ("b.html", "b")]);
        assert_eq!(read("a.html"), "new");
        assert_eq!(fs::read_to_string(spare.join("a.html")).unwrap(), "old");
        // A marker that names no generation is not trusted.
        fs::write(out.join(MARKER), "").unwrap();
        build(&[("a.html", "old"), ("b.html", "b")]);
        assert_eq!(read("a.html"), "old");
        assert_eq!(read("b.html"), "b");
    }

    /// A process's next build takes the state it wrote from memory, but
    /// only while the file is still that one.
    #[test]
    fn a_remembered_state_is_used_only_while_it_is_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let s = Staging::begin(&out).unwrap();
        s.put_keyed("a.html", b"1", "k1").unwrap();
        let written = s.commit_remembering().unwrap();
        // The file's head is this build's name; the rest is not read again.
        let state_file = tmp.path().join(".public.dossier-state.json");
        let text = fs::read_to_string(&state_file).unwrap();
        let head = &text[..text.find(",\"generations\"").unwrap()];
        fs::write(&state_file, format!("{head},\"generations\":[]}}")).unwrap();
        let s = Staging::begin_after(&out, Some(written)).unwrap();
        assert!(s.reuse("a.html", "k1").unwrap());
        let written = s.commit_remembering().unwrap();
        // Another process builds in between: its state is read, not ours.
        let s = Staging::begin(&out).unwrap();
        s.put_keyed("a.html", b"2", "k2").unwrap();
        s.commit().unwrap();
        let s = Staging::begin_after(&out, Some(written)).unwrap();
        assert!(!s.reuse("a.html", "k1").unwrap());
        assert!(s.reuse("a.html", "k2").unwrap());
        s.commit().unwrap();
        assert_eq!(fs::read(out.join("a.html")).unwrap(), b"2");
    }

    #[test]
    fn a_failed_stream_leaves_no_file() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let s = Staging::begin(&out).unwrap();
        let err = s.put_stream("data/big.json", false, &mut |w| {
            w.write_all(b"[")?;
            Err(io::Error::other("serializer failed"))
        });
        assert!(err.is_err());
        let spare = tmp.path().join(".public.dossier-spare/data");
        assert_eq!(fs::read_dir(spare).unwrap().count(), 0);
        s.abort();
    }

    #[test]
    fn third_build_touches_only_changes_and_removes_stale_pages() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let build = |pages: &[(&str, &str)]| build_pages(&out, pages);
        build(&[("a.html", "1"), ("gone/x.html", "x"), ("c.html", "c")]);
        build(&[("a.html", "2"), ("gone/x.html", "x"), ("c.html", "c")]);
        let counts = build(&[("a.html", "2"), ("c.html", "c")]);
        assert_eq!(counts, (0, 2));
        assert!(
            !out.join("gone").exists(),
            "removed pages disappear with their folder"
        );
        assert_eq!(fs::read(out.join("a.html")).unwrap(), b"2");
        // Back to an old content: it is a change, even though the spare had it.
        let counts = build(&[("a.html", "1"), ("c.html", "c")]);
        assert_eq!(counts, (1, 1));
        assert_eq!(fs::read(out.join("a.html")).unwrap(), b"1");
        let spare = tmp.path().join(".public.dossier-spare");
        assert_eq!(
            fs::read(spare.join("a.html")).unwrap(),
            b"2",
            "the spare holds the previous site"
        );
    }

    #[test]
    fn a_killed_build_leaves_a_spare_that_is_rebuilt() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let s = Staging::begin(&out).unwrap();
        s.put("a.html", b"1").unwrap();
        s.commit().unwrap();
        let s = Staging::begin(&out).unwrap();
        s.put("a.html", b"half").unwrap();
        // As if killed: no commit, no abort; the lock dies with the process.
        let lock = s._lock.try_clone().unwrap();
        std::mem::forget(s);
        lock.unlock().unwrap();
        assert_eq!(fs::read(out.join("a.html")).unwrap(), b"1");
        let s = Staging::begin(&out).unwrap();
        s.put("a.html", b"2").unwrap();
        s.put("b.html", b"b").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read(out.join("a.html")).unwrap(), b"2");
        assert_eq!(fs::read(out.join("b.html")).unwrap(), b"b");
    }

    #[test]
    fn aborted_build_leaves_the_site() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("public");
        let s = Staging::begin(&out).unwrap();
        s.put("index.html", b"v1").unwrap();
        s.commit().unwrap();
        let s = Staging::begin(&out).unwrap();
        s.put("index.html", b"v2").unwrap();
        s.abort();
        assert_eq!(fs::read(out.join("index.html")).unwrap(), b"v1");
    }

    #[test]
    fn rejects_paths_leaving_the_output() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Staging::begin(&tmp.path().join("public")).unwrap();
        for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
            assert!(s.put(bad, b"x").is_err(), "{bad}");
        }
        s.abort();
    }
}
