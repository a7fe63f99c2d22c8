"""Acme Robotics, the demo organisation: teams, projects, API keys, developers and models.

Everything here is static. The traffic simulator reads it as numpy lookup tables (`Catalogue`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np

COMPANY = "Acme Robotics"
EMAIL_DOMAIN = "acme-robotics.com"

# Which prod log format each team's traffic goes through (a request is written in exactly one).
TEAM_FORMAT = {
    "platform": "gateway",
    "search": "gateway",
    "support": "litellm",
    "growth": "litellm",
    "data-science": "otel",
}
FORMATS = ("gateway", "litellm", "otel")
FEATURES = (
    "chat",
    "summarize",
    "classify",
    "extract",
    "embed",
    "agent",
    "code-review",
    "search-rerank",
)


@dataclass(frozen=True)
class Model:
    """A model as the demo uses it: internal prices per million tokens and traffic behaviour."""

    name: str
    provider: str  # Bimo gateway / CLI spelling
    price_in: float
    price_out: float
    price_cache_read: float
    price_cache_write: float
    snapshot: str  # resolved response model
    litellm_provider: str
    otel_provider: str  # gen_ai.provider.name (semconv >= 1.37)
    otel_system: str  # legacy gen_ai.system
    api_base: str
    ttft_ms: float  # median time to first token
    tokens_per_s: float
    max_input: int
    caching: str = ""  # "anthropic" (explicit reads + writes), "auto" (reads only), ""
    reasoning: float = 0.0  # share of requests that emit reasoning tokens
    reasoning_median: float = 0.0
    embedding: bool = False


_OPENAI = ("openai", "openai", "openai", "https://api.openai.com/v1")
_ANTHROPIC = ("anthropic", "anthropic", "anthropic", "https://api.anthropic.com/v1")
_GEMINI = ("gemini", "gcp.gemini", "gemini", "https://generativelanguage.googleapis.com/v1beta")
_SELF = ("openai", "self_hosted", "self_hosted", "http://llm.internal.acme-robotics.com:8000/v1")

MODELS: tuple[Model, ...] = (
    Model("gpt-4o", "openai", 2.5, 10, 1.25, 0, "gpt-4o-2024-08-06", *_OPENAI,
          450, 85, 120_000, caching="auto"),
    Model("gpt-4o-mini", "openai", 0.15, 0.6, 0.075, 0, "gpt-4o-mini-2024-07-18", *_OPENAI,
          350, 110, 120_000, caching="auto"),
    Model("o3-mini", "openai", 1.1, 4.4, 0.55, 0, "o3-mini-2025-01-31", *_OPENAI,
          300, 150, 190_000, caching="auto", reasoning=1.0, reasoning_median=900),
    Model("text-embedding-3-small", "openai", 0.02, 0, 0, 0, "text-embedding-3-small", *_OPENAI,
          90, 1, 8_000, embedding=True),
    Model("claude-sonnet-4-5", "anthropic", 3, 15, 0.3, 3.75, "claude-sonnet-4-5-20250929",
          *_ANTHROPIC, 900, 65, 190_000, caching="anthropic"),
    Model("claude-3-5-haiku-latest", "anthropic", 0.8, 4, 0.08, 1.0, "claude-3-5-haiku-20241022",
          *_ANTHROPIC, 550, 95, 190_000, caching="anthropic"),
    Model("gemini-2.5-flash", "google", 0.3, 2.5, 0.075, 0, "gemini-2.5-flash", *_GEMINI,
          380, 200, 900_000, caching="auto", reasoning=0.4, reasoning_median=250),
    Model("gemini-2.5-pro", "google", 1.25, 10, 0.31, 0, "gemini-2.5-pro", *_GEMINI,
          1200, 90, 900_000, caching="auto", reasoning=1.0, reasoning_median=500),
    # Unknown to every public price catalogue: must surface as unpriced, never as $0.
    Model("claude-orion-preview", "anthropic", 5, 25, 0.5, 6.25, "claude-orion-preview",
          *_ANTHROPIC, 1100, 55, 190_000, caching="anthropic"),
    Model("acme-llama-70b-ft", "self_hosted", 0.6, 0.6, 0, 0, "acme-llama-70b-ft", *_SELF,
          250, 45, 30_000),
    # Developer tools only (cli-log).
    Model("gpt-5-codex", "openai", 1.25, 10, 0.125, 0, "gpt-5-codex", *_OPENAI,
          700, 120, 270_000, caching="auto", reasoning=1.0, reasoning_median=400),
    Model("o4-mini", "openai", 1.1, 4.4, 0.275, 0, "o4-mini-2025-04-16", *_OPENAI,
          500, 150, 190_000, caching="auto", reasoning=1.0, reasoning_median=400),
)  # fmt: skip
MODEL_INDEX = {m.name: i for i, m in enumerate(MODELS)}
UNKNOWN_MODELS = ("claude-orion-preview", "acme-llama-70b-ft")

# Feature token shapes: median input, sigma, median output, sigma, streamed (has a TTFT).
FEATURE_SHAPE = {
    "chat": (1400, 0.8, 320, 0.7, True),
    "summarize": (2600, 0.7, 220, 0.5, False),
    "classify": (700, 0.6, 12, 0.4, False),
    "extract": (3200, 0.7, 380, 0.6, False),
    "embed": (350, 0.8, 0, 0.0, False),
    "agent": (9000, 0.6, 650, 0.7, True),
    "code-review": (7000, 0.7, 800, 0.6, True),
    "search-rerank": (1600, 0.5, 60, 0.5, False),
}


@dataclass(frozen=True)
class ApiKey:
    """A gateway API key; it belongs to exactly one team, project and environment."""

    name: str
    team: str
    project: str
    environment: str

    @property
    def key_id(self) -> str:
        return "key_" + hashlib.sha256(f"acme:{self.name}".encode()).hexdigest()[:8]

    @property
    def secret_hash(self) -> str:
        """What LiteLLM stores in `api_key`: the sha256 of the virtual key, never the key."""
        return hashlib.sha256(f"sk-acme-{self.name}".encode()).hexdigest()


API_KEYS: tuple[ApiKey, ...] = (
    ApiKey("platform-copilot-prod", "platform", "internal-copilot", "prod"),
    ApiKey("platform-copilot-staging", "platform", "internal-copilot", "staging"),
    ApiKey("platform-indexer-batch", "platform", "doc-indexer", "prod"),
    ApiKey("search-prod", "search", "product-search", "prod"),
    ApiKey("search-staging", "search", "product-search", "staging"),
    ApiKey("search-dev", "search", "product-search", "dev"),
    ApiKey("search-index-batch", "search", "semantic-index", "prod"),
    ApiKey("support-helpdesk-prod", "support", "helpdesk-assistant", "prod"),
    ApiKey("support-helpdesk-staging", "support", "helpdesk-assistant", "staging"),
    ApiKey("support-triage-prod", "support", "ticket-triage", "prod"),
    ApiKey("support-kb-prod", "support", "kb-writer", "prod"),
    ApiKey("growth-email-prod", "growth", "email-personaliser", "prod"),
    ApiKey("growth-email-dev", "growth", "email-personaliser", "dev"),
    ApiKey("growth-leads-prod", "growth", "lead-scoring", "prod"),
    ApiKey("growth-leads-staging", "growth", "lead-scoring", "staging"),
    ApiKey("ds-churn-prod", "data-science", "churn-insights", "prod"),
    ApiKey("ds-churn-staging", "data-science", "churn-insights", "staging"),
    ApiKey("ds-docx-prod", "data-science", "doc-extraction", "prod"),
    ApiKey("ds-docx-staging", "data-science", "doc-extraction", "staging"),
    ApiKey("ds-research-dev", "data-science", "research-sandbox", "dev"),
)
KEY_INDEX = {k.name: i for i, k in enumerate(API_KEYS)}

# (key, feature, model, share of prod volume in %, input-size multiplier)
STREAMS: tuple[tuple[str, str, str, float, float], ...] = (
    ("platform-copilot-prod", "chat", "gpt-4o", 2.6, 1.0),
    ("platform-copilot-prod", "chat", "gpt-4o-mini", 3.0, 1.0),
    ("platform-copilot-prod", "chat", "claude-sonnet-4-5", 1.6, 1.0),
    ("platform-copilot-prod", "code-review", "claude-sonnet-4-5", 1.5, 1.0),
    ("platform-copilot-prod", "code-review", "o3-mini", 0.9, 1.0),
    ("platform-copilot-staging", "chat", "gpt-4o-mini", 0.8, 1.0),
    ("platform-copilot-staging", "chat", "claude-orion-preview", 0.4, 1.0),
    ("platform-indexer-batch", "embed", "text-embedding-3-small", 3.5, 1.5),
    ("platform-indexer-batch", "extract", "gpt-4o", 1.2, 1.0),
    ("platform-indexer-batch", "summarize", "gpt-4o-mini", 2.2, 1.0),
    ("search-prod", "search-rerank", "gemini-2.5-flash", 6.5, 1.0),
    ("search-prod", "search-rerank", "gpt-4o-mini", 2.5, 1.0),
    ("search-prod", "search-rerank", "acme-llama-70b-ft", 0.4, 1.0),
    ("search-prod", "embed", "text-embedding-3-small", 5.0, 0.3),
    ("search-prod", "summarize", "gpt-4o-mini", 3.2, 1.0),
    ("search-prod", "summarize", "gemini-2.5-flash", 0.8, 1.0),
    ("search-staging", "search-rerank", "gemini-2.5-flash", 0.9, 1.0),
    ("search-dev", "search-rerank", "gpt-4o-mini", 0.5, 1.0),
    ("search-index-batch", "embed", "text-embedding-3-small", 2.0, 2.0),
    ("search-index-batch", "classify", "gpt-4o-mini", 1.2, 1.0),
    ("search-index-batch", "extract", "gemini-2.5-flash", 1.0, 1.0),
    ("support-helpdesk-prod", "agent", "claude-sonnet-4-5", 2.6, 1.0),
    ("support-helpdesk-prod", "chat", "claude-3-5-haiku-latest", 4.5, 1.0),
    ("support-helpdesk-prod", "chat", "gpt-4o", 1.6, 1.0),
    ("support-helpdesk-prod", "summarize", "gpt-4o-mini", 4.0, 1.0),
    ("support-helpdesk-prod", "summarize", "claude-3-5-haiku-latest", 1.5, 1.0),
    ("support-helpdesk-staging", "agent", "claude-sonnet-4-5", 0.4, 1.0),
    ("support-triage-prod", "classify", "gpt-4o-mini", 3.5, 1.0),
    ("support-triage-prod", "classify", "claude-3-5-haiku-latest", 2.0, 1.0),
    ("support-triage-prod", "extract", "gpt-4o-mini", 1.5, 1.0),
    ("support-kb-prod", "summarize", "gpt-4o", 1.0, 1.0),
    ("support-kb-prod", "chat", "claude-orion-preview", 0.3, 1.0),
    ("growth-email-prod", "chat", "gpt-4o", 1.6, 0.7),
    ("growth-email-prod", "chat", "gemini-2.5-flash", 2.2, 0.7),
    ("growth-email-prod", "summarize", "gpt-4o-mini", 1.8, 1.0),
    ("growth-email-dev", "chat", "gemini-2.5-flash", 0.4, 0.7),
    ("growth-leads-prod", "classify", "gemini-2.5-flash", 2.4, 1.0),
    ("growth-leads-prod", "classify", "gpt-4o-mini", 1.2, 1.0),
    ("growth-leads-prod", "extract", "gpt-4o-mini", 1.0, 1.0),
    ("growth-leads-staging", "classify", "gemini-2.5-flash", 0.4, 1.0),
    ("ds-churn-prod", "classify", "gemini-2.5-flash", 3.0, 1.0),
    ("ds-churn-prod", "summarize", "gemini-2.5-flash", 2.0, 1.0),
    ("ds-churn-prod", "summarize", "gpt-4o-mini", 1.6, 1.0),
    ("ds-churn-prod", "chat", "claude-sonnet-4-5", 0.9, 1.0),
    ("ds-churn-staging", "classify", "gemini-2.5-flash", 0.5, 1.0),
    ("ds-docx-prod", "extract", "gemini-2.5-pro", 2.6, 3.0),
    ("ds-docx-prod", "extract", "gpt-4o", 0.6, 1.0),
    ("ds-docx-prod", "embed", "text-embedding-3-small", 2.5, 1.5),
    ("ds-docx-staging", "extract", "gemini-2.5-pro", 0.3, 3.0),
    ("ds-research-dev", "agent", "claude-sonnet-4-5", 0.4, 1.0),
    ("ds-research-dev", "agent", "gemini-2.5-pro", 0.4, 1.0),
    ("ds-research-dev", "agent", "o3-mini", 0.4, 1.0),
    ("ds-research-dev", "chat", "acme-llama-70b-ft", 0.4, 1.0),
)

# Developers: (email local part, team, primary tool, repository, UTC offset in minutes, activity)
DEVELOPERS: tuple[tuple[str, str, str, str, int, float], ...] = (
    ("maya.chen", "platform", "claude-code", "gateway-core", -480, 1.6),
    ("lucas.moreau", "platform", "claude-code", "gateway-core", 60, 1.0),
    ("priya.raman", "platform", "codex-cli", "infra-terraform", 330, 0.9),
    ("daniel.okafor", "search", "claude-code", "search-service", -300, 1.3),
    ("sofia.rossi", "search", "codex-cli", "search-service", 60, 0.8),
    ("tom.becker", "support", "claude-code", "helpdesk-bot", 60, 1.1),
    ("aisha.khan", "support", "claude-code", "helpdesk-bot", 0, 0.7),
    ("jonas.lind", "growth", "codex-cli", "growth-web", 60, 0.9),
    ("emily.nguyen", "growth", "claude-code", "growth-web", -480, 0.8),
    ("ravi.patel", "data-science", "claude-code", "ml-pipelines", 330, 1.2),
    ("hannah.weiss", "data-science", "codex-cli", "ml-pipelines", 60, 0.7),
    ("carlos.mendez", "data-science", "claude-code", "notebooks", -300, 0.6),
)
# Tool -> ((model, share), ...)
TOOL_MODELS = {
    "claude-code": (("claude-sonnet-4-5", 0.8), ("claude-3-5-haiku-latest", 0.2)),
    "codex-cli": (("gpt-5-codex", 0.8), ("o4-mini", 0.2)),
}


def developer_email(local: str) -> str:
    return f"{local}@{EMAIL_DOMAIN}"


@dataclass(frozen=True)
class Catalogue:
    """Column-oriented lookup tables for vectorised simulation."""

    stream_key: np.ndarray
    stream_feature: np.ndarray
    stream_model: np.ndarray
    stream_format: np.ndarray
    stream_weight: np.ndarray  # probabilities, sum 1
    stream_in_mult: np.ndarray
    price_in: np.ndarray
    price_out: np.ndarray
    price_cache_read: np.ndarray
    price_cache_write: np.ndarray

    def stream_of(self, key: str, feature: str, model: str) -> int:
        for i, (k, f, m, _, _) in enumerate(STREAMS):
            if (k, f, m) == (key, feature, model):
                return i
        raise KeyError((key, feature, model))

    def cost(self, model, input_total, cache_read, cache_write, output) -> np.ndarray:
        """Internal list-price estimate in USD (what a gateway would report as spend)."""
        uncached = input_total - cache_read - cache_write
        return (
            uncached * self.price_in[model]
            + cache_read * self.price_cache_read[model]
            + cache_write * self.price_cache_write[model]
            + output * self.price_out[model]
        ) / 1e6


@cache
def catalogue() -> Catalogue:
    weights = np.array([s[3] for s in STREAMS], dtype=float)
    return Catalogue(
        stream_key=np.array([KEY_INDEX[s[0]] for s in STREAMS]),
        stream_feature=np.array([FEATURES.index(s[1]) for s in STREAMS]),
        stream_model=np.array([MODEL_INDEX[s[2]] for s in STREAMS]),
        stream_format=np.array(
            [FORMATS.index(TEAM_FORMAT[API_KEYS[KEY_INDEX[s[0]]].team]) for s in STREAMS]
        ),
        stream_weight=weights / weights.sum(),
        stream_in_mult=np.array([s[4] for s in STREAMS]),
        price_in=np.array([m.price_in for m in MODELS]),
        price_out=np.array([m.price_out for m in MODELS]),
        price_cache_read=np.array([m.price_cache_read for m in MODELS]),
        price_cache_write=np.array([m.price_cache_write for m in MODELS]),
    )
