//! Stage 5, second half: the machine-readable side of the site. Data exports
//! (`data/*.json`, CSV, W3C Web Annotations) and the GitHub Pages essentials.
//! Every export lives below `data/`, which is kept whole from the previous
//! build when nothing in the dossier changed.

use std::sync::Arc;

use serde_json::json;

use crate::index::SiteIndex;
use crate::memo::{self, Memo};
use crate::model::Event;
use crate::render::Sink;

/// Characters of context kept before and after a quote in TextQuoteSelectors.
const SELECTOR_CONTEXT: usize = 32;

pub fn write_exports(index: &SiteIndex, sink: &dyn Sink, memo: &Memo) -> std::io::Result<usize> {
    // A record's line is a function of what it was made from and its slug
    // (made unique across the dossier): kept between builds of one process.
    let keys: Vec<memo::Key> = index
        .records
        .iter()
        .map(|r| memo::key(&[&index.settings, r.fingerprint.as_bytes(), r.slug.as_bytes()]))
        .collect();
    put_json_lines(
        sink,
        "data/records.json",
        &index.records,
        |i| Some(("record-json", keys[i])),
        memo,
    )?;
    // The events' exports: a function of the events, the records they cite
    // and the site's address.
    let key = {
        use rayon::prelude::*;
        let mut parts: Vec<Vec<u8>> = index
            .events
            .par_iter()
            .map(|e| {
                let mut part = serde_json::to_vec(e).unwrap_or_default();
                for c in &e.citations {
                    if let Some(r) = index.record(&c.article) {
                        part.extend_from_slice(r.fingerprint.as_bytes());
                        part.extend_from_slice(r.slug.as_bytes());
                    }
                }
                part
            })
            .collect();
        parts.push(index.settings.to_vec());
        // The whole configuration: the annotations' label names the title.
        parts.push(format!("{:?}", index.config).into_bytes());
        parts.push(index.urls.absolute("/").into_bytes());
        memo::key(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
    };
    let files = memo.get_or("event-exports", key, || -> Result<[Vec<u8>; 3], String> {
        let events: Vec<Event> = index
            .events
            .iter()
            .map(|e| {
                let mut e = e.clone();
                for c in &mut e.citations {
                    c.url = index.urls.absolute(&c.url);
                }
                e
            })
            .collect();
        let text = |e: std::io::Error| e.to_string();
        Ok([
            {
                let mut json = Vec::new();
                write_json_lines(&mut json, &events, &|_| None, &Memo::off()).map_err(text)?;
                json
            },
            events_csv(&events).map_err(text)?,
            pretty(&annotations(index)).map_err(text)?,
        ])
    });
    let [json, csv, jsonld] = files
        .as_ref()
        .as_ref()
        .map_err(|e| std::io::Error::other(e.clone()))?;
    sink.put("data/events.json", json)?;
    sink.put("data/events.csv", csv)?;
    sink.put("data/annotations.jsonld", jsonld)?;
    Ok(4)
}

/// The GitHub Pages essentials beside the pages: `.nojekyll`, `robots.txt`
/// pointing at the sitemap, and `CNAME` for a custom domain.
pub fn write_pages_files(index: &SiteIndex, sink: &dyn Sink) -> std::io::Result<usize> {
    let mut written = 0;
    let mut put = |path: &str, bytes: Vec<u8>| -> std::io::Result<()> {
        written += 1;
        sink.put(path, &bytes)
    };
    put(".nojekyll", Vec::new())?;
    let sitemap = index.urls.absolute(&index.urls.page("sitemap.xml"));
    put(
        "robots.txt",
        format!("User-agent: *\nAllow: /\n\nSitemap: {sitemap}\n").into_bytes(),
    )?;
    if let Some(domain) = index
        .config
        .cname
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        put("CNAME", format!("{domain}\n").into_bytes())?;
    }
    Ok(written)
}

/// Items serialized and written this many at a time: the whole file is
/// never in memory (records.json is the size of the dossier's text).
const STREAM_CHUNK: usize = 1024;

/// What a chunk of records' lines is expected to take (1,024 of ~5 KB).
const STREAM_BYTES: usize = 6 << 20;

/// Streams a JSON array with one element a line into the file `path`.
fn put_json_lines<T: serde::Serialize + Sync>(
    sink: &dyn Sink,
    path: &str,
    items: &[T],
    memo_key: impl Fn(usize) -> Option<(&'static str, memo::Key)> + Sync,
    memo: &Memo,
) -> std::io::Result<()> {
    if sink.keeps_parts() {
        let (parts, digest) = json_line_parts(items, &memo_key, memo)?;
        return sink.put_parts(path, parts, digest);
    }
    sink.put_stream(path, true, &mut |out| {
        write_json_lines(out, items, &memo_key, memo).map(Some)
    })
}

/// An element's line, and its digest.
type Line = Result<(Vec<u8>, [u8; 32]), String>;

/// An element's line, made or kept, for the `i`th item.
fn json_line<T: serde::Serialize>(
    item: &T,
    i: usize,
    memo_key: &(impl Fn(usize) -> Option<(&'static str, memo::Key)> + Sync),
    memo: &Memo,
) -> Arc<Line> {
    let make = || {
        let line = serde_json::to_vec(item).map_err(|e| e.to_string())?;
        let digest = *blake3::hash(&line).as_bytes();
        Ok((line, digest))
    };
    match memo_key(i) {
        Some((kind, key)) => memo.get_or(kind, key, make),
        None => Arc::new(make()),
    }
}

/// A kept line as bytes that share it, not a copy.
struct LineBytes(Arc<Line>);

impl AsRef<[u8]> for LineBytes {
    fn as_ref(&self) -> &[u8] {
        match &*self.0 {
            Ok((line, _)) => line,
            Err(_) => &[],
        }
    }
}

/// The bytes [`write_json_lines`] writes, as the lines and the separators
/// between them, with the same digest.
fn json_line_parts<T: serde::Serialize + Sync>(
    items: &[T],
    memo_key: &(impl Fn(usize) -> Option<(&'static str, memo::Key)> + Sync),
    memo: &Memo,
) -> std::io::Result<(Vec<bytes::Bytes>, String)> {
    use bytes::Bytes;
    let mut parts = Vec::with_capacity(2 * items.len() + 2);
    parts.push(Bytes::from_static(b"[\n"));
    // One chunk: the parts are all kept anyway, and are made in parallel.
    let chunk = items.len().max(1);
    let digest = each_json_line(items, chunk, memo_key, memo, &mut |next| {
        if let Some((line, separator)) = next {
            parts.push(Bytes::from_owner(LineBytes(line)));
            parts.push(Bytes::from_static(separator));
        }
        Ok(())
    })?;
    parts.push(Bytes::from_static(b"]\n"));
    Ok((parts, digest))
}

/// A JSON array with one element a line: compact, still readable and
/// diffable line by line. Serialized in parallel a chunk at a time;
/// `memo_key` gives the key an item's line is kept under between builds.
/// Returns the file's digest, made from the lines' (each hashed once, in
/// parallel, and kept with its line).
fn write_json_lines<T: serde::Serialize + Sync>(
    out: &mut dyn std::io::Write,
    items: &[T],
    memo_key: &(impl Fn(usize) -> Option<(&'static str, memo::Key)> + Sync),
    memo: &Memo,
) -> std::io::Result<String> {
    out.write_all(b"[\n")?;
    // A chunk joined, then written at once: writev of its 2,048 pieces
    // was slower in the kernel (7 % of a rebuild) than copying.
    let mut joined = Vec::with_capacity(STREAM_BYTES);
    let digest = each_json_line(
        items,
        STREAM_CHUNK,
        memo_key,
        memo,
        &mut |next| match next {
            Some((line, separator)) => {
                joined.extend_from_slice(LineBytes(line).as_ref());
                joined.extend_from_slice(separator);
                Ok(())
            }
            None => {
                out.write_all(&joined)?;
                joined.clear();
                Ok(())
            }
        },
    )?;
    out.write_all(b"]\n")?;
    Ok(digest)
}

/// What [`each_json_line`] hands on: a line and the separator after it,
/// or None at the end of a chunk.
type NextLine = Option<(Arc<Line>, &'static [u8])>;

/// Each item's line in order, with the separator that follows it, made in
/// parallel `chunk` items at a time (so that a whole file's lines need not
/// be made at once). Returns the file's digest, from the lines' digests.
fn each_json_line<T: serde::Serialize + Sync>(
    items: &[T],
    chunk: usize,
    memo_key: &(impl Fn(usize) -> Option<(&'static str, memo::Key)> + Sync),
    memo: &Memo,
    each: &mut dyn FnMut(NextLine) -> std::io::Result<()>,
) -> std::io::Result<String> {
    use rayon::prelude::*;
    let mut digests: Vec<[u8; 32]> = Vec::with_capacity(items.len());
    for (c, items_of_chunk) in items.chunks(chunk).enumerate() {
        let first = c * chunk;
        let lines: Vec<Arc<Line>> = items_of_chunk
            .par_iter()
            .enumerate()
            .map(|(j, item)| json_line(item, first + j, memo_key, memo))
            .collect();
        for (j, line) in lines.into_iter().enumerate() {
            let (_, digest) = line
                .as_ref()
                .as_ref()
                .map_err(|e| std::io::Error::other(e.clone()))?;
            digests.push(*digest);
            let separator: &'static [u8] = match first + j + 1 < items.len() {
                true => b",\n",
                false => b"\n",
            };
            each(Some((line, separator)))?;
        }
        each(None)?;
    }
    Ok(crate::write::digest_of_parts(&digests))
}

fn pretty<T: serde::Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// One row a citation: spreadsheets want flat tables.
fn events_csv(events: &[Event]) -> std::io::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "event",
        "date",
        "precision",
        "title",
        "themes",
        "entities",
        "citation",
        "article",
        "paragraph",
        "quote",
        "translation",
        "note",
        "url",
    ])?;
    for e in events {
        let precision = format!("{:?}", e.precision).to_lowercase();
        let (themes, entities) = (e.themes.join(";"), e.entities.join(";"));
        if e.citations.is_empty() {
            let row = [
                &e.id, &e.date, &precision, &e.title, &themes, &entities, "", "", "", "", "", "",
                "",
            ];
            out.write_record(row.iter().map(|s| s.as_bytes()))?;
        }
        for (n, c) in e.citations.iter().enumerate() {
            let n = (n + 1).to_string();
            let row = [
                e.id.as_str(),
                &e.date,
                &precision,
                &e.title,
                &themes,
                &entities,
                &n,
                &c.article,
                &c.paragraph,
                &c.quote,
                c.translation.as_deref().unwrap_or(""),
                c.note.as_deref().unwrap_or(""),
                &c.url,
            ];
            out.write_record(row)?;
        }
    }
    out.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Every citation as a W3C Web Annotation targeting the article page, with
/// a TextQuoteSelector (exact, prefix, suffix) and the paragraph fragment.
fn annotations(index: &SiteIndex) -> serde_json::Value {
    let urls = &index.urls;
    let mut items = Vec::new();
    for event in &index.events {
        let event_url = urls.absolute(&urls.event(&event.slug));
        for (n, c) in event.citations.iter().enumerate() {
            let Some(record) = index.record(&c.article) else {
                continue;
            };
            let Some(paragraph) = record.paragraphs.iter().find(|p| p.id == c.paragraph) else {
                continue;
            };
            let (start, end) = c.span;
            let text = paragraph.text.as_str();
            let prefix: String = {
                let before: Vec<char> = text[..start.min(text.len())].chars().collect();
                before[before.len().saturating_sub(SELECTOR_CONTEXT)..]
                    .iter()
                    .collect()
            };
            let suffix: String = text[end.min(text.len())..]
                .chars()
                .take(SELECTOR_CONTEXT)
                .collect();
            let exact = &text[start.min(text.len())..end.min(text.len())];
            let mut body = vec![
                json!({"type": "SpecificResource", "source": event_url, "purpose": "linking"}),
            ];
            if let Some(translation) = &c.translation {
                body.push(json!({"type": "TextualBody", "value": translation, "language": "en", "format": "text/plain", "purpose": "describing"}));
            }
            if let Some(note) = &c.note {
                body.push(json!({"type": "TextualBody", "value": note, "format": "text/plain", "purpose": "commenting"}));
            }
            items.push(json!({
                "id": format!("{event_url}#citation-{}", n + 1),
                "type": "Annotation",
                "motivation": "highlighting",
                "body": body,
                "target": {
                    "source": urls.absolute(&urls.article(&record.slug)),
                    "selector": [
                        {"type": "TextQuoteSelector", "exact": exact, "prefix": prefix, "suffix": suffix},
                        {"type": "FragmentSelector", "conformsTo": "http://tools.ietf.org/rfc/rfc3986", "value": c.paragraph},
                    ],
                },
            }));
        }
    }
    json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": urls.absolute(&urls.page("data/annotations.jsonld")),
        "type": "AnnotationCollection",
        "label": format!("Citations of {}", index.config.title),
        "total": items.len(),
        "first": {"type": "AnnotationPage", "items": items},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_handed_over_as_parts_are_the_bytes_streamed() {
        let memo = Memo::new();
        // Past one chunk, with some lines kept in the memo.
        for n in [0, 1, STREAM_CHUNK + 3] {
            let items: Vec<String> = (0..n).map(|i| format!("record \"{i}\"")).collect();
            let key = |i: usize| {
                i.is_multiple_of(2)
                    .then(|| ("test-line", memo::key(&[items[i].as_bytes()])))
            };
            let mut streamed = Vec::new();
            let digest = write_json_lines(&mut streamed, &items, &key, &memo).unwrap();
            let (parts, parts_digest) = json_line_parts(&items, &key, &memo).unwrap();
            assert_eq!(parts.concat(), streamed, "{n} items");
            assert_eq!(parts_digest, digest, "{n} items");
            let parsed: Vec<String> = serde_json::from_slice(&streamed).unwrap();
            assert_eq!(parsed, items);
        }
    }
}
