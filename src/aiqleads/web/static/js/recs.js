// The map page's recommendations panel: the agent's recommended leads (best first, each with its
// rank and the reason in words), each shown on the map at its preview cell and holdable like any
// list item; the agent's stated preferences, edited in place.
"use strict";

import { ApiError, api, get } from "./api.js";
import * as fmt from "./format.js";
import { $, clearFieldErrors, el, reasonInWords, showFieldErrors } from "./ui.js";

const LIMIT = 10;
const VERSION_HEADER = "X-Recommender-Version";
// The cold-start scorer's versions start so (recommend.registry.COLD_START_VERSION).
const COLD_START = "cold-start";
const NUMBERS = ["center_lat", "center_lon", "radius_m", "price_min", "price_max", "bedrooms_min", "bedrooms_max"];

export class RecsPanel {
  constructor({ map, cart, leads }) {
    this.map = map; // a LeadMap, or null when the map's files are missing
    this.cart = cart;
    this.leads = leads; // the list's page: holding goes through it, as from the list
    this.form = $("#prefs");
    this.items = [];
    this.selected = new Set();
    this.prefs = null; // the last GET or PUT /me/preferences answer
    this.version = null;
    this.seq = 0;
    this._wire();
  }

  _wire() {
    $("#recs-refresh").addEventListener("click", () => this.load());
    $("#recs-hold").addEventListener("click", () => this.hold([...this.selected]));
    $("#recs-edit").addEventListener("click", () => this._editing(this.form.hidden));
    $("#prefs-cancel").addEventListener("click", () => this._editing(false));
    $("#prefs-centre").addEventListener("click", () => {
      if (!this.map || !this.map.map) return;
      const [lon, lat] = this.map.view().centre;
      this.form.elements.namedItem("center_lat").value = lat.toFixed(5);
      this.form.elements.namedItem("center_lon").value = lon.toFixed(5);
    });
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.save();
    });
    $("#recs-list").addEventListener("change", (ev) => {
      const box = ev.target.closest("input[type=checkbox]");
      if (!box) return;
      if (box.checked) this.selected.add(box.value);
      else this.selected.delete(box.value);
      this._bulkState();
    });
  }

  _editing(on) {
    this.form.hidden = !on;
    $("#recs-edit").setAttribute("aria-expanded", String(on));
    if (on) {
      this._fill(this.prefs);
      this.form.elements.namedItem("zip_codes").focus();
    } else {
      clearFieldErrors(this.form);
      $("#prefs-error").textContent = "";
    }
  }

  // The recommendations and the preferences they follow, read together.
  async load() {
    const seq = ++this.seq;
    $("#recs-error").textContent = "";
    this._state("Loading your recommendations…");
    let answer;
    let prefs;
    try {
      [answer, prefs] = await Promise.all([
        api(`/api/v1/recommendations?limit=${LIMIT}`),
        get("/api/v1/me/preferences"),
      ]);
    } catch (err) {
      if (seq !== this.seq) return;
      this._state(null);
      $("#recs-error").textContent = `Your recommendations could not be read: ${fmt.problem(err)}`;
      return;
    }
    if (seq !== this.seq) return;
    this.prefs = prefs;
    this.version = answer.headers.get(VERSION_HEADER) || answer.data.model_version;
    this.items = answer.data.items;
    this.render();
  }

  render() {
    const ids = new Set(this.items.map((l) => l.id));
    this.selected = new Set([...this.selected].filter((id) => ids.has(id) && !this.cart.holds(id)));
    $("#recs-list").replaceChildren(...this.items.map((lead) => this._item(lead)));
    $("#recs-version").textContent = this.version ? `Ranked by ${this.version}` : "";
    this._state(this._explain());
    this._bulkState();
  }

  // What the list is, in words: empty, cold start, or nothing to say.
  _explain() {
    const stated = this.prefs ? hasStated(this.prefs.stated) : false;
    const history = this.prefs ? this.prefs.learned.events > 0 : false;
    if (!this.items.length) {
      return stated
        ? "No available lead matches your preferences right now. Widen your area or price range, or clear some preferences."
        : "There are no leads to recommend right now: none is available to your tier. New leads appear here as they arrive.";
    }
    if (!this.version || !this.version.startsWith(COLD_START)) return null;
    const basis = stated
      ? "your preferences, each lead's score and how fresh it is"
      : "each lead's score and how fresh it is (set your preferences to narrow them down)";
    return history
      ? `These are ranked by ${basis}: no learned model ranks lists yet.`
      : `You are new here, so these are ranked by ${basis}. As you view, hold and buy leads, the list learns what you like.`;
  }

  _state(text) {
    const box = $("#recs-state");
    box.textContent = text || "";
    box.hidden = !text;
  }

  _item(lead) {
    const held = this.cart.holds(lead.id);
    const free = lead.status === "available" && lead.access === "preview" && !held;
    const where = fmt.place(lead);
    const box = el("input", {
      type: "checkbox",
      value: lead.id,
      "aria-label": `Select recommendation ${lead.rank}, near ${where}`,
      checked: this.selected.has(lead.id),
      disabled: !free,
    });
    const show = el(
      "button",
      { type: "button", class: "link", "aria-label": `Show recommendation ${lead.rank}, near ${where}, on the map`, onclick: () => this.show(lead) },
      "Show on the map",
    );
    const actions = el("div", { class: "row-actions" }, show);
    if (free) {
      actions.append(
        el("button", { type: "button", class: "secondary", "aria-label": `Hold recommendation ${lead.rank} for ${fmt.money(lead.price)}`, onclick: () => this.hold([lead.id]) }, `Hold for ${fmt.money(lead.price)}`),
      );
    } else if (held) {
      actions.append(el("span", { class: "tag" }, "in your cart"));
    } else if (lead.status === "held") {
      actions.append(el("span", { class: "tag" }, "held"));
    }
    return el(
      "li",
      { class: "rec", "data-lead": lead.id, "data-rank": lead.rank },
      box,
      el(
        "div",
        { class: "rec-body" },
        el("strong", {}, `${lead.rank}. ${fmt.locationText(lead)}`),
        el("span", { class: "muted" }, ` · ${fmt.kind(lead.kind)} · ${fmt.home(lead.facts)}`),
        el("br"),
        `Asking ${fmt.money(lead.asking_price)} · lead ${fmt.money(lead.price)} · score ${fmt.bucket(lead.score_bucket)}`,
        el("p", { class: "reason" }, `Why: ${lead.reason}`),
        actions,
      ),
    );
  }

  // The lead on the map: its preview cell marked and centred, and its details opened.
  show(lead) {
    if (this.map && this.map.map) {
      this.map.showArea(lead);
      $("#map").scrollIntoView({ block: "nearest" });
    }
    this.leads.openDetail(lead.id);
  }

  async hold(ids) {
    if (!ids.length) return;
    await this.leads.hold(ids);
    ids.forEach((id) => this.selected.delete(id));
    this.render();
  }

  _bulkState() {
    const n = this.selected.size;
    const button = $("#recs-hold");
    button.disabled = n === 0;
    button.textContent = n > 1 ? `Hold ${n} selected recommendations` : n === 1 ? "Hold the selected recommendation" : "Hold selected recommendations";
  }

  _fill(prefs) {
    const s = prefs ? prefs.stated : {};
    const f = this.form.elements;
    f.namedItem("zip_codes").value = (s.zip_codes || []).join(", ");
    for (const name of NUMBERS) f.namedItem(name).value = s[name] === null || s[name] === undefined ? "" : String(s[name]);
    for (const box of this.form.querySelectorAll("input[name=kinds]")) box.checked = (s.kinds || []).includes(box.value);
  }

  // The form as PUT /me/preferences takes it. The form has no place for H3 cells: the ones
  // stated are kept (the PUT replaces every preference).
  _body() {
    const f = this.form.elements;
    const body = {
      zip_codes: f.namedItem("zip_codes").value.split(/[\s,;]+/).filter(Boolean),
      h3_cells: this.prefs ? this.prefs.stated.h3_cells : [],
      kinds: [...this.form.querySelectorAll("input[name=kinds]:checked")].map((b) => b.value),
    };
    for (const name of NUMBERS) {
      const input = f.namedItem(name);
      // An entry the browser cannot read as a number is sent as typed, so the API names it.
      if (input.value.trim() === "") body[name] = input.validity.badInput ? "not a number" : null;
      else body[name] = Number(input.value);
    }
    return body;
  }

  async save() {
    clearFieldErrors(this.form);
    const error = $("#prefs-error");
    error.textContent = "";
    try {
      this.prefs = (await api("/api/v1/me/preferences", { method: "PUT", json: this._body() })).data;
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        if (Array.isArray(err.detail)) err.detail = err.detail.map((d) => ({ ...d, reason: reasonInWords(d.reason) }));
        const rest = showFieldErrors(this.form, err);
        error.textContent = rest || "Check the highlighted preferences.";
        const first = this.form.querySelector("[aria-invalid=true]");
        if (first) first.focus();
      } else {
        error.textContent = fmt.problem(err);
      }
      return;
    }
    this._editing(false);
    $("#recs-edit").focus();
    await this.load();
  }
}

function hasStated(s) {
  return Boolean(
    s.zip_codes.length || s.h3_cells.length || s.kinds.length || s.radius_m !== null ||
      s.price_min !== null || s.price_max !== null || s.bedrooms_min !== null || s.bedrooms_max !== null,
  );
}
