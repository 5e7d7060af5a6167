//! `dossier add FILE...`: copy clippings into `content/articles/` under safe,
//! unique names, record what the command line knows in a sidecar, and report
//! what normalization makes of them.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::lexicon;
use crate::load::{self, ARTICLES_DIR, ArticleFormat, SourceArticle, SourceText};
use crate::model::PartialDate;
use crate::normalize::Normalizer;

#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    pub root: PathBuf,
    pub files: Vec<PathBuf>,
    pub date: Option<String>,
    pub title: Option<String>,
    pub outlet: Option<String>,
    pub url: Option<String>,
    pub language: Option<String>,
    /// The day recorded as `added`; the CLI passes today.
    pub today: String,
}

/// What `add` did with one file, for the report.
#[derive(Debug)]
pub struct Added {
    pub id: String,
    pub path: PathBuf,
    pub lines: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Shared word 3-grams above which an article counts as a near duplicate.
const NEAR_DUPLICATE: f64 = 0.8;

pub fn add(options: &AddOptions) -> Result<Vec<Added>, Vec<Diagnostic>> {
    if let Some(date) = &options.date
        && PartialDate::parse(date).is_none()
    {
        return Err(vec![
            Diagnostic::error("--date", None, format!("malformed date {date:?}"))
                .with_hint("write YYYY-MM-DD or YYYY-MM"),
        ]);
    }
    let config = Config::load(&options.root).map_err(|d| vec![d])?;
    let articles_dir = options.root.join(ARTICLES_DIR);
    fs::create_dir_all(&articles_dir).map_err(|e| {
        vec![
            Diagnostic::error(ARTICLES_DIR, None, format!("cannot create: {e}"))
                .with_hint("check permissions"),
        ]
    })?;
    let sink = Diagnostics::new();
    let content = load::load(&options.root, &sink);
    let normalizer = Normalizer::new(
        &config,
        &content.themes,
        &content.entities,
        &Diagnostics::new(),
    );
    let existing = normalizer.normalize_all(content.articles, &Diagnostics::new());

    let mut added = Vec::new();
    for file in &options.files {
        added.push(add_one(
            options,
            file,
            &articles_dir,
            &normalizer,
            &existing,
        )?);
    }
    Ok(added)
}

fn add_one(
    options: &AddOptions,
    file: &Path,
    articles_dir: &Path,
    normalizer: &Normalizer,
    existing: &[std::sync::Arc<crate::model::Record>],
) -> Result<Added, Vec<Diagnostic>> {
    let shown = file.display().to_string();
    let bytes = fs::read(file).map_err(|e| {
        vec![
            Diagnostic::error(&shown, None, format!("cannot read: {e}"))
                .with_hint("check the path"),
        ]
    })?;
    let ext = match file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("md" | "markdown") => "md",
        _ => "txt",
    };
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut base = slug::slugify(&stem);
    if base.is_empty() {
        base = "article".into();
    }
    base.truncate(80);

    // Never overwrite: the first free name, claimed atomically.
    let (id, target, mut handle) = (1..10_000)
        .find_map(|n| {
            let id = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let taken = ["txt", "md", "markdown", "toml"]
                .iter()
                .any(|e| articles_dir.join(format!("{id}.{e}")).exists());
            if taken {
                return None;
            }
            let target = articles_dir.join(format!("{id}.{ext}"));
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
                .ok()
                .map(|f| (id, target, f))
        })
        .ok_or_else(|| {
            vec![Diagnostic::error(&shown, None, "no free file name").with_hint("rename the file")]
        })?;
    let io = |e: std::io::Error, path: &Path| {
        vec![
            Diagnostic::error(
                path.display().to_string(),
                None,
                format!("cannot write: {e}"),
            )
            .with_hint("check permissions and free space"),
        ]
    };
    handle.write_all(&bytes).map_err(|e| io(e, &target))?;

    let mut sidecar = toml::map::Map::new();
    let mut set = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            sidecar.insert(key.into(), toml::Value::String(v.clone()));
        }
    };
    set("date", &options.date);
    set("title", &options.title);
    set("outlet", &options.outlet);
    set("url", &options.url);
    set("language", &options.language);
    set("added", &Some(options.today.clone()));
    let sidecar_text = toml::to_string(&sidecar).unwrap_or_default();
    let sidecar_path = articles_dir.join(format!("{id}.toml"));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&sidecar_path)
        .and_then(|mut f| f.write_all(sidecar_text.as_bytes()))
        .map_err(|e| io(e, &sidecar_path))?;

    // Report what normalization makes of it, as the build will.
    let diagnostics = Diagnostics::new();
    let rel = |p: &Path| load::relative(&options.root, p);
    let text = load::decode(&bytes, &rel(&target), &diagnostics).unwrap_or_default();
    let source = SourceArticle {
        id: id.clone(),
        stamp: Default::default(),
        format: if ext == "md" {
            ArticleFormat::Markdown
        } else {
            ArticleFormat::Text
        },
        source: SourceText {
            path: rel(&target),
            text,
        },
        hash: blake3::hash(&bytes).to_hex().to_string(),
        sidecar: Some(SourceText {
            path: rel(&sidecar_path),
            text: sidecar_text,
        }),
    };
    let mut lines = vec![format!(
        "added {} (sidecar {})",
        rel(&target),
        rel(&sidecar_path)
    )];
    if let Some(record) = normalizer.normalize(&source, &diagnostics) {
        lines.push(format!("  title:    {}", record.title));
        lines.push(format!(
            "  date:     {}",
            record.date.as_deref().unwrap_or("none (undated)")
        ));
        lines.push(format!("  language: {}", record.language));
        lines.push(format!("  themes:   {}", join_or_none(&record.themes)));
        lines.push(format!("  entities: {}", join_or_none(&record.entities)));
        if let Some((other, score)) = nearest_duplicate(&record, existing) {
            diagnostics.push(
                Diagnostic::warning(
                    rel(&target),
                    None,
                    format!(
                        "nearly duplicates {other} ({:.0}% of word triples shared)",
                        score * 100.0
                    ),
                )
                .with_hint("if it is the same article, delete one copy"),
            );
        }
    }
    Ok(Added {
        id,
        path: target,
        lines,
        diagnostics: diagnostics.into_sorted(),
    })
}

fn join_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn shingles(record: &crate::model::Record) -> BTreeSet<u64> {
    let text: Vec<String> = record
        .shown_paragraphs()
        .flat_map(|p| lexicon::words(&p.text))
        .collect();
    text.windows(3)
        .map(|w| {
            let joined = w.join(" ");
            u64::from_le_bytes(
                blake3::hash(joined.as_bytes()).as_bytes()[..8]
                    .try_into()
                    .unwrap_or([0; 8]),
            )
        })
        .collect()
}

/// The existing article sharing the most word 3-grams, if above the threshold.
fn nearest_duplicate(
    record: &crate::model::Record,
    existing: &[std::sync::Arc<crate::model::Record>],
) -> Option<(String, f64)> {
    let mine = shingles(record);
    if mine.is_empty() {
        return None;
    }
    existing
        .iter()
        .filter(|other| other.id != record.id)
        .filter_map(|other| {
            if other.hash == record.hash {
                return Some((other.id.clone(), 1.0));
            }
            let theirs = shingles(other);
            let shared = mine.intersection(&theirs).count() as f64;
            let union = mine.union(&theirs).count() as f64;
            (union > 0.0).then(|| (other.id.clone(), shared / union))
        })
        .filter(|(_, score)| *score >= NEAR_DUPLICATE)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}
