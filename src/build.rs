//! The pipeline, end to end: load -> normalize -> annotate -> index ->
//! render -> write. `check` runs the same stages and writes nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::annotate::Annotator;
use crate::cache;
use crate::config::Config;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::export;
use crate::index::SiteIndex;
use crate::load;
use crate::memo::{self, Memo};
use crate::memory;
use crate::normalize::Normalizer;
use crate::render::{Renderer, Sink};
use crate::theme::Theme;
use crate::urls::Urls;
use crate::write::{self, Discard, Staging};

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub root: PathBuf,
    /// Defaults to ROOT/public.
    pub output: Option<PathBuf>,
    /// Overrides `base_url` of dossier.toml.
    pub base_url: Option<String>,
    /// Build the events marked `draft = true` too (`--drafts`).
    pub drafts: bool,
}

impl BuildOptions {
    pub fn output(&self) -> PathBuf {
        self.output
            .clone()
            .unwrap_or_else(|| self.root.join("public"))
    }
}

/// Time spent in each stage, for the summary line and the benchmark.
#[derive(Debug, Default, Clone)]
pub struct Timings {
    pub load: Duration,
    pub normalize: Duration,
    pub annotate: Duration,
    pub index: Duration,
    pub render: Duration,
    pub write: Duration,
    /// Parts of the render stage: cards and keys, pages, exports, search.
    pub render_parts: Vec<(&'static str, Duration)>,
}

impl std::fmt::Display for Timings {
    /// One line a stage, then the parts of rendering (which overlap: pages,
    /// exports and the search index are made side by side).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        for (stage, d) in [
            ("load", self.load),
            ("normalize", self.normalize),
            ("annotate", self.annotate),
            ("index", self.index),
            ("render", self.render),
            ("write", self.write),
        ] {
            writeln!(f, "  {stage:<10} {:>8.1} ms", ms(d))?;
        }
        for (part, d) in &self.render_parts {
            writeln!(f, "    render.{part:<8} {:>6.1} ms", ms(*d))?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct BuildReport {
    pub articles: usize,
    pub events: usize,
    pub files: usize,
    pub written: usize,
    pub unchanged: usize,
    pub diagnostics: Vec<Diagnostic>,
    pub timings: Timings,
    pub elapsed: Duration,
    /// Draft events left out (no `--drafts`).
    pub drafts_left_out: usize,
}

impl BuildReport {
    pub fn warnings(&self) -> usize {
        self.diagnostics.iter().filter(|d| !d.is_error()).count()
    }

    /// " (N drafts left out)" when a draft was left out, else nothing.
    pub fn drafts_note(&self) -> String {
        match self.drafts_left_out {
            0 => String::new(),
            1 => " (1 draft left out; --drafts builds it)".to_string(),
            n => format!(" ({n} drafts left out; --drafts builds them)"),
        }
    }

    pub fn summary(&self, verb: &str) -> String {
        format!(
            "{verb} {} articles, {} events{}: {} files ({} written, {} unchanged), {} warnings in {:.2}s",
            self.articles,
            self.events,
            self.drafts_note(),
            self.files,
            self.written,
            self.unchanged,
            self.warnings(),
            self.elapsed.as_secs_f64()
        )
    }
}

/// What `dossier serve` keeps from one build for the next: the records of
/// unchanged articles, and results keyed by what they were made from.
pub struct BuildCache {
    pub articles: load::ArticleCache,
    pub memo: Memo,
    /// The output's state as the last build wrote it.
    pub output_state: Option<write::WrittenState>,
    /// What the last `dossier build` kept on disk beside its records, for
    /// this process's first build (the memo keeps the next ones').
    pub left_on_disk: Option<LeftOnDisk>,
}

/// The search index's analyses and the quotes' places a build left in
/// `.dossier-cache/`.
pub struct LeftOnDisk {
    search: crate::search::Stored,
    locations: crate::annotate::Locations,
}

impl BuildCache {
    /// Starts from the records the last `dossier build` left on disk.
    pub fn from_disk(root: &Path) -> BuildCache {
        BuildCache {
            articles: read_disk_cache(root).map(|(a, _)| a).unwrap_or_default(),
            left_on_disk: Some(LeftOnDisk {
                search: cache::read_search(root),
                locations: cache::read_locations(root),
            }),
            ..BuildCache::default()
        }
        .keeping_event_files()
    }

    /// A process that builds again keeps event files between builds.
    fn keeping_event_files(mut self) -> BuildCache {
        self.articles.events.get_or_insert_default();
        self
    }
}

/// The article cache the last build left in `root`, for the settings its
/// `dossier.toml` and taxonomies give now (None without a readable config:
/// the build will report why).
fn read_disk_cache(root: &Path) -> Option<(load::ArticleCache, cache::OnDisk)> {
    let config = Config::load(root).ok()?;
    Some(cache::read(root, &load::settings_of(root, &config)))
}

impl Default for BuildCache {
    fn default() -> BuildCache {
        BuildCache {
            articles: load::ArticleCache::default(),
            memo: Memo::new(),
            output_state: None,
            left_on_disk: None,
        }
        .keeping_event_files()
    }
}

/// Everything up to and including the index: shared by build, check, serve.
pub struct Prepared {
    pub index: SiteIndex,
    pub theme: Theme,
    pub diagnostics: Vec<Diagnostic>,
    pub timings: Timings,
    /// Draft events left out.
    pub drafts_left_out: usize,
}

pub fn prepare(options: &BuildOptions) -> Result<Prepared, Vec<Diagnostic>> {
    prepare_with_cache(options, None, &Memo::off(), None)
}

/// As [`prepare`]; with a cache, unchanged articles are neither read nor
/// normalized again (the preview server keeps one between rebuilds).
pub fn prepare_with_cache(
    options: &BuildOptions,
    cache: Option<&mut load::ArticleCache>,
    memo: &Memo,
    locations: Option<&crate::annotate::Locations>,
) -> Result<Prepared, Vec<Diagnostic>> {
    let root = options.root.as_path();
    let mut config = Config::load(root).map_err(|d| vec![d])?;
    if let Some(base) = options.base_url.as_deref() {
        config.base_url = base.to_string();
        // The same checks as a base_url written in dossier.toml.
        Config::parse(&format!("base_url = {}", toml_string(base))).map_err(|mut d| {
            d.path = PathBuf::from("--base-url");
            d.line = None;
            vec![d]
        })?;
    }
    let diagnostics = Diagnostics::new();
    let mut timings = Timings::default();

    let t = Instant::now();
    // The taxonomies decide what normalization finds: read them first, and
    // drop cached records made under other ones.
    let settings = load::settings_of(root, &config);
    let settings_key = memo::key(&[settings.as_bytes()]);
    let mut cache = cache;
    if let Some(c) = cache.as_deref_mut()
        && c.settings != settings
    {
        c.entries.clear();
        c.settings = settings;
    }
    let watched = cache.as_deref_mut().and_then(|c| c.watched.take());
    let mut content = load::load_with_cache(root, &diagnostics, cache.as_deref(), watched);
    // What this load found is what the next one starts from.
    if let Some(c) = cache.as_deref_mut() {
        if let Some(kept) = c.events.as_mut() {
            *kept = std::mem::take(&mut content.read_events)
                .into_iter()
                .collect();
        }
        c.watched = content.watched.take();
    }
    timings.load = t.elapsed();

    let t = Instant::now();
    let normalizer = Normalizer::new(&config, &content.themes, &content.entities, &diagnostics);
    check_taxonomies(&content, &diagnostics);
    let records = match cache {
        Some(cache) => normalizer.normalize_cached(&mut content, cache, &diagnostics),
        None => normalizer.normalize_all(std::mem::take(&mut content.articles), &diagnostics),
    };
    timings.normalize = t.elapsed();

    let t = Instant::now();
    let urls = Urls::new(&config.base_path(), &config.absolute_base());
    let annotator = Annotator {
        records: &records,
        themes: &content.themes,
        entity_slugs: content.entities.iter().map(|e| e.slug.clone()).collect(),
        entities: normalizer.entity_lexicon(),
        urls: &urls,
        memo,
        locations,
        settings: settings_key,
        drafts: options.drafts,
    };
    let annotated = annotator.annotate(&content.events, &diagnostics);
    check_aliases(
        root,
        "article",
        records
            .iter()
            .map(|r| (r.source.as_str(), r.slug.as_str(), &r.aliases[..])),
        &diagnostics,
    );
    check_aliases(
        root,
        "event",
        annotated
            .events
            .iter()
            .map(|e| (e.source.as_str(), e.slug.as_str(), &e.aliases[..])),
        &diagnostics,
    );
    timings.annotate = t.elapsed();

    let theme = Theme::load(root, &diagnostics);
    if diagnostics.has_errors() {
        return Err(diagnostics.into_sorted());
    }
    let t = Instant::now();
    let mut index = SiteIndex::build(
        config,
        records,
        annotated.events,
        content.themes,
        content.entities,
    );
    index.settings = settings_key;
    timings.index = t.elapsed();
    Ok(Prepared {
        index,
        theme,
        diagnostics: diagnostics.into_sorted(),
        timings,
        drafts_left_out: annotated.drafts_left_out,
    })
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// An alias is a page of its own (a forward): it may be no page's slug and
/// no other alias. `pages` gives each page's source file, slug and aliases.
fn check_aliases<'a>(
    root: &Path,
    kind: &str,
    pages: impl Iterator<Item = (&'a str, &'a str, &'a [String])> + Clone,
    diagnostics: &Diagnostics,
) {
    let slugs: HashSet<&str> = pages.clone().map(|(_, slug, _)| slug).collect();
    let mut claimed: std::collections::HashMap<&str, &str> = Default::default();
    for (source, slug, aliases) in pages {
        for alias in aliases {
            let problem = if alias == slug {
                Some(format!("alias {alias:?} is this {kind}'s own slug"))
            } else if slugs.contains(alias.as_str()) {
                Some(format!("alias {alias:?} is the slug of another {kind}"))
            } else {
                claimed.insert(alias, source).map(|first| {
                    if first == source {
                        format!("alias {alias:?} is given twice")
                    } else {
                        format!("alias {alias:?} is also an alias of {first}")
                    }
                })
            };
            if let Some(problem) = problem {
                let (file, line) = alias_declaration(root, source);
                diagnostics.push(Diagnostic::error(file, line, problem).with_hint(
                    "each former URL forwards to one page: drop this alias or the other",
                ));
            }
        }
    }
}

/// Where a page's `aliases` are written: its sidecar (articles), else its
/// own file. Read only when an alias is wrong.
fn alias_declaration(root: &Path, source: &str) -> (String, Option<usize>) {
    let line_in = |file: &str| {
        std::fs::read_to_string(root.join(file))
            .ok()
            .and_then(|text| {
                text.lines()
                    .position(|l| l.trim_start().starts_with("aliases"))
                    .map(|i| i + 1)
            })
    };
    let sidecar = Path::new(source).with_extension("toml");
    let sidecar = sidecar.to_string_lossy();
    if sidecar != source
        && let Some(line) = line_in(&sidecar)
    {
        return (sidecar.into_owned(), Some(line));
    }
    (source.to_string(), line_in(source))
}

/// Duplicate or malformed slugs in themes.toml and entities.toml.
fn check_taxonomies(content: &load::Content, diagnostics: &Diagnostics) {
    let check = |file: &str, what: &str, slugs: Vec<&str>| {
        let mut seen = HashSet::new();
        for slug in slugs {
            if slug::slugify(slug) != slug {
                diagnostics.push(
                    Diagnostic::error(file, None, format!("{what} slug {slug:?} is not URL-safe"))
                        .with_hint(format!(
                            "use lowercase ASCII words joined by hyphens, e.g. {:?}",
                            slug::slugify(slug)
                        )),
                );
            }
            if !seen.insert(slug) {
                diagnostics.push(
                    Diagnostic::error(file, None, format!("{what} slug {slug:?} is defined twice"))
                        .with_hint("each slug names one page: merge the two tables or rename one"),
                );
            }
        }
    };
    check(
        load::THEMES_FILE,
        "theme",
        content.themes.iter().map(|t| t.slug.as_str()).collect(),
    );
    check(
        load::ENTITIES_FILE,
        "entity",
        content.entities.iter().map(|e| e.slug.as_str()).collect(),
    );
}

type Rendered = (usize, Duration, Vec<(&'static str, Duration)>);

/// Renders pages, exports and static files into `sink`; the search index
/// too when `with_search` (check skips it: it is derived from what check
/// has verified, and it is the costliest part), from the analyses the
/// last build kept on disk in `stored`, if any.
fn render_into(
    prepared: &Prepared,
    sink: &dyn Sink,
    with_search: bool,
    memo: &Memo,
    stored: Option<&crate::search::Stored>,
) -> Result<Rendered, Vec<Diagnostic>> {
    let t = Instant::now();
    let timed = |name: &'static str, work: &dyn Fn() -> Result<usize, Vec<Diagnostic>>| {
        let lap = Instant::now();
        work().map(|files| (files, (name, lap.elapsed())))
    };
    let renderer = Renderer::new(&prepared.index, &prepared.theme, memo)?;
    let cards = ("cards", t.elapsed());
    let io_error = |path: &str, e: std::io::Error| {
        vec![
            Diagnostic::error(path, None, format!("cannot write: {e}"))
                .with_hint("check that the output folder is writable and the disk is not full"),
        ]
    };
    // Exports and the search index cover the whole dossier: they are redone
    // only when something in it changed. Each is one thread's work, so they
    // run beside the (parallel) pages rather than after them.
    let site_key = renderer.site_key();
    let pages = || timed("pages", &|| renderer.render_all(sink));
    let exports = || {
        timed("exports", &|| {
            let data = whole_site(sink, "data/", &site_key, || {
                export::write_exports(&prepared.index, sink, memo).map_err(|e| io_error("data/", e))
            })?;
            let pages_files = export::write_pages_files(&prepared.index, sink)
                .map_err(|e| io_error("robots.txt", e))?;
            Ok(data + pages_files)
        })
    };
    let search = || {
        timed("search", &|| {
            if !with_search {
                return Ok(0);
            }
            let search_dir = format!("{}/", crate::search::BUNDLE_DIR);
            whole_site(sink, &search_dir, &site_key, || {
                crate::search::write_index(
                    &prepared.index,
                    sink,
                    memo,
                    &renderer.global_key(),
                    stored,
                )
            })
        })
    };
    let (pages, (exports, search)) = rayon::join(pages, || rayon::join(exports, search));
    renderer.dispose();
    let (pages, exports, search) = (pages?, exports?, search?);
    let mut files = pages.0 + exports.0 + search.0;
    let parts = vec![cards, pages.1, exports.1, search.1];
    for (path, bytes) in &prepared.theme.static_files {
        sink.put(path, bytes).map_err(|e| io_error(path, e))?;
        files += 1;
    }
    Ok((files, t.elapsed(), parts))
}

/// The files below `group`, kept from the previous build when `key` is the
/// one they were written from, else written by `write`.
fn whole_site(
    sink: &dyn Sink,
    group: &str,
    key: &str,
    write: impl FnOnce() -> Result<usize, Vec<Diagnostic>>,
) -> Result<usize, Vec<Diagnostic>> {
    let io_error = |e: std::io::Error| {
        vec![
            Diagnostic::error(group, None, format!("cannot write: {e}"))
                .with_hint("check that the output folder is writable and the disk is not full"),
        ]
    };
    if let Some(kept) = sink.reuse_group(group, key).map_err(io_error)? {
        return Ok(kept);
    }
    let written = write()?;
    sink.group_done(group, key).map_err(io_error)?;
    Ok(written)
}

/// Builds the site into the output folder, atomically.
pub fn build(options: &BuildOptions) -> Result<BuildReport, Vec<Diagnostic>> {
    build_with_cache(options, None)
}

/// As [`build`], reusing and refilling what an earlier build of this
/// process kept.
pub fn build_with_cache(
    options: &BuildOptions,
    mut cache: Option<&mut BuildCache>,
) -> Result<BuildReport, Vec<Diagnostic>> {
    // From the first step: reading the article cache is part of the build.
    let start = Instant::now();
    let off = Memo::off();
    let first = cache.as_deref_mut().and_then(|c| c.left_on_disk.take());
    // Without a cache of this process, the one the last build left on disk.
    let mut from_disk = match cache {
        Some(_) => None,
        None => read_disk_cache(&options.root),
    };
    let with_disk = from_disk.is_some();
    let (articles, memo, mut output_state) = match (cache, from_disk.as_mut()) {
        (Some(cache), _) => (
            Some(&mut cache.articles),
            &cache.memo,
            Some(&mut cache.output_state),
        ),
        (None, Some((articles, _))) => (Some(articles), &off, None),
        (None, None) => (None, &off, None),
    };
    let output = options.output();
    write::check_output(&options.root, &output).map_err(|d| vec![d])?;
    // The search index's analyses are read beside preparing (a build with
    // a cache of this process has them in its memo).
    let (search, locations) = match first {
        Some(LeftOnDisk { search, locations }) => (Some(search), Some(locations)),
        None => (
            None,
            with_disk.then(|| cache::read_locations(&options.root)),
        ),
    };
    let (prepared, stored) = rayon::join(
        || prepare_with_cache(options, articles, memo, locations.as_ref()),
        || search.or_else(|| with_disk.then(|| cache::read_search(&options.root))),
    );
    let mut prepared = prepared?;
    let last_state = output_state.as_deref_mut().and_then(Option::take);
    let staging = Staging::begin_after(&output, last_state).map_err(|e| {
        vec![
            Diagnostic::error(
                output.display().to_string(),
                None,
                format!("cannot prepare the output folder: {e}"),
            )
            .with_hint(
                "check that the output's parent folder is writable and the disk is not full",
            ),
        ]
    })?;
    // The records are final once prepared: the cache on disk is written
    // beside the rendering. It only ever saves work: a build that cannot
    // write it is still whole.
    let (rendered, _) = rayon::join(
        || render_into(&prepared, &staging, true, memo, stored.as_ref()),
        || {
            if let Some(locations) = locations.as_ref().filter(|_| with_disk) {
                let _ = cache::write_locations(&options.root, locations);
            }
            from_disk
                .as_ref()
                .map(|(articles, on_disk)| cache::write(&options.root, articles, on_disk))
        },
    );
    let rendered = match rendered {
        Ok(result) => result,
        Err(mut errors) => {
            staging.abort();
            errors.extend(prepared.diagnostics);
            return Err(errors);
        }
    };
    let (written, unchanged) = (staging.written(), staging.unchanged());
    let t = Instant::now();
    let new_state = staging.commit_remembering().map_err(|e| {
        vec![Diagnostic::error(output.display().to_string(), None, format!("cannot swap the new site in: {e}"))
            .with_hint("the previous site is untouched; check permissions and free space, then build again")]
    })?;
    if let Some(kept) = output_state {
        *kept = Some(new_state);
    }
    if let Some(stored) = stored.as_ref().filter(|_| with_disk) {
        // Like the article cache, it only saves work: a failure is no error.
        let _ = cache::write_search(&options.root, stored);
    }
    memo.sweep();
    prepared.timings.write = t.elapsed();
    crate::drop_in_background((from_disk, stored));
    Ok(report(prepared, rendered, (written, unchanged), start))
}

/// The report of a build that rendered `rendered` and wrote `counts`
/// (written, unchanged).
fn report(
    mut prepared: Prepared,
    (files, render_time, render_parts): Rendered,
    (written, unchanged): (usize, usize),
    start: Instant,
) -> BuildReport {
    prepared.timings.render = render_time;
    prepared.timings.render_parts = render_parts;
    let report = BuildReport {
        articles: prepared.index.records.len(),
        events: prepared.index.events.len(),
        drafts_left_out: prepared.drafts_left_out,
        files,
        written,
        unchanged,
        diagnostics: std::mem::take(&mut prepared.diagnostics),
        timings: std::mem::take(&mut prepared.timings),
        elapsed: start.elapsed(),
    };
    crate::drop_in_background(prepared);
    report
}

/// As [`build_with_cache`], into `site` in memory (the preview's): the
/// output folder is not touched.
pub fn build_in_memory(
    options: &BuildOptions,
    cache: &mut BuildCache,
    site: &memory::Site,
) -> Result<BuildReport, Vec<Diagnostic>> {
    let start = Instant::now();
    let first = cache.left_on_disk.take();
    let memo = &cache.memo;
    let mut prepared = prepare_with_cache(
        options,
        Some(&mut cache.articles),
        memo,
        first.as_ref().map(|f| &f.locations),
    )?;
    // Dropped on failure: the site served is left as it was.
    let staging = site.begin();
    let stored = first.as_ref().map(|f| &f.search);
    let rendered = render_into(&prepared, &staging, true, memo, stored).map_err(|mut errors| {
        errors.extend(prepared.diagnostics.clone());
        errors
    })?;
    let counts = (staging.written(), staging.unchanged());
    let t = Instant::now();
    staging.commit();
    memo.sweep();
    prepared.timings.write = t.elapsed();
    Ok(report(prepared, rendered, counts, start))
}

/// Every check `build` makes, pages rendered and discarded: nothing written.
pub fn check(options: &BuildOptions) -> Result<BuildReport, Vec<Diagnostic>> {
    let start = Instant::now();
    let prepared = prepare(options)?;
    let rendered =
        render_into(&prepared, &Discard, false, &Memo::off(), None).map_err(|mut errors| {
            errors.extend(prepared.diagnostics.clone());
            errors
        })?;
    Ok(report(prepared, rendered, (0, 0), start))
}
