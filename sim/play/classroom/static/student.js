// negsim classroom: a student's page. Join with the class's code, take a role, make its moves.
"use strict";

(() => {
  const {el, api, live, loadState, renderGame, satisfactionBars} = negsim;
  const $ = (id) => document.getElementById(id);
  let me = JSON.parse(sessionStorage.getItem("negsim.student") || "null");
  let stop = null;
  let shownDecision;  // the decision on screen ("MONTH/KIND", or null for none)

  async function find() {
    $("join-error").textContent = "";
    const code = $("code").value.trim().toUpperCase();
    try {
      const info = await api("GET", `/api/sessions/${encodeURIComponent(code)}`);
      const select = $("role");
      select.replaceChildren();
      for (const [role, r] of Object.entries(info.roles)) {
        const label = role === "observer" ? "observer (watch only)" : `${role} (${r.kind})${r.taken ? ": taken" : ""}`;
        const opt = el("option", {value: role, text: label});
        if (r.taken) opt.disabled = true;
        select.append(opt);
      }
      const free = [...select.options].find((o) => !o.disabled);
      if (free) select.value = free.value;
      $("role-box").classList.remove("hidden");
    } catch (e) {
      $("join-error").textContent = e.message;
    }
  }

  async function take() {
    $("join-error").textContent = "";
    const code = $("code").value.trim().toUpperCase();
    const role = $("role").value;
    try {
      const got = await api("POST", `/api/sessions/${encodeURIComponent(code)}/join`, {role});
      me = {code: got.code, token: got.token, role};
      sessionStorage.setItem("negsim.student", JSON.stringify(me));
      start();
    } catch (e) {
      $("join-error").textContent = e.message;
      if (e.status === 409) find();
    }
  }

  function start() {
    $("join").classList.add("hidden");
    for (const id of ["game", "front-box", "months-box"]) $(id).classList.remove("hidden");
    $("who").textContent = `· ${me.role} · class ${me.code}`;
    if (stop) stop();
    stop = live(me.code, me.token, refresh);
    refresh();
  }

  async function send(body) {
    $("move-error").textContent = "";
    try {
      await api("POST", `/api/sessions/${me.code}/moves`, body, me.token);
      shownDecision = undefined;  // draw the panel again, whatever comes next
      refresh();
    } catch (e) {
      $("move-error").textContent = e.message;
    }
  }

  function number(v, digits = 3) { return (v === null || v === undefined) ? "?" : Number(v).toFixed(digits); }

  // The one value of no deal a government decides with at these talks (the server names it).
  function noDealLine(d) {
    const v = d.view;
    const nd = d.no_deal;
    const lines = [el("p", {class: "no-deal", text: `Only you see this. No deal is worth ${number(nd.value)} to you: ` +
      `${nd.name}. A deal worth less than that is worse than fighting on for you.`})];
    const extra = [`Your losses so far: ${Math.round(v.casualties).toLocaleString("en")}.`];
    if (v.weariness !== null && v.weariness !== undefined) extra.push(`Your public's war-weariness: ${(100 * v.weariness).toFixed(0)}%.`);
    lines.push(el("p", {text: extra.join(" ")}));
    return lines;
  }

  function termList(p) {
    const ul = el("ul", {class: "term-list"});
    for (const t of p.term_words) ul.append(el("li", {}, el("b", {text: t.issue_words + ": "}), t.words));
    return ul;
  }

  function proposePanel(d, box) {
    const mediator = !("terms_utilities" in d.view);
    box.append(el("p", {text: mediator
      ? "You are the lead mediator. Propose a package; the list shows, by your own reading of both sides, the chance each package is accepted by both and ratified."
      : `Propose a package: the list shows what the terms of each package are worth to you (0 = worst, 1 = best terms).` +
        (d.side_payment ? ` Any deal also brings you ${number(d.side_payment)} beside its terms (the mediator's side-payment), counted in the bars below.` : "")}));
    if (d.left_out && d.left_out.count) {
      box.append(el("p", {class: "left-out", text: `${d.left_out.count} more package${d.left_out.count === 1 ? "" : "s"} ` +
        `your own red lines allow ${d.left_out.count === 1 ? "is" : "are"} not listed: ${d.left_out.why}.`}));
    }
    const select = el("select", {id: "package"});
    for (const o of d.options) {
      select.append(el("option", {value: String(o.number), text: `#${o.number}: ${o.words} (${number(o.score)})`}));
    }
    const legend = el("p", {class: "score-name", text: `The number after each package: ${d.score_name}.`});
    const bars = el("div", {id: "option-satisfaction"});
    const show = () => {
      const o = d.options.find((x) => String(x.number) === select.value);
      bars.replaceChildren(...(o ? [termList(o), satisfactionBars(o.satisfaction, "How satisfied each side would be " +
        "with this package (its worth less the value of no deal; 0 = no better than no deal)")] : []));
    };
    select.addEventListener("change", show);
    box.append(select, legend, bars);
    show();
    box.append(el("button", {id: "propose", onclick: () => send({kind: "propose", month: d.month,
      choice: Number(select.value)})}, "Propose this package"));
    box.append(el("button", {id: "leave", class: "secondary", onclick: () => send({kind: "propose",
      month: d.month, choice: null})}, "Let the model choose"));
    return box;
  }

  function decisionPanel(d) {
    const v = d.view;
    const box = el("div", {class: "private"});
    box.append(el("h3", {text: `Your move, ${d.role}: ${d.kind} (month ${d.month}, ${d.label})`}));
    if (d.no_deal) box.append(...noDealLine(d));
    if (d.kind === "propose") return proposePanel(d, box);
    box.append(el("p", {class: "offer", text: `On the table: package ${d.package.number}, offered by ${d.proposer || "the proposer"}:`}));
    box.append(termList(d.package));
    const title = "How satisfied you are with it (its worth less your value of no deal; 0 = no better than no deal)";
    if (d.kind === "answer") {
      const mine = (d.satisfaction || []).find((s) => s.actor === d.role);
      const terms = v.terms_utilities[d.package.number];
      box.append(el("p", {class: "worth", text: `Its terms are worth ${number(terms)} to you (0 = worst, 1 = best terms)` +
        (v.side_payment ? `; with what any deal brings you beside them (${number(v.side_payment)}, the mediator's side-payment)` : "") +
        (mine ? `, it is ${mine.score >= 0 ? "better" : "worse"} than no deal for you.` : ".")}));
      box.append(satisfactionBars(d.satisfaction, title));
      box.append(el("button", {id: "accept", onclick: () => send({kind: "answer", month: d.month, choice: true})}, "Accept"));
      box.append(el("button", {id: "reject", class: "secondary", onclick: () => send({kind: "answer", month: d.month,
        choice: false})}, "Reject"));
    } else {
      box.append(el("p", {text: `Both governments signed it. It clears your public's bar by ` +
        `${v.margin >= 0 ? "+" : ""}${number(v.margin)} (below zero most would vote no). ` +
        `War-weariness: ${(100 * v.weariness).toFixed(0)}%.`}));
      box.append(satisfactionBars(d.satisfaction, title));
      box.append(el("button", {id: "ratify", onclick: () => send({kind: "ratify", month: d.month, choice: true})}, "Ratify"));
      box.append(el("button", {id: "reject", class: "secondary", onclick: () => send({kind: "ratify", month: d.month,
        choice: false})}, "Reject"));
    }
    return box;
  }

  async function refresh() {
    const st = await loadState(me, "negsim.student", $("move-error"), "join again", () => { if (stop) stop(); });
    if (st === null) return;
    const phase = {waiting: "waiting for the teacher to advance", deciding: "talks: moves are being made",
      finished: "the game is over"}[st.phase];
    const ended = st.finished && st.results && st.results.outcome_words ? `: it ended in ${st.results.outcome_words}` : "";
    let status = st.phase === "deciding" ? `Month ${st.month + 1} of ${st.horizon} · ${phase}`
      : `Month ${st.month} of ${st.horizon} over · ${phase}${ended}`;
    if (st.moved) status += " · your move is in: waiting for the others";
    $("status").textContent = status;
    // One value of fighting on on the screen: while a decision waits, the decision's (this month's talks);
    // otherwise the one at the end of the last month resolved, named so.
    const own = st.pending && st.pending.no_deal ? null : st.own;
    $("own").textContent = !own ? "" : ("value_of_fighting" in own)
      ? `Your own numbers at the end of month ${own.month} (only you see them): fighting on was worth ` +
        `${number(own.value_of_fighting)} to you then (expected costs ${number(own.expected_costs)}); your losses so far ` +
        `${Math.round(own.casualties).toLocaleString("en")}` +
        (own.weariness === null || own.weariness === undefined ? "." : `; your public's war-weariness ${(100 * own.weariness).toFixed(0)}%.`)
      : `Your own numbers at the end of month ${own.month} (only you see them): war-weariness ${(100 * own.weariness).toFixed(0)}%.`;
    const key = st.pending ? `${st.pending.month}/${st.pending.kind}` : (st.finished ? "over" : null);
    if (key !== shownDecision) {  // keep the page still while the same decision waits (a select keeps its value)
      shownDecision = key;
      $("decision").replaceChildren(st.pending ? decisionPanel(st.pending)
        : el("p", {class: "quiet", text: st.finished ? "The game is over." : st.role === "observer"
          ? "You are watching." : "No move for you right now."}));
    }
    renderGame(st);
    document.body.dataset.month = String(st.month);
  }

  // Give the role up: the model plays it from now on, and another student may take it.
  async function leave() {
    try {
      await api("POST", `/api/sessions/${me.code}/leave`, {}, me.token);
    } catch (e) {
      $("move-error").textContent = e.message;
      return;
    }
    sessionStorage.removeItem("negsim.student");
    if (stop) stop();
    location.reload();
  }

  $("leave").addEventListener("click", leave);
  $("find").addEventListener("click", find);
  $("take").addEventListener("click", take);
  $("code").addEventListener("keydown", (e) => { if (e.key === "Enter") find(); });
  const fromUrl = new URLSearchParams(location.search).get("code");
  if (fromUrl) $("code").value = fromUrl;
  if (me) start();
})();
