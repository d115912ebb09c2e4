// negsim classroom: the teacher's page. Start a session, watch who joins, advance the months, download.
"use strict";

(() => {
  const {el, api, live, loadState, renderGame, renderMessages} = negsim;
  const $ = (id) => document.getElementById(id);
  let me = JSON.parse(sessionStorage.getItem("negsim.teacher") || "null");
  let stop = null;
  let busy = false;
  // The talk switches sent (a state read that began before one, or ends while one is on its way, is stale for
  // the checkboxes: it must not set back what the teacher just clicked).
  let talkSwitches = 0, talkPending = 0;

  // The teacher secret: from the address the server printed (#secret=...), kept in this tab only and taken
  // out of the address bar at once; or typed into the field.
  const fromAddress = new URLSearchParams(location.hash.slice(1)).get("secret");
  if (fromAddress) {
    sessionStorage.setItem("negsim.secret", fromAddress);
    history.replaceState(null, "", location.pathname);
  }
  const secret = () => $("secret").value.trim() || sessionStorage.getItem("negsim.secret") || "";
  if (sessionStorage.getItem("negsim.secret")) $("secret-row").classList.add("hidden");

  async function create() {
    $("start-error").textContent = "";
    if (!secret()) {
      $("secret-row").classList.remove("hidden");
      $("start-error").textContent = "Type the teacher secret the server printed when it started.";
      return;
    }
    try {
      const got = await api("POST", "/api/sessions", {}, secret());
      if ($("secret").value.trim()) sessionStorage.setItem("negsim.secret", $("secret").value.trim());
      me = {code: got.code, token: got.teacher_token};
      sessionStorage.setItem("negsim.teacher", JSON.stringify(me));
      start();
    } catch (e) {
      if (e.status === 401) {
        sessionStorage.removeItem("negsim.secret");
        $("secret-row").classList.remove("hidden");
      }
      $("start-error").textContent = e.message;
    }
  }

  function start() {
    $("start").classList.add("hidden");
    for (const id of ["lobby", "controls", "talk-box", "front-box", "months-box"]) $(id).classList.remove("hidden");
    $("code-big").textContent = me.code;
    if (!$("address").textContent) $("address").textContent = location.origin + "/";
    $("projector-link").href = `/projector#code=${me.code}`;
    $("summary-link").href = `/summary/${me.code}`;
    if (stop) stop();
    stop = live(me.code, me.token, refresh);
    refresh();
  }

  async function advance(until) {
    if (busy) return;
    busy = true;
    $("advance-error").textContent = "";
    try {
      await api("POST", `/api/sessions/${me.code}/advance`, {until}, me.token);
    } catch (e) {
      $("advance-error").textContent = e.message;
    }
    busy = false;
    refresh();
  }

  // Take a role from the student holding it: the model plays it until somebody takes it again.
  async function remove(role) {
    $("roles-error").textContent = "";
    try {
      await api("POST", `/api/sessions/${me.code}/remove`, {role}, me.token);
    } catch (e) {
      $("roles-error").textContent = e.message;
    }
    refresh();
  }

  async function download(path, name) {
    const res = await fetch(`/api/sessions/${me.code}/${path}`, {headers: {Authorization: "Bearer " + me.token}});
    if (!res.ok) { $("advance-error").textContent = "download failed: HTTP " + res.status; return; }
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", {href: url, download: name});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function refresh() {
    const switches = talkSwitches;
    const st = await loadState(me, "negsim.teacher", $("advance-error"), "start a new session", () => { if (stop) stop(); });
    if (st === null) return;
    const roles = $("roles");
    roles.replaceChildren();
    for (const [role, r] of Object.entries(st.roles)) {
      const text = role === "observer" ? `observers: ${r.count}`
        : `${role} (${r.kind}): ${r.taken ? "a student" : "the model"}`;
      const li = el("li", {class: r.taken || (r.count > 0) ? "taken" : "free", "data-role": role, text});
      if (r.taken && role !== "observer" && !st.finished) {
        li.append(" ", el("button", {class: "secondary remove", "data-role": role, text: "Remove the student",
          onclick: () => remove(role)}));
      }
      roles.append(li);
    }
    let status = `Month ${st.month} of ${st.horizon} over`;
    if (st.phase === "deciding") {
      status += ` · talks in month ${st.stage.month}: ` + (st.waiting_for.length
        ? `waiting for ${st.waiting_for.join(", ")} to ${st.stage.kind}` : "every move is in");
    } else if (st.phase === "waiting") {
      status += " · ready: advance when the class is";
    } else {
      status += " · the game is over";
    }
    $("status").textContent = status;
    $("advance").disabled = $("advance-decision").disabled = st.finished;
    if (talkPending === 0 && switches === talkSwitches) {  // a state read before the teacher's last switch is stale
      $("talk-on").checked = st.talk.on;
      $("talk-projector").checked = st.talk.projector;
    }
    $("talk-on").disabled = $("talk-projector").disabled = st.finished;
    renderMessages($("messages"), st.messages);
    document.body.dataset.talk = st.talk.on ? "on" : "off";
    document.body.dataset.month = String(st.month);
    renderGame(st);
    document.body.dataset.waiting = (st.waiting_for || []).join(",");
  }

  // Switch the talk channel (or its display on the projector): the server says where it stands after.
  async function switchTalk(body) {
    $("talk-error").textContent = "";
    talkSwitches += 1;
    talkPending += 1;
    try {
      await api("POST", `/api/sessions/${me.code}/talk`, body, me.token);
    } catch (e) {
      $("talk-error").textContent = e.message;
    } finally {
      talkPending -= 1;
    }
    refresh();
  }

  $("talk-on").addEventListener("change", () => switchTalk({on: $("talk-on").checked}));
  $("talk-projector").addEventListener("change", () => switchTalk({projector: $("talk-projector").checked}));
  $("create").addEventListener("click", create);
  $("advance").addEventListener("click", () => advance("month"));
  $("advance-decision").addEventListener("click", () => advance("decision"));
  $("csv").addEventListener("click", () => download("game.csv", `negsim-class-${me.code}.csv`));
  $("replay").addEventListener("click", () => download("game.replay.json", `negsim-class-${me.code}.replay.json`));
  $("new").addEventListener("click", () => {
    sessionStorage.removeItem("negsim.teacher");
    if (stop) stop();
    location.reload();
  });
  if (me) start();
})();
