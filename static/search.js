// The search page: queries the Pagefind bundle of every language (built by
// `dossier build`, see src/search.rs), each with its own stemmer, and lists
// the results with links to the paragraphs. No inline script, no request
// outside the site; works under any base path (the form carries it).

const form = document.getElementById("search");
const input = document.getElementById("search-q");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const more = document.getElementById("search-more");
document.getElementById("search-nojs").hidden = true;

const bundleRoot = form.dataset.pagefind;
// "DIR:LANG …": a bundle of articles per language, and one of annotations.
const bundleList = (form.dataset.bundles || "")
  .split(/\s+/)
  .filter(Boolean)
  .map((b) => {
    const [dir, lang] = b.split(":");
    return { dir, lang, weight: dir === "annotations" ? 0.9 : 1 };
  });
const PAGE = 20;

const LANGUAGE_NAMES = {
  da: "Danish", nb: "Norwegian (Bokmål)", nn: "Norwegian (Nynorsk)", no: "Norwegian",
  sv: "Swedish", de: "German", en: "English", fi: "Finnish", fr: "French",
  ru: "Russian", uk: "Ukrainian", pl: "Polish", und: "Undetermined",
};
const MONTHS = ["January", "February", "March", "April", "May", "June", "July",
  "August", "September", "October", "November", "December"];

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

// ---- the bundles ------------------------------------------------------------

let loading = null;
/** Loads every language's Pagefind once; each import is its own module, so
 * each keeps its own WebAssembly (and stemmer). */
function bundles() {
  if (!loading) {
    loading = Promise.all(
      bundleList.map(async (bundle) => {
        try {
          const pf = await import(`${bundleRoot}${bundle.dir}/pagefind.js`);
          await pf.options({ noWorker: true, excerptLength: 28 });
          await pf.init();
          return { ...bundle, pf };
        } catch (e) {
          console.warn(`search: the ${bundle.dir} index did not load: ${e}`);
          return null;
        }
      }),
    ).then((all) => all.filter(Boolean));
  }
  return loading;
}

// Scandinavian nouns in -el, -en, -er drop the e when inflected
// (vapen -> vapnen, våpen -> våpnene, nyckel -> nycklar), which stemming does
// not undo; the base form is searched as well.
const SYNCOPE = /^(.{2,}[^aeiouyæøåäö])([lnr])(arna|erna|erne|ene|ena|ens|ets|ar|er|en|et|a|e)$/u;
const SCANDINAVIAN = new Set(["da", "nb", "nn", "no", "sv"]);

function queriesFor(query, { dir, lang }) {
  const out = [query];
  // Annotations quote articles in every language.
  if (SCANDINAVIAN.has(lang) || dir === "annotations") {
    const alt = query
      .split(/\s+/)
      .map((w) => w.replace(SYNCOPE, "$1e$2"))
      .join(" ");
    if (alt !== query) out.push(alt);
  }
  return out;
}

// ---- matching words for highlights ----------------------------------------

/** Lowercase, without diacritics or their two-letter spellings. */
function fold(word) {
  return word
    .toLowerCase()
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .replace(/ø/g, "o")
    .replace(/æ/g, "ae")
    .replace(/ß/g, "ss")
    .replace(/ae/g, "a")
    .replace(/oe/g, "o")
    .replace(/aa/g, "a")
    .replace(/ue/g, "u");
}

function similar(a, b) {
  const [x, y] = [fold(a), fold(b)];
  const n = Math.max(3, Math.min(x.length, y.length) - 3);
  return x.slice(0, n) === y.slice(0, n);
}

const WORD = /[\p{L}\p{N}]+/gu;

/** The query's words as Pagefind takes them: "S-400" is "s400". */
function queryTerms(query) {
  return query
    .split(/\s+/)
    .map((t) => t.replace(/[^\p{L}\p{N}]/gu, ""))
    .filter(Boolean);
}

// ---- the results -------------------------------------------------------------

/** The words Pagefind matched in a result's text, as written. */
function matchedWords(data) {
  const words = (data.content || "").split(/[\r\n\s]+/g);
  return (data.locations || []).map((l) => words[l]).filter(Boolean);
}

/** True if `word` is `term`, a longer form of it, or shares most of it. */
function close(term, word) {
  const t = fold(term.replace(/[^\p{L}\p{N}]/gu, ""));
  const w = fold(word.replace(/[^\p{L}\p{N}]/gu, ""));
  if (!t || !w) return false;
  if (w.startsWith(t)) return true;
  let n = 0;
  while (n < t.length && n < w.length && t[n] === w[n]) n++;
  return n >= Math.max(3, Math.ceil(0.6 * t.length));
}

/** For a word it does not hold, Pagefind searches the longest prefix it
 * does hold ("atomvåpen" finds "at" in Danish): such a response is not a
 * match. Each query term must be close to a word matched in the text, or
 * to a hidden word (transliteration, alias) of a matched field. */
function relevant(data, result, query) {
  const terms = queryTerms(query);
  const words = matchedWords(data);
  const hidden = (result.matchedMetaFields || [])
    .flatMap((f) => (data.meta?.[f] || "").split(/[\s|]+/))
    .filter(Boolean);
  return terms.every((t) => words.some((w) => close(t, w)) || hidden.some((w) => close(t, w)));
}

let generation = 0;
let pending = [];

async function run(query) {
  const mine = ++generation;
  pending = [];
  query = query.trim();
  if (!query) {
    list.replaceChildren();
    more.hidden = true;
    status.textContent = "";
    return;
  }
  status.textContent = "Searching…";
  const loaded = await bundles();
  if (mine !== generation) return;
  const searches = [];
  for (const { dir, lang, pf, weight } of loaded) {
    for (const q of queriesFor(query, { dir, lang })) {
      searches.push(
        pf.search(q).then(
          async (r) => {
            const results = r?.results || [];
            if (!results.length || !relevant(await results[0].data(), results[0], q)) return [];
            // Scores are relative within a bundle (its IDF is its own), so
            // each bundle's best counts as 1; annotations, which quote the
            // articles, rank a little below them.
            const top = results[0].score || 1;
            return results.map((result) => ({ dir, lang, result, score: (result.score / top) * weight }));
          },
          () => [],
        ),
      );
    }
  }
  const found = new Map();
  for (const hits of await Promise.all(searches)) {
    for (const hit of hits) {
      const key = `${hit.dir}:${hit.result.id}`;
      const seen = found.get(key);
      if (!seen || seen.score < hit.score) found.set(key, hit);
    }
  }
  if (mine !== generation) return;
  pending = [...found.values()].sort((a, b) => b.score - a.score);
  const total = pending.length;
  list.replaceChildren();
  await showMore(mine, query);
  if (mine !== generation) return;
  status.textContent =
    total === 0
      ? `Nothing found for “${query}”.`
      : `${total} ${total === 1 ? "result" : "results"} for “${query}”.`;
}

async function showMore(mine, query) {
  const batch = pending.splice(0, PAGE);
  const items = await Promise.all(batch.map((hit) => item(hit, query)));
  if (mine !== generation) return;
  list.append(...items);
  more.hidden = pending.length === 0;
}

/** Pagefind's excerpt (text with < and > escaped, and <mark>) as nodes. */
function excerptNodes(excerpt) {
  const nodes = [];
  let marked = false;
  for (const part of excerpt.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") marked = true;
    else if (part === "</mark>") marked = false;
    else if (part) {
      const text = part.replace(/&lt;/g, "<").replace(/&gt;/g, ">");
      if (marked) {
        const m = document.createElement("mark");
        m.textContent = text;
        nodes.push(m);
      } else nodes.push(document.createTextNode(text));
    }
  }
  return nodes;
}

/** Up to `size` words of `text` around the first word of `terms`, marked. */
function textExcerpt(text, terms, size = 28) {
  const words = [...text.matchAll(WORD)];
  const hit = words.findIndex((w) => terms.some((t) => fold(t) === fold(w[0])));
  const from = Math.max(0, (hit < 0 ? 0 : hit) - Math.floor(size / 3));
  const to = Math.min(words.length, from + size);
  if (words.length === 0) return [document.createTextNode(text)];
  const start = words[from].index;
  const end = to < words.length ? words[to - 1].index + words[to - 1][0].length : text.length;
  const nodes = [];
  let at = start;
  for (const w of words.slice(from, to)) {
    if (!terms.some((t) => fold(t) === fold(w[0]))) continue;
    nodes.push(document.createTextNode(text.slice(at, w.index)));
    const m = document.createElement("mark");
    m.textContent = w[0];
    nodes.push(m);
    at = w.index + w[0].length;
  }
  nodes.push(document.createTextNode(text.slice(at, end)));
  if (from > 0) nodes.unshift(document.createTextNode("… "));
  if (to < words.length) nodes.push(document.createTextNode(" …"));
  return nodes;
}

/** The words of the hidden groups ("written variant… | …") of a metadata
 * field that match the query: marked where the text holds them. */
function writtenForms(value, query) {
  const terms = queryTerms(query);
  const written = [];
  for (const group of (value || "").split(" | ")) {
    const words = group.split(" ").filter(Boolean);
    if (words.some((w) => terms.some((t) => similar(w, t)))) written.push(...words);
  }
  return written;
}

function kindOf(url) {
  if (/\/events\//.test(url)) return "Event";
  if (/\/entities\//.test(url)) return "Entity";
  return "Article";
}

async function item({ lang, result }, query) {
  const data = await result.data();
  const li = document.createElement("li");
  li.className = "search-result";

  // The passage: the anchored sub-result with the strongest matches, else
  // the paragraph whose hidden words matched (a transliteration or alias).
  const anchored = (data.sub_results || []).filter((s) => s.url.includes("#"));
  let best = null;
  let bestWeight = -1;
  for (const s of anchored) {
    const weight = (s.weighted_locations || []).reduce((sum, l) => sum + l.balanced_score, 0);
    if (weight > bestWeight) [best, bestWeight] = [s, weight];
  }
  let href = best ? best.url : data.url;
  let excerpt = null;
  if (best) {
    excerpt = excerptNodes(best.excerpt);
  } else {
    const fields = (result.matchedMetaFields || []).filter((f) => /^[pc]\d+$/.test(f));
    for (const field of fields) {
      const written = writtenForms(data.meta[field], query);
      const anchor = (data.anchors || []).find((a) => a.id === field);
      if (!anchor) continue;
      href = `${data.url}#${field}`;
      excerpt = textExcerpt(anchor.text || "", written);
      break;
    }
    if (!excerpt) {
      const written = writtenForms(data.meta.x, query);
      excerpt = written.length
        ? textExcerpt(data.content || "", written)
        : excerptNodes(data.excerpt || "");
    }
  }

  const title = document.createElement("a");
  title.className = "search-title";
  title.href = href;
  title.lang = lang;
  title.textContent = data.meta.title || data.url;
  const heading = document.createElement("h2");
  heading.append(title);

  const meta = document.createElement("p");
  meta.className = "meta";
  const kind = kindOf(data.url);
  const parts = [kind];
  if (data.meta.date) parts.push(dateDisplay(data.meta.date));
  if (kind === "Article") parts.push(languageName(lang));
  const passage = /#(p\d+|c\d+)$/.exec(href);
  if (passage) parts.push(passage[1].startsWith("c") ? `source ${passage[1].slice(1)}` : `paragraph ${passage[1].slice(1)}`);
  meta.textContent = parts.join(" · ");

  const text = document.createElement("p");
  text.className = "excerpt";
  text.lang = lang;
  text.append(...excerpt);
  li.append(heading, meta, text);

  const others = anchored.filter((s) => s !== best).slice(0, 4);
  if (others.length) {
    const also = document.createElement("p");
    also.className = "also meta";
    also.append("Also in ");
    others.forEach((s, i) => {
      const a = document.createElement("a");
      a.href = s.url;
      const id = s.url.split("#")[1] || "";
      a.textContent = id.startsWith("c") ? `source ${id.slice(1)}` : `paragraph ${id.slice(1)}`;
      if (i) also.append(", ");
      also.append(a);
    });
    li.append(also);
  }
  return li;
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
more.addEventListener("click", () => showMore(generation, input.value));

const initial = new URLSearchParams(location.search).get("q") || "";
input.value = initial;
if (initial) run(initial);
// Load the indexes as soon as the reader turns to the box, not before: a
// visitor who only passes by downloads nothing.
input.addEventListener("focus", () => bundles(), { once: true });
const header = document.getElementById("site-search-q");
if (header) header.value = initial;
