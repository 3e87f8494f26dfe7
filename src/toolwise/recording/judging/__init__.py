"""The rule families the default judge applies, one module each.

* :mod:`.fields` reads the few top-level status fields of a result, whatever its shape
  (mapping, pydantic model, dataclass, JSON text, a model's ``repr``).
* :mod:`.rules` holds the declarative per-tool rules (:class:`~.rules.JudgeRules`) and the
  verdicts the default rules give: structured status, error-shaped text, empty results.
* :mod:`.messages` unwraps what LangChain and LangGraph hand over (``ToolMessage``,
  ``Command``, content blocks, MCP call results).
* :mod:`.handled` sees errors a tool handled into text, which callbacks cannot see.
* :mod:`.llm` asks a chat model for a quality score, off the tool's thread.

The public entry is :mod:`toolwise.recording.judge`.
"""
