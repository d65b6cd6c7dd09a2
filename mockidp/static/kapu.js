// Progressive enhancement only: every screen works without this file.
(function () {
  "use strict";
  document.querySelectorAll("[data-disclosure]").forEach(function (b) {
    if (b.hasAttribute("data-broken")) return; // kapu --break no-disclosure
    var panel = document.getElementById(b.getAttribute("aria-controls"));
    b.addEventListener("click", function () {
      var open = b.getAttribute("aria-expanded") === "true";
      b.setAttribute("aria-expanded", String(!open));
      panel.hidden = open;
    });
  });
  // Errors: move focus to the alert so that it is read first.
  var alert = document.getElementById("hiba");
  if (alert) alert.focus();
})();
