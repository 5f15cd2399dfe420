/* Stand-ins for Flask-Admin's inline event handlers, which the Content-Security-Policy refuses. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var element = event.target instanceof Element ? event.target : event.target.parentElement;
    if (!element) {
      return;
    }
    var confirmation = element.closest("[data-confirm]");
    if (confirmation && !window.confirm(confirmation.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    var action = element.closest("[data-model-action]");
    if (action) {
      event.preventDefault();
      window.modelActions.execute(action.getAttribute("data-model-action"));
      return;
    }
    var inline = element.closest("[data-inline-field]");
    if (inline) {
      event.preventDefault();
      window.faForm.addInlineField(inline, inline.getAttribute("data-inline-field"));
      return;
    }
    // href="javascript:void(0)" placeholders: following them would be a refused javascript: URL.
    if (element.closest('a[href^="javascript:"]')) {
      event.preventDefault();
    }
  }, true);  // capture: Bootstrap's dropdowns stop the event's propagation before it would reach the document
})();
