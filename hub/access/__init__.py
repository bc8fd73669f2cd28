"""Who may see which client, at which level and when; and the audit trail of reads."""
