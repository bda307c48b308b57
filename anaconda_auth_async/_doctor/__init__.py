"""``doctor``: find what would break a login on this machine and say how to fix it.

Each module holds one group of checks; each check is a small function returning a
`report.DoctorCheck` (name, status, one-line summary, one-line fix). `run.doctor` runs
them, offline ones first, the network ones in parallel under per-step time limits. The
checks decide nothing of their own: they ask the modules that own each decision (settings
sources, the store, the transport, the flow choice, the loopback listener) and report
what those say. The CLI's ``doctor`` command only renders the list and picks the exit code.
"""
