// Sealed key entry: the API key, secret and passphrase are sealed in this page to the signer's
// X25519 key (WebCrypto: ECDH X25519 + HKDF-SHA256 + AES-256-GCM, HPKE-style, see
// bastion/custody/signer/sealing.py); the web server only relays the ciphertext to the signer.
//
//   window.BastionSeal.seal(published, {account, exchange, url, apiKey, secret, passphrase,
//                                       allowUnrestrictedIp})  -> the body to post
//   window.BastionSeal.connectKey({... same fields ..., csrfToken}) -> the signer's answer
//   window.BastionSeal.sealPassphrase(published, {account, changesJson, expectedRevision, reason,
//                                                 passphrase}) -> the body of .../policy/loosen
(function () {
  "use strict";
  var LABEL = "bastion-seal-v1";
  var PASSPHRASE_LABEL = "bastion-seal-passphrase-v1";
  var subtle = window.crypto && window.crypto.subtle;

  function b64urlEncode(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function b64urlDecode(text) {
    var plain = text.replace(/-/g, "+").replace(/_/g, "/");
    while (plain.length % 4) { plain += "="; }
    var raw = atob(plain);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  // The bytes the seal is bound to: HKDF info and AES-GCM associated data (the signer builds the same).
  function context(keyId, account, exchange, url, allowUnrestrictedIp) {
    var fields = [LABEL, keyId, account, exchange, url === undefined ? null : url, !!allowUnrestrictedIp];
    return new TextEncoder().encode(JSON.stringify(fields));
  }

  // The bytes a sealed vault passphrase is bound to: one change of one account at one revision.
  function passphraseContext(keyId, account, changesJson, expectedRevision, reason) {
    var fields = [PASSPHRASE_LABEL, keyId, account, "policy_set", changesJson, expectedRevision,
      reason === undefined ? null : reason];
    return new TextEncoder().encode(JSON.stringify(fields));
  }

  // Seal the bytes of `plaintext` to the published key, bound to `info`; zero the plaintext after.
  async function sealBytes(published, info, plaintext) {
    if (!subtle) { throw new Error("this browser has no WebCrypto here (a secure context is needed)"); }
    if (published.label !== LABEL) { throw new Error("the signer publishes " + published.label + ", expected " + LABEL); }
    var recipientBytes = b64urlDecode(published.public_key);
    var recipient;
    try {
      recipient = await subtle.importKey("raw", recipientBytes, { name: "X25519" }, false, []);
    } catch (error) {
      throw new Error("this browser cannot do X25519 in WebCrypto (" + error.name + "); use a current Chromium or Firefox");
    }
    var ephemeral = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
    var enc = new Uint8Array(await subtle.exportKey("raw", ephemeral.publicKey));
    var shared = await subtle.deriveBits({ name: "X25519", public: recipient }, ephemeral.privateKey, 256);
    var ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
    var okm = new Uint8Array(await subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: concat(enc, recipientBytes), info: info }, ikm, 352));
    var aes = await subtle.importKey("raw", okm.slice(0, 32), { name: "AES-GCM" }, false, ["encrypt"]);
    var sealed = new Uint8Array(await subtle.encrypt(
      { name: "AES-GCM", iv: okm.slice(32, 44), additionalData: info }, aes, plaintext));
    plaintext.fill(0);
    okm.fill(0);
    return { enc: b64urlEncode(enc), ciphertext: b64urlEncode(sealed) };
  }

  async function seal(published, fields) {
    var url = fields.url ? fields.url : null;
    var allow = !!fields.allowUnrestrictedIp;
    var info = context(published.key_id, fields.account, fields.exchange, url, allow);
    var plaintext = new TextEncoder().encode(JSON.stringify({
      api_key: fields.apiKey, secret: fields.secret, password: fields.passphrase ? fields.passphrase : null,
    }));
    var blob = await sealBytes(published, info, plaintext);
    var body = {
      account: fields.account, exchange: fields.exchange, key_id: published.key_id,
      enc: blob.enc, ciphertext: blob.ciphertext, allow_unrestricted_ip: allow,
    };
    if (url !== null) { body.url = url; }
    return body;
  }

  async function sealPassphrase(published, fields) {
    var reason = fields.reason ? fields.reason : null;
    var info = passphraseContext(published.key_id, fields.account, fields.changesJson, fields.expectedRevision, reason);
    var plaintext = new TextEncoder().encode(JSON.stringify({ passphrase: fields.passphrase }));
    var blob = await sealBytes(published, info, plaintext);
    var body = {
      changes_json: fields.changesJson, expected_revision: fields.expectedRevision, key_id: published.key_id,
      enc: blob.enc, ciphertext: blob.ciphertext,
    };
    if (reason !== null) { body.reason = reason; }
    return body;
  }

  async function answerOf(response) {
    var data = null;
    try { data = await response.json(); } catch (ignored) { data = null; }
    if (!response.ok) {
      var detail = data && typeof data.detail === "string" ? data.detail : "HTTP " + response.status;
      throw new Error(detail);
    }
    return data;
  }

  async function connectKey(fields) {
    var published = await answerOf(await fetch("/api/v1/seal/public-key", {
      method: "GET", credentials: "same-origin", headers: { "Accept": "application/json" },
    }));
    var body = await seal(published, fields);
    return answerOf(await fetch("/api/v1/accounts/sealed-key", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": fields.csrfToken },
      body: JSON.stringify(body),
    }));
  }

  async function publishedKey() {
    return answerOf(await fetch("/api/v1/seal/public-key", {
      method: "GET", credentials: "same-origin", headers: { "Accept": "application/json" },
    }));
  }

  window.BastionSeal = {
    seal: seal, connectKey: connectKey, context: context, sealPassphrase: sealPassphrase,
    passphraseContext: passphraseContext, publishedKey: publishedKey,
  };
})();
