"""Each client's timeline: notes now; mail, drive activity and tasks fit the same table."""
