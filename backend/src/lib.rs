//! The server's data layer. Issue 2 leaves it empty on purpose: the store, the ledger and the
//! wallet operations arrive with issue 3 (docs/ARCHITECTURE.md).
