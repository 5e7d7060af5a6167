//! The site's URL layout, in one place. Every link carries the base path, so
//! the site works at `/`, under a GitHub Pages project path, or on a domain.

#[derive(Debug, Clone)]
pub struct Urls {
    /// Starts and ends with `/`.
    base: String,
    /// `https://host/base/`, or just the base path when no host is known.
    absolute_base: String,
}

impl Urls {
    pub fn new(base_path: &str, absolute_base: &str) -> Urls {
        Urls {
            base: base_path.to_string(),
            absolute_base: absolute_base.to_string(),
        }
    }

    /// A site URL (as the other methods return) made absolute, for feeds,
    /// the sitemap and data exports.
    pub fn absolute(&self, site_url: &str) -> String {
        let rest = site_url
            .strip_prefix(&self.base)
            .unwrap_or(site_url.trim_start_matches('/'));
        format!("{}{rest}", self.absolute_base)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A path below the base: `page("timeline/")` -> `/repo/timeline/`.
    pub fn page(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    pub fn article(&self, slug: &str) -> String {
        self.page(&format!("articles/{slug}/"))
    }

    pub fn passage(&self, slug: &str, paragraph: &str) -> String {
        format!("{}#{paragraph}", self.article(slug))
    }

    pub fn event(&self, slug: &str) -> String {
        self.page(&format!("events/{slug}/"))
    }

    pub fn month(&self, key: &str) -> String {
        self.page(&format!("months/{key}/"))
    }

    pub fn theme(&self, slug: &str) -> String {
        self.page(&format!("themes/{slug}/"))
    }

    pub fn entity(&self, slug: &str) -> String {
        self.page(&format!("entities/{slug}/"))
    }

    pub fn outlet(&self, slug: &str) -> String {
        self.page(&format!("outlets/{slug}/"))
    }

    pub fn language(&self, code: &str) -> String {
        self.page(&format!("languages/{code}/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_carries_the_base() {
        let u = Urls::new("/repo/", "https://u.github.io/repo/");
        assert_eq!(
            u.absolute(&u.event("e")),
            "https://u.github.io/repo/events/e/"
        );
        assert_eq!(u.article("a"), "/repo/articles/a/");
        assert_eq!(u.passage("a", "p3"), "/repo/articles/a/#p3");
        assert_eq!(u.page("/feed.xml"), "/repo/feed.xml");
        assert_eq!(Urls::new("/", "/").month("2022-06"), "/months/2022-06/");
    }
}
