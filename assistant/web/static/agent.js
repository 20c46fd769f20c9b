// Agent console: list, claim, read, reply, resolve. Text is always inserted as text, never HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("agentToken") || "";
  let current = null;

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

  async function loadList() {
    const params = new URLSearchParams({ status: $("status").value });
    if ($("lang").value) params.set("lang", $("lang").value);
    const data = await api(`/agent/tickets?${params}`);
    $("count").textContent = `${data.tickets.length} shown · ${data.open} open in the queue`;
    const body = $("tickets");
    body.replaceChildren();
    for (const t of data.tickets) {
      const row = el("tr");
      row.tabIndex = 0;
      row.dataset.id = t.id;
      row.append(el("td", t.priority, t.priority === "urgent" ? "urgent" : ""),
        el("td", new Date(t.created_at).toLocaleString()), el("td", t.lang),
        el("td", t.category || "—"), el("td", t.query), el("td", t.agent || "—"));
      row.addEventListener("click", () => openTicket(t.id).catch(show));
      row.addEventListener("keydown", (e) => { if (e.key === "Enter") openTicket(t.id).catch(show); });
      body.append(row);
    }
  }

  function render(t) {
    current = t;
    $("ticket").hidden = false;
    $("ticket-title").textContent = `Ticket ${t.id}`;
    $("ticket-meta").textContent = `${t.status} · ${t.priority} · ${t.lang} · ${t.category || "no category"}`
      + (t.agent ? ` · held by ${t.agent}` : "") + (t.resolution ? ` · resolution: ${t.resolution}` : "")
      + (t.rating ? ` · rated ${t.rating}/5${t.rating_comment ? ` (“${t.rating_comment}”)` : ""}` : "");
    const details = $("details");
    details.replaceChildren();
    const entries = Object.entries(t.details || {});
    if (!entries.length) details.append(el("dt", "—"), el("dd", "none given"));
    for (const [k, v] of entries) details.append(el("dt", k), el("dd", v));
    const candidates = $("candidates");
    candidates.replaceChildren(...(t.candidates || []).map((c) => el("li", `${c.title} (${c.id}, ${c.score})`)));
    const messages = $("messages");
    messages.replaceChildren(...t.messages.map((m) => {
      const li = el("li", null, m.role);
      li.append(el("span", m.role === "agent" ? `agent ${m.author || ""}` : m.role, "role"), el("span", m.text));
      return li;
    }));
    const mine = t.status === "claimed";
    $("claim").hidden = t.status !== "open";
    $("release").hidden = !mine;
    $("reply-form").hidden = !mine;
    $("resolve-form").hidden = !mine;
  }

  async function openTicket(id) { render(await api(`/agent/tickets/${encodeURIComponent(id)}`)); }

  async function act(path, payload) {
    const t = await api(`/agent/tickets/${encodeURIComponent(current.id)}/${path}`, {
      method: "POST", body: JSON.stringify(payload || {}),
    });
    render(t);
    await loadList();
  }

  async function signIn(value) {
    token = value;
    const me = await api("/agent/me");
    sessionStorage.setItem("agentToken", token);
    $("login").hidden = true;
    $("console").hidden = false;
    $("who").hidden = false;
    $("who").textContent = `Signed in as ${me.agent}`;
    await loadList();
    setInterval(() => loadList().catch(show), 5000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value).catch(show); });
    $("status").addEventListener("change", () => loadList().catch(show));
    $("lang").addEventListener("change", () => loadList().catch(show));
    $("claim-next").addEventListener("click", async () => {
      try {
        const params = $("lang").value ? { lang: $("lang").value } : {};
        const data = await api("/agent/tickets/claim", { method: "POST", body: JSON.stringify(params) });
        if (data.ticket) { render(data.ticket); await loadList(); } else { $("count").textContent = "No open tickets."; }
      } catch (err) { show(err); }
    });
    $("claim").addEventListener("click", () => act("claim").catch(show));
    $("release").addEventListener("click", () => act("release").catch(show));
    $("reply-form").addEventListener("submit", (e) => {
      e.preventDefault();
      act("reply", { text: $("reply").value }).then(() => { $("reply").value = ""; }).catch(show);
    });
    $("resolve-form").addEventListener("submit", (e) => {
      e.preventDefault();
      act("resolve", { resolution: $("resolution").value }).then(() => { $("resolution").value = ""; }).catch(show);
    });
    if (token) signIn(token).catch(() => sessionStorage.removeItem("agentToken"));
  });
})();
