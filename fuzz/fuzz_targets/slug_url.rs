//! Slugs and URLs: arbitrary ids (NUL-separated) through
//! assign_unique_slugs, and arbitrary request paths through serve::resolve.
#![no_main]

use std::collections::HashSet;
use std::path::{Component, Path};

use dossier::model::Record;
use dossier::normalize::assign_unique_slugs;
use dossier::serve::resolve;
use libfuzzer_sys::fuzz_target;

fn record(id: &str, slug: &str) -> Record {
    Record {
        id: id.into(),
        slug: slug.into(),
        title: String::new(),
        title_en: None,
        date: None,
        precision: None,
        month: None,
        language: "und".into(),
        language_declared: false,
        outlet: None,
        url: None,
        themes: vec![],
        entities: vec![],
        paragraphs: vec![],
        words: 0,
        hash: String::new(),
        source: String::new(),
        summary: None,
        note: None,
        added: None,
        fingerprint: String::new(),
        declared_slug: slug.into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\0').collect();
    // Odd parts are sidecar slugs for the part before them.
    let mut records: Vec<Record> = parts
        .iter()
        .enumerate()
        .map(|(i, id)| record(id, if i % 3 == 2 { parts[i - 1] } else { "" }))
        .collect();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    assign_unique_slugs(&mut records);
    let mut seen = HashSet::new();
    for r in &records {
        assert!(!r.slug.is_empty(), "empty slug for {:?}", r.id);
        assert!(
            r.slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "slug {:?} for {:?}",
            r.slug,
            r.id
        );
        assert!(
            !r.slug.starts_with('-') && !r.slug.ends_with('-'),
            "{:?}",
            r.slug
        );
        assert!(seen.insert(r.slug.clone()), "duplicate slug {:?}", r.slug);
    }

    let output = Path::new("/site");
    for base in ["/", "/repo/"] {
        for request in parts.iter().take(4) {
            if let Some(path) = resolve(output, base, request) {
                assert!(path.starts_with(output), "{request:?} -> {path:?}");
                let rest = path.strip_prefix(output).unwrap();
                assert!(
                    rest.components().all(|c| matches!(c, Component::Normal(_))),
                    "{request:?} -> {path:?}"
                );
                let s = path.to_string_lossy();
                assert!(!s.contains('\0') && !s.contains('\\'), "{request:?}");
            }
        }
    }
});
