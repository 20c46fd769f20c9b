// Replies' Markdown as DOM, shared by the chat page and the <support-chat> widget: text is
// always inserted as text; links pass through the caller's `link`, which returns a safe
// absolute address or null (then the link is shown as plain text).

/** An element with attributes (`class`, `text`, `on<event>`) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const INLINE = /(\*\*[^*]+\*\*|`[^`]+`|\[[^\]]+\]\([^)\s]+\)|https?:\/\/[^\s)]+)/g;

/** Inline Markdown (bold, code, links) as DOM nodes; everything else stays text. `link`
 * turns an href into a safe absolute address (or null: shown as text). */
function inline(text, link) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    frag.append(text.slice(last, m.index));
    const tok = m[0];
    if (tok.startsWith("**")) frag.append(el("strong", { text: tok.slice(2, -2) }));
    else if (tok.startsWith("`")) frag.append(el("code", { text: tok.slice(1, -1) }));
    else {
      const parts = tok.startsWith("[") ? /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(tok) : [tok, tok, tok];
      const href = link(parts[2]);
      frag.append(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", text: parts[1] }) : parts[1]);
    }
    last = m.index + tok.length;
  }
  frag.append(text.slice(last));
  return frag;
}

/** A reply's Markdown (paragraphs, numbered and bulleted lists, inline marks) as DOM. */
export function renderText(text, link = () => null) {
  const frag = document.createDocumentFragment();
  let para = null;
  let list = null;
  for (const raw of String(text || "").split("\n")) {
    const line = raw.trimEnd();
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
    if (numbered || bullet) {
      const tag = numbered ? "ol" : "ul";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = el(tag);
        frag.append(list);
      }
      list.append(el("li", {}, inline((numbered || bullet)[1], link)));
      para = null;
    } else if (!line.trim()) {
      para = null;
      list = null;
    } else if (list && /^\s{2,}\S/.test(raw)) {
      list.lastChild.append(" ", inline(line.trim(), link));
    } else {
      list = null;
      if (para) para.append(el("br"), inline(line, link));
      else {
        para = el("p", {}, inline(line, link));
        frag.append(para);
      }
    }
  }
  return frag;
}

/** A clarify's text without its numbered list: the choices are shown once, as buttons. */
export function withoutListedChoices(text, titles) {
  const listed = new Set(titles.map((title, i) => `${i + 1}. ${title}`));
  return text.split("\n").filter((line) => !listed.has(line.trim())).join("\n").trim();
}
