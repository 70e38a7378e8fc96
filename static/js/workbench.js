// The CCO workbench: live deadline countdowns, canned replies, the quote's price floor.
// Plain JS, no library. The server fills the canned replies and the texts of the page.
(function () {
  "use strict";

  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // --- Countdowns: "in 2 h 15 min" / "overdue 40 min", refreshed every 30 s ---------------
  var labels = null;
  function duration(ms) {
    var minutes = Math.max(0, Math.floor(ms / 60000));
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    if (d) return labels.dh.replace("{d}", d).replace("{h}", h);
    if (h) return labels.hm.replace("{h}", h).replace("{m}", m);
    return labels.m.replace("{m}", m);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".wb-due[data-due]").forEach(function (node) {
      var left = Date.parse(node.dataset.due) - now;
      var text = node.querySelector(".wb-left");
      if (!text || isNaN(left)) return;
      var overdue = left < 0;
      text.textContent = (overdue ? labels.overdue : labels["in"])
        .replace("{t}", duration(Math.abs(left)));
      node.classList.toggle("wb-due-overdue", overdue);
      node.classList.toggle("wb-due-due", !overdue);
    });
  }

  // --- Canned replies: copy the filled text into the message box -------------------------
  function cannedReplies() {
    var picker = document.getElementById("wb-canned-picker");
    var replies = json("wb-canned") || [];
    if (!picker) return;
    picker.addEventListener("change", function () {
      var target = document.getElementById(picker.dataset.target);
      var reply = replies.filter(function (r) { return String(r.id) === picker.value; })[0];
      if (!target || !reply) return;
      target.value = target.value.trim() ? target.value.replace(/\s+$/, "") + "\n\n" + reply.text
        : reply.text;
      target.focus();
      picker.value = "";
    });
  }

  // --- The quote form: the list price for the chosen product and quantity ----------------
  function priceFloor() {
    var form = document.getElementById("wb-quote-form");
    var box = document.getElementById("wb-floor");
    if (!form || !box) return;
    var product = form.querySelector("[name='quote-product']");
    var quantity = form.querySelector("[name='quote-quantity']");
    var price = form.querySelector("[name='quote-unit_price']");
    var vat = form.querySelector("[name='quote-tax_inclusive']");
    var validUntil = form.querySelector("[name='quote-valid_until']");
    var warning = box.querySelector(".wb-floor-warning");
    var timer = null;

    function compare() {
      var floor = parseFloat(box.dataset.floor);
      var quoted = parseFloat((price && price.value || "").replace(",", "."));
      if (isNaN(floor) || isNaN(quoted)) { warning.hidden = true; return; }
      var rate = parseFloat(box.dataset.vatRate) || 0;
      var floorInclusive = box.dataset.taxInclusive === "1";
      var quotedInclusive = vat ? vat.checked : true;
      if (floorInclusive && !quotedInclusive) quoted = quoted * (1 + rate);
      if (!floorInclusive && quotedInclusive) floor = floor * (1 + rate);
      warning.hidden = !(quoted < floor - 0.0001);
    }
    function refresh() {
      if (!product || !product.value) return;
      var url = form.dataset.floorUrl + "?product=" + encodeURIComponent(product.value) +
        "&quantity=" + encodeURIComponent(quantity ? quantity.value : "");
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) return;
          box.dataset.floor = data.floor;
          box.dataset.taxInclusive = data.tax_inclusive ? "1" : "0";
          box.dataset.vatRate = data.vat_rate;
          box.querySelector(".wb-floor-text span").textContent = data.text;
          box.querySelector(".wb-floor-limit").textContent = data.valid_limit_text;
          if (data.warning) warning.textContent = data.warning;
          if (validUntil) validUntil.max = data.valid_limit || "";
          compare();
        })
        .catch(function () { /* the hint is a convenience; the server checks again */ });
    }
    function later() { clearTimeout(timer); timer = setTimeout(refresh, 300); }
    if (product) product.addEventListener("change", refresh);
    if (quantity) quantity.addEventListener("input", later);
    if (price) price.addEventListener("input", compare);
    if (vat) vat.addEventListener("change", compare);
    compare();
  }

  document.addEventListener("DOMContentLoaded", function () {
    labels = json("wb-countdown-labels");
    if (labels) { tick(); setInterval(tick, 30000); }
    cannedReplies();
    priceFloor();
  });
})();
