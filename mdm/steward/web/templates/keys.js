// Single-key shortcuts for the steward page: a key clicks the element whose data-key it is.
// The page's only script, served from the app itself (the CSP allows no other); every shortcut
// is also the element's accesskey (Alt+key), so the page works the same with scripts off.
"use strict";
document.addEventListener("keydown", function (event) {
  if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
  var target = event.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  var element = document.querySelector('[data-key="' + event.key.toLowerCase() + '"]');
  if (!element) return;
  event.preventDefault();
  element.click();
});
