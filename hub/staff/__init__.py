"""The firm's staff: users, and their personal API tokens."""
