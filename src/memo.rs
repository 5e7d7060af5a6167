//! Results one build hands the next within one process (`dossier serve`),
//! each keyed by a digest of everything it was made from: an unchanged
//! input costs a lookup instead of the work. What a build did not ask for
//! is dropped after it, so the memo holds about one build's worth, and the
//! output never depends on what it holds (a miss recomputes the same bytes).
//!
//! `dossier build` runs with [`Memo::off`]: it keeps nothing, so the memory
//! of a one-off build is not spent on results nobody will reuse.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A digest of an input: what a memoized result is looked up by.
pub type Key = [u8; 16];

/// The digest of `parts`, each length-prefixed so that ("ab", "c") and
/// ("a", "bc") differ.
pub fn key(parts: &[&[u8]]) -> Key {
    // Joined and hashed at once: the same digest as updating part by part,
    // without the hasher's cost a call (most parts are a few bytes).
    let mut all = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
    for part in parts {
        all.extend_from_slice(&(part.len() as u64).to_le_bytes());
        all.extend_from_slice(part);
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(&all).as_bytes()[..16]);
    out
}

/// This program, as far as a key can tell: its version, and its binary's
/// size and modification time (another build of dossier may normalize or
/// render differently). Part of every key that outlives the process.
pub fn program() -> String {
    let mut id = format!("dossier {}", env!("CARGO_PKG_VERSION"));
    if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
        id.push_str(&format!(" {}", meta.len()));
        if let Ok(modified) = meta.modified() {
            id.push_str(&format!(" {modified:?}"));
        }
    }
    id
}

/// The key of what [`Memo::hand_on`] keeps (a digest is never all zeros
/// but by a chance of one in 2^128).
const HANDED_ON: Key = [0; 16];

struct Entry {
    /// Asked for since the last [`Memo::sweep`].
    used: bool,
    value: Arc<dyn Any + Send + Sync>,
}

/// Keys are digests already: hashed for the map by a cheap hash, not SipHash.
type Entries = HashMap<(&'static str, Key), Entry, rustc_hash::FxBuildHasher>;

/// Locks the entries are split between, by a key's first byte: a rebuild
/// looks up several results an article from both cores at once.
const SHARDS: usize = 16;

#[derive(Default)]
pub struct Memo {
    on: bool,
    /// (what kind of result, its key) -> the result.
    shards: [Mutex<Entries>; SHARDS],
}

impl Memo {
    /// A memo that keeps results between builds.
    pub fn new() -> Memo {
        Memo {
            on: true,
            shards: Default::default(),
        }
    }

    /// A memo that keeps nothing: every result is made afresh.
    pub fn off() -> Memo {
        Memo::default()
    }

    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The result of `kind` for `key`, made by `make` unless a build of
    /// this process made it already. `make` runs outside the lock, so
    /// threads never wait on each other's work.
    pub fn get_or<T: Any + Send + Sync>(
        &self,
        kind: &'static str,
        key: Key,
        make: impl FnOnce() -> T,
    ) -> Arc<T> {
        self.get_or_shared(kind, key, || Arc::new(make()))
    }

    /// As [`Memo::get_or`], for a `make` that hands out a result it shares.
    pub fn get_or_shared<T: Any + Send + Sync>(
        &self,
        kind: &'static str,
        key: Key,
        make: impl FnOnce() -> Arc<T>,
    ) -> Arc<T> {
        if !self.on {
            return make();
        }
        if let Some(value) = self.kept(kind, key, |_| true) {
            return value;
        }
        let value = make();
        self.keep(kind, key, value.clone());
        value
    }

    /// As [`Memo::get_or`], but a result kept from an earlier build is used
    /// only if `valid` says it still holds (it checks what the key could
    /// not cover); otherwise `make` replaces it.
    pub fn get_valid_or<T: Any + Send + Sync>(
        &self,
        kind: &'static str,
        key: Key,
        valid: impl FnOnce(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> Arc<T> {
        if !self.on {
            return Arc::new(make());
        }
        if let Some(value) = self.kept(kind, key, valid) {
            return value;
        }
        let value = Arc::new(make());
        self.keep(kind, key, value.clone());
        value
    }

    /// The result kept under (`kind`, `key`) if `valid` holds of it, marked
    /// used.
    fn kept<T: Any + Send + Sync>(
        &self,
        kind: &'static str,
        key: Key,
        valid: impl FnOnce(&T) -> bool,
    ) -> Option<Arc<T>> {
        let mut shard = self.lock(&key);
        let entry = shard.get_mut(&(kind, key))?;
        let value = entry
            .value
            .clone()
            .downcast::<T>()
            .ok()
            .filter(|v| valid(v))?;
        entry.used = true;
        Some(value)
    }

    fn keep<T: Any + Send + Sync>(&self, kind: &'static str, key: Key, value: Arc<T>) {
        let entry = Entry { used: true, value };
        self.lock(&key).insert((kind, key), entry);
    }

    /// What a build of this process last handed the next with
    /// [`Memo::hand_on`] under `kind`: a state to diff against, which the
    /// caller checks is still about the same inputs before using it.
    pub fn handed_on<T: Any + Send + Sync>(&self, kind: &'static str) -> Option<Arc<T>> {
        if !self.on {
            return None;
        }
        self.lock(&HANDED_ON)
            .get(&(kind, HANDED_ON))
            .and_then(|entry| entry.value.clone().downcast::<T>().ok())
    }

    /// Keeps `value` for the next build's [`Memo::handed_on`], in place of
    /// what an earlier build handed on.
    pub fn hand_on<T: Any + Send + Sync>(&self, kind: &'static str, value: T) {
        if self.on {
            self.keep(kind, HANDED_ON, Arc::new(value));
        }
    }

    /// After a build that succeeded: forgets what it did not use.
    pub fn sweep(&self) {
        for shard in &self.shards {
            lock(shard).retain(|_, entry| std::mem::take(&mut entry.used));
        }
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self, key: &Key) -> std::sync::MutexGuard<'_, Entries> {
        lock(&self.shards[key[0] as usize % SHARDS])
    }
}

fn lock(shard: &Mutex<Entries>) -> std::sync::MutexGuard<'_, Entries> {
    shard.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_state_handed_on_reaches_the_next_build_only() {
        let memo = Memo::new();
        assert!(memo.handed_on::<u32>("s").is_none());
        memo.hand_on("s", 7u32);
        memo.sweep();
        assert_eq!(memo.handed_on::<u32>("s").as_deref(), Some(&7));
        memo.hand_on("s", 8u32);
        assert_eq!(memo.handed_on::<u32>("s").as_deref(), Some(&8), "replaced");
        memo.sweep();
        memo.sweep();
        assert!(
            memo.handed_on::<u32>("s").is_none(),
            "a build that hands nothing on drops it"
        );
        let off = Memo::off();
        off.hand_on("s", 1u32);
        assert!(off.handed_on::<u32>("s").is_none());
    }

    #[test]
    fn a_result_is_made_once_and_forgotten_when_unused() {
        let memo = Memo::new();
        let made = AtomicUsize::new(0);
        let make = || {
            made.fetch_add(1, Ordering::Relaxed);
            String::from("x")
        };
        let k = key(&[b"a"]);
        assert_eq!(*memo.get_or("t", k, make), "x");
        assert_eq!(*memo.get_or("t", k, make), "x");
        assert_eq!(made.load(Ordering::Relaxed), 1);
        // Another kind or key is another result.
        memo.get_or("u", k, make);
        memo.get_or("t", key(&[b"b"]), make);
        assert_eq!(made.load(Ordering::Relaxed), 3);
        memo.sweep(); // all three were used by this "build"
        assert_eq!(memo.len(), 3);
        memo.get_or("t", k, make);
        memo.sweep(); // only one was used by this one
        assert_eq!(memo.len(), 1);
        assert_eq!(made.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn off_keeps_nothing() {
        let memo = Memo::off();
        let made = AtomicUsize::new(0);
        for _ in 0..2 {
            memo.get_or("t", key(&[b"a"]), || made.fetch_add(1, Ordering::Relaxed));
        }
        assert_eq!(made.load(Ordering::Relaxed), 2);
        assert!(memo.is_empty());
    }

    #[test]
    fn key_parts_are_delimited() {
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
    }

    /// Keys outlive the process (the output's state keeps pages' keys):
    /// they are the digest of the length-prefixed parts, however computed.
    #[test]
    fn a_key_is_the_digest_of_its_prefixed_parts() {
        let long = vec![7u8; 5000];
        let parts: [&[u8]; 4] = [b"", b"page", &long, b"x"];
        let mut h = blake3::Hasher::new();
        for part in parts {
            h.update(&(part.len() as u64).to_le_bytes()).update(part);
        }
        assert_eq!(key(&parts)[..], h.finalize().as_bytes()[..16]);
    }
}
