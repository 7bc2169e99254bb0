"""Analytics: the call log and the calls reports, projected from events."""
