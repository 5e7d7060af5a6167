//! The plain data that flows between stages. Records and events serialize
//! straight into `data/*.json`, so field names here are a public contract.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Day,
    Month,
}

/// A date as precise as the source allows: never a made-up day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartialDate {
    pub year: i32,
    pub month: u32,
    pub day: Option<u32>,
}

impl PartialDate {
    /// Parses `YYYY-MM` or `YYYY-MM-DD`, checking the calendar.
    pub fn parse(text: &str) -> Option<PartialDate> {
        let text = text.trim();
        // Split by hand: this runs for every date of every page's context.
        let mut parts = text.split('-');
        let number = |s: Option<&str>, len: usize| {
            let s = s?;
            (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let year = number(parts.next(), 4)?;
        let month = number(parts.next(), 2)?;
        let day = match parts.next() {
            None => None,
            d => Some(number(d, 2)?),
        };
        if parts.next().is_some() {
            return None;
        }
        let year = year as i32;
        match day {
            Some(d) => chrono::NaiveDate::from_ymd_opt(year, month, d)?,
            None => chrono::NaiveDate::from_ymd_opt(year, month, 1)?,
        };
        Some(PartialDate { year, month, day })
    }

    pub fn precision(&self) -> Precision {
        if self.day.is_some() {
            Precision::Day
        } else {
            Precision::Month
        }
    }

    pub fn month_key(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// "2022-06-25" or "2022-06".
    pub fn iso(&self) -> String {
        match self.day {
            Some(d) => format!("{:04}-{:02}-{:02}", self.year, self.month, d),
            None => self.month_key(),
        }
    }

    /// "25 June 2022" or "June 2022".
    pub fn display(&self) -> String {
        let month = month_name(self.month);
        match self.day {
            Some(d) => format!("{d} {month} {}", self.year),
            None => format!("{month} {}", self.year),
        }
    }
}

pub fn month_name(month: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES
        .get(month.wrapping_sub(1) as usize)
        .copied()
        .unwrap_or("?")
}

/// "2022-06" -> "June 2022".
pub fn month_key_display(key: &str) -> String {
    PartialDate::parse(key)
        .map(|d| d.display())
        .unwrap_or_else(|| key.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParagraphKind {
    Lead,
    Body,
    Subheading,
    Caption,
    Byline,
    Dateline,
    /// Kept in the record, never shown as article text, never citable.
    Boilerplate,
}

impl ParagraphKind {
    pub fn is_shown(self) -> bool {
        self != ParagraphKind::Boilerplate
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paragraph {
    /// Anchor id, `p1`..`pN`, numbered over all paragraphs in source order.
    pub id: String,
    pub kind: ParagraphKind,
    /// Plain text (NFC). For markdown articles, the text of the block.
    pub text: String,
    /// Sanitized HTML for markdown blocks; clippings are plain text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub html: Option<String>,
}

/// An article as normalization makes it. (`Default`: an empty record, for
/// tests that set the fields they need.)
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    /// The file stem: stable across edits.
    pub id: String,
    pub slug: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title_en: Option<String>,
    pub date: Option<String>,
    pub precision: Option<Precision>,
    pub month: Option<String>,
    pub language: String,
    /// True when the language came from the analyst, not the detector.
    pub language_declared: bool,
    pub outlet: Option<String>,
    pub url: Option<String>,
    pub themes: Vec<String>,
    pub entities: Vec<String>,
    pub paragraphs: Vec<Paragraph>,
    pub words: usize,
    /// blake3 of the source bytes.
    pub hash: String,
    /// Path relative to the dossier root.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Day the article was added (`dossier add`), from the sidecar.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub added: Option<String>,
    /// Former slugs, each forwarding to the article (`aliases`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub aliases: Vec<String>,
    /// Hash of everything the record was made from (source, sidecar); with
    /// the normalization settings, it decides whether pages must be redone.
    #[serde(skip)]
    pub fingerprint: String,
    /// The slug the analyst declared (front matter or sidecar), or empty:
    /// `slug` is made from it, else from the id, and unique in the dossier.
    #[serde(skip)]
    pub declared_slug: String,
}

impl Record {
    pub fn partial_date(&self) -> Option<PartialDate> {
        self.date.as_deref().and_then(PartialDate::parse)
    }

    pub fn shown_paragraphs(&self) -> impl Iterator<Item = &Paragraph> {
        self.paragraphs.iter().filter(|p| p.kind.is_shown())
    }
}

/// A `[[theme]]` of `content/themes.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// An `[[entity]]` of `content/entities.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    pub slug: String,
    pub name: String,
    #[serde(default = "default_entity_kind")]
    pub kind: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub description: String,
}

fn default_entity_kind() -> String {
    "organisation".to_string()
}

/// A citation after verification: pinned to the paragraph holding the quote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Citation {
    pub article: String,
    pub quote: String,
    /// Anchor id of the paragraph holding the quote (`p7`).
    pub paragraph: String,
    pub translation: Option<String>,
    pub note: Option<String>,
    /// Site URL of the cited passage.
    pub url: String,
    /// Byte range of the quote within the paragraph's text, for highlighting.
    #[serde(skip)]
    pub span: (usize, usize),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub slug: String,
    pub date: String,
    pub precision: Precision,
    pub month: String,
    pub title: String,
    pub themes: Vec<String>,
    pub entities: Vec<String>,
    pub summary_html: String,
    pub citations: Vec<Citation>,
    pub source: String,
    /// `draft = true` in its front matter: built only with `--drafts`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draft: bool,
    /// Former slugs, each forwarding to the event (`aliases`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl Event {
    pub fn partial_date(&self) -> Option<PartialDate> {
        PartialDate::parse(&self.date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates() {
        let d = PartialDate::parse("2022-06-25").unwrap();
        assert_eq!(d.precision(), Precision::Day);
        assert_eq!(d.display(), "25 June 2022");
        let m = PartialDate::parse("2022-06").unwrap();
        assert_eq!(m.precision(), Precision::Month);
        assert_eq!(m.display(), "June 2022");
        assert_eq!(m.iso(), "2022-06");
        assert!(PartialDate::parse("2022-02-30").is_none());
        assert!(PartialDate::parse("2022-13").is_none());
        assert!(PartialDate::parse("22-06").is_none());
        assert!(PartialDate::parse("2022-6-1").is_none());
        for bad in ["2022", "2022-06-25-01", "2022-06-", "-2022-06", ""] {
            assert!(PartialDate::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(PartialDate::parse(" 2022-06 "), Some(m.clone()));
        assert!(m < d, "month precision sorts before days of that month");
    }
}
