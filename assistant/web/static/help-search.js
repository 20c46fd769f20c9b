// <help-search>: the help-centre search box as a web component, for the help centre and for
// any app page that embeds it. Results appear under the box as the user types (debounced),
// arrow keys move through them, Enter or a click selects one.
//
//   <script type="module" src="https://SUPPORT-HOST/static/help-search.js"></script>
//   <help-search api="https://SUPPORT-HOST" lang="en" href="https://SUPPORT-HOST/?article={id}&lang={lang}"></help-search>
//
// Attributes: api (base URL of the assistant, default: this page's origin), lang (en|zh: the
// box's wording and the results' language, unless the query clearly is in the other one: the
// server then answers in the query's language and the box speaks it for those results),
// k (results, default 6), category (only that category), href (where a selected article
// opens; {id} and {lang} are filled in), debounce (ms, default 150), label (visible label).
// Event: "help-search-select" {detail: {id, lang, title, fallback}}, cancelable: call preventDefault()
// to show the article yourself instead of following href.
// Titles and snippets are built as text nodes (never innerHTML), matches wrapped in <mark>.

const STRINGS = {
  en: {
    label: "Search help articles",
    placeholder: "e.g. forgot password, withdrawal not arrived",
    results: (n) => (n === 1 ? "1 article found. Use the up and down arrows to choose." :
      `${n} articles found. Use the up and down arrows to choose.`),
    none: (q) => `No articles found for “${q}”. Try other words or chat with us.`,
    error: "Search is not available right now. Please try again.",
    listLabel: "Suggested articles",
    other: { en: "English", zh: "中文" },
    otherNote: "Only available in",
    queryNote: "In your query's language:",
  },
  zh: {
    label: "搜索帮助文章",
    placeholder: "例如：忘记密码、提币没到账",
    results: (n) => `找到 ${n} 篇文章，可用上下方向键选择。`,
    none: (q) => `没有找到与“${q}”相关的文章，换个说法试试，或咨询在线客服。`,
    error: "搜索暂时不可用，请稍后再试。",
    listLabel: "推荐文章",
    other: { en: "English", zh: "中文" },
    otherNote: "仅有",
    queryNote: "按您输入的语言：",
  },
};

const CSS = `
:host { display: block; position: relative; font: inherit; color: inherit;
  --hs-accent: #0b5bd3; --hs-border: #8a94a6; --hs-bg: #fff; --hs-muted: #4a5568;
  --hs-active: #e8f0fe; --hs-mark: #ffe58a; }
.label { display: block; font-weight: 600; margin-bottom: .4rem; }
.label.hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
input { box-sizing: border-box; width: 100%; font: inherit; font-size: 1.05rem;
  padding: .75rem .9rem; border: 2px solid var(--hs-border); border-radius: .6rem;
  background: var(--hs-bg); color: inherit; }
input:focus { outline: 3px solid var(--hs-accent); outline-offset: 1px; border-color: var(--hs-accent); }
.status { min-height: 1.2em; font-size: .85rem; color: var(--hs-muted); margin: .35rem .2rem 0; }
ul { list-style: none; margin: .25rem 0 0; padding: 0; background: var(--hs-bg);
  border: 1px solid var(--hs-border); border-radius: .6rem; overflow: hidden;
  box-shadow: 0 6px 20px rgba(0,0,0,.08); }
ul[hidden] { display: none; }
li { padding: .65rem .9rem; cursor: pointer; border-top: 1px solid #e2e8f0; }
li:first-child { border-top: 0; }
li[aria-selected="true"] { background: var(--hs-active); box-shadow: inset 4px 0 0 var(--hs-accent); }
li:hover { background: var(--hs-active); }
.title { display: block; font-weight: 600; color: var(--hs-accent); }
.snippet { display: block; font-size: .9rem; color: var(--hs-muted); margin-top: .2rem;
  overflow-wrap: anywhere; }
.meta { display: inline-block; font-size: .75rem; color: var(--hs-muted); margin-top: .25rem; }
.badge { display: inline-block; font-size: .72rem; border: 1px solid var(--hs-muted);
  border-radius: .3rem; padding: 0 .3rem; margin-left: .4rem; color: var(--hs-muted); }
mark { background: var(--hs-mark); color: inherit; border-radius: .15rem; padding: 0 .05rem; }
`;

let sheet = null;
function styles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

let counter = 0;

/** Text with the [start, end) code-point spans wrapped in <mark>, as DOM nodes. */
export function markedText(text, spans) {
  const frag = document.createDocumentFragment();
  const chars = Array.from(text || "");
  let last = 0;
  for (const [start, end] of spans || []) {
    if (start < last || end > chars.length || start >= end) continue;
    frag.append(chars.slice(last, start).join(""));
    const mark = document.createElement("mark");
    mark.textContent = chars.slice(start, end).join("");
    frag.append(mark);
    last = end;
  }
  frag.append(chars.slice(last).join(""));
  return frag;
}

export class HelpSearch extends HTMLElement {
  static observedAttributes = ["lang", "label"];

  constructor() {
    super();
    const uid = `hs${++counter}`;
    const root = this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [styles()];
    root.innerHTML = `
      <label class="label" for="${uid}-input"></label>
      <input id="${uid}-input" type="search" role="combobox" aria-autocomplete="list"
             aria-expanded="false" aria-controls="${uid}-list" autocomplete="off"
             spellcheck="false" enterkeyhint="search">
      <div class="status" role="status" aria-live="polite"></div>
      <ul id="${uid}-list" role="listbox" hidden></ul>`;
    this.uid = uid;
    this.input = root.querySelector("input");
    this.list = root.querySelector("ul");
    this.status = root.querySelector(".status");
    this.labelEl = root.querySelector("label");
    this.results = [];
    this.resultsLang = null; // the language the server answered in (the query's, or lang)
    this.active = -1;
    this.seq = 0;
    this.timer = null;
    this.controller = null;
    this.composing = false;
    this.input.addEventListener("input", () => { if (!this.composing) this.schedule(); });
    this.input.addEventListener("compositionstart", () => { this.composing = true; });
    this.input.addEventListener("compositionend", () => { this.composing = false; this.schedule(); });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.list.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus in the box
    this.list.addEventListener("click", (e) => {
      const li = e.target.closest("li[role=option]");
      if (li) this.select(Number(li.dataset.index));
    });
    this.input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.input.addEventListener("focus", () => { if (this.results.length) this.open(); });
  }

  connectedCallback() { this.applyStrings(); }

  attributeChangedCallback() {
    this.applyStrings();
    if (this.input.value.trim()) this.schedule(0);
  }

  get lang() { return this.getAttribute("lang") === "zh" ? "zh" : "en"; }
  set lang(v) { this.setAttribute("lang", v); }
  get strings() { return STRINGS[this.lang]; }
  get value() { return this.input.value; }
  set value(v) { this.input.value = v; this.schedule(0); }
  focus() { this.input.focus(); }

  applyStrings() {
    const s = this.strings;
    this.labelEl.textContent = this.getAttribute("label") || s.label;
    this.labelEl.classList.toggle("hidden", this.hasAttribute("label-hidden"));
    this.input.placeholder = this.getAttribute("placeholder") || s.placeholder;
    this.list.setAttribute("aria-label", s.listLabel);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    const wait = delay ?? Number(this.getAttribute("debounce") || 150);
    this.timer = setTimeout(() => this.search(), wait);
  }

  async search() {
    const q = this.input.value.trim();
    const seq = ++this.seq;
    if (this.controller) this.controller.abort();
    if (!q) {
      this.render([], "");
      return;
    }
    this.controller = new AbortController();
    const params = new URLSearchParams({ q, lang: this.lang, k: this.getAttribute("k") || "6" });
    const category = this.getAttribute("category");
    if (category) params.set("category", category);
    const base = (this.getAttribute("api") || "").replace(/\/$/, "");
    try {
      const resp = await fetch(`${base}/search?${params}`, { signal: this.controller.signal });
      if (!resp.ok) throw new Error(`search answered ${resp.status}`);
      const body = await resp.json();
      if (seq !== this.seq) return; // a newer input is on its way
      this.render(body.results || [], q, undefined, body.lang);
    } catch (err) {
      if (err.name === "AbortError" || seq !== this.seq) return;
      this.render([], q, this.strings.error);
    }
  }

  /** Results in `lang`, the language the server chose (the query's when it clearly is not
   * the page's): the status, the list's label and the badges speak it too. */
  render(results, q, error, lang) {
    this.results = results;
    this.resultsLang = STRINGS[lang] ? lang : this.lang;
    const s = STRINGS[this.resultsLang];
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    this.list.replaceChildren(...results.map((r, i) => this.option(r, i)));
    this.list.setAttribute("aria-label", s.listLabel);
    this.list.lang = this.resultsLang;
    this.status.lang = error ? this.lang : this.resultsLang;
    if (error) this.status.textContent = error;
    else if (!q) this.status.textContent = "";
    else this.status.textContent = results.length ? s.results(results.length) : s.none(q);
    if (results.length) this.open(); else this.close();
    this.dispatchEvent(new CustomEvent("help-search-results",
      { detail: { query: q, results, lang: this.resultsLang } }));
  }

  option(r, i) {
    const li = document.createElement("li");
    li.id = `${this.uid}-opt-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.dataset.index = String(i);
    li.dataset.id = r.id;
    li.lang = r.lang;
    const title = document.createElement("span");
    title.className = "title";
    title.append(markedText(r.title, r.highlights && r.highlights.title));
    const snippet = document.createElement("span");
    snippet.className = "snippet";
    snippet.append(markedText(r.snippet, r.highlights && r.highlights.snippet));
    li.append(title, snippet);
    if (r.fallback || r.lang !== this.lang) {
      // Said in the results' language: "仅有 English", or "按您输入的语言：中文" on the
      // English page (the query's language won over the page's).
      const s = STRINGS[this.resultsLang];
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.lang = this.resultsLang;
      const note = r.fallback ? s.otherNote : s.queryNote;
      badge.textContent = `${note}${note.endsWith("：") ? "" : " "}${s.other[r.lang] || r.lang}`;
      title.append(badge);
    }
    return li;
  }

  open() {
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  move(to) {
    const options = this.list.children;
    if (!options.length) return;
    this.open();
    if (this.active >= 0) options[this.active].setAttribute("aria-selected", "false");
    this.active = (to + options.length) % options.length;
    const li = options[this.active];
    li.setAttribute("aria-selected", "true");
    this.input.setAttribute("aria-activedescendant", li.id);
    li.scrollIntoView({ block: "nearest" });
  }

  onKey(e) {
    if (e.isComposing) return;
    if (e.key === "ArrowDown") { e.preventDefault(); this.move(this.active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); this.move(this.active - 1); }
    else if (e.key === "Enter") {
      if (this.active >= 0) { e.preventDefault(); this.select(this.active); }
      else if (this.results.length && !this.list.hidden) { e.preventDefault(); this.select(0); }
    } else if (e.key === "Escape") {
      if (!this.list.hidden) { e.preventDefault(); this.close(); }
      else { this.input.value = ""; this.render([], ""); }
    }
  }

  select(i) {
    const r = this.results[i];
    if (!r) return;
    this.close();
    const detail = { id: r.id, lang: r.lang, title: r.title, fallback: Boolean(r.fallback) };
    const ev = new CustomEvent("help-search-select", { detail, bubbles: true, composed: true, cancelable: true });
    if (!this.dispatchEvent(ev)) return;
    const href = this.getAttribute("href");
    if (href) { // the article in the language of the results (of the query, when it won)
      window.location.assign(href.replace("{id}", encodeURIComponent(r.id))
        .replace("{lang}", encodeURIComponent(r.fallback ? this.resultsLang || this.lang : r.lang)));
    }
  }
}

if (!customElements.get("help-search")) customElements.define("help-search", HelpSearch);
