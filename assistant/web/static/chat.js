// The chat window over POST /answer: answers with their article, choices as buttons, the
// handoff (details, ticket, queue position, agent replies, rating) and helpful / not helpful.
// Every text from the server is put in the page as text nodes; only article HTML from
// GET /articles (sanitised on the server) is inserted as HTML. Endpoints a server does not
// have (404) are skipped quietly: the chat keeps working over /answer alone. The ticket's
// secret, sent once in the reply that created the ticket, is kept with the ticket in
// sessionStorage (this tab only) and sent as `Authorization: Bearer` on every ticket call.
import { applyLang, bindLangSwitch, initialLang, stored, t } from "./i18n.js";
import { el, renderText as renderMarkdown, withoutListedChoices } from "./markdown.js";

const log = document.getElementById("log");
const form = document.getElementById("composer");
const input = document.getElementById("message");
const params = new URLSearchParams(window.location.search);
const POLL_MS = Math.max(250, Number(params.get("poll_ms")) || 4000);
const OPEN = new Set(["open", "claimed"]);

const state = {
  lang: initialLang(),
  session: sessionId(),
  ticket: null,          // {id, status, position, eta_minutes, secret}
  ticketsApi: true,      // false once the server says it has no /tickets
  awaitingDetails: false,
  seen: 0,               // ticket messages already shown
  poller: null,
  card: null,            // the ticket card, updated on each poll
};

function sessionId() {
  let id = stored("sessionStorage", "help.session");
  if (!id) {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    stored("sessionStorage", "help.session", id);
  }
  return id;
}

async function call(method, url, body, secret) {
  const headers = { Accept: "application/json" };
  if (body) headers["Content-Type"] = "application/json";
  if (secret) headers.Authorization = `Bearer ${secret}`;
  try {
    const resp = await fetch(url, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await resp.json().catch(() => null);
    return { ok: resp.ok, status: resp.status, data };
  } catch {
    return { ok: false, status: 0, data: null };
  }
}

// ------------------------------------------------------------------ rendering

/** An answer's Markdown as DOM, its links made safe (article links open in the help centre). */
export function renderText(text) {
  return renderMarkdown(text, safeHref);
}

function safeHref(href) {
  const article = /^(?:article:|#)([a-z0-9][a-z0-9_-]*)$/.exec(href);
  if (article) return `/?${new URLSearchParams({ article: article[1], lang: state.lang })}`;
  try {
    const url = new URL(href, window.location.href);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}


function bubble(role, ...content) {
  const who = { user: "chat.you", bot: "chat.bot", agent: "chat.agent" }[role];
  const node = el("div", { class: `msg ${role}` },
    el("p", { class: "who", "data-i18n": who, text: t(state.lang, who) }),
    el("div", { class: "text" }, ...content));
  log.append(node);
  reveal(node);
  return node;
}

/** Scroll the conversation so that `node` (a message, or a part added to one) is in view. */
function reveal(node) {
  node.scrollIntoView({ block: "end" });
}

function thinking() {
  return bubble("bot", el("p", { class: "thinking", text: t(state.lang, "chat.thinking") }));
}

function articleLink(article, lang) {
  const href = `/?${new URLSearchParams({ article: article.id, lang: lang || state.lang })}`;
  return el("p", { class: "article-link" },
    el("a", { href, target: "_blank", rel: "noopener", text: `${t(state.lang, "chat.read")}: ${article.title}` }));
}

// ------------------------------------------------------------------ conversation

async function send(text, { query, extra = {} } = {}) {
  const message = query ?? text;
  bubble("user", el("p", { text }));
  if (state.ticket && state.ticket.secret && state.ticketsApi && OPEN.has(state.ticket.status) && !state.awaitingDetails) {
    const r = await call("POST", `/tickets/${encodeURIComponent(state.ticket.id)}/messages`, { text: message }, state.ticket.secret);
    if (r.ok) {
      reveal(bubble("bot", el("p", { class: "ack", role: "status", text: t(state.lang, "chat.added", state.ticket.id) })));
      return;
    }
    if (r.status === 404 || r.status === 405) state.ticketsApi = false;
  }
  const wait = thinking();
  const r = await call("POST", "/answer", { query: message, session_id: state.session, ...extra });
  wait.remove();
  if (!r.ok || !r.data) {
    bubble("bot", el("p", { role: "alert", text: t(state.lang, r.status === 429 ? "chat.busy" : "chat.error") }));
    return;
  }
  showReply(r.data, message);
}

/** The conversation's language wins over the page's: chrome, buttons and the handoff follow
 * the language the user writes in. */
function follow(lang) {
  if (lang !== "en" && lang !== "zh") return;
  if (lang === state.lang) return;
  state.lang = lang;
  applyLang(lang);
  document.title = t(lang, "chat.title");
}


function showReply(reply, query) {
  follow(reply.lang);
  const clarify = reply.action === "clarify" && reply.candidates && reply.candidates.length;
  const text = clarify ? withoutListedChoices(reply.answer, reply.candidates.map((c) => c.title)) : reply.answer;
  const node = bubble("bot", renderText(text));
  node.lang = reply.lang === "zh" ? "zh-CN" : "en";
  const body = node.querySelector(".text");
  state.awaitingDetails = false;
  if (reply.article) body.append(articleLink(reply.article, reply.lang));
  if (clarify) body.append(choices(reply.candidates, query, reply.lang, text.split("\n")[0]));
  if (reply.action === "answer" && reply.article) body.append(feedback(query, reply.article.id));
  if ((reply.offers || []).includes("report_theft")) body.append(reportTheft(reply.lang));
  if (reply.action === "handoff") {
    if (reply.needs && reply.needs.length) {
      state.awaitingDetails = true;
      body.append(detailsForm(reply.needs));
    }
    if (reply.ticket) startTicket(reply.ticket, body);
  }
  reveal(node);
}

function choices(candidates, query, lang, prompt) {
  const group = el("div", { class: "choices", role: "group", "aria-label": prompt || t(state.lang, "chat.choose") });
  for (const c of candidates) {
    group.append(el("button", {
      type: "button", class: "choice", text: c.title,
      onclick: () => {
        for (const b of group.querySelectorAll("button")) b.disabled = true;
        showArticle(c, query, lang);
      },
    }));
  }
  return group;
}

async function showArticle(candidate, query, lang) {
  bubble("user", el("p", { text: candidate.title }));
  const wait = thinking();
  const r = await call("GET", `/articles/${encodeURIComponent(candidate.id)}?lang=${lang || state.lang}`);
  wait.remove();
  if (!r.ok || !r.data) {
    bubble("bot", el("p", { role: "alert", text: t(state.lang, "chat.error") }));
    return;
  }
  const html = el("div", { class: "article-body" });
  html.innerHTML = r.data.html; // sanitised on the server (no raw HTML, allow-listed tags)
  for (const link of html.querySelectorAll("a[href]")) {
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
  }
  const node = bubble("bot", el("p", {}, el("strong", { text: r.data.title })), html,
    articleLink(r.data, lang), feedback(query, r.data.id));
  node.lang = r.data.lang === "zh" ? "zh-CN" : "en";
  reveal(node);
}

function feedback(query, articleId) {
  const status = el("p", { class: "feedback-status", role: "status" });
  const group = el("div", { class: "feedback", role: "group", "aria-label": t(state.lang, "chat.helpful") },
    el("span", { text: t(state.lang, "chat.helpful") }));
  const vote = async (helpful, button) => {
    for (const b of group.querySelectorAll("button.vote")) b.disabled = true;
    button.setAttribute("aria-pressed", "true");
    const r = await call("POST", "/feedback", { session_id: state.session, query, article_id: articleId, helpful });
    status.textContent = t(state.lang, "chat.thanks");
    const offer = !helpful && !(r.ok && r.data && r.data.offer_handoff === false);
    if (offer) {
      const human = el("button", {
        type: "button", class: "human", text: t(state.lang, "chat.human"),
        onclick: (e) => {
          e.currentTarget.disabled = true;
          send(t(state.lang, "chat.humanText"));
        },
      });
      group.append(human);
      reveal(human);
    }
  };
  const yes = el("button", { type: "button", class: "vote", "aria-pressed": "false", text: t(state.lang, "chat.yes"), onclick: (e) => vote(true, e.currentTarget) });
  const no = el("button", { type: "button", class: "vote", "aria-pressed": "false", text: t(state.lang, "chat.no"), onclick: (e) => vote(false, e.currentTarget) });
  group.append(yes, no, status);
  return group;
}

function reportTheft(lang) {
  const key = lang === "zh" ? "zh" : "en";
  return el("button", {
    type: "button", class: "human report-theft", text: t(key, "chat.reportTheft"),
    onclick: (e) => {
      e.currentTarget.disabled = true;
      send(t(key, "chat.reportTheftText"));
    },
  });
}

function detailsForm(needs) {
  const id = `details-${Date.now()}`;
  const text = el("textarea", { id, rows: "2", maxlength: "2000" });
  const wrap = el("form", { class: "details card" },
    el("label", { for: id, text: t(state.lang, "chat.details") }),
    el("ul", {}, ...needs.map((n) => el("li", { text: n.label || n.field }))),
    text,
    el("div", { class: "row" },
      el("button", { type: "submit", text: t(state.lang, "chat.detailsSend") }),
      el("button", {
        type: "button", class: "secondary", text: t(state.lang, "chat.skip"),
        onclick: () => {
          disable(wrap);
          send(t(state.lang, "chat.skip"), { query: "skip", extra: { skip_details: true } });
        },
      })));
  wrap.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) return text.focus();
    disable(wrap);
    send(value);
  });
  setTimeout(() => text.focus(), 0);
  return wrap;
}

function disable(container) {
  for (const c of container.querySelectorAll("button, textarea, input")) c.disabled = true;
}

// ------------------------------------------------------------------ ticket

function startTicket(ticket, container) {
  stopPolling();
  // A reply about a ticket this page already holds (more details, asked again) carries no
  // secret: the one from the reply that created it stays.
  const kept = state.ticket && state.ticket.id === ticket.id ? state.ticket.secret : null;
  state.ticket = { status: "open", ...ticket, secret: ticket.secret || kept || null };
  state.seen = 0;
  stored("sessionStorage", "help.ticket", JSON.stringify(state.ticket));
  state.card = el("dl", { class: "ticket card", "aria-label": t(state.lang, "chat.ticket") });
  container.append(state.card);
  renderTicket();
  if (state.ticketsApi && state.ticket.secret) {
    state.poller = setInterval(poll, POLL_MS);
    poll();
  }
}

function renderTicket() {
  const tk = state.ticket;
  const rows = [["chat.ticket", tk.id, "ticket-id"]];
  if (tk.position !== undefined && tk.position !== null && OPEN.has(tk.status)) rows.push(["chat.position", String(tk.position), "ticket-position"]);
  if (tk.eta_minutes !== undefined && tk.eta_minutes !== null && OPEN.has(tk.status)) rows.push(["chat.eta", t(state.lang, "chat.minutes", tk.eta_minutes), "ticket-eta"]);
  const statuses = t(state.lang, "chat.statuses");
  if (tk.status) rows.push(["chat.status", statuses[tk.status] || tk.status, "ticket-status"]);
  state.card.replaceChildren(...rows.flatMap(([key, value, cls]) => [
    el("dt", { text: t(state.lang, key) }), el("dd", { class: cls, text: value })]));
}

async function poll() {
  const tk = state.ticket;
  if (!tk) return;
  const r = await call("GET", `/tickets/${encodeURIComponent(tk.id)}`, null, tk.secret);
  if (r.status === 404 || r.status === 405) {
    state.ticketsApi = false;
    stopPolling();
    return;
  }
  if (!r.ok || !r.data || state.ticket !== tk) return;
  const before = tk.status;
  Object.assign(tk, {
    status: r.data.status || tk.status,
    position: r.data.position ?? tk.position,
    eta_minutes: r.data.eta_minutes ?? tk.eta_minutes,
  });
  stored("sessionStorage", "help.ticket", JSON.stringify(tk));
  renderTicket();
  const messages = Array.isArray(r.data.messages) ? r.data.messages : [];
  for (const m of messages.slice(state.seen)) {
    if (m.role === "agent") bubble("agent", renderText(m.text));
  }
  state.seen = Math.max(state.seen, messages.length);
  if (tk.status === "resolved" && before !== "resolved") {
    stopPolling();
    bubble("bot", ratingForm(tk));
    if (r.data.reopen_until) bubble("bot", reopenForm(tk));
  } else if (!OPEN.has(tk.status)) {
    stopPolling();
  }
}

function stopPolling() {
  if (state.poller) clearInterval(state.poller);
  state.poller = null;
}

function ratingForm(ticket) {
  const ticketId = ticket.id;
  const form = el("form", { class: "rating card" });
  const fieldset = el("fieldset", {}, el("legend", { text: t(state.lang, "chat.rate") }));
  const stars = el("div", { class: "stars" });
  for (let n = 1; n <= 5; n += 1) {
    const id = `rate-${ticketId}-${n}`;
    stars.append(el("input", { type: "radio", name: "score", id, value: String(n), required: true }),
      el("label", { for: id, title: t(state.lang, "chat.score", n), text: String(n) }));
  }
  const commentId = `comment-${ticketId}`;
  fieldset.append(stars);
  const status = el("p", { role: "status" });
  form.append(fieldset,
    el("label", { for: commentId, text: t(state.lang, "chat.comment") }),
    el("textarea", { id: commentId, name: "comment", rows: "2", maxlength: "1000" }),
    el("button", { type: "submit", text: t(state.lang, "chat.rateSend") }), status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const r = await call("POST", `/tickets/${encodeURIComponent(ticketId)}/rating`,
      { score: Number(data.get("score")), comment: String(data.get("comment") || "") }, ticket.secret);
    status.textContent = t(state.lang, r.ok ? "chat.rated" : "chat.error");
    if (r.ok) {
      disable(form);
      stored("sessionStorage", "help.ticket", null);
    }
  });
  return form;
}

// "Still not solved": the resolved ticket goes back to the same team with the user's words.
function reopenForm(ticket) {
  const form = el("form", { class: "reopen card" });
  const textId = `reopen-${ticket.id}`;
  const status = el("p", { role: "status" });
  form.append(el("p", { class: "reopen-title", text: t(state.lang, "chat.reopen") }),
    el("label", { for: textId, text: t(state.lang, "chat.reopenText") }),
    el("textarea", { id: textId, name: "text", rows: "2", maxlength: "2000", required: true }),
    el("button", { type: "submit", text: t(state.lang, "chat.reopenSend") }), status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = String(new FormData(form).get("text") || "").trim();
    if (!text) return;
    const r = await call("POST", `/tickets/${encodeURIComponent(ticket.id)}/reopen`, { text }, ticket.secret);
    if (r.ok && r.data) {
      disable(form);
      status.textContent = t(state.lang, "chat.reopened");
      Object.assign(ticket, { status: r.data.status, position: r.data.position, eta_minutes: r.data.eta_minutes });
      state.seen = Array.isArray(r.data.messages) ? r.data.messages.length : state.seen;
      stored("sessionStorage", "help.ticket", JSON.stringify(ticket));
      renderTicket();
      if (!state.poller) state.poller = setInterval(poll, POLL_MS);
    } else {
      status.textContent = t(state.lang, r.status === 409 ? "chat.reopenRefused" : "chat.error");
      if (r.status === 409) disable(form);
    }
  });
  return form;
}

// ------------------------------------------------------------------ page

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  send(text);
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit();
  }
});
bindLangSwitch((lang) => {
  state.lang = lang;
  applyLang(lang);
  document.title = t(lang, "chat.title");
});

applyLang(state.lang);
document.title = t(state.lang, "chat.title");
bubble("bot", el("p", { "data-i18n": "chat.hello", text: t(state.lang, "chat.hello") }));
const saved = stored("sessionStorage", "help.ticket");
if (saved) {
  try {
    const ticket = JSON.parse(saved);
    if (ticket && ticket.id && OPEN.has(ticket.status)) startTicket(ticket, bubble("bot").querySelector(".text"));
  } catch {
    stored("sessionStorage", "help.ticket", null);
  }
}
input.focus();
