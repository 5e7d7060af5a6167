//! Shared setup for the fuzz targets: the example dossier's taxonomies and a
//! normalizer built from them.

use dossier::config::Config;
use dossier::diagnostics::Diagnostics;
use dossier::load::{ArticleFormat, SourceArticle, SourceText};
use dossier::model::{Entity, Theme};
use dossier::normalize::Normalizer;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const THEMES: &str = include_str!("../../content/themes.toml");
const ENTITIES: &str = include_str!("../../content/entities.toml");

pub static TAXONOMY: LazyLock<(Vec<Theme>, Vec<Entity>)> = LazyLock::new(|| {
    let mut themes: BTreeMap<String, Vec<Theme>> = toml::from_str(THEMES).unwrap();
    let mut entities: BTreeMap<String, Vec<Entity>> = toml::from_str(ENTITIES).unwrap();
    (
        themes.remove("theme").unwrap_or_default(),
        entities.remove("entity").unwrap_or_default(),
    )
});

pub static NORMALIZER: LazyLock<Normalizer> = LazyLock::new(|| {
    let (themes, entities) = &*TAXONOMY;
    Normalizer::new(&Config::default(), themes, entities, &Diagnostics::new())
});

/// Splits fuzz input at the first NUL: the article before, the sidecar after
/// (if any). Text goes through the loader's cleaning, as files do.
pub fn article(data: &[u8], format: ArticleFormat) -> SourceArticle {
    let (text, sidecar) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let text = dossier::load::clean_text(&String::from_utf8_lossy(text));
    let ext = if format == ArticleFormat::Text {
        "txt"
    } else {
        "md"
    };
    SourceArticle {
        id: "fuzz".into(),
        stamp: Default::default(),
        format,
        source: SourceText {
            path: format!("content/articles/fuzz.{ext}"),
            text,
        },
        hash: "h".into(),
        sidecar: sidecar.map(|s| SourceText {
            path: "content/articles/fuzz.toml".into(),
            text: dossier::load::clean_text(&String::from_utf8_lossy(s)),
        }),
    }
}
