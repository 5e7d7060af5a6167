//! The five seed articles, normalized: what data/records.json and the
//! article pages say about each.

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::*;
use serde_json::Value;

struct Expected {
    id: &'static str,
    title_starts: &'static str,
    date: &'static str,
    precision: &'static str,
    month: &'static str,
    language: &'static str,
    themes: &'static [&'static str],
    entities: &'static [&'static str],
}

const SEEDS: &[Expected] = &[
    Expected {
        id: "000_8efa8f5a46d18ba7",
        title_starts: "Hviderusland, der er blandt få lande i Europa",
        date: "2022-05",
        precision: "month",
        month: "2022-05",
        language: "da",
        themes: &["missile-systems", "air-defence", "arms-transfers"],
        entities: &["alexander-lukashenko", "belarus", "russia", "belta", "g7"],
    },
    Expected {
        id: "001_9b10334a7624b0a2",
        title_starts: "Russland vil i løpet av de neste månedene",
        date: "2022-06",
        precision: "month",
        month: "2022-06",
        language: "nb",
        themes: &["missile-systems", "nuclear-weapons", "air-defence"],
        entities: &[
            "alexander-lukashenko",
            "vladimir-putin",
            "belarus",
            "st-petersburg",
        ],
    },
    Expected {
        id: "002_a3637277b07c1ceb",
        title_starts: "Den belarusiske præsident",
        date: "2022-12",
        precision: "month",
        month: "2022-12",
        language: "da",
        themes: &["arms-transfers", "joint-forces", "union-state"],
        entities: &[
            "alexander-lukashenko",
            "vladimir-putin",
            "minsk",
            "valery-zaluzhny",
        ],
    },
    Expected {
        id: "003_6ef21ff47a01b82f",
        title_starts: "Der russische Präsident Wladimir Putin sagte",
        date: "2022-06-25",
        precision: "day",
        month: "2022-06",
        language: "de",
        themes: &["missile-systems", "nuclear-weapons"],
        entities: &[
            "alexander-lukashenko",
            "vladimir-putin",
            "lithuania",
            "kaliningrad",
        ],
    },
    Expected {
        id: "004_fdb09750b2c18041",
        title_starts: "Samarbetet växer sig allt starkare",
        date: "2023-05",
        precision: "month",
        month: "2023-05",
        language: "sv",
        themes: &["nuclear-weapons", "union-state"],
        entities: &[
            "alexander-lukashenko",
            "sergei-shoigu",
            "viktor-khrenin",
            "isw",
        ],
    },
];

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

fn paragraph<'a>(record: &'a Value, id: &str) -> &'a Value {
    record["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{} has no paragraph {id}", record["id"]))
}

#[test]
fn every_seed_is_normalized_as_expected() {
    let (_d, out) = example_site();
    let records = records(&out);
    assert_eq!(records.len(), 5, "{:?}", records.keys().collect::<Vec<_>>());
    for e in SEEDS {
        let r = records
            .get(e.id)
            .unwrap_or_else(|| panic!("no record {}", e.id));
        let title = r["title"].as_str().unwrap();
        assert!(
            title.starts_with(e.title_starts),
            "{}: title {title:?}",
            e.id
        );
        assert_eq!(r["date"], e.date, "{}", e.id);
        assert_eq!(r["precision"], e.precision, "{}", e.id);
        assert_eq!(r["month"], e.month, "{}", e.id);
        assert_eq!(r["language"], e.language, "{}", e.id);
        assert_eq!(r["slug"], e.id.replace('_', "-"), "{}", e.id);
        let themes = strings(&r["themes"]);
        for t in e.themes {
            assert!(
                themes.contains(*t),
                "{}: theme {t} missing from {themes:?}",
                e.id
            );
        }
        let entities = strings(&r["entities"]);
        for x in e.entities {
            assert!(
                entities.contains(*x),
                "{}: entity {x} missing from {entities:?}",
                e.id
            );
        }
    }
}

#[test]
fn records_carry_every_contract_field() {
    let (_d, out) = example_site();
    for (id, r) in records(&out) {
        for field in [
            "id",
            "slug",
            "title",
            "date",
            "precision",
            "month",
            "language",
            "outlet",
            "url",
            "themes",
            "entities",
            "paragraphs",
            "words",
            "hash",
            "source",
        ] {
            assert!(r.get(field).is_some(), "{id}: field {field} missing");
        }
        assert_eq!(r["id"], id.as_str());
        assert!(
            r["words"].as_u64().unwrap() > 100,
            "{id}: words {}",
            r["words"]
        );
        assert_eq!(
            r["hash"].as_str().unwrap().len(),
            64,
            "{id}: hash is blake3 hex"
        );
        assert_eq!(r["source"], format!("content/articles/{id}.txt"));
        let paragraphs = r["paragraphs"].as_array().unwrap();
        assert!(paragraphs.len() >= 10, "{id}");
        for (i, p) in paragraphs.iter().enumerate() {
            assert_eq!(
                p["id"],
                format!("p{}", i + 1),
                "{id}: anchors are p1..pN in order"
            );
            assert!(p["kind"].is_string(), "{id} {}: kind", p["id"]);
            assert!(
                !p["text"].as_str().unwrap().trim().is_empty(),
                "{id} {}: empty text",
                p["id"]
            );
        }
        // The hash is of the article's bytes, as kept in content/.
        let bytes = fs::read(repo().join(r["source"].as_str().unwrap())).unwrap();
        assert_eq!(r["hash"], blake3::hash(&bytes).to_hex().to_string(), "{id}");
    }
}

#[test]
fn declared_outlets_and_detected_bylines() {
    let (_d, out) = example_site();
    let records = records(&out);
    assert_eq!(records[seed("001")]["outlet"], "NTB");
    assert_eq!(records[seed("003")]["outlet"], "Reuters");
}

#[test]
fn paragraph_kinds_of_captions_bylines_datelines_and_boilerplate() {
    let (_d, out) = example_site();
    let records = records(&out);

    let r001 = &records[seed("001")];
    assert_eq!(paragraph(r001, "p1")["kind"], "caption");
    assert!(
        paragraph(r001, "p1")["text"]
            .as_str()
            .unwrap()
            .contains("Foto:")
    );
    assert_eq!(paragraph(r001, "p2")["kind"], "byline");
    assert_eq!(paragraph(r001, "p2")["text"], "NTB");
    assert_eq!(paragraph(r001, "p3")["kind"], "lead");
    // Never the photo caption as title.
    assert!(!r001["title"].as_str().unwrap().contains("Foto"));

    let r003 = &records[seed("003")];
    assert_eq!(paragraph(r003, "p1")["kind"], "dateline");
    assert!(
        paragraph(r003, "p1")["text"]
            .as_str()
            .unwrap()
            .starts_with("MOSKAU (Reuters)")
    );
    assert_eq!(paragraph(r003, "p2")["kind"], "lead");
    let paragraphs = r003["paragraphs"].as_array().unwrap();
    let more = paragraphs
        .iter()
        .position(|p| p["text"] == "More Stories")
        .expect("003 keeps its 'More Stories' paragraph (as boilerplate)");
    for (i, p) in paragraphs.iter().enumerate() {
        let text = p["text"].as_str().unwrap();
        if text.starts_with("Registrieren Sie sich jetzt") || i >= more {
            assert_eq!(p["kind"], "boilerplate", "003 {}: {text:?}", p["id"]);
        }
    }
    let registrieren = paragraphs
        .iter()
        .filter(|p| {
            p["text"]
                .as_str()
                .unwrap()
                .starts_with("Registrieren Sie sich jetzt")
        })
        .count();
    assert_eq!(
        registrieren, 2,
        "both 'Registrieren' paragraphs are kept in the record"
    );
    // Nothing before the first boilerplate is boilerplate.
    for p in &paragraphs[..4] {
        assert_ne!(p["kind"], "boilerplate", "003 {}", p["id"]);
    }
}

#[test]
fn pages_exist_for_articles_months_themes_and_entities() {
    let (d, out) = example_site();
    let records = records(&out);
    for (id, r) in &records {
        let page = out
            .join("articles")
            .join(r["slug"].as_str().unwrap())
            .join("index.html");
        assert!(page.is_file(), "{id}: no page {}", page.display());
    }
    for month in ["2022-05", "2022-06", "2022-12", "2023-05"] {
        assert!(
            out.join(format!("months/{month}/index.html")).is_file(),
            "month {month}"
        );
    }
    let themes: toml::Table = toml::from_str(&d.read("content/themes.toml")).unwrap();
    let themes = themes["theme"].as_array().unwrap();
    assert!(themes.len() >= 5);
    for t in themes {
        let slug = t["slug"].as_str().unwrap();
        assert!(
            out.join(format!("themes/{slug}/index.html")).is_file(),
            "theme {slug}"
        );
    }
    let mut mentioned: BTreeSet<String> = BTreeSet::new();
    for r in records.values() {
        mentioned.extend(strings(&r["entities"]));
    }
    for e in events(&out) {
        mentioned.extend(strings(&e["entities"]));
    }
    assert!(mentioned.len() >= 10);
    for slug in &mentioned {
        assert!(
            out.join(format!("entities/{slug}/index.html")).is_file(),
            "entity {slug}"
        );
    }
    for page in [
        "index.html",
        "articles/index.html",
        "timeline/index.html",
        "404.html",
    ] {
        assert!(out.join(page).is_file(), "{page}");
    }
}

#[test]
fn german_article_page_shows_the_text_and_hides_boilerplate() {
    let (_d, out) = example_site();
    let html = read_html(&article_page(&out, seed("003")));
    let body = html
        .select(&sel("article .body"))
        .next()
        .expect("the article page has a .body");
    let text = text_of(body);
    assert!(
        text.contains("Der russische Präsident Wladimir Putin sagte seinem belarussischen Amtskollegen am Samstag"),
        "lead missing: {text}"
    );
    assert!(text.contains("Iskander-M"), "{text}");
    for junk in [
        "Registrieren Sie sich jetzt",
        "More Stories",
        "Bayes-Yacht",
        "Social-Media-Pionier",
    ] {
        assert!(
            !text.contains(junk),
            "boilerplate {junk:?} is shown in the article body"
        );
    }
    // Not anywhere else on the page either.
    let whole = text_of(html.root_element());
    for junk in [
        "Registrieren Sie sich jetzt",
        "Bayes-Yacht",
        "Social-Media-Pionier",
    ] {
        assert!(!whole.contains(junk), "boilerplate {junk:?} is on the page");
    }
    // Paragraph anchors: shown paragraphs keep their record ids.
    for anchor in ["p1", "p2", "p4", "p6", "p15"] {
        assert!(
            html.select(&sel(&format!("[id=\"{anchor}\"]")))
                .next()
                .is_some(),
            "anchor {anchor}"
        );
    }
}

#[test]
fn title_is_the_lead_sentence_not_the_caption() {
    let (_d, out) = example_site();
    let html = read_html(&article_page(&out, seed("001")));
    let h1 = text_of(html.select(&sel("h1")).next().expect("h1"));
    assert!(
        h1.starts_with("Russland vil i løpet av de neste månedene"),
        "{h1}"
    );
}

/// A dossier with the example's taxonomies and a single article.
fn one_article(name: &str, text: &str) -> (Dossier, serde_json::Value) {
    let d = Dossier::empty();
    d.write(
        "dossier.toml",
        fs::read(repo().join("dossier.toml")).unwrap(),
    );
    d.write(
        "content/themes.toml",
        fs::read(repo().join("content/themes.toml")).unwrap(),
    );
    d.write(
        "content/entities.toml",
        fs::read(repo().join("content/entities.toml")).unwrap(),
    );
    d.write(&format!("content/articles/{name}.txt"), text);
    let out = d.build_ok("site", &[]);
    let mut records = records(&out);
    let r = records.remove(name).expect("the record");
    (d, r)
}

#[test]
fn spelling_variants_of_lukashenko_are_one_entity() {
    for (variant, sentence) in [
        (
            "Lukasjkenko",
            "date 2022-12 - Vi kan ikke beskytte Belarus' uafhængighed alene, siger Lukasjkenko, der bliver kaldt Europas sidste diktator.",
        ),
        (
            "Lukaschenko",
            "date 2022-06-25 Bei einem Treffen in St. Petersburg äußerte der weißrussische Präsident Alexander Lukaschenko seine Besorgnis über die Politik seiner Nachbarn.",
        ),
        (
            "Lukasjenko",
            "date 2023-05 Ryska kärnvapen ska placeras i Belarus och Aleksandr Lukasjenko uppmanar nu fler länder att ansluta sig.",
        ),
    ] {
        let (_d, r) = one_article("variant", sentence);
        let entities = strings(&r["entities"]);
        assert!(
            entities.contains("alexander-lukashenko"),
            "{variant}: {entities:?}"
        );
    }
}

#[test]
fn nuclear_weapons_theme_from_swedish_compounds() {
    let (_d, r) = one_article(
        "sv",
        "date 2023-05 Ryska kärnvapnen ska placeras i Belarus, enligt kärnvapenavtalet mellan länderna.\n",
    );
    assert!(
        strings(&r["themes"]).contains("nuclear-weapons"),
        "{}",
        r["themes"]
    );
}

/// hrefs of every link on a page.
fn hrefs(path: &std::path::Path) -> BTreeSet<String> {
    let html = read_html(path);
    html.select(&sel("a"))
        .filter_map(|a| a.value().attr("href").map(str::to_string))
        .collect()
}

#[test]
fn group_pages_list_their_members() {
    let (_d, out) = example_site();
    let mut missing = Vec::new();
    let mut expect = |page: String, href: String| {
        let file = out.join(&page).join("index.html");
        if !file.is_file() {
            missing.push(format!("no page {page}"));
        } else if !hrefs(&file).contains(&href) {
            missing.push(format!("{page} does not link to {href}"));
        }
    };
    for r in records(&out).values() {
        let href = format!("/articles/{}/", r["slug"].as_str().unwrap());
        expect(
            format!("months/{}", r["month"].as_str().unwrap()),
            href.clone(),
        );
        expect(
            format!("languages/{}", r["language"].as_str().unwrap()),
            href.clone(),
        );
        expect("articles".to_string(), href.clone());
        for t in strings(&r["themes"]) {
            expect(format!("themes/{t}"), href.clone());
        }
        for e in strings(&r["entities"]) {
            expect(format!("entities/{e}"), href.clone());
        }
        if let Some(outlet) = r["outlet"].as_str() {
            expect(format!("outlets/{}", outlet.to_lowercase()), href.clone());
        }
    }
    for e in events(&out) {
        let href = format!("/events/{}/", e["slug"].as_str().unwrap());
        expect(
            format!("months/{}", e["month"].as_str().unwrap()),
            href.clone(),
        );
        expect("timeline".to_string(), href.clone());
        for t in strings(&e["themes"]) {
            expect(format!("themes/{t}"), href.clone());
        }
        for x in strings(&e["entities"]) {
            expect(format!("entities/{x}"), href.clone());
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn article_dates_show_their_precision() {
    let (_d, out) = example_site();
    for r in records(&out).values() {
        let html = read_html(&article_page(&out, r["id"].as_str().unwrap()));
        let time = html
            .select(&sel("article header time"))
            .next()
            .expect("a <time> in the header");
        assert_eq!(time.value().attr("datetime"), r["date"].as_str());
        let expected = match r["date"].as_str().unwrap() {
            "2022-05" => "May 2022",
            "2022-06" => "June 2022",
            "2022-12" => "December 2022",
            "2023-05" => "May 2023",
            "2022-06-25" => "25 June 2022",
            other => panic!("unexpected date {other}"),
        };
        assert_eq!(text_of(time), expected, "{}", r["id"]);
    }
}

#[test]
fn bom_and_crlf_do_not_change_the_record() {
    let d = Dossier::example();
    let path = format!("content/articles/{}.txt", seed("001"));
    let original = d.read(&path);
    let plain = records(&d.build_ok("a", &[]))[seed("001")].clone();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(original.replace('\n', "\r\n").as_bytes());
    d.write(&path, bytes);
    let crlf = records(&d.build_ok("b", &[]))[seed("001")].clone();
    for field in [
        "title",
        "date",
        "language",
        "themes",
        "entities",
        "paragraphs",
        "words",
        "outlet",
    ] {
        assert_eq!(
            plain[field], crlf[field],
            "{field} changed with a BOM and CRLF line endings"
        );
    }
    assert_ne!(plain["hash"], crlf["hash"], "the hash is of the bytes");
}
