/* 设计方案征求意见 for residents (#/plan/<id>): the design plan of the compound's project, one
 * thing per page — what the plan is and what it costs my household, then each item (support or
 * oppose, with my household's share), a comment, check your answers, confirmation. Outside the
 * period, or for someone who does not live in the compound, the page says so plainly; once the
 * committee has published how comments were handled, my comments show their handling.
 * Loaded after app.js, whose helpers it uses (window.H5); calls only the JSON API.
 */
(function () {
  "use strict";

  var H = window.H5;
  var el = H.el;
  var STANCES = { support: "支持", oppose: "反对", none: "暂不表态" };
  var HANDLING = { adopted: "采纳", partly: "部分采纳", rejected: "不采纳" };

  var state = null; // {plan, page, stances: {itemId: "support"|"oppose"|"none"}, comment, about, intent}

  function root() {
    return document.getElementById("plan-page");
  }

  function yuan(amount) {
    return amount === null || amount === undefined ? "—" : amount + " 元";
  }

  /** What the item costs my household, in plain words. */
  function shareWords(item) {
    if (Number(item.residents_part) === 0) return "不需要居民出资";
    if (item.my_share === null || item.my_share === undefined) return "居民出资按房屋面积分摊";
    return "您家分摊 " + yuan(item.my_share);
  }

  function card(children) {
    var node = el("div", "card");
    children.forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  function para(text, className) {
    return el("p", className || null, text);
  }

  function heading(text) {
    var node = el("h2", null, text);
    node.id = "plan-title";
    node.tabIndex = -1;
    return node;
  }

  function bigButton(text, onClick, className) {
    var node = el("button", className || "primary", text);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function render(nodes) {
    root().replaceChildren.apply(root(), nodes.filter(Boolean));
    H.focusHeading("plan-title");
  }

  function go(page) {
    state.page = page;
    draw();
  }

  /** Shows plan ``id`` as the signed-in resident sees it (their share, their feedback). */
  async function show(id) {
    root().replaceChildren(para("正在加载…", "muted"));
    var plan;
    try {
      plan = await H.authed("GET", "plan-consultations/" + id);
    } catch (error) {
      if (error.handled) return;
      var words =
        error.status === 404
          ? "没有找到这份设计方案。只有本小区的居民（业主或登记的租户）可以查看和表态。"
          : H.messageOf(error);
      render([card([heading("设计方案征求意见"), para(words, "status error")])]);
      return;
    }
    var stances = {};
    plan.items.forEach(function (item) {
      stances[item.id] = "none";
    });
    ((plan.mine && plan.mine.stances) || []).forEach(function (s) {
      stances[s.item_id] = s.stance;
    });
    state = { plan: plan, page: "intro", stances: stances, comment: "", about: "", intent: {} };
    draw();
  }

  function draw() {
    var page = state.page;
    if (page === "intro") return drawIntro();
    if (typeof page === "number") return drawItem(page);
    if (page === "comment") return drawComment();
    if (page === "check") return drawCheck();
    if (page === "done") return drawDone();
  }

  function myComments() {
    var comments = (state.plan.mine && state.plan.mine.comments) || [];
    if (!comments.length) return null;
    var names = {};
    state.plan.items.forEach(function (item) {
      names[item.id] = item.name;
    });
    var list = el("ul", "plain-list summary");
    comments.forEach(function (c) {
      var item = el("li");
      item.appendChild(para((c.item_id ? "关于“" + names[c.item_id] + "”：" : "关于整体方案：") + c.text));
      item.appendChild(
        para(
          c.handling
            ? "处理结果：" + HANDLING[c.handling] + (c.reason ? "。理由：" + c.reason : "")
            : "处理结果：社区正在研究，处理后会在小区公告栏公示。",
          c.handling ? "status ok" : "muted"
        )
      );
      list.appendChild(item);
    });
    var block = el("div");
    block.appendChild(el("h3", null, "我提的意见"));
    block.appendChild(list);
    return block;
  }

  function drawIntro() {
    var plan = state.plan;
    var now = Date.now();
    var notYet = new Date(plan.opens_at).getTime() > now;
    var when = "征求意见时间：" + H.formatTime(plan.opens_at) + " 至 " + H.formatTime(plan.closes_at);
    var nodes = [
      heading(plan.title),
      para(when),
      plan.description ? para(plan.description) : null,
      para("方案总投资 " + yuan(plan.total_cost) + "，其中居民出资 " + yuan(plan.residents_total) + "。"),
      plan.my_share !== null
        ? para("按房屋面积分摊，您家共需出资 " + yuan(plan.my_share) + "。", "share-amount")
        : null,
    ];
    var list = el("ul", "plain-list summary");
    plan.items.forEach(function (item) {
      var line = item.name + "：" + yuan(item.cost) + "，" + shareWords(item);
      list.appendChild(el("li", null, line));
    });
    nodes.push(el("h3", null, "改造项目"), list);
    if (plan.open) {
      nodes.push(para("请对每一项表示支持或反对，也可以留下意见。大约需要 2 分钟。"));
      nodes.push(bigButton(plan.mine && (plan.mine.stances.length || plan.mine.comments.length) ? "修改我的表态或再提意见" : "开始表态", function () {
        go(0);
      }));
    } else if (notYet) {
      nodes.push(para("征求意见还没有开始，请在 " + H.formatTime(plan.opens_at) + " 之后再来。", "status wait"));
    } else {
      nodes.push(
        para(
          "征求意见已于 " + H.formatTime(plan.closes_at) + " 结束，现在不能再表态或提意见。" +
            (plan.summary_published_at ? "意见处理情况已在小区公告栏公示。" : "社区整理意见后会在小区公告栏公示处理情况。"),
          "status"
        )
      );
    }
    render([card(nodes.concat([myComments()]))]);
  }

  function drawItem(index) {
    var items = state.plan.items;
    var item = items[index];
    var fieldset = el("fieldset", "field choices");
    var legend = el("legend", null, "您对“" + item.name + "”的意见");
    fieldset.appendChild(legend);
    var error = el("p", "field-error");
    error.id = "stance-error";
    error.hidden = true;
    fieldset.appendChild(error);
    Object.keys(STANCES).forEach(function (value) {
      var label = el("label", "choice");
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "stance";
      input.value = value;
      input.checked = state.stances[item.id] === value;
      label.appendChild(input);
      label.appendChild(document.createTextNode(STANCES[value]));
      fieldset.appendChild(label);
    });
    function next() {
      var chosen = fieldset.querySelector("input:checked");
      state.stances[item.id] = chosen ? chosen.value : "none";
      go(index + 1 < items.length ? index + 1 : "comment");
    }
    render([
      card([
        para("第 " + (index + 1) + " 项，共 " + items.length + " 项", "muted"),
        heading(item.name),
        item.description ? para(item.description) : null,
        para("费用 " + yuan(item.cost) + "，其中居民出资 " + yuan(item.residents_part) + "。"),
        para(shareWords(item), "share-amount"),
        fieldset,
        bigButton("下一步", next),
        bigButton("上一步", function () {
          go(index > 0 ? index - 1 : "intro");
        }, "secondary"),
      ]),
    ]);
  }

  function drawComment() {
    var items = state.plan.items;
    var about = el("select");
    about.id = "plan-about";
    [["", "整体方案"]].concat(items.map(function (i) {
      return [String(i.id), i.name];
    })).forEach(function (pair) {
      var option = el("option", null, pair[1]);
      option.value = pair[0];
      option.selected = state.about === pair[0];
      about.appendChild(option);
    });
    var text = el("textarea");
    text.id = "plan-comment";
    text.rows = 5;
    text.maxLength = 1000;
    text.value = state.comment;
    text.setAttribute("aria-describedby", "plan-comment-hint");
    function field(label, input, hint) {
      var node = el("div", "field");
      var l = el("label", null, label);
      l.htmlFor = input.id;
      node.appendChild(l);
      if (hint) {
        var h = el("p", "hint", hint);
        h.id = input.id + "-hint";
        node.appendChild(h);
      }
      node.appendChild(input);
      return node;
    }
    function next() {
      state.comment = text.value.trim();
      state.about = about.value;
      go("check");
    }
    render([
      card([
        heading("您还有什么意见？"),
        field("意见针对", about),
        field("意见（可不填）", text, "例如：希望施工避开午休时间。请不要写身份证号、电话等个人信息。"),
        bigButton("下一步", next),
        bigButton("上一步", function () {
          state.comment = text.value;
          go(items.length - 1);
        }, "secondary"),
      ]),
    ]);
  }

  function stanceList() {
    var list = el("dl", "check-list");
    state.plan.items.forEach(function (item, index) {
      var row = el("div", "check-row");
      row.appendChild(el("dt", null, item.name));
      row.appendChild(el("dd", null, STANCES[state.stances[item.id]]));
      var change = el("a", "change-link", "修改");
      change.href = "#/plan/" + state.plan.id;
      change.setAttribute("aria-label", "修改对“" + item.name + "”的表态");
      change.addEventListener("click", function (event) {
        event.preventDefault();
        go(index);
      });
      var cell = el("dd");
      cell.appendChild(change);
      row.appendChild(cell);
      list.appendChild(row);
    });
    var row = el("div", "check-row");
    row.appendChild(el("dt", null, "意见"));
    row.appendChild(el("dd", null, state.comment || "没有填写"));
    var change = el("a", "change-link", "修改");
    change.href = "#/plan/" + state.plan.id;
    change.setAttribute("aria-label", "修改意见");
    change.addEventListener("click", function (event) {
      event.preventDefault();
      go("comment");
    });
    var cell = el("dd");
    cell.appendChild(change);
    row.appendChild(cell);
    list.appendChild(row);
    return list;
  }

  function drawCheck() {
    var summary = el("div", "error-summary");
    summary.id = "plan-errors";
    summary.tabIndex = -1;
    summary.setAttribute("role", "alert");
    summary.hidden = true;
    var status = el("p", "status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var submit = bigButton("确认提交", send);
    function problem(text, page) {
      var link = el("a", null, text);
      link.href = "#/plan/" + state.plan.id;
      link.addEventListener("click", function (event) {
        event.preventDefault();
        go(page);
      });
      summary.replaceChildren(el("p", "error-summary-title", "提交前请修改："));
      var list = el("ul");
      var item = el("li");
      item.appendChild(link);
      list.appendChild(item);
      summary.appendChild(list);
      summary.hidden = false;
      summary.focus();
    }
    async function send() {
      var stances = state.plan.items
        .filter(function (item) {
          return state.stances[item.id] !== "none";
        })
        .map(function (item) {
          return { item_id: item.id, stance: state.stances[item.id] };
        });
      var comments = state.comment
        ? [{ item_id: state.about ? Number(state.about) : null, text: state.comment }]
        : [];
      if (!stances.length && !comments.length) {
        problem("请至少对一项表示支持或反对，或者填写意见", 0);
        return;
      }
      submit.disabled = true;
      H.setStatus(status, "正在提交…", "wait");
      try {
        var mine = await H.postWithRetries(
          "plan-consultations/" + state.plan.id + "/feedback",
          { stances: stances, comments: comments },
          state.intent,
          status
        );
        state.plan.mine = mine;
        state.intent = {};
        state.comment = "";
        go("done");
      } catch (error) {
        if (error.handled) return;
        H.setStatus(
          status,
          error.lost ? "网络不稳定，没能确认是否已提交。请稍后点“确认提交”再试，不会重复提交。" : H.messageOf(error),
          "error"
        );
        submit.disabled = false;
      }
    }
    render([
      card([
        heading("请核对您的表态和意见"),
        summary,
        stanceList(),
        para("提交后，在征求意见截止前还可以修改表态，以最后一次为准。", "muted"),
        status,
        submit,
      ]),
    ]);
  }

  function drawDone() {
    var done = el("p", "status ok", "已提交。谢谢您的参与！");
    done.setAttribute("role", "status");
    render([
      card([
        heading("提交成功"),
        done,
        para("征求意见截止后，社区会在小区公告栏公示每条意见的处理情况（采纳、部分采纳或不采纳，以及理由）。"),
        myComments(),
        bigButton("返回方案", function () {
          go("intro");
        }, "secondary"),
      ]),
    ]);
  }

  window.H5Plan = { show: show };
})();
