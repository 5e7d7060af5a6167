//! `dossier.toml`: what the dossier is called, where it is published, and how
//! clippings are normalized.

use std::path::Path;

use serde::Deserialize;

use crate::diagnostics::Diagnostic;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_title")]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Where the site is published; may carry a path (GitHub Pages project sites).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Language of the dossier's own pages (ISO 639-1).
    #[serde(default = "default_language")]
    pub language: String,
    /// Custom domain for GitHub Pages; written to `CNAME`.
    #[serde(default)]
    pub cname: Option<String>,
    #[serde(default)]
    pub normalize: NormalizeConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeConfig {
    /// Regexes: a paragraph matching one is boilerplate (kept, never shown).
    #[serde(default)]
    pub boilerplate: Vec<String>,
    /// Regexes: the first paragraph matching one, and all after it, are boilerplate.
    #[serde(default)]
    pub cut_from: Vec<String>,
    /// Keep the built-in patterns (web boilerplate seen in clippings) besides ours.
    #[serde(default = "yes")]
    pub builtin_patterns: bool,
    /// Languages the detector chooses among (ISO 639-1).
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            boilerplate: Vec::new(),
            cut_from: Vec::new(),
            builtin_patterns: true,
            languages: default_languages(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_title() -> String {
    "Dossier".to_string()
}
fn default_base_url() -> String {
    "/".to_string()
}
fn default_language() -> String {
    "en".to_string()
}
fn default_languages() -> Vec<String> {
    ["da", "nb", "sv", "de", "en"].map(String::from).to_vec()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            title: default_title(),
            description: String::new(),
            base_url: default_base_url(),
            language: default_language(),
            cname: None,
            normalize: NormalizeConfig::default(),
        }
    }
}

pub const CONFIG_FILE: &str = "dossier.toml";

impl Config {
    /// Reads `ROOT/dossier.toml`; a missing file means all defaults.
    pub fn load(root: &Path) -> Result<Config, Diagnostic> {
        let path = root.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(
                    Diagnostic::error(CONFIG_FILE, None, format!("cannot read: {e}"))
                        .with_hint("check the file's permissions and that it is UTF-8 text"),
                );
            }
        };
        Config::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Config, Diagnostic> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| crate::diagnostics::line_of_offset(text, s.start));
            Diagnostic::error(CONFIG_FILE, line, e.message().to_string())
                .with_hint("see README.md, section dossier.toml, for the keys it takes")
        })?;
        config.validate(text)?;
        Ok(config)
    }

    fn validate(&self, text: &str) -> Result<(), Diagnostic> {
        let line_of = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(key))
                .map(|i| i + 1)
        };
        if !(self.base_url.starts_with('/')
            || self.base_url.starts_with("http://")
            || self.base_url.starts_with("https://"))
        {
            return Err(Diagnostic::error(
                CONFIG_FILE,
                line_of("base_url"),
                format!("base_url {:?} is neither a URL nor a path", self.base_url),
            )
            .with_hint("write e.g. \"https://user.github.io/repo/\" or \"/\""));
        }
        for pattern in self
            .normalize
            .boilerplate
            .iter()
            .chain(&self.normalize.cut_from)
        {
            if let Err(e) = regex::Regex::new(pattern) {
                return Err(Diagnostic::error(
                    CONFIG_FILE,
                    line_of("boilerplate").or(line_of("cut_from")),
                    format!("invalid pattern {pattern:?}: {e}"),
                )
                .with_hint("patterns are regular expressions (Rust regex syntax)"));
            }
        }
        Ok(())
    }

    /// The path part of `base_url`, always starting and ending with `/`.
    pub fn base_path(&self) -> String {
        let rest = match self.base_url.split_once("://") {
            Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
            None => self.base_url.as_str(),
        };
        let trimmed = rest.trim_matches('/');
        if trimmed.is_empty() {
            "/".to_string()
        } else {
            format!("/{trimmed}/")
        }
    }

    /// Absolute origin + path for feeds and the sitemap, ending with `/`.
    /// A path-only base_url gives a path-only prefix (no host is invented).
    pub fn absolute_base(&self) -> String {
        match self.base_url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split('/').next().unwrap_or(rest);
                format!("{scheme}://{host}{}", self.base_path())
            }
            None => self.base_path(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_base(base: &str) -> Config {
        Config {
            base_url: base.to_string(),
            ..Config::default()
        }
    }

    #[test]
    fn base_path_of_urls_and_paths() {
        assert_eq!(with_base("/").base_path(), "/");
        assert_eq!(with_base("https://x.github.io/repo").base_path(), "/repo/");
        assert_eq!(with_base("https://x.github.io/repo/").base_path(), "/repo/");
        assert_eq!(with_base("https://example.org").base_path(), "/");
        assert_eq!(with_base("/a/b/").base_path(), "/a/b/");
        assert_eq!(
            with_base("https://x.github.io/repo").absolute_base(),
            "https://x.github.io/repo/"
        );
    }

    #[test]
    fn unknown_key_names_its_line() {
        let err = Config::parse("title = \"x\"\ntitel = \"y\"\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("titel"), "{}", err.message);
    }

    #[test]
    fn bad_regex_is_an_error() {
        let err = Config::parse("[normalize]\nboilerplate = [\"(\"]\n").unwrap_err();
        assert!(err.message.contains("invalid pattern"));
    }
}
