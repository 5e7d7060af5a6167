//! The default theme (`templates/`, `static/`) compiled into the binary, so a
//! dossier needs only `content/` and `dossier.toml`. A dossier's own
//! `templates/` and `static/` override it file by file.

use std::collections::BTreeMap;
use std::path::Path;

use include_dir::{Dir, include_dir};

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::load;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static STATIC: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/static");

pub struct Theme {
    /// Template name -> (origin for messages, source).
    pub templates: BTreeMap<String, (String, String)>,
    /// Output path below the site root -> bytes.
    pub static_files: BTreeMap<String, Vec<u8>>,
}

impl Theme {
    pub fn load(root: &Path, diagnostics: &Diagnostics) -> Theme {
        let mut templates = BTreeMap::new();
        collect_embedded(&TEMPLATES, &mut |path, bytes| {
            let text = String::from_utf8_lossy(bytes).into_owned();
            templates.insert(
                path.to_string(),
                (format!("(built-in) templates/{path}"), text),
            );
        });
        let mut static_files = BTreeMap::new();
        collect_embedded(&STATIC, &mut |path, bytes| {
            static_files.insert(format!("static/{path}"), bytes.to_vec());
        });

        for (name, path) in own_files(root, "templates") {
            let rel = load::relative(root, &path);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    templates.insert(name, (rel, text));
                }
                Err(e) => diagnostics.push(
                    Diagnostic::error(rel, None, format!("cannot read template: {e}"))
                        .with_hint("templates are UTF-8 Tera files"),
                ),
            }
        }
        for (name, path) in own_files(root, "static") {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    static_files.insert(format!("static/{name}"), bytes);
                }
                Err(e) => diagnostics.push(
                    Diagnostic::error(
                        load::relative(root, &path),
                        None,
                        format!("cannot read: {e}"),
                    )
                    .with_hint("check the file's permissions"),
                ),
            }
        }
        Theme {
            templates,
            static_files,
        }
    }

    /// Every file of the default theme, for `dossier init --theme` style copies.
    pub fn embedded_files() -> Vec<(String, &'static [u8])> {
        let mut files = Vec::new();
        collect_embedded(&TEMPLATES, &mut |p, b| {
            files.push((format!("templates/{p}"), b))
        });
        collect_embedded(&STATIC, &mut |p, b| files.push((format!("static/{p}"), b)));
        files
    }
}

fn collect_embedded(dir: &'static Dir<'static>, f: &mut dyn FnMut(&str, &'static [u8])) {
    for file in dir.files() {
        if let Some(path) = file.path().to_str() {
            f(&path.replace('\\', "/"), file.contents());
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, f);
    }
}

/// (name relative to `ROOT/dir`, path) of the dossier's own files, if any.
fn own_files(root: &Path, dir: &str) -> Vec<(String, std::path::PathBuf)> {
    let base = root.join(dir);
    if !base.is_dir() {
        return Vec::new();
    }
    walkdir::WalkDir::new(&base)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| (load::relative(&base, e.path()), e.path().to_path_buf()))
        .collect()
}
