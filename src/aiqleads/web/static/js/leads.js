// The map page's lead list and detail panel: one set of filters for the list and every layer;
// moving the map refreshes both.
"use strict";

import { ApiError, api, get } from "./api.js";
import * as fmt from "./format.js";
import { $, clearFieldErrors, el, showFieldErrors, toast } from "./ui.js";

const SAVED = "aiq_saved_search";
const PAGE = 50;
// How long after a "taken" notice the total is counted again (notices arriving together: once).
const RECOUNT_AFTER_MS = 250;

export class LeadsPage {
  constructor({ config, map, cart, live }) {
    this.config = config;
    this.map = map; // a LeadMap, or null when the map's files are missing
    this.cart = cart;
    this.live = live;
    this.form = $("#filters");
    this.cursors = [null]; // cursors[i]: the cursor of page i
    this.page = 0;
    this.items = new Map(); // id → lead on the current page
    this.selected = new Set();
    this.holding = new Set(); // ids this page is holding right now
    this.total = null;
    this.view = null; // {bbox, …} of the map
    this._wire();
  }

  _wire() {
    const metroSelect = $("#f-metro");
    metroSelect.replaceChildren(
      ...this.config.metros.map((m) => el("option", { value: m.slug }, `${m.name}, ${m.state}`)),
    );
    const saved = this.savedSearch();
    metroSelect.value = (saved && saved.metro) || "seattle";
    if (saved) this._fill(saved);
    $("#f-save").checked = Boolean(saved);
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.search();
    });
    metroSelect.addEventListener("change", () => {
      if (this.map) this.map.setMetro(this.metro()); // its moveend searches
      else this.search();
    });
    $("#f-reset").addEventListener("click", () => {
      const metro = metroSelect.value;
      this.form.reset();
      metroSelect.value = metro;
      this.search();
    });
    $("#f-save").addEventListener("change", (ev) => this._saveSearch(ev.target.checked));
    $("#page-next").addEventListener("click", () => this._goPage(this.page + 1));
    $("#page-prev").addEventListener("click", () => this._goPage(this.page - 1));
    $("#hold-selected").addEventListener("click", () => this.hold([...this.selected]));
    $("#detail-close").addEventListener("click", () => this.closeDetail());
    $("#leads tbody").addEventListener("change", (ev) => {
      const box = ev.target.closest("input[type=checkbox]");
      if (!box) return;
      if (box.checked) this.selected.add(box.value);
      else this.selected.delete(box.value);
      this._bulkState();
    });
  }

  metro() {
    const slug = $("#f-metro").value;
    return this.config.metros.find((m) => m.slug === slug) || this.config.metros[0];
  }

  // The shared filters as query parameters (without the map's area).
  filters() {
    const q = new URLSearchParams();
    const data = new FormData(this.form);
    for (const [k, v] of data) {
      const value = String(v).trim();
      if (value === "") continue;
      if (k === "status") value.split(",").forEach((s) => q.append("status", s));
      else if (k === "listed_since") q.set(k, `${value}T00:00:00Z`);
      else q.set(k, value);
    }
    return q;
  }

  _fill(saved) {
    for (const [k, v] of Object.entries(saved)) {
      const input = this.form.elements.namedItem(k);
      if (input && k !== "metro") input.value = k === "listed_since" ? String(v).slice(0, 10) : v;
    }
  }

  savedSearch() {
    try {
      return JSON.parse(localStorage.getItem(SAVED) || "null");
    } catch {
      return null;
    }
  }

  // The saved search is the filters (not the map's area) at the moment of saving; the live
  // socket tells of new leads matching it.
  _saveSearch(on) {
    if (!on) {
      localStorage.removeItem(SAVED);
      this.live.watch(null);
      toast("You will no longer be told about new matching leads.");
      return;
    }
    // Not the sort (no order) nor the status (new leads are available by definition).
    const saved = { metro: this.metro().slug };
    for (const [k, v] of this.filters()) if (k !== "sort" && k !== "status") saved[k] = v;
    localStorage.setItem(SAVED, JSON.stringify(saved));
    this.live.watch(saved);
    toast("Search saved: new leads matching these filters will be announced here.");
  }

  watchFilters() {
    return this.savedSearch();
  }

  query() {
    const q = this.filters();
    q.set("metro", this.metro().slug);
    if (this.map && this.view) q.set("bbox", this.view.bbox.join(","));
    return q;
  }

  // Called by the map after it moved (and once it opened).
  onMove(view) {
    this.view = view;
    this.search();
  }

  async search() {
    this.searched = true;
    clearFieldErrors(this.form);
    $("#filters-error").textContent = "";
    this.cursors = [null];
    this.page = 0;
    const seq = (this.seq = (this.seq || 0) + 1);
    const query = this.query();
    // The count is the heatmap's total for the same filters and area (the API counts the same
    // leads for the catalog and every layer).
    const counting = this.map
      ? this.map.refresh(query).catch((err) => {
          this._filterError(err);
          return null;
        })
      : Promise.resolve(null);
    await Promise.all([
      this._load(),
      counting.then((n) => {
        if (seq === this.seq) this._count(n);
      }),
    ]);
  }

  _filterError(err) {
    if (err instanceof ApiError && err.status === 422) {
      const rest = showFieldErrors(this.form, err);
      $("#filters-error").textContent = rest || "Check the highlighted filters.";
    } else {
      $("#filters-error").textContent = fmt.problem(err);
    }
  }

  _count(total) {
    this.total = total;
    this._pageInfo();
  }

  async _goPage(n) {
    if (n < 0 || n >= this.cursors.length) return;
    this.page = n;
    await this._load();
    $("#list-title").focus?.();
  }

  async _load() {
    const q = this.query();
    q.set("limit", String(PAGE));
    const cursor = this.cursors[this.page];
    if (cursor) q.set("cursor", cursor);
    $("#list-error").textContent = "";
    let page;
    try {
      page = await get(`/api/v1/leads?${q}`);
    } catch (err) {
      this._filterError(err);
      this._render([]);
      return;
    }
    this.cursors.length = this.page + 1;
    if (page.next_cursor) this.cursors.push(page.next_cursor);
    this._render(page.items);
  }

  _render(items) {
    this.items = new Map(items.map((l) => [l.id, l]));
    this.selected = new Set([...this.selected].filter((id) => this.items.has(id)));
    const rows = items.map((lead) => this._row(lead));
    $("#leads tbody").replaceChildren(...rows);
    $("#no-results").hidden = items.length > 0;
    $("#leads").hidden = items.length === 0;
    this._pageInfo();
    this._bulkState();
  }

  _row(lead) {
    const mine = lead.access === "full";
    const held = this.cart.holds(lead.id);
    const box = el("input", {
      type: "checkbox",
      value: lead.id,
      "aria-label": `Select the lead near ${fmt.place(lead)}`,
      checked: this.selected.has(lead.id),
      disabled: mine || held || lead.status !== "available",
    });
    const open = el("button", { type: "button", class: "link", onclick: () => this.openDetail(lead.id) }, "Details");
    open.setAttribute("aria-label", `Details of the lead near ${fmt.place(lead)}`);
    const where = el(
      "td",
      {},
      el("strong", {}, fmt.locationText(lead)),
      el("br"),
      el("span", { class: "muted" }, `${fmt.kind(lead.kind)} · ${fmt.home(lead.facts)}`),
    );
    if (held) where.append(" ", el("span", { class: "tag" }, "in your cart"));
    else if (lead.status === "held") where.append(" ", el("span", { class: "tag" }, "held"));
    if (mine) where.append(" ", el("span", { class: "tag mine" }, "bought"));
    return el(
      "tr",
      { "data-lead": lead.id },
      el("td", {}, box),
      where,
      el("td", { class: "num" }, fmt.money(lead.asking_price)),
      el("td", { class: "num" }, fmt.money(lead.price)),
      el("td", {}, fmt.bucket(lead.score_bucket)),
      el("td", {}, open),
    );
  }

  _pageInfo() {
    const shown = this.items.size;
    const first = this.page * PAGE + 1;
    let text;
    if (this.total === null) text = shown ? `Showing ${first}–${first + shown - 1}` : "";
    else if (this.total === 0 || shown === 0) text = "No leads match.";
    else text = `Showing ${fmt.count(first)}–${fmt.count(first + shown - 1)} of ${fmt.count(this.total)} leads`;
    $("#result-count").textContent = text;
    $("#page-info").textContent = shown ? `Page ${this.page + 1}` : "";
    $("#page-prev").disabled = this.page === 0;
    $("#page-next").disabled = this.page + 1 >= this.cursors.length;
  }

  _bulkState() {
    const n = this.selected.size;
    const button = $("#hold-selected");
    button.disabled = n === 0;
    button.textContent = n > 1 ? `Hold ${n} selected leads` : n === 1 ? "Hold the selected lead" : "Hold selected";
  }

  // Hold leads; say what happened to each, with a sentence for every refusal.
  async hold(ids) {
    if (!ids.length) return;
    const result = $("#hold-result");
    result.textContent = "Holding…";
    // The market's "held" notice for these may arrive before the cart is read again: they
    // are ours, not taken by another agent.
    ids.forEach((id) => this.holding.add(id));
    let answer;
    try {
      answer = (await api("/api/v1/cart/holds", { method: "POST", json: { lead_ids: ids } })).data;
    } catch (err) {
      result.textContent = "";
      ids.forEach((id) => this.holding.delete(id));
      toast(fmt.problem(err), { kind: "error" });
      return;
    }
    this.selected.clear();
    const refused = answer.items.filter((r) => !r.held);
    result.textContent = answer.held ? `${answer.held} held.` : "";
    for (const r of refused) {
      const lead = this.items.get(r.lead_id);
      const where = lead ? ` (${fmt.place(lead)})` : "";
      toast(`Not held${where}: ${fmt.refusal(r.refused)}`, { kind: "error" });
    }
    if (answer.held) {
      toast(`${answer.held === 1 ? "1 lead is" : `${answer.held} leads are`} now in your cart.`, {
        kind: "ok",
        action: { label: "Open the cart", run: () => { location.hash = "#/cart"; } },
      });
    }
    await this.cart.load();
    ids.forEach((id) => this.holding.delete(id));
    this._render([...this.items.values()]);
    if (this.detailId && ids.includes(this.detailId)) this.openDetail(this.detailId);
  }

  // Another agent took these leads: they leave the list (and the detail panel says so).
  taken(ids) {
    let gone = 0;
    for (const id of ids) {
      if (!this.items.has(id) || this.cart.holds(id) || this.holding.has(id)) continue;
      const row = $(`#leads tr[data-lead="${CSS.escape(id)}"]`);
      if (row) row.remove();
      this.items.delete(id);
      this.selected.delete(id);
      gone += 1;
      if (this.detailId === id) {
        $("#detail-body").prepend(el("p", { class: "banner error", role: "alert" }, "Another agent has just taken this lead."));
      }
    }
    if (gone) {
      toast(`${gone === 1 ? "A lead" : `${gone} leads`} on your list ${gone === 1 ? "was" : "were"} just taken by another agent.`);
      if (this.total !== null) this.total = Math.max(this.total - gone, 0);
      $("#no-results").hidden = this.items.size > 0;
      this._pageInfo();
      this._bulkState();
      this._recount();
    }
  }

  // Count (and draw the map) again after leads left the list: a count asked before they
  // left may answer after the notice, and would put them back in the total. Notices that
  // arrive together (several agents holding at once) are counted once, after the last.
  _recount() {
    if (!this.map) return;
    const seq = (this.seq = (this.seq || 0) + 1);
    clearTimeout(this.recountTimer);
    this.recountTimer = setTimeout(() => {
      if (seq !== this.seq) return; // a newer search or recount counts for itself
      // No count (the heatmap failed, or a layer switched on took over the map's refresh):
      // say none rather than keep one that may be another filter's.
      this.map.refresh(this.query()).then(
        (n) => {
          if (seq === this.seq) this._count(n);
        },
        () => {
          if (seq === this.seq) this._count(null);
        },
      );
    }, RECOUNT_AFTER_MS);
  }

  closeDetail() {
    $("#detail").hidden = true;
    this.detailId = null;
    const row = this.lastOpener;
    if (row && document.contains(row)) row.focus();
  }

  async openDetail(id) {
    this.lastOpener = document.activeElement;
    this.detailId = id;
    const panel = $("#detail");
    const body = $("#detail-body");
    panel.hidden = false;
    body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    let lead;
    try {
      lead = await get(`/api/v1/leads/${encodeURIComponent(id)}`);
    } catch (err) {
      body.replaceChildren(el("p", { class: "error", role: "alert" }, err.status === 404 ? fmt.refusal("not_found") : fmt.problem(err)));
      $("#detail-title").focus();
      return;
    }
    $("#detail-title").textContent = fmt.locationText(lead);
    body.replaceChildren(...this._detail(lead));
    $("#detail-title").focus();
  }

  _detail(lead) {
    const facts = lead.facts;
    const rows = [
      ["Kind", fmt.kind(lead.kind)],
      ["Status", fmt.status(lead.status)],
      ["Asking price", fmt.money(lead.asking_price)],
      ["Home", fmt.home(facts)],
      ["Type", facts.property_type ? facts.property_type.replaceAll("_", " ") : "—"],
      ["Year built", facts.year_built || "—"],
      ["Lot", facts.lot_sqft ? `${fmt.count(facts.lot_sqft)} sq ft` : "—"],
      ["Listed", fmt.date(lead.listed_at)],
      ["Score", fmt.bucket(lead.score_bucket)],
    ];
    if (lead.score_reasons && lead.score_reasons.length) rows.push(["Why", lead.score_reasons.join("; ")]);
    const f = lead.price_factors;
    if (f) {
      const parts = [`base ${fmt.money({ cents: f.base_cents, currency: lead.price.currency })}`,
        `quality ${fmt.factor(f.quality)}`, `demand ${fmt.factor(f.demand)}`, `market ${fmt.factor(f.market)}`];
      if (f.tier_discount_percent) parts.push(`less your ${f.tier_discount_percent} % tier discount`);
      rows.push(["Price made of", parts.join(", ")]);
    }
    const out = [];
    if (lead.access === "preview") {
      out.push(
        el(
          "p",
          { class: "approx" },
          lead.location && lead.location.precision === "zip_centroid"
            ? `Approximate location: the source gives only the ZIP code (${lead.zip_code}); ` +
                "the map shows the ZIP's centre, not the home. "
            : `Approximate location: somewhere in an area of about 0.7 km² near ${fmt.place(lead)}. `,
          "The address and the owner's contact are shown once you buy the lead.",
        ),
      );
      rows.push(["Lead price", fmt.money(lead.price)]);
    } else {
      out.push(el("p", { class: "banner ok" }, "You bought this lead: here is everything."));
      rows.unshift(["Address", fmt.locationText(lead)]);
      rows.push(["Paid", fmt.money(lead.price)]);
    }
    out.push(el("dl", { class: "facts" }, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])));
    if (lead.access === "full") out.push(contactBlock(lead));
    const actions = el("div", { class: "actions" });
    if (lead.access === "preview") {
      if (this.cart.holds(lead.id)) {
        actions.append(el("a", { href: "#/cart", class: "button" }, "In your cart: open the cart"));
      } else if (lead.status === "available") {
        actions.append(
          el("button", { type: "button", onclick: () => this.hold([lead.id]) }, `Hold this lead for ${fmt.money(lead.price)}`),
        );
      } else {
        actions.append(el("p", { class: "muted" }, "Another agent is holding this lead."));
      }
    }
    if (this.map) actions.append(el("button", { type: "button", class: "secondary", onclick: () => this.map.fitTo(lead) }, "Show on the map"));
    out.push(actions);
    return out;
  }
}

// The owner's contact and the source, for a lead the viewer bought.
export function contactBlock(lead) {
  const o = lead.owner || {};
  const items = [el("dt", {}, "Owner"), el("dd", {}, o.name || "—")];
  items.push(el("dt", {}, "Phone"), el("dd", {}, o.phone ? el("a", { href: `tel:${o.phone}` }, fmt.phone(o.phone)) : "—"));
  items.push(el("dt", {}, "E-mail"), el("dd", {}, o.email ? el("a", { href: `mailto:${o.email}` }, o.email) : "—"));
  items.push(
    el("dt", {}, "Source"),
    el("dd", {}, lead.source_url ? el("a", { href: lead.source_url, rel: "noopener noreferrer", target: "_blank" }, lead.source) : lead.source),
  );
  return el("dl", { class: "facts contact" }, items);
}

