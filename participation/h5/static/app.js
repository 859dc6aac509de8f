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

  async function send(method, path, body, bearer) {
    var headers = { Accept: "application/json" };
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
    var data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
    }
    if (response.ok) return data;
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
  async function authed(method, path, body) {
    var current = tokens.get();
    if (!current) throw signedOut(null);
    try {
      return await send(method, path, body, current.access);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      if (error.code === "token_expired" && (await refreshAccess())) {
        try {
          return await send(method, path, body, tokens.get().access);
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
    await showHome(true);
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

    await loadCompound();
    await wechat.take();
    if (tokens.get()) {
      await showHome(false);
    } else {
      showSignIn();
    }
    document.body.setAttribute("data-ready", "true");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
