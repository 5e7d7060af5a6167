//! Quote verification: an arbitrary clipping (before the first NUL) and an
//! arbitrary quote (after it) through locate, closest_passage and fold.
#![no_main]

use dossier::annotate::{Located, closest_passage, fold, locate};
use dossier::diagnostics::Diagnostics;
use dossier::load::ArticleFormat;
use dossier_fuzz::{NORMALIZER, article};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, quote) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let quote = String::from_utf8_lossy(quote);
    let _ = fold(&quote);
    let needle = fold(&dossier::load::clean_text(&quote));
    // Markdown too: its paragraphs may have no words at all (images, rules).
    for format in [ArticleFormat::Text, ArticleFormat::Markdown] {
        let source = article(text, format);
        let Some(record) = NORMALIZER.normalize(&source, &Diagnostics::new()) else {
            continue;
        };
        match locate(&record, &quote) {
            Located::Once { paragraph, span } => {
                let p = &record.paragraphs[paragraph];
                let cited = p.text.get(span.0..span.1).expect("span on char boundaries");
                let folded = fold(cited).text;
                assert!(
                    folded.contains(&needle.text) || needle.text.contains(&folded),
                    "span {cited:?} does not hold the quote {quote:?}"
                );
            }
            Located::Many(ids) => assert!(ids.len() >= 2),
            Located::Boilerplate(_) | Located::Missing => {}
        }
        if let Some((paragraph, passage, score)) = closest_passage(&record, &quote) {
            assert!(record.paragraphs.iter().any(|p| p.id == paragraph));
            assert!((0.0..=1.0).contains(&score), "{score} for {passage:?}");
        }
    }
});
