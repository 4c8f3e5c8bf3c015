"""Real parts for the tests: an OpenAI-compatible server, news sites, SMTP, a headless
browser, the CLI runner, and the one way to run a server on a thread (``serving``)."""
