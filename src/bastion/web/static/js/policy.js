// Change an account's policy through the API: tighten freely; loosen after a fresh passkey assertion,
// with the vault passphrase sealed in this page to the signer's key (seal.js): the server relays a
// ciphertext bound to this one change at the policy's current revision.
(function () {
  "use strict";
  var NUMBERS = ["max_order_notional", "max_daily_notional", "max_deviation_pct", "min_volume_24h"];
  var INTEGERS = ["max_orders_per_minute", "denial_burst"];
  function value(field, text) {
    if (field === "pairs") { return text.split(",").map(function (p) { return p.trim(); }).filter(Boolean); }
    if (INTEGERS.indexOf(field) >= 0) { return parseInt(text, 10); }
    if (NUMBERS.indexOf(field) >= 0) { return text.trim(); } // decimal text, never a float
    return text.trim();
  }
  function wire() {
    var form = document.getElementById("policy-form");
    if (!form) { return; }
    var status = document.getElementById("policy-status");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var kind = event.submitter ? event.submitter.getAttribute("data-kind") : "tighten";
      var account = document.getElementById("policy-account").value;
      var field = document.getElementById("policy-field").value;
      var changes = {};
      changes[field] = value(field, document.getElementById("policy-value").value);
      try {
        var base = "/api/v1/accounts/" + encodeURIComponent(account) + "/policy";
        if (kind === "loosen") {
          var secret = document.getElementById("policy-passphrase");
          if (!secret.value) { throw new Error("loosening needs the vault passphrase"); }
          status.className = "muted";
          status.textContent = "Confirm with your passkey...";
          await window.BastionStepUp.passkey();
          status.textContent = "Sealing the passphrase in this page...";
          var shown = await (await fetch(base, { credentials: "same-origin", headers: { "Accept": "application/json" } })).json();
          var body = await window.BastionSeal.sealPassphrase(await window.BastionSeal.publishedKey(), {
            account: shown.account, changesJson: JSON.stringify(changes), expectedRevision: shown.revision,
            passphrase: secret.value,
          });
          secret.value = "";
          await window.Bastion.postJSON(base + "/loosen", body);
        } else {
          await window.Bastion.postJSON(base + "/tighten", { changes: changes });
        }
        status.className = "notice";
        status.textContent = "Policy changed (" + kind + "): " + field + ".";
        window.setTimeout(function () { window.location.reload(); }, 800);
      } catch (error) {
        status.className = "error";
        status.textContent = "Not changed: " + error.message;
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
})();
