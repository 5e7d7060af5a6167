// The search page: looks the query up in the index that `dossier build`
// writes (src/search.rs explains it: search-index/meta.json, the term shards
// terms/KEY.json and the fragments of documents docs/KIND/F.json), ranks the
// documents (BM25, title matches boosted, every word required, or any when
// none has all) and lists them with a highlighted excerpt linking to the
// paragraph. An article's excerpt is read from its own page (the index
// holds its paragraphs' anchors, not its text a second time). Plain JSON
// and HTML over fetch: no WebAssembly, no inline script, no request outside
// the site; works under any base path.

const form = document.getElementById("search");
const input = document.getElementById("search-q");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const more = document.getElementById("search-more");
document.getElementById("search-nojs").hidden = true;

const root = form.dataset.index; // "/base/search-index/"
const base = form.dataset.base; // "/base/"
const VERSION = 2; // src/search.rs FORMAT_VERSION
const PAGE = 20;

// Ranking: BM25's k1 and b; a word in the title counts this much more;
// events and entities (the analyst's notes, which quote and name what the
// articles say) rank below articles that match as well.
const K1 = 1.2;
const B = 0.75;
const TITLE_BOOST = 2;
const KIND_WEIGHT = { article: 1, event: 0.3, entity: 0.3 };
// A word the texts do not hold matches the stems it begins with, up to
// this many letters shorter ("kärnvapnen": the stem "karnvap").
const ENDING = 4;
// ... or, as a partial word, the words it begins, which are in its own shard
// and in the shards split off below it ("kom": "komm", "komp", ...): when
// there are more of those than this, the beginning is too short to complete.
const PARTIAL_SHARDS = 8;

const LANGUAGE_NAMES = {
  da: "Danish", nb: "Norwegian (Bokmål)", nn: "Norwegian (Nynorsk)", no: "Norwegian",
  sv: "Swedish", de: "German", en: "English", fi: "Finnish", fr: "French",
  ru: "Russian", uk: "Ukrainian", pl: "Polish", und: "Undetermined",
};
const MONTHS = ["January", "February", "March", "April", "May", "June", "July",
  "August", "September", "October", "November", "December"];
const KIND_NAMES = { article: "Article", event: "Event", entity: "Entity" };

function languageName(code) {
  if (LANGUAGE_NAMES[code]) return LANGUAGE_NAMES[code];
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

/** "2022-06-25" -> "25 June 2022", "2022-06" -> "June 2022". */
function dateDisplay(iso) {
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(iso || "");
  if (!m) return "";
  const month = MONTHS[Number(m[2]) - 1] || m[2];
  return m[3] ? `${Number(m[3])} ${month} ${m[1]}` : `${month} ${m[1]}`;
}

// ---- words, as src/search.rs makes them -------------------------------------

/** Runs of letters and digits (Rust's char::is_alphanumeric). */
const WORD = /[\p{Alphabetic}\p{N}]+/gu;

/** src/search.rs `fold`: lowercase, no diacritics, ä = ae, ö = oe = ø,
 * å = aa, ü = ue, ß = ss, æ = ae, and those spellings made single. */
function fold(word) {
  return word
    .toLowerCase()
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .replace(/[øæœßđðłþ]/g, (c) => ({ ø: "o", æ: "ae", œ: "oe", ß: "ss", đ: "d", ð: "d", ł: "l", þ: "th" })[c])
    .replace(/ae/g, "a")
    .replace(/oe/g, "o")
    .replace(/aa/g, "a")
    .replace(/ue/g, "u");
}

/** The query's folded words, each once. Cut before lowercasing, as the
 * index cuts words: "İ" lowercases to "i" and a combining dot, which is no
 * letter, and a final sigma is final in its word, not in the query. */
function queryWords(query) {
  return [...new Set((query.normalize("NFC").match(WORD) || []).map(fold).filter(Boolean))];
}

/** `n` first letters (code points) of a word. */
const head = (word, n) => [...word].slice(0, n).join("");
const letters = (word) => [...word].length;

// ---- the index ---------------------------------------------------------------

async function fetchJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

let metaLoad = null;
/** meta.json, once: document count, lengths, kinds, shard keys. */
function meta() {
  if (!metaLoad) {
    metaLoad = fetchJSON(`${root}meta.json`).then((m) => {
      if (m.version !== VERSION) throw new Error(`search index version ${m.version}, expected ${VERSION}`);
      const keys = new Set(m.shards);
      const longest = Math.max(0, ...m.shards.map(letters));
      // Document number -> kind, number among its kind, and the fragment
      // file holding it (`block` documents a file), from the counts in
      // document order (entities, events, articles).
      const ranges = [];
      let start = 0;
      for (const [kind, n, block] of m.kinds) ranges.push([start, (start += n), kind, block || 1]);
      const locate = (doc) => {
        const [from, , kind, block] = ranges.find(([, end]) => doc < end) || [0, 0, "article", 1];
        const k = doc - from;
        return { kind, file: `docs/${kind}/${Math.floor(k / block)}.json`, at: k % block };
      };
      return { ...m, keys, longest, locate };
    });
    metaLoad.catch(() => (metaLoad = null));
  }
  return metaLoad;
}

/** The shard that holds a word or stem: its longest prefix among the keys. */
function shardKey(m, word) {
  for (let n = Math.min(m.longest, letters(word)); n >= 0; n--) {
    const key = head(word, n);
    if (m.keys.has(key)) return key;
  }
  return null;
}

/** src/search.rs `shard_file`. */
function shardFile(key) {
  if (key === "") return "_";
  return [...key].map((c) => (/[a-z0-9]/.test(c) ? c : `_${c.codePointAt(0).toString(16)}_`)).join("");
}

const shards = new Map();
/** A term shard ({words, stems}), once; null when there is none. */
function shard(m, key) {
  if (key === null) return Promise.resolve(null);
  if (!shards.has(key)) {
    const load = fetchJSON(`${root}terms/${shardFile(key)}.json`);
    load.catch(() => shards.delete(key));
    shards.set(key, load);
  }
  return shards.get(key);
}

const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

/** A vocabulary entry's stems: a number of letters to cut off the word, a
 * stem, or a list of those. */
function stemsOf(word, value) {
  const one = (v) => (typeof v === "number" ? head(word, letters(word) - v) : v);
  return Array.isArray(value) ? value.map(one) : [one(value)];
}

/** A query word's stems, and the written forms (folded) to highlight. */
async function lookup(m, word) {
  const found = { word, stems: new Set(), forms: new Set([word]) };
  const own = await shard(m, shardKey(m, word));
  const loaded = new Set(own ? [own] : []);
  if (own && has(own.words, word)) {
    for (const s of stemsOf(word, own.words[word])) found.stems.add(s);
  } else {
    // Not in the texts: an inflection of a stem it begins with ...
    const n = letters(word);
    const candidates = [];
    for (let k = n; k >= Math.max(3, n - ENDING); k--) candidates.push(head(word, k));
    const sought = await Promise.all(candidates.map((stem) => shard(m, shardKey(m, stem))));
    sought.forEach((sh, i) => {
      if (sh && has(sh.stems, candidates[i])) {
        found.stems.add(candidates[i]);
        loaded.add(sh);
      }
    });
    // ... or the beginning of words that are (typed so far).
    const below = m.shards.filter((key) => key.length > word.length && key.startsWith(word));
    if (n >= 3 && below.length <= PARTIAL_SHARDS) {
      const more = await Promise.all(below.map((key) => shard(m, key)));
      for (const sh of [own, ...more]) {
        if (!sh) continue;
        for (const [w, v] of Object.entries(sh.words)) {
          if (!w.startsWith(word)) continue;
          for (const s of stemsOf(w, v)) found.stems.add(s);
          loaded.add(sh);
        }
      }
    }
  }
  for (const sh of loaded) {
    for (const [w, v] of Object.entries(sh.words)) {
      if (stemsOf(w, v).some((s) => found.stems.has(s))) found.forms.add(w);
    }
  }
  return found;
}

/** Postings of a query word's stems: doc -> { tf, paragraphs (Set) }. */
async function postings(m, found) {
  const stems = [...found.stems];
  const loaded = await Promise.all(stems.map((stem) => shard(m, shardKey(m, stem))));
  const docs = new Map();
  stems.forEach((stem, s) => {
    const list = loaded[s] && has(loaded[s].stems, stem) ? loaded[s].stems[stem] : [];
    // Per document: doc number delta, tf, n, n paragraphs (0: the title).
    let doc = 0;
    for (let i = 0; i < list.length; ) {
      doc += list[i];
      const tf = list[i + 1];
      const n = list[i + 2];
      let hit = docs.get(doc);
      if (!hit) docs.set(doc, (hit = { tf: 0, paragraphs: new Set() }));
      hit.tf += tf;
      for (let j = 0; j < n; j++) hit.paragraphs.add(list[i + 3 + j]);
      i += 3 + n;
    }
  });
  return docs;
}

/** Ranked documents for the query's words. */
async function rank(words) {
  const m = await meta();
  const found = await Promise.all(words.map((w) => lookup(m, w)));
  const hits = await Promise.all(found.map((f) => postings(m, f)));
  const scores = new Map(); // doc -> { score, words, paragraphs: Map p -> words }
  for (const docs of hits) {
    const df = docs.size;
    const idf = Math.log(1 + (m.documents - df + 0.5) / (df + 0.5));
    for (const [doc, { tf, paragraphs }] of docs) {
      const { kind } = m.locate(doc);
      const norm = m.lengths[doc] / (m.average[kind] || 1);
      let s = (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + B * norm));
      if (paragraphs.has(0)) s *= TITLE_BOOST;
      let r = scores.get(doc);
      if (!r) scores.set(doc, (r = { doc, kind, score: 0, words: 0, paragraphs: new Map() }));
      r.score += s;
      r.words++;
      for (const p of paragraphs) r.paragraphs.set(p, (r.paragraphs.get(p) || 0) + 1);
    }
  }
  let ranked = [...scores.values()];
  const all = ranked.filter((r) => r.words === words.length);
  if (all.length) ranked = all;
  for (const r of ranked) r.score *= KIND_WEIGHT[r.kind] ?? 1;
  ranked.sort((a, b) => b.words - a.words || b.score - a.score || a.doc - b.doc);
  const forms = new Set(found.flatMap((f) => [...f.forms]));
  const stems = new Set(found.flatMap((f) => [...f.stems]));
  return { ranked, forms, stems, every: all.length > 0 };
}

const files = new Map();
/** A document's fragment (url, kind, title, date, language, paragraphs,
 * aliases), from the file of its block, fetched once. */
async function fragment(m, doc) {
  const { file, at } = m.locate(doc);
  if (!files.has(file)) {
    const load = fetchJSON(`${root}${file}`);
    load.catch(() => files.delete(file));
    files.set(file, load);
  }
  return (await files.get(file))[at];
}

const pages = new Map();
/** An article's page, parsed (not run: DOMParser executes no script),
 * fetched once. */
function articlePage(url) {
  if (!pages.has(url)) {
    const load = fetch(url).then(async (response) => {
      if (!response.ok) throw new Error(`${url}: ${response.status}`);
      return new DOMParser().parseFromString(await response.text(), "text/html");
    });
    load.catch(() => pages.delete(url));
    pages.set(url, load);
  }
  return pages.get(url);
}

/** The text of the paragraph `anchor` of an article's page, without its
 * ¶ link; "" when the page or the paragraph cannot be had. */
async function passageText(url, anchor) {
  try {
    const element = (await articlePage(url)).getElementById(anchor);
    if (!element) return "";
    const copy = element.cloneNode(true);
    for (const link of copy.querySelectorAll(".anchor")) link.remove();
    return copy.textContent.replace(/\s+/g, " ").trim();
  } catch {
    return "";
  }
}

// ---- the results -------------------------------------------------------------

/** A test for folded words to highlight: the query's forms, and words that
 * are a matched stem plus a short ending. */
function matcher(forms, stems) {
  return (folded) => {
    if (forms.has(folded)) return true;
    for (const s of stems) if (folded.startsWith(s) && letters(folded) - letters(s) <= ENDING) return true;
    return false;
  };
}

/** Up to `size` words of `text` around its first match, matches marked. */
function excerpt(text, isMatch, size = 30) {
  const words = [...text.matchAll(WORD)];
  if (words.length === 0) return [document.createTextNode(text)];
  const hit = words.findIndex((w) => isMatch(w[0]));
  const from = Math.max(0, (hit < 0 ? 0 : hit) - Math.floor(size / 3));
  const to = Math.min(words.length, from + size);
  const start = from === 0 ? 0 : words[from].index;
  const end = to < words.length ? words[to - 1].index + words[to - 1][0].length : text.length;
  const nodes = [];
  let at = start;
  for (const w of words.slice(from, to)) {
    if (!isMatch(w[0])) continue;
    nodes.push(document.createTextNode(text.slice(at, w.index)));
    const mark = document.createElement("mark");
    mark.textContent = w[0];
    nodes.push(mark);
    at = w.index + w[0].length;
  }
  nodes.push(document.createTextNode(text.slice(at, end)));
  if (from > 0) nodes.unshift(document.createTextNode("… "));
  if (to < words.length) nodes.push(document.createTextNode(" …"));
  return nodes;
}

const passageName = (anchor) => (anchor.startsWith("c") ? `source ${anchor.slice(1)}` : `paragraph ${anchor.slice(1)}`);

async function item(hit, found) {
  const doc = await fragment(await meta(), hit.doc);
  // [anchor, text]; an article's text is on its page (read below).
  const paragraphs = doc.paragraphs || (doc.anchors || []).map((anchor) => [anchor]);
  // The paragraph with the most query words (the earliest of those); the
  // title (paragraph 0) only when no paragraph matches.
  let best = 0;
  for (const [p, n] of hit.paragraphs) {
    if (p === 0 || p > paragraphs.length) continue;
    const have = hit.paragraphs.get(best) || 0;
    if (best === 0 || n > have || (n === have && p < best)) best = p;
  }
  // An article always links to a paragraph: its first, for a title match.
  const shown = best || (doc.kind === "article" && paragraphs.length ? 1 : 0);
  const [anchor, written] = shown ? paragraphs[shown - 1] : ["", ""];
  const text = written ?? (await passageText(`${base}${doc.url}`, anchor));

  // Highlight the query's words, and an entity's name as this document
  // writes it when another of its names was searched. The names come
  // folded: folding them again could change them ("queen": "quen", "qun").
  const searched = matcher(found.forms, found.stems);
  const forms = new Set(found.forms);
  for (const group of doc.aliases || []) {
    if (group.some(searched)) for (const w of group) forms.add(w);
  }
  const highlighted = matcher(forms, found.stems);
  const isMatch = (word) => highlighted(fold(word));

  const li = document.createElement("li");
  li.className = "search-result";
  const title = document.createElement("a");
  title.className = "search-title";
  title.href = `${base}${doc.url}${anchor ? `#${anchor}` : ""}`;
  title.lang = doc.language;
  title.textContent = doc.title || doc.url;
  const heading = document.createElement("h2");
  heading.append(title);

  const metaLine = document.createElement("p");
  metaLine.className = "meta";
  const parts = [KIND_NAMES[doc.kind] || "Article"];
  if (doc.date) parts.push(dateDisplay(doc.date));
  if (doc.kind === "article") parts.push(languageName(doc.language));
  if (anchor) parts.push(passageName(anchor));
  metaLine.textContent = parts.join(" · ");

  const body = document.createElement("p");
  body.className = "excerpt";
  body.lang = doc.language;
  body.append(...excerpt(text || doc.title || "", isMatch));
  li.append(heading, metaLine, body);

  // Other paragraphs that match, by anchor.
  const others = [];
  for (const p of [...hit.paragraphs.keys()].sort((a, b) => a - b)) {
    const a = p > 0 && p <= paragraphs.length ? paragraphs[p - 1][0] : "";
    if (a && a !== anchor && !others.includes(a)) others.push(a);
  }
  if (others.length) {
    const also = document.createElement("p");
    also.className = "also meta";
    also.append("Also in ");
    others.slice(0, 4).forEach((a, i) => {
      const link = document.createElement("a");
      link.href = `${base}${doc.url}#${a}`;
      link.textContent = passageName(a);
      if (i) also.append(", ");
      also.append(link);
    });
    li.append(also);
  }
  return li;
}

// ---- running a query -----------------------------------------------------------

let generation = 0;
let pending = [];
let current = null;

async function run(query) {
  const mine = ++generation;
  pending = [];
  query = query.trim();
  const words = queryWords(query);
  if (!words.length) {
    list.replaceChildren();
    more.hidden = true;
    status.textContent = "";
    return;
  }
  status.textContent = "Searching…";
  let result;
  try {
    result = await rank(words);
    if (mine !== generation) return;
    current = result;
    pending = result.ranked;
    list.replaceChildren();
    await showMore(mine);
  } catch (e) {
    if (mine !== generation) return;
    status.textContent = "The search index could not be loaded.";
    console.warn(`search: ${e}`);
    return;
  }
  if (mine !== generation) return;
  const total = result.ranked.length;
  const some = result.every || words.length === 1 ? "" : ", none with all its words";
  status.textContent =
    total === 0
      ? `Nothing found for “${query}”.`
      : `${total} ${total === 1 ? "result" : "results"} for “${query}”${some}.`;
}

async function showMore(mine) {
  const batch = pending.slice(0, PAGE);
  pending = pending.slice(PAGE);
  const items = await Promise.all(batch.map((hit) => item(hit, current)));
  if (mine !== generation) return;
  list.append(...items);
  more.hidden = pending.length === 0;
}

// ---- wiring ------------------------------------------------------------------

function setQuery(query) {
  const url = new URL(location.href);
  if (query) url.searchParams.set("q", query);
  else url.searchParams.delete("q");
  history.replaceState(null, "", url);
}

let timer = null;
input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => {
    setQuery(input.value.trim());
    run(input.value);
  }, 150);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(timer);
  setQuery(input.value.trim());
  run(input.value);
});
more.addEventListener("click", () => showMore(generation).catch((e) => console.warn(`search: ${e}`)));

const initial = new URLSearchParams(location.search).get("q") || "";
input.value = initial;
if (initial) run(initial);
// Load the index's summary as soon as the reader turns to the box, not
// before: a visitor who only passes by downloads nothing.
input.addEventListener("focus", () => meta().catch(() => {}), { once: true });
const header = document.getElementById("site-search-q");
if (header) header.value = initial;
