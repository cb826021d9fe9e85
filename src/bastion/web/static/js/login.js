// Login: name + password, then the passkey (or a TOTP code) when the account has a second factor.
(function () {
  "use strict";
  var AUTH = "/api/v1/auth";
  function show(message) {
    var box = document.getElementById("login-error");
    box.textContent = message;
    box.classList.remove("hidden");
  }
  function done() {
    var next = document.getElementById("login-form").getAttribute("data-next") || "/";
    window.location.assign(next.charAt(0) === "/" && next.charAt(1) !== "/" ? next : "/");
  }
  async function post(url, body, token) {
    var response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token || "" },
      body: JSON.stringify(body),
    });
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) { throw new Error(data && data.detail ? String(data.detail) : "refused (" + response.status + ")"); }
    return data;
  }
  var csrf = "";
  async function passkey() {
    var options = await post(AUTH + "/passkeys/authenticate/options", {}, csrf);
    var optionsJSON = options.options || options.publicKey || options;
    var assertion = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: optionsJSON });
    await post(AUTH + "/passkeys/authenticate/verify", { credential: assertion }, csrf);
    done();
  }
  function wire() {
    var form = document.getElementById("login-form");
    var second = document.getElementById("second-factor");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      try {
        var answer = await post(AUTH + "/login", {
          name: document.getElementById("login-name").value,
          password: document.getElementById("login-password").value,
        });
        csrf = answer.csrf_token || "";
        if (answer.stage === "full") { done(); return; }
        form.classList.add("hidden");
        second.classList.remove("hidden");
        if ((answer.factors || []).indexOf("passkey") >= 0) { await passkey(); }
      } catch (error) { show(error.message); }
    });
    document.getElementById("passkey-login").addEventListener("click", async function () {
      try { await passkey(); } catch (error) { show(error.message); }
    });
    second.addEventListener("submit", async function (event) {
      event.preventDefault();
      try {
        await post(AUTH + "/totp/verify", { code: document.getElementById("totp-code").value }, csrf);
        done();
      } catch (error) { show(error.message); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
})();
