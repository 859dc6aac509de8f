/* Resident H5 page: compound from the notice-board QR code, phone sign-in, 我的房屋, claims.
 *
 * Plain JavaScript, no dependencies, same-origin API only. Personal data never goes into a
 * URL or the console; tokens live in sessionStorage (gone when the tab is closed).
 */
(function () {
  "use strict";

  var API = new URL("../api/v1/", window.location.href).pathname; // "/api/v1/" behind any prefix
  var TOKENS_KEY = "participation.h5.tokens";
  var RESEND_SECONDS = 60;
  var KIND_NAMES = { owner: "业主", tenant: "租户" };
  var STATUS_NAMES = { pending: "待审核", approved: "已通过", rejected: "未通过" };

  var $ = function (id) {
    return document.getElementById(id);
  };

  // --- tokens (sessionStorage; memory if storage is unavailable) ----------------------------

  var memoryTokens = null;

  var tokens = {
    get: function () {
      try {
        var text = window.sessionStorage.getItem(TOKENS_KEY);
        return text ? JSON.parse(text) : null;
      } catch (e) {
        return memoryTokens;
      }
    },
    set: function (value) {
      memoryTokens = value;
      try {
        window.sessionStorage.setItem(TOKENS_KEY, JSON.stringify(value));
      } catch (e) {
        /* private mode: keep them in memory only */
      }
    },
    clear: function () {
      memoryTokens = null;
      try {
        window.sessionStorage.removeItem(TOKENS_KEY);
      } catch (e) {
        /* nothing stored */
      }
    },
  };

  // --- API ----------------------------------------------------------------------------------

  function ApiError(status, code, message, errors, retryAfter) {
    this.status = status;
    this.code = code;
    this.message = message;
    this.errors = errors || {};
    this.retryAfter = retryAfter;
  }

  var DEFAULT_MESSAGES = {
    0: "网络连接失败，请检查网络后重试",
    401: "请先登录",
    404: "未找到",
    409: "与现有数据冲突",
    422: "提交的内容有误",
    429: "操作过于频繁，请稍后再试",
  };

  /** ``body``: an object (sent as JSON) or FormData (multipart); ``options``: ``headers``
   * (e.g. Idempotency-Key), ``blob`` (a file download). */
  async function send(method, path, body, bearer, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    var form = typeof FormData !== "undefined" && body instanceof FormData;
    if (body !== undefined && !form) headers["Content-Type"] = "application/json";
    if (bearer) headers.Authorization = "Bearer " + bearer;
    var response;
    try {
      response = await fetch(API + path, {
        method: method,
        headers: headers,
        body: body === undefined || form ? body : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch (e) {
      throw new ApiError(0, "network_error", DEFAULT_MESSAGES[0]);
    }
    if (response.ok && options.blob) return response.blob();
    var data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
    }
    if (response.ok) {
      if (options.withStatus) return { status: response.status, data: data };
      return data;
    }
    var retryAfter = parseInt(response.headers.get("Retry-After") || "", 10);
    throw new ApiError(
      response.status,
      (data && data.code) || "error",
      (data && data.message) || DEFAULT_MESSAGES[response.status] || "出错了，请稍后再试",
      data && data.errors,
      isNaN(retryAfter) ? null : retryAfter
    );
  }

  var refreshing = null;

  /** One refresh at a time; resolves to true when a new access token is stored. */
  function refreshAccess() {
    if (!refreshing) {
      refreshing = (async function () {
        var current = tokens.get();
        if (!current || !current.refresh) return false;
        try {
          var data = await send("POST", "auth/refresh", undefined, current.refresh);
          tokens.set({ access: data.access_token, refresh: current.refresh });
          return true;
        } catch (e) {
          return false;
        }
      })().finally(function () {
        refreshing = null;
      });
    }
    return refreshing;
  }

  /** A call as the signed-in resident. An expired access token is refreshed once and the call
   * retried; any other 401 signs the page out. */
  async function authed(method, path, body, options) {
    var current = tokens.get();
    if (!current) throw signedOut(null);
    try {
      return await send(method, path, body, current.access, options);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      if (error.code === "token_expired" && (await refreshAccess())) {
        try {
          return await send(method, path, body, tokens.get().access, options);
        } catch (again) {
          if (again instanceof ApiError && again.status === 401) throw signedOut(again);
          throw again;
        }
      }
      throw signedOut(error);
    }
  }

  function signedOut(error) {
    // What the resident was filling in stays for the same resident's next sign-in.
    keptFor = tokenSubject() || keptFor;
    tokens.clear();
    clearPersonalData(true);
    showSignIn(error && error.code !== "token_expired" ? error.message : "登录已过期，请重新登录");
    var out = new ApiError(401, "signed_out", "请重新登录");
    out.handled = true;
    return out;
  }

  // --- small helpers ------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function setStatus(node, text, kind) {
    node.textContent = text || "";
    node.classList.toggle("error", kind === "error");
    node.classList.toggle("ok", kind === "ok");
    node.classList.toggle("wait", kind === "wait");
  }

  var FIELD_ERRORS = {
    phone: ["phone", "phone-error"],
    code: ["code", "code-error"],
    building: ["building", "building-error"],
    entrance: ["entrance", "entrance-error"],
    room: ["room", "room-error"],
    name: ["claim-name", "name-error"],
    id_last4: ["id-last4", "id-last4-error"],
    kind: [null, "kind-error"],
    compound_id: [null, null],
  };

  function clearFieldErrors(fields) {
    fields.forEach(function (field) {
      var ids = FIELD_ERRORS[field];
      if (ids[0]) $(ids[0]).removeAttribute("aria-invalid");
      if (ids[1]) {
        $(ids[1]).textContent = "";
        $(ids[1]).hidden = true;
      }
    });
  }

  /** Field messages from a 422 next to their fields; returns whether any was shown. */
  function showFieldErrors(error, fields) {
    var shown = false;
    var first = null;
    fields.forEach(function (field) {
      var problems = error.errors && error.errors[field];
      var ids = FIELD_ERRORS[field];
      if (!problems || !ids[1]) return;
      var text = Array.isArray(problems) ? problems.join("；") : String(problems);
      $(ids[1]).textContent = text;
      $(ids[1]).hidden = false;
      if (ids[0]) {
        $(ids[0]).setAttribute("aria-invalid", "true");
        if (!first) first = $(ids[0]);
      }
      shown = true;
    });
    if (first) first.focus();
    return shown;
  }

  /** The API's own message; for a validation error, the first field message is more useful. */
  function messageOf(error) {
    if (error.code === "validation_error" && error.errors) {
      for (var key in error.errors) {
        var problems = error.errors[key];
        if (Array.isArray(problems) && typeof problems[0] === "string") return problems[0];
      }
    }
    return error.message;
  }

  function focusHeading(id) {
    var heading = $(id);
    if (heading) heading.focus({ preventScroll: false });
  }

  /** What the server put into the page: the compound's public data and notices, and after a
   * short link (/c/<code>) the page's canonical address. */
  function embeddedData() {
    var node = document.getElementById("h5-data");
    try {
      return node ? JSON.parse(node.textContent) : {};
    } catch (e) {
      return {};
    }
  }

  function compoundIdFromUrl() {
    var value = new URLSearchParams(window.location.search).get("compound");
    return value && /^[1-9]\d{0,9}$/.test(value) ? Number(value) : null;
  }

  // --- state --------------------------------------------------------------------------------

  var embedded = embeddedData();
  if (embedded.canonical) {
    // Opened at the QR code's short link: show (and bookmark) the page's own address.
    window.history.replaceState(null, "", embedded.canonical + window.location.hash);
  }
  var compoundId = compoundIdFromUrl();
  var compound = null; // the public compound: {id, name, address, buildings: [...]}
  var countdownTimer = null;

  // --- compound (public) ----------------------------------------------------------------------

  async function loadCompound() {
    if (compoundId === null) return;
    try {
      var known = embedded.compound && embedded.compound.id === compoundId;
      compound = known ? embedded.compound : await send("GET", "public/compounds/" + compoundId);
    } catch (error) {
      compound = null;
      var alert = $("page-alert");
      alert.textContent =
        error.status === 404
          ? "未找到该小区，请重新扫描小区公示栏上的二维码。"
          : "小区信息加载失败：" + error.message;
      alert.hidden = false;
      return;
    }
    $("compound-name").textContent = compound.name;
    document.title = compound.name + " · 居民参与";
    if (compound.address) {
      $("compound-address").textContent = compound.address;
      $("compound-address").hidden = false;
    }
    fillBuildings();
  }

  function option(value, text) {
    var node = document.createElement("option");
    node.value = value;
    node.textContent = text;
    return node;
  }

  function fillBuildings() {
    var select = $("building");
    select.replaceChildren(option("", "请选择楼栋"));
    (compound ? compound.buildings : []).forEach(function (building, index) {
      select.appendChild(option(String(index), building.name));
    });
    fillEntrances();
  }

  function selectedBuilding() {
    var index = $("building").value;
    return index === "" || !compound ? null : compound.buildings[Number(index)];
  }

  function fillEntrances() {
    var select = $("entrance");
    var building = selectedBuilding();
    if (!building) {
      select.replaceChildren(option("", "请先选择楼栋"));
      select.disabled = true;
      return;
    }
    var entrances = building.entrances || [];
    select.disabled = false;
    if (entrances.length === 1) {
      var only = entrances[0].name;
      select.replaceChildren(option(only, only || "不分单元"));
      return;
    }
    select.replaceChildren(option("", "请选择单元"));
    entrances.forEach(function (entrance) {
      select.appendChild(option(entrance.name, entrance.name || "不分单元"));
    });
  }

  // --- views --------------------------------------------------------------------------------

  function show(view) {
    $("loading").hidden = true;
    $("view-sign-in").hidden = view !== "sign-in";
    $("view-home").hidden = view !== "home";
    $("sign-out").hidden = ["home", "vote", "survey", "ticket-new", "ticket", "plan"].indexOf(view) < 0;
    showVotesView(view);
  }

  function showSignIn(message) {
    show("sign-in");
    setStatus($("sign-in-status"), message || "", message ? "error" : null);
  }

  /** The payload's ``sub`` of the stored access token ("resident:12"), or null. */
  function tokenSubject() {
    var current = tokens.get();
    try {
      var part = current.access.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(window.atob(part)).sub || null;
    } catch (e) {
      return null;
    }
  }

  var keptFor = null; // whose forms are kept after a session expired

  /** After a sign-in: forms kept from an expired session are dropped unless they are this
   * resident's own (a phone can be passed to a neighbour). */
  function settleKeptForms() {
    if (keptFor && keptFor !== tokenSubject()) clearForms();
    keptFor = null;
  }

  function clearForms() {
    drafts = {};
    $("claim-form").reset();
    $("objection-form").reset();
    $("proxy-form").reset();
    $("ticket-form").reset();
    clearFieldErrors(["building", "entrance", "room", "name", "id_last4", "kind"]);
    fillEntrances();
    updateKind();
  }

  /** ``keepForms``: the session expired; what was typed stays until the next sign-in. */
  function clearPersonalData(keepForms) {
    if (!keepForms) {
      keptFor = null;
      clearForms();
    }
    $("my-phone").textContent = "";
    ["owned-list", "rented-list", "claims-list"].forEach(function (id) {
      $(id).replaceChildren();
    });
    setStatus($("home-status"), "");
    setStatus($("claim-status"), "");
    $("claim-section").hidden = true;
    clearVoteData();
    clearSurveyData();
    clearTicketData();
  }

  function dwellingItem(compoundName, label, metaParts, badge) {
    var item = el("li");
    item.appendChild(el("span", "item-compound", compoundName));
    var labelNode = el("span", "item-label", label);
    if (badge) {
      labelNode.appendChild(document.createTextNode(" "));
      labelNode.appendChild(el("span", "badge", badge));
    }
    item.appendChild(labelNode);
    if (metaParts.length) {
      var meta = el("span", "item-meta");
      metaParts.forEach(function (part) {
        meta.appendChild(el("span", null, part));
      });
      item.appendChild(meta);
    }
    return item;
  }

  function formatTime(iso) {
    // "2030-01-01T08:00:00+08:00" → "2030-01-01 08:00" (the API sends Beijing time)
    return typeof iso === "string" ? iso.slice(0, 16).replace("T", " ") : "";
  }

  function renderProfile(profile) {
    var staff = profile.kind !== "resident";
    $("staff-note").hidden = !staff;
    var resident = profile.resident || { phone: "", owned: [], rented: [], pending_claims: [] };
    $("my-phone").textContent = staff ? profile.staff.display_name : resident.phone;

    var owned = resident.owned.map(function (d) {
      var meta = ["面积 " + d.area + " m²"];
      if (d.co_owners) meta.push("另有 " + d.co_owners + " 位共有人");
      return dwellingItem(d.compound_name, d.label, meta);
    });
    var rented = resident.rented.map(function (d) {
      return dwellingItem(d.compound_name, d.label, []);
    });
    var claims = resident.pending_claims.map(function (c) {
      return dwellingItem(
        c.compound_name,
        c.dwelling_label,
        ["申请身份：" + (KIND_NAMES[c.kind] || c.kind), "提交于 " + formatTime(c.created_at)],
        STATUS_NAMES[c.status] || c.status
      );
    });
    $("owned-list").replaceChildren(...owned);
    $("rented-list").replaceChildren(...rented);
    $("claims-list").replaceChildren(...claims);
    $("owned-block").hidden = resident.owned.length === 0;
    $("rented-block").hidden = resident.rented.length === 0;
    $("claims-block").hidden = resident.pending_claims.length === 0;

    $("wechat-block").hidden = !resident.wechat_bound;
    var noDwelling = !staff && resident.owned.length === 0 && resident.rented.length === 0;
    var canClaim = !staff && compound !== null;
    var formOpen = canClaim && noDwelling && resident.pending_claims.length === 0;
    $("no-dwelling").hidden = !noDwelling || resident.pending_claims.length > 0;
    $("no-compound").hidden = !noDwelling || compound !== null;
    $("claim-compound").textContent = compound ? compound.name : "";
    $("claim-section").hidden = !formOpen;
    $("show-claim").hidden = !canClaim || formOpen;
    $("show-claim").setAttribute("aria-expanded", String(formOpen));
  }

  async function showHome(focus) {
    var profile;
    try {
      profile = await authed("GET", "me");
    } catch (error) {
      if (error.handled) return;
      show("home");
      setStatus($("home-status"), "加载失败：" + error.message, "error");
      return;
    }
    renderProfile(profile);
    show("home");
    await Promise.all([loadMyVotes(profile), profile.kind === "resident" ? loadMyTickets() : null]);
    if (focus) focusHeading("home-title");
  }

  // --- sign-in ------------------------------------------------------------------------------

  function stopCountdown() {
    window.clearInterval(countdownTimer);
    countdownTimer = null;
    $("send-code").disabled = false;
    $("send-code").textContent = "获取验证码";
  }

  function startCountdown(seconds) {
    var button = $("send-code");
    var left = seconds;
    window.clearInterval(countdownTimer);
    button.disabled = true;
    button.textContent = left + " 秒后重新获取";
    countdownTimer = window.setInterval(function () {
      left -= 1;
      if (left <= 0) {
        stopCountdown();
        return;
      }
      button.textContent = left + " 秒后重新获取";
    }, 1000);
  }

  async function requestCode() {
    var button = $("send-code");
    var status = $("sign-in-status");
    clearFieldErrors(["phone", "code"]);
    setStatus(status, "");
    button.disabled = true;
    try {
      await send("POST", "auth/codes", { phone: $("phone").value });
    } catch (error) {
      button.disabled = false;
      if (error.status === 422 && showFieldErrors(error, ["phone"])) return;
      setStatus(status, messageOf(error), "error");
      if (error.status === 429 && error.retryAfter) {
        startCountdown(Math.min(error.retryAfter, 3600));
      }
      return;
    }
    setStatus(status, "验证码已发送，请查收短信", "ok");
    startCountdown(RESEND_SECONDS);
    $("code").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    var button = $("sign-in");
    var status = $("sign-in-status");
    clearFieldErrors(["phone", "code"]);
    setStatus(status, "");
    button.disabled = true;
    var pair;
    try {
      pair = await send("POST", "auth/sessions", {
        phone: $("phone").value,
        code: $("code").value.trim(),
        wechat_ticket: wechat.ticket(),
      });
    } catch (error) {
      wechat.settle(error);
      button.disabled = false;
      if (error.status === 422 && showFieldErrors(error, ["phone", "code"])) return;
      setStatus(status, messageOf(error), "error");
      if (error.status === 401) {
        $("code").setAttribute("aria-invalid", "true");
        $("code").focus();
      }
      return;
    }
    button.disabled = false;
    wechat.settle(null);
    tokens.set({ access: pair.access_token, refresh: pair.refresh_token });
    settleKeptForms();
    stopCountdown(); // the code is used; a later sign-in asks for a new one (the API says when)
    $("code").value = "";
    $("phone").value = "";
    setStatus(status, "");
    await route(true);
  }

  async function signOut() {
    var button = $("sign-out");
    button.disabled = true;
    var current = tokens.get();
    if (current) {
      try {
        // The refresh token outlives the access token; either ends the whole session.
        await send("DELETE", "auth/session", undefined, current.refresh || current.access);
      } catch (e) {
        /* already signed out or offline: the tokens are dropped below all the same */
      }
    }
    tokens.clear();
    clearPersonalData();
    button.disabled = false;
    showSignIn();
    setStatus($("sign-in-status"), "已退出登录", "ok");
    focusHeading("sign-in-title");
  }

  async function unbindWechat() {
    var button = $("wechat-unbind");
    button.disabled = true;
    try {
      await authed("DELETE", "me/wechat");
    } catch (error) {
      button.disabled = false;
      if (!error.handled) setStatus($("home-status"), messageOf(error), "error");
      return;
    }
    button.disabled = false;
    $("wechat-block").hidden = true;
    setStatus($("home-status"), "已解除微信绑定。以后在微信中打开本页面，需要用手机号登录。", "ok");
  }

  // --- claims -------------------------------------------------------------------------------

  function openClaimForm() {
    $("claim-section").hidden = false;
    $("show-claim").hidden = true;
    $("show-claim").setAttribute("aria-expanded", "true");
    focusHeading("claim-title");
  }

  function updateKind() {
    $("id-hint").textContent = $("kind-owner").checked ? "（业主必填）" : "（选填）";
  }

  async function fileClaim(event) {
    event.preventDefault();
    var fields = ["building", "entrance", "room", "name", "id_last4", "kind", "compound_id"];
    var button = $("claim-submit");
    var status = $("claim-status");
    clearFieldErrors(fields);
    setStatus(status, "");
    var building = selectedBuilding();
    var idLast4 = $("id-last4").value.trim();
    var body = {
      compound_id: compoundId,
      building: building ? building.name : "",
      entrance: $("entrance").value,
      room: $("room").value,
      name: $("claim-name").value,
      id_last4: idLast4 === "" ? null : idLast4,
      kind: $("kind-tenant").checked ? "tenant" : "owner",
    };
    button.disabled = true;
    var claim;
    try {
      claim = await authed("POST", "me/claims", body);
    } catch (error) {
      button.disabled = false;
      if (error.handled) return;
      var shown = error.status === 422 && showFieldErrors(error, fields);
      setStatus(status, shown ? error.message : messageOf(error), "error");
      return;
    }
    button.disabled = false;
    $("claim-form").reset();
    fillEntrances();
    updateKind();
    await showHome(false);
    setStatus(
      $("home-status"),
      "申请已提交：" +
        claim.compound_name +
        " " +
        claim.dwelling_label +
        "（" +
        (KIND_NAMES[claim.kind] || claim.kind) +
        "），请等待居委会或业委会审核。",
      "ok"
    );
    focusHeading("home-title");
  }

  // --- WeChat hand-off ----------------------------------------------------------------------
  // After /api/v1/auth/wechat/callback the URL fragment carries #wechat_login=<one-time code>
  // (exchanged here for tokens) or #wechat_bind=<ticket> (kept for this tab and sent with the
  // phone sign-in, which binds the WeChat user). Either is taken out of the address at once.

  var wechat = {
    KEY: "participation.h5.wechat_ticket",
    take: async function () {
      var pattern = /^#(wechat_login|wechat_bind)=([A-Za-z0-9_-]{1,128})$/;
      var match = pattern.exec(window.location.hash);
      if (!match) return;
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      if (match[1] === "wechat_bind") {
        try {
          window.sessionStorage.setItem(wechat.KEY, match[2]);
        } catch (e) {
          wechat.memory = match[2];
        }
        return;
      }
      try {
        var pair = await send("POST", "auth/wechat/sessions", { code: match[2] });
        tokens.set({ access: pair.access_token, refresh: pair.refresh_token });
      } catch (e) {
        /* used or expired: the phone sign-in is shown as usual */
      }
    },
    ticket: function () {
      try {
        return window.sessionStorage.getItem(wechat.KEY) || undefined;
      } catch (e) {
        return wechat.memory;
      }
    },
    /** After a sign-in: the ticket is used up (success) or of no use (a wechat_* error). */
    settle: function (error) {
      if (error && !/^wechat_/.test(error.code)) return;
      wechat.memory = undefined;
      try {
        window.sessionStorage.removeItem(wechat.KEY);
      } catch (e) {
        /* nothing stored */
      }
    },
  };

  // =========================================================================================
  // --- votes (issue 13): compound landing, vote page, casting with retries, receipts --------
  // Everything of the resident's votes lives in this section; the rest of the page calls
  // only route(), showVotesView(), clearVoteData(), loadMyVotes() and startVotes().
  // =========================================================================================

  var LARGE_TEXT_KEY = "participation.h5.large-text"; // a display preference, nothing personal
  var CHOICE_NAMES = { agree: "同意", disagree: "不同意", abstain: "弃权" };
  var CHANNEL_NAMES = { online: "网上投票", proxy: "受托人代投", paper: "纸质票" };
  var VOTE_STATUS_NAMES = {
    draft: "尚未开始",
    open: "正在表决",
    closed: "已截止",
    published: "结果公示中",
    final: "结果已确定",
    cancelled: "已取消",
  };
  var RULE_WORDS = {
    civil_code_major:
      "这是重大事项，要同时做到两条才通过：第一，参加表决的业主人数和房屋面积都要达到本次范围的三分之二以上；" +
      "第二，同意的业主人数和房屋面积都要达到参加表决的四分之三以上。没有投票的不算同意。",
    civil_code_ordinary:
      "要同时做到两条才通过：第一，参加表决的业主人数和房屋面积都要达到本次范围的三分之二以上；" +
      "第二，同意的业主人数和房屋面积都要超过参加表决的一半。没有投票的不算同意。",
  };
  var NOTICE_KIND_NAMES = { general: "公告", campaign: "征集与表决", result: "结果公示", progress: "项目进度" };
  var RETRY_DELAYS = [1000, 2000, 4000, 8000]; // then the resident is asked to try again

  var currentRoute = { name: "landing" };
  var boardLoaded = false;
  var voteState = null; // {vote, ballots, share, progress, personId}
  var pendingCast = null; // {voteId, personId, choice, key}: one confirmed intent, one key

  // --- 大字 (remembered on this phone) --------------------------------------------------------

  function largeTextStored() {
    try {
      return window.localStorage.getItem(LARGE_TEXT_KEY) === "1";
    } catch (e) {
      return false;
    }
  }

  function setLargeText(on, remember) {
    document.documentElement.classList.toggle("large-text", on);
    // A toggle button: its name stays 大字, aria-pressed says whether it is on.
    $("large-text").setAttribute("aria-pressed", String(on));
    if (!remember) return;
    try {
      if (on) window.localStorage.setItem(LARGE_TEXT_KEY, "1");
      else window.localStorage.removeItem(LARGE_TEXT_KEY);
    } catch (e) {
      /* storage unavailable: this visit only */
    }
  }

  // --- routing (#/, #/votes/12, #/surveys/3, #/receipt/12/CODE) ----------------------------

  function parseRoute() {
    var hash = window.location.hash.replace(/^#\/?/, "");
    var parts = hash.split("/").filter(Boolean);
    if (parts[0] === "votes" && /^[1-9]\d{0,9}$/.test(parts[1] || "")) {
      return { name: "vote", id: Number(parts[1]) };
    }
    if (parts[0] === "tickets" && parts[1] === "new") return { name: "ticket-new" };
    if (parts[0] === "tickets" && /^[1-9]\d{0,9}$/.test(parts[1] || "")) {
      return { name: "ticket", id: Number(parts[1]) };
    }
    if (parts[0] === "proxies" && /^[1-9]\d{0,9}$/.test(parts[1] || "")) {
      return { name: "proxy", id: Number(parts[1]) };
    }
    if (parts[0] === "surveys" && /^[1-9]\d{0,9}$/.test(parts[1] || "")) {
      return { name: "survey", id: Number(parts[1]) };
    }
    if (parts[0] === "plan" && /^[1-9]\d{0,9}$/.test(parts[1] || "")) {
      return { name: "plan", id: Number(parts[1]) };
    }
    if (parts[0] === "receipt") {
      return {
        name: "receipt",
        voteId: /^[1-9]\d{0,9}$/.test(parts[1] || "") ? parts[1] : "",
        code: /^[A-Za-z2-7]{1,16}$/.test(parts[2] || "") ? parts[2].toUpperCase() : "",
      };
    }
    return { name: "landing" };
  }

  /** Shows what the address names; ``focus`` moves focus to the new view's heading. */
  async function route(focus) {
    currentRoute = parseRoute();
    if (currentRoute.name === "receipt") {
      showReceiptCheck(currentRoute);
      return;
    }
    var needsSignIn = {
      vote: "请先用手机号登录，再参加表决。",
      proxy: "请先用手机号登录，再参加表决。",
      survey: "请先用手机号登录，再回答问卷。",
      "ticket-new": "请先用手机号登录，再反映问题。",
      ticket: "请先用手机号登录，再查看问题进展。",
      plan: "请先用手机号登录，再查看设计方案、表态和提意见。",
    };
    if (needsSignIn[currentRoute.name] && !tokens.get()) {
      showSignIn();
      setStatus($("sign-in-status"), needsSignIn[currentRoute.name], "wait");
      return;
    }
    if (currentRoute.name === "plan") {
      show("plan");
      await window.H5Plan.show(currentRoute.id, focus);
      return;
    }
    if (currentRoute.name === "ticket-new") {
      await showTicketForm(focus);
      return;
    }
    if (currentRoute.name === "ticket") {
      await showTicket(currentRoute.id, focus);
      return;
    }
    if (["vote", "proxy", "survey"].indexOf(currentRoute.name) >= 0) {
      if (currentRoute.name === "vote") await showVote(currentRoute.id, focus);
      else if (currentRoute.name === "proxy") await showProxyCast(currentRoute.id, focus);
      else await showSurvey(currentRoute.id, focus);
      return;
    }
    if (tokens.get()) await showHome(focus);
    else showSignIn();
    await loadBoard();
  }

  function showVotesView(view) {
    var landing = currentRoute.name === "landing" && (view === "sign-in" || view === "home");
    $("view-board").hidden = !(landing && compoundId !== null);
    $("view-vote").hidden = view !== "vote";
    $("view-survey").hidden = view !== "survey";
    $("view-ticket-new").hidden = view !== "ticket-new";
    $("view-ticket").hidden = view !== "ticket";
    if (view !== "ticket") releasePhotos();
    $("view-receipt").hidden = view !== "receipt";
    $("view-plan").hidden = view !== "plan";
    $("objection").hidden = true; // shown again by loadObjections
    objectionTarget = null;
  }

  function clearVoteData() {
    voteState = null;
    pendingCast = null;
    $("open-votes").replaceChildren();
    $("done-votes").replaceChildren();
    $("my-votes").hidden = true;
    $("share-list").replaceChildren();
    $("person-options").replaceChildren();
    $("receipt-code").textContent = "";
    $("cast-mine").textContent = "";
    $("granted-proxies").replaceChildren();
    $("held-proxies").replaceChildren();
    $("held-proxies-block").hidden = true;
  }

  function linkButton(href, text, className) {
    var link = el("a", className || "link-button", text);
    link.href = href;
    return link;
  }

  function deadlineText(vote) {
    return "截止时间：" + formatTime(vote.closes_at);
  }

  function voteStateName(vote) {
    if (vote.status === "open" && !vote.accepting_casts) {
      return vote.opens_at && Date.parse(vote.opens_at) > Date.now() ? "尚未开始" : "已截止";
    }
    return VOTE_STATUS_NAMES[vote.status] || vote.status;
  }

  function noticePage(voteId) {
    return "/notices/votes/" + voteId;
  }

  // --- landing: the board (public) and my votes (signed in) ---------------------------------

  async function loadBoard() {
    if (compoundId === null || boardLoaded) return;
    var notices;
    try {
      var known = embedded.notices && embedded.compound && embedded.compound.id === compoundId;
      notices = known
        ? embedded.notices
        : await send("GET", "public/compounds/" + compoundId + "/notices?page_size=20");
    } catch (error) {
      setStatus($("board-status"), "公告加载失败：" + error.message, "error");
      return;
    }
    boardLoaded = true;
    setStatus($("board-status"), "");
    var items = notices.map(function (notice) {
      var item = el("li");
      item.appendChild(el("span", "item-compound", NOTICE_KIND_NAMES[notice.kind] || "公告"));
      item.appendChild(el("span", "item-label", notice.title));
      item.appendChild(el("span", "item-meta", "发布于 " + formatTime(notice.valid_from)));
      if (notice.kind === "result" && notice.vote_id) {
        item.appendChild(linkButton(noticePage(notice.vote_id), "查看结果公示"));
      } else if (notice.kind === "result" && notice.survey_id) {
        item.appendChild(linkButton("/notices/surveys/" + notice.survey_id, "查看结果公示"));
      } else if (notice.kind === "campaign" && notice.vote_id) {
        item.appendChild(linkButton("#/votes/" + notice.vote_id, "查看表决"));
      } else if (notice.kind === "campaign" && notice.survey_id) {
        item.appendChild(linkButton("#/surveys/" + notice.survey_id, "查看问卷"));
      } else if (notice.page_url) {
        item.appendChild(linkButton(notice.page_url, "查看全文"));
      }
      return item;
    });
    $("board-list").replaceChildren(...items);
    $("board-empty").hidden = items.length > 0;
  }

  // --- landing: the project's progress (public: 改造进度) --------------------------------------

  var PHOTO_NAMES = { before: "改造前", after: "改造后" };

  function stepDates(step) {
    var parts = [];
    if (step.planned_start || step.planned_end) {
      parts.push("计划 " + (step.planned_start || "") + " 至 " + (step.planned_end || ""));
    }
    if (step.actual_end) parts.push("完成于 " + step.actual_end);
    else if (step.actual_start) parts.push("开始于 " + step.actual_start);
    return parts.join("；");
  }

  async function loadProgress() {
    if (compoundId === null) return;
    var progress;
    try {
      progress = await send("GET", "public/compounds/" + compoundId + "/project-progress");
    } catch (error) {
      return; // no project yet (404), or the network: the board goes on without it
    }
    $("progress-name").textContent = progress.year + "年 " + progress.title;
    var steps = progress.steps.map(function (step, index) {
      var item = el("li", "progress-step progress-" + step.status);
      if (step.step === progress.current_step) item.setAttribute("aria-current", "step");
      item.appendChild(el("span", "progress-label", index + 1 + ". " + step.label));
      item.appendChild(el("span", "badge" + (step.status === "done" ? " badge-quiet" : ""),
        step.status_label));
      var dates = stepDates(step);
      if (dates) item.appendChild(el("span", "item-meta", dates));
      if (step.organisation) item.appendChild(el("span", "item-meta", "责任单位：" + step.organisation));
      return item;
    });
    $("progress-steps").replaceChildren(...steps);
    var sources = progress.funding.sources.map(function (source) {
      var item = el("li");
      item.appendChild(el("span", "item-label", source.label + " " + source.amount + " 元"));
      return item;
    });
    if (sources.length) {
      var total = el("li");
      total.appendChild(el("span", "item-label", "合计 " + progress.funding.funded_total + " 元"));
      sources.push(total);
    }
    $("progress-sources").replaceChildren(...sources);
    $("progress-money").hidden = sources.length === 0;
    var photos = progress.photos.map(function (photo) {
      var item = el("li");
      item.appendChild(linkButton(photo.url, (PHOTO_NAMES[photo.photo] || "照片") + "：" + photo.name));
      return item;
    });
    $("progress-photos").replaceChildren(...photos);
    $("progress-photos-block").hidden = photos.length === 0;
    var plan = progress.plan_consultation;
    $("progress-plan").hidden = !plan;
    if (plan) {
      $("progress-plan-link").href = "#/plan/" + plan.id;
      $("progress-plan-text").textContent = plan.open
        ? "设计方案正在征求意见，截止到 " + formatTime(plan.closes_at) + "。"
        : plan.summary_published_at
          ? "设计方案征求意见已结束，意见处理情况已公示。"
          : "设计方案征求意见时间：" + formatTime(plan.opens_at) + " 至 " + formatTime(plan.closes_at) + "。";
    }
    $("progress").hidden = false;
  }

  async function loadMyVotes(profile) {
    if (profile && profile.kind !== "resident") return; // staff vote in no compound
    var votes, surveys, held;
    try {
      var lists = await Promise.all([
        authed("GET", "me/votes?page_size=100"),
        authed("GET", "me/surveys?page_size=100"),
        authed("GET", "proxies?page_size=100"),
      ]);
      votes = lists[0];
      held = heldProxyItems(lists[2]);
      surveys = lists[1].filter(function (s) {
        return compoundId === null || s.compound_id === compoundId;
      });
    } catch (error) {
      if (error.handled) return;
      $("my-votes").hidden = false;
      setStatus($("home-status"), "表决和问卷加载失败：" + error.message, "error");
      return;
    }
    var here = votes.filter(function (v) {
      return compoundId === null || v.compound_id === compoundId;
    });
    var open = here.filter(function (v) {
      return v.eligible && v.status === "open";
    });
    var done = here.filter(function (v) {
      return ["closed", "published", "final"].indexOf(v.status) >= 0;
    });
    $("open-votes").replaceChildren(
      ...open.map(function (vote) {
        var item = el("li");
        var label = el("span", "item-label", vote.title);
        label.appendChild(document.createTextNode(" "));
        label.appendChild(el("span", "badge", vote.has_voted ? "已投票" : "未投票"));
        item.appendChild(label);
        item.appendChild(el("span", "item-meta", vote.accepting_casts ? deadlineText(vote)
          : "开始时间：" + formatTime(vote.opens_at)));
        item.appendChild(
          linkButton("#/votes/" + vote.id, vote.has_voted ? "查看或修改投票" : "去投票", "link-button primary")
        );
        return item;
      })
    );
    $("done-votes").replaceChildren(
      ...done.map(function (vote) {
        var item = el("li");
        item.appendChild(el("span", "item-label", vote.title));
        var passed = vote.decision ? vote.decision.passed : null;
        item.appendChild(
          el("span", "item-meta", voteStateName(vote) +
            (passed === true ? "：通过" : passed === false ? "：未通过" : ""))
        );
        if (vote.status === "published" || vote.status === "final") {
          item.appendChild(linkButton(noticePage(vote.id), "查看结果公示"));
        } else {
          item.appendChild(linkButton("#/votes/" + vote.id, "查看结果"));
        }
        return item;
      })
    );
    var surveyList = surveyItems(surveys);
    $("open-surveys").replaceChildren(...surveyList);
    $("my-surveys-block").hidden = surveyList.length === 0;
    $("held-proxies").replaceChildren(...held);
    $("held-proxies-block").hidden = held.length === 0;
    $("no-open-votes").hidden = open.length > 0 || surveyList.length > 0 || held.length > 0;
    $("done-votes-block").hidden = done.length === 0;
    $("my-votes").hidden = false;
  }

  // --- the vote page ------------------------------------------------------------------------

  async function optional(promise, codes) {
    try {
      return await promise;
    } catch (error) {
      if (error instanceof ApiError && codes.indexOf(error.status) >= 0) return null;
      throw error;
    }
  }

  async function showVote(voteId, focus) {
    show("vote");
    ["vote-body", "vote-share", "vote-progress", "vote-result", "vote-cast", "vote-confirm",
      "vote-receipt", "vote-proxy"].forEach(function (id) {
      $(id).hidden = true;
    });
    $("vote-title").textContent = "表决";
    $("vote-state").textContent = "";
    setStatus($("vote-status"), "正在加载…", "wait");
    var state;
    try {
      var base = "votes/" + voteId;
      var answers = await Promise.all([
        authed("GET", base),
        authed("GET", base + "/my-ballots"),
        optional(authed("GET", base + "/my-share"), [403, 404]),
        optional(authed("GET", base + "/progress"), [409]),
      ]);
      state = { vote: answers[0], ballots: answers[1], share: answers[2], progress: answers[3] };
    } catch (error) {
      if (error.handled) return;
      setStatus(
        $("vote-status"),
        error.status === 404 ? "未找到这项表决，或您不在本表决的范围内。" : "加载失败：" + error.message,
        "error"
      );
      return;
    }
    var previous = voteState && voteState.vote.id === voteId ? voteState.personId : null;
    state.personId = previous || (state.ballots[0] ? state.ballots[0].person_id : null);
    voteState = state;
    setStatus($("vote-status"), "");
    renderVote();
    if (focus) focusHeading("vote-title");
    if (state.vote.status === "published" || state.vote.status === "final") {
      await loadObjections("votes", voteId, state.ballots.length > 0);
    }
    await loadGrantedProxies();
  }

  function renderVote() {
    var vote = voteState.vote;
    $("vote-title").textContent = vote.title;
    document.title = vote.title + " · 居民参与";
    $("vote-state").replaceChildren(el("span", "badge", voteStateName(vote)));
    $("vote-description").textContent = vote.description || "（没有补充说明）";
    $("vote-rule").textContent = RULE_WORDS[vote.rule] || "";
    $("vote-precedence").textContent = vote.precedence
      ? "同一户投了几次票时：" + vote.precedence
      : "";
    $("vote-deadline").textContent = formatTime(vote.closes_at) +
      (vote.accepting_casts ? "（截止前可以投票和修改）" : "");
    var materials = (vote.attachments || []).map(function (attachment) {
      var item = el("li");
      var button = el("button", "secondary", "查看材料：" + attachment.filename);
      button.type = "button";
      button.addEventListener("click", function () {
        downloadAttachment(attachment, button);
      });
      item.appendChild(button);
      return item;
    });
    $("vote-materials-list").replaceChildren(...materials);
    $("vote-materials").hidden = materials.length === 0;
    $("vote-body").hidden = false;
    renderShare();
    renderProgress();
    renderCast();
  }

  async function downloadAttachment(attachment, button) {
    var path = attachment.url.indexOf(API) === 0 ? attachment.url.slice(API.length) : attachment.url;
    button.disabled = true;
    try {
      var blob = await authed("GET", path, undefined, { blob: true });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = attachment.filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () {
        URL.revokeObjectURL(link.href);
      }, 60000);
    } catch (error) {
      if (!error.handled) setStatus($("vote-status"), "材料下载失败：" + error.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  /** "960000.00" → "960,000.00": money as the API sends it, grouped for reading. */
  function yuan(amount) {
    var parts = String(amount).split(".");
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (parts.length > 1 ? "." + parts[1] : "");
  }

  function renderShare() {
    var share = voteState.share;
    if (!share || !share.dwellings || share.dwellings.length === 0) {
      $("vote-share").hidden = true;
      return;
    }
    var basis = share.basis === "floor_coefficients" ? "按楼层系数和面积分摊" : "按房屋面积分摊";
    $("share-summary").textContent =
      "总费用 " + yuan(share.total_cost) + " 元，财政补贴 " + yuan(share.subsidy) + " 元，其余 " +
      yuan(share.residents_share) + " 元由业主" + basis + "。";
    $("share-list").replaceChildren(
      ...share.dwellings.map(function (d) {
        var item = el("li");
        item.appendChild(el("span", "item-compound", d.label));
        item.appendChild(el("span", "item-label share-amount", "我家应出 " + yuan(d.share) + " 元"));
        var meta = ["面积 " + d.area + " m²", d.floor + " 层"];
        if (d.coefficient !== null && d.coefficient !== undefined) meta.push("楼层系数 " + d.coefficient);
        var metaNode = el("span", "item-meta");
        meta.forEach(function (part) {
          metaNode.appendChild(el("span", null, part));
        });
        item.appendChild(metaNode);
        return item;
      })
    );
    $("vote-share").hidden = false;
  }

  function percent(ratio) {
    return ratio && ratio.percent !== null && ratio.percent !== undefined ? ratio.percent + "%" : "—";
  }

  function renderProgress() {
    var vote = voteState.vote;
    var progress = voteState.progress;
    $("vote-progress").hidden = true;
    $("vote-result").hidden = true;
    if (!progress) return;
    if (!progress.result) {
      var count = progress.participation.count;
      $("progress-text").textContent =
        "已有 " + progress.p_cnt + " 户参加表决，本次共 " + progress.t_cnt + " 户（按人数 " +
        percent(count) + "，按面积 " + percent(progress.participation.area) +
        "）。要达到三分之二以上才有效。";
      var width = Math.min(100, Number(count.percent) || 0);
      $("progress-bar").style.width = width + "%";
      $("vote-progress").hidden = false;
      return;
    }
    var result = progress.result;
    var decision = progress.decision || {};
    var passed = decision.passed !== undefined && decision.passed !== null ? decision.passed : result.passed;
    var text =
      (passed ? "表决通过。" : "表决未通过。") +
      "本次共 " + result.t_cnt + " 户，参加 " + result.p_cnt + " 户，其中同意 " + result.y_cnt + " 户。";
    if (!result.quorum_met) text += "参加表决的人数或面积没有达到三分之二。";
    $("result-text").textContent = text;
    var published = vote.status === "published" || vote.status === "final";
    $("result-notice-line").hidden = !published;
    $("result-notice").href = noticePage(vote.id);
    $("vote-result").hidden = false;
  }

  function selectedBallot() {
    var id = voteState.personId;
    return voteState.ballots.filter(function (b) {
      return b.person_id === id;
    })[0] || null;
  }

  function renderCast() {
    var vote = voteState.vote;
    var ballots = voteState.ballots;
    $("vote-confirm").hidden = true;
    $("vote-receipt").hidden = true;
    if (ballots.length === 0) {
      $("vote-cast").hidden = !vote.accepting_casts;
      $("cast-mine").textContent = "您不是本表决范围内的业主，不能投票。";
      $("person-choice").hidden = true;
      $("cast-buttons").hidden = true;
      return;
    }
    var options = ballots.map(function (ballot) {
      var label = el("label", "choice");
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "vote-person";
      input.value = String(ballot.person_id);
      input.checked = ballot.person_id === voteState.personId;
      input.addEventListener("change", function () {
        voteState.personId = ballot.person_id;
        renderMine();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + ballot.dwellings));
      return label;
    });
    $("person-options").replaceChildren(...options);
    $("person-choice").hidden = ballots.length < 2 || !vote.accepting_casts;
    $("cast-buttons").hidden = !vote.accepting_casts;
    $("cast-note").hidden = !vote.accepting_casts;
    renderMine();
    $("vote-cast").hidden = false;
  }

  function renderMine() {
    var ballot = selectedBallot();
    var vote = voteState.vote;
    var proxy = voteState.proxy;
    var text;
    if (proxy) {
      text = "您受 " + proxy.owner_name + " 委托，为 " + proxy.dwellings + " 代投。" +
        (ballot.choice ? "您已代投「" + CHOICE_NAMES[ballot.choice] + "」，回执码 " + ballot.receipt + "。" : "") +
        (vote.accepting_casts ? "请选择：" : "");
    } else if (!ballot || !ballot.choice) {
      text = vote.accepting_casts
        ? "您还没有为 " + (ballot ? ballot.dwellings : "") + " 投票。请选择："
        : "您没有投票。";
    } else {
      text =
        "您为 " + ballot.dwellings + " 投的是「" + CHOICE_NAMES[ballot.choice] + "」（" +
        (CHANNEL_NAMES[ballot.channel] || "") + "，" + formatTime(ballot.cast_at) + "）" +
        (ballot.receipt ? "，回执码 " + ballot.receipt : "") + "。" +
        (vote.accepting_casts ? "如需修改，请重新选择：" : "");
    }
    $("cast-mine").textContent = text;
  }

  function askToConfirm(choice) {
    var ballot = selectedBallot();
    if (!ballot) return;
    var same = pendingCast && pendingCast.personId === ballot.person_id && pendingCast.choice === choice;
    var proxyId = voteState.proxy ? voteState.proxy.id : null;
    if (!same || pendingCast.proxyId !== proxyId) {
      pendingCast = { voteId: voteState.vote.id, personId: ballot.person_id, proxyId: proxyId,
        choice: choice, key: null };
    }
    $("confirm-text").textContent =
      (proxyId ? "您将代 " + voteState.proxy.owner_name + " " : "您将") +
      "为 " + ballot.dwellings + " 投「" + CHOICE_NAMES[choice] + "」。" +
      (ballot.choice ? "这会替换您之前投的「" + CHOICE_NAMES[ballot.choice] + "」，以最后一次为准。" : "") +
      "截止前还可以修改。";
    $("confirm-cast").textContent = "确认投「" + CHOICE_NAMES[choice] + "」";
    $("confirm-cast").disabled = false;
    $("cancel-cast").disabled = false;
    setStatus($("cast-progress"), "");
    $("vote-cast").hidden = true;
    $("vote-confirm").hidden = false;
    focusHeading("confirm-title");
  }

  function cancelCast() {
    pendingCast = null;
    $("vote-confirm").hidden = true;
    $("vote-cast").hidden = false;
    focusHeading("cast-title");
  }

  function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      })
      .join("");
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, ms);
    });
  }

  function isTransient(error) {
    return error instanceof ApiError && (error.status === 0 || error.status >= 500);
  }

  /** POSTs ``body`` with the intent's Idempotency-Key, made once and sent again on every
   * retry, so what reached the server before the network dropped is not applied twice.
   * Throws the API's refusal (a new attempt will be a new request), or ``lost`` after the
   * last retry (the key is kept: trying again later is still safe). */
  async function postWithRetries(path, body, intent, status) {
    if (!intent.key) intent.key = newIdempotencyKey();
    for (var attempt = 0; ; attempt += 1) {
      try {
        return await authed("POST", path, body, { headers: { "Idempotency-Key": intent.key } });
      } catch (error) {
        if (error.handled) throw error;
        if (isTransient(error) && attempt < RETRY_DELAYS.length) {
          setStatus(status, "网络中断，正在重试（第 " + (attempt + 1) + " 次）…", "wait");
          await sleep(RETRY_DELAYS[attempt]);
          continue;
        }
        if (isTransient(error)) error.lost = true;
        else intent.key = null;
        throw error;
      }
    }
  }

  /** Casts the confirmed intent (one intent, one Idempotency-Key). */
  async function submitCast() {
    var intent = pendingCast;
    if (!intent) return;
    var status = $("cast-progress");
    $("confirm-cast").disabled = true;
    $("cancel-cast").disabled = true;
    setStatus(status, "已提交，正在等待确认…", "wait");
    var path = intent.proxyId
      ? "proxies/" + intent.proxyId + "/ballots"
      : "votes/" + intent.voteId + "/ballots";
    var body = intent.proxyId ? { choice: intent.choice } : { choice: intent.choice, person_id: intent.personId };
    var answer;
    try {
      answer = await postWithRetries(path, body, intent, status);
    } catch (error) {
      if (error.handled) return;
      $("confirm-cast").disabled = false;
      $("cancel-cast").disabled = false;
      setStatus(status, error.lost
        ? "网络中断，投票可能还没有提交成功。请检查网络后再点「确认」，不会重复计票。"
        : messageOf(error), "error");
      return;
    }
    pendingCast = null;
    showCastReceipt(answer);
    if (intent.proxyId) {
      Object.assign(voteState.ballots[0], { choice: answer.choice, receipt: answer.receipt });
      renderMine();
    } else {
      refreshAfterCast(intent.voteId);
    }
  }

  function showCastReceipt(answer) {
    var text =
      "已确认：您为 " + answer.dwellings + " 投了「" + CHOICE_NAMES[answer.choice] + "」（" +
      formatTime(answer.cast_at) + "）。";
    if (answer.replaced) text += "这次投票替换了您之前的投票，以最后一次为准。";
    if (answer.replayed) text += "网络中断前这张选票已经提交成功，没有重复计票。";
    text += "表决编号 " + voteState.vote.id + "。";
    setStatus($("receipt-text"), text, "ok");
    $("receipt-code").textContent = answer.receipt;
    $("receipt-check").href = "#/receipt/" + voteState.vote.id + "/" + answer.receipt;
    $("vote-confirm").hidden = true;
    $("vote-cast").hidden = true;
    $("vote-receipt").hidden = false;
    focusHeading("receipt-title");
  }

  async function refreshAfterCast(voteId) {
    try {
      var base = "votes/" + voteId;
      var answers = await Promise.all([
        authed("GET", base + "/my-ballots"),
        optional(authed("GET", base + "/progress"), [409]),
      ]);
      if (!voteState || voteState.vote.id !== voteId) return;
      voteState.ballots = answers[0];
      voteState.progress = answers[1];
      renderProgress();
      renderMine();
    } catch (e) {
      /* the receipt is shown; the figures catch up on the next visit */
    }
  }

  function castAgain() {
    $("vote-receipt").hidden = true;
    renderCast();
    focusHeading("cast-title");
  }

  // =========================================================================================
  // --- surveys: consent, menu, satisfaction and other questions; objections on 公示 ---------
  // The rest of the page calls showSurvey(), loadObjections(), clearSurveyData(),
  // surveyItems() and startSurveys().
  // =========================================================================================

  var SURVEY_STATUS_NAMES = {
    draft: "尚未开始",
    open: "正在进行",
    closed: "已截止",
    published: "结果公示中",
    final: "结果已确定",
    cancelled: "已取消",
  };
  var CONSENT_RULE_WORDS = {
    count: "同意改造的业主人数达到本次范围全体业主的三分之二以上（含三分之二），本小区才申请改造。没有回答的不算同意。",
    area: "同意改造的业主房屋面积达到本次范围房屋总面积的三分之二以上（含三分之二），本小区才申请改造。没有回答的不算同意。",
    both: "同意改造的业主人数和房屋面积都要达到本次范围的三分之二以上（含三分之二），本小区才申请改造。没有回答的不算同意。",
  };
  var TIER_NOTES = {
    basic: "基础类项目应改尽改，都会实施；您的选择决定先做哪些。",
    improvement: "完善类项目，选择的人超过一定比例才实施。",
    enhancement: "提升类项目，选择的人超过一定比例才实施。",
  };
  var TEXT_LIMIT = 1000;

  var surveyState = null; // {survey, mine: [my-response entries], slot, dwellingId}
  var pendingAnswer = null; // {surveyId, key, signature}: one submitted form, one key
  var drafts = {}; // survey id → {question id: {option_ids | text}}: what the resident filled in

  function surveyStateName(survey) {
    if (survey.status === "open" && !survey.accepting_responses) {
      return survey.opens_at && Date.parse(survey.opens_at) > Date.now() ? "尚未开始" : "已截止";
    }
    return SURVEY_STATUS_NAMES[survey.status] || survey.status;
  }

  /** Drafts and the objection form stay (``clearForms`` empties them). */
  function clearSurveyData() {
    surveyState = null;
    pendingAnswer = null;
    $("open-surveys").replaceChildren();
    $("my-surveys-block").hidden = true;
    $("survey-questions").replaceChildren();
    $("respondent-options").replaceChildren();
    $("done-answers").replaceChildren();
    $("closed-answers").replaceChildren();
    $("my-objections").replaceChildren();
    objectionTarget = null;
  }

  /** The landing page's list items for my surveys in this compound (open ones first). */
  function surveyItems(surveys) {
    var shown = surveys.filter(function (s) {
      return s.eligible && ["open", "published", "final"].indexOf(s.status) >= 0;
    });
    shown.sort(function (a, b) {
      return Number(b.accepting_responses) - Number(a.accepting_responses);
    });
    return shown.map(function (survey) {
      var item = el("li");
      var label = el("span", "item-label", survey.title);
      label.appendChild(document.createTextNode(" "));
      label.appendChild(
        el("span", "badge", survey.accepting_responses
          ? (survey.answered ? "已回答" : "未回答")
          : surveyStateName(survey))
      );
      item.appendChild(label);
      if (survey.accepting_responses) {
        item.appendChild(el("span", "item-meta", deadlineText(survey)));
        item.appendChild(linkButton("#/surveys/" + survey.id,
          survey.answered ? "查看或修改回答" : "去回答", "link-button primary"));
      } else if (survey.status === "published" || survey.status === "final") {
        item.appendChild(linkButton("/notices/surveys/" + survey.id, "查看结果公示"));
      } else {
        item.appendChild(linkButton("#/surveys/" + survey.id, "查看"));
      }
      return item;
    });
  }

  // --- the survey page ----------------------------------------------------------------------

  async function showSurvey(surveyId, focus) {
    show("survey");
    ["survey-body", "survey-answer", "survey-done", "survey-closed"].forEach(function (id) {
      $(id).hidden = true;
    });
    $("survey-title").textContent = "问卷";
    $("survey-state").textContent = "";
    setStatus($("survey-status"), "正在加载…", "wait");
    var answers;
    try {
      var base = "surveys/" + surveyId;
      answers = await Promise.all([authed("GET", base), authed("GET", base + "/my-response")]);
    } catch (error) {
      if (error.handled) return;
      setStatus(
        $("survey-status"),
        error.status === 404 ? "未找到这份问卷，或您不在本问卷的范围内。" : "加载失败：" + error.message,
        "error"
      );
      return;
    }
    var previous = surveyState && surveyState.survey.id === surveyId ? surveyState : null;
    surveyState = {
      survey: answers[0],
      mine: answers[1],
      slot: previous ? Math.min(previous.slot, Math.max(answers[1].length - 1, 0)) : 0,
      dwellingId: previous ? previous.dwellingId : null,
    };
    setStatus($("survey-status"), "");
    renderSurvey();
    if (focus) focusHeading("survey-title");
    var survey = surveyState.survey;
    if (survey.status === "published" || survey.status === "final") {
      await loadObjections("surveys", survey.id, survey.basis === "owner" && answers[1].length > 0);
    }
  }

  function renderSurvey() {
    var survey = surveyState.survey;
    $("survey-title").textContent = survey.title;
    document.title = survey.title + " · 居民参与";
    $("survey-state").replaceChildren(el("span", "badge", surveyStateName(survey)));
    $("survey-description").textContent = survey.description || "";
    var consent = survey.kind === "consent";
    $("survey-rule").textContent = consent ? CONSENT_RULE_WORDS[survey.consent_basis] || "" : "";
    $("survey-rule-block").hidden = !consent;
    $("survey-deadline").textContent = formatTime(survey.closes_at) +
      (survey.accepting_responses ? "（截止前可以修改回答）" : "");
    $("survey-privacy").textContent =
      (survey.basis === "owner"
        ? "每户业主回答一份，共有人中任何一位回答都可以。"
        : "本小区的居民（包括租户）每人回答一份。") +
      (survey.anonymous ? "本问卷不记录是谁回答的，只统计答案。" : "结果公示时不显示个人信息。");
    $("survey-body").hidden = false;
    $("survey-done").hidden = true;
    if (!survey.accepting_responses) {
      renderSurveyClosed();
      return;
    }
    renderAnswerForm();
  }

  function currentEntry() {
    return surveyState.mine[surveyState.slot] || null;
  }

  function renderSurveyClosed() {
    var survey = surveyState.survey;
    $("survey-answer").hidden = true;
    var entry = currentEntry();
    var text = survey.status === "open" && survey.opens_at && Date.parse(survey.opens_at) > Date.now()
      ? "问卷将于 " + formatTime(survey.opens_at) + " 开始。"
      : "问卷已于 " + formatTime(survey.closes_at) + " 截止，不再接受回答。";
    if (entry && entry.answered) {
      text += "您在 " + formatTime(entry.submitted_at) + " 提交的回答已计入：";
    } else if (entry) {
      text += "您没有回答。";
    }
    $("closed-text").textContent = text;
    $("closed-answers").replaceChildren(...answerSummary(entry ? entry.answers : []));
    var published = survey.status === "published" || survey.status === "final";
    $("survey-notice-line").hidden = !published;
    $("survey-notice").href = "/notices/surveys/" + survey.id;
    $("survey-closed").hidden = false;
  }

  /** The form with one fieldset per question, filled with my draft or my current answers. */
  function renderAnswerForm() {
    var survey = surveyState.survey;
    var mine = surveyState.mine;
    $("survey-answer").hidden = false;
    $("answer-progress").textContent = "";
    if (mine.length === 0) {
      $("survey-mine").textContent = survey.basis === "owner"
        ? "您不是本问卷范围内的业主，不能回答。"
        : "您在本问卷范围内没有登记的房屋，不能回答。";
      $("survey-form").hidden = true;
      return;
    }
    $("survey-form").hidden = false;
    renderRespondents();
    var entry = currentEntry();
    $("survey-mine").textContent = entry.answered
      ? "您已在 " + formatTime(entry.submitted_at) + " 为 " + entry.dwellings +
        " 回答过，下面是您现在的回答。再次提交会替换之前的回答，以最后一次为准。"
      : "请为 " + entry.dwellings + " 回答下面的问题，标有「必答」的一定要回答。";
    var filled = drafts[draftKey()] || storedAnswers(entry.answers);
    $("survey-questions").replaceChildren(
      ...survey.questions.map(function (question, index) {
        return questionField(question, index + 1, filled[question.id] || {});
      })
    );
    updateMenuTotal();
    $("submit-answer").textContent = entry.answered ? "提交并替换之前的回答" : "提交";
    $("submit-answer").disabled = false;
  }

  function draftKey() {
    var entry = currentEntry();
    return surveyState.survey.id + ":" + (entry && entry.person_id ? entry.person_id : "me");
  }

  function storedAnswers(answers) {
    var filled = {};
    (answers || []).forEach(function (answer) {
      filled[answer.question_id] = answer;
    });
    return filled;
  }

  function renderRespondents() {
    var survey = surveyState.survey;
    var mine = surveyState.mine;
    var choices;
    if (survey.basis === "owner") {
      $("respondent-legend").textContent = "为哪一户作答";
      choices = mine.map(function (entry, index) {
        return { value: String(index), label: entry.dwellings, checked: index === surveyState.slot };
      });
    } else {
      $("respondent-legend").textContent = "按哪一处房屋作答";
      var dwellings = mine[0].dwelling_choices || [];
      if (dwellings.length && !dwellings.some(function (d) {
        return d.dwelling_id === surveyState.dwellingId;
      })) {
        surveyState.dwellingId = dwellings[0].dwelling_id;
      }
      choices = dwellings.map(function (d) {
        return { value: String(d.dwelling_id), label: d.dwellings, checked: d.dwelling_id === surveyState.dwellingId };
      });
    }
    $("respondent-options").replaceChildren(
      ...choices.map(function (choice) {
        var label = el("label", "choice");
        var input = document.createElement("input");
        input.type = "radio";
        input.name = "respondent";
        input.value = choice.value;
        input.checked = choice.checked;
        input.addEventListener("change", function () {
          if (survey.basis === "owner") {
            surveyState.slot = Number(choice.value);
            renderAnswerForm();
          } else {
            surveyState.dwellingId = Number(choice.value);
          }
        });
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + choice.label));
        return label;
      })
    );
    $("respondent-choice").hidden = choices.length < 2;
  }

  function menuItemsByOption() {
    var details = surveyState.survey.details || {};
    var byOption = {};
    (details.tiers || []).forEach(function (tier) {
      tier.items.forEach(function (item) {
        byOption[item.option_id] = { item: item, tier: tier };
      });
    });
    return byOption;
  }

  function choiceRange(question) {
    var survey = surveyState.survey;
    if (question.type === "menu") return [survey.menu_min_items || 0, survey.menu_max_items || question.options.length];
    if (question.type === "multiple") return [question.min_choices || 0, question.max_choices || question.options.length];
    return [1, 1];
  }

  function rangeHint(question) {
    var range = choiceRange(question);
    if (range[0] && range[1] && range[0] === range[1]) return "请选 " + range[0] + " 项。";
    if (range[0] > 1) return "至少选 " + range[0] + " 项，最多选 " + range[1] + " 项。";
    return "可以多选，最多选 " + range[1] + " 项。";
  }

  function questionField(question, number, filled) {
    var id = "q" + question.id;
    var set = el("fieldset", "field question");
    set.id = id;
    set.setAttribute("data-question", String(question.id));
    var legend = el("legend", null, number + ". " + question.text + " ");
    legend.appendChild(el("span", "badge" + (question.required ? "" : " badge-quiet"), question.required ? "必答" : "选填"));
    set.appendChild(legend);
    var error = el("p", "field-error");
    error.id = id + "-error";
    error.hidden = true;
    var chosen = filled.option_ids || [];
    if (question.type === "text") {
      var area = document.createElement("textarea");
      area.id = id + "-text";
      area.rows = 4;
      area.maxLength = TEXT_LIMIT;
      area.value = filled.text || "";
      area.setAttribute("aria-labelledby", id + "-legend");
      legend.id = id + "-legend";
      var counter = el("p", "hint");
      counter.id = id + "-count";
      area.setAttribute("aria-describedby", counter.id + " " + error.id);
      var count = function () {
        counter.textContent = "还可以写 " + (TEXT_LIMIT - area.value.length) + " 字";
      };
      area.addEventListener("input", function () {
        count();
        saveDraft();
      });
      count();
      set.appendChild(area);
      set.appendChild(counter);
    } else if (question.type === "rating") {
      var low = question.scale_min || 1;
      var high = question.scale_max || 5;
      set.appendChild(el("p", "hint", low + " 分最低，" + high + " 分最高。"));
      var row = el("div", "choices");
      for (var score = low; score <= high; score += 1) {
        row.appendChild(choiceInput("radio", id, String(score), score + " 分", filled.rating === score));
      }
      set.appendChild(row);
    } else if (question.type === "menu") {
      set.classList.add("menu");
      set.appendChild(el("p", "hint", rangeHint(question)));
      var byOption = menuItemsByOption();
      var tiers = [];
      question.options.forEach(function (option) {
        var found = byOption[option.id];
        var tier = found ? found.tier : { tier: "other", label: "其他" };
        var group = tiers.filter(function (t) {
          return t.tier === tier.tier;
        })[0];
        if (!group) {
          group = { tier: tier.tier, label: tier.label, options: [] };
          tiers.push(group);
        }
        group.options.push({ option: option, item: found ? found.item : null });
      });
      tiers.forEach(function (group) {
        var block = el("div", "menu-tier");
        block.appendChild(el("p", "menu-tier-title", group.label));
        if (TIER_NOTES[group.tier]) block.appendChild(el("p", "hint", TIER_NOTES[group.tier]));
        group.options.forEach(function (entry) {
          block.appendChild(menuChoice(id, entry.option, entry.item, chosen.indexOf(entry.option.id) >= 0));
        });
        set.appendChild(block);
      });
      var total = el("p", "menu-total");
      total.id = "menu-total";
      total.setAttribute("aria-live", "polite");
      set.appendChild(total);
    } else {
      var multiple = question.type === "multiple";
      if (multiple) set.appendChild(el("p", "hint", rangeHint(question)));
      var options = el("div", "choices" + (question.type === "consent" ? " consent" : ""));
      question.options.forEach(function (option) {
        options.appendChild(choiceInput(multiple ? "checkbox" : "radio", id, String(option.id),
          option.label, chosen.indexOf(option.id) >= 0));
      });
      set.appendChild(options);
    }
    set.appendChild(error);
    // A corrected answer loses its message at once (the next submit checks it again).
    var settle = function () {
      error.hidden = true;
      error.textContent = "";
      set.removeAttribute("aria-invalid");
    };
    set.addEventListener("change", settle);
    set.addEventListener("input", settle);
    return set;
  }

  function choiceInput(type, name, value, text, checked) {
    var label = el("label", "choice");
    var input = document.createElement("input");
    input.type = type;
    input.name = name;
    input.value = value;
    input.checked = checked;
    input.addEventListener("change", saveDraft);
    label.appendChild(input);
    label.appendChild(document.createTextNode(" " + text));
    return label;
  }

  function menuChoice(name, option, item, checked) {
    var label = el("label", "choice menu-item");
    var input = document.createElement("input");
    input.type = "checkbox";
    input.name = name;
    input.value = String(option.id);
    input.checked = checked;
    input.addEventListener("change", function () {
      saveDraft();
      updateMenuTotal();
    });
    label.appendChild(input);
    var text = el("span", "menu-text");
    text.appendChild(el("span", "menu-name", option.label));
    if (item) {
      if (item.description) text.appendChild(el("span", "menu-meta", item.description));
      var cost = Number(item.my_cost);
      text.appendChild(el("span", "menu-cost", item.my_cost === null || item.my_cost === undefined
        ? "居民共出 " + yuan(item.residents_part) + " 元"
        : cost > 0 ? "我家约出 " + yuan(item.my_cost) + " 元" : "我家不用出钱"));
      text.appendChild(el("span", "menu-meta", "总投资 " + yuan(item.estimated_cost) + " 元" +
        (item.per_household ? "，每户固定 " + yuan(item.per_household) + " 元" : "")));
    }
    label.appendChild(text);
    return label;
  }

  /** Fen arithmetic on the API's "1234.56" amounts. */
  function fen(amount) {
    var parts = String(amount || "0").split(".");
    return Number(parts[0]) * 100 + Number(((parts[1] || "") + "00").slice(0, 2));
  }

  function updateMenuTotal() {
    var total = $("menu-total");
    if (!total) return;
    var byOption = menuItemsByOption();
    var picked = Array.prototype.slice.call(
      document.querySelectorAll("#survey-questions .menu input:checked"));
    var sum = 0;
    var known = true;
    picked.forEach(function (input) {
      var found = byOption[Number(input.value)];
      if (found && found.item.my_cost !== null && found.item.my_cost !== undefined) sum += fen(found.item.my_cost);
      else known = false;
    });
    var money = (Math.floor(sum / 100)) + "." + String(sum % 100).padStart(2, "0");
    var details = surveyState.survey.details || {};
    total.textContent = "已选 " + picked.length + " 项" +
      (known && picked.length ? "，这些项目我家合计约出 " + yuan(money) + " 元" : "") + "。" +
      (details.budget_cap ? "本小区改造预算上限 " + yuan(details.budget_cap) + " 元，超出预算的项目可能不实施。" : "");
  }

  // --- answers ------------------------------------------------------------------------------

  /** {question id: answer} as the form holds it now; unanswered questions are left out. */
  function formAnswers() {
    var answers = {};
    surveyState.survey.questions.forEach(function (question) {
      var id = "q" + question.id;
      if (question.type === "text") {
        var text = $(id + "-text").value;
        if (text.trim()) answers[question.id] = { question_id: question.id, text: text };
        return;
      }
      var checked = Array.prototype.slice.call(
        document.querySelectorAll('#' + id + ' input[name="' + id + '"]:checked'));
      if (!checked.length) return;
      if (question.type === "rating") {
        answers[question.id] = { question_id: question.id, rating: Number(checked[0].value) };
      } else {
        answers[question.id] = {
          question_id: question.id,
          option_ids: checked.map(function (input) {
            return Number(input.value);
          }),
        };
      }
    });
    return answers;
  }

  function saveDraft() {
    if (surveyState) drafts[draftKey()] = formAnswers();
  }

  function questionError(questionId, text) {
    var error = $("q" + questionId + "-error");
    if (!error) return null;
    error.textContent = text;
    error.hidden = false;
    $("q" + questionId).setAttribute("aria-invalid", "true");
    return $("q" + questionId);
  }

  /** The error summary at the top of the form (GOV.UK's pattern): one link per question,
   * each moving to its question; focus goes to the summary. ``problems``: [question id, text]. */
  function showErrorSummary(problems) {
    var numbers = {};
    surveyState.survey.questions.forEach(function (question, index) {
      numbers[question.id] = index + 1;
    });
    $("answer-error-list").replaceChildren(
      ...problems.map(function (problem) {
        var item = el("li");
        var link = el("a", null, "第 " + numbers[problem[0]] + " 题：" + problem[1]);
        link.href = "#q" + problem[0];
        link.addEventListener("click", function (event) {
          event.preventDefault(); // the address's fragment is the page's route
          var set = $("q" + problem[0]);
          set.scrollIntoView({ block: "center" });
          var control = set.querySelector("input, textarea");
          if (control) control.focus({ preventScroll: true });
        });
        item.appendChild(link);
        return item;
      })
    );
    $("answer-errors").hidden = problems.length === 0;
    if (problems.length) {
      $("answer-errors").scrollIntoView({ block: "start" });
      $("answer-errors").focus({ preventScroll: true });
    }
  }

  function clearQuestionErrors() {
    $("answer-errors").hidden = true;
    $("answer-error-list").replaceChildren();
    document.querySelectorAll("#survey-questions .field-error").forEach(function (node) {
      node.textContent = "";
      node.hidden = true;
    });
    document.querySelectorAll("#survey-questions [aria-invalid]").forEach(function (node) {
      node.removeAttribute("aria-invalid");
    });
  }

  /** The checks the server makes, said next to each question before anything is sent. */
  function checkAnswers(answers) {
    var problems = [];
    surveyState.survey.questions.forEach(function (question) {
      var answer = answers[question.id];
      var problem = null;
      if (!answer) {
        if (question.required) problem = "请回答这道题";
      } else if (answer.option_ids && (question.type === "menu" || question.type === "multiple")) {
        var range = choiceRange(question);
        if (answer.option_ids.length < range[0]) problem = "这道题至少选 " + range[0] + " 项";
        if (answer.option_ids.length > range[1]) problem = "这道题最多选 " + range[1] + " 项，您选了 " + answer.option_ids.length + " 项";
      } else if (answer.text && answer.text.length > TEXT_LIMIT) {
        problem = "最多写 " + TEXT_LIMIT + " 字";
      }
      if (problem) {
        questionError(question.id, problem);
        problems.push([question.id, problem]);
      }
    });
    return problems;
  }

  async function submitAnswer(event) {
    event.preventDefault();
    var survey = surveyState.survey;
    var entry = currentEntry();
    var status = $("answer-progress");
    clearQuestionErrors();
    setStatus(status, "");
    var answers = formAnswers();
    var problems = checkAnswers(answers);
    if (problems.length) {
      showErrorSummary(problems);
      return;
    }
    var body = { answers: Object.keys(answers).map(function (id) {
      return answers[id];
    }) };
    if (survey.basis === "owner" && surveyState.mine.length > 1) body.person_id = entry.person_id;
    if (survey.basis === "resident" && surveyState.dwellingId) body.dwelling_id = surveyState.dwellingId;
    var signature = JSON.stringify(body);
    if (!pendingAnswer || pendingAnswer.surveyId !== survey.id || pendingAnswer.signature !== signature) {
      pendingAnswer = { surveyId: survey.id, signature: signature, key: null };
    }
    var intent = pendingAnswer;
    $("submit-answer").disabled = true;
    setStatus(status, "已提交，正在等待确认…", "wait");
    var answer;
    try {
      answer = await postWithRetries("surveys/" + survey.id + "/responses", body, intent, status);
    } catch (error) {
      $("submit-answer").disabled = false;
      if (error.handled) return;
      if (error.lost) {
        setStatus(status, "网络中断，回答可能还没有提交成功。请检查网络后再点「提交」，不会重复计算。", "error");
        return;
      }
      var refused = [];
      if (error.status === 422 && error.errors) {
        Object.keys(error.errors).forEach(function (key) {
          var problem = [].concat(error.errors[key])[0];
          if (questionError(key, String(problem))) refused.push([Number(key), String(problem)]);
        });
      }
      setStatus(status, messageOf(error), "error");
      if (refused.length) showErrorSummary(refused);
      if (error.status === 409) await showSurvey(survey.id, false); // closed meanwhile
      return;
    }
    pendingAnswer = null;
    delete drafts[draftKey()];
    showAnswered(answer);
    refreshMyResponse(survey.id);
  }

  function showAnswered(answer) {
    var text = "已收到您为 " + answer.dwellings + " 的回答（" + formatTime(answer.submitted_at) + "）。";
    if (answer.replaced) text += "这次回答替换了您之前的回答，以最后一次为准。";
    if (answer.replayed) text += "网络中断前这份回答已经提交成功，没有重复计算。";
    text += "截止前还可以修改。";
    setStatus($("done-text"), text, "ok");
    $("done-answers").replaceChildren(...answerSummary(answer.answers));
    $("survey-answer").hidden = true;
    $("survey-done").hidden = false;
    focusHeading("done-title");
  }

  /** "1. question：answer" lines for a list of stored answers. */
  function answerSummary(answers) {
    var questions = surveyState.survey.questions;
    var byQuestion = storedAnswers(answers);
    return questions.filter(function (q) {
      return byQuestion[q.id];
    }).map(function (question) {
      var answer = byQuestion[question.id];
      var text;
      if (question.type === "text") text = answer.text;
      else if (question.type === "rating") text = answer.rating + " 分";
      else {
        text = question.options.filter(function (o) {
          return (answer.option_ids || []).indexOf(o.id) >= 0;
        }).map(function (o) {
          return o.label;
        }).join("、");
      }
      var item = el("li");
      item.appendChild(el("span", "summary-question", question.position + ". " + question.text));
      item.appendChild(el("span", "summary-answer", text));
      return item;
    });
  }

  async function refreshMyResponse(surveyId) {
    try {
      var mine = await authed("GET", "surveys/" + surveyId + "/my-response");
      if (surveyState && surveyState.survey.id === surveyId) surveyState.mine = mine;
    } catch (e) {
      /* the confirmation is shown; the form catches up on the next visit */
    }
  }

  function answerAgain() {
    $("survey-done").hidden = true;
    renderAnswerForm();
    focusHeading("answer-title");
  }

  // --- objections to a result on 公示 (votes and surveys) -------------------------------------

  var objectionTarget = null; // {kind: "votes" | "surveys", id, canFile}
  var MAX_PHOTOS = 6;
  var MAX_PHOTO_BYTES = 10 * 1024 * 1024;
  var PHOTO_TYPES = ["image/jpeg", "image/png", "application/pdf"];
  var VERDICT_NAMES = { upheld: "异议成立", not_upheld: "异议不成立" };

  /** The objection block under a published vote or survey: my objections with their answers,
   * and during the objection period the form (owners in scope only). */
  async function loadObjections(kind, id, canFile) {
    objectionTarget = { kind: kind, id: id, canFile: canFile };
    $("objection").hidden = true;
    var found;
    try {
      found = await Promise.all([
        send("GET", "public/" + kind + "/" + id + "/notice"),
        authed("GET", kind + "/" + id + "/my-objections"),
      ]);
    } catch (error) {
      return; // the result is on the page; objections can be raised in writing as well
    }
    if (!objectionTarget || objectionTarget.id !== id || objectionTarget.kind !== kind) return;
    var notice = found[0];
    var mine = found[1];
    var open = !notice.final && Date.parse(notice.objection_until) > Date.now();
    $("objection-period").textContent = open
      ? "结果公示到 " + formatTime(notice.objection_until) + "。公示期内，本范围的业主可以对结果提出异议，居委会或业委会会在公示中答复。"
      : "公示期已于 " + formatTime(notice.objection_until) + " 结束。";
    $("my-objections").replaceChildren(...mine.map(objectionItem));
    $("show-objection").hidden = !(open && canFile);
    $("objection-form").hidden = true;
    $("show-objection").setAttribute("aria-expanded", "false");
    $("objection").hidden = !(open && canFile) && mine.length === 0;
  }

  function objectionItem(objection) {
    var item = el("li");
    item.appendChild(el("span", "item-compound", "我在 " + formatTime(objection.recorded_at) + " 提出的异议"));
    item.appendChild(el("span", "item-label", objection.summary));
    if (objection.photos && objection.photos.length) {
      item.appendChild(el("span", "item-meta", "附 " + objection.photos.length + " 个文件"));
    }
    item.appendChild(el("span", "item-meta", objection.verdict
      ? "答复（" + VERDICT_NAMES[objection.verdict] + "，" + formatTime(objection.resolved_at) + "）：" + objection.resolution
      : "等待答复"));
    return item;
  }

  function openObjectionForm() {
    $("objection-form").hidden = false;
    $("show-objection").hidden = true;
    $("show-objection").setAttribute("aria-expanded", "true");
    $("objection-summary").focus();
  }

  function objectionFieldError(id, text) {
    $(id).setAttribute("aria-invalid", "true");
    $(id + "-error").textContent = text;
    $(id + "-error").hidden = false;
    $(id).focus();
  }

  async function fileObjection(event) {
    event.preventDefault();
    var target = objectionTarget;
    var status = $("objection-status");
    ["objection-summary", "objection-photos"].forEach(function (id) {
      $(id).removeAttribute("aria-invalid");
      $(id + "-error").hidden = true;
    });
    setStatus(status, "");
    var summary = $("objection-summary").value.trim();
    var photos = Array.prototype.slice.call($("objection-photos").files || []);
    if (!summary) return objectionFieldError("objection-summary", "请写明异议的事实和理由");
    if (photos.length > MAX_PHOTOS) return objectionFieldError("objection-photos", "最多上传 " + MAX_PHOTOS + " 个文件");
    var bad = photos.filter(function (file) {
      return file.size > MAX_PHOTO_BYTES || PHOTO_TYPES.indexOf(file.type) < 0;
    })[0];
    if (bad) {
      return objectionFieldError("objection-photos", bad.size > MAX_PHOTO_BYTES
        ? "「" + bad.name + "」超过 10 MB，请换一张小一些的照片"
        : "「" + bad.name + "」不是照片或 PDF，只能上传 JPEG、PNG 照片或 PDF");
    }
    var form = new FormData();
    form.append("summary", summary);
    photos.forEach(function (file) {
      form.append("photos", file, file.name);
    });
    $("submit-objection").disabled = true;
    setStatus(status, "正在提交…", "wait");
    try {
      await authed("POST", target.kind + "/" + target.id + "/my-objections", form);
    } catch (error) {
      $("submit-objection").disabled = false;
      if (error.handled) return;
      setStatus(status, error.status === 0
        ? "网络中断，异议没有提交成功，请检查网络后再提交（您写的内容还在）。"
        : messageOf(error), "error");
      return;
    }
    $("submit-objection").disabled = false;
    $("objection-form").reset();
    await loadObjections(target.kind, target.id, target.canFile);
    setStatus(status, "异议已提交，居委会或业委会会在结果公示中答复。", "ok");
    focusHeading("objection-title");
  }

  function startSurveys() {
    $("survey-form").addEventListener("submit", submitAnswer);
    $("answer-again").addEventListener("click", answerAgain);
    $("show-objection").addEventListener("click", openObjectionForm);
    $("objection-form").addEventListener("submit", fileObjection);
  }

  // --- proxies (委托): granting one on my vote's page, casting as one ----------------------------

  var PROXY_STATUS_NAMES = { pending: "等待确认", confirmed: "已确认", rejected: "未通过", revoked: "已撤销" };

  function proxyOpen(proxy) {
    return Date.parse(proxy.closes_at) > Date.now();
  }

  /** The landing page's list of proxies I hold in votes still open. */
  function heldProxyItems(proxies) {
    return proxies.filter(function (proxy) {
      return proxy.relation === "held" && proxyOpen(proxy) &&
        (proxy.status === "pending" || proxy.status === "confirmed");
    }).map(function (proxy) {
      var item = el("li");
      var label = el("span", "item-label", proxy.vote_title);
      label.appendChild(document.createTextNode(" "));
      label.appendChild(el("span", "badge", proxy.status === "confirmed" ? "可以代投" : "等待确认"));
      item.appendChild(label);
      item.appendChild(el("span", "item-meta", "受 " + proxy.owner_name + " 委托，为 " + proxy.dwellings + " 投票"));
      item.appendChild(el("span", "item-meta", deadlineText(proxy)));
      if (proxy.status === "confirmed") {
        item.appendChild(linkButton("#/proxies/" + proxy.id, "去代投", "link-button primary"));
      }
      return item;
    });
  }

  /** The vote page for a proxy I hold: the vote as far as I may see it, one ballot to cast. */
  async function showProxyCast(proxyId, focus) {
    show("vote");
    ["vote-body", "vote-share", "vote-progress", "vote-result", "vote-cast", "vote-confirm",
      "vote-receipt", "vote-proxy"].forEach(function (id) {
      $(id).hidden = true;
    });
    setStatus($("vote-status"), "正在加载…", "wait");
    var proxy, vote;
    try {
      var held = await authed("GET", "proxies?page_size=100");
      proxy = held.filter(function (p) {
        return p.id === proxyId && p.relation === "held";
      })[0];
      // A proxy who lives elsewhere does not see the vote itself: the proxy says enough.
      vote = proxy ? await optional(authed("GET", "votes/" + proxy.vote_id), [404]) : null;
    } catch (error) {
      if (!error.handled) setStatus($("vote-status"), "加载失败：" + error.message, "error");
      return;
    }
    if (!proxy) {
      setStatus($("vote-status"), "未找到这项委托。", "error");
      return;
    }
    var confirmed = proxy.status === "confirmed";
    vote = vote || { id: proxy.vote_id, title: proxy.vote_title, closes_at: proxy.closes_at,
      status: proxyOpen(proxy) ? "open" : "closed", accepting_casts: proxyOpen(proxy) };
    vote = Object.assign({}, vote, { accepting_casts: vote.accepting_casts && confirmed });
    voteState = {
      vote: vote,
      ballots: [{ person_id: proxy.person_id, dwellings: proxy.dwellings, choice: null }],
      share: null,
      progress: null,
      personId: proxy.person_id,
      proxy: proxy,
    };
    setStatus($("vote-status"), confirmed ? "" : proxy.status === "pending"
      ? "这项委托还在等待居委会或业委会确认，确认后才能代投。"
      : "这项委托" + PROXY_STATUS_NAMES[proxy.status] + "，不能代投。", confirmed ? null : "wait");
    renderVote();
    if (focus) focusHeading("vote-title");
  }

  /** Under my own open vote: the proxies I granted, and the form to grant one. */
  async function loadGrantedProxies() {
    var vote = voteState.vote;
    $("vote-proxy").hidden = true;
    if (voteState.proxy || !vote.accepting_casts || voteState.ballots.length === 0) return;
    var granted;
    try {
      granted = (await authed("GET", "votes/" + vote.id + "/proxies")).filter(function (p) {
        return p.relation === "granted";
      });
    } catch (error) {
      return; // the vote itself is on the page; a proxy can be granted on the next visit
    }
    if (!voteState || voteState.vote.id !== vote.id) return;
    $("granted-proxies").replaceChildren(...granted.map(grantedProxyItem));
    var active = granted.some(function (p) {
      return p.status === "pending" || p.status === "confirmed";
    });
    $("show-proxy").hidden = active && voteState.ballots.length === 1;
    $("vote-proxy").hidden = false;
  }

  function grantedProxyItem(proxy) {
    var item = el("li");
    var label = el("span", "item-label", "委托 " + proxy.proxy_phone + " 为 " + proxy.dwellings + " 代投");
    label.appendChild(document.createTextNode(" "));
    label.appendChild(el("span", "badge", PROXY_STATUS_NAMES[proxy.status] || proxy.status));
    item.appendChild(label);
    item.appendChild(el("span", "item-meta", "提交于 " + formatTime(proxy.created_at)));
    if (proxy.status === "pending" || proxy.status === "confirmed") {
      var revoke = el("button", "secondary", "撤销这项委托");
      revoke.type = "button";
      revoke.addEventListener("click", function () {
        revokeProxy(proxy, revoke);
      });
      item.appendChild(revoke);
    }
    return item;
  }

  async function revokeProxy(proxy, button) {
    button.disabled = true;
    try {
      await authed("POST", "proxies/" + proxy.id + "/revoke");
    } catch (error) {
      button.disabled = false;
      if (!error.handled) setStatus($("proxy-status"), messageOf(error), "error");
      return;
    }
    await loadGrantedProxies();
    setStatus($("proxy-status"), "已撤销委托。受托人已投的票，在您自己投票之前仍然有效。", "ok");
    focusHeading("proxy-title");
  }

  function openProxyForm() {
    $("proxy-form").hidden = false;
    $("show-proxy").hidden = true;
    $("show-proxy").setAttribute("aria-expanded", "true");
    $("proxy-phone").focus();
  }

  async function grantProxy(event) {
    event.preventDefault();
    var status = $("proxy-status");
    var phone = $("proxy-phone").value.replace(/\s+/g, "");
    $("proxy-phone").removeAttribute("aria-invalid");
    $("proxy-phone-error").hidden = true;
    setStatus(status, "");
    if (!/^1\d{10}$/.test(phone)) {
      fieldError("proxy-phone", "请输入受托人的 11 位手机号");
      return;
    }
    var body = { proxy_phone: phone };
    if (voteState.ballots.length > 1) body.person_id = voteState.personId;
    $("submit-proxy").disabled = true;
    try {
      await authed("POST", "votes/" + voteState.vote.id + "/proxies", body);
    } catch (error) {
      $("submit-proxy").disabled = false;
      if (error.handled) return;
      if (error.status === 422) fieldError("proxy-phone", messageOf(error));
      else setStatus(status, messageOf(error), "error");
      return;
    }
    $("submit-proxy").disabled = false;
    $("proxy-form").reset();
    $("proxy-form").hidden = true;
    await loadGrantedProxies();
    setStatus(status, "委托已提交，居委会或业委会确认后，受托人就可以代您投票。", "ok");
    focusHeading("proxy-title");
  }

  // =========================================================================================
  // --- complaints and suggestions (建设共管): file with photos, follow, confirm, rate --------
  // =========================================================================================

  var TICKET_MAX_PHOTOS = 9;
  var TICKET_TEXT_LIMIT = 2000;
  var RESIZE_ABOVE_BYTES = 1.5 * 1024 * 1024; // larger photos are reduced on the phone first
  var RESIZE_TO = 2048;
  var ticketCategories = null; // the compound's categories, fetched once
  var ticketState = null; // {ticket}
  var pendingTicket = null; // {key, signature}: one filled form, one Idempotency-Key
  var photoUrls = []; // blob: URLs of the photos shown, revoked when leaving

  async function loadMyTickets() {
    $("my-tickets").hidden = compoundId === null;
    if (compoundId === null) return;
    var tickets;
    try {
      tickets = await authed("GET", "me/tickets?page_size=50");
    } catch (error) {
      return; // the entry to file one stays
    }
    var here = tickets.filter(function (t) {
      return t.compound_id === compoundId;
    });
    $("ticket-list").replaceChildren(...here.map(function (ticket) {
      var item = el("li");
      var label = el("span", "item-label", ticket.category + "：" + ticket.description.slice(0, 30));
      label.appendChild(document.createTextNode(" "));
      label.appendChild(el("span", "badge", ticket.status_label));
      item.appendChild(label);
      item.appendChild(el("span", "item-meta", "提交于 " + formatTime(ticket.created_at)));
      item.appendChild(linkButton("#/tickets/" + ticket.id,
        ticket.actions.length ? "查看并答复" : "查看进展"));
      return item;
    }));
    $("ticket-list-block").hidden = here.length === 0;
  }

  function clearTicketData() {
    ticketState = null;
    pendingTicket = null;
    $("ticket-list").replaceChildren();
    $("ticket-list-block").hidden = true;
    $("ticket-history").replaceChildren();
    releasePhotos();
  }

  function releasePhotos() {
    photoUrls.forEach(function (url) {
      URL.revokeObjectURL(url);
    });
    photoUrls = [];
    $("ticket-photo-list").replaceChildren();
  }

  // --- filing ---------------------------------------------------------------------------------

  async function showTicketForm(focus) {
    show("ticket-new");
    setStatus($("ticket-status"), "");
    if (!ticketCategories && compoundId !== null) {
      try {
        ticketCategories = await send("GET", "public/compounds/" + compoundId + "/ticket-categories");
      } catch (error) {
        setStatus($("ticket-status"), "问题类别加载失败：" + error.message, "error");
        return;
      }
    }
    var select = $("ticket-category");
    if (select.options.length === 0) {
      select.replaceChildren(option("", "请选择"), ...(ticketCategories || []).map(function (c) {
        return option(String(c.id), c.name);
      }));
      var buildings = $("ticket-building");
      buildings.replaceChildren(option("", "不涉及具体楼栋"), ...(compound ? compound.buildings : [])
        .map(function (b) {
          return option(String(b.id), b.name);
        }));
      fillTicketEntrances();
    }
    countTicketText();
    if (focus) focusHeading("ticket-new-title");
  }

  function fillTicketEntrances() {
    var building = (compound ? compound.buildings : []).filter(function (b) {
      return String(b.id) === $("ticket-building").value;
    })[0];
    var select = $("ticket-entrance");
    var entrances = building ? building.entrances.filter(function (e) {
      return e.name;
    }) : [];
    select.replaceChildren(option("", entrances.length ? "不涉及具体单元" : "—"), ...entrances.map(function (e) {
      return option(String(e.id), e.name);
    }));
    select.disabled = entrances.length === 0;
  }

  function countTicketText() {
    $("ticket-description-count").textContent =
      "还可以写 " + (TICKET_TEXT_LIMIT - $("ticket-description").value.length) + " 字";
  }

  /** A large photo reduced on the phone (long side 2048 px, JPEG), to spare a slow network;
   * the server processes it again either way. Anything the browser cannot draw is sent as is. */
  async function reducedPhoto(file) {
    if (file.size <= RESIZE_ABOVE_BYTES || typeof createImageBitmap !== "function") return file;
    try {
      var bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      var scale = Math.min(1, RESIZE_TO / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      var blob = await new Promise(function (resolve) {
        canvas.toBlob(resolve, "image/jpeg", 0.85);
      });
      return blob ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file;
    } catch (e) {
      return file;
    }
  }

  function ticketProblems() {
    var problems = [];
    if (!$("ticket-category").value) problems.push(["ticket-category", "请选择问题类别"]);
    var text = $("ticket-description").value.trim();
    if (!text) problems.push(["ticket-description", "请描述问题"]);
    var photos = $("ticket-photos").files || [];
    if (photos.length > TICKET_MAX_PHOTOS) problems.push(["ticket-photos", "最多上传 " + TICKET_MAX_PHOTOS + " 张照片"]);
    return problems;
  }

  function showTicketErrors(problems) {
    ["ticket-category", "ticket-description", "ticket-building", "ticket-photos"].forEach(function (id) {
      $(id).removeAttribute("aria-invalid");
      $(id + "-error").hidden = true;
    });
    $("ticket-error-list").replaceChildren(...problems.map(function (problem) {
      $(problem[0]).setAttribute("aria-invalid", "true");
      $(problem[0] + "-error").textContent = problem[1];
      $(problem[0] + "-error").hidden = false;
      var item = el("li");
      var link = el("a", null, problem[1]);
      link.href = "#" + problem[0];
      link.addEventListener("click", function (event) {
        event.preventDefault();
        $(problem[0]).focus();
      });
      item.appendChild(link);
      return item;
    }));
    $("ticket-errors").hidden = problems.length === 0;
    if (problems.length) $("ticket-errors").focus();
  }

  var TICKET_FIELDS = {
    category_id: "ticket-category",
    description: "ticket-description",
    building_id: "ticket-building",
    entrance_id: "ticket-building",
    photos: "ticket-photos",
  };

  async function submitTicket(event) {
    event.preventDefault();
    var status = $("ticket-status");
    setStatus(status, "");
    var problems = ticketProblems();
    showTicketErrors(problems);
    if (problems.length) return;
    var kind = document.querySelector('input[name="ticket-kind"]:checked').value;
    var fields = {
      compound_id: String(compoundId),
      kind: kind,
      category_id: $("ticket-category").value,
      description: $("ticket-description").value.trim(),
      building_id: $("ticket-building").value,
      entrance_id: $("ticket-entrance").value,
      location_text: $("ticket-location").value.trim(),
      anonymous: $("ticket-anonymous").checked ? "true" : "false",
    };
    var files = Array.prototype.slice.call($("ticket-photos").files || []);
    var signature = JSON.stringify(fields) + files.map(function (f) {
      return f.name + f.size;
    }).join("|");
    if (!pendingTicket || pendingTicket.signature !== signature) {
      pendingTicket = { signature: signature, key: null };
    }
    $("submit-ticket").disabled = true;
    setStatus(status, files.length ? "正在处理照片并提交…" : "正在提交…", "wait");
    var form = new FormData();
    Object.keys(fields).forEach(function (key) {
      if (fields[key] !== "") form.append(key, fields[key]);
    });
    for (var i = 0; i < files.length; i += 1) {
      var photo = await reducedPhoto(files[i]);
      form.append("photos", photo, photo.name);
    }
    var ticket;
    try {
      ticket = await postWithRetries("me/tickets", form, pendingTicket, status);
    } catch (error) {
      $("submit-ticket").disabled = false;
      if (error.handled) return;
      if (error.lost) {
        setStatus(status, "网络中断，可能还没有提交成功。请检查网络后再点「提交」，不会重复提交。", "error");
        return;
      }
      var named = Object.keys(error.errors || {}).filter(function (key) {
        return TICKET_FIELDS[key];
      }).map(function (key) {
        return [TICKET_FIELDS[key], [].concat(error.errors[key])[0]];
      });
      showTicketErrors(named);
      setStatus(status, messageOf(error), "error");
      return;
    }
    $("submit-ticket").disabled = false;
    pendingTicket = null;
    $("ticket-form").reset();
    countTicketText();
    window.location.hash = "#/tickets/" + ticket.id;
    ticketFiled = true;
  }

  var ticketFiled = false; // the detail page says "提交成功" once

  // --- following one ----------------------------------------------------------------------------

  async function showTicket(ticketId, focus) {
    show("ticket");
    ["ticket-body", "ticket-confirm", "ticket-rate"].forEach(function (id) {
      $(id).hidden = true;
    });
    setStatus($("ticket-action-status"), "");
    setStatus($("ticket-load-status"), "正在加载…", "wait");
    var ticket;
    try {
      ticket = await authed("GET", "tickets/" + ticketId);
    } catch (error) {
      if (error.handled) return;
      setStatus($("ticket-load-status"), error.status === 404 ? "未找到这个问题。" : "加载失败：" + error.message, "error");
      return;
    }
    ticketState = { ticket: ticket };
    setStatus($("ticket-load-status"), ticketFiled ? "提交成功，居委会或业委会会尽快受理，进展会通知您。" : "", ticketFiled ? "ok" : null);
    ticketFiled = false;
    renderTicket();
    if (focus) focusHeading("ticket-title");
  }

  function renderTicket() {
    var ticket = ticketState.ticket;
    $("ticket-title").textContent = ticket.category + (ticket.kind === "complaint" ? "投诉" : ticket.kind === "suggestion" ? "建议" : "表扬");
    $("ticket-state").replaceChildren(el("span", "badge", ticket.status_label));
    $("ticket-description-text").textContent = ticket.description;
    var meta = ["编号 " + ticket.id, "提交于 " + formatTime(ticket.created_at)];
    if (ticket.place) meta.push("位置：" + ticket.place);
    if (ticket.handler) meta.push("处理人：" + ticket.handler);
    if (ticket.anonymous) meta.push("匿名反映");
    if (["submitted", "acknowledged", "in_progress"].indexOf(ticket.status) >= 0) {
      meta.push("应在 " + formatTime(ticket.resolve_due_at) + " 前办结");
    }
    $("ticket-meta").textContent = meta.join("　");
    $("ticket-history").replaceChildren(...(ticket.history || []).map(function (event) {
      var item = el("li");
      item.appendChild(el("span", "item-label", event.label));
      item.appendChild(el("span", "item-meta", formatTime(event.at) + "　" + event.actor));
      if (event.note) item.appendChild(el("span", "timeline-note", event.note));
      return item;
    }));
    $("ticket-body").hidden = false;
    var canConfirm = ticket.actions.indexOf("confirm") >= 0;
    $("ticket-confirm").hidden = !canConfirm;
    if (canConfirm) {
      $("ticket-confirm-due").textContent = "请在 " + formatTime(ticket.confirm_due_at) + " 前答复，逾期将自动关闭。";
    }
    $("ticket-rate").hidden = ticket.actions.indexOf("rate") < 0;
    showTicketPhotos(ticket);
  }

  async function showTicketPhotos(ticket) {
    releasePhotos();
    for (var i = 0; i < ticket.photos.length; i += 1) {
      var photo = ticket.photos[i];
      var path = photo.thumbnail_url.indexOf(API) === 0 ? photo.thumbnail_url.slice(API.length) : photo.thumbnail_url;
      try {
        var blob = await authed("GET", path, undefined, { blob: true });
        if (!ticketState || ticketState.ticket.id !== ticket.id) return;
        var url = URL.createObjectURL(blob);
        photoUrls.push(url);
        var image = document.createElement("img");
        image.src = url;
        image.alt = "照片 " + (i + 1);
        image.className = "ticket-photo";
        $("ticket-photo-list").appendChild(image);
      } catch (error) {
        /* the text says enough; a photo that does not load is left out */
      }
    }
  }

  async function ticketMove(action, note, button) {
    var status = $("ticket-action-status");
    button.disabled = true;
    try {
      ticketState.ticket = await authed("POST", "tickets/" + ticketState.ticket.id + "/actions", {
        action: action,
        note: note,
      });
    } catch (error) {
      button.disabled = false;
      if (!error.handled) setStatus(status, messageOf(error), "error");
      return;
    }
    button.disabled = false;
    renderTicket();
    setStatus(status, action === "confirm" ? "谢谢确认，问题已关闭。欢迎评价处理情况。" : "已重新提交，居委会或业委会会继续处理。", "ok");
    focusHeading("ticket-title");
  }

  function confirmTicket() {
    ticketMove("confirm", "", $("ticket-confirm-yes"));
  }

  function reopenTicket() {
    var note = $("ticket-reopen-note").value.trim();
    $("ticket-reopen-note").removeAttribute("aria-invalid");
    $("ticket-reopen-note-error").hidden = true;
    if (!note) {
      fieldError("ticket-reopen-note", "请说明还有什么没解决");
      return;
    }
    ticketMove("reopen", note, $("ticket-reopen"));
  }

  async function rateTicket() {
    var chosen = document.querySelector('input[name="ticket-stars"]:checked');
    var status = $("ticket-action-status");
    if (!chosen) {
      setStatus(status, "请选择满意程度", "error");
      return;
    }
    $("ticket-rate-submit").disabled = true;
    try {
      ticketState.ticket = await authed("POST", "tickets/" + ticketState.ticket.id + "/rating", {
        rating: Number(chosen.value),
        comment: $("ticket-rate-comment").value.trim() || null,
      });
    } catch (error) {
      $("ticket-rate-submit").disabled = false;
      if (!error.handled) setStatus(status, messageOf(error), "error");
      return;
    }
    $("ticket-rate-submit").disabled = false;
    renderTicket();
    setStatus(status, "谢谢您的评价。", "ok");
  }

  function startTickets() {
    $("ticket-form").addEventListener("submit", submitTicket);
    // A corrected field loses its message at once (the next submit checks it again).
    ["ticket-category", "ticket-description", "ticket-building", "ticket-photos"].forEach(function (id) {
      ["input", "change"].forEach(function (type) {
        $(id).addEventListener(type, function () {
          $(id).removeAttribute("aria-invalid");
          $(id + "-error").hidden = true;
        });
      });
    });
    $("ticket-building").addEventListener("change", fillTicketEntrances);
    $("ticket-description").addEventListener("input", countTicketText);
    $("ticket-confirm-yes").addEventListener("click", confirmTicket);
    $("ticket-reopen").addEventListener("click", reopenTicket);
    $("ticket-rate-submit").addEventListener("click", rateTicket);
  }

  // --- receipt check (public) ---------------------------------------------------------------

  function showReceiptCheck(target) {
    show("receipt");
    $("check-vote").value = target.voteId || $("check-vote").value;
    $("check-code").value = target.code || $("check-code").value;
    $("check-result").replaceChildren();
    if (target.voteId && target.code) checkReceipt();
    else focusHeading("check-title");
  }

  function receiptVerdict(status) {
    if (status.voided) {
      return ["void", "已作废", "这张选票在异议处理后已被作废，不计入结果。" +
        (status.void_reason ? "理由：" + status.void_reason : "")];
    }
    if (status.replaced && !status.counted) {
      return ["replaced", "已被更新的投票取代", "同一户后来又投了一次票，以最后一次为准，这张不再计入。"];
    }
    if (status.counted) {
      return ["counted", "计入", "这张选票是该户计入表决结果的一票。"];
    }
    return ["other", "未计入", "这张选票在记录中，但按本小区议事规则不计入结果（例如业主本人的投票优先于受托人）。"];
  }

  async function checkReceipt(event) {
    if (event) event.preventDefault();
    clearCheckErrors();
    var voteId = $("check-vote").value.trim();
    var code = $("check-code").value.replace(/\s+/g, "").toUpperCase();
    var out = $("check-result");
    out.replaceChildren();
    if (!/^[1-9]\d{0,9}$/.test(voteId)) {
      fieldError("check-vote", "请输入表决编号（数字）");
      return;
    }
    if (!code) {
      fieldError("check-code", "请输入回执码");
      return;
    }
    $("check-submit").disabled = true;
    var status;
    try {
      status = await send(
        "GET",
        "public/votes/" + voteId + "/receipts/" + encodeURIComponent(code)
      );
    } catch (error) {
      var text = messageOf(error);
      out.replaceChildren(el("p", "status error", text));
      if (error.status === 422) fieldError("check-code", text);
      return;
    } finally {
      $("check-submit").disabled = false;
    }
    var verdict = receiptVerdict(status);
    var box = el("div", "verdict verdict-" + verdict[0]);
    box.appendChild(el("p", "verdict-title", verdict[1]));
    box.appendChild(el("p", null, verdict[2]));
    box.appendChild(el("p", "muted", "回执码 " + status.receipt + "，表决编号 " + status.vote_id + "。"));
    box.appendChild(
      el(
        "p",
        "verdict-sealing",
        status.sealing === "sealed" && status.entry
          ? "已封存：已写入公开记录第 " + status.entry.seq + " 条，不能再被改动。"
          : "待封存：选票已记录，正在写入公开记录，稍后再查即可看到。"
      )
    );
    out.replaceChildren(box);
  }

  function fieldError(id, text) {
    $(id).setAttribute("aria-invalid", "true");
    $(id + "-error").textContent = text;
    $(id + "-error").hidden = false;
    $(id).focus();
  }

  function clearCheckErrors() {
    ["check-vote", "check-code"].forEach(function (id) {
      $(id).removeAttribute("aria-invalid");
      $(id + "-error").textContent = "";
      $(id + "-error").hidden = true;
    });
  }

  // --- wiring -------------------------------------------------------------------------------

  function startVotes() {
    setLargeText(largeTextStored(), false);
    $("large-text").addEventListener("click", function () {
      setLargeText(!document.documentElement.classList.contains("large-text"), true);
    });
    document.querySelectorAll("#cast-buttons [data-choice]").forEach(function (button) {
      button.addEventListener("click", function () {
        askToConfirm(button.getAttribute("data-choice"));
      });
    });
    $("confirm-cast").addEventListener("click", submitCast);
    $("cancel-cast").addEventListener("click", cancelCast);
    $("cast-again").addEventListener("click", castAgain);
    $("check-form").addEventListener("submit", checkReceipt);
    $("show-proxy").addEventListener("click", openProxyForm);
    $("proxy-form").addEventListener("submit", grantProxy);
    // A QR code for one vote or survey lands on /h5/?compound=1&vote=12 (or &survey=3):
    // open its page.
    var query = new URLSearchParams(window.location.search);
    [["vote", "votes"], ["survey", "surveys"]].forEach(function (pair) {
      var linked = query.get(pair[0]);
      if (linked && /^[1-9]\d{0,9}$/.test(linked) && !window.location.hash) {
        window.history.replaceState(null, "", "#/" + pair[1] + "/" + linked);
      }
    });
    window.addEventListener("hashchange", function () {
      route(true);
    });
  }

  // --- what plan.js (the residents' plan consultation) uses ----------------------------------

  window.H5 = {
    authed: authed,
    postWithRetries: postWithRetries,
    setStatus: setStatus,
    messageOf: messageOf,
    el: el,
    formatTime: formatTime,
    focusHeading: focusHeading,
  };

  // --- start --------------------------------------------------------------------------------

  async function start() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("send-code").addEventListener("click", requestCode);
    $("sign-out").addEventListener("click", signOut);
    $("wechat-unbind").addEventListener("click", unbindWechat);
    $("show-claim").addEventListener("click", openClaimForm);
    $("claim-form").addEventListener("submit", fileClaim);
    $("building").addEventListener("change", fillEntrances);
    $("kind-owner").addEventListener("change", updateKind);
    $("kind-tenant").addEventListener("change", updateKind);
    fillBuildings();
    updateKind();

    await wechat.take(); // first: it takes its fragment out of the address
    startVotes();
    startSurveys();
    startTickets();
    // The compound and its public board in one round trip (a slow network pays per trip).
    await Promise.all([loadCompound(), loadBoard(), loadProgress()]);
    await route(false);
    document.body.setAttribute("data-ready", "true");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
