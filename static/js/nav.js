// The console's menu button and account menu.
// On narrow screens the navigation hides behind the menu button (the CSS hides the list while
// aria-expanded is "false"); without this script the button stays hidden and the list shows.
// The account menu is a <details>: this closes it on Escape and on a click elsewhere.
(function () {
  "use strict";
  var button = document.querySelector(".nav-toggle");

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  if (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var account = document.querySelector("details.account[open]");
    if (account) {
      account.open = false;
      account.querySelector("summary").focus();
    } else if (button && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var account = document.querySelector("details.account[open]");
    if (account && !account.contains(event.target)) account.open = false;
  });
})();
