"""Articles in: files, cleaning, sentences, fetching pages, feeds, and the day's story list."""
