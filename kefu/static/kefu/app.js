// Small behaviours that CSP keeps out of inline scripts.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches("[data-autosubmit]")) { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); }
});
document.addEventListener("click", function (event) {
  var all = event.target.closest("[data-check-all]");
  if (all) {
    document.querySelectorAll(all.getAttribute("data-check-all")).forEach(function (box) { box.checked = all.checked; });
  }
  var confirmEl = event.target.closest("[data-confirm]");
  if (confirmEl && !window.confirm(confirmEl.getAttribute("data-confirm"))) { event.preventDefault(); }
});
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("kefu-toast");
  if (!box) { return; }
  var text = "操作失败 (" + event.detail.xhr.status + ")";
  try { var body = JSON.parse(event.detail.xhr.responseText); if (body.message) { text = body.message; } } catch (e) { /* not JSON */ }
  var div = document.createElement("div");
  div.className = "alert alert-danger shadow";
  div.textContent = text;
  box.appendChild(div);
  setTimeout(function () { div.remove(); }, 6000);
});
