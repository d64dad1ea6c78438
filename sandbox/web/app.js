// The sandbox's web chat page: play people of the demo estate and talk to the bot.
// Plain ES2020, no framework, no build step, no network but the sandbox itself.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const state = {
    bot: null, // {id, first_name, username}
    people: [],
    me: null, // the uid of the person being played
    chats: [],
    chatId: null,
    rendered: new Map(), // message_id → {sig, el}
    lastIds: new Map(), // chat id → newest message id (for previews and unread marks)
    seen: new Map(), // "uid:chat" → newest message id already seen
    keyboardSig: "",
    keyboardPlaceholder: "", // the reply keyboard's input_field_placeholder
    byId: new Map(), // message_id → message, in the open chat
    replyTo: null, // {messageId, forced, placeholder}: the next message answers that one
    forcedSeen: null, // message_id of the bot's ForceReply already taken up in this chat
    attachment: null, // {kind: "photo"|"document", files: [File], previews: [object URL]}
    sending: false,
  };

  // --- small helpers -----------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {}

  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError("无法连接沙盒服务器 (sandbox unreachable)");
    }
    let data = null;
    const raw = await response.text();
    if (raw) {
      try {
        data = JSON.parse(raw);
      } catch (err) {
        data = null;
      }
    }
    if (!response.ok) {
      const message = (data && (data.error || data.description)) || `HTTP ${response.status}`;
      throw new ApiError(message);
    }
    return data;
  }

  function formatPhone(phone) {
    if (!phone) return "";
    const digits = String(phone).replace(/[^\d+]/g, "");
    const m = /^\+86(\d{3})(\d{4})(\d{4})$/.exec(digits);
    return m ? `+86 ${m[1]} ${m[2]} ${m[3]}` : String(phone);
  }

  function fullName(user) {
    if (!user) return "";
    return [user.first_name, user.last_name].filter(Boolean).join(" ") || user.username || "";
  }

  function personById(uid) {
    return state.people.find((p) => Number(p.id) === Number(uid)) || null;
  }

  const PALETTE = ["#c0504d", "#d9822b", "#4f9a4a", "#2f86a6", "#5b6fcf", "#9a58b5", "#c24f86"];

  function colourOf(id) {
    const n = Math.abs(Number(id) || 0);
    return PALETTE[n % PALETTE.length];
  }

  function avatar(name, id, extraClass) {
    const initial = Array.from(String(name || "?").trim())[0] || "?";
    const node = el("div", { class: `avatar ${extraClass || ""}`.trim(), "aria-hidden": "true" });
    node.textContent = initial;
    node.style.background = colourOf(id);
    return node;
  }

  // --- times, in the estate's time zone ---------------------------------------------------
  // A Telegram date is UTC seconds. The page shows it as the estate's people read the bot's
  // texts: in the estate's time zone (the sandbox says which in /api/state; under `make run`
  // the demo estate's), never the browser's, so a trainer abroad sees what staff see.

  /** The demo estate's zone, and every estate's unless its config says otherwise. */
  const DEFAULT_ZONE = "Asia/Shanghai";

  const clock = { zone: DEFAULT_ZONE, parts: null };

  /** Show times in ``zone`` (an IANA name); one the browser does not know keeps the default. */
  function setZone(zone) {
    let name = DEFAULT_ZONE;
    try {
      if (zone) name = new Intl.DateTimeFormat("en-US", { timeZone: String(zone) }).resolvedOptions().timeZone;
    } catch (err) {
      name = DEFAULT_ZONE;
    }
    clock.zone = name;
    const options = {
      timeZone: name, year: "numeric", month: "numeric", day: "numeric", weekday: "short",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    };
    try {
      clock.parts = new Intl.DateTimeFormat("en-US", { ...options, timeZoneName: "shortOffset" });
    } catch (err) { // an older browser: "GMT+8" is then "CST" or left out
      clock.parts = new Intl.DateTimeFormat("en-US", { ...options, timeZoneName: "short" });
    }
    const label = $("help-zone");
    if (label) label.textContent = zoneLabel();
  }

  /** A moment's fields in the estate's zone: {year, month, day, weekday (0 = Sunday),
   * hour, minute, second, offset ("GMT+8")}. */
  function localParts(unix) {
    if (!clock.parts) setZone(DEFAULT_ZONE);
    const fields = {};
    for (const part of clock.parts.formatToParts(new Date(unix * 1000))) fields[part.type] = part.value;
    const weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    return {
      year: Number(fields.year), month: Number(fields.month), day: Number(fields.day),
      weekday: weekdays.indexOf(fields.weekday), hour: fields.hour, minute: fields.minute,
      second: fields.second, offset: fields.timeZoneName || "",
    };
  }

  /** "Asia/Shanghai (GMT+8)": the zone the page shows times in. */
  function zoneLabel(unix) {
    const offset = localParts(unix || Date.now() / 1000).offset;
    return offset ? `${clock.zone} (${offset})` : clock.zone;
  }

  /** "10:05" in the estate's zone. */
  function timeOf(unix) {
    if (!unix) return "";
    const p = localParts(unix);
    return `${p.hour}:${p.minute}`;
  }

  /** "2026年11月25日" in the estate's zone (the chat's day separators). */
  function dayOf(unix) {
    const p = localParts(unix || 0);
    return `${p.year}年${p.month}月${p.day}日`;
  }

  /** "2026年11月25日 星期三 10:05:09 · Asia/Shanghai (GMT+8)": a time's tooltip. */
  function fullTimeOf(unix) {
    if (!unix) return "";
    const p = localParts(unix);
    const weekday = "日一二三四五六"[p.weekday] || "";
    return `${dayOf(unix)} 星期${weekday} ${p.hour}:${p.minute}:${p.second} · ${zoneLabel(unix)}`;
  }

  function formatSize(bytes) {
    if (!bytes && bytes !== 0) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function fileUrl(fileId) {
    return `/api/files/${encodeURIComponent(fileId)}`;
  }

  let toastTimer = null;

  function toast(text, kind) {
    if (kind === "error" || kind === "warn") console.warn(`[toast] ${text}`); // for the tests' logs
    const node = $("toast");
    node.textContent = text;
    node.className = `toast ${kind || ""}`.trim();
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      node.hidden = true;
    }, Math.min(8000, 2500 + text.length * 60));
  }

  /** A modal: an alert (OK only) or a confirmation (OK / Cancel). Resolves true on OK. */
  function modal(text, { confirm = false, okText = "确定 OK" } = {}) {
    const backdrop = $("modal");
    const ok = $("modal-ok");
    const cancel = $("modal-cancel");
    $("modal-text").textContent = text;
    ok.textContent = okText;
    cancel.hidden = !confirm;
    backdrop.hidden = false;
    ok.focus();
    return new Promise((resolve) => {
      const done = (value) => {
        backdrop.hidden = true;
        ok.removeEventListener("click", onOk);
        cancel.removeEventListener("click", onCancel);
        document.removeEventListener("keydown", onKey, true);
        resolve(value);
      };
      const onOk = () => done(true);
      const onCancel = () => done(false);
      const onKey = (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          done(false);
        }
      };
      ok.addEventListener("click", onOk);
      cancel.addEventListener("click", onCancel);
      document.addEventListener("keydown", onKey, true);
    });
  }

  // --- Telegram formatting, rendered safely ------------------------------------------------

  const SAFE_URL = /^(https?:|tg:|mailto:|tel:)/i;

  function safeLink(href, children) {
    const a = el("a", { rel: "noopener noreferrer", target: "_blank" }, children);
    if (href && SAFE_URL.test(href.trim())) a.href = href.trim();
    a.addEventListener("click", (event) => { // a deep link to the bot opens its chat
      const payload = a.href ? startPayload(a.href) : null;
      if (payload === null) return;
      event.preventDefault();
      followStartLink(payload);
    });
    return a;
  }

  function spoiler(children) {
    const node = el("span", { class: "spoiler", title: "点击显示 Click to reveal" }, children);
    node.addEventListener("click", () => node.classList.add("revealed"));
    return node;
  }

  /** Telegram HTML (the subset the Bot API accepts) → DOM nodes, whitelisting every tag. */
  function renderHtml(html) {
    const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
    const fragment = document.createDocumentFragment();
    const walk = (source) => {
      const out = [];
      for (const node of source.childNodes) {
        if (node.nodeType === Node.TEXT_NODE) {
          out.push(document.createTextNode(node.nodeValue));
          continue;
        }
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        const tag = node.tagName.toLowerCase();
        const kids = walk(node);
        switch (tag) {
          case "b":
          case "strong":
            out.push(el("b", {}, kids));
            break;
          case "i":
          case "em":
            out.push(el("i", {}, kids));
            break;
          case "u":
          case "ins":
            out.push(el("u", {}, kids));
            break;
          case "s":
          case "strike":
          case "del":
            out.push(el("s", {}, kids));
            break;
          case "code":
            out.push(el("code", {}, kids));
            break;
          case "pre":
            out.push(el("pre", {}, kids));
            break;
          case "a":
            out.push(safeLink(node.getAttribute("href") || "", kids));
            break;
          case "blockquote":
            out.push(el("blockquote", {}, kids));
            break;
          case "tg-spoiler":
            out.push(spoiler(kids));
            break;
          case "span":
            out.push(node.classList.contains("tg-spoiler") ? spoiler(kids) : el("span", {}, kids));
            break;
          case "br":
            out.push(document.createTextNode("\n"));
            break;
          default:
            // tg-emoji and anything unknown: keep the text, drop the tag.
            out.push(...kids);
        }
      }
      return out;
    };
    fragment.append(...walk(doc.body));
    return fragment;
  }

  /** Plain text with Telegram's MessageEntity list → DOM nodes (offsets in UTF-16 units). */
  function renderEntities(text, entities) {
    const sorted = [...entities]
      .filter((e) => e && e.length > 0)
      .sort((a, b) => a.offset - b.offset || b.length - a.length);
    const build = (start, end, list) => {
      const out = [];
      let pos = start;
      let i = 0;
      while (i < list.length) {
        const entity = list[i];
        const eStart = Math.max(entity.offset, pos);
        const eEnd = Math.min(entity.offset + entity.length, end);
        if (eStart >= eEnd) {
          i += 1;
          continue;
        }
        if (eStart > pos) out.push(document.createTextNode(text.slice(pos, eStart)));
        const inner = [];
        let j = i + 1;
        while (j < list.length && list[j].offset < eEnd) {
          inner.push(list[j]);
          j += 1;
        }
        const kids = build(eStart, eEnd, inner);
        out.push(wrapEntity(entity, kids, text.slice(eStart, eEnd)));
        pos = eEnd;
        i = j;
      }
      if (pos < end) out.push(document.createTextNode(text.slice(pos, end)));
      return out;
    };
    const fragment = document.createDocumentFragment();
    fragment.append(...build(0, text.length, sorted));
    return fragment;
  }

  function wrapEntity(entity, kids, raw) {
    switch (entity.type) {
      case "bold":
        return el("b", {}, kids);
      case "italic":
        return el("i", {}, kids);
      case "underline":
        return el("u", {}, kids);
      case "strikethrough":
        return el("s", {}, kids);
      case "code":
        return el("code", {}, kids);
      case "pre":
        return el("pre", {}, kids);
      case "spoiler":
        return spoiler(kids);
      case "blockquote":
      case "expandable_blockquote":
        return el("blockquote", {}, kids);
      case "text_link":
        return safeLink(entity.url || "", kids);
      case "url":
        return safeLink(/^[a-z]+:/i.test(raw) ? raw : `https://${raw}`, kids);
      case "email":
        return safeLink(`mailto:${raw}`, kids);
      case "phone_number":
        return safeLink(`tel:${raw.replace(/\s/g, "")}`, kids);
      case "bot_command":
        return commandLink(raw);
      case "mention":
      case "text_mention":
      case "hashtag":
      case "cashtag":
        return el("span", { class: "mention" }, kids);
      default:
        return el("span", {}, kids);
    }
  }

  /** The formatted body of a text or caption: the sandbox keeps what Telegram keeps (plain
   * text plus MessageEntity objects, HTML already parsed); an HTML copy is used if present. */
  function richText(message, textKey, entitiesKey) {
    const text = message[textKey];
    if (text === undefined || text === null || text === "") return null;
    const node = el("div", { class: "text", "data-testid": "message-text" });
    const entities = message[entitiesKey];
    const html = message[`${textKey}_html`] || message.html;
    if (typeof html === "string" && html) {
      node.append(renderHtml(html));
    } else if (Array.isArray(entities) && entities.length) {
      node.append(renderEntities(String(text), entities));
    } else {
      node.textContent = String(text);
    }
    linkCommands(node);
    return node;
  }

  /** A /command in a message: Telegram makes it a link that sends it. */
  function commandLink(command) {
    const node = el("span", { class: "command", role: "button", tabindex: "0",
      title: "点击发送 Click to send", "data-testid": "command" }, command);
    const go = (event) => {
      event.preventDefault();
      sendText(command);
    };
    node.addEventListener("click", go);
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") go(event);
    });
    return node;
  }

  const COMMAND = /(^|[\s(（·,，。:：])(\/[A-Za-z][A-Za-z0-9_]{0,31}(?:@[A-Za-z0-9_]{3,32})?)(?=$|[\s)）·,，。.:：!！?？;；、])/g;

  /** Commands in plain text (the bot's help lists them) become links too, as in Telegram. */
  function linkCommands(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const textNode of nodes) {
      if (textNode.parentElement && textNode.parentElement.closest("a, code, pre, .command")) continue;
      const text = textNode.nodeValue;
      const parts = [];
      let last = 0;
      COMMAND.lastIndex = 0;
      for (let m = COMMAND.exec(text); m; m = COMMAND.exec(text)) {
        const start = m.index + m[1].length;
        if (start > last) parts.push(document.createTextNode(text.slice(last, start)));
        parts.push(commandLink(m[2]));
        last = start + m[2].length;
      }
      if (!parts.length) continue;
      if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
      textNode.replaceWith(...parts);
    }
  }

  // --- people --------------------------------------------------------------------------------

  function groupOf(person) {
    const label = String(person.label || "");
    if (label.startsWith("业主")) return "owners";
    if (label.startsWith("员工")) return "staff";
    return "others";
  }

  function shortLabel(label) {
    return String(label || "").replace(/^(业主|员工)\s*[·・:：]?\s*/, "");
  }

  const GROUPS = [
    ["owners", "业主", "Owners"],
    ["staff", "员工", "Staff"],
    ["others", "其他", "Others"],
  ];

  function renderPeople() {
    const list = $("people-list");
    list.replaceChildren();
    if (!state.people.length) {
      list.append(
        el("div", { class: "empty" }, "还没有人物。用下方“＋ 新建人物”添加。",
          el("small", {}, "No people yet: add one below.")),
      );
      return;
    }
    for (const [key, zh, en] of GROUPS) {
      const members = state.people.filter((p) => groupOf(p) === key);
      if (!members.length) continue;
      list.append(
        el("div", { class: "group-title", "data-testid": `people-group-${key}` },
          zh, " ", el("small", {}, en), el("span", { class: "count" }, String(members.length))),
      );
      for (const person of members) {
        const active = Number(person.id) === Number(state.me);
        const meta = [shortLabel(person.label), formatPhone(person.phone)].filter(Boolean);
        list.append(
          el("button", {
            type: "button",
            class: `person${active ? " active" : ""}${person.blocked ? " blocked" : ""}`,
            role: "listitem",
            "data-testid": `person-${person.id}`,
            "aria-current": active ? "true" : null,
            onclick: () => choosePerson(person.id),
          },
          avatar(person.first_name, person.id),
          el("div", { class: "person-text" },
            el("div", { class: "person-name" }, fullName(person)),
            el("div", { class: "person-meta", title: meta.join(" · ") }, meta.join(" · ") || "—"))),
        );
      }
    }
  }

  async function loadPeople() {
    state.people = (await api("GET", "/api/people")) || [];
    renderPeople();
  }

  async function choosePerson(uid) {
    if (Number(uid) !== Number(state.me)) {
      $("toast").hidden = true; // the last person's notice is not the next one's
      state.me = Number(uid);
      state.chats = [];
      closeChat();
    }
    renderPeople();
    renderMe();
    setView("chats");
    await loadChats();
    // The private chat with the bot is where everything starts: open it at once.
    if (state.chatId === null) {
      const privateChat = state.chats.find((c) => c.type === "private");
      if (privateChat && window.matchMedia("(min-width: 900px)").matches) {
        await openChat(privateChat.id);
      }
    }
    saveHash();
  }

  function renderMe() {
    const person = personById(state.me);
    const box = $("me");
    box.replaceChildren();
    if (!person) {
      box.append(
        el("div", { class: "me-name" }, "未选择身份"),
        el("div", { class: "me-meta" }, "请先在左侧选择一个人 ", el("small", {}, "Pick a person")),
      );
      return;
    }
    const meta = [person.label, formatPhone(person.phone)].filter(Boolean).join(" · ");
    box.append(
      el("div", { class: "me-name" }, fullName(person)),
      el("div", { class: "me-meta", title: meta }, meta || "—"),
    );
  }

  async function createPerson(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const error = $("new-person-error");
    error.hidden = true;
    const data = Object.fromEntries(new FormData(form).entries());
    const body = {
      first_name: String(data.first_name || "").trim(),
      phone: String(data.phone || "").trim() || null,
      language_code: data.language_code || "zh-hans",
      label: String(data.label || "").trim(),
    };
    if (!body.first_name) {
      error.textContent = "请填写姓名 (name is required)";
      error.hidden = false;
      return;
    }
    try {
      const person = await api("POST", "/api/people", body);
      form.reset();
      $("new-person").open = false;
      await loadPeople();
      toast(`已创建：${body.first_name}`);
      if (person && person.id !== undefined) await choosePerson(person.id);
    } catch (err) {
      error.textContent = `创建失败：${err.message}`;
      error.hidden = false;
    }
  }

  // --- chats ---------------------------------------------------------------------------------

  function chatTitle(chat) {
    if (!chat) return "";
    if (chat.type === "private") {
      return chat.title || fullName(state.bot) || "物业机器人";
    }
    return chat.title || `群组 ${chat.id}`;
  }

  function chatKindLabel(chat) {
    switch (chat.type) {
      case "private":
        return "机器人私聊 · Bot";
      case "group":
        return "群组 · Group";
      case "supergroup":
        return "超级群组 · Supergroup";
      case "channel":
        return "频道 · Channel";
      default:
        return chat.type || "";
    }
  }

  /** The newest message a chat entry carries (the API may include one), or null. */
  function lastOf(chat) {
    return chat.last_message || chat.last || chat.preview_message || null;
  }

  function previewText(message) {
    if (!message) return "";
    if (typeof message === "string") return message;
    const service = serviceText(message);
    if (service) return service;
    let text = message.text || message.caption || "";
    if (message.photo) text = `${message.media_group_id ? "[相册]" : "[图片]"} ${text}`;
    else if (message.document) text = `[文件] ${message.document.file_name || ""} ${text}`;
    else if (message.contact) text = `[联系人] ${fullName(message.contact)}`;
    const who = message.from && Number(message.from.id) === Number(state.me) ? "我：" : "";
    return who + text.replace(/\s+/g, " ").trim();
  }

  function renderChats() {
    const list = $("chat-list");
    list.replaceChildren();
    if (state.me === null) {
      list.append(el("div", { class: "empty" }, "先选择一个身份 ", el("small", {}, "Pick a person first")));
      return;
    }
    if (!state.chats.length) {
      list.append(el("div", { class: "empty" }, "还没有聊天 ", el("small", {}, "No chats yet")));
      return;
    }
    for (const chat of state.chats) {
      const active = Number(chat.id) === Number(state.chatId);
      const last = lastOf(chat);
      const newest = state.lastIds.get(chat.id) ?? (last && last.message_id) ?? 0;
      const seenKey = `${state.me}:${chat.id}`;
      if (!state.seen.has(seenKey) || active) state.seen.set(seenKey, newest);
      const unread = newest > (state.seen.get(seenKey) || 0);
      const icon = chat.type === "private"
        ? el("img", { class: "avatar bot", src: "/static/icon.svg", alt: "" })
        : avatar(chat.title, chat.id, "group");
      list.append(
        el("button", {
          type: "button",
          class: `chat${active ? " active" : ""}${unread ? " unread" : ""}`,
          role: "listitem",
          "data-testid": `chat-${chat.id}`,
          "data-chat-type": chat.type,
          "aria-current": active ? "true" : null,
          onclick: () => openChat(chat.id),
        },
        icon,
        el("div", { class: "chat-text" },
          el("div", { class: "chat-name" }, chatTitle(chat)),
          el("div", { class: "chat-preview", "data-testid": "chat-preview" },
            previewText(last) || chatKindLabel(chat))),
        unread ? el("span", { class: "dot", title: "有新消息 New" }) : null),
      );
    }
    const kind = groupOf(personById(state.me) || {});
    const hints = {
      owners: ["业主只看到与机器人的私聊。", "Owners talk to the bot in private only."],
      staff: ["员工还会看到所在部门的群组，机器人把待办和核实申请发到群里。",
        "Staff also see their department groups."],
    };
    if (hints[kind]) {
      list.append(el("div", { class: "chat-hint", "data-testid": "chat-hint" },
        hints[kind][0], el("small", {}, hints[kind][1])));
    }
  }

  async function loadChats() {
    if (state.me === null) {
      renderChats();
      return;
    }
    const uid = state.me;
    const chats = (await api("GET", `/api/people/${uid}/chats`)) || [];
    if (uid !== state.me) return;
    // The private chat with the bot first, then groups in the order the sandbox gives.
    state.chats = [...chats].sort((a, b) => (a.type === "private" ? 0 : 1) - (b.type === "private" ? 0 : 1));
    renderChats();
  }

  // --- the conversation ----------------------------------------------------------------------

  function closeChat() {
    state.chatId = null;
    state.rendered = new Map();
    state.byId = new Map();
    state.keyboardSig = "";
    resetReply();
    $("messages").replaceChildren(placeholder());
    $("composer").hidden = true;
    $("reply-keyboard").hidden = true;
    $("reply-keyboard").replaceChildren();
    clearAttachment();
    renderConvoHead();
  }

  let placeholderNode = null;

  function placeholder() {
    if (!placeholderNode) placeholderNode = $("placeholder");
    return placeholderNode;
  }

  function currentChat() {
    return state.chats.find((c) => Number(c.id) === Number(state.chatId)) || null;
  }

  function renderConvoHead() {
    const chat = currentChat();
    const person = personById(state.me);
    const title = $("convo-title");
    const sub = $("convo-sub");
    const av = $("convo-avatar");
    av.replaceChildren();
    av.removeAttribute("style");
    av.className = "avatar";
    if (!chat) {
      title.textContent = "物业机器人沙盒";
      sub.replaceChildren("选择身份后打开一个聊天 ", el("small", {}, "Choose a person, then a chat"));
      av.hidden = true;
      return;
    }
    av.hidden = false;
    if (chat.type === "private") {
      av.append(el("img", { src: "/static/icon.svg", alt: "" }));
      av.classList.add("bot");
    } else {
      av.textContent = Array.from(String(chat.title || "群"))[0];
      av.style.background = colourOf(chat.id);
    }
    title.replaceChildren(chatTitle(chat), " ",
      el("small", { class: "kind" }, chatKindLabel(chat)));
    sub.replaceChildren(...[ // (replaceChildren would write a null out as "null")
      el("span", { class: "as" }, "您的身份 "),
      el("b", { "data-testid": "identity-name" }, fullName(person)),
      person && person.label ? el("span", { "data-testid": "identity-label" }, ` · ${person.label}`) : null,
      person && person.phone
        ? el("span", { "data-testid": "identity-phone" }, ` · ${formatPhone(person.phone)}`)
        : null,
    ].filter(Boolean));
  }

  async function openChat(chatId) {
    const same = Number(chatId) === Number(state.chatId);
    if (!same) {
      state.chatId = Number(chatId);
      state.rendered = new Map();
      state.byId = new Map();
      state.keyboardSig = "";
      resetReply();
      $("messages").replaceChildren();
      $("reply-keyboard").replaceChildren();
      $("reply-keyboard").hidden = true;
      clearAttachment();
    }
    $("composer").hidden = false;
    renderConvoHead();
    renderChats();
    setView("convo");
    saveHash();
    await Promise.all([loadMessages({ initial: !same }), loadKeyboard(), loadChats()]);
    syncForceReply();
    if (window.matchMedia("(min-width: 900px)").matches) $("input").focus();
  }

  function serviceText(m) {
    const actor = fullName(m.from);
    if (m.new_chat_members) {
      const names = m.new_chat_members.map(fullName).join("、");
      const self = m.new_chat_members.length === 1 && m.from && m.new_chat_members[0].id === m.from.id;
      return self ? `${names} 加入了群组` : `${actor} 邀请 ${names} 加入群组`;
    }
    if (m.left_chat_member) {
      const name = fullName(m.left_chat_member);
      return m.from && m.left_chat_member.id === m.from.id ? `${name} 离开了群组` : `${actor} 将 ${name} 移出群组`;
    }
    if (m.group_chat_created) return `${actor} 创建了群组「${m.chat ? m.chat.title || "" : ""}」`;
    if (m.supergroup_chat_created) return `${actor} 创建了超级群组`;
    if (m.migrate_to_chat_id) return "本群已升级为超级群组 · Group upgraded to a supergroup";
    if (m.migrate_from_chat_id) return "群组已由普通群升级为超级群组 · Upgraded from a basic group";
    if (m.new_chat_title) return `${actor} 将群名改为「${m.new_chat_title}」`;
    if (m.new_chat_photo) return `${actor} 更换了群头像`;
    if (m.delete_chat_photo) return `${actor} 删除了群头像`;
    if (m.pinned_message) return `${actor} 置顶了一条消息`;
    if (m.service || m.service_text) return String(m.service_text || m.service);
    return "";
  }

  function largestPhoto(sizes) {
    return [...sizes].sort(
      (a, b) => (b.file_size || 0) - (a.file_size || 0) || (b.width * b.height || 0) - (a.width * a.height || 0),
    )[0];
  }

  /** Albums: each run of neighbouring messages sharing a media_group_id, as
   * message_id → {index, count} (1-based), so the page shows them together. */
  function albumPlaces(messages) {
    const places = new Map();
    let run = [];
    const close = () => {
      if (run.length > 1) run.forEach((m, i) => places.set(m.message_id, { index: i + 1, count: run.length }));
      run = [];
    };
    for (const m of messages) {
      const group = m.media_group_id;
      if (!group || !run.length || run[0].media_group_id !== group) close();
      if (group) run.push(m);
    }
    close();
    return places;
  }

  function renderMessage(m, album) {
    const service = serviceText(m);
    if (service) {
      const line = el("div", { class: "service", "data-testid": "service-message",
        "data-message-id": m.message_id }, el("span", {}, service));
      if (m.migrate_to_chat_id) {
        const target = m.migrate_to_chat_id;
        line.append(el("button", { type: "button", class: "link", onclick: async () => {
          await loadChats();
          if (state.chats.some((c) => Number(c.id) === Number(target))) await openChat(target);
        } }, "前往新群 Open"));
      }
      return line;
    }
    const from = m.from || m.sender_chat || {};
    const mine = Number(from.id) === Number(state.me);
    const chat = currentChat();
    const inGroup = chat && chat.type !== "private";
    const bubble = el("div", { class: "bubble" });
    if (inGroup && !mine && !(album && album.index > 1)) {
      const name = el("div", { class: "sender", "data-testid": "sender" }, fullName(from) || from.title || "");
      name.style.color = colourOf(from.id);
      if (from.is_bot) name.append(el("span", { class: "bot-tag" }, "机器人"));
      bubble.append(name);
    }
    if (m.reply_to_message) {
      // Telegram's reply quote: who and what was answered; a click shows the original.
      const r = m.reply_to_message;
      bubble.append(
        el("div", { class: "quote", "data-testid": "quote", "data-reply-to": r.message_id,
          title: "查看原消息 Show the original", onclick: () => showMessage(r.message_id) },
        el("div", { class: "quote-name" }, fullName(r.from)),
        el("div", { class: "quote-text" }, previewText(r).slice(0, 80))),
      );
    }
    if (Array.isArray(m.photo) && m.photo.length) {
      const best = largestPhoto(m.photo);
      const img = el("img", { class: "photo", src: fileUrl(best.file_id), alt: "图片 photo",
        loading: "lazy", "data-testid": "photo" });
      if (best.width && best.height) {
        // At most 320 px either way (a portrait photo is not letterboxed).
        const scale = Math.min(1, 320 / best.width, 320 / best.height);
        img.width = Math.round(best.width * scale);
        img.height = Math.round(best.height * scale);
      }
      img.addEventListener("load", () => keepBottom());
      bubble.append(el("a", { class: "photo-link", href: fileUrl(best.file_id), target: "_blank", rel: "noopener" },
        img,
        album ? el("span", { class: "album-tag", "data-testid": "album-tag", title: "相册 Album" },
          `${album.index}/${album.count}`) : null));
    }
    if (m.document) {
      const d = m.document;
      bubble.append(
        el("a", { class: "document", href: fileUrl(d.file_id), download: d.file_name || "file",
          "data-testid": "document" },
        el("span", { class: "doc-icon" }, el("img", { src: "/static/file.svg", alt: "" })),
        el("span", { class: "doc-text" },
          el("span", { class: "doc-name" }, d.file_name || "文件 file"),
          el("span", { class: "doc-size" }, [formatSize(d.file_size), d.mime_type].filter(Boolean).join(" · ")))),
      );
    }
    if (m.contact) {
      const c = m.contact;
      bubble.append(
        el("div", { class: "contact", "data-testid": "contact" },
          avatar(c.first_name, c.user_id || 0),
          el("div", {},
            el("div", { class: "contact-name" }, fullName(c) || "联系人"),
            el("div", { class: "contact-phone" }, formatPhone(c.phone_number)),
            el("div", { class: "contact-kind" }, "联系人 Contact"))),
      );
    }
    const body = richText(m, "text", "entities") || richText(m, "caption", "caption_entities");
    if (body) bubble.append(body);
    if (!body && !m.photo && !m.document && !m.contact) {
      const kinds = ["sticker", "voice", "video", "audio", "location", "venue", "poll", "animation"];
      const kind = kinds.find((k) => m[k]);
      bubble.append(el("div", { class: "text muted" }, kind ? `[${kind}]` : "[不支持的消息 unsupported]"));
    }
    bubble.append(
      el("div", { class: "meta" },
        m.edit_date ? el("span", { class: "edited", "data-testid": "edited",
          title: `编辑于 edited ${fullTimeOf(m.edit_date)}` }, "已编辑 edited") : null,
        el("time", { class: "time", "data-testid": "time", title: fullTimeOf(m.date),
          datetime: m.date ? new Date(m.date * 1000).toISOString() : null }, timeOf(m.date))),
    );
    const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
    // The bubble and its inline keyboard share one width, as in Telegram.
    const stack = el("div", { class: "stack" }, bubble);
    if (rows.length) stack.append(inlineKeyboard(m, rows));
    // Reply to any message, as in Telegram's apps: the button (on hover), or a double click.
    stack.append(el("button", { type: "button", class: "reply-action", "data-testid": "reply-action",
      title: "回复这条消息 Reply", onclick: () => replyTo(m.message_id) }, "回复"));
    bubble.addEventListener("dblclick", (event) => {
      if (event.target.closest("a, button, .command, .spoiler")) return;
      window.getSelection()?.removeAllRanges();
      replyTo(m.message_id);
    });
    let albumClass = "";
    if (album) {
      albumClass = " in-album";
      if (album.index === 1) albumClass += " album-first";
      if (album.index === album.count) albumClass += " album-last";
    }
    return el("div", {
      class: `message ${mine ? "mine" : "theirs"}${from.is_bot ? " from-bot" : ""}${rows.length ? " has-keyboard" : ""}${albumClass}`,
      "data-testid": "message",
      "data-message-id": m.message_id,
      "data-from": from.id,
      "data-media-group": album ? m.media_group_id : null,
    }, stack);
  }

  function inlineKeyboard(message, rows) {
    const box = el("div", { class: "inline-keyboard", "data-testid": "inline-keyboard" });
    for (const row of rows) {
      const line = el("div", { class: "ik-row" });
      for (const button of row) {
        const node = el("button", { type: "button", class: "ik-button", "data-testid": "inline-button",
          "data-callback": button.callback_data ?? null }, button.text);
        if (button.url) {
          node.append(el("span", { class: "ik-link", "aria-hidden": "true" }, " ↗"));
          node.dataset.url = button.url;
          node.addEventListener("click", () => {
            const payload = startPayload(button.url);
            if (payload !== null) followStartLink(payload);
            else if (SAFE_URL.test(button.url)) window.open(button.url, "_blank", "noopener");
          });
        } else if (button.callback_data !== undefined) {
          node.addEventListener("click", () => tap(message, button, node));
        } else {
          node.disabled = true;
          node.title = "沙盒不支持此按钮 Not supported in the sandbox";
        }
        line.append(node);
      }
      box.append(line);
    }
    return box;
  }

  /** Telegram's deep link to this bot (``https://t.me/<bot>?start=<payload>``): its payload
   *  ("" for a bare ``?start=``); null for any other link, which opens normally. */
  function startPayload(url) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch (err) {
      return null;
    }
    const host = parsed.hostname.toLowerCase();
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return null;
    if (!["t.me", "www.t.me", "telegram.me", "www.telegram.me"].includes(host)) return null;
    const name = parsed.pathname.replace(/^\/+|\/+$/g, "").toLowerCase();
    const bot = String((state.bot && state.bot.username) || "").toLowerCase();
    if (!bot || name !== bot || !parsed.searchParams.has("start")) return null;
    const payload = parsed.searchParams.get("start") || "";
    return /^[A-Za-z0-9_-]{0,64}$/.test(payload) ? payload : null;
  }

  /** Follow a deep link to this bot as Telegram does: the person's private chat with the
   *  bot opens and /start with the payload is sent (Telegram shows a START button first;
   *  the page presses it for them). */
  async function followStartLink(payload) {
    if (state.me === null) return;
    const me = state.me;
    if (!state.chats.some((c) => c.type === "private")) await loadChats();
    const privateChat = state.chats.find((c) => c.type === "private");
    if (!privateChat || state.me !== me) return;
    await openChat(privateChat.id);
    await sendText(payload ? `/start ${payload}` : "/start");
  }

  async function tap(message, button, node) {
    if (node.classList.contains("busy")) return;
    node.classList.add("busy");
    try {
      const result = await api("POST", `/api/chats/${state.chatId}/tap`, {
        as: state.me,
        message_id: message.message_id,
        data: button.callback_data,
      });
      const answer = result && result.answer;
      if (answer && answer.text) {
        if (answer.show_alert) await modal(answer.text);
        else toast(answer.text);
      } else if (answer && answer.url) {
        toast(`机器人给出链接：${answer.url}`);
      } else if (!answer) {
        toast("机器人没有回应这个按钮 (no answer from the bot)", "warn");
      }
    } catch (err) {
      toast(`操作失败：${err.message}`, "error");
    } finally {
      node.classList.remove("busy");
      scheduleRefresh();
    }
  }

  function nearBottom() {
    const box = $("messages");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  let stickToBottom = true;

  function keepBottom() {
    if (stickToBottom) {
      const box = $("messages");
      box.scrollTop = box.scrollHeight;
    }
  }

  async function loadMessages({ initial = false } = {}) {
    const chatId = state.chatId;
    if (chatId === null) return;
    const messages = (await api("GET", `/api/chats/${chatId}/messages`)) || [];
    if (chatId !== state.chatId) return;
    state.byId = new Map(messages.map((m) => [m.message_id, m]));
    const box = $("messages");
    const wasNear = initial || nearBottom();
    const previousNewest = state.lastIds.get(chatId) || 0;
    const keep = new Set();
    let anchor = null;
    let lastDay = "";
    let grewByMine = false;
    const albums = albumPlaces(messages);
    for (const m of messages) {
      const day = dayOf(m.date);
      if (day !== lastDay) {
        const key = `day:${day}`;
        keep.add(key);
        let entry = state.rendered.get(key);
        if (!entry) {
          entry = { sig: key, el: el("div", { class: "day", "data-testid": "day" },
            el("span", { title: `${clock.zone} 的日期 the estate's date` }, day)) };
          state.rendered.set(key, entry);
        }
        anchor = place(box, entry.el, anchor);
        lastDay = day;
      }
      const key = `m:${m.message_id}`;
      keep.add(key);
      const album = albums.get(m.message_id) || null;
      const sig = JSON.stringify([m, album]);
      let entry = state.rendered.get(key);
      if (!entry || entry.sig !== sig) {
        const node = renderMessage(m, album);
        if (entry) entry.el.replaceWith(node);
        entry = { sig, el: node };
        state.rendered.set(key, entry);
      }
      anchor = place(box, entry.el, anchor);
      if (m.message_id > previousNewest && m.from && Number(m.from.id) === Number(state.me)) {
        grewByMine = true;
      }
    }
    for (const [key, entry] of state.rendered) {
      if (!keep.has(key)) {
        entry.el.remove();
        state.rendered.delete(key);
      }
    }
    if (!messages.length) {
      box.replaceChildren(
        el("div", { class: "empty-chat" },
          state.chats.find((c) => c.id === chatId && c.type === "private")
            ? ["还没有消息。发送 ", el("code", {}, "/start"), " 开始与机器人对话。",
              el("br"), el("small", {}, "No messages yet: send /start to begin.")]
            : ["还没有消息 ", el("small", {}, "No messages yet")]),
      );
      state.rendered = new Map();
    } else {
      box.querySelector(".empty-chat")?.remove();
    }
    const newest = messages.length ? messages[messages.length - 1].message_id : 0;
    state.lastIds.set(chatId, newest);
    state.seen.set(`${state.me}:${chatId}`, newest);
    stickToBottom = wasNear || grewByMine;
    if (newest > previousNewest || initial) {
      if (stickToBottom) {
        const last = box.lastElementChild;
        if (last && !initial) last.scrollIntoView({ block: "end", behavior: "smooth" });
        else box.scrollTop = box.scrollHeight;
      }
    }
  }

  /** Put node right after anchor (or first) in box unless it already is there. */
  function place(box, node, anchor) {
    const expected = anchor ? anchor.nextSibling : box.firstChild;
    if (expected !== node) box.insertBefore(node, expected);
    return node;
  }

  // --- the reply keyboard ----------------------------------------------------------------------

  async function loadKeyboard() {
    const chatId = state.chatId;
    if (chatId === null) return;
    let markup = null;
    try {
      markup = await api("GET", `/api/chats/${chatId}/keyboard`);
    } catch (err) {
      markup = null;
    }
    if (chatId !== state.chatId) return;
    const sig = JSON.stringify(markup);
    if (sig === state.keyboardSig) return;
    state.keyboardSig = sig;
    renderKeyboard(markup);
  }

  function renderKeyboard(markup) {
    const box = $("reply-keyboard");
    const input = $("input");
    box.replaceChildren();
    const rows = (markup && markup.keyboard) || [];
    state.keyboardPlaceholder = (markup && markup.input_field_placeholder) || "";
    updatePlaceholder();
    if (!rows.length) {
      box.hidden = true;
      return;
    }
    for (const row of rows) {
      const line = el("div", { class: "rk-row" });
      for (const raw of row) {
        const button = typeof raw === "string" ? { text: raw } : raw;
        const node = el("button", { type: "button", class: "rk-button", "data-testid": "reply-button" },
          button.text);
        if (button.request_contact) node.classList.add("contact-button");
        node.addEventListener("click", () => pressReplyButton(button, markup));
        line.append(node);
      }
      box.append(line);
    }
    box.hidden = false;
    keepBottom();
  }

  async function pressReplyButton(button, markup) {
    const chatId = state.chatId;
    if (button.request_contact) {
      const person = personById(state.me);
      const phone = person && person.phone ? formatPhone(person.phone) : "（未设置手机号 no phone）";
      const yes = await modal(`将把您的手机号 ${phone} 分享给机器人。\nShare your phone number with the bot?`,
        { confirm: true, okText: "分享 Share" });
      if (!yes) return;
      try {
        await api("POST", `/api/chats/${chatId}/contact`, { as: state.me });
      } catch (err) {
        toast(`分享失败：${err.message}`, "error");
      }
    } else if (button.request_location || button.request_poll || button.request_users
      || button.request_chat || button.web_app) {
      toast("沙盒暂不支持这种按钮 (not supported in the sandbox)", "warn");
      return;
    } else {
      await sendText(button.text);
    }
    if (markup && markup.one_time_keyboard) $("reply-keyboard").hidden = true;
    scheduleRefresh();
  }

  // --- sending ---------------------------------------------------------------------------------

  async function sendText(text, { reply = false } = {}) {
    if (state.chatId === null || state.me === null) return false;
    const body = { as: state.me, text };
    const answering = reply ? state.replyTo : null;
    if (answering) body.reply_to = answering.messageId;
    try {
      await api("POST", `/api/chats/${state.chatId}/text`, body);
      if (answering && state.replyTo === answering) clearReply();
      stickToBottom = true;
      scheduleRefresh();
      return true;
    } catch (err) {
      toast(`发送失败：${err.message}`, "error");
      return false;
    }
  }

  // --- the command menu (Telegram's "/" button) ---------------------------------------------

  /** The bot's commands as the person sees them in this chat (setMyCommands' scopes and
   *  languages, resolved by the sandbox as Telegram does); a command is sent when picked. */
  async function openCommands() {
    if (state.chatId === null || state.me === null) return;
    const list = $("commands-menu");
    let commands = [];
    try {
      commands = await api("GET", `/api/chats/${state.chatId}/commands?as=${state.me}`) || [];
    } catch (err) {
      toast(`无法读取命令菜单：${err.message}`, "error");
      return;
    }
    const items = commands.map((c) => {
      const item = el("button", { type: "button", role: "menuitem", "data-testid": "command-item" },
        el("b", {}, `/${c.command}`), el("small", {}, c.description));
      item.addEventListener("click", () => {
        closeCommands();
        sendText(`/${c.command}`);
      });
      return item;
    });
    if (!items.length) items.push(el("span", { class: "commands-empty" }, "（没有命令 No commands）"));
    list.replaceChildren(...items);
    list.hidden = false;
    $("commands").setAttribute("aria-expanded", "true");
  }

  function closeCommands() {
    $("commands-menu").hidden = true;
    $("commands").setAttribute("aria-expanded", "false");
  }

  async function send() {
    if (state.sending) return;
    const input = $("input");
    const text = input.value;
    state.sending = true;
    $("send").disabled = true;
    try {
      if (state.attachment) {
        await sendAttachment(text);
      } else if (text.trim()) {
        if (await sendText(text, { reply: true })) input.value = "";
      }
    } catch (err) {
      toast(`发送失败：${err.message}`, "error");
    } finally {
      state.sending = false;
      $("send").disabled = false;
      autoGrow();
      input.focus();
    }
  }

  /** Telegram's albums hold at most 10 photos; more go as several albums, 10 at a time. */
  const ALBUM_MAX = 10;

  /** The attachment bar shows this many thumbnails, then "+n". */
  const THUMBS_SHOWN = 4;

  /** Whether the browser can show the file as a picture. */
  async function isPicture(file) {
    if (typeof createImageBitmap !== "function") return true;
    try {
      (await createImageBitmap(file)).close();
      return true;
    } catch (err) {
      return false;
    }
  }

  /** What goes out, in order, as [{kind: "album"|"photo"|"document", files}], one request
   * each: the photos in albums of up to 10 (a lone one a plain photo); a "photo" that is no
   * picture the browser can show goes as a file after them instead, as Telegram's apps
   * send it. */
  async function sendingPlan(kind, files) {
    if (kind !== "photo") return files.map((file) => ({ kind, files: [file] }));
    const pictures = [];
    const others = [];
    for (const file of files) ((await isPicture(file)) ? pictures : others).push(file);
    const plan = [];
    for (let start = 0; start < pictures.length; start += ALBUM_MAX) {
      const chunk = pictures.slice(start, start + ALBUM_MAX);
      plan.push({ kind: chunk.length > 1 ? "album" : "photo", files: chunk });
    }
    for (const file of others) plan.push({ kind: "document", files: [file] });
    return plan;
  }

  /** The chosen photo(s) or file, in order, as Telegram sends them: several photos are an
   * album, sent whole in one request (the sandbox gives its photos consecutive messages
   * sharing a media_group_id, and the bot receives them together, so nothing, not even the
   * bot's answer to the first photo, comes between them however slow the upload), the
   * typed text the caption of the first; sent as a reply, each of them answers the message.
   * Should a request fail, what was sent is taken off the attachment and the rest stays to
   * be sent again. */
  async function sendAttachment(text) {
    const attachment = state.attachment;
    const { kind, files } = attachment;
    const answering = state.replyTo;
    const caption = text.trim() ? text : "";
    const plan = await sendingPlan(kind, files);
    let sent = 0; // files
    let done = 0; // requests
    try {
      for (const batch of plan) {
        if (files.length > 1) showAttachmentProgress(sent + 1, sent + batch.files.length, files.length);
        const form = new FormData();
        form.append("as", String(state.me));
        if (done === 0 && caption) form.append("caption", caption);
        if (answering) form.append("reply_to", String(answering.messageId));
        for (const file of batch.files) form.append("file", file, file.name);
        await api("POST", `/api/chats/${state.chatId}/${batch.kind}`, form);
        sent += batch.files.length;
        done += 1;
      }
    } catch (err) {
      if (!done) {
        showAttachmentHint(files.length);
        throw err;
      }
      // The caption went with the first: what is left is sent again without it.
      $("input").value = "";
      const rest = plan.slice(done).flatMap((batch) => batch.files);
      if (state.attachment === attachment) setAttachment(kind, rest);
      toast(`已发送 ${sent}/${files.length} 张，其余未发送：${err.message}`, "error");
      return;
    } finally {
      stickToBottom = true;
      scheduleRefresh();
    }
    if (state.attachment === attachment) clearAttachment();
    if (answering && state.replyTo === answering) clearReply();
    $("input").value = "";
  }

  function autoGrow() {
    const input = $("input");
    input.style.height = "auto";
    input.style.height = `${Math.min(160, input.scrollHeight)}px`;
  }

  /** The photo(s) or file picked: the bar above the input says what will be sent (one
   * file's name and size; several photos' count, size and thumbnails). */
  function setAttachment(kind, picked) {
    const files = Array.from(picked || []).filter(Boolean);
    if (!files.length) return;
    revokePreviews();
    const previews = kind === "photo" ? files.map((file) => URL.createObjectURL(file)) : [];
    state.attachment = { kind, files, previews };
    const bar = $("attachment");
    bar.dataset.kind = kind;
    bar.dataset.count = String(files.length);
    $("attachment-icon").src = kind === "photo" ? "/static/photo.svg" : "/static/file.svg";
    const name = $("attachment-name");
    if (files.length === 1) {
      name.textContent = `${files[0].name} (${formatSize(files[0].size)})`;
      name.title = files[0].name;
    } else {
      const total = files.reduce((sum, file) => sum + file.size, 0);
      const albums = Math.ceil(files.length / ALBUM_MAX);
      name.textContent = `${files.length} 张图片 (${formatSize(total)})`
        + (albums > 1 ? ` · 分 ${albums} 组发送` : "");
      name.title = files.map((file) => file.name).join("\n");
    }
    const thumbs = $("attachment-thumbs");
    thumbs.replaceChildren(...previews.slice(0, THUMBS_SHOWN).map((url, index) =>
      el("img", { class: "attachment-thumb", src: url, alt: files[index].name, title: files[index].name,
        width: 32, height: 32, "data-testid": "attachment-thumb",
        onerror: (event) => { event.target.src = "/static/file.svg"; } })));
    if (previews.length > THUMBS_SHOWN) {
      thumbs.append(el("span", { class: "attachment-more" }, `+${previews.length - THUMBS_SHOWN}`));
    }
    thumbs.hidden = !previews.length;
    showAttachmentHint(files.length);
    bar.hidden = false;
    $("input").focus();
  }

  function showAttachmentHint(count) {
    $("attachment-hint").replaceChildren(...(count > 1
      ? ["文字将作为相册的说明 ", el("small", {}, "album caption")]
      : ["输入框中的文字将作为说明 ", el("small", {}, "caption")]));
  }

  /** While photos go out: which of them are being sent (an album's at once). */
  function showAttachmentProgress(first, last, count) {
    const which = first === last ? `${first}` : `${first}–${last}`;
    $("attachment-hint").replaceChildren(`正在发送 ${which}/${count}… `, el("small", {}, "sending"));
  }

  function revokePreviews() {
    for (const url of (state.attachment && state.attachment.previews) || []) URL.revokeObjectURL(url);
  }

  function clearAttachment() {
    revokePreviews();
    state.attachment = null;
    $("attachment").hidden = true;
    $("attachment-thumbs").replaceChildren();
    $("file-photo").value = "";
    $("file-document").value = "";
  }

  // --- replies and ForceReply ----------------------------------------------------------------

  /** The first line of a message, as the reply bar quotes it. */
  function firstLine(message) {
    if (!message) return "";
    const text = String(message.text || message.caption || "");
    const line = text.split("\n").map((part) => part.trim()).find(Boolean) || "";
    if (message.photo) return `[图片] ${line}`.trim();
    if (message.document) return `[文件] ${message.document.file_name || ""} ${line}`.trim();
    if (message.contact) return `[联系人] ${fullName(message.contact)}`;
    return line || serviceText(message) || "消息";
  }

  /** Answer this message with the next one sent (Telegram's reply bar above the input). */
  function replyTo(messageId, { forced = false, placeholder = "" } = {}) {
    state.replyTo = { messageId: Number(messageId), forced, placeholder };
    renderReplyBar();
    if (!forced || document.activeElement === document.body) $("input").focus();
  }

  function clearReply() {
    state.replyTo = null;
    renderReplyBar();
  }

  function resetReply() {
    state.forcedSeen = null;
    clearReply();
  }

  /** ✕: the reply is cancelled; a ForceReply is dismissed in the sandbox too. */
  async function cancelReply() {
    clearReply();
    const chat = currentChat();
    if (!chat || !chat.force_reply || state.chatId === null) return;
    chat.force_reply = null;
    try {
      await api("DELETE", `/api/chats/${state.chatId}/force_reply?as=${encodeURIComponent(state.me)}`);
    } catch (err) {
      toast(`操作失败：${err.message}`, "error");
    }
  }

  /** The bot asked this person for a reply (ForceReply): the reply bar opens by itself,
   * with the bot's placeholder, as Telegram's apps do; it closes once answered elsewhere. */
  function syncForceReply() {
    const chat = currentChat();
    const asked = (chat && chat.force_reply) || null;
    if (asked && asked.message_id !== state.forcedSeen) {
      state.forcedSeen = asked.message_id;
      replyTo(asked.message_id, { forced: true, placeholder: asked.input_field_placeholder || "" });
    } else if (!asked && state.replyTo && state.replyTo.forced) {
      clearReply();
    } else {
      renderReplyBar();
    }
  }

  function renderReplyBar() {
    const bar = $("reply-bar");
    if (state.replyTo && state.byId.size && !state.byId.has(state.replyTo.messageId)) {
      state.replyTo = null; // its message was deleted
    }
    const reply = state.replyTo;
    if (!reply) {
      bar.hidden = true;
      delete bar.dataset.messageId;
      updatePlaceholder();
      return;
    }
    const message = state.byId.get(reply.messageId);
    const quote = message ? firstLine(message) : `消息 #${reply.messageId}`;
    $("reply-bar-quote").textContent = quote;
    $("reply-bar-name").textContent = message ? fullName(message.from) : "";
    bar.title = quote;
    bar.dataset.messageId = String(reply.messageId);
    bar.classList.toggle("forced", reply.forced);
    bar.hidden = false;
    updatePlaceholder();
    keepBottom();
  }

  function updatePlaceholder() {
    const reply = state.replyTo;
    $("input").placeholder = (reply && reply.placeholder) || state.keyboardPlaceholder
      || (reply ? "输入回复… Reply" : "输入消息… Message");
  }

  /** Scroll to a message (a reply quote's original) and flash it. */
  function showMessage(messageId) {
    const node = $("messages").querySelector(`[data-message-id="${Number(messageId)}"]`);
    if (!node) {
      toast("原消息已删除 (the original was deleted)", "warn");
      return;
    }
    node.scrollIntoView({ block: "center", behavior: "smooth" });
    node.classList.remove("flash");
    void node.offsetWidth; // restart the animation
    node.classList.add("flash");
  }

  // --- live updates ----------------------------------------------------------------------------

  let refreshTimer = null;
  let refreshing = false;
  let refreshAgain = false;

  function scheduleRefresh(delay = 80) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, delay);
  }

  async function refresh() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    try {
      const jobs = [loadChats()];
      if (state.chatId !== null) jobs.push(loadMessages(), loadKeyboard());
      await Promise.all(jobs);
      if (state.chatId !== null) syncForceReply();
      setLive(source ? "live" : "polling");
    } catch (err) {
      setLive("down");
    } finally {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        scheduleRefresh();
      }
    }
  }

  function setLive(mode) {
    const node = $("live");
    node.dataset.mode = mode;
    node.title = {
      live: "实时更新中 Live",
      polling: "每 2 秒刷新 Polling every 2 s",
      down: "无法连接沙盒 Sandbox unreachable",
    }[mode];
  }

  let source = null;
  let pollTimer = null;

  function connect() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    source = new EventSource("/api/events");
    source.onopen = () => {
      stopPolling();
      setLive("live");
      scheduleRefresh();
    };
    source.onmessage = (event) => {
      let data = null;
      try {
        data = JSON.parse(event.data);
      } catch (err) {
        data = null;
      }
      const type = String((data && data.type) || "");
      if (type === "person") loadPeople().catch(() => {});
      if (type === "action") {
        if (Number(data.chat_id) === Number(state.chatId)) showTyping(data.action);
        return;
      }
      if (type === "message" && Number(data.chat_id) === Number(state.chatId)) hideTyping();
      scheduleRefresh();
    };
    source.onerror = () => {
      if (source) source.close();
      source = null;
      startPolling();
      setTimeout(connect, 10000);
    };
  }

  let typingTimer = null;

  /** Telegram's "typing…" beside the title, for the few seconds a chat action lasts. */
  function showTyping(action) {
    const node = $("typing");
    const texts = {
      upload_photo: "正在发送图片… sending a photo",
      upload_document: "正在发送文件… sending a file",
    };
    node.textContent = texts[action] || "正在输入… typing";
    node.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, 5000);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    $("typing").hidden = true;
  }

  function startPolling() {
    setLive("polling");
    if (pollTimer === null) {
      pollTimer = setInterval(() => {
        refresh();
        loadPeople().catch(() => {});
      }, 2000);
    }
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  // --- layout and navigation -------------------------------------------------------------------

  function setView(view) {
    $("app").dataset.view = view;
  }

  function saveHash() {
    const parts = [];
    if (state.me !== null) parts.push(`p=${state.me}`);
    if (state.chatId !== null) parts.push(`c=${state.chatId}`);
    const hash = parts.length ? `#${parts.join("&")}` : "";
    if (location.hash !== hash) history.replaceState(null, "", hash || location.pathname);
  }

  async function restoreHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const uid = params.get("p");
    if (!uid || !personById(uid)) return;
    await choosePerson(Number(uid));
    const chat = params.get("c");
    if (chat && state.chats.some((c) => String(c.id) === chat)) await openChat(Number(chat));
  }

  function wire() {
    $("help-toggle").addEventListener("click", () => {
      const help = $("help");
      help.hidden = !help.hidden;
      $("help-toggle").setAttribute("aria-expanded", String(!help.hidden));
    });
    $("new-person-form").addEventListener("submit", createPerson);
    for (const node of document.querySelectorAll("[data-back]")) {
      node.addEventListener("click", () => setView(node.dataset.back));
    }
    const input = $("input");
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        send();
      } else if (event.key === "Escape" && state.replyTo && !event.isComposing) {
        event.preventDefault();
        cancelReply();
      }
    });
    input.addEventListener("input", autoGrow);
    $("send").addEventListener("click", send);
    const menu = $("attach-menu");
    $("attach").addEventListener("click", (event) => {
      event.stopPropagation();
      closeCommands();
      menu.hidden = !menu.hidden;
      $("attach").setAttribute("aria-expanded", String(!menu.hidden));
    });
    $("commands").addEventListener("click", (event) => {
      event.stopPropagation();
      menu.hidden = true;
      if ($("commands-menu").hidden) openCommands();
      else closeCommands();
    });
    document.addEventListener("click", () => {
      menu.hidden = true;
      $("attach").setAttribute("aria-expanded", "false");
      closeCommands();
    });
    for (const node of menu.querySelectorAll("[data-pick]")) {
      node.addEventListener("click", () => $(`file-${node.dataset.pick}`).click());
    }
    $("file-photo").addEventListener("change", (e) => setAttachment("photo", e.target.files));
    $("file-document").addEventListener("change", (e) => setAttachment("document", [e.target.files[0]]));
    $("attachment-cancel").addEventListener("click", clearAttachment);
    $("reply-cancel").addEventListener("click", () => {
      cancelReply();
      $("input").focus();
    });
    $("messages").addEventListener("scroll", () => {
      stickToBottom = nearBottom();
    });
  }

  async function start() {
    wire();
    renderChats();
    try {
      const world = await api("GET", "/api/state");
      state.bot = (world && (world.bot || world.me)) || null;
      setZone(world && world.timezone);
    } catch (err) {
      state.bot = null;
      setZone(DEFAULT_ZONE);
    }
    try {
      await loadPeople();
      await restoreHash();
    } catch (err) {
      toast(`加载失败：${err.message}`, "error");
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
