"use strict";
// A small agent page on the catalog API; the map views arrive with the geo analytics.
const state = { token: sessionStorage.getItem("aiq_token"), cursor: null };
const $ = (sel) => document.querySelector(sel);
const dollars = (m) => (m ? "$" + Math.round(m.cents / 100).toLocaleString() : "—");

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const res = await fetch(path, Object.assign({}, options, { headers }));
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function show(loggedIn) {
  $("#login-view").hidden = loggedIn;
  $("#catalog-view").hidden = !loggedIn;
  $("#logout").hidden = !loggedIn;
}

function row(lead) {
  const tr = document.createElement("tr");
  const cells = [
    lead.city, lead.zip_code, lead.facts.bedrooms, lead.facts.bathrooms,
    lead.facts.living_area_sqft, dollars(lead.asking_price), lead.score_bucket,
    dollars(lead.price), lead.location ? lead.location.h3_cell : "—",
  ];
  for (const value of cells) {
    const td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "—" : String(value);
    tr.appendChild(td);
  }
  return tr;
}

async function search(append) {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($("#filters"))) if (v !== "") params.append(k, v);
  if (append && state.cursor) params.set("cursor", state.cursor);
  $("#catalog-error").textContent = "";
  try {
    const page = await api("/api/v1/leads?" + params.toString());
    const body = $("#leads tbody");
    if (!append) body.replaceChildren();
    page.items.forEach((lead) => body.appendChild(row(lead)));
    state.cursor = page.next_cursor;
    $("#more").hidden = !state.cursor;
  } catch (err) {
    $("#catalog-error").textContent = err.message;
  }
}

async function whoAmI() {
  const me = await api("/api/v1/auth/me");
  $("#who").textContent = `${me.email} (${me.role}, ${me.tier})`;
}

$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    const tokens = await api("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(new FormData(ev.target)) });
    state.token = tokens.access_token;
    sessionStorage.setItem("aiq_token", state.token);
    show(true);
    await whoAmI();
    await search(false);
  } catch (err) {
    $("#login-error").textContent = err.message;
  }
});
$("#filters").addEventListener("submit", (ev) => { ev.preventDefault(); search(false); });
$("#more").addEventListener("click", () => search(true));
$("#logout").addEventListener("click", () => {
  state.token = null;
  sessionStorage.removeItem("aiq_token");
  $("#who").textContent = "";
  show(false);
});

if (state.token) {
  show(true);
  whoAmI().then(() => search(false)).catch(() => { state.token = null; show(false); });
} else {
  show(false);
}
