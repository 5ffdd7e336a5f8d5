// A table wider than the screen scrolls sideways: let the keyboard reach it too (WCAG
// 2.1.1). Served from the app itself, so the Content-Security-Policy allows it; without
// it the table still scrolls with a finger or a mouse.
(function () {
  function mark() {
    document.querySelectorAll("table").forEach(function (table) {
      if (table.closest(".table-scroll")) { return; }
      if (table.scrollWidth > table.clientWidth + 1) {
        table.setAttribute("tabindex", "0");
      } else if (table.getAttribute("tabindex") === "0") {
        table.removeAttribute("tabindex");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
})();
