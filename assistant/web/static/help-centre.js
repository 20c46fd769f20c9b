// The help-centre page: the search box, topics to browse, the article view and the language
// switch. The address (?article=ID&lang=zh) says what is shown, so links and Back work.
import { applyLang, bindLangSwitch, initialLang, t } from "./i18n.js";

const search = document.getElementById("search");
const articleView = document.getElementById("article");
const browse = document.getElementById("browse");
const categoriesEl = document.getElementById("categories");
const browseStatus = document.getElementById("browse-status");
let lang = initialLang();
let shownArticle = null;

async function getJson(url) {
  const resp = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error((body.error && body.error.message) || `HTTP ${resp.status}`);
    err.status = resp.status;
    throw err;
  }
  return body;
}

function articleHref(id) {
  return `/?${new URLSearchParams({ article: id, lang })}`;
}

async function loadCategories() {
  browseStatus.textContent = t(lang, "help.loading");
  try {
    const body = await getJson(`/categories?lang=${lang}`);
    categoriesEl.replaceChildren(...body.categories.map(categoryCard));
    browseStatus.textContent = "";
  } catch {
    browseStatus.textContent = t(lang, "help.error");
  }
}

function categoryCard(category) {
  const section = document.createElement("section");
  section.className = "card topic";
  const id = `cat-${category.id}`;
  section.setAttribute("aria-labelledby", id);
  const h3 = document.createElement("h3");
  h3.id = id;
  h3.textContent = category.label;
  const count = document.createElement("p");
  count.className = "count";
  count.textContent = t(lang, "help.articles", category.articles.length);
  const list = document.createElement("ul");
  for (const a of category.articles) {
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = articleHref(a.id);
    link.textContent = a.title;
    link.lang = a.lang;
    link.addEventListener("click", (e) => {
      e.preventDefault();
      openArticle(a.id, { push: true });
    });
    li.append(link);
    list.append(li);
  }
  section.append(h3, count, list);
  return section;
}

async function openArticle(id, { push = false, focus = true } = {}) {
  shownArticle = id;
  const title = document.getElementById("article-title");
  const body = document.getElementById("article-body");
  const note = document.getElementById("article-note");
  const crumb = document.getElementById("article-category");
  articleView.hidden = false;
  browse.hidden = true;
  title.textContent = t(lang, "help.loading");
  body.replaceChildren();
  note.hidden = true;
  crumb.textContent = "";
  if (push) window.history.pushState({ article: id }, "", articleHref(id));
  try {
    const a = await getJson(`/articles/${encodeURIComponent(id)}?lang=${lang}`);
    if (shownArticle !== id) return;
    title.textContent = a.title;
    title.lang = a.lang;
    crumb.textContent = a.category_label;
    // Sanitised on the server (Markdown without raw HTML, then an allow-list sanitizer).
    body.innerHTML = a.html;
    body.lang = a.lang;
    for (const link of body.querySelectorAll("a[href]")) {
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
    }
    note.hidden = !a.fallback;
    note.textContent = a.fallback ? t(lang, "help.fallback") : "";
    document.title = `${a.title} · ${t(lang, "brand")}`;
  } catch (err) {
    title.textContent = err.status === 404 ? t(lang, "help.notfound") : t(lang, "help.error");
  }
  if (focus) title.focus();
}

function closeArticle({ push = false } = {}) {
  shownArticle = null;
  articleView.hidden = true;
  browse.hidden = false;
  document.title = t(lang, "brand");
  if (push) window.history.pushState({}, "", `/?lang=${lang}`);
}

function setLang(next) {
  lang = next;
  applyLang(lang);
  search.setAttribute("lang", lang);
  document.title = t(lang, "brand");
  loadCategories();
  const url = new URL(window.location.href);
  url.searchParams.set("lang", lang);
  window.history.replaceState(window.history.state, "", url);
  if (shownArticle) openArticle(shownArticle, { focus: false });
}

function showFromAddress() {
  const id = new URLSearchParams(window.location.search).get("article");
  if (id) openArticle(id, { focus: false });
  else closeArticle();
}

search.addEventListener("help-search-select", (e) => {
  e.preventDefault();
  // A result in the query's language (Chinese typed on the English page) switches the page.
  if (e.detail.lang !== lang && !e.detail.fallback && (e.detail.lang === "en" || e.detail.lang === "zh")) {
    shownArticle = null;
    setLang(e.detail.lang);
  }
  openArticle(e.detail.id, { push: true });
});
document.getElementById("back").addEventListener("click", () => {
  closeArticle({ push: true });
  search.focus();
});
window.addEventListener("popstate", showFromAddress);
bindLangSwitch(setLang);

applyLang(lang);
search.setAttribute("lang", lang);
document.title = t(lang, "brand");
loadCategories();
showFromAddress();
