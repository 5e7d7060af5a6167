//! Clipping normalization: arbitrary bytes as a `.txt` clipping and as a
//! `.md` article, with a sidecar after the first NUL byte.
#![no_main]

use dossier::diagnostics::Diagnostics;
use dossier::load::ArticleFormat;
use dossier_fuzz::{NORMALIZER, article};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [ArticleFormat::Text, ArticleFormat::Markdown] {
        let source = article(data, format);
        let diagnostics = Diagnostics::new();
        let Some(record) = NORMALIZER.normalize(&source, &diagnostics) else {
            assert!(diagnostics.has_errors(), "no record and no error");
            continue;
        };
        assert!(!record.title.trim().is_empty(), "empty title");
        for (i, p) in record.paragraphs.iter().enumerate() {
            assert_eq!(p.id, format!("p{}", i + 1));
        }
        // Every diagnostic names its file.
        for d in diagnostics.into_sorted() {
            assert!(!d.path.as_os_str().is_empty());
        }
    }
});
