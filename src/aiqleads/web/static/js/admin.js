// Operators' pages: returns to decide, accounts (tier, custom cart limit, active), tier policy,
// the ingestion quarantine with retry.
"use strict";

import { ApiError, api, get } from "./api.js";
import * as fmt from "./format.js";
import { $, $$, el, showFieldErrors, toast } from "./ui.js";

const PAGES = ["returns", "accounts", "tiers", "quarantine"];
const TIER_FIELDS = [
  ["hold_minutes", "Hold length (minutes)"],
  ["hold_extensions", "Extensions per hold"],
  ["cart_limit", "Cart limit (leads)"],
  ["priority_delay_minutes", "Sees new leads after (minutes)"],
  ["discount_percent", "Discount (%)"],
  ["rate_limit_per_minute", "API requests per minute"],
  ["bulk_limit", "Leads per bulk request"],
];

export class AdminPage {
  async show(page) {
    const name = PAGES.includes(page) ? page : "returns";
    $$(".subnav a").forEach((a) => a.setAttribute("aria-current", a.dataset.admin === name ? "page" : "false"));
    $("#admin-error").textContent = "";
    const body = $("#admin-body");
    body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    try {
      body.replaceChildren(...(await this[name]()));
    } catch (err) {
      body.replaceChildren();
      $("#admin-error").textContent = fmt.problem(err);
    }
  }

  // --- returns ------------------------------------------------------------------------------

  async returns() {
    const page = await get("/api/v1/admin/returns?status=requested&status=approved&limit=200");
    const title = el("h3", {}, "Returns to decide");
    if (!page.items.length) return [title, el("p", { class: "empty" }, "No return is waiting for a decision.")];
    const rows = page.items.map((r) => {
      const approve = el("button", { type: "button" }, r.status === "approved" ? "Finish the refund" : "Approve and refund");
      const reject = el("button", { type: "button", class: "secondary" }, "Reject");
      const reasonId = `reject-${r.id.slice(0, 8)}`;
      const reason = el("input", { id: reasonId, name: "reason", maxlength: "500" });
      const label = el("label", { for: reasonId, class: "visually-hidden" }, "Why it is rejected");
      reason.placeholder = "Why it is rejected";
      const status = el("span", { role: "status" });
      approve.addEventListener("click", () => this._decide(r, "approve", null, status));
      reject.addEventListener("click", () => this._decide(r, "reject", reason, status));
      return el(
        "tr",
        { "data-return": r.id },
        el("td", {}, fmt.dateTime(r.requested_at)),
        el("td", {}, fmt.returnReason(r.reason), r.note ? el("div", { class: "muted" }, r.note) : null),
        el("td", { class: "num" }, fmt.money(r.refund)),
        el("td", {}, r.status),
        el("td", {}, el("div", { class: "row-actions" }, approve, label, reason, reject, status)),
      );
    });
    return [
      title,
      el(
        "table",
        { class: "leads" },
        el("thead", {}, el("tr", {}, ["Asked", "Reason", "Refund", "Status", "Decision"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows),
      ),
    ];
  }

  async _decide(r, action, reasonInput, status) {
    const body = action === "reject" ? { reason: reasonInput.value } : undefined;
    if (action === "reject" && !reasonInput.value.trim()) {
      status.textContent = "Say why it is rejected: the buyer is told.";
      reasonInput.setAttribute("aria-invalid", "true");
      reasonInput.focus();
      return;
    }
    try {
      await api(`/api/v1/admin/returns/${r.id}/${action}`, { method: "POST", json: body });
    } catch (err) {
      status.textContent = fmt.problem(err);
      return;
    }
    toast(action === "approve" ? `Refunded ${fmt.money(r.refund)}.` : "Return rejected.", { kind: "ok" });
    await this.show("returns");
  }

  // --- accounts -----------------------------------------------------------------------------

  async accounts() {
    const accounts = await get("/api/v1/admin/accounts");
    const rows = accounts.map((a) => {
      const key = a.id.slice(0, 8);
      const tier = el(
        "select",
        { id: `tier-${key}`, name: "tier" },
        ["basic", "pro", "enterprise"].map((t) => el("option", { value: t, selected: t === a.tier }, t)),
      );
      const limit = el("input", {
        id: `limit-${key}`,
        name: "custom_cart_limit",
        type: "number",
        min: "1",
        max: "100000",
        value: a.custom_cart_limit ?? "",
        disabled: a.tier !== "enterprise",
      });
      tier.addEventListener("change", () => { limit.disabled = tier.value !== "enterprise"; });
      const save = el("button", { type: "button" }, "Save");
      const status = el("span", { role: "status" });
      const form = el("form", { class: "inline", novalidate: true },
        el("label", { for: tier.id, class: "visually-hidden" }, `Tier of ${a.email}`), tier,
        el("label", { for: limit.id, class: "visually-hidden" }, `Custom cart limit of ${a.email}`), limit,
        save, status);
      save.addEventListener("click", async () => {
        const json = { tier: tier.value };
        if (tier.value === "enterprise") json.custom_cart_limit = limit.value === "" ? null : Number(limit.value);
        try {
          await api(`/api/v1/admin/accounts/${a.id}`, { method: "PATCH", json });
          status.textContent = "Saved.";
        } catch (err) {
          status.textContent = err instanceof ApiError && err.fields.length ? showFieldErrors(form, err) || "Check the fields." : fmt.problem(err);
        }
      });
      return el("tr", {}, el("td", {}, a.email), el("td", {}, a.role), el("td", {}, fmt.date(a.created_at)), el("td", {}, form));
    });
    return [
      el("h3", {}, "Accounts"),
      el("p", { class: "muted" }, "An enterprise account may have its own cart limit; other tiers use their tier's."),
      el(
        "table",
        { class: "leads" },
        el("thead", {}, el("tr", {}, ["E-mail", "Role", "Since", "Tier and cart limit"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows),
      ),
    ];
  }

  // --- tiers --------------------------------------------------------------------------------

  async tiers() {
    const tiers = await get("/api/v1/admin/tiers");
    const forms = tiers.map((t) => {
      const form = el("form", { class: "tier", novalidate: true, "aria-label": `${t.tier} tier policy` });
      form.append(el("h4", {}, `${t.tier} ${t.source === "admin" ? "(set by an admin)" : "(from the settings)"}`));
      for (const [field, label] of TIER_FIELDS) {
        const id = `${t.tier}-${field}`;
        form.append(
          el("div", { class: "field" },
            el("label", { for: id }, label),
            el("input", { id, name: field, type: "number", min: "0", value: t.policy[field], required: true })),
        );
      }
      const status = el("p", { role: "status" });
      const reset = el("button", { type: "button", class: "secondary" }, "Back to the settings");
      form.append(el("div", { class: "actions" }, el("button", { type: "submit" }, "Save"), reset), status);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const json = {};
        for (const [field] of TIER_FIELDS) json[field] = Number(form.elements.namedItem(field).value);
        try {
          await api(`/api/v1/admin/tiers/${t.tier}`, { method: "PUT", json });
          status.textContent = "Saved: it applies to new holds, windows and prices at once.";
        } catch (err) {
          status.textContent = err instanceof ApiError && err.status === 422 ? showFieldErrors(form, err) || "Check the highlighted fields." : fmt.problem(err);
        }
      });
      reset.addEventListener("click", async () => {
        try {
          await api(`/api/v1/admin/tiers/${t.tier}`, { method: "DELETE" });
          await this.show("tiers");
        } catch (err) {
          status.textContent = fmt.problem(err);
        }
      });
      return form;
    });
    return [el("h3", {}, "Tier policy"), el("div", { class: "tiers" }, forms)];
  }

  // --- quarantine ---------------------------------------------------------------------------

  async quarantine() {
    const page = await get("/api/v1/admin/quarantine?limit=200");
    const retryAll = el("button", { type: "button" }, "Retry every record");
    const status = el("p", { role: "status" });
    retryAll.addEventListener("click", () => this._retry({}, status));
    const head = [
      el("h3", {}, "Quarantine"),
      el("p", { class: "muted" }, "Records ingestion could not use, with the reasons. Retry after fixing a parser or a setting."),
      el("div", { class: "bulk" }, retryAll),
      status,
    ];
    if (!page.items.length) return [...head, el("p", { class: "empty" }, "Nothing is quarantined.")];
    const rows = page.items.map((q) => {
      const retry = el("button", { type: "button", class: "secondary" }, "Retry");
      retry.setAttribute("aria-label", `Retry record ${q.id}`);
      retry.addEventListener("click", () => this._retry({ id: q.id }, status));
      return el(
        "tr",
        { "data-quarantine": q.id },
        el("td", {}, String(q.id)),
        el("td", {}, q.source, q.source_ref ? el("div", { class: "muted" }, q.source_ref) : null),
        el("td", {}, q.stage),
        el("td", {}, el("code", {}, q.reason), el("div", { class: "muted" }, q.reasons.join("; "))),
        el("td", {}, String(q.attempts)),
        el("td", {}, fmt.dateTime(q.created_at)),
        el("td", {}, retry),
      );
    });
    return [
      ...head,
      el(
        "table",
        { class: "leads" },
        el("thead", {}, el("tr", {}, ["#", "Source", "Stage", "Reason", "Tries", "Since", ""].map((h) => el("th", { scope: "col" }, h || el("span", { class: "visually-hidden" }, "Retry"))))),
        el("tbody", {}, rows),
      ),
    ];
  }

  async _retry(json, status) {
    status.textContent = "Retrying…";
    try {
      const r = (await api("/api/v1/admin/quarantine/retry", { method: "POST", json })).data;
      toast(`Retried ${r.retried}: ${r.resolved} resolved, ${r.still_failing} still failing, ${r.not_retryable} need their files ingested again.`, { kind: "ok" });
      await this.show("quarantine");
    } catch (err) {
      status.textContent = fmt.problem(err);
    }
  }
}
