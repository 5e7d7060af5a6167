//! File names and ids: spaces, non-ASCII, very long names, names differing
//! only by case or Unicode form, `..` and `/` in ids and slugs, symlinks.

mod common;

use std::fs;

use common::*;

fn dossier() -> Dossier {
    let d = Dossier::empty();
    d.write("dossier.toml", "title = \"T\"\n");
    d
}

fn article(d: &Dossier, name: &str, words: &str) {
    d.write(
        &format!("content/articles/{name}"),
        format!("date 2022-05 {words} i Belarus.\n"),
    );
}

#[test]
fn odd_file_names_get_ascii_slugs_and_pages() {
    let d = dossier();
    let long = "x".repeat(250); // 254 bytes with .txt: the most ext4 allows
    let long_unicode = "æ".repeat(120); // 240 bytes, 120 chars
    article(&d, "a b  c.txt", "Mellemrum");
    article(&d, "Ærø København.txt", "Ærø");
    article(&d, &format!("{long}.txt"), "Lang");
    article(&d, &format!("{long_unicode}.txt"), "Lang unicode");
    article(&d, "a..b.txt", "Prikker");
    article(&d, "Статья.txt", "Kyrillisk");
    article(&d, "日本語.txt", "Japansk");
    d.write(
        "content/events/e.md",
        format!("+++\ndate = \"2022-05\"\ntitle = \"T\"\n[[citations]]\narticle = \"{long}\"\nquote = \"Lang i Belarus\"\n+++\nB\n"),
    );
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    let slugs: std::collections::BTreeMap<String, String> = records(&out)
        .into_iter()
        .map(|(id, r)| (id, r["slug"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(slugs["a b  c"], "a-b-c");
    assert_eq!(slugs["Ærø København"], "aero-kobenhavn");
    assert_eq!(slugs[&long], "x".repeat(80));
    assert_eq!(slugs[&long_unicode], "ae".repeat(40));
    assert_eq!(slugs["a..b"], "a-b");
    assert_eq!(slugs["Статья"], "stat-ia");
    assert_eq!(slugs["日本語"], "ri-ben-yu");
    for slug in slugs.values() {
        assert!(
            out.join("articles").join(slug).join("index.html").is_file(),
            "{slug}"
        );
        assert!(
            slug.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }
    assert_eq!(
        events(&out)[0]["citations"][0]["url"].as_str().unwrap(),
        format!("/articles/{}/#p1", "x".repeat(80))
    );
}

#[test]
fn names_differing_only_by_case_are_two_articles() {
    let d = dossier();
    article(&d, "Case.txt", "Store");
    article(&d, "case.txt", "Små");
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    let records = records(&out);
    assert_eq!(records["Case"]["slug"], "case");
    assert_eq!(records["case"]["slug"], "case-2");
}

#[test]
fn names_differing_only_by_unicode_form_are_one_id_and_an_error() {
    let d = dossier();
    article(&d, "caf\u{00E9}.txt", "NFC");
    article(&d, "cafe\u{0301}.md", "NFD");
    let run = d.check();
    run.assert_fails();
    run.assert_stderr("error: article id \"caf\u{00E9}\" is also used by content/articles/");
    run.assert_stderr("rename one of the files");
}

#[test]
fn an_nfd_file_name_is_cited_by_its_nfc_id() {
    let d = dossier();
    article(&d, "ka\u{0308}rnvapen.txt", "Kärnvapen");
    d.write(
        "content/events/e.md",
        "+++\ndate = \"2022-05\"\ntitle = \"T\"\n[[citations]]\narticle = \"k\u{00E4}rnvapen\"\nquote = \"Kärnvapen i Belarus\"\n+++\nB\n",
    );
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    assert!(records(&out).contains_key("k\u{00E4}rnvapen"));
}

#[test]
fn slugs_with_dot_dot_or_slashes_stay_inside_the_site() {
    let d = dossier();
    for (id, slug) in [
        ("a", "../x"),
        ("b", "../../../../tmp/evil"),
        ("c", "/etc/passwd"),
        ("d", ".."),
        ("e", "a/b\\\\c"),
        ("f", "%2e%2e%2fx"),
    ] {
        article(&d, &format!("{id}.txt"), "Tekst");
        d.write(
            &format!("content/articles/{id}.toml"),
            format!("slug = \"{slug}\"\n"),
        );
    }
    d.write(
        "content/events/e.md",
        "+++\ndate = \"2022-05\"\ntitle = \"T\"\nslug = \"../../../escape\"\n+++\nB\n",
    );
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    let slugs: Vec<String> = records(&out)
        .into_values()
        .map(|r| r["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        slugs,
        vec![
            "x",
            "tmp-evil",
            "etc-passwd",
            "article",
            "a-b-c",
            "2e-2e-2fx"
        ]
    );
    assert!(out.join("events/escape/index.html").is_file());
    // Nothing was written beside the output or the root.
    let mut beside: Vec<String> = fs::read_dir(d.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".site."))
        .collect();
    beside.sort();
    assert_eq!(beside, vec!["dossier", "site"]);
}

#[test]
fn symlinks_inside_the_dossier_dangling_looping_or_to_folders() {
    use std::os::unix::fs::symlink;
    let d = dossier();
    article(&d, "real.txt", "Ægte");
    let articles = d.path("content/articles");
    // Inside the dossier: followed.
    d.write("notes/kept.txt", "date 2022-05 Kept inside the dossier.\n");
    symlink(d.path("notes/kept.txt"), articles.join("kept.txt")).unwrap();
    // Dangling, a loop, a folder outside, a folder inside: not followed, warned.
    symlink(articles.join("nowhere.txt"), articles.join("dangling.txt")).unwrap();
    symlink(articles.join("loop-b.txt"), articles.join("loop-a.txt")).unwrap();
    symlink(articles.join("loop-a.txt"), articles.join("loop-b.txt")).unwrap();
    let outside = d.tmp.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret.txt"), "date 2022-05 Secret outside.\n").unwrap();
    symlink(&outside, articles.join("folder-out")).unwrap();
    symlink(d.path("notes"), articles.join("folder-in")).unwrap();
    let out = d.out("site");
    let run = d.build(&out, &[]);
    run.assert_ok();
    let ids: Vec<String> = records(&out).into_keys().collect();
    assert_eq!(ids, vec!["kept", "real"]);
    for name in [
        "dangling.txt",
        "loop-a.txt",
        "loop-b.txt",
        "folder-out",
        "folder-in",
    ] {
        run.assert_stderr(&format!("content/articles/{name}: warning: symbolic link"));
    }
    for (path, bytes) in site_files(&out) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("Secret outside"),
            "{path}"
        );
    }
}

#[test]
fn an_output_at_or_below_a_file_is_refused_naming_the_file() {
    let d = dossier();
    article(&d, "a.txt", "Raketter");
    let file = d.tmp.path().join("notes.txt");
    fs::write(&file, "precious").unwrap();
    let before = tree(d.tmp.path());
    let message = format!(
        "error: refusing to use this output folder: {} is a file, not a folder: choose another --output",
        file.display()
    );
    for out in [
        file.join("site"),
        file.join("a/b/site"),
        file.join("../site"),
        file.clone(),
    ] {
        let run = d.build(&out, &[]);
        run.assert_fails();
        run.assert_stderr(&message);
        assert!(!run.stderr.contains("os error"), "{run}");
        assert_eq!(
            tree(d.tmp.path()),
            before,
            "{} created something",
            out.display()
        );
        assert_eq!(fs::read_to_string(&file).unwrap(), "precious");
    }
    // Given relative to the working directory, the message names it as given.
    let root = d.root.to_str().unwrap();
    let run = run_in(
        d.tmp.path(),
        &["--root", root, "build", "--output", "notes.txt/site"],
    );
    run.assert_fails();
    run.assert_stderr("notes.txt is a file, not a folder: choose another --output");
    assert_eq!(tree(d.tmp.path()), before);
}
