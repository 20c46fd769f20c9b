// <support-chat>: the chat as a floating button and panel for any page, on this server's origin
// or another one. The same conversation as the chat page: answers with their article, choices
// as buttons, "was this helpful?", the hand-over (details, ticket, place in the queue, agent
// replies), the rating once the ticket is resolved and "still not solved" to reopen it.
//
//   <script type="module" src="https://SUPPORT-HOST/static/support-chat.js"></script>
//   <support-chat lang="en"></support-chat>
//
// Attributes: api (base URL of the assistant; default: where this script was loaded from),
// lang (en, zh / zh-Hans / zh-CN, zh-Hant / zh-TW / zh-HK; default: the page's <html lang>),
// position (bottom-right, the default, or bottom-left), poll-ms (how often an open ticket is
// checked, default 4000). The attribute `open` is set while the panel is open.
//
// Everything lives in a shadow root: the page's CSS does not reach in and the widget's does not
// reach out. Every text from the server is put in as text; only article HTML from
// GET /articles (sanitised on the server) is inserted as HTML.
//
// The conversation is kept in localStorage under "support-chat:<api>" (session id, ticket id and
// its secret, the messages), so it survives page loads and follows the user across the site's
// pages. A message the server reports as holding a secret ("redacted": true) is never stored:
// a placeholder is stored and shown instead, and a message is stored only once the server has
// said whether it held one.
import { STRINGS as PAGE_STRINGS } from "./i18n.js";
import { el, renderText, withoutListedChoices } from "./markdown.js";

const OPEN = new Set(["open", "claimed"]);
const STORE_PREFIX = "support-chat:";
const MAX_MESSAGES = 80;
const FORGET_AFTER_MS = 30 * 24 * 3600 * 1000;

/** The widget's own strings; the rest come from the chat page's (i18n.js). */
export const STRINGS = {
  en: {
    "w.close": "Close the chat",
    "w.removed": "Message removed: it contained a secret (a recovery phrase or private key).",
    "w.resolved": (id) => `Your ticket ${id} has been resolved.`,
    "w.reopen": "Still not solved",
    "w.reopenLabel": "What is still not solved?",
    "w.reopenSend": "Reopen the ticket",
    "w.reopenText": "My problem is still not solved.",
    "w.reopened": (id) => `Your ticket ${id} is open again: an agent will reply here.`,
    "w.reopenGone": "This ticket can no longer be reopened. If you still need help, talk to a person and a new ticket will be opened.",
    "w.gone": "This ticket can no longer be followed here. If you still need help, talk to a person.",
    "w.unread": (n) => (n === 1 ? "1 new message" : `${n} new messages`),
  },
  "zh-Hans": {
    "w.close": "关闭对话",
    "w.removed": "消息已删除：其中含有助记词或私钥。",
    "w.resolved": (id) => `您的工单 ${id} 已解决。`,
    "w.reopen": "问题仍未解决",
    "w.reopenLabel": "还有什么问题没有解决？",
    "w.reopenSend": "重新打开工单",
    "w.reopenText": "我的问题仍未解决。",
    "w.reopened": (id) => `您的工单 ${id} 已重新打开，客服会在这里回复您。`,
    "w.reopenGone": "这个工单已无法重新打开。如仍需帮助，请转人工客服，我们会为您新建工单。",
    "w.gone": "无法再查看这个工单。如仍需帮助，请转人工客服。",
    "w.unread": (n) => `${n} 条新消息`,
  },
  // Traditional script: the simplified strings (the widget's and the chat page's) through
  // OpenCC s2tw, the converter the server uses for its replies (a test keeps them in step).
  "zh-Hant": {
    "w.close": "關閉對話",
    "w.removed": "消息已刪除：其中含有助記詞或私鑰。",
    "w.resolved": (id) => `您的工單 ${id} 已解決。`,
    "w.reopen": "問題仍未解決",
    "w.reopenLabel": "還有什麼問題沒有解決？",
    "w.reopenSend": "重新打開工單",
    "w.reopenText": "我的問題仍未解決。",
    "w.reopened": (id) => `您的工單 ${id} 已重新打開，客服會在這裡回覆您。`,
    "w.reopenGone": "這個工單已無法重新打開。如仍需幫助，請轉人工客服，我們會為您新建工單。",
    "w.gone": "無法再查看這個工單。如仍需幫助，請轉人工客服。",
    "w.unread": (n) => `${n} 條新消息`,
    "chat.title": "在線客服",
    "chat.hello": "您好！關於 TokenPocket 錢包的問題都可以問我：轉賬、提幣、密碼、安全等。我不會索要您的助記詞或私鑰，也請不要在這裡輸入。",
    "chat.label": "您的消息",
    "chat.placeholder": "請輸入您的問題…",
    "chat.send": "發送",
    "chat.you": "您",
    "chat.bot": "智能助手",
    "chat.agent": "人工客服",
    "chat.thinking": "正在思考…",
    "chat.read": "查看完整文章",
    "chat.choose": "請選擇：",
    "chat.reportTheft": "資產在我沒操作的情況下被轉走了",
    "chat.reportTheftText": "被盜了",
    "chat.helpful": "這個回答有幫助嗎？",
    "chat.yes": "有幫助",
    "chat.no": "沒幫助",
    "chat.thanks": "感謝您的反饋。",
    "chat.human": "轉人工客服",
    "chat.humanText": "轉人工",
    "chat.details": "請補充以下信息後發送，或選擇跳過：",
    "chat.detailsSend": "發送信息",
    "chat.skip": "跳過",
    "chat.ticket": "工單號",
    "chat.position": "排隊位置",
    "chat.eta": "預計等待",
    "chat.minutes": (n) => `約 ${n} 分鐘`,
    "chat.status": "狀態",
    "chat.statuses": { open: "等待客服接入", claimed: "客服正在處理", resolved: "已解決", abandoned: "已關閉" },
    "chat.rate": "請為本次人工服務評分：",
    "chat.score": (n) => `${n} 分（滿分 5 分）`,
    "chat.comment": "評價（選填）",
    "chat.rateSend": "提交評分",
    "chat.rated": "感謝您的評價。",
    "chat.error": "抱歉，出錯了，請稍後再試。",
    "chat.busy": "發送太頻繁了，請稍等片刻。",
    "chat.added": (id) => `已補充到您的工單 ${id}，客服會看到這條消息。`,
  },
};

/** A language tag as one of the widget's: en, zh-Hans or zh-Hant (null when empty). */
export function normaliseLang(tag) {
  const code = String(tag || "").trim().toLowerCase();
  if (!code) return null;
  if (!/^zh(-|_|$)/.test(code)) return "en";
  return /^zh[-_](hant|tw|hk|mo)/.test(code) ? "zh-Hant" : "zh-Hans";
}

/** The API's language code for a widget language. */
export function apiLang(lang) {
  return lang === "en" ? "en" : "zh";
}

/** The BCP 47 tag put on Chinese text, for fonts and screen readers. */
function htmlLang(lang) {
  return { en: "en", "zh-Hans": "zh-CN", "zh-Hant": "zh-TW" }[lang] || "en";
}

export function t(lang, key, ...args) {
  const own = STRINGS[lang] || STRINGS.en;
  const page = PAGE_STRINGS[apiLang(lang)] || PAGE_STRINGS.en;
  const value = own[key] ?? page[key] ?? STRINGS.en[key] ?? PAGE_STRINGS.en[key] ?? key;
  return typeof value === "function" ? value(...args) : value;
}

// Frequent characters of the replies that differ between the scripts (pairs, same order).
const HANS = "钱转币么个里账网没记吗链时词会点络换码还费这对发额确开认给资复请显来问机过备后钥权选说现设产续题页导该为错笔几从签单余场";
const HANT = "錢轉幣麼個裡賬網沒記嗎鏈時詞會點絡換碼還費這對發額確開認給資復請顯來問機過備後鑰權選說現設產續題頁導該為錯筆幾從籤單餘場";

/** "zh-Hant" or "zh-Hans" when the text's Chinese is clearly in that script, else null. The
 * server answers in the script the user wrote in; the widget's wording follows. */
export function chineseScript(text) {
  let hans = 0;
  let hant = 0;
  for (const ch of String(text || "")) {
    if (HANS.includes(ch)) hans += 1;
    else if (HANT.includes(ch)) hant += 1;
  }
  if (hant > hans) return "zh-Hant";
  if (hans > hant) return "zh-Hans";
  return null;
}

/** Whether the server removed a secret from the message it was sent: its `redacted` flag, or
 * when a ticket route does not say, whether the ticket's last user message differs. */
export function wasRedacted(data, sent) {
  if (!data || typeof data !== "object") return false;
  if (typeof data.redacted === "boolean") return data.redacted;
  const users = Array.isArray(data.messages) ? data.messages.filter((m) => m && m.role === "user") : [];
  return users.length > 0 && String(users[users.length - 1].text).trim() !== String(sent).trim();
}

// ------------------------------------------------------------------ styles

const CSS = `
:host { all: initial; display: block;
  --sc-accent: #0b5bd3; --sc-accent-text: #fff; --sc-text: #1a202c; --sc-muted: #4a5568;
  --sc-border: #cbd5e0; --sc-bg: #f5f7fb; --sc-card: #fff; --sc-agent: #e6f4ea;
  --sc-focus: #f59e0b; --sc-human: #9a3412; }
*, *::before, *::after { box-sizing: border-box; }
/* Set on the two top boxes, not only inherited from the host: a page rule such as
   "* { font-family: serif !important }" reaches the host element but not these. */
.launcher, .panel { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans",
  "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; font-size: 16px;
  font-style: normal; font-weight: 400; line-height: 1.5; letter-spacing: normal;
  text-align: left; text-transform: none; direction: ltr; visibility: visible; }
[hidden] { display: none !important; }
:focus-visible { outline: 3px solid var(--sc-focus); outline-offset: 2px; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
button, textarea { font: inherit; color: inherit; margin: 0; }
.launcher { position: fixed; right: 1rem; bottom: 1rem; z-index: 2147483000; display: inline-flex;
  align-items: center; gap: .5rem; min-height: 3rem; padding: .7rem 1.1rem; border: 0;
  border-radius: 999px; background: var(--sc-accent); color: var(--sc-accent-text);
  font-weight: 600; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25); }
.launcher svg { width: 1.4rem; height: 1.4rem; flex: none; }
.badge { min-width: 1.4rem; height: 1.4rem; padding: 0 .35rem; border-radius: 999px;
  background: #fff; color: #9b1c1c; font-size: .8rem; line-height: 1.4rem; text-align: center; }
.panel { position: fixed; right: 1rem; bottom: 5rem; z-index: 2147483000; display: flex;
  flex-direction: column; width: min(25rem, calc(100vw - 2rem));
  height: min(40rem, calc(100vh - 6.5rem)); background: var(--sc-bg); color: var(--sc-text);
  border: 1px solid var(--sc-border); border-radius: 1rem; overflow: hidden;
  box-shadow: 0 12px 40px rgba(0,0,0,.25); }
:host([position="bottom-left"]) .launcher, :host([position="bottom-left"]) .panel {
  right: auto; left: 1rem; }
.head { display: flex; align-items: center; justify-content: space-between; gap: .5rem;
  padding: .6rem .6rem .6rem 1rem; background: var(--sc-accent); color: var(--sc-accent-text); }
.title { margin: 0; font-size: 1.05rem; font-weight: 700; }
.close { display: inline-flex; align-items: center; justify-content: center; width: 2.5rem;
  height: 2.5rem; border: 0; border-radius: .5rem; background: transparent;
  color: var(--sc-accent-text); cursor: pointer; }
.close svg { width: 1.2rem; height: 1.2rem; }
.close:focus-visible { outline-color: #fff; }
.log { flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: .65rem;
  padding: .8rem; overscroll-behavior: contain; }
.msg { max-width: 92%; border-radius: .9rem; padding: .55rem .8rem; background: var(--sc-card);
  border: 1px solid var(--sc-border); overflow-wrap: anywhere; font-size: .95rem; }
.msg .who { margin: 0 0 .15rem; font-size: .75rem; font-weight: 600; color: var(--sc-muted); }
.msg .text > :first-child { margin-top: 0; }
.msg .text > :last-child { margin-bottom: 0; }
.msg p { margin: .35rem 0; }
.msg ol, .msg ul { padding-left: 1.3rem; margin: .35rem 0; }
.msg a { color: var(--sc-accent); }
.msg.user { align-self: flex-end; background: var(--sc-accent); color: var(--sc-accent-text);
  border-color: var(--sc-accent); }
.msg.user .who { color: #e2e8f0; }
.msg.user.removed { background: var(--sc-card); color: var(--sc-muted); border-style: dashed;
  font-style: italic; }
.msg.user.removed .who { color: var(--sc-muted); }
.msg.agent { background: var(--sc-agent); border-color: #8fc79f; }
.thinking { color: var(--sc-muted); font-style: italic; }
.choices, .feedback { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin-top: .5rem; }
.msg button { min-height: 2.5rem; padding: .35rem .8rem; border-radius: .5rem; cursor: pointer;
  border: 1px solid var(--sc-accent); background: var(--sc-card); color: var(--sc-accent); }
.msg button.choice { text-align: left; }
.msg button:disabled { opacity: .6; cursor: default; }
.msg button[aria-pressed="true"], .msg button[aria-pressed="true"]:disabled {
  background: var(--sc-accent); color: var(--sc-accent-text); opacity: 1; }
.msg button.human { border-color: var(--sc-human); color: var(--sc-human); font-weight: 600; }
.msg button[type="submit"] { background: var(--sc-accent); color: var(--sc-accent-text); }
.status-line { width: 100%; margin: .3rem 0 0; font-size: .85rem; color: var(--sc-muted); }
.card { background: var(--sc-card); border: 1px solid var(--sc-border); border-radius: .6rem; }
.ticket { display: grid; grid-template-columns: auto 1fr; gap: .15rem .7rem; margin: .5rem 0 0;
  padding: .5rem .7rem; }
.ticket dt { font-weight: 600; color: var(--sc-muted); }
.ticket dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
form.details, form.rating, form.reopen { margin-top: .5rem; display: flex; flex-direction: column; gap: .45rem; }
form.details, form.rating { padding: .6rem .7rem; }
.details ul { margin: 0; }
.row { display: flex; gap: .45rem; flex-wrap: wrap; }
textarea { width: 100%; padding: .5rem .65rem; border: 2px solid #8a94a6; border-radius: .5rem;
  resize: vertical; background: #fff; color: var(--sc-text); }
fieldset { border: 0; padding: 0; margin: 0; min-width: 0; }
legend { font-weight: 600; margin-bottom: .3rem; padding: 0; }
.stars { display: flex; gap: .3rem; flex-wrap: wrap; }
.stars input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.stars label { min-width: 2.5rem; min-height: 2.5rem; display: inline-flex; align-items: center;
  justify-content: center; border: 1px solid var(--sc-accent); border-radius: .5rem; cursor: pointer;
  background: var(--sc-card); }
.stars input:checked + label { background: var(--sc-accent); color: var(--sc-accent-text); }
.stars input:focus-visible + label { outline: 3px solid var(--sc-focus); outline-offset: 2px; }
.article-body { font-size: .92rem; }
.article-body h1, .article-body h2, .article-body h3 { font-size: 1rem; margin: .5rem 0 .2rem; }
.composer { display: flex; gap: .45rem; align-items: flex-end; padding: .6rem .8rem .8rem;
  border-top: 1px solid var(--sc-border); background: var(--sc-card); }
.composer textarea { flex: 1; min-height: 2.75rem; max-height: 8rem; }
.send { min-height: 2.75rem; padding: .4rem 1rem; border: 0; border-radius: .5rem;
  background: var(--sc-accent); color: var(--sc-accent-text); font-weight: 600; cursor: pointer;
  white-space: nowrap; }
@media (max-width: 480px) {
  .panel { left: 0; right: 0; top: 0; bottom: 0; width: 100%; height: 100%; border: 0;
    border-radius: 0; }
  :host([position="bottom-left"]) .panel { left: 0; right: 0; }
  :host([open]) .launcher { display: none; }
  .msg { max-width: 96%; }
}
@media (prefers-reduced-motion: no-preference) {
  .panel:not([hidden]) { animation: sc-in .16s ease-out; }
  @keyframes sc-in { from { opacity: 0; transform: translateY(.5rem); } to { opacity: 1; transform: none; } }
}
`;

let sheet = null;
function styles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An icon (decorative: the button it sits in has a text name). */
function icon(path) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const p = document.createElementNS(SVG_NS, "path");
  p.setAttribute("d", path);
  p.setAttribute("fill", "currentColor");
  svg.append(p);
  return svg;
}

const CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
const CLOSE_ICON = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";

/** Where this script came from, less "static/support-chat.js": the assistant's address. */
function scriptBase() {
  try {
    return new URL("../", import.meta.url).href.replace(/\/$/, "");
  } catch {
    return window.location.origin;
  }
}

function randomId() {
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function freshState() {
  return { v: 1, session: randomId(), lang: null, ticket: null, awaitingDetails: false, messages: [] };
}

let counter = 0;
let htmlPolicy;

/** Article HTML for innerHTML. It was rendered and sanitised on the server (no raw HTML,
 * allow-listed tags and links); a page enforcing Trusted Types lets it through by allowing the
 * policy "support-chat" (`trusted-types support-chat`). */
function trustedHTML(html) {
  if (htmlPolicy === undefined) {
    htmlPolicy = null;
    try {
      if (window.trustedTypes) htmlPolicy = window.trustedTypes.createPolicy("support-chat", { createHTML: (s) => s });
    } catch {
      // the page does not allow this policy: innerHTML refuses, the caller falls back
    }
  }
  return htmlPolicy ? htmlPolicy.createHTML(html) : html;
}

// ------------------------------------------------------------------ the element

export class SupportChat extends HTMLElement {
  static observedAttributes = ["lang", "api"];

  constructor() {
    super();
    this.uid = `sc${++counter}`;
    this.root = this.attachShadow({ mode: "open" });
    this.root.adoptedStyleSheets = [styles()];
    this.build();
    this.state = freshState();
    this.uiLang = "en";
    this.poller = null;
    this.pending = 0;          // requests whose user message is not stored yet
    this.unread = 0;
    this.ticketsApi = true;    // false once the server says it has no /tickets
    this.card = null;          // the live ticket card
    this.initialised = false;
    this.onStorage = (e) => { if (e.key === this.storeKey && !this.pending) this.restore(); };
  }

  // ---------------------------------------------------------------- skeleton

  build() {
    const id = (s) => `${this.uid}-${s}`;
    this.badge = el("span", { class: "badge", "aria-hidden": "true", hidden: true });
    this.unreadText = el("span", { class: "vh" });
    this.launcherLabel = el("span", { "data-key": "chat.title" });
    this.launcher = el("button", {
      type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": id("panel"),
      "aria-haspopup": "dialog", onclick: () => (this.isOpen ? this.closePanel(true) : this.openPanel()),
    }, icon(CHAT_ICON), this.launcherLabel, this.badge, this.unreadText);
    this.closeButton = el("button", {
      type: "button", class: "close", "data-key-attr": "aria-label:w.close;title:w.close",
      "aria-controls": id("panel"), onclick: () => this.closePanel(true),
    }, icon(CLOSE_ICON));
    this.log = el("div", {
      class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-labelledby": id("title"), tabindex: "-1",
    });
    this.input = el("textarea", {
      id: id("input"), rows: "1", maxlength: "2000", required: true, enterkeyhint: "send",
      "data-key-attr": "placeholder:chat.placeholder",
    });
    this.form = el("form", { class: "composer" },
      el("label", { for: id("input"), class: "vh", "data-key": "chat.label" }),
      this.input,
      el("button", { type: "submit", class: "send", "data-key": "chat.send" }));
    this.panel = el("section", {
      id: id("panel"), class: "panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": id("title"), hidden: true,
    },
    el("header", { class: "head" },
      el("h2", { id: id("title"), class: "title", "data-key": "chat.title" }), this.closeButton),
    this.log, this.form);
    this.root.append(this.launcher, this.panel);

    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.send(text);
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.root.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !e.isComposing && this.isOpen) {
        e.preventDefault();
        e.stopPropagation();
        this.closePanel(true);
      }
    });
  }

  // ---------------------------------------------------------------- lifecycle

  connectedCallback() {
    if (!this.initialised) {
      this.initialised = true;
      this.restore();
    } else if (this.following()) {
      this.startPolling();
    }
    window.addEventListener("storage", this.onStorage);
  }

  disconnectedCallback() {
    this.stopPolling();
    window.removeEventListener("storage", this.onStorage);
  }

  attributeChangedCallback(name, before, after) {
    if (!this.initialised || before === after) return;
    if (name === "api") {
      this.stopPolling();
      this.restore();
    } else if (name === "lang") {
      this.setLang(normaliseLang(after) || this.pageLang());
    }
  }

  /** The assistant's base address: the `api` attribute, else where this script came from. */
  get api() {
    const given = (this.getAttribute("api") || "").trim();
    if (given) {
      try {
        const url = new URL(given, window.location.href);
        if (url.protocol === "http:" || url.protocol === "https:") return url.href.replace(/\/$/, "");
      } catch {
        // not an address: the default below
      }
    }
    return scriptBase();
  }

  get storeKey() { return STORE_PREFIX + this.api; }
  get isOpen() { return !this.panel.hidden; }
  get pollMs() { return Math.max(250, Number(this.getAttribute("poll-ms")) || 4000); }

  pageLang() {
    return normaliseLang(document.documentElement.lang) || normaliseLang(navigator.language) || "en";
  }

  /** The stored conversation (or a new one), drawn again from scratch. */
  restore() {
    this.stopPolling();
    this.apiBase = this.api;
    this.state = this.load() || freshState();
    this.ticketsApi = true;
    const attr = normaliseLang(this.getAttribute("lang"));
    const talked = this.state.messages.length > 0 && normaliseLang(this.state.lang);
    this.uiLang = talked || attr || this.pageLang();
    this.renderAll();
    if (this.following()) this.startPolling();
  }

  /** Whether the held ticket is still open and reachable: then it is polled. */
  following() {
    const tk = this.state.ticket;
    return Boolean(tk && tk.secret && !tk.lost && this.ticketsApi && OPEN.has(tk.status));
  }

  // ---------------------------------------------------------------- storage

  load() {
    let data = null;
    try {
      data = JSON.parse(window.localStorage.getItem(this.storeKey) || "null");
    } catch {
      return null;
    }
    if (!data || data.v !== 1 || typeof data.session !== "string" || !Array.isArray(data.messages)) return null;
    if (typeof data.savedAt === "number" && Date.now() - data.savedAt > FORGET_AFTER_MS) return null;
    return data;
  }

  /** Store the conversation. Messages still waiting for the server's verdict on secrets are
   * left out; each is stored once that verdict is in. */
  save() {
    const s = this.state;
    const data = {
      v: 1, session: s.session, lang: this.uiLang, ticket: s.ticket,
      awaitingDetails: s.awaitingDetails, savedAt: Date.now(),
      messages: s.messages.filter((m) => !m.pending).slice(-MAX_MESSAGES),
    };
    try {
      window.localStorage.setItem(this.storeKey, JSON.stringify(data));
    } catch {
      // storage full or switched off: the chat works, it only forgets
    }
  }

  // ---------------------------------------------------------------- open / close

  openPanel() {
    if (this.isOpen) return;
    this.panel.hidden = false;
    this.setAttribute("open", "");
    this.launcher.setAttribute("aria-expanded", "true");
    this.setUnread(0);
    this.scrollDown();
    this.input.focus({ preventScroll: true });
    this.dispatchEvent(new CustomEvent("support-chat-open", { bubbles: true, composed: true }));
  }

  closePanel(returnFocus = false) {
    if (!this.isOpen) return;
    this.panel.hidden = true;
    this.removeAttribute("open");
    this.launcher.setAttribute("aria-expanded", "false");
    if (returnFocus) this.launcher.focus();
    this.dispatchEvent(new CustomEvent("support-chat-close", { bubbles: true, composed: true }));
  }

  setUnread(n) {
    this.unread = n;
    this.badge.hidden = n === 0;
    this.badge.textContent = n ? String(n) : "";
    this.unreadText.textContent = n ? ` (${t(this.uiLang, "w.unread", n)})` : "";
  }

  noteUnread() {
    if (!this.isOpen) this.setUnread(this.unread + 1);
  }

  // ---------------------------------------------------------------- language

  /** Put the language's strings into the widget's chrome. */
  applyStrings() {
    const lang = this.uiLang;
    this.panel.lang = htmlLang(lang);
    this.launcher.lang = htmlLang(lang);
    for (const node of this.root.querySelectorAll("[data-key]")) node.textContent = t(lang, node.dataset.key);
    for (const node of this.root.querySelectorAll("[data-key-attr]")) {
      for (const pair of node.dataset.keyAttr.split(";")) {
        const [attr, key] = pair.split(":");
        node.setAttribute(attr, t(lang, key));
      }
    }
    this.setUnread(this.unread);
    if (this.card) this.renderTicket();
  }

  setLang(lang) {
    if (!lang || lang === this.uiLang) return;
    this.uiLang = lang;
    this.applyStrings();
    this.save();
  }

  /** The conversation's language wins: a reply in Chinese switches the widget to Chinese, in
   * the script the reply is written in (the server follows the user's). */
  follow(replyLang, text) {
    if (replyLang === "en") this.setLang("en");
    else if (replyLang === "zh") {
      this.setLang(chineseScript(text) || (this.uiLang === "en" ? "zh-Hans" : this.uiLang));
    }
  }

  tr(key, ...args) { return t(this.uiLang, key, ...args); }

  // ---------------------------------------------------------------- server calls

  async call(method, path, body, secret) {
    const headers = { Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    if (secret) headers.Authorization = `Bearer ${secret}`;
    try {
      const resp = await fetch(this.apiBase + path, {
        method, headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit",
      });
      const data = await resp.json().catch(() => null);
      return { ok: resp.ok, status: resp.status, data };
    } catch {
      return { ok: false, status: 0, data: null };
    }
  }

  /** Addresses in replies: `article:<id>` to the help centre, others only http(s) and mailto. */
  link(href) {
    const article = /^(?:article:|#)([a-z0-9][a-z0-9_-]*)$/.exec(href);
    if (article) return this.articleHref(article[1], apiLang(this.uiLang));
    try {
      const url = new URL(href, this.apiBase + "/");
      return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
    } catch {
      return null;
    }
  }

  articleHref(id, lang) {
    return `${this.apiBase}/?${new URLSearchParams({ article: id, lang })}`;
  }

  text(markdown) {
    return renderText(markdown, (href) => this.link(href));
  }

  // ---------------------------------------------------------------- rendering

  scrollDown() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  bubble(role, ...content) {
    const who = { user: "chat.you", bot: "chat.bot", agent: "chat.agent" }[role];
    const node = el("div", { class: `msg ${role}` },
      el("p", { class: "who", "data-key": who, text: this.tr(who) }),
      el("div", { class: "text" }, ...content));
    this.log.append(node);
    this.scrollDown();
    return node;
  }

  renderAll() {
    this.card = null;
    this.log.replaceChildren();
    this.applyStrings();
    this.bubble("bot", el("p", { "data-key": "chat.hello", text: this.tr("chat.hello") }));
    const messages = this.state.messages;
    const tk = this.state.ticket;
    const lastResolved = tk ? messages.findLastIndex((m) => m.kind === "resolved" && m.ticketId === tk.id) : -1;
    const lastNeeds = messages.findLastIndex((m) => m.kind === "bot" && m.needs);
    messages.forEach((m, i) => this.renderEntry(m, {
      live: i === lastResolved, details: i === lastNeeds && this.state.awaitingDetails,
    }));
    this.scrollDown();
  }

  push(entry, options = {}) {
    this.state.messages.push(entry);
    const node = this.renderEntry(entry, options);
    this.save();
    return node;
  }

  renderEntry(m, { live = true, details = true } = {}) {
    switch (m.kind) {
      case "user": return this.userBubble(m);
      case "agent": {
        const node = this.bubble("agent", this.text(m.text));
        return node;
      }
      case "note": return this.bubble("bot", el("p", { class: "ack", text: this.tr(m.key, ...(m.args || [])) }));
      case "bot": return this.botBubble(m, details);
      case "article": return this.articleBubble(m);
      case "resolved": return this.resolvedBubble(m, live);
      default: return null;
    }
  }

  userBubble(m) {
    const node = this.bubble("user", el("p", { text: m.removed ? this.tr("w.removed") : m.text }));
    if (m.removed) node.classList.add("removed");
    return node;
  }

  /** The user's message as sent, shown now, stored once the server says whether it held a
   * secret (see `settle`). */
  pendingUser(text) {
    const entry = { kind: "user", text, pending: true };
    this.state.messages.push(entry);
    this.pending += 1;
    return { entry, node: this.userBubble(entry) };
  }

  /** The verdict is in: store the message, or a placeholder when it held a secret (and show
   * the placeholder in place of what was typed). `accepted` false: the server never took it,
   * so it is not stored at all. */
  settle({ entry, node }, redacted, accepted = true) {
    this.pending -= 1;
    delete entry.pending;
    if (!accepted) {
      this.state.messages.splice(this.state.messages.indexOf(entry), 1);
      return;
    }
    if (redacted) {
      entry.removed = true;
      delete entry.text;
      node.classList.add("removed");
      node.querySelector(".text").replaceChildren(el("p", { text: this.tr("w.removed") }));
    }
  }

  botBubble(m, showDetails) {
    const node = this.bubble("bot", this.text(m.text));
    node.lang = htmlLang(m.lang === "zh" ? (chineseScript(m.text) || "zh-Hans") : "en");
    const body = node.querySelector(".text");
    if (m.article) body.append(this.articleLink(m.article, m.lang));
    if (m.candidates) body.append(this.choices(m));
    if (m.feedback) body.append(this.feedback(m));
    if (m.offers && m.offers.includes("report_theft") && !m.theftSent) body.append(this.reportTheft(m));
    if (m.needs && showDetails && !m.detailsDone) body.append(this.detailsForm(m));
    if (m.ticketId) this.ticketCard(m.ticketId, body);
    return node;
  }

  articleLink(article, lang) {
    return el("p", { class: "article-link" }, el("a", {
      href: this.articleHref(article.id, lang || apiLang(this.uiLang)), target: "_blank",
      rel: "noopener", text: `${this.tr("chat.read")}: ${article.title}`,
    }));
  }

  choices(m) {
    const group = el("div", { class: "choices", role: "group", "aria-label": m.text.split("\n")[0] || this.tr("chat.choose") });
    m.candidates.forEach((c, i) => {
      group.append(el("button", {
        type: "button", class: "choice", text: c.title, disabled: m.chosen !== undefined,
        "aria-pressed": m.chosen === i ? "true" : undefined,
        onclick: (e) => {
          for (const b of group.querySelectorAll("button")) b.disabled = true;
          e.currentTarget.setAttribute("aria-pressed", "true");
          m.chosen = i;
          this.save();
          this.showArticle(c, m.query, m.lang);
        },
      }));
    });
    return group;
  }

  async showArticle(candidate, query, lang) {
    this.push({ kind: "user", text: candidate.title });
    const wait = this.thinking();
    const r = await this.call("GET", `/articles/${encodeURIComponent(candidate.id)}?lang=${lang || apiLang(this.uiLang)}`);
    wait.remove();
    if (!r.ok || !r.data) {
      this.alert(this.tr("chat.error"));
      return;
    }
    const entry = { kind: "article", id: r.data.id, title: r.data.title, lang: r.data.lang, query, feedback: true };
    this.state.messages.push(entry);
    const node = this.articleBubble(entry, r.data.html);
    this.save();
    this.scrollDown();
    return node;
  }

  /** An article chosen from a clarify: its body when just fetched (HTML sanitised on the
   * server), its title and link when drawn again from storage. */
  articleBubble(m, html) {
    const parts = [el("p", {}, el("strong", { text: m.title }))];
    if (html) {
      const body = el("div", { class: "article-body" });
      try {
        body.innerHTML = trustedHTML(html);
        for (const a of body.querySelectorAll("a[href]")) {
          a.target = "_blank";
          a.rel = "noopener noreferrer nofollow";
        }
        parts.push(body);
      } catch {
        // a page enforcing Trusted Types without allowing the policy: the link still opens it
      }
    }
    parts.push(this.articleLink(m, m.lang));
    if (m.feedback) parts.push(this.feedback({ ...m, article: { id: m.id } }, m));
    const node = this.bubble("bot", ...parts);
    node.lang = htmlLang(m.lang === "zh" ? (chineseScript(m.title) || "zh-Hans") : "en");
    return node;
  }

  feedback(m, target = m) {
    const status = el("p", { class: "status-line", role: "status" });
    const group = el("div", { class: "feedback", role: "group", "aria-label": this.tr("chat.helpful") },
      el("span", { text: this.tr("chat.helpful") }));
    const human = () => el("button", {
      type: "button", class: "human", text: this.tr("chat.human"), disabled: Boolean(target.humanAsked),
      onclick: (e) => {
        e.currentTarget.disabled = true;
        target.humanAsked = true;
        this.send(this.tr("chat.humanText"));
      },
    });
    const vote = async (helpful, button) => {
      for (const b of group.querySelectorAll("button.vote")) b.disabled = true;
      button.setAttribute("aria-pressed", "true");
      target.voted = helpful;
      this.save();
      const r = await this.call("POST", "/feedback", {
        session_id: this.state.session, query: target.query || undefined,
        article_id: m.article ? m.article.id : undefined, helpful,
      });
      status.textContent = this.tr("chat.thanks");
      const offer = !helpful && !(r.ok && r.data && r.data.offer_handoff === false);
      target.offerHuman = offer;
      this.save();
      if (offer) {
        const b = human();
        group.append(b);
        this.scrollDown();
      }
    };
    const voted = target.voted;
    const yes = el("button", { type: "button", class: "vote", "aria-pressed": String(voted === true), disabled: voted !== undefined, text: this.tr("chat.yes"), onclick: (e) => vote(true, e.currentTarget) });
    const no = el("button", { type: "button", class: "vote", "aria-pressed": String(voted === false), disabled: voted !== undefined, text: this.tr("chat.no"), onclick: (e) => vote(false, e.currentTarget) });
    group.append(yes, no, status);
    if (voted !== undefined) status.textContent = this.tr("chat.thanks");
    if (voted === false && target.offerHuman) group.append(human());
    return group;
  }

  reportTheft(m) {
    const lang = m.lang === "zh" ? (this.uiLang === "en" ? "zh-Hans" : this.uiLang) : "en";
    return el("button", {
      type: "button", class: "human report-theft", text: t(lang, "chat.reportTheft"),
      onclick: (e) => {
        e.currentTarget.disabled = true;
        m.theftSent = true;
        this.send(t(lang, "chat.reportTheftText"));
      },
    });
  }

  detailsForm(m) {
    const id = `${this.uid}-details-${++counter}`;
    const text = el("textarea", { id, rows: "2", maxlength: "2000" });
    const done = () => {
      m.detailsDone = true;
      disable(wrap);
    };
    const wrap = el("form", { class: "details card" },
      el("label", { for: id, text: this.tr("chat.details") }),
      el("ul", {}, ...m.needs.map((n) => el("li", { text: n.label || n.field }))),
      text,
      el("div", { class: "row" },
        el("button", { type: "submit", text: this.tr("chat.detailsSend") }),
        el("button", {
          type: "button", class: "secondary", text: this.tr("chat.skip"),
          onclick: () => {
            done();
            this.send(this.tr("chat.skip"), { query: "skip", extra: { skip_details: true } });
          },
        })));
    wrap.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = text.value.trim();
      if (!value) {
        text.focus();
        return;
      }
      done();
      this.send(value);
    });
    if (this.isOpen) setTimeout(() => text.focus({ preventScroll: true }), 0);
    return wrap;
  }

  thinking() {
    return this.bubble("bot", el("p", { class: "thinking", text: this.tr("chat.thinking") }));
  }

  alert(text) {
    return this.bubble("bot", el("p", { role: "alert", text }));
  }

  // ---------------------------------------------------------------- conversation

  /** Send a message: to the open ticket when there is one (the agent reads it), else to
   * /answer. `query` is sent in place of the shown text (the Skip button sends "skip"). */
  async send(text, { query, extra = {} } = {}) {
    const message = query ?? text;
    const sent = this.pendingUser(text);
    const tk = this.state.ticket;
    if (this.following() && !this.state.awaitingDetails) {
      const r = await this.call("POST", `/tickets/${encodeURIComponent(tk.id)}/messages`, { text: message }, tk.secret);
      if (r.ok) {
        this.settle(sent, wasRedacted(r.data, message));
        this.push({ kind: "note", key: "chat.added", args: [tk.id] });
        return;
      }
      if (r.status === 404 || r.status === 405) this.ticketsApi = false;
      if (r.status === 409) this.poll();  // resolved meanwhile: the reply goes to /answer
    }
    const wait = this.thinking();
    const r = await this.call("POST", "/answer", { query: message, session_id: this.state.session, ...extra });
    wait.remove();
    if (!r.ok || !r.data) {
      this.settle(sent, false, false);
      this.alert(this.tr(r.status === 429 ? "chat.busy" : "chat.error"));
      return;
    }
    const redacted = wasRedacted(r.data, message);
    this.settle(sent, redacted);
    this.showReply(r.data, redacted ? null : message);
  }

  showReply(reply, query) {
    this.follow(reply.lang, reply.answer);
    const candidates = Array.isArray(reply.candidates) ? reply.candidates : [];
    const clarify = reply.action === "clarify" && candidates.length > 0;
    const text = clarify ? withoutListedChoices(reply.answer, candidates.map((c) => c.title)) : String(reply.answer || "");
    const entry = {
      kind: "bot", text, lang: reply.lang, query,
      article: reply.article ? { id: reply.article.id, title: reply.article.title } : null,
    };
    if (clarify) entry.candidates = candidates.map((c) => ({ id: c.id, title: c.title }));
    if (reply.action === "answer" && reply.article) entry.feedback = true;
    if (Array.isArray(reply.offers) && reply.offers.length) entry.offers = reply.offers.slice();
    this.state.awaitingDetails = false;
    if (reply.action === "handoff") {
      if (Array.isArray(reply.needs) && reply.needs.length) {
        entry.needs = reply.needs.map((n) => ({ field: n.field, label: n.label }));
        this.state.awaitingDetails = true;
      }
      if (reply.ticket && reply.ticket.id) {
        this.takeTicket(reply.ticket);
        entry.ticketId = reply.ticket.id;
      }
    }
    this.push(entry);
    if (entry.ticketId && this.following()) this.startPolling();
  }

  // ---------------------------------------------------------------- ticket

  takeTicket(ticket) {
    const old = this.state.ticket;
    const same = old && old.id === ticket.id;
    // A reply about a ticket already held (more details, asked again) carries no secret: the
    // one from the reply that created it stays.
    this.state.ticket = {
      id: ticket.id,
      secret: ticket.secret || (same ? old.secret : null),
      status: ticket.status || "open",
      position: ticket.position ?? null,
      eta_minutes: ticket.eta_minutes ?? null,
      seen: same ? old.seen : 0,
      rated: same ? Boolean(old.rated) : false,
      reopen: null,
    };
    this.card = null;
  }

  /** A ticket's card: live (updated on each poll) for the ticket held, the id alone for one
   * replaced since. */
  ticketCard(id, container) {
    const card = el("dl", { class: "ticket card", "aria-label": this.tr("chat.ticket") });
    container.append(card);
    if (this.state.ticket && this.state.ticket.id === id) {
      this.card = card;
      this.renderTicket();
    } else {
      card.append(el("dt", { text: this.tr("chat.ticket") }), el("dd", { class: "ticket-id", text: id }));
    }
  }

  renderTicket() {
    const tk = this.state.ticket;
    if (!this.card || !tk) return;
    this.card.setAttribute("aria-label", this.tr("chat.ticket"));
    const rows = [["chat.ticket", tk.id, "ticket-id"]];
    const waiting = OPEN.has(tk.status);
    if (waiting && tk.position !== null && tk.position !== undefined) rows.push(["chat.position", String(tk.position), "ticket-position"]);
    if (waiting && tk.eta_minutes !== null && tk.eta_minutes !== undefined) rows.push(["chat.eta", this.tr("chat.minutes", tk.eta_minutes), "ticket-eta"]);
    const statuses = this.tr("chat.statuses");
    if (tk.status) rows.push(["chat.status", statuses[tk.status] || tk.status, "ticket-status"]);
    this.card.replaceChildren(...rows.flatMap(([key, value, cls]) => [
      el("dt", { text: this.tr(key) }), el("dd", { class: cls, text: value })]));
  }

  startPolling() {
    this.stopPolling();
    this.poller = setInterval(() => this.poll(), this.pollMs);
    this.poll();
  }

  stopPolling() {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  async poll() {
    const tk = this.state.ticket;
    if (!tk || !tk.secret) return;
    const r = await this.call("GET", `/tickets/${encodeURIComponent(tk.id)}`, null, tk.secret);
    if (this.state.ticket !== tk) return;
    if (r.status === 404 || r.status === 405) {
      // No such ticket for this secret (or a server without ticket routes): stop asking.
      this.stopPolling();
      this.ticketsApi = false;
      if (!tk.lost) {
        tk.lost = true;
        this.push({ kind: "note", key: "w.gone" });
      }
      return;
    }
    if (!r.ok || !r.data) return;
    const before = tk.status;
    tk.status = r.data.status || tk.status;
    tk.position = r.data.position ?? null;
    tk.eta_minutes = r.data.eta_minutes ?? null;
    if ("reopen_until" in r.data) tk.reopenUntil = r.data.reopen_until;
    this.renderTicket();
    const messages = Array.isArray(r.data.messages) ? r.data.messages : [];
    for (const m of messages.slice(tk.seen || 0)) {
      if (m && m.role === "agent") {
        this.push({ kind: "agent", text: String(m.text || "") });
        this.noteUnread();
      }
    }
    tk.seen = Math.max(tk.seen || 0, messages.length);
    if (tk.status === "resolved" && before !== "resolved") {
      this.stopPolling();
      tk.reopen = null;
      this.push({ kind: "resolved", ticketId: tk.id }, { live: true });
      this.noteUnread();
    } else if (!OPEN.has(tk.status)) {
      this.stopPolling();
    }
    this.save();
  }

  /** The resolution: the rating (until given) and "still not solved" (until reopened or
   * refused), for the ticket held; a plain line for earlier ones. */
  resolvedBubble(m, live) {
    const tk = this.state.ticket;
    const current = live && tk && tk.id === m.ticketId && tk.status === "resolved";
    const node = this.bubble("bot", el("p", { text: this.tr("w.resolved", m.ticketId) }));
    if (!current) return node;
    const body = node.querySelector(".text");
    if (tk.rated) body.append(el("p", { class: "status-line", text: this.tr("chat.rated") }));
    else body.append(this.ratingForm(tk));
    if (reopenable(tk)) body.append(this.reopenControl(tk, node));
    else body.append(this.reopenGone());
    return node;
  }

  ratingForm(tk) {
    const n0 = ++counter;
    const form = el("form", { class: "rating card" });
    const stars = el("div", { class: "stars" });
    for (let n = 1; n <= 5; n += 1) {
      const id = `${this.uid}-rate-${n0}-${n}`;
      stars.append(el("input", { type: "radio", name: "score", id, value: String(n), required: true }),
        el("label", { for: id, title: this.tr("chat.score", n) }, el("span", { "aria-hidden": "true", text: String(n) }),
          el("span", { class: "vh", text: this.tr("chat.score", n) })));
    }
    const commentId = `${this.uid}-comment-${n0}`;
    const status = el("p", { class: "status-line", role: "status" });
    form.append(el("fieldset", {}, el("legend", { text: this.tr("chat.rate") }), stars),
      el("label", { for: commentId, text: this.tr("chat.comment") }),
      el("textarea", { id: commentId, name: "comment", rows: "2", maxlength: "1000" }),
      el("div", { class: "row" }, el("button", { type: "submit", text: this.tr("chat.rateSend") })), status);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const r = await this.call("POST", `/tickets/${encodeURIComponent(tk.id)}/rating`,
        { score: Number(data.get("score")), comment: String(data.get("comment") || "") }, tk.secret);
      status.textContent = this.tr(r.ok ? "chat.rated" : r.status === 429 ? "chat.busy" : "chat.error");
      if (r.ok) {
        disable(form);
        tk.rated = true;
        this.save();
      }
    });
    return form;
  }

  reopenControl(tk, node) {
    const id = `${this.uid}-reopen-${++counter}`;
    const box = el("textarea", { id, rows: "2", maxlength: "2000" });
    const status = el("p", { class: "status-line", role: "status" });
    const form = el("form", { class: "reopen", id: `${id}-form`, hidden: true },
      el("label", { for: id, text: this.tr("w.reopenLabel") }), box,
      el("div", { class: "row" }, el("button", { type: "submit", text: this.tr("w.reopenSend") })));
    const toggle = el("button", {
      type: "button", class: "human reopen-toggle", "aria-expanded": "false", "aria-controls": form.id,
      text: this.tr("w.reopen"),
      onclick: () => {
        form.hidden = !form.hidden;
        toggle.setAttribute("aria-expanded", String(!form.hidden));
        if (!form.hidden) box.focus();
      },
    });
    const wrap = el("div", { class: "reopen-wrap" }, toggle, form, status);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = box.value.trim() || this.tr("w.reopenText");
      disable(wrap);
      const r = await this.call("POST", `/tickets/${encodeURIComponent(tk.id)}/reopen`, { text }, tk.secret);
      if (this.state.ticket !== tk) return;
      if (r.ok) {
        // Shown and stored only now that the server has said whether it held a secret.
        const sent = this.pendingUser(text);
        this.settle(sent, wasRedacted(r.data, text));
        for (const b of node.querySelectorAll("button, input, textarea")) b.disabled = true;
        tk.status = (r.data && r.data.status) || "open";
        tk.position = (r.data && r.data.position) ?? null;
        tk.eta_minutes = (r.data && r.data.eta_minutes) ?? null;
        if (r.data && Array.isArray(r.data.messages)) tk.seen = r.data.messages.length;
        tk.rated = false;
        tk.reopen = "done";
        this.renderTicket();
        this.push({ kind: "note", key: "w.reopened", args: [tk.id] });
        this.ticketsApi = true;
        this.startPolling();
        return;
      }
      if (r.status === 404 || r.status === 405 || r.status === 409) {
        // Too late, not resolved any more, or a server without reopening: a new ticket instead.
        tk.reopen = "gone";
        this.save();
        wrap.replaceWith(this.reopenGone());
        this.scrollDown();
        if (r.status === 409) this.poll();
        return;
      }
      for (const c of wrap.querySelectorAll("button, textarea")) c.disabled = false;
      status.textContent = this.tr(r.status === 429 ? "chat.busy" : "chat.error");
    });
    return wrap;
  }

  reopenGone() {
    return el("div", { class: "reopen-gone" },
      el("p", { class: "status-line", role: "status", text: this.tr("w.reopenGone") }),
      el("button", {
        type: "button", class: "human", text: this.tr("chat.human"),
        onclick: (e) => {
          e.currentTarget.disabled = true;
          this.send(this.tr("chat.humanText"));
        },
      }));
  }
}

/** Whether "still not solved" is offered: not after a refusal, nor when the server says the
 * time to reopen is over (`reopen_until` null or past; a server that does not say is asked). */
function reopenable(tk) {
  if (tk.reopen === "gone") return false;
  if (tk.reopenUntil === undefined) return true;
  return Boolean(tk.reopenUntil) && !(Date.parse(tk.reopenUntil) < Date.now());
}

function disable(container) {
  for (const c of container.querySelectorAll("button, textarea, input")) c.disabled = true;
}

if (!customElements.get("support-chat")) customElements.define("support-chat", SupportChat);
