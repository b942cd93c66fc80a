// The operators' A/B experiments page (#/admin/experiments): every experiment with its status,
// a form to create one (name, surface, variants with weights, salt), start / stop / conclude with
// the API's refusals said in words, and one experiment's report (#/admin/experiments?name=NAME):
// per-variant rates, each variant against the control (difference with its interval, p-value),
// the sample-ratio check, guardrails and the report's PNG chart.
"use strict";

import { ApiError, api, get, raw } from "./api.js";
import * as fmt from "./format.js";
import { $, $$, clearFieldErrors, el, showFieldErrors, toast } from "./ui.js";

const BASE = "/api/v1/admin/experiments";
const SURFACES = [["recommendations", "Recommendations panel"]];
const STATUSES = { draft: "Draft", running: "Running", stopped: "Stopped", concluded: "Concluded" };
const METRICS = [["click", "Opened a lead"], ["hold", "Held a lead"], ["purchase", "Bought a lead"]];
const GUARDRAILS = { latency_p95: "Serving time, 95th percentile", return_rate: "Share of purchases returned" };

// The 409 reasons of POST …/{name}/start|stop|conclude and of a taken name, in words.
const REFUSED = {
  name_taken: "An experiment with this name exists: choose another name.",
  already_running: "It is already running.",
  already_stopped: "It was stopped and cannot run again (its two periods would mix): create a new experiment.",
  already_concluded: "It is concluded: nothing more can change.",
  surface_busy: "Another experiment is running on the same surface: stop it first.",
  not_running: "It is not running, so there is nothing to stop.",
  not_started: "It never ran, so there is nothing to conclude: start it first.",
  status_changed: "Another admin changed it meanwhile: the list now shows where it is.",
};

function refused(err) {
  const reason = err instanceof ApiError && err.detail && !Array.isArray(err.detail) ? err.detail.reason : null;
  return REFUSED[reason] || fmt.problem(err);
}

const percent = (x, digits = 1) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(digits)} %`);
// A difference of rates in percentage points, signed.
const points = (x) => `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(2)} points`;
const pValue = (p) => (p < 0.0001 ? "< 0.0001" : p.toFixed(4));
const statusTag = (s) => el("span", { class: `tag experiment-${s}` }, STATUSES[s] || s);

export async function experimentsPage(params, reload) {
  const name = params.get("name");
  return name ? reportPage(name) : listPage(reload);
}

// --- the list and the create form -------------------------------------------------------------

async function listPage(reload) {
  const experiments = await get(BASE);
  const head = [
    el("h3", {}, "Experiments"),
    el("p", { class: "muted" },
      "A/B tests of what agents are served. Each agent is assigned a variant by a hash of the salt and " +
        "its id; one experiment runs on a surface at a time. Read the report at the planned end, not by " +
        "peeking until it looks significant."),
  ];
  const status = el("p", { role: "status", id: "experiments-status" });
  const list = experiments.length
    ? el(
        "table",
        { class: "leads experiments" },
        el("caption", { class: "visually-hidden" }, "Experiments, newest first"),
        el("thead", {}, el("tr", {}, ["Name", "Surface", "Status", "Variants", "Created", "Actions"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, experiments.map((x) => experimentRow(x, reload))),
      )
    : el("p", { class: "empty" }, "No experiment yet: create one below.");
  return [...head, status, list, createForm(reload)];
}

function experimentRow(x, reload) {
  const status = el("span", { role: "status", class: "refusal" });
  const act = async (action, json) => {
    status.textContent = "";
    try {
      await api(`${BASE}/${encodeURIComponent(x.name)}/${action}`, { method: "POST", json });
    } catch (err) {
      status.textContent = refused(err);
      return;
    }
    const done = { start: "started", stop: "stopped", conclude: "concluded" }[action];
    toast(`Experiment ${x.name} ${done}.`, { kind: "ok" });
    await reload("experiments");
  };
  const button = (action, words, cls) => {
    const b = el("button", { type: "button", class: cls, "aria-label": `${words} ${x.name}` }, words);
    b.addEventListener("click", () => act(action));
    return b;
  };
  const winnerId = `winner-${x.name.replace(/[^a-z0-9_-]/gi, "_")}`;
  const winner = el(
    "select",
    { id: winnerId, name: "winner" },
    el("option", { value: "" }, "No winner"),
    x.variants.map((v) => el("option", { value: v.name }, v.name)),
  );
  const conclude = el("button", { type: "button", class: "secondary", "aria-label": `Conclude ${x.name}` }, "Conclude");
  conclude.addEventListener("click", () => act("conclude", { winner: winner.value || null }));
  const actions = el(
    "div",
    { class: "row-actions" },
    x.status === "draft" ? button("start", "Start") : null,
    x.status === "running" ? button("stop", "Stop", "secondary") : null,
    x.status === "running" || x.status === "stopped"
      ? [el("label", { for: winnerId, class: "visually-hidden" }, `Winner of ${x.name}`), winner, conclude]
      : null,
    x.status !== "draft"
      ? el("a", { href: `#/admin/experiments?name=${encodeURIComponent(x.name)}` }, el("span", { class: "visually-hidden" }, `${x.name}: `), "Report")
      : null,
    status,
  );
  return el(
    "tr",
    { "data-experiment": x.name },
    el("th", { scope: "row" }, x.name, el("div", { class: "muted" }, `salt ${x.salt}`)),
    el("td", {}, x.surface),
    el("td", {}, statusTag(x.status), x.winner ? el("div", { class: "muted" }, `winner ${x.winner}`) : null),
    el("td", {}, x.variants.map((v, i) => el("div", {}, `${v.name}${i === 0 ? " (control)" : ""}: ${percent(v.share, 0)}`))),
    el("td", {}, fmt.dateTime(x.created_at)),
    el("td", {}, actions),
  );
}

function createForm(reload) {
  const form = el("form", { class: "experiment-form", novalidate: true, "aria-labelledby": "experiment-new-title" });
  const field = (id, label, input, hint) => el("div", { class: "field" }, el("label", { for: id }, label), input,
    hint ? el("span", { class: "muted hint", id: `${id}-hint` }, hint) : null);
  const nameInput = el("input", { id: "x-name", name: "name", required: true, maxlength: "80", pattern: "[a-z0-9][a-z0-9_.\\-]*", "aria-describedby": "x-name-hint" });
  const surface = el("select", { id: "x-surface", name: "surface" }, SURFACES.map(([v, w]) => el("option", { value: v }, w)));
  const salt = el("input", { id: "x-salt", name: "salt", maxlength: "80", "aria-describedby": "x-salt-hint" });
  const windowHours = el("input", { id: "x-window", name: "window_hours", type: "number", min: "1", max: "2160", inputmode: "numeric", "aria-describedby": "x-window-hint" });
  const variants = el("fieldset", { class: "variants" }, el("legend", {}, "Variants (the first is the control)"));
  const rows = el("div", { class: "variant-rows" });
  const add = el("button", { type: "button", class: "secondary" }, "Add a variant");
  variants.append(rows, add);
  const renumber = () => {
    $$(".variant", rows).forEach((row, i) => {
      for (const input of $$("input", row)) {
        const part = input.dataset.part;
        input.name = `variants.${i}.${part}`;
        input.id = `x-variant-${i}-${part}`;
      }
      $$("label", row).forEach((label) => { label.htmlFor = `x-variant-${i}-${label.dataset.part}`; });
      $(".variant-title", row).textContent = i === 0 ? "Control" : `Variant ${i + 1}`;
      $("button", row).setAttribute("aria-label", `Remove ${i === 0 ? "the control" : `variant ${i + 1}`}`);
      $("button", row).disabled = $$(".variant", rows).length <= 2;
    });
    add.disabled = $$(".variant", rows).length >= 10;
  };
  const addRow = (name, weight, config) => {
    const part = (p, label, attrs) => [
      el("label", { "data-part": p }, label),
      el("input", Object.assign({ "data-part": p }, attrs)),
    ];
    const remove = el("button", { type: "button", class: "link" }, "Remove");
    const row = el("div", { class: "variant" },
      el("span", { class: "variant-title" }),
      ...part("name", "Name", { maxlength: "40", required: true, value: name }),
      ...part("weight", "Weight", { type: "number", min: "0", step: "any", required: true, value: weight, inputmode: "decimal" }),
      ...part("config", "Config (JSON)", { value: config, placeholder: '{"recommender": "nearest"}' }),
      remove);
    remove.addEventListener("click", () => { row.remove(); renumber(); });
    rows.append(row);
    renumber();
  };
  addRow("control", "1", "");
  addRow("treatment", "1", "");
  add.addEventListener("click", () => {
    addRow("", "1", "");
    $$(".variant", rows).at(-1).querySelector("input").focus();
  });
  const status = el("p", { role: "status", id: "experiment-form-status" });
  form.append(
    el("h3", { id: "experiment-new-title" }, "New experiment"),
    el("div", { class: "experiment-fields" },
      field("x-name", "Name", nameInput, "Lower-case letters, digits, . _ -"),
      field("x-surface", "Surface", surface),
      field("x-salt", "Salt (optional)", salt, "Seeds the assignment; the name when empty"),
      field("x-window", "Outcome window (hours, optional)", windowHours, "How long after a list an action counts")),
    variants,
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Create the experiment")),
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    status.textContent = "";
    const json = { name: nameInput.value.trim(), surface: surface.value, variants: [] };
    if (salt.value.trim()) json.salt = salt.value.trim();
    if (windowHours.value !== "") json.window_hours = Number(windowHours.value);
    const local = [];
    $$(".variant", rows).forEach((row, i) => {
      const value = (p) => $(`input[data-part=${p}]`, row).value.trim();
      let config = {};
      if (value("config")) {
        try {
          config = JSON.parse(value("config"));
          if (config === null || typeof config !== "object" || Array.isArray(config)) throw new Error("not an object");
        } catch {
          local.push({ field: `variants.${i}.config`, reason: 'not a JSON object, e.g. {"recommender": "cold-start-1"}' });
        }
      }
      json.variants.push({ name: value("name"), weight: value("weight") === "" ? null : Number(value("weight")), config });
    });
    if (!json.name) local.push({ field: "name", reason: "enter a name" });
    if (local.length) {
      const err = new ApiError(422, { detail: local });
      status.textContent = showFieldErrors(form, err) || "Check the highlighted fields.";
      form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    try {
      await api(BASE, { method: "POST", json });
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        // A reason about a key of a variant's config (variants.1.config.recommender) belongs
        // to that variant's config field, the one input that holds it.
        for (const f of err.fields || []) f.field = f.field.replace(/^(variants\.\d+\.config)\..*$/, "$1");
        status.textContent = showFieldErrors(form, err) || "Check the highlighted fields.";
        form.querySelector("[aria-invalid=true]")?.focus();
      } else {
        status.textContent = refused(err);
        if (err instanceof ApiError && err.status === 409) nameInput.focus();
      }
      return;
    }
    toast(`Experiment ${json.name} created as a draft: start it when ready.`, { kind: "ok" });
    await reload("experiments");
  });
  return form;
}

// --- one experiment's report ------------------------------------------------------------------

async function reportPage(name) {
  const path = `${BASE}/${encodeURIComponent(name)}`;
  const report = await get(`${path}/report`);
  const x = report.experiment;
  const back = el("p", {}, el("a", { href: "#/admin/experiments" }, "Every experiment"));
  const title = el("h3", { id: "experiment-report-title", tabindex: "-1" }, `Experiment ${x.name} `, statusTag(x.status));
  const facts = [
    ["Surface", x.surface],
    ["Started", fmt.dateTime(x.started_at)],
    ["Stopped", fmt.dateTime(x.stopped_at)],
    ["Winner", x.status === "concluded" ? x.winner || "none" : "—"],
    ["As of", fmt.dateTime(report.as_of)],
    ["Outcome window", `${report.window_hours} h after each list served`],
    ["Unit", report.unit],
    ["Control", report.control],
  ];
  const parts = [
    back,
    title,
    el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
  ];
  if (report.warnings.length) {
    parts.push(el("ul", { class: "banner warn warnings" }, report.warnings.map((w) => el("li", {}, w))));
  }
  parts.push(sampleRatio(report.sample_ratio), variantTable(report), comparisonTable(report), guardrailTable(report));
  const figure = el("figure", { class: "experiment-chart" });
  parts.push(figure);
  chart(`${path}/report.png`, x.name, figure);
  setTimeout(() => title.focus(), 0); // once the page has put the parts in
  return parts;
}

function sampleRatio(s) {
  const words = s.flagged
    ? `Sample-ratio mismatch: the agents per variant (${s.observed.join(", ")}) are unlikely under the planned shares (χ² ${s.chi2.toFixed(2)}, p ${pValue(s.p_value)} < ${s.alpha}). The assignment or the logging is broken: do not trust the comparisons.`
    : `Sample ratio as planned: agents per variant ${s.observed.join(", ")} (χ² ${s.chi2.toFixed(2)}, p ${pValue(s.p_value)}).`;
  return el("p", { class: `banner ${s.flagged ? "error" : "ok"} srm`, "data-flagged": String(s.flagged) }, words);
}

function variantTable(report) {
  const rows = report.variants.map((v) => el(
    "tr",
    { "data-variant": v.name },
    el("th", { scope: "row" }, v.name, v.is_control ? " (control)" : ""),
    el("td", { class: "num" }, percent(v.expected_share, 0)),
    el("td", { class: "num" }, fmt.count(v.agents)),
    el("td", { class: "num" }, fmt.count(v.exposures)),
    ...METRICS.map(([m]) => {
      const r = v.outcomes[m];
      return el("td", { class: "num" }, r ? `${percent(r.rate)} (${percent(r.ci_low)}–${percent(r.ci_high)})` : "—");
    }),
    el("td", { class: "num" }, `${fmt.count(v.returned)} of ${fmt.count(v.purchases)}`),
    el("td", { class: "num" }, v.latency.p95_ms === null ? "—" : `${v.latency.p95_ms.toFixed(0)} ms`),
  ));
  return el("table", { class: "leads experiment-variants" },
    el("caption", {}, "Per variant: share of exposed agents who acted, with 95 % intervals"),
    el("thead", {}, el("tr", {},
      ["Variant", "Planned share", "Agents", "Lists served", ...METRICS.map(([, w]) => w), "Returned", "p95 serving time"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
}

function comparisonTable(report) {
  if (!report.comparisons.length) return el("p", { class: "empty" }, "No comparison yet: no agent has been exposed.");
  const words = Object.fromEntries(METRICS);
  const rows = report.comparisons.map((c) => el(
    "tr",
    { "data-comparison": `${c.variant}:${c.metric}`, class: c.significant ? "significant" : null },
    el("th", { scope: "row" }, `${c.variant}: ${words[c.metric] || c.metric}`),
    el("td", { class: "num" }, percent(c.control_rate, 2)),
    el("td", { class: "num" }, percent(c.variant_rate, 2)),
    el("td", { class: "num" }, points(c.difference)),
    el("td", { class: "num" }, `${points(c.ci_low)} to ${points(c.ci_high)}`),
    el("td", { class: "num" }, pValue(c.p_value)),
    el("td", {}, c.significant ? el("strong", {}, "Significant") : "Not significant"),
  ));
  const level = `${Math.round(report.comparisons[0].confidence * 100)} %`;
  return el("table", { class: "leads experiment-comparisons" },
    el("caption", {}, `Each variant against the control: difference of rates with its ${level} interval and two-sided p-value`),
    el("thead", {}, el("tr", {},
      ["Variant and outcome", "Control", "Variant", "Difference", `${level} interval`, "p-value", "Verdict"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
}

function guardrailTable(report) {
  if (!report.guardrails.length) return el("p", { class: "muted" }, "No guardrail to check.");
  const show = (g, v) => (v === null ? "—" : g.name === "latency_p95" ? `${v.toFixed(0)} ms` : percent(v));
  const rows = report.guardrails.map((g) => el(
    "tr",
    { "data-guardrail": `${g.variant}:${g.name}`, class: g.breached ? "breached" : null },
    el("th", { scope: "row" }, `${g.variant}: ${GUARDRAILS[g.name] || g.name}`),
    el("td", { class: "num" }, show(g, g.value)),
    el("td", { class: "num" }, show(g, g.control)),
    el("td", { class: "num" }, show(g, g.limit)),
    el("td", {}, g.breached ? el("strong", {}, "Breached") : g.value === null ? "Not measurable yet" : "Within"),
  ));
  return el("table", { class: "leads compact experiment-guardrails" },
    el("caption", {}, "Guardrails"),
    el("thead", {}, el("tr", {}, ["Variant and guardrail", "Variant", "Control", "Limit", "Status"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
}

// The PNG needs the bearer token, so it is fetched and shown from a blob: URL (the page's CSP
// allows img-src blob:).
async function chart(url, name, figure) {
  figure.replaceChildren(el("p", { class: "muted" }, "Drawing the chart…"));
  try {
    const res = await raw(url);
    if (!res.ok) throw new Error(`the chart could not be drawn (${res.status})`);
    const src = URL.createObjectURL(await res.blob());
    const img = el("img", { src, alt: `Report of experiment ${name}: each variant's rates with 95 % intervals, p-values, sample-ratio check and guardrails` });
    img.addEventListener("load", () => figure.setAttribute("data-loaded", "true"), { once: true });
    figure.replaceChildren(img, el("figcaption", { class: "muted" }, "The same report as a chart"));
  } catch (err) {
    figure.replaceChildren(el("p", { class: "error" }, err.message));
  }
}
