//! Stage 4: records and events grouped the ways the site is browsed: by
//! month, theme, entity, outlet and language, plus the back-links from cited
//! passages to the events citing them. Built once; rendering only reads it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::config::Config;
use crate::model::{Entity, Event, Record, Theme};
use crate::urls::Urls;

/// Indices into `SiteIndex::records` and `SiteIndex::events`.
#[derive(Debug, Default, Clone)]
pub struct Group {
    /// Newest first.
    pub records: Vec<usize>,
    /// Oldest first (a timeline reads forward).
    pub events: Vec<usize>,
}

/// One citation of a passage: which event, which of its citations.
#[derive(Debug, Clone, Copy)]
pub struct CitedBy {
    pub event: usize,
    pub citation: usize,
}

#[derive(Debug)]
pub struct Outlet {
    pub slug: String,
    pub name: String,
    pub records: Vec<usize>,
}

pub struct SiteIndex {
    pub config: Config,
    pub urls: Urls,
    /// Sorted by id; shared with the preview server's cache.
    pub records: Vec<Arc<Record>>,
    /// Sorted by date, then id.
    pub events: Vec<Event>,
    pub themes: Vec<Theme>,
    pub entities: Vec<Entity>,
    /// Dated records, oldest first (ties by id); drives previous/next.
    pub chronology: Vec<usize>,
    pub undated: Vec<usize>,
    /// Position of each record in `chronology`.
    pub chronology_position: Vec<Option<usize>>,
    pub months: BTreeMap<String, Group>,
    pub by_theme: BTreeMap<String, Group>,
    pub by_entity: BTreeMap<String, Group>,
    pub by_language: BTreeMap<String, Group>,
    pub outlets: Vec<Outlet>,
    pub record_by_id: HashMap<String, usize>,
    /// (record, paragraph id) -> citations of it.
    pub cited_by: HashMap<(usize, String), Vec<CitedBy>>,
    /// Digest of the normalization settings and taxonomies: with a record's
    /// fingerprint, it names everything the record was made from.
    pub settings: crate::memo::Key,
}

impl SiteIndex {
    pub fn build(
        config: Config,
        records: Vec<Arc<Record>>,
        events: Vec<Event>,
        themes: Vec<Theme>,
        entities: Vec<Entity>,
    ) -> SiteIndex {
        let urls = Urls::new(&config.base_path(), &config.absolute_base());
        let record_by_id: HashMap<String, usize> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();

        let mut chronology: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].date.is_some())
            .collect();
        // Dates parsed once, not at every comparison.
        chronology.sort_by_cached_key(|&i| (records[i].partial_date(), i));
        let undated: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].date.is_none())
            .collect();
        let mut chronology_position = vec![None; records.len()];
        for (pos, &i) in chronology.iter().enumerate() {
            chronology_position[i] = Some(pos);
        }

        let mut months: BTreeMap<String, Group> = BTreeMap::new();
        let mut by_theme: BTreeMap<String, Group> = themes
            .iter()
            .map(|t| (t.slug.clone(), Group::default()))
            .collect();
        let mut by_entity: BTreeMap<String, Group> = entities
            .iter()
            .map(|e| (e.slug.clone(), Group::default()))
            .collect();
        let mut by_language: BTreeMap<String, Group> = BTreeMap::new();
        let mut outlets: BTreeMap<String, Outlet> = BTreeMap::new();

        // Newest first in every list of articles.
        let newest_first = chronology.iter().rev().chain(undated.iter());
        for &i in newest_first {
            let r = &records[i];
            if let Some(month) = &r.month {
                months.entry(month.clone()).or_default().records.push(i);
            }
            for t in &r.themes {
                by_theme.entry(t.clone()).or_default().records.push(i);
            }
            for e in &r.entities {
                by_entity.entry(e.clone()).or_default().records.push(i);
            }
            by_language
                .entry(r.language.clone())
                .or_default()
                .records
                .push(i);
            if let Some(name) = &r.outlet {
                let slug = outlet_slug(name);
                outlets
                    .entry(slug.clone())
                    .or_insert_with(|| Outlet {
                        slug,
                        name: name.clone(),
                        records: Vec::new(),
                    })
                    .records
                    .push(i);
            }
        }

        let mut cited_by: HashMap<(usize, String), Vec<CitedBy>> = HashMap::new();
        for (e, event) in events.iter().enumerate() {
            months
                .entry(event.month.clone())
                .or_default()
                .events
                .push(e);
            for t in &event.themes {
                by_theme.entry(t.clone()).or_default().events.push(e);
            }
            for s in &event.entities {
                by_entity.entry(s.clone()).or_default().events.push(e);
            }
            let languages: BTreeSet<&str> = event
                .citations
                .iter()
                .filter_map(|c| {
                    record_by_id
                        .get(&c.article)
                        .map(|&i| records[i].language.as_str())
                })
                .collect();
            for language in languages {
                by_language
                    .entry(language.to_string())
                    .or_default()
                    .events
                    .push(e);
            }
            for (c, citation) in event.citations.iter().enumerate() {
                if let Some(&r) = record_by_id.get(&citation.article) {
                    cited_by
                        .entry((r, citation.paragraph.clone()))
                        .or_default()
                        .push(CitedBy {
                            event: e,
                            citation: c,
                        });
                }
            }
        }

        SiteIndex {
            config,
            urls,
            records,
            events,
            themes,
            entities,
            chronology,
            undated,
            chronology_position,
            months,
            by_theme,
            by_entity,
            by_language,
            outlets: outlets.into_values().collect(),
            record_by_id,
            cited_by,
            settings: [0; 16],
        }
    }

    pub fn record(&self, id: &str) -> Option<&Record> {
        self.record_by_id.get(id).map(|&i| &*self.records[i])
    }

    pub fn previous(&self, record: usize) -> Option<usize> {
        let pos = self.chronology_position[record]?;
        pos.checked_sub(1).map(|p| self.chronology[p])
    }

    pub fn next(&self, record: usize) -> Option<usize> {
        let pos = self.chronology_position[record]?;
        self.chronology.get(pos + 1).copied()
    }

    /// Distinct articles, outlets and languages supporting an event.
    pub fn corroboration(&self, event: &Event) -> (usize, usize, usize) {
        let records: BTreeSet<usize> = event
            .citations
            .iter()
            .filter_map(|c| self.record_by_id.get(&c.article).copied())
            .collect();
        let outlets: BTreeSet<String> = records
            .iter()
            .map(|&i| {
                let r = &self.records[i];
                // An article with no known outlet counts as its own source.
                r.outlet
                    .as_deref()
                    .map(outlet_slug)
                    .unwrap_or_else(|| format!("?{}", r.id))
            })
            .collect();
        let languages: BTreeSet<&str> = records
            .iter()
            .map(|&i| self.records[i].language.as_str())
            .collect();
        (records.len(), outlets.len(), languages.len())
    }

    pub fn outlet_of(&self, record: &Record) -> Option<&Outlet> {
        let slug = outlet_slug(record.outlet.as_deref()?);
        self.outlets.iter().find(|o| o.slug == slug)
    }

    pub fn theme(&self, slug: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.slug == slug)
    }

    pub fn entity(&self, slug: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.slug == slug)
    }
}

pub fn outlet_slug(name: &str) -> String {
    let slug = slug::slugify(name);
    if slug.is_empty() {
        "outlet".to_string()
    } else {
        slug
    }
}
