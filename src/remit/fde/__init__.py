"""The forward-deployed-engineering toolkit: reconciliation first."""
