//! Every internal link of the built site resolves, fragments included, under
//! the default base URL and under a GitHub Pages project path.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use scraper::Html;

const PROJECT_BASE: &str = "https://example.github.io/dossier-demo/";

/// A link found in a page.
struct Link {
    page: String,
    attr: &'static str,
    value: String,
}

/// Every href/src of every .html file, and the ids of each page.
fn crawl(out: &Path) -> (Vec<Link>, BTreeMap<String, BTreeSet<String>>) {
    let files = site_files(out);
    let mut links = Vec::new();
    let mut ids = BTreeMap::new();
    let html_files: Vec<&String> = files.keys().filter(|p| p.ends_with(".html")).collect();
    assert!(html_files.len() > 50, "only {} pages", html_files.len());
    for page in html_files {
        let html =
            Html::parse_document(std::str::from_utf8(&files[page]).expect("pages are UTF-8"));
        let mut page_ids = BTreeSet::new();
        for element in html.select(&sel("*")) {
            let e = element.value();
            if let Some(id) = e.attr("id") {
                page_ids.insert(id.to_string());
            }
            for attr in ["href", "src"] {
                if let Some(value) = e.attr(attr) {
                    links.push(Link {
                        page: page.clone(),
                        attr,
                        value: value.to_string(),
                    });
                }
            }
        }
        ids.insert(page.clone(), page_ids);
    }
    (links, ids)
}

/// The file a site path (below the base, no fragment) stands for.
fn file_for(path: &str, files: &BTreeMap<String, BTreeSet<String>>, out: &Path) -> Option<String> {
    let path = path.trim_start_matches('/');
    let candidate = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    if files.contains_key(&candidate) || out.join(&candidate).is_file() {
        return Some(candidate);
    }
    // `dir` without a trailing slash.
    let index = format!("{path}/index.html");
    files.contains_key(&index).then_some(index)
}

/// Joins a relative link onto the folder of the page holding it.
fn resolve_relative(page: &str, link: &str) -> String {
    let mut parts: Vec<&str> = page.split('/').collect();
    parts.pop(); // the page's own file name
    for segment in link.split('/') {
        match segment {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if link.ends_with('/') && !joined.ends_with('/') {
        format!("{joined}/")
    } else {
        joined
    }
}

/// Checks every internal link; returns the broken ones, described.
fn broken_links(out: &Path, base_path: &str, absolute_base: Option<&str>) -> (Vec<String>, usize) {
    let (links, ids) = crawl(out);
    let mut broken = Vec::new();
    let mut checked = 0;
    for link in &links {
        let value = link.value.as_str();
        let (target, fragment) = match value.split_once('#') {
            Some((t, f)) => (t, Some(f)),
            None => (value, None),
        };
        // A query (filters read by script) does not change which file is served.
        let target = target.split_once('?').map_or(target, |(t, _)| t);
        // Site path below the base, or None for an external link.
        let site_path: Option<String> = if target.is_empty() {
            Some(link.page.clone())
        } else if let Some(rest) = absolute_base.and_then(|b| target.strip_prefix(b)) {
            Some(rest.to_string())
        } else if target.contains("://")
            || target.starts_with("mailto:")
            || target.starts_with("//")
        {
            None
        } else if target.starts_with("data:") || target.starts_with("javascript:") {
            broken.push(format!(
                "{}: {}={value:?}: unexpected scheme",
                link.page, link.attr
            ));
            None
        } else if let Some(rest) = target.strip_prefix(base_path) {
            Some(rest.to_string())
        } else if target.starts_with('/') {
            broken.push(format!(
                "{}: {}={value:?}: outside the base path {base_path}",
                link.page, link.attr
            ));
            None
        } else {
            Some(resolve_relative(&link.page, target))
        };
        let Some(site_path) = site_path else { continue };
        checked += 1;
        let Some(file) = file_for(&site_path, &ids, out) else {
            broken.push(format!("{}: {}={value:?}: no file", link.page, link.attr));
            continue;
        };
        if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
            match ids.get(&file) {
                Some(page_ids) if page_ids.contains(fragment) => {}
                Some(_) => broken.push(format!(
                    "{}: {}={value:?}: no id {fragment:?} in {file}",
                    link.page, link.attr
                )),
                None => broken.push(format!(
                    "{}: {}={value:?}: fragment into non-HTML {file}",
                    link.page, link.attr
                )),
            }
        }
    }
    (broken, checked)
}

#[test]
fn every_internal_link_resolves_at_the_root() {
    let (_d, out) = example_site();
    let (broken, checked) = broken_links(&out, "/", None);
    assert!(checked > 500, "only {checked} internal links checked");
    assert!(
        broken.is_empty(),
        "{} broken links:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn the_crawler_notices_broken_links_and_fragments() {
    let (_d, out) = example_site();
    let page = out.join("timeline/index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let injected = html.replacen(
        "<main id=\"main\">",
        "<main id=\"main\"><a href=\"/nowhere/\">x</a><a href=\"/articles/#no-such-id\">y</a><a href=\"../months/2022-05/#p999\">z</a><a href=\"../timeline/\">ok</a>",
        1,
    );
    assert_ne!(html, injected, "the timeline has <main id=\"main\">");
    std::fs::write(&page, injected).unwrap();
    let (broken, _) = broken_links(&out, "/", None);
    assert_eq!(broken.len(), 3, "{broken:#?}");
}

#[test]
fn every_internal_link_resolves_under_a_project_path() {
    let d = Dossier::example();
    let out = d.build_ok("site", &["--base-url", PROJECT_BASE]);
    let (broken, checked) = broken_links(&out, "/dossier-demo/", Some(PROJECT_BASE));
    assert!(checked > 500, "only {checked} internal links checked");
    assert!(
        broken.is_empty(),
        "{} broken links:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn project_path_is_in_every_root_relative_link() {
    let d = Dossier::example();
    let out = d.build_ok("site", &["--base-url", PROJECT_BASE]);
    let (links, _) = crawl(&out);
    let bad: Vec<String> = links
        .iter()
        .filter(|l| l.value.starts_with('/') && !l.value.starts_with("/dossier-demo/"))
        .map(|l| format!("{}: {}={:?}", l.page, l.attr, l.value))
        .collect();
    assert!(
        bad.is_empty(),
        "links without the base path:\n{}",
        bad.join("\n")
    );

    // Raw text too: catches links in inline styles, scripts and meta tags.
    for (path, bytes) in site_files(&out) {
        if !path.ends_with(".html") && !path.ends_with(".css") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for attr in ["href=\"/", "src=\"/", "action=\"/", "url(/", "content=\"/"] {
            for (at, _) in text.match_indices(attr) {
                let rest = &text[at + attr.len() - 1..];
                assert!(
                    rest.starts_with("/dossier-demo/"),
                    "{path}: {}",
                    &rest[..rest.len().min(80)]
                );
            }
        }
    }
}

/// Text between `<tag>` and `</tag>`, for every occurrence.
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|s| {
            s.split_once(&close)
                .map(|(inner, _)| inner.trim().to_string())
        })
        .collect()
}

/// Values of `attr="…"` in `xml`.
fn attributes(xml: &str, attr: &str) -> Vec<String> {
    let key = format!("{attr}=\"");
    xml.split(&key)
        .skip(1)
        .filter_map(|s| s.split_once('"').map(|(v, _)| v.to_string()))
        .collect()
}

#[test]
fn sitemap_feed_and_robots_use_the_absolute_base() {
    let d = Dossier::example();
    let out = d.build_ok("site", &["--base-url", PROJECT_BASE]);
    let pages: BTreeSet<String> = site_files(&out).into_keys().collect();
    let exists = |url: &str| {
        let rest = url.strip_prefix(PROJECT_BASE).unwrap();
        let file = if rest.is_empty() || rest.ends_with('/') {
            format!("{rest}index.html")
        } else {
            rest.to_string()
        };
        pages.contains(&file)
    };

    let sitemap = std::fs::read_to_string(out.join("sitemap.xml")).unwrap();
    let locs = elements(&sitemap, "loc");
    assert!(locs.len() > 50, "{} <loc>s", locs.len());
    for loc in &locs {
        assert!(loc.starts_with(PROJECT_BASE), "sitemap <loc>{loc}</loc>");
        assert!(exists(loc), "sitemap <loc>{loc}</loc> names no page");
    }
    for page in pages
        .iter()
        .filter(|p| p.ends_with("/index.html") && !p.starts_with("static/"))
    {
        let url = format!("{PROJECT_BASE}{}", page.trim_end_matches("index.html"));
        assert!(locs.contains(&url), "{page} is not in the sitemap");
    }

    let feed = std::fs::read_to_string(out.join("feed.xml")).unwrap();
    let hrefs = attributes(&feed, "href");
    assert!(hrefs.len() > 5, "{} feed links", hrefs.len());
    for href in &hrefs {
        assert!(href.starts_with(PROJECT_BASE), "feed link {href}");
        assert!(exists(href), "feed link {href} names no file");
    }
    for id in elements(&feed, "id") {
        assert!(
            id.starts_with(PROJECT_BASE) || id.starts_with("urn:"),
            "feed <id>{id}</id>"
        );
    }

    let robots = std::fs::read_to_string(out.join("robots.txt")).unwrap();
    assert!(
        robots.contains(&format!("Sitemap: {PROJECT_BASE}sitemap.xml")),
        "{robots}"
    );

    for e in events(&out) {
        for c in e["citations"].as_array().unwrap() {
            let url = c["url"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("{PROJECT_BASE}articles/")),
                "citation url {url}"
            );
        }
    }
}

#[test]
fn links_resolve_with_unusual_content() {
    // An undated article with a non-ASCII id containing a space, a markdown
    // article with headings and its own outlet, an event citing nothing in a
    // month no article has.
    let d = Dossier::example();
    d.write(
        "content/articles/Ünïcode id.txt",
        "Putin og Lukasjenko mødtes igen i Minsk for at tale om missiler.\n\nDe to ledere talte længe om atomvåben.\n",
    );
    d.write(
        "content/articles/notat.md",
        "+++\ntitle = \"Notat om S-400\"\ndate = \"2022-05-03\"\nlanguage = \"da\"\noutlet = \"Min Avis & Co\"\n+++\n# Overskrift\n\nRusland har sendt **S-400** til Hviderusland.\n\n## Mere\n\nEt andet afsnit med [et link](https://example.org).\n",
    );
    d.write(
        "content/events/zz-nocite.md",
        "+++\ndate = \"2021-11\"\ntitle = \"No sources yet\"\nthemes = [\"union-state\"]\n+++\nSee [notat](@/articles/notat#p2).\n",
    );
    // Ids whose slugs collide ("a-b", "a_b"), and events whose slugs collide.
    d.write(
        "content/articles/a_b.txt",
        "date 2022-05 Rusland sender missiler til Hviderusland.\n\nMere tekst.\n",
    );
    d.write(
        "content/articles/a-b.txt",
        "date 2022-05-02 Rusland sender atomvåben til Hviderusland.\n\nMere tekst.\n",
    );
    d.write(
        "content/events/a b.md",
        "+++\ndate = \"2022-05\"\ntitle = \"X\"\n[[citations]]\narticle = \"a_b\"\nquote = \"sender missiler\"\n[[citations]]\narticle = \"a-b\"\nquote = \"sender atomvåben\"\n+++\n[1](@/articles/a_b#p1) [2](@/articles/a-b#p1) [3](@/events/a-b)\n",
    );
    d.write(
        "content/events/a-b.md",
        "+++\ndate = \"2022-05\"\ntitle = \"Y\"\n+++\n[e](<@/events/a b>)\n",
    );
    for (name, base, base_path, absolute) in [
        ("root", "/", "/", None),
        (
            "project",
            PROJECT_BASE,
            "/dossier-demo/",
            Some(PROJECT_BASE),
        ),
    ] {
        let out = d.build_ok(name, &["--base-url", base]);
        assert!(out.join("articles/unicode-id/index.html").is_file());
        assert!(out.join("articles/notat/index.html").is_file());
        assert!(out.join("months/2021-11/index.html").is_file());
        let slugs: BTreeSet<String> = records(&out)
            .values()
            .map(|r| r["slug"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(slugs.len(), 9, "slugs are unique: {slugs:?}");
        let (broken, _) = broken_links(&out, base_path, absolute);
        assert!(
            broken.is_empty(),
            "{name}: {} broken links:\n{}",
            broken.len(),
            broken.join("\n")
        );
    }
}

#[test]
fn base_url_from_dossier_toml_is_used_too() {
    let d = Dossier::example();
    d.edit(
        "dossier.toml",
        "base_url = \"/\"",
        &format!("base_url = \"{PROJECT_BASE}\""),
    );
    let out = d.build_ok("site", &[]);
    let (broken, _) = broken_links(&out, "/dossier-demo/", Some(PROJECT_BASE));
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    let sitemap = std::fs::read_to_string(out.join("sitemap.xml")).unwrap();
    assert!(
        sitemap.contains(&format!("<loc>{PROJECT_BASE}</loc>")),
        "{sitemap}"
    );
}

#[test]
fn not_found_page_links_work_from_any_depth() {
    // GitHub Pages serves 404.html at the missing URL's own path: its links
    // must be root-relative (carry the base), never relative.
    let d = Dossier::example();
    let out = d.build_ok("site", &["--base-url", PROJECT_BASE]);
    let (links, _) = crawl(&out);
    let relative: Vec<&Link> = links
        .iter()
        .filter(|l| l.page == "404.html")
        .filter(|l| {
            !l.value.starts_with('/') && !l.value.starts_with('#') && !l.value.contains("://")
        })
        .collect();
    assert!(
        relative.is_empty(),
        "relative links in 404.html: {:?}",
        relative.iter().map(|l| &l.value).collect::<Vec<_>>()
    );
}

/// Each theme and each entity has an Atom feed beside its page, linked from
/// its head: its entries are exactly the group's dated articles and events
/// (the example has fewer than 50 in each), newest first, under the
/// absolute base.
#[test]
fn each_theme_and_entity_has_a_feed_of_its_own_entries() {
    let d = Dossier::example();
    let out = d.build_ok("site", &["--base-url", PROJECT_BASE]);
    let records = records(&out);
    let events = events(&out);
    for (kind, field, at_least) in [("themes", "themes", 10), ("entities", "entities", 10)] {
        let mut feeds = 0;
        for group in std::fs::read_dir(out.join(kind)).unwrap().flatten() {
            if !group.path().is_dir() {
                continue;
            }
            let slug = group.file_name().to_string_lossy().into_owned();
            let feed = std::fs::read_to_string(group.path().join("feed.xml"))
                .unwrap_or_else(|e| panic!("{kind}/{slug}/feed.xml: {e}"));
            feeds += 1;
            let feed_url = format!("{PROJECT_BASE}{kind}/{slug}/feed.xml");
            assert!(
                attributes(&feed, "href").contains(&feed_url),
                "{slug}: self link"
            );
            let ids = elements(&feed, "id");
            assert_eq!(ids[0], feed_url, "{slug}: the feed's id");

            let in_group = |v: &serde_json::Value| {
                v[field]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == slug.as_str())
            };
            let mut expected: BTreeSet<String> = records
                .values()
                .filter(|r| in_group(r) && r["date"].is_string())
                .map(|r| format!("urn:dossier:article:{}", r["id"].as_str().unwrap()))
                .collect();
            expected.extend(
                events
                    .iter()
                    .filter(|e| in_group(e))
                    .map(|e| format!("urn:dossier:event:{}", e["id"].as_str().unwrap())),
            );
            let found: BTreeSet<String> = ids[1..].iter().cloned().collect();
            assert_eq!(found, expected, "{kind}/{slug}: the feed's entries");
            let updated = elements(&feed, "updated");
            assert!(
                updated[1..].windows(2).all(|w| w[0] >= w[1]),
                "{slug}: entries newest first: {updated:?}"
            );

            let page = read_html(&group.path().join("index.html"));
            let alternates: Vec<&str> = page
                .select(&sel(
                    "head link[rel=alternate][type='application/atom+xml']",
                ))
                .filter_map(|l| l.value().attr("href"))
                .collect();
            assert!(
                alternates.contains(&format!("/dossier-demo/{kind}/{slug}/feed.xml").as_str()),
                "{slug}: the page's head links its feed: {alternates:?}"
            );
        }
        assert!(feeds >= at_least, "{feeds} {kind} feeds");
    }
}
