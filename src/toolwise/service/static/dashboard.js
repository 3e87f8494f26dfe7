// The toolwise dashboard: reads the HTTP API and draws each agent's tools. Read-only.
// No framework, no build step, no network beyond this server. Every value from the API is
// written with textContent (never innerHTML): recorded errors are untrusted text.
"use strict";

(function () {
  const KEY_STORAGE = "toolwise-api-key";
  const refreshMeta = document.querySelector('meta[name="toolwise-refresh-seconds"]');
  const refreshSeconds = Math.max(1, Number(refreshMeta && refreshMeta.content) || 10);
  const MAX_AGENTS = 20;
  let timer = null;

  // A key may arrive in the URL fragment (never sent to the server, so never logged there);
  // it is kept in this tab only and removed from the address bar.
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (fragment.get("key")) {
    sessionStorage.setItem(KEY_STORAGE, fragment.get("key"));
    history.replaceState(null, "", location.pathname + location.search);
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (name === "style") node.style.cssText = value; // CSSOM: allowed by the CSP
      else node.setAttribute(name, String(value));
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    return node;
  }

  class Unauthorized extends Error {}

  async function api(path) {
    const headers = { Accept: "application/json" };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.Authorization = "Bearer " + key;
    const response = await fetch(path, { headers: headers, cache: "no-store" });
    if (response.status === 401) throw new Unauthorized("an API key is needed");
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || response.statusText);
    return body;
  }

  const pct = (x) => Math.round(x * 100) + "%";
  function ms(value) {
    if (!value) return "0 ms";
    return value >= 1000 ? (value / 1000).toFixed(1) + " s" : Math.round(value) + " ms";
  }
  function age(iso) {
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 90) return Math.round(seconds) + " s ago";
    if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
    if (seconds < 129600) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " d ago";
  }
  const rateClass = (r) => (r >= 0.8 ? "rate-good" : r >= 0.5 ? "rate-mid" : "rate-bad");

  function intervalBar(tool) {
    const [low, high] = tool.interval;
    return el("span", { className: "bar", title: pct(low) + "–" + pct(high) }, [
      el("span", { className: "range", style: `left:${low * 100}%;width:${(high - low) * 100}%` }),
      el("span", { className: "mean", style: `left:calc(${tool.success_rate * 100}% - 1px)` }),
    ]);
  }

  function toolsTable(agent, overview) {
    const head = el("tr", {}, ["tool", "calls", "success", "90% interval", "", "p50", "p95", "cost"].map(
      (name, i) => el("th", { text: name, className: i === 1 || i >= 5 ? "num" : "" })));
    const rows = overview.tools.map((tool) =>
      el("tr", {
        "data-agent": agent, "data-tool": tool.name, "data-calls": tool.calls,
        "data-success-rate": tool.success_rate.toFixed(4),
      }, [
        el("td", { text: tool.name }),
        el("td", { className: "num", text: tool.calls }),
        el("td", { className: rateClass(tool.success_rate), "data-field": "success_rate",
                   text: pct(tool.success_rate) }),
        el("td", { "data-field": "interval",
                   text: pct(tool.interval[0]) + "–" + pct(tool.interval[1]) }),
        el("td", {}, [intervalBar(tool)]),
        el("td", { className: "num", "data-field": "p50", text: ms(tool.p50_latency_ms) }),
        el("td", { className: "num", "data-field": "p95", text: ms(tool.p95_latency_ms) }),
        el("td", { className: "num", "data-field": "cost",
                   text: Number(tool.total_cost.toFixed(4)).toString() }),
      ]));
    return el("table", { className: "tools" }, [el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  function failuresList(overview) {
    if (!overview.recent_failures.length) return el("p", { className: "muted", text: "No failures." });
    return el("ul", { className: "failures" }, overview.recent_failures.map((f) =>
      el("li", { "data-failure": f.id }, [
        el("strong", { text: f.tool }),
        el("span", { className: "muted", text: " · " + age(f.at) + (f.task_type ? " · " + f.task_type : "") + " · " }),
        el("span", { text: f.error || "(no message)" }),
      ])));
  }

  function curveChart(overview) {
    const points = overview.curve;
    const width = 640, height = 160, pad = 28;
    const chart = svg("svg", { class: "curve", width: width, height: height,
                               viewBox: `0 0 ${width} ${height}`, "data-points": points.length });
    chart.appendChild(svg("line", { class: "axis", x1: pad, y1: height - pad, x2: width - 8, y2: height - pad }));
    for (const level of [0, 0.5, 1]) {
      const y = height - pad - level * (height - 2 * pad);
      const label = svg("text", { x: 2, y: y + 3 });
      label.textContent = pct(level);
      chart.appendChild(label);
    }
    if (!points.length) return chart;
    const x = (i) => pad + (points.length === 1 ? 0.5 : i / (points.length - 1)) * (width - pad - 12);
    const y = (rate) => height - pad - rate * (height - 2 * pad);
    chart.appendChild(svg("polyline", { class: "line",
      points: points.map((p, i) => `${x(i).toFixed(1)},${y(p.success_rate).toFixed(1)}`).join(" ") }));
    points.forEach((p, i) => {
      const dot = svg("circle", { class: "dot", cx: x(i), cy: y(p.success_rate), r: 3,
                                  "data-start": p.start, "data-rate": p.success_rate.toFixed(4) });
      const tip = svg("title");
      tip.textContent = `${p.start}: ${pct(p.success_rate)} of ${p.calls} calls`;
      dot.appendChild(tip);
      chart.appendChild(dot);
    });
    for (const [i, anchor] of [[0, "start"], [points.length - 1, "end"]]) {
      const label = svg("text", { x: x(i), y: height - 8, "text-anchor": anchor });
      label.textContent = new Date(points[i].start).toISOString().slice(0, 16).replace("T", " ");
      chart.appendChild(label);
    }
    return chart;
  }

  function agentSection(agent, overview) {
    const bucket = overview.bucket_seconds >= 86400 ? overview.bucket_seconds / 86400 + " d"
      : overview.bucket_seconds >= 3600 ? overview.bucket_seconds / 3600 + " h"
      : overview.bucket_seconds / 60 + " min";
    return el("section", { className: "agent", "data-agent": agent, "data-total-calls": overview.total_calls }, [
      el("h2", { text: agent }),
      el("p", { className: "muted", "data-field": "totals",
                text: `${overview.total_calls} calls, ${pct(overview.success_rate)} success, cost ${Number(overview.total_cost.toFixed(4))}` }),
      overview.tools.length ? toolsTable(agent, overview) : el("p", { className: "muted", text: "No calls yet." }),
      el("h3", { text: "Recent failures" }),
      failuresList(overview),
      el("h3", { text: `Learning curve: success rate per ${bucket}` }),
      curveChart(overview),
    ]);
  }

  async function readiness() {
    const pill = document.getElementById("readiness");
    try {
      const response = await fetch("readyz", { cache: "no-store" });
      const body = await response.json();
      pill.textContent = body.ready ? "store reachable" : "store unreachable: " + (body.detail || "");
      pill.className = "pill " + (body.ready ? "ok" : "bad");
    } catch (error) {
      pill.textContent = "server unreachable";
      pill.className = "pill bad";
    }
  }

  async function refresh() {
    const message = document.getElementById("message");
    try {
      await readiness();
      const listed = await api("v1/agents");
      const agents = listed.agents.slice(0, MAX_AGENTS);
      const overviews = await Promise.all(agents.map((a) => api(`v1/agents/${encodeURIComponent(a)}/overview`)));
      const main = document.getElementById("agents");
      main.replaceChildren(...agents.map((a, i) => agentSection(a, overviews[i])));
      message.textContent = agents.length ? (listed.agents.length > MAX_AGENTS
        ? `Showing ${MAX_AGENTS} of ${listed.agents.length} agents.` : "")
        : "No agent has recorded a call yet.";
      document.getElementById("key-form").hidden = true;
      document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
      document.body.dataset.state = "loaded";
    } catch (error) {
      if (error instanceof Unauthorized) {
        document.getElementById("key-form").hidden = false;
        message.textContent = "Enter an API key (toolwise keys create) to see its agents.";
        document.body.dataset.state = "needs-key";
      } else {
        message.textContent = "Could not load: " + error.message;
        document.body.dataset.state = "error";
      }
    } finally {
      clearTimeout(timer);
      timer = setTimeout(refresh, refreshSeconds * 1000);
    }
  }

  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, document.getElementById("key-input").value.trim());
    refresh();
  });

  refresh();
})();
