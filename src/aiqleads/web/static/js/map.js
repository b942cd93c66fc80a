// The map: MapLibre GL JS (installed from npm at set-up, served from /static/vendor), an offline
// basemap of ZIP outlines (or a configured tile style), the analytics layers and their legends.
"use strict";

import { get } from "./api.js";
import { count } from "./format.js";
import { $, el } from "./ui.js";

const VENDOR = "/static/vendor/maplibre-gl/maplibre-gl.mjs";
export const LAYERS = ["heatmap", "clusters", "penetration", "competitors", "leads"];
const LEADS_MIN_ZOOM = 13; // individual leads from here on; the heatmap tells the rest
const EMPTY = { type: "FeatureCollection", features: [] };
const PALETTES = {
  heatmap: ["#fff5eb", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603"],
  penetration: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
  competitors: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
};
const WITHHELD = "#c8c8c8";
// An H3 resolution-8 cell's circumradius is about 461 m: a preview is drawn as a circle that
// size around its cell's centre, so it reads as an area, never as an address.
const PREVIEW_RADIUS_M = 461;

export class MapAssetsMissing extends Error {}

let maplibregl = null;

let importing = null;

export async function loadMapLibre() {
  if (maplibregl) return maplibregl;
  try {
    importing = importing || import(VENDOR);
    maplibregl = await importing;
  } catch {
    throw new MapAssetsMissing(
      "The map cannot be shown: its files (MapLibre GL JS) are not installed on this server. " +
        "Run scripts/bootstrap.sh, which installs them with npm, then reload.",
    );
  }
  // Start MapLibre's worker now (it compiles 0.5 MB of its own), not when the map is created.
  maplibregl.prewarm();
  const link = el("link", { rel: "stylesheet", href: "/static/vendor/maplibre-gl/maplibre-gl.css" });
  document.head.append(link);
  return maplibregl;
}

const outlinesUrl = (metro) => `${location.origin}/api/v1/geo/outlines?metro=${encodeURIComponent(metro.slug)}`;

// The offline basemap: the metro's ZIP outlines. Its source starts empty and is filled once the
// map has loaded, so the first frame (and the heatmap) never waits for the outlines.
function offlineStyle({ sources, layers }) {
  return {
    version: 8,
    sources: { outlines: { type: "geojson", data: EMPTY }, ...sources },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#dfe7ec" } },
      {
        id: "land",
        type: "fill",
        source: "outlines",
        filter: ["==", ["get", "kind"], "metro"],
        paint: { "fill-color": "#f7f5f0" },
      },
      {
        id: "county-box",
        type: "line",
        source: "outlines",
        filter: ["==", ["get", "kind"], "county"],
        paint: { "line-color": "#8a8f98", "line-width": 1.2 },
      },
      {
        id: "zip-lines",
        type: "line",
        source: "outlines",
        filter: ["==", ["get", "kind"], "zip"],
        paint: { "line-color": "#b8b2a6", "line-width": ["interpolate", ["linear"], ["zoom"], 8, 0.4, 14, 1.4] },
      },
      {
        id: "metro-line",
        type: "line",
        source: "outlines",
        filter: ["==", ["get", "kind"], "metro"],
        paint: { "line-color": "#6b6459", "line-width": 1.5 },
      },
      ...layers,
    ],
  };
}

// ["step", value, c0, b0, c1, b1, c2, …]: a value up to breaks[i] takes colour i.
function stepColours(value, breaks, palette) {
  const uniq = [...new Set(breaks)].sort((a, b) => a - b);
  const colours = pick(palette, uniq.length);
  const expr = ["step", value, colours[0]];
  for (let i = 0; i < uniq.length - 1; i++) expr.push(uniq[i] + 1e-9, colours[i + 1]);
  return { expr, classes: uniq.map((b, i) => ({ upTo: b, colour: colours[i] })) };
}

function pick(palette, n) {
  if (n <= 1) return [palette[palette.length - 1]];
  return Array.from({ length: n }, (_, i) => palette[Math.round((i * (palette.length - 1)) / (n - 1))]);
}

const pct = (v) => `${(v * 100).toFixed(v < 0.1 ? 1 : 0)} %`;
const num = (v) => (Number.isInteger(v) ? count(v) : v.toFixed(1));

export class LeadMap {
  constructor(container, config, { onMove, onLead }) {
    this.container = container;
    this.config = config;
    this.onMove = onMove;
    this.onLead = onLead;
    this.enabled = new Set(["heatmap", "leads"]);
    this.data = {};
    this.metro = null;
    this.map = null;
    this.query = null; // the last filters, for layer refreshes
    this.seq = 0;
    // Resolves once the first refresh is drawn: the page's other reads wait for it, so the
    // first frame with the heatmap never shares the server with them.
    this.firstDrawn = new Promise((resolve) => { this._firstDrawn = resolve; });
    this.rendered = {}; // layer → times drawn (tests and the benchmark read it)
    // Resolves once the map's sources and layers exist (`ready`), or the map failed to open: a
    // refresh fetches meanwhile and hands its data over then, before the map's first frame.
    this.styled = new Promise((resolve) => { this._styled = resolve; });
    // layer → the refresh (`seq`) whose view and filters its hidden source already holds: the
    // hidden layers are fetched and handed to MapLibre's worker once the shown ones are drawn,
    // so switching one on is a visibility change, not a fetch, a parse and an index build.
    this.staged = {};
    window.aiqMap = this;
  }

  // Create the map for `metro`. Resolves once MapLibre is loaded and the map exists, not when
  // the map has loaded: `refresh` fetches layers meanwhile (for `view()`, which answers from
  // the container's size until the map exists) and hands them over as soon as the map's style
  // holds their sources, so the map's first full frame can already show them.
  async open(metro) {
    this.metro = metro; // before the import: view() needs it at once
    let lib;
    try {
      lib = await loadMapLibre();
    } catch (err) {
      this._styled(); // no map: a refresh waiting for it gives up
      throw err;
    }
    const offline = !this.config.tile_style_url;
    this.map = new lib.Map({
      container: this.container,
      // The offline style already holds the analytics sources (empty) and layers, so data can
      // be handed over on "style.load", before the first frame; a configured style gets them
      // once it has loaded.
      style: offline ? offlineStyle(this._analytics()) : this.config.tile_style_url,
      center: metro.centre,
      zoom: 10,
      maxBounds: padded(metro.bbox, 0.5),
      attributionControl: { compact: true, customAttribution: "ZIP outlines: US Census Bureau" },
    });
    this.map.addControl(new lib.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new lib.ScaleControl({ unit: "imperial" }), "bottom-left");
    // The canvas is one focusable element; its name says what it shows.
    this.map.getCanvas().setAttribute("aria-label", `Map of ${metro.name}: leads and market layers`);
    const styled = () => {
      if (!offline) {
        const { sources, layers } = this._analytics();
        for (const [id, source] of Object.entries(sources)) this.map.addSource(id, source);
        for (const layer of layers) this.map.addLayer(layer);
      }
      this._wireLayers();
      this.ready = true;
      this._applyVisibility();
      this._styled();
    };
    // "style.load" comes after the constructor returns (MapLibre loads a style on a later frame).
    this.map.once(offline ? "style.load" : "load", styled);
    this.map.once("load", () => performance.mark("aiq:map-loaded"));
    let timer = null;
    this.map.on("moveend", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.onMove(this.view()), 200);
    });
  }

  setMetro(metro) {
    this.metro = metro;
    if (!this.config.tile_style_url) {
      const src = this.map.getSource("outlines");
      if (src) src.setData(outlinesUrl(metro));
    }
    this.map.setMaxBounds(padded(metro.bbox, 0.5));
    this.map.jumpTo({ center: metro.centre, zoom: 10 });
  }

  // The area in view, cut to the metro (the API bounds every answer by metro or bbox). Before
  // the map exists: the area it will show, from its container's size (see `predictedBounds`).
  view() {
    const m = this.metro.bbox;
    let west, south, east, north, centre;
    if (this.map) {
      const b = this.map.getBounds();
      [west, south, east, north] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
      const c = this.map.getCenter();
      centre = [c.lng, c.lat];
    } else {
      centre = this.metro.centre;
      const width = Math.floor(this.container.clientWidth) || 400; // as MapLibre sizes its canvas
      const height = Math.floor(this.container.clientHeight) || 300;
      [west, south, east, north] = predictedBounds(centre, 10, width, height);
    }
    const r = (v) => Math.round(v * 1e5) / 1e5;
    const bbox = [Math.max(west, m[0]), Math.max(south, m[1]), Math.min(east, m[2]), Math.min(north, m[3])].map(r);
    const widthM = distanceM(centre, [east, centre[1]]) * 2;
    return { bbox, zoom: this.map ? this.map.getZoom() : 10, centre, widthM };
  }

  // The analytics sources (empty) and layers, in drawing order, hidden until `_applyVisibility`.
  _analytics() {
    const sources = {};
    for (const id of ["heatmap", "clusters", "cluster-centres", "penetration", "competitors", "leads"]) {
      sources[id] = { type: "geojson", data: EMPTY };
    }
    // The lead picked from elsewhere on the page (a recommendation): its preview cell, drawn
    // like a preview at every zoom, on a source of its own so no analytics layer reloads.
    sources.focus = { type: "geojson", data: this.focus || EMPTY };
    const now = { duration: 0, delay: 0 };
    // The first style shows what is on already, so `_applyVisibility` then changes nothing (a
    // change of visibility makes MapLibre reload the source's tiles).
    const layout = (name) => ({ visibility: this.enabled.has(name) ? "visible" : "none" });
    const cos = Math.cos((this.metro.centre[1] * Math.PI) / 180);
    const r0 = PREVIEW_RADIUS_M / (78271.517 * cos); // pixels at zoom 0 (512-pixel tiles)
    const layers = [
      { id: "penetration-fill", type: "fill", source: "penetration", layout: layout("penetration"), paint: { "fill-color": WITHHELD, "fill-opacity": 0.6, "fill-opacity-transition": now } },
      { id: "penetration-line", type: "line", source: "penetration", layout: layout("penetration"), paint: { "line-color": "#3b4a5a", "line-width": 0.6, "line-opacity-transition": now } },
      { id: "heatmap-fill", type: "fill", source: "heatmap", layout: layout("heatmap"), paint: { "fill-color": WITHHELD, "fill-opacity": 0.7 } },
      {
        id: "competitors-fill",
        type: "fill",
        source: "competitors",
        layout: layout("competitors"),
        filter: ["==", ["get", "layer"], "cell"],
        paint: { "fill-color": WITHHELD, "fill-opacity": 0.65, "fill-opacity-transition": now },
      },
      {
        id: "competitors-centre",
        type: "circle",
        source: "competitors",
        layout: layout("competitors"),
        filter: ["==", ["geometry-type"], "Point"],
        paint: {
          "circle-radius": 5,
          "circle-color": "#54278f",
          "circle-stroke-color": "#fff",
          "circle-stroke-width": 2,
          "circle-opacity-transition": now,
          "circle-stroke-opacity-transition": now,
        },
      },
      { id: "clusters-hull", type: "fill", source: "clusters", layout: layout("clusters"), paint: { "fill-color": "#1b9e77", "fill-opacity": 0.18, "fill-opacity-transition": now } },
      { id: "clusters-line", type: "line", source: "clusters", layout: layout("clusters"), paint: { "line-color": "#1b9e77", "line-width": 2, "line-opacity-transition": now } },
      {
        id: "cluster-centres",
        type: "circle",
        source: "cluster-centres",
        layout: layout("clusters"),
        paint: {
          "circle-color": "#1b9e77",
          "circle-opacity": 0.85,
          "circle-stroke-color": "#fff",
          "circle-stroke-width": 1.5,
          "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "size"]], 1, 5, 30, 28],
          "circle-opacity-transition": now,
          "circle-stroke-opacity-transition": now,
        },
      },
      {
        id: "leads-area",
        type: "circle",
        source: "leads",
        minzoom: LEADS_MIN_ZOOM,
        layout: layout("leads"),
        filter: ["==", ["get", "access"], "preview"],
        paint: {
          "circle-radius": ["interpolate", ["exponential", 2], ["zoom"], 0, r0, 22, r0 * 2 ** 22],
          "circle-color": "#2563eb",
          "circle-opacity": 0.12,
          "circle-stroke-color": "#2563eb",
          "circle-stroke-width": 1.5,
          "circle-stroke-opacity": 0.8,
        },
      },
      {
        id: "leads-point",
        type: "circle",
        source: "leads",
        minzoom: LEADS_MIN_ZOOM,
        layout: layout("leads"),
        filter: ["==", ["get", "access"], "full"],
        paint: { "circle-radius": 7, "circle-color": "#111827", "circle-stroke-color": "#fbbf24", "circle-stroke-width": 3 },
      },
      {
        id: "focus-area",
        type: "circle",
        source: "focus",
        paint: {
          "circle-radius": ["interpolate", ["exponential", 2], ["zoom"], 0, r0, 22, r0 * 2 ** 22],
          "circle-color": "#f59e0b",
          "circle-opacity": 0.2,
          "circle-stroke-color": "#b45309",
          "circle-stroke-width": 3,
        },
      },
    ];
    return { sources, layers };
  }

  _wireLayers() {
    const m = this.map;
    for (const layer of ["leads-area", "leads-point"]) {
      m.on("click", layer, (e) => this.onLead(e.features[0].properties.id));
      m.on("mouseenter", layer, () => { m.getCanvas().style.cursor = "pointer"; });
      m.on("mouseleave", layer, () => { m.getCanvas().style.cursor = ""; });
    }
  }

  _mapLayers(name) {
    return {
      heatmap: ["heatmap-fill"],
      clusters: ["clusters-hull", "clusters-line", "cluster-centres"],
      penetration: ["penetration-fill", "penetration-line"],
      competitors: ["competitors-fill", "competitors-centre"],
      leads: ["leads-area", "leads-point"],
    }[name];
  }

  // A shown layer is visible. A hidden layer of OPACITY whose source holds the current view's
  // data stays "visible" at opacity 0 (MapLibre skips drawing it), so its tiles are cut and
  // triangulated in the background and switching it on is one repaint; any other hidden layer
  // is "none" (no tiles built for stale data). Every layer of a source must be in OPACITY for
  // this to pay: MapLibre reloads a source's tiles when any of its layers changes visibility.
  _applyVisibility() {
    for (const name of LAYERS) {
      const on = this.enabled.has(name);
      const prebuilt = !on && this.staged[name] === this.seq;
      for (const id of this._mapLayers(name)) {
        const opacity = OPACITY[id];
        const visible = on || (prebuilt && opacity !== undefined);
        this.map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
        for (const [property, shown] of opacity || []) this.map.setPaintProperty(id, property, on ? shown : 0);
      }
    }
  }

  // Show or hide a layer; a shown layer is fetched for the current view and filters.
  async toggle(name, on) {
    if (on) this.enabled.add(name);
    else this.enabled.delete(name);
    if (!this.ready) return; // the map applies `enabled` when it opens
    if (on && this.staged[name] === this.seq) {
      await this._reveal(name);
      return;
    }
    this._applyVisibility();
    this.renderLegends();
    if (on && this.query) await this.refresh(this.query, [name]);
  }

  // Show a layer whose source already holds this view's data; resolves on the first frame
  // drawn with its sources' tiles loaded (cut from the worker's index). A frame's source update
  // runs before its "render" event, so the first check already sees the tiles it asked for.
  async _reveal(name) {
    const m = this.map;
    const drawn = new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        m.off("render", check);
        resolve();
      };
      const check = () => {
        if (SOURCES[name].every((id) => m.isSourceLoaded(id))) done();
      };
      const timer = setTimeout(done, 8000); // never hang on a map that stopped
      m.on("render", check);
    });
    this._applyVisibility();
    this.renderLegends();
    this.map.triggerRepaint();
    await drawn;
    this.rendered[name] = (this.rendered[name] || 0) + 1;
    performance.mark(`aiq:rendered:${name}`);
    this.container.dataset.rendered = Object.entries(this.rendered).map(([k, v]) => `${k}:${v}`).join(" ");
  }

  // Fetch the hidden layers for the view and filters of refresh `seq` and hand them to their
  // (hidden) sources, one at a time so the shown layers' next refresh is not crowded out; a
  // newer refresh makes them stale and stops the rest.
  async _stage(seq, query, view) {
    // The heaviest first: competitors' ~1 MB of hexagons gains the most from being ready.
    for (const name of ["competitors", "penetration", "clusters", "leads"]) {
      if (seq !== this.seq) return;
      if (this.enabled.has(name) || (name === "leads" && view.zoom < LEADS_MIN_ZOOM)) continue;
      let data;
      try {
        data = await this._fetch(name, query, view);
      } catch {
        continue; // switching it on fetches it again and says what went wrong
      }
      if (seq !== this.seq || this.enabled.has(name)) return;
      this.data[name] = data;
      this._draw(name, data);
      this.staged[name] = seq;
      this._applyVisibility();
    }
  }

  // Fetch the shown layers (or `only`) for `query` (URLSearchParams of the shared filters, with
  // metro and bbox), draw them and their legends. The heatmap is always fetched: its total is
  // the list's result count. Resolves when the map has drawn them.
  async refresh(query, only = null) {
    this.query = query;
    const seq = ++this.seq;
    if (this.ready) this._applyVisibility(); // hidden layers' data is stale now: stop building it
    const view = this.view();
    const names = (only || LAYERS).filter((n) => this.enabled.has(n) || (n === "heatmap" && !only));
    const started = performance.now();
    const fetching = Promise.all(names.map((n) => this._fetch(n, query, view).then((d) => [n, d], (e) => [n, e])));
    const [results] = await Promise.all([fetching, this.styled]);
    if (seq !== this.seq) return null; // a newer refresh is under way
    if (!this.ready) return null; // the map failed to open
    const drawn = [];
    for (const [name, data] of results) {
      if (data instanceof Error) {
        this.data[name] = { error: data.message };
        continue;
      }
      this.data[name] = data;
      drawn.push(name);
    }
    // Listen before drawing: "drawn" is the first frame after every shown layer's data is in.
    const shown = drawn.filter((n) => this.enabled.has(n) && (n !== "leads" || view.zoom >= LEADS_MIN_ZOOM));
    const settled = this._settled(shown.flatMap((n) => SOURCES[n]));
    for (const name of drawn) this._draw(name, this.data[name]);
    this.renderLegends();
    await settled;
    const ms = performance.now() - started;
    this._firstDrawn();
    if (!this.basemapSet) {
      // The outlines (about 0.8 MB) go to the map's worker after the first layers, so they
      // never hold the heatmap up.
      this.basemapSet = true;
      const outlines = this.map.getSource("outlines");
      if (outlines && !this.config.tile_style_url) outlines.setData(outlinesUrl(this.metro));
    }
    for (const [name] of results) {
      this.rendered[name] = (this.rendered[name] || 0) + 1;
      performance.mark(`aiq:rendered:${name}`, { detail: { ms } });
    }
    this.container.dataset.rendered = Object.entries(this.rendered).map(([k, v]) => `${k}:${v}`).join(" ");
    for (const name of drawn) this.staged[name] = seq;
    if (!only && seq === this.seq) this._stage(seq, query, view);
    return this.data.heatmap && !this.data.heatmap.error ? this.data.heatmap.total_leads : null;
  }

  // Resolves on the first frame drawn after each of `sources` has taken its new data (and
  // after a few seconds whatever happens, so a page never hangs on a map that stopped).
  _settled(sources) {
    const m = this.map;
    return new Promise((resolve) => {
      const pending = new Set(sources);
      let timer = null;
      const onData = (e) => {
        if (pending.has(e.sourceId) && m.isSourceLoaded(e.sourceId)) {
          pending.delete(e.sourceId);
          if (pending.size === 0) finish();
        }
      };
      const finish = () => {
        clearTimeout(timer);
        m.off("sourcedata", onData);
        m.once("render", () => resolve());
        m.triggerRepaint();
      };
      timer = setTimeout(finish, 8000);
      m.on("sourcedata", onData);
      if (pending.size === 0) finish();
    });
  }

  async _fetch(name, query, view) {
    const q = new URLSearchParams(query);
    q.delete("sort");
    if (name === "heatmap") q.set("zoom", view.zoom.toFixed(2));
    if (name === "clusters") {
      const [w, s, e, n] = view.bbox;
      if (e - w > 2 || n - s > 2) q.delete("bbox"); // DBSCAN answers are bounded: the metro then
    }
    if (name === "competitors") {
      q.set("lat", view.centre[1].toFixed(5));
      q.set("lon", view.centre[0].toFixed(5));
      q.set("radius_m", String(Math.round(Math.min(Math.max(view.widthM / 2, 500), 50_000))));
    }
    if (name === "leads") {
      if (view.zoom < LEADS_MIN_ZOOM) return EMPTY;
      q.set("limit", "200");
      const page = await get(`/api/v1/leads?${q}`);
      return {
        type: "FeatureCollection",
        features: page.items.filter((l) => l.location).map((l) => ({
          type: "Feature",
          geometry: {
            type: "Point",
            coordinates: l.access === "full" && l.longitude !== null
              ? [l.longitude, l.latitude]
              : [l.location.center_lon, l.location.center_lat],
          },
          properties: { id: l.id, access: l.access },
        })),
      };
    }
    return get(`/api/v1/geo/${name}?${q}`);
  }

  _draw(name, data) {
    const m = this.map;
    if (name === "heatmap") {
      const { expr } = stepColours(["get", "value"], data.legend.breaks.length ? data.legend.breaks : [0], PALETTES.heatmap);
      m.setPaintProperty("heatmap-fill", "fill-color", expr);
      m.getSource("heatmap").setData(data);
    } else if (name === "clusters") {
      m.getSource("clusters").setData(data);
      m.getSource("cluster-centres").setData({
        type: "FeatureCollection",
        features: data.features.map((f) => ({
          type: "Feature",
          geometry: { type: "Point", coordinates: [f.properties.centroid_lon, f.properties.centroid_lat] },
          properties: { size: f.properties.size },
        })),
      });
    } else if (name === "penetration") {
      const palette = pick(PALETTES.penetration, Math.max(data.legend.breaks.length, 1));
      const expr = ["match", ["to-string", ["get", "class"]]];
      palette.forEach((c, i) => expr.push(String(i), c));
      expr.push(WITHHELD);
      m.setPaintProperty("penetration-fill", "fill-color", expr);
      m.getSource("penetration").setData(data);
    } else if (name === "competitors") {
      const breaks = (data.cell_legend && data.cell_legend.breaks) || [];
      const { expr } = stepColours(["get", "per_km2"], breaks.length ? breaks : [0], PALETTES.competitors);
      m.setPaintProperty("competitors-fill", "fill-color", ["case", ["==", ["get", "per_km2"], null], WITHHELD, expr]);
      m.getSource("competitors").setData(data);
    } else if (name === "leads") {
      m.getSource("leads").setData(data);
    }
  }

  renderLegends() {
    const box = $("#legends");
    const parts = [];
    for (const name of LAYERS) {
      if (!this.enabled.has(name)) continue;
      parts.push(this._legend(name, this.data[name]));
    }
    box.replaceChildren(...parts);
  }

  _legend(name, data) {
    const section = el("section", { class: "legend", "data-layer": name, "aria-label": `${TITLES[name]} legend` });
    section.append(el("h4", {}, TITLES[name]));
    if (!data) {
      section.append(el("p", { class: "muted" }, "Loading…"));
      return section;
    }
    if (data.error) {
      section.append(el("p", { class: "error" }, data.error));
      return section;
    }
    const rows = [];
    if (name === "heatmap") {
      const { classes } = stepColours(["get", "value"], data.legend.breaks.length ? data.legend.breaks : [0], PALETTES.heatmap);
      section.append(el("p", { class: "muted" }, `Leads per area (H3 cells, resolution ${data.resolution}); ${count(data.total_leads)} leads in view.`));
      classes.forEach((c) => rows.push(swatch(c.colour, `up to ${num(c.upTo)} leads`)));
      if (data.withheld_cells) rows.push(swatch(WITHHELD, `${data.withheld_cells} areas withheld (too few leads)`));
    } else if (name === "clusters") {
      section.append(
        el("p", { class: "muted" }, `${data.n_clusters} clusters of at least ${data.min_samples} leads within ${Math.round(data.effective_eps_m)} m of each other; ${count(data.noise_count)} leads outside any cluster.`),
      );
      if (data.n_clusters) {
        rows.push(dot("#1b9e77", 8, `smallest: ${count(data.legend.min)} leads`));
        rows.push(dot("#1b9e77", 20, `largest: ${count(data.legend.max)} leads`));
        rows.push(swatch("#1b9e7744", "cluster outline (hull)"));
      }
    } else if (name === "penetration") {
      const unit = data.level === "zip" ? "ZIP" : "area";
      section.append(el("p", { class: "muted" }, `Share of offered leads sold, per ${unit}, in quantile classes.`));
      const palette = pick(PALETTES.penetration, Math.max(data.legend.breaks.length, 1));
      data.legend.breaks.forEach((b, i) => rows.push(swatch(palette[i], `up to ${pct(b)}`)));
      if (data.withheld_regions) rows.push(swatch(WITHHELD, `${data.withheld_regions} regions withheld (too few leads)`));
    } else if (name === "competitors") {
      section.append(el("p", { class: "muted" }, `Competing listings per km² within ${(data.radius_m / 1000).toFixed(1)} km of the map's centre (●).`));
      const breaks = (data.cell_legend && data.cell_legend.breaks) || [];
      const { classes } = stepColours(["get", "per_km2"], breaks.length ? breaks : [0], PALETTES.competitors);
      if (breaks.length) classes.forEach((c) => rows.push(swatch(c.colour, `up to ${num(c.upTo)} per km²`)));
      rows.push(swatch(WITHHELD, "withheld (too few to show)"));
      if (data.top_offices && data.top_offices.length) {
        section.append(
          el("p", { class: "muted" }, "Most active offices: " + data.top_offices.map((o) => `${o.office} (${o.count})`).join(", ")),
        );
      }
    } else if (name === "leads") {
      const zoom = this.map ? this.map.getZoom() : 0;
      if (zoom < LEADS_MIN_ZOOM) section.append(el("p", { class: "muted" }, `Zoom in to see single leads.`));
      rows.push(ring("#2563eb", "approximate area of a lead you have not bought (about 0.7 km²)"));
      rows.push(dot("#111827", 7, "exact place of a lead you bought"));
    }
    section.append(el("ul", { class: "legend-rows" }, rows));
    return section;
  }

  // Mark and centre the preview cell of `lead` (an API preview): its cell's centre, never a
  // point of its own, whatever else the caller holds.
  showArea(lead) {
    if (!lead.location) return;
    const centre = [lead.location.center_lon, lead.location.center_lat];
    this.focus = {
      type: "FeatureCollection",
      features: [{ type: "Feature", geometry: { type: "Point", coordinates: centre }, properties: { id: lead.id } }],
    };
    if (this.ready) this.map.getSource("focus").setData(this.focus);
    this.map.easeTo({ center: centre, zoom: Math.max(this.map.getZoom(), 14) });
  }

  fitTo(lead) {
    const lon = lead.access === "full" && lead.longitude !== null ? lead.longitude : lead.location && lead.location.center_lon;
    const lat = lead.access === "full" && lead.latitude !== null ? lead.latitude : lead.location && lead.location.center_lat;
    if (lon !== undefined && lon !== null) this.map.easeTo({ center: [lon, lat], zoom: Math.max(this.map.getZoom(), 14) });
  }
}

// The hidden layers kept "visible" at opacity 0 once their data is in (see _applyVisibility):
// each opacity paint property and its value when shown. A circle is skipped by MapLibre only
// when both its fill and its stroke are transparent. Opacities change at once (a "-transition"
// of 0 in addLayer): a fading layer would be drawn, and timed, for the fade's length.
const OPACITY = {
  "penetration-fill": [["fill-opacity", 0.6]],
  "penetration-line": [["line-opacity", 1]],
  "competitors-fill": [["fill-opacity", 0.65]],
  "competitors-centre": [["circle-opacity", 1], ["circle-stroke-opacity", 1]],
  "clusters-hull": [["fill-opacity", 0.18]],
  "clusters-line": [["line-opacity", 1]],
  "cluster-centres": [["circle-opacity", 0.85], ["circle-stroke-opacity", 1]],
};

const SOURCES = {
  heatmap: ["heatmap"],
  clusters: ["clusters", "cluster-centres"],
  penetration: ["penetration"],
  competitors: ["competitors"],
  leads: ["leads"],
};

const TITLES = {
  heatmap: "Heatmap",
  clusters: "Clusters",
  penetration: "Market penetration",
  competitors: "Competitors",
  leads: "Leads",
};

function padded(bbox, degrees) {
  return [bbox[0] - degrees, bbox[1] - degrees, bbox[2] + degrees, bbox[3] + degrees];
}

function swatch(colour, label) {
  const s = el("span", { class: "swatch", "aria-hidden": "true" });
  s.style.background = colour;
  return el("li", {}, s, label);
}

function dot(colour, size, label) {
  const s = el("span", { class: "dot", "aria-hidden": "true" });
  s.style.background = colour;
  s.style.width = s.style.height = `${size}px`;
  return el("li", {}, s, label);
}

function ring(colour, label) {
  const s = el("span", { class: "ring", "aria-hidden": "true" });
  s.style.borderColor = colour;
  return el("li", {}, s, label);
}


// The bounds [west, south, east, north] of a map `width`×`height` CSS pixels wide and high at
// `zoom` around `centre` ([lon, lat]), unrotated and flat, as MapLibre computes them: Web
// Mercator with 512-pixel tiles (the world is 512·2^zoom pixels wide).
function predictedBounds(centre, zoom, width, height) {
  const world = 512 * 2 ** zoom;
  const x = ((centre[0] + 180) / 360) * world;
  const y = ((180 - (180 / Math.PI) * Math.log(Math.tan(Math.PI / 4 + (centre[1] * Math.PI) / 360))) / 360) * world;
  const lon = (px) => (px / world) * 360 - 180;
  const lat = (py) => (360 / Math.PI) * Math.atan(Math.exp(((180 - (py / world) * 360) * Math.PI) / 180)) - 90;
  return [lon(x - width / 2), lat(y + height / 2), lon(x + width / 2), lat(y - height / 2)];
}

// Great-circle metres between two [lon, lat] points: MapLibre's LngLat.distanceTo (spherical
// law of cosines on a sphere of radius 6,371,008.8 m), so a view's width is the same either way.
function distanceM(a, b) {
  const rad = Math.PI / 180;
  const cos = Math.sin(a[1] * rad) * Math.sin(b[1] * rad) + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.cos((b[0] - a[0]) * rad);
  return 6371008.8 * Math.acos(Math.min(cos, 1));
}
