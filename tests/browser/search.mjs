// Search and list filters of a built dossier site, in headless Chromium.
//
//   node tests/browser/search.mjs SITE_DIR
//
// SITE_DIR is the example dossier built with
// `--base-url https://example.github.io/dossier-demo/`; it is served under
// /dossier-demo/ (server.mjs) with the Content-Security-Policy
// `default-src 'self'; script-src 'self'`. The checks:
//   - searching in each of the five languages, with and without diacritics,
//     inflected, and by an entity's other spellings, finds the expected
//     articles first, each result linking to a paragraph that exists and
//     showing a highlighted excerpt;
//   - clicking a result lands on its paragraph; the search box in the header
//     of every page lands on the search page, also without JavaScript;
//   - filters narrow the timeline and the article lists, from the form and
//     from a URL query, and write the choice back into the URL;
//   - no console errors, CSP violations, failed or off-site requests.
//
// Environment: CHROMIUM (default /usr/bin/chromium).
// The last line is "N passed, N failed"; the exit code is 0 only if none failed.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { startServer } from "./server.mjs";
import {
  CSP, Tally, articleOf, deadline, launchChromium, linkProblems as resultLinkProblems, requireChromium,
  newPage as openPage, search as searchOn, visibleCards,
} from "./lib.mjs";

const siteDir = path.resolve(process.argv[2] ?? "");
if (!process.argv[2] || !fs.existsSync(path.join(siteDir, "search/index.html"))) {
  console.error("usage: node search.mjs SITE_DIR (a built site with search/index.html)");
  process.exit(2);
}
requireChromium();
deadline(Number(process.env.DOSSIER_BROWSER_TIMEOUT_MS || 120_000), "the search suite");

const tally = new Tally();
const check = (name, problems) => tally.check(name, problems);
const note = (text) => tally.note(text);

// The example dossier's articles, by id.
const A = {
  da0: "000-8efa8f5a46d18ba7", // Danish, Iskander, "missilsystemer", Lukasjenko
  nb1: "001-9b10334a7624b0a2", // Norwegian, Iskander, "atomvåpen", Lukasjenko
  da2: "002-a3637277b07c1ceb", // Danish, Lukasjenko (and the typo Lukasjkenko)
  de3: "003-6ef21ff47a01b82f", // German, Iskander, "Atomwaffen", Lukaschenko
  sv4: "004-fdb09750b2c18041", // Swedish, "kärnvapen", Lukasjenko
};

const newPage = (options = {}) => openPage(browser, origin, options);
const search = (page, query) => searchOn(page, base, query);
const linkProblems = (found) => resultLinkProblems(found, siteDir, basePath);

async function run() {
  const page = await newPage();

  // -- searching, per language ---------------------------------------------
  // [query, the article expected first, what the case shows]
  const firsts = [
    ["kärnvapen", A.sv4, "Swedish"],
    ["kärnvapnen", A.sv4, "Swedish, inflected (not in the text)"],
    ["karnvapen", A.sv4, "Swedish without diacritics"],
    ["kaernvapen", A.sv4, "Swedish, ä typed as ae"],
    ["atomvåpen", A.nb1, "Norwegian"],
    ["atomvapen", A.nb1, "Norwegian without diacritics"],
    ["atomvaapen", A.nb1, "Norwegian, å typed as aa"],
    ["atomvåpnene", A.nb1, "Norwegian, inflected"],
    ["Atomwaffen", A.de3, "German"],
    ["missilsystemer", A.da0, "Danish"],
    ["missilsystem", A.da0, "Danish, another form"],
  ];
  for (const [query, expected, what] of firsts) {
    page.problems = [];
    const found = await search(page, query);
    const p = [...page.problems, ...linkProblems(found)];
    if (found.length === 0) p.push("no results");
    else {
      if (articleOf(found[0].href) !== expected)
        p.push(`first result is ${found[0].href} ("${found[0].title}"), expected article ${expected}`);
      if (found[0].marks.length === 0) p.push(`the first result's excerpt highlights nothing`);
    }
    check(`search "${query}" (${what}) finds article ${expected} first (${found.length} results)`, p);
  }

  // Several equally relevant articles: each of them, ahead of everything else.
  const several = [
    ["Iskander", [A.da0, A.nb1, A.de3], "a name in three languages"],
    ["Lukashenko", [A.da0, A.nb1, A.da2, A.de3, A.sv4], "an entity written Lukasjenko, Lukaschenko, Lukasjkenko"],
    ["Lukaschenko", [A.da0, A.nb1, A.da2, A.de3, A.sv4], "the German spelling finds the others"],
  ];
  for (const [query, expected, what] of several) {
    page.problems = [];
    const found = await search(page, query);
    const p = [...page.problems, ...linkProblems(found)];
    const top = found.slice(0, expected.length).map((r) => articleOf(r.href));
    for (const id of expected) if (!top.includes(id)) p.push(`article ${id} is not among the first ${expected.length} results (${top.join(", ")})`);
    for (const r of found.slice(0, expected.length)) if (r.marks.length === 0) p.push(`${r.href}: nothing highlighted`);
    check(`search "${query}" (${what}) finds articles ${expected.join(", ")} first`, p);
  }
  {
    // The alias is highlighted as the article writes it.
    page.problems = [];
    const found = await search(page, "Lukashenko");
    const de = found.find((r) => articleOf(r.href) === A.de3);
    const sv = found.find((r) => articleOf(r.href) === A.sv4);
    const p = [...page.problems];
    if (!de?.marks.includes("Lukaschenko")) p.push(`German article marks ${JSON.stringify(de?.marks)}, expected "Lukaschenko"`);
    if (!sv?.marks.includes("Lukasjenko")) p.push(`Swedish article marks ${JSON.stringify(sv?.marks)}, expected "Lukasjenko"`);
    if (!found.some((r) => /\/entities\/alexander-lukashenko\/$/.test(r.href))) p.push("the entity page is not among the results");
    check('search "Lukashenko" highlights "Lukaschenko" and "Lukasjenko" where the articles write them, and finds the entity', p);
  }
  {
    page.problems = [];
    const none = await search(page, "zzyzxqv");
    const status = await page.textContent("#search-status");
    const p = [...page.problems];
    if (none.length) p.push(`${none.length} results for nonsense`);
    if (!/Nothing found/.test(status)) p.push(`status "${status}"`);
    // A word missing from one language must not find that language's
    // nearest prefix ("atomvåpen" is not "at" in Danish).
    const nb = await search(page, "atomvåpen");
    const stray = nb.filter((r) => [A.da0, A.da2, A.de3, A.sv4].includes(articleOf(r.href)));
    if (stray.length) p.push(`"atomvåpen" finds articles without it: ${stray.map((r) => `${r.href} (marks ${r.marks.join(", ")})`).join("; ")}`);
    check("a word in no article finds nothing, and no language answers with a mere prefix", p);
  }

  // -- clicking a result ---------------------------------------------------------
  {
    page.problems = [];
    await search(page, "Atomwaffen");
    const link = page.locator("#search-results h2 a").first();
    const href = await link.getAttribute("href");
    // The excerpt, less its ellipses and the spacing of its marks.
    const excerpt = (await page.textContent("#search-results > li .excerpt"))
      .replace(/^… | …$/g, "")
      .replace(/\s+/g, " ")
      .trim();
    await link.click();
    await page.waitForURL((u) => u.hash.length > 1);
    await page.waitForLoadState("load");
    const target = await page.evaluate(() => {
      const t = document.querySelector(":target");
      return t && { id: t.id, text: t.textContent, top: t.getBoundingClientRect().top };
    });
    const p = [...page.problems];
    if (!target) p.push(`no :target after clicking ${href}`);
    else {
      if (!/Atomwaffen/.test(target.text)) p.push(`#${target.id} does not hold "Atomwaffen"`);
      // The excerpt is read from the article's page: the words of this paragraph.
      const words = target.text.replace(/^¶/, "").replace(/\s+/g, " ").trim();
      if (!excerpt || !words.includes(excerpt)) p.push(`the excerpt "${excerpt}" is not the text of #${target.id}: "${words}"`);
      if (target.top < 0 || target.top > 900) p.push(`#${target.id} is not in view (top ${target.top})`);
    }
    check(`the first result for "Atomwaffen" shows words of its paragraph, and clicking it lands there ${href}`, p);
  }

  // -- the search box of every page ---------------------------------------------
  {
    page.problems = [];
    await page.goto(`${base}timeline/`, { waitUntil: "load" });
    await page.fill("#site-search-q", "Iskander");
    await page.press("#site-search-q", "Enter");
    await page.waitForURL((u) => u.pathname === `${basePath}search/`);
    await page.waitForSelector("#search-results > li");
    const u = new URL(page.url());
    const p = [...page.problems];
    if (u.searchParams.get("q") !== "Iskander") p.push(`landed on ${page.url()}`);
    if ((await page.inputValue("#search-q")) !== "Iskander") p.push("the search page's box does not hold the query");
    // Typing a new query updates the URL, so the result list can be linked.
    await page.fill("#search-q", "Atomwaffen");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("q") === "Atomwaffen");
    await page.waitForFunction(() => /Atomwaffen/.test(document.getElementById("search-status").textContent));
    check("the header's search box lands on /search/?q=…, and typing updates the results and the URL", p);
  }
  {
    const nojs = await newPage({ javaScriptEnabled: false });
    await nojs.goto(`${base}articles/`, { waitUntil: "load" });
    await nojs.fill("#site-search-q", "Iskander");
    await nojs.press("#site-search-q", "Enter");
    await nojs.waitForURL((u) => u.pathname === `${basePath}search/`);
    const state = await nojs.evaluate(() => ({
      note: !document.getElementById("search-nojs").hidden,
      q: new URL(location.href).searchParams.get("q"),
      filters: document.querySelectorAll(".filters").length,
    }));
    await nojs.goto(`${base}timeline/?language=sv`, { waitUntil: "load" });
    const all = await nojs.evaluate(() => document.querySelectorAll("li[data-month]:not([hidden])").length);
    const p = [...nojs.problems];
    if (state.q !== "Iskander") p.push(`search page URL has q=${state.q}`);
    if (!state.note) p.push("the search page does not say that search needs JavaScript");
    if (all < 10) p.push(`the timeline shows ${all} items without JavaScript`);
    check("without JavaScript the search box lands on the search page, which says what to do, and lists are whole", p);
    await nojs.context().close();
  }

  // -- accessibility of the search page and of the filter form -------------------
  {
    const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
    // axe is injected by the test, not the site: the page's CSP is bypassed here.
    const page = await newPage({ bypassCSP: true });
    for (const [name, url, ready] of [
      ["search page with results", `${base}search/?q=Iskander`, "#search-results > li"],
      ["timeline with filters", `${base}timeline/?language=sv`, ".filters"],
    ]) {
      page.problems = [];
      await page.goto(url, { waitUntil: "load" });
      await page.waitForSelector(ready);
      await page.addScriptTag({ path: axePath });
      const violations = await page.evaluate(async () => {
        if (typeof axe === "undefined") return null;
        // eslint-disable-next-line no-undef
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join("; ")})`);
      });
      const p = [...page.problems, ...(violations === null ? ["axe could not be injected"] : violations)];
      check(`axe-core: no serious or critical violations on the ${name}`, p);
    }
    await page.context().close();
  }

  // -- filters ------------------------------------------------------------------
  const visible = visibleCards;
  {
    page.problems = [];
    await page.goto(`${base}timeline/`, { waitUntil: "load" });
    const before = await page.evaluate(() => document.querySelectorAll("#main li[data-month]").length);
    await page.selectOption(".filters select[name=language]", "sv");
    const shown = await visible(page);
    const p = [...page.problems];
    if (new URL(page.url()).searchParams.get("language") !== "sv") p.push(`the URL is ${page.url()}`);
    if (shown.length === 0 || shown.length >= before) p.push(`${shown.length} of ${before} items shown`);
    for (const s of shown) if (!s.language.split(" ").includes("sv")) p.push(`a ${s.kind} in ${s.language} is shown`);
    if (!shown.some((s) => s.kind === "article-card")) p.push("the Swedish article is not shown");
    await page.click(".filters button");
    const all = await visible(page);
    if (new URL(page.url()).search) p.push(`"Show all" left the query ${new URL(page.url()).search}`);
    check(`language=sv narrows the timeline to Swedish items (${shown.length} of ${before}), and "Show all" restores it (${all.length})`, p);
  }
  {
    page.problems = [];
    await page.goto(`${base}timeline/?theme=nuclear-weapons&month=2023-05`, { waitUntil: "load" });
    const shown = await visible(page);
    const sections = await page.evaluate(() =>
      [...document.querySelectorAll("#main section")].filter((s) => s.offsetParent !== null).map((s) => s.id),
    );
    const p = [...page.problems];
    if (shown.length === 0) p.push("nothing shown");
    for (const s of shown) {
      if (s.month !== "2023-05") p.push(`an item of ${s.month} is shown`);
      if (!s.themes.split(" ").includes("nuclear-weapons")) p.push(`an item with themes "${s.themes}" is shown`);
    }
    if (sections.join() !== "m-2023-05") p.push(`sections shown: ${sections.join(", ")}`);
    const values = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll(".filters select")].map((s) => [s.name, s.value])));
    if (values.theme !== "nuclear-weapons" || values.month !== "2023-05") p.push(`the form shows ${JSON.stringify(values)}`);
    check(`a URL query (?theme=nuclear-weapons&month=2023-05) filters the timeline (${shown.length} items)`, p);
  }
  {
    page.problems = [];
    await page.goto(`${base}articles/?language=de`, { waitUntil: "load" });
    const shown = await visible(page);
    const p = [...page.problems];
    if (shown.length !== 1 || shown[0].language !== "de") p.push(`shown: ${JSON.stringify(shown)}`);
    await page.selectOption(".filters select[name=language]", "da");
    const da = await visible(page);
    if (da.length !== 2 || da.some((s) => s.language !== "da")) p.push(`language=da shows ${JSON.stringify(da)}`);
    if (new URL(page.url()).searchParams.get("language") !== "da") p.push(`the URL is ${page.url()}`);
    check("the article list filters by language, from the URL and from the form", p);
  }
  {
    // The index's month x theme matrix links to a theme page narrowed to the
    // month (#m-YYYY-MM is the same place without JavaScript).
    page.problems = [];
    await page.goto(base, { waitUntil: "load" });
    const href = await page.locator("table.matrix td a").first().getAttribute("href");
    const u = new URL(href, base);
    const month = u.searchParams.get("month");
    await page.goto(u.href, { waitUntil: "load" });
    const shown = await visible(page);
    const p = [...page.problems];
    if (!/\/themes\/[^/]+\/$/.test(u.pathname) || !month || u.hash !== `#m-${month}`) p.push(`matrix link ${href}`);
    if (shown.length === 0 || shown.some((s) => s.month !== month)) p.push(`shown: ${JSON.stringify(shown)}`);
    check(`a month x theme cell of the index (${href}) opens the theme's items of that month`, p);
  }
}

// ---- main ----------------------------------------------------------------------

const server = await startServer(siteDir, { headers: { "Content-Security-Policy": CSP } });
const { origin, base } = server;
const basePath = new URL(base).pathname;
const browser = await launchChromium();
note(`serving ${siteDir} at ${base} with CSP "${CSP}"; chromium ${browser.version()}`);

try {
  await run();
} catch (e) {
  check("the search suite ran to the end", [String(e?.stack ?? e)]);
} finally {
  await browser.close().catch(() => {});
  await server.close();
}
process.exit(tally.finish());
