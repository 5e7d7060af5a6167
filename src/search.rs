//! Offline full-text search, built with the index and run in the browser.
//!
//! Every article, event and entity becomes one Pagefind record. Articles are
//! grouped into one Pagefind bundle per language under `pagefind/LANG/`, so
//! each language is indexed and queried with its own stemmer (Pagefind's
//! browser side loads one stemmer per bundle); events and entities, written
//! in the dossier's language, make `pagefind/annotations/`. The search page
//! (`templates/search.html`, `static/search.js`) queries every bundle and
//! merges the results. Record URLs are root-relative (`/articles/SLUG/`);
//! Pagefind's JS puts the site's base path in front, whatever it is.
//!
//! A record is a small HTML document: the title, then each shown paragraph
//! with its anchor id (`p7`), so results can link to the paragraph
//! (`/articles/SLUG/#p7`). Words the reader may type but the text does not
//! hold are indexed without being shown, as metadata fields named after the
//! paragraph (`p7`): transliterations of words with diacritics
//! (`kärnvapen` -> `kaernvapen`; plain `karnvapen` Pagefind folds itself) and
//! every alias of the entities the paragraph mentions (`Lukasjenko` ->
//! `lukashenko lukaschenko …`). Each field holds groups `written variant…`
//! separated by ` | `, which the search page uses to link and highlight a
//! result found only through them.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use pagefind::api::PagefindIndex;
use pagefind::options::PagefindServiceConfig;
use rayon::prelude::*;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::diagnostics::Diagnostic;
use crate::index::SiteIndex;
use crate::model::Record;
use crate::render::{Sink, escape_html};

/// The folder, below the site root, holding the Pagefind bundles.
pub const BUNDLE_DIR: &str = "pagefind";

/// Pagefind's files that the search page does not use (its own UIs, the
/// highlighter, the web worker: `search.js` runs Pagefind on the page).
const UNUSED: &[&str] = &[
    "pagefind-ui.js",
    "pagefind-ui.css",
    "pagefind-modular-ui.js",
    "pagefind-modular-ui.css",
    "pagefind-component-ui.js",
    "pagefind-component-ui.css",
    "pagefind-highlight.js",
    "pagefind-worker.js",
];

/// One record for Pagefind: its root-relative URL and its HTML.
struct Document {
    url: String,
    html: String,
}

/// One Pagefind bundle: its folder below `pagefind/` and its language.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Bundle {
    pub dir: String,
    pub language: String,
}

/// The folder of the bundle of events and entities (the analyst's notes,
/// in the dossier's language); articles are in a folder per language.
const ANNOTATIONS: &str = "annotations";

/// The bundles the search page queries, sorted by folder.
pub fn bundles(index: &SiteIndex) -> Vec<Bundle> {
    let mut out: BTreeSet<Bundle> = index.records.iter().map(article_bundle).collect();
    if !index.events.is_empty() || !index.entities.is_empty() {
        out.insert(annotation_bundle(index));
    }
    out.into_iter().collect()
}

fn article_bundle(record: &Record) -> Bundle {
    let language = bundle_language(&record.language);
    Bundle {
        dir: language.clone(),
        language,
    }
}

fn annotation_bundle(index: &SiteIndex) -> Bundle {
    Bundle {
        dir: ANNOTATIONS.to_string(),
        language: bundle_language(&index.config.language),
    }
}

/// Builds the search bundles and puts their files into `sink` under
/// `pagefind/DIR/`. Returns the number of files written.
pub fn write_index(index: &SiteIndex, sink: &dyn Sink) -> Result<usize, Vec<Diagnostic>> {
    let bundles: Vec<(Bundle, Vec<Member>)> = members(index).into_iter().collect();
    let results: Vec<Result<usize, Diagnostic>> = bundles
        .par_iter()
        .map(|(bundle, members)| {
            let docs: Vec<Document> = members.iter().map(|m| document(index, *m)).collect();
            let files = build_bundle(&bundle.language, &docs).map_err(|e| {
                Diagnostic::error(
                    format!("{BUNDLE_DIR}/{}/", bundle.dir),
                    None,
                    format!("cannot build the search index: {e}"),
                )
                .with_hint("this is a bug in dossier or Pagefind; please report it")
            })?;
            let mut written = 0;
            for (name, bytes) in files {
                let path = format!("{BUNDLE_DIR}/{}/{name}", bundle.dir);
                sink.put(&path, &bytes).map_err(|e| {
                    Diagnostic::error(&path, None, format!("cannot write: {e}")).with_hint(
                        "check that the output folder is writable and the disk is not full",
                    )
                })?;
                written += 1;
            }
            Ok(written)
        })
        .collect();
    let mut files = 0;
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(n) => files += n,
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// Indexes one language's documents; returns (file name, bytes), sorted.
fn build_bundle(language: &str, docs: &[Document]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let config = PagefindServiceConfig::builder()
            .force_language(language.to_string())
            .build();
        let mut pagefind = PagefindIndex::new(Some(config)).map_err(|e| format!("{e:#}"))?;
        for doc in docs {
            pagefind
                .add_html_file(None, Some(doc.url.clone()), doc.html.clone())
                .await
                .map_err(|e| format!("{}: {e:#}", doc.url))?;
        }
        let files = pagefind.get_files().await.map_err(|e| format!("{e:#}"))?;
        let mut out: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|f| (f.filename.to_string_lossy().replace('\\', "/"), f.contents))
            .filter(|(name, _)| !UNUSED.contains(&name.as_str()))
            .collect();
        // The generic WebAssembly is only for a language without a stemmer.
        if out
            .iter()
            .any(|(n, _)| n != "wasm.unknown.pagefind" && n.starts_with("wasm."))
        {
            out.retain(|(n, _)| n != "wasm.unknown.pagefind");
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    })
}

/// What a record of the search index is made from.
#[derive(Debug, Clone, Copy)]
enum Member {
    Article(usize),
    Event(usize),
    Entity(usize),
}

/// The members of every bundle: articles in their own language's, events
/// and entities in the annotations'.
fn members(index: &SiteIndex) -> BTreeMap<Bundle, Vec<Member>> {
    let mut bundles: BTreeMap<Bundle, Vec<Member>> = BTreeMap::new();
    for (i, record) in index.records.iter().enumerate() {
        bundles
            .entry(article_bundle(record))
            .or_default()
            .push(Member::Article(i));
    }
    let notes = bundles.entry(annotation_bundle(index)).or_default();
    notes.extend((0..index.events.len()).map(Member::Event));
    notes.extend((0..index.entities.len()).map(Member::Entity));
    bundles.retain(|_, members| !members.is_empty());
    bundles
}

fn document(index: &SiteIndex, member: Member) -> Document {
    match member {
        Member::Article(i) => article_document(index, &index.records[i]),
        Member::Event(e) => event_document(index, &index.events[e]),
        Member::Entity(e) => entity_document(index, &index.entities[e]),
    }
}

/// A language code safe as a folder name; anything else is `und`.
fn bundle_language(code: &str) -> String {
    let code = code.trim().to_ascii_lowercase();
    let ok = (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
    if ok { code } else { "und".to_string() }
}

/// `/repo/articles/x/` -> `/articles/x/`: Pagefind's JS adds the base path.
fn root_relative(index: &SiteIndex, url: &str) -> String {
    let rest = url.strip_prefix(index.urls.base()).unwrap_or(url);
    format!("/{}", rest.trim_start_matches('/'))
}

/// A metadata element: indexed and returned with results, never shown.
fn meta(html: &mut String, key: &str, value: &str) {
    if !value.trim().is_empty() {
        html.push_str(&format!(
            "<span data-pagefind-meta=\"{}:{}\"></span>",
            key,
            escape_html(value)
        ));
    }
}

fn article_document(index: &SiteIndex, record: &Record) -> Document {
    let mut html = String::with_capacity(record.words * 8 + 256);
    html.push_str("<html><body>");
    meta(&mut html, "title", &record.title);
    meta(&mut html, "date", record.date.as_deref().unwrap_or(""));
    html.push_str(&format!("<h1>{}</h1>", escape_html(&record.title)));

    let entities: Vec<(&str, Vec<String>)> = record
        .entities
        .iter()
        .filter_map(|slug| index.entity(slug))
        .map(|e| (e.slug.as_str(), entity_terms(e)))
        .collect();
    let mut hidden = Hidden::default();
    for p in record.shown_paragraphs() {
        let groups = hidden.groups(&p.text, &entities);
        html.push_str(&format!(
            "<p id=\"{id}\" data-pagefind-title=\"{id}\">{}</p>",
            escape_html(&p.text),
            id = escape_html(&p.id)
        ));
        meta(&mut html, &p.id, &groups);
    }
    // Variants of the title's words, and entities no shown paragraph names.
    let mut rest = hidden.groups(&record.title, &[]);
    for (slug, terms) in &entities {
        if !hidden.entities.contains(*slug) {
            push_group(&mut rest, terms);
        }
    }
    meta(&mut html, "x", &rest);
    html.push_str("</body></html>");
    Document {
        url: root_relative(index, &index.urls.article(&record.slug)),
        html,
    }
}

fn event_document(index: &SiteIndex, event: &crate::model::Event) -> Document {
    let mut html = String::from("<html><body>");
    meta(&mut html, "title", &event.title);
    meta(&mut html, "date", &event.date);
    html.push_str(&format!("<h1>{}</h1>", escape_html(&event.title)));
    // Sanitized at annotation time.
    html.push_str(&format!("<div>{}</div>", event.summary_html));
    let mut text = event.title.clone();
    for (n, c) in event.citations.iter().enumerate() {
        let id = format!("c{}", n + 1);
        html.push_str(&format!(
            "<blockquote id=\"{id}\" data-pagefind-title=\"{id}\"><p>{}</p>",
            escape_html(&c.quote)
        ));
        text.push(' ');
        text.push_str(&c.quote);
        for extra in [&c.translation, &c.note].into_iter().flatten() {
            html.push_str(&format!("<p>{}</p>", escape_html(extra)));
            text.push(' ');
            text.push_str(extra);
        }
        html.push_str("</blockquote>");
    }
    let entities: Vec<(&str, Vec<String>)> = event
        .entities
        .iter()
        .filter_map(|slug| index.entity(slug))
        .map(|e| (e.slug.as_str(), entity_terms(e)))
        .collect();
    let mut hidden = Hidden::default();
    let mut groups = hidden.groups(&text, &entities);
    for (slug, terms) in &entities {
        if !hidden.entities.contains(*slug) {
            push_group(&mut groups, terms);
        }
    }
    meta(&mut html, "x", &groups);
    html.push_str("</body></html>");
    Document {
        url: root_relative(index, &index.urls.event(&event.slug)),
        html,
    }
}

fn entity_document(index: &SiteIndex, entity: &crate::model::Entity) -> Document {
    let mut html = String::from("<html><body>");
    meta(&mut html, "title", &entity.name);
    html.push_str(&format!("<h1>{}</h1>", escape_html(&entity.name)));
    if !entity.aliases.is_empty() {
        html.push_str(&format!(
            "<p>Also written {}.</p>",
            escape_html(&entity.aliases.join(", "))
        ));
    }
    if !entity.description.is_empty() {
        html.push_str(&format!("<p>{}</p>", escape_html(&entity.description)));
    }
    let mut text = entity.name.clone();
    for a in &entity.aliases {
        text.push(' ');
        text.push_str(a);
    }
    meta(&mut html, "x", &Hidden::default().groups(&text, &[]));
    html.push_str("</body></html>");
    Document {
        url: root_relative(index, &index.urls.entity(&entity.slug)),
        html,
    }
}

/// Every word by which an entity is known, lowercase, name first.
fn entity_terms(entity: &crate::model::Entity) -> Vec<String> {
    let mut seen = HashSet::new();
    std::iter::once(&entity.name)
        .chain(&entity.aliases)
        .flat_map(|a| a.split_whitespace())
        .map(|w| w.to_lowercase())
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

/// The hidden words of one record, each given once: with the first
/// paragraph that holds the word (or names the entity).
#[derive(Default)]
struct Hidden<'a> {
    words: HashSet<String>,
    entities: HashSet<&'a str>,
}

impl<'a> Hidden<'a> {
    /// `written variant… | written alias…` for a paragraph's new words and
    /// the entities it is the first to name.
    fn groups(&mut self, text: &str, entities: &[(&'a str, Vec<String>)]) -> String {
        let mut out = String::new();
        // Only words with letters beyond ASCII have variants.
        for word in words(text).filter(|w| !w.is_ascii()) {
            let word = word.to_lowercase();
            if self.words.contains(&word) {
                continue;
            }
            let variants = hidden_variants(&word);
            if !variants.is_empty() {
                let mut group = vec![word.clone()];
                group.extend(variants);
                push_group(&mut out, &group);
            }
            self.words.insert(word);
        }
        if entities.is_empty() {
            return out;
        }
        let lower = text.to_lowercase();
        for (slug, terms) in entities {
            if self.entities.contains(slug) {
                continue;
            }
            if let Some(written) = terms.iter().find(|t| contains_word(&lower, t)) {
                self.entities.insert(slug);
                let mut group = vec![written.clone()];
                group.extend(terms.iter().filter(|t| *t != written).cloned());
                push_group(&mut out, &group);
            }
        }
        out
    }
}

fn push_group(out: &mut String, group: &[String]) {
    if !out.is_empty() {
        out.push_str(" | ");
    }
    out.push_str(&group.join(" "));
}

/// True if `needle` occurs in `haystack` as a whole word (both lowercase).
fn contains_word(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The words of a text: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// How a reader may type a word with diacritics on a keyboard without them:
/// `kärnvapen` -> `kaernvapen`, `karnvapen`; `ø` -> `oe`, `o`; `å` -> `aa`,
/// `a`; `ü` -> `ue`, `u`; `ß` -> `ss`; `æ` -> `ae`. Lowercase; the word
/// itself and duplicates left out; empty when the word has none of these.
pub fn variants(word: &str) -> Vec<String> {
    let word = word.to_lowercase();
    let (mut double, mut single) = (String::new(), String::new());
    let mut changed = false;
    for c in word.chars() {
        let (d, s) = match c {
            'ä' => ("ae", "a"),
            'ö' => ("oe", "o"),
            'ø' => ("oe", "o"),
            'å' => ("aa", "a"),
            'ü' => ("ue", "u"),
            'ß' => ("ss", "ss"),
            'æ' => ("ae", "ae"),
            _ => {
                double.push(c);
                single.push(c);
                continue;
            }
        };
        changed = true;
        double.push_str(d);
        single.push_str(s);
    }
    if !changed {
        return Vec::new();
    }
    let mut out = vec![double];
    if single != out[0] {
        out.push(single);
    }
    out
}

/// The variants Pagefind does not already find by itself: it strips
/// combining marks from every word it indexes and every query (so `ä`
/// matches `a`, `å` matches `a`), but not `ø`, `æ` or `ß`, nor `ae` for `ä`.
fn hidden_variants(word: &str) -> Vec<String> {
    let folded = strip_marks(&word.to_lowercase());
    variants(word)
        .into_iter()
        .filter(|v| *v != folded)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn strip_marks(word: &str) -> String {
    word.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_transliterate_diacritics() {
        assert_eq!(variants("kärnvapen"), ["kaernvapen", "karnvapen"]);
        assert_eq!(variants("Kärnvapnen"), ["kaernvapnen", "karnvapnen"]);
        assert_eq!(variants("atomvåpen"), ["atomvaapen", "atomvapen"]);
        assert_eq!(variants("Grüße"), ["gruesse", "grusse"]);
        assert_eq!(variants("sjø"), ["sjoe", "sjo"]);
        assert_eq!(variants("høyre"), ["hoeyre", "hoyre"]);
        assert_eq!(variants("æble"), ["aeble"]);
        assert_eq!(variants("Größe"), ["groesse", "grosse"]);
        assert!(variants("Iskander").is_empty());
        assert!(variants("café").is_empty(), "Pagefind folds é itself");
    }

    #[test]
    fn hidden_variants_leave_out_what_pagefind_folds() {
        assert_eq!(hidden_variants("kärnvapen"), ["kaernvapen"]);
        assert_eq!(hidden_variants("atomvåpen"), ["atomvaapen"]);
        assert_eq!(hidden_variants("sjø"), ["sjo", "sjoe"]);
        assert_eq!(hidden_variants("æble"), ["aeble"]);
        assert!(hidden_variants("Belarus").is_empty());
    }

    #[test]
    fn hidden_groups_name_each_word_and_entity_once() {
        let terms = vec![
            "alexander".to_string(),
            "lukashenko".to_string(),
            "lukasjenko".to_string(),
        ];
        let entities = [("alexander-lukashenko", terms)];
        let mut hidden = Hidden::default();
        assert_eq!(
            hidden.groups("Lukasjenko vil ha kärnvapen.", &entities),
            "kärnvapen kaernvapen | lukasjenko alexander lukashenko"
        );
        assert_eq!(hidden.groups("Kärnvapen och Lukasjenko.", &entities), "");
        assert!(contains_word("om lukasjenko.", "lukasjenko"));
        assert!(!contains_word("lukasjenkos", "lukasjenko"));
    }

    #[test]
    fn bundle_languages_are_safe_folder_names() {
        assert_eq!(bundle_language("sv"), "sv");
        assert_eq!(bundle_language("NB"), "nb");
        assert_eq!(bundle_language("pt-BR"), "und");
        assert_eq!(bundle_language("../x"), "und");
    }
}
