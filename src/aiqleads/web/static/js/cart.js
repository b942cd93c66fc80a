// The cart: holds with live countdowns, extend, release (one or many), checkout.
"use strict";

import { ApiError, api, get } from "./api.js";
import * as fmt from "./format.js";
import { $, $$, el, toast } from "./ui.js";

const SOON_MS = 5 * 60 * 1000; // a hold with less left is shown as ending soon

export class CartPage {
  constructor({ config, onChange }) {
    this.config = config;
    this.onChange = onChange || (() => {});
    this.items = new Map(); // lead id → cart item
    this.total = null;
    this.limit = null;
    this.idempotencyKey = null; // one per checkout attempt of one cart, kept across retries
    this.keyFor = null;
    this._wire();
    setInterval(() => this.tick(), 1000);
  }

  holds(leadId) {
    return this.items.has(leadId);
  }

  _wire() {
    const select = $("#payment-token");
    if (this.config.gateway === "sandbox") {
      select.replaceChildren(...this.config.sandbox_tokens.map((t) => el("option", { value: t.token }, t.label)));
    } else {
      // Stripe: the card element needs Stripe.js, which is not bundled (see the README).
      $("#card-field").replaceChildren(
        el("p", { class: "muted" }, "Payment by card through Stripe: the card form is not part of this page yet."),
      );
    }
    $("#checkout").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.checkout();
    });
    $("#cart-select-all").addEventListener("change", (ev) => {
      $$("#cart tbody input[type=checkbox]").forEach((b) => { b.checked = ev.target.checked; });
      this._bulkState();
    });
    $("#cart tbody").addEventListener("change", () => this._bulkState());
    $("#cart-release-selected").addEventListener("click", () => {
      const ids = $$("#cart tbody input[type=checkbox]:checked").map((b) => b.value);
      this.release(ids);
    });
  }

  async load() {
    let cart;
    try {
      cart = await get("/api/v1/cart");
    } catch (err) {
      $("#cart-error").textContent = fmt.problem(err);
      return;
    }
    $("#cart-error").textContent = "";
    this.items = new Map(cart.items.map((i) => [i.lead.id, i]));
    this.total = cart.total;
    this.limit = cart.cart_limit;
    this.render();
    this.onChange(this);
  }

  render() {
    const rows = [...this.items.values()].map((item) => this._row(item));
    $("#cart tbody").replaceChildren(...rows);
    const n = this.items.size;
    $("#cart").hidden = n === 0;
    $("#cart-empty").hidden = n > 0;
    $("#checkout").hidden = n === 0;
    $("#cart-count").textContent = String(n);
    $("#cart-summary").textContent = n
      ? `${n} of at most ${this.limit} leads held; total ${fmt.money(this.total)}.`
      : "";
    $("#pay").textContent = n ? `Pay ${fmt.money(this.total)}` : "Pay";
    $("#cart-select-all").checked = false;
    this._bulkState();
    this.tick();
  }

  _row(item) {
    const lead = item.lead;
    const id = lead.id;
    const extend = el(
      "button",
      { type: "button", class: "secondary", disabled: item.extensions_left === 0, onclick: () => this.extend(id) },
      item.extensions_left ? `Extend (${item.extensions_left} left)` : "No extensions left",
    );
    extend.setAttribute("aria-label", `Extend the hold near ${fmt.place(lead)}`);
    const release = el("button", { type: "button", class: "secondary", onclick: () => this.release([id]) }, "Release");
    release.setAttribute("aria-label", `Release the hold near ${fmt.place(lead)}`);
    return el(
      "tr",
      { "data-lead": id },
      el("td", {}, el("input", { type: "checkbox", value: id, "aria-label": `Select the hold near ${fmt.place(lead)}` })),
      el("td", {}, el("strong", {}, fmt.locationText(lead)), el("br"), el("span", { class: "muted" }, fmt.kind(lead.kind))),
      el("td", {}, fmt.home(lead.facts)),
      el("td", { class: "num" }, fmt.money(item.price)),
      el("td", { class: "countdown", "data-until": item.held_until }, ""),
      el("td", {}, el("div", { class: "row-actions" }, extend, release)),
    );
  }

  // Every second: each hold's time left; an ended hold says so at once (the server ignores it
  // from that instant; the sweeper's notice then takes it off the cart).
  tick() {
    const now = Date.now();
    for (const cell of $$("#cart td.countdown")) {
      const left = new Date(cell.dataset.until).getTime() - now;
      const text = fmt.timeLeft(left);
      if (cell.textContent !== text) cell.textContent = left > 0 ? `${text} left` : "Hold ended";
      const row = cell.closest("tr");
      row.classList.toggle("soon", left > 0 && left < SOON_MS);
      row.classList.toggle("ended", left <= 0);
    }
  }

  _bulkState() {
    const n = $$("#cart tbody input[type=checkbox]:checked").length;
    const b = $("#cart-release-selected");
    b.disabled = n === 0;
    b.textContent = n > 1 ? `Release ${n} selected` : "Release selected";
  }

  async extend(id) {
    try {
      const r = (await api(`/api/v1/cart/holds/${encodeURIComponent(id)}/extend`, { method: "POST" })).data;
      toast(`Hold extended until ${fmt.dateTime(r.held_until)}.`, { kind: "ok" });
    } catch (err) {
      toast(fmt.problem(err), { kind: "error" });
    }
    await this.load();
  }

  async release(ids) {
    let done = 0;
    for (const id of ids) {
      try {
        await api(`/api/v1/cart/holds/${encodeURIComponent(id)}`, { method: "DELETE" });
        done += 1;
      } catch (err) {
        toast(fmt.problem(err), { kind: "error" });
      }
    }
    if (done) toast(`${done === 1 ? "1 hold" : `${done} holds`} released.`);
    await this.load();
  }

  // A hold-expiring notice: the row is marked and the agent told.
  expiring(notice) {
    const item = this.items.get(notice.lead_id);
    const where = item ? ` near ${fmt.place(item.lead)}` : "";
    const minutes = Math.round(notice.minutes_left);
    const when = minutes < 1 ? "in less than a minute" : minutes === 1 ? "in 1 minute" : `in ${minutes} minutes`;
    toast(`Your hold${where} ends ${when}.`, {
      kind: "warn",
      action: { label: "Open the cart", run: () => { location.hash = "#/cart"; } },
    });
    const row = $(`#cart tr[data-lead="${CSS.escape(notice.lead_id)}"]`);
    if (row) row.classList.add("soon");
  }

  async expired(notice) {
    const item = this.items.get(notice.lead_id);
    const where = item ? ` near ${fmt.place(item.lead)}` : "";
    const why = notice.reason === "lost" ? "the lead left the market" : "its time ran out";
    toast(`Your hold${where} has ended: ${why}.`, { kind: "warn" });
    await this.load();
  }

  async checkout() {
    const out = $("#checkout-result");
    const signature = [...this.items.keys()].sort().join(",");
    if (this.keyFor !== signature) {
      this.idempotencyKey = crypto.randomUUID();
      this.keyFor = signature;
    }
    const token = this.config.gateway === "sandbox" ? $("#payment-token").value : null;
    $("#pay").disabled = true;
    out.className = "";
    out.textContent = "Paying…";
    try {
      const res = await api("/api/v1/checkout", {
        method: "POST",
        headers: { "Idempotency-Key": this.idempotencyKey },
        json: token ? { payment_token: token } : {},
      });
      const order = res.data;
      this.keyFor = null;
      if (res.status === 202) {
        out.className = "banner warn";
        out.textContent =
          "Your bank asks you to confirm this payment (3-D Secure). The leads become yours as soon as it is confirmed.";
      } else {
        const n = order.items.filter((i) => i.outcome === "sold").length;
        const lost = order.items.filter((i) => i.outcome === "lost").length;
        out.className = "banner ok";
        out.textContent = `Paid ${fmt.money(order.total)}. ${n === 1 ? "1 lead is" : `${n} leads are`} yours: see Purchases.`;
        if (lost) out.textContent += ` ${lost} could not be sold to you and ${lost === 1 ? "was" : "were"} refunded.`;
        toast("Payment received: the owners' contacts are in Purchases.", {
          kind: "ok",
          action: { label: "Open purchases", run: () => { location.hash = "#/purchases"; } },
        });
      }
    } catch (err) {
      out.className = "banner error";
      out.textContent = checkoutProblem(err);
      if (err instanceof ApiError && err.status !== 503) this.keyFor = null; // 503: retry, same key
    } finally {
      $("#pay").disabled = false;
    }
    await this.load();
  }
}

function checkoutProblem(err) {
  if (!(err instanceof ApiError)) return "The payment could not be sent. Check your connection and try again.";
  if (err.status === 402) {
    const code = err.detail && err.detail.decline_code;
    return `The card was declined${code ? ` (${code.replaceAll("_", " ")})` : ""}. Your holds stay until they end; try another card.`;
  }
  if (err.status === 503) return "The payment service did not answer. Try again: you will not be charged twice.";
  return fmt.problem(err);
}
