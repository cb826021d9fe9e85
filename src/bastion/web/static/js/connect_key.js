// The connect-key form: a fresh second factor, then seal.js seals the key to the signer and posts the ciphertext.
(function () {
  "use strict";
  function wire() {
    var form = document.getElementById("connect-key");
    if (!form) { return; }
    var status = document.getElementById("connect-status");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var value = function (id) { return document.getElementById(id).value; };
      try {
        status.className = "muted";
        status.textContent = "Confirm with your passkey...";
        await window.BastionStepUp.passkey();
        status.textContent = "Sealing the key in this page and sending the ciphertext...";
        var added = await window.BastionSeal.connectKey({
          account: value("key-account"), exchange: value("key-exchange"), url: value("key-url") || null,
          apiKey: value("key-api-key"), secret: value("key-secret"), passphrase: value("key-passphrase") || null,
          csrfToken: window.Bastion.csrf(),
        });
        ["key-api-key", "key-secret", "key-passphrase"].forEach(function (id) { document.getElementById(id).value = ""; });
        status.className = "notice";
        status.textContent = "Connected " + added.account + " (" + added.exchange + ", key " + added.key_hint + ").";
        status.setAttribute("data-done", "1");
      } catch (error) {
        status.className = "error";
        status.textContent = "Not connected: " + error.message;
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
})();
