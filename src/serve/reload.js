// dossier serve: live reload and build errors in the page. Injected by the
// preview server only; never part of a built site.
(() => {
  const base = document.currentScript.dataset.base || "/";
  // The build this page was read from: a later one means a reload notice
  // went out while the page was loading, and was missed.
  const build = Number(document.currentScript.dataset.build || 0);
  const id = "dossier-build-errors";

  function show(text) {
    let box = document.getElementById(id);
    if (!box) {
      box = document.createElement("div");
      box.id = id;
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:99999;" +
        "background:#2b0b0b;color:#ffdede;font:13px/1.5 ui-monospace,monospace;padding:12px 16px;" +
        "border-top:4px solid #e5484d;white-space:pre-wrap";
      document.body.appendChild(box);
    }
    box.textContent = "Build failed; this page shows the last good build.\n\n" + text;
  }

  function clear() {
    const box = document.getElementById(id);
    if (box) box.remove();
  }

  function refreshStatus() {
    fetch(base + "__dossier/status", { cache: "no-store" })
      .then((r) => r.json())
      .then((s) => {
        if (s.build > build) location.reload();
        else if (s.errors) show(s.errors);
        else clear();
      })
      .catch(() => {});
  }

  refreshStatus();
  const events = new EventSource(base + "__dossier/events");
  events.addEventListener("reload", () => location.reload());
  events.addEventListener("failed", (e) => show(JSON.parse(e.data).text));
  events.addEventListener("open", refreshStatus);
})();
