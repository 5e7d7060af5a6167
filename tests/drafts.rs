//! Draft events (`draft = true`): left out of `build` and `check` as if their
//! files were absent, built and marked with `--drafts`.

mod common;

use common::*;

/// A draft event citing a seed article; `quote` decides whether it verifies.
fn draft_event(quote: &str) -> String {
    format!(
        "+++\ndate = \"2024-03-01\"\ntitle = \"Work in progress\"\ndraft = true\n\n\
         [[citations]]\narticle = \"000_8efa8f5a46d18ba7\"\nquote = \"{quote}\"\n+++\n\n\
         Still being written.\n"
    )
}

const GOOD_QUOTE: &str = "I opbygningen til den russiske invasion 24. februar placerede Rusland styrker på tre sider af Ukraine";
const DRAFT: &str = "content/events/2024-03-work-in-progress.md";

fn summary_line(out: &Output) -> String {
    out.stdout
        .lines()
        .find(|l| l.starts_with("built ") || l.starts_with("ok: "))
        .unwrap_or_else(|| panic!("no summary line in {:?}", out.stdout))
        .to_string()
}

#[test]
fn a_draft_is_left_out_as_if_absent_and_built_with_drafts() {
    let d = Dossier::example();
    let without_file = d.build_ok("without", &[]);
    d.write(DRAFT, draft_event(GOOD_QUOTE));

    // Left out: the same bytes as a build without the file.
    let out = d.out("left-out");
    let run = d.build(&out, &[]);
    run.assert_ok();
    assert!(
        summary_line(&run).contains("(1 draft left out; --drafts builds it)"),
        "{}",
        summary_line(&run)
    );
    assert_eq!(
        site_files(&out),
        site_files(&without_file),
        "a left-out draft changed the site"
    );

    // Built and marked: its page, its card in the timeline, its export.
    let with = d.build_ok("with", &["--drafts"]);
    let events = events(&with);
    let draft = events
        .iter()
        .find(|e| e["id"] == "2024-03-work-in-progress")
        .expect("the draft is exported with --drafts");
    assert_eq!(draft["draft"], true);
    assert!(
        events
            .iter()
            .filter(|e| e["id"] != "2024-03-work-in-progress")
            .all(|e| e.get("draft").is_none()),
        "only drafts carry the draft field"
    );
    let slug = draft["slug"].as_str().unwrap();
    let page = read_html(&with.join(format!("events/{slug}/index.html")));
    let marks: Vec<String> = page
        .select(&sel("article.event p.draft"))
        .map(text_of)
        .collect();
    assert_eq!(marks.len(), 1, "the event page says it is a draft");
    let timeline = read_html(&with.join("timeline/index.html"));
    let marked: Vec<String> = timeline
        .select(&sel("li.event-card"))
        .filter(|card| card.select(&sel("span.draft")).next().is_some())
        .filter_map(|card| card.select(&sel("a.event-title")).next())
        .map(text_of)
        .collect();
    assert_eq!(
        marked,
        ["Work in progress"],
        "only the draft's card is marked"
    );
}

#[test]
fn a_drafts_misquote_stops_only_the_builds_that_include_it() {
    let d = Dossier::example();
    d.write(DRAFT, draft_event("a passage no article holds"));
    d.build(&d.out("left-out"), &[]).assert_ok();
    let check = d.check();
    check.assert_ok();
    assert!(summary_line(&check).contains("1 draft left out"));

    let run = d.build(&d.out("with"), &["--drafts"]);
    run.assert_fails();
    let errors = run.diagnostics("error");
    assert!(
        errors.iter().any(|e| e.starts_with(&format!("{DRAFT}:"))),
        "the misquote is reported at the draft's file: {errors:?}"
    );
    d.run(&["check", "--drafts"]).assert_fails();
}

#[test]
fn a_link_to_a_left_out_draft_is_an_error_that_says_so() {
    let d = Dossier::example();
    d.write(DRAFT, draft_event(GOOD_QUOTE));
    let linking = "content/events/2024-03-links-the-draft.md";
    let text = "+++\ndate = \"2024-03-02\"\ntitle = \"Follows the draft\"\n+++\n\n\
                See [the draft](@/events/2024-03-work-in-progress).\n";
    d.write(linking, text);
    let run = d.build(&d.out("left-out"), &[]);
    run.assert_fails();
    run.assert_stderr(&format!(
        "{linking}:{}: error: broken link @/events/2024-03-work-in-progress",
        line_of(text, "[the draft]")
    ));
    run.assert_stderr("is a draft, left out of this build; build with --drafts");
    d.build(&d.out("with"), &["--drafts"]).assert_ok();
}
