"""Mail in the hub: messages deduplicated across mailboxes, threads, and client links."""
