// Bastion dashboard: CSRF header for htmx and fetch, live updates over SSE. No inline script anywhere.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  async function postJSON(url, body) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body === undefined ? {} : body),
    });
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      var detail = data && data.detail ? data.detail : response.status + " " + response.statusText;
      var error = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
      error.status = response.status;
      throw error;
    }
    return data;
  }
  // Forms post through fetch with the CSRF header: a plain form post carries "Origin: null" under
  // Referrer-Policy no-referrer, which the server refuses as another origin.
  async function submitForm(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var response = await fetch(form.getAttribute("action") || window.location.pathname, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() }, body: new URLSearchParams(data),
    });
    if (response.redirected) { window.location.assign(response.url); return; }
    var html = await response.text();
    window.history.replaceState(null, "", response.url);
    document.open();
    document.write(html);
    document.close();
  }
  window.Bastion = { csrf: csrf, postJSON: postJSON, submitForm: submitForm };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (form.hasAttribute("data-stepup") || form.hasAttribute("data-no-fetch")) { return; }
    event.preventDefault();
    submitForm(form, event.submitter).catch(function (error) { window.alert("Not sent: " + error.message); });
  });

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });

  function live() {
    var url = document.body.getAttribute("data-live");
    if (!url || !window.EventSource) { return; }
    var targets = document.querySelectorAll("[data-live-target]");
    if (!targets.length) { return; }
    var source = new EventSource(url);
    targets.forEach(function (element) {
      source.addEventListener(element.getAttribute("data-live-target"), function (event) {
        element.innerHTML = event.data; // server-rendered, escaped HTML of our own origin
        element.setAttribute("data-updated", String(Date.now()));
      });
    });
    source.addEventListener("logout", function () { source.close(); window.location.assign("/login"); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", live); } else { live(); }
})();
