// The agent's web app: sign-in, then the map and lead list, cart, purchases and admin pages,
// switched by the URL's hash (#/map, #/cart, #/purchases, #/admin/returns…).
"use strict";

import * as auth from "./api.js";
import { AdminPage } from "./admin.js";
import { CartPage } from "./cart.js";
import * as fmt from "./format.js";
import { LeadsPage } from "./leads.js";
import { Live } from "./live.js";
import { LeadMap, MapAssetsMissing, loadMapLibre } from "./map.js";
import { PurchasesPage } from "./purchases.js";
import { RecsPanel } from "./recs.js";
import { $, $$, clearFieldErrors, toast } from "./ui.js";

const VIEWS = ["signin", "map", "cart", "purchases", "admin"];
const app = { config: null, me: null, map: null, leads: null, cart: null, purchases: null, admin: null, live: null, recs: null };

function showView(name) {
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== name;
  $$("#nav a").forEach((a) => {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  document.body.dataset.view = name;
}

async function route() {
  if (!auth.signedIn()) {
    showView("signin");
    return;
  }
  if (!app.leads) return; // start() routes once the pages are built
  const [, view = "map", sub] = location.hash.replace(/^#/, "").split("/");
  const name = VIEWS.includes(view) && view !== "signin" ? view : "map";
  // The map needs nobody's name: it opens while /auth/me is answered; the other pages wait
  // for it (start() routes again once it is in).
  if (!app.me && name !== "map") return false;
  if (name === "admin" && !(app.me && app.me.role === "admin")) {
    location.hash = "#/map";
    return;
  }
  showView(name);
  document.title = `${{ map: "Map & leads", cart: "Cart", purchases: "Purchases", admin: "Admin" }[name]} · AIQLeads`;
  if (name === "cart") await app.cart.load();
  if (name === "purchases") await app.purchases.load();
  if (name === "admin") await app.admin.show(sub);
  if (name === "map") {
    // The map opens the first time its page is shown (a hidden container has no size).
    const opening = app.map && !app.map.map ? (app.opening = app.opening || openMap()) : null;
    // The recommendations are read once (their Refresh reads again), after the map's first frame.
    if (!app.recs.loaded) app.recs.loaded = afterFirstMap().then(() => app.recs.load());
    if (opening) await opening;
    else if (app.map) app.map.map.resize();
    else if (!app.leads.searched) await app.leads.search();
  }
  return true;
}

async function start() {
  $("#signin-message").hidden = true;
  const me = auth.get("/api/v1/auth/me");
  if (!app.leads) buildPages();
  const cart = app.cart.load();
  const first = route(); // true: it has shown the page (the map), so it is not routed again
  app.me = await me;
  $("#who").textContent = `${app.me.email} · ${app.me.role === "admin" ? "admin" : `${app.me.tier} tier`}`;
  $("#nav").hidden = false;
  $("#nav-admin").hidden = app.me.role !== "admin";
  $("#logout").hidden = false;
  app.live.start(app.leads.watchFilters());
  await Promise.all([first.then((shown) => (shown ? null : route())), cart]);
}

function buildPages() {
  app.cart = new CartPage({
    config: app.config,
    onChange: () => {
      if (app.leads) app.leads._render([...app.leads.items.values()]);
      if (app.recs) app.recs.render();
    },
  });
  app.purchases = new PurchasesPage();
  app.admin = new AdminPage();
  app.live = new Live({
    hold_expiring: (m) => app.cart.expiring(m),
    hold_expired: (m) => app.cart.expired(m),
    purchase_confirmed: async (m) => {
      toast(`Purchase confirmed: ${m.lead_ids.length === 1 ? "1 lead" : `${m.lead_ids.length} leads`} added to Purchases.`, { kind: "ok" });
      await app.cart.load();
      if (document.body.dataset.view === "purchases") await app.purchases.load();
    },
    leads_held: (m) => app.leads.taken(m.lead_ids),
    leads_available: (m) =>
      toast(`${m.lead_ids.length === 1 ? "A lead is" : `${m.lead_ids.length} leads are`} back on the market.`, {
        action: { label: "Refresh the list", run: () => app.leads.search() },
      }),
    new_leads: (m) =>
      toast(`${m.lead_ids.length === 1 ? "A new lead matches" : `${m.lead_ids.length} new leads match`} your saved search.`, {
        kind: "ok",
        timeout: 0,
        action: { label: "Show them", run: () => { location.hash = "#/map"; app.leads.search(); } },
      }),
    watching: () => {},
    error: (m) => toast(`Live updates: ${m.field ? `${m.field}: ` : ""}${m.reason}`, { kind: "error" }),
  });
  const missing = !app.config.map_assets;
  if (!missing) {
    loadMapLibre().catch(() => {}); // start the 1 MB import now; `open` awaits the same one
    app.map = new LeadMap($("#map"), app.config, {
      onMove: (view) => app.leads.onMove(view),
      onLead: (id) => app.leads.openDetail(id),
    });
  }
  app.leads = new LeadsPage({ config: app.config, map: app.map, cart: app.cart, live: app.live });
  app.recs = new RecsPanel({ map: app.map, cart: app.cart, leads: app.leads });
  $$("#layers input[name=layer]").forEach((box) => {
    box.addEventListener("change", () => app.map && app.map.toggle(box.value, box.checked));
  });
  if (missing) mapMissing(new MapAssetsMissing(
    "The map cannot be shown: its files (MapLibre GL JS) are not installed on this server. " +
      "Run scripts/bootstrap.sh, which installs them with npm, then restart. The list below still works.",
  ));
}

// Resolves when the map has drawn its first layers, failed to open, or after a few seconds.
function afterFirstMap() {
  if (!app.map) return Promise.resolve();
  const failed = (app.opening || Promise.resolve()).then(() => (app.map ? new Promise(() => {}) : null));
  return Promise.race([app.map.firstDrawn, failed, new Promise((resolve) => setTimeout(resolve, 5000))]);
}

async function openMap() {
  try {
    const opening = app.map.open(app.leads.metro());
    // The list and the first layers are fetched at once, for the area the map is about to
    // show, while MapLibre starts: the heatmap's answer no longer waits for the map to load.
    app.leads.onMove(app.map.view());
    await opening;
  } catch (err) {
    app.map = null;
    app.leads.map = null;
    app.recs.map = null;
    mapMissing(err);
    await app.leads.search();
  }
}

function mapMissing(err) {
  const box = $("#map-missing");
  box.textContent = err instanceof MapAssetsMissing ? err.message : `The map failed to load: ${err.message}`;
  box.hidden = false;
  $("#map").hidden = true;
  $("#layers").hidden = true;
}

function signedOut(message) {
  app.me = null;
  if (app.live) app.live.stop();
  $("#nav").hidden = true;
  $("#logout").hidden = true;
  $("#who").textContent = "";
  const note = $("#signin-message");
  note.textContent = message || "";
  note.hidden = !message;
  showView("signin");
  if (message) note.focus?.();
}

async function boot() {
  try {
    app.config = (await fetch("/api/v1/web/config").then((r) => r.json()));
  } catch {
    const box = $("#boot-error");
    box.textContent = "The server could not be reached. Reload the page to try again.";
    box.hidden = false;
    return;
  }
  auth.on("expired", (message) => signedOut(message));
  // On a phone the filters start folded, so the map and the list come first.
  if (window.matchMedia("(max-width: 560px)").matches) $("#filters-box").open = false;
  $("#signin").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const error = $("#signin-error");
    clearFieldErrors(form);
    error.textContent = "";
    const email = form.elements.namedItem("username");
    const password = form.elements.namedItem("password");
    const missing = [email, password].filter((i) => !i.value.trim());
    if (missing.length) {
      missing.forEach((i) => i.setAttribute("aria-invalid", "true"));
      error.textContent = missing.length === 2 ? "Enter your e-mail and password." : missing[0] === email ? "Enter your e-mail." : "Enter your password.";
      missing[0].focus();
      return;
    }
    try {
      await auth.signIn(email.value.trim(), password.value);
    } catch (err) {
      error.textContent = err.status === 401 ? "Wrong e-mail or password." : fmt.problem(err);
      password.focus();
      return;
    }
    password.value = "";
    if (!location.hash || location.hash === "#/") location.hash = "#/map";
    await start();
  });
  $("#logout").addEventListener("click", () => {
    auth.signOut();
    signedOut("You have signed out.");
  });
  window.addEventListener("hashchange", () => route());
  if (auth.signedIn()) {
    try {
      await start();
    } catch (err) {
      if (err.status !== 401) signedOut(fmt.problem(err));
    }
  } else {
    showView("signin");
  }
}

boot();
