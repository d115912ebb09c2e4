// negsim classroom: helpers shared by the teacher's and the students' pages.
// Every text from the server is set with textContent (never parsed as HTML).
"use strict";

const negsim = (() => {
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  async function api(method, path, body, token) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers["Authorization"] = "Bearer " + token;
    const res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const err = new Error((data && data.error) || ("HTTP " + res.status));
      err.status = res.status;
      throw err;
    }
    return data;
  }

  // Live updates: a server-sent event stream read with fetch (so the token stays in a header), reopened
  // when it ends; a slow poll keeps the page right if the stream cannot be held open.
  function live(code, token, onchange) {
    let stopped = false;
    let lastVersion = -1;
    const fire = (v) => { if (v !== lastVersion) { lastVersion = v; onchange(); } };
    async function stream() {
      while (!stopped) {
        try {
          const res = await fetch(`/api/sessions/${code}/events`, {headers: {Authorization: "Bearer " + token}});
          if (!res.ok || !res.body) throw new Error("no stream");
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          let buf = "";
          for (;;) {
            const {value, done} = await reader.read();
            if (done) break;
            buf += decoder.decode(value, {stream: true});
            let cut;
            while ((cut = buf.indexOf("\n\n")) >= 0) {
              const chunk = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              for (const line of chunk.split("\n")) {
                if (line.startsWith("data: ")) {
                  try { fire(JSON.parse(line.slice(6)).version); } catch (e) { onchange(); }
                }
              }
            }
          }
        } catch (e) {
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    }
    stream();
    const poll = setInterval(() => { if (!stopped) onchange(); }, 5000);
    return () => { stopped = true; clearInterval(poll); };
  }

  const km2 = (v) => Math.round(v).toLocaleString("en") + " km²";
  const terms = (t) => Object.entries(t).map(([k, v]) => `${k} = ${v}`).join(", ");
  const OUTCOME = {agreement: "AGREEMENT", talks_failed: "Talks failed", no_talks: "Talks never opened"};

  // The session's state for this page's token, or null: a token the server no longer knows (401, 404) is
  // forgotten, the reason shown in errorBox, and onGone called (to stop live updates).
  async function loadState(me, storageKey, errorBox, hint, onGone) {
    try {
      return await api("GET", `/api/sessions/${me.code}/state`, undefined, me.token);
    } catch (e) {
      if (e.status === 401 || e.status === 404) {
        sessionStorage.removeItem(storageKey);
        errorBox.textContent = `${e.message} (${hint})`;
        onGone();
      }
      return null;
    }
  }

  // The peace process after a month (the server's game.process): its stage, a ceasefire, partial deals, instruments.
  const STAGE = {war: "war", talks: "talks", partial: "partial deals", ceasefire: "ceasefire",
    settlement: "settlement", relapse: "relapse (war again after a settlement)"};

  function levels(p) {
    return Object.entries(p.levels || {}).map(([k, v]) => `${k} ${v}${v === 0 ? " (paused)" : ""}`).join(", ");
  }

  function processNow(p) {
    if (!p) return null;
    const parts = [`Stage: ${STAGE[p.stage] || p.stage}`, p.ceasefire_holds ? "ceasefire holds" : "no ceasefire",
      "in force: " + ((p.in_force_words || []).join(", ") || "no partial deal")];
    const lv = levels(p);
    if (lv) parts.push("instruments: " + lv);
    return el("p", {class: "process-now", "data-stage": p.stage, text: parts.join(" · ") + "."});
  }

  // What happened to the peace process in a month, each in a short line.
  function processNews(p) {
    const out = [];
    if (!p) return out;
    for (const d of p.partial_agreed_words || []) out.push(`Partial deal agreed: ${d}.`);
    if (p.ceasefire === true) out.push("Ceasefire agreed: the line is frozen.");
    if (p.ceasefire === false) out.push("Ceasefire refused.");
    if (p.ceasefire_broken) out.push("The ceasefire breaks down.");
    if (p.relapse) out.push("The settlement breaks down: war resumes.");
    return out;
  }

  function monthRow(m) {
    const front = (m.change_km2 === 0 ? "The front did not move; " :
      `${m.change_km2 > 0 ? "Russia" : "Ukraine"} gained ${km2(Math.abs(m.change_km2))}; `) +
      `Russia holds ${km2(m.territory_km2)}.`;
    const cells = [el("td", {text: `${m.month}`}), el("td", {text: m.label}), el("td", {text: front})];
    const talk = el("td", {class: "talks"});
    if (m.opened) talk.append(el("div", {class: "opened", text: "Talks open."}));
    for (const line of processNews(m.process)) talk.append(el("div", {class: "process", text: line}));
    if (m.talks) {
      const t = m.talks;
      talk.append(el("div", {}, el("b", {text: t.proposer}), ` offered package ${t.package}: ${terms(t.terms)}`));
      const moves = el("ul", {class: "moves"});
      for (const mv of t.moves) {
        moves.append(el("li", {class: mv.by}, `${mv.role}: ${mv.kind === "propose" ? "proposes " : ""}${mv.choice}`,
          el("span", {class: "by", text: mv.by === "class" ? " (class)" : " (model)"})));
      }
      talk.append(moves);
      talk.append(el("div", {class: t.agreed ? "agreed" : "nodeal",
        text: t.agreed ? "AGREED." : (t.breakdown ? "No deal. Talks break down." : "No deal.")}));
    } else if (m.events.length) {
      talk.append(el("div", {text: "Changed this month: " + m.events.join("; ")}));
    } else if (m.process && m.process.stage === "settlement" && !processNews(m.process).length) {
      talk.append(el("span", {class: "quiet", text: "peace: the settlement holds"}));
    } else if (!m.opened && !processNews(m.process).length) {
      talk.append(el("span", {class: "quiet", text: m.process && m.process.stage === "relapse" ? "war again" : "no talks"}));
    }
    cells.push(talk);
    return el("tr", {}, ...cells);
  }

  function renderMonths(table, months) {
    table.replaceChildren(el("tr", {}, el("th", {text: "#"}), el("th", {text: "month"}),
      el("th", {text: "the front"}), el("th", {text: "talks"})));
    for (const m of [...months].reverse()) table.append(monthRow(m));
  }

  // The front as a small line chart (SVG): territory Russia holds, month by month.
  function renderFront(box, st) {
    const pts = st.months.map((m) => [m.month, m.territory_km2]);
    box.replaceChildren();
    box.append(el("p", {class: "front-now", text:
      `${st.situation.label} (month ${st.situation.month}): Russia holds ${km2(st.situation.territory_km2)} of Ukraine.` +
      (st.situation.talks_open ? " Talks are open." : "")}));
    const now = processNow(st.situation.process);
    if (now) box.append(now);
    if (pts.length < 2) return;
    const ns = "http://www.w3.org/2000/svg";
    const w = 420, h = 90, pad = 4;
    const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(x0 + 6, ...xs);
    const y0 = Math.min(...ys), y1 = Math.max(...ys) + 1;
    const sx = (x) => pad + (w - 2 * pad) * (x - x0) / Math.max(1, x1 - x0);
    const sy = (y) => h - pad - (h - 2 * pad) * (y - y0) / Math.max(1, y1 - y0);
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("class", "chart");
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" "));
    svg.append(line);
    box.append(svg, el("div", {class: "caption", text: "Territory Russia holds, by month"}));
  }

  function renderResults(box, r) {
    box.replaceChildren();
    if (!r) return;
    box.append(el("h2", {text: "Result: " + OUTCOME[r.outcome] +
      (r.outcome === "agreement" ? ` in month ${r.agreement_month}` : "")}));
    if (r.outcome_words) box.append(el("p", {class: "outcome-words", text: `The game ended in ${r.outcome_words}.`}));
    if (r.terms) box.append(el("p", {class: "terms", text: "Terms: " + terms(r.terms)}));
    const cmp = r.comparison;
    if (cmp) {
      box.append(el("h3", {text: `The class against ${cmp.runs.toLocaleString("en")} runs of the model`}));
      const bars = el("div", {class: "bars"});
      for (const [o, share] of Object.entries(cmp.model_outcome_shares)) {
        const bar = el("div", {class: "bar"});
        bar.style.width = (100 * share).toFixed(1) + "%";
        bars.append(el("div", {class: "bar-row" + (o === r.outcome ? " ours" : "")},
          el("span", {class: "bar-label", text: OUTCOME[o]}), el("span", {class: "bar-track"}, bar),
          el("span", {class: "bar-value", text: (100 * share).toFixed(0) + "%" + (o === r.outcome ? "  ← the class" : "")})));
      }
      box.append(bars);
    }
    const ul = el("ul", {class: "sentences"});
    for (const s of r.sentences || []) ul.append(el("li", {text: s}));
    box.append(ul);
  }

  // What the teacher's and a student's page show alike: the front, the months, the results once the game is over,
  // and the state's phase and version on the body (tests and styles read them).
  function renderGame(st) {
    const $ = (id) => document.getElementById(id);
    renderFront($("front"), st);
    renderMonths($("months"), st.months);
    if (st.finished && st.results) {
      $("results-box").classList.remove("hidden");
      renderResults($("results"), st.results);
      document.body.dataset.finished = "true";
    }
    document.body.dataset.phase = st.phase;
    document.body.dataset.version = String(st.version);
  }

  return {el, api, live, loadState, km2, terms, renderGame, OUTCOME};
})();
