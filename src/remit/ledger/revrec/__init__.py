"""Revenue recognition: invoice lines as performance obligations, recognized daily.

The public surface is ``remit.ledger.revrec.service``; ``domain`` is the pure core.
"""
