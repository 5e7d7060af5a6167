//! Front matter (`+++` TOML or `---` YAML) shared by markdown articles and
//! events, with errors mapped back to lines of the original file.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::diagnostics::{Diagnostic, line_of_offset};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Toml,
    Yaml,
}

#[derive(Debug)]
pub struct Split<'a> {
    pub kind: Option<Kind>,
    pub front: &'a str,
    /// 1-based line of the file where `front` starts.
    pub front_line: usize,
    pub body: &'a str,
    /// 1-based line of the file where `body` starts.
    pub body_line: usize,
}

/// Splits a file into front matter and body. A file that opens a fence and
/// never closes it is an error at line 1.
pub fn split(text: &str) -> Result<Split<'_>, (usize, String)> {
    let fence = match text.lines().next().map(str::trim_end) {
        Some("+++") => Some(("+++", Kind::Toml)),
        Some("---") => Some(("---", Kind::Yaml)),
        _ => None,
    };
    let Some((fence, kind)) = fence else {
        return Ok(Split {
            kind: None,
            front: "",
            front_line: 1,
            body: text,
            body_line: 1,
        });
    };
    let after_open = text.find('\n').map(|i| i + 1).unwrap_or(text.len());
    let mut offset = after_open;
    for line in text[after_open..].split_inclusive('\n') {
        if line.trim_end() == fence {
            let front = &text[after_open..offset];
            let body_start = offset + line.len();
            return Ok(Split {
                kind: Some(kind),
                front,
                front_line: 2,
                body: &text[body_start..],
                body_line: line_of_offset(text, body_start),
            });
        }
        offset += line.len();
    }
    Err((
        1,
        format!("front matter opened with {fence} is never closed"),
    ))
}

/// Deserializes front matter, reporting errors at the file's own line numbers.
pub fn parse<T: DeserializeOwned + Default>(
    split: &Split<'_>,
    path: &str,
) -> Result<T, Diagnostic> {
    match split.kind {
        None => Ok(T::default()),
        Some(Kind::Toml) => toml::from_str(split.front).map_err(|e| {
            let line = e
                .span()
                .map(|s| split.front_line + line_of_offset(split.front, s.start) - 1);
            Diagnostic::error(path, line, format!("front matter: {}", e.message().trim()))
                .with_hint("front matter between +++ lines is TOML: key = \"value\"")
        }),
        Some(Kind::Yaml) => {
            if split.front.trim().is_empty() {
                return Ok(T::default());
            }
            serde_norway::from_str(split.front).map_err(|e| {
                let line = e.location().map(|l| split.front_line + l.line() - 1);
                let message = e.to_string();
                // The location is already in our line number; drop serde's copy.
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_string();
                Diagnostic::error(path, line, format!("front matter: {message}"))
                    .with_hint("front matter between --- lines is YAML: key: value")
            })
        }
    }
}

/// 1-based line of the `n`-th (0-based) line in `front` whose key is `key`
/// (`key =` in TOML, `key:` or `- key:` in YAML).
pub fn nth_key_line(split: &Split<'_>, key: &str, n: usize) -> Option<usize> {
    split
        .front
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let t = line.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix(key)
                .map(|rest| {
                    let rest = rest.trim_start();
                    rest.starts_with('=') || rest.starts_with(':')
                })
                .unwrap_or(false)
        })
        .nth(n)
        .map(|(i, _)| split.front_line + i)
}

/// A date written as a string, or as a bare TOML date (`date = 2022-06-25`).
pub fn date_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Toml(toml::value::Datetime),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|raw| match raw {
        Raw::Text(s) => s,
        Raw::Toml(dt) => dt.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    struct Meta {
        title: Option<String>,
        #[serde(default, deserialize_with = "date_string")]
        date: Option<String>,
    }

    #[test]
    fn toml_and_yaml_front_matter() {
        let s = split("+++\ntitle = \"A\"\ndate = 2022-06-25\n+++\nBody\n").unwrap();
        assert_eq!(s.kind, Some(Kind::Toml));
        assert_eq!(s.body, "Body\n");
        assert_eq!(s.body_line, 5);
        let m: Meta = parse(&s, "x.md").unwrap();
        assert_eq!(m.title.as_deref(), Some("A"));
        assert_eq!(m.date.as_deref(), Some("2022-06-25"));

        let s = split("---\ntitle: B\ndate: 2022-06\n---\nBody").unwrap();
        let m: Meta = parse(&s, "x.md").unwrap();
        assert_eq!(m.title.as_deref(), Some("B"));
        assert_eq!(m.date.as_deref(), Some("2022-06"));
    }

    #[test]
    fn no_front_matter_is_all_body() {
        let s = split("Just text\n").unwrap();
        assert_eq!(s.kind, None);
        assert_eq!(s.body, "Just text\n");
    }

    #[test]
    fn unclosed_fence_is_an_error() {
        assert_eq!(split("+++\ntitle = \"x\"\nBody").unwrap_err().0, 1);
    }

    #[test]
    fn errors_point_at_file_lines() {
        let s = split("+++\ntitle = \"A\"\ndate = \n+++\n").unwrap();
        let e = parse::<Meta>(&s, "x.md").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let s = split("---\ntitle: A\ndate: [\n---\n").unwrap();
        let e = parse::<Meta>(&s, "x.md").unwrap_err();
        assert!(e.line.is_some_and(|l| l >= 3), "{e}");
    }

    #[test]
    fn finds_nth_key_line() {
        let s = split("+++\n[[citations]]\nquote = \"a\"\n[[citations]]\nquote = \"b\"\n+++\n")
            .unwrap();
        assert_eq!(nth_key_line(&s, "quote", 0), Some(3));
        assert_eq!(nth_key_line(&s, "quote", 1), Some(5));
        let s =
            split("---\ncitations:\n  - article: x\n    quote: a\n  - quote: b\n---\n").unwrap();
        assert_eq!(nth_key_line(&s, "quote", 1), Some(5));
    }
}
