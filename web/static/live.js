// Live pages (counter, booking, check-in, payment): server-sent events replace the QR code
// with the outcome as soon as the citizen's wallet answers.
// Inquiry threads (data-mode="thread") stay connected: each "thread" event replaces the
// thread with the server's rendering, keeping what the person is typing.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  if (live.dataset.mode === "thread") {
    var ts = new EventSource(live.dataset.events);
    ts.addEventListener("thread", function (e) {
      var box = document.getElementById("thread");
      var typing = box.querySelector("textarea");
      var typed = typing ? typing.value : "";
      var focused = typing && document.activeElement === typing;
      box.innerHTML = e.data; // server-rendered, escaped HTML
      var again = box.querySelector("textarea");
      if (again && typed) again.value = typed;
      if (again && focused) again.focus();
      live.dataset.updates = String(Number(live.dataset.updates || "0") + 1);
    });
    return;
  }
  if (live.dataset.status !== "pending") return;
  var es = new EventSource(live.dataset.events);
  es.addEventListener("outcome", function (e) {
    var ask = document.getElementById("ask");
    if (ask) ask.remove();
    document.getElementById("outcome").innerHTML = e.data; // server-rendered, escaped HTML
    live.dataset.status = "done";
    es.close();
  });
  es.onerror = function () { if (live.dataset.status === "done") es.close(); };
})();
