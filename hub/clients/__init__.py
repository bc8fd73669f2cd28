"""Clients, their contacts and groups, and who is responsible for them."""
