//! Former URLs (`aliases`): an article or event that changed its slug keeps a
//! page at each old one that forwards to the new one; a bad alias is an error
//! at its line.

mod common;

use common::*;

const SIDECAR: &str = "content/articles/001_9b10334a7624b0a2.toml";
const EVENT: &str = "content/events/2022-05-lukashenko-ap-interview.md";

/// Puts `lines` at the top of the file `rel`.
fn prepend(d: &Dossier, rel: &str, lines: &str) {
    let text = d.read(rel);
    d.write(rel, format!("{lines}{text}"));
}

#[test]
fn former_slugs_forward_and_stay_out_of_the_sitemap() {
    let d = Dossier::example();
    prepend(
        &d,
        SIDECAR,
        "slug = \"ntb-iskander\"\naliases = [\"001-9b10334a7624b0a2\", \"old-ntb\"]\n",
    );
    let event = d.read(EVENT);
    d.write(
        EVENT,
        event.replacen("+++\n", "+++\naliases = [\"lukashenko-interview\"]\n", 1),
    );
    let base = "https://example.github.io/demo/";
    let out = d.build_ok("site", &["--base-url", base]);

    for (old, new) in [
        ("articles/001-9b10334a7624b0a2", "articles/ntb-iskander"),
        ("articles/old-ntb", "articles/ntb-iskander"),
        (
            "events/lukashenko-interview",
            "events/2022-05-lukashenko-ap-interview",
        ),
    ] {
        let page = read_html(&out.join(format!("{old}/index.html")));
        let target = format!("/demo/{new}/");
        let refresh = page
            .select(&sel("meta[http-equiv=refresh]"))
            .next()
            .and_then(|m| m.value().attr("content"))
            .unwrap_or_else(|| panic!("{old}: no refresh"));
        assert_eq!(refresh, format!("0; url={target}"), "{old}");
        let script = page
            .select(&sel("script[data-target]"))
            .next()
            .unwrap_or_else(|| panic!("{old}: no forwarding script"));
        assert_eq!(script.value().attr("data-target"), Some(target.as_str()));
        assert_eq!(script.value().attr("src"), Some("/demo/static/forward.js"));
        let canonical = page
            .select(&sel("link[rel=canonical]"))
            .next()
            .and_then(|l| l.value().attr("href"));
        assert_eq!(canonical, Some(format!("{base}{new}/").as_str()), "{old}");
        let robots = page.select(&sel("meta[name=robots]")).next();
        assert_eq!(
            robots.and_then(|m| m.value().attr("content")),
            Some("noindex")
        );
        let link = page.select(&sel("body a")).next().expect("a link on");
        assert_eq!(link.value().attr("href"), Some(target.as_str()));
        assert!(
            out.join(format!("{new}/index.html")).is_file(),
            "{new} exists"
        );
    }
    assert!(out.join("static/forward.js").is_file());

    let sitemap = std::fs::read_to_string(out.join("sitemap.xml")).unwrap();
    assert!(sitemap.contains(&format!("{base}articles/ntb-iskander/")));
    for old in ["001-9b10334a7624b0a2", "old-ntb", "lukashenko-interview"] {
        assert!(!sitemap.contains(old), "the sitemap lists the former {old}");
    }
    let records = records(&out);
    assert_eq!(
        records["001_9b10334a7624b0a2"]["aliases"],
        serde_json::json!(["001-9b10334a7624b0a2", "old-ntb"])
    );
    assert!(records["000_8efa8f5a46d18ba7"].get("aliases").is_none());
    let events = events(&out);
    let e = events
        .iter()
        .find(|e| e["id"] == "2022-05-lukashenko-ap-interview")
        .unwrap();
    assert_eq!(e["aliases"], serde_json::json!(["lukashenko-interview"]));
}

#[test]
fn a_bad_alias_is_an_error_at_its_line() {
    let cases = [
        (
            "aliases = [\"Old Slug\"]\n",
            "alias \"Old Slug\" is not a URL-safe slug",
        ),
        (
            "aliases = [\"002-a3637277b07c1ceb\"]\n",
            "alias \"002-a3637277b07c1ceb\" is the slug of another article",
        ),
        (
            "aliases = [\"001-9b10334a7624b0a2\"]\n",
            "alias \"001-9b10334a7624b0a2\" is this article's own slug",
        ),
        (
            "aliases = [\"old\", \"old\"]\n",
            "alias \"old\" is given twice",
        ),
    ];
    for (lines, message) in cases {
        let d = Dossier::example();
        prepend(&d, SIDECAR, &format!("# moved\n{lines}"));
        let run = d.build(&d.out("site"), &[]);
        run.assert_fails();
        run.assert_stderr(&format!("{SIDECAR}:2: error: {message}"));
    }

    // Two articles claiming one former slug: the second names the first.
    let d = Dossier::example();
    prepend(&d, SIDECAR, "aliases = [\"shared\"]\n");
    let other = "content/articles/004_fdb09750b2c18041.toml";
    prepend(&d, other, "\naliases = [\"shared\"]\n");
    let run = d.build(&d.out("site"), &[]);
    run.assert_fails();
    run.assert_stderr(&format!(
        "{other}:2: error: alias \"shared\" is also an alias of content/articles/001_9b10334a7624b0a2.txt"
    ));

    // An event's alias naming another event.
    let d = Dossier::example();
    let event = d.read(EVENT);
    d.write(
        EVENT,
        event.replacen(
            "+++\n",
            "+++\naliases = [\"2022-05-g7-urges-belarus-to-stop-enabling-aggression\"]\n",
            1,
        ),
    );
    let run = d.build(&d.out("site"), &[]);
    run.assert_fails();
    run.assert_stderr(&format!(
        "{EVENT}:2: error: alias \"2022-05-g7-urges-belarus-to-stop-enabling-aggression\" is the slug of another event"
    ));
}
