//! Encodings and invisible text, through the binary: UTF-16 LE/BE with a BOM,
//! Windows-1252 and Latin-1, mixed line endings, NUL bytes, zero-width and
//! bidi controls, combining marks. Each is decoded (maybe with a warning) or
//! refused with a clear error.

mod common;

use common::*;
use serde_json::Value;

/// A one-article dossier holding `bytes` as `content/articles/NAME`; returns
/// the run of `build` and the record (if any).
fn build_one(name: &str, bytes: &[u8]) -> (Output, Option<Value>) {
    let d = Dossier::empty();
    d.write("dossier.toml", "title = \"T\"\n");
    d.write(&format!("content/articles/{name}"), bytes);
    let out = d.out("site");
    let run = d.build(&out, &[]);
    run.assert_no_panic();
    let record = run
        .success()
        .then(|| records(&out).into_values().next())
        .flatten();
    (run, record)
}

fn texts(record: &Value) -> Vec<String> {
    record["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect()
}

const TEXT: &str =
    "date 2022-05-03 Kärnvapen i Belarus, sa Lukasjenko.\n\nRysslands «Iskander» – æøå ß €.\n";

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

#[test]
fn utf16_le_and_be_with_a_bom_are_decoded() {
    for big_endian in [false, true] {
        let (run, record) = build_one("a.txt", &utf16(TEXT, big_endian));
        run.assert_ok();
        assert!(run.diagnostics("warning").is_empty(), "{run}");
        let record = record.unwrap();
        assert_eq!(record["date"], "2022-05-03");
        assert_eq!(
            texts(&record),
            vec![
                "Kärnvapen i Belarus, sa Lukasjenko.",
                "Rysslands «Iskander» – æøå ß €."
            ]
        );
    }
}

#[test]
fn utf16_with_a_lone_surrogate_is_decoded_with_a_warning() {
    let mut bytes = utf16("date 2022-05 Tekst her.\n", false);
    bytes.extend_from_slice(&[0x00, 0xD8, b'x', 0x00]); // unpaired high surrogate
    let (run, record) = build_one("a.txt", &bytes);
    run.assert_ok();
    run.assert_stderr(
        "content/articles/a.txt: warning: invalid UTF-16LE sequences replaced by U+FFFD",
    );
    assert!(texts(&record.unwrap())[0].starts_with("Tekst her."));
}

#[test]
fn utf16_without_a_bom_is_refused_as_binary() {
    let bytes: Vec<u8> = TEXT.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let (run, _) = build_one("a.txt", &bytes);
    run.assert_fails();
    run.assert_stderr("content/articles/a.txt:1: error: binary file (contains NUL bytes)");
    run.assert_stderr("UTF-16 with a byte-order mark");
}

#[test]
fn latin1_text_is_decoded_as_windows_1252_with_a_warning() {
    // Latin-1 and Windows-1252 agree on every letter a clipping uses.
    let bytes =
        b"date 2022-05 K\xe6rnev\xe5ben i Hviderusland, sagde Lukasjenko \xbb\xe6\xf8\xe5\xab.\n";
    let (run, record) = build_one("a.txt", bytes);
    run.assert_ok();
    run.assert_stderr("content/articles/a.txt:1: warning: not UTF-8; decoded as Windows-1252");
    assert_eq!(
        texts(&record.unwrap()),
        vec!["Kærnevåben i Hviderusland, sagde Lukasjenko »æøå«."]
    );
}

#[test]
fn mixed_line_endings_split_like_newlines() {
    let bytes = "date 2022-05 Første afsnit her.\r\n\r\nAndet afsnit.\r\rTredje afsnit.\n\nFjerde\r\nafsnit.\n".as_bytes();
    let (run, record) = build_one("a.txt", bytes);
    run.assert_ok();
    assert_eq!(
        texts(&record.unwrap()),
        vec![
            "Første afsnit her.",
            "Andet afsnit.",
            "Tredje afsnit.",
            "Fjerde afsnit."
        ]
    );
}

#[test]
fn nul_bytes_in_a_sidecar_or_an_event_are_errors_too() {
    let d = Dossier::example();
    d.write(
        "content/articles/002_a3637277b07c1ceb.toml",
        b"title = \"x\"\n\0\n",
    );
    d.write(
        "content/events/nul.md",
        b"+++\ndate = \"2022-05\"\ntitle = \"T\"\n+++\n\0",
    );
    let run = d.check();
    run.assert_fails();
    run.assert_stderr(
        "content/articles/002_a3637277b07c1ceb.toml:2: error: binary file (contains NUL bytes)",
    );
    run.assert_stderr("content/events/nul.md:5: error: binary file (contains NUL bytes)");
}

#[test]
fn zero_width_and_bidi_controls_are_removed_and_quotes_still_match() {
    let d = Dossier::empty();
    d.write("dossier.toml", "title = \"T\"\n");
    d.write(
        "content/articles/a.txt",
        "date 2022-05 Ryska k\u{200B}ärn\u{00AD}vapen \u{202E}ska\u{202C} placeras i \u{2066}Belarus\u{2069}, sa han.\u{FEFF}\n\nMer \u{200F}text\u{200E} här.\n",
    );
    // The quote carries its own invisible characters.
    d.write(
        "content/events/e.md",
        "+++\ndate = \"2022-05\"\ntitle = \"T\"\n[[citations]]\narticle = \"a\"\nquote = \"kärn\u{200B}vapen ska placeras i Belarus\"\n+++\nB\n",
    );
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    let record = records(&out).remove("a").unwrap();
    let all = texts(&record).join("\n");
    assert_eq!(
        all,
        "Ryska kärnvapen ska placeras i Belarus, sa han.\nMer text här."
    );
    for c in [
        '\u{200B}', '\u{00AD}', '\u{202E}', '\u{2066}', '\u{200F}', '\u{FEFF}',
    ] {
        let pages = site_files(&out).into_iter().filter(|(path, _)| {
            !path.starts_with("static/")
                && [".html", ".json", ".jsonld", ".xml", ".csv"]
                    .iter()
                    .any(|ext| path.ends_with(ext))
        });
        for (path, bytes) in pages {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(c),
                "{path} holds U+{:04X}",
                c as u32
            );
        }
    }
    assert_eq!(events(&out)[0]["citations"][0]["paragraph"], "p1");
}

#[test]
fn combining_marks_are_composed_and_match_either_form() {
    let d = Dossier::empty();
    d.write("dossier.toml", "title = \"T\"\n");
    // NFD article, NFC quote; and an NFC article with an NFD quote.
    d.write(
        "content/articles/nfd.txt",
        "date 2022-05 Ka\u{0308}rnvapen na\u{030A}r Belarus.\n",
    );
    d.write(
        "content/articles/nfc.txt",
        "date 2022-05 Kärnvapen når Minsk.\n",
    );
    d.write(
        "content/events/e.md",
        "+++\ndate = \"2022-05\"\ntitle = \"T\"\n[[citations]]\narticle = \"nfd\"\nquote = \"Kärnvapen når\"\n[[citations]]\narticle = \"nfc\"\nquote = \"Ka\u{0308}rnvapen na\u{030A}r Minsk\"\n+++\nB\n",
    );
    let out = d.out("site");
    d.build(&out, &[]).assert_ok();
    let records = records(&out);
    assert_eq!(texts(&records["nfd"]), vec!["Kärnvapen når Belarus."]);
    assert_eq!(events(&out)[0]["citations"].as_array().unwrap().len(), 2);
    // A stack of combining marks on one letter is kept, composed as far as it goes.
    let (run, record) = build_one(
        "z.txt",
        "date 2022-05 Za\u{0301}\u{0302}\u{0303}\u{0304}\u{0305}lgo tekst.\n".as_bytes(),
    );
    run.assert_ok();
    assert_eq!(
        texts(&record.unwrap())[0],
        "Z\u{00E1}\u{0302}\u{0303}\u{0304}\u{0305}lgo tekst."
    );
}
