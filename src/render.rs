//! Stage 5: the index rendered through Tera into pages.
//!
//! Rendering is a pure function of the index and the templates. Each page
//! gets a small context of its own (cards are built once and shared), so the
//! cost per page does not grow with the dossier, and pages render in parallel
//! straight into the output sink instead of being held in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use tera::{Context, Tera, Value};

use crate::diagnostics::Diagnostic;
use crate::index::{Group, SiteIndex, outlet_slug};
use crate::memo::{self, Memo};
use crate::model::{ParagraphKind, PartialDate, month_key_display};
use crate::theme::Theme;

/// Receives every output file (path relative to the site root); called from
/// many threads at once.
pub trait Sink: Sync {
    fn put(&self, path: &str, bytes: &[u8]) -> std::io::Result<()>;

    /// A file written by `write` as it is made: the whole-dossier exports,
    /// so that they are never held in memory at once. With `digests`,
    /// `write` returns a digest of the bytes it wrote (see
    /// [`crate::write::digest_of_parts`]), and the sink need not hash them.
    fn put_stream(
        &self,
        path: &str,
        _digests: bool,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<Option<String>>,
    ) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        write(&mut bytes)?;
        self.put(path, &bytes)
    }

    /// True for a sink that keeps files in memory as they are given
    /// ([`crate::memory`]): a whole-dossier export made of lines already
    /// in memory is then handed over as those lines, not copied into one
    /// buffer (`data/records.json` is 50 MB at 10,000 articles).
    fn keeps_parts(&self) -> bool {
        false
    }

    /// A file that is `parts` in order, known by `digest` (see
    /// [`crate::write::digest_of_parts`]). Called when [`Sink::keeps_parts`].
    fn put_parts(
        &self,
        path: &str,
        parts: Vec<bytes::Bytes>,
        _digest: String,
    ) -> std::io::Result<()> {
        self.put(path, &parts.concat())
    }

    /// As [`Sink::put`] (or [`Sink::put_keyed`] with a key), handing the
    /// buffer over: a sink that keeps files in memory takes it uncopied.
    fn put_owned(&self, path: &str, bytes: Vec<u8>, key: Option<&str>) -> std::io::Result<()> {
        match key {
            Some(key) => self.put_keyed(path, &bytes, key),
            None => self.put(path, &bytes),
        }
    }

    /// A page rendered from inputs that hash to `key`.
    fn put_keyed(&self, path: &str, bytes: &[u8], _key: &str) -> std::io::Result<()> {
        self.put(path, bytes)
    }

    /// True when the previous build wrote `path` from the same `key` and
    /// the sink keeps that file: the page need not be rendered again.
    fn reuse(&self, _path: &str, _key: &str) -> std::io::Result<bool> {
        Ok(false)
    }

    /// As [`Sink::reuse`] for every file below the folder `group`: the
    /// number of files kept, or None when they must be written again.
    fn reuse_group(&self, _group: &str, _key: &str) -> std::io::Result<Option<usize>> {
        Ok(None)
    }

    /// Records that the files just written below `group` came from `key`.
    fn group_done(&self, _group: &str, _key: &str) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub href: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArticleCard {
    pub href: String,
    pub title: String,
    pub title_en: Option<String>,
    pub date: Option<String>,
    pub date_display: String,
    pub language: String,
    pub outlet: Option<String>,
    pub themes: Vec<Link>,
    pub cited: usize,
    /// Data attributes for the list filters.
    pub filter: crate::filters::FilterKeys,
}

#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    pub n: usize,
    pub href: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Support {
    pub articles: usize,
    pub outlets: usize,
    pub languages: usize,
    pub single_source: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventCard {
    pub href: String,
    pub title: String,
    pub date: String,
    pub date_display: String,
    pub month: String,
    pub themes: Vec<Link>,
    pub markers: Vec<Marker>,
    pub support: Support,
    /// Data attributes for the list filters.
    pub filter: crate::filters::FilterKeys,
    /// Shown only in builds with `--drafts`.
    pub draft: bool,
}

/// An article page's own data (cards and links come separately).
#[derive(Serialize)]
struct ArticleView<'a> {
    id: &'a str,
    title: &'a str,
    title_en: Option<&'a str>,
    date: Option<&'a str>,
    date_display: String,
    precision: Option<crate::model::Precision>,
    month: Option<Link>,
    language: &'a str,
    language_name: &'a str,
    language_href: String,
    language_declared: bool,
    outlet: Option<Link>,
    url: Option<&'a str>,
    source: &'a str,
    words: usize,
    hash: &'a str,
    summary: Option<&'a str>,
    note: Option<&'a str>,
    added: Option<&'a str>,
    themes: Vec<Link>,
    entities: Vec<Link>,
    paragraphs: Vec<ParagraphView<'a>>,
}

#[derive(Serialize)]
struct ParagraphView<'a> {
    id: &'a str,
    kind: ParagraphKind,
    /// Escaped text with cited passages marked, or sanitized markdown HTML.
    html: String,
    cited_by: Vec<CitedByView<'a>>,
    notes: Vec<NoteView<'a>>,
    heading: bool,
}

#[derive(Serialize)]
struct CitedByView<'a> {
    #[serde(skip)]
    event: usize,
    href: String,
    title: &'a str,
    date_display: String,
    marks: Vec<MarkView>,
}

#[derive(Serialize)]
struct MarkView {
    n: usize,
    mark: String,
}

#[derive(Serialize)]
struct NoteView<'a> {
    text: &'a str,
    event: &'a str,
    href: String,
}

/// Site-wide values every template sees (Tera's global context).
#[derive(Serialize)]
struct SiteView<'a> {
    title: &'a str,
    description: &'a str,
    base: &'a str,
    language: &'a str,
    nav: Vec<Link>,
}

#[derive(Serialize, Clone, Copy)]
struct Counts {
    articles: usize,
    events: usize,
    months: usize,
    themes: usize,
    entities: usize,
    outlets: usize,
    languages: usize,
    undated: usize,
}

/// The buffer a page is first rendered into, before its template's pages
/// tell a better size: most pages of the built-in theme are 2-20 KB.
const PAGE_BYTES: usize = 16 * 1024;

/// Internal templates rendering one article card and one event card.
const CARD_TEMPLATES: [&str; 2] = ["__dossier/article_card.html", "__dossier/event_card.html"];

pub struct Renderer<'a> {
    index: &'a SiteIndex,
    tera: Arc<Tera>,
    origins: BTreeMap<String, String>,
    article_cards: Vec<Arc<Hashed<ArticleCard>>>,
    event_cards: Vec<Hashed<EventCard>>,
    /// The cards as template values, converted once: lists clone them
    /// (a reference count), so a page listing thousands costs little.
    article_values: Vec<Value>,
    event_values: Vec<Value>,
    keys: Keys,
    /// Each record's themes and entities as ids, so scoring "related"
    /// (120 neighbours for every page) compares numbers, not strings.
    tags: Tags,
    /// "Related" of every page, scored once: a page's key and its
    /// context both need it.
    related: Related,
}

/// By article: related articles; by event: related events and articles.
#[derive(Default)]
struct Related {
    articles: Vec<Vec<usize>>,
    events: Vec<(Vec<usize>, Vec<usize>)>,
}

/// Theme and entity slugs interned as small numbers.
#[derive(Default)]
struct Tags {
    ids: HashMap<String, u32>,
    records: Vec<(Vec<u32>, Vec<u32>)>,
    /// Each record's themes and entities as bit sets, when there are at
    /// most 128 tags and no record names one twice: scoring is then two
    /// popcounts (see [`overlap`]).
    masks: Option<Vec<(u128, u128)>>,
}

impl Tags {
    fn new(index: &SiteIndex) -> Tags {
        let mut tags = Tags::default();
        for r in &index.records {
            let themes = r.themes.iter().map(|t| tags.intern(t)).collect();
            let entities = r.entities.iter().map(|e| tags.intern(e)).collect();
            tags.records.push((themes, entities));
        }
        let distinct = |ids: &[u32]| mask(ids).count_ones() as usize == ids.len();
        if tags.ids.len() <= 128 && tags.records.iter().all(|(t, e)| distinct(t) && distinct(e)) {
            let masks = tags.records.iter().map(|(t, e)| (mask(t), mask(e)));
            tags.masks = Some(masks.collect());
        }
        tags
    }

    fn intern(&mut self, slug: &str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(slug.to_string()).or_insert(next)
    }

    /// Ids of `slugs`; a slug no record has can match nothing, so is left out.
    fn of(&self, slugs: &[String]) -> Vec<u32> {
        slugs
            .iter()
            .filter_map(|s| self.ids.get(s).copied())
            .collect()
    }
}

/// Hashes of what pages are made from. A page's key combines those of
/// everything it shows; a page whose key the previous build also had is
/// not rendered again (the output keeps the file it has).
#[derive(Default)]
struct Keys {
    /// Templates, configuration, taxonomies, and this very program.
    global: [u8; 32],
    article_cards: Vec<[u8; 16]>,
    event_cards: Vec<[u8; 16]>,
    events: Vec<[u8; 16]>,
    /// Events citing each record.
    citing: Vec<Vec<usize>>,
    /// Everything: for the pages that list the whole dossier.
    all: [u8; 16],
}

/// The digest of the templates, configuration, taxonomies and this
/// program: what every key starts from.
fn global_key(ix: &SiteIndex, theme: &Theme) -> [u8; 32] {
    let mut global = blake3::Hasher::new();
    for (name, (_, text)) in &theme.templates {
        global.update(name.as_bytes()).update(text.as_bytes());
    }
    global.update(format!("{:?}{:?}{:?}", ix.config, ix.themes, ix.entities).as_bytes());
    // A different dossier binary may render differently.
    global.update(memo::program().as_bytes());
    *global.finalize().as_bytes()
}

/// A card and the digest of its JSON form.
struct Hashed<T> {
    card: T,
    digest: [u8; 16],
}

impl<T: Serialize> Hashed<T> {
    fn new(card: T) -> Hashed<T> {
        let digest = digest_json(&card);
        Hashed { card, digest }
    }
}

/// Serializable things hashed through their JSON form.
fn digest_json<T: Serialize>(value: &T) -> [u8; 16] {
    digest16(&serde_json::to_vec(value).unwrap_or_default())
}

fn digest16(bytes: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(bytes).as_bytes()[..16]);
    out
}

/// Every page of the site, by what it shows. Contexts are built from a job
/// inside the parallel render loop, never all at once.
#[derive(Debug, Clone, Copy)]
enum Job {
    Index,
    Timeline,
    Articles,
    Article(usize),
    Event(usize),
    /// The forward left at an article's former slug: (record, alias).
    ArticleAlias(usize, usize),
    /// The forward left at an event's former slug: (event, alias).
    EventAlias(usize, usize),
    Months,
    Month(usize),
    Themes,
    Theme(usize),
    /// A theme's Atom feed, beside its page.
    ThemeFeed(usize),
    Entities,
    Entity(usize),
    /// An entity's Atom feed, beside its page.
    EntityFeed(usize),
    Outlets,
    Outlet(usize),
    Language(usize),
    Search,
    Sitemap,
    Feed,
    NotFound,
}

/// What a feed covers: the whole dossier, or one theme's or entity's group.
struct FeedScope {
    records: Vec<usize>,
    events: Vec<usize>,
    /// The group's name and description; none for the dossier's feed.
    title: Option<String>,
    subtitle: Option<String>,
    /// The site URL of the page the feed follows.
    page: String,
}

impl FeedScope {
    fn of(group: &Group, name: &str, description: &str, page: String) -> FeedScope {
        FeedScope {
            records: group.records.clone(),
            events: group.events.clone(),
            title: Some(name.to_string()),
            subtitle: Some(description.to_string()).filter(|d| !d.is_empty()),
            page,
        }
    }
}

/// One page to render: its output path, template and context.
struct Page {
    path: String,
    template: &'static str,
    context: Context,
}

pub fn language_name(code: &str) -> &str {
    match code {
        "da" => "Danish",
        "nb" => "Norwegian (Bokmål)",
        "nn" => "Norwegian (Nynorsk)",
        "no" => "Norwegian",
        "sv" => "Swedish",
        "de" => "German",
        "en" => "English",
        "fi" => "Finnish",
        "fr" => "French",
        "ru" => "Russian",
        "uk" => "Ukrainian",
        "pl" => "Polish",
        "und" => "Undetermined",
        other => other,
    }
}

/// `{{ articles | cards }}`: the `html` of each card of a list, joined. The
/// built-in list pages print their lists so, which spares Tera a frame, a
/// lookup and a write a card (a few ms on the pages listing every article).
/// It is made while the page is written, so a list's HTML is held twice
/// only for one list at a time. A card's `html` is ours and safe; any
/// other text a template hands the filter is escaped, as `{{ }}` would.
fn cards_filter(cards: &[Value], _: tera::Kwargs, _: &tera::State) -> Value {
    let mut joined = String::new();
    for card in cards {
        let Some(html) = card.get_from_path("html").filter(|v| v.is_string()) else {
            continue;
        };
        let text = html.as_str().unwrap_or_default();
        if html.is_safe() {
            joined.push_str(text);
        } else {
            joined.push_str(&escape_html(text));
        }
    }
    Value::safe_string(&joined)
}

fn date_display(date: Option<&str>) -> String {
    date.and_then(PartialDate::parse)
        .map(|d| d.display())
        .unwrap_or_else(|| "Undated".to_string())
}

impl<'a> Renderer<'a> {
    pub fn new(
        index: &'a SiteIndex,
        theme: &Theme,
        memo: &Memo,
    ) -> Result<Renderer<'a>, Vec<Diagnostic>> {
        let origins: BTreeMap<String, String> = theme
            .templates
            .iter()
            .map(|(name, (origin, _))| (name.clone(), origin.clone()))
            .collect();
        let global = global_key(index, theme);
        // Parsed once for the templates and configuration (`global`; the
        // templates' files name their errors): a build of `serve` that
        // changed none of them takes the last one's.
        let files = format!("{origins:?}");
        let parsed = memo.get_or("tera", memo::key(&[&global, files.as_bytes()]), || {
            Renderer::parse_templates(index, theme, &origins)
        });
        let tera = match &*parsed {
            Ok(tera) => tera.clone(),
            Err(errors) => return Err(errors.clone()),
        };

        let mut renderer = Renderer {
            index,
            tera,
            origins,
            article_cards: Vec::new(),
            event_cards: Vec::new(),
            article_values: Vec::new(),
            event_values: Vec::new(),
            keys: Keys::default(),
            tags: Tags::new(index),
            related: Related::default(),
        };
        renderer.related = renderer.score_related(global, memo);
        let mut cited = vec![0usize; index.records.len()];
        for ((record, _), citations) in &index.cited_by {
            cited[*record] += citations.len();
        }
        // An article's card is made of its record (its fingerprint with the
        // settings in `global`), its slug and how often it is cited: kept
        // under those between builds of one process, so a new article
        // does not make and hash the other 10,000 cards again.
        let (article_cards, event_cards) = rayon::join(
            || {
                (0..index.records.len())
                    .into_par_iter()
                    .map(|i| {
                        let r = &index.records[i];
                        let n = cited[i];
                        let key = memo::key(&[
                            &global,
                            r.fingerprint.as_bytes(),
                            r.slug.as_bytes(),
                            &n.to_le_bytes(),
                        ]);
                        memo.get_or("article-card", key, || {
                            Hashed::new(renderer.make_article_card(i, n))
                        })
                    })
                    .collect()
            },
            || {
                (0..index.events.len())
                    .into_par_iter()
                    .map(|i| Hashed::new(renderer.make_event_card(i)))
                    .collect()
            },
        );
        (renderer.article_cards, renderer.event_cards) = (article_cards, event_cards);
        renderer.keys = renderer.make_keys(global);
        let (articles, events) = rayon::join(
            || {
                let cards = renderer.article_cards.iter().map(|c| &**c);
                renderer.card_values(cards.collect(), 0, memo)
            },
            || renderer.card_values(renderer.event_cards.iter().collect(), 1, memo),
        );
        renderer.article_values = articles?;
        renderer.event_values = events?;
        Ok(renderer)
    }

    /// The templates, parsed, with the site's values every page has.
    fn parse_templates(
        index: &SiteIndex,
        theme: &Theme,
        origins: &BTreeMap<String, String>,
    ) -> Result<Arc<Tera>, Vec<Diagnostic>> {
        let mut tera = Tera::new();
        tera.autoescape_on(vec![".html", ".xml"]);
        tera.register_filter("cards", cards_filter);
        // Templates are added together so `extends` resolves in any order.
        let sources: Vec<(&str, &str)> = theme
            .templates
            .iter()
            .map(|(name, (_, text))| (name.as_str(), text.as_str()))
            .collect();
        // The cards' own templates: each renders its component once.
        let cards = [
            (CARD_TEMPLATES[0], "{{<article_card a={a} />}}"),
            (CARD_TEMPLATES[1], "{{<event_card e={e} />}}"),
        ];
        if let Err(e) = tera.add_raw_templates(sources.into_iter().chain(cards)) {
            return Err(vec![template_error(origins, &e)]);
        }

        let urls = &index.urls;
        let nav = [
            ("timeline/", "Timeline"),
            ("articles/", "Articles"),
            ("months/", "Months"),
            ("themes/", "Themes"),
            ("entities/", "Entities"),
            ("outlets/", "Outlets"),
        ]
        .iter()
        .map(|(path, name)| Link {
            href: urls.page(path),
            name: name.to_string(),
        })
        .collect();
        let site = SiteView {
            title: &index.config.title,
            description: &index.config.description,
            base: urls.base(),
            language: &index.config.language,
            nav,
        };
        tera.global_context().insert("site", &site);
        Ok(Arc::new(tera))
    }

    /// The cards as template values, each with its `html`: the card
    /// rendered once through its component, so a list of thousands prints
    /// strings instead of running the component for every entry of every
    /// list the card is in. A card's value is kept between builds of one process under the
    /// digest of the card and of the templates (`Keys::global`).
    fn card_values<T: Serialize + Sync>(
        &self,
        cards: Vec<&Hashed<T>>,
        which: usize,
        memo: &Memo,
    ) -> Result<Vec<Value>, Vec<Diagnostic>> {
        let (name, template) = (["a", "e"][which], CARD_TEMPLATES[which]);
        let values: Vec<Result<Value, Diagnostic>> = cards
            .par_iter()
            .map(|Hashed { card, digest }| {
                let make = || -> Result<Value, Diagnostic> {
                    let value = Value::from_serializable(card);
                    let mut ctx = Context::new();
                    ctx.insert_value(name, value.clone());
                    let html = self
                        .tera
                        .render(template, &ctx)
                        .map_err(|e| template_error(&self.origins, &e))?;
                    let mut map = value.into_map().unwrap_or_default();
                    map.insert("html".into(), Value::safe_string(&html));
                    Ok(Value::from(map))
                };
                let key = memo::key(&[&self.keys.global, digest, name.as_bytes()]);
                (*memo.get_or("card", key, make)).clone()
            })
            .collect();
        let mut errors = Vec::new();
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            match v {
                Ok(v) => out.push(v),
                Err(d) => errors.push(d),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            errors.dedup_by(|a, b| a.message == b.message);
            Err(errors)
        }
    }

    fn theme_links(&self, slugs: &[String]) -> Vec<Link> {
        slugs
            .iter()
            .map(|s| Link {
                href: self.index.urls.theme(s),
                name: self
                    .index
                    .theme(s)
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| s.clone()),
            })
            .collect()
    }

    fn entity_links(&self, slugs: &[String]) -> Vec<Link> {
        slugs
            .iter()
            .filter_map(|s| {
                self.index.entity(s).map(|e| Link {
                    href: self.index.urls.entity(s),
                    name: e.name.clone(),
                })
            })
            .collect()
    }

    fn make_article_card(&self, i: usize, cited: usize) -> ArticleCard {
        let r = &self.index.records[i];
        ArticleCard {
            href: self.index.urls.article(&r.slug),
            title: r.title.clone(),
            title_en: r.title_en.clone(),
            date: r.date.clone(),
            date_display: date_display(r.date.as_deref()),
            language: r.language.clone(),
            outlet: r.outlet.clone(),
            themes: self.theme_links(&r.themes),
            cited,
            filter: crate::filters::for_record(self.index, i),
        }
    }

    fn make_event_card(&self, e: usize) -> EventCard {
        let event = &self.index.events[e];
        let (articles, outlets, languages) = self.index.corroboration(event);
        EventCard {
            href: self.index.urls.event(&event.slug),
            title: event.title.clone(),
            date: event.date.clone(),
            date_display: date_display(Some(&event.date)),
            month: event.month.clone(),
            themes: self.theme_links(&event.themes),
            markers: event
                .citations
                .iter()
                .enumerate()
                .map(|(n, c)| Marker {
                    n: n + 1,
                    href: c.url.clone(),
                })
                .collect(),
            support: Support {
                articles,
                outlets,
                languages,
                single_source: articles <= 1,
            },
            filter: crate::filters::for_event(self.index, e),
            draft: event.draft,
        }
    }

    fn make_keys(&self, global: [u8; 32]) -> Keys {
        let ix = self.index;
        let article_cards: Vec<[u8; 16]> = self.article_cards.iter().map(|c| c.digest).collect();
        let event_cards: Vec<[u8; 16]> = self.event_cards.iter().map(|c| c.digest).collect();
        let events: Vec<[u8; 16]> = ix.events.par_iter().map(digest_json).collect();
        let mut citing = vec![Vec::new(); ix.records.len()];
        for ((record, _), cites) in &ix.cited_by {
            citing[*record].extend(cites.iter().map(|c| c.event));
        }
        for list in &mut citing {
            list.sort_unstable();
            list.dedup();
        }
        let mut all = blake3::Hasher::new();
        for r in &ix.records {
            all.update(r.fingerprint.as_bytes());
        }
        for &r in ix.chronology.iter().chain(&ix.undated) {
            all.update(&r.to_le_bytes());
        }
        for fp in article_cards.iter().chain(&event_cards).chain(&events) {
            all.update(fp);
        }
        Keys {
            global,
            all: digest16(all.finalize().as_bytes()),
            article_cards,
            event_cards,
            events,
            citing,
        }
    }

    /// The digest of the templates, configuration, taxonomies and this
    /// program: what every page's key starts from.
    pub fn global_key(&self) -> [u8; 32] {
        self.keys.global
    }

    /// The key of the whole site: for what covers all of it (data exports,
    /// the search index).
    pub fn site_key(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(&self.keys.global).update(&self.keys.all);
        h.finalize().to_hex()[..32].to_string()
    }

    /// The key of everything a job's page shows.
    fn key(&self, job: Job, path: &str) -> String {
        let ix = self.index;
        let k = &self.keys;
        let mut h = blake3::Hasher::new();
        h.update(&k.global).update(path.as_bytes());
        let records = |h: &mut blake3::Hasher, list: &[usize]| {
            for &r in list {
                h.update(&k.article_cards[r]);
            }
        };
        let events = |h: &mut blake3::Hasher, list: &[usize]| {
            for &e in list {
                h.update(&k.event_cards[e]);
            }
        };
        // A feed entry shows a record's summary or lead, which its card does
        // not hold: its fingerprint covers them.
        let feed = |h: &mut blake3::Hasher, group: &Group| {
            for &r in &group.records {
                h.update(ix.records[r].fingerprint.as_bytes());
            }
            records(h, &group.records);
            for &e in &group.events {
                h.update(&k.events[e]);
            }
        };
        match job {
            Job::Article(i) => {
                h.update(ix.records[i].fingerprint.as_bytes());
                for &e in &k.citing[i] {
                    h.update(&k.events[e]).update(&k.event_cards[e]);
                }
                let neighbours: Vec<usize> = ix.previous(i).into_iter().chain(ix.next(i)).collect();
                records(&mut h, &neighbours);
                h.update(b"related");
                records(&mut h, &self.related.articles[i]);
            }
            Job::Event(e) => {
                h.update(&k.events[e]).update(&k.event_cards[e]);
                for c in &ix.events[e].citations {
                    if let Some(&r) = ix.record_by_id.get(&c.article) {
                        h.update(&k.article_cards[r])
                            .update(ix.records[r].fingerprint.as_bytes());
                    }
                }
                let (related_events, related_articles) = &self.related.events[e];
                events(&mut h, related_events);
                records(&mut h, related_articles);
            }
            Job::Month(m) => {
                let group = &ix.months[self.month_key(m)];
                events(&mut h, &group.events);
                records(&mut h, &group.records);
                for n in [m.wrapping_sub(1), m + 1] {
                    h.update(self.month_key(n).as_bytes()).update(b"/");
                }
            }
            Job::Theme(t) => {
                let group = &ix.by_theme[&ix.themes[t].slug];
                events(&mut h, &group.events);
                records(&mut h, &group.records);
            }
            Job::ThemeFeed(t) => feed(&mut h, &ix.by_theme[&ix.themes[t].slug]),
            Job::EntityFeed(e) => feed(&mut h, &ix.by_entity[&ix.entities[e].slug]),
            Job::Entity(e) => {
                let group = &ix.by_entity[&ix.entities[e].slug];
                events(&mut h, &group.events);
                records(&mut h, &group.records);
            }
            Job::Language(l) => {
                let group = &ix.by_language[self.language_code(l)];
                events(&mut h, &group.events);
                records(&mut h, &group.records);
            }
            Job::Outlet(o) => records(&mut h, &ix.outlets[o].records),
            Job::ArticleAlias(r, _) => {
                let record = &ix.records[r];
                h.update(record.slug.as_bytes())
                    .update(b"\0")
                    .update(record.title.as_bytes());
            }
            Job::EventAlias(e, _) => {
                let event = &ix.events[e];
                h.update(event.slug.as_bytes())
                    .update(b"\0")
                    .update(event.title.as_bytes());
            }
            Job::NotFound => {}
            _ => {
                h.update(&k.all);
            }
        }
        h.finalize().to_hex()[..32].to_string()
    }

    fn article_list(&self, records: &[usize]) -> Value {
        Value::from(
            records
                .iter()
                .map(|&r| self.article_values[r].clone())
                .collect::<Vec<_>>(),
        )
    }

    fn event_list(&self, events: &[usize]) -> Value {
        Value::from(
            events
                .iter()
                .map(|&e| self.event_values[e].clone())
                .collect::<Vec<_>>(),
        )
    }

    /// Ends this renderer, its cards and values freed in the background
    /// (see [`crate::drop_in_background`]).
    pub fn dispose(self) {
        let Renderer {
            index: _,
            tera,
            origins,
            article_cards,
            event_cards,
            article_values,
            event_values,
            keys,
            tags,
            related,
        } = self;
        crate::drop_in_background((
            tera,
            origins,
            article_cards,
            event_cards,
            article_values,
            event_values,
            keys,
            tags,
            related,
        ));
    }

    /// Renders every page into `sink`, in parallel. Errors name the
    /// template and the page.
    pub fn render_all(&self, sink: &dyn Sink) -> Result<usize, Vec<Diagnostic>> {
        let jobs = self.jobs();
        let hints: std::sync::Mutex<HashMap<&'static str, usize>> = Default::default();
        let count = jobs.len();
        let errors: Vec<Diagnostic> = jobs
            .into_par_iter()
            .filter_map(|job| {
                let path = self.path(job);
                let key = self.key(job, &path);
                match sink.reuse(&path, &key) {
                    Ok(true) => return None,
                    Ok(false) => {}
                    Err(e) => {
                        return Some(
                            Diagnostic::error(&path, None, format!("cannot keep the previous page: {e}"))
                                .with_hint("check that the output folder is writable and the disk is not full"),
                        );
                    }
                }
                let page = self.build(job);
                // Into a buffer as large as the largest page of its template
                // so far: a 10 KB page (or a 4 MB list) is not grown and
                // copied step by step, and the bytes are handed on as bytes
                // (`render` would check the whole page is UTF-8 again).
                let hint = |size: Option<usize>| {
                    let mut hints = hints.lock().unwrap_or_else(|p| p.into_inner());
                    let largest = hints.entry(page.template).or_insert(PAGE_BYTES);
                    *largest = (*largest).max(size.unwrap_or(0));
                    *largest
                };
                let mut html = Vec::with_capacity(hint(None));
                let result = self
                    .tera
                    .render_to(page.template, &page.context, &mut html)
                    .map_err(|e| {
                        let mut d = template_error(&self.origins, &e);
                        d.message = format!("{} (rendering {})", d.message, page.path);
                        d
                    })
                    .and_then(|()| {
                        hint(Some(html.len()));
                        sink.put_owned(&page.path, html, Some(&key)).map_err(|e| {
                            Diagnostic::error(&page.path, None, format!("cannot write: {e}"))
                                .with_hint("check that the output folder is writable and the disk is not full")
                        })
                    });
                result.err()
            })
            .collect();
        if errors.is_empty() {
            Ok(count)
        } else {
            Err(fold_repeats(errors))
        }
    }

    fn page(&self, path: String, template: &'static str, title: &str, context: Context) -> Page {
        let mut context = context;
        context.insert("page_title", title);
        context.insert(
            "page_url",
            &self.index.urls.page(path.trim_end_matches("index.html")),
        );
        Page {
            path,
            template,
            context,
        }
    }

    /// A former URL's page: it forwards to `target`, keeping the `#pN` of
    /// the link that led there.
    fn alias_page(&self, path: String, target: &str, title: &str) -> Page {
        let mut ctx = Context::new();
        ctx.insert("target", target);
        ctx.insert("canonical", &self.index.urls.absolute(target));
        self.page(path, "alias.html", title, ctx)
    }

    fn jobs(&self) -> Vec<Job> {
        let ix = self.index;
        let mut jobs = vec![
            Job::Index,
            Job::Timeline,
            Job::Articles,
            Job::Months,
            Job::Themes,
            Job::Entities,
            Job::Outlets,
        ];
        jobs.extend((0..ix.records.len()).map(Job::Article));
        jobs.extend((0..ix.events.len()).map(Job::Event));
        for (r, record) in ix.records.iter().enumerate() {
            jobs.extend((0..record.aliases.len()).map(|a| Job::ArticleAlias(r, a)));
        }
        for (e, event) in ix.events.iter().enumerate() {
            jobs.extend((0..event.aliases.len()).map(|a| Job::EventAlias(e, a)));
        }
        jobs.extend((0..ix.months.len()).map(Job::Month));
        jobs.extend((0..ix.themes.len()).map(Job::Theme));
        jobs.extend((0..ix.themes.len()).map(Job::ThemeFeed));
        jobs.extend((0..ix.entities.len()).map(Job::Entity));
        jobs.extend((0..ix.entities.len()).map(Job::EntityFeed));
        jobs.extend((0..ix.outlets.len()).map(Job::Outlet));
        jobs.extend((0..ix.by_language.len()).map(Job::Language));
        jobs.extend([Job::Search, Job::Sitemap, Job::Feed, Job::NotFound]);
        jobs
    }

    /// Output path of a job's page, relative to the site root.
    fn path(&self, job: Job) -> String {
        let ix = self.index;
        match job {
            Job::Index => "index.html".into(),
            Job::Timeline => "timeline/index.html".into(),
            Job::Articles => "articles/index.html".into(),
            Job::Article(i) => format!("articles/{}/index.html", ix.records[i].slug),
            Job::Event(e) => format!("events/{}/index.html", ix.events[e].slug),
            Job::ArticleAlias(r, a) => format!("articles/{}/index.html", ix.records[r].aliases[a]),
            Job::EventAlias(e, a) => format!("events/{}/index.html", ix.events[e].aliases[a]),
            Job::Months => "months/index.html".into(),
            Job::Month(m) => format!("months/{}/index.html", self.month_key(m)),
            Job::Themes => "themes/index.html".into(),
            Job::Theme(t) => format!("themes/{}/index.html", ix.themes[t].slug),
            Job::ThemeFeed(t) => format!("themes/{}/feed.xml", ix.themes[t].slug),
            Job::Entities => "entities/index.html".into(),
            Job::Entity(e) => format!("entities/{}/index.html", ix.entities[e].slug),
            Job::EntityFeed(e) => format!("entities/{}/feed.xml", ix.entities[e].slug),
            Job::Outlets => "outlets/index.html".into(),
            Job::Outlet(o) => format!("outlets/{}/index.html", ix.outlets[o].slug),
            Job::Language(l) => format!("languages/{}/index.html", self.language_code(l)),
            Job::Search => "search/index.html".into(),
            Job::Sitemap => "sitemap.xml".into(),
            Job::Feed => "feed.xml".into(),
            Job::NotFound => "404.html".into(),
        }
    }

    fn month_key(&self, m: usize) -> &str {
        self.index
            .months
            .keys()
            .nth(m)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn language_code(&self, l: usize) -> &str {
        self.index
            .by_language
            .keys()
            .nth(l)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn build(&self, job: Job) -> Page {
        let ix = self.index;
        let path = self.path(job);
        match job {
            Job::Index => self.index_page(),
            Job::Timeline => self.timeline_page(),
            Job::Articles => self.articles_page(),
            Job::Article(i) => self.article_page(i),
            Job::Event(e) => self.event_page(e),
            Job::ArticleAlias(r, _) => {
                let record = &ix.records[r];
                self.alias_page(path, &ix.urls.article(&record.slug), &record.title)
            }
            Job::EventAlias(e, _) => {
                let event = &ix.events[e];
                self.alias_page(path, &ix.urls.event(&event.slug), &event.title)
            }
            Job::Months => {
                let months: Vec<_> = ix
                    .months
                    .iter()
                    .rev()
                    .map(|(k, g)| {
                        serde_json::json!({"href": ix.urls.month(k), "name": month_key_display(k), "key": k,
                            "articles": g.records.len(), "events": g.events.len()})
                    })
                    .collect();
                let mut ctx = Context::new();
                ctx.insert("months", &months);
                self.page(path, "months.html", "Months", ctx)
            }
            Job::Month(m) => {
                let key = self.month_key(m);
                let group = &ix.months[key];
                let mut ctx = Context::new();
                ctx.insert_value("events", self.event_list(&group.events));
                ctx.insert_value("articles", self.article_list(&group.records));
                ctx.insert("key", key);
                let link = |k: &str| Link {
                    href: ix.urls.month(k),
                    name: month_key_display(k),
                };
                let previous = m.checked_sub(1).map(|p| link(self.month_key(p)));
                let next = (m + 1 < ix.months.len()).then(|| link(self.month_key(m + 1)));
                ctx.insert("previous", &previous);
                ctx.insert("next", &next);
                self.page(path, "month.html", &month_key_display(key), ctx)
            }
            Job::Themes => {
                let themes: Vec<_> = ix
                    .themes
                    .iter()
                    .map(|t| {
                        let g = &ix.by_theme[&t.slug];
                        serde_json::json!({"href": ix.urls.theme(&t.slug), "name": t.name, "description": t.description,
                            "articles": g.records.len(), "events": g.events.len()})
                    })
                    .collect();
                let mut ctx = Context::new();
                ctx.insert("themes", &themes);
                self.page(path, "themes.html", "Themes", ctx)
            }
            Job::Theme(t) => {
                let theme = &ix.themes[t];
                let (months, undated) = self.by_month(&ix.by_theme[&theme.slug]);
                let mut ctx = Context::new();
                ctx.insert("theme", theme);
                ctx.insert("feed", &ix.urls.page(&self.path(Job::ThemeFeed(t))));
                ctx.insert_value("months", months);
                ctx.insert_value("undated", undated);
                self.page(path, "theme.html", &theme.name, ctx)
            }
            Job::Entities => {
                let kinds: BTreeSet<&str> = ix.entities.iter().map(|e| e.kind.as_str()).collect();
                let groups: Vec<_> = kinds
                    .iter()
                    .map(|kind| {
                        let mut items: Vec<_> = ix
                            .entities
                            .iter()
                            .filter(|e| e.kind == *kind)
                            .map(|e| {
                                let g = &ix.by_entity[&e.slug];
                                serde_json::json!({"href": ix.urls.entity(&e.slug), "name": e.name,
                                    "articles": g.records.len(), "events": g.events.len()})
                            })
                            .collect();
                        items.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
                        serde_json::json!({"kind": kind, "entities": items})
                    })
                    .collect();
                let mut ctx = Context::new();
                ctx.insert("groups", &groups);
                self.page(path, "entities.html", "Entities", ctx)
            }
            Job::Entity(e) => {
                let entity = &ix.entities[e];
                let group = &ix.by_entity[&entity.slug];
                let mut ctx = Context::new();
                ctx.insert("entity", entity);
                ctx.insert("feed", &ix.urls.page(&self.path(Job::EntityFeed(e))));
                ctx.insert_value("events", self.event_list(&group.events));
                ctx.insert_value("articles", self.article_list(&group.records));
                self.page(path, "entity.html", &entity.name, ctx)
            }
            Job::Outlets => {
                let outlets: Vec<_> = ix
                    .outlets
                    .iter()
                    .map(|o| serde_json::json!({"href": ix.urls.outlet(&o.slug), "name": o.name, "articles": o.records.len()}))
                    .collect();
                let mut ctx = Context::new();
                ctx.insert("outlets", &outlets);
                ctx.insert(
                    "unknown",
                    &ix.records.iter().filter(|r| r.outlet.is_none()).count(),
                );
                self.page(path, "outlets.html", "Outlets", ctx)
            }
            Job::Outlet(o) => {
                let outlet = &ix.outlets[o];
                let mut ctx = Context::new();
                ctx.insert("outlet", &outlet.name);
                ctx.insert_value("articles", self.article_list(&outlet.records));
                self.page(path, "outlet.html", &outlet.name, ctx)
            }
            Job::Language(l) => {
                let code = self.language_code(l);
                let group = &ix.by_language[code];
                let mut ctx = Context::new();
                ctx.insert("code", code);
                ctx.insert_value("events", self.event_list(&group.events));
                ctx.insert_value("articles", self.article_list(&group.records));
                self.page(path, "language.html", language_name(code), ctx)
            }
            Job::Sitemap => {
                let mut urls: Vec<String> = self
                    .jobs()
                    .into_iter()
                    // Only pages: no feeds, no 404, and no former URLs
                    // (they only forward; search engines should not list them).
                    .filter(|j| {
                        !matches!(
                            j,
                            Job::Sitemap
                                | Job::Feed
                                | Job::ThemeFeed(_)
                                | Job::EntityFeed(_)
                                | Job::NotFound
                                | Job::ArticleAlias(..)
                                | Job::EventAlias(..)
                        )
                    })
                    .map(|j| {
                        ix.urls
                            .absolute(&ix.urls.page(self.path(j).trim_end_matches("index.html")))
                    })
                    .collect();
                urls.sort();
                let mut ctx = Context::new();
                ctx.insert("urls", &urls);
                self.page(path, "sitemap.xml", "Sitemap", ctx)
            }
            Job::Search => {
                // The index it queries is built by src/search.rs.
                let mut ctx = Context::new();
                ctx.insert(
                    "search_index",
                    &ix.urls.page(&format!("{}/", crate::search::BUNDLE_DIR)),
                );
                self.page(path, "search.html", "Search", ctx)
            }
            Job::Feed => {
                let all = FeedScope {
                    records: (0..ix.records.len()).collect(),
                    events: (0..ix.events.len()).collect(),
                    title: None,
                    subtitle: None,
                    page: ix.urls.base().to_string(),
                };
                self.feed_page(path, all)
            }
            Job::ThemeFeed(t) => {
                let theme = &ix.themes[t];
                let scope = FeedScope::of(
                    &ix.by_theme[&theme.slug],
                    &theme.name,
                    &theme.description,
                    ix.urls.theme(&theme.slug),
                );
                self.feed_page(path, scope)
            }
            Job::EntityFeed(e) => {
                let entity = &ix.entities[e];
                let scope = FeedScope::of(
                    &ix.by_entity[&entity.slug],
                    &entity.name,
                    &entity.description,
                    ix.urls.entity(&entity.slug),
                );
                self.feed_page(path, scope)
            }
            Job::NotFound => self.page(path, "404.html", "Page not found", Context::new()),
        }
    }

    /// Atom: articles and events, newest first. Dates come from content
    /// (an article's `added` day, else its date), never from the clock.
    fn feed_page(&self, path: String, scope: FeedScope) -> Page {
        const ENTRIES: usize = 50;
        let ix = self.index;
        let stamp = |d: &PartialDate| {
            format!(
                "{:04}-{:02}-{:02}T00:00:00Z",
                d.year,
                d.month,
                d.day.unwrap_or(1)
            )
        };
        // Newest first, ties by id; only the entries shown are formatted
        // (a dossier's feed chooses 50 of thousands, on every rebuild).
        enum Item {
            Article(usize),
            Event(usize),
        }
        let day = |d: PartialDate| (d.year, d.month, d.day.unwrap_or(1));
        // (day, kind, id, item): ties put articles before events, as their
        // ids "urn:dossier:article:…" and "urn:dossier:event:…" sort.
        type Entry<'a> = ((i32, u32, u32), u8, &'a str, Item);
        let mut items: Vec<Entry> = Vec::new();
        for &i in &scope.records {
            let r = &ix.records[i];
            if let Some(updated) = r
                .added
                .as_deref()
                .or(r.date.as_deref())
                .and_then(PartialDate::parse)
            {
                items.push((day(updated), 0, r.id.as_str(), Item::Article(i)));
            }
        }
        for &n in &scope.events {
            let e = &ix.events[n];
            if let Some(updated) = PartialDate::parse(&e.date) {
                items.push((day(updated), 1, e.id.as_str(), Item::Event(n)));
            }
        }
        let order = |a: &Entry, b: &Entry| b.0.cmp(&a.0).then_with(|| (a.1, a.2).cmp(&(b.1, b.2)));
        if items.len() > ENTRIES {
            items.select_nth_unstable_by(ENTRIES - 1, order);
            items.truncate(ENTRIES);
        }
        items.sort_by(order);
        let items = items.into_iter().map(|((year, month, day), _, id, item)| {
            let updated = stamp(&PartialDate {
                year,
                month,
                day: Some(day),
            });
            let urn = match item {
                Item::Article(_) => format!("urn:dossier:article:{id}"),
                Item::Event(_) => format!("urn:dossier:event:{id}"),
            };
            (updated, urn, item)
        });
        let entries: Vec<(String, serde_json::Value)> = items
            .into_iter()
            .map(|(updated, id, item)| {
                let entry = match item {
                    Item::Article(i) => {
                        let r = &ix.records[i];
                        let summary = r.summary.clone().unwrap_or_else(|| {
                            r.shown_paragraphs()
                                .find(|p| p.kind == ParagraphKind::Lead)
                                .map(|p| p.text.clone())
                                .unwrap_or_default()
                        });
                        serde_json::json!({"title": r.title, "href": ix.urls.absolute(&self.article_cards[i].card.href),
                            "updated": updated, "id": id, "summary": summary, "kind": "article"})
                    }
                    Item::Event(n) => {
                        let e = &ix.events[n];
                        serde_json::json!({"title": e.title, "href": ix.urls.absolute(&ix.urls.event(&e.slug)),
                            "updated": updated, "id": id, "summary_html": e.summary_html, "kind": "event"})
                    }
                };
                (updated, entry)
            })
            .collect();
        let updated = entries
            .first()
            .map(|e| e.0.clone())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
        let mut ctx = Context::new();
        ctx.insert(
            "entries",
            &entries.into_iter().map(|e| e.1).collect::<Vec<_>>(),
        );
        ctx.insert("updated", &updated);
        ctx.insert("feed_url", &ix.urls.absolute(&ix.urls.page(&path)));
        ctx.insert("site_url", &ix.urls.absolute(&scope.page));
        ctx.insert("feed_title", &scope.title);
        ctx.insert("feed_subtitle", &scope.subtitle);
        self.page(path, "feed.xml", "Feed", ctx)
    }

    /// A group's events and articles by month, newest month first, and its
    /// undated articles.
    fn by_month(&self, group: &Group) -> (Value, Value) {
        let ix = self.index;
        let mut months: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
        for &e in &group.events {
            months.entry(&ix.events[e].month).or_default().0.push(e);
        }
        let mut undated = Vec::new();
        for &r in &group.records {
            match &ix.records[r].month {
                Some(m) => months.entry(m).or_default().1.push(r),
                None => undated.push(r),
            }
        }
        let months: Vec<Value> = months
            .into_iter()
            .rev()
            .map(|(key, (events, articles))| self.month_value(key, &events, &articles))
            .collect();
        (Value::from(months), self.article_list(&undated))
    }

    /// A month section of a list page: its key, name, link, events, articles.
    fn month_value(&self, key: &str, events: &[usize], articles: &[usize]) -> Value {
        let mut map = std::collections::HashMap::new();
        map.insert("key", Value::from(key));
        map.insert("name", Value::from(month_key_display(key)));
        map.insert("href", Value::from(self.index.urls.month(key)));
        map.insert("events", self.event_list(events));
        map.insert("articles", self.article_list(articles));
        Value::from(map)
    }

    fn index_page(&self) -> Page {
        let ix = self.index;
        // Counts show on the front page only: were they on every page, one
        // new article would change them all.
        let counts = Counts {
            articles: ix.records.len(),
            events: ix.events.len(),
            months: ix.months.len(),
            themes: ix.themes.len(),
            entities: ix
                .by_entity
                .values()
                .filter(|g| !g.records.is_empty() || !g.events.is_empty())
                .count(),
            outlets: ix.outlets.len(),
            languages: ix.by_language.len(),
            undated: ix.undated.len(),
        };

        let mut ctx = Context::new();
        let latest_events: Vec<usize> = (0..self.event_cards.len()).rev().take(6).collect();
        let latest_articles: Vec<usize> = ix.chronology.iter().rev().take(8).copied().collect();
        // "New": by the day an article was added, else its own date.
        let mut added: Vec<usize> = (0..ix.records.len()).collect();
        let newest = |&i: &usize| {
            let r = &ix.records[i];
            std::cmp::Reverse((r.added.as_deref().or(r.date.as_deref()), r.id.as_str()))
        };
        // The first eight in order, without sorting the other thousands
        // (ids are unique: the order is total, the eight are those a sort gives).
        if added.len() > 8 {
            added.select_nth_unstable_by_key(7, newest);
            added.truncate(8);
        }
        added.sort_by_key(newest);
        let recently_added: Vec<Value> = added
            .iter()
            .take(8)
            .map(|&i| {
                let mut item = tera::Map::new();
                item.insert("card".into(), self.article_values[i].clone());
                item.insert(
                    "added".into(),
                    Value::from_serializable(&ix.records[i].added),
                );
                Value::from(item)
            })
            .collect();

        // Month x theme matrix: a row a month, a cell a theme, counts of
        // articles and events, each cell linking to the month's page.
        let themes: Vec<Link> = ix
            .themes
            .iter()
            .map(|t| Link {
                href: ix.urls.theme(&t.slug),
                name: t.name.clone(),
            })
            .collect();
        let rows: Vec<_> = ix
            .months
            .iter()
            .map(|(key, group)| {
                let cells: Vec<_> = ix
                    .themes
                    .iter()
                    .map(|t| {
                        let id = self.tags.ids.get(&t.slug);
                        let articles = group.records.iter().filter(|&&r| id.is_some_and(|id| self.tags.records[r].0.contains(id))).count();
                        let events = group.events.iter().filter(|&&e| ix.events[e].themes.contains(&t.slug)).count();
                        serde_json::json!({"articles": articles, "events": events, "total": articles + events,
                            "href": format!("{}?month={key}#m-{key}", ix.urls.theme(&t.slug)), "theme": t.name})
                    })
                    .collect();
                serde_json::json!({"key": key, "name": month_key_display(key), "href": ix.urls.month(key), "cells": cells,
                    "articles": group.records.len(), "events": group.events.len()})
            })
            .collect();
        ctx.insert_value("latest_events", self.event_list(&latest_events));
        ctx.insert_value("latest_articles", self.article_list(&latest_articles));
        ctx.insert_value("recently_added", Value::from(recently_added));
        ctx.insert("matrix_themes", &themes);
        ctx.insert("matrix_rows", &rows);
        ctx.insert("counts", &counts);
        let title = ix.config.title.clone();
        self.page("index.html".into(), "index.html", &title, ctx)
    }

    fn timeline_page(&self) -> Page {
        let ix = self.index;
        let months: Vec<Value> = ix
            .months
            .iter()
            .map(|(key, g)| self.month_value(key, &g.events, &g.records))
            .collect();
        let mut ctx = Context::new();
        ctx.insert_value("months", Value::from(months));
        self.page(
            "timeline/index.html".into(),
            "timeline.html",
            "Timeline",
            ctx,
        )
    }

    fn articles_page(&self) -> Page {
        let ix = self.index;
        let months: Vec<Value> = ix
            .months
            .iter()
            .rev()
            .filter(|(_, g)| !g.records.is_empty())
            .map(|(key, g)| self.month_value(key, &[], &g.records))
            .collect();
        let mut ctx = Context::new();
        ctx.insert_value("months", Value::from(months));
        ctx.insert_value("undated", self.article_list(&ix.undated));
        self.page(
            "articles/index.html".into(),
            "articles.html",
            "Articles",
            ctx,
        )
    }

    fn article_page(&self, i: usize) -> Page {
        let ix = self.index;
        let r = &ix.records[i];
        let mut citing: BTreeSet<usize> = BTreeSet::new();
        let paragraphs: Vec<ParagraphView> = r
            .shown_paragraphs()
            .map(|p| {
                let cites = ix
                    .cited_by
                    .get(&(i, p.id.clone()))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let mut spans: Vec<(usize, usize, String)> = Vec::new();
                let mut cited_by: Vec<CitedByView> = Vec::new();
                let mut notes = Vec::new();
                for c in cites {
                    let event = &ix.events[c.event];
                    let citation = &event.citations[c.citation];
                    citing.insert(c.event);
                    let mark = format!("q-{}-{}", event.slug, c.citation + 1);
                    spans.push((citation.span.0, citation.span.1, mark.clone()));
                    // One entry per event, with a marker per citation of this paragraph.
                    let marker = MarkView {
                        n: c.citation + 1,
                        mark,
                    };
                    match cited_by.iter_mut().find(|v| v.event == c.event) {
                        Some(entry) => entry.marks.push(marker),
                        None => cited_by.push(CitedByView {
                            event: c.event,
                            href: ix.urls.event(&event.slug),
                            title: &event.title,
                            date_display: date_display(Some(&event.date)),
                            marks: vec![marker],
                        }),
                    }
                    if let Some(note) = &citation.note {
                        notes.push(NoteView {
                            text: note,
                            event: &event.title,
                            href: ix.urls.event(&event.slug),
                        });
                    }
                }
                let html = if spans.is_empty() {
                    p.html.clone().unwrap_or_else(|| escape_html(&p.text))
                } else {
                    highlight(&p.text, spans)
                };
                ParagraphView {
                    id: &p.id,
                    kind: p.kind,
                    html,
                    cited_by,
                    notes,
                    heading: p.kind == ParagraphKind::Subheading,
                }
            })
            .collect();
        let link = |j: usize| Link {
            href: ix.urls.article(&ix.records[j].slug),
            name: ix.records[j].title.clone(),
        };
        let article = ArticleView {
            id: &r.id,
            title: &r.title,
            title_en: r.title_en.as_deref(),
            date: r.date.as_deref(),
            date_display: date_display(r.date.as_deref()),
            precision: r.precision,
            month: r.month.as_ref().map(|m| Link {
                href: ix.urls.month(m),
                name: month_key_display(m),
            }),
            language: &r.language,
            language_name: language_name(&r.language),
            language_href: ix.urls.language(&r.language),
            language_declared: r.language_declared,
            outlet: r.outlet.as_ref().map(|name| Link {
                href: ix.urls.outlet(&outlet_slug(name)),
                name: name.clone(),
            }),
            url: r
                .url
                .as_deref()
                .filter(|u| u.starts_with("http://") || u.starts_with("https://")),
            source: &r.source,
            words: r.words,
            hash: &r.hash,
            summary: r.summary.as_deref(),
            note: r.note.as_deref(),
            added: r.added.as_deref(),
            themes: self.theme_links(&r.themes),
            entities: self.entity_links(&r.entities),
            paragraphs,
        };
        let mut ctx = Context::new();
        ctx.insert("article", &article);
        ctx.insert_value(
            "events",
            self.event_list(&citing.into_iter().collect::<Vec<_>>()),
        );
        ctx.insert_value("related", self.article_list(&self.related.articles[i]));
        ctx.insert("previous", &ix.previous(i).map(link));
        ctx.insert("next", &ix.next(i).map(link));
        self.page(
            format!("articles/{}/index.html", r.slug),
            "article.html",
            &r.title,
            ctx,
        )
    }

    fn event_page(&self, e: usize) -> Page {
        let ix = self.index;
        let event = &ix.events[e];
        let citations: Vec<_> = event
            .citations
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let r = ix.record(&c.article);
                serde_json::json!({
                    "n": n + 1, "quote": c.quote, "translation": c.translation, "note": c.note,
                    "href": c.url, "paragraph": c.paragraph, "mark": format!("q-{}-{}", event.slug, n + 1),
                    "article_title": r.map(|r| r.title.as_str()), "article_href": r.map(|r| ix.urls.article(&r.slug)),
                    "outlet": r.and_then(|r| r.outlet.as_deref()), "language": r.map(|r| r.language.as_str()),
                    "language_name": r.map(|r| language_name(&r.language)),
                    "date_display": r.map(|r| date_display(r.date.as_deref())),
                })
            })
            .collect();
        let (related_events, related_articles) = &self.related.events[e];
        let related = self.event_list(related_events);
        let card = &self.event_cards[e].card;
        let view = serde_json::json!({
            "title": event.title, "date": event.date, "date_display": card.date_display,
            "precision": event.precision, "month": Link { href: ix.urls.month(&event.month), name: month_key_display(&event.month) },
            "summary_html": event.summary_html, "themes": card.themes, "entities": self.entity_links(&event.entities),
            "citations": citations, "support": card.support, "source": event.source,
            "draft": event.draft,
        });
        let mut ctx = Context::new();
        ctx.insert("event", &view);
        ctx.insert_value("related", related);
        ctx.insert_value("related_articles", self.article_list(related_articles));
        self.page(
            format!("events/{}/index.html", event.slug),
            "event.html",
            &event.title,
            ctx,
        )
    }

    /// "Related" of every article and event, in parallel. An article's
    /// depend on the articles around it in the chronology alone: a build
    /// of `serve` rescores only those whose window the change reached, and
    /// takes the others from what the build before handed on.
    fn score_related(&self, global: [u8; 32], memo: &Memo) -> Related {
        let ix = self.index;
        let setting = (global, self.tags.masks.is_some());
        let last = memo
            .handed_on::<ScoredRelated>("related")
            .filter(|last| last.setting == setting);
        let common = last.as_deref().map(|last| last.common(ix));
        let kept = |pos: usize| {
            let last = last.as_deref()?;
            last.kept(common?, ix.chronology.len(), pos)
        };
        let (by_position, events) = rayon::join(
            || -> Vec<Vec<i32>> {
                (0..ix.chronology.len())
                    .into_par_iter()
                    .map(|pos| {
                        if let Some(offsets) = kept(pos) {
                            return offsets.to_vec();
                        }
                        let i = ix.chronology[pos];
                        let (themes, entities) = &self.tags.records[i];
                        self.related_articles(themes, entities, pos, &[i])
                            .into_iter()
                            .filter_map(|r| ix.chronology_position[r])
                            .map(|q| q as i32 - pos as i32)
                            .collect()
                    })
                    .collect()
            },
            || {
                (0..ix.events.len())
                    .into_par_iter()
                    .map(|e| {
                        let event = &ix.events[e];
                        let (cited, around) = self.event_neighbourhood(e);
                        let articles = self.related_articles(
                            &self.tags.of(&event.themes),
                            &self.tags.of(&event.entities),
                            around,
                            &cited,
                        );
                        (self.related_events(e), articles)
                    })
                    .collect()
            },
        );
        let mut articles = vec![Vec::new(); ix.records.len()];
        for (pos, offsets) in by_position.iter().enumerate() {
            articles[ix.chronology[pos]] = offsets
                .iter()
                .map(|&o| ix.chronology[(pos as i32 + o) as usize])
                .collect();
        }
        if memo.is_on() {
            let records = ix.chronology.iter().map(|&r| ix.records[r].clone());
            let scored = ScoredRelated {
                setting,
                records: records.collect(),
                offsets: by_position,
            };
            memo.hand_on("related", scored);
        }
        Related { articles, events }
    }

    /// The records an event cites, and its place in the chronology: the
    /// first article of its month or later.
    fn event_neighbourhood(&self, e: usize) -> (Vec<usize>, usize) {
        let ix = self.index;
        let event = &ix.events[e];
        let cited = event
            .citations
            .iter()
            .filter_map(|c| ix.record_by_id.get(&c.article).copied())
            .collect();
        let around = ix
            .chronology
            .partition_point(|&r| ix.records[r].month.as_deref() < Some(event.month.as_str()));
        (cited, around)
    }

    /// Events sharing themes or entities, closest in time first. Only a
    /// window of events around this one is scored: related means near in
    /// time too, and the cost stays flat as the dossier grows.
    fn related_events(&self, e: usize) -> Vec<usize> {
        let ix = self.index;
        let event = &ix.events[e];
        let window =
            e.saturating_sub(RELATED_WINDOW)..(e + RELATED_WINDOW + 1).min(ix.events.len());
        let candidates = window.filter(|&j| j != e).map(|j| {
            let other = &ix.events[j];
            (
                j,
                j.abs_diff(e),
                overlap(
                    &event.themes,
                    &event.entities,
                    &other.themes,
                    &other.entities,
                ),
            )
        });
        best_related(candidates)
    }

    /// Articles sharing entities or themes, near in time: around the
    /// article itself in the chronology, or around the event's month.
    /// `themes` and `entities` as [`Tags`] ids.
    fn related_articles(
        &self,
        themes: &[u32],
        entities: &[u32],
        around: usize,
        exclude: &[usize],
    ) -> Vec<usize> {
        let ix = self.index;
        let window = around.saturating_sub(RELATED_WINDOW)
            ..(around + RELATED_WINDOW + 1).min(ix.chronology.len());
        let masks = self.tags.masks.as_deref();
        let (theme_mask, entity_mask) = (mask(themes), mask(entities));
        let candidates = window.filter_map(|pos| {
            let r = ix.chronology[pos];
            (!exclude.contains(&r)).then(|| {
                let score = match masks {
                    Some(masks) => overlap_masks((theme_mask, entity_mask), masks[r]),
                    None => {
                        let (other_themes, other_entities) = &self.tags.records[r];
                        overlap(themes, entities, other_themes, other_entities)
                    }
                };
                (r, pos.abs_diff(around), score)
            })
        });
        best_related(candidates)
    }
}

/// The articles' "related" as one build scored them, for the next.
struct ScoredRelated {
    /// The global key (taxonomies, settings) and whether tags were scored
    /// as bit sets: another setting rescores all.
    setting: ([u8; 32], bool),
    /// By chronology position: the record there.
    records: Vec<Arc<crate::model::Record>>,
    /// By chronology position: its related articles, as positions
    /// relative to it (they hold for the same window elsewhere).
    offsets: Vec<Vec<i32>>,
}

impl ScoredRelated {
    /// How many records the chronology scored here and `ix`'s have in
    /// common at their beginning, and then at their end.
    fn common(&self, ix: &SiteIndex) -> (usize, usize) {
        let (old, new) = (self.records.len(), ix.chronology.len());
        let same = |a: usize, b: usize| {
            let (x, y) = (&self.records[a], &ix.records[ix.chronology[b]]);
            Arc::ptr_eq(x, y) || x.fingerprint == y.fingerprint
        };
        let prefix = (0..old.min(new)).take_while(|&p| same(p, p)).count();
        let suffix = (0..old.min(new) - prefix)
            .take_while(|&k| same(old - 1 - k, new - 1 - k))
            .count();
        (prefix, suffix)
    }

    /// The related of the article at `pos` of a chronology of `new`
    /// records having `common` with this one, if its window
    /// (RELATED_WINDOW on each side) is the same records, in the same
    /// order and as far from the ends, as one scored here: within the
    /// common beginning, or within the common end.
    fn kept(&self, (prefix, suffix): (usize, usize), new: usize, pos: usize) -> Option<&[i32]> {
        let old = self.records.len();
        let end = pos + RELATED_WINDOW + 1;
        if end <= prefix || (prefix == old && prefix == new) {
            return self.offsets.get(pos).map(Vec::as_slice);
        }
        if pos >= RELATED_WINDOW && pos - RELATED_WINDOW >= new - suffix {
            return self.offsets.get(pos + old - new).map(Vec::as_slice);
        }
        None
    }
}

/// [`overlap`] of two (themes, entities) bit sets.
fn overlap_masks(
    (themes, entities): (u128, u128),
    (other_themes, other_entities): (u128, u128),
) -> usize {
    2 * (entities & other_entities).count_ones() as usize
        + (themes & other_themes).count_ones() as usize
}

/// Tag ids below 128 as a bit set (others are left out: [`Tags::masks`]
/// is only used when there are none).
fn mask(ids: &[u32]) -> u128 {
    ids.iter()
        .filter(|&&id| id < 128)
        .fold(0, |m, &id| m | 1u128 << id)
}

/// How many neighbours on each side are scored for "related".
const RELATED_WINDOW: usize = 60;

/// Shared entities count double: they are more specific than themes.
fn overlap<T: PartialEq>(
    themes: &[T],
    entities: &[T],
    other_themes: &[T],
    other_entities: &[T],
) -> usize {
    2 * other_entities
        .iter()
        .filter(|s| entities.contains(s))
        .count()
        + other_themes.iter().filter(|t| themes.contains(t)).count()
}

/// (index, distance in time, score): the five best, ties to the nearest.
fn best_related(candidates: impl Iterator<Item = (usize, usize, usize)>) -> Vec<usize> {
    const BEST: usize = 5;
    let before = |a: &(usize, usize, usize), b: &(usize, usize, usize)| {
        (b.2, a.1, a.0) < (a.2, b.1, b.0) // higher score, then nearer, then first
    };
    // The best five so far, best first: ~120 candidates a page, kept
    // without collecting or sorting them (the order is total, so this is
    // the head of the sorted list).
    let mut best = [(0, 0, 0); BEST];
    let mut len = 0;
    for c in candidates.filter(|c| c.2 > 0) {
        if len == BEST && !before(&c, &best[BEST - 1]) {
            continue;
        }
        let at = best[..len]
            .iter()
            .position(|b| before(&c, b))
            .unwrap_or(len);
        len = (len + 1).min(BEST);
        best.copy_within(at..len - 1, at + 1);
        best[at] = c;
    }
    best[..len].iter().map(|&(j, _, _)| j).collect()
}

/// Escaped text with a `<mark id>` around every cited span. Marks must nest
/// to be HTML, so a span that crosses an earlier one grows back to contain
/// it: every mark still holds its whole quote, and identical or inner
/// quotes get marks of their own inside.
fn highlight(text: &str, mut spans: Vec<(usize, usize, String)>) -> String {
    spans.retain(|(s, e, _)| {
        s < e && *e <= text.len() && text.is_char_boundary(*s) && text.is_char_boundary(*e)
    });
    loop {
        let mut changed = false;
        for a in 0..spans.len() {
            for b in 0..spans.len() {
                let (sa, ea) = (spans[a].0, spans[a].1);
                let (sb, eb) = (spans[b].0, spans[b].1);
                if sa < sb && sb < ea && ea < eb {
                    spans[b].0 = sa;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut html = String::with_capacity(text.len() + 64);
    let mut at = 0;
    let mut open: Vec<usize> = Vec::new(); // ends of the marks now open
    let close_until = |html: &mut String, at: &mut usize, open: &mut Vec<usize>, limit: usize| {
        while let Some(&end) = open.last() {
            if end > limit {
                break;
            }
            html.push_str(&escape_html(&text[*at..end]));
            html.push_str("</mark>");
            *at = end;
            open.pop();
        }
    };
    for (start, end, id) in spans {
        close_until(&mut html, &mut at, &mut open, start);
        html.push_str(&escape_html(&text[at..start]));
        html.push_str(&format!("<mark id=\"{}\">", escape_html(&id)));
        at = start;
        open.push(end);
    }
    close_until(&mut html, &mut at, &mut open, text.len());
    html.push_str(&escape_html(&text[at..]));
    html
}

/// One error a cause: a full disk fails every page the same way, and the
/// first few say it; the rest are counted.
fn fold_repeats(errors: Vec<Diagnostic>) -> Vec<Diagnostic> {
    const SHOWN: usize = 3;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    for e in errors {
        let n = seen.entry(e.message.clone()).or_default();
        *n += 1;
        if *n <= SHOWN {
            kept.push(e);
        }
    }
    for (message, n) in seen {
        if n > SHOWN
            && let Some(first) = kept.iter().find(|e| e.message == message)
        {
            let mut more = first.clone();
            more.path = "output".into();
            more.message = format!("{message} ({} more files)", n - SHOWN);
            kept.push(more);
        }
    }
    kept
}

/// Text into HTML: the five characters that can change markup.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    // Copy the runs between special bytes whole: they are all ASCII, so
    // every cut is on a char boundary.
    let mut from = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[from..at]);
        out.push_str(entity);
        from = at + 1;
    }
    out.push_str(&text[from..]);
    out
}

fn template_error(origins: &BTreeMap<String, String>, e: &tera::Error) -> Diagnostic {
    let report = match e.kind() {
        tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => Some(r),
        _ => None,
    };
    let (origin, line, message) = match report {
        Some(r) => (
            origins
                .get(r.filename())
                .cloned()
                .unwrap_or_else(|| format!("templates/{}", r.filename())),
            Some(r.span().start_line),
            r.message().to_string(),
        ),
        None => ("templates".to_string(), None, flatten_error(e)),
    };
    Diagnostic::error(origin, line, format!("template error: {message}"))
        .with_hint("fix the template, or delete your override to use the built-in one")
}

fn flatten_error(e: &tera::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cards' HTML joined in order; text that is not marked safe escaped;
    /// a value without `html` adds nothing.
    #[test]
    fn the_cards_filter_joins_safe_html_and_escapes_the_rest() {
        let card = |html: Value| {
            let mut map = tera::Map::new();
            map.insert("html".into(), html);
            Value::from(map)
        };
        let cards = [
            card(Value::safe_string("<li>a</li>")),
            card(Value::from("<b>")),
            Value::from(3),
            card(Value::safe_string("<li>b</li>")),
        ];
        let mut tera = Tera::new();
        tera.register_filter("cards", cards_filter);
        tera.add_raw_template("t.html", "{{ list | cards }}")
            .unwrap();
        let mut ctx = Context::new();
        ctx.insert_value("list", Value::from(cards.to_vec()));
        assert_eq!(
            tera.render("t.html", &ctx).unwrap(),
            "<li>a</li>&lt;b&gt;<li>b</li>"
        );
    }

    proptest::proptest! {
        /// The five best found by selection are the sorted list's first five.
        #[test]
        fn best_related_is_the_head_of_the_sorted_candidates(
            candidates in proptest::collection::vec((0usize..40, 0usize..8, 0usize..4), 0..60)
        ) {
            let mut sorted: Vec<_> = candidates.iter().copied().filter(|c| c.2 > 0).collect();
            sorted.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
            let expected: Vec<usize> = sorted.iter().take(5).map(|c| c.0).collect();
            proptest::prop_assert_eq!(best_related(candidates.into_iter()), expected);
        }
    }

    proptest::proptest! {
        /// Bit sets score as the lists do, for lists without repeats.
        #[test]
        fn masks_score_as_lists(
            a in proptest::collection::btree_set(0u32..128, 0..6),
            b in proptest::collection::btree_set(0u32..128, 0..6),
            c in proptest::collection::btree_set(0u32..128, 0..6),
            d in proptest::collection::btree_set(0u32..128, 0..6),
        ) {
            let [a, b, c, d] = [a, b, c, d].map(|s| s.into_iter().collect::<Vec<u32>>());
            let masked = overlap_masks((mask(&a), mask(&b)), (mask(&c), mask(&d)));
            proptest::prop_assert_eq!(masked, overlap(&a, &b, &c, &d));
        }
    }

    /// A record of id `id` dated `day` days into 2023, with `themes`.
    fn dated(
        id: &str,
        day: usize,
        themes: &[&str],
        fingerprint: &str,
    ) -> Arc<crate::model::Record> {
        let date =
            chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + chrono::Days::new(day as u64);
        let record = crate::model::Record {
            id: id.to_string(),
            slug: id.to_string(),
            title: format!("Article {id}"),
            date: Some(date.format("%Y-%m-%d").to_string()),
            month: Some(date.format("%Y-%m").to_string()),
            language: "sv".to_string(),
            language_declared: true,
            themes: themes.iter().map(|t| t.to_string()).collect(),
            fingerprint: fingerprint.to_string(),
            ..Default::default()
        };
        Arc::new(record)
    }

    /// Record `n` of a synthetic dossier: two of 150 themes drawn from its
    /// number, so few share one and the related are often far apart.
    fn numbered(n: usize, fingerprint: &str) -> Arc<crate::model::Record> {
        let (a, b) = (format!("t{}", n * 7 % 150), format!("t{}", n * 13 % 150));
        dated(&format!("{n:04}"), n % 365, &[&a, &b], fingerprint)
    }

    fn related_of(records: &[Arc<crate::model::Record>], memo: &Memo) -> Vec<Vec<String>> {
        let index = SiteIndex::build(
            crate::config::Config::default(),
            records.to_vec(),
            vec![],
            vec![],
            vec![],
        );
        let empty = tempfile::tempdir().unwrap();
        let theme = Theme::load(empty.path(), &crate::diagnostics::Diagnostics::new());
        let renderer = Renderer::new(&index, &theme, memo).unwrap_or_else(|_| panic!("renders"));
        let related = &renderer.related.articles;
        (0..index.records.len())
            .map(|i| {
                related[i]
                    .iter()
                    .map(|&r| index.records[r].id.clone())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn related_rescored_from_the_last_build_equal_related_scored_afresh() {
        let memo = Memo::new();
        let mut records: Vec<_> = (0..600).map(|n| numbered(n, &format!("f{n}"))).collect();
        related_of(&records, &memo);
        type Records = Vec<Arc<crate::model::Record>>;
        let changes: [&dyn Fn(&mut Records); 5] = [
            // An article whose date falls in the middle of the chronology.
            &|r| r.insert(300, numbered(5000, "new")),
            // One removed, near the start.
            &|r| {
                r.remove(7);
            },
            // One edited: its themes (and so its fingerprint) change.
            &|r| {
                let mut edited = (*r[420]).clone();
                edited.themes = vec!["t3".to_string()];
                edited.fingerprint = "edited".to_string();
                r[420] = Arc::new(edited);
            },
            // Nothing changed.
            &|_| {},
            // One added at the very end of the chronology.
            &|r| r.push(numbered(9999, "last")),
        ];
        for (n, change) in changes.iter().enumerate() {
            change(&mut records);
            memo.sweep();
            let afresh = related_of(&records, &Memo::off());
            assert!(afresh.iter().filter(|r| !r.is_empty()).count() > 400);
            assert_eq!(related_of(&records, &memo), afresh, "change {n}");
        }
    }

    /// The windows' edges: an article 60 places before or after the new
    /// one, sharing a theme with nothing else, has it as its related.
    #[test]
    fn an_article_at_the_edge_of_the_change_is_rescored() {
        let memo = Memo::new();
        let record = |n: usize| {
            let theme = if n == 240 || n == 359 {
                "x".to_string()
            } else {
                format!("u{n}")
            };
            dated(&format!("{n:04}"), n, &[&theme], &format!("f{n}"))
        };
        let mut records: Vec<_> = (0..600).map(record).collect();
        related_of(&records, &memo);
        // Dated as the 300th, after it by id: 300th in the chronology.
        records.push(dated("x", 299, &["x"], "new"));
        memo.sweep();
        let related = related_of(&records, &memo);
        assert_eq!(related[240], ["x"]);
        assert_eq!(related[359], ["x"]);
        assert_eq!(related, related_of(&records, &Memo::off()));
    }

    #[test]
    fn highlight_escapes_and_marks() {
        let html = highlight("a <b> c & d", vec![(2, 5, "q-x-1".into())]);
        assert_eq!(html, "a <mark id=\"q-x-1\">&lt;b&gt;</mark> c &amp; d");
    }

    #[test]
    fn overlapping_marks_nest_and_keep_their_ids() {
        // Crossing: "two" grows back to contain "one".
        let html = highlight("abcdef", vec![(1, 4, "one".into()), (3, 5, "two".into())]);
        assert_eq!(
            html,
            "a<mark id=\"two\"><mark id=\"one\">bcd</mark>e</mark>f"
        );
        // Inner and identical spans get marks of their own.
        let html = highlight(
            "abcdef",
            vec![
                (1, 5, "outer".into()),
                (2, 3, "inner".into()),
                (1, 5, "same".into()),
            ],
        );
        assert_eq!(
            html,
            "a<mark id=\"outer\"><mark id=\"same\">b<mark id=\"inner\">c</mark>de</mark></mark>f"
        );
    }
}
