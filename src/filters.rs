//! What the list filters (`static/filters.js`) narrow by: each article and
//! event card carries its month, theme slugs, languages and outlet slugs as
//! data attributes (`templates/components.html`), so the timeline and the
//! article lists can be filtered in the browser without a server, and every
//! list still works without JavaScript.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::index::{SiteIndex, outlet_slug};

/// Space-separated keys, as the data attributes take them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FilterKeys {
    /// `YYYY-MM`, empty when undated.
    pub month: String,
    pub themes: String,
    pub languages: String,
    pub outlets: String,
}

/// An article: its month, themes, language and outlet.
pub fn for_record(index: &SiteIndex, record: usize) -> FilterKeys {
    let r = &index.records[record];
    FilterKeys {
        month: r.month.clone().unwrap_or_default(),
        themes: r.themes.join(" "),
        languages: r.language.clone(),
        outlets: r.outlet.as_deref().map(outlet_slug).unwrap_or_default(),
    }
}

/// An event: its month and themes, and the languages and outlets of the
/// articles it cites.
pub fn for_event(index: &SiteIndex, event: usize) -> FilterKeys {
    let e = &index.events[event];
    let sources: Vec<_> = e
        .citations
        .iter()
        .filter_map(|c| index.record(&c.article))
        .collect();
    let languages: BTreeSet<&str> = sources.iter().map(|r| r.language.as_str()).collect();
    let outlets: BTreeSet<String> = sources
        .iter()
        .filter_map(|r| r.outlet.as_deref().map(outlet_slug))
        .collect();
    FilterKeys {
        month: e.month.clone(),
        themes: e.themes.join(" "),
        languages: languages.into_iter().collect::<Vec<_>>().join(" "),
        outlets: outlets.into_iter().collect::<Vec<_>>().join(" "),
    }
}
