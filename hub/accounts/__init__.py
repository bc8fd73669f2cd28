"""Source accounts: a staff member's mailbox or drive, with its encrypted secret."""
