"""What every mail connector shares: the parsed-message shape and the pure parser."""
