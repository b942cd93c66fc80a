// Operators' pages: returns to decide, accounts (tier, custom cart limit, active), tier policy,
// ingestion runs and their summaries, the ingestion quarantine with retry, source drift, A/B
// experiments (experiments.js).
// A page may take a query after its name: #/admin/quarantine?source=redfin&reason=outside_us.
"use strict";

import { ApiError, api, get } from "./api.js";
import * as fmt from "./format.js";
import { experimentsPage } from "./experiments.js";
import { $, $$, el, showFieldErrors, toast } from "./ui.js";

const PAGES = ["returns", "accounts", "tiers", "runs", "quarantine", "sources", "experiments"];
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
    const [path, query = ""] = (page || "").split("?");
    const name = PAGES.includes(path) ? path : "returns";
    this.current = page || name;
    $$(".subnav a").forEach((a) => a.setAttribute("aria-current", a.dataset.admin === name ? "page" : "false"));
    $("#admin-error").textContent = "";
    const body = $("#admin-body");
    body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    try {
      body.replaceChildren(...(await this[name](new URLSearchParams(query))).filter(Boolean));
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

  async quarantine(params) {
    const source = params.get("source");
    const reason = params.get("reason");
    const query = new URLSearchParams({ limit: "200" });
    if (source) query.set("source", source);
    if (reason) query.set("reason", reason);
    const page = await get(`/api/v1/admin/quarantine?${query}`);
    const retryAll = el("button", { type: "button" }, source ? `Retry every record of ${source}` : "Retry every record");
    const status = el("p", { role: "status" });
    retryAll.addEventListener("click", () => this._retry(source ? { source } : {}, status));
    const filtered = source || reason
      ? el("p", { class: "banner" },
          `Showing ${[source && `source ${source}`, reason && `reason ${reason}`].filter(Boolean).join(", ")}. `,
          el("a", { href: "#/admin/quarantine" }, "Show every record"))
      : null;
    const head = [
      el("h3", {}, "Quarantine"),
      el("p", { class: "muted" }, "Records ingestion could not use, with the reasons. Retry after fixing a parser or a setting."),
      filtered,
      el("div", { class: "bulk" }, retryAll),
      status,
    ];
    if (!page.items.length) return [...head, el("p", { class: "empty" }, filtered ? "No such record is quarantined." : "Nothing is quarantined.")];
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
      await this.show(this.current);
    } catch (err) {
      status.textContent = fmt.problem(err);
    }
  }

  // --- ingestion runs -----------------------------------------------------------------------

  async runs(params) {
    const source = params.get("source");
    const query = new URLSearchParams({ limit: "50" });
    if (source) query.set("source", source);
    const page = await get(`/api/v1/admin/ingestion/runs?${query}`);
    const filter = el("form", { class: "inline", role: "search", "aria-label": "Runs of one source" },
      el("label", { for: "runs-source" }, "Source"),
      el("input", { id: "runs-source", name: "source", maxlength: "32", value: source || "" }),
      el("button", { type: "submit", class: "secondary" }, "Show its runs"),
      source ? el("a", { href: "#/admin/runs" }, "Every source") : null);
    filter.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = filter.elements.namedItem("source").value.trim();
      location.hash = value ? `#/admin/runs?source=${encodeURIComponent(value)}` : "#/admin/runs";
    });
    const head = [
      el("h3", {}, "Ingestion runs"),
      el("p", { class: "muted" },
        "Each run of aiqleads ingest, crawl or the demo, newest first. A run moves its last batch time " +
          "after every batch it commits: one still running whose last batch is long past was stopped."),
      filter,
    ];
    if (!page.items.length) {
      return [...head, el("p", { class: "empty" }, source ? `No run of ${source} is recorded.` : "No ingestion run is recorded yet.")];
    }
    const detail = el("section", { class: "run-detail", "aria-labelledby": "run-detail-title", hidden: true });
    const tbody = el("tbody", {}, page.items.map((r) => this._runRow(r, detail)));
    const more = el("button", { type: "button", class: "secondary", hidden: !page.next_before }, "Show older runs");
    let before = page.next_before;
    more.addEventListener("click", async () => {
      query.set("before", String(before));
      try {
        const next = await get(`/api/v1/admin/ingestion/runs?${query}`);
        tbody.append(...next.items.map((r) => this._runRow(r, detail)));
        before = next.next_before;
        more.hidden = !before;
      } catch (err) {
        $("#admin-error").textContent = fmt.problem(err);
      }
    });
    const columns = ["Source", "Started", "Duration", "Outcome", "Read", "Created", "Updated", "Merged", "Unchanged", "Quarantined", ""];
    return [
      ...head,
      el(
        "table",
        { class: "leads runs" },
        el("caption", { class: "visually-hidden" }, "Ingestion runs, newest first, with their counts"),
        el("thead", {}, el("tr", {}, columns.map((h) => el("th", { scope: "col" }, h || el("span", { class: "visually-hidden" }, "Details"))))),
        tbody,
      ),
      more,
      detail,
    ];
  }

  _runRow(r, detail) {
    const open = el("button", { type: "button", class: "secondary", "aria-label": `Details of run ${r.id} (${r.source})` }, "Details");
    open.addEventListener("click", () => this._runDetail(r, detail));
    const counts = ["read", "created", "updated", "merged", "unchanged", "quarantined"].map((k) => el("td", { class: "num" }, fmt.count(r[k])));
    return el(
      "tr",
      { "data-run": r.id },
      el("td", {}, r.source, r.metro ? el("div", { class: "muted" }, r.metro) : null),
      el("td", {}, fmt.dateTime(r.started_at)),
      el("td", { class: "num" }, r.outcome === "running" ? "—" : fmt.duration(r.seconds)),
      el("td", {}, outcomeTag(r), r.error_class ? el("div", { class: "muted" }, r.error_class) : null),
      ...counts,
      el("td", {}, open),
    );
  }

  _runDetail(r, box) {
    const title = el("h4", { id: "run-detail-title", tabindex: "-1" }, `Run ${r.id}: ${r.source}`);
    const facts = [
      ["Outcome", outcomeTag(r)],
      ["Started", fmt.dateTime(r.started_at)],
      [r.finished_at ? "Finished" : "Last batch", fmt.dateTime(r.finished_at || r.progress_at)],
      ["Duration", r.outcome === "running" ? "—" : fmt.duration(r.seconds)],
      ["Metro", r.metro || "any"],
      ["Process", `${r.pid} on ${r.host}`],
      ["Documents", fmt.count(r.documents)],
    ];
    const parts = [title, el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]))];
    if (r.outcome === "failed") {
      parts.push(el("p", { class: "banner error" }, `${r.error_class}: ${r.error_message}`,
        " The batches committed before the failure are kept: ingest the input again to complete it."));
    } else if (r.outcome === "running") {
      parts.push(el("p", { class: "banner warn" },
        `Running, or stopped: its last batch was committed at ${fmt.dateTime(r.progress_at)}. ` +
          `If no process ${r.pid} runs on ${r.host}, it was killed; ingest its input again to complete it.`));
    }
    const reasons = Object.entries(r.quarantined_by_reason);
    const quarantineOf = `#/admin/quarantine?source=${encodeURIComponent(r.source)}`;
    parts.push(el("h5", {}, "Quarantined, by reason"));
    if (reasons.length) {
      parts.push(
        el("table", { class: "leads compact" },
          el("caption", { class: "visually-hidden" }, `Records of run ${r.id} sent to the quarantine, by reason`),
          el("thead", {}, el("tr", {}, ["Reason", "Records"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, reasons.map(([reason, n]) => el("tr", {},
            el("td", {}, el("a", { href: `${quarantineOf}&reason=${encodeURIComponent(reason)}` }, reason)),
            el("td", { class: "num" }, fmt.count(n)))))),
        el("p", {}, el("a", { href: quarantineOf }, `Every quarantined record of ${r.source}`)),
      );
    } else {
      parts.push(el("p", { class: "muted" }, "No record of this run went to the quarantine."));
    }
    const stages = Object.entries(r.stages);
    if (stages.length) {
      parts.push(
        el("h5", {}, "Stages"),
        el("table", { class: "leads compact" },
          el("caption", { class: "visually-hidden" }, `Records and time per stage of run ${r.id}`),
          el("thead", {}, el("tr", {}, ["Stage", "Records in", "Quarantined", "Time"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, stages.map(([name, st]) => el("tr", {},
            el("td", {}, name),
            el("td", { class: "num" }, fmt.count(st.records)),
            el("td", { class: "num" }, fmt.count(st.dropped)),
            el("td", { class: "num" }, fmt.duration(st.seconds)))))),
      );
    }
    const notes = Object.entries(r.notes);
    if (notes.length) {
      parts.push(el("h5", {}, "Notes"), el("ul", {}, notes.map(([note, n]) => el("li", {}, `${note}: ${fmt.count(n)}`))));
    }
    box.replaceChildren(...parts);
    box.hidden = false;
    title.focus();
  }

  // --- experiments --------------------------------------------------------------------------

  async experiments(params) {
    return experimentsPage(params, (page) => this.show(page));
  }

  // --- sources ------------------------------------------------------------------------------

  async sources() {
    const reports = await get("/api/v1/admin/sources");
    const profile = el("button", { type: "button" }, "Profile every source now");
    const status = el("p", { role: "status" });
    profile.addEventListener("click", async () => {
      status.textContent = "Profiling…";
      try {
        await api("/api/v1/admin/sources/profile", { method: "POST" });
        await this.show("sources");
        toast("Every source profiled.", { kind: "ok" });
      } catch (err) {
        status.textContent = fmt.problem(err);
      }
    });
    const head = [
      el("h3", {}, "Sources"),
      el("p", { class: "muted" },
        "Each source's last profile (made every few minutes, or now) against its baseline. A key field " +
          "drifted when it moved past its threshold: the source changed its layout, or a parser broke. " +
          "To accept a change as the new normal: aiqleads sources baseline --source NAME."),
      el("div", { class: "bulk" }, profile),
      status,
    ];
    if (!reports.length) return [...head, el("p", { class: "empty" }, "No source has been profiled yet.")];
    return [...head, ...reports.map((r) => sourceReport(r))];
  }
}

const OUTCOMES = { running: "Running", succeeded: "Succeeded", failed: "Failed" };
function outcomeTag(r) {
  return el("span", { class: `tag outcome-${r.outcome}` }, OUTCOMES[r.outcome] || r.outcome);
}

const PRICE_FIELDS = new Set(["price_p10", "price_p50", "price_p90"]);
const FIELD_NAMES = {
  owner_phone: "Leads with an owner phone",
  zip_only: "Leads located by ZIP only",
  quarantined: "Records quarantined",
  price_p10: "Asking price, 10th percentile",
  price_p50: "Asking price, median",
  price_p90: "Asking price, 90th percentile",
};
const fieldName = (f) => FIELD_NAMES[f] || (f.startsWith("quarantine:") ? `Quarantined as ${f.slice(11)}` : f);

const dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
function fieldValue(field, value) {
  if (value === null || value === undefined) return "—";
  if (PRICE_FIELDS.has(field)) return dollars.format(value / 100);
  return `${(value * 100).toFixed(1)} %`;
}

// A share's drift is in percentage points; a price's is |log2(latest / baseline)|, shown as a factor.
function driftValue(field, value) {
  if (value === null || value === undefined) return "—";
  if (PRICE_FIELDS.has(field)) return `× ${(2 ** value).toFixed(2)}`;
  return `${(value * 100).toFixed(1)} points`;
}

function sourceState(r) {
  if (r.drifted) return ["drifted", "Drifted"];
  if (!r.baseline) return ["none", "No baseline yet"];
  if (!r.sufficient) return ["none", "Too few records to judge"];
  return ["ok", "No drift"];
}

function sourceReport(r) {
  const id = `source-${r.source.replace(/[^a-z0-9_-]/gi, "_")}`;
  const [kind, words] = sourceState(r);
  const latest = r.latest;
  const rows = r.drifts.length
    ? r.drifts.map((d) => el(
        "tr",
        { class: d.exceeded ? "drifted" : null, "data-field": d.field },
        el("th", { scope: "row" }, fieldName(d.field)),
        el("td", { class: "num" }, fieldValue(d.field, d.baseline)),
        el("td", { class: "num" }, fieldValue(d.field, d.latest)),
        el("td", { class: "num" }, driftValue(d.field, d.drift)),
        el("td", { class: "num" }, driftValue(d.field, d.threshold)),
        el("td", {}, d.exceeded ? el("strong", {}, "Drifted") : "Within threshold"),
      ))
    : Object.entries(latest.fields).map(([field, value]) => el(
        "tr",
        { "data-field": field },
        el("th", { scope: "row" }, fieldName(field)),
        el("td", { class: "num" }, "—"),
        el("td", { class: "num" }, fieldValue(field, value)),
        el("td", { class: "num" }, "—"),
        el("td", { class: "num" }, "—"),
        el("td", {}, "Not judged"),
      ));
  return el(
    "section",
    { class: "source-report", "aria-labelledby": `${id}-title`, "data-source": r.source },
    el("h4", { id: `${id}-title` }, `${r.source} `, el("span", { class: `tag source-${kind}` }, words)),
    el("p", { class: "muted" },
      `Latest: ${fmt.count(latest.leads)} leads and ${fmt.count(latest.quarantined)} quarantined records ` +
        `from ${fmt.dateTime(latest.window_start)} to ${fmt.dateTime(latest.computed_at)}. ` +
        (r.baseline ? `Baseline of ${fmt.dateTime(r.baseline.computed_at)}: ${fmt.count(r.baseline.leads)} leads.` : "")),
    el(
      "table",
      { class: "leads compact" },
      el("caption", { class: "visually-hidden" }, `Key fields of ${r.source}, latest against baseline`),
      el("thead", {}, el("tr", {}, ["Key field", "Baseline", "Latest", "Drift", "Threshold", "Status"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows),
    ),
  );
}
