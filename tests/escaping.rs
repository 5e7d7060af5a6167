//! Property: whatever article text, sidecar or event strings hold (`<`, `>`,
//! `&`, quotes, comment and CDATA openers, tag-like runs), no element or
//! attribute of any built page comes from them. Marker names (`zz…`) make
//! anything that leaked recognizable.

mod common;

use common::*;
use proptest::prelude::*;
use scraper::Html;

fn hostile_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("<"),
            Just(">"),
            Just("&"),
            Just("\""),
            Just("'"),
            Just("<zz"),
            Just("<zz zzattr="),
            Just("<zz zzattr=\"1\">"),
            Just("</zz>"),
            Just("\"><zz>"),
            Just("'><zz zzon=1>"),
            Just("="),
            Just(" "),
            Just("ord"),
            Just("&amp;"),
            Just("&#60;zz&#62;"),
            Just("<!--"),
            Just("-->"),
            Just("<![CDATA["),
            Just("]]>"),
            Just("{{"),
            Just("{%"),
            Just("\\"),
        ],
        1..16,
    )
    .prop_map(|parts| parts.concat())
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn check(strings: &[String]) -> Result<(), TestCaseError> {
    let [a, b, c, d, e] = strings else {
        unreachable!()
    };
    let dossier = Dossier::empty();
    dossier.write(
        "dossier.toml",
        format!("title = {}\nbase_url = \"/\"\n", toml_string(a)),
    );
    dossier.write(
        "content/articles/x.txt",
        format!(
            "date 2022-05 Rusland sender raketter {a} til Hviderusland.\n\n{b} og mere tekst.\n"
        ),
    );
    dossier.write(
        "content/articles/x.toml",
        format!(
            "title = {}\nsummary = {}\nnote = {}\noutlet = {}\nlanguage = \"da\"\n",
            toml_string(c),
            toml_string(d),
            toml_string(e),
            toml_string(a)
        ),
    );
    dossier.write(
        "content/articles/y.md",
        format!("+++\ndate = \"2022-05\"\nlanguage = \"da\"\n+++\nRusland {b}\n\n{c}\n"),
    );
    dossier.write(
        "content/events/e.md",
        format!(
            "+++\ndate = \"2022-05-02\"\ntitle = {}\n[[citations]]\narticle = \"x\"\nquote = \"Rusland sender raketter\"\nnote = {}\ntranslation = {}\n+++\n{e}\n",
            // A title of blanks is rightly refused; prefix a word.
            toml_string(&format!("Event {d}")),
            toml_string(b),
            toml_string(c)
        ),
    );
    let out = dossier.out("site");
    let run = dossier.build(&out, &[]);
    prop_assert!(run.success(), "{run}");
    for (path, bytes) in site_files(&out) {
        if !path.ends_with(".html") {
            continue;
        }
        let html = Html::parse_document(&String::from_utf8_lossy(&bytes));
        for el in html
            .root_element()
            .descendants()
            .filter_map(scraper::ElementRef::wrap)
        {
            let v = el.value();
            prop_assert!(!v.name().starts_with("zz"), "{path}: element {}", el.html());
            for (attr, _) in v.attrs() {
                prop_assert!(
                    !attr.starts_with("zz"),
                    "{path}: attribute in {}",
                    el.html()
                );
            }
        }
    }
    let page = read_html(&out.join("articles/x/index.html"));
    let text = collapse(&page.root_element().text().collect::<String>());
    for s in [a, b, c] {
        prop_assert!(
            text.contains(&collapse(s)),
            "article page lacks {s:?} as text"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn article_text_never_becomes_markup(strings in prop::collection::vec(hostile_string(), 5)) {
        check(&strings)?;
    }
}
