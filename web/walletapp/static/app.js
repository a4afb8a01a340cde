// Tong wallet app: the screens around the wallet engine (the Go wallet
// library compiled to WebAssembly, globalThis.tongWallet). The engine
// keeps the credentials, sealed, in IndexedDB; this file only shows them,
// scans QR codes and asks the citizen. No data from outside is ever
// inserted as HTML: every text goes in through textContent.
"use strict";
(function () {
  const view = document.getElementById("view");
  const meta = (name) => { const m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : ""; };
  let W = null;              // the engine
  let pending = null;        // {kind: "offer"|"request", uri, ret} from the link that opened the app
  let refreshTimer = 0;
  let lastHidden = 0;
  const AUTO_LOCK_MS = 5 * 60 * 1000;
  const REFRESH_MS = 10 * 60 * 1000;

  // ---------- DOM helpers ----------
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  // bi is a bilingual label: English, then Chinese, as on Tong's pages.
  const bi = (en, zh) => [en, " ", h("span", { lang: "zh" }, zh)];
  // bz is a bilingual name from the engine (x and x_zh): both when they differ.
  const bz = (en, zh) => (zh && zh !== en) ? (en ? [en, " · ", h("span", { lang: "zh" }, zh)] : [h("span", { lang: "zh" }, zh)]) : [en || ""];
  function show(...nodes) {
    view.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
    window.scrollTo(0, 0);
    const first = view.querySelector("h1");
    if (first) { first.tabIndex = -1; first.focus({ preventScroll: true }); }
  }
  const busy = (en, zh) => show(h("p", { class: "busy", role: "status" }, bi(en, zh)));
  const btn = (label, onclick, cls, attrs) => h("button", Object.assign({ type: "button", class: cls || "", onclick }, attrs || {}), label);

  // errorBox shows the citizen's message in both languages, and the code
  // small, for support.
  function errorBox(err, heading) {
    const e = normalizeError(err);
    return h("div", { class: "alert bad", role: "alert", "data-code": e.code },
      heading ? h("p", {}, h("strong", {}, heading)) : null,
      h("p", {}, e.message),
      e.message_zh ? h("p", { lang: "zh" }, e.message_zh) : null,
      h("p", { class: "code" }, "Code ", h("span", { lang: "zh" }, "代码"), ": " + e.code));
  }
  function normalizeError(err) {
    if (err && typeof err === "object" && err.code) {
      return { code: String(err.code), message: String(err.message || err.code), message_zh: err.message_zh ? String(err.message_zh) : "", retry_after: Number(err.retry_after) || 0 };
    }
    return { code: "app_error", message: "Something went wrong in the wallet app: " + ((err && err.message) || String(err)), message_zh: "钱包应用出现错误。", retry_after: 0 };
  }
  const fmtDate = (v) => {
    if (v === null || v === undefined || v === "" || v === 0) return "";
    const d = typeof v === "number" ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
    return isNaN(d) ? String(v) : d.toLocaleString("zh-CN", { hour12: false });
  };
  function fmtWait(s) {
    s = Math.ceil(s);
    if (s < 90) return { en: s + " seconds", zh: s + " 秒" };
    const m = Math.ceil(s / 60);
    return { en: m + " minutes", zh: m + " 分钟" };
  }

  // ---------- status ----------
  const STATUS = {
    valid: ["Valid", "有效"], suspended: ["Suspended", "已暂停"], revoked: ["Revoked", "已撤销"],
    expired: ["Expired", "已过期"], unknown: ["Status unknown", "状态未知"],
  };
  function badge(status) {
    const s = STATUS[status] ? status : "unknown";
    return h("span", { class: "badge " + s, "data-status": s }, bi(STATUS[s][0], STATUS[s][1]));
  }
  const safeColor = (c) => typeof c === "string" && /^(#[0-9a-fA-F]{3,8}|rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)|[a-zA-Z]{3,20})$/.test(c) ? c : "";
  const safeImage = (u) => { try { const x = new URL(u); return x.protocol === "https:" || x.protocol === "data:" || x.origin === location.origin ? x.href : ""; } catch (_) { return ""; } };

  // ---------- start ----------
  async function boot() {
    const wasmURL = meta("tong-wasm");
    if (!wasmURL) return; // the page already says how to build the engine
    watchNetwork();
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
    pending = readHash();
    try {
      if (typeof Go !== "function") throw { code: "engine_missing", message: "The wallet engine loader (wasm_exec.js) did not load.", message_zh: "钱包引擎加载器未能加载。" };
      const go = new Go();
      let inst;
      try {
        inst = await WebAssembly.instantiateStreaming(fetch(wasmURL), go.importObject);
      } catch (_) {
        const resp = await fetch(wasmURL);
        if (!resp.ok) throw { code: "engine_missing", message: "The wallet engine could not be downloaded (HTTP " + resp.status + "). Check your connection.", message_zh: "无法下载钱包引擎，请检查网络连接。" };
        inst = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
      }
      go.run(inst.instance); // runs until the page closes
      W = await waitFor(() => globalThis.tongWallet, 15000);
      performance.mark("tong:engine-ready");
      if (!W) throw { code: "engine_start", message: "The wallet engine did not start.", message_zh: "钱包引擎未能启动。" };
    } catch (err) {
      show(h("h1", {}, bi("The wallet cannot start", "钱包无法启动")), errorBox(err));
      return;
    }
    window.addEventListener("hashchange", () => { const p = readHash(); if (p) { pending = p; route(); } });
    document.addEventListener("visibilitychange", onVisibility);
    route();
  }
  function waitFor(get, ms) {
    return new Promise((resolve) => {
      const t0 = Date.now();
      (function poll() {
        const v = get();
        if (v) return resolve(v);
        if (Date.now() - t0 > ms) return resolve(null);
        setTimeout(poll, 20);
      })();
    });
  }
  function watchNetwork() {
    const net = document.getElementById("net");
    const upd = () => { net.hidden = navigator.onLine; };
    window.addEventListener("online", upd);
    window.addEventListener("offline", upd);
    upd();
  }
  async function onVisibility() {
    if (document.hidden) { lastHidden = Date.now(); return; }
    if (lastHidden && Date.now() - lastHidden > AUTO_LOCK_MS && W && await W.isUnlocked()) {
      await W.lock();
      route();
    }
  }

  // readHash takes #offer=… or #request=…&return=… from the address, as
  // the same-device buttons of Tong's pages link to, and clears it so
  // that a reload does not repeat it.
  function readHash() {
    const raw = location.hash.replace(/^#/, "");
    if (!raw) return null;
    const q = new URLSearchParams(raw);
    let p = null;
    if (q.get("offer")) p = { kind: "offer", uri: q.get("offer") };
    else if (q.get("request")) p = { kind: "request", uri: q.get("request"), ret: q.get("return") || "" };
    if (p) history.replaceState(null, "", location.pathname + location.search);
    return p;
  }

  async function route() {
    stopCamera();
    try {
      if (!(await W.exists())) return createScreen();
      if (!(await W.isUnlocked())) return unlockScreen();
      if (pending) {
        const p = pending;
        pending = null;
        return p.kind === "offer" ? receiveFlow(p.uri) : presentFlow(p.uri, p.ret);
      }
      return listScreen();
    } catch (err) {
      show(h("h1", {}, bi("Wallet", "钱包")), errorBox(err), btn(bi("Try again", "重试"), route));
    }
  }

  function afterUnlock() {
    clearInterval(refreshTimer);
    backgroundRefresh();
    refreshTimer = setInterval(backgroundRefresh, REFRESH_MS);
    route();
  }
  // backgroundRefresh refills one-time copies before they run out and
  // updates statuses; offline it simply fails quietly and tries later.
  async function backgroundRefresh() {
    if (!W || !navigator.onLine) return;
    try {
      const r = await W.refresh();
      if (r && r.statuses_updated > 0 && view.querySelector("#creds")) listScreen();
    } catch (_) { /* tried again in REFRESH_MS */ }
  }

  // ---------- create / unlock ----------
  function createScreen() {
    let kind = "pin";
    const secret = h("input", { id: "secret", type: "password", inputmode: "numeric", autocomplete: "new-password", class: "pinbox", minlength: 6, maxlength: 12, pattern: "[0-9]*", required: true });
    const again = h("input", { id: "secret2", type: "password", inputmode: "numeric", autocomplete: "new-password", class: "pinbox", minlength: 6, maxlength: 12, pattern: "[0-9]*", required: true });
    const registry = h("input", { id: "registry", type: "url", value: meta("tong-registry") || location.origin, autocomplete: "off" });
    const msg = h("div");
    const setKind = (k) => {
      kind = k;
      for (const el of [secret, again]) {
        if (k === "pin") { el.setAttribute("inputmode", "numeric"); el.className = "pinbox"; el.setAttribute("pattern", "[0-9]*"); el.setAttribute("maxlength", "12"); }
        else { el.removeAttribute("inputmode"); el.className = ""; el.removeAttribute("pattern"); el.setAttribute("maxlength", "200"); }
      }
      hint.replaceChildren(...(k === "pin" ? bi("At least 6 digits.", "至少 6 位数字。") : bi("At least 8 characters; a few words are easy to remember.", "至少 8 个字符，几个词组成更好记。")));
    };
    const hint = h("p", { class: "muted small" });
    const radio = (k, label) => h("label", { class: "choice" }, h("input", { type: "radio", name: "kind", value: k, checked: k === "pin", onchange: () => setKind(k) }), h("span", {}, label));
    const submit = async (ev) => {
      ev.preventDefault();
      msg.replaceChildren();
      const s = secret.value;
      if (kind === "pin" && !/^[0-9]{6,12}$/.test(s)) return msg.replaceChildren(errorBox({ code: "weak_pin", message: "The PIN must be 6 to 12 digits.", message_zh: "PIN 码须为 6 至 12 位数字。" }));
      if (kind === "passphrase" && s.length < 8) return msg.replaceChildren(errorBox({ code: "weak_passphrase", message: "The passphrase must have at least 8 characters.", message_zh: "密码短语至少 8 个字符。" }));
      if (s !== again.value) return msg.replaceChildren(errorBox({ code: "mismatch", message: "The two entries are not the same.", message_zh: "两次输入不一致。" }));
      form.querySelector("button[type=submit]").disabled = true;
      msg.replaceChildren(h("p", { class: "busy", role: "status" }, bi("Creating your wallet… this takes a few seconds.", "正在创建钱包，请稍候…")));
      try {
        await W.create({ passphrase: s, registry: registry.value.trim() });
        afterUnlock();
      } catch (err) {
        form.querySelector("button[type=submit]").disabled = false;
        msg.replaceChildren(errorBox(err));
      }
    };
    const form = h("form", { id: "create", onsubmit: submit, novalidate: true },
      h("fieldset", { class: "panel" }, h("legend", {}, bi("Protect it with", "保护方式")), radio("pin", bi("A PIN", "PIN 码")), radio("passphrase", bi("A passphrase", "密码短语"))),
      h("label", { for: "secret" }, bi("Choose", "设置")), secret, hint,
      h("label", { for: "secret2" }, bi("Enter it again", "再次输入")), again,
      h("details", {}, h("summary", {}, bi("Advanced", "高级")), h("label", { for: "registry" }, bi("Registry", "登记簿")), registry),
      msg,
      h("button", { type: "submit", class: "wide" }, bi("Create wallet", "创建钱包")));
    setKind("pin");
    show(h("h1", {}, bi("Create your wallet", "创建钱包")),
      h("p", {}, bi("Your credentials stay on this phone, sealed with your PIN or passphrase. Nobody else can open them, not even the agencies.", "凭证只保存在本机，并由您的 PIN 码或密码短语加密，任何人（包括机关）都无法打开。")),
      form,
      h("hr"), btn(bi("Restore from a backup", "从备份恢复"), restoreScreen, "secondary wide"));
  }

  function unlockScreen(info) {
    const secret = h("input", { id: "unlock-secret", type: "password", autocomplete: "current-password", required: true });
    const msg = h("div");
    const go = h("button", { type: "submit", class: "wide" }, bi("Unlock", "解锁"));
    let timer = 0;
    const lockout = (secs) => {
      go.disabled = true;
      let left = secs;
      const tick = () => {
        if (left <= 0) { clearInterval(timer); go.disabled = false; wait.replaceChildren(); return; }
        const w = fmtWait(left);
        wait.replaceChildren(h("p", { class: "alert", role: "status", id: "lockout" }, "Too many wrong tries. You can try again in " + w.en + ". ", h("span", { lang: "zh" }, "错误次数过多，请在 " + w.zh + "后再试。")));
        left--;
      };
      clearInterval(timer);
      tick();
      timer = setInterval(tick, 1000);
    };
    const wait = h("div");
    const form = h("form", {
      id: "unlock", novalidate: true, onsubmit: async (ev) => {
        ev.preventDefault();
        msg.replaceChildren(h("p", { class: "busy", role: "status" }, bi("Unlocking…", "正在解锁…")));
        go.disabled = true;
        performance.mark("tong:unlock-start");
        try {
          await W.unlock({ passphrase: secret.value });
          clearInterval(timer);
          afterUnlock();
        } catch (err) {
          go.disabled = false;
          secret.value = "";
          msg.replaceChildren(errorBox(err));
          const e = normalizeError(err);
          if (e.retry_after > 0) lockout(e.retry_after);
          else if (err && err.tries_left > 0) msg.append(h("p", { class: "muted small", id: "tries-left" }, bi(err.tries_left + (err.tries_left === 1 ? " try" : " tries") + " left before a pause.", "再错 " + err.tries_left + " 次将暂停尝试。")));
        }
      },
    }, h("label", { for: "unlock-secret" }, bi("PIN or passphrase", "PIN 码或密码短语")), secret, wait, msg, go);
    show(h("h1", {}, bi("Unlock your wallet", "解锁钱包")),
      pending ? h("p", { class: "alert" }, pending.kind === "offer" ? bi("Unlock to receive the credential you were offered.", "解锁后即可接收凭证。") : bi("Unlock to answer the request.", "解锁后即可响应核验请求。")) : null,
      info || null, form);
    secret.focus();
  }

  // ---------- credentials ----------
  async function listScreen() {
    busy("Opening your credentials…", "正在打开凭证…");
    let creds;
    try { creds = await W.list(); } catch (err) { return show(h("h1", {}, bi("Your credentials", "我的凭证")), errorBox(err)); }
    const items = (creds || []).map((c) => h("li", {}, credCard(c)));
    performance.mark("tong:list-shown");
    show(
      h("h1", {}, bi("Your credentials", "我的凭证")),
      h("div", { class: "toolbar" },
        btn(bi("Scan a QR code", "扫一扫"), () => scanScreen(), "primary", { id: "scan" }),
        btn(bi("Paste a link", "粘贴链接"), pasteScreen, "secondary", { id: "paste" }),
        btn(bi("History", "记录"), historyScreen, "secondary", { id: "history" }),
        btn(bi("Settings", "设置"), settingsScreen, "secondary", { id: "settings" }),
        btn(bi("Lock", "锁定"), async () => { await W.lock(); route(); }, "secondary", { id: "lock" })),
      items.length ? h("ul", { class: "creds", id: "creds" }, items)
        : h("div", { class: "panel", id: "creds" }, h("p", {}, bi("No credentials yet. At an agency, scan the QR code they show you.", "暂无凭证。请在办事机关扫描工作人员出示的二维码。"))));
  }

  function credCard(c) {
    const d = c.display || {}, dz = c.display_zh || {};
    const card = h("button", { type: "button", class: "cred", "data-id": c.id, "data-status": c.status, onclick: () => detailScreen(c.id) });
    const bg = safeColor(d.background_color), fg = safeColor(d.text_color);
    if (bg) card.style.backgroundColor = bg;
    if (fg) card.style.color = fg;
    const logo = d.logo && safeImage(d.logo.uri);
    card.append(
      logo ? h("img", { class: "logo", src: logo, alt: (d.logo && d.logo.alt_text) || "" }) : "",
      h("span", { class: "name" }, bz(d.name || c.vct || "Credential", dz.name)),
      h("span", { class: "issuer" }, bz(c.issuer_name || c.issuer || "", c.issuer_name_zh)),
      badge(c.status),
      h("span", { class: "meta" }, c.expires_at ? ["Valid until ", h("span", { lang: "zh" }, "有效期至"), " " + fmtDate(c.expires_at)] : ""));
    return card;
  }

  // flatClaims turns nested claims into [path, value] pairs; the labels
  // come from the issuer's metadata (claim_labels), else the path.
  function flatClaims(claims, prefix, out) {
    out = out || [];
    for (const [k, v] of Object.entries(claims || {})) {
      const p = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v)) flatClaims(v, p, out);
      else out.push([p, Array.isArray(v) ? v.join(", ") : v]);
    }
    return out;
  }
  function labelOf(c, path) {
    const en = (c.claim_labels || {})[path], zh = (c.claim_labels_zh || {})[path];
    return en || zh ? bz(en || zh, zh) : [path];
  }
  function claimValue(v) {
    if (typeof v === "string" && /^data:image\/(png|jpeg);base64,/.test(v)) return h("img", { src: v, alt: "", class: "portrait", width: 96 });
    if (typeof v === "boolean") return v ? "✔ yes 是" : "✘ no 否";
    if (v === null || v === undefined) return "";
    if (Array.isArray(v)) return v.map((x) => typeof x === "object" ? JSON.stringify(x) : String(x)).join(", ");
    if (typeof v === "object") return Object.entries(v).map(([k, x]) => k + ": " + (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ");
    return String(v);
  }

  async function detailScreen(id) {
    busy("Opening…", "正在打开…");
    let c;
    try { c = await W.get(id); } catch (err) { return show(errorBox(err), btn(bi("Back", "返回"), listScreen, "secondary")); }
    const d = c.display || {}, dz = c.display_zh || {};
    const rows = flatClaims(c.claims).map(([p, v]) => [h("dt", {}, labelOf(c, p)), h("dd", {}, claimValue(v))]);
    show(h("h1", {}, bz(d.name || c.vct, dz.name)),
      h("div", { class: "panel", id: "detail", "data-status": c.status },
        h("p", {}, badge(c.status)),
        d.description ? h("p", { class: "muted" }, bz(d.description, dz.description)) : null,
        h("dl", { class: "claims" },
          h("dt", {}, bi("Issuer", "签发机关")), h("dd", {}, bz(c.issuer_name || c.issuer, c.issuer_name_zh)),
          c.issued_at ? [h("dt", {}, bi("Issued", "签发时间")), h("dd", {}, fmtDate(c.issued_at))] : null,
          c.expires_at ? [h("dt", {}, bi("Expires", "到期时间")), h("dd", {}, fmtDate(c.expires_at))] : null,
          c.copies_left !== undefined ? [h("dt", {}, bi("Unused copies", "剩余份数")), h("dd", {}, String(c.copies_left))] : null),
        h("h2", {}, bi("What it says", "凭证内容")),
        h("dl", { class: "claims", id: "claims" }, rows)),
      h("p", { class: "muted small" }, bi("A counter sees only what it asks for and you agree to.", "核验方只能看到其请求且经您同意的信息。")),
      h("div", { class: "row" },
        btn(bi("Back", "返回"), listScreen, "secondary", { id: "detail-back" }),
        btn(bi("Delete", "删除"), () => confirmScreen(
          bi("Delete this credential?", "删除此凭证？"),
          bi("You will need the agency to issue it again.", "删除后需由机关重新签发。"),
          async () => { await W.remove({ id }); listScreen(); }, () => detailScreen(id)), "danger", { id: "delete" })));
  }

  function confirmScreen(title, text, yes, no) {
    const msg = h("div");
    show(h("h1", {}, title), h("p", {}, text), msg,
      h("div", { class: "row" },
        btn(bi("Cancel", "取消"), no, "secondary"),
        btn(bi("Yes, delete", "确认删除"), async () => {
          try { await yes(); } catch (err) { msg.replaceChildren(errorBox(err)); }
        }, "danger", { id: "confirm" })));
  }

  // ---------- scanning ----------
  let stream = null;
  let scanning = 0;
  function stopCamera() {
    scanning++;
    if (stream) { for (const t of stream.getTracks()) t.stop(); stream = null; }
  }

  function scanScreen() {
    const video = h("video", { playsinline: true, muted: true, autoplay: true, id: "camera" });
    const note = h("div", { id: "scan-note" });
    show(h("h1", {}, bi("Scan a QR code", "扫描二维码")),
      h("p", {}, bi("Point the camera at the QR code on the counter's screen or the agency's offer.", "将摄像头对准窗口屏幕或机关出示的二维码。")),
      h("div", { class: "scan" }, video, h("div", { class: "frame" })),
      note,
      h("div", { class: "row" }, btn(bi("Paste a link instead", "改为粘贴链接"), pasteScreen, "secondary"), btn(bi("Cancel", "取消"), listScreen, "secondary")));
    startCamera(video, note);
  }

  async function startCamera(video, note) {
    const run = ++scanning;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note.replaceChildren(errorBox({ code: "camera_unavailable", message: "This browser cannot use the camera here (it needs https). Paste the link instead.", message_zh: "此浏览器无法在此使用摄像头（需要 https），请改为粘贴链接。" }));
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    } catch (err) {
      const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      note.replaceChildren(errorBox(denied
        ? { code: "camera_denied", message: "The wallet may not use the camera. Allow it in the browser's settings, or paste the link instead.", message_zh: "钱包无权使用摄像头。请在浏览器设置中允许，或改为粘贴链接。" }
        : { code: "camera_unavailable", message: "No camera could be opened. Paste the link instead.", message_zh: "无法打开摄像头，请改为粘贴链接。" }));
      return;
    }
    if (run !== scanning) { stopCamera(); return; }
    video.srcObject = stream;
    try { await video.play(); } catch (_) { /* autoplay attribute */ }
    const decode = await qrDecoder();
    document.body.dataset.decoder = decode.name;
    note.replaceChildren(h("p", { class: "busy", role: "status", id: "scanning", "data-decoder": decode.name }, bi("Looking for a QR code…", "正在识别二维码…")));
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const loop = async () => {
      if (run !== scanning) return;
      if (video.readyState >= 2 && video.videoWidth) {
        let text = "";
        try { text = await decode(video, canvas, ctx); } catch (_) { text = ""; }
        if (text && run === scanning) { stopCamera(); return dispatch(text); }
      }
      setTimeout(loop, 120);
    };
    loop();
  }

  // qrDecoder uses the browser's BarcodeDetector where it can read QR
  // codes, else jsQR (vendored, static/vendor/jsQR.js).
  async function qrDecoder() {
    if ("BarcodeDetector" in window) {
      try {
        const formats = await BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const det = new BarcodeDetector({ formats: ["qr_code"] });
          const f = async (video) => { const r = await det.detect(video); return r.length ? r[0].rawValue : ""; };
          return Object.defineProperty(f, "name", { value: "BarcodeDetector" });
        }
      } catch (_) { /* fall through to jsQR */ }
    }
    const f = (video, canvas, ctx) => {
      const scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const r = globalThis.jsQR ? globalThis.jsQR(img.data, img.width, img.height, { inversionAttempts: "attemptBoth" }) : null;
      return r ? r.data : "";
    };
    return Object.defineProperty(f, "name", { value: "jsQR" });
  }

  function pasteScreen() {
    const ta = h("textarea", { id: "link", autocomplete: "off", autocapitalize: "off", spellcheck: "false", placeholder: "openid-credential-offer://…  openid4vp://…" });
    const msg = h("div");
    show(h("h1", {}, bi("Paste a link", "粘贴链接")),
      h("p", {}, bi("Paste the link from an agency's offer or a counter's request.", "粘贴机关凭证或窗口核验请求的链接。")),
      h("label", { for: "link" }, bi("Link", "链接")), ta, msg,
      h("div", { class: "row" }, btn(bi("Cancel", "取消"), listScreen, "secondary"),
        btn(bi("Continue", "继续"), () => { if (!dispatch(ta.value)) msg.replaceChildren(notWalletCode()); }, "", { id: "paste-go" })));
    ta.focus();
  }
  const notWalletCode = () => errorBox({ code: "not_a_wallet_code", message: "This is not a wallet QR code or link. Ask the counter or agency for theirs.", message_zh: "这不是钱包二维码或链接，请向窗口或机关索取。" });

  // dispatch routes a scanned or pasted text: an offer, a request, or a
  // link to this app carrying one.
  function dispatch(text) {
    text = String(text || "").trim();
    if (/^openid-credential-offer:/i.test(text) || /[?&]credential_offer(_uri)?=/.test(text) && !/^openid4vp:/i.test(text)) { receiveFlow(text); return true; }
    if (/^(openid4vp|haip|eudi-openid4vp|mdoc-openid4vp):/i.test(text) || /[?&]request_uri=/.test(text)) { presentFlow(text, ""); return true; }
    try {
      const u = new URL(text);
      const q = new URLSearchParams(u.hash.replace(/^#/, ""));
      if (q.get("offer")) { receiveFlow(q.get("offer")); return true; }
      if (q.get("request")) { presentFlow(q.get("request"), q.get("return") || ""); return true; }
    } catch (_) { /* not a URL */ }
    show(h("h1", {}, bi("Scan a QR code", "扫描二维码")), notWalletCode(),
      h("div", { class: "row" }, btn(bi("Scan again", "重新扫描"), () => scanScreen(), ""), btn(bi("Back", "返回"), listScreen, "secondary")));
    return true;
  }

  // ---------- receive ----------
  async function receiveFlow(uri) {
    busy("Reading the offer…", "正在读取凭证邀请…");
    let o;
    try { o = await W.offer(uri); } catch (err) {
      return show(h("h1", {}, bi("Receive a credential", "接收凭证")), errorBox(err, bi("The offer cannot be used", "无法使用该邀请")), btn(bi("Back", "返回"), listScreen, "secondary"));
    }
    const msg = h("div");
    const tc = o.tx_code;
    const pin = tc ? h("input", { id: "tx-code", type: "text", autocomplete: "one-time-code", class: "pinbox", inputmode: tc.input_mode === "text" ? "text" : "numeric", maxlength: tc.length || null }) : null;
    const accept = h("button", { type: "submit", class: "wide", id: "accept-offer" }, bi("Receive", "接收"));
    const form = h("form", {
      id: "offer", novalidate: true, onsubmit: async (ev) => {
        ev.preventDefault();
        if (tc && tc.length && pin.value.trim().length !== tc.length) return msg.replaceChildren(errorBox({ code: "tx_code_length", message: "The code has " + tc.length + " characters.", message_zh: "验证码应为 " + tc.length + " 位。" }));
        accept.disabled = true;
        msg.replaceChildren(h("p", { class: "busy", role: "status" }, bi("Receiving…", "正在接收…")));
        try {
          const r = await W.receive({ uri, tx_code: pin ? pin.value.trim() : "" });
          show(h("h1", {}, bi("Received", "已接收")), h("p", { class: "alert ok", role: "status", id: "received" }, "✔ ", bi((r.ids || []).length > 1 ? "Your credentials are in the wallet." : "Your credential is in the wallet.", "凭证已保存到钱包。")),
            btn(bi("See my credentials", "查看我的凭证"), listScreen, "wide", { id: "to-list" }));
        } catch (err) {
          accept.disabled = false;
          msg.replaceChildren(errorBox(err));
        }
      },
    },
      tc ? [h("label", { for: "tx-code" }, bi("Code from the agency", "机关提供的验证码")),
        tc.description ? h("p", { class: "muted small" }, tc.description) : null, pin,
        h("p", { class: "muted small" }, bi("The agency gave you this code separately from the QR code.", "此验证码由机关另行提供，与二维码分开。"))] : null,
      msg, accept, btn(bi("Not now", "暂不接收"), listScreen, "secondary wide"));
    show(h("h1", {}, bi("Receive a credential", "接收凭证")),
      h("div", { class: "panel" }, h("p", { class: "verifier", id: "offer-issuer" }, o.issuer_name || o.issuer),
        h("p", { class: "muted small" }, o.issuer),
        h("p", {}, bi("offers you:", "向您签发：")),
        h("ul", { id: "offer-creds" }, (o.credentials || []).map((c) => h("li", {}, bz(c.name || c.id, c.name_zh))))),
      form);
    if (pin) pin.focus();
  }

  // ---------- present ----------
  // safeReturn allows a return address only on the verifier's own origin
  // (that of its request_uri) or this app's, so a link cannot send the
  // citizen elsewhere after sharing.
  function safeReturn(ret, uri) {
    if (!ret) return "";
    try {
      const r = new URL(ret, location.href);
      if (r.protocol !== "https:" && r.protocol !== "http:") return "";
      let origins = [location.origin];
      try {
        const q = new URL(uri).searchParams;
        for (const k of ["request_uri", "response_uri"]) if (q.get(k)) origins.push(new URL(q.get(k)).origin);
      } catch (_) { /* no request_uri */ }
      return origins.includes(r.origin) ? r.href : "";
    } catch (_) { return ""; }
  }

  async function presentFlow(uri, ret) {
    busy("Checking who is asking…", "正在核实请求方…");
    let req;
    try { req = await W.request(uri); } catch (err) {
      return show(h("h1", {}, bi("Request refused", "已拒绝请求")),
        errorBox(err, bi("Your wallet did not share anything.", "钱包未分享任何信息。")),
        btn(bi("Back to my credentials", "返回我的凭证"), listScreen, "secondary wide", { id: "back" }));
    }
    const back = safeReturn(ret, uri);
    const v = req.verifier || {};
    const msg = h("div");
    const pay = (req.transaction_data || []).filter((t) => t && (t.amount !== undefined || t.payee));
    const share = h("button", { type: "button", id: "share", class: "wide" }, pay.length ? bi("Agree and pay", "同意并支付") : bi("Agree and share", "同意并出示"));
    const decline = h("button", { type: "button", id: "decline", class: "secondary wide" }, bi("Decline", "拒绝"));
    share.onclick = async () => {
      share.disabled = decline.disabled = true;
      msg.replaceChildren(h("p", { class: "busy", role: "status" }, bi("Sharing…", "正在出示…")));
      let res;
      try { res = await W.present({ handle: req.handle }); } catch (err) {
        share.disabled = decline.disabled = false;
        return msg.replaceChildren(errorBox(err));
      }
      backgroundRefresh();
      const to = (res && res.redirect_uri && /^https?:/i.test(res.redirect_uri)) ? res.redirect_uri : back;
      show(h("h1", {}, bi("Shared", "已出示")), h("p", { class: "alert ok", role: "status", id: "shared" }, "✔ ", bi("Shared with " + (v.name || "the verifier") + ".", "已向" + (v.name || "核验方") + "出示。")),
        to ? h("p", { class: "busy" }, bi("Taking you back…", "正在返回…")) : btn(bi("Back to my credentials", "返回我的凭证"), listScreen, "wide"));
      if (to) setTimeout(() => location.assign(to), 600);
    };
    decline.onclick = async () => {
      try { await W.decline({ handle: req.handle }); } catch (_) { /* nothing was shared either way */ }
      if (back) location.assign(back); else listScreen();
    };
    show(h("h1", {}, pay.length ? bi("Confirm payment", "确认支付") : bi("Share your details?", "是否出示信息？")),
      h("div", { class: "panel", id: "consent" },
        h("p", { class: "muted small" }, bi("Asking", "请求方")),
        h("p", { class: "verifier", id: "verifier-name" }, v.name || v.did || v.id),
        h("p", { class: v.accredited ? "ok-text small" : "bad-text small", id: "accredited" }, v.accredited ? ["✔ ", bi("Accredited by the city registry", "已获市登记簿认证")] : ["✘ ", bi("Not accredited", "未获认证")]),
        h("p", { class: "code" }, v.did || v.id || ""),
        h("p", { class: "muted small" }, bi("Purpose", "用途")),
        h("p", { id: "purpose" }, bz(req.purpose_label || req.purpose || "", req.purpose_label_zh)),
        pay.map((t) => h("div", { class: "alert", id: "payment" },
          h("p", { class: "muted small" }, bi("You pay", "支付金额")),
          h("p", { class: "amount", id: "amount" }, (t.currency === "CNY" || !t.currency ? "¥" : t.currency + " ") + t.amount),
          h("p", {}, bi("to", "收款方"), ": ", h("strong", { id: "payee" }, t.payee || "")),
          t.order_id ? h("p", { class: "small" }, bi("Order", "订单"), ": " + t.order_id) : null,
          h("p", { class: "muted small" }, bi("Your wallet signs exactly this amount and payee.", "钱包将对该金额与收款方签名。")))),
        h("h2", {}, bi("It will see", "对方将看到")),
        (req.credentials || []).map((c) => h("div", { class: "shared-cred" },
          h("p", {}, h("strong", {}, bz(c.name || c.credential_id, c.name_zh))),
          h("ul", { class: "share-list" }, (c.claims || []).map((cl) => h("li", { "data-path": String(cl.path) },
            h("span", { class: "label" }, bz(cl.label || String(cl.path), cl.label_zh)), claimValue(cl.value)))))),
        h("p", { class: "muted small" }, bi("Nothing else from your credentials is shared.", "凭证中的其他信息不会被分享。"))),
      msg, share, decline);
  }

  // ---------- history ----------
  async function historyScreen() {
    busy("Opening the history…", "正在打开记录…");
    let items;
    try { items = await W.history(); } catch (err) { return show(errorBox(err), btn(bi("Back", "返回"), listScreen, "secondary")); }
    show(h("h1", {}, bi("What you shared", "分享记录")),
      (items || []).length ? h("ul", { class: "history", id: "history-list" }, items.map((e) => h("li", {},
        h("p", {}, h("strong", {}, e.verifier_name || e.verifier_did), " · ", h("span", { class: "muted" }, fmtDate(e.at))),
        h("p", { class: "small" }, bz(e.purpose_label || e.purpose || "", e.purpose_label_zh)),
        (e.credentials || []).map((c) => h("p", { class: "small" }, h("strong", {}, bz(c.name || "", c.name_zh)), ": ", (c.claims || []).join(", "),
          (c.claims_zh || []).length ? [" · ", h("span", { lang: "zh" }, c.claims_zh.join("、"))] : null)),
        (e.transaction_data || []).map((t) => h("p", { class: "small" }, bi("Paid", "已支付"), ": ¥" + t.amount + " → " + (t.payee || ""))))))
        : h("p", { class: "panel" }, bi("You have not shared anything yet.", "您尚未分享任何信息。")),
      btn(bi("Back", "返回"), listScreen, "secondary wide", { id: "history-back" }));
  }

  // ---------- settings: refresh, backup, restore, delete ----------
  function settingsScreen() {
    const msg = h("div", { id: "settings-msg" });
    const bp = h("input", { id: "backup-pass", type: "password", autocomplete: "new-password" });
    show(h("h1", {}, bi("Settings", "设置")), msg,
      h("div", { class: "panel" }, h("h2", {}, bi("Update now", "立即更新")),
        h("p", { class: "small" }, bi("The wallet checks statuses and refills one-time copies by itself when online.", "联网时，钱包会自动检查凭证状态并补充一次性副本。")),
        btn(bi("Update now", "立即更新"), async () => {
          msg.replaceChildren(h("p", { class: "busy" }, bi("Updating…", "正在更新…")));
          try { const r = await W.refresh(); msg.replaceChildren(h("p", { class: "alert ok", role: "status" }, bi("Done: " + (r.refilled || 0) + " copies refilled, " + (r.statuses_updated || 0) + " statuses updated.", "完成：补充 " + (r.refilled || 0) + " 份，更新 " + (r.statuses_updated || 0) + " 项状态。"))); } catch (err) { msg.replaceChildren(errorBox(err)); }
        }, "secondary wide", { id: "refresh" })),
      h("div", { class: "panel" }, h("h2", {}, bi("Back up", "备份")),
        h("p", { class: "small" }, bi("A backup file is sealed with a passphrase you choose now. Keep both safe.", "备份文件将用您现在设置的密码短语加密，请妥善保管。")),
        h("label", { for: "backup-pass" }, bi("Backup passphrase", "备份密码短语")), bp,
        btn(bi("Save backup file", "保存备份文件"), async () => {
          if (bp.value.length < 8) return msg.replaceChildren(errorBox({ code: "weak_passphrase", message: "The backup passphrase must have at least 8 characters.", message_zh: "备份密码短语至少 8 个字符。" }));
          try {
            const data = await W.backup({ passphrase: bp.value });
            const url = URL.createObjectURL(new Blob([data], { type: "application/octet-stream" }));
            const a = h("a", { href: url, download: "tong-wallet-" + new Date().toISOString().slice(0, 10) + ".backup", class: "button wide", id: "backup-file" }, bi("Download the backup file", "下载备份文件"));
            msg.replaceChildren(h("p", { class: "alert ok", role: "status" }, bi("Backup ready.", "备份已生成。")), a);
            a.click();
          } catch (err) { msg.replaceChildren(errorBox(err)); }
        }, "wide", { id: "backup" })),
      h("div", { class: "panel" }, h("h2", {}, bi("Restore", "恢复")), h("p", { class: "small" }, bi("To restore a backup here, save a backup of this wallet, delete it, then choose Restore on the first screen.", "如需在此恢复备份：先备份当前钱包并删除，然后在首屏选择“从备份恢复”。"))),
      h("div", { class: "panel" }, h("h2", {}, bi("Delete the wallet", "删除钱包")),
        h("p", { class: "small" }, bi("Removes every credential and key from this phone. Without a backup they cannot come back.", "将从本机删除所有凭证和密钥，没有备份将无法恢复。")),
        btn(bi("Delete the wallet", "删除钱包"), () => confirmScreen(bi("Delete the whole wallet?", "删除整个钱包？"),
          bi("Every credential on this phone will be gone.", "本机上的所有凭证都将被删除。"),
          async () => { await W.destroy(); clearInterval(refreshTimer); route(); }, settingsScreen), "danger wide", { id: "destroy" })),
      btn(bi("Back", "返回"), listScreen, "secondary wide", { id: "settings-back" }));
  }

  function restoreScreen() {
    const file = h("input", { id: "restore-file", type: "file" });
    const pass = h("input", { id: "restore-pass", type: "password", autocomplete: "off" });
    const msg = h("div");
    show(h("h1", {}, bi("Restore from a backup", "从备份恢复")),
      h("p", { class: "small" }, bi("Choose the backup file and type the passphrase you chose when you saved it.", "请选择备份文件，并输入保存备份时设置的密码短语。")),
      h("label", { for: "restore-file" }, bi("Backup file", "备份文件")), file,
      h("label", { for: "restore-pass" }, bi("Backup passphrase", "备份密码短语")), pass, msg,
      h("div", { class: "row" }, btn(bi("Cancel", "取消"), route, "secondary"),
        btn(bi("Restore", "恢复"), async () => {
          if (!file.files.length) return msg.replaceChildren(errorBox({ code: "no_file", message: "Choose the backup file first.", message_zh: "请先选择备份文件。" }));
          msg.replaceChildren(h("p", { class: "busy" }, bi("Restoring…", "正在恢复…")));
          try {
            const data = new Uint8Array(await file.files[0].arrayBuffer());
            await W.restore({ data, passphrase: pass.value, registry: meta("tong-registry") || location.origin });
            show(h("h1", {}, bi("Restored", "已恢复")), h("p", { class: "alert ok", role: "status" }, bi("Your wallet is back. From now on it opens with the backup's passphrase.", "钱包已恢复。今后请使用备份的密码短语解锁。")), btn(bi("See my credentials", "查看我的凭证"), afterUnlock, "wide", { id: "restore-done" }));
          } catch (err) { msg.replaceChildren(errorBox(err)); }
        }, "", { id: "restore" })));
  }

  document.addEventListener("DOMContentLoaded", boot);
})();
