// Narrow the city list to the chosen province; the server checks the pair again.
(function () {
  "use strict";
  document.querySelectorAll("form[data-region-select]").forEach(function (form) {
    var province = form.querySelector("select[name=province]");
    var city = form.querySelector("select[name=city]");
    if (!province || !city) return;
    var options = Array.prototype.slice.call(city.options);
    function narrow() {
      var chosen = province.value;
      options.forEach(function (option) {
        var fits = !option.value || option.dataset.province === chosen;
        option.hidden = !fits;
        option.disabled = !fits;
      });
      if (city.selectedOptions.length && city.selectedOptions[0].disabled) city.value = "";
    }
    province.addEventListener("change", narrow);
    narrow();
  });
})();
