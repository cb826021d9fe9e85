"""The simulator's KuCoin-compatible front (``bastion exchange serve --flavor kucoin``).

``api`` (endpoints over the shared venue), ``auth`` (KC-API-* header signatures and
passphrases), ``errors`` (KuCoin's codes), ``render`` (JSON shapes), ``front`` (the wire format
the server uses: envelope, 404, 429, 5xx).
"""
