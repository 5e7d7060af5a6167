//! Front matter and sidecar parsing: arbitrary text as a markdown file's
//! front matter (split + parse), as a sidecar, and as a whole event file
//! through the annotator.
#![no_main]

use std::collections::HashSet;

use dossier::annotate::Annotator;
use dossier::diagnostics::Diagnostics;
use dossier::frontmatter;
use dossier::load::{ArticleFormat, SourceText};
use dossier::normalize::ArticleMeta;
use dossier::urls::Urls;
use dossier_fuzz::{NORMALIZER, TAXONOMY, article};
use libfuzzer_sys::fuzz_target;

const SEED: &[u8] = include_bytes!("../../content/articles/003_6ef21ff47a01b82f.txt");

fuzz_target!(|data: &[u8]| {
    let text = dossier::load::clean_text(&String::from_utf8_lossy(data));
    if let Ok(split) = frontmatter::split(&text) {
        assert!(split.body_line >= 1 && split.front_line >= 1);
        let _ = frontmatter::parse::<ArticleMeta>(&split, "x.md");
        for key in ["date", "quote", "article", "title"] {
            for n in 0..3 {
                if let Some(line) = frontmatter::nth_key_line(&split, key, n) {
                    assert!(line <= text.lines().count() + 1);
                }
            }
        }
    }
    let _ = toml::from_str::<ArticleMeta>(&text);

    // The whole event path, citing the example's Norwegian seed.
    let mut seed = article(SEED, ArticleFormat::Text);
    seed.id = "003_6ef21ff47a01b82f".into();
    let records = vec![std::sync::Arc::new(
        NORMALIZER.normalize(&seed, &Diagnostics::new()).unwrap(),
    )];
    let (themes, _) = &*TAXONOMY;
    let urls = Urls::new("/", "/");
    let annotator = Annotator {
        records: &records,
        themes,
        entity_slugs: HashSet::new(),
        entities: NORMALIZER.entity_lexicon(),
        urls: &urls,
        memo: &dossier::memo::Memo::off(),
        settings: [0; 16],
    };
    let source = SourceText {
        path: "content/events/fuzz.md".into(),
        text,
    };
    let diagnostics = Diagnostics::new();
    for event in annotator.annotate(std::slice::from_ref(&source), &diagnostics) {
        for c in &event.citations {
            let r = &records[0];
            let p = r.paragraphs.iter().find(|p| p.id == c.paragraph).unwrap();
            assert!(p.text.get(c.span.0..c.span.1).is_some(), "bad span");
        }
    }
});
