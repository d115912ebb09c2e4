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
    for (const a of m.actions || []) {
      talk.append(el("div", {class: "action-taken " + a.by}, el("b", {text: a.role}), ` acts on the ground: ${a.label}`,
        el("span", {class: "by", text: a.by === "class" ? " (class)" : " (model)"})));
    }
    if (m.talks) {
      const t = m.talks;
      talk.append(el("div", {}, el("b", {text: t.proposer}), ` offered package ${t.package}: ${t.words || terms(t.terms)}`));
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
    } else if (!m.opened && !processNews(m.process).length && !(m.actions || []).length) {
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

  // Where the game stands, in a sentence: how it ended once it is over, a settlement once one is agreed,
  // else whether talks are open.
  function standing(st) {
    const p = st.situation.process || {};
    if (st.finished) {
      const r = st.results;
      return r && r.outcome_words ? ` The game is over: it ended in ${r.outcome_words}.` : " The game is over.";
    }
    if (p.stage === "settlement") return " A settlement is agreed: the talks are closed.";
    if (p.stage === "relapse") return " The settlement has broken down: war again.";
    return st.situation.talks_open ? " Talks are open." : " No talks are being held.";
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Round steps for an axis from lo to hi: about `count` ticks at 1, 2 or 5 times a power of ten.
  function ticks(lo, hi, count) {
    const raw = Math.max((hi - lo) / count, 1e-9);
    const pow = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
    return out;
  }

  // The front as a line chart (SVG) with its axes: territory Russia holds (km²), month by month.
  function renderFront(box, st) {
    const pts = st.months.map((m) => [m.month, m.territory_km2]);
    box.replaceChildren();
    box.append(el("p", {class: "front-now", text:
      `${st.situation.label} (month ${st.situation.month}): Russia holds ${km2(st.situation.territory_km2)} of Ukraine.` +
      standing(st)}));
    const now = processNow(st.situation.process);
    if (now) box.append(now);
    if (pts.length < 2) return;
    const w = 560, h = 220, left = 78, right = 12, top = 10, bottom = 42;
    const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(x0 + 6, ...xs);
    const spread = Math.max(...ys) - Math.min(...ys);
    const y0 = Math.min(...ys) - Math.max(spread * 0.1, 100), y1 = Math.max(...ys) + Math.max(spread * 0.1, 100);
    const sx = (x) => left + (w - left - right) * (x - x0) / (x1 - x0);
    const sy = (y) => h - bottom - (h - top - bottom) * (y - y0) / (y1 - y0);
    const svg = svgEl("svg", {viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img",
      "aria-label": "Territory Russia holds, km² by month"});
    svg.append(svgEl("line", {x1: left, y1: h - bottom, x2: w - right, y2: h - bottom, class: "axis"}));
    svg.append(svgEl("line", {x1: left, y1: top, x2: left, y2: h - bottom, class: "axis"}));
    for (const m of [...new Set([x0, ...ticks(x0, x1, 6)])].filter((v) => Number.isInteger(v) && (v === x0 || v - x0 >= (x1 - x0) / 12))) {
      svg.append(svgEl("line", {x1: sx(m), y1: h - bottom, x2: sx(m), y2: h - bottom + 4, class: "axis"}));
      svg.append(svgEl("text", {x: sx(m), y: h - bottom + 16, "text-anchor": "middle", class: "tick x-tick"}, String(m)));
    }
    for (const v of ticks(y0, y1, 4)) {
      svg.append(svgEl("line", {x1: left - 4, y1: sy(v), x2: w - right, y2: sy(v), class: "grid"}));
      svg.append(svgEl("text", {x: left - 6, y: sy(v) + 4, "text-anchor": "end", class: "tick y-tick"},
        Math.round(v).toLocaleString("en")));
    }
    svg.append(svgEl("text", {x: (left + w - right) / 2, y: h - 6, "text-anchor": "middle", class: "axis-label x-label"},
      "month of the game"));
    svg.append(svgEl("text", {x: 14, y: (top + h - bottom) / 2, "text-anchor": "middle", class: "axis-label y-label",
      transform: `rotate(-90 14 ${(top + h - bottom) / 2})`}, "km² held by Russia"));
    svg.append(svgEl("polyline", {class: "front-line",
      points: pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ")}));
    box.append(svg, el("div", {class: "caption", text: "Territory of Ukraine Russia holds (km²), by month"}));
  }

  // Each stakeholder's satisfaction with a package (the server's sim.play.terms): its worth less the actor's
  // value of no deal, on one scale; the bar spans -1 .. +1 around 0 (no better than no deal).
  const BASIS = {own: "your own numbers", reckoned: "as you reckon it", true: "the model's numbers"};
  function satisfactionBars(list, title) {
    const box = el("div", {class: "satisfaction"});
    if (!list || !list.length) return box;
    box.append(el("div", {class: "satisfaction-title", text: title}));
    for (const s of list) {
      const track = el("span", {class: "sat-track"});
      const bar = el("span", {class: "sat-bar " + (s.score >= 0 ? "pos" : "neg")});
      const share = Math.min(1, Math.abs(s.score)) * 50;
      bar.style.width = share.toFixed(1) + "%";
      bar.style.left = (s.score >= 0 ? 50 : 50 - share).toFixed(1) + "%";
      track.append(el("span", {class: "sat-zero"}), bar);
      box.append(el("div", {class: "sat-row", "data-actor": s.actor, "data-score": String(s.score)},
        el("span", {class: "sat-label", text: `${s.actor} (${BASIS[s.basis] || s.basis})`}), track,
        el("span", {class: "sat-value", text: `${s.score >= 0 ? "+" : ""}${s.score.toFixed(3)} ` +
          (s.score >= 0 ? "better than no deal" : "worse than no deal")})));
    }
    return box;
  }

  function renderResults(box, r) {
    box.replaceChildren();
    if (!r) return;
    box.append(el("h2", {text: "Result: " + OUTCOME[r.outcome] +
      (r.outcome === "agreement" ? ` in month ${r.agreement_month}` : "")}));
    if (r.outcome_words) box.append(el("p", {class: "outcome-words", text: `The game ended in ${r.outcome_words}.`}));
    if (r.terms) box.append(el("p", {class: "terms", text: "Terms: " + (r.terms_words || terms(r.terms))}));
    if (r.satisfaction) box.append(satisfactionBars(r.satisfaction,
      "How satisfied each stakeholder is with the settlement (its worth less the value of no deal, at the month it was agreed)"));
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
    if (r.ending) box.append(renderEnding(r.ending));
    else {
      const ul = el("ul", {class: "sentences"});
      for (const s of r.sentences || []) ul.append(el("li", {text: s}));
      box.append(ul);
    }
  }

  // The end screen (the server's sim.play.ending): the class's result beside the model's own play of the same
  // run, each side's satisfaction as bars, and the result placed in the distribution counting the wait.
  function renderEnding(e) {
    const box = el("div", {class: "ending", id: "ending"});
    box.append(el("h3", {text: "The class against the model's own play of the same run"}));
    const table = el("table", {class: "ending-table"});
    table.append(el("tr", {}, el("th", {text: ""}), el("th", {text: "the class"}), el("th", {text: "the model, same run"})));
    for (const row of e.rows) {
      table.append(el("tr", {}, el("td", {text: row.what}), el("td", {class: "class-cell", text: row.class}),
        el("td", {text: row.model})));
    }
    box.append(table);
    const terms = [["The class's terms", e.class.terms_words], ["The model's terms", e.model.terms_words]];
    for (const [who, words] of terms) if (words) box.append(el("p", {class: "ending-terms", text: `${who}: ${words}.`}));
    const bars = el("div", {class: "ending-bars"});
    if (e.class.satisfaction.length) {
      bars.append(satisfactionBars(e.class.satisfaction, "Each stakeholder's satisfaction with the class's deal"));
    }
    if (e.model.satisfaction.length) {
      bars.append(satisfactionBars(e.model.satisfaction, "... and with the model's deal of the same run"));
    }
    box.append(bars);
    const ul = el("ul", {class: "sentences ending-lines"});
    for (const s of e.lines) ul.append(el("li", {text: s}));
    box.append(ul);
    return box;
  }

  // The talk channel's messages, newest first: who to whom, the text, and a draft's terms in words.
  function renderMessages(list, messages) {
    list.replaceChildren();
    if (!messages.length) {
      list.append(el("li", {class: "quiet", text: "No messages yet."}));
      return;
    }
    for (const m of [...messages].reverse()) {
      const li = el("li", {class: "message", "data-from": m.role, "data-to": m.to},
        el("b", {class: "from", text: `${m.role} → ${m.to === "all" ? "everybody" : m.to}`}),
        el("span", {class: "when", text: ` (after month ${m.month}): `}), el("span", {class: "text", text: m.text}));
      if (m.words) li.append(el("div", {class: "draft", text: "Draft offer (not binding): " + m.words}));
      list.append(li);
    }
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

  return {el, api, live, loadState, km2, terms, renderGame, OUTCOME, satisfactionBars, renderMessages};
})();
