// The live-updates socket (/api/v1/live; protocol in aiqleads/notices/live.py): authenticates
// with the access token, sends the renewed token after every refresh, reconnects with backoff.
"use strict";

import { accessToken, on, refresh } from "./api.js";

export class Live {
  constructor(handlers) {
    this.handlers = handlers; // type → function(message)
    this.ws = null;
    this.wanted = false;
    this.watching = null;
    this.retry = 0;
    this.stateEl = document.getElementById("live-state");
    on("renewed", (token) => this._send({ type: "auth", access_token: token }));
  }

  start(watching) {
    this.wanted = true;
    this.watching = watching;
    this._connect();
  }

  stop() {
    this.wanted = false;
    if (this.ws) this.ws.close(1000, "signed out");
    this.ws = null;
    this._state(null);
  }

  watch(filters) {
    this.watching = filters;
    this._send({ type: "watch", filters });
  }

  _connect() {
    const token = accessToken();
    if (!this.wanted || !token) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/live`);
    this.ws = ws;
    this._state("connecting");
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "auth", access_token: accessToken() }));
    });
    ws.addEventListener("message", (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === "ready") {
        this.retry = 0;
        this._state("live");
        if (this.watching) this._send({ type: "watch", filters: this.watching });
      }
      const fn = this.handlers[msg.type];
      if (fn) fn(msg);
    });
    ws.addEventListener("close", async (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.wanted) return;
      this._state("offline");
      if (ev.code === 4401) {
        // The token ran out: a refresh (which may end the session) before trying again.
        try {
          await refresh();
        } catch {
          return;
        }
      }
      const wait = Math.min(1000 * 2 ** this.retry, 30_000) * (0.5 + Math.random() / 2);
      this.retry += 1;
      setTimeout(() => this._connect(), wait);
    });
  }

  _send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  _state(state) {
    const el = this.stateEl;
    el.hidden = state === null;
    el.dataset.state = state || "";
    el.textContent = { connecting: "Connecting…", live: "Live", offline: "Reconnecting…" }[state] || "";
    el.title = state === "live" ? "Live updates are on" : "Live updates are reconnecting";
  }
}
