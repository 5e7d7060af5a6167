//! Stage 6: the output folder, replaced atomically.
//!
//! Pages go into a staging folder beside the output; only when every page is
//! written is the staging folder swapped in (one `renameat2(RENAME_EXCHANGE)`
//! on Linux), so a failed or killed build leaves the previous site whole. A
//! file whose bytes did not change is hard-linked from the previous site
//! instead of rewritten: it keeps its mtime, and nothing new hits the disk.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

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
    if output.is_file() {
        return refuse("it is a file");
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

pub struct Staging {
    output: PathBuf,
    dir: PathBuf,
    previous: Option<PathBuf>,
    _lock: File,
    written: AtomicUsize,
    unchanged: AtomicUsize,
}

impl Staging {
    /// Starts a build into a fresh staging folder beside `output`. Holds a lock
    /// so two builds of the same output cannot interleave their swaps.
    pub fn begin(output: &Path) -> io::Result<Staging> {
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

        // Leftovers of builds that were killed: never the live site.
        if let Ok(entries) = fs::read_dir(&parent) {
            let prefix = format!(".{name}.dossier-tmp-");
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = parent.join(format!(".{name}.dossier-tmp-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(Staging {
            output: output.to_path_buf(),
            previous: output.is_dir().then(|| output.to_path_buf()),
            dir,
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

    /// Swaps the staging folder in. The previous site is removed afterwards.
    pub fn commit(self) -> io::Result<()> {
        File::create(self.dir.join(MARKER))?;
        if self.output.exists() {
            exchange(&self.dir, &self.output)?;
            // `self.dir` now holds the previous site.
            fs::remove_dir_all(&self.dir)?;
        } else {
            fs::rename(&self.dir, &self.output)?;
        }
        Ok(())
    }

    pub fn abort(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Rejects paths that would leave the output folder.
fn safe_relative(path: &str) -> io::Result<&Path> {
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
        let rel = safe_relative(path)?;
        let target = self.dir.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        if let Some(previous) = &self.previous {
            let old = previous.join(rel);
            if fs::metadata(&old).is_ok_and(|m| m.len() == bytes.len() as u64)
                && fs::read(&old).is_ok_and(|old_bytes| old_bytes == bytes)
                && fs::hard_link(&old, &target).is_ok()
            {
                self.unchanged.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        let mut file = File::create(&target)?;
        file.write_all(bytes)?;
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A sink that keeps nothing: `check` renders every page to prove it can.
pub struct Discard;

impl Sink for Discard {
    fn put(&self, path: &str, _bytes: &[u8]) -> io::Result<()> {
        safe_relative(path).map(|_| ())
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
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            2,
            "public and the lock file only: {leftovers:?}"
        );
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
