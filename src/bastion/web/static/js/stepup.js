// The fresh second factor (step-up): a passkey assertion for the logged-in user, made fresh for a few minutes.
(function () {
  "use strict";
  var API = "/api/v1/auth/passkeys/authenticate";
  async function passkeyStepUp() {
    var options = await window.Bastion.postJSON(API + "/options", {});
    var optionsJSON = options.options || options.publicKey || options;
    var assertion = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: optionsJSON });
    return window.Bastion.postJSON(API + "/verify", { credential: assertion });
  }
  window.BastionStepUp = { passkey: passkeyStepUp };

  function wire() {
    document.querySelectorAll("form[data-stepup]").forEach(function (form) {
      form.addEventListener("submit", async function (event) {
        if (form.getAttribute("data-stepped") === "1") { return; }
        event.preventDefault();
        var status = document.getElementById("stepup-status");
        try {
          if (status) { status.textContent = "Waiting for your passkey..."; }
          await passkeyStepUp();
          form.setAttribute("data-stepped", "1");
          if (status) { status.textContent = "Confirmed; sending..."; }
          await window.Bastion.submitForm(form, event.submitter);
        } catch (error) {
          if (status) { status.textContent = "Second factor not given: " + error.message; }
        }
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
})();
