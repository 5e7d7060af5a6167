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
