// Live pages (counter, booking, check-in, payment): server-sent events replace the QR code
// with the outcome as soon as the citizen's wallet answers.
(function () {
  var live = document.getElementById("live");
  if (!live || live.dataset.status !== "pending" || !window.EventSource) return;
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
