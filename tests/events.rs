//! Events and their citations: verified against the articles, highlighted on
//! the article pages, linked both ways, exported; and every way a citation can
//! be wrong is a build error at the right line.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use scraper::ElementRef;
use serde_json::Value;

fn citations(event: &Value) -> &Vec<Value> {
    event["citations"].as_array().expect("citations array")
}

fn paragraph_text<'a>(records: &'a BTreeMap<String, Value>, article: &str, id: &str) -> &'a str {
    records[article]["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{article} has no paragraph {id}"))["text"]
        .as_str()
        .unwrap()
}

#[test]
fn events_cover_every_seed_and_every_quote_is_in_its_paragraph() {
    let (_d, out) = example_site();
    let records = records(&out);
    let events = events(&out);
    assert!(events.len() >= 12, "{} events", events.len());
    assert_eq!(events.len(), 24, "the example dossier has 24 event files");

    let mut cited: BTreeSet<&str> = BTreeSet::new();
    for e in &events {
        for field in [
            "id",
            "slug",
            "date",
            "precision",
            "month",
            "title",
            "themes",
            "entities",
            "citations",
        ] {
            assert!(e.get(field).is_some(), "{}: {field} missing", e["id"]);
        }
        for c in citations(e) {
            for field in [
                "article",
                "quote",
                "paragraph",
                "translation",
                "note",
                "url",
            ] {
                assert!(
                    c.get(field).is_some(),
                    "{}: citation field {field} missing",
                    e["id"]
                );
            }
            let article = c["article"].as_str().unwrap();
            cited.insert(article);
            let paragraph = c["paragraph"].as_str().unwrap();
            let text = paragraph_text(&records, article, paragraph);
            let quote = c["quote"].as_str().unwrap();
            assert!(
                fold(text).contains(&fold(quote)),
                "{}: quote {quote:?} is not in {article} {paragraph}: {text:?}",
                e["id"]
            );
            let slug = records[article]["slug"].as_str().unwrap();
            assert!(
                c["url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("articles/{slug}/#{paragraph}")),
                "{}: url {}",
                e["id"],
                c["url"]
            );
        }
    }
    let all: BTreeSet<&str> = records.keys().map(String::as_str).collect();
    assert_eq!(cited, all, "every seed article is cited at least once");
}

/// The element with `id` on a page, and the `.passage` (or other parent) around it.
fn by_id<'a>(html: &'a scraper::Html, id: &str) -> Option<ElementRef<'a>> {
    html.select(&sel(&format!("[id=\"{id}\"]"))).next()
}

#[test]
fn cited_passages_are_marked_and_link_back_to_their_events() {
    let (_d, out) = example_site();
    let records = records(&out);
    let mut pages = BTreeMap::new();
    let mut marks = 0;
    for e in events(&out) {
        let event_slug = e["slug"].as_str().unwrap();
        let event_href = format!("/events/{event_slug}/");
        for (n, c) in citations(&e).iter().enumerate() {
            let article = c["article"].as_str().unwrap();
            let paragraph = c["paragraph"].as_str().unwrap();
            let html = pages
                .entry(article.to_string())
                .or_insert_with(|| read_html(&article_page(&out, article)));
            let p = by_id(html, paragraph)
                .unwrap_or_else(|| panic!("{article}: no #{paragraph} on the page"));

            // The quote is highlighted in that paragraph, under its own id.
            let mark_id = format!("q-{event_slug}-{}", n + 1);
            let mark = p
                .select(&sel(&format!("mark[id=\"{mark_id}\"]")))
                .next()
                .unwrap_or_else(|| panic!("{article} #{paragraph}: no <mark id={mark_id}>"));
            let quote = c["quote"].as_str().unwrap();
            assert_eq!(fold(&text_of(mark)), fold(quote), "{mark_id}");
            marks += 1;

            // The paragraph's "Cited by" aside links to the event.
            let passage = p
                .parent()
                .and_then(ElementRef::wrap)
                .expect("the paragraph has a parent element");
            let links: Vec<String> = passage
                .select(&sel("aside a"))
                .filter_map(|a| a.value().attr("href").map(str::to_string))
                .collect();
            assert!(
                links.contains(&event_href),
                "{article} #{paragraph}: the aside does not link to {event_href}: {links:?}"
            );
            let aside = passage.select(&sel("aside")).next().unwrap();
            assert!(text_of(aside).contains("Cited by"), "{}", text_of(aside));
            // And the text around the mark is the paragraph's text.
            assert!(
                fold(&text_of(p)).contains(&fold(paragraph_text(&records, article, paragraph))),
                "{article} #{paragraph}: shown text differs from the record"
            );
        }
    }
    assert!(marks >= 40, "{marks} marks");
}

#[test]
fn event_pages_list_their_sources() {
    let (_d, out) = example_site();
    for e in events(&out) {
        let slug = e["slug"].as_str().unwrap();
        let html = read_html(&out.join(format!("events/{slug}/index.html")));
        let title = text_of(html.select(&sel("h1")).next().expect("h1"));
        assert_eq!(title, e["title"].as_str().unwrap());
        let hrefs: BTreeSet<String> = html
            .select(&sel("a"))
            .filter_map(|a| a.value().attr("href").map(str::to_string))
            .collect();
        for c in citations(&e) {
            let url = c["url"].as_str().unwrap();
            assert!(hrefs.contains(url), "{slug}: no link to the passage {url}");
        }
    }
}

#[test]
fn some_event_is_reported_in_two_languages() {
    let (_d, out) = example_site();
    let records = records(&out);
    let multilingual: Vec<String> = events(&out)
        .iter()
        .filter(|e| {
            let languages: BTreeSet<&str> = citations(e)
                .iter()
                .map(|c| {
                    records[c["article"].as_str().unwrap()]["language"]
                        .as_str()
                        .unwrap()
                })
                .collect();
            languages.len() >= 2
        })
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!multilingual.is_empty());
    assert!(
        multilingual.contains(&"2022-06-25-putin-pledges-iskander-m".to_string()),
        "{multilingual:?}"
    );
}

#[test]
fn month_precision_dates_never_get_a_day() {
    let (_d, out) = example_site();
    let events = events(&out);
    let timeline = read_html(&out.join("timeline/index.html"));
    let cards: Vec<ElementRef> = timeline.select(&sel("li.event-card")).collect();
    assert_eq!(
        cards.len(),
        events.len(),
        "one card per event on the timeline"
    );
    let months = [
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
    let mut month_precision = 0;
    for e in &events {
        let href = format!("/events/{}/", e["slug"].as_str().unwrap());
        let card = cards
            .iter()
            .find(|c| {
                c.select(&sel("a.event-title"))
                    .any(|a| a.value().attr("href") == Some(href.as_str()))
            })
            .unwrap_or_else(|| panic!("no timeline card for {href}"));
        let time = card.select(&sel("time")).next().expect("a <time>");
        let date = e["date"].as_str().unwrap();
        let (year, month): (&str, usize) = (&date[..4], date[5..7].parse().unwrap());
        let name = months[month - 1];
        assert_eq!(time.value().attr("datetime"), Some(date), "{href}");
        let shown = text_of(time);
        match e["precision"].as_str().unwrap() {
            "month" => {
                month_precision += 1;
                assert_eq!(date.len(), 7, "{href}: {date}");
                assert_eq!(shown, format!("{name} {year}"), "{href}");
            }
            "day" => {
                let day: u32 = date[8..].parse().unwrap();
                assert_eq!(shown, format!("{day} {name} {year}"), "{href}");
            }
            other => panic!("{href}: precision {other}"),
        }
    }
    assert!(month_precision >= 5);
    let may = timeline
        .select(&sel("time[datetime=\"2022-05\"]"))
        .next()
        .expect("a May 2022 event");
    assert_eq!(text_of(may), "May 2022");
}

#[test]
fn events_csv_has_a_row_per_citation() {
    let (_d, out) = example_site();
    let events = events(&out);
    let mut reader = csv::Reader::from_path(out.join("data/events.csv")).expect("open events.csv");
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    for column in [
        "event",
        "date",
        "precision",
        "title",
        "article",
        "paragraph",
        "quote",
        "url",
    ] {
        assert!(
            header.iter().any(|h| h == column),
            "column {column} missing from {header:?}"
        );
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a CSV row")).collect();
    let expected: usize = events.iter().map(|e| citations(e).len().max(1)).sum();
    assert_eq!(rows.len(), expected);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut i = 0;
    for e in &events {
        for c in citations(e) {
            let row = &rows[i];
            assert_eq!(&row[col("event")], e["id"].as_str().unwrap());
            assert_eq!(&row[col("article")], c["article"].as_str().unwrap());
            assert_eq!(&row[col("paragraph")], c["paragraph"].as_str().unwrap());
            assert_eq!(&row[col("quote")], c["quote"].as_str().unwrap());
            i += 1;
        }
        if citations(e).is_empty() {
            i += 1;
        }
    }
}

#[test]
fn annotations_have_one_text_quote_selector_per_citation() {
    let (_d, out) = example_site();
    let records = records(&out);
    let events = events(&out);
    let doc = read_json(&out.join("data/annotations.jsonld"));
    assert_eq!(doc["type"], "AnnotationCollection");
    assert!(doc["@context"].as_str().unwrap().contains("w3.org/ns/anno"));
    let items = doc["first"]["items"].as_array().expect("first.items");
    let total: usize = events.iter().map(|e| citations(e).len()).sum();
    assert_eq!(items.len(), total);
    assert_eq!(doc["total"], total);

    let by_id: BTreeMap<&str, &Value> = items
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a))
        .collect();
    assert_eq!(by_id.len(), total, "annotation ids are unique");
    for e in &events {
        for (n, c) in citations(e).iter().enumerate() {
            let id = format!(
                "/events/{}/#citation-{}",
                e["slug"].as_str().unwrap(),
                n + 1
            );
            let a = by_id
                .get(id.as_str())
                .unwrap_or_else(|| panic!("no annotation {id}"));
            assert_eq!(a["type"], "Annotation");
            let selectors = a["target"]["selector"].as_array().unwrap();
            let quote_selectors: Vec<&Value> = selectors
                .iter()
                .filter(|s| s["type"] == "TextQuoteSelector")
                .collect();
            assert_eq!(quote_selectors.len(), 1, "{id}");
            let exact = quote_selectors[0]["exact"].as_str().unwrap();
            let article = c["article"].as_str().unwrap();
            let paragraph = c["paragraph"].as_str().unwrap();
            let text = paragraph_text(&records, article, paragraph);
            assert!(
                text.contains(exact),
                "{id}: exact {exact:?} is not verbatim in {paragraph}"
            );
            assert_eq!(fold(exact), fold(c["quote"].as_str().unwrap()), "{id}");
            let prefix = quote_selectors[0]["prefix"].as_str().unwrap();
            let suffix = quote_selectors[0]["suffix"].as_str().unwrap();
            assert!(
                text.contains(&format!("{prefix}{exact}{suffix}")),
                "{id}: prefix/exact/suffix not contiguous"
            );
            let fragment = selectors
                .iter()
                .find(|s| s["type"] == "FragmentSelector")
                .expect("FragmentSelector");
            assert_eq!(fragment["value"], paragraph);
            let slug = records[article]["slug"].as_str().unwrap();
            assert_eq!(a["target"]["source"], format!("/articles/{slug}/"));
        }
    }
}

// --- Verification failures, through the binary -----------------------------

const PLEDGE: &str = "content/events/2022-06-25-putin-pledges-iskander-m.md";
const PLEDGE_QUOTE: &str =
    "Wir werden die taktischen Raketensysteme Iskander-M nach Weißrussland verlegen";

/// Writes `content/events/NAME.md` citing `article` with `quote` (TOML string
/// syntax, quotes included): `article =` is line 7, `quote =` line 8, and the
/// markdown `body` starts at line 10.
fn write_event(d: &Dossier, name: &str, article: &str, quote: &str, body: &str) -> String {
    let path = format!("content/events/{name}.md");
    d.write(
        &path,
        format!(
            "+++\ndate = \"2022-06\"\ntitle = \"Test event\"\nthemes = [\"missile-systems\"]\n\n[[citations]]\narticle = \"{article}\"\nquote = {quote}\n+++\n{body}\n"
        ),
    );
    path
}

#[test]
fn a_misquote_fails_check_and_build_at_its_line_and_keeps_the_old_site() {
    let d = Dossier::example();
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    let before = site_files(&out);

    let line = line_of(&d.read(PLEDGE), PLEDGE_QUOTE);
    d.edit(
        PLEDGE,
        PLEDGE_QUOTE,
        "Wir werden die taktischen Raketensysteme Iskander-M nach Weißrussland schicken",
    );

    let check = d.check();
    check.assert_fails();
    check.assert_stderr(&format!("{PLEDGE}:{line}: error: quote not found"));
    let hint = check
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("hint: closest passage"))
        .unwrap_or_else(|| panic!("no closest-passage hint: {check}"));
    assert!(hint.contains("p7"), "the closest passage is 003 p7: {hint}");
    assert!(
        fold(hint)
            .contains("wir werden die taktischen raketensysteme iskander-m nach weißrussland"),
        "{hint}"
    );
    assert_eq!(check.diagnostics("error").len(), 1, "{check}");
    assert!(!d.path("public").exists(), "check wrote public/");

    let build = d.build(&out, &[]);
    build.assert_fails();
    build.assert_stderr(&format!("{PLEDGE}:{line}: error: quote not found"));
    assert!(
        build.stdout.is_empty() || !build.stdout.contains("built"),
        "{build}"
    );
    let after = site_files(&out);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the failed build changed the set of files"
    );
    assert!(
        before == after,
        "the failed build changed the previous site"
    );
    let leftovers: Vec<String> = std::fs::read_dir(d.tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("dossier-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_quote_found_twice_is_ambiguous() {
    let d = Dossier::example();
    let path = write_event(
        &d,
        "zz-twice",
        seed("001"),
        "\"Aleksandr Lukasjenko\"",
        "Body.",
    );
    let check = d.check();
    check.assert_fails();
    check.assert_stderr(&format!(
        "{path}:8: error: quote occurs 2 times in {}",
        seed("001")
    ));
    check.assert_stderr("p1, p4");
    d.build(&d.out("site"), &[]).assert_fails();
}

#[test]
fn an_unknown_article_names_the_nearest_ids() {
    let d = Dossier::example();
    let path = write_event(
        &d,
        "zz-unknown",
        "003_6ef21ff47a01b82e",
        "\"Putin\"",
        "Body.",
    );
    let check = d.check();
    check.assert_fails();
    check.assert_stderr(&format!(
        "{path}:7: error: unknown article \"003_6ef21ff47a01b82e\""
    ));
    let hint = check
        .stderr
        .lines()
        .find(|l| l.contains("hint: nearest ids"))
        .unwrap_or_else(|| panic!("{check}"));
    assert!(hint.contains(seed("003")), "{hint}");
    let first = hint.split_once("nearest ids:").unwrap().1.trim();
    assert!(
        first.starts_with(&format!("\"{}\"", seed("003"))),
        "the nearest id comes first: {hint}"
    );
}

#[test]
fn boilerplate_cannot_be_cited() {
    let d = Dossier::example();
    let path = write_event(
        &d,
        "zz-boilerplate",
        seed("003"),
        "\"Registrieren Sie sich jetzt\"",
        "Body.",
    );
    let check = d.check();
    check.assert_fails();
    check.assert_stderr(&format!("{path}:8: error: quote is in boilerplate"));

    // Also what follows "More Stories".
    let d = Dossier::example();
    write_event(
        &d,
        "zz-more",
        seed("003"),
        "\"Neuester Untergang einer Bayes-Yacht\"",
        "Body.",
    );
    d.check().assert_fails().assert_stderr("boilerplate");
}

#[test]
fn a_broken_internal_link_in_an_event_body_is_an_error() {
    let d = Dossier::example();
    let quote = format!("\"{PLEDGE_QUOTE}\"");
    let path = write_event(
        &d,
        "zz-link",
        seed("003"),
        &quote,
        "See [this](@/articles/nope) for more.",
    );
    let check = d.check();
    check.assert_fails();
    check.assert_stderr(&format!("{path}:10: error: broken link @/articles/nope"));

    // A good link and a good fragment pass; a missing paragraph does not.
    let d = Dossier::example();
    write_event(
        &d,
        "zz-link",
        seed("003"),
        &quote,
        &format!(
            "See [this](@/articles/{}#p7) and [that](@/events/2022-05-belarus-buys-iskander-and-s400).",
            seed("003")
        ),
    );
    d.check().assert_ok();
    let d = Dossier::example();
    write_event(
        &d,
        "zz-link",
        seed("003"),
        &quote,
        &format!("See [this](@/articles/{}#p99).", seed("003")),
    );
    d.check().assert_fails().assert_stderr("broken link");
}

#[test]
fn folded_quotes_still_verify() {
    let d = Dossier::example();
    // Straight quote for „, other case, doubled spaces.
    d.edit(
        PLEDGE,
        &format!("\"{PLEDGE_QUOTE}\""),
        "'\"WIR werden  die TAKTISCHEN   Raketensysteme iskander-m nach weißrussland verlegen'",
    );
    // A quote spread over lines, with a typographic dash for a hyphen.
    write_event(
        &d,
        "zz-folded",
        seed("001"),
        "\"\"\"\nde neste månedene vil vi overføre\n   til Belarus taktiske rakettsystemer av typen Iskander‑M\"\"\"",
        "Body.",
    );
    let out = d.build_ok("site", &[]);
    let events = events(&out);
    let pledge = events
        .iter()
        .find(|e| e["id"] == "2022-06-25-putin-pledges-iskander-m")
        .unwrap();
    let c = &citations(pledge)[2];
    assert_eq!(c["article"], seed("003"));
    assert_eq!(c["paragraph"], "p7");
    let folded = events
        .iter()
        .find(|e| e["id"] == "zz-folded")
        .expect("the folded event is built");
    assert_eq!(citations(folded)[0]["paragraph"], "p5");

    // The highlight covers the article's own words, not the analyst's spelling.
    let html = read_html(&article_page(&out, seed("003")));
    let mark = html
        .select(&sel("#p7 mark"))
        .next()
        .expect("a mark in 003 p7");
    let text = text_of(mark);
    assert!(
        text.contains(
            "Wir werden die taktischen Raketensysteme Iskander-M nach Weißrussland verlegen"
        ),
        "{text}"
    );
}

#[test]
fn every_problem_in_events_is_reported_at_once() {
    let d = Dossier::example();
    d.edit(
        PLEDGE,
        PLEDGE_QUOTE,
        "Wir werden die taktischen Raketensysteme nach Weißrussland verlegen",
    );
    write_event(
        &d,
        "zz-twice",
        seed("001"),
        "\"Aleksandr Lukasjenko\"",
        "See [x](@/events/nope).",
    );
    let check = d.check();
    check.assert_fails();
    let errors = check.diagnostics("error");
    assert_eq!(errors.len(), 3, "{check}");
    check.assert_stderr("quote not found");
    check.assert_stderr("occurs 2 times");
    check.assert_stderr("broken link @/events/nope");
}

#[test]
fn overlapping_citations_each_keep_their_mark() {
    let d = Dossier::example();
    // Overlaps the first citation of 2022-06-25-putin-pledges-iskander-m in 001 p5,
    // and a second quote lying inside it.
    d.write(
        "content/events/zz-overlap.md",
        "+++\ndate = \"2022-06\"\ntitle = \"Overlap\"\n\n[[citations]]\narticle = \"001_9b10334a7624b0a2\"\nquote = \"taktiske rakettsystemer av typen Iskander-M, som kan anvende ballistiske raketter\"\n\n[[citations]]\narticle = \"001_9b10334a7624b0a2\"\nquote = \"av typen\"\n+++\nBody.\n",
    );
    let out = d.build_ok("site", &[]);
    let html = read_html(&article_page(&out, seed("001")));
    let ids: BTreeSet<&str> = html
        .select(&sel("[id]"))
        .filter_map(|e| e.value().attr("id"))
        .collect();
    // Every in-page link (the "Cited by" markers) has its target.
    for a in html.select(&sel("a[href^='#']")) {
        let target = &a.value().attr("href").unwrap()[1..];
        assert!(ids.contains(target), "broken in-page link #{target}");
    }
    // Every citation of the paragraph has its own mark, covering its quote.
    for (id, quote) in [
        (
            "q-2022-06-25-putin-pledges-iskander-m-1",
            "De neste månedene vil vi overføre til Belarus taktiske rakettsystemer av typen Iskander-M",
        ),
        (
            "q-zz-overlap-1",
            "taktiske rakettsystemer av typen Iskander-M, som kan anvende ballistiske raketter",
        ),
        ("q-zz-overlap-2", "av typen"),
    ] {
        let mark = by_id(&html, id).unwrap_or_else(|| panic!("no <mark id={id}>"));
        let text = text_of(mark);
        assert!(fold(&text).contains(&fold(quote)), "{id}: {text:?}");
    }
}

/// Every spelling of an entity finds what names it, wherever it is named:
/// an article's title (a sidecar's), an event's title or summary.
#[test]
fn entities_named_only_in_titles_and_summaries_are_found() {
    let d = Dossier::empty();
    d.write("dossier.toml", "title = \"T\"\nbase_url = \"/\"\n");
    d.write(
        "content/entities.toml",
        "[[entity]]\nslug = \"regeringen\"\nname = \"Regeringen\"\nkind = \"org\"\naliases = [\"Bundesregierung\"]\n",
    );
    d.write(
        "content/articles/a.txt",
        "date 2022-05-01 Die Koalition stellte den Haushalt vor.\n\nMehr folgt.\n",
    );
    d.write(
        "content/articles/a.toml",
        "title = \"Bundesregierung legt Haushalt vor\"\nlanguage = \"de\"\n",
    );
    d.write(
        "content/articles/b.txt",
        "date 2022-05-02 Folketinget vedtog loven i går.\n",
    );
    d.write("content/articles/b.toml", "language = \"da\"\n");
    d.write(
        "content/events/e1.md",
        "+++\ndate = \"2022-05-01\"\ntitle = \"Regeringen fremlægger budget\"\n[[citations]]\narticle = \"b\"\nquote = \"Folketinget vedtog loven\"\n+++\n",
    );
    d.write(
        "content/events/e2.md",
        "+++\ndate = \"2022-05-02\"\ntitle = \"Budget passed\"\n[[citations]]\narticle = \"b\"\nquote = \"vedtog loven i går\"\n+++\nThe Bundesregierung took note.\n",
    );
    let out = d.build_ok("site", &[]);
    assert_eq!(
        records(&out)["a"]["entities"],
        serde_json::json!(["regeringen"])
    );
    assert_eq!(records(&out)["b"]["entities"], serde_json::json!([]));
    for e in events(&out) {
        assert_eq!(
            e["entities"],
            serde_json::json!(["regeringen"]),
            "{}",
            e["id"]
        );
    }
}
