"""The engine: the pure engine core and the live shell around it.

Modules: ``core`` (pure, synchronous, deterministic: events in, effects out; shared by live,
paper and backtest), ``ids`` (deterministic client order ids), ``gateway`` (the signer's typed
RPC as core reports and events), ``store`` (the core's effects stored write-ahead, its state
loaded at start), ``market_hub`` (one market-data subscription per exchange and symbol),
``runner`` (the live loop).
"""
