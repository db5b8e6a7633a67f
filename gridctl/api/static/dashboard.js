/* The gridctl dashboard: fetches /api/dashboard and draws it with uPlot (vendored); refreshes every 15 s.
   Every time is shown in the site's time zone, 24-hour clock; plans are dashed, measurements solid. */
"use strict";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
const ACTUAL = "#d62728";

function fmt(v, digits = 1) {
  return v === null || v === undefined ? "" :
    Number(v).toLocaleString("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function timeFormat(tz, withDate) {
  const opts = { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (withDate) Object.assign(opts, { day: "2-digit", month: "short" });
  return new Intl.DateTimeFormat("en-GB", opts);
}

function at(iso, tz) { return iso ? timeFormat(tz, true).format(new Date(iso)) : ""; }

/* A nice axis range that starts at 0 unless the data go below it. */
function range(min, max) {
  if (min === null || max === null || !isFinite(min) || !isFinite(max)) return [0, 1];
  const [lo, hi] = uPlot.rangeNum(Math.min(min, 0), max, 0.1, true);
  return [min >= 0 ? 0 : lo, hi];
}

/* Tick labels rounded to what the tick spacing needs. */
function ticks(splits) {
  const step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1;
  const digits = Math.min(3, (String(+step.toFixed(6)).split(".")[1] || "").length);
  return splits.map(v => fmt(v, digits));
}

function chart(el, d, series, unit, digits) {
  const tz = d.timezone, hm = timeFormat(tz, false), dm = timeFormat(tz, true);
  const xs = d.intervals.map(t => Date.parse(t) / 1000);
  const nowS = Date.parse(d.now) / 1000;
  const opts = {
    width: Math.max(el.clientWidth, 320), height: 220,
    tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), tz),
    scales: { x: { time: true }, y: { range: (u, min, max) => range(min, max) } },
    axes: [
      { label: `time (${tz})`, values: (u, splits) => splits.map((s, i) => {
          const text = hm.format(new Date(s * 1e3));
          return i === 0 || text === "00:00" ? dm.format(new Date(s * 1e3)) : text; }) },
      { label: unit, size: 64, values: (u, splits) => ticks(splits) },
    ],
    series: [
      { label: `time (${tz})`, value: (u, v) => v === null ? "" : dm.format(new Date(v * 1e3)) },
      ...series.map(s => ({ label: s.name, stroke: s.color, width: s.plan ? 1.5 : 2.2, dash: s.plan ? [6, 4] : undefined,
                            value: (u, v) => v === null || v === undefined ? "–" : `${fmt(v, digits)} ${unit}` })),
    ],
    hooks: { draw: [u => {  // a marker at the daemon's "now"
      const x = u.valToPos(nowS, "x", true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
      u.ctx.save(); u.ctx.strokeStyle = "#c33"; u.ctx.setLineDash([3, 3]); u.ctx.beginPath();
      u.ctx.moveTo(x, u.bbox.top); u.ctx.lineTo(x, u.bbox.top + u.bbox.height); u.ctx.stroke(); u.ctx.restore();
    }] },
  };
  el.replaceChildren();
  el.dataset.series = series.map(s => s.name).join("|");
  new uPlot(opts, [xs, ...series.map(s => s.values)], el);
}

function planVsActual(items, planKey, actualKey) {
  return items.flatMap((b, i) => [
    { name: `${b.id} plan`, color: COLORS[i % COLORS.length], values: b[planKey], plan: true },
    { name: `${b.id} actual`, color: COLORS[i % COLORS.length], values: b[actualKey] },
  ]);
}

function row(table, cells, cls) {
  const tr = table.insertRow();
  if (cls) tr.className = cls;
  for (const c of cells) {
    const td = tr.insertCell();
    td.textContent = c === null || c === undefined ? "" : c;
    if (typeof c === "string" && /^-?[\d,]+\.\d+$/.test(c)) td.className = "num";
  }
}

function table(id, head, rows) {
  const t = document.getElementById(id);
  t.replaceChildren();
  row(t.createTHead(), head);
  for (const [cells, cls] of rows) row(t, cells, cls);
}

function paragraphs(id, lines) {
  const el = document.getElementById(id);
  el.replaceChildren(...lines.map(([text, cls]) => {
    const p = document.createElement("p");
    p.textContent = text;
    if (cls) p.className = cls;
    return p;
  }));
}

function nowIndex(d) {
  const now = Date.parse(d.now);
  return d.intervals.findLastIndex(t => Date.parse(t) <= now);
}

function drawFacts(d) {
  const tz = d.timezone, p = d.plan;
  const ageMin = p ? (Date.parse(d.now) - Date.parse(p.created_at)) / 60000 : null;
  paragraphs("plan-status", p ? [
    [`plan v${p.version} (${p.kind}, ${p.status}), made ${at(p.created_at, tz)} ${tz}: ${fmt(ageMin, 0)} min ago`,
     ageMin > 90 || p.status === "failed" ? "stale" : "ok"],
    [`covers ${at(p.start, tz)} to ${at(p.end, tz)} ${tz}`],
  ] : [["no plan yet: the first one is being made", "stale"]]);
  const n = d.network;
  paragraphs("network-status", n.checked ? [
    [`${n.ac_check.violations} violations in plan v${n.version} (${n.kind}), checked ${at(n.created_at, tz)} ${tz}`,
     n.ac_check.violations ? "violations" : "ok"],
    [`voltage ${fmt(n.ac_check.min_vm_pu, 3)} to ${fmt(n.ac_check.max_vm_pu, 3)} p.u., ` +
     `highest loading ${fmt(n.ac_check.max_loading_pct)} %`],
  ] : [["no AC check yet", "warning"], [n.reason]]);
  const e = d.emissions, da = e.day_ahead;
  const values = [["measured so far", e.measured_kg, "measured"], ["planned for the whole day", e.planned_kg, ""]];
  if (da) values.push([`day-ahead plan v${da.version}`, da.emissions_kg, ""],
                      ["baseline (no control)", da.baseline_emissions_kg, "baseline"]);
  const top = Math.max(...values.map(v => v[1] || 0), 1);
  const el = document.getElementById("emissions");
  el.replaceChildren(...values.map(([label, v, cls]) => {
    const p = document.createElement("p"), bar = document.createElement("span");
    bar.className = `bar ${cls}`;
    bar.style.width = `${(60 * (v || 0)) / top}%`;
    p.append(bar, `${label}: ${v === null || v === undefined ? "n/a" : fmt(v, 0) + " kg"}`);
    return p;
  }));
  const l = d.ledger;
  paragraphs("ledger", l ? [
    [`${l.period} to date (${l.intervals} intervals): location-based ${fmt(l.location_kg, 0)} kg, market-based ` +
     (l.market_kg === null ? "n/a (no residual mix configured)" : `${fmt(l.market_kg, 0)} kg`)],
    [l.target_used_pct === null ? "no neutrality target configured" :
     `${fmt(l.target_used_pct, 1)} % of the target trajectory's budget to date (${fmt(l.target_to_date_kg, 0)} kg)`,
     l.target_used_pct > 100 ? "violations" : "ok"],
    [`estimated share of import: ${fmt(l.estimated_share_pct, 1)} %`],
  ] : [["no ledger rows this month yet: the first interval is booked after the first tick"]]);
  if (!da) el.append(Object.assign(document.createElement("p"), {
    textContent: "no day-ahead plan for today yet, so no baseline (it comes with the plan made at the gate time)" }));
}

function draw(d) {
  const tz = d.timezone;
  document.getElementById("site").textContent = d.site;
  document.getElementById("clock").textContent =
    `now ${at(d.now, tz)} ${tz} (data clock ${at(d.data_time, tz)})`;
  document.getElementById("health").textContent =
    `scheduler ${d.scheduler.running ? "running" : "stopped"}, database ${d.database.ok ? "ok" : "down"}`;
  drawFacts(d);
  chart(document.getElementById("chart-grid"), d, [
    { name: "plan", color: COLORS[0], values: d.grid.plan_kw, plan: true },
    { name: "actual", color: ACTUAL, values: d.grid.actual_kw },
  ], "kW", 0);
  chart(document.getElementById("chart-carbon"), d, [
    { name: "forecast", color: COLORS[2], values: d.carbon.plan, plan: true },
    { name: "measured", color: ACTUAL, values: d.carbon.actual },
  ], "kg/kWh", 3);
  chart(document.getElementById("chart-power"), d, planVsActual(d.battery, "plan_p_kw", "actual_p_kw"), "kW", 0);
  chart(document.getElementById("chart-soc"), d, planVsActual(d.battery, "plan_soc_kwh", "actual_soc_kwh"), "kWh", 0);
  const flex = [...d.ev_charger, ...d.heat_pump];
  chart(document.getElementById("chart-flex"), d, planVsActual(flex, "plan_p_kw", "actual_p_kw"), "kW", 0);
  const k = nowIndex(d), planned = (a, key) => (k >= 0 && a[key] ? a[key][k] : null);
  table("flex", ["device", "state", "p kW", "planned kW", "detail"], [
    ...d.ev_charger.map(a => [[a.id, a.connected === null ? "no report" : a.connected ? "vehicle connected" : "no vehicle",
                               fmt(d.devices[a.id]?.p_kw), fmt(planned(a, "plan_p_kw")),
                               a.delivered_kwh === null ? "" : `${fmt(a.delivered_kwh)} kWh delivered this session`]]),
    ...d.heat_pump.map(a => [[a.id, a.temp_c === null || a.temp_c === undefined ? "no report" : `store ${fmt(a.temp_c)} °C`,
                              fmt(d.devices[a.id]?.p_kw), fmt(planned(a, "plan_p_kw")),
                              `planned store ${fmt(planned(a, "plan_temp_c"))} °C`]]),
  ]);
  table("devices", ["device", "state", "p kW", "SoC kWh", "setpoint kW", "last error"],
        Object.entries(d.devices).map(([id, s]) => [[id, s.online ? "online" : "offline", fmt(s.p_kw), fmt(s.soc_kwh),
                                                     fmt(s.last_setpoint_kw), s.last_error], s.online ? "" : "offline"]));
  table("feeds", ["feed", "kind", "state", "age s", "max age s", `last success (${tz})`, `newest row (${tz})`, "last error"],
        Object.entries(d.feeds || {}).map(([id, f]) => [[id, f.kind, f.stale ? "stale" : "fresh", fmt(f.age_s, 0),
                                                         fmt(f.max_age_s, 0), f.last_success ? at(f.last_success, tz) : "",
                                                         f.newest_row ? at(f.newest_row, tz) : "", f.last_error],
                                                        f.stale ? "offline" : ""]));
  table("events", [`time (${tz})`, "severity", "kind", "message"],
        d.events.map(e => [[at(e.ts, tz), e.severity, e.kind, e.message], e.severity]));
  document.body.dataset.rendered = d.now;
}

async function drawGridEvents(tz) {
  const r = await fetch("/api/openadr/events");
  if (!r.ok) return;
  const body = await r.json();
  table("openadr", ["event", "program", `issued (${tz})`, `from (${tz})`, `to (${tz})`, "signals", "reports"],
        body.events.slice(-20).reverse().map(e => [[e.event.eventName || e.event_id, e.program_id, at(e.version_at, tz),
                                                    e.start ? at(e.start, tz) : "", e.end ? at(e.end, tz) : "",
                                                    e.signals.join(", "),
                                                    e.reports.map(x => x.reading_type).join(", ")]]));
}

async function refresh() {
  try {
    const r = await fetch("/api/dashboard");
    if (r.ok) {
      const d = await r.json();
      draw(d);
      await drawGridEvents(d.timezone);
    } else document.getElementById("health").textContent = `the daemon answered ${r.status} ${r.statusText}`;
  } catch (err) {
    document.getElementById("health").textContent = `no answer from the daemon: ${err}`;
  }
}

refresh();
setInterval(refresh, 15000);
