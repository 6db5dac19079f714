"""complaint-toolkit: run the complaint-handling paperwork and follow-up loop from the Excel
register (投诉登记台账) that office staff already keep.

Pipeline stages, one module each, plain data between them::

    config -> register (read) -> validate -> documents (render) -> reminders (plan)
           -> mail (send) -> state (ledger) -> scheduler;   the CLI (toolkit.cli) on top.
"""

__version__ = "0.1.0"
