//! dossier: a static site generator for annotated news dossiers.
//!
//! One direction of flow, one module a stage:
//!
//! ```text
//! load (walk content/) -> normalize (records) -> annotate (events, citations)
//!     -> index (months, themes, entities) -> render (Tera) -> write (public/,
//!        or memory for `serve`)
//! ```

pub mod add;
pub mod annotate;
pub mod build;
pub mod cache;
pub mod config;
pub mod diagnostics;
pub mod export;
pub mod filters;
pub mod frontmatter;
pub mod index;
pub mod init;
pub mod language;
pub mod lexicon;
pub mod load;
pub mod memo;
pub mod memory;
pub mod model;
pub mod normalize;
pub mod render;
pub mod search;
pub mod serve;
pub mod theme;
pub mod urls;
pub mod write;

pub use build::{BuildOptions, BuildReport, build, check};

/// Frees `value` on a thread of its own. A build ends holding hundreds of
/// thousands of small allocations (records, cards, the cache it read):
/// freeing them took 40-70 ms of a 10,000-article rebuild, after the work
/// was done. `dossier build` exits without waiting for that thread (the
/// system takes the memory back at once); `serve` frees them while it
/// already serves the new site.
pub fn drop_in_background<T: Send + 'static>(value: T) {
    // Were no thread to be had, `spawn` drops the closure, and the value
    // with it, here and now.
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || drop(value));
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    /// Says, when freed, the name of the thread that freed it.
    struct Freed(mpsc::Sender<Option<String>>);

    impl Drop for Freed {
        fn drop(&mut self) {
            let name = std::thread::current().name().map(str::to_string);
            let _ = self.0.send(name);
        }
    }

    #[test]
    fn what_is_dropped_in_background_is_freed_on_another_thread() {
        let (tx, rx) = mpsc::channel();
        super::drop_in_background(Freed(tx));
        let by = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the value was never dropped");
        assert_eq!(by.as_deref(), Some("drop"));
    }
}
