// UI strings of the help-centre and chat pages, and the language choice they share.
// Elements carry data-i18n="key" (text) or data-i18n-attr="attr:key" (an attribute).

export const STRINGS = {
  en: {
    "brand": "TokenPocket Help Centre",
    "skip": "Skip to content",
    "nav.help": "Help centre",
    "nav.chat": "Chat with us",
    "lang.group": "Language",
    "help.title": "How can we help?",
    "help.lead": "Search our articles, or browse by topic. Nobody from support will ever ask for your recovery phrase or private key.",
    "help.browse": "Browse by topic",
    "help.back": "Back to all topics",
    "help.loading": "Loading…",
    "help.fallback": "This article is not available in English yet; it is shown in Chinese.",
    "help.more": "Still need help?",
    "help.chat": "Chat with us",
    "help.notfound": "This article could not be found.",
    "help.error": "Something went wrong. Please try again.",
    "help.articles": (n) => (n === 1 ? "1 article" : `${n} articles`),
    "chat.title": "Chat with support",
    "chat.hello": "Hi! Ask me anything about your TokenPocket wallet: transfers, withdrawals, passwords, security. I never ask for your recovery phrase or private key, and you should never type it here.",
    "chat.label": "Your message",
    "chat.placeholder": "Type your question…",
    "chat.send": "Send",
    "chat.you": "You",
    "chat.bot": "Assistant",
    "chat.agent": "Support agent",
    "chat.thinking": "Thinking…",
    "chat.read": "Read the full article",
    "chat.choose": "Choose one:",
    "chat.reportTheft": "Funds left my wallet without me",
    "chat.reportTheftText": "stolen",
    "chat.helpful": "Was this helpful?",
    "chat.yes": "Yes",
    "chat.no": "No",
    "chat.thanks": "Thanks for your feedback.",
    "chat.human": "Talk to a person",
    "chat.humanText": "I want to talk to a human",
    "chat.details": "Add the details and send, or skip:",
    "chat.detailsSend": "Send details",
    "chat.skip": "Skip",
    "chat.ticket": "Ticket",
    "chat.position": "Position in queue",
    "chat.eta": "Estimated wait",
    "chat.minutes": (n) => (n === 1 ? "about 1 minute" : `about ${n} minutes`),
    "chat.status": "Status",
    "chat.statuses": { open: "waiting for an agent", claimed: "an agent is on it", resolved: "resolved", abandoned: "closed" },
    "chat.rate": "How would you rate the support you received?",
    "chat.score": (n) => `${n} of 5`,
    "chat.comment": "Comment (optional)",
    "chat.rateSend": "Send rating",
    "chat.rated": "Thank you for rating our support.",
    "chat.reopen": "Still not solved?",
    "chat.reopenText": "What is still wrong?",
    "chat.reopenSend": "Reopen my ticket",
    "chat.reopened": "Your ticket is open again: an agent of the same team will pick it up.",
    "chat.reopenRefused": "This ticket can no longer be reopened. Please describe the problem in a new message.",
    "chat.error": "Sorry, something went wrong. Please try again.",
    "chat.busy": "You are sending messages too fast. Please wait a moment.",
    "chat.added": (id) => `Added to your ticket ${id}: the agent will see it.`,
  },
  zh: {
    "brand": "TokenPocket 帮助中心",
    "skip": "跳到正文",
    "nav.help": "帮助中心",
    "nav.chat": "在线咨询",
    "lang.group": "语言",
    "help.title": "有什么可以帮您？",
    "help.lead": "搜索帮助文章，或按主题浏览。任何客服都不会向您索要助记词或私钥。",
    "help.browse": "按主题浏览",
    "help.back": "返回全部主题",
    "help.loading": "加载中…",
    "help.fallback": "这篇文章暂无中文版本，以下为英文内容。",
    "help.more": "还需要帮助？",
    "help.chat": "在线咨询",
    "help.notfound": "找不到这篇文章。",
    "help.error": "出错了，请稍后再试。",
    "help.articles": (n) => `${n} 篇文章`,
    "chat.title": "在线客服",
    "chat.hello": "您好！关于 TokenPocket 钱包的问题都可以问我：转账、提币、密码、安全等。我不会索要您的助记词或私钥，也请不要在这里输入。",
    "chat.label": "您的消息",
    "chat.placeholder": "请输入您的问题…",
    "chat.send": "发送",
    "chat.you": "您",
    "chat.bot": "智能助手",
    "chat.agent": "人工客服",
    "chat.thinking": "正在思考…",
    "chat.read": "查看完整文章",
    "chat.choose": "请选择：",
    "chat.reportTheft": "资产在我没操作的情况下被转走了",
    "chat.reportTheftText": "被盗了",
    "chat.helpful": "这个回答有帮助吗？",
    "chat.yes": "有帮助",
    "chat.no": "没帮助",
    "chat.thanks": "感谢您的反馈。",
    "chat.human": "转人工客服",
    "chat.humanText": "转人工",
    "chat.details": "请补充以下信息后发送，或选择跳过：",
    "chat.detailsSend": "发送信息",
    "chat.skip": "跳过",
    "chat.ticket": "工单号",
    "chat.position": "排队位置",
    "chat.eta": "预计等待",
    "chat.minutes": (n) => `约 ${n} 分钟`,
    "chat.status": "状态",
    "chat.statuses": { open: "等待客服接入", claimed: "客服正在处理", resolved: "已解决", abandoned: "已关闭" },
    "chat.rate": "请为本次人工服务评分：",
    "chat.score": (n) => `${n} 分（满分 5 分）`,
    "chat.comment": "评价（选填）",
    "chat.rateSend": "提交评分",
    "chat.rated": "感谢您的评价。",
    "chat.reopen": "问题还没有解决？",
    "chat.reopenText": "请说明仍然存在的问题：",
    "chat.reopenSend": "重新打开工单",
    "chat.reopened": "您的工单已重新打开，原处理团队的客服会继续跟进。",
    "chat.reopenRefused": "该工单已无法重新打开，请直接发送新消息描述问题。",
    "chat.error": "抱歉，出错了，请稍后再试。",
    "chat.busy": "发送太频繁了，请稍等片刻。",
    "chat.added": (id) => `已补充到您的工单 ${id}，客服会看到这条消息。`,
  },
};

const KEY = "help.lang";

/** Web storage that may be switched off (some in-app browsers): then nothing is kept. */
export function stored(area, key, value) {
  try {
    const storage = window[area];
    if (value === undefined) return storage.getItem(key);
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
  } catch {
    // storage unavailable: the page works, it only forgets
  }
  return null;
}

/** The language: ?lang= in the address, else the last choice, else the browser's. */
export function initialLang() {
  const fromUrl = new URLSearchParams(window.location.search).get("lang");
  if (fromUrl === "en" || fromUrl === "zh") return fromUrl;
  const saved = stored("localStorage", KEY);
  if (saved === "en" || saved === "zh") return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function t(lang, key, ...args) {
  const value = (STRINGS[lang] || STRINGS.en)[key] ?? STRINGS.en[key] ?? key;
  return typeof value === "function" ? value(...args) : value;
}

/** Put the language's strings into the page and mark the chosen switch button. */
export function applyLang(lang) {
  stored("localStorage", KEY, lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(lang, el.dataset.i18n);
  }
  for (const el of document.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(lang, key));
    }
  }
  for (const button of document.querySelectorAll("[data-set-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.setLang === lang));
  }
}

/** Call `onChange(lang)` when a language button is pressed. */
export function bindLangSwitch(onChange) {
  for (const button of document.querySelectorAll("[data-set-lang]")) {
    button.addEventListener("click", () => onChange(button.dataset.setLang));
  }
}
