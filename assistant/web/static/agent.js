// Agent console: the team queues, a ticket's conversation with internal notes and events,
// reply, resolve, escalate, transfer, and the assist panel (details, articles, canned replies).
// Text is always inserted as text, never HTML.
"use strict";
(() => {
  /** The console's own words (the page's static labels are in agent.html). */
  const TEXT = {
    signedIn: (agent, teams) => `Signed in as ${agent}${teams.length ? ` · ${teams.join(", ")}` : ""}`,
    count: (shown, open) => `${shown} shown · ${open} open in the queue`,
    noneWaiting: "No open tickets.",
    myTeams: (teams) => `My teams (${teams.join(", ")})`,
    allTeams: "All teams",
    noCategory: "no category",
    heldBy: (agent) => `held by ${agent}`,
    team: (team) => `team ${team}`,
    resolution: (text) => `resolution: ${text}`,
    rated: (score, comment) => `rated ${score}/5${comment ? ` (“${comment}”)` : ""}`,
    reopened: (n) => (n > 1 ? `reopened ×${n}` : "reopened"),
    channel: { chat: "chat", email: "email" },
    satisfaction: (rated, shown, average) => (rated
      ? `Rated ${rated} of the ${shown} shown: average ${average.toFixed(1)}/5`
      : `None of the ${shown} shown is rated yet.`),
    noDetails: "none given",
    missing: (fields) => `Missing: ${fields.join(", ")}`,
    nothingMissing: "Every detail this category needs is given.",
    role: {
      user: () => "user",
      assistant: () => "assistant",
      agent: (author) => `agent ${author || ""}`.trim(),
      note: (author) => `internal note${author ? ` · ${author}` : ""}`,
      event: (author) => `internal event${author ? ` · ${author}` : ""}`,
    },
    assistLoading: "Looking for articles…",
    assistFailed: (message) => `Assist unavailable: ${message}`,
    noArticles: "No article fits the user's messages yet.",
    articleMeta: (a) => `${a.id} · score ${a.score.toFixed(2)}${a.fallback ? ` · ${a.lang} only` : ""}`,
    showSteps: "Steps",
    insertSteps: "Insert steps",
    insertStepsOf: (title) => `Insert the steps of “${title}” into the reply`,
    canned: {
      greeting: "Greeting", ask_tx_hash: "Ask for the tx hash",
      checking_chain: "Checking with the chain", never_share_secret: "Never share the phrase",
      closing: "Closing",
    },
    cannedInsert: (label) => `Insert the canned reply “${label}” into the reply`,
    agentsGroup: "Agents",
    teamsGroup: "Team queues",
    agentOption: (id, teams) => `${id} (${teams.join(", ")})`,
    drafting: "Drafting…",
    drafted: (path, created) => `${created === false ? "Draft already written" : "Draft written"}: ${path}`,
    draftMissing: "Drafting articles is not available on this server.",
    draftRefused: (message) => `Not drafted: ${message}`,
    escalated: (team) => `Escalated to ${team}.`,
    transferred: (to) => `Transferred to ${to}.`,
  };

  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("agentToken") || "";
  let me = { agent: "", teams: [] };
  let directory = { teams: [], agents: [] };
  let current = null;
  let assistKey = "";
  let timer = null;

  async function api(path, options = {}) {
    const res = await fetch(path, {
      ...options,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const message = (body.error && body.error.message) || `HTTP ${res.status}`;
      throw Object.assign(new Error(message), { status: res.status });
    }
    $("error").textContent = "";
    return body;
  }

  const show = (err) => { $("error").textContent = err.message; };
  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  };
  const path = (id, action) => `/agent/tickets/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;

  /** Options of a select, grouped or not; the chosen value is kept when it is still offered. */
  function fillSelect(select, groups) {
    const keep = select.value;
    select.replaceChildren();
    for (const [label, options] of groups) {
      if (!options.length) continue;
      const parent = label ? el("optgroup") : select;
      if (label) { parent.label = label; select.append(parent); }
      for (const [value, text] of options) {
        const option = el("option", text);
        option.value = value;
        parent.append(option);
      }
    }
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
    return select.options.length;
  }

  // ------------------------------------------------------------------ the list

  function teamFilter() {
    const chosen = $("team").value;
    if (chosen !== "mine") return chosen ? [chosen] : [];
    return me.teams.length === directory.teams.length ? [] : me.teams;
  }

  async function fetchTickets(params, teams) {
    if (teams.length <= 1) {
      if (teams.length) params.set("team", teams[0]);
      return api(`/agent/tickets?${params}`);
    }
    // Several of my teams (not all of them): one request per team, merged in queue order.
    const parts = await Promise.all(teams.map((team) => {
      const p = new URLSearchParams(params);
      p.set("team", team);
      return api(`/agent/tickets?${p}`);
    }));
    const tickets = parts.flatMap((p) => p.tickets)
      .sort((a, b) => (a.priority === "urgent" ? 0 : 1) - (b.priority === "urgent" ? 0 : 1) || a.seq - b.seq);
    return { tickets, open: parts[0].open };
  }

  async function loadList() {
    const params = new URLSearchParams({ status: $("status").value });
    if ($("lang").value) params.set("lang", $("lang").value);
    const data = await fetchTickets(params, teamFilter());
    $("count").textContent = TEXT.count(data.tickets.length, data.open);
    const body = $("tickets");
    body.replaceChildren();
    for (const t of data.tickets) {
      const row = el("tr");
      row.tabIndex = 0;
      row.dataset.id = t.id;
      const message = el("td", null, "message");
      if (t.reopened) message.append(el("span", TEXT.reopened(t.reopened), "badge reopened"));
      message.append(el("span", TEXT.channel[t.channel] || t.channel, `badge channel ${t.channel}`),
        el("span", t.query, "query"));
      const agent = el("td", t.agent || "—");
      if (t.rating) agent.append(el("span", `★ ${t.rating}/5`, "rating"));
      row.append(el("td", t.priority, t.priority === "urgent" ? "urgent" : ""), el("td", t.team, "team"),
        el("td", new Date(t.created_at).toLocaleString()), el("td", t.lang),
        el("td", t.category || "—"), message, agent);
      row.addEventListener("click", () => openTicket(t.id).catch(show));
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openTicket(t.id).catch(show); }
      });
      body.append(row);
    }
    const rated = data.tickets.filter((t) => t.rating);
    $("satisfaction").hidden = $("status").value !== "resolved";
    $("satisfaction").textContent = TEXT.satisfaction(rated.length, data.tickets.length,
      rated.reduce((sum, t) => sum + t.rating, 0) / (rated.length || 1));
  }

  // ------------------------------------------------------------------ one ticket

  function renderMessages(t) {
    $("messages").replaceChildren(...t.messages.map((m) => {
      const internal = m.role === "note" || m.role === "event";
      const li = el("li", null, internal ? `${m.role} internal` : m.role);
      const label = (TEXT.role[m.role] || (() => m.role))(m.author);
      li.append(el("span", label, "role"), el("span", m.text, "text"));
      return li;
    }));
  }

  function render(t) {
    // Another ticket: what was typed for the previous one must never reach this user.
    if (!current || current.id !== t.id) {
      for (const id of ["reply", "resolution", "note", "escalate-reason"]) $(id).value = "";
      $("reply").style.height = "";
      $("draft-result").hidden = true;
      $("ticket-status").textContent = "";
    }
    current = t;
    $("console").classList.add("reading");
    $("ticket").hidden = false;
    $("ticket-title").textContent = `Ticket ${t.id}`;
    $("ticket-meta").textContent = [t.status, t.priority, t.lang, t.category || TEXT.noCategory,
      TEXT.team(t.team), TEXT.channel[t.channel] || t.channel,
      t.agent && TEXT.heldBy(t.agent), t.resolution && TEXT.resolution(t.resolution),
      t.rating && TEXT.rated(t.rating, t.rating_comment)].filter(Boolean).join(" · ");
    const badges = $("ticket-badges");
    badges.replaceChildren();
    if (t.priority === "urgent") badges.append(el("span", "urgent", "badge urgent"));
    if (t.reopened) badges.append(el("span", TEXT.reopened(t.reopened), "badge reopened"));
    badges.append(el("span", TEXT.channel[t.channel] || t.channel, `badge channel ${t.channel}`));
    if (t.contact) badges.append(el("span", t.contact, "badge contact"));
    $("candidates").replaceChildren(...(t.candidates || []).map((c) => el("li", `${c.title} (${c.id}, ${c.score})`)));
    renderMessages(t);

    const mine = t.status === "claimed" && t.agent === me.agent;
    $("claim").hidden = t.status !== "open";
    $("release").hidden = !mine;
    $("draft").hidden = t.status !== "resolved";
    if (t.status !== "resolved") $("draft-result").hidden = true;
    for (const id of ["reply-form", "resolve-form", "escalate-form", "transfer-form"]) $(id).hidden = !mine;
    const others = directory.teams.filter((x) => x.id !== t.team);
    const canEscalate = fillSelect($("escalate-team"), [[null, others.map((x) => [x.id, x.name])]]) > 0;
    $("escalate-form").hidden = !mine || !canEscalate;
    fillSelect($("transfer-to"), [
      [TEXT.agentsGroup, directory.agents.filter((a) => a.id !== me.agent)
        .map((a) => [`agent:${a.id}`, TEXT.agentOption(a.id, a.teams)])],
      [TEXT.teamsGroup, others.map((x) => [`team:${x.id}`, x.name])],
    ]);
    for (const b of document.querySelectorAll("#assist button")) b.disabled = !mine;
  }

  async function openTicket(id) {
    const t = await api(path(id));
    render(t);
    await loadAssist(t);
  }

  /** The open ticket again (new user messages, another agent's moves); assist reloads only
   * when what it reads changed. */
  async function refreshTicket() {
    if (!current) return;
    const t = await api(path(current.id));
    if (t.updated_at !== current.updated_at || t.status !== current.status) {
      render(t);
      await loadAssist(t);
    }
  }

  async function act(action, payload) {
    const t = await api(path(current.id, action), { method: "POST", body: JSON.stringify(payload || {}) });
    render(t);
    // The list and the assist panel follow; the caller's form is cleared at once.
    Promise.all([loadAssist(t), loadList()]).catch(show);
    return t;
  }

  // ------------------------------------------------------------------ assist

  /** Puts text into the reply box at the cursor (a blank line apart from what is there). */
  function insertReply(text) {
    const box = $("reply");
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? start;
    const before = box.value.slice(0, start).replace(/\s+$/, "");
    const after = box.value.slice(end).replace(/^\s+/, "");
    const joined = (before ? `${before}\n\n` : "") + text;
    box.value = joined + (after ? `\n\n${after}` : "");
    box.style.height = "";  // grown to show what was inserted (up to the CSS maximum)
    box.style.height = `${box.scrollHeight + 4}px`;
    box.focus();
    box.setSelectionRange(joined.length, joined.length);
  }

  function renderDetails(details, missing) {
    const dl = $("details");
    dl.replaceChildren();
    if (!details.length) dl.append(el("dt", "—"), el("dd", TEXT.noDetails));
    for (const d of details) dl.append(el("dt", d.field), el("dd", d.value));
    $("missing").textContent = missing.length ? TEXT.missing(missing) : TEXT.nothingMissing;
    $("missing").className = missing.length ? "missing" : "";
  }

  function renderAssist(data) {
    renderDetails(data.details, data.missing);
    const list = $("assist-articles");
    list.replaceChildren();
    if (!data.articles.length) list.append(el("li", TEXT.noArticles, "empty"));
    for (const a of data.articles) {
      const li = el("li", null, "article");
      li.dataset.id = a.id;
      li.append(el("strong", a.title), el("span", TEXT.articleMeta(a), "meta"));
      const steps = el("details");
      steps.append(el("summary", TEXT.showSteps), el("div", a.steps, "steps"));
      const insert = el("button", TEXT.insertSteps, "insert-steps");
      insert.type = "button";
      insert.setAttribute("aria-label", TEXT.insertStepsOf(a.title));
      insert.addEventListener("click", () => insertReply(a.steps));
      li.append(steps, insert);
      list.append(li);
    }
    $("canned").replaceChildren(...data.canned.map((c) => {
      const label = TEXT.canned[c.key] || c.key;
      const b = el("button", label, "canned-reply");
      b.type = "button";
      b.title = c.text;
      b.dataset.key = c.key;
      b.setAttribute("aria-label", TEXT.cannedInsert(label));
      b.addEventListener("click", () => insertReply(c.text));
      return b;
    }));
    const mine = current && current.status === "claimed" && current.agent === me.agent;
    for (const b of document.querySelectorAll("#assist button")) b.disabled = !mine;
  }

  async function loadAssist(t) {
    const users = t.messages.filter((m) => m.role === "user").length;
    const key = `${t.id}:${users}:${Object.keys(t.details || {}).length}`;
    if (key === assistKey) return;
    if (!assistKey.startsWith(`${t.id}:`)) {  // never another ticket's steps or details
      for (const id of ["details", "assist-articles", "canned"]) $(id).replaceChildren();
      $("missing").textContent = "";
    }
    assistKey = key;
    $("assist-status").textContent = TEXT.assistLoading;
    try {
      const data = await api(path(t.id, "assist"));
      if (!current || current.id !== t.id) return;
      $("assist-status").textContent = "";
      renderAssist(data);
    } catch (err) {
      assistKey = "";
      $("assist-status").textContent = TEXT.assistFailed(err.message);
      renderDetails(Object.entries(t.details || {}).map(([field, value]) => ({ field, value })), []);
      $("assist-articles").replaceChildren();
      $("canned").replaceChildren();
    }
  }

  // ------------------------------------------------------------------ drafts

  async function draft() {
    $("draft-result").hidden = false;
    $("draft-status").textContent = TEXT.drafting;
    $("draft-markdown").textContent = "";
    try {
      const d = await api(path(current.id, "draft"), { method: "POST", body: "{}" });
      $("draft-status").textContent = TEXT.drafted(d.path, d.created);
      $("draft-markdown").textContent = d.markdown;
    } catch (err) {
      $("draft-status").textContent = err.status === 404 ? TEXT.draftMissing : TEXT.draftRefused(err.message);
    }
  }

  // ------------------------------------------------------------------ signing in

  async function signIn(value) {
    token = value;
    me = await api("/agent/me");
    directory = await api("/agent/teams");
    sessionStorage.setItem("agentToken", token);
    $("login").hidden = true;
    $("console").hidden = false;
    $("who").hidden = false;
    $("who").textContent = TEXT.signedIn(me.agent, me.teams || []);
    me.teams = me.teams || [];
    fillSelect($("team"), [[null, [["mine", TEXT.myTeams(me.teams)], ["", TEXT.allTeams],
      ...directory.teams.map((x) => [x.id, x.name])]]]);
    $("team").value = "mine";
    await loadList();
    clearInterval(timer);
    timer = setInterval(() => { loadList().catch(show); refreshTicket().catch(show); }, 5000);
  }

  function submit(id, handler) {
    $(id).addEventListener("submit", (e) => { e.preventDefault(); handler().catch(show); });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value).catch(show); });
    for (const id of ["status", "team", "lang"]) $(id).addEventListener("change", () => loadList().catch(show));
    $("claim-next").addEventListener("click", async () => {
      try {
        const body = {};
        if ($("lang").value) body.lang = $("lang").value;
        if (!["mine", ""].includes($("team").value)) body.team = $("team").value;
        const data = await api("/agent/tickets/claim", { method: "POST", body: JSON.stringify(body) });
        if (data.ticket) {
          render(data.ticket);
          await loadAssist(data.ticket);
          await loadList();
        } else {
          $("count").textContent = TEXT.noneWaiting;
        }
      } catch (err) { show(err); }
    });
    $("claim").addEventListener("click", () => act("claim").catch(show));
    $("release").addEventListener("click", () => act("release").catch(show));
    $("draft").addEventListener("click", () => draft());
    submit("reply-form", async () => {
      await act("reply", { text: $("reply").value });
      $("reply").value = "";
      $("reply").style.height = "";
    });
    submit("resolve-form", async () => {
      await act("resolve", { resolution: $("resolution").value });
      $("resolution").value = "";
    });
    submit("note-form", async () => { await act("notes", { text: $("note").value }); $("note").value = ""; });
    submit("escalate-form", async () => {
      const team = $("escalate-team").value;
      await act("escalate", { team, reason: $("escalate-reason").value });
      $("escalate-reason").value = "";
      $("ticket-status").textContent = TEXT.escalated(team);
    });
    submit("transfer-form", async () => {
      const [kind, id] = $("transfer-to").value.split(/:(.*)/s);
      await act("transfer", kind === "agent" ? { agent: id } : { team: id });
      $("ticket-status").textContent = TEXT.transferred(id);
    });
    if (token) signIn(token).catch(() => sessionStorage.removeItem("agentToken"));
  });
})();
