// negsim classroom: a student's page. Join with the class's code, take a role, make its moves.
"use strict";

(() => {
  const {el, api, live, loadState, terms, renderGame} = negsim;
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

  function decisionPanel(d) {
    const v = d.view;
    const box = el("div", {class: "private"});
    box.append(el("h3", {text: `Your move, ${d.role}: ${d.kind} (month ${d.month}, ${d.label})`}));
    if ("value_of_fighting" in v) {
      box.append(el("p", {text: `Only you see this. Fighting on is worth ${number(v.value_of_fighting)} to you ` +
        `(0 = worst, 1 = best): what you expect to hold after the months ahead, less the expected costs ` +
        `(${number(v.expected_costs)}). A deal worth less than that is worse than war for you.`}));
      const extra = [`Your losses so far: ${Math.round(v.casualties).toLocaleString("en")}.`];
      if (v.weariness !== null && v.weariness !== undefined) extra.push(`Your public's war-weariness: ${(100 * v.weariness).toFixed(0)}%.`);
      box.append(el("p", {text: extra.join(" ")}));
    }
    if (d.kind === "propose") {
      const mediator = "chance_of_deal" in v;
      box.append(el("p", {text: mediator
        ? `You are the lead mediator. Propose a package; the list shows, by your own reading of both sides, the chance each package is accepted by both and ratified.`
        : "Propose a package: the list shows what each package you may propose is worth to you."}));
      const select = el("select", {id: "package"});
      for (const o of d.options) {
        select.append(el("option", {value: String(o.number),
          text: `#${o.number}: ${terms(o.terms)} (${d.score_name} ${number(o.score)})`}));
      }
      box.append(select, el("br"));
      box.append(el("button", {id: "propose", onclick: () => send({kind: "propose", month: d.month,
        choice: Number(select.value)})}, "Propose this package"));
      box.append(el("button", {id: "leave", class: "secondary", onclick: () => send({kind: "propose",
        month: d.month, choice: null})}, "Let the model choose"));
      return box;
    }
    box.append(el("p", {class: "offer", text: `On the table: package ${d.package.number}: ${terms(d.package.terms)}`}));
    if (d.kind === "answer") {
      const u = v.utilities[d.package.number];
      box.append(el("p", {text: `This package is worth ${number(u)} to you: ` +
        `${u >= v.value_of_fighting ? "more" : "less"} than fighting on.`}));
      box.append(el("button", {id: "accept", onclick: () => send({kind: "answer", month: d.month, choice: true})}, "Accept"));
      box.append(el("button", {id: "reject", class: "secondary", onclick: () => send({kind: "answer", month: d.month,
        choice: false})}, "Reject"));
    } else {
      box.append(el("p", {text: `Both governments signed it. It is worth ${number(v.utility)} to your side and ` +
        `clears your public's bar by ${v.margin >= 0 ? "+" : ""}${number(v.margin)} (below zero most would vote no). ` +
        `War-weariness: ${(100 * v.weariness).toFixed(0)}%.`}));
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
    let status = st.phase === "deciding" ? `Month ${st.month + 1} of ${st.horizon} · ${phase}`
      : `Month ${st.month} of ${st.horizon} over · ${phase}`;
    if (st.moved) status += " · your move is in: waiting for the others";
    $("status").textContent = status;
    const own = st.own;
    $("own").textContent = !own ? "" : ("value_of_fighting" in own)
      ? `Your own numbers after month ${own.month} (only you see them): fighting on is worth ` +
        `${number(own.value_of_fighting)} to you (expected costs ${number(own.expected_costs)}); your losses so far ` +
        `${Math.round(own.casualties).toLocaleString("en")}` +
        (own.weariness === null || own.weariness === undefined ? "." : `; your public's war-weariness ${(100 * own.weariness).toFixed(0)}%.`)
      : `Your own numbers after month ${own.month} (only you see them): war-weariness ${(100 * own.weariness).toFixed(0)}%.`;
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
