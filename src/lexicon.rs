//! Multilingual keyword matching for themes and entity aliases.
//!
//! Text and keywords are cut into lowercase words at every character that is
//! not a letter or digit, so `Iskander-M`, `G7-gruppen` and `Belarus'` hold
//! the words `iskander`, `g7`, `belarus`. A keyword matches a run of whole
//! words; a trailing `*` makes its last word a stem (`kärnvapen*` matches
//! `kärnvapenavtalet`). Lookup is by hash per word, so cost grows with the
//! text, not with the size of the lexicon.

use std::collections::BTreeSet;

// Every word of every article is looked up: FxHash, not SipHash.
use rustc_hash::FxHashMap as HashMap;

#[derive(Debug)]
struct Term {
    words: Vec<String>,
    stem_last: bool,
    target: usize,
}

#[derive(Debug, Default)]
pub struct Lexicon {
    slugs: Vec<String>,
    terms: Vec<Term>,
    /// First word of a term (whole-word terms and multi-word stems).
    by_first_word: HashMap<String, Vec<usize>>,
    /// One-word stems, keyed by the stem.
    by_stem: HashMap<String, Vec<usize>>,
    /// Distinct stem lengths in chars, so each word is cut only where a stem could end.
    stem_lengths: Vec<usize>,
}

/// Lowercase words of `text`, borrowed where already lowercase (most are),
/// so matching a long article allocates little. Every article's text goes
/// through here: ASCII bytes are classed without decoding a char (the
/// Unicode tables cost 3-4x as much), other chars as `char` does.
pub fn words_borrowed(text: &str) -> Vec<std::borrow::Cow<'_, str>> {
    let bytes = text.as_bytes();
    let mut words = Vec::with_capacity(bytes.len() / 6);
    let mut start: Option<usize> = None;
    let mut upper = false;
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        let (is_word, is_upper, width) = if b.is_ascii() {
            (b.is_ascii_alphanumeric(), b.is_ascii_uppercase(), 1)
        } else {
            // `at` is a char boundary: ASCII bytes and whole chars are stepped over.
            let c = text[at..].chars().next().unwrap_or(' ');
            (c.is_alphanumeric(), c.is_uppercase(), c.len_utf8())
        };
        if is_word {
            start.get_or_insert(at);
            upper |= is_upper;
        } else if let Some(from) = start.take() {
            words.push(lowercase(&text[from..at], upper));
            upper = false;
        }
        at += width;
    }
    if let Some(from) = start {
        words.push(lowercase(&text[from..], upper));
    }
    words
}

fn lowercase(word: &str, has_upper: bool) -> std::borrow::Cow<'_, str> {
    if has_upper {
        std::borrow::Cow::Owned(word.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(word)
    }
}

/// Lowercase words of `text`, as char-boundary-safe owned strings.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

impl Lexicon {
    /// `entries`: (slug, keywords). Keywords with no word characters are ignored.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Lexicon {
        let mut lexicon = Lexicon::default();
        for (slug, keywords) in entries {
            let target = lexicon.slugs.len();
            lexicon.slugs.push(slug.to_string());
            for keyword in keywords {
                let keyword = keyword.trim();
                let stem_last = keyword.ends_with('*');
                let words = words(keyword.trim_end_matches('*'));
                if words.is_empty() {
                    continue;
                }
                let index = lexicon.terms.len();
                if stem_last && words.len() == 1 {
                    lexicon.stem_lengths.push(words[0].chars().count());
                    lexicon
                        .by_stem
                        .entry(words[0].clone())
                        .or_default()
                        .push(index);
                } else {
                    lexicon
                        .by_first_word
                        .entry(words[0].clone())
                        .or_default()
                        .push(index);
                }
                lexicon.terms.push(Term {
                    words,
                    stem_last,
                    target,
                });
            }
        }
        lexicon.stem_lengths.sort_unstable();
        lexicon.stem_lengths.dedup();
        lexicon
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Slugs whose keywords occur in `text`, sorted.
    pub fn matches(&self, text: &str) -> BTreeSet<String> {
        self.matches_words(&words_borrowed(text))
    }

    /// A match inside a longer match of another slug does not count:
    /// "Kyiv Independent" names the newspaper, not the city.
    pub fn matches_words<W: AsRef<str>>(&self, words: &[W]) -> BTreeSet<String> {
        // (first word, one past the last word, slug index)
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let word = word.as_ref();
            if let Some(terms) = self.by_first_word.get(word) {
                for &t in terms {
                    let term = &self.terms[t];
                    if self.term_at(term, &words[i..]) {
                        spans.push((i, i + term.words.len(), term.target));
                    }
                }
            }
            if !self.by_stem.is_empty() {
                let mut lengths = self.stem_lengths.iter().peekable();
                for (n, end) in word
                    .char_indices()
                    .map(|(i, c)| i + c.len_utf8())
                    .enumerate()
                {
                    let Some(&&want) = lengths.peek() else { break };
                    if n + 1 < want {
                        continue;
                    }
                    lengths.next();
                    if let Some(terms) = self.by_stem.get(&word[..end]) {
                        spans.extend(terms.iter().map(|&t| (i, i + 1, self.terms[t].target)));
                    }
                }
            }
        }
        let multi_word: Vec<(usize, usize, usize)> =
            spans.iter().copied().filter(|s| s.1 - s.0 > 1).collect();
        let mut found = vec![false; self.slugs.len()];
        for &(start, end, target) in &spans {
            let covered = multi_word
                .iter()
                .any(|&(s, e, t)| t != target && s <= start && end <= e && e - s > end - start);
            if !covered {
                found[target] = true;
            }
        }
        found
            .iter()
            .enumerate()
            .filter(|(_, hit)| **hit)
            .map(|(i, _)| self.slugs[i].clone())
            .collect()
    }

    fn term_at<W: AsRef<str>>(&self, term: &Term, words: &[W]) -> bool {
        if words.len() < term.words.len() {
            return false;
        }
        let last = term.words.len() - 1;
        term.words
            .iter()
            .zip(words)
            .enumerate()
            .all(|(i, (want, got))| {
                if i == last && term.stem_last {
                    got.as_ref().starts_with(want.as_str())
                } else {
                    got.as_ref() == want
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        Lexicon::new([
            (
                "nuclear",
                vec!["kärnvapen*", "atomvåpen*", "nuclear weapons"],
            ),
            ("missiles", vec!["iskander", "s-400"]),
            (
                "lukashenko",
                vec!["Lukasjenko", "Lukaschenko", "Lukashenko", "Lukasjkenko"],
            ),
            ("g7", vec!["G7"]),
            ("kyiv", vec!["Kyiv", "Kiev"]),
            ("kyiv-independent", vec!["Kyiv Independent"]),
        ])
    }

    proptest::proptest! {
        #[test]
        fn words_borrowed_cuts_as_words_does(text in "[aZ9 .,\\-'\u{e4}\u{c4}\u{130}\u{3a3}\u{2009}\u{a0}\u{0661}\u{4e2d}\u{1f600}]{0,40}") {
            let fast: Vec<String> = words_borrowed(&text).into_iter().map(|w| w.into_owned()).collect();
            proptest::prop_assert_eq!(fast, words(&text));
        }
    }

    #[test]
    fn stems_and_whole_words() {
        let l = lexicon();
        assert!(l.matches("Kärnvapenavtalet handlar").contains("nuclear"));
        assert!(l.matches("NUCLEAR WEAPONS here").contains("nuclear"));
        assert!(!l.matches("nuclear power").contains("nuclear"));
        assert!(l.matches("typen Iskander-M").contains("missiles"));
        assert!(l.matches("systemet S-400 av").contains("missiles"));
        assert!(!l.matches("Iskanderstan").contains("missiles"));
        assert!(l.matches("G7-gruppen, der").contains("g7"));
    }

    #[test]
    fn every_alias_finds_the_entity() {
        let l = lexicon();
        for text in [
            "Lukasjenko sa",
            "Alexander Lukaschenko äußerte",
            "siger Lukasjkenko, der",
        ] {
            assert!(l.matches(text).contains("lukashenko"), "{text}");
        }
        assert!(l.matches("Lukasjenkos").is_empty(), "whole words only");
    }

    #[test]
    fn longest_match_wins() {
        let l = lexicon();
        let found: Vec<_> = l
            .matches("rapporterar Kyiv Independent.")
            .into_iter()
            .collect();
        assert_eq!(found, vec!["kyiv-independent"]);
        let found: Vec<_> = l.matches("Kyiv Independent om Kyiv").into_iter().collect();
        assert_eq!(found, vec!["kyiv", "kyiv-independent"]);
    }

    #[test]
    fn results_are_sorted_and_unique() {
        let l = lexicon();
        let found: Vec<_> = l.matches("G7 Iskander G7 kärnvapen").into_iter().collect();
        assert_eq!(found, vec!["g7", "missiles", "nuclear"]);
    }
}
