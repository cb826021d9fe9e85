// Register a passkey for the logged-in user (WebAuthn; bound to this origin).
(function () {
  "use strict";
  var API = "/api/v1/auth/passkeys/register";
  function wire() {
    var button = document.getElementById("passkey-register");
    var status = document.getElementById("passkey-status");
    button.addEventListener("click", async function () {
      try {
        status.textContent = "Waiting for your authenticator...";
        var options = await window.Bastion.postJSON(API + "/options", {});
        var optionsJSON = options.options || options.publicKey || options;
        var attestation = await SimpleWebAuthnBrowser.startRegistration({ optionsJSON: optionsJSON });
        var label = document.getElementById("passkey-label").value || "passkey";
        await window.Bastion.postJSON(API + "/verify", { credential: attestation, label: label });
        status.textContent = "Passkey registered.";
        status.setAttribute("data-done", "1");
      } catch (error) {
        status.textContent = "Not registered: " + error.message;
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
})();
