//! Offline full-text search: an index built with the site, queried in the
//! browser by `static/search.js` (no server, no WebAssembly).
//!
//! Every entity, event and article is a *document*, numbered in that order
//! (articles last, in record order: an article added at the end changes
//! only the postings of its own words). A document has a title
//! (paragraph 0) and paragraphs 1.. (an article's shown paragraphs, anchored
//! `#pN`; an event's summary and its citations, anchored `#cN`; an entity's
//! aliases and description). Text is cut into words as
//! [`crate::lexicon::words`] does, each word stemmed by the Snowball stemmer
//! of its language (`rust-stemmers`; da, nb, sv, de, en and a dozen more,
//! other languages unstemmed; an event's quotes in the quoted article's),
//! and words and stems are *folded*
//! ([`fold`]): lowercase, without diacritics, with `ä`/`ae`, `ö`/`oe`/`ø`,
//! `å`/`aa`, `ü`/`ue`, `ß`/`ss`, `æ`/`ae` made one, so `kärnvapen`,
//! `karnvapen` and `kaernvapen` are the same key. Every name of an entity
//! that a paragraph mentions (`Lukasjenko`) is indexed as a hidden word of
//! that paragraph, so `Lukashenko` and `Lukaschenko` find it too.
//!
//! The browser does not stem: the index carries its *vocabulary*, every
//! folded word mapped to its folded stem(s), and the page looks its query
//! words up there. A word the texts do not hold is matched to the stems it
//! begins with, up to an ending of four letters (`kärnvapnen` -> the stem
//! `karnvap` of `kärnvapen`), or, as a partial word, to the words it begins.
//!
//! Files, below [`BUNDLE_DIR`] (`search-index/`):
//! - `meta.json`: `version`, `documents`, `kinds` (`[kind, count, block]`
//!   in document order), `lengths` (words per document), `average` (mean
//!   length per kind), `languages`, `shards` (sorted shard keys);
//! - `terms/KEY.json`: `{"words": {word: stem}, "stems": {stem: postings}}`
//!   for the words and stems whose longest prefix among the shard keys is
//!   KEY: one shard for a small index, split by first letters, then by
//!   one letter more, while bigger than [`SHARD_BYTES`]. A word's stem is
//!   the number of letters to cut off it, or the stem itself when it is not
//!   a prefix, or a list of those (one word, several languages). Postings are one flat array of
//!   numbers, per document: `doc delta, tf, n, paragraph × n` (`tf` counts
//!   the word in the whole document, hidden words once per paragraph;
//!   paragraph 0 is the title);
//! - `docs/KIND/F.json`: the fragments of `block` consecutive documents of
//!   a kind (the K-th article is in file K / block, at K % block; adding an
//!   article or an event moves no other kind's), about [`FRAGMENT_BYTES`]
//!   a file, loaded only for shown results. A fragment: `url`
//!   (below the site's base), `kind`, `title`, `date`, `language`; for an
//!   article `anchors` (its paragraphs', paragraph 1 first: their text is
//!   on the article's page, which the browser reads for the excerpt, so the
//!   index does not hold every article's text a second time), for an event
//!   or entity `paragraphs` (`[anchor, text]`, anchor "" for text without
//!   one); and `aliases` (folded names of each entity it mentions, to
//!   highlight the name as written when another was searched).
//!
//! The index is built in parallel: rayon analyses the documents (each
//! worker stems a word once per language, then looks it up), a chunk at a
//! time, and their postings are merged in document order. Its files are
//! byte-identical for the same input: everything is sorted, nothing
//! depends on which thread met a word first.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::diagnostics::Diagnostic;
use crate::index::SiteIndex;
use crate::memo::{self, Memo};
use crate::model::{Entity, Event, Record};
use crate::render::Sink;

/// The folder, below the site root, holding the search index.
pub const BUNDLE_DIR: &str = "search-index";

/// The index format's version, in `meta.json`; `search.js` checks it.
pub const FORMAT_VERSION: u32 = 2;

/// A term shard is split by one more letter when bigger than this (a
/// single word's postings may still be bigger).
pub const SHARD_BYTES: usize = 48 * 1024;

/// Longer words are not indexed (no language has them; a run of letters
/// that long is not text).
const MAX_WORD_BYTES: usize = 128;

/// Shard keys are at most this many letters long.
const MAX_KEY_LETTERS: usize = 6;

/// Fragment files aim at about this size: each holds a block of
/// consecutive documents of one kind, as many as fit at the kind's average
/// size (at least one), so a result costs one small download and a big
/// dossier does not make a file of every event.
pub const FRAGMENT_BYTES: usize = 8 * 1024;

/// Documents analysed between two merges: bounds the memory of the
/// analyses waiting to be merged.
const CHUNK: usize = 512;

// ---- folding and stemming ------------------------------------------------------

/// A word or stem as the index and the browser compare them: lowercase,
/// without combining marks (`é` -> `e`, `ä` -> `a`), `ø` -> `o`, `æ` -> `a`,
/// `œ` -> `o`, `ß` -> `ss`, and the two-letter spellings of umlauts and `å`
/// made single (`ae` -> `a`, `oe` -> `o`, `aa` -> `a`, `ue` -> `u`), so
/// `kärnvapen`, `karnvapen` and `kaernvapen` fold alike. `search.js` has
/// the same function; a test runs it on the same words as this one.
/// Not idempotent (`queen` -> `quen` -> `qun`): fold a word once.
pub fn fold(word: &str) -> String {
    let lower = word.to_lowercase();
    if lower.bytes().all(|b| b.is_ascii_alphanumeric())
        && !["ae", "oe", "aa", "ue"].iter().any(|p| lower.contains(p))
    {
        return lower;
    }
    let mut out = String::with_capacity(lower.len());
    for c in lower.nfd() {
        match c {
            c if is_combining_mark(c) => {}
            'ø' => out.push('o'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ß' => out.push_str("ss"),
            'đ' | 'ð' => out.push('d'),
            'ł' => out.push('l'),
            'þ' => out.push_str("th"),
            c => out.push(c),
        }
    }
    out.replace("ae", "a")
        .replace("oe", "o")
        .replace("aa", "a")
        .replace("ue", "u")
}

/// The Snowball stemmers, by the language codes they serve. A language's
/// *slot* is its position here plus one; slot 0 is "no stemmer".
const STEMMERS: [(&[&str], Algorithm); 18] = [
    (&["da"], Algorithm::Danish),
    (&["nb", "nn", "no"], Algorithm::Norwegian),
    (&["sv"], Algorithm::Swedish),
    (&["de"], Algorithm::German),
    (&["en"], Algorithm::English),
    (&["nl"], Algorithm::Dutch),
    (&["fi"], Algorithm::Finnish),
    (&["fr"], Algorithm::French),
    (&["it"], Algorithm::Italian),
    (&["es"], Algorithm::Spanish),
    (&["pt"], Algorithm::Portuguese),
    (&["ro"], Algorithm::Romanian),
    (&["hu"], Algorithm::Hungarian),
    (&["ru"], Algorithm::Russian),
    (&["tr"], Algorithm::Turkish),
    (&["el"], Algorithm::Greek),
    (&["ar"], Algorithm::Arabic),
    (&["ta"], Algorithm::Tamil),
];

/// The stemmer slot of a language code (`sv`, `pt-BR`); 0 when none.
fn slot(language: &str) -> usize {
    let code = language.trim().to_ascii_lowercase();
    let primary = code.split(['-', '_']).next().unwrap_or("");
    STEMMERS
        .iter()
        .position(|(codes, _)| codes.contains(&primary))
        .map_or(0, |i| i + 1)
}

/// The stemmer of each slot.
fn stemmers() -> Vec<Option<Stemmer>> {
    std::iter::once(None)
        .chain(STEMMERS.iter().map(|(_, a)| Some(Stemmer::create(*a))))
        .collect()
}

// ---- tokens ------------------------------------------------------------------------

/// The words of a text, lowercase, as [`crate::lexicon::words`] cuts them
/// (at every character that is not alphanumeric), but for words longer than
/// [`MAX_WORD_BYTES`]. A word is borrowed from the text where it is
/// lowercase already, else lowercased into `buffer`; ASCII is read a byte
/// at a time.
fn for_each_word(text: &str, buffer: &mut String, mut f: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut emit = |word: &str, lowercase: bool| {
        if word.is_empty() || word.len() > MAX_WORD_BYTES {
            return;
        }
        if lowercase {
            return f(word);
        }
        buffer.clear();
        if word.is_ascii() {
            buffer.push_str(word);
            buffer.make_ascii_lowercase();
        } else if word.contains('Σ') {
            // Final sigma depends on the letters around it.
            buffer.push_str(&word.to_lowercase());
        } else {
            buffer.extend(word.chars().flat_map(char::to_lowercase));
        }
        f(buffer)
    };
    let (mut start, mut at, mut lowercase) = (0, 0, true);
    while at < bytes.len() {
        let b = bytes[at];
        let (alphanumeric, len, lower) = if b.is_ascii() {
            (b.is_ascii_alphanumeric(), 1, !b.is_ascii_uppercase())
        } else {
            let c = text[at..].chars().next().unwrap_or(' ');
            let mut l = c.to_lowercase();
            let lower = l.len() == 1 && l.next() == Some(c);
            (c.is_alphanumeric(), c.len_utf8(), lower)
        };
        if alphanumeric {
            lowercase &= lower;
        } else {
            emit(&text[start..at], lowercase);
            start = at + len;
            lowercase = true;
        }
        at += len;
    }
    emit(&text[start..], lowercase);
}

// ---- documents --------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Article,
    Event,
    Entity,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Article => "article",
            Kind::Event => "event",
            Kind::Entity => "entity",
        }
    }
}

/// What one document of the index is made from.
struct Document<'a> {
    kind: Kind,
    /// Below the site's base: `articles/SLUG/`.
    url: String,
    title: &'a str,
    date: &'a str,
    language: &'a str,
    /// Paragraph 1 first.
    paragraphs: Vec<Passage<'a>>,
    entities: Vec<&'a Entity>,
}

impl Document<'_> {
    /// About the size of its fragment.
    fn size(&self) -> usize {
        let text: usize = self
            .paragraphs
            .iter()
            .map(|p| match self.kind {
                Kind::Article => p.anchor.len() + 3,
                _ => p.anchor.len() + p.text.len() + 8,
            })
            .sum();
        text + self.url.len() + self.title.len() + self.date.len() + 100
    }
}

/// Consecutive documents of one kind, whose fragments share a file.
struct Block {
    kind: Kind,
    docs: std::ops::Range<usize>,
    /// The file's number among its kind's: `docs/KIND/FILE.json`.
    file: usize,
}

/// A paragraph of a document.
struct Passage<'a> {
    /// `p7`, `c2`, or "" for text without an anchor.
    anchor: Cow<'a, str>,
    text: Cow<'a, str>,
    /// When not the document's (an event's quote: the article's).
    language: Option<&'a str>,
}

impl<'a> Passage<'a> {
    fn new(anchor: impl Into<Cow<'a, str>>, text: impl Into<Cow<'a, str>>) -> Passage<'a> {
        Passage {
            anchor: anchor.into(),
            text: text.into(),
            language: None,
        }
    }
}

/// The documents' numbering: entities, events, articles.
struct Documents<'a> {
    index: &'a SiteIndex,
}

impl<'a> Documents<'a> {
    fn counts(&self) -> [(Kind, usize); 3] {
        [
            (Kind::Entity, self.index.entities.len()),
            (Kind::Event, self.index.events.len()),
            (Kind::Article, self.index.records.len()),
        ]
    }

    /// The blocks of documents that share a fragment file, in document
    /// order; and per kind, the documents a block holds: the power of two
    /// nearest to how many of the kind's average size make
    /// [`FRAGMENT_BYTES`] (a power of two, so that it seldom changes as
    /// documents come: when it does, the kind's files are all rewritten).
    fn blocks(&self, memo: &Memo, keys: &[memo::Key]) -> (Vec<Block>, [usize; 3]) {
        let mut blocks = Vec::new();
        let mut sizes = [1; 3];
        let mut first = 0;
        for (i, (kind, count)) in self.counts().into_iter().enumerate() {
            let bytes: usize = (first..first + count)
                .into_par_iter()
                .map(|n| {
                    if !memo.is_on() {
                        return self.get(n).size();
                    }
                    let url = self.url(n);
                    let key = memo::key(&[&keys[n], url.as_bytes()]);
                    *memo.get_or("search-size", key, || self.get(n).size())
                })
                .sum();
            let average = (bytes / count.max(1)).max(1);
            let size = match count {
                0 => 1,
                _ => 2f64
                    .powf((FRAGMENT_BYTES as f64 / average as f64).log2().round())
                    .clamp(1.0, 1024.0) as usize,
            };
            sizes[i] = size;
            for (file, start) in (first..first + count).step_by(size).enumerate() {
                blocks.push(Block {
                    kind,
                    docs: start..(start + size).min(first + count),
                    file,
                });
            }
            first += count;
        }
        (blocks, sizes)
    }

    /// Each document's key: a digest of everything its analysis and its
    /// fragment, but for its URL, are made from (a record's text is a
    /// function of its fingerprint and the normalization settings, which
    /// cover the taxonomies; an event's of the event and the languages it
    /// quotes).
    fn keys(&self) -> Vec<memo::Key> {
        let ix = self.index;
        let language = ix.config.language.as_bytes();
        let mut keys: Vec<memo::Key> = ix
            .entities
            .iter()
            .map(|e| memo::key(&[b"entity", &ix.settings, language, e.slug.as_bytes()]))
            .collect();
        keys.par_extend(ix.events.par_iter().map(|e| {
            let json = serde_json::to_vec(e).unwrap_or_default();
            let quoted: Vec<&[u8]> = e
                .citations
                .iter()
                .map(|c| {
                    ix.record(&c.article)
                        .map_or(&b""[..], |r| r.language.as_bytes())
                })
                .collect();
            let parts = [&[&b"event"[..], &ix.settings, language, &json], &quoted[..]].concat();
            memo::key(&parts)
        }));
        keys.par_extend(
            ix.records
                .par_iter()
                .map(|r| memo::key(&[b"article", &ix.settings, r.fingerprint.as_bytes()])),
        );
        keys
    }

    /// Document `n`'s URL below the base, without making the document.
    fn url(&self, n: usize) -> String {
        let ix = self.index;
        let (entities, events) = (ix.entities.len(), ix.events.len());
        let url = if n < entities {
            ix.urls.entity(&ix.entities[n].slug)
        } else if n < entities + events {
            ix.urls.event(&ix.events[n - entities].slug)
        } else {
            ix.urls.article(&ix.records[n - entities - events].slug)
        };
        below_base(ix, &url)
    }

    /// Document `n`'s language, without making the document.
    fn language(&self, n: usize) -> &'a str {
        let ix = self.index;
        let first_article = ix.entities.len() + ix.events.len();
        match n.checked_sub(first_article) {
            Some(r) => &ix.records[r].language,
            None => &ix.config.language,
        }
    }

    /// Document `n`.
    fn get(&self, n: usize) -> Document<'a> {
        let ix = self.index;
        let (entities, events) = (ix.entities.len(), ix.events.len());
        if n < entities {
            entity(ix, &ix.entities[n])
        } else if n < entities + events {
            event(ix, &ix.events[n - entities])
        } else {
            article(ix, &ix.records[n - entities - events])
        }
    }
}

/// A site URL below the base: `/repo/articles/x/` -> `articles/x/`.
fn below_base(index: &SiteIndex, url: &str) -> String {
    url.strip_prefix(index.urls.base())
        .unwrap_or(url)
        .trim_start_matches('/')
        .to_string()
}

fn entities_of<'a>(index: &'a SiteIndex, slugs: &[String]) -> Vec<&'a Entity> {
    slugs.iter().filter_map(|s| index.entity(s)).collect()
}

fn article<'a>(index: &'a SiteIndex, record: &'a Record) -> Document<'a> {
    Document {
        kind: Kind::Article,
        url: below_base(index, &index.urls.article(&record.slug)),
        title: &record.title,
        date: record.date.as_deref().unwrap_or(""),
        language: &record.language,
        paragraphs: record
            .shown_paragraphs()
            .map(|p| Passage::new(p.id.as_str(), p.text.as_str()))
            .collect(),
        entities: entities_of(index, &record.entities),
    }
}

fn event<'a>(index: &'a SiteIndex, event: &'a Event) -> Document<'a> {
    let mut paragraphs = Vec::new();
    let summary = html_text(&event.summary_html);
    if !summary.is_empty() {
        paragraphs.push(Passage::new("", summary));
    }
    for (n, c) in event.citations.iter().enumerate() {
        let anchor = format!("c{}", n + 1);
        // A quote is in the language of the article it quotes.
        paragraphs.push(Passage {
            language: index.record(&c.article).map(|r| r.language.as_str()),
            ..Passage::new(anchor.clone(), c.quote.as_str())
        });
        for extra in [&c.translation, &c.note].into_iter().flatten() {
            paragraphs.push(Passage::new(anchor.clone(), extra.as_str()));
        }
    }
    Document {
        kind: Kind::Event,
        url: below_base(index, &index.urls.event(&event.slug)),
        title: &event.title,
        date: &event.date,
        language: &index.config.language,
        paragraphs,
        entities: entities_of(index, &event.entities),
    }
}

fn entity<'a>(index: &'a SiteIndex, entity: &'a Entity) -> Document<'a> {
    let mut paragraphs = Vec::new();
    if !entity.aliases.is_empty() {
        let text = format!("Also written {}.", entity.aliases.join(", "));
        paragraphs.push(Passage::new("", text));
    }
    if !entity.description.is_empty() {
        paragraphs.push(Passage::new("", entity.description.as_str()));
    }
    Document {
        kind: Kind::Entity,
        url: below_base(index, &index.urls.entity(&entity.slug)),
        title: &entity.name,
        date: "",
        language: &index.config.language,
        paragraphs,
        entities: Vec::new(),
    }
}

/// Tags that do not end a word: `<em>Luka</em>shenko` is one word.
const INLINE_TAGS: [&str; 19] = [
    "a", "abbr", "b", "cite", "code", "del", "em", "i", "ins", "kbd", "mark", "q", "s", "small",
    "span", "strong", "sub", "sup", "u",
];

/// The text of sanitized HTML (an event's summary): tags dropped, the
/// entities the sanitizer writes decoded.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tag = &rest[open + 1..];
        // The sanitizer double-quotes attribute values, which may hold a `>`
        // (a link's title).
        let mut quoted = false;
        let close = tag
            .find(|c| {
                quoted ^= c == '"';
                c == '>' && !quoted
            })
            .unwrap_or(tag.len());
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("");
        if !INLINE_TAGS.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            out.push(' ');
        }
        rest = tag.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---- analysis ----------------------------------------------------------------------

/// FxHash: quick on short keys such as words (and not meant to resist
/// chosen collisions, which a site's own words need not).
type Fx = rustc_hash::FxBuildHasher;

/// The stems of every word met, shared by the threads. Stem ids are given
/// in the order threads meet them; nothing written depends on them. With a
/// memo (`dossier serve`) one vocabulary serves every build of the process,
/// so the analyses of unchanged documents, which name stems by id, are
/// reused as they are.
struct Vocabulary {
    stemmers: Vec<Option<Stemmer>>,
    stems: Mutex<Stems>,
    /// Idle workers: a document is analysed by one taken from here (or a
    /// new one), which is put back after; so there are about as many as
    /// threads, and each document's words cost a hash lookup each.
    workers: Mutex<Vec<Worker>>,
}

#[derive(Default)]
struct Stems {
    ids: HashMap<Box<str>, u32, Fx>,
    names: Vec<Box<str>>,
    /// (folded word, stem id) -> its pair id: the index into `pair_list`.
    pairs: HashMap<(Box<str>, u32), u32, Fx>,
    pair_list: Vec<(Box<str>, u32)>,
}

impl Vocabulary {
    fn new() -> Vocabulary {
        Vocabulary {
            stemmers: stemmers(),
            stems: Mutex::new(Stems::default()),
            workers: Mutex::new(Vec::new()),
        }
    }

    /// Folds and stems a lowercase word in the language of `slot`; its
    /// stem id, and the id of the (folded word, stem) pair.
    fn stem_id(&self, slot: usize, word: &str) -> (u32, u32) {
        let folded = fold(word);
        let stem = match &self.stemmers[slot] {
            Some(stemmer) => fold(&stemmer.stem(word)),
            None => folded.clone(),
        };
        let mut stems = lock(&self.stems);
        let next = stems.names.len() as u32;
        let id = *stems.ids.entry(stem.as_str().into()).or_insert(next);
        if id == next {
            stems.names.push(stem.into());
        }
        let pair = (Box::<str>::from(folded), id);
        let next = stems.pair_list.len() as u32;
        let pair_id = *stems.pairs.entry(pair.clone()).or_insert(next);
        if pair_id == next {
            stems.pair_list.push(pair);
        }
        (id, pair_id)
    }
}

/// What is kept between the documents one worker analyses: the words it
/// has met (so each is stemmed once per worker and language, and each token
/// costs one hash lookup), and, per word, its id in the document at hand.
struct Worker {
    /// [language slot]: lowercase word -> worker word id.
    ids: Vec<Ids>,
    /// By worker word id: the stem id.
    stem: Vec<u32>,
    /// By worker word id: the (folded word, stem) pair id.
    pair: Vec<u32>,
    /// By worker word id: the id in the current document, or `NONE`.
    local: Vec<u32>,
    /// By document word id: the worker word id.
    words: Vec<u32>,
}

const NONE: u32 = u32::MAX;

/// Word ids by word: words of up to 16 bytes (most) keyed by their bytes
/// as one number, which is quicker to hash and compare.
#[derive(Default, Clone)]
struct Ids {
    short: HashMap<u128, u32, Fx>,
    long: HashMap<Box<str>, u32, Fx>,
}

impl Ids {
    /// The bytes of a word as a number (words hold no NUL, so the padding
    /// tells where a shorter word ends).
    fn short(word: &str) -> Option<u128> {
        let bytes = word.as_bytes();
        (bytes.len() <= 16).then(|| {
            let mut b = [0u8; 16];
            b[..bytes.len()].copy_from_slice(bytes);
            u128::from_le_bytes(b)
        })
    }

    fn get(&self, word: &str) -> Option<u32> {
        match Ids::short(word) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(word).copied(),
        }
    }

    fn insert(&mut self, word: &str, id: u32) {
        match Ids::short(word) {
            Some(key) => self.short.insert(key, id),
            None => self.long.insert(word.into(), id),
        };
    }
}

impl Worker {
    fn new() -> Worker {
        Worker {
            ids: vec![Ids::default(); STEMMERS.len() + 1],
            stem: Vec::new(),
            pair: Vec::new(),
            local: Vec::new(),
            words: Vec::new(),
        }
    }

    /// The document word id of a lowercase word, given one if new.
    fn intern(&mut self, vocabulary: &Vocabulary, slot: usize, word: &str) -> u32 {
        let id = match self.ids[slot].get(word) {
            Some(id) => id,
            None => {
                let id = self.stem.len() as u32;
                let (stem, pair) = vocabulary.stem_id(slot, word);
                self.stem.push(stem);
                self.pair.push(pair);
                self.local.push(NONE);
                self.ids[slot].insert(word, id);
                id
            }
        };
        self.local_id(id)
    }

    fn local_id(&mut self, id: u32) -> u32 {
        let local = &mut self.local[id as usize];
        if *local == NONE {
            *local = self.words.len() as u32;
            self.words.push(id);
        }
        *local
    }

    /// The document word id of a word if the document has it.
    fn find(&self, slot: usize, word: &str) -> Option<u32> {
        let id = self.ids[slot].get(word)?;
        Some(self.local[id as usize]).filter(|&l| l != NONE)
    }

    /// Forgets the document's words.
    fn end_document(&mut self) {
        for &id in &self.words {
            self.local[id as usize] = NONE;
        }
        self.words.clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One document's postings.
#[derive(Serialize, Deserialize)]
struct Analysis {
    /// Words written in the document (hidden ones not counted).
    length: u32,
    /// (stem id, range of `text`): `tf,n,paragraph…` for each stem.
    stems: Vec<(u32, u32, u32)>,
    text: String,
    /// Folded names of each entity a paragraph mentions.
    aliases: Vec<Vec<String>>,
    /// The (folded word, stem) pairs of its words, hidden ones included:
    /// the vocabulary written is theirs, over every document.
    pairs: Vec<u32>,
}

/// Cuts a document into stemmed words, counted per paragraph.
fn analyse(doc: &Document, vocabulary: &Vocabulary) -> Analysis {
    let mut worker = lock(&vocabulary.workers).pop().unwrap_or_else(Worker::new);
    let analysis = analyse_with(doc, vocabulary, &mut worker);
    worker.end_document();
    lock(&vocabulary.workers).push(worker);
    analysis
}

fn analyse_with(doc: &Document, vocabulary: &Vocabulary, worker: &mut Worker) -> Analysis {
    // The title (paragraph 0) and each paragraph: its language's stemmer
    // and its words, in order.
    let own = slot(doc.language);
    let slots: Vec<usize> = std::iter::once(own)
        .chain(doc.paragraphs.iter().map(|p| p.language.map_or(own, slot)))
        .collect();
    let texts = std::iter::once(doc.title).chain(doc.paragraphs.iter().map(|p| p.text.as_ref()));
    let mut tokens: Vec<u32> = Vec::new();
    let mut starts: Vec<usize> = Vec::with_capacity(slots.len() + 1);
    let mut buffer = String::new();
    for (text, &slot) in texts.zip(&slots) {
        starts.push(tokens.len());
        for_each_word(text, &mut buffer, |w| {
            tokens.push(worker.intern(vocabulary, slot, w))
        });
    }
    starts.push(tokens.len());
    let paragraphs = starts.len() - 1;
    let length = tokens.len() as u32;

    // Entities: which paragraphs name them; every word of their names is
    // a hidden word of those paragraphs.
    let mut hidden: Vec<Vec<u32>> = vec![Vec::new(); paragraphs];
    let mut aliases = Vec::new();
    for entity in &doc.entities {
        let names: Vec<Vec<String>> = std::iter::once(&entity.name)
            .chain(&entity.aliases)
            .map(|n| crate::lexicon::words(n))
            .filter(|w| !w.is_empty())
            .collect();
        // The names as word ids, per language (ids are per stemmer).
        let mut phrases: Vec<(usize, Vec<Vec<u32>>)> = Vec::new();
        let mut mentioned: Vec<usize> = Vec::new();
        for (p, &slot) in slots.iter().enumerate() {
            if !phrases.iter().any(|(s, _)| *s == slot) {
                let ids = names
                    .iter()
                    .filter_map(|n| n.iter().map(|w| worker.find(slot, w)).collect())
                    .collect();
                phrases.push((slot, ids));
            }
            let Some((_, ids)) = phrases.iter().find(|(s, _)| *s == slot) else {
                continue;
            };
            let seq = &tokens[starts[p]..starts[p + 1]];
            if ids
                .iter()
                .any(|ph: &Vec<u32>| seq.windows(ph.len()).any(|w| w == ph.as_slice()))
            {
                mentioned.push(p);
            }
        }
        if mentioned.is_empty() {
            continue;
        }
        let mut all: BTreeSet<&str> = BTreeSet::new();
        for n in &names {
            all.extend(
                n.iter()
                    .map(String::as_str)
                    .filter(|w| w.chars().count() >= 2),
            );
        }
        for &p in &mentioned {
            let ids: Vec<u32> = all
                .iter()
                .map(|w| worker.intern(vocabulary, slots[p], w))
                .collect();
            hidden[p].extend(ids);
        }
        let mut folded: Vec<String> = all.iter().map(|w| fold(w)).collect();
        folded.sort();
        folded.dedup();
        aliases.push(folded);
    }
    aliases.sort();
    aliases.dedup();

    // Count: tf per word, and (word, paragraph) once per paragraph, in
    // paragraph order; a hidden word counts once where it is not written.
    let words = worker.words.len();
    let mut tf = vec![0u32; words];
    let mut last = vec![u32::MAX; words];
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(tokens.len() / 2);
    for p in 0..paragraphs {
        let here = p as u32;
        for &w in &tokens[starts[p]..starts[p + 1]] {
            tf[w as usize] += 1;
            if last[w as usize] != here {
                last[w as usize] = here;
                pairs.push((w, here));
            }
        }
        for &w in &hidden[p] {
            if last[w as usize] != here {
                last[w as usize] = here;
                pairs.push((w, here));
                tf[w as usize] += 1;
            }
        }
    }
    // Paragraph lists by word (a counting sort: already in order).
    let mut offsets = vec![0u32; words + 1];
    for &(w, _) in &pairs {
        offsets[w as usize + 1] += 1;
    }
    for i in 0..words {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut lists = vec![0u32; pairs.len()];
    for &(w, p) in &pairs {
        lists[fill[w as usize] as usize] = p;
        fill[w as usize] += 1;
    }
    let list = |w: u32| &lists[offsets[w as usize] as usize..offsets[w as usize + 1] as usize];

    // Words to stems; words of one stem merged.
    let mut by_stem: Vec<(u32, u32)> = (0..words as u32)
        .map(|l| (worker.stem[worker.words[l as usize] as usize], l))
        .collect();
    by_stem.sort_unstable();
    let mut text = String::with_capacity(pairs.len() * 3 + by_stem.len() * 4);
    let mut stems = Vec::with_capacity(by_stem.len());
    let mut merged: Vec<u32> = Vec::new();
    for group in by_stem.chunk_by(|a, b| a.0 == b.0) {
        let start = text.len() as u32;
        let total: u32 = group.iter().map(|&(_, w)| tf[w as usize]).sum();
        let ps: &[u32] = if group.len() == 1 {
            list(group[0].1)
        } else {
            merged.clear();
            for &(_, w) in group {
                merged.extend_from_slice(list(w));
            }
            merged.sort_unstable();
            merged.dedup();
            &merged
        };
        push_number(&mut text, total);
        text.push(',');
        push_number(&mut text, ps.len() as u32);
        for &p in ps {
            text.push(',');
            push_number(&mut text, p);
        }
        stems.push((group[0].0, start, text.len() as u32));
    }
    let pairs = worker
        .words
        .iter()
        .map(|&id| worker.pair[id as usize])
        .collect();
    Analysis {
        length,
        stems,
        text,
        aliases,
        pairs,
    }
}

// ---- writing -------------------------------------------------------------------------

#[derive(Serialize)]
struct Fragment<'a> {
    url: &'a str,
    kind: &'static str,
    title: &'a str,
    date: &'a str,
    language: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    anchors: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paragraphs: Option<Vec<[&'a str; 2]>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    aliases: &'a [Vec<String>],
}

#[derive(Serialize)]
struct Meta<'a> {
    version: u32,
    documents: usize,
    kinds: Vec<(&'static str, usize, usize)>,
    average: BTreeMap<&'static str, f64>,
    languages: BTreeSet<&'a str>,
    shards: Vec<&'a str>,
    lengths: Vec<u32>,
}

/// Builds the search index and puts its files into `sink` under
/// `search-index/`. Returns the number of files written.
/// `salt` names the program and templates: with a block's documents, it
/// is the key a fragment file is kept under from one build to the next.
/// `stored`: the analyses the last `dossier build` kept (see [`Stored`]),
/// which this build's are then kept in.
pub fn write_index(
    index: &SiteIndex,
    sink: &dyn Sink,
    memo: &Memo,
    salt: &[u8],
    stored: Option<&Stored>,
) -> Result<usize, Vec<Diagnostic>> {
    let put = |path: &str, bytes: Vec<u8>| -> Result<(), Diagnostic> {
        let path = format!("{BUNDLE_DIR}/{path}");
        sink.put_owned(&path, bytes, None).map_err(|e| {
            Diagnostic::error(&path, None, format!("cannot write: {e}"))
                .with_hint("check that the output folder is writable and the disk is not full")
        })
    };
    let documents = Documents { index };
    let keys = documents.keys();
    let (blocks, block_sizes) = documents.blocks(memo, &keys);
    // A memo's vocabulary is the one its analyses name ids of: the stored
    // one when its first build had one (serve's), and stored analyses are
    // used only with the vocabulary they were made with.
    let vocabulary = memo.get_or_shared("search-vocabulary", memo::key(&[]), || {
        stored.map_or_else(|| Arc::new(Vocabulary::new()), |s| s.vocabulary.clone())
    });
    let stored = stored.filter(|s| Arc::ptr_eq(&s.vocabulary, &vocabulary));
    let context = BlockContext {
        documents: &documents,
        vocabulary: &vocabulary,
        sink,
        memo,
        keys: &keys,
        salt,
        stored,
    };
    let (merged, kept_runs) = analyse_all(&context, &blocks)?;

    // The vocabulary and the postings, sorted, cut into shards by prefix.
    let Merged {
        mut postings,
        lengths,
        languages,
        pairs,
    } = merged;
    let stems = lock(&vocabulary.stems);
    if let Some(stored) = stored {
        // Ids of words no document has any more are never given back:
        // past twice what is used, the next build starts a vocabulary afresh.
        let used = pairs.iter().filter(|used| **used).count();
        *lock(&stored.made) = Some(Made {
            runs: kept_runs,
            stale: stems.pair_list.len() > 2 * used + 4096,
        });
    }
    let mut words: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (pair, _) in pairs.iter().enumerate().filter(|(_, used)| **used) {
        let (word, stem) = &stems.pair_list[pair];
        words
            .entry(word)
            .or_default()
            .insert(&stems.names[*stem as usize]);
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(words.len() + stems.names.len());
    for (word, set) in &words {
        entries.push(Entry {
            key: word,
            value: word_value(word, set),
            stem: false,
        });
    }
    for (_, text) in &mut postings {
        text.push(']');
    }
    for (name, (_, text)) in stems.names.iter().zip(&postings) {
        if text.len() < 2 {
            continue; // no postings (every stem met is some document's)
        }
        entries.push(Entry {
            key: name,
            value: Cow::Borrowed(text),
            stem: true,
        });
    }
    entries.sort_by(|a, b| a.key.cmp(b.key).then(a.stem.cmp(&b.stem)));
    let shards = shard(&entries);
    let errors: Vec<Diagnostic> = shards
        .par_iter()
        .filter_map(|(key, range)| {
            let text = shard_json(&entries[range.clone()]);
            put(
                &format!("terms/{}.json", shard_file(key)),
                text.into_bytes(),
            )
            .err()
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }

    // What ranking needs of every document, and where everything is.
    let mut kinds = Vec::new();
    let mut average = BTreeMap::new();
    let mut first = 0;
    for ((kind, n), block) in documents.counts().into_iter().zip(block_sizes) {
        kinds.push((kind.name(), n, block));
        if n > 0 {
            let total: u64 = lengths[first..first + n].iter().map(|&l| l as u64).sum();
            average.insert(kind.name(), (total as f64 / n as f64 * 10.0).round() / 10.0);
        }
        first += n;
    }
    let meta = Meta {
        version: FORMAT_VERSION,
        documents: lengths.len(),
        kinds,
        average,
        languages,
        shards: shards.iter().map(|(k, _)| k.as_str()).collect(),
        lengths,
    };
    let bytes = serde_json::to_vec(&meta).map_err(|e| vec![unserializable(e)])?;
    put("meta.json", bytes).map_err(|d| vec![d])?;
    Ok(blocks.len() + shards.len() + 1)
}

fn unserializable(e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(BUNDLE_DIR, None, format!("cannot serialize: {e}"))
        .with_hint("this is a bug in dossier; please report it")
}

/// Analyses every document in parallel, a block at a time, writing the
/// blocks' fragments; merges the postings of a chunk of blocks while the
/// next chunk is analysed.
fn analyse_all<'a>(
    context: &BlockContext<'a, '_>,
    blocks: &[Block],
) -> Result<(Merged<'a>, Vec<memo::Key>), Vec<Diagnostic>> {
    let mut chunks: Vec<&[Block]> = Vec::new();
    let mut rest = blocks;
    while !rest.is_empty() {
        let mut docs = 0;
        let take = rest
            .iter()
            .take_while(|b| {
                docs += b.docs.len();
                docs <= CHUNK
            })
            .count()
            .max(1);
        chunks.push(&rest[..take]);
        rest = &rest[take..];
    }
    if context.memo.is_on() {
        // The memo keeps what serve reuses; nothing is kept on disk.
        return Ok((analyse_in_runs(context, blocks)?, Vec::new()));
    }
    let mut merged = Merged::default();
    let mut keeper = context
        .stored
        .map(|stored| Keeper::new(context.keys, stored));
    let mut pending: Option<Vec<Analysed>> = None;
    let mut take = |analysed: Vec<Analysed<'a>>, merged: &mut Merged<'a>| {
        if let Some(keeper) = &mut keeper {
            keeper.take(&analysed, context.keys);
        }
        merged.add(analysed)
    };
    for chunk in chunks {
        let (analysed, done) = rayon::join(
            || {
                chunk
                    .par_iter()
                    .map(|block| write_block(context, block))
                    .collect()
            },
            || pending.take().map_or(Ok(()), |a| take(a, &mut merged)),
        );
        done?;
        pending = Some(analysed);
    }
    if let Some(analysed) = pending {
        take(analysed, &mut merged)?;
    }
    Ok((merged, keeper.map(|k| k.kept).unwrap_or_default()))
}

// ---- analyses kept between builds ------------------------------------------------

/// The analyses one `dossier build` keeps on disk for the next (the files
/// are [`crate::cache`]'s), a file a run of documents (see [`runs`]), so a
/// new article makes one file anew. They name stems and words by their ids
/// in one vocabulary, kept beside them, which only grows: an id once given
/// keeps its meaning. Each build that makes the index is a *generation*:
/// its runs' files name it, and the vocabulary lists the generations that
/// grew it, so a run is read only with the ids it was made with (not with
/// those another build running at the same time gave other words, nor
/// after a build killed before it wrote the vocabulary). Nothing written
/// depends on the ids.
pub struct Stored {
    /// This build's generation: what its runs' files are written under.
    pub generation: String,
    /// The generations whose runs this vocabulary can read.
    history: Vec<String>,
    vocabulary: Arc<Vocabulary>,
    /// Analyses read, by document key.
    found: HashMap<memo::Key, Arc<Analysis>, Fx>,
    /// The runs whose file was read.
    runs_found: HashSet<memo::Key>,
    /// Writes a run's file: as soon as the run is analysed, so that the
    /// build does not hold every analysis until its end.
    write_run: RunWriter,
    /// Documents this build analysed: not found, or found unreadable.
    analysed: std::sync::atomic::AtomicUsize,
    made: Mutex<Option<Made>>,
}

/// What a build that made the index leaves to keep.
struct Made {
    runs: Vec<memo::Key>,
    /// The vocabulary holds too many words no document has.
    stale: bool,
}

/// Keeps a run's analyses: its key, and its bytes.
pub type RunWriter = Box<dyn Fn(&memo::Key, &[u8]) + Send + Sync>;

/// The vocabulary as kept: stem names by id, (folded word, stem id) pairs
/// by id, and the generations that made it.
type StoredVocabulary = (Vec<Box<str>>, Vec<(Box<str>, u32)>, Vec<String>);

/// What [`Stored::kept`] hands the cache to write.
pub struct ToKeep {
    /// The vocabulary, this build's generation added.
    pub vocabulary: Vec<u8>,
    /// Every run of the build (the new ones' files are written).
    pub runs: Vec<memo::Key>,
}

impl Stored {
    /// Nothing kept yet: a new vocabulary.
    pub fn fresh() -> Stored {
        Stored {
            generation: new_generation(),
            history: Vec::new(),
            vocabulary: Arc::new(Vocabulary::new()),
            found: HashMap::default(),
            runs_found: HashSet::new(),
            write_run: Box::new(|_, _| {}),
            analysed: Default::default(),
            made: Mutex::new(None),
        }
    }

    /// What earlier builds kept: the vocabulary's bytes, and each run's key,
    /// generation and bytes. None when the vocabulary cannot be read; a run
    /// of a generation the vocabulary does not list, or that cannot be
    /// read, or names ids the vocabulary has not, is left out.
    pub fn read(vocabulary: &[u8], runs: Vec<(memo::Key, String, Vec<u8>)>) -> Option<Stored> {
        let (names, pair_list, history): StoredVocabulary =
            postcard::from_bytes(vocabulary).ok()?;
        if pair_list
            .iter()
            .any(|(_, stem)| *stem as usize >= names.len())
        {
            return None;
        }
        let read = (names.len(), pair_list.len());
        let valid = |a: &Analysis| {
            a.pairs.iter().all(|&p| (p as usize) < read.1)
                && a.stems.iter().all(|&(stem, from, to)| {
                    (stem as usize) < read.0 && a.text.get(from as usize..to as usize).is_some()
                })
        };
        let decoded: Vec<(memo::Key, Vec<(memo::Key, Analysis)>)> = runs
            .into_par_iter()
            .filter(|(_, generation, _)| history.contains(generation))
            .filter_map(|(run, _, bytes)| {
                let analyses: Vec<(memo::Key, Analysis)> = postcard::from_bytes(&bytes).ok()?;
                analyses
                    .iter()
                    .all(|(_, a)| valid(a))
                    .then_some((run, analyses))
            })
            .collect();
        let mut stems = Stems::default();
        for (id, name) in (0u32..).zip(&names) {
            stems.ids.insert(name.clone(), id);
        }
        for (id, pair) in (0u32..).zip(&pair_list) {
            stems.pairs.insert(pair.clone(), id);
        }
        (stems.names, stems.pair_list) = (names, pair_list);
        let vocabulary = Vocabulary {
            stems: Mutex::new(stems),
            ..Vocabulary::new()
        };
        let mut found = HashMap::default();
        let mut runs_found = HashSet::new();
        for (run, analyses) in decoded {
            runs_found.insert(run);
            found.extend(analyses.into_iter().map(|(key, a)| (key, Arc::new(a))));
        }
        Some(Stored {
            generation: new_generation(),
            history,
            vocabulary: Arc::new(vocabulary),
            found,
            runs_found,
            write_run: Box::new(|_, _| {}),
            analysed: Default::default(),
            made: Mutex::new(None),
        })
    }

    /// How many documents this build analysed (the others' analyses were
    /// read).
    pub fn analysed(&self) -> usize {
        self.analysed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How the runs this build analyses anew are kept: `write` gets a
    /// run's key and bytes.
    pub fn keep_runs_with(&mut self, write: RunWriter) {
        self.write_run = write;
    }

    /// What to keep after a build that made the index: None when it did
    /// not (nothing changed), `Some(None)` when the vocabulary is to be
    /// started afresh.
    pub fn kept(&self) -> Option<Option<ToKeep>> {
        let made = lock(&self.made).take()?;
        if made.stale {
            return Some(None);
        }
        let stems = lock(&self.vocabulary.stems);
        let mut history = self.history.clone();
        history.push(self.generation.clone());
        let vocabulary =
            postcard::to_stdvec(&(&stems.names, &stems.pair_list, &history)).unwrap_or_default();
        Some(Some(ToKeep {
            vocabulary,
            runs: made.runs,
        }))
    }
}

/// A name no other build's generation has.
fn new_generation() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = format!("{now:?} {}", std::process::id());
    blake3::hash(seed.as_bytes()).to_hex()[..16].to_string()
}

/// Follows the documents analysed, in order, and encodes each run's
/// analyses once the run is whole, unless its file was read.
struct Keeper<'s> {
    stored: &'s Stored,
    runs: Vec<std::ops::Range<usize>>,
    next: usize,
    pending: Vec<(memo::Key, Arc<Analysis>)>,
    kept: Vec<memo::Key>,
}

impl<'s> Keeper<'s> {
    fn new(keys: &[memo::Key], stored: &'s Stored) -> Keeper<'s> {
        Keeper {
            stored,
            runs: runs(keys),
            next: 0,
            pending: Vec::new(),
            kept: Vec::new(),
        }
    }

    fn take(&mut self, analysed: &[Analysed], keys: &[memo::Key]) {
        for (start, docs) in analysed.iter().flatten() {
            for (n, (analysis, _)) in (*start..).zip(docs) {
                self.pending.push((keys[n], analysis.clone()));
                let Some(run) = self.runs.get(self.next) else {
                    continue;
                };
                if n + 1 < run.end {
                    continue;
                }
                let parts: Vec<&[u8]> = keys[run.clone()].iter().map(|k| &k[..]).collect();
                let key = memo::key(&parts);
                if !self.stored.runs_found.contains(&key) {
                    let analyses: Vec<(&memo::Key, &Analysis)> =
                        self.pending.iter().map(|(k, a)| (k, &**a)).collect();
                    if let Ok(bytes) = postcard::to_stdvec(&analyses) {
                        (self.stored.write_run)(&key, &bytes);
                    }
                }
                self.kept.push(key);
                self.pending.clear();
                self.next += 1;
            }
        }
    }
}

/// Documents a run holds on average (see [`Run`]).
const RUN: u16 = 512;

/// As [`analyse_all`], for a build that keeps its results (`dossier
/// serve`): the documents' postings are merged a run of documents at a
/// time, and a run whose documents did not change is taken from the memo,
/// so one new article re-merges one run instead of every document.
fn analyse_in_runs<'a>(
    context: &BlockContext<'a, '_>,
    blocks: &[Block],
) -> Result<Merged<'a>, Vec<Diagnostic>> {
    let analysed: Vec<Analysed> = blocks
        .par_iter()
        .map(|block| write_block(context, block))
        .collect();
    let mut documents = Vec::with_capacity(context.keys.len());
    let mut errors = Vec::new();
    for block in analysed {
        match block {
            Ok((_, docs)) => documents.extend(docs),
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let runs = runs(context.keys);
    let merged_runs: Vec<Arc<Run>> = runs
        .par_iter()
        .map(|range| {
            let keys: Vec<&[u8]> = context.keys[range.clone()].iter().map(|k| &k[..]).collect();
            context.memo.get_or("search-run", memo::key(&keys), || {
                Run::of(documents[range.clone()].iter().map(|(a, _)| &**a))
            })
        })
        .collect();
    let mut merged = Merged::default();
    merged.reserve_for(&merged_runs);
    for (range, run) in runs.iter().zip(&merged_runs) {
        merged.add_run(range.start as u32, run);
    }
    merged
        .languages
        .extend(documents.iter().map(|(_, language)| *language));
    Ok(merged)
}

/// Consecutive documents cut into runs where a document's key says so
/// (about one in [`RUN`]): a document added or changed changes the run it
/// is in, and the runs around it stay what they were.
fn runs(keys: &[memo::Key]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    for (n, key) in keys.iter().enumerate() {
        let ends_here = u16::from_le_bytes([key[0], key[1]]) % RUN == 0;
        if ends_here || n + 1 - start >= 4 * RUN as usize || n + 1 == keys.len() {
            runs.push(start..n + 1);
            start = n + 1;
        }
    }
    runs
}

/// The merged postings of a run of consecutive documents, numbered from
/// the run's first: by stem, the first and last document having it and
/// `tf,n,paragraph…` of the first followed by `,delta,tf,n,paragraph…` of
/// each other, as [`Merged`] writes them.
struct Run {
    /// (stem, first document, last document, range of `text`).
    stems: Vec<(u32, u32, u32, u32, u32)>,
    text: String,
    lengths: Vec<u32>,
    /// The (word, stem) pairs its documents have, each once.
    pairs: Vec<u32>,
}

impl Run {
    fn of<'x>(analyses: impl Iterator<Item = &'x Analysis>) -> Run {
        let mut by_stem: HashMap<u32, (u32, u32, String), Fx> = HashMap::default();
        let mut lengths = Vec::new();
        let mut pairs = Vec::new();
        for (n, analysis) in (0u32..).zip(analyses) {
            lengths.push(analysis.length);
            pairs.extend_from_slice(&analysis.pairs);
            for &(stem, from, to) in &analysis.stems {
                let postings = &analysis.text[from as usize..to as usize];
                match by_stem.entry(stem) {
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert((n, n, postings.to_string()));
                    }
                    std::collections::hash_map::Entry::Occupied(mut e) => {
                        let (_, last, text) = e.get_mut();
                        text.push(',');
                        push_number(text, n - *last);
                        *last = n;
                        text.push(',');
                        text.push_str(postings);
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut text = String::with_capacity(by_stem.values().map(|(_, _, t)| t.len()).sum());
        let stems = by_stem
            .into_iter()
            .map(|(stem, (first, last, postings))| {
                let from = text.len() as u32;
                text.push_str(&postings);
                (stem, first, last, from, text.len() as u32)
            })
            .collect();
        Run {
            stems,
            text,
            lengths,
            pairs,
        }
    }
}

/// What every block is analysed and written with.
struct BlockContext<'a, 's> {
    documents: &'s Documents<'a>,
    vocabulary: &'s Vocabulary,
    sink: &'s dyn Sink,
    memo: &'s Memo,
    /// By document: see [`Documents::keys`].
    keys: &'s [memo::Key],
    salt: &'s [u8],
    stored: Option<&'s Stored>,
}

/// The analyses of a block's documents (from the first on), and their languages.
type Analysed<'a> = Result<(usize, Vec<(Arc<Analysis>, &'a str)>), Diagnostic>;

/// Analyses a block of documents and writes their fragments' file. A
/// document is made only when needed: a memo (`dossier serve`) keeps the
/// analyses of documents whose key an earlier build met, and a fragment
/// file whose key the live site's file was written from is kept as it is.
fn write_block<'a>(context: &BlockContext<'a, '_>, block: &Block) -> Analysed<'a> {
    let BlockContext {
        documents,
        vocabulary,
        sink,
        memo,
        keys,
        salt,
        stored,
    } = context;
    let made: Vec<std::cell::OnceCell<Document>> =
        block.docs.clone().map(|_| Default::default()).collect();
    let doc = |i: usize| made[i].get_or_init(|| documents.get(block.docs.start + i));
    let analysed: Vec<Arc<Analysis>> = block
        .docs
        .clone()
        .enumerate()
        .map(|(i, n)| {
            memo.get_or_shared("search-analysis", keys[n], || {
                if let Some(stored) = stored {
                    if let Some(found) = stored.found.get(&keys[n]) {
                        return found.clone();
                    }
                    stored
                        .analysed
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Arc::new(analyse(doc(i), vocabulary))
            })
        })
        .collect();

    let path = format!(
        "{BUNDLE_DIR}/docs/{}/{}.json",
        block.kind.name(),
        block.file
    );
    let mut parts: Vec<Vec<u8>> = vec![salt.to_vec(), block.kind.name().into()];
    for n in block.docs.clone() {
        parts.push(keys[n].to_vec());
        parts.push(documents.url(n).into_bytes());
    }
    let key = memo::key(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let io_error = |e: std::io::Error| {
        Diagnostic::error(&path, None, format!("cannot write: {e}"))
            .with_hint("check that the output folder is writable and the disk is not full")
    };
    if !sink.reuse(&path, &hex).map_err(io_error)? {
        let serialize = || {
            let fragments: Vec<Fragment> = analysed
                .iter()
                .enumerate()
                .map(|(i, analysis)| {
                    let doc = doc(i);
                    let passages = doc.paragraphs.iter();
                    let (anchors, paragraphs) = match doc.kind {
                        Kind::Article => {
                            (Some(passages.map(|p| p.anchor.as_ref()).collect()), None)
                        }
                        _ => (
                            None,
                            Some(
                                passages
                                    .map(|p| [p.anchor.as_ref(), p.text.as_ref()])
                                    .collect(),
                            ),
                        ),
                    };
                    Fragment {
                        url: &doc.url,
                        kind: doc.kind.name(),
                        title: doc.title,
                        date: doc.date,
                        language: doc.language,
                        anchors,
                        paragraphs,
                        aliases: &analysis.aliases,
                    }
                })
                .collect();
            serde_json::to_vec(&fragments).map_err(|e| e.to_string())
        };
        // Not kept in the memo: an unchanged block keeps the live site's
        // file by its key (above), so only changed blocks come here.
        let bytes = serialize().map_err(unserializable)?;
        sink.put_owned(&path, bytes, Some(&hex)).map_err(io_error)?;
    }
    let languages = block.docs.clone().map(|n| documents.language(n));
    Ok((
        block.docs.start,
        analysed.into_iter().zip(languages).collect(),
    ))
}

/// The postings of the documents analysed so far, in document order.
#[derive(Default)]
struct Merged<'a> {
    /// By stem id: the last document, and `[doc delta,tf,n,paragraph…,…`
    /// for each document (the closing bracket comes last).
    postings: Vec<(u32, String)>,
    lengths: Vec<u32>,
    languages: BTreeSet<&'a str>,
    /// By (folded word, stem) pair id: whether a document has it.
    pairs: Vec<bool>,
}

impl<'a> Merged<'a> {
    /// Adds the analyses of blocks of documents, in order.
    fn add(&mut self, blocks: Vec<Analysed<'a>>) -> Result<(), Vec<Diagnostic>> {
        let mut errors = Vec::new();
        for block in blocks {
            let (start, analysed) = match block {
                Ok(block) => block,
                Err(d) => {
                    errors.push(d);
                    continue;
                }
            };
            for (n, (analysis, language)) in (start as u32..).zip(analysed) {
                self.languages.insert(language);
                self.lengths.push(analysis.length);
                for &pair in &analysis.pairs {
                    let pair = pair as usize;
                    if self.pairs.len() <= pair {
                        self.pairs.resize(pair + 1, false);
                    }
                    self.pairs[pair] = true;
                }
                for &(stem, from, to) in &analysis.stems {
                    let stem = stem as usize;
                    if self.postings.len() <= stem {
                        self.postings.resize_with(stem + 1, || (0, String::new()));
                    }
                    let (previous, text) = &mut self.postings[stem];
                    text.push(if text.is_empty() { '[' } else { ',' });
                    push_number(text, n - *previous);
                    *previous = n;
                    text.push(',');
                    text.push_str(&analysis.text[from as usize..to as usize]);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Makes room for the postings of `runs` at once: each stem's text
    /// would otherwise grow run by run (a rebuild in serve spent ~8 ms of
    /// ~50 reallocating them at 10,000 articles).
    fn reserve_for(&mut self, runs: &[Arc<Run>]) {
        let mut sizes: Vec<usize> = Vec::new();
        for run in runs {
            for &(stem, _, _, from, to) in &run.stems {
                let stem = stem as usize;
                if sizes.len() <= stem {
                    sizes.resize(stem + 1, 0);
                }
                // The run's text, its first document's delta (at most ten
                // digits) and the separators; the closing bracket once.
                sizes[stem] += (to - from) as usize + 12;
            }
        }
        if self.postings.len() < sizes.len() {
            self.postings
                .resize_with(sizes.len(), || (0, String::new()));
        }
        for ((_, text), size) in self.postings.iter_mut().zip(sizes) {
            text.reserve_exact(size + 1);
        }
    }

    /// Adds a run of documents, the first of which is document `start`.
    /// The same postings as [`Merged::add`] of its documents.
    fn add_run(&mut self, start: u32, run: &Run) {
        self.lengths.extend_from_slice(&run.lengths);
        for &pair in &run.pairs {
            let pair = pair as usize;
            if self.pairs.len() <= pair {
                self.pairs.resize(pair + 1, false);
            }
            self.pairs[pair] = true;
        }
        for &(stem, first, last, from, to) in &run.stems {
            let stem = stem as usize;
            if self.postings.len() <= stem {
                self.postings.resize_with(stem + 1, || (0, String::new()));
            }
            let (previous, text) = &mut self.postings[stem];
            text.push(if text.is_empty() { '[' } else { ',' });
            push_number(text, start + first - *previous);
            *previous = start + last;
            text.push(',');
            text.push_str(&run.text[from as usize..to as usize]);
        }
    }
}

/// A word of the vocabulary or a stem's postings, as a shard holds it.
struct Entry<'a> {
    key: &'a str,
    /// JSON: the stem (see [`word_value`]), or the postings array.
    value: Cow<'a, str>,
    stem: bool,
}

/// A word's stems as JSON: the number of letters to cut off the word when
/// the stem is a prefix of it, else the stem; a list when several.
fn word_value(word: &str, stems: &BTreeSet<&str>) -> Cow<'static, str> {
    let one = |stem: &str| -> String {
        match word.strip_prefix(stem) {
            Some(rest) => rest.chars().count().to_string(),
            None => serde_json::to_string(stem).unwrap_or_default(),
        }
    };
    if stems.len() == 1 {
        Cow::Owned(one(stems.iter().next().copied().unwrap_or_default()))
    } else {
        let all: Vec<String> = stems.iter().map(|s| one(s)).collect();
        Cow::Owned(format!("[{}]", all.join(",")))
    }
}

fn push_number(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// Shard keys and the ranges of `entries` (sorted by key) they hold: one
/// shard for all, split by one more letter of the key while bigger than
/// [`SHARD_BYTES`], up to keys of [`MAX_KEY_LETTERS`] (entries whose key is
/// shorter stay in the shard of their whole key).
fn shard(entries: &[Entry]) -> Vec<(String, std::ops::Range<usize>)> {
    fn prefix(key: &str, chars: usize) -> &str {
        match key.char_indices().nth(chars) {
            Some((at, _)) => &key[..at],
            None => key,
        }
    }
    fn split(
        entries: &[Entry],
        offset: usize,
        depth: usize,
        out: &mut Vec<(String, std::ops::Range<usize>)>,
    ) {
        // Entries here share their first `depth` letters (or are shorter).
        let mut at = 0;
        while at < entries.len() {
            let key = prefix(entries[at].key, depth);
            let end = at
                + entries[at..]
                    .iter()
                    .take_while(|e| prefix(e.key, depth) == key)
                    .count();
            let group = &entries[at..end];
            let size: usize = group.iter().map(|e| e.key.len() + e.value.len() + 4).sum();
            let longer = group.iter().position(|e| e.key.len() > key.len());
            match longer {
                Some(first)
                    if size > SHARD_BYTES
                        && depth < MAX_KEY_LETTERS
                        && key.chars().count() == depth =>
                {
                    // Entries equal to the key stay in its own shard.
                    if first > 0 {
                        out.push((key.to_string(), offset + at..offset + at + first));
                    }
                    split(&group[first..], offset + at + first, depth + 1, out);
                }
                _ => out.push((key.to_string(), offset + at..offset + end)),
            }
            at = end;
        }
    }
    let mut out = Vec::new();
    split(entries, 0, 0, &mut out);
    out
}

/// The file name of a shard key: `a-z 0-9` as they are, other letters as
/// `_HEX_` (their code point); `_` for the empty key (a small index's only
/// shard).
pub fn shard_file(key: &str) -> String {
    if key.is_empty() {
        return "_".to_string();
    }
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else {
            out.push_str(&format!("_{:x}_", c as u32));
        }
    }
    out
}

fn shard_json(entries: &[Entry]) -> String {
    let size: usize = entries
        .iter()
        .map(|e| e.key.len() + e.value.len() + 4)
        .sum();
    let mut out = String::with_capacity(size + 32);
    for (name, stem) in [("words", false), ("stems", true)] {
        out.push_str(if stem { ",\"" } else { "{\"" });
        out.push_str(name);
        out.push_str("\":{");
        let mut first = true;
        for e in entries.iter().filter(|e| e.stem == stem) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&serde_json::to_string(e.key).unwrap_or_default());
            out.push(':');
            out.push_str(&e.value);
        }
        out.push('}');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::{Paragraph, ParagraphKind};

    #[test]
    fn folding_makes_diacritics_and_their_spellings_one() {
        for (a, b) in [
            ("kärnvapen", "karnvapen"),
            ("kärnvapen", "kaernvapen"),
            ("Kärnvapen", "KAERNVAPEN"),
            ("atomvåpen", "atomvapen"),
            ("atomvåpen", "atomvaapen"),
            ("Grüße", "gruesse"),
            ("Größe", "groesse"),
            ("sjø", "sjoe"),
            ("sjø", "sjo"),
            ("æble", "aeble"),
            ("café", "cafe"),
        ] {
            assert_eq!(fold(a), fold(b), "{a} / {b}");
        }
        assert_eq!(fold("Kärnvapen"), "karnvapen");
        assert_eq!(fold("Iskander"), "iskander");
        assert_eq!(fold("Grüße"), "grusse");
        assert_eq!(fold("Лукашенко"), "лукашенко");
        assert_ne!(fold("Iskander"), fold("Iskender"));
    }

    /// The folded stem the index gives a word in a language.
    fn stem(language: &str, word: &str) -> String {
        let vocabulary = Vocabulary::new();
        let (id, _) = vocabulary.stem_id(slot(language), &word.to_lowercase());
        lock(&vocabulary.stems).names[id as usize].to_string()
    }

    #[test]
    fn stems_per_language() {
        assert_eq!(stem("sv", "kärnvapen"), "karnvap");
        assert_eq!(stem("sv", "regeringen"), "regering");
        assert_eq!(stem("nb", "atomvåpen"), "atomvap");
        assert_eq!(stem("nb", "atomvåpnene"), "atomvapn");
        assert_eq!(stem("de", "Atomwaffen"), "atomwaff");
        assert_eq!(stem("de", "Atomwaffe"), "atomwaff");
        assert_eq!(stem("da", "missilsystemer"), "missilsystem");
        assert_eq!(stem("da", "missilsystem"), "missilsystem");
        assert_eq!(stem("en", "weapons"), "weapon");
        assert_eq!(stem("no", "våpnene"), stem("nb", "våpnene"));
        assert_eq!(stem("pt-BR", "governos"), stem("pt", "governos"));
        assert_ne!(slot("pt-BR"), 0);
        assert_eq!(stem("xx", "Kärnvapen"), "karnvapen", "no stemmer: folded");
        assert_eq!(slot("nb"), slot("nn"));
        assert_eq!(slot("und"), 0);
        assert_ne!(slot("da"), 0);
    }

    /// Each of `inputs` as `static/search.js` sees it, run by node:
    /// `fold(input)`, and the words of `queryWords(input)`. None when node is
    /// missing and DOSSIER_SKIP_BROWSER=1 allows doing without (as for the
    /// browser tests).
    fn in_search_js(inputs: &[String]) -> Option<Vec<(String, Vec<String>)>> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        const SCRIPT: &str = include_str!("../static/search.js");
        let function = |name: &str| {
            let from = SCRIPT
                .find(&format!("\nfunction {name}("))
                .unwrap_or_else(|| panic!("search.js has no function {name}"));
            let to = from + SCRIPT[from..].find("\n}\n").expect("the function's end") + 3;
            &SCRIPT[from..to]
        };
        let word = SCRIPT
            .lines()
            .find(|l| l.starts_with("const WORD ="))
            .expect("search.js has const WORD");
        let program = format!(
            "{word}\n{}{}\n\
             const inputs = JSON.parse(require(\"fs\").readFileSync(0, \"utf8\"));\n\
             process.stdout.write(JSON.stringify(inputs.map((t) => [fold(t), queryWords(t)])));",
            function("fold"),
            function("queryWords"),
        );
        let child = Command::new("node")
            .args(["-e", &program])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match child {
            Err(e) if std::env::var("DOSSIER_SKIP_BROWSER").is_ok_and(|v| v == "1") => {
                eprintln!("search.js not run (node: {e}; DOSSIER_SKIP_BROWSER=1)");
                return None;
            }
            Err(e) => panic!(
                "node: {e}; install node, or set DOSSIER_SKIP_BROWSER=1 to skip the tests that need it"
            ),
            Ok(child) => child,
        };
        let input = serde_json::to_vec(inputs).unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "node failed: {}", output.status);
        Some(serde_json::from_slice(&output.stdout).expect("node's JSON"))
    }

    /// What the index makes of a text: `fold(text)`, and its words folded,
    /// each once (as `queryWords` gives them). Text reaches the index NFC
    /// (`load::clean_text`); `queryWords` makes the query NFC itself.
    fn in_index(text: &str) -> (String, Vec<String>) {
        let nfc: String = text.nfc().collect();
        let mut words: Vec<String> = Vec::new();
        for_each_word(&nfc, &mut String::new(), |w| {
            let folded = fold(w);
            if !folded.is_empty() && !words.contains(&folded) {
                words.push(folded);
            }
        });
        (fold(text), words)
    }

    #[test]
    fn search_js_folds_and_cuts_words_as_the_index_does() {
        let inputs: Vec<String> = [
            "Kärnvapen KAERNVAPEN kaernvapen atomvåpen Atomvaapen Grüße GRÜSSE Größe ẞ",
            "sjø Sjoe Æble Œuvre Đorđević Łódź Þór Ðiðrik café CAFÉ naïve",
            "queen aee Haaland uee oeoe aaa",
            "İstanbul'da İSTANBUL ISPARTA ıspanak",
            "ΟΔΟΣ Οδός ΣΊΣΥΦΟΣ Σίσυφος ΟΔΟΣ'Α ΟΔΟΣ.ΑΘΗΝΑ σ Σ",
            "ЛУКАШЕНКО Лукашенко йод Їжак Ёлка",
            "Kernwaffensperrvertrag Donaudampfschifffahrtsgesellschaftskapitän",
            "S-400 ½ ² ٣ १२ x2",
            "مُحَمَّد שָׁלוֹם हिन्दी தமிழ் ภาษาไทย",
            "北京 東京都 ﾃｽﾄ 한국어 ﬁnance ＡＢＣ ǅemal ǈ",
            "Tiếng Việt Đà Nẵng e\u{301}te",
            "👍🏽 test 𐐀𐐨 ᲒᲔᲝᲠᲒᲘᲐ Երևան ԵՎ ᏣᎳᎩ",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let Some(js) = in_search_js(&inputs) else {
            return;
        };
        for (input, js) in inputs.iter().zip(js) {
            assert_eq!(in_index(input), js, "{input:?}: search.rs, then search.js");
        }
    }

    #[test]
    fn words_are_cut_as_the_lexicon_cuts_them() {
        let text =
            "Lukasjenko's S-400 i Minsk: «Atomwaffen» – ÖVERGÅNG Σίσυφος ΟΔΟΣ İstanbul ǅemal x2";
        let mut buffer = String::new();
        let mut ours = Vec::new();
        for_each_word(text, &mut buffer, |w| ours.push(w.to_string()));
        assert_eq!(ours, crate::lexicon::words(text));
        let long = format!("kurz {} lang", "a".repeat(MAX_WORD_BYTES + 1));
        let mut ours = Vec::new();
        for_each_word(&long, &mut buffer, |w| ours.push(w.to_string()));
        assert_eq!(ours, ["kurz", "lang"], "overlong words are left out");
    }

    #[test]
    fn html_text_drops_tags() {
        assert_eq!(
            html_text("<p>Putin &amp; <a href=\"x\">Lukashenko</a></p>\n<p>met</p>"),
            "Putin & Lukashenko met"
        );
        // Inline tags are inside words, block tags between them; a `>` in
        // an attribute is not the tag's end.
        assert_eq!(
            html_text(
                "<p><strong>Atom</strong>waffen <a href=\"x\" title=\"a &gt; b > c\">Minsk</a></p><p>met<br>in &lt;Juni&gt;</p>"
            ),
            "Atomwaffen Minsk met in <Juni>"
        );
        assert_eq!(html_text("a <b"), "a", "an unclosed tag ends the text");
        assert_eq!(html_text(""), "");
    }

    #[test]
    fn shard_files_are_safe_names() {
        assert_eq!(shard_file("ka"), "ka");
        assert_eq!(shard_file("20"), "20");
        assert_eq!(shard_file("лу"), "_43b__443_");
        assert_eq!(shard_file(""), "_");
    }

    #[derive(Default)]
    struct Memory(Mutex<BTreeMap<String, Vec<u8>>>);

    impl Sink for Memory {
        fn put(&self, path: &str, bytes: &[u8]) -> std::io::Result<()> {
            lock(&self.0).insert(path.to_string(), bytes.to_vec());
            Ok(())
        }
    }

    fn record(id: &str, language: &str, title: &str, paragraphs: &[&str]) -> Record {
        Record {
            id: id.to_string(),
            slug: id.to_string(),
            title: title.to_string(),
            date: Some("2023-05-25".to_string()),
            month: Some("2023-05".to_string()),
            language: language.to_string(),
            language_declared: true,
            entities: vec!["lukashenko".to_string()],
            paragraphs: paragraphs
                .iter()
                .enumerate()
                .map(|(i, t)| Paragraph {
                    id: format!("p{}", i + 1),
                    kind: ParagraphKind::Body,
                    text: t.to_string(),
                    html: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn tiny() -> SiteIndex {
        let records = vec![
            record(
                "a",
                "sv",
                "Kärnvapen i Belarus",
                &["Lukasjenko vill ha kärnvapen.", "Inget om det."],
            ),
            record(
                "b",
                "de",
                "Atomwaffen",
                &[
                    "Lukaschenko sagt nichts.",
                    "Atomwaffen, Atomwaffe, Atomwaffen.",
                ],
            ),
        ];
        let entities = vec![Entity {
            slug: "lukashenko".to_string(),
            name: "Alexander Lukashenko".to_string(),
            kind: "person".to_string(),
            aliases: vec!["Lukasjenko".to_string(), "Lukaschenko".to_string()],
            description: String::new(),
        }];
        SiteIndex::build(
            Config::default(),
            records.into_iter().map(Arc::new).collect(),
            vec![],
            vec![],
            entities,
        )
    }

    fn files(index: &SiteIndex) -> BTreeMap<String, Vec<u8>> {
        let memory = Memory::default();
        let n = write_index(index, &memory, &Memo::off(), b"test", None).expect("index");
        let files = memory.0.into_inner().unwrap();
        assert_eq!(n, files.len());
        files
    }

    fn json(files: &BTreeMap<String, Vec<u8>>, path: &str) -> serde_json::Value {
        let bytes = files
            .get(&format!("{BUNDLE_DIR}/{path}"))
            .unwrap_or_else(|| panic!("no {path} in {:?}", files.keys()));
        serde_json::from_slice(bytes).expect("JSON")
    }

    #[test]
    fn postings_of_a_tiny_index() {
        let index = tiny();
        let files = files(&index);
        let meta = json(&files, "meta.json");
        assert_eq!(meta["version"], FORMAT_VERSION);
        assert_eq!(meta["documents"], 3);
        // Entities, events, articles; small documents: one file holds all
        // of a kind.
        let kinds = &meta["kinds"];
        assert_eq!((&kinds[0][0], &kinds[0][1]), (&"entity".into(), &1.into()));
        assert_eq!(kinds[1], serde_json::json!(["event", 0, 1]));
        assert_eq!(kinds[2][0], "article");
        assert_eq!(kinds[2][1], 2);
        assert!(kinds[2][2].as_u64().unwrap() >= 2, "{kinds}");
        assert_eq!(
            meta["lengths"],
            serde_json::json!([2 + 4, 3 + 4 + 3, 1 + 3 + 3])
        );
        assert_eq!(meta["languages"], serde_json::json!(["de", "en", "sv"]));
        // A small index is one shard.
        assert_eq!(meta["shards"], serde_json::json!([""]));
        let all = json(&files, "terms/_.json");

        let ka = &all;
        // kärnvapen (sv): stem karnvap, 2 letters cut; in doc 1's title and
        // paragraph 1, twice in all.
        assert_eq!(ka["words"]["karnvapen"], 2);
        assert_eq!(ka["stems"]["karnvap"], serde_json::json!([1, 2, 2, 0, 1]));
        let at = &all;
        assert_eq!(at["words"]["atomwaffen"], 2);
        assert_eq!(at["words"]["atomwaffe"], 1);
        // Doc 2: title once, paragraph 2 three times.
        assert_eq!(at["stems"]["atomwaff"], serde_json::json!([2, 4, 2, 0, 2]));

        // Every name of the entity is a hidden word of the paragraphs that
        // name it, as written or not: doc 0 (the entity) has it in its
        // title, docs 1 and 2 in their paragraph 1.
        let lu = &all;
        assert_eq!(lu["words"]["lukashenko"], 0);
        assert_eq!(
            lu["stems"]["lukashenko"],
            serde_json::json!([0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1])
        );
        assert_eq!(
            lu["stems"]["lukasjenko"],
            serde_json::json!([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
        );

        let articles = json(&files, "docs/article/0.json");
        let doc = &articles[0];
        assert_eq!(doc["url"], "articles/a/");
        assert_eq!(doc["kind"], "article");
        assert_eq!(doc["title"], "Kärnvapen i Belarus");
        assert_eq!(doc["language"], "sv");
        assert_eq!(doc["anchors"], serde_json::json!(["p1", "p2"]));
        assert!(
            doc.get("paragraphs").is_none(),
            "an article's text is on its page, not in the index"
        );
        assert_eq!(
            doc["aliases"],
            serde_json::json!([["alexander", "lukaschenko", "lukashenko", "lukasjenko"]])
        );
        assert_eq!(articles[1]["url"], "articles/b/");
        let entity = &json(&files, "docs/entity/0.json")[0];
        assert_eq!(entity["kind"], "entity");
        assert_eq!(entity["url"], "entities/lukashenko/");
    }

    #[test]
    fn an_empty_dossier_has_an_empty_index() {
        let index = SiteIndex::build(Config::default(), vec![], vec![], vec![], vec![]);
        let files = files(&index);
        assert_eq!(files.len(), 1, "{:?}", files.keys());
        let meta = json(&files, "meta.json");
        assert_eq!(meta["documents"], 0);
        assert_eq!(meta["shards"], serde_json::json!([]));
        assert_eq!(meta["lengths"], serde_json::json!([]));
    }

    #[test]
    fn long_words_other_scripts_and_documents_without_words() {
        // Words of more than 16 bytes are keyed apart from shorter ones
        // (`Ids`); Cyrillic letters take two bytes each.
        let long = "Kernwaffensperrvertrag";
        let records = vec![
            record(
                "ru",
                "ru",
                "Лукашенко",
                &["Лукашенко: нераспространении ядерного оружия.", "ЛУКАШЕНКО"],
            ),
            record(
                "de",
                "de",
                "",
                &["Kernwaffensperrvertrag, Kernwaffensperrverträge.", "— … —"],
            ),
            record("empty", "en", "", &[]),
        ];
        let index = SiteIndex::build(
            Config::default(),
            records.into_iter().map(Arc::new).collect(),
            vec![],
            vec![],
            vec![],
        );
        let files = files(&index);
        let meta = json(&files, "meta.json");
        assert_eq!(meta["lengths"], serde_json::json!([1 + 4 + 1, 2, 0]));
        let all = json(&files, "terms/_.json");
        let postings = |word: &str, language: &str| {
            let word = fold(word);
            assert!(
                all["words"].get(&word).is_some(),
                "{word} in {}",
                all["words"]
            );
            all["stems"][stem(language, &word)].clone()
        };
        // Doc 0: the title and both paragraphs, however written.
        assert_eq!(
            postings("лукашенко", "ru"),
            serde_json::json!([0, 3, 3, 0, 1, 2])
        );
        assert!(long.len() > 16 && "нераспространении".len() > 16);
        assert_eq!(
            postings("нераспространении", "ru"),
            serde_json::json!([0, 1, 1, 1])
        );
        // Doc 1: both forms are one stem, in paragraph 1.
        assert_eq!(postings(long, "de"), serde_json::json!([1, 2, 1, 1]));
        assert_eq!(
            postings("kernwaffensperrverträge", "de"),
            postings(long, "de")
        );
        let empty = &json(&files, "docs/article/0.json")[2];
        assert_eq!(empty["url"], "articles/empty/");
        assert_eq!(empty["anchors"], serde_json::json!([]));
    }

    /// A dossier of `ids`, each article's words its own.
    fn many(ids: impl Iterator<Item = u32>) -> SiteIndex {
        let words = [
            "atom",
            "waffen",
            "kärnvapen",
            "belarus",
            "rakett",
            "minsk",
            "avtal",
        ];
        let records = ids
            .map(|i| {
                let text = format!(
                    "{} {} nummer{} {}",
                    words[i as usize % 7],
                    words[(i as usize / 7) % 7],
                    i % 97,
                    if i % 3 == 0 { "Lukasjenko" } else { "" }
                );
                let mut r = record(
                    &format!("r{i:06}"),
                    ["sv", "de", "nb"][i as usize % 3],
                    &format!("Titel {i}"),
                    &[&text, "Ett stycke till."],
                );
                r.fingerprint = format!("fingerprint {i}");
                Arc::new(r)
            })
            .collect();
        SiteIndex::build(
            Config::default(),
            records,
            vec![],
            vec![],
            tiny().entities.clone(),
        )
    }

    fn files_with(index: &SiteIndex, memo: &Memo) -> BTreeMap<String, Vec<u8>> {
        let memory = Memory::default();
        write_index(index, &memory, memo, b"test", None).expect("index");
        memo.sweep();
        memory.0.into_inner().unwrap()
    }

    /// `serve` merges postings a run of documents at a time, runs kept in
    /// its memo: the same files as merging document by document, before
    /// and after documents are added in the middle and at the start.
    #[test]
    fn postings_merged_by_runs_are_those_merged_by_documents() {
        let memo = Memo::new();
        let first = many(0..3000);
        let keys = Documents { index: &first }.keys();
        assert!(
            runs(&keys).len() >= 3,
            "several runs: {}",
            runs(&keys).len()
        );
        assert_eq!(files_with(&first, &memo), files(&first));
        // One added in the middle (ids sort as numbers: r001500 < r0015001).
        let ids = || (0..3000).map(|i| i * 10);
        let before = many(ids());
        assert_eq!(files_with(&before, &memo), files(&before));
        for added in [15_005, 3] {
            let after = many(ids().chain([added]));
            assert_eq!(files_with(&after, &memo), files(&after), "{added} added");
        }
    }

    /// Runs kept by a `Stored` (generation and bytes, by run key).
    type Disk = Arc<Mutex<BTreeMap<memo::Key, (String, Vec<u8>)>>>;

    /// The index of `index` made with what `disk` kept (as a build reads
    /// it from `.dossier-cache/search/`), and what it keeps in turn.
    fn files_kept(
        index: &SiteIndex,
        disk: &Disk,
        vocabulary: &mut Option<Vec<u8>>,
    ) -> (BTreeMap<String, Vec<u8>>, usize, usize) {
        let runs = lock(disk)
            .iter()
            .map(|(k, (g, b))| (*k, g.clone(), b.clone()))
            .collect();
        let mut stored = match vocabulary.as_ref() {
            Some(bytes) => Stored::read(bytes, runs).expect("readable"),
            None => Stored::fresh(),
        };
        let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (into, count) = (disk.clone(), written.clone());
        let generation = stored.generation.clone();
        stored.keep_runs_with(Box::new(move |key, bytes| {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            lock(&into).insert(*key, (generation.clone(), bytes.to_vec()));
        }));
        let memory = Memory::default();
        write_index(index, &memory, &Memo::off(), b"test", Some(&stored)).expect("index");
        let kept = stored.kept().expect("made").expect("not stale");
        *vocabulary = Some(kept.vocabulary);
        lock(disk).retain(|key, _| kept.runs.contains(key));
        let written = written.load(std::sync::atomic::Ordering::Relaxed);
        (memory.0.into_inner().unwrap(), written, stored.analysed())
    }

    /// `dossier build` takes the analyses of unchanged documents from the
    /// last build's files: the index is the one made afresh, and only the
    /// run holding a new document is analysed and written again.
    #[test]
    fn analyses_kept_on_disk_make_the_index_made_afresh() {
        let disk: Disk = Arc::default();
        let mut vocabulary = None;
        let ids = || (0..3000).map(|i| i * 10);
        let before = many(ids());
        let run_count = |index: &SiteIndex| runs(&Documents { index }.keys()).len();
        assert!(run_count(&before) >= 3, "several runs");
        let (first, written, analysed) = files_kept(&before, &disk, &mut vocabulary);
        assert_eq!(first, files(&before));
        assert_eq!(written, run_count(&before), "every run written once");
        assert_eq!(analysed, 3000 + before.entities.len());
        let (again, written, analysed) = files_kept(&before, &disk, &mut vocabulary);
        assert_eq!(
            (again, written, analysed),
            (first, 0, 0),
            "nothing analysed again"
        );
        for added in [15_005, 3] {
            let after = many(ids().chain([added]));
            let (made, written, analysed) = files_kept(&after, &disk, &mut vocabulary);
            assert_eq!(made, files(&after), "{added} added");
            assert!(
                (1..=2).contains(&written),
                "{added} added: {written} runs written"
            );
            assert_eq!(analysed, 1, "{added} added");
        }
        // The runs no document is in any more are gone.
        assert_eq!(
            lock(&disk).len(),
            run_count(&many(ids().chain([15_005, 3])))
        );
    }

    /// Two builds at once, each giving the next free id to a word of its
    /// own: the runs of the one whose vocabulary was overwritten are not
    /// read with the other's ids, but analysed again; the index is the same.
    #[test]
    fn runs_of_an_overwritten_vocabulary_are_analysed_again() {
        let disk: Disk = Arc::default();
        let mut first = None;
        let ids = || (0..2000).map(|i| i * 10);
        files_kept(&many(ids()), &disk, &mut first);
        let before = lock(&disk).clone();
        // A adds one document, B another, both from what the first left;
        // A's run is on disk beside B's, and B's vocabulary overwrote A's.
        let (a, b) = (many(ids().chain([15_005])), many(ids().chain([3])));
        let mut vocabulary = first.clone();
        files_kept(&a, &disk, &mut vocabulary);
        let a_runs = lock(&disk).clone();
        *lock(&disk) = before;
        let mut vocabulary = first.clone();
        files_kept(&b, &disk, &mut vocabulary);
        lock(&disk).extend(a_runs);
        let (made, _, analysed) = files_kept(&a, &disk, &mut vocabulary);
        assert_eq!(made, files(&a));
        // Its other documents are in runs of the first build's generation.
        assert_eq!(analysed, 1, "the document only A's run held");
    }

    /// A run naming ids its vocabulary lacks is not used, and damaged bytes
    /// read as nothing at all.
    #[test]
    fn a_run_naming_ids_the_vocabulary_lacks_is_analysed_again() {
        let disk: Disk = Arc::default();
        let mut vocabulary = None;
        let index = many((0..2000).map(|i| i * 10));
        let (first, _, _) = files_kept(&index, &disk, &mut vocabulary);
        let (names, pairs, history): StoredVocabulary =
            postcard::from_bytes(&vocabulary.unwrap()).unwrap();
        let keep = names.len() / 2;
        let pairs: Vec<_> = pairs
            .into_iter()
            .filter(|(_, s)| (*s as usize) < keep)
            .collect();
        let fewer = postcard::to_stdvec(&(&names[..keep], &pairs, &history)).unwrap();
        let runs: Vec<_> = lock(&disk)
            .iter()
            .map(|(k, (g, b))| (*k, g.clone(), b.clone()))
            .collect();
        let stored = Stored::read(&fewer, runs.clone()).unwrap();
        assert!(stored.found.len() < index.records.len() + index.events.len());
        let mut cut = Some(fewer);
        let (made, written, analysed) = files_kept(&index, &disk, &mut cut);
        assert_eq!(made, first);
        assert!(written > 0 && analysed > 0);
        assert!(Stored::read(b"\xff\xff", runs).is_none());
    }

    #[test]
    fn output_is_deterministic() {
        let index = tiny();
        let first = files(&index);
        for _ in 0..5 {
            assert_eq!(files(&index), first);
        }
        // Through a thread pool of another size, too.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(7)
            .build()
            .unwrap();
        assert_eq!(pool.install(|| files(&index)), first);
    }

    #[test]
    fn big_shards_split_by_one_more_letter() {
        let long = "1,".repeat(SHARD_BYTES / 4);
        let keys = ["sta", "stb", "st", "stc", "su"];
        let mut sorted = keys.to_vec();
        sorted.sort();
        let entries: Vec<Entry> = sorted
            .iter()
            .map(|k| Entry {
                key: k,
                value: Cow::Borrowed(long.as_str()),
                stem: true,
            })
            .collect();
        let shards: Vec<String> = shard(&entries).into_iter().map(|(k, _)| k).collect();
        assert_eq!(shards, ["st", "sta", "stb", "stc", "su"]);
        let small: Vec<Entry> = sorted
            .iter()
            .map(|k| Entry {
                key: k,
                value: Cow::Borrowed("[0,1,1,1]"),
                stem: true,
            })
            .collect();
        let shards: Vec<String> = shard(&small).into_iter().map(|(k, _)| k).collect();
        assert_eq!(shards, [""]);
        // Keys stop growing at MAX_KEY_LETTERS, however big a shard.
        let a = "a".repeat(10);
        let b = format!("{a}b");
        let same: Vec<Entry> = [&a, &b]
            .iter()
            .map(|k| Entry {
                key: k,
                value: Cow::Borrowed(long.as_str()),
                stem: true,
            })
            .collect();
        let shards: Vec<String> = shard(&same).into_iter().map(|(k, _)| k).collect();
        assert_eq!(shards, ["aaaaaa"]);
    }
}
