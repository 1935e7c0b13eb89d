// MERIDIAN Provider Connect: the sandbox single-page app. The server substitutes the layout object below
// (element ids and classes of layout 1 or 2); structural differences branch on L.version.
(function () {
  "use strict";
  const L = /*LAYOUT*/ {};
  const TOKEN_KEY = "meridian.token";
  const CONSENT_KEY = "meridian.consent";
  const PAGE_SIZE = 10;
  const app = document.getElementById("app");

  const h = (text) => String(text == null ? "" : text).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const money = (n) => "$" + Number(n).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const day = (iso) => {
    if (!iso) return "";
    const [y, m, d] = iso.split("-");
    return MONTHS[Number(m) - 1] + " " + Number(d) + ", " + y;
  };

  // --- API ------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) { super(body.message || body.error || "error"); this.status = status; this.body = body; }
  }
  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = {};
    try { data = await res.json(); } catch (e) { data = { error: "bad_response" }; }
    if (res.ok) return data;
    if (res.status === 401 && data.error === "session_expired") {
      localStorage.removeItem(TOKEN_KEY);
      showLogin("Your session has expired. Please sign in again.");
    } else if (res.status === 403 && data.error === "second_factor_required") {
      showMfa("Please verify it's you.");
    } else if (res.status === 429) {
      notice(L.rateLimited, "You're going too fast. Wait a moment and try again.");
    } else if (res.status === 503 && data.error === "maintenance") {
      app.innerHTML = `<div id="${L.maintenance}" class="panel">Provider Connect is down for maintenance. Please come back later.</div>`;
    } else if (res.status >= 500) {
      notice(L.serverError, "Something went wrong on our side.");
    }
    throw new ApiError(res.status, data);
  }
  function notice(id, text) {
    let el = document.getElementById(id);
    if (!el) { el = document.createElement("div"); el.id = id; el.className = "toast"; document.body.appendChild(el); }
    el.textContent = text;
  }

  // --- overlays -------------------------------------------------------------------------------
  function consentBanner() {
    if (localStorage.getItem(CONSENT_KEY)) return;
    const overlay = document.createElement("div");
    overlay.className = "overlay consent-overlay";
    overlay.innerHTML = `<div id="${L.consent}" class="consent" role="dialog" aria-label="Cookies">
      <p>We use cookies to keep you signed in and to improve Provider Connect.</p>
      <button id="${L.consentAccept}" type="button">Accept all</button>
      <button id="${L.consentReject}" type="button">Only necessary</button></div>`;
    document.body.appendChild(overlay);
    overlay.querySelectorAll("button").forEach((b) => b.addEventListener("click", () => {
      localStorage.setItem(CONSENT_KEY, b.id === L.consentAccept ? "all" : "necessary");
      overlay.remove();
    }));
  }
  function whatsNew() {
    const overlay = document.createElement("div");
    overlay.className = "overlay";
    overlay.innerHTML = `<div id="${L.whatsNew}" class="modal" role="dialog" aria-modal="true">
      <h2>What's new in Provider Connect</h2>
      <ul><li>Faster claim search</li><li>Eligibility now shows out-of-pocket amounts</li></ul>
      <button id="${L.whatsNewClose}" type="button">Got it</button></div>`;
    document.body.appendChild(overlay);
    overlay.querySelector("button").addEventListener("click", () => overlay.remove());
  }

  // --- signing in -----------------------------------------------------------------------------
  function showLogin(message) {
    app.innerHTML = `<div class="panel"><h1>Sign in to Provider Connect</h1>
      <div id="${L.loginError}" class="error" ${message ? "" : "hidden"}>${h(message)}</div>
      <form id="${L.loginForm}"><label>Email <input id="${L.loginUser}" type="email" autocomplete="username"></label>
      <label>Password <input id="${L.loginPassword}" type="password"></label>
      <button id="${L.loginButton}" type="submit">Sign in</button></form></div>`;
    document.getElementById(L.loginForm).addEventListener("submit", async (ev) => {
      ev.preventDefault();
      localStorage.removeItem(TOKEN_KEY);
      try {
        const res = await api("POST", "/api/session", {
          username: document.getElementById(L.loginUser).value,
          password: document.getElementById(L.loginPassword).value,
        });
        localStorage.setItem(TOKEN_KEY, res.token);
        showMfa("");
      } catch (err) {
        if (err.status < 500) showLogin(err.body.message || "Sign-in failed.");
      }
    });
  }
  function showMfa(message) {
    app.innerHTML = `<div class="panel"><h1>Verify it's you</h1><p>Enter the code from your authenticator app.</p>
      <div id="${L.mfaError}" class="error" ${message ? "" : "hidden"}>${h(message)}</div>
      <form id="${L.mfaForm}"><input id="${L.mfaCode}" inputmode="numeric" maxlength="6" autocomplete="one-time-code">
      <button id="${L.mfaButton}" type="submit">Verify</button></form></div>`;
    document.getElementById(L.mfaForm).addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api("POST", "/api/session/verify", { code: document.getElementById(L.mfaCode).value });
        route();
        whatsNew();
      } catch (err) {
        if (err.status === 401 && err.body.error === "invalid_code") showMfa("That code didn't work. Try again.");
      }
    });
  }

  // --- signed-in views ------------------------------------------------------------------------
  function shell(content) {
    const nav = `<a id="${L.navSearch}" href="#/search">Claims</a><a id="${L.navEligibility}" href="#/eligibility">Eligibility</a>
      <a id="${L.navLogout}" href="#/logout">Sign out</a>`;
    app.innerHTML = L.version === 2
      ? `<div class="layout-v2"><div class="topline"><span class="logo">Meridian Connect</span></div>
         <div class="body"><aside class="rail">${nav}</aside><section class="content">${content}</section></div></div>`
      : `<header class="bar"><span class="logo">Meridian Mutual · Provider Connect</span><nav>${nav}</nav></header>
         <main class="content">${content}</main>`;
  }

  function showSearch(params) {
    shell(`<h1>Claims</h1><form id="${L.searchForm}" class="search">
      <label>Claim number <input id="${L.searchClaim}" name="q" value="${h(params.get("q"))}"></label>
      <label>Member ID <input id="${L.searchMember}" name="member_id" value="${h(params.get("member_id"))}"></label>
      <label>Date of service <input id="${L.searchDos}" name="dos" type="date" value="${h(params.get("dos"))}"></label>
      <label>From <input id="${L.searchFrom}" name="from" type="date" value="${h(params.get("from"))}"></label>
      <label>To <input id="${L.searchTo}" name="to" type="date" value="${h(params.get("to"))}"></label>
      <button id="${L.searchButton}" type="submit">Search</button></form><div id="${L.results}"></div>`);
    document.getElementById(L.searchForm).addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const el of ev.target.querySelectorAll("input")) if (el.value) q.set(el.name, el.value);
      location.hash = "#/search?" + q.toString();
    });
    if ([...params.keys()].length) loadResults(params, 0);
  }

  async function loadResults(params, offset) {
    const box = document.getElementById(L.results);
    const more = document.getElementById(L.loadMore);
    if (more) more.remove();
    const spinner = document.createElement("div");
    spinner.className = "loading";
    spinner.textContent = "Loading claims…";
    box.appendChild(spinner);
    await new Promise((resolve) => setTimeout(resolve, 150));  // results arrive lazily, like the real thing
    const q = new URLSearchParams(params);
    q.set("offset", offset);
    q.set("limit", PAGE_SIZE);
    let data;
    try { data = await api("GET", "/api/claims?" + q.toString()); } catch (err) { spinner.remove(); return; }
    spinner.remove();
    if (data.total === 0) {
      box.innerHTML = `<div id="${L.resultsEmpty}" class="empty">We couldn't find any claims that match.</div>`;
      return;
    }
    let list = box.querySelector("." + L.resultList);
    if (!list) {
      box.insertAdjacentHTML("beforeend", `<p id="${L.resultsCount}">${data.total} claims</p>` +
        (L.version === 2 ? `<ul class="${L.resultList}"></ul>` : `<div class="${L.resultList}"></div>`));
      list = box.querySelector("." + L.resultList);
    }
    list.insertAdjacentHTML("beforeend", data.items.map(card).join(""));
    box.dataset.loaded = String(offset + data.items.length);
    if (offset + data.items.length < data.total) {
      box.insertAdjacentHTML("beforeend", `<button id="${L.loadMore}" type="button">Show more claims</button>`);
      document.getElementById(L.loadMore).addEventListener("click", () => loadResults(params, offset + PAGE_SIZE));
    }
  }

  function badge(status) {
    return `<span class="${L.badge} badge-${h(status.badge.toLowerCase().replace(/ /g, "-"))}">${h(status.badge)}</span>
      <span class="${L.statusCodes}">${h(status.category)} · ${h(status.code)}</span>`;
  }

  function card(c) {
    const link = `<a class="${L.openClaim}" href="#/claims/${h(c.key)}">${h(c.claim_number)}</a>`;
    const facts = `<div class="${L.cardPatient}">${h(c.patient_name)}</div><div class="${L.cardDos}">${day(c.service_date)}</div>
      <div class="${L.cardBilled}">Billed ${money(c.billed)}</div><div class="${L.cardPaid}">Paid ${money(c.paid)}</div>`;
    if (L.version === 2) {
      return `<li class="${L.card}"><div class="claim-item__main">${link} ${facts}</div>
        <footer class="${L.cardStatus}">${badge(c.status)}</footer></li>`;
    }
    return `<div class="${L.card}"><div class="${L.cardStatus}">${badge(c.status)}</div>${link}${facts}</div>`;
  }

  async function showClaim(key) {
    shell(`<div class="loading">Loading claim…</div>`);
    let c;
    try { c = await api("GET", "/api/claims/" + encodeURIComponent(key)); } catch (err) { return; }
    const pay = c.payment;
    const facts = [
      ["claimNumber", "Claim number", c.claim_number], ["payerClaimNumber", "Payer claim number", c.payer_claim_number || "—"],
      ["patient", "Patient", c.patient_name], ["memberId", "Member ID", c.member_id],
      ["serviceDates", "Dates of service", day(c.service_date_from) + (c.service_date_to !== c.service_date_from ? " – " + day(c.service_date_to) : "")],
      ["received", "Received", day(c.received_date)], ["processed", "Processed", day(c.processed_date)],
      ["billed", "Billed", money(c.billed)], ["allowed", "Allowed", money(c.allowed)], ["paid", "Paid", money(c.paid)],
      ["patientResponsibility", "Patient owes", money(c.patient_responsibility)],
      ["paymentNumber", pay && pay.method === "CHK" ? "Check number" : "EFT trace number", pay ? pay.number : "—"],
      ["paymentDate", "Payment date", pay ? day(pay.date) : "—"],
    ];
    if (c.rejection_reason) facts.push(["rejection", "Rejection reason", c.rejection_reason]);
    const factHtml = facts.map(([k, label, v]) => L.version === 2
      ? `<div class="fact"><span class="fact__label">${h(label)}</span><span class="fact__value" data-qa="${k}">${h(v)}</span></div>`
      : `<tr><th>${h(label)}</th><td id="${L.detailPrefix}${k}">${h(v)}</td></tr>`).join("");
    const reasons = c.adjustments.map((a) => `<tr class="${L.reasonRow}"><td>${a.line}</td><td class="grp">${h(a.group)}</td>
      <td class="carc">${h(a.carc)}</td><td class="rarc">${h(a.rarc || "")}</td><td>${h(a.description)}</td><td>${money(a.amount)}</td></tr>`).join("");
    const reasonTable = reasons ? `<h2>Adjustments &amp; denial reasons</h2><table id="${L.reasons}"><thead><tr><th>Line</th>
      <th>Group</th><th>CARC</th><th>RARC</th><th>Description</th><th>Amount</th></tr></thead><tbody>${reasons}</tbody></table>` : "";
    const status = `<div id="${L.detailStatus}" class="status">${badge(c.status)}<span class="status-label">${h(c.status.label)}</span></div>`;
    shell(L.version === 2
      ? `<div id="${L.detail}"><h1>Claim ${h(c.claim_number)}</h1><div class="facts">${factHtml}</div>${reasonTable}${status}</div>`
      : `<div id="${L.detail}"><h1>Claim ${h(c.claim_number)}</h1>${status}<table class="facts">${factHtml}</table>${reasonTable}</div>`);
  }

  function showEligibility(params) {
    shell(`<h1>Eligibility &amp; benefits</h1><form id="${L.eligForm}">
      <label>Member ID <input id="${L.eligMember}" name="member_id" value="${h(params.get("member_id"))}"></label>
      <label>Date of birth <input id="${L.eligDob}" name="dob" type="date" value="${h(params.get("dob"))}"></label>
      <label>As of <input id="${L.eligDate}" name="as_of" type="date" value="${h(params.get("as_of"))}"></label>
      <button id="${L.eligButton}" type="submit">Check</button></form><div id="${L.eligResult}"></div>`);
    document.getElementById(L.eligForm).addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const el of ev.target.querySelectorAll("input")) if (el.value) q.set(el.name, el.value);
      location.hash = "#/eligibility?" + q.toString();
    });
    if (params.get("member_id")) loadEligibility(params);
  }

  async function loadEligibility(params) {
    let e;
    try { e = await api("GET", "/api/eligibility?" + params.toString()); } catch (err) { return; }
    const box = document.getElementById(L.eligResult);
    if (!e.found) {
      box.innerHTML = `<div id="${L.eligError}" class="error">${h(e.message)}</div>`;
      return;
    }
    const b = e.benefits;
    const rows = [
      ["member", "Member", e.member_name], ["status", "Coverage", b.active ? "Active" : "Inactive"],
      ["plan", "Plan", b.plan_name], ["group", "Group", b.group_number],
      ["start", "Coverage start", day(b.coverage_start)], ["end", "Coverage end", day(b.coverage_end) || "—"],
      ["copay", "Copay", money(b.copay)], ["coinsurance", "Coinsurance", b.coinsurance_percent + "%"],
      ["deductible", "Deductible", money(b.deductible)], ["deductibleMet", "Deductible met", money(b.deductible_met)],
      ["deductibleRemaining", "Deductible remaining", money(b.deductible_remaining)],
      ["oopMax", "Out-of-pocket max", b.out_of_pocket_max == null ? "—" : money(b.out_of_pocket_max)],
      ["oopRemaining", "Out-of-pocket remaining", b.out_of_pocket_remaining == null ? "—" : money(b.out_of_pocket_remaining)],
    ];
    box.innerHTML = `<table class="benefits">` + rows.map(([k, label, v]) =>
      `<tr><th>${h(label)}</th><td ${L.version === 2 ? `data-qa="benefit-${k}"` : `id="${L.eligPrefix}${k}"`}>${h(v)}</td></tr>`).join("") + "</table>";
  }

  // --- routing --------------------------------------------------------------------------------
  async function route() {
    if (!localStorage.getItem(TOKEN_KEY)) { showLogin(""); return; }
    const [path, query] = (location.hash.slice(1) || "/search").split("?");
    const params = new URLSearchParams(query || "");
    if (path === "/logout") {
      try { await api("DELETE", "/api/session"); } catch (err) { /* signed out either way */ }
      localStorage.removeItem(TOKEN_KEY);
      history.replaceState(null, "", location.pathname);
      showLogin("You have signed out.");
    } else if (path.startsWith("/claims/")) {
      showClaim(path.slice("/claims/".length));
    } else if (path === "/eligibility") {
      showEligibility(params);
    } else {
      showSearch(params);
    }
  }
  window.addEventListener("hashchange", route);
  consentBanner();
  route();
})();
