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

  /** ``options``: ``headers`` (e.g. Idempotency-Key), ``blob`` (a file download). */
  async function send(method, path, body, bearer, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (bearer) headers.Authorization = "Bearer " + bearer;
    var response;
    try {
      response = await fetch(API + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
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
    tokens.clear();
    clearPersonalData();
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

  function compoundIdFromUrl() {
    var value = new URLSearchParams(window.location.search).get("compound");
    return value && /^[1-9]\d{0,9}$/.test(value) ? Number(value) : null;
  }

  // --- state --------------------------------------------------------------------------------

  var compoundId = compoundIdFromUrl();
  var compound = null; // the public compound: {id, name, address, buildings: [...]}
  var countdownTimer = null;

  // --- compound (public) ----------------------------------------------------------------------

  async function loadCompound() {
    if (compoundId === null) return;
    try {
      compound = await send("GET", "public/compounds/" + compoundId);
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
    $("sign-out").hidden = view !== "home" && view !== "vote";
    showVotesView(view);
  }

  function showSignIn(message) {
    show("sign-in");
    setStatus($("sign-in-status"), message || "", message ? "error" : null);
  }

  function clearPersonalData() {
    $("my-phone").textContent = "";
    ["owned-list", "rented-list", "claims-list"].forEach(function (id) {
      $(id).replaceChildren();
    });
    setStatus($("home-status"), "");
    setStatus($("claim-status"), "");
    $("claim-form").reset();
    clearFieldErrors(["building", "entrance", "room", "name", "id_last4", "kind"]);
    fillEntrances();
    $("claim-section").hidden = true;
    clearVoteData();
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
    await loadMyVotes(profile);
    if (focus) focusHeading("home-title");
  }

  // --- sign-in ------------------------------------------------------------------------------

  function startCountdown(seconds) {
    var button = $("send-code");
    var left = seconds;
    window.clearInterval(countdownTimer);
    button.disabled = true;
    button.textContent = left + " 秒后重新获取";
    countdownTimer = window.setInterval(function () {
      left -= 1;
      if (left <= 0) {
        window.clearInterval(countdownTimer);
        countdownTimer = null;
        button.disabled = false;
        button.textContent = "获取验证码";
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

  // --- routing (#/, #/votes/12, #/receipt/12/CODE) ------------------------------------------

  function parseRoute() {
    var hash = window.location.hash.replace(/^#\/?/, "");
    var parts = hash.split("/").filter(Boolean);
    if (parts[0] === "votes" && /^[1-9]\d{0,9}$/.test(parts[1] || "")) {
      return { name: "vote", id: Number(parts[1]) };
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
    if (currentRoute.name === "vote") {
      if (!tokens.get()) {
        showSignIn();
        setStatus($("sign-in-status"), "请先用手机号登录，再参加表决。", "wait");
        return;
      }
      await showVote(currentRoute.id, focus);
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
    $("view-receipt").hidden = view !== "receipt";
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
      notices = await send("GET", "public/compounds/" + compoundId + "/notices?page_size=20");
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
      } else if (notice.kind === "campaign" && notice.vote_id) {
        item.appendChild(linkButton("#/votes/" + notice.vote_id, "查看表决"));
      } else if (notice.page_url) {
        item.appendChild(linkButton(notice.page_url, "查看全文"));
      }
      return item;
    });
    $("board-list").replaceChildren(...items);
    $("board-empty").hidden = items.length > 0;
  }

  async function loadMyVotes(profile) {
    if (profile && profile.kind !== "resident") return; // staff vote in no compound
    var votes;
    try {
      votes = await authed("GET", "me/votes?page_size=100");
    } catch (error) {
      if (error.handled) return;
      $("my-votes").hidden = false;
      setStatus($("home-status"), "表决加载失败：" + error.message, "error");
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
    $("no-open-votes").hidden = open.length > 0;
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
      "vote-receipt"].forEach(function (id) {
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
    renderMine();
    $("vote-cast").hidden = false;
  }

  function renderMine() {
    var ballot = selectedBallot();
    var vote = voteState.vote;
    var text;
    if (!ballot || !ballot.choice) {
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
    if (!same) {
      pendingCast = { voteId: voteState.vote.id, personId: ballot.person_id, choice: choice, key: null };
    }
    $("confirm-text").textContent =
      "您将为 " + ballot.dwellings + " 投「" + CHOICE_NAMES[choice] + "」。" +
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

  /** Casts the confirmed intent. Its Idempotency-Key is made once and sent again on every
   * retry, so a ballot that reached the server before the network dropped is not cast twice. */
  async function submitCast() {
    var intent = pendingCast;
    if (!intent) return;
    if (!intent.key) intent.key = newIdempotencyKey();
    var status = $("cast-progress");
    $("confirm-cast").disabled = true;
    $("cancel-cast").disabled = true;
    setStatus(status, "已提交，正在等待确认…", "wait");
    var body = { choice: intent.choice, person_id: intent.personId };
    var answer = null;
    for (var attempt = 0; answer === null; attempt += 1) {
      try {
        answer = await authed("POST", "votes/" + intent.voteId + "/ballots", body, {
          headers: { "Idempotency-Key": intent.key },
        });
      } catch (error) {
        if (error.handled) return;
        if (isTransient(error) && attempt < RETRY_DELAYS.length) {
          setStatus(status, "网络中断，正在重试（第 " + (attempt + 1) + " 次）…", "wait");
          await sleep(RETRY_DELAYS[attempt]);
          continue;
        }
        $("confirm-cast").disabled = false;
        $("cancel-cast").disabled = false;
        if (isTransient(error)) {
          setStatus(
            status,
            "网络中断，投票可能还没有提交成功。请检查网络后再点「确认」，不会重复计票。",
            "error"
          );
        } else {
          intent.key = null; // refused by the server: a new attempt is a new request
          setStatus(status, messageOf(error), "error");
        }
        return;
      }
    }
    pendingCast = null;
    showCastReceipt(answer);
    refreshAfterCast(intent.voteId);
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
    // A QR code for one vote lands on /h5/?compound=1&vote=12: open that vote's page.
    var linked = new URLSearchParams(window.location.search).get("vote");
    if (linked && /^[1-9]\d{0,9}$/.test(linked) && !window.location.hash) {
      window.history.replaceState(null, "", "#/votes/" + linked);
    }
    window.addEventListener("hashchange", function () {
      route(true);
    });
  }

  // --- start --------------------------------------------------------------------------------

  async function start() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("send-code").addEventListener("click", requestCode);
    $("sign-out").addEventListener("click", signOut);
    $("show-claim").addEventListener("click", openClaimForm);
    $("claim-form").addEventListener("submit", fileClaim);
    $("building").addEventListener("change", fillEntrances);
    $("kind-owner").addEventListener("change", updateKind);
    $("kind-tenant").addEventListener("change", updateKind);
    fillBuildings();
    updateKind();

    await wechat.take(); // first: it takes its fragment out of the address
    startVotes();
    await loadCompound();
    await route(false);
    document.body.setAttribute("data-ready", "true");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
