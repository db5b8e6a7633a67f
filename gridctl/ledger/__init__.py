"""Carbon accounting: a Scope 2 ledger booked per interval from metered energy and measured
intensity, attributed to groups, hash-chained, and period statements (see docs/ledger.md)."""
