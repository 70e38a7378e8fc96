// Small behaviours of every page, without inline handlers (the CSP allows no inline code).
document.addEventListener("change", function (event) {
  var field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
// Countdowns to a deadline (the dealer's answer window): "3 h 20 min left", live.
(function () {
  var clocks = document.querySelectorAll("[data-countdown]");
  if (!clocks.length) return;
  function tick() {
    var now = Date.now();
    clocks.forEach(function (clock) {
      var left = Math.floor((Date.parse(clock.dataset.countdown) - now) / 60000);
      if (left < 0) { clock.textContent = clock.dataset.expired; return; }
      var hours = Math.floor(left / 60), minutes = left % 60;
      clock.textContent = (hours ? hours + " " + clock.dataset.hours + " " : "") + minutes +
        " " + clock.dataset.minutes;
    });
  }
  tick();
  setInterval(tick, 30000);
})();
