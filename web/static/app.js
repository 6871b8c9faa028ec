// Small progressive enhancements; every form works without this file.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  // Phones: the menu button folds the navigation (CSS shows it under 800px).
  var toggle = document.querySelector(".nav-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = toggle.closest("header").classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // Dashboard: refresh the live section every few seconds.
  var live = document.getElementById("live");
  if (live && window.fetch) {
    var every = (parseInt(live.getAttribute("data-refresh"), 10) || 15) * 1000;
    setInterval(function () {
      if (document.hidden) return;
      fetch(location.pathname, { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("live");
        if (next) live.innerHTML = next.innerHTML;
      }).catch(function () {});
    }, every);
  }
});
