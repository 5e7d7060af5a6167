//! `dossier init DIR`: a working dossier with one example article and event.

use std::fs;
use std::path::Path;

use crate::diagnostics::Diagnostic;

const FILES: &[(&str, &str)] = &[
    ("dossier.toml", include_str!("init/dossier.toml")),
    (
        "content/articles/example.txt",
        include_str!("init/example.txt"),
    ),
    (
        "content/articles/example.toml",
        include_str!("init/example.toml"),
    ),
    (
        "content/events/example-event.md",
        include_str!("init/example-event.md"),
    ),
    ("content/themes.toml", include_str!("init/themes.toml")),
    ("content/entities.toml", include_str!("init/entities.toml")),
    (
        ".gitignore",
        "/public\n/.public.dossier-*\n/.dossier-cache\n",
    ),
    (
        ".github/workflows/pages.yml",
        include_str!("init/pages.yml"),
    ),
];

pub fn init(dir: &Path) -> Result<(), Diagnostic> {
    let shown = dir.display().to_string();
    if dir.exists()
        && fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(
            Diagnostic::error(&shown, None, "folder exists and is not empty")
                .with_hint("name a new folder; init never overwrites files"),
        );
    }
    for (path, text) in FILES {
        let target = dir.join(path);
        let io = |e: std::io::Error| {
            Diagnostic::error(
                target.display().to_string(),
                None,
                format!("cannot write: {e}"),
            )
            .with_hint("check that the folder is writable")
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        fs::write(&target, text).map_err(io)?;
    }
    Ok(())
}
