// Purchased leads with the owners' contacts, the CRM export, returns.
"use strict";

import { ApiError, api, get, raw } from "./api.js";
import * as fmt from "./format.js";
import { contactBlock } from "./leads.js";
import { $, download, el, toast } from "./ui.js";

export class PurchasesPage {
  constructor() {
    this.cursor = null;
    $("#export-csv").addEventListener("click", () => this.exportCsv());
    $("#purchases-more").addEventListener("click", () => this.load(true));
  }

  async load(more = false) {
    const q = new URLSearchParams({ limit: "50" });
    if (more && this.cursor) q.set("cursor", this.cursor);
    let page;
    try {
      page = await get(`/api/v1/purchases?${q}`);
    } catch (err) {
      $("#purchases-error").textContent = fmt.problem(err);
      return;
    }
    $("#purchases-error").textContent = "";
    const cards = page.items.map((p) => this._card(p));
    if (more) $("#purchases").append(...cards);
    else $("#purchases").replaceChildren(...cards);
    this.cursor = page.next_cursor;
    $("#purchases-more").hidden = !this.cursor;
    $("#purchases-empty").hidden = $("#purchases").children.length > 0;
  }

  _card(p) {
    const lead = p.lead;
    const card = el("article", { class: "card", "data-lead": lead.id, "aria-label": fmt.locationText(lead) });
    card.append(
      el("h3", {}, fmt.locationText(lead)),
      el(
        "p",
        { class: "muted" },
        `${fmt.kind(lead.kind)} · ${fmt.home(lead.facts)} · asking ${fmt.money(lead.asking_price)} · paid ${fmt.money(p.price_paid)} on ${fmt.date(p.purchased_at)}`,
      ),
      contactBlock(lead),
    );
    card.append(this._returnPart(p));
    return card;
  }

  _returnPart(p) {
    const box = el("div", { class: "return" });
    const r = p.return_request;
    if (r && r.status !== "rejected") {
      const words = {
        requested: "Return requested: waiting for a decision.",
        approved: "Return approved: the refund is on its way.",
        refunded: "Returned and refunded.",
      }[r.status];
      box.append(el("p", { class: "tag" }, words || r.status));
      return box;
    }
    const until = new Date(p.returnable_until);
    if (until <= new Date()) {
      box.append(el("p", { class: "muted" }, `The return window closed on ${fmt.date(p.returnable_until)}.`));
      return box;
    }
    if (r && r.status === "rejected") box.append(el("p", { class: "muted" }, "A return of this lead was rejected; you may ask again."));
    const open = el("button", { type: "button", class: "secondary" }, "Return this lead");
    open.setAttribute("aria-label", `Return the lead at ${fmt.locationText(p.lead)}`);
    open.addEventListener("click", () => {
      open.hidden = true;
      const form = this._returnForm(p, () => { open.hidden = false; });
      box.append(form);
      form.querySelector("select").focus();
    });
    box.append(open, el("span", { class: "muted" }, ` until ${fmt.date(p.returnable_until)}`));
    return box;
  }

  _returnForm(p, onCancel) {
    const id = p.lead.id.slice(0, 8);
    const reason = el(
      "select",
      { id: `return-reason-${id}`, name: "reason", required: true },
      el("option", { value: "" }, "Choose a reason"),
      Object.entries(fmt.RETURN_REASONS).map(([v, label]) => el("option", { value: v }, label)),
    );
    const note = el("textarea", { id: `return-note-${id}`, name: "note", maxlength: "1000", rows: "2" });
    const error = el("p", { class: "error", role: "alert" });
    const form = el(
      "form",
      { class: "return-form", novalidate: true },
      el("label", { for: reason.id }, "Why are you returning it?"),
      reason,
      el("label", { for: note.id }, "Note (optional)"),
      note,
      el("div", { class: "actions" },
        el("button", { type: "submit" }, "Send the return"),
        el("button", { type: "button", class: "secondary", onclick: () => { form.remove(); onCancel(); } }, "Cancel"),
      ),
      error,
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!reason.value) {
        error.textContent = "Choose why you are returning the lead.";
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return;
      }
      try {
        await api("/api/v1/returns", {
          method: "POST",
          json: { lead_id: p.lead.id, reason: reason.value, note: note.value.trim() || null },
        });
      } catch (err) {
        error.textContent = err instanceof ApiError && err.fields.length
          ? err.fields.map((f) => `${f.field}: ${f.reason}`).join("; ")
          : fmt.problem(err);
        return;
      }
      toast("Return requested: an operator will decide on it.", { kind: "ok" });
      await this.load();
    });
    return form;
  }

  async exportCsv() {
    const status = $("#export-result");
    status.textContent = "Preparing…";
    const res = await raw("/api/v1/purchases/export.csv");
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      status.textContent = fmt.problem(new ApiError(res.status, body));
      return;
    }
    const disposition = res.headers.get("Content-Disposition") || "";
    const match = /filename="?([^";]+)"?/.exec(disposition);
    download(await res.blob(), match ? match[1] : "aiqleads-purchases.csv");
    status.textContent = "Downloaded.";
  }
}
