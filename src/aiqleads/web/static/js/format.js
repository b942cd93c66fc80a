// How values read on screen: money in dollars and cents, places by name, times, refusals.
"use strict";

const moneyFormats = new Map();

export function money(m) {
  if (!m) return "—";
  let fmt = moneyFormats.get(m.currency);
  if (!fmt) {
    fmt = new Intl.NumberFormat("en-US", { style: "currency", currency: m.currency });
    moneyFormats.set(m.currency, fmt);
  }
  return fmt.format(m.cents / 100);
}

const counts = new Intl.NumberFormat("en-US");
export const count = (n) => counts.format(n);

// A lead's place as words: "Seattle, WA 98103". Never a cell id.
export function place(lead) {
  const cityState = [lead.city, lead.state].filter(Boolean).join(", ");
  const where = [cityState, lead.zip_code].filter(Boolean).join(" ");
  return where || "Place unknown";
}

export function street(lead) {
  if (!lead.street_address) return null;
  return lead.unit ? `${lead.street_address} ${lead.unit}` : lead.street_address;
}

// Where a lead is, as the viewer may know it.
export function locationText(lead) {
  if (lead.access === "full") {
    const s = street(lead);
    return s ? `${s}, ${place(lead)}` : place(lead);
  }
  return `Near ${place(lead)}`;
}

const KINDS = {
  fsbo: "For sale by owner",
  for_sale: "For sale",
  for_rent: "For rent",
  expired: "Expired listing",
  other: "Other",
};
export const kind = (k) => KINDS[k] || k;

const STATUSES = {
  available: "Available",
  held: "Held",
  sold: "Sold",
  returned: "Returned",
  pending: "Pending",
  withdrawn: "Withdrawn",
  expired: "Expired",
  new: "New",
};
export const status = (s) => STATUSES[s] || s;

export function home(facts) {
  const parts = [];
  if (facts.bedrooms !== null && facts.bedrooms !== undefined) parts.push(`${facts.bedrooms} bd`);
  if (facts.bathrooms !== null && facts.bathrooms !== undefined) parts.push(`${facts.bathrooms} ba`);
  if (facts.living_area_sqft) parts.push(`${counts.format(facts.living_area_sqft)} sq ft`);
  return parts.join(" · ") || "—";
}

// A US number in national form, "(206) 555-0142"; any other as stored (E.164).
export function phone(e164) {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164 || "");
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

const dates = new Intl.DateTimeFormat("en-US", { dateStyle: "medium" });
const dateTimes = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });
export const date = (iso) => (iso ? dates.format(new Date(iso)) : "—");
export const dateTime = (iso) => (iso ? dateTimes.format(new Date(iso)) : "—");

// A length of time: "4 ms", "2.5 s", "42 s", "3 min 05 s", "1 h 02 min".
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

// "14:05" or "1 h 02 min" left; "ended" at zero.
export function timeLeft(ms) {
  if (ms <= 0) return "ended";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m}:${String(sec).padStart(2, "0")}`;
}

// Every refusal code the API gives, as a sentence a person can act on.
const REFUSALS = {
  held_by_other: "Another agent is holding this lead right now.",
  sold: "This lead has been sold.",
  not_visible_yet: "This lead is not open to your tier yet.",
  cart_limit_reached: "Your cart is full. Check out or release a hold first.",
  bulk_limit_exceeded: "Your tier can hold fewer leads in one go. Select fewer and try again.",
  not_found: "This lead is no longer on the market.",
  not_all_held: "Not held: another lead in the same request could not be held.",
  no_extensions_left: "Your tier allows no more extensions of this hold.",
  return_open: "A return of this lead is already waiting for a decision.",
  already_returned: "This lead has already been returned.",
  return_window_over: "The return window for this lead has closed.",
};
export function refusal(code) {
  return REFUSALS[code] || `Refused (${code}).`;
}

// The reason an ApiError gives, in words: a known refusal code, else the API's own message.
export function problem(err) {
  if (err && Array.isArray(err.detail)) {
    const coded = err.detail.find((d) => d && REFUSALS[d.reason]);
    if (coded) return REFUSALS[coded.reason];
  }
  if (err && err.detail && REFUSALS[err.detail.reason]) return REFUSALS[err.detail.reason];
  return (err && err.message) || "Something went wrong.";
}

const REASONS = {
  wrong_number: "Wrong number",
  listed_with_agent: "Already listed with an agent",
  duplicate: "Duplicate",
  other: "Other",
};
export const returnReason = (r) => REASONS[r] || r;
export const RETURN_REASONS = REASONS;

// Score buckets are letters that sort (leads.scores): the words rank a lead within its metro.
const BUCKETS = { A: "High", B: "Medium", C: "Low" };
export const bucket = (b) => BUCKETS[b] || (b === "unscored" || !b ? "—" : b);

// "× 1.25" for a price factor.
export const factor = (x) => `× ${Number(x).toFixed(2)}`;
