// Keeps a dashboard page current without reloading it: every few seconds the page's own
// address (query string included) is fetched again and its #live part swapped in, so the
// URL, the scroll position and anything typed in a form outside #live stay as they are.
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-refresh")) || 0;
  if (seconds <= 0) {
    return;
  }
  function typingInside(element) {
    var focused = document.activeElement;
    return focused && element.contains(focused) && /^(INPUT|SELECT|TEXTAREA)$/.test(focused.tagName);
  }
  function later() {
    window.setTimeout(tick, seconds * 1000);
  }
  function tick() {
    var live = document.getElementById("live");
    if (!live || document.hidden || typingInside(live)) {
      later();
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401) {
          window.location.reload();  // the session ended: the server sends us to sign in
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
          var current = document.getElementById("live");
          if (fresh && current && !typingInside(current)) {
            current.replaceWith(document.adoptNode(fresh));
          }
        }
      })
      .catch(function () {})
      .then(later);
  }
  later();
})();
