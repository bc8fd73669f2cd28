"""The firm's staff: users, their personal API tokens, and their passwords and sessions
for the web view."""
