//! Template overrides: what the built-in templates print is what a desk's
//! own templates can print.

mod common;

use std::fs;

use common::*;

/// The list pages print each list by the `cards` filter (its cards' HTML
/// joined); an override looping over the cards themselves (`articles`,
/// each with its fields and its `html`) gives the same page, byte for byte.
#[test]
fn looping_over_the_cards_gives_what_the_cards_filter_gives() {
    let d = Dossier::example();
    let filtered = d.build_ok("filtered", &[]);

    let pages = [
        ("timeline.html", "timeline/index.html"),
        ("articles.html", "articles/index.html"),
        ("month.html", "months/2022-06/index.html"),
    ];
    for (template, _) in pages {
        let builtin = fs::read_to_string(repo().join("templates").join(template)).unwrap();
        assert!(
            builtin.contains("| cards }}"),
            "{template} prints lists by `cards`"
        );
        let mut looped = builtin.clone();
        for list in ["m.articles", "m.events", "articles", "events", "undated"] {
            looped = looped.replace(
                &format!("{{{{ {list} | cards }}}}"),
                &format!("{{% for card in {list} %}}{{{{ card.html }}}}{{% endfor %}}"),
            );
        }
        assert!(
            !looped.contains("| cards"),
            "{template}: every list replaced"
        );
        d.write(&format!("templates/{template}"), looped);
    }
    let looped = d.build_ok("looped", &[]);

    for (_, page) in pages {
        let (a, b) = (
            fs::read_to_string(filtered.join(page)).unwrap(),
            fs::read_to_string(looped.join(page)).unwrap(),
        );
        let cards = read_html(&filtered.join(page))
            .select(&sel("li.article-card, li.event-card"))
            .count();
        assert!(cards > 0, "{page} lists cards");
        assert_eq!(a, b, "{page}: the loop and the filter differ");
    }

    // A card's fields are there for a template of one's own.
    d.write(
        "templates/outlet.html",
        r#"{% extends "base.html" %}{% block content %}<ol id="own">{% for a in articles %}<li>{{ a.title }} ({{ a.date }})</li>{% endfor %}</ol>{% endblock content %}"#,
    );
    let own = d.build_ok("own", &[]);
    let outlets = fs::read_dir(own.join("outlets")).unwrap().flatten();
    let mut listed = 0;
    for outlet in outlets.filter(|e| e.path().is_dir()) {
        let html = read_html(&outlet.path().join("index.html"));
        for li in html.select(&sel("#own li")) {
            let text = text_of(li);
            assert!(text.ends_with(')') && text.contains(" (20"), "{text}");
            listed += 1;
        }
    }
    let records = records(&own);
    let with_outlet = records.values().filter(|r| !r["outlet"].is_null()).count();
    assert_eq!(
        listed, with_outlet,
        "each article with an outlet is listed once"
    );
}
