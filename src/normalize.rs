//! Stage 2: every source article becomes a [`Record`].
//!
//! Clippings are messy in predictable ways: a `date` prefix glued to the first
//! sentence, paragraphs split by single newlines, photo captions, agency
//! bylines, datelines, subheadings and web boilerplate. Each paragraph gets a
//! kind; nothing is dropped (boilerplate is kept, just never shown).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, LazyLock};

use pulldown_cmark::{Event as MdEvent, Options, Parser, Tag, TagEnd};
use rayon::prelude::*;
use regex::{Regex, RegexSet};
use serde::Deserialize;

use crate::config::Config;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::frontmatter;
use crate::language::Detector;
use crate::lexicon::{self, Lexicon};
use crate::load::{ArticleFormat, SourceArticle};
use crate::model::{Entity, Paragraph, ParagraphKind, PartialDate, Record, Theme};

/// Metadata an analyst can give in front matter or in a sidecar `ID.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleMeta {
    pub title: Option<String>,
    pub title_en: Option<String>,
    #[serde(default, deserialize_with = "frontmatter::date_string")]
    pub date: Option<String>,
    pub slug: Option<String>,
    pub outlet: Option<String>,
    pub url: Option<String>,
    pub language: Option<String>,
    pub themes: Option<Vec<String>>,
    pub entities: Option<Vec<String>>,
    pub summary: Option<String>,
    #[serde(alias = "notes")]
    pub note: Option<String>,
    #[serde(default, deserialize_with = "frontmatter::date_string")]
    pub added: Option<String>,
    /// Slugs the article was published under before: each keeps a page
    /// that forwards to the article, so links to the old URL still land.
    pub aliases: Option<Vec<String>>,
}

impl ArticleMeta {
    /// Sidecar values win over the article's own front matter.
    fn overridden_by(self, other: ArticleMeta) -> ArticleMeta {
        ArticleMeta {
            title: other.title.or(self.title),
            title_en: other.title_en.or(self.title_en),
            date: other.date.or(self.date),
            slug: other.slug.or(self.slug),
            outlet: other.outlet.or(self.outlet),
            url: other.url.or(self.url),
            language: other.language.or(self.language),
            themes: other.themes.or(self.themes),
            entities: other.entities.or(self.entities),
            summary: other.summary.or(self.summary),
            note: other.note.or(self.note),
            added: other.added.or(self.added),
            aliases: other.aliases.or(self.aliases),
        }
    }
}

/// Web boilerplate seen in clippings; the dossier's config adds its own.
const BUILTIN_BOILERPLATE: &[&str] = &[
    r"(?i)^registrieren sie sich jetzt",
    r"(?i)^(sign up|subscribe|register) (now|today|for|to)\b",
    r"(?i)^(læs|les|läs) (også|også:|också|mer)\b",
    r"(?i)^(annonse|annons|anzeige|advertisement|reklame)$",
    r"(?i)^(del|dela|share|teilen)( (artikel|artiklen|artikkelen|artikeln|this article|artikel))?:?$",
    r"(?i)^unsere kriterien:",
];

/// The first paragraph matching one of these, and all after it, are boilerplate.
const BUILTIN_CUT_FROM: &[&str] = &[
    r"(?i)^more stories$",
    r"(?i)^(mehr zum thema|weitere artikel|related (stories|articles)|relaterte saker|relaterede artikler|relaterade artiklar)\b",
    r"(?i)^(berichterstattung von|reporting by|redigering:|editing by) ",
];

/// Agency names that, alone on a line, are a byline.
const AGENCIES: &[&str] = &[
    "NTB",
    "Ritzau",
    "TT",
    "dpa",
    "AFP",
    "AP",
    "Reuters",
    "Reuters/Ritzau",
    "ANP",
    "STT",
    "APA",
    "Belga",
    "EFE",
    "ANSA",
    "PAP",
    "Interfax",
    "TASS",
    "RIA",
    "Bloomberg",
    "TT-AFP",
    "NTB-AFP",
];

static DATE_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*date\s*:?\s*(\d{4}-\d{1,2}(?:-\d{1,2})?)(?:\s+|$)").expect("valid regex")
});
static DATE_PREFIX_BAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*date\s*:?\s*(\d[\d./-]*)").expect("valid regex"));
static DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\p{Lu}[\p{Lu}\p{M} .'/-]{1,40}?)\s*\(([^()]{2,30})\)\s*[–—-]\s*")
        .expect("valid regex")
});
static CAPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[\s.])(foto|photo|bild|billede|kuva|illustration|grafik|video)\s*:\s*")
        .expect("valid regex")
});
static BYLINE_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(af|av|von|by|text|tekst|skrevet af|skrevet av)\s*:?\s+\p{Lu}")
        .expect("valid regex")
});

pub struct Normalizer {
    boilerplate: RegexSet,
    cut_from: RegexSet,
    themes: Lexicon,
    entities: Lexicon,
    theme_slugs: HashSet<String>,
    entity_slugs: HashSet<String>,
    detector: Detector,
}

impl Normalizer {
    pub fn new(
        config: &Config,
        themes: &[Theme],
        entities: &[Entity],
        diagnostics: &Diagnostics,
    ) -> Self {
        // One pass over a paragraph for all patterns.
        let compile = |builtin: &[&str], own: &[String]| -> RegexSet {
            let builtin = builtin.iter().filter(|_| config.normalize.builtin_patterns);
            let patterns: Vec<String> = builtin
                .map(|s| s.to_string())
                .chain(own.iter().map(|s| format!("(?i){s}")))
                .filter(|p| Regex::new(p).is_ok()) // validated with the config
                .collect();
            RegexSet::new(patterns).unwrap_or_else(|_| RegexSet::empty())
        };
        let (detector, unsupported) = Detector::new(&config.normalize.languages);
        for code in unsupported {
            diagnostics.push(
                Diagnostic::warning(crate::config::CONFIG_FILE, None, format!("language {code:?} cannot be detected"))
                    .with_hint(format!(
                        "detection supports {}; declare other languages in each article's front matter or sidecar",
                        crate::language::SUPPORTED.join(", ")
                    )),
            );
        }
        Normalizer {
            boilerplate: compile(BUILTIN_BOILERPLATE, &config.normalize.boilerplate),
            cut_from: compile(BUILTIN_CUT_FROM, &config.normalize.cut_from),
            themes: Lexicon::new(themes.iter().map(|t| {
                (
                    t.slug.as_str(),
                    t.keywords.iter().map(String::as_str).collect(),
                )
            })),
            entities: Lexicon::new(entities.iter().map(|e| {
                let mut names: Vec<&str> = e.aliases.iter().map(String::as_str).collect();
                names.push(e.name.as_str());
                (e.slug.as_str(), names)
            })),
            theme_slugs: themes.iter().map(|t| t.slug.clone()).collect(),
            entity_slugs: entities.iter().map(|e| e.slug.clone()).collect(),
            detector,
        }
    }

    pub fn entity_lexicon(&self) -> &Lexicon {
        &self.entities
    }

    /// Normalizes all articles in parallel; slugs are made unique afterwards
    /// in id order, so the result does not depend on thread timing.
    /// Takes the sources by value: each is dropped as soon as its record is
    /// made, so a large dossier never holds all its text twice.
    pub fn normalize_all(
        &self,
        articles: Vec<SourceArticle>,
        diagnostics: &Diagnostics,
    ) -> Vec<Arc<Record>> {
        let mut records: Vec<Arc<Record>> = articles
            .into_par_iter()
            .filter_map(|a| self.normalize(&a, diagnostics).map(Arc::new))
            .collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        assign_unique_slugs_shared(&mut records);
        records
    }

    /// As [`Normalizer::normalize_all`], reusing the cached records of
    /// unchanged articles and refilling the cache with this build's.
    pub fn normalize_cached(
        &self,
        content: &mut crate::load::Content,
        cache: &mut crate::load::ArticleCache,
        diagnostics: &Diagnostics,
    ) -> Vec<Arc<Record>> {
        let fresh: Vec<(crate::load::CachedArticle, String)> =
            std::mem::take(&mut content.articles)
                .into_par_iter()
                .filter_map(|a| {
                    let own = Diagnostics::new();
                    let record = self.normalize(&a, &own);
                    let diagnostics = own.into_sorted();
                    record.map(|record| {
                        let entry = crate::load::CachedArticle {
                            stamp: a.stamp.clone(),
                            record: Arc::new(record),
                            diagnostics,
                        };
                        (entry, a.id.clone())
                    })
                })
                .collect();
        // The old entries go first, and each record is held once while
        // slugs are assigned: a record is copied only if its slug changes.
        cache.entries.clear();
        let mut all: Vec<crate::load::CachedArticle> = std::mem::take(&mut content.reused);
        all.extend(fresh.into_iter().map(|(c, _)| c));
        all.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        let (mut records, rest): (Vec<Arc<Record>>, Vec<_>) = all
            .into_iter()
            .map(|c| (c.record, (c.stamp, c.diagnostics)))
            .unzip();
        assign_unique_slugs_shared(&mut records);
        // The cache keeps the records as this build made them: slugs are
        // made from the declared slug or the id, never from `slug`.
        for (record, (stamp, own)) in records.iter().zip(rest) {
            diagnostics.extend(own.iter().cloned());
            let entry = crate::load::CachedArticle {
                stamp,
                record: record.clone(),
                diagnostics: own,
            };
            cache.entries.insert(record.id.clone(), entry);
        }
        records
    }

    pub fn normalize(&self, article: &SourceArticle, diagnostics: &Diagnostics) -> Option<Record> {
        let path = article.source.path.as_str();
        let text = article.source.text.as_str();

        let (own_meta, body, body_line) = match article.format {
            ArticleFormat::Text => (ArticleMeta::default(), text, 1),
            ArticleFormat::Markdown => match frontmatter::split(text) {
                Ok(split) => {
                    let meta =
                        frontmatter::parse::<ArticleMeta>(&split, path).unwrap_or_else(|d| {
                            diagnostics.push(d);
                            ArticleMeta::default()
                        });
                    (meta, split.body, split.body_line)
                }
                Err((line, message)) => {
                    diagnostics.push(
                        Diagnostic::error(path, Some(line), message)
                            .with_hint("close the front matter with the same fence (+++ or ---) on a line of its own"),
                    );
                    return None;
                }
            },
        };
        let sidecar_meta = article.sidecar.as_ref().map(|s| {
            toml::from_str::<ArticleMeta>(&s.text).unwrap_or_else(|e| {
                let line = e.span().map(|sp| crate::diagnostics::line_of_offset(&s.text, sp.start));
                diagnostics.push(
                    Diagnostic::error(&s.path, line, format!("sidecar: {}", e.message().trim()))
                        .with_hint("a sidecar takes title, title_en, date, slug, outlet, url, language, themes, entities, summary, note, added, aliases"),
                );
                ArticleMeta::default()
            })
        });
        let meta_path = article.sidecar.as_ref().map(|s| s.path.as_str());
        let meta = match sidecar_meta {
            Some(sidecar) => own_meta.overridden_by(sidecar),
            None => own_meta,
        };

        // Date: annotation first, then the clipping's own `date` prefix.
        let (prefix_date, body) = strip_date_prefix(body);
        let malformed_prefix = matches!(prefix_date, Some(Err(_)));
        if let Some(Err(bad)) = &prefix_date {
            diagnostics.push(
                Diagnostic::error(
                    path,
                    Some(body_line),
                    format!("malformed date {bad:?} in the date line"),
                )
                .with_hint(
                    "write `date YYYY-MM-DD` or `date YYYY-MM`, or give the date in the sidecar",
                ),
            );
        }
        let date = match &meta.date {
            Some(d) => match PartialDate::parse(d) {
                Some(date) => Some(date),
                None => {
                    let (file, text) = meta_source(article, meta_path);
                    diagnostics.push(
                        Diagnostic::error(file, key_line(text, "date"), format!("malformed date {d:?}"))
                            .with_hint("dates are \"YYYY-MM-DD\" (day precision) or \"YYYY-MM\" (month precision)"),
                    );
                    None
                }
            },
            None => prefix_date.and_then(Result::ok),
        };
        if date.is_none() && meta.date.is_none() && !malformed_prefix {
            diagnostics.push(
                Diagnostic::warning(path, Some(1), "no date; the article is listed as undated")
                    .with_hint(format!(
                        "start the first line with `date YYYY-MM-DD`, or add date = \"YYYY-MM-DD\" to {}.toml",
                        article.id
                    )),
            );
        }

        let mut paragraphs = match article.format {
            ArticleFormat::Text => split_clipping(body),
            ArticleFormat::Markdown => split_markdown(body),
        };
        let markdown = article.format == ArticleFormat::Markdown;
        let dateline_agency = self.classify(&mut paragraphs, markdown);
        if paragraphs.iter().all(|p| !p.kind.is_shown()) {
            diagnostics.push(
                Diagnostic::warning(
                    path,
                    None,
                    "every paragraph is boilerplate; nothing will be shown",
                )
                .with_hint("check the boilerplate patterns in dossier.toml"),
            );
        }

        let shown_text: String = paragraphs
            .iter()
            .filter(|p| p.kind.is_shown())
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let words = lexicon::words_borrowed(&shown_text);

        // The first of the annotated title and the lead sentence that is not
        // empty once cleaned ("...", or a markdown list item with no text, is).
        let title = [meta.title.clone(), lead_title(&paragraphs)]
            .into_iter()
            .flatten()
            .map(|t| clean_title(&t))
            .find(|t| !t.trim().is_empty())
            .unwrap_or_else(|| {
                let id = clean_title(&article.id);
                if id.trim().is_empty() {
                    article.id.clone()
                } else {
                    id
                }
            });

        let language = match &meta.language {
            Some(code) => code.trim().to_ascii_lowercase(),
            None => self.detector.detect(&shown_text).unwrap_or_else(|| {
                diagnostics.push(
                    Diagnostic::warning(path, None, "language not recognized")
                        .with_hint("declare it: language = \"da\" in the sidecar or front matter"),
                );
                "und".to_string()
            }),
        };

        let outlet = meta.outlet.clone().or(dateline_agency).or_else(|| {
            paragraphs
                .iter()
                .find(|p| p.kind == ParagraphKind::Byline)
                .and_then(|p| agency_of(&p.text))
        });

        let mut themes: BTreeSet<String> = self.themes.matches_words(&words);
        themes.extend(self.themes.matches(&title));
        let mut entities: BTreeSet<String> = self.entities.matches_words(&words);
        entities.extend(self.entities.matches(&title));
        let (meta_file, meta_text) = meta_source(article, meta_path);
        for slug in meta.themes.iter().flatten() {
            if self.theme_slugs.contains(slug) {
                themes.insert(slug.clone());
            } else {
                diagnostics.push(unknown_slug(
                    meta_file,
                    meta_text,
                    "themes",
                    "theme",
                    slug,
                    &self.theme_slugs,
                ));
            }
        }
        for slug in meta.entities.iter().flatten() {
            if self.entity_slugs.contains(slug) {
                entities.insert(slug.clone());
            } else {
                diagnostics.push(unknown_slug(
                    meta_file,
                    meta_text,
                    "entities",
                    "entity",
                    slug,
                    &self.entity_slugs,
                ));
            }
        }
        if let Some(url) = &meta.url {
            // The same rule as the article page's link.
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                diagnostics.push(
                    Diagnostic::warning(
                        meta_file,
                        key_line(meta_text, "url"),
                        format!("url {url:?} is not http(s); the article page will not link it"),
                    )
                    .with_hint(
                        "give the address the article was published at: url = \"https://…\"",
                    ),
                );
            }
        }
        for alias in meta.aliases.iter().flatten() {
            if let Some(problem) = alias_problem(alias) {
                diagnostics.push(
                    Diagnostic::error(meta_file, key_line(meta_text, "aliases"), problem)
                        .with_hint(ALIAS_HINT),
                );
            }
        }
        if let Some(added) = &meta.added
            && PartialDate::parse(added).is_none()
        {
            diagnostics.push(
                Diagnostic::error(
                    meta_file,
                    key_line(meta_text, "added"),
                    format!("malformed date {added:?}"),
                )
                .with_hint("`added` is the day the article arrived: \"YYYY-MM-DD\""),
            );
        }

        Some(Record {
            id: article.id.clone(),
            slug: meta.slug.clone().unwrap_or_default(),
            declared_slug: meta.slug.clone().unwrap_or_default(),
            title,
            title_en: meta.title_en,
            date: date.as_ref().map(PartialDate::iso),
            precision: date.as_ref().map(PartialDate::precision),
            month: date.as_ref().map(PartialDate::month_key),
            language,
            language_declared: meta.language.is_some(),
            outlet,
            url: meta.url,
            themes: themes.into_iter().collect(),
            entities: entities.into_iter().collect(),
            paragraphs,
            words: words.len(),
            hash: article.hash.clone(),
            source: article.source.path.clone(),
            summary: meta.summary,
            note: meta.note,
            added: meta.added,
            aliases: meta
                .aliases
                .unwrap_or_default()
                .into_iter()
                .filter(|a| alias_problem(a).is_none())
                .collect(),
            fingerprint: {
                let mut h = blake3::Hasher::new();
                h.update(article.source.path.as_bytes());
                h.update(article.hash.as_bytes());
                if let Some(sidecar) = &article.sidecar {
                    h.update(sidecar.text.as_bytes());
                }
                h.finalize().to_hex()[..32].to_string()
            },
        })
    }

    /// Gives every paragraph its kind. Returns the agency named by a dateline.
    /// Markdown marks its own headings; clippings need the guesswork.
    fn classify(&self, paragraphs: &mut Vec<Paragraph>, markdown: bool) -> Option<String> {
        let mut agency = None;
        // A dateline opens the first paragraph: split it off as its own.
        if let Some(first) = paragraphs.first_mut()
            && !markdown
            && let Some(m) = DATELINE.captures(&first.text)
        {
            let whole = m.get(0).map(|m| m.end()).unwrap_or(0);
            if whole < first.text.len() {
                agency = m.get(2).map(|a| a.as_str().trim().to_string());
                let rest = first.text[whole..].to_string();
                first.text = first.text[..whole].trim_end().to_string();
                first.kind = ParagraphKind::Dateline;
                paragraphs.insert(
                    1,
                    Paragraph {
                        id: String::new(),
                        kind: ParagraphKind::Body,
                        text: rest,
                        html: None,
                    },
                );
            }
        }

        let mut cut = false;
        let mut lead_seen = false;
        for (i, p) in paragraphs.iter_mut().enumerate() {
            p.id = format!("p{}", i + 1);
            if p.kind == ParagraphKind::Dateline {
                continue;
            }
            let text = p.text.trim();
            cut = cut || self.cut_from.is_match(text);
            p.kind = if cut || self.boilerplate.is_match(text) {
                ParagraphKind::Boilerplate
            } else if p.kind == ParagraphKind::Subheading {
                ParagraphKind::Subheading // markdown headings
            } else if is_caption(text) {
                ParagraphKind::Caption
            } else if is_byline(text) {
                ParagraphKind::Byline
            } else if lead_seen && !markdown && is_subheading(text) {
                ParagraphKind::Subheading
            } else if !lead_seen {
                lead_seen = true;
                ParagraphKind::Lead
            } else {
                ParagraphKind::Body
            };
        }
        agency
    }
}

fn meta_source<'a>(
    article: &'a SourceArticle,
    sidecar_path: Option<&'a str>,
) -> (&'a str, &'a str) {
    match (sidecar_path, &article.sidecar) {
        (Some(path), Some(s)) => (path, s.text.as_str()),
        _ => (article.source.path.as_str(), article.source.text.as_str()),
    }
}

pub const ALIAS_HINT: &str = "an alias is a former slug: lowercase ASCII words joined by hyphens, e.g. aliases = [\"old-slug\"]";

/// Why `alias` cannot be a page's former slug, if it cannot.
pub fn alias_problem(alias: &str) -> Option<String> {
    (slug::slugify(alias) != alias).then(|| format!("alias {alias:?} is not a URL-safe slug"))
}

fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('=') || r.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

pub fn unknown_slug(
    file: &str,
    text: &str,
    key: &str,
    what: &str,
    slug: &str,
    known: &HashSet<String>,
) -> Diagnostic {
    let mut known: Vec<&String> = known.iter().collect();
    known.sort_by(|a, b| {
        strsim::levenshtein(slug, a)
            .cmp(&strsim::levenshtein(slug, b))
            .then(a.cmp(b))
    });
    let hint = match known.first() {
        Some(best) => format!(
            "did you mean {best:?}? {what} slugs are defined in content/{}.toml",
            if what == "theme" {
                "themes"
            } else {
                "entities"
            }
        ),
        None => format!("no {what} is defined yet: add [[{what}]] tables"),
    };
    Diagnostic::error(
        file,
        key_line(text, key),
        format!("unknown {what} {slug:?}"),
    )
    .with_hint(hint)
}

/// Splits off a leading `date YYYY-MM[-DD]` (the seeds glue it to the first
/// sentence). Returns the parsed date (or the malformed text) and the rest.
fn strip_date_prefix(body: &str) -> (Option<Result<PartialDate, String>>, &str) {
    let start = body.len() - body.trim_start().len();
    let trimmed = &body[start..];
    if let Some(m) = DATE_PREFIX.captures(trimmed) {
        let raw = &m[1];
        let rest = &trimmed[m.get(0).map(|m| m.end()).unwrap_or(0)..];
        return match PartialDate::parse(raw) {
            Some(date) => (Some(Ok(date)), rest),
            None => (Some(Err(raw.to_string())), rest),
        };
    }
    if let Some(m) = DATE_PREFIX_BAD.captures(trimmed) {
        return (Some(Err(m[1].to_string())), body);
    }
    (None, body)
}

/// Paragraphs of a clipping: by blank lines, or by single newlines where the
/// clipping has no blank line at all.
pub fn split_clipping(body: &str) -> Vec<Paragraph> {
    let has_blank = body.trim().lines().any(|l| l.trim().is_empty());
    let blocks: Vec<String> = if has_blank {
        body.split('\n')
            .collect::<Vec<_>>()
            .split(|l| l.trim().is_empty())
            .filter(|b| !b.is_empty())
            .map(|lines| lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" "))
            .collect()
    } else {
        body.lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    blocks
        .into_iter()
        .map(|text| Paragraph {
            id: String::new(),
            kind: ParagraphKind::Body,
            text: collapse_spaces(&text),
            html: None,
        })
        .collect()
}

fn collapse_spaces(text: &str) -> String {
    // Most paragraphs have single spaces already: copy them as they are.
    // ASCII is checked a block at a time; only other characters are decoded.
    let other_ascii_space = |b: u8| matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
    let tidy = !text.starts_with(char::is_whitespace)
        && !text.ends_with(char::is_whitespace)
        && !text.contains("  ")
        && text.as_bytes().chunks(64).all(|block| {
            !block
                .iter()
                .fold(false, |bad, &b| bad | other_ascii_space(b))
        })
        && !crate::load::non_ascii_chars(text).any(char::is_whitespace);
    if tidy {
        return text.to_string();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Top-level markdown blocks become paragraphs, each with its plain text and
/// its sanitized HTML.
pub fn split_markdown(body: &str) -> Vec<Paragraph> {
    let mut paragraphs = Vec::new();
    let mut depth = 0usize;
    let mut events: Vec<MdEvent> = Vec::new();
    let mut text = String::new();
    let mut heading = false;
    // Only blocks with raw HTML or links need the (costly) sanitizer;
    // pulldown-cmark escapes everything else itself.
    let mut risky = false;
    // A block of plain text needs no HTML of its own: the text, escaped, is
    // the same. Keeping none halves what a markdown article holds in memory.
    let mut markup = false;
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    // An image would be fetched from wherever the clipping points: a
    // tracking pixel. It becomes a link to the image, named by its alt text.
    let events_in = Parser::new_ext(body, options).map(|event| match event {
        MdEvent::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => MdEvent::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }),
        MdEvent::End(TagEnd::Image) => MdEvent::End(TagEnd::Link),
        other => other,
    });
    for event in events_in {
        match &event {
            MdEvent::Start(tag) => {
                if depth == 0 {
                    heading = matches!(tag, Tag::Heading { .. });
                }
                risky |= matches!(tag, Tag::Link { .. });
                markup |= !(depth == 0 && matches!(tag, Tag::Paragraph));
                depth += 1;
            }
            MdEvent::End(_) => depth = depth.saturating_sub(1),
            MdEvent::Text(t) => text.push_str(t),
            MdEvent::Code(t) => {
                markup = true;
                text.push_str(t)
            }
            MdEvent::Html(_) | MdEvent::InlineHtml(_) => risky = true,
            MdEvent::SoftBreak | MdEvent::HardBreak => text.push(' '),
            _ => {}
        }
        let closes_block = depth == 0 && !matches!(event, MdEvent::Start(_));
        events.push(event);
        if closes_block {
            let plain = collapse_spaces(&text);
            text.clear();
            let (is_markup, is_risky) = (std::mem::take(&mut markup), std::mem::take(&mut risky));
            let html = if is_markup || is_risky {
                let mut html = String::new();
                pulldown_cmark::html::push_html(&mut html, events.drain(..));
                let html = if is_risky { sanitize_html(&html) } else { html };
                (!html.trim().is_empty()).then_some(html)
            } else {
                events.clear();
                None
            };
            if plain.is_empty() && html.is_none() {
                continue;
            }
            paragraphs.push(Paragraph {
                id: String::new(),
                kind: if heading {
                    ParagraphKind::Subheading
                } else {
                    ParagraphKind::Body
                },
                text: plain,
                html,
            });
        }
    }
    let _ = TagEnd::Paragraph; // blocks close on depth, whatever their tag
    paragraphs
}

/// Raw HTML in markdown is untrusted: keep only harmless formatting, and
/// links with safe schemes.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        // Raw images go: fetched from another host, they would track readers.
        .rm_tags(["img"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

fn is_caption(text: &str) -> bool {
    // Every caption has a colon; most paragraphs have none, and the
    // unanchored search cost ~3 % of a 10,000-article build.
    text.contains(':')
        && CAPTION.find(text).is_some_and(|m| {
            let after = &text[m.end()..];
            m.start() == 0 || after.chars().count() <= 80
        })
}

fn agency_of(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches('.');
    AGENCIES
        .iter()
        .find(|a| a.eq_ignore_ascii_case(t))
        .map(|a| a.to_string())
}

fn is_byline(text: &str) -> bool {
    agency_of(text).is_some()
        || (BYLINE_PREFIX.is_match(text) && text.split_whitespace().count() <= 6)
}

/// Short line without final punctuation: "Grunnlovsendring", "ISW: Osannolikt".
fn is_subheading(text: &str) -> bool {
    let core = text.trim_end_matches(['"', '\'', '”', '“', '»', '«', '’', ')', ' ']);
    let words = text.split_whitespace().count();
    let dialogue = text.starts_with(['-', '–', '—']);
    words > 0
        && words <= 10
        && text.chars().count() <= 80
        && !dialogue
        && !core.ends_with(['.', '!', '?', ',', ';', '…'])
}

/// The first sentence of the lead paragraph, never a caption or dateline.
fn lead_title(paragraphs: &[Paragraph]) -> Option<String> {
    let lead = paragraphs
        .iter()
        .find(|p| p.kind == ParagraphKind::Lead)
        .or_else(|| {
            paragraphs
                .iter()
                .find(|p| matches!(p.kind, ParagraphKind::Body | ParagraphKind::Subheading))
        })?;
    Some(first_sentence(&lead.text))
}

/// Up to the first `. `/`! `/`? ` followed by an uppercase letter or a quote.
pub fn first_sentence(text: &str) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        if matches!(c, '.' | '!' | '?') && pos > 0 {
            let next = chars.get(i + 1).map(|&(_, c)| c);
            let after = chars.get(i + 2).map(|&(_, c)| c);
            // "t.h." and "St. Petersburg" are not sentence ends: require a
            // word of 3+ letters before the period.
            let word_before: String = text[..pos]
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            let long_word = word_before.chars().count() >= 3 || c != '.';
            if next == Some(' ')
                && after.is_some_and(|a| {
                    a.is_uppercase() || matches!(a, '"' | '„' | '“' | '«' | '–' | '-')
                })
                && long_word
            {
                return text[..pos + c.len_utf8()].to_string();
            }
        }
    }
    text.to_string()
}

/// Titles stay readable: no final period, at most ~160 characters.
fn clean_title(title: &str) -> String {
    let title = collapse_spaces(title);
    let title = title.trim_end_matches('.').to_string();
    const MAX: usize = 160;
    if title.chars().count() <= MAX {
        return title;
    }
    let cut: String = title.chars().take(MAX).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end_matches([',', ';', ':', ' ']))
}

/// ASCII slug; empty slugs (punctuation-only) fall back to `article`, and
/// collisions get `-2`, `-3`… in id order.
pub fn assign_unique_slugs(records: &mut [Record]) {
    let slugs = unique_slugs(records.iter(), base_slug);
    for (record, slug) in records.iter_mut().zip(slugs) {
        record.slug = slug;
    }
}

/// As [`assign_unique_slugs`]; a record is copied only if its slug changes
/// (the preview server's cache shares the records of the last build).
pub fn assign_unique_slugs_shared(records: &mut [Arc<Record>]) {
    let slugs = unique_slugs(records.iter().map(|r| &**r), base_slug);
    for (record, slug) in records.iter_mut().zip(slugs) {
        if record.slug != slug {
            Arc::make_mut(record).slug = slug;
        }
    }
}

/// The slug of each record, unique, in order.
fn unique_slugs<'r>(
    records: impl Iterator<Item = &'r Record>,
    base_of: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for record in records {
        let wanted = if record.declared_slug.is_empty() {
            &record.id
        } else {
            &record.declared_slug
        };
        let base = base_of(wanted);
        let mut candidate = base.clone();
        let mut n = 2;
        while !used.insert(candidate.clone()) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

/// The URL-safe form of a wanted slug, before it is made unique.
fn base_slug(wanted: &str) -> String {
    let mut base = slug::slugify(wanted);
    if base.is_empty() {
        base = "article".to_string();
    }
    base.truncate(80);
    base.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::SourceText;

    fn normalizer() -> Normalizer {
        let themes = vec![Theme {
            slug: "missiles".into(),
            name: "Missiles".into(),
            description: String::new(),
            keywords: vec!["iskander".into()],
        }];
        let entities = vec![Entity {
            slug: "alexander-lukashenko".into(),
            name: "Alexander Lukashenko".into(),
            kind: "person".into(),
            aliases: vec!["Lukasjenko".into(), "Lukaschenko".into()],
            description: String::new(),
        }];
        Normalizer::new(&Config::default(), &themes, &entities, &Diagnostics::new())
    }

    fn article(
        id: &str,
        format: ArticleFormat,
        text: &str,
        sidecar: Option<&str>,
    ) -> SourceArticle {
        SourceArticle {
            id: id.into(),
            stamp: Default::default(),
            format,
            source: SourceText {
                path: format!("content/articles/{id}.txt"),
                text: text.into(),
            },
            hash: "h".into(),
            sidecar: sidecar.map(|s| SourceText {
                path: format!("content/articles/{id}.toml"),
                text: s.into(),
            }),
        }
    }

    fn kinds(r: &Record) -> Vec<ParagraphKind> {
        r.paragraphs.iter().map(|p| p.kind).collect()
    }

    #[test]
    fn date_prefix_glued_to_the_first_sentence() {
        let d = Diagnostics::new();
        let r = normalizer()
            .normalize(
                &article(
                    "a",
                    ArticleFormat::Text,
                    " date 2022-05 Hviderusland har købt Iskander.\n\nMere tekst her.\n",
                    None,
                ),
                &d,
            )
            .unwrap();
        assert_eq!(r.date.as_deref(), Some("2022-05"));
        assert_eq!(r.month.as_deref(), Some("2022-05"));
        assert_eq!(r.precision, Some(crate::model::Precision::Month));
        assert_eq!(r.title, "Hviderusland har købt Iskander");
        assert_eq!(r.paragraphs[0].text, "Hviderusland har købt Iskander.");
        assert_eq!(r.themes, vec!["missiles"]);
        assert!(!d.has_errors());
    }

    #[test]
    fn caption_byline_and_subheading() {
        let text = " date 2022-06 Putin (t.h.) og Lukasjenko. Her møtes de i Minsk. Foto: Pool via AP / NTB\n\nNTB\n\nRussland vil levere raketter. Det sa Putin.\n\nAngrep fra Belarus\n\nEksperter har tolket det.\n";
        let r = normalizer()
            .normalize(
                &article("b", ArticleFormat::Text, text, None),
                &Diagnostics::new(),
            )
            .unwrap();
        use ParagraphKind::*;
        assert_eq!(kinds(&r), vec![Caption, Byline, Lead, Subheading, Body]);
        assert_eq!(r.title, "Russland vil levere raketter");
        assert_eq!(r.outlet.as_deref(), Some("NTB"));
        assert_eq!(r.entities, vec!["alexander-lukashenko"]);
        let ids: Vec<_> = r.paragraphs.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, vec!["p1", "p2", "p3", "p4", "p5"]);
    }

    #[test]
    fn single_newlines_dateline_and_boilerplate() {
        let text = "MOSKAU (Reuters) – Der Präsident sagte am Samstag etwas.\nLukaschenko äußerte Sorge.\nRegistrieren Sie sich jetzt, um Zugriff zu erhalten\nEin weiterer Absatz.\nBerichterstattung von Reuters. Herausgegeben von X\nMore Stories\nYacht sinkt\n";
        let d = Diagnostics::new();
        let r = normalizer()
            .normalize(
                &article(
                    "c",
                    ArticleFormat::Text,
                    text,
                    Some("date = \"2022-06-25\"\n"),
                ),
                &d,
            )
            .unwrap();
        use ParagraphKind::*;
        assert_eq!(
            kinds(&r),
            vec![
                Dateline,
                Lead,
                Body,
                Boilerplate,
                Body,
                Boilerplate,
                Boilerplate,
                Boilerplate
            ]
        );
        assert_eq!(r.paragraphs[0].text, "MOSKAU (Reuters) –");
        assert_eq!(r.outlet.as_deref(), Some("Reuters"));
        assert_eq!(r.date.as_deref(), Some("2022-06-25"));
        assert_eq!(r.title, "Der Präsident sagte am Samstag etwas");
        assert!(
            r.paragraphs.iter().any(|p| p.text == "Yacht sinkt"),
            "boilerplate is kept"
        );
        assert!(!d.has_errors());
    }

    #[test]
    fn undated_is_kept_with_a_warning() {
        let d = Diagnostics::new();
        let r = normalizer()
            .normalize(
                &article("u", ArticleFormat::Text, "Ingen dato her.\n", None),
                &d,
            )
            .unwrap();
        assert_eq!(r.date, None);
        assert_eq!(r.month, None);
        let diags = d.into_sorted();
        assert!(
            diags
                .iter()
                .any(|d| !d.is_error() && d.message.contains("undated"))
        );
    }

    #[test]
    fn malformed_dates_are_errors_with_lines() {
        let d = Diagnostics::new();
        normalizer().normalize(
            &article("m", ArticleFormat::Text, "date 2022-13-01 Tekst.\n", None),
            &d,
        );
        let diags = d.into_sorted();
        assert!(
            diags
                .iter()
                .any(|d| d.is_error() && d.line == Some(1) && d.message.contains("2022-13-01"))
        );

        let d = Diagnostics::new();
        normalizer().normalize(
            &article(
                "s",
                ArticleFormat::Text,
                "Tekst.\n",
                Some("title = \"x\"\ndate = \"June\"\n"),
            ),
            &d,
        );
        let diags = d.into_sorted();
        let e = diags.iter().find(|d| d.is_error()).expect("an error");
        assert_eq!(e.path.to_str(), Some("content/articles/s.toml"));
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn unknown_theme_in_sidecar_suggests_nearest() {
        let d = Diagnostics::new();
        normalizer().normalize(
            &article(
                "t",
                ArticleFormat::Text,
                "Tekst.\n",
                Some("themes = [\"misiles\"]\n"),
            ),
            &d,
        );
        let e = d.into_sorted().into_iter().find(|d| d.is_error()).unwrap();
        assert!(e.message.contains("misiles"));
        assert!(e.hint.unwrap().contains("\"missiles\""));
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn markdown_with_front_matter_and_raw_html() {
        let text = "---\ntitle: Et notat\ndate: 2023-05-02\nlanguage: da\n---\n# Overskrift\n\nFørste afsnit med <script>alert(1)</script> og **fed**.\n\nAndet <a href=\"javascript:alert(1)\">link</a>.\n";
        let r = normalizer()
            .normalize(
                &article("md", ArticleFormat::Markdown, text, None),
                &Diagnostics::new(),
            )
            .unwrap();
        assert_eq!(r.title, "Et notat");
        assert_eq!(r.date.as_deref(), Some("2023-05-02"));
        assert_eq!(r.language, "da");
        assert!(r.language_declared);
        assert_eq!(
            kinds(&r),
            vec![
                ParagraphKind::Subheading,
                ParagraphKind::Lead,
                ParagraphKind::Body
            ]
        );
        let html: String = r.paragraphs.iter().filter_map(|p| p.html.clone()).collect();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("<strong>fed</strong>"));
    }

    #[test]
    fn images_become_links_and_raw_images_go() {
        let paragraphs = split_markdown(
            "Foto: ![Kremlin ved nat](https://other.example/k.png \"t\")\n\nPixel <img src=\"https://other.example/p.gif\"> her.\n",
        );
        let html: String = paragraphs.iter().filter_map(|p| p.html.clone()).collect();
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("<a href=\"https://other.example/k.png\" title=\"t\" rel=\"noopener noreferrer nofollow\">Kremlin ved nat</a>"),
            "{html}"
        );
        assert_eq!(paragraphs[1].text, "Pixel her.");
    }

    /// Fuzz crash (normalize): " 022\x131)" as markdown is an empty
    /// ordered list item, whose empty text became the title.
    #[test]
    fn title_is_never_empty() {
        let text = crate::load::clean_text(" 022\u{13}1)");
        for (format, text, sidecar) in [
            (ArticleFormat::Markdown, text.as_str(), None),
            (ArticleFormat::Markdown, "1)\n", Some("title = \"...\"\n")),
            (ArticleFormat::Text, "...\n", None),
        ] {
            let r = normalizer()
                .normalize(&article("x", format, text, sidecar), &Diagnostics::new())
                .unwrap();
            assert_eq!(r.title, "x", "{text:?}");
        }
    }

    #[test]
    fn first_sentence_skips_abbreviations() {
        assert_eq!(
            first_sentence("Putin (t.h.) og Lukasjenko er venner. Her møtes de."),
            "Putin (t.h.) og Lukasjenko er venner."
        );
        assert_eq!(
            first_sentence("Han tok imot ham i St. Petersburg lørdag."),
            "Han tok imot ham i St. Petersburg lørdag."
        );
    }

    #[test]
    fn slugs_are_unique_ascii_and_never_empty() {
        let mut records: Vec<Record> = ["Ünïcode", "unicode", "!!!", "???"]
            .iter()
            .map(|id| {
                let mut r = normalizer()
                    .normalize(
                        &article(id, ArticleFormat::Text, "Tekst.\n", None),
                        &Diagnostics::new(),
                    )
                    .unwrap();
                r.slug.clear();
                r.declared_slug.clear();
                r
            })
            .collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        assign_unique_slugs(&mut records);
        let slugs: Vec<_> = records.iter().map(|r| r.slug.as_str()).collect();
        assert_eq!(slugs, vec!["article", "article-2", "unicode", "unicode-2"]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::load::SourceText;
    use proptest::prelude::*;

    const BOILERPLATE: &[&str] = &[
        "Registrieren Sie sich jetzt, um weiterzulesen",
        "Annonse",
        "Les også: noe annet",
        "Share this article",
    ];

    /// A word no boilerplate, caption, byline or dateline pattern can match.
    fn word() -> impl Strategy<Value = String> {
        "[qQ][a-zæøåäöüß]{0,8}[.,!?;:\"»«)(-]?"
    }

    fn paragraph() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(word(), 1..15)
    }

    static NORMALIZER: LazyLock<Normalizer> =
        LazyLock::new(|| Normalizer::new(&Config::default(), &[], &[], &Diagnostics::new()));

    fn normalize(format: ArticleFormat, text: &str) -> Record {
        let n = &*NORMALIZER;
        let article = SourceArticle {
            id: "p".into(),
            stamp: Default::default(),
            format,
            source: SourceText {
                path: "content/articles/p.txt".into(),
                text: crate::load::clean_text(text),
            },
            hash: "h".into(),
            sidecar: None,
        };
        n.normalize(&article, &Diagnostics::new())
            .expect("a record")
    }

    fn count<'a>(
        words: impl Iterator<Item = &'a str>,
    ) -> std::collections::HashMap<&'a str, usize> {
        let mut m = std::collections::HashMap::new();
        for w in words {
            *m.entry(w).or_insert(0) += 1;
        }
        m
    }

    proptest! {
        /// The quick path gives what collapsing every run of whitespace gives.
        #[test]
        fn collapse_spaces_is_split_and_join(text in "[ab \t\n\r\u{b}\u{c}\u{a0}\u{2009}\u{3000}ä]{0,30}") {
            prop_assert_eq!(collapse_spaces(&text), text.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every word outside boilerplate paragraphs and the date prefix is
        /// in the record's shown paragraphs, however the clipping is laid out.
        #[test]
        fn normalization_never_loses_text(
            paragraphs in prop::collection::vec(paragraph(), 1..8),
            boilerplate in prop::collection::vec((0usize..8, 0usize..BOILERPLATE.len()), 0..3),
            date in prop::option::of("20[0-9]{2}-(0[1-9]|1[0-2])"),
            blank_lines in any::<bool>(),
            crlf in any::<bool>(),
            cut_tail in any::<bool>(),
            markdown in any::<bool>(),
        ) {
            let mut lines: Vec<String> = paragraphs.iter().map(|p| p.join(" ")).collect();
            for (at, which) in &boilerplate {
                let at = (*at).min(lines.len()).max(1);
                lines.insert(at, BOILERPLATE[*which].to_string());
            }
            if cut_tail {
                lines.push("More Stories".into());
                lines.push("qtail words here.".into());
            }
            if let Some(date) = &date {
                lines[0] = format!("date {date} {}", lines[0]);
            }
            let sep = if blank_lines || markdown { "\n\n" } else { "\n" };
            let mut text = lines.join(sep);
            text.push('\n');
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let format = if markdown { ArticleFormat::Markdown } else { ArticleFormat::Text };
            let record = normalize(format, &text);
            let shown: String = record
                .shown_paragraphs()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let have = count(shown.split_whitespace());
            let want = count(paragraphs.iter().flatten().map(String::as_str));
            for (w, n) in want {
                prop_assert!(
                    have.get(w).copied().unwrap_or(0) >= n,
                    "{w:?} x{n} lost from {text:?}: shown {shown:?}"
                );
            }
            prop_assert_eq!(record.date.is_some(), date.is_some());
        }

        /// Slugs are unique, non-empty and URL-safe whatever the ids and
        /// sidecar slugs (`..`, `/`, emoji, empty…).
        #[test]
        fn slugs_stay_unique_and_url_safe(
            entries in prop::collection::vec(
                (any::<String>(), prop::option::of(prop_oneof![
                    any::<String>(),
                    Just("../x".to_string()),
                    Just("a/b".to_string()),
                    Just("..".to_string()),
                    Just(String::new()),
                ])),
                1..20,
            )
        ) {
            let template = normalize(ArticleFormat::Text, "Tekst.\n");
            let mut records: Vec<Record> = entries
                .iter()
                .map(|(id, slug)| {
                    let mut r = template.clone();
                    r.id = id.clone();
                    r.declared_slug = slug.clone().unwrap_or_default();
                    r
                })
                .collect();
            records.sort_by(|a, b| a.id.cmp(&b.id));
            assign_unique_slugs(&mut records);
            let mut seen = HashSet::new();
            for r in &records {
                prop_assert!(!r.slug.is_empty(), "empty slug for {:?}", r.id);
                prop_assert!(
                    r.slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "slug {:?}", r.slug
                );
                prop_assert!(!r.slug.starts_with('-') && !r.slug.ends_with('-'), "slug {:?}", r.slug);
                prop_assert!(seen.insert(r.slug.clone()), "duplicate slug {:?}", r.slug);
            }
        }
    }
}
