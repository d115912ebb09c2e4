// negsim classroom: the projector view. Joins the class as an observer (it sees what everybody may see, and makes
// no move) and shows, large: the month, whose move is awaited, the offer on the table, the front with its axes.
"use strict";

(() => {
  const {el, api, live, km2, OUTCOME, renderMessages} = negsim;
  const $ = (id) => document.getElementById(id);
  const ns = "http://www.w3.org/2000/svg";
  let me = JSON.parse(sessionStorage.getItem("negsim.projector") || "null");
  let stop = null;
  const KIND = {act: "act on the ground (or pass)", propose: "make an offer", answer: "answer the offer",
    ratify: "vote on the deal"};
  // A package's terms in words, one line per issue (the land term with its km2 at the line of the day).
  const termItems = (list) => list.map((t) => el("li", {}, el("b", {text: t.issue_words + ": "}), t.words));

  async function watch(code) {
    $("ask-error").textContent = "";
    try {
      const got = await api("POST", `/api/sessions/${encodeURIComponent(code)}/join`, {role: "observer"});
      me = {code: got.code, token: got.token};
      sessionStorage.setItem("negsim.projector", JSON.stringify(me));
      start();
    } catch (e) {
      $("ask-error").textContent = e.message;
    }
  }

  function start() {
    $("ask").classList.add("hidden");
    $("screen").classList.remove("hidden");
    if (stop) stop();
    stop = live(me.code, me.token, refresh);
    refresh();
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Round steps for an axis: 1, 2 or 5 times a power of ten, about `count` of them over the span.
  function step(span, count) {
    const raw = Math.max(span, 1e-9) / count;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  }

  // The territory Russia holds, month by month, with both axes, their ticks and titles.
  function chart(st) {
    const pts = [[0, st.months.length ? st.months[0].territory_km2 - st.months[0].change_km2 : st.situation.territory_km2],
      ...st.months.map((m) => [m.month, m.territory_km2])];
    const w = 1200, h = 440, left = 170, right = 30, top = 20, bottom = 80;
    const ys = pts.map((p) => p[1]);
    const ystep = step(Math.max(...ys) - Math.min(...ys) || 1000, 4);
    const y0 = Math.floor(Math.min(...ys) / ystep) * ystep, y1 = Math.ceil(Math.max(...ys) / ystep) * ystep || y0 + ystep;
    const x1 = Math.max(st.horizon, 1);
    const sx = (x) => left + (w - left - right) * x / x1;
    const sy = (y) => h - bottom - (h - top - bottom) * (y - y0) / Math.max(y1 - y0, ystep);
    const svg = svgEl("svg", {viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "Territory Russia holds, by month"});
    for (let y = y0; y <= y1 + 1e-9; y += ystep) {
      svg.append(svgEl("line", {class: "grid", x1: left, x2: w - right, y1: sy(y), y2: sy(y)}));
      svg.append(svgEl("text", {x: left - 10, y: sy(y) + 8, "text-anchor": "end"}, Math.round(y).toLocaleString("en")));
    }
    const xstep = step(x1, 8);
    for (let x = 0; x <= x1; x += xstep) {
      svg.append(svgEl("line", {class: "axis", x1: sx(x), x2: sx(x), y1: h - bottom, y2: h - bottom + 8}));
      svg.append(svgEl("text", {x: sx(x), y: h - bottom + 32, "text-anchor": "middle"}, String(x)));
    }
    svg.append(svgEl("line", {class: "axis", x1: left, x2: w - right, y1: h - bottom, y2: h - bottom}));
    svg.append(svgEl("line", {class: "axis", x1: left, x2: left, y1: top, y2: h - bottom}));
    svg.append(svgEl("text", {class: "axis-title", x: (left + w - right) / 2, y: h - 12, "text-anchor": "middle"},
      `month (of ${st.horizon})`));
    svg.append(svgEl("text", {class: "axis-title", x: 20, y: top + (h - top - bottom) / 2, "text-anchor": "middle",
      transform: `rotate(-90 20 ${top + (h - top - bottom) / 2})`}, "km² Russia holds"));
    svg.append(svgEl("polyline", {points: pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ")}));
    return svg;
  }

  function onTable(st) {
    const box = $("on-table");
    box.replaceChildren();
    const a = st.awaiting;
    if (a && a.on_table) {
      box.append(el("div", {class: "offer-by", text: `Month ${a.month} (${a.label}): package ${a.on_table.package}`}));
      box.append(el("ul", {}, ...termItems(a.on_table.term_words)));
      box.append(el("div", {class: "verdict", text: a.kind === "answer" ? "The governments are answering." : "The publics are voting."}));
      return;
    }
    const last = [...st.months].reverse().find((m) => m.talks);
    if (!last) {
      box.append(el("p", {class: "quiet", text: "No offer yet."}));
      return;
    }
    const t = last.talks;
    box.append(el("div", {class: "offer-by", text: `The last offer, month ${last.month} (${last.label}): ${t.proposer} offered package ${t.package}`}));
    box.append(el("div", {class: "offer-words", text: t.words}));
    box.append(el("div", {class: "verdict " + (t.agreed ? "agreed" : "nodeal"),
      text: t.agreed ? "AGREED." : (t.breakdown ? "No deal. Talks broke down." : "No deal.")}));
  }

  async function refresh() {
    let st;
    try {
      st = await api("GET", `/api/sessions/${me.code}/state`, undefined, me.token);
    } catch (e) {
      if (e.status === 401 || e.status === 404) {
        sessionStorage.removeItem("negsim.projector");
        if (stop) stop();
        $("screen").classList.add("hidden");
        $("ask").classList.remove("hidden");
        $("ask-error").textContent = e.message;
      }
      return;
    }
    $("class-name").textContent = `· class ${st.code} · ${st.scenario}`;
    $("month-big").textContent = `${st.situation.label} · month ${st.situation.month} of ${st.horizon}`;
    const a = st.awaiting;
    const aw = $("awaiting");
    aw.className = a ? "deciding" : "";
    aw.textContent = st.finished ? "The game is over."
      : a ? `Talks in month ${a.month}: waiting for ${a.roles.join(", ") || "the teacher"} to ${KIND[a.kind] || a.kind}.`
      : "Waiting for the teacher to advance the month.";
    const p = st.situation.process;
    $("stage").textContent = `Russia holds ${km2(st.situation.territory_km2)} · stage: ${p ? p.stage_words : "war"}` +
      (p && p.ceasefire_holds ? " · a ceasefire holds" : "") +
      (p && p.in_force_words && p.in_force_words.length ? " · in force: " + p.in_force_words.join(", ") : "");
    onTable(st);
    // the actions on the ground of the last month resolved, and the talk channel when the teacher shows it here
    const last = st.months.length ? st.months[st.months.length - 1] : null;
    const acts = last ? last.actions || [] : [];
    $("actions").replaceChildren(...(acts.length ? acts.map((x) => el("li", {"data-role": x.role},
      el("b", {text: x.role + ": "}), x.label + (x.by === "class" ? " (the class)" : " (the model)")))
      : [el("li", {class: "quiet", text: last ? `No action on the ground in month ${last.month}.` : "No month played yet."})]));
    $("talk-section").classList.toggle("hidden", !st.talk.projector);
    if (st.talk.projector) renderMessages($("messages"), st.messages.slice(-6));
    $("chart").replaceChildren(chart(st));
    if (st.finished && st.results) {
      const r = st.results;
      $("end").classList.remove("hidden");
      $("end-result").textContent = "Result: " + OUTCOME[r.outcome] + (r.outcome === "agreement" ? ` in month ${r.agreement_month}` : "") +
        "";
      $("end-terms").textContent = r.terms_words ? "Terms: " + r.terms_words : "";
      $("summary-address").textContent = `${location.origin}/summary/${st.code}`;
    }
    document.body.dataset.phase = st.phase;
    document.body.dataset.version = String(st.version);
  }

  $("watch").addEventListener("click", () => watch($("code").value.trim().toUpperCase()));
  $("code").addEventListener("keydown", (e) => { if (e.key === "Enter") watch($("code").value.trim().toUpperCase()); });
  const fromAddress = new URLSearchParams(location.hash.slice(1)).get("code");
  if (me && (!fromAddress || fromAddress.toUpperCase() === me.code)) start();
  else if (fromAddress) watch(fromAddress.toUpperCase());
})();
