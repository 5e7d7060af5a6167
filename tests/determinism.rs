//! The same input gives the same bytes, and rebuilding rewrites nothing that
//! did not change.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::*;

fn assert_same_site(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) {
    let names_a: Vec<&String> = a.keys().collect();
    let names_b: Vec<&String> = b.keys().collect();
    assert_eq!(names_a, names_b, "the two builds hold different files");
    let differing: Vec<&String> = a.keys().filter(|k| a[*k] != b[*k]).collect();
    assert!(
        differing.is_empty(),
        "files differ between builds: {differing:?}"
    );
}

/// (written, unchanged) from the summary line `… (W written, U unchanged) …`.
fn counts(stdout: &str) -> (usize, usize) {
    let inner = stdout
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(inner, _)| inner)
        .unwrap_or_else(|| panic!("no (… written, … unchanged) in {stdout:?}"));
    let number = |word: &str| -> usize {
        inner
            .split(", ")
            .find_map(|part| part.strip_suffix(word).map(|n| n.trim().parse().unwrap()))
            .unwrap_or_else(|| panic!("no {word:?} in {stdout:?}"))
    };
    (number(" written"), number(" unchanged"))
}

fn mtimes(dir: &Path) -> BTreeMap<String, SystemTime> {
    site_files(dir)
        .into_keys()
        .map(|k| {
            let t = fs::metadata(dir.join(&k)).unwrap().modified().unwrap();
            (k, t)
        })
        .collect()
}

#[test]
fn two_builds_into_two_folders_are_byte_identical() {
    let d = Dossier::example();
    let a = d.build_ok("a", &[]);
    let b = d.build_ok("b", &[]);
    let (fa, fb) = (site_files(&a), site_files(&b));
    assert!(fa.len() > 100, "{} files", fa.len());
    assert_same_site(&fa, &fb);
}

#[test]
fn builds_of_two_copies_are_byte_identical() {
    // Nothing of the root's absolute path, the time or the machine leaks in.
    let (d1, d2) = (Dossier::example(), Dossier::example());
    let a = d1.build_ok(
        "site",
        &["--base-url", "https://example.github.io/dossier-demo/"],
    );
    let b = d2.build_ok(
        "site",
        &["--base-url", "https://example.github.io/dossier-demo/"],
    );
    assert_same_site(&site_files(&a), &site_files(&b));
    for (path, bytes) in site_files(&a) {
        let text = String::from_utf8_lossy(&bytes);
        let tmp = d1.tmp.path().to_string_lossy();
        assert!(
            !text.contains(tmp.as_ref()),
            "{path} names the build folder {tmp}"
        );
    }
}

#[test]
fn rebuild_into_the_same_folder_keeps_unchanged_files() {
    let d = Dossier::example();
    let out = d.out("site");
    let first = d.build(&out, &[]);
    first.assert_ok();
    let (written, unchanged) = counts(&first.stdout);
    assert!(written > 100, "{}", first.stdout);
    assert_eq!(unchanged, 0, "{}", first.stdout);
    let before = site_files(&out);
    let times = mtimes(&out);

    std::thread::sleep(Duration::from_millis(50));
    let second = d.build(&out, &[]);
    second.assert_ok();
    let (written2, unchanged2) = counts(&second.stdout);
    assert_eq!(
        written2, 0,
        "nothing changed, nothing should be written: {}",
        second.stdout
    );
    assert_eq!(unchanged2, written, "{}", second.stdout);
    assert_same_site(&before, &site_files(&out));
    let times2 = mtimes(&out);
    for (path, t) in &times {
        // The marker is recreated by each build; pages are not.
        if path == ".dossier-site" {
            continue;
        }
        assert_eq!(times2.get(path), Some(t), "{path} was rewritten");
    }
}

#[test]
fn editing_one_event_rewrites_only_what_shows_it() {
    let d = Dossier::example();
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    let before = site_files(&out);
    let times = mtimes(&out);

    std::thread::sleep(Duration::from_millis(50));
    d.edit(
        "content/events/2022-10-joint-regional-grouping-of-forces.md",
        "title = \"",
        "title = \"Edited: ",
    );
    let again = d.build(&out, &[]);
    again.assert_ok();
    let (written, unchanged) = counts(&again.stdout);
    assert!(written > 0, "{}", again.stdout);
    assert!(
        unchanged > written,
        "most files should be unchanged: {}",
        again.stdout
    );

    let after = site_files(&out);
    let times2 = mtimes(&out);
    let event_page = "events/2022-10-joint-regional-grouping-of-forces/index.html";
    assert_ne!(before[event_page], after[event_page]);
    assert!(String::from_utf8_lossy(&after[event_page]).contains("Edited: "));
    let mut rewritten = 0;
    for (path, bytes) in &after {
        if path == ".dossier-site" {
            continue;
        }
        if before.get(path) == Some(bytes) {
            assert_eq!(
                times2.get(path),
                times.get(path),
                "{path}: unchanged bytes but rewritten"
            );
        } else {
            rewritten += 1;
        }
    }
    assert_eq!(
        rewritten, written,
        "files written = files whose bytes changed"
    );
    // An unrelated article page is untouched.
    assert_eq!(
        times[&"articles/004-fdb09750b2c18041/index.html".to_string()],
        times2[&"articles/004-fdb09750b2c18041/index.html".to_string()]
    );
}

#[test]
fn no_staging_leftovers_beside_the_output() {
    let d = Dossier::example();
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    d.build(&out, &[]).assert_ok();
    let leftovers: Vec<String> = fs::read_dir(d.tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("dossier-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_build_failing_while_rendering_leaves_the_previous_site() {
    let d = Dossier::example();
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    let before = site_files(&out);
    let times = mtimes(&out);

    // A template override that fails only when pages are rendered.
    let builtin = fs::read_to_string(repo().join("templates/article.html")).unwrap();
    assert!(builtin.contains("{{ article.title }}"));
    d.write(
        "templates/article.html",
        builtin.replacen("{{ article.title }}", "{{ article.nope.deeper }}", 1),
    );
    let line = line_of(&d.read("templates/article.html"), "article.nope.deeper");
    let failed = d.build(&out, &[]);
    failed.assert_fails();
    failed.assert_stderr(&format!(
        "templates/article.html:{line}: error: template error"
    ));
    assert_same_site(&before, &site_files(&out));
    assert_eq!(
        mtimes(&out),
        times,
        "the failed build touched the previous site"
    );
    let leftovers: Vec<String> = fs::read_dir(d.tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("dossier-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // `check` fails the same way, and the fixed override builds.
    d.check()
        .assert_fails()
        .assert_stderr("templates/article.html");
    d.write(
        "templates/article.html",
        builtin.replacen("{{ article.title }}", "OVERRIDDEN {{ article.title }}", 1),
    );
    d.build(&out, &[]).assert_ok();
    let page = fs::read_to_string(article_page(&out, seed("000"))).unwrap();
    assert!(
        page.contains("OVERRIDDEN Hviderusland"),
        "the override is used"
    );
}

#[test]
fn theme_files_are_overridden_one_by_one() {
    let d = Dossier::example();
    d.write("static/style.css", "body { color: red }\n");
    d.write("static/extra.txt", "extra\n");
    let out = d.build_ok("site", &[]);
    assert_eq!(
        fs::read_to_string(out.join("static/style.css")).unwrap(),
        "body { color: red }\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("static/extra.txt")).unwrap(),
        "extra\n"
    );
    // Templates not overridden are the built-in ones.
    let plain = Dossier::example();
    let builtin = plain.build_ok("site", &[]);
    assert_eq!(
        fs::read(out.join("timeline/index.html")).unwrap(),
        fs::read(builtin.join("timeline/index.html")).unwrap()
    );
}
