// Helpers shared by the browser scripts (search.mjs, search-scale.mjs,
// search-bench.mjs, hostile.mjs): the browser (chromium.mjs), a page that
// records what goes wrong on it, the search page's results, the filtered
// lists' cards, and the "ok - / FAIL -" tally.

import fs from "node:fs";
import path from "node:path";

/** Headless Chromium ($CHROMIUM, default /usr/bin/chromium): chromium.mjs. */
export { launchChromium, requireChromium } from "./chromium.mjs";

/** The policy the search scripts serve the site with: no inline script, nothing off-site. */
export const CSP = "default-src 'self'; script-src 'self'";

/** Exits with a failure when the script has not finished within `ms`. */
export function deadline(ms, what) {
  setTimeout(() => {
    console.log(`FAIL - ${what} did not finish within ${ms / 1000}s`);
    process.exit(1);
  }, ms).unref();
}

/** Counts checks, prints "ok - NAME" or "FAIL - NAME" and the problems. */
export class Tally {
  passed = 0;
  failed = 0;

  check(name, problems) {
    if (problems.length === 0) {
      this.passed++;
      console.log(`ok - ${name}`);
    } else {
      this.failed++;
      console.log(`FAIL - ${name}`);
      for (const p of problems) console.log(`    ${p}`);
    }
  }

  note(text) {
    console.log(`# ${text}`);
  }

  /** Prints "N passed, N failed"; returns the exit code. */
  finish() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 ? 0 : 1;
  }
}

/** A page that records everything that goes wrong on it in `page.problems`:
 * console errors and warnings, page errors, failed requests, HTTP errors and
 * requests outside `origin`. */
export async function newPage(browser, origin, options = {}, timeout = 15_000) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB", ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") page.problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => page.problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (req) => {
    // Leaving a page cancels what it still loads (the favicon, say).
    if (req.failure()?.errorText === "net::ERR_ABORTED") return;
    page.problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`);
  });
  page.on("request", (req) => {
    const u = new URL(req.url());
    if (u.protocol !== "data:" && u.origin !== origin) page.problems.push(`off-site request: ${req.url()}`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400) page.problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  return page;
}

/** Opens the search page (under `base`) with `?q=query`; returns the results
 * shown, and the status line in `status`. */
export async function search(page, base, query) {
  await page.goto(`${base}search/?q=${encodeURIComponent(query)}`, { waitUntil: "load" });
  await page.waitForFunction(() => /result|Nothing found/.test(document.getElementById("search-status").textContent));
  const found = await results(page);
  found.status = await page.textContent("#search-status");
  return found;
}

/** The results on the search page: link, title, meta line, highlighted words. */
export function results(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("#search-results > li")].map((li) => ({
      href: li.querySelector("h2 a").getAttribute("href"),
      title: li.querySelector("h2 a").textContent,
      meta: li.querySelector(".meta").textContent,
      marks: [...li.querySelectorAll(".excerpt mark")].map((m) => m.textContent),
    })),
  );
}

/** The number of results the status line announces ("123 results for …"). */
export function resultCount(status) {
  const m = /^(\d+) results? for/.exec(status ?? "");
  return m ? Number(m[1]) : /Nothing found/.test(status ?? "") ? 0 : null;
}

/** The article id of a result link, or null for events and entities. */
export function articleOf(href) {
  const m = /\/articles\/([^/]+)\/#p\d+$/.exec(href);
  return m ? m[1] : null;
}

const idsCache = new Map();
/** The ids on a built page (SITE/REL/index.html), read from the file. */
function idsOf(siteDir, rel) {
  const file = path.join(siteDir, rel, "index.html");
  if (!idsCache.has(file)) {
    const html = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
    idsCache.set(file, html && new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])));
  }
  return idsCache.get(file);
}

/** Problems with the results' links (under the base path, to a page that
 * exists; an article's to a #pN it has) and meta lines (a kind; a date). */
export function linkProblems(found, siteDir, basePath) {
  const p = [];
  for (const r of found) {
    if (!r.href.startsWith(basePath)) {
      p.push(`${r.href}: not under ${basePath}`);
      continue;
    }
    const [rel, anchor] = r.href.slice(basePath.length).split("#");
    const ids = idsOf(siteDir, rel);
    if (!ids) p.push(`${r.href}: no such page`);
    else if (/^articles\//.test(rel) && !articleOf(r.href)) p.push(`${r.href}: an article result that does not link to a paragraph (#pN)`);
    else if (anchor && !ids.has(anchor)) p.push(`${r.href}: no such paragraph on the page`);
    if (!/(Article|Event|Entity)/.test(r.meta)) p.push(`${r.href}: meta line "${r.meta}" names no kind`);
    if (/^articles\//.test(rel) && !/\d{4}/.test(r.meta)) p.push(`${r.href}: meta line "${r.meta}" has no date`);
  }
  return p;
}

/** The cards of a filtered list (timeline, articles) that are shown. */
export function visibleCards(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("#main li[data-month]")]
      .filter((li) => li.offsetParent !== null)
      .map((li) => ({
        language: li.dataset.language,
        themes: li.dataset.themes,
        outlet: li.dataset.outlet,
        month: li.dataset.month,
        kind: li.className,
        href: li.querySelector("a[href]")?.getAttribute("href"),
      })),
  );
}
