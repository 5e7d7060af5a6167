// A tiny static server for a built dossier site, as GitHub Pages serves a
// project site: the site lives under a path prefix (/dossier-demo/), folders
// are served by their index.html, and anything missing gets the site's own
// 404.html with status 404.
//
//   node server.mjs SITE_DIR [PORT]     (PORT 0 or absent: an ephemeral port)
//
// Only GET and HEAD; only files under SITE_DIR (no `..`, no symlinks out).

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const PREFIX = "/dossier-demo/";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".jsonld": "application/ld+json; charset=utf-8",
  ".xml": "application/xml; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
};

function contentType(file) {
  return TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

/** Resolves a URL path under the prefix to a real file inside root, or null. */
export function resolveFile(root, urlPath, prefix = PREFIX) {
  if (!urlPath.startsWith(prefix)) return { kind: "missing" };
  let rel;
  try {
    rel = decodeURIComponent(urlPath.slice(prefix.length));
  } catch {
    return { kind: "bad" };
  }
  if (rel.includes("\0") || rel.includes("\\")) return { kind: "bad" };
  const candidate = path.resolve(root, "." + path.posix.sep + rel);
  if (candidate !== root && !candidate.startsWith(root + path.sep)) return { kind: "forbidden" };
  let real;
  try {
    real = fs.realpathSync(candidate);
  } catch {
    return { kind: "missing" };
  }
  if (real !== root && !real.startsWith(root + path.sep)) return { kind: "forbidden" };
  const stat = fs.statSync(real);
  if (stat.isDirectory()) {
    if (!urlPath.endsWith("/")) return { kind: "redirect", location: urlPath + "/" };
    const index = path.join(real, "index.html");
    return fs.existsSync(index) ? { kind: "file", file: index } : { kind: "missing" };
  }
  return stat.isFile() ? { kind: "file", file: real } : { kind: "missing" };
}

/** Starts the server; resolves to { server, port, origin, base, close() }.
 * `headers` are added to every response (e.g. a Content-Security-Policy). */
export function startServer(siteDir, { port = 0, host = "127.0.0.1", prefix = PREFIX, headers = {} } = {}) {
  const root = fs.realpathSync(path.resolve(siteDir));
  const notFound = path.join(root, "404.html");

  const send = (req, res, status, file, extra = {}) => {
    const body = file ? fs.readFileSync(file) : Buffer.from(`${status}\n`);
    res.writeHead(status, {
      "Content-Type": file ? contentType(file) : "text/plain; charset=utf-8",
      "Content-Length": body.length,
      "Cache-Control": "no-store",
      ...headers,
      ...extra,
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };

  const server = http.createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return send(req, res, 405, null, { Allow: "GET, HEAD" });
    }
    let urlPath;
    try {
      urlPath = new URL(req.url, "http://localhost").pathname;
    } catch {
      return send(req, res, 400, null);
    }
    if (urlPath + "/" === prefix) {
      return send(req, res, 301, null, { Location: prefix });
    }
    const found = resolveFile(root, urlPath, prefix);
    switch (found.kind) {
      case "file":
        return send(req, res, 200, found.file);
      case "redirect":
        return send(req, res, 301, null, { Location: found.location });
      case "bad":
        return send(req, res, 400, null);
      case "forbidden":
        return send(req, res, 403, null);
      default:
        return send(req, res, 404, fs.existsSync(notFound) ? notFound : null);
    }
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      const origin = `http://${host}:${actual}`;
      resolve({
        server,
        port: actual,
        origin,
        base: origin + prefix,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [site, port] = process.argv.slice(2);
  if (!site) {
    console.error("usage: node server.mjs SITE_DIR [PORT]");
    process.exit(2);
  }
  const { base } = await startServer(site, { port: Number(port ?? 0) });
  console.log(`serving ${path.resolve(site)} at ${base}`);
}
