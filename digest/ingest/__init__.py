"""Articles in: files, cleaning, fetching pages, feeds, and the day's story list."""
