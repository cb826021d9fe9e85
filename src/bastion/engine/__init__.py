"""The engine: runs bots' decisions through the signer, persisting every intent, order and fill.

Modules: ``ids`` (deterministic client order ids), ``accounting`` (deal figures from fills),
``views`` (what a bot sees, built from storage), ``orders`` (the crash-safe order manager and
reconciliation with the exchange through the signer), ``runner`` (the live loop).
"""
