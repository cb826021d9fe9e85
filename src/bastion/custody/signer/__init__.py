"""The signer process: the only holder of decrypted exchange API secrets, behind its HTTP allowlist."""
