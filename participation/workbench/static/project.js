/* The workbench's project pages (改造项目): a compound's project and its eight steps, the
 * self-governing organisation, the plan consultation, the money, the 绩效评估 report and the
 * district view. Loaded after app.js, whose helpers it uses (window.Workbench); like the rest
 * of the workbench it calls only the JSON API, and shows every error as its Chinese message.
 */
(function () {
  "use strict";

  const W = window.Workbench;
  const { api, all, post, download, el, fill, setView, messageOf, showErrors, summaryBox } = W;
  const { field, button, status, setStatus, table, when, percent, yuan, crumbs, bar } = W;

  const STEP_STATUS = {
    not_started: "未开始",
    in_progress: "进行中",
    done: "已完成",
    reopened: "已重新打开",
  };
  const ACTIONS = {
    created: "创建项目",
    updated: "修改",
    completed: "完成",
    reopened: "重新打开",
    linked: "关联",
    documented: "登记资料",
  };
  const LINK_KINDS = { vote: "表决", survey: "问卷", notice: "公告", ticket: "投诉建议" };
  const ORGANISATION_KINDS = {
    owners_committee: "业主委员会",
    self_management_group: "自管小组",
    residents_council: "居民议事会",
    renovation_council: "改造议事会",
    other: "其他",
  };
  const MEMBER_ROLES = {
    chair: "主任",
    vice_chair: "副主任",
    secretary: "秘书",
    member: "委员",
    adviser: "顾问",
  };
  const HANDLING = { adopted: "采纳", partly: "部分采纳", rejected: "不采纳" };
  const SOURCES = {
    central_provincial: "中央/省级补助",
    local_finance: "地方财政",
    residents: "居民出资",
    maintenance_fund: "住宅专项维修资金",
    public_income: "公共收益",
    social_capital: "社会资本",
    utilities: "专业经营单位",
  };
  const MODES = {
    professional: "专业物业",
    community_centre: "社区物业服务中心",
    self_managed: "自治管理",
  };
  const ARCHIVE_STATES = { queued: "排队中", running: "正在生成", done: "已生成", failed: "生成失败" };

  const day = (value) => value || "—";

  /** "12.30" → 1230 (fen), or null when it is not an amount. */
  function fen(text) {
    const value = String(text == null ? "" : text).trim();
    if (!/^\d+(\.\d{1,2})?$/.test(value)) return null;
    const [whole, part] = value.split(".");
    return Number(whole) * 100 + Number((part || "").padEnd(2, "0"));
  }

  function money(cents) {
    const sign = cents < 0 ? "-" : "";
    const abs = Math.abs(cents);
    return sign + Math.floor(abs / 100) + "." + String(abs % 100).padStart(2, "0");
  }

  function input(attrs) {
    return el("input", Object.assign({ type: "text" }, attrs));
  }

  function textarea(attrs) {
    return el("textarea", Object.assign({ rows: "3" }, attrs));
  }

  function select(id, options, chosen) {
    return el(
      "select",
      { id },
      Object.entries(options).map(([value, label]) => el("option", { value, selected: value === chosen }, label))
    );
  }

  function projectCrumbs(project, compound, here) {
    return here
      ? crumbs(["首页", "#/"], [compound.name + " · " + project.title, "#/p/" + project.id], [here])
      : crumbs(["首页", "#/"], [compound.name + " · " + project.title]);
  }

  async function projectAndCompound(projectId) {
    const project = await api("GET", "projects/" + projectId);
    const compound = await W.compoundOf(project.compound_id);
    return [project, compound];
  }

  // --- #/c/<compound>/project: the compound's latest project, or create one --------------------

  async function showCompoundProject(compoundId) {
    const compound = await W.compoundOf(compoundId);
    const projects = await all("compounds/" + compoundId + "/projects");
    if (projects.length) {
      window.location.replace("#/p/" + projects[0].id);
      return;
    }
    const summary = summaryBox("project-summary");
    const year = input({ inputmode: "numeric", class: "short", value: String(new Date().getFullYear()) });
    const title = input({ value: compound.name + "老旧小区改造" });
    async function create(event) {
      event.preventDefault();
      const problems = [];
      if (!/^\d{4}$/.test(year.value.trim())) problems.push({ field: "project-year", text: "请填写四位数的年度，如 2026" });
      if (!title.value.trim()) problems.push({ field: "project-title", text: "请填写项目名称" });
      showErrors(summary, problems);
      if (problems.length) return;
      try {
        const made = await post("compounds/" + compoundId + "/projects", { year: Number(year.value), title: title.value.trim() });
        window.location.hash = "#/p/" + made.id;
      } catch (error) {
        showErrors(summary, [{ text: messageOf(error) }]);
      }
    }
    setView(
      crumbs(["首页", "#/"], [compound.name + " · 改造项目"]),
      el("h1", { text: "改造项目" }),
      el("p", { text: compound.name + "还没有改造项目。创建后，按八个步骤推进：成立组织、申请项目、申报计划、编制方案、项目实施、项目验收、项目接管、绩效评估。" }),
      el(
        "form",
        { class: "card narrow", novalidate: true, onsubmit: create },
        summary,
        field("project-year", "改造计划年度", year),
        field("project-title", "项目名称", title),
        el("button", { type: "submit", class: "primary" }, "创建项目")
      )
    );
  }

  // --- #/p/<project>: the eight steps, history, links, archive -------------------------------

  async function showProject(projectId) {
    const [project, compound] = await projectAndCompound(projectId);
    const events = await all("projects/" + projectId + "/events");
    const gates = {};
    (project.gates || []).forEach((g) => (gates[g.step] = g.refusal));
    const labels = {};
    project.steps.forEach((s) => (labels[s.id] = s.label));
    const history = events
      .slice()
      .reverse()
      .map((e) => [
        when(e.at),
        e.step_id ? labels[e.step_id] : "项目",
        ACTIONS[e.action] || e.action,
        e.from_status !== e.to_status ? (STEP_STATUS[e.from_status] || "—") + " → " + (STEP_STATUS[e.to_status] || "—") : "—",
        e.reason || "—",
        e.staff_name || "—",
      ]);
    setView(
      projectCrumbs(project, compound),
      el("h1", { text: project.title }),
      el("p", { class: "muted", text: compound.name + " · " + project.year + " 年度" }),
      el(
        "nav",
        { class: "actions", "aria-label": "项目的其他页面" },
        el("a", { class: "button", href: "#/p/" + projectId + "/consultation" }, "方案征求意见"),
        el("a", { class: "button", href: "#/p/" + projectId + "/funding" }, "资金与居民出资"),
        el("a", { class: "button", href: "#/p/" + projectId + "/management" }, "管理方式"),
        el("a", { class: "button", href: "#/c/" + compound.id + "/organisation" }, "自治组织"),
        el("a", { class: "button", href: "#/p/" + projectId + "/evaluation" }, "绩效评估")
      ),
      el(
        "section",
        { class: "card", "aria-labelledby": "steps-title" },
        el("h2", { id: "steps-title", text: "八个步骤" }),
        el("ol", { class: "timeline" }, project.steps.map((s) => stepItem(s, gates[s.step], s.step === project.current_step)))
      ),
      linksSection(project, await linkChoices(project)),
      el(
        "section",
        { class: "card", "aria-labelledby": "history-title" },
        el("h2", { id: "history-title", text: "变更记录" }),
        history.length ? table("每一次变更：谁、何时、为什么（最新的在前）", ["时间", "步骤", "操作", "状态", "原因", "操作人"], history, "history") : el("p", { class: "muted", text: "还没有记录。" })
      ),
      archiveSection(projectId)
    );
  }

  /** One step of the timeline: its dates and organisation; the current step (the first not
   * done) can be completed, a done step reopened with a reason, any step's plan edited. */
  function stepItem(step, refusal, current) {
    const done = step.status === "done";
    const key = step.step;
    const note = status("step-status-" + key);
    const reason = textarea({ id: "reason-" + key });
    async function act(method, path, body, ok) {
      setStatus(note, "正在提交…", "wait");
      try {
        if (method === "POST") await post("project-steps/" + step.id + path, body);
        else await api(method, "project-steps/" + step.id + path, body);
        setStatus(note, ok, "ok");
        window.setTimeout(() => W.route(), 500);
      } catch (error) {
        setStatus(note, messageOf(error), "error");
      }
    }
    function complete() {
      act("POST", "/complete", { reason: reason.value.trim() }, step.label + "已完成");
    }
    function reopen() {
      if (!reason.value.trim()) {
        setStatus(note, "请填写重新打开的原因", "error");
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return;
      }
      act("POST", "/reopen", { reason: reason.value.trim() }, step.label + "已重新打开");
    }
    const plan = {
      planned_start: input({ type: "date", class: "short", value: step.planned_start || "" }),
      planned_end: input({ type: "date", class: "short", value: step.planned_end || "" }),
      organisation: input({ value: step.organisation || "" }),
    };
    function savePlan() {
      act("PATCH", "", { planned_start: plan.planned_start.value || null, planned_end: plan.planned_end.value || null, organisation: plan.organisation.value.trim() }, step.label + "的计划已保存");
    }
    let action = null;
    if (!done && current) {
      action = [
        refusal ? el("p", { class: "warning", text: "现在还不能完成：" + refusal.message }) : null,
        field("reason-" + key, "说明（可不填）", reason),
        el("p", { class: "actions" }, button("标记完成", complete, "primary")),
      ];
    } else if (done) {
      action = el(
        "details",
        {},
        el("summary", { text: "重新打开这一步" }),
        field("reason-" + key, "重新打开的原因（必填）", reason),
        el("p", { class: "actions" }, button("重新打开", reopen))
      );
    }
    return el(
      "li",
      { class: "timeline-step " + step.status + (current ? " current" : ""), id: "step-" + key, "aria-current": current ? "step" : null },
      el("h3", {}, step.position + ". " + step.label + " ", el("span", { class: "badge " + step.status, text: STEP_STATUS[step.status] || step.status })),
      el(
        "dl",
        { class: "step-facts" },
        el("div", {}, el("dt", { text: "计划" }), el("dd", { text: day(step.planned_start) + " 至 " + day(step.planned_end) })),
        el("div", {}, el("dt", { text: "实际" }), el("dd", { text: day(step.actual_start) + " 至 " + day(step.actual_end) })),
        el("div", {}, el("dt", { text: "责任单位" }), el("dd", { text: step.organisation || "未填写" }))
      ),
      action,
      done
        ? null
        : el(
            "details",
            {},
            el("summary", { text: "修改计划日期和责任单位" }),
            field("planned-start-" + key, "计划开始", plan.planned_start),
            field("planned-end-" + key, "计划完成", plan.planned_end),
            field("organisation-" + key, "责任单位", plan.organisation),
            el("p", { class: "actions" }, button("保存计划", savePlan))
          ),
      note
    );
  }

  /** The compound's votes and surveys not yet linked to the project, for the link form. */
  async function linkChoices(project) {
    const base = "compounds/" + project.compound_id;
    const [votes, surveys] = await Promise.all([all(base + "/votes"), all(base + "/surveys")]);
    const linked = new Set((project.links || []).map((l) => l.kind + ":" + l.target_id));
    const choices = {};
    votes.filter((v) => v.status !== "draft" && !linked.has("vote:" + v.id)).forEach((v) => (choices["vote:" + v.id] = "表决：" + v.title));
    surveys.filter((x) => x.status !== "draft" && !linked.has("survey:" + x.id)).forEach((x) => (choices["survey:" + x.id] = "问卷：" + x.title));
    return choices;
  }

  function linkForm(project, choices) {
    if (!Object.keys(choices).length) return null;
    const note = status("link-status");
    const target = select("link-target", choices, null);
    async function link(event) {
      event.preventDefault();
      const [kind, id] = target.value.split(":");
      setStatus(note, "正在关联…", "wait");
      try {
        await post("projects/" + project.id + "/links", { kind, target_id: Number(id) });
        await W.route();
        W.alertPage("已关联到本项目。");
      } catch (error) {
        setStatus(note, messageOf(error), "error");
      }
    }
    return el(
      "form",
      { novalidate: true, onsubmit: link },
      el("h3", { text: "关联表决或问卷" }),
      el("p", { class: "hint", text: "意愿征询、菜单选择和满意度评价关联后，才计入项目的各步骤、一览表和绩效评估。" }),
      field("link-target", "本小区的表决或问卷", target),
      el("button", { type: "submit", class: "primary" }, "关联到本项目"),
      note
    );
  }

  function linksSection(project, choices) {
    const links = (project.links || []).map((l) => {
      const href = l.kind === "vote" ? "#/v/" + l.target_id + "/tally" : l.kind === "survey" ? "#/s/" + l.target_id : null;
      return [LINK_KINDS[l.kind] || l.kind, href ? el("a", { class: "cell-link", href }, "查看" + (LINK_KINDS[l.kind] || "")) : "已关联（见小区公告栏）", when(l.created_at)];
    });
    const documents = (project.documents || []).map((d) => [
      d.name,
      d.photo === "before" ? "改造前照片" : d.photo === "after" ? "改造后照片" : "文件",
      /^https?:\/\//.test(d.url) ? el("a", { class: "cell-link", href: d.url, rel: "noopener" }, "打开") : d.url,
    ]);
    return el(
      "section",
      { class: "card", "aria-labelledby": "links-title" },
      el("h2", { id: "links-title", text: "关联的表决、问卷、公告和资料" }),
      links.length ? table("关联", ["类型", "内容", "关联时间"], links) : el("p", { class: "muted", text: "还没有关联表决、问卷或公告。" }),
      documents.length ? table("资料和照片", ["名称", "类型", "地址"], documents) : el("p", { class: "muted", text: "还没有登记资料。" }),
      linkForm(project, choices)
    );
  }

  function archiveSection(projectId) {
    const note = status("archive-status");
    const actions = el("p", { class: "actions" });
    let stopped = false;
    W.addTimer(() => (stopped = true));
    async function follow(archive) {
      while (!stopped) {
        const words = ARCHIVE_STATES[archive.status] || archive.status;
        const progress = archive.total ? "（" + archive.done + " / " + archive.total + " 个文件）" : "";
        if (archive.status === "done") {
          setStatus(note, "档案已生成" + progress + "。", "ok");
          fill(actions, button("下载档案（zip）", () => download("project-archives/" + archive.id + "/download", "project-" + projectId + "-archive.zip").catch((e) => setStatus(note, messageOf(e), "error")), "primary"));
          return;
        }
        if (archive.status === "failed") {
          setStatus(note, "档案生成失败：" + (archive.error || "请稍后重试"), "error");
          fill(actions, button("重新生成", start, "primary"));
          return;
        }
        setStatus(note, words + progress + "…", "wait");
        await new Promise((resolve) => window.setTimeout(resolve, 1000));
        archive = await api("GET", "project-archives/" + archive.id);
      }
    }
    async function start() {
      fill(actions);
      setStatus(note, "正在提交…", "wait");
      try {
        await follow(await post("projects/" + projectId + "/archives"));
      } catch (error) {
        setStatus(note, messageOf(error), "error");
        fill(actions, button("重新生成", start, "primary"));
      }
    }
    fill(actions, button("生成档案", start, "primary"));
    return el(
      "section",
      { class: "card", "aria-labelledby": "archive-title" },
      el("h2", { id: "archive-title", text: "档案" }),
      el("p", { text: "把项目的公告、表决和问卷结果、名册、方案与意见处理汇总、资金情况打包成一个 zip 文件，附每个文件的校验值。" }),
      actions,
      note
    );
  }

  // --- #/c/<compound>/organisation: the self-governing organisation and its members ---------

  async function showOrganisation(compoundId) {
    const compound = await W.compoundOf(compoundId);
    let organisation = null;
    try {
      organisation = await api("GET", "compounds/" + compoundId + "/organisation");
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    const members = organisation ? await api("GET", "compounds/" + compoundId + "/organisation/members") : [];
    const orgSummary = summaryBox("org-summary");
    const kind = select("org-kind", ORGANISATION_KINDS, organisation ? organisation.kind : "owners_committee");
    const name = input({ value: organisation ? organisation.name : "" });
    const founded = input({ type: "date", class: "short", value: organisation && organisation.established_on ? organisation.established_on : "" });
    async function save(event) {
      event.preventDefault();
      if (!name.value.trim()) return showErrors(orgSummary, [{ field: "org-name", text: "请填写组织名称" }]);
      showErrors(orgSummary, []);
      try {
        await api("PUT", "compounds/" + compoundId + "/organisation", { kind: kind.value, name: name.value.trim(), established_on: founded.value || null });
        await W.route();
      } catch (error) {
        showErrors(orgSummary, [{ text: messageOf(error) }]);
      }
    }
    const memberSummary = summaryBox("member-summary");
    const memberName = input({ autocomplete: "off" });
    const phone = input({ type: "tel", inputmode: "tel", autocomplete: "off", class: "short" });
    const role = select("member-role", MEMBER_ROLES, "member");
    const account = el("div", { id: "new-account" });
    async function add(event) {
      event.preventDefault();
      const problems = [];
      if (!memberName.value.trim()) problems.push({ field: "member-name", text: "请填写成员姓名" });
      if (["chair", "vice_chair", "secretary"].includes(role.value) && !phone.value.trim()) problems.push({ field: "member-phone", text: "主任、副主任、秘书须填写手机号，用于开通工作账号" });
      showErrors(memberSummary, problems);
      if (problems.length) return;
      try {
        const added = await post("compounds/" + compoundId + "/organisation/members", { name: memberName.value.trim(), phone: phone.value.trim() || null, role: role.value });
        memberName.value = "";
        phone.value = "";
        members.push(added.member);
        fill(list, memberTable(members));
        if (added.account && added.account.created) {
          fill(
            account,
            el(
              "div",
              { class: "panel-ok", role: "alert" },
              el("h3", { text: "已为" + added.member.name + "开通工作账号" }),
              el("p", {}, "用户名：", el("strong", { id: "new-username", text: added.account.username })),
              el("p", {}, "初始密码：", el("strong", { id: "new-password", class: "secret", text: added.account.initial_password })),
              el("p", { text: "密码只显示这一次。请当面交给本人，并提醒首次登录后修改密码。" })
            )
          );
        } else if (added.account) {
          fill(account, el("p", { class: "status ok", role: "status", text: "已关联其现有工作账号 " + added.account.username + "。" }));
        } else fill(account);
      } catch (error) {
        showErrors(memberSummary, [{ text: messageOf(error) }]);
      }
    }
    const list = el("div", {}, memberTable(members));
    setView(
      crumbs(["首页", "#/"], [compound.name + " · 自治组织"]),
      el("h1", { text: "自治组织" }),
      el(
        "form",
        { class: "card", novalidate: true, onsubmit: save, "aria-labelledby": "org-title" },
        el("h2", { id: "org-title", text: organisation ? organisation.name : "登记自治组织" }),
        orgSummary,
        field("org-kind", "组织类型", kind),
        field("org-name", "组织名称", name),
        field("org-founded", "成立日期（可不填）", founded),
        el("button", { type: "submit", class: "primary" }, organisation ? "保存修改" : "登记")
      ),
      organisation
        ? el(
            "section",
            { class: "card", "aria-labelledby": "members-title" },
            el("h2", { id: "members-title", text: "成员" }),
            list,
            account,
            el(
              "form",
              { novalidate: true, onsubmit: add },
              el("h3", { text: "添加成员" }),
              memberSummary,
              field("member-name", "姓名", memberName),
              field("member-role", "职务", role),
              field("member-phone", "手机号", phone, "主任、副主任、秘书必填：将开通或关联业委会工作账号"),
              el("button", { type: "submit", class: "primary" }, "添加成员")
            )
          )
        : null
    );
  }

  function memberTable(members) {
    return members.length
      ? table("成员名单", ["姓名", "职务", "手机号", "工作账号"], members.map((m) => [m.name, m.role_label || MEMBER_ROLES[m.role], m.phone || "—", m.staff_id ? "已开通" : "—"]))
      : el("p", { class: "muted", text: "还没有成员。" });
  }

  // --- #/p/<project>/consultation: the design plan put to the residents ----------------------

  async function showConsultation(projectId) {
    const [project, compound] = await projectAndCompound(projectId);
    let consultation = null;
    try {
      consultation = await api("GET", "projects/" + projectId + "/plan-consultation");
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    const head = [projectCrumbs(project, compound, "方案征求意见"), el("h1", { text: "方案征求意见" })];
    if (!consultation) {
      setView(...head, publishForm(projectId));
      return;
    }
    const comments = await all("plan-consultations/" + consultation.id + "/comments");
    const items = {};
    consultation.items.forEach((i) => (items[i.id] = i.name));
    const itemRows = consultation.items.map((i) => [i.name, yuan(i.cost), yuan(i.residents_part), String(i.support == null ? "—" : i.support), String(i.oppose == null ? "—" : i.oppose)]);
    const summaryNote = status("summary-status");
    async function publishSummary() {
      setStatus(summaryNote, "正在发布…", "wait");
      try {
        await post("plan-consultations/" + consultation.id + "/summary");
        setStatus(summaryNote, "意见处理情况已在小区公告栏公示。", "ok");
        window.setTimeout(() => W.route(), 600);
      } catch (error) {
        setStatus(summaryNote, messageOf(error), "error");
      }
    }
    setView(
      ...head,
      el(
        "section",
        { class: "card", "aria-labelledby": "plan-title" },
        el("h2", { id: "plan-title", text: consultation.title + (consultation.revision ? "（第 " + consultation.revision + " 次修改稿）" : "（征求意见稿）") }),
        el("p", { text: "征求意见期：" + when(consultation.opens_at) + " 至 " + when(consultation.closes_at) + (consultation.open ? "（进行中）" : "（已结束）") }),
        el("p", { text: "总投资 " + yuan(consultation.total_cost) + "，其中居民出资 " + yuan(consultation.residents_total) }),
        table("各改造项目的费用和居民表态", ["改造项目", "费用", "居民出资", "支持户数", "反对户数"], itemRows, "plan-items")
      ),
      el(
        "section",
        { class: "card", "aria-labelledby": "comments-title" },
        el("h2", { id: "comments-title", text: "居民意见（" + comments.length + " 条）" }),
        comments.length ? el("ol", { class: "comment-list" }, comments.map((c) => commentItem(c, items))) : el("p", { class: "muted", text: "还没有居民提出意见。" }),
        el("h3", { text: "公示意见处理情况" }),
        consultation.summary_published_at
          ? el("p", { class: "status ok", text: "已于 " + when(consultation.summary_published_at) + " 公示。处理新意见后可再次发布。" })
          : el("p", { text: "每条意见都处理后，发布到小区公告栏，让居民看到意见是否被采纳、为什么。" }),
        el("p", { class: "actions" }, button("发布意见处理情况", publishSummary, "primary")),
        summaryNote
      ),
      revisionSection(consultation)
    );
  }

  function publishForm(projectId) {
    const summary = summaryBox("publish-summary");
    const title = input({ value: "改造设计方案" });
    const start = new Date();
    const end = new Date(start.getTime() + 7 * 24 * 3600 * 1000);
    const local = (d) => new Date(d.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 16);
    const opens = input({ type: "datetime-local", value: local(start) });
    const closes = input({ type: "datetime-local", value: local(end) });
    const rows = el("div", { id: "plan-rows" });
    let count = 0;
    function addRow() {
      count += 1;
      const n = count;
      rows.appendChild(
        el(
          "fieldset",
          { class: "plan-row" },
          el("legend", { text: "改造项目 " + n }),
          field("item-name-" + n, "名称", input({})),
          field("item-cost-" + n, "费用（元）", input({ inputmode: "decimal", class: "short" })),
          field("item-part-" + n, "其中居民出资（元）", input({ inputmode: "decimal", class: "short", value: "0" }))
        )
      );
    }
    addRow();
    async function publish(event) {
      event.preventDefault();
      const problems = [];
      const items = [];
      for (let n = 1; n <= count; n += 1) {
        const name = document.getElementById("item-name-" + n).value.trim();
        const cost = document.getElementById("item-cost-" + n).value.trim();
        const part = document.getElementById("item-part-" + n).value.trim() || "0";
        if (!name && !cost) continue;
        if (!name) problems.push({ field: "item-name-" + n, text: "请填写改造项目 " + n + " 的名称" });
        if (fen(cost) === null) problems.push({ field: "item-cost-" + n, text: "改造项目 " + n + " 的费用请填写金额，如 120000 或 120000.50" });
        if (fen(part) === null) problems.push({ field: "item-part-" + n, text: "改造项目 " + n + " 的居民出资请填写金额，如 0 或 3000" });
        items.push({ name, cost, residents_part: part });
      }
      if (!items.length) problems.push({ field: "item-name-1", text: "请至少填写一个改造项目" });
      if (!title.value.trim()) problems.push({ field: "plan-title-input", text: "请填写方案标题" });
      showErrors(summary, problems);
      if (problems.length) return;
      try {
        await post("projects/" + projectId + "/plan-consultation", {
          title: title.value.trim(),
          opens_at: opens.value + ":00+08:00",
          closes_at: closes.value + ":00+08:00",
          items,
        });
        await W.route();
      } catch (error) {
        showErrors(summary, [{ text: messageOf(error) }]);
      }
    }
    return el(
      "form",
      { class: "card", novalidate: true, onsubmit: publish, "aria-labelledby": "publish-title" },
      el("h2", { id: "publish-title", text: "发布设计方案，征求居民意见" }),
      el("p", { text: "列出每个改造项目的费用和其中由居民出资的部分。发布后方案会出现在小区公告栏，居民可逐项表示支持或反对并提出意见。" }),
      summary,
      field("plan-title-input", "方案标题", title),
      field("plan-opens", "征求意见开始时间（北京时间）", opens),
      field("plan-closes", "征求意见截止时间（北京时间）", closes),
      rows,
      el("p", { class: "actions" }, button("再加一个改造项目", addRow)),
      el("button", { type: "submit", class: "primary" }, "发布方案")
    );
  }

  function commentItem(comment, items) {
    const key = "c" + comment.id;
    const note = status("handling-status-" + comment.id);
    const reason = textarea({ id: "handling-reason-" + comment.id });
    const choices = el(
      "fieldset",
      { class: "field" },
      el("legend", { text: "处理结果" }),
      Object.entries(HANDLING).map(([value, label]) =>
        el("div", { class: "choice" }, el("input", { type: "radio", name: key, id: key + "-" + value, value, checked: comment.handling === value }), el("label", { for: key + "-" + value, text: label }))
      )
    );
    async function save() {
      const chosen = choices.querySelector("input:checked");
      if (!chosen) return setStatus(note, "请选择处理结果：采纳、部分采纳或不采纳", "error");
      if (chosen.value !== "adopted" && !reason.value.trim()) {
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return setStatus(note, "部分采纳或不采纳时，请写明理由", "error");
      }
      reason.removeAttribute("aria-invalid");
      setStatus(note, "正在保存…", "wait");
      try {
        await post("plan-comments/" + comment.id + "/handling", { handling: chosen.value, reason: reason.value.trim() });
        setStatus(note, "已记录：" + HANDLING[chosen.value], "ok");
      } catch (error) {
        setStatus(note, messageOf(error), "error");
      }
    }
    reason.value = comment.reason || "";
    return el(
      "li",
      { class: "comment", id: "comment-" + comment.id },
      el("p", { class: "muted", text: comment.room + " · " + when(comment.created_at) + " · " + (comment.item_id ? "针对：" + (items[comment.item_id] || "") : "对整体方案") }),
      el("blockquote", { text: comment.text }),
      choices,
      field("handling-reason-" + comment.id, "理由（部分采纳、不采纳时必填）", reason),
      el("p", { class: "actions" }, button("保存处理结果", save)),
      note
    );
  }

  function revisionSection(consultation) {
    const summary = summaryBox("revision-summary");
    const changes = textarea({});
    const reviewer = input({});
    const reviewed = input({ type: "date", class: "short" });
    const conclusion = textarea({});
    async function record(event) {
      event.preventDefault();
      const problems = [];
      if (!reviewer.value.trim()) problems.push({ field: "revision-reviewer", text: "请填写审查单位" });
      if (!reviewed.value) problems.push({ field: "revision-date", text: "请填写审查日期" });
      if (!conclusion.value.trim()) problems.push({ field: "revision-conclusion", text: "请填写审查结论" });
      showErrors(summary, problems);
      if (problems.length) return;
      const items = consultation.items.map((i) => ({ name: i.name, description: i.description || "", cost: i.cost, residents_part: i.residents_part }));
      try {
        await post("plan-consultations/" + consultation.id + "/revision", { items, changes: changes.value.trim(), reviewer: reviewer.value.trim(), reviewed_on: reviewed.value, conclusion: conclusion.value.trim() });
        await W.route();
      } catch (error) {
        showErrors(summary, [{ text: messageOf(error) }]);
      }
    }
    const reviews = (consultation.reviews || []).map((r) => ["第 " + r.revision + " 次修改", r.changes || "—", r.reviewer, r.reviewed_on, r.conclusion]);
    return el(
      "section",
      { class: "card", "aria-labelledby": "revision-title" },
      el("h2", { id: "revision-title", text: "修改后的方案和审查" }),
      reviews.length ? table("方案的修改和审查", ["版本", "主要修改", "审查单位", "审查日期", "结论"], reviews) : el("p", { class: "muted", text: "还没有登记修改稿。" }),
      el(
        "form",
        { novalidate: true, onsubmit: record },
        el("p", { class: "hint", text: "按现有各项目的费用登记修改稿；费用有变化时请先与设计单位核对。" }),
        summary,
        field("revision-changes", "主要修改", changes),
        field("revision-reviewer", "审查单位", reviewer),
        field("revision-date", "审查日期", reviewed),
        field("revision-conclusion", "审查结论", conclusion),
        el("button", { type: "submit", class: "primary" }, "登记修改稿和审查")
      )
    );
  }

  // --- #/p/<project>/funding: the money by source, households' dues and payments ------------

  async function showFunding(projectId) {
    const [project, compound] = await projectAndCompound(projectId);
    const funding = await api("GET", "projects/" + projectId + "/funding");
    const head = [projectCrumbs(project, compound, "资金与居民出资"), el("h1", { text: "资金与居民出资" })];
    if (funding.plan_total == null) {
      setView(...head, el("p", { class: "card", text: "还没有发布设计方案，无法登记资金来源。请先在“方案征求意见”中发布方案。" }));
      return;
    }
    const current = {};
    (funding.sources || []).forEach((s) => (current[s.source] = s.amount));
    const summary = summaryBox("funding-summary");
    const inputs = {};
    const live = el("p", { id: "funding-difference", class: "status", role: "status", "aria-live": "polite" });
    const total = fen(funding.plan_total);
    function recount() {
      let sum = 0;
      let bad = false;
      Object.values(inputs).forEach((node) => {
        if (!node.value.trim()) return;
        const value = fen(node.value);
        if (value === null) bad = true;
        else sum += value;
      });
      if (bad) return setStatus(live, "有金额填写不正确（只能是数字，最多两位小数）", "error");
      const gap = total - sum;
      if (gap === 0) setStatus(live, "各来源合计 " + money(sum) + " 元，与方案总投资相等。", "ok");
      else setStatus(live, "各来源合计 " + money(sum) + " 元，" + (gap > 0 ? "还差 " + money(gap) : "多出 " + money(-gap)) + " 元。", "error");
    }
    const rows = Object.entries(SOURCES).map(([source, label]) => {
      inputs[source] = input({ inputmode: "decimal", class: "short", value: current[source] || "", oninput: recount });
      return field("fund-" + source, label + "（元）", inputs[source]);
    });
    recount();
    async function save(event) {
      event.preventDefault();
      const problems = [];
      const sources = [];
      Object.entries(inputs).forEach(([source, node]) => {
        if (!node.value.trim()) return;
        if (fen(node.value) === null) problems.push({ field: "fund-" + source, text: SOURCES[source] + "请填写金额，如 50000 或 50000.50" });
        else sources.push({ source, amount: node.value.trim() });
      });
      if (!sources.length && !problems.length) problems.push({ field: "fund-central_provincial", text: "请至少填写一项资金来源" });
      showErrors(summary, problems);
      if (problems.length) return;
      try {
        await api("PUT", "projects/" + projectId + "/funding", { sources });
        await W.route();
        W.alertPage("资金来源已保存。");
      } catch (error) {
        showErrors(summary, [{ field: error.code === "residents_part_mismatch" ? "fund-residents" : null, text: messageOf(error) }]);
      }
    }
    let households = [];
    let householdsNote = null;
    try {
      households = await api("GET", "projects/" + projectId + "/households");
    } catch (error) {
      householdsNote = messageOf(error);
    }
    setView(
      ...head,
      el(
        "dl",
        { class: "figures" },
        el("div", {}, el("dt", { text: "方案总投资" }), el("dd", { text: yuan(funding.plan_total) })),
        el("div", {}, el("dt", { text: "各来源合计" }), el("dd", { text: yuan(funding.funded_total) + (funding.reconciled ? "（已平衡）" : "（未平衡）") })),
        el("div", {}, el("dt", { text: "居民应出资" }), el("dd", { text: yuan(funding.residents_due) })),
        el("div", {}, el("dt", { text: "居民已缴 / 未缴" }), el("dd", { text: yuan(funding.residents_collected) + " / " + yuan(funding.residents_outstanding) }))
      ),
      el(
        "form",
        { class: "card", novalidate: true, onsubmit: save, "aria-labelledby": "sources-title" },
        el("h2", { id: "sources-title", text: "资金来源" }),
        el("p", { text: "各来源合计须与方案总投资 " + yuan(funding.plan_total) + " 完全相等；居民出资须等于方案中的居民出资 " + yuan(funding.residents_due) + "。不涉及的来源留空。" }),
        summary,
        rows,
        live,
        el("button", { type: "submit", class: "primary" }, "保存资金来源")
      ),
      householdsSection(projectId, households, householdsNote)
    );
  }

  function householdsSection(projectId, households, problem) {
    if (problem) return el("section", { class: "card" }, el("h2", { text: "各户出资" }), el("p", { class: "muted", text: problem }));
    const summary = summaryBox("collection-summary");
    const dwelling = el("select", { id: "collection-dwelling" }, households.map((h) => el("option", { value: String(h.dwelling_id) }, h.label + "（未缴 " + h.outstanding + " 元）")));
    const amount = input({ inputmode: "decimal", class: "short" });
    const paid = input({ type: "date", class: "short", value: new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10) });
    const method = select("collection-method", { cash: "现金", transfer: "银行转账", wechat: "微信", alipay: "支付宝", other: "其他" }, "cash");
    const reference = input({ class: "short" });
    async function record(event) {
      event.preventDefault();
      const problems = [];
      if (!fen(amount.value)) problems.push({ field: "collection-amount", text: "请填写缴款金额，如 1200 或 1200.50" });
      if (!paid.value) problems.push({ field: "collection-date", text: "请填写缴款日期" });
      showErrors(summary, problems);
      if (problems.length) return;
      try {
        await post("projects/" + projectId + "/collections", { dwelling_id: Number(dwelling.value), amount: amount.value.trim(), paid_on: paid.value, method: method.value, reference: reference.value.trim() });
        await W.route();
        W.alertPage("缴款已登记。");
      } catch (error) {
        showErrors(summary, [{ text: messageOf(error) }]);
      }
    }
    return el(
      "section",
      { class: "card", "aria-labelledby": "households-title" },
      el("h2", { id: "households-title", text: "各户出资" }),
      households.length
        ? el(
            "form",
            { novalidate: true, onsubmit: record },
            el("h3", { text: "登记一笔缴款" }),
            summary,
            field("collection-dwelling", "房屋", dwelling),
            field("collection-amount", "金额（元）", amount),
            field("collection-date", "缴款日期", paid),
            field("collection-method", "缴款方式", method),
            field("collection-reference", "票据号（可不填）", reference),
            el("button", { type: "submit", class: "primary" }, "登记缴款")
          )
        : null,
      el(
        "details",
        { class: "households-details" },
        el("summary", { text: "各户应缴、已缴、未缴（" + households.length + " 户，未缴清 " + households.filter((h) => Number(h.outstanding) > 0).length + " 户）" }),
        table("各户应缴、已缴、未缴（按面积分摊）", ["房屋", "面积", "应缴", "已缴", "未缴"], households.map((h) => [h.label, h.area + " m²", yuan(h.due), yuan(h.collected), yuan(h.outstanding)]), "households")
      )
    );
  }

  // --- #/p/<project>/management: the management mode the owners chose ----------------------

  async function showManagement(projectId) {
    const [project, compound] = await projectAndCompound(projectId);
    let recorded = null;
    try {
      recorded = await api("GET", "projects/" + projectId + "/management");
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    const [votes, surveys] = await Promise.all([all("compounds/" + compound.id + "/votes"), all("compounds/" + compound.id + "/surveys")]);
    const campaigns = {};
    votes.filter((v) => v.status === "final").forEach((v) => (campaigns["vote:" + v.id] = "表决：" + v.title));
    surveys.filter((s) => ["closed", "published", "final"].includes(s.status)).forEach((s) => (campaigns["survey:" + s.id] = "问卷：" + s.title));
    const summary = summaryBox("management-summary");
    const mode = select("management-mode", MODES, recorded ? recorded.mode : "professional");
    const campaign = select("management-campaign", campaigns, null);
    async function save(event) {
      event.preventDefault();
      if (!campaign.value) return showErrors(summary, [{ field: "management-campaign", text: "请选择业主作出选择的表决或问卷" }]);
      showErrors(summary, []);
      const [kind, id] = campaign.value.split(":");
      try {
        await api("PUT", "projects/" + projectId + "/management", { mode: mode.value, [kind + "_id"]: Number(id) });
        await W.route();
      } catch (error) {
        showErrors(summary, [{ field: "management-campaign", text: messageOf(error) }]);
      }
    }
    const result = recorded && recorded.result;
    setView(
      projectCrumbs(project, compound, "管理方式"),
      el("h1", { text: "改造后的管理方式" }),
      recorded
        ? el(
            "section",
            { class: "card panel-ok" },
            el("h2", { text: "已登记：" + (recorded.label || MODES[recorded.mode]) }),
            result ? el("p", { text: "依据：" + result.title + (result.passed === true ? "（表决通过）" : "") }) : null,
            result && result.options ? table("各管理方式的选择人数", ["管理方式", "人数"], result.options.map((o) => [o.label, String(o.count)])) : null,
            el("p", { class: "muted", text: "登记于 " + when(recorded.recorded_at) })
          )
        : null,
      el(
        "form",
        { class: "card", novalidate: true, onsubmit: save },
        el("h2", { text: recorded ? "重新登记" : "登记管理方式" }),
        el("p", { text: "管理方式须由业主通过表决或问卷决定，且结果已经生效。" }),
        summary,
        field("management-mode", "管理方式", mode),
        Object.keys(campaigns).length ? field("management-campaign", "依据的表决或问卷", campaign) : el("p", { class: "warning", text: "本小区还没有已结束的表决或问卷。" }),
        el("button", { type: "submit", class: "primary" }, "登记")
      )
    );
  }

  // --- #/p/<project>/evaluation: the printable 绩效评估 report --------------------------------

  function rateBars(caption, rows) {
    return el(
      "figure",
      { class: "chart" },
      el("figcaption", { text: caption }),
      rows.map((r) =>
        r.rate && r.rate.denominator
          ? bar(r.label, r.rate.numerator, r.rate.denominator)
          : el("div", { class: "bar-row" }, el("span", { class: "bar-label", text: r.label }), el("span", { class: "muted", text: "暂无有效评价" }))
      )
    );
  }

  async function showEvaluation(projectId) {
    const [project, compound] = await projectAndCompound(projectId);
    const report = await api("GET", "projects/" + projectId + "/evaluation");
    const s = report.satisfaction;
    const c = report.complaints;
    const steps = report.steps.map((x) => [x.label, STEP_STATUS[x.status] || x.status, x.organisation || "—", day(x.planned_start) + " 至 " + day(x.planned_end), day(x.actual_start) + " 至 " + day(x.actual_end), x.delay_days == null ? "—" : x.delay_days > 0 ? "延误 " + x.delay_days + " 天" : x.delay_days < 0 ? "提前 " + -x.delay_days + " 天" : "按期"]);
    const rateRow = (name, r) => [name, r.rate ? percent(r.rate) : "—", String(r.counts.satisfied), String(r.counts.basic), String(r.counts.dissatisfied), String(r.counts.unknown)];
    const satisfaction = s
      ? [
          el("p", { class: s.overall.passed ? "verdict ok" : "verdict", text: "总体满意率 " + percent(s.overall.rate) + "（达标线 " + s.threshold + "%，" + s.responses + " 份答卷）" }),
          rateBars("分维度满意率（数字见下表）", s.dimensions.map((d) => ({ label: d.dimension, rate: d.rate }))),
          table("分维度", ["维度", "满意率", "满意", "基本满意", "不满意", "不了解"], s.dimensions.map((d) => rateRow(d.dimension, d)), "by-dimension"),
          s.buildings.length ? rateBars("分楼栋满意率", s.buildings.map((b) => ({ label: b.name, rate: b.rate }))) : null,
          s.buildings.length ? table("分楼栋", ["楼栋", "满意率", "满意", "基本满意", "不满意", "不了解"], s.buildings.map((b) => rateRow(b.name, b)), "by-building") : null,
          s.items && s.items.length ? table("分改造项目", ["改造项目", "满意率", "满意", "基本满意", "不满意", "不了解"], s.items.map((i) => rateRow(i.name, i)), "by-item") : null,
        ]
      : [el("p", { class: "muted", text: "还没有关联已结束的满意度问卷。" })];
    const note = status("evaluation-status");
    setView(
      el("div", { class: "no-print" }, projectCrumbs(project, compound, "绩效评估")),
      el("h1", { text: "绩效评估报告" }),
      el("p", { class: "report-meta", text: report.compound + " · " + report.title + " · " + report.year + " 年度" }),
      el(
        "p",
        { class: "actions no-print" },
        button("打印", () => window.print(), "primary"),
        button("下载 Excel", () => download("projects/" + projectId + "/evaluation.xlsx", "project-" + projectId + "-evaluation.xlsx").catch((e) => setStatus(note, messageOf(e), "error")))
      ),
      note,
      el("section", { class: "card report", "aria-labelledby": "satisfaction-title" }, el("h2", { id: "satisfaction-title", text: "居民满意度" }), satisfaction),
      el(
        "section",
        { class: "card report", "aria-labelledby": "complaints-title" },
        el("h2", { id: "complaints-title", text: "投诉和建议" }),
        el("p", { class: "hint", text: "统计关联到本项目的，以及项目实施开始至项目验收完成期间本小区提出的投诉和建议。" }),
        el(
          "dl",
          { class: "figures" },
          [
            ["投诉", c.complaints],
            ["建议", c.suggestions],
            ["已办结", c.handled],
            ["未办结", c.open],
            ["逾期", c.overdue],
            ["平均评分（1–5）", c.average_rating == null ? "—" : c.average_rating + "（" + c.rated + " 人评价）"],
          ].map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: String(v) })))
        )
      ),
      el("section", { class: "card report", "aria-labelledby": "dates-title" }, el("h2", { id: "dates-title", text: "计划与实际" }), table("各步骤计划与实际日期", ["步骤", "状态", "责任单位", "计划", "实际", "与计划相比"], steps, "dates"))
    );
  }

  // --- #/overview: the district view ----------------------------------------------------------

  const OVERVIEW_COLUMNS = [
    ["compound", "小区"],
    ["year", "年度"],
    ["step", "当前步骤"],
    ["consent", "同意率"],
    ["menu", "采纳项目数"],
    ["complaints_open", "未办结投诉"],
    ["complaints_overdue", "逾期投诉"],
    ["satisfaction", "满意度"],
  ];
  const PAGE_SIZE = 20;
  const overviewState = { sort: "compound", order: "asc", page: 1 };

  async function showOverview() {
    const query = "sort=" + overviewState.sort + "&order=" + overviewState.order;
    const answer = await api("GET", "project-overview?" + query + "&page_size=" + PAGE_SIZE + "&page=" + overviewState.page, undefined, { full: true });
    let info = {};
    try {
      info = JSON.parse(answer.headers.get("X-Pagination") || "{}");
    } catch (e) {
      info = {};
    }
    const rows = answer.data || [];
    const note = status("overview-status");
    function sortBy(key) {
      return () => {
        if (overviewState.sort === key) overviewState.order = overviewState.order === "asc" ? "desc" : "asc";
        else Object.assign(overviewState, { sort: key, order: "asc" });
        overviewState.page = 1;
        W.route().then(() => {
          const again = document.getElementById("sort-" + key);
          if (again) again.focus();
        });
      };
    }
    const head = el(
      "tr",
      {},
      OVERVIEW_COLUMNS.map(([key, label]) => {
        const sorted = overviewState.sort === key;
        return el(
          "th",
          { scope: "col", "aria-sort": sorted ? (overviewState.order === "asc" ? "ascending" : "descending") : "none" },
          el("button", { type: "button", class: "sort", id: "sort-" + key, onclick: sortBy(key) }, label + (sorted ? (overviewState.order === "asc" ? " ▲" : " ▼") : ""))
        );
      })
    );
    const body = rows.map((r) =>
      el(
        "tr",
        {},
        [
          el("a", { class: "cell-link", href: "#/p/" + r.project_id }, r.compound),
          String(r.year),
          r.current_step_label,
          r.consent ? percent(r.consent) : "—",
          r.menu_adopted == null ? "—" : String(r.menu_adopted),
          String(r.complaints_open),
          String(r.complaints_overdue),
          r.satisfaction ? percent(r.satisfaction) : "—",
        ].map((cell, i) => el("td", { "data-label": OVERVIEW_COLUMNS[i][1] }, cell))
      )
    );
    const pages = info.total_pages || 1;
    const go = (page) => () => {
      overviewState.page = page;
      W.route();
    };
    const image = el("img", { id: "overview-chart", alt: "各步骤的项目数柱状图（数字见上表）", hidden: true });
    setView(
      crumbs(["首页", "#/"], ["改造项目一览"]),
      el("h1", { text: "改造项目一览" }),
      el("p", { class: "muted", text: "您负责范围内的全部改造项目，共 " + (info.total || 0) + " 个。点击表头排序。投诉只计关联到项目的，以及项目实施开始至项目验收完成期间提出的。" }),
      el(
        "p",
        { class: "actions" },
        button("下载 Excel", () => download("project-overview.xlsx?" + query, "project-overview.xlsx").catch((e) => setStatus(note, messageOf(e), "error")), "primary")
      ),
      note,
      el(
        "div",
        { class: "table-wrap sortable" },
        el("table", { class: "overview" }, el("caption", { text: "改造项目（第 " + overviewState.page + " / " + pages + " 页）" }), el("thead", {}, head), el("tbody", {}, body))
      ),
      rows.length ? null : el("p", { class: "muted", text: "范围内还没有改造项目。" }),
      pages > 1
        ? el(
            "nav",
            { class: "actions", "aria-label": "翻页" },
            overviewState.page > 1 ? button("上一页", go(overviewState.page - 1)) : null,
            overviewState.page < pages ? button("下一页", go(overviewState.page + 1)) : null
          )
        : null,
      el("figure", { class: "chart card" }, el("figcaption", { text: "各步骤的项目数（数字见上表的“当前步骤”）" }), image)
    );
    api("GET", "project-overview/chart.png", undefined, { blob: true })
      .then((blob) => {
        image.src = URL.createObjectURL(blob);
        image.hidden = false;
      })
      .catch((error) => setStatus(note, "图表暂时无法显示：" + messageOf(error), "error"));
  }

  W.addRoutes([
    [/^#\/overview$/, () => showOverview()],
    [/^#\/c\/(\d+)\/project$/, (m) => showCompoundProject(+m[1])],
    [/^#\/c\/(\d+)\/organisation$/, (m) => showOrganisation(+m[1])],
    [/^#\/p\/(\d+)$/, (m) => showProject(+m[1])],
    [/^#\/p\/(\d+)\/consultation$/, (m) => showConsultation(+m[1])],
    [/^#\/p\/(\d+)\/funding$/, (m) => showFunding(+m[1])],
    [/^#\/p\/(\d+)\/management$/, (m) => showManagement(+m[1])],
    [/^#\/p\/(\d+)\/evaluation$/, (m) => showEvaluation(+m[1])],
  ]);
})();
