"""Framework adapters: how toolwise enters a LangChain or LangGraph agent.

* :mod:`toolwise.integrations.langchain` — a callback handler, instrumented tools, and the
  ``create_agent`` middleware (recording, and the brief before each model call);
* :mod:`toolwise.integrations.langgraph` — a ``ToolNode`` interceptor that records, the
  pre-selection node and ``pre_model_hook``, the graph state they share, and a ``ToolNode``
  guard for hidden and gated tools.

Adapters take what they use — a :class:`~toolwise.recording.recorder.Recorder`, an
:class:`~toolwise.advice.Advisor` — never the ``Toolwise`` facade. A new framework gets its
own subpackage here, built the same way (see ``docs/architecture.md``).
"""
