//! Stage 3: events from `content/events/*.md`, with every citation verified
//! against the normalized text of the article it cites.
//!
//! A quote is compared after folding whitespace, Unicode form, typographic
//! quotes and dashes, and case. It must occur exactly once, outside
//! boilerplate; otherwise the build fails at the quote's line, with the
//! closest passage as a hint, because a misquote must never be published.

use std::collections::{BTreeSet, HashMap, HashSet};

use pulldown_cmark::{CowStr, Event as MdEvent, Options, Parser, Tag};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::diagnostics::{Diagnostic, Diagnostics, line_of_offset};
use crate::frontmatter;
use crate::lexicon::Lexicon;
use crate::load::SourceText;
use crate::memo::{self, Key, Memo};
use crate::model::{Citation, Event, ParagraphKind, PartialDate, Record, Theme};
use crate::normalize::{sanitize_html, unknown_slug};
use crate::urls::Urls;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventMeta {
    #[serde(default, deserialize_with = "frontmatter::date_string")]
    date: Option<String>,
    title: Option<String>,
    slug: Option<String>,
    #[serde(default)]
    themes: Vec<String>,
    #[serde(default)]
    entities: Vec<String>,
    #[serde(default)]
    citations: Vec<CitationMeta>,
    /// Work in progress: left out of the site unless drafts are built.
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CitationMeta {
    article: String,
    quote: String,
    translation: Option<String>,
    note: Option<String>,
}

/// What annotation needs to know about the rest of the dossier.
pub struct Annotator<'a> {
    pub records: &'a [std::sync::Arc<Record>],
    pub themes: &'a [Theme],
    pub entity_slugs: HashSet<String>,
    pub entities: &'a Lexicon,
    pub urls: &'a Urls,
    /// Where each quote stands, kept between builds of one process.
    pub memo: &'a Memo,
    /// Where each quote stood in the last `dossier build` (kept on disk).
    pub locations: Option<&'a Locations>,
    /// Digest of the normalization settings: a record's text is a function
    /// of them and its fingerprint.
    pub settings: Key,
    /// Whether events marked `draft = true` are built (`--drafts`).
    pub drafts: bool,
}

/// Each built event's slug by id, and the ids of the drafts left out.
struct EventSlugs<'a> {
    slugs: HashMap<&'a str, &'a str>,
    left_out: HashSet<&'a str>,
}

/// The events of a build, and the drafts it left out.
pub struct Annotated {
    pub events: Vec<Event>,
    /// Events marked `draft = true` that were not built.
    pub drafts_left_out: usize,
}

struct Parsed<'s> {
    source: &'s SourceText,
    id: String,
    meta: EventMeta,
    split: frontmatter::Split<'s>,
}

impl Annotator<'_> {
    pub fn annotate(&self, sources: &[SourceText], diagnostics: &Diagnostics) -> Annotated {
        // A draft left out is as if its file were absent: it takes no slug
        // and is not verified (work in progress must not stop a publish).
        let (parsed, left_out): (Vec<Parsed>, Vec<Parsed>) = sources
            .iter()
            .filter_map(|source| parse_event(source, diagnostics, self.memo))
            .partition(|p| self.drafts || !p.meta.draft);

        // Slugs first: summaries may link to any event.
        let mut used = HashSet::new();
        let slugs: Vec<String> = parsed
            .iter()
            .map(|p| unique_slug(p.meta.slug.as_deref().unwrap_or(&p.id), &mut used))
            .collect();
        let event_slugs = EventSlugs {
            slugs: parsed
                .iter()
                .zip(&slugs)
                .map(|(p, s)| (p.id.as_str(), s.as_str()))
                .collect(),
            left_out: left_out.iter().map(|p| p.id.as_str()).collect(),
        };
        let articles: HashMap<&str, &Record> =
            self.records.iter().map(|r| (r.id.as_str(), &**r)).collect();
        let theme_slugs: HashSet<String> = self.themes.iter().map(|t| t.slug.clone()).collect();

        // What every event may depend on besides its file and the articles
        // it looks up (the taxonomies are in the settings).
        let mut slug_list: Vec<(&str, &str)> =
            event_slugs.slugs.iter().map(|(i, s)| (*i, *s)).collect();
        slug_list.sort_unstable();
        let outside = memo::key(&[
            &self.settings,
            self.urls.base().as_bytes(),
            self.urls.absolute("").as_bytes(),
            format!("{slug_list:?}").as_bytes(),
        ]);
        let mut events: Vec<Event> = parsed
            .par_iter()
            .zip(slugs.par_iter())
            .filter_map(|(p, slug)| {
                let key = memo::key(&[
                    &outside,
                    p.source.path.as_bytes(),
                    p.source.text.as_bytes(),
                    slug.as_bytes(),
                ]);
                let still_holds = |kept: &Built| kept.holds_for(&articles);
                let make = || {
                    let looked = Looked::new(&articles);
                    let own = Diagnostics::new();
                    let event =
                        self.build_event(p, slug, &looked, &event_slugs, &theme_slugs, &own);
                    Built {
                        event,
                        diagnostics: own.into_sorted(),
                        looked_up: looked.seen.into_inner(),
                    }
                };
                let built = self.memo.get_valid_or("event", key, still_holds, make);
                diagnostics.extend(built.diagnostics.iter().cloned());
                built.event.clone()
            })
            .collect();
        events.sort_by_cached_key(|e| (e.partial_date(), e.id.clone()));
        Annotated {
            events,
            drafts_left_out: left_out.len(),
        }
    }

    fn build_event(
        &self,
        p: &Parsed,
        slug: &str,
        articles: &Looked,
        event_slugs: &EventSlugs,
        theme_slugs: &HashSet<String>,
        diagnostics: &Diagnostics,
    ) -> Option<Event> {
        let path = p.source.path.as_str();
        let line = |key: &str| frontmatter::nth_key_line(&p.split, key, 0);
        let mut ok = true;

        let date = match &p.meta.date {
            Some(text) => PartialDate::parse(text).or_else(|| {
                diagnostics.push(
                    Diagnostic::error(path, line("date"), format!("malformed date {text:?}"))
                        .with_hint("dates are \"YYYY-MM-DD\" (day precision) or \"YYYY-MM\" (month precision)"),
                );
                None
            }),
            None => {
                diagnostics.push(
                    Diagnostic::error(path, Some(1), "event has no date")
                        .with_hint("add date = \"YYYY-MM-DD\" (or \"YYYY-MM\") to the front matter"),
                );
                None
            }
        };
        let title = p.meta.title.clone().filter(|t| !t.trim().is_empty());
        if title.is_none() {
            diagnostics.push(
                Diagnostic::error(path, Some(1), "event has no title")
                    .with_hint("add title = \"…\" to the front matter"),
            );
            ok = false;
        }
        for theme in &p.meta.themes {
            if !theme_slugs.contains(theme) {
                diagnostics.push(
                    unknown_slug(path, p.split.front, "themes", "theme", theme, theme_slugs)
                        .shift(p.split.front_line),
                );
                ok = false;
            }
        }
        for entity in &p.meta.entities {
            if !self.entity_slugs.contains(entity) {
                diagnostics.push(
                    unknown_slug(
                        path,
                        p.split.front,
                        "entities",
                        "entity",
                        entity,
                        &self.entity_slugs,
                    )
                    .shift(p.split.front_line),
                );
                ok = false;
            }
        }
        let mut aliases = Vec::new();
        for alias in &p.meta.aliases {
            match crate::normalize::alias_problem(alias) {
                Some(problem) => {
                    diagnostics.push(
                        Diagnostic::error(path, line("aliases"), problem)
                            .with_hint(crate::normalize::ALIAS_HINT),
                    );
                    ok = false;
                }
                None => aliases.push(alias.clone()),
            }
        }
        if p.meta.citations.is_empty() {
            diagnostics.push(
                Diagnostic::warning(path, Some(1), "event cites no article")
                    .with_hint("add [[citations]] with article = \"ID\" and a verbatim quote"),
            );
        }

        // An event is about whom its title, summary and quotes name, and
        // whom the analyst lists.
        let mut entities: BTreeSet<String> = p.meta.entities.iter().cloned().collect();
        entities.extend(self.entities.matches(title.as_deref().unwrap_or_default()));
        entities.extend(self.entities.matches(p.split.body));
        let mut citations = Vec::new();
        for (n, c) in p.meta.citations.iter().enumerate() {
            let quote_line = frontmatter::nth_key_line(&p.split, "quote", n);
            let article_line = frontmatter::nth_key_line(&p.split, "article", n);
            let Some(record) = articles.get(c.article.as_str()) else {
                let mut ids: Vec<&&str> = articles.all.keys().collect();
                ids.sort_by_key(|id| (strsim::levenshtein(&c.article, id), **id));
                let nearest: Vec<String> = ids.iter().take(3).map(|id| format!("{id:?}")).collect();
                diagnostics.push(
                    Diagnostic::error(
                        path,
                        article_line,
                        format!("unknown article {:?}", c.article),
                    )
                    .with_hint(if nearest.is_empty() {
                        "there are no articles yet".to_string()
                    } else {
                        format!("nearest ids: {}", nearest.join(", "))
                    }),
                );
                ok = false;
                continue;
            };
            if fold(&c.quote).text.is_empty() {
                diagnostics.push(
                    Diagnostic::error(path, quote_line, "quote is empty").with_hint(
                        "copy the passage this event rests on, verbatim, from the article",
                    ),
                );
                ok = false;
                continue;
            }
            let key = memo::key(&[
                &self.settings,
                record.fingerprint.as_bytes(),
                c.quote.as_bytes(),
            ]);
            let located = self.memo.get_or("locate", key, || match self.locations {
                Some(locations) => locations.locate(key, record, &c.quote),
                None => locate(record, &c.quote),
            });
            match &*located {
                &Located::Once { paragraph, span } => {
                    entities.extend(self.entities.matches(&c.quote));
                    citations.push(Citation {
                        article: record.id.clone(),
                        quote: c.quote.trim().to_string(),
                        url: self
                            .urls
                            .passage(&record.slug, &record.paragraphs[paragraph].id),
                        paragraph: record.paragraphs[paragraph].id.clone(),
                        translation: c.translation.clone(),
                        note: c.note.clone(),
                        span,
                    });
                }
                Located::Many(places) => {
                    diagnostics.push(
                        Diagnostic::error(
                            path,
                            quote_line,
                            format!("quote occurs {} times in {}", places.len(), record.id),
                        )
                        .with_hint(format!(
                            "found in {}; make the quote longer so it names one passage",
                            places.join(", ")
                        )),
                    );
                    ok = false;
                }
                Located::Boilerplate(paragraph) => {
                    diagnostics.push(
                        Diagnostic::error(path, quote_line, format!("quote is in boilerplate ({paragraph} of {})", record.id))
                            .with_hint("boilerplate (web furniture, credits, \"More Stories\") cannot be cited; quote the article text"),
                    );
                    ok = false;
                }
                Located::Missing => {
                    let hint = match closest_passage(record, &c.quote) {
                        Some((paragraph, passage, score)) => format!(
                            "closest passage ({paragraph}, {:.0}% similar): \"{passage}\"",
                            score * 100.0
                        ),
                        None => "the article has no citable text".to_string(),
                    };
                    diagnostics.push(
                        Diagnostic::error(
                            path,
                            quote_line,
                            format!("quote not found in {}", record.id),
                        )
                        .with_hint(hint),
                    );
                    ok = false;
                }
            }
        }

        let summary_html = self.summary_html(p, articles, event_slugs, diagnostics)?;
        let (date, title) = (date?, title?);
        if !ok {
            return None;
        }
        Some(Event {
            id: p.id.clone(),
            slug: slug.to_string(),
            date: date.iso(),
            precision: date.precision(),
            month: date.month_key(),
            title,
            themes: p.meta.themes.clone(),
            entities: entities.into_iter().collect(),
            summary_html,
            citations,
            source: p.source.path.clone(),
            draft: p.meta.draft,
            aliases,
        })
    }

    /// Markdown summary; `@/articles/ID[#pN]` and `@/events/ID` links are
    /// resolved to site URLs, and a broken one is an error.
    fn summary_html(
        &self,
        p: &Parsed,
        articles: &Looked,
        event_slugs: &EventSlugs,
        diagnostics: &Diagnostics,
    ) -> Option<String> {
        let mut broken = false;
        let parser =
            Parser::new_ext(p.split.body, Options::ENABLE_STRIKETHROUGH).map(|event| match event {
                MdEvent::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }) if dest_url.starts_with("@/") => {
                    let resolved = self.resolve_link(&dest_url, articles, event_slugs);
                    let dest_url = match resolved {
                        Ok(url) => CowStr::from(url),
                        Err(hint) => {
                            let offset = p.split.body.find(dest_url.as_ref()).unwrap_or(0);
                            let line = p.split.body_line + line_of_offset(p.split.body, offset) - 1;
                            diagnostics.push(
                                Diagnostic::error(
                                    &p.source.path,
                                    Some(line),
                                    format!("broken link {dest_url}"),
                                )
                                .with_hint(hint),
                            );
                            broken = true;
                            dest_url
                        }
                    };
                    MdEvent::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    })
                }
                other => other,
            });
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, parser);
        // Sanitizing is a function of its input alone, and the costliest
        // part of an event: kept in the memo.
        let key = memo::key(&[html.as_bytes()]);
        (!broken).then(|| (*self.memo.get_or("sanitized", key, || sanitize_html(&html))).clone())
    }

    fn resolve_link(
        &self,
        dest: &str,
        articles: &Looked,
        event_slugs: &EventSlugs,
    ) -> Result<String, String> {
        let decoded = percent_encoding::percent_decode_str(&dest[2..]).decode_utf8_lossy();
        let target = decoded.as_ref();
        let (target, fragment) = match target.split_once('#') {
            Some((t, f)) => (t, Some(f)),
            None => (target, None),
        };
        let target = target.trim_end_matches('/');
        if let Some(id) = target.strip_prefix("articles/") {
            let record = articles.get(id).ok_or_else(|| {
                format!("no article with id {id:?}; links are @/articles/ID or @/articles/ID#pN")
            })?;
            return match fragment {
                None => Ok(self.urls.article(&record.slug)),
                Some(anchor)
                    if record
                        .paragraphs
                        .iter()
                        .any(|p| p.id == anchor && p.kind.is_shown()) =>
                {
                    Ok(self.urls.passage(&record.slug, anchor))
                }
                Some(anchor) => Err(format!("article {id} has no shown paragraph #{anchor}")),
            };
        }
        if let Some(id) = target.strip_prefix("events/") {
            if event_slugs.left_out.contains(id) {
                return Err(format!(
                    "event {id} is a draft, left out of this build; build with --drafts, or take draft = true out of it"
                ));
            }
            let slug = event_slugs.slugs.get(id).ok_or_else(|| {
                format!("no event with id {id:?}; event ids are file stems of content/events/")
            })?;
            return Ok(self.urls.event(slug));
        }
        Err("internal links are @/articles/ID, @/articles/ID#pN or @/events/ID".to_string())
    }
}

/// An event as one build made it, kept for the next builds of the process
/// (`dossier serve`): used again while its file, its slug, every event's
/// slug, the settings and each article it looked up are as they were.
/// Only an event made without a diagnostic is used again (a hint may name
/// the nearest of all article ids).
struct Built {
    event: Option<Event>,
    diagnostics: Vec<Diagnostic>,
    looked_up: Vec<(String, Option<Key>)>,
}

impl Built {
    fn holds_for(&self, articles: &HashMap<&str, &Record>) -> bool {
        self.diagnostics.is_empty()
            && self
                .looked_up
                .iter()
                .all(|(id, was)| articles.get(id.as_str()).map(|r| record_stamp(r)) == *was)
    }
}

/// What of a record an event can show: its text (the fingerprint, under
/// the settings) and its slug.
fn record_stamp(record: &Record) -> Key {
    memo::key(&[record.fingerprint.as_bytes(), record.slug.as_bytes()])
}

/// The articles by id, each lookup noted (see [`Built`]).
struct Looked<'m, 'r> {
    all: &'m HashMap<&'r str, &'r Record>,
    seen: std::cell::RefCell<Vec<(String, Option<Key>)>>,
}

impl<'m, 'r> Looked<'m, 'r> {
    fn new(all: &'m HashMap<&'r str, &'r Record>) -> Self {
        Looked {
            all,
            seen: Default::default(),
        }
    }

    fn get(&self, id: &str) -> Option<&'r Record> {
        let record = self.all.get(id).copied();
        let stamp = record.map(record_stamp);
        self.seen.borrow_mut().push((id.to_string(), stamp));
        record
    }
}

impl Diagnostic {
    /// Moves a line counted within front matter to the file's own numbering.
    fn shift(mut self, front_line: usize) -> Diagnostic {
        self.line = self.line.map(|l| l + front_line - 1);
        self
    }
}

/// The front matter of an unchanged file is parsed once a process (`serve`
/// keeps it in its memo).
fn parse_event<'s>(
    source: &'s SourceText,
    diagnostics: &Diagnostics,
    memo: &Memo,
) -> Option<Parsed<'s>> {
    let id = source
        .path
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.').map(|(stem, _)| stem))
        .unwrap_or(&source.path)
        .to_string();
    let split = match frontmatter::split(&source.text) {
        Ok(split) => split,
        Err((line, message)) => {
            diagnostics.push(
                Diagnostic::error(&source.path, Some(line), message).with_hint(
                    "close the front matter with the same fence (+++ or ---) on a line of its own",
                ),
            );
            return None;
        }
    };
    if split.kind.is_none() {
        diagnostics.push(
            Diagnostic::error(&source.path, Some(1), "event has no front matter").with_hint(
                "start the file with +++, then date, title, themes and [[citations]], then +++",
            ),
        );
        return None;
    }
    let key = memo::key(&[source.path.as_bytes(), source.text.as_bytes()]);
    let parsed = memo.get_or("event-meta", key, || {
        frontmatter::parse::<EventMeta>(&split, &source.path)
    });
    match (*parsed).clone() {
        Ok(meta) => Some(Parsed {
            source,
            id,
            meta,
            split,
        }),
        Err(d) => {
            diagnostics.push(d);
            None
        }
    }
}

fn unique_slug(wanted: &str, used: &mut HashSet<String>) -> String {
    let mut base = slug::slugify(wanted);
    if base.is_empty() {
        base = "event".to_string();
    }
    let mut candidate = base.clone();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

/// Text folded for comparison, with the byte offset in the original text of
/// every folded byte (and one past the end), so a match maps back exactly.
#[derive(Debug)]
pub struct Folded {
    pub text: String,
    origin: Vec<usize>,
}

pub fn fold(text: &str) -> Folded {
    let mut out = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len() + 1);
    let push = |out: &mut String, origin: &mut Vec<usize>, c: char, at: usize| {
        let mut buf = [0u8; 4];
        for _ in 0..c.encode_utf8(&mut buf).len() {
            origin.push(at);
        }
        out.push(c);
    };
    let mut last_space = true; // also trims leading space
    for (at, c) in text.char_indices() {
        // Most characters are ASCII letters: no compatibility form to look up.
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            origin.push(at);
            last_space = false;
            continue;
        }
        // Compatibility forms (ligatures, full-width letters) fold too.
        for c in std::iter::once(c).nfkc() {
            match c {
                c if c.is_whitespace() => {
                    if !last_space {
                        push(&mut out, &mut origin, ' ', at);
                        last_space = true;
                    }
                }
                '\u{00AD}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => {}
                '"' | '\'' | '“' | '”' | '„' | '‟' | '«' | '»' | '‹' | '›' | '‘' | '’' | '‚'
                | '‛' | '′' | '″' | '`' | '´' => {
                    push(&mut out, &mut origin, '"', at);
                    last_space = false;
                }
                '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => {
                    push(&mut out, &mut origin, '-', at);
                    last_space = false;
                }
                '…' => {
                    for _ in 0..3 {
                        push(&mut out, &mut origin, '.', at);
                    }
                    last_space = false;
                }
                c => {
                    for lower in c.to_lowercase() {
                        push(&mut out, &mut origin, lower, at);
                    }
                    last_space = false;
                }
            }
        }
    }
    if out.ends_with(' ') {
        out.pop();
        origin.pop();
    }
    origin.push(text.len());
    Folded { text: out, origin }
}

impl Folded {
    /// Original byte range of the folded range `start..end`.
    fn original(&self, start: usize, end: usize, text: &str) -> (usize, usize) {
        let from = self.origin[start];
        // End: the start of the next folded char's source, or the source's end.
        let mut to = self.origin.get(end).copied().unwrap_or(text.len());
        if end > start && self.origin[end - 1] >= to {
            // Several folded bytes came from one source char (`…`): take all of it.
            let c = text[self.origin[end - 1]..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
            to = self.origin[end - 1] + c;
        }
        (from, to.max(from))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Located {
    /// Index into `record.paragraphs`, and the quote's byte span in its text.
    Once {
        paragraph: usize,
        span: (usize, usize),
    },
    /// Anchor ids (repeated when one paragraph holds it twice).
    Many(Vec<String>),
    Boilerplate(String),
    Missing,
}

impl Located {
    /// Whether a place read from disk is one in `record` (a damaged file
    /// must not point past a paragraph, or into a character).
    fn fits(&self, record: &Record) -> bool {
        match self {
            Located::Once { paragraph, span } => record
                .paragraphs
                .get(*paragraph)
                .is_some_and(|p| span.0 <= span.1 && p.text.get(span.0..span.1).is_some()),
            _ => true,
        }
    }
}

/// Where quotes stood in the records of the last `dossier build`, by the
/// key of (settings, record fingerprint, quote), and where they stand in
/// this one's: locating a quote folds every paragraph of its article,
/// most of what annotating 1,000 events costs.
#[derive(Debug, Default)]
pub struct Locations {
    pub found: HashMap<Key, Located>,
    pub now: std::sync::Mutex<HashMap<Key, Located>>,
}

impl Locations {
    fn locate(&self, key: Key, record: &Record, quote: &str) -> Located {
        let found = self.found.get(&key).filter(|l| l.fits(record)).cloned();
        let located = found.unwrap_or_else(|| locate(record, quote));
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        now.insert(key, located.clone());
        located
    }
}

/// Where `quote` stands in the record's normalized text.
pub fn locate(record: &Record, quote: &str) -> Located {
    let needle = fold(&quote.nfc().collect::<String>());
    if needle.text.is_empty() {
        return Located::Missing;
    }
    let mut hits = Vec::new();
    let mut boilerplate = None;
    for (i, p) in record.paragraphs.iter().enumerate() {
        let hay = fold(&p.text);
        for (start, _) in hay.text.match_indices(&needle.text) {
            if p.kind == ParagraphKind::Boilerplate {
                boilerplate.get_or_insert_with(|| p.id.clone());
                continue;
            }
            let span = hay.original(start, start + needle.text.len(), &p.text);
            hits.push((i, span));
        }
    }
    match hits.len() {
        0 => boilerplate
            .map(Located::Boilerplate)
            .unwrap_or(Located::Missing),
        1 => Located::Once {
            paragraph: hits[0].0,
            span: hits[0].1,
        },
        _ => Located::Many(
            hits.iter()
                .map(|(i, _)| record.paragraphs[*i].id.clone())
                .collect(),
        ),
    }
}

/// The run of words in a shown paragraph most like the quote, for the hint.
///
/// Every window of the quote's length is ranked by the words it shares with
/// the quote (one sliding pass, linear in the article), and only the best
/// few are compared character by character: comparing every window made a
/// 300-word misquote in a 10,000-word article take a minute.
pub fn closest_passage(record: &Record, quote: &str) -> Option<(String, String, f64)> {
    /// Windows compared character by character.
    const CANDIDATES: usize = 16;
    /// Characters of each side compared (Levenshtein is quadratic).
    const MAX_CHARS: usize = 2_000;

    let needle = fold(quote).text;
    let needle_words: Vec<&str> = needle.split(' ').filter(|w| !w.is_empty()).collect();
    let want = needle_words.len().max(1);
    let mut wanted: HashMap<&str, isize> = HashMap::new();
    for w in &needle_words {
        *wanted.entry(w).or_default() += 1;
    }

    // (shared words, paragraph, first word, words); best first, earliest on ties.
    let mut ranked: Vec<(usize, usize, usize, usize)> = Vec::new();
    let paragraphs: Vec<(&str, Vec<&str>, Vec<String>)> = record
        .shown_paragraphs()
        .map(|p| {
            let words: Vec<&str> = p.text.split_whitespace().collect();
            let folded = words.iter().map(|w| fold(w).text).collect();
            (p.id.as_str(), words, folded)
        })
        .collect();
    for (pi, (_, words, folded)) in paragraphs.iter().enumerate() {
        if words.is_empty() {
            continue; // a markdown image or rule has no words
        }
        let len = want.min(words.len());
        // Remaining need per word: shared = sum of min(window, quote) counts.
        let mut need = wanted.clone();
        let mut shared = 0usize;
        let add = |w: &str, need: &mut HashMap<&str, isize>, shared: &mut usize| {
            if let Some(n) = need.get_mut(w) {
                if *n > 0 {
                    *shared += 1;
                }
                *n -= 1;
            }
        };
        for w in &folded[..len] {
            add(w, &mut need, &mut shared);
        }
        for start in 0..=words.len() - len {
            if start > 0 {
                if let Some(n) = need.get_mut(folded[start - 1].as_str()) {
                    *n += 1;
                    if *n > 0 {
                        shared -= 1;
                    }
                }
                add(&folded[start + len - 1], &mut need, &mut shared);
            }
            ranked.push((shared, pi, start, len));
        }
        // Keep the list short as we go.
        if ranked.len() > 8 * CANDIDATES {
            ranked.sort_by(|a, b| b.0.cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
            ranked.truncate(CANDIDATES);
        }
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    ranked.truncate(CANDIDATES);

    let clip = |s: &str| -> String { s.chars().take(MAX_CHARS).collect() };
    let needle = clip(&needle);
    let mut best: Option<(String, String, f64)> = None;
    for (_, pi, start, len) in ranked {
        let (id, words, _) = &paragraphs[pi];
        let window = words[start..start + len].join(" ");
        let score = strsim::normalized_levenshtein(&needle, &clip(&fold(&window).text));
        if best.as_ref().is_none_or(|(_, _, s)| score > *s) {
            best = Some((id.to_string(), window, score));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Paragraph;

    fn record(paragraphs: &[(ParagraphKind, &str)]) -> Record {
        Record {
            id: "a".into(),
            slug: "a".into(),
            title: "t".into(),
            language: "de".into(),
            paragraphs: paragraphs
                .iter()
                .enumerate()
                .map(|(i, (kind, text))| Paragraph {
                    id: format!("p{}", i + 1),
                    kind: *kind,
                    text: text.to_string(),
                    html: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    use ParagraphKind::*;

    /// Places kept by the last build are used as they are, but one that
    /// does not fit the record (past its paragraphs, into a character) is
    /// located again; every place used is kept for the next build.
    #[test]
    fn kept_places_are_used_only_where_they_fit_the_record() {
        let r = record(&[(Lead, "Erster Satz."), (Body, "Putin sagte: „Wir“.")]);
        let quote = "„Wir“";
        let right = locate(&r, quote);
        let kept = |place: Located| Locations {
            found: [([1; 16], place)].into_iter().collect(),
            ..Default::default()
        };
        // A kept place is trusted (it is what the last build located).
        let planted = Located::Once {
            paragraph: 0,
            span: (0, 6),
        };
        let locations = kept(planted.clone());
        assert_eq!(locations.locate([1; 16], &r, quote), planted);
        assert_eq!(locations.now.lock().unwrap()[&[1; 16]], planted);
        for bad in [
            Located::Once {
                paragraph: 2,
                span: (0, 1),
            },
            Located::Once {
                paragraph: 1,
                span: (0, 99),
            },
            Located::Once {
                paragraph: 1,
                span: (14, 15),
            }, // inside „
            Located::Once {
                paragraph: 1,
                span: (3, 2),
            },
        ] {
            let locations = kept(bad.clone());
            assert_eq!(locations.locate([1; 16], &r, quote), right, "{bad:?}");
        }
        // Another key: located afresh.
        assert_eq!(kept(planted).locate([2; 16], &r, quote), right);
    }

    #[test]
    fn exact_quote_is_pinned_with_its_span() {
        let r = record(&[
            (Lead, "Erster Satz."),
            (
                Body,
                "Putin sagte: „Wir werden Iskander-M verlegen“, hieß es.",
            ),
        ]);
        let Located::Once { paragraph, span } = locate(&r, "„Wir werden Iskander-M verlegen“")
        else {
            panic!("not found")
        };
        assert_eq!(paragraph, 1);
        assert_eq!(
            &r.paragraphs[1].text[span.0..span.1],
            "„Wir werden Iskander-M verlegen“"
        );
    }

    #[test]
    fn folds_case_whitespace_quotes_and_dashes() {
        let r = record(&[(
            Body,
            "– De neste månedene vil vi overføre «Iskander-M», sa Putin.",
        )]);
        let Located::Once { span, .. } =
            locate(&r, "- de  neste\nmånedene vil vi overføre \"iskander‑m\"")
        else {
            panic!("folded quote not found")
        };
        assert_eq!(
            &r.paragraphs[0].text[span.0..span.1],
            "– De neste månedene vil vi overføre «Iskander-M»"
        );
    }

    #[test]
    fn decomposed_quote_matches_composed_text() {
        let r = record(&[(Body, "Ryska kärnvapen ska placeras i Belarus.")]);
        assert!(matches!(
            locate(&r, "Ryska ka\u{0308}rnvapen"),
            Located::Once { .. }
        ));
    }

    #[test]
    fn ambiguous_quote_names_every_place() {
        let r = record(&[
            (Body, "Putin sagte etwas."),
            (Body, "Dann sagte Putin sagte etwas."),
        ]);
        assert_eq!(
            locate(&r, "Putin sagte"),
            Located::Many(vec!["p1".into(), "p2".into()])
        );
    }

    #[test]
    fn boilerplate_cannot_be_cited() {
        let r = record(&[
            (Body, "Text."),
            (Boilerplate, "Registrieren Sie sich jetzt"),
        ]);
        assert_eq!(
            locate(&r, "Registrieren Sie"),
            Located::Boilerplate("p2".into())
        );
    }

    #[test]
    fn missing_quote_gets_the_closest_passage() {
        let r = record(&[
            (Body, "Unrelated words here."),
            (
                Body,
                "Moskau werde Minsk mit Raketensystemen versorgen, die Atomwaffen tragen können.",
            ),
        ]);
        assert_eq!(
            locate(&r, "Moskau werde Minsk mit Raketen versorgen"),
            Located::Missing
        );
        let (paragraph, passage, score) =
            closest_passage(&r, "Moskau werde Minsk mit Raketen versorgen").unwrap();
        assert_eq!(paragraph, "p2");
        assert!(
            passage.starts_with("Moskau werde Minsk mit Raketensystemen"),
            "{passage}"
        );
        assert!(score > 0.7);
    }

    /// A markdown image or rule is a shown paragraph with no words: the
    /// hint for a misquote panicked on it (index out of range).
    #[test]
    fn closest_passage_skips_paragraphs_without_words() {
        let r = record(&[(Body, ""), (Body, "Some text here."), (Body, "")]);
        let (paragraph, passage, _) = closest_passage(&r, "nothing like it").unwrap();
        assert_eq!(
            (paragraph.as_str(), passage.as_str()),
            ("p2", "Some text here.")
        );
        assert_eq!(closest_passage(&record(&[(Body, "")]), "x"), None);
    }

    /// Fuzz slow unit (quote): a long misquote in a long article was compared
    /// with every window, character by character (a minute for 300 words in
    /// 10,000). It must stay fast and still find the passage.
    #[test]
    fn closest_passage_of_a_long_misquote_is_fast() {
        let words = [
            "regeringen",
            "kommunen",
            "borgerne",
            "udvalget",
            "og",
            "i",
            "at",
            "det",
        ];
        let mut seed = 7u32;
        let paragraphs: Vec<String> = (0..10)
            .map(|_| {
                (0..1000)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        words[(seed >> 16) as usize % words.len()]
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let r = record(
            &paragraphs
                .iter()
                .map(|p| (Body, p.as_str()))
                .collect::<Vec<_>>(),
        );
        let mut quote: Vec<&str> = paragraphs[5].split(' ').skip(200).take(300).collect();
        quote[10] = "XXXX";
        let quote = quote.join(" ");
        let started = std::time::Instant::now();
        let (paragraph, passage, score) = closest_passage(&r, &quote).unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(paragraph, "p6");
        assert!(score > 0.95, "{score}: {passage}");
    }

    #[test]
    fn folding_maps_back_to_original_bytes() {
        let text = "A  “B” … c";
        let f = fold(text);
        assert_eq!(f.text, "a \"b\" ... c");
        let (s, e) = f.original(2, 5, text);
        assert_eq!(&text[s..e], "“B”");
    }
}
