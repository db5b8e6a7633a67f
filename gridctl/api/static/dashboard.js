/* The gridctl dashboard: fetches /api/dashboard and draws it; refreshes every 15 s. */
"use strict";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

function row(table, cells, cls) {
  const tr = table.insertRow();
  if (cls) tr.className = cls;
  for (const c of cells) tr.insertCell().textContent = c === null || c === undefined ? "" : c;
}

function fmt(v, digits = 1) { return v === null || v === undefined ? "" : Number(v).toFixed(digits); }

function draw(d) {
  const opts = { now: d.now, timeZone: d.timezone };
  document.getElementById("site").textContent = d.site;
  document.getElementById("clock").textContent = `now ${d.now} (data ${d.data_time.slice(0, 16)})`;
  document.getElementById("health").textContent =
    `scheduler ${d.scheduler.running ? "running" : "stopped"}, database ${d.database.ok ? "ok" : "down"}, ` +
    `emissions today ${fmt(d.emissions_today_kg)} kg`;
  gridChart.lines(document.getElementById("chart-grid"), d.intervals, [
    { name: "plan", color: COLORS[0], values: d.grid.plan_kw },
    { name: "actual", color: COLORS[3], values: d.grid.actual_kw },
  ], opts);
  gridChart.lines(document.getElementById("chart-carbon"), d.intervals, [
    { name: "forecast", color: COLORS[2], values: d.carbon.plan },
    { name: "measured", color: COLORS[3], values: d.carbon.actual },
  ], opts);
  const power = [], soc = [];
  d.batteries.forEach((b, i) => {
    const color = COLORS[i % COLORS.length];
    power.push({ name: `${b.id} plan`, color, values: b.plan_p_kw },
               { name: `${b.id} actual`, color, values: b.actual_p_kw, dash: "4 3" });
    soc.push({ name: `${b.id} plan`, color, values: b.plan_soc_kwh },
             { name: `${b.id} actual`, color, values: b.actual_soc_kwh, dash: "4 3" });
  });
  gridChart.lines(document.getElementById("chart-power"), d.intervals, power, opts);
  gridChart.lines(document.getElementById("chart-soc"), d.intervals, soc, opts);
  const dev = document.getElementById("devices");
  dev.replaceChildren();
  row(dev.createTHead(), ["device", "state", "p kW", "SoC kWh", "setpoint kW", "last error"]);
  for (const [id, s] of Object.entries(d.devices)) {
    row(dev, [id, s.online ? "online" : "offline", fmt(s.p_kw), fmt(s.soc_kwh), fmt(s.last_setpoint_kw),
              s.last_error], s.online ? "" : "offline");
  }
  const feeds = document.getElementById("feeds");
  feeds.replaceChildren();
  row(feeds.createTHead(), ["feed", "kind", "state", "age s", "max age s", "last success", "newest row", "last error"]);
  for (const [id, f] of Object.entries(d.feeds || {})) {
    row(feeds, [id, f.kind, f.stale ? "stale" : "fresh", fmt(f.age_s, 0), fmt(f.max_age_s, 0),
                (f.last_success || "").slice(0, 19), (f.newest_row || "").slice(0, 16), f.last_error],
        f.stale ? "offline" : "");
  }
  const ev = document.getElementById("events");
  ev.replaceChildren();
  row(ev.createTHead(), ["time", "severity", "kind", "message"]);
  for (const e of d.events) row(ev, [e.ts.slice(0, 19), e.severity, e.kind, e.message], e.severity);
  document.body.dataset.rendered = d.now;
}

async function refresh() {
  try {
    const r = await fetch("/api/dashboard");
    if (r.ok) draw(await r.json());
  } catch (err) {
    document.getElementById("health").textContent = `no answer from the daemon: ${err}`;
  }
}

refresh();
setInterval(refresh, 15000);
