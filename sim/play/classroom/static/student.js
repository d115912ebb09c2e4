// negsim classroom: a student's page. Join with the class's code, take a role, make its moves.
"use strict";

(() => {
  const {el, api, live, loadState, renderGame, satisfactionBars, renderMessages} = negsim;
  const $ = (id) => document.getElementById(id);
  let me = JSON.parse(sessionStorage.getItem("negsim.student") || "null");
  let stop = null;
  let shownDecision;  // the decision on screen ("MONTH/KIND", or null for none)
  let issuesNow = {};  // issue -> its options in the scenario's order (the state's issues)
  let draftBuilt = false;

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

  // The propose screen: one select per issue (any number of issues), each offering the options found in the
  // packages neither side's red lines forbid, in plain words (the land term with its km2 at the line of the day);
  // the package the selects make, its worth and each stakeholder's satisfaction update as a term changes.
  function proposePanel(d, box) {
    const mediator = !("terms_utilities" in d.view);
    box.append(el("p", {text: mediator
      ? "You are the lead mediator. Set the terms issue by issue; below, by your own reading of both sides, the chance the package is accepted by both and ratified, and how satisfied each side would be."
      : "Set the terms issue by issue; below, what the terms are worth to you (0 = worst, 1 = best terms) and how satisfied each side would be." +
        (d.side_payment ? ` Any deal also brings you ${number(d.side_payment)} beside its terms (the mediator's side-payment), counted in the bars.` : "")}));
    if (d.left_out && d.left_out.count) {
      box.append(el("p", {class: "left-out", text: `${d.left_out.count} more package${d.left_out.count === 1 ? "" : "s"} ` +
        `your own red lines allow ${d.left_out.count === 1 ? "is" : "are"} not offered: ${d.left_out.why}.`}));
    }
    const order = [], words = {};
    for (const o of d.options) {
      for (const t of o.term_words) {
        if (!words[t.issue]) { words[t.issue] = {label: t.issue_words, options: {}}; order.push(t.issue); }
        if (!(t.option in words[t.issue].options)) words[t.issue].options[t.option] = t.words;
      }
    }
    const selects = {};
    const grid = el("div", {class: "issue-grid"});
    for (const issue of order) {
      const sel = el("select", {class: "issue-select", id: `issue-${issue}`, "data-issue": issue});
      const known = (issuesNow[issue] || Object.keys(words[issue].options));
      for (const opt of known) {
        if (opt in words[issue].options) sel.append(el("option", {value: opt, text: words[issue].options[opt]}));
      }
      selects[issue] = sel;
      grid.append(el("label", {class: "issue-row"}, el("span", {class: "issue-label", text: words[issue].label}), sel));
    }
    if (d.options.length) for (const [issue, opt] of Object.entries(d.options[0].terms)) selects[issue].value = opt;
    const summary = el("div", {id: "option-satisfaction"});
    const propose = el("button", {id: "propose"}, "Propose these terms");
    let chosen = null;
    const show = () => {
      chosen = d.options.find((o) => order.every((i) => o.terms[i] === selects[i].value)) || null;
      propose.disabled = chosen === null;
      summary.replaceChildren(...(chosen ? [
        el("p", {class: "package-score", text: `Package ${chosen.number}: ${d.score_name} ${number(chosen.score)}.`}),
        termList(chosen), satisfactionBars(chosen.satisfaction, "How satisfied each side would be with these terms " +
          "(its worth less its value of no deal; 0 = no better than no deal)")]
        : [el("p", {class: "error red-line", text: "These terms together cross a red line (yours or the other " +
          "side's): change an issue."})]));
    };
    for (const sel of Object.values(selects)) sel.addEventListener("change", show);
    box.append(grid, summary);
    show();
    propose.addEventListener("click", () => { if (chosen) send({kind: "propose", month: d.month, choice: chosen.number}); });
    box.append(propose);
    box.append(el("button", {id: "let-model", class: "secondary", onclick: () => send({kind: "propose",
      month: d.month, choice: null})}, "Let the model choose"));
    return box;
  }

  // Actions on the ground at the start of a month: each with its expected effect; or pass.
  function actPanel(d, box) {
    box.append(el("p", {text: "Act on the ground this month, or pass. Everybody sees the action once the month is over."}));
    const list = el("ul", {class: "actions"});
    for (const a of d.actions) {
      const left = a.left === null || a.left === undefined ? "any month" : `${a.left} time${a.left === 1 ? "" : "s"} left`;
      const button = el("button", {class: "act", id: `act-${a.name}`, "data-action": a.name,
        onclick: () => send({kind: "act", month: d.month, choice: a.name})}, a.label);
      if (a.left === 0) button.disabled = true;
      list.append(el("li", {class: "action", "data-action": a.name}, button,
        el("span", {class: "effect", text: ` Expected effect: ${a.effect} (${left})`})));
    }
    box.append(list);
    box.append(el("button", {id: "pass", class: "secondary", onclick: () => send({kind: "act", month: d.month,
      choice: "none"})}, "Pass: no action this month"));
    return box;
  }

  function decisionPanel(d) {
    const v = d.view;
    const box = el("div", {class: "private"});
    const what = {act: "act on the ground", propose: "make an offer", answer: "answer the offer", ratify: "vote on the deal"};
    box.append(el("h3", {text: `Your move, ${d.role}: ${what[d.kind] || d.kind} (month ${d.month}, ${d.label})`}));
    if (d.kind === "act") return actPanel(d, box);
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
    issuesNow = st.issues || {};
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
    renderTalk(st);
    renderGame(st);
    document.body.dataset.month = String(st.month);
  }

  // The talk channel: messages to a role or to everybody, with a draft offer set issue by issue (not binding).
  function renderTalk(st) {
    if (st.role === "observer") return;
    $("talk-box").classList.remove("hidden");
    const off = !st.talk.on || st.finished;
    $("talk-off").textContent = st.finished ? "The game is over: the talk channel is closed."
      : "The teacher has switched the talk channel off.";
    $("talk-off").classList.toggle("hidden", !off);
    $("talk-send").disabled = off;
    if (!draftBuilt) {
      draftBuilt = true;
      const to = $("talk-to");
      to.append(el("option", {value: "all", text: "everybody"}));
      for (const [role, r] of Object.entries(st.roles)) {
        if (role !== "observer" && role !== st.role) to.append(el("option", {value: role, text: `${role} (${r.kind})`}));
      }
      const box = $("draft-issues");
      for (const item of st.agenda) {
        const sel = el("select", {class: "draft-select", "data-issue": item.issue});
        sel.append(el("option", {value: "", text: "(not in this draft)"}));
        for (const o of item.options) sel.append(el("option", {value: o.option, text: o.words}));
        box.append(el("label", {class: "issue-row"}, el("span", {class: "issue-label", text: item.label}), sel));
      }
    }
    renderMessages($("messages"), st.messages);
  }

  async function say() {
    $("talk-error").textContent = "";
    const body = {to: $("talk-to").value, text: $("talk-text").value};
    const draft = {};
    if ($("talk-draft-on").checked) {
      for (const sel of document.querySelectorAll("#draft-issues select")) if (sel.value) draft[sel.dataset.issue] = sel.value;
    }
    if (Object.keys(draft).length) body.terms = draft;
    try {
      await api("POST", `/api/sessions/${me.code}/messages`, body, me.token);
      $("talk-text").value = "";
      for (const sel of document.querySelectorAll("#draft-issues select")) sel.value = "";
      $("talk-draft-on").checked = false;
      $("draft-issues").classList.add("hidden");
      refresh();
    } catch (e) {
      $("talk-error").textContent = e.message;
    }
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
  $("talk-send").addEventListener("click", say);
  $("talk-draft-on").addEventListener("change", () => $("draft-issues").classList.toggle("hidden", !$("talk-draft-on").checked));
  $("find").addEventListener("click", find);
  $("take").addEventListener("click", take);
  $("code").addEventListener("keydown", (e) => { if (e.key === "Enter") find(); });
  const fromUrl = new URLSearchParams(location.search).get("code");
  if (fromUrl) $("code").value = fromUrl;
  if (me) start();
})();
