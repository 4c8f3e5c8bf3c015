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
    structured-output mode it supports (json_schema, json_object+schema, json_object, plain).
    Exit 0 if it answers, 4 if not."""
    import openai  # heavy: imported when the command runs, not for --help

    from digest.llm.assemble import installed
    from digest.llm.client import probe_models, probe_structured_mode
    from digest.llm.endpoint import open_endpoint
    from digest.llm.local import BUNDLED

    settings = load_settings(flags(model=model, model_file=model_file, base_url=base_url), config)
    print(f"endpoint: {settings.endpoint.label()}")
    print("bundled local models (--model NAME with no endpoint set):")
    for bundled in BUNDLED:
        extra = bundled.file.extra
        where = "default" if extra is None else f"extra {extra}"
        state = "" if installed(bundled.file) else f"; not installed: pip install 'digest[{extra}]'"
        print(f"  {bundled.name} ({where}, {bundled.licence}{state})")
    with open_endpoint(settings.endpoint, notice) as llm:
        print(f"model: {llm.model}")
        client = llm.client
        try:
            listed = probe_models(client)
            print("listed models: " + (", ".join(listed[:10]) or "none"))
        except openai.OpenAIError as exc:
            print(f"listed models: unavailable ({type(exc).__name__})")
        mode, error = probe_structured_mode(client, llm.model)
    if mode is None:
        raise EndpointError(f"the endpoint {settings.endpoint.label()} does not answer: {error}")
    print(f"answers: yes; structured output: {mode}")
    raise typer.Exit(0)
