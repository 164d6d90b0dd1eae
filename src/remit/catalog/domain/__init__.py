"""Pure pricing: price terms, their checks, and the rating engine."""
