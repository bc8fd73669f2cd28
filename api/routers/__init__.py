"""One router per area; each handler is a few lines over a hub service."""
