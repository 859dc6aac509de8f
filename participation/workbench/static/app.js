/* The committee's workbench (社区工作台): one page, plain JavaScript, no dependencies.
 *
 * It calls only the documented JSON API under /api/v1/ (same origin) with the staff
 * member's bearer token, kept in sessionStorage (gone when the tab is closed). Numeric ids
 * stay inside this script and the address's fragment: the pages show names (楼栋, 单元, 房号).
 * Personal data never goes into a URL or the browser log; every API error is shown as its
 * Chinese ``message``.
 */
(function () {
  "use strict";

  const API = new URL("../api/v1/", window.location.href).pathname;
  const TOKENS_KEY = "participation.workbench.tokens";
  const REFRESH_MS = 15000;
  const RETRY_DELAYS = [1000, 3000];

  const $ = (id) => document.getElementById(id);

  // --- words ---------------------------------------------------------------------------------

  const MATTERS = {
    elevator: "加装电梯",
    rebuild: "改建、重建建筑物及其附属设施",
    raise_maintenance_fund: "筹集维修资金",
    use_maintenance_fund: "使用维修资金",
    change_common_use: "改变共有部分用途或利用共有部分经营",
    property_service: "选聘、解聘物业服务企业",
    committee: "选举、更换业主委员会成员",
    bylaws: "制定、修改业主大会议事规则",
    management_rules: "制定、修改管理规约",
    other: "其他共有和共同管理事项",
  };
  const MAJOR = ["elevator", "rebuild", "raise_maintenance_fund", "change_common_use"];
  const COST_MATTERS = ["elevator", "rebuild"];
  const RULES = {
    civil_code_major:
      "双三分之二：参与表决的业主须占专有部分面积和人数均达到三分之二以上，" +
      "且同意的须占参与表决者专有部分面积和人数均达到四分之三以上（民法典第二百七十八条）。",
    civil_code_ordinary:
      "参与表决的业主须占专有部分面积和人数均达到三分之二以上，" +
      "且同意的须占参与表决者专有部分面积和人数均过半数（民法典第二百七十八条）。",
    renovation_consent: "同意改造的业主须达到业主总数的三分之二以上。",
  };
  const SURVEY_KINDS = {
    consent: "意愿征询",
    menu: "菜单选择",
    satisfaction: "满意度评价",
    general: "问卷调查",
  };
  const STATES = {
    draft: "草稿",
    open: "进行中",
    closed: "已截止",
    published: "公示中",
    final: "已生效",
    cancelled: "已取消",
  };
  const CHOICES = { agree: "同意", disagree: "不同意", abstain: "弃权" };
  const CHANNELS = { online: "线上", proxy: "委托", paper: "纸质票" };
  const IMPORT_STATES = {
    queued: "排队中",
    running: "正在导入",
    done: "已完成",
    rejected: "未通过检查",
    failed: "导入失败",
  };
  const REMINDER_STATES = {
    queued: "等待发送",
    sending: "发送中",
    pending: "发送中",
    paused_quiet_hours: "21:00–8:00 暂停，8:00 后继续",
    done: "提醒已发送",
    finished: "提醒已发送",
    failed: "发送失败",
  };
  const REMINDER_OVER = ["done", "finished", "failed", "paused_quiet_hours"];
  const CLAIM_FLAGS = {
    name_differs: "姓名与名册不一致",
    id_differs: "证件号后四位与名册不一致",
    dwelling_linked: "该房屋已关联其他手机号",
  };
  const DEFAULT_MESSAGES = {
    0: "网络连接失败，请检查网络后重试",
    401: "请先登录",
    403: "您没有权限进行这项操作",
    404: "未找到，或不在您负责的范围内",
    409: "与现有数据冲突",
    413: "文件太大",
    415: "文件类型不支持",
    422: "提交的内容有误",
    429: "操作过于频繁，请稍后再试",
  };

  // --- tokens ----------------------------------------------------------------------------------

  let memoryTokens = null;
  const tokens = {
    get() {
      try {
        const text = window.sessionStorage.getItem(TOKENS_KEY);
        return text ? JSON.parse(text) : memoryTokens;
      } catch (e) {
        return memoryTokens;
      }
    },
    set(value) {
      memoryTokens = value;
      try {
        window.sessionStorage.setItem(TOKENS_KEY, JSON.stringify(value));
      } catch (e) {
        /* storage refused: memory only */
      }
    },
    clear() {
      memoryTokens = null;
      try {
        window.sessionStorage.removeItem(TOKENS_KEY);
      } catch (e) {
        /* nothing stored */
      }
    },
  };

  // --- the API: every request goes through send() ----------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, errors, headers) {
      super(message);
      this.status = status;
      this.code = code;
      this.errors = errors || {};
      this.headers = headers;
    }
  }

  /** ``body``: an object (JSON) or FormData; ``options``: ``headers``, ``blob`` (a download),
   * ``full`` (resolve to {status, data, headers}). */
  async function send(method, path, body, bearer, options) {
    options = options || {};
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers["Content-Type"] = "application/json";
    if (bearer) headers.Authorization = "Bearer " + bearer;
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        body: body === undefined || form ? body : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch (e) {
      throw new ApiError(0, "network_error", DEFAULT_MESSAGES[0]);
    }
    if (response.ok && options.blob) return response.blob();
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
    }
    if (response.ok) {
      return options.full ? { status: response.status, data, headers: response.headers } : data;
    }
    throw new ApiError(
      response.status,
      (data && data.code) || "error",
      (data && data.message) || DEFAULT_MESSAGES[response.status] || "出错了，请稍后再试",
      data && data.errors,
      response.headers
    );
  }

  let refreshing = null;
  function refreshAccess() {
    if (!refreshing) {
      refreshing = (async () => {
        const current = tokens.get();
        if (!current || !current.refresh) return false;
        try {
          const data = await send("POST", "auth/refresh", undefined, current.refresh);
          tokens.set(Object.assign({}, current, { access: data.access_token }));
          return true;
        } catch (e) {
          return false;
        }
      })().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  /** A call as the signed-in staff member; an expired access token is refreshed once. */
  async function api(method, path, body, options) {
    const current = tokens.get();
    if (!current) throw signedOut(null);
    try {
      return await send(method, path, body, current.access, options);
    } catch (error) {
      if (error.status !== 401) throw error;
      if (error.code === "token_expired" && (await refreshAccess())) {
        try {
          return await send(method, path, body, tokens.get().access, options);
        } catch (again) {
          if (again.status === 401) throw signedOut(again);
          throw again;
        }
      }
      throw signedOut(error);
    }
  }

  /** Every page of a paginated list (X-Pagination), 100 at a time. */
  async function all(path) {
    const items = [];
    for (let page = 1; page < 1000; page += 1) {
      const sep = path.includes("?") ? "&" : "?";
      const answer = await api("GET", path + sep + "page_size=100&page=" + page, undefined, {
        full: true,
      });
      items.push(...(answer.data || []));
      let info = {};
      try {
        info = JSON.parse(answer.headers.get("X-Pagination") || "{}");
      } catch (e) {
        info = {};
      }
      if (!info.next_page) break;
    }
    return items;
  }

  function newKey() {
    return window.crypto.randomUUID
      ? window.crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
  }

  /** A POST a flaky network may repeat: one Idempotency-Key, sent again on each retry. */
  async function post(path, body) {
    const key = newKey();
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await api("POST", path, body, { headers: { "Idempotency-Key": key } });
      } catch (error) {
        const transient = error.status === 0 || error.status >= 500;
        if (transient && attempt < RETRY_DELAYS.length) {
          await sleep(RETRY_DELAYS[attempt]);
          continue;
        }
        throw error;
      }
    }
  }

  function sleep(ms) {
    return new Promise((resolve) => window.setTimeout(resolve, ms));
  }

  /** A download that needs the Authorization header: fetch → blob → object URL. */
  async function download(path, filename) {
    const blob = await api("GET", path, undefined, { blob: true });
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: filename });
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // --- the endpoints of the door-to-door visits, reminders and deadlines, in one place -------

  const endpoints = {
    /** The households still to visit by building and entrance, with each entrance's
     * progress: a vote's non-voters or a survey's non-respondents (``kind``: votes/surveys). */
    doorToDoor: async (kind, id) => normaliseDoor(await all(kind + "/" + id + "/door-to-door")),
    doorToDoorXlsx: (kind, id) => kind + "/" + id + "/exports/door-to-door.xlsx",
    remind: (kind, id) => post(kind + "/" + id + "/reminders"),
    reminders: (kind, id) => all(kind + "/" + id + "/reminders"),
    extend: (kind, id, body) => post(kind + "/" + id + "/deadline", body),
  };

  /** GET /votes/{id}/door-to-door (or /surveys/{id}/…, which counts answers): entrances in
   * natural order, each with its progress and the households still to visit. Names are
   * masked here whoever may see them in full. */
  function normaliseDoor(entrances) {
    return {
      groups: entrances.map((e) => ({
        building: e.building,
        entrance: e.entrance,
        total: e.t_cnt,
        voted: e.voted_cnt != null ? e.voted_cnt : e.answered_cnt,
        missing: e.missing_cnt,
        missingArea: e.missing_area,
        households: (e.households || []).map((h) => ({
          room: h.room,
          owners: h.developer ? ["开发建设单位"] : (h.owners || []).map((o) => maskName(o.name)),
          area: h.area,
          reminded: h.reminded_today,
        })),
      })),
    };
  }

  // --- privacy ----------------------------------------------------------------------------------

  function maskName(name) {
    if (!name) return "";
    if (name.includes("*")) return name;
    return name.slice(0, 1) + "*".repeat(Math.max(1, Math.min(2, name.length - 1)));
  }

  function maskPhone(phone) {
    if (!phone) return "";
    if (phone.includes("*")) return phone;
    return phone.slice(0, 3) + "****" + phone.slice(-4);
  }

  // --- DOM helpers ------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, value);
    });
    children.flat().forEach((child) => {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function view() {
    return $("view");
  }

  /** Replaces a node's children, leaving out the empty ones (null, false) a condition gave. */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  }

  function setView(...children) {
    const container = view();
    fill(container, ...children);
    container.hidden = false;
    $("view-sign-in").hidden = true;
    $("loading").hidden = true;
    const heading = container.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }

  function alertPage(text) {
    $("page-alert").textContent = text || "";
    $("page-alert").hidden = !text;
  }

  function messageOf(error) {
    if (error && error.code === "validation_error" && error.errors) {
      for (const key in error.errors) {
        const problems = error.errors[key];
        if (Array.isArray(problems) && typeof problems[0] === "string") return problems[0];
        if (problems && typeof problems === "object") {
          for (const inner in problems) {
            if (Array.isArray(problems[inner])) return String(problems[inner][0]);
          }
        }
      }
    }
    return (error && error.message) || "出错了，请稍后再试";
  }

  /** GOV.UK-style error summary: a heading and one link per problem, to its field. */
  function showErrors(summary, problems) {
    document.querySelectorAll("[aria-invalid=true]").forEach((n) => n.removeAttribute("aria-invalid"));
    document.querySelectorAll(".field-error").forEach((n) => {
      if (n.id && n.id.endsWith("-error")) {
        n.hidden = true;
        n.textContent = "";
      }
    });
    if (!problems.length) {
      summary.hidden = true;
      fill(summary);
      return;
    }
    fill(summary, 
      el("h2", { text: "出现以下问题" }),
      el(
        "ul",
        {},
        problems.map((p) =>
          el("li", {}, p.field ? el("a", { href: "#" + p.field, onclick: focusField(p.field) }, p.text) : p.text)
        )
      )
    );
    problems.forEach((p) => {
      if (!p.field) return;
      const field = $(p.field);
      const note = $(p.field + "-error");
      if (field) field.setAttribute("aria-invalid", "true");
      if (note) {
        note.textContent = p.text;
        note.hidden = false;
      }
    });
    summary.hidden = false;
    summary.focus();
  }

  function focusField(id) {
    return (event) => {
      event.preventDefault();
      const field = $(id);
      if (field) {
        field.scrollIntoView({ block: "center" });
        field.focus();
      }
    };
  }

  function summaryBox(id) {
    return el("div", { id, class: "error-summary", role: "alert", tabindex: "-1", hidden: true });
  }

  function field(id, label, input, hint) {
    if (!input.id) input.id = id;
    input.setAttribute("aria-describedby", [hint ? id + "-hint" : null, id + "-error"].filter(Boolean).join(" "));
    return el(
      "div",
      { class: "field" },
      el("label", { for: id, text: label }),
      hint ? el("p", { id: id + "-hint", class: "hint", text: hint }) : null,
      el("p", { id: id + "-error", class: "field-error", hidden: true }),
      input
    );
  }

  function button(text, onclick, kind) {
    return el("button", { type: "button", class: kind || "secondary", onclick }, text);
  }

  function status(id) {
    return el("p", { id, class: "status", role: "status", "aria-live": "polite" });
  }

  function setStatus(node, text, kind) {
    node.textContent = text || "";
    node.className = "status" + (kind ? " " + kind : "");
  }

  function table(caption, headers, rows, className) {
    return el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: className || "" },
        caption ? el("caption", { text: caption }) : null,
        el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
        el(
          "tbody",
          {},
          rows.map((row) =>
            el(
              "tr",
              {},
              row.map((cell, i) =>
                cell instanceof Node
                  ? el("td", { "data-label": headers[i] }, cell)
                  : el("td", { "data-label": headers[i], text: cell == null ? "" : String(cell) })
              )
            )
          )
        )
      )
    );
  }

  const TIME = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });

  function when(iso) {
    return iso ? TIME.format(new Date(iso)) : "—";
  }

  /** A datetime-local value (Beijing time) as ISO 8601 with +08:00. */
  function fromLocal(value) {
    return value ? value + ":00+08:00" : null;
  }

  function localInput(date) {
    const shifted = new Date(date.getTime() + 8 * 3600 * 1000);
    return shifted.toISOString().slice(0, 16);
  }

  function percent(ratio) {
    return ratio && ratio.percent != null ? ratio.percent + "%" : "—";
  }

  function yuan(amount) {
    return amount == null ? "—" : amount + " 元";
  }

  function crumbs(...parts) {
    return el(
      "nav",
      { class: "crumbs", "aria-label": "位置" },
      el("ol", {}, parts.map(([text, href]) => el("li", {}, href ? el("a", { href }, text) : el("span", { "aria-current": "page" }, text))))
    );
  }

  // --- sign in / out ------------------------------------------------------------------------------

  let me = null;

  function signedOut(error) {
    tokens.clear();
    me = null;
    stopTimers();
    showSignIn(error && error.code !== "token_expired" ? error.message : "登录已过期，请重新登录");
    const out = new ApiError(401, "signed_out", "请重新登录");
    out.handled = true;
    return out;
  }

  function showSignIn(message) {
    view().hidden = true;
    fill(view());
    $("who").hidden = true;
    $("loading").hidden = true;
    $("view-sign-in").hidden = false;
    alertPage(message || "");
    $("sign-in-title").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const username = $("username").value.trim();
    const password = $("password").value;
    const problems = [];
    if (!username) problems.push({ field: "username", text: "请输入用户名" });
    if (!password) problems.push({ field: "password", text: "请输入密码" });
    showErrors($("sign-in-summary"), problems);
    if (problems.length) return;
    $("sign-in").disabled = true;
    try {
      const data = await send("POST", "auth/staff-sessions", { username, password });
      tokens.set({ access: data.access_token, refresh: data.refresh_token });
      $("password").value = "";
      alertPage("");
      await start();
    } catch (error) {
      showErrors($("sign-in-summary"), [{ field: error.status === 401 ? "password" : null, text: messageOf(error) }]);
    } finally {
      $("sign-in").disabled = false;
    }
  }

  async function signOut() {
    const current = tokens.get();
    if (current) {
      try {
        await send("DELETE", "auth/session", undefined, current.access);
      } catch (e) {
        /* signed out here whatever the server says */
      }
    }
    tokens.clear();
    me = null;
    stopTimers();
    window.history.replaceState(null, "", "#/"); // no hashchange: the message stays
    showSignIn("您已退出登录。");
  }

  async function start() {
    try {
      const answer = await api("GET", "me");
      if (answer.kind !== "staff") {
        tokens.clear();
        showSignIn("工作台仅供社区工作人员使用，居民请通过小区二维码进入。");
        return;
      }
      me = answer.staff;
      $("who-name").textContent = me.display_name || me.username;
      $("who").hidden = false;
      await route();
    } catch (error) {
      if (!error.handled) alertPage(messageOf(error));
    }
  }

  // --- routing (#/…) ----------------------------------------------------------------------------

  let timers = [];
  function stopTimers() {
    timers.forEach((stop) => stop());
    timers = [];
  }

  const ROUTES = [
    [/^#\/?$/, () => showHome()],
    [/^#\/c\/(\d+)\/roster$/, (m) => showRoster(+m[1])],
    [/^#\/c\/(\d+)\/new$/, (m) => showWizard(+m[1])],
    [/^#\/c\/(\d+)\/claims$/, (m) => showClaims(+m[1])],
    [/^#\/v\/(\d+)\/tally$/, (m) => showTally(+m[1])],
    [/^#\/v\/(\d+)\/door$/, (m) => showDoor("votes", +m[1])],
    [/^#\/v\/(\d+)\/sheet$/, (m) => showSheet("votes", +m[1])],
    [/^#\/s\/(\d+)\/door$/, (m) => showDoor("surveys", +m[1])],
    [/^#\/s\/(\d+)\/sheet$/, (m) => showSheet("surveys", +m[1])],
    [/^#\/v\/(\d+)\/paper$/, (m) => showPaper(+m[1])],
    [/^#\/v\/(\d+)\/result$/, (m) => showResult(+m[1])],
    [/^#\/s\/(\d+)$/, (m) => showSurvey(+m[1])],
  ];

  async function route() {
    if (!tokens.get()) {
      showSignIn("");
      return;
    }
    stopTimers();
    alertPage("");
    document.body.classList.remove("printing");
    const hash = window.location.hash || "#/";
    const found = ROUTES.find(([pattern]) => pattern.test(hash));
    try {
      if (!found) {
        setView(el("h1", { text: "没有这个页面" }), el("p", {}, el("a", { href: "#/" }, "返回首页")));
        return;
      }
      $("loading").hidden = false;
      await found[1](hash.match(found[0]));
    } catch (error) {
      if (error.handled) return;
      $("loading").hidden = true;
      setView(
        el("h1", { text: error.status === 404 ? "无法查看" : "出错了" }),
        el("p", { class: "alert", role: "alert", text: messageOf(error) }),
        el("p", {}, el("a", { href: "#/" }, "返回首页"))
      );
    } finally {
      $("loading").hidden = true;
      document.body.setAttribute("data-ready", "true");
    }
  }

  // --- shared look-ups ----------------------------------------------------------------------------

  const cache = { compounds: null };

  async function compounds() {
    if (!cache.compounds) cache.compounds = await all("compounds");
    return cache.compounds;
  }

  async function compoundOf(id) {
    const list = await compounds();
    const found = list.find((c) => c.id === id);
    if (found) return found;
    return api("GET", "compounds/" + id); // 404 outside the staff's scope
  }

  function scopeWords(vote, buildings) {
    const names = [];
    buildings.forEach((b) => {
      if ((vote.building_ids || []).includes(b.id)) names.push(b.name);
      b.entrances.forEach((e) => {
        if ((vote.entrance_ids || []).includes(e.id)) names.push(b.name + e.name);
      });
    });
    return names.length ? names.join("、") : "全小区";
  }

  function voteKind(vote) {
    return "表决 · " + (MATTERS[vote.matter] || vote.matter);
  }

  // --- 1. home: compounds in scope and their campaigns -------------------------------------------

  async function showHome() {
    const list = await compounds();
    const sections = await Promise.all(list.map(compoundSection));
    setView(
      el("h1", { text: "我负责的小区" }),
      el("p", { class: "actions" }, el("a", { class: "button", href: "#/overview" }, "改造项目一览")),
      list.length
        ? null
        : el("p", { class: "muted", text: "您的账号目前没有负责的小区，请联系街道管理员分配。" }),
      ...sections
    );
  }

  async function compoundSection(compound) {
    const base = "compounds/" + compound.id;
    const [votes, surveys] = await Promise.all([all(base + "/votes"), all(base + "/surveys")]);
    const progress = await Promise.all(
      votes.map((v) =>
        v.status === "draft" || v.status === "cancelled"
          ? null
          : api("GET", "votes/" + v.id + "/progress").catch(() => null)
      )
    );
    const rows = votes.map((v, i) => [
      el("a", { href: "#/v/" + v.id + "/tally" }, v.title),
      voteKind(v),
      STATES[v.status] || v.status,
      when(v.closes_at),
      progress[i] ? percent(progress[i].participation.count) : "—",
      campaignLinks(v),
    ]);
    surveys.forEach((s) => {
      const share = s.t_cnt ? ((100 * (s.responses || 0)) / s.t_cnt).toFixed(2) + "%" : "—";
      rows.push([
        el("a", { href: "#/s/" + s.id }, s.title),
        "调查 · " + (SURVEY_KINDS[s.kind] || s.kind),
        STATES[s.status] || s.status,
        when(s.closes_at),
        share,
        s.status === "open" ? el("span", { class: "inline-links" }, el("a", { href: "#/s/" + s.id + "/door" }, "入户发动")) : el("span", {}, ""),
      ]);
    });
    const where = [compound.district, compound.street, compound.community].filter(Boolean).join(" · ");
    return el(
      "section",
      { class: "card", "aria-labelledby": "compound-" + compound.id },
      el("h2", { id: "compound-" + compound.id, text: compound.name }),
      el("p", { class: "muted", text: [where, compound.address].filter(Boolean).join("　") }),
      el(
        "p",
        { class: "actions" },
        el("a", { class: "button", href: "#/c/" + compound.id + "/roster" }, "名册"),
        el("a", { class: "button primary", href: "#/c/" + compound.id + "/new" }, "发起表决/调查"),
        el("a", { class: "button", href: "#/c/" + compound.id + "/claims" }, "业主认证审核"),
        el("a", { class: "button", href: "#/c/" + compound.id + "/project" }, "改造项目")
      ),
      rows.length
        ? table(compound.name + "的表决和调查", ["标题", "类型", "状态", "截止时间", "参与率", "操作"], rows, "campaigns")
        : el("p", { class: "muted", text: "还没有表决或调查。" })
    );
  }

  function campaignLinks(vote) {
    const links = [];
    if (vote.status !== "draft" && vote.status !== "cancelled") {
      links.push(el("a", { href: "#/v/" + vote.id + "/tally" }, "实时统计"));
    }
    if (vote.status === "open") {
      links.push(el("a", { href: "#/v/" + vote.id + "/door" }, "入户发动"));
      links.push(el("a", { href: "#/v/" + vote.id + "/paper" }, "纸质票与委托"));
    }
    if (["closed", "published", "final"].includes(vote.status)) {
      links.push(el("a", { href: "#/v/" + vote.id + "/paper" }, "纸质票与委托"));
      links.push(el("a", { href: "#/v/" + vote.id + "/result" }, "结果公示"));
    }
    return el("span", { class: "inline-links" }, links);
  }

  // --- 2. roster ------------------------------------------------------------------------------------

  async function showRoster(compoundId) {
    const compound = await compoundOf(compoundId);
    const fileInput = el("input", { type: "file", accept: ".csv,.xlsx,text/csv" });
    const downgrade = el("input", { type: "checkbox", id: "roster-downgrade" });
    const downgradeReason = el("input", { type: "text", maxlength: "200" });
    const summary = summaryBox("roster-summary");
    const report = el("div", { id: "roster-report" });
    const progress = status("roster-status");
    const structure = el("div", { id: "roster-structure" });
    let chosen = null;

    async function upload(dryRun) {
      showErrors(summary, []);
      fill(report);
      const file = dryRun ? fileInput.files[0] : chosen;
      if (!file) {
        showErrors(summary, [{ field: "roster-file", text: "请选择要上传的名册文件（CSV 或 XLSX）" }]);
        return;
      }
      const form = new FormData();
      form.append("file", file, file.name);
      form.append("dry_run", dryRun ? "true" : "false");
      if (downgrade.checked) {
        if (!downgradeReason.value.trim()) {
          showErrors(summary, [{ field: "roster-downgrade-reason", text: "确认面积来源降级时请填写理由" }]);
          return;
        }
        form.append("confirm_area_downgrade", "true");
        form.append("area_downgrade_reason", downgradeReason.value.trim());
      }
      setStatus(progress, dryRun ? "正在检查名册…" : "正在导入名册…", "wait");
      let answer;
      try {
        answer = await api("POST", "compounds/" + compoundId + "/roster-imports", form, { full: true });
      } catch (error) {
        setStatus(progress, "");
        if (error.handled) return;
        const rows = (error.errors && error.errors.rows) || [];
        showErrors(summary, [{ field: "roster-file", text: messageOf(error) }]);
        if (rows.length) {
          fill(report, 
            el("h2", { text: "名册中的问题（未写入任何数据）" }),
            table(
              "逐行问题",
              ["行", "列", "问题"],
              rows.map((r) => ["第 " + r.line + " 行", r.column || "—", r.problem])
            )
          );
        }
        chosen = null;
        return;
      }
      let result = answer.data;
      while (result.status === "queued" || result.status === "running") {
        setStatus(progress, "正在处理：已完成 " + (result.rows_done || 0) + " / " + (result.rows_total || "?") + " 行…", "wait");
        await sleep(1000);
        result = await api("GET", "roster-imports/" + result.id);
      }
      setStatus(progress, result.message || IMPORT_STATES[result.status], result.status === "done" ? "ok" : "error");
      renderReport(report, result, dryRun);
      if (dryRun && result.status === "done") {
        chosen = file;
        report.appendChild(
          el(
            "div",
            { class: "confirm-box" },
            el("p", { text: "以上是试导入的结果，尚未写入任何数据。核对无误后请确认导入。" }),
            button("确认导入", () => upload(false), "primary")
          )
        );
      } else if (!dryRun) {
        chosen = null;
        fileInput.value = "";
        await renderStructure(structure, compoundId);
      }
    }

    setView(
      crumbs(["首页", "#/"], [compound.name + " · 名册"]),
      el("h1", { text: compound.name + " · 名册" }),
      el(
        "section",
        { class: "card" },
        el("h2", { text: "下载名册模板" }),
        el("p", { class: "muted", text: "请按模板填写楼栋、单元、楼层、房号、专有部分面积、面积来源、房屋状态和业主信息。" }),
        el(
          "p",
          { class: "actions" },
          button("下载 CSV 模板", () => download("roster-template.csv", "名册模板.csv").catch((e) => alertPage(messageOf(e)))),
          button("下载 Excel 模板", () => download("roster-template.xlsx", "名册模板.xlsx").catch((e) => alertPage(messageOf(e))))
        )
      ),
      el(
        "section",
        { class: "card" },
        el("h2", { text: "上传名册" }),
        el("p", { class: "muted", text: "先检查：系统逐行核对并列出将新增、更新、移除的内容，确认后才会写入。" }),
        summary,
        field("roster-file", "名册文件（CSV 或 XLSX）", fileInput),
        el(
          "details",
          {},
          el("summary", {}, "面积来源降级（仅在确需以较低来源替换面积时）"),
          el("p", { class: "hint", text: "面积以登记为先，其次实测，再次合同。确需以较低来源替换的，请勾选并说明理由，理由记入导入记录。" }),
          el("div", { class: "choice" }, downgrade, el("label", { for: "roster-downgrade" }, "确认以较低来源的面积替换")),
          field("roster-downgrade-reason", "降级理由", downgradeReason)
        ),
        el("p", { class: "actions" }, button("检查名册", () => upload(true), "primary")),
        progress,
        report
      ),
      structure
    );
    await renderStructure(structure, compoundId);
  }

  function renderReport(container, result, dryRun) {
    const r = result.report || {};
    const s = r.summary || {};
    const parts = [
      el("h2", { text: dryRun ? "试导入结果（未写入）" : "导入结果" }),
      el("p", { text: r.message || result.message || "" }),
      table("汇总", ["项目", "数量"], [
        ["名册行数", s.rows],
        ["新增房屋", s.dwellings_created],
        ["更新房屋", s.dwellings_updated],
        ["未变房屋", s.dwellings_unchanged],
        ["系统中有、本文件中没有的房屋（原样保留）", s.dwellings_not_in_file],
        ["新增业主", s.owners_created],
        ["更新业主", s.owners_updated],
        ["面积来源降级", s.areas_downgraded],
      ].filter((row) => row[1] !== undefined)),
    ];
    const describe = (item) => {
      if (typeof item === "string") return item;
      const where = item.dwelling || item.label || item.owner || item.name || "";
      const rooms = Array.isArray(item.dwellings) ? "（" + item.dwellings.join("、") + "）" : "";
      const what = Array.isArray(item.changes)
        ? item.changes.join("；")
        : item.from !== undefined && item.to !== undefined
          ? item.from + " → " + item.to
          : item.change || item.message || item.problem || item.reason || "";
      return [where + rooms, what].filter(Boolean).join("：");
    };
    if ((r.problems || []).length) {
      parts.push(table("问题", ["行", "列", "问题"], r.problems.map((p) => ["第 " + p.line + " 行", p.column || "—", p.problem])));
    }
    [
      ["renamed", "楼栋、单元更名"],
      ["changes", "将更新的房屋"],
      ["owner_changes", "将更新的业主"],
      ["area_downgrades", "面积来源降级"],
      ["account_links", "账号关联变化"],
      ["not_in_file", "系统中有、本文件中没有的房屋（原样保留）"],
    ].forEach(([key, title]) => {
      const items = r[key] || [];
      if (items.length) parts.push(el("h3", { text: title + "（" + items.length + "）" }), el("ul", { class: "report-list" }, items.map((i) => el("li", { text: describe(i) }))));
    });
    fill(container, ...parts);
  }

  async function renderStructure(container, compoundId) {
    const [buildings, dwellings] = await Promise.all([
      api("GET", "compounds/" + compoundId + "/buildings"),
      all("compounds/" + compoundId + "/dwellings"),
    ]);
    const sorted = buildings.slice().sort((a, b) => a.name.localeCompare(b.name, "zh-CN", { numeric: true }));
    fill(container, 
      el(
        "section",
        { class: "card", "aria-labelledby": "structure-title" },
        el("h2", { id: "structure-title", text: "楼栋、单元和房屋" }),
        sorted.length ? null : el("p", { class: "muted", text: "还没有导入名册。" }),
        ...sorted.map((b) =>
          el(
            "div",
            { class: "building" },
            el("h3", { text: b.name + "（" + b.dwellings + " 户）" }),
            ...b.entrances
              .slice()
              .sort((x, y) => x.name.localeCompare(y.name, "zh-CN", { numeric: true }))
              .map((e) => {
                const rows = dwellings.filter((d) => d.entrance_id === e.id);
                return el(
                  "details",
                  {},
                  el("summary", {}, b.name + e.name + "：" + e.dwellings + " 户"),
                  table(null, ["房号", "楼层", "面积（m²）", "业主"], rows.map((d) => [d.room, d.floor, d.area, (d.owners || []).map(maskName).join("、") || "—"]))
                );
              })
          )
        )
      )
    );
  }

  // --- 3. campaign wizard ---------------------------------------------------------------------------

  async function showWizard(compoundId) {
    const compound = await compoundOf(compoundId);
    const [buildings, templates, dwellings] = await Promise.all([
      api("GET", "compounds/" + compoundId + "/buildings"),
      api("GET", "survey-templates").catch(() => []),
      all("compounds/" + compoundId + "/dwellings"),
    ]);
    buildings.sort((a, b) => a.name.localeCompare(b.name, "zh-CN", { numeric: true }));
    const state = {
      step: "kind",
      kind: null, // "vote" or a template name
      matter: "elevator",
      buildings: [],
      entrances: [],
      title: "",
      description: "",
      closes: localInput(new Date(Date.now() + 14 * 86400 * 1000)),
      plan: { total: "", subsidy: "", basis: "area", coefficients: {}, none: false, reason: "" },
      draft: null,
    };
    const host = el("div", { id: "wizard" });
    setView(crumbs(["首页", "#/"], [compound.name + " · 发起表决/调查"]), el("h1", { text: "发起表决/调查" }), el("p", { class: "muted", text: compound.name }), host);

    const isVote = () => state.kind === "vote";
    const needsPlan = () => isVote() && COST_MATTERS.includes(state.matter);
    const kindName = () => (isVote() ? "表决 · " + MATTERS[state.matter] : SURVEY_KINDS[(templates.find((t) => t.template === state.kind) || {}).kind] || state.kind);
    const scopeNames = () => {
      const names = [];
      buildings.forEach((b) => {
        if (state.buildings.includes(b.id)) names.push(b.name + "（整栋）");
        b.entrances.forEach((e) => {
          if (state.entrances.includes(e.id)) names.push(b.name + e.name);
        });
      });
      return names.length ? names.join("、") : "全小区";
    };
    const scopeQuery = () =>
      state.buildings.map((id) => "building_ids=" + id).concat(state.entrances.map((id) => "entrance_ids=" + id)).join("&");
    const steps = () => ["kind", "scope", "details"].concat(needsPlan() ? ["plan"] : []).concat(["check"]);

    function go(step) {
      state.step = step;
      render();
    }
    function next() {
      const list = steps();
      go(list[list.indexOf(state.step) + 1]);
    }
    function back() {
      const list = steps();
      go(list[Math.max(0, list.indexOf(state.step) - 1)]);
    }

    function stepFrame(title, body, onContinue, continueText) {
      const summary = summaryBox("wizard-summary");
      const list = steps();
      const form = el(
        "form",
        { novalidate: true, onsubmit: (e) => { e.preventDefault(); onContinue(summary); } },
        summary,
        body,
        el("p", { class: "actions" }, state.step !== "kind" ? button("上一步", back) : null, el("button", { type: "submit", class: "primary" }, continueText || "继续"))
      );
      fill(host, 
        el("p", { class: "step-count", text: "第 " + (list.indexOf(state.step) + 1) + " 步，共 " + list.length + " 步" }),
        el("h2", { id: "step-title", tabindex: "-1", text: title }),
        form
      );
      $("step-title").focus();
    }

    function radio(name, value, label, checked, hint) {
      const id = name + "-" + value;
      return el(
        "div",
        { class: "choice" },
        el("input", { type: "radio", id, name, value, checked }),
        el("label", { for: id }, label, hint ? el("span", { class: "hint", text: hint }) : null)
      );
    }

    function render() {
      if (state.step === "kind") {
        const options = [radio("kind", "vote", "业主表决", state.kind === "vote", "例如加装电梯、续聘物业，按民法典第二百七十八条计票")];
        templates.forEach((t) => options.push(radio("kind", t.template, (SURVEY_KINDS[t.kind] || t.title) + "（调查）", state.kind === t.template, t.title)));
        const matter = el("select", {}, Object.entries(MATTERS).map(([value, text]) => el("option", { value, selected: value === state.matter }, text)));
        stepFrame(
          "发起什么？",
          el(
            "div",
            {},
            el("fieldset", { id: "kind", tabindex: "-1" }, el("legend", { text: "类型" }), el("p", { id: "kind-error", class: "field-error", hidden: true }), ...options),
            field("matter", "表决事项（仅业主表决）", matter)
          ),
          (summary) => {
            const picked = host.querySelector("input[name=kind]:checked");
            if (!picked) return showErrors(summary, [{ field: "kind", text: "请选择要发起的类型" }]);
            state.kind = picked.value;
            state.matter = matter.value;
            next();
          }
        );
      } else if (state.step === "scope") {
        const boxes = buildings.map((b) =>
          el(
            "fieldset",
            { class: "building-scope" },
            el("legend", { text: b.name }),
            el("div", { class: "choice" }, el("input", { type: "checkbox", id: "b-" + b.id, "data-building": b.id, checked: state.buildings.includes(b.id) }), el("label", { for: "b-" + b.id }, b.name + " 整栋（" + b.dwellings + " 户）")),
            ...b.entrances
              .slice()
              .sort((x, y) => x.name.localeCompare(y.name, "zh-CN", { numeric: true }))
              .map((e) =>
                el("div", { class: "choice" }, el("input", { type: "checkbox", id: "e-" + e.id, "data-entrance": e.id, checked: state.entrances.includes(e.id) }), el("label", { for: "e-" + e.id }, b.name + e.name + "（" + e.dwellings + " 户）"))
              )
          )
        );
        stepFrame(
          "范围：哪些楼栋、单元的业主参加？",
          el(
            "div",
            { id: "scope", tabindex: "-1" },
            el("p", { class: "hint", text: isVote() && state.matter === "elevator" ? "加装电梯须选择一个或几个单元（或整栋）。" : "都不选表示全小区。" }),
            el("p", { id: "scope-error", class: "field-error", hidden: true }),
            el("div", { class: "scope-grid" }, boxes)
          ),
          (summary) => {
            state.buildings = Array.from(host.querySelectorAll("[data-building]:checked")).map((n) => +n.dataset.building);
            state.entrances = Array.from(host.querySelectorAll("[data-entrance]:checked")).map((n) => +n.dataset.entrance);
            if (isVote() && state.matter === "elevator" && !state.buildings.length && !state.entrances.length) {
              return showErrors(summary, [{ field: "scope", text: "加装电梯表决须选择楼栋或单元" }]);
            }
            if (!state.title) {
              const first = scopeNames() === "全小区" ? "" : scopeNames().replace(/（整栋）/g, "");
              state.title = isVote() ? first + MATTERS[state.matter] : first + kindName();
            }
            next();
          }
        );
      } else if (state.step === "details") {
        const title = el("input", { type: "text", value: state.title, maxlength: "200" });
        const description = el("textarea", { rows: "4" });
        description.value = state.description;
        const closes = el("input", { type: "datetime-local", value: state.closes });
        stepFrame(
          "标题、说明和截止时间",
          el("div", {}, field("title", "标题", title), field("description", "说明（业主可见）", description), field("closes", "截止时间（北京时间）", closes, "截止后不再接受线上投票；截止前签署的纸质票在公示前仍可录入。")),
          (summary) => {
            const problems = [];
            if (!title.value.trim()) problems.push({ field: "title", text: "请填写标题" });
            if (!closes.value) problems.push({ field: "closes", text: "请选择截止时间" });
            else if (new Date(fromLocal(closes.value)) <= new Date()) problems.push({ field: "closes", text: "截止时间须晚于现在" });
            if (problems.length) return showErrors(summary, problems);
            state.title = title.value.trim();
            state.description = description.value.trim();
            state.closes = closes.value;
            next();
          }
        );
      } else if (state.step === "plan") {
        renderPlanStep();
      } else if (state.step === "check") {
        renderCheck();
      } else if (state.step === "preview") {
        renderPreview();
      }
    }

    function renderPlanStep() {
      const p = state.plan;
      const total = el("input", { type: "text", inputmode: "decimal", value: p.total });
      const subsidy = el("input", { type: "text", inputmode: "decimal", value: p.subsidy });
      const coefficientInputs = {};
      const floorsInScope = new Set(
        dwellings
          .filter((d) => state.buildings.includes(d.building_id) || state.entrances.includes(d.entrance_id))
          .map((d) => d.floor)
      );
      if (!floorsInScope.size) for (let f = 1; f <= 6; f += 1) floorsInScope.add(f);
      const coefficients = el(
        "fieldset",
        { id: "coefficients", class: "coefficients", hidden: p.basis !== "floor" },
        el("legend", { text: "楼层系数（1 楼通常为 0）" }),
        ...Array.from(floorsInScope).sort((a, b) => a - b).map((f) => {
          const input = el("input", { type: "text", inputmode: "decimal", value: p.coefficients[f] || "", class: "short" });
          coefficientInputs[f] = input;
          return field("coef-" + f, f + " 楼", input);
        })
      );
      const basisArea = radio("basis", "area", "按专有部分面积分摊", p.basis === "area");
      const basisFloor = radio("basis", "floor", "按楼层系数分摊", p.basis === "floor", "系数由本单元业主协商确定");
      const none = el("input", { type: "checkbox", id: "no-plan", checked: p.none });
      const reason = el("textarea", { rows: "2" });
      reason.value = p.reason;
      const planFields = el(
        "div",
        { id: "plan-fields", hidden: p.none },
        field("total", "总费用（元）", total),
        field("subsidy", "政府补贴（元）", subsidy),
        el("fieldset", { id: "basis" }, el("legend", { text: "业主分摊方式" }), basisArea, basisFloor),
        coefficients
      );
      const reasonField = el("div", { id: "reason-block", hidden: !p.none }, field("no-plan-reason", "没有费用方案的原因", reason));
      host.addEventListener("change", (event) => {
        if (event.target.name === "basis") coefficients.hidden = event.target.value !== "floor";
        if (event.target === none) {
          planFields.hidden = none.checked;
          reasonField.hidden = !none.checked;
        }
      });
      stepFrame(
        "费用方案",
        el(
          "div",
          {},
          el("p", { class: "hint", text: "加装电梯等费用由受益业主分摊（民法典第二百八十三条）：有约定的按楼层系数，没有约定的按专有部分面积。开启前可预览每户应分摊的金额。" }),
          planFields,
          el("div", { class: "choice" }, none, el("label", { for: "no-plan" }, "本次表决没有费用方案")),
          reasonField
        ),
        (summary) => {
          const money = /^\d+(\.\d{1,2})?$/;
          const problems = [];
          p.none = none.checked;
          if (p.none) {
            p.reason = reason.value.trim();
            if (!p.reason) problems.push({ field: "no-plan-reason", text: "请说明没有费用方案的原因" });
          } else {
            p.total = total.value.trim();
            p.subsidy = subsidy.value.trim() || "0";
            p.basis = host.querySelector("input[name=basis]:checked").value;
            if (!money.test(p.total)) problems.push({ field: "total", text: "总费用须为金额，例如 600000.00" });
            if (!money.test(p.subsidy)) problems.push({ field: "subsidy", text: "补贴须为金额，例如 200000.00" });
            else if (money.test(p.total) && Number(p.subsidy) > Number(p.total)) problems.push({ field: "subsidy", text: "补贴不能超过总费用" });
            p.coefficients = {};
            if (p.basis === "floor") {
              Object.entries(coefficientInputs).forEach(([f, input]) => {
                const value = input.value.trim();
                if (!value) return;
                if (!/^\d+(\.\d+)?$/.test(value)) problems.push({ field: "coef-" + f, text: f + " 楼的系数须为数字" });
                p.coefficients[f] = value;
              });
              if (!Object.keys(p.coefficients).length) problems.push({ field: "coef-1", text: "请填写各楼层的系数" });
            }
          }
          if (problems.length) return showErrors(summary, problems);
          next();
        }
      );
    }

    async function renderCheck() {
      let electorate = null;
      let electorateError = null;
      try {
        electorate = await api("GET", "compounds/" + compoundId + "/electorate" + (scopeQuery() ? "?" + scopeQuery() : ""));
      } catch (error) {
        if (error.handled) return;
        electorateError = messageOf(error);
      }
      const rule = isVote() ? (MAJOR.includes(state.matter) ? "civil_code_major" : "civil_code_ordinary") : state.kind === "consent" ? "renovation_consent" : null;
      const row = (label, value, step) =>
        el("div", { class: "summary-row" }, el("dt", { text: label }), el("dd", {}, value), el("dd", { class: "change" }, step ? el("a", { href: "#", onclick: (e) => { e.preventDefault(); go(step); } }, "修改", el("span", { class: "visually-hidden", text: label })) : ""));
      const p = state.plan;
      const rows = [
        row("类型", kindName(), "kind"),
        row("范围", scopeNames(), "scope"),
        row("标题", state.title, "details"),
        row("说明", state.description || "（无）", "details"),
        row("截止时间", when(fromLocal(state.closes)), "details"),
      ];
      if (rule) rows.push(row("通过规则", RULES[rule]));
      if (needsPlan()) {
        rows.push(
          row(
            "费用方案",
            p.none
              ? "没有费用方案：" + p.reason
              : "总费用 " + p.total + " 元，补贴 " + p.subsidy + " 元，业主分摊 " + (Number(p.total) - Number(p.subsidy)).toFixed(2) + " 元，" + (p.basis === "floor" ? "按楼层系数（" + Object.entries(p.coefficients).map(([f, c]) => f + "楼 " + c).join("，") + "）" : "按专有部分面积"),
            "plan"
          )
        );
      }
      const electorateBlock = electorate
        ? el(
            "div",
            { class: "electorate", id: "electorate" },
            el("h3", { text: "参加的业主（开启时冻结）" }),
            el("p", { text: "共 " + electorate.t_cnt + " 人，专有部分面积 " + electorate.t_area + " m²（" + electorate.dwellings + " 户）。" }),
            electorate.persons_without_known_owner
              ? el("p", { class: "warning", text: "其中 " + electorate.persons_without_known_owner + " 人的业主尚不明确（名册中没有业主），开启时需要确认。" })
              : el("p", { class: "muted", text: "所有房屋的业主均已登记。" }),
            electorate.developer_dwellings ? el("p", { class: "muted", text: "开发建设单位未售出或未交付的房屋 " + electorate.developer_dwellings + " 户，合计为一人。" }) : null
          )
        : el("p", { class: "alert", text: electorateError });
      stepFrame(
        "核对信息",
        el("div", {}, el("dl", { class: "summary-list" }, rows), electorateBlock, el("p", { class: "hint", text: "点击“创建草稿”后先保存为草稿，预览无误后再开启。" })),
        (summary) => createDraft(summary),
        "创建草稿"
      );
    }

    async function createDraft(summary) {
      const submit = host.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        const common = {
          title: state.title,
          description: state.description,
          opens_at: new Date().toISOString(),
          closes_at: fromLocal(state.closes),
          building_ids: state.buildings,
          entrance_ids: state.entrances,
        };
        if (isVote()) {
          const body = Object.assign({ matter: state.matter }, common);
          if (needsPlan() && state.plan.none) {
            body.no_cost_plan = true;
            body.no_cost_plan_reason = state.plan.reason;
          }
          if (!state.draft) state.draft = { kind: "vote", data: await post("compounds/" + compoundId + "/votes", body) };
          if (needsPlan() && !state.plan.none) {
            const plan = { total_cost: state.plan.total, subsidy: state.plan.subsidy, takes_common_parts: false };
            if (state.plan.basis === "floor") plan.floor_coefficients = state.plan.coefficients;
            await api("PUT", "votes/" + state.draft.data.id + "/cost-plan", plan);
          }
        } else {
          const body = Object.assign({ template: state.kind }, common);
          if (!state.draft) state.draft = { kind: "survey", data: await post("compounds/" + compoundId + "/surveys/from-template", body) };
        }
        go("preview");
      } catch (error) {
        if (error.handled) return;
        const fieldOf = { closes_at: "closes", title: "title", total_cost: "total", subsidy: "subsidy" };
        const problems = [{ field: null, text: messageOf(error) }];
        Object.keys(error.errors || {}).forEach((key) => {
          if (fieldOf[key]) problems[0].field = fieldOf[key];
        });
        showErrors(summary, problems);
        submit.disabled = false;
      }
    }

    async function renderPreview() {
      const draft = state.draft;
      const summary = summaryBox("open-summary");
      const result = status("open-status");
      let shares = null;
      if (draft.kind === "vote" && needsPlan() && !state.plan.none) {
        try {
          const plan = await api("GET", "votes/" + draft.data.id + "/cost-plan");
          shares = plan;
        } catch (error) {
          if (error.handled) return;
          shares = { error: messageOf(error) };
        }
      }
      const unknown = el("div", { id: "unknown-owners" });
      let confirmUnknown = false;
      async function open() {
        showErrors(summary, []);
        setStatus(result, "正在开启…", "wait");
        try {
          const path = (draft.kind === "vote" ? "votes/" : "surveys/") + draft.data.id + "/open";
          const body = draft.kind === "vote" ? (confirmUnknown ? { confirm_unknown_owners: true } : {}) : undefined;
          const opened = await post(path, body);
          setStatus(result, "");
          cache.compounds = null;
          fill(host, 
            el("div", { class: "panel-ok", role: "status" }, el("h2", { tabindex: "-1", id: "opened-title", text: "已开启：" + opened.title }), el("p", { text: "参加人数 " + (opened.t_cnt != null ? opened.t_cnt : "—") + " 人，专有部分面积 " + (opened.t_area || "—") + " m²，截止 " + when(opened.closes_at) + "。" })),
            el("p", { class: "actions" }, draft.kind === "vote" ? el("a", { class: "button primary", href: "#/v/" + opened.id + "/tally" }, "查看实时统计") : null, el("a", { class: "button", href: "#/" }, "返回首页"))
          );
          $("opened-title").focus();
        } catch (error) {
          setStatus(result, "");
          if (error.handled) return;
          if (error.code === "unknown_owners") {
            const dwellings = (error.errors && error.errors.dwellings) || [];
            fill(unknown, 
              el("h3", { text: "以下房屋没有登记业主" }),
              el("ul", {}, dwellings.map((d) => el("li", { text: typeof d === "string" ? d : d.label || d.room || "" }))),
              el("p", { text: "这些房屋的业主开启后将无法线上投票，仍计入总人数和总面积。确认仍要开启吗？" }),
              button("确认开启", () => {
                confirmUnknown = true;
                open();
              }, "primary")
            );
          }
          showErrors(summary, [{ field: null, text: messageOf(error) }]);
        }
      }
      const shareBlock = !shares
        ? null
        : shares.error
          ? el("p", { class: "alert", text: shares.error })
          : el(
              "div",
              { id: "share-preview" },
              el("h3", { text: "每户分摊预览" }),
              el("p", { text: "总费用 " + yuan(shares.total_cost) + "，补贴 " + yuan(shares.subsidy) + "，业主分摊 " + yuan(shares.residents_share) + "。" }),
              shares.shares
                ? table("每户应分摊", ["房号", "楼层", "面积（m²）", "系数", "分摊金额（元）"], shares.shares.map((s) => [s.label, s.floor, s.area, s.coefficient || "—", s.share]))
                : el("p", { class: "muted", text: "每户金额将在开启后按冻结的业主名单计算。" })
            );
      fill(host, 
        el("h2", { id: "preview-title", tabindex: "-1", text: "草稿已保存：预览并开启" }),
        summary,
        el("dl", { class: "summary-list" }, el("div", { class: "summary-row" }, el("dt", { text: "标题" }), el("dd", { text: draft.data.title })), el("div", { class: "summary-row" }, el("dt", { text: "范围" }), el("dd", { text: scopeNames() }))),
        shareBlock,
        unknown,
        result,
        el("p", { class: "actions" }, button(draft.kind === "vote" ? "开启表决" : "开启调查", open, "primary"))
      );
      $("preview-title").focus();
    }

    render();
  }

  // --- 4. live tally --------------------------------------------------------------------------------

  async function showTally(voteId) {
    const vote = await api("GET", "votes/" + voteId);
    const buildings = await api("GET", "compounds/" + vote.compound_id + "/buildings");
    const compound = await compoundOf(vote.compound_id);
    const host = el("div", { id: "tally", "aria-live": "off" });
    const updated = status("tally-updated");
    setView(
      crumbs(["首页", "#/"], [compound.name + " · " + vote.title]),
      el("h1", { text: vote.title }),
      el("p", { class: "muted", text: voteKind(vote) + "　范围：" + scopeWords(vote, buildings) + "　状态：" + STATES[vote.status] + "　截止：" + when(vote.closes_at) }),
      el("p", { class: "actions" }, navFor(vote)),
      host,
      updated,
      vote.status === "open" ? extendForm("votes", vote) : null
    );
    if (vote.status === "draft") {
      const summary = summaryBox("open-summary");
      const unknown = el("div", { id: "unknown-owners" });
      const openDraft = async (confirm) => {
        showErrors(summary, []);
        try {
          await post("votes/" + voteId + "/open", confirm ? { confirm_unknown_owners: true } : {});
          cache.compounds = null;
          await route();
        } catch (error) {
          if (error.handled) return;
          if (error.code === "unknown_owners") {
            const dwellings = (error.errors && error.errors.dwellings) || [];
            fill(unknown, 
              el("p", { text: "以下房屋没有登记业主：" + dwellings.map((d) => (typeof d === "string" ? d : d.label || "")).join("、") }),
              button("确认开启", () => openDraft(true), "primary")
            );
          }
          showErrors(summary, [{ field: null, text: messageOf(error) }]);
        }
      };
      fill(host, 
        el(
          "section",
          { class: "card" },
          el("h2", { text: "草稿" }),
          summary,
          el("p", { class: "muted", text: "草稿还没有开启，没有统计。开启时冻结参加的业主名单。" }),
          unknown,
          el("p", { class: "actions" }, button("开启表决", () => openDraft(false), "primary"))
        )
      );
      return;
    }
    async function refresh() {
      const tally = await api("GET", "votes/" + voteId + "/tally");
      renderTally(host, tally, vote);
      setStatus(updated, "更新于 " + when(tally.computed_at) + (tally.status === "open" ? "，每 15 秒自动刷新" : ""));
      return tally;
    }
    const first = await refresh();
    if (first.status === "open") {
      let timer = null;
      const tick = () => {
        timer = window.setTimeout(async () => {
          if (!document.hidden) {
            try {
              const tally = await refresh();
              if (tally.status !== "open") return;
            } catch (e) {
              if (e.handled) return;
            }
          }
          tick();
        }, REFRESH_MS);
      };
      const visible = () => {
        if (!document.hidden) refresh().catch(() => null);
      };
      document.addEventListener("visibilitychange", visible);
      tick();
      timers.push(() => {
        window.clearTimeout(timer);
        document.removeEventListener("visibilitychange", visible);
      });
    }
  }

  function navFor(vote) {
    const links = [el("a", { class: "button", href: "#/v/" + vote.id + "/tally" }, "实时统计")];
    if (vote.status === "open") links.push(el("a", { class: "button", href: "#/v/" + vote.id + "/door" }, "入户发动"));
    if (vote.status !== "draft") links.push(el("a", { class: "button", href: "#/v/" + vote.id + "/paper" }, "纸质票与委托"));
    if (["closed", "published", "final"].includes(vote.status)) links.push(el("a", { class: "button", href: "#/v/" + vote.id + "/result" }, "结果公示"));
    return links;
  }

  function bar(label, part, whole, className) {
    const value = Number(whole) ? (100 * Number(part)) / Number(whole) : 0;
    const fill = el("span", { class: "bar-fill " + (className || "") });
    fill.style.width = Math.min(100, value).toFixed(2) + "%";
    return el("div", { class: "bar-row" }, el("span", { class: "bar-label", text: label }), el("span", { class: "bar", "aria-hidden": "true" }, fill), el("span", { class: "bar-value", text: value.toFixed(2) + "%" }));
  }

  function renderTally(host, t, vote) {
    const verdict = t.passed ? "按目前的票数，表决通过" : t.quorum_met ? "参与已达法定比例，同意票尚不足" : "参与人数或面积尚未达到三分之二";
    const missing = t.missing || {};
    const need = (m, what) => (m && (m.persons || Number(m.area)) ? "还需 " + (m.persons || 0) + " 人 / " + (m.area || "0.00") + " m² " + what : null);
    const needs = [need(missing.participation, "参与"), need(missing.agreement, "同意")].filter(Boolean);
    const optionRows = (t.options || []).map((o) => [CHOICES[o.choice] || o.choice, o.count + " 人", o.area + " m²"]);
    optionRows.push(["未投票", t.t_cnt - t.p_cnt + " 人", (Number(t.t_area) - Number(t.p_area)).toFixed(2) + " m²"]);
    const chart = el(
      "figure",
      { class: "chart" },
      el("figcaption", { text: "参与和同意的比例（图表的数字见下表）" }),
      bar("参与人数", t.p_cnt, t.t_cnt),
      bar("参与面积", t.p_area, t.t_area),
      bar("同意人数（占参与）", t.y_cnt, t.p_cnt, "agree"),
      bar("同意面积（占参与）", t.y_area, t.p_area, "agree")
    );
    const rows = [];
    (t.buildings || []).forEach((b) => {
      rows.push([b.name, b.t_cnt + " 人 / " + b.t_area + " m²", b.p_cnt + " 人（" + percent(b.participation.count) + "）", b.p_area + " m²（" + percent(b.participation.area) + "）", b.y_cnt + " 人 / " + b.y_area + " m²"]);
      (b.entrances || []).forEach((e) => {
        rows.push([e.name, e.t_cnt + " 人 / " + e.t_area + " m²", e.p_cnt + " 人（" + percent(e.participation.count) + "）", e.p_area + " m²（" + percent(e.participation.area) + "）", e.y_cnt + " 人 / " + e.y_area + " m²"]);
      });
    });
    fill(host, 
      el(
        "section",
        { class: "card", "aria-labelledby": "tally-title" },
        el("h2", { id: "tally-title", text: t.status === "open" ? "实时统计" : "统计结果" }),
        el("p", { class: t.passed ? "verdict ok" : "verdict", id: "verdict", text: verdict }),
        el("p", { class: "rule", text: "通过规则：" + (RULES[t.rule] || t.rule) }),
        el(
          "dl",
          { class: "figures" },
          el("div", {}, el("dt", { text: "参与人数" }), el("dd", { id: "p-cnt", text: t.p_cnt + " / " + t.t_cnt + " 人（" + percent(t.participation.count) + "）" })),
          el("div", {}, el("dt", { text: "参与面积" }), el("dd", { id: "p-area", text: t.p_area + " / " + t.t_area + " m²（" + percent(t.participation.area) + "）" })),
          el("div", {}, el("dt", { text: "同意人数" }), el("dd", { id: "y-cnt", text: t.y_cnt + " 人（占参与 " + percent(t.agreement.count) + "）" })),
          el("div", {}, el("dt", { text: "同意面积" }), el("dd", { id: "y-area", text: t.y_area + " m²（占参与 " + percent(t.agreement.area) + "）" }))
        ),
        needs.length ? el("ul", { class: "missing", id: "missing" }, needs.map((n) => el("li", { text: n }))) : el("p", { class: "muted", id: "missing", text: "已达到通过所需的人数和面积。" }),
        chart,
        table("各选项的人数和面积", ["选项", "人数", "面积"], optionRows, "options")
      ),
      el("section", { class: "card" }, el("h2", { text: "按楼栋和单元" }), table(null, ["楼栋/单元", "总数", "参与人数", "参与面积", "同意"], rows))
    );
  }

  function extendForm(kind, campaign) {
    const summary = summaryBox("extend-summary");
    const closes = el("input", { type: "datetime-local", value: localInput(new Date(new Date(campaign.closes_at).getTime() + 7 * 86400 * 1000)) });
    const reason = el("input", { type: "text", maxlength: "200" });
    const done = status("extend-status");
    return el(
      "details",
      { class: "card" },
      el("summary", {}, "延长截止时间"),
      summary,
      el(
        "form",
        {
          novalidate: true,
          onsubmit: async (event) => {
            event.preventDefault();
            const problems = [];
            if (!closes.value) problems.push({ field: "extend-closes", text: "请选择新的截止时间" });
            if (!reason.value.trim()) problems.push({ field: "extend-reason", text: "请填写延长的原因" });
            showErrors(summary, problems);
            if (problems.length) return;
            try {
              await endpoints.extend(kind, campaign.id, { closes_at: fromLocal(closes.value), reason: reason.value.trim() });
              setStatus(done, "截止时间已延长至 " + when(fromLocal(closes.value)) + "。", "ok");
            } catch (error) {
              if (!error.handled) showErrors(summary, [{ field: "extend-closes", text: messageOf(error) }]);
            }
          },
        },
        field("extend-closes", "新的截止时间（北京时间）", closes),
        field("extend-reason", "延长原因（将记录在表决记录中）", reason),
        el("button", { type: "submit", class: "secondary" }, "延长"),
        done
      )
    );
  }

  // --- 5. mobilisation ------------------------------------------------------------------------------

  /** What a campaign's door-to-door pages say: a vote's non-voters, a survey's non-respondents. */
  function doorWords(kind, id) {
    return kind === "votes"
      ? { home: "#/v/" + id + "/tally", base: "#/v/" + id, waiting: "尚未投票", who: "尚未投票的业主", done: "已投票的" }
      : { home: "#/s/" + id, base: "#/s/" + id, waiting: "尚未回答", who: "尚未回答的业主", done: "已回答的" };
  }

  async function showDoor(kind, voteId) {
    const words = doorWords(kind, voteId);
    const vote = await api("GET", kind + "/" + voteId);
    const compound = await compoundOf(vote.compound_id);
    const door = await endpoints.doorToDoor(kind, voteId);
    const remindSummary = summaryBox("remind-summary");
    const remindBox = el("div", { id: "remind" });
    const history = el("div", { id: "reminder-history" });

    async function loadHistory() {
      const items = await endpoints.reminders(kind, voteId);
      fill(history, 
        el("h3", { text: "提醒记录" }),
        items.length
          ? table(null, ["时间", "状态", "已发送", "失败", "跳过"], items.map((r) => [when(r.created_at), REMINDER_STATES[r.status] || r.status, r.sent_count, r.failed_count != null ? r.failed_count : "—", r.skipped_count != null ? r.skipped_count : "—"]))
          : el("p", { class: "muted", text: "还没有发送过提醒。" })
      );
    }

    function askRemind() {
      fill(remindBox, 
        el("p", { text: "将向" + words.who + "发送短信提醒（" + words.done + "不会收到；每个手机号每天最多一条；21:00 至次日 8:00 不发送）。确定发送吗？" }),
        el("p", { class: "actions" }, button("确认发送", sendRemind, "primary"), button("取消", () => fill(remindBox, remindButton)))
      );
      remindBox.querySelector("button").focus();
    }

    async function sendRemind() {
      showErrors(remindSummary, []);
      try {
        let answer = await endpoints.remind(kind, voteId);
        let reminder = answer.reminder;
        for (let i = 0; i < 60 && !REMINDER_OVER.includes(reminder.status); i += 1) {
          await sleep(1000);
          const list = await endpoints.reminders(kind, voteId);
          reminder = list.find((r) => r.id === reminder.id) || reminder;
        }
        fill(remindBox, 
          el(
            "p",
            { class: reminder.status === "failed" ? "alert" : "panel-ok", role: "status", id: "remind-result" },
            (REMINDER_STATES[reminder.status] || "提醒已发送") + "：成功 " + (reminder.sent_count || 0) + " 条" + (reminder.failed_count != null ? "，失败 " + reminder.failed_count + " 条" : "") + (reminder.skipped_count != null ? "，跳过 " + reminder.skipped_count + " 条" : "") + "。"
          ),
          remindButton
        );
        await loadHistory();
      } catch (error) {
        if (error.handled) return;
        fill(remindBox, remindButton);
        showErrors(remindSummary, [{ field: null, text: messageOf(error) }]);
      }
    }

    const remindButton = button("发送短信提醒", askRemind, "primary");
    fill(remindBox, remindButton);
    const groups = door.groups;
    const total = groups.reduce((n, g) => n + g.households.length, 0);
    setView(
      crumbs(["首页", "#/"], [vote.title, words.home], ["入户发动"]),
      el("h1", { text: "入户发动：" + vote.title }),
      el("p", { class: "muted", text: compound.name + "　截止：" + when(vote.closes_at) + "　" + words.waiting + "：" + total + " 户" }),
      el(
        "p",
        { class: "actions" },
        el("a", { class: "button primary", href: words.base + "/sheet" }, "打印入户发动表"),
        button("下载 Excel", () => download(endpoints.doorToDoorXlsx(kind, voteId), vote.title + "-入户发动表.xlsx").catch((e) => alertPage(messageOf(e))))
      ),
      el("section", { class: "card" }, el("h2", { text: "短信提醒" }), remindSummary, remindBox, history),
      ...groups.map((g) => {
        const total = g.total;
        const voted = g.voted;
        const known = total != null && voted != null;
        return el(
          "section",
          { class: "card entrance", "aria-labelledby": "entrance-" + groups.indexOf(g) },
          el("h2", { id: "entrance-" + groups.indexOf(g), text: g.building + g.entrance }),
          el("p", { text: (known ? "已参与 " + voted + " / " + total + " 人（" + (total ? ((100 * voted) / total).toFixed(2) : "0.00") + "%），" : "") + "还需走访 " + g.households.length + " 户" }),
          known ? bar("参与人数", voted, total) : null,
          table(null, ["房号", "业主", "面积（m²）", "今天已短信提醒"], g.households.map((h) => [h.room, h.owners.join("、"), h.area, h.reminded === undefined ? "—" : h.reminded ? "是" : "否"]))
        );
      })
    );
    await loadHistory();
  }

  async function showSheet(kind, voteId) {
    const words = doorWords(kind, voteId);
    const vote = await api("GET", kind + "/" + voteId);
    const compound = await compoundOf(vote.compound_id);
    const door = await endpoints.doorToDoor(kind, voteId);
    setView(
      el(
        "div",
        { class: "no-print" },
        crumbs(["首页", "#/"], [vote.title, words.base + "/door"], ["入户发动表"]),
        el("h1", { text: "入户发动表" }),
        el("p", { class: "muted", text: "每个单元打印为一页 A4。" }),
        el("p", { class: "actions" }, button("打印", () => window.print(), "primary"), el("a", { class: "button", href: words.base + "/door" }, "返回入户发动"))
      ),
      ...door.groups.map((g) =>
        el(
          "section",
          { class: "sheet-page" },
          el("h2", { class: "sheet-title", text: "入户发动表 · " + g.building + g.entrance }),
          el("p", { class: "sheet-meta", text: compound.name + "　" + vote.title + "　截止：" + when(vote.closes_at) }),
          table(null, ["房号", "业主", "面积（m²）", "走访记录"], g.households.map((h) => [h.room, h.owners.join("、"), h.area, ""]), "sheet-table")
        )
      )
    );
  }

  // --- 6. paper ballots and proxies ------------------------------------------------------------------

  async function showPaper(voteId) {
    const vote = await api("GET", "votes/" + voteId);
    const compound = await compoundOf(vote.compound_id);
    const [dwellings, papers, conflicts, proxies] = await Promise.all([
      all("compounds/" + vote.compound_id + "/dwellings"),
      all("votes/" + voteId + "/paper-ballots").catch((error) => {
        if (error.handled) throw error;
        return { error: messageOf(error) }; // the rest of the page stays usable
      }),
      all("votes/" + voteId + "/conflicts").catch(() => []),
      all("votes/" + voteId + "/proxies").catch(() => []),
    ]);
    const inScope = dwellings.filter((d) => !((vote.building_ids || []).length + (vote.entrance_ids || []).length) || (vote.building_ids || []).includes(d.building_id) || (vote.entrance_ids || []).includes(d.entrance_id));
    const summary = summaryBox("paper-summary");
    const room = el("select", {}, el("option", { value: "" }, "请选择房号"), inScope.map((d) => el("option", { value: d.label }, d.label + "（" + (d.owners || []).map(maskName).join("、") + "）")));
    const choice = el("select", {}, el("option", { value: "" }, "请选择"), Object.entries(CHOICES).map(([v, t]) => el("option", { value: v }, t)));
    const signed = el("input", { type: "datetime-local" });
    const photo = el("input", { type: "file", accept: "image/jpeg,image/png" });
    const done = status("paper-status");
    let paperKey = newKey(); // one paper ballot, one key: a repeated submit is not cast twice
    const form = el(
      "form",
      {
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          const problems = [];
          if (!room.value) problems.push({ field: "paper-room", text: "请选择房号" });
          if (!choice.value) problems.push({ field: "paper-choice", text: "请选择表决意见" });
          if (!signed.value) problems.push({ field: "paper-signed", text: "请填写业主签署的时间" });
          if (!photo.files[0]) problems.push({ field: "paper-photo", text: "请上传签字选票的照片" });
          showErrors(summary, problems);
          if (problems.length) return;
          const body = new FormData();
          body.append("dwelling", room.value);
          body.append("choice", choice.value);
          body.append("signed_at", fromLocal(signed.value));
          body.append("photo", photo.files[0], photo.files[0].name);
          try {
            await api("POST", "votes/" + voteId + "/paper-ballots", body, { headers: { "Idempotency-Key": paperKey } });
            paperKey = newKey();
            setStatus(done, "纸质票已录入。", "ok");
            window.setTimeout(() => route(), 800);
          } catch (error) {
            if (!error.handled) {
              if (error.status < 500 && error.status !== 0) paperKey = newKey();
              const map = { dwelling: "paper-room", person_id: "paper-room", choice: "paper-choice", signed_at: "paper-signed", photo: "paper-photo" };
              const key = Object.keys(error.errors || {}).find((k) => map[k]);
              showErrors(summary, [{ field: key ? map[key] : null, text: messageOf(error) }]);
            }
          }
        },
      },
      field("paper-room", "房号", room),
      field("paper-choice", "表决意见", choice),
      field("paper-signed", "业主签署时间（北京时间）", signed),
      field("paper-photo", "签字选票照片（JPEG 或 PNG）", photo),
      el("button", { type: "submit", class: "primary" }, "录入纸质票"),
      done
    );
    const PROXY_STATES = { pending: "待确认", confirmed: "已确认", rejected: "已驳回", revoked: "已撤销" };
    const proxyRows = proxies.map((p) => [
      p.dwellings || "—",
      maskName(p.owner_name || ""),
      maskPhone(p.proxy_phone || "") + (p.relation ? "（" + p.relation + "）" : ""),
      PROXY_STATES[p.status] || p.status,
      p.status === "pending"
        ? el("span", { class: "inline-links" }, button("确认委托", () => decideProxy(p.id, "confirm")), button("驳回委托", () => decideProxy(p.id, "reject")))
        : el("span", { text: when(p.decided_at) }),
    ]);
    async function decideProxy(id, action) {
      try {
        await post("proxies/" + id + "/" + action);
        await route();
      } catch (error) {
        if (!error.handled) alertPage(messageOf(error));
      }
    }
    setView(
      crumbs(["首页", "#/"], [vote.title, "#/v/" + voteId + "/tally"], ["纸质票与委托"]),
      el("h1", { text: "纸质票与委托：" + vote.title }),
      el("p", { class: "muted", text: compound.name }),
      el("section", { class: "card" }, el("h2", { text: "录入纸质票" }), summary, form),
      el("section", { class: "card" }, el("h2", { text: "已录入的纸质票" }), papers.error ? el("p", { class: "alert", text: "已录入的纸质票暂时无法显示：" + papers.error }) : papers.length ? table(null, ["房号", "业主", "意见", "签署时间", "录入时间", "是否计入"], papers.map((p) => [p.dwellings || "—", p.owner_names || "—", CHOICES[p.choice] || p.choice, when(p.signed_at), when(p.entered_at), p.counts ? "计入" : "已被取代"])) : el("p", { class: "muted", text: "还没有录入纸质票。" })),
      el("section", { class: "card" }, el("h2", { text: "多渠道投票（以最后作出的一票为准）" }), conflicts.length ? table(null, ["房号", "业主", "各次投票（作出时间）", "计入"], conflicts.map((c) => {
        const counted = (c.casts || []).find((x) => x.counts);
        return [c.dwellings || "—", c.owner_names || "—", (c.casts || []).map((x) => (CHOICES[x.choice] || x.choice) + "·" + (CHANNELS[x.channel] || x.channel) + "·" + when(x.made_at) + (x.voided ? "（已作废）" : "")).join("；"), counted ? (CHOICES[counted.choice] || counted.choice) + "（" + (CHANNELS[counted.channel] || counted.channel) + "）" : "—"];
      })) : el("p", { class: "muted", text: "没有冲突。" })),
      el("section", { class: "card" }, el("h2", { text: "委托投票" }), proxyRows.length ? table(null, ["房号", "业主", "受托人", "状态", "操作"], proxyRows) : el("p", { class: "muted", text: "没有委托。" }))
    );
  }

  // --- 7. claims review ---------------------------------------------------------------------------

  async function showClaims(compoundId) {
    const compound = await compoundOf(compoundId);
    const claims = await all("compounds/" + compoundId + "/claims?status=pending");
    const summary = summaryBox("claims-summary");
    setView(
      crumbs(["首页", "#/"], [compound.name + " · 业主认证审核"]),
      el("h1", { text: compound.name + " · 业主认证审核" }),
      summary,
      claims.length ? null : el("p", { class: "muted", text: "没有待审核的认证申请。" }),
      ...claims.map((claim) => {
        const reason = el("textarea", { rows: "2" });
        const flags = (claim.flags || []).map((f) => f.message || CLAIM_FLAGS[f.code] || f.code);
        const idBase = "reason-" + claim.id;
        return el(
          "section",
          { class: "card claim" },
          el("h2", { text: (claim.dwelling_label || "房屋") + " · 申请认证为" + (claim.kind === "tenant" ? "租户" : "业主") }),
          el("p", { text: "申请人：" + maskName(claim.name || "") + (claim.phone ? "　手机：" + maskPhone(claim.phone) : "") + (claim.id_last4 ? "　证件号后四位：" + claim.id_last4 : "") + "　申请时间：" + when(claim.created_at) }),
          flags.length ? el("ul", { class: "flags", "aria-label": "与名册不一致之处" }, flags.map((f) => el("li", { text: "需核实：" + f }))) : el("p", { class: "muted", text: "与名册一致。" }),
          field(idBase, "驳回原因（居民可见）", reason),
          el(
            "p",
            { class: "actions" },
            button("通过", async () => {
              try {
                await post("claims/" + claim.id + "/approve");
                await route();
              } catch (error) {
                if (!error.handled) showErrors(summary, [{ field: null, text: messageOf(error) }]);
              }
            }, "primary"),
            button("驳回", async () => {
              if (!reason.value.trim()) return showErrors(summary, [{ field: idBase, text: "驳回时请填写原因" }]);
              try {
                await post("claims/" + claim.id + "/reject", { note: reason.value.trim() });
                await route();
              } catch (error) {
                if (!error.handled) showErrors(summary, [{ field: idBase, text: messageOf(error) }]);
              }
            })
          )
        );
      })
    );
  }

  // --- 8. results and 公示 -----------------------------------------------------------------------------

  async function showResult(voteId) {
    const vote = await api("GET", "votes/" + voteId);
    const compound = await compoundOf(vote.compound_id);
    const tally = await api("GET", "votes/" + voteId + "/tally").catch(() => null);
    const objections = await all("votes/" + voteId + "/objections").catch(() => []);
    const summary = summaryBox("result-summary");
    const done = status("result-status");
    async function act(path, body, text) {
      showErrors(summary, []);
      try {
        await post(path, body);
        setStatus(done, text, "ok");
        window.setTimeout(() => route(), 600);
      } catch (error) {
        if (!error.handled) showErrors(summary, [{ field: null, text: messageOf(error) }]);
      }
    }
    const VERDICTS = { upheld: "异议成立", not_upheld: "异议不成立" };
    const resolveRows = objections.map((o) => {
      if (o.resolved_at) return [o.summary || "—", o.filer || "—", VERDICTS[o.verdict] || "已处理", o.resolution || ""];
      const verdict = el("select", { id: "verdict-" + o.id }, el("option", { value: "not_upheld" }, "异议不成立"), el("option", { value: "upheld" }, "异议成立"));
      const answer = el("input", { type: "text", id: "answer-" + o.id });
      return [
        o.summary || "—",
        o.filer || "—",
        "待处理",
        el(
          "div",
          {},
          field("verdict-" + o.id, "处理结论", verdict),
          field("answer-" + o.id, "处理说明（业主可见）", answer),
          button("记录处理结果", () => {
            if (!answer.value.trim()) return showErrors(summary, [{ field: "answer-" + o.id, text: "请填写处理说明" }]);
            return act("objections/" + o.id + "/resolve", { verdict: verdict.value, resolution: answer.value.trim() }, "处理结果已记录。");
          })
        ),
      ];
    });
    setView(
      crumbs(["首页", "#/"], [vote.title, "#/v/" + voteId + "/tally"], ["结果公示"]),
      el("h1", { text: "结果公示：" + vote.title }),
      el("p", { class: "muted", text: compound.name + "　状态：" + (STATES[vote.status] || vote.status) }),
      summary,
      tally ? el("p", { class: "verdict" + (tally.passed ? " ok" : ""), id: "verdict", text: (tally.passed ? "表决通过" : "表决未通过") + "（参与 " + tally.p_cnt + " / " + tally.t_cnt + " 人、" + tally.p_area + " / " + tally.t_area + " m²，同意 " + tally.y_cnt + " 人、" + tally.y_area + " m²）" }) : null,
      el(
        "section",
        { class: "card" },
        el("h2", { text: "公示" }),
        vote.status === "closed" ? el("p", {}, "表决已截止。发布公示后，业主可在公示期内提出异议。") : null,
        el(
          "p",
          { class: "actions" },
          vote.status === "closed" ? button("发布公示", () => act("votes/" + voteId + "/publish", undefined, "已发布公示。"), "primary") : null,
          vote.status === "published" ? button("公示期满，确认结果", () => act("votes/" + voteId + "/finalize", undefined, "结果已生效。"), "primary") : null,
          ["published", "final"].includes(vote.status) ? el("a", { class: "button", href: "/notices/votes/" + voteId }, "查看公示页") : null
        ),
        done
      ),
      el("section", { class: "card" }, el("h2", { text: "异议" }), resolveRows.length ? table(null, ["异议内容", "提出人", "状态", "处理"], resolveRows) : el("p", { class: "muted", text: "没有异议。" })),
      el(
        "section",
        { class: "card" },
        el("h2", { text: "导出（存档）" }),
        el(
          "p",
          { class: "actions" },
          button("下载计票结果（Excel）", () => download("votes/" + voteId + "/exports/tally.xlsx", vote.title + "-计票结果.xlsx").catch((e) => alertPage(messageOf(e)))),
          button("下载投票登记表（Excel）", () => download("votes/" + voteId + "/exports/register.xlsx", vote.title + "-投票登记表.xlsx").catch((e) => alertPage(messageOf(e))))
        )
      )
    );
  }

  /** A menu or satisfaction survey's result (live while open) and its .xlsx export. */
  async function surveyResults(survey) {
    const base = "surveys/" + survey.id;
    const xlsx = (path, name) => button("下载" + name + "（Excel）", () => download(base + path, survey.title + "-" + name + ".xlsx").catch((e) => alertPage(messageOf(e))));
    const live = survey.status === "open" ? "（实时）" : "";
    if (survey.kind === "menu") {
      const menu = await api("GET", base + "/menu/result").catch(() => null);
      if (!menu) return null;
      return el(
        "section",
        { class: "card", "aria-labelledby": "menu-title" },
        el("h2", { id: "menu-title", text: "菜单选择结果" + live }),
        el("p", { text: "纳入改造的项目合计 " + yuan(menu.included_cost) + "，其中居民出资 " + yuan(menu.included_residents_part) + (menu.budget_cap ? "；预算上限 " + yuan(menu.budget_cap) : "") + "。" }),
        table(null, ["项目", "类别", "支持人数", "支持率", "结果"], menu.items.map((item) => [item.name, item.tier_label, item.support_count + " 人", percent(item.support && item.support.count), (item.included ? "纳入改造" : item.adopted ? "已采纳" : "未采纳") + (item.note ? "（" + item.note + "）" : "")])),
        el("p", { class: "actions" }, xlsx("/menu/result.xlsx", "菜单选择结果"))
      );
    }
    if (survey.kind === "satisfaction") {
      const result = await api("GET", base + "/satisfaction").catch(() => null);
      if (!result) return null;
      const verdict = (passed) => (passed == null ? "—" : passed ? "达到 " + result.threshold + "%" : "未达到 " + result.threshold + "%");
      return el(
        "section",
        { class: "card", "aria-labelledby": "satisfaction-title" },
        el("h2", { id: "satisfaction-title", text: "满意度" + live }),
        el("p", { text: "已收回 " + result.responses + " 份；总体满意率 " + percent(result.overall.rate) + "（" + verdict(result.overall.passed) + "）。" }),
        table(null, ["方面", "满意", "基本满意", "不满意", "不了解", "满意率"], result.dimensions.map((d) => [d.dimension, d.counts.satisfied, d.counts.basic, d.counts.dissatisfied, d.counts.unknown, percent(d.rate)])),
        el("p", { class: "actions" }, xlsx("/satisfaction.xlsx", "满意度统计"))
      );
    }
    return null;
  }

  async function showSurvey(surveyId) {
    const survey = await api("GET", "surveys/" + surveyId);
    const compound = await compoundOf(survey.compound_id);
    const summary = summaryBox("survey-summary");
    const done = status("survey-status");
    const started = !["draft", "cancelled"].includes(survey.status);
    const consent = survey.kind === "consent" && started ? await api("GET", "surveys/" + surveyId + "/consent").catch(() => null) : null;
    const results = started ? await surveyResults(survey) : null;
    async function act(path, body, text) {
      showErrors(summary, []);
      try {
        await post(path, body);
        cache.compounds = null;
        setStatus(done, text, "ok");
        window.setTimeout(() => route(), 600);
      } catch (error) {
        if (!error.handled) showErrors(summary, [{ field: null, text: messageOf(error) }]);
      }
    }
    const consentBlock = consent
      ? el(
          "section",
          { class: "card", "aria-labelledby": "consent-title" },
          el("h2", { id: "consent-title", text: "改造意愿（" + (consent.status === "open" ? "实时" : "结果") + "）" }),
          el("p", { class: consent.passed ? "verdict ok" : "verdict", text: consent.passed ? "同意改造的业主已达到三分之二以上" : "同意改造的业主尚未达到三分之二" }),
          el("p", { class: "rule", text: "规则：" + RULES.renovation_consent }),
          el(
            "dl",
            { class: "figures" },
            el("div", {}, el("dt", { text: "已表态" }), el("dd", { text: consent.p_cnt + " / " + consent.t_cnt + " 人" })),
            el("div", {}, el("dt", { text: "同意" }), el("dd", { text: consent.y_cnt + " 人、" + consent.y_area + " m²（" + percent(consent.consent && consent.consent.count) + "）" }))
          ),
          consent.missing && consent.missing.text ? el("p", { class: "missing", text: consent.missing.text }) : null,
          bar("同意人数", consent.y_cnt, consent.t_cnt, "agree")
        )
      : null;
    setView(
      crumbs(["首页", "#/"], [survey.title]),
      el("h1", { text: survey.title }),
      el("p", { class: "muted", text: compound.name + "　" + (SURVEY_KINDS[survey.kind] || survey.kind) + "　状态：" + (STATES[survey.status] || survey.status) + "　截止：" + when(survey.closes_at) }),
      summary,
      el("p", { text: "已答 " + (survey.responses || 0) + (survey.t_cnt ? " / " + survey.t_cnt + " 人" : " 份") }),
      consentBlock,
      results,
      survey.status === "draft" ? el("p", { class: "actions" }, button("开启调查", () => act("surveys/" + surveyId + "/open", undefined, "调查已开启。"), "primary")) : null,
      survey.status === "closed" ? el("p", { class: "actions" }, button("发布公示", () => act("surveys/" + surveyId + "/publish", undefined, "已发布公示。"), "primary")) : null,
      survey.status === "published" ? el("p", { class: "actions" }, button("公示期满，确认结果", () => act("surveys/" + surveyId + "/finalize", undefined, "结果已生效。"), "primary")) : null,
      survey.status === "open" ? el("p", { class: "actions" }, el("a", { class: "button primary", href: "#/s/" + surveyId + "/door" }, "入户发动与短信提醒")) : null,
      done,
      survey.status === "open" ? extendForm("surveys", survey) : null
    );
  }

  // --- what the other scripts of the bundle (project.js) use ----------------------------------

  window.Workbench = {
    api,
    all,
    post,
    download,
    newKey,
    el,
    fill,
    setView,
    alertPage,
    messageOf,
    showErrors,
    summaryBox,
    field,
    button,
    status,
    setStatus,
    table,
    when,
    percent,
    yuan,
    crumbs,
    bar,
    compoundOf,
    route,
    /** More pages: ``[pattern, (match) => Promise]`` pairs, tried after these. */
    addRoutes: (routes) => ROUTES.push(...routes),
    /** A timer stopped when the page changes. */
    addTimer: (stop) => timers.push(stop),
  };

  // --- start ------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    window.addEventListener("hashchange", () => route());
    if (tokens.get()) start();
    else {
      showSignIn("");
      document.body.setAttribute("data-ready", "true");
    }
  });
})();
