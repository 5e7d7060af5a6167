// Filters for the timeline and the lists of articles and events: narrow by
// theme, language, outlet and month, in the browser. Every list is whole
// without JavaScript; this reads the data attributes of the cards
// (data-themes, data-language, data-outlet, data-month: space-separated
// keys), adds a filter form, and keeps the choice in the URL query
// (?theme=…&language=…&outlet=…&month=YYYY-MM) so a link can open a
// filtered list.

(() => {
  const main = document.getElementById("main");
  if (!main) return;
  const items = [...main.querySelectorAll("li[data-month]")];
  if (items.length < 2) return;

  const FACETS = [
    { key: "theme", attr: "themes", label: "Theme" },
    { key: "language", attr: "language", label: "Language" },
    { key: "outlet", attr: "outlet", label: "Outlet" },
    { key: "month", attr: "month", label: "Month" },
  ];
  const LANGUAGES = {
    da: "Danish", nb: "Norwegian (Bokmål)", nn: "Norwegian (Nynorsk)", no: "Norwegian",
    sv: "Swedish", de: "German", en: "English", fi: "Finnish", fr: "French",
    ru: "Russian", uk: "Ukrainian", pl: "Polish", und: "Undetermined",
  };
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December"];

  const keys = (li, attr) => (li.dataset[attr] || "").split(" ").filter(Boolean);
  const lastSegment = (href) => new URL(href, location.href).pathname.split("/").filter(Boolean).pop();

  // Names for the keys, from what the page shows.
  const themeNames = new Map();
  for (const a of main.querySelectorAll('a.chip[href*="/themes/"]')) {
    themeNames.set(lastSegment(a.href), a.textContent.trim());
  }
  const outletNames = new Map();
  for (const li of items) {
    const name = li.querySelector(".outlet");
    const [slug] = keys(li, "outlet");
    if (name && slug) outletNames.set(slug, name.textContent.trim());
  }
  const names = {
    theme: (k) => themeNames.get(k) || k,
    language: (k) => LANGUAGES[k] || k,
    outlet: (k) => outletNames.get(k) || k,
    month: (k) => {
      const [y, m] = k.split("-");
      return MONTHS[Number(m) - 1] ? `${MONTHS[Number(m) - 1]} ${y}` : k;
    },
  };

  const params = new URLSearchParams(location.search);
  const form = document.createElement("form");
  form.className = "filters";
  form.setAttribute("aria-label", "Filter this list");
  const selects = new Map();
  for (const facet of FACETS) {
    const found = new Set(items.flatMap((li) => keys(li, facet.attr)));
    const wanted = params.get(facet.key);
    if (wanted) found.add(wanted);
    if (found.size < 2 && !wanted) continue;
    const sorted = [...found].sort((a, b) =>
      facet.key === "month" ? b.localeCompare(a) : names[facet.key](a).localeCompare(names[facet.key](b)),
    );
    const label = document.createElement("label");
    label.append(facet.label);
    const select = document.createElement("select");
    select.name = facet.key;
    select.append(new Option("All", ""));
    for (const k of sorted) select.append(new Option(names[facet.key](k), k));
    select.value = wanted || "";
    label.append(select);
    form.append(label);
    selects.set(facet, select);
  }
  if (selects.size === 0) return;
  const clear = document.createElement("button");
  clear.type = "button";
  clear.textContent = "Show all";
  const count = document.createElement("output");
  count.setAttribute("aria-live", "polite");
  form.append(clear, count);

  // Before the first part of the page that holds a card.
  const first = items[0];
  let anchor = first;
  while (anchor.parentElement && anchor.parentElement !== main) anchor = anchor.parentElement;
  main.insertBefore(form, anchor);

  const sections = [...main.querySelectorAll("section")].filter((s) => s.querySelector("li[data-month]"));
  const details = [...main.querySelectorAll("details")];
  const openAtFirst = new Map(details.map((d) => [d, d.open]));

  function apply() {
    const active = [...selects].filter(([, s]) => s.value);
    let shown = 0;
    for (const li of items) {
      const match = active.every(([facet, s]) => keys(li, facet.attr).includes(s.value));
      li.hidden = !match;
      if (match) shown++;
    }
    for (const list of main.querySelectorAll("ul.events, ul.articles")) {
      if (list.querySelector("li[data-month]")) list.hidden = !list.querySelector("li[data-month]:not([hidden])");
    }
    for (const section of sections) {
      section.hidden = active.length > 0 && !section.querySelector("li[data-month]:not([hidden])");
    }
    for (const d of details) {
      d.open = active.length > 0 ? Boolean(d.querySelector("li[data-month]:not([hidden])")) : openAtFirst.get(d);
    }
    count.textContent = active.length ? `${shown} of ${items.length} shown` : `${items.length} items`;
  }

  function remember() {
    const url = new URL(location.href);
    for (const [facet, s] of selects) {
      if (s.value) url.searchParams.set(facet.key, s.value);
      else url.searchParams.delete(facet.key);
    }
    history.replaceState(null, "", url);
  }

  form.addEventListener("change", () => {
    apply();
    remember();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  clear.addEventListener("click", () => {
    for (const s of selects.values()) s.value = "";
    apply();
    remember();
  });
  apply();
})();
