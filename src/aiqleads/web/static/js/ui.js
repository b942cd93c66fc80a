// Small DOM helpers: building elements without innerHTML, notices, form field errors.
"use strict";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// el("button", {type: "button", class: "x", onclick: fn, dataset: {id: 1}}, "text", child…)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// A notice in the corner, read out by screen readers; `action` adds a button.
export function toast(text, { kind = "info", action = null, timeout = 8000 } = {}) {
  const box = $("#toasts");
  const item = el("div", { class: `toast ${kind}` }, el("span", {}, text));
  if (action) {
    item.append(
      el("button", { type: "button", class: "link", onclick: () => { action.run(); item.remove(); } }, action.label),
    );
  }
  item.append(
    el("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"),
  );
  box.append(item);
  while (box.children.length > 5) box.firstElementChild.remove();
  if (timeout) setTimeout(() => item.remove(), timeout);
  return item;
}

// Mark the form's fields the API named (422 detail [{field, reason}]) and say what is wrong next
// to each; returns the message for fields the form does not have.
export function showFieldErrors(form, err) {
  clearFieldErrors(form);
  const rest = [];
  for (const { field, reason } of err.fields || []) {
    const input = form.elements.namedItem(field);
    if (!input || !input.id) {
      rest.push(`${field}: ${reason}`);
      continue;
    }
    const note = el("span", { class: "field-error", id: `${input.id}-error` }, fieldReason(field, reason));
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    input.insertAdjacentElement("afterend", note);
  }
  return rest.join("; ");
}

export function clearFieldErrors(form) {
  $$(".field-error", form).forEach((n) => n.remove());
  $$("[aria-invalid]", form).forEach((n) => {
    n.removeAttribute("aria-invalid");
    n.removeAttribute("aria-describedby");
  });
}

const LABELS = {
  price_min: "Min price",
  price_max: "Max price",
  beds_min: "Beds",
  baths_min: "Baths",
  listed_since: "Listed since",
  zip: "ZIP",
  city: "City",
  zip_codes: "ZIPs",
  center_lat: "Centre latitude",
  center_lon: "Centre longitude",
  radius_m: "Radius",
  bedrooms_min: "Bedrooms at least",
  bedrooms_max: "Bedrooms at most",
  kinds: "Kinds",
};
function fieldReason(field, reason) {
  return `${LABELS[field] || field}: ${reason}`;
}

// An API reason with its field names read as the form's labels ("exceeds price_max" →
// "exceeds Max price"), without pydantic's "Value error, " prefix.
export function reasonInWords(reason) {
  return String(reason)
    .replace(/^Value error, /, "")
    .replace(/\b[a-z]+(?:_[a-z0-9]+)+\b/g, (name) => LABELS[name] || name);
}

// Replace a table body's rows, or show the "empty" paragraph instead.
export function fillTable(tbody, rows, empty) {
  tbody.replaceChildren(...rows);
  if (empty) empty.hidden = rows.length > 0;
  tbody.closest("table").hidden = rows.length === 0;
}

export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(url);
    a.remove();
  }, 1000);
}
