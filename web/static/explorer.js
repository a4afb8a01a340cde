// In-browser verification for the registry explorer, with WebCrypto only:
//  - each entry's RFC 6962 inclusion proof must lead from its leaf to the
//    root in the checkpoint (RFC 9162 §2.1.3.2);
//  - the checkpoint's signed note must carry a valid Ed25519 signature by
//    the log key (C2SP signed-note).
(function () {
  "use strict";
  var enc = new TextEncoder();
  function b64(s) { var b = atob(s), out = new Uint8Array(b.length); for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i); return out; }
  function cat(a, b, c) { var out = new Uint8Array(a.length + b.length + (c ? c.length : 0)); out.set(a); out.set(b, a.length); if (c) out.set(c, a.length + b.length); return out; }
  function sha256(bytes) { return crypto.subtle.digest("SHA-256", bytes).then(function (h) { return new Uint8Array(h); }); }
  function eq(a, b) { if (a.length !== b.length) return false; for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false; return true; }

  function parseNote(text) {
    var i = text.indexOf("\n\n");
    if (i < 0) return null;
    var body = text.slice(0, i + 1), lines = body.split("\n");
    var sigs = text.slice(i + 2).split("\n").filter(function (l) { return l.indexOf("\u2014 ") === 0; }).map(function (l) {
      var parts = l.slice(2).split(" "); return { name: parts[0], sig: b64(parts[1]) };
    });
    return { body: body, origin: lines[0], size: parseInt(lines[1], 10), root: b64(lines[2]), sigs: sigs };
  }

  // RFC 9162 §2.1.3.2: verify an inclusion proof of leaf index in a tree of size.
  async function rootFromProof(leaf, index, size, proof) {
    if (index >= size) return null;
    var fn = index, sn = size - 1;
    var r = await sha256(cat(new Uint8Array([0]), leaf));
    for (var i = 0; i < proof.length; i++) {
      var p = proof[i];
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(cat(new Uint8Array([1]), p, r));
        if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        r = await sha256(cat(new Uint8Array([1]), r, p));
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  async function checkSignature(note, vkey) {
    // vkey: name+hash+base64(0x01 || Ed25519 public key)
    // The base64 key may itself contain "+": split on the first two only.
    var i1 = vkey.indexOf("+"), i2 = vkey.indexOf("+", i1 + 1);
    var parts = [vkey.slice(0, i1), vkey.slice(i1 + 1, i2)], raw = b64(vkey.slice(i2 + 1));
    if (raw[0] !== 1) return false;
    var key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    for (var i = 0; i < note.sigs.length; i++) {
      var s = note.sigs[i];
      if (s.name !== parts[0] || s.sig.length !== 68) continue;
      if (await crypto.subtle.verify({ name: "Ed25519" }, key, s.sig.slice(4), enc.encode(note.body))) return true;
    }
    return false;
  }

  async function run() {
    var el = document.getElementById("checkpoint"); if (!el) return;
    var note = parseNote(el.textContent);
    var status = document.getElementById("sigcheck");
    if (status) {
      try {
        var ok = await checkSignature(note, document.getElementById("logkey").textContent.trim());
        status.textContent = ok ? "\u2714 Checkpoint signature valid (checked in this browser) \u7b7e\u540d\u6709\u6548" : "\u2718 Checkpoint signature INVALID \u7b7e\u540d\u65e0\u6548";
        status.className = ok ? "ok" : "bad";
      } catch (e) { status.textContent = "This browser cannot verify the signature: " + e; }
    }
    var entries = document.querySelectorAll(".entry");
    for (var i = 0; i < entries.length; i++) {
      var e = entries[i], out = e.querySelector(".proofcheck");
      var proof = JSON.parse(e.dataset.proof).map(b64);
      var root = await rootFromProof(b64(e.dataset.leaf), parseInt(e.dataset.index, 10), parseInt(e.dataset.size, 10), proof);
      var good = root !== null && note && eq(root, note.root) && note.size === parseInt(e.dataset.size, 10);
      out.textContent = good ? "\u2714 included in the checkpoint \u5df2\u8bc1\u660e\u5305\u542b" : "\u2718 inclusion proof FAILED \u5305\u542b\u8bc1\u660e\u5931\u8d25";
      out.className = "proofcheck " + (good ? "ok" : "bad");
    }
    document.body.dataset.verified = "done";
  }
  run();
})();
